"""simulate_comments: deterministic, varied, and its truth is what the data show."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from cxlib.synth._comments import COMMENT_TOPICS, simulate_comments


def test_same_seed_same_comments_and_truth_is_json():
    a, ta = simulate_comments(500, seed=3)
    b, tb = simulate_comments(500, seed=3)
    assert a.equals(b) and ta == tb
    assert not a.equals(simulate_comments(500, seed=4)[0])
    json.dumps(ta)


def test_comments_are_varied_in_both_languages():
    frame, truth = simulate_comments(3000, seed=1)
    text = frame["verbatim"].dropna()
    assert text.nunique() > 0.4 * len(text)        # about half the comments are unique
    assert set(frame["lang"]) == {"ja", "en", "mixed"}
    assert text.str.contains("[ｱ-ﾝ]").any()                  # half-width katakana
    assert text.str.contains("[Ａ-Ｚａ-ｚ]").any()               # full-width letters
    assert text.str.contains("ない|ません|not|n't|never").mean() > 0.1
    assert frame["customer_id"].isna().mean() > 0.1 and frame["churned"].isna().any()
    assert set(truth["topics"]) == set(COMMENT_TOPICS)


def test_planted_effects_are_what_a_large_sample_shows():
    # the truth is computed by enumeration; the empirical difference on the planted topics
    # (not on any coding) of a large draw must agree within sampling error
    frame, truth = simulate_comments(60_000, seed=2)
    nps = np.where(frame["nps"] >= 9, 100, np.where(frame["nps"] <= 6, -100, 0))
    churn = frame["churned"].astype(float).to_numpy()
    for topic, spec in truth["topics"].items():
        has = frame["response_id"].map(lambda r: topic in truth["planted"][r]).to_numpy()
        diff = nps[has].mean() - nps[~has].mean()
        se = np.sqrt(nps[has].var() / has.sum() + nps[~has].var() / (~has).sum())
        assert abs(diff - spec["nps_points"]) < 4 * se, (topic, diff, spec["nps_points"])
        known = ~np.isnan(churn)
        cdiff = 100 * (churn[known & has].mean() - churn[known & ~has].mean())
        assert abs(cdiff - spec["churn_points"]) < 2.5, (topic, cdiff, spec["churn_points"])


def test_emerging_topic_rises():
    frame, truth = simulate_comments(8000, seed=6)
    topic = truth["emerging"]["topic"]
    month = (frame["response_date"] - pd.Timestamp("2025-01-01")).dt.days // 30
    has = frame["response_id"].map(lambda r: topic in truth["planted"][r])
    late = month >= truth["emerging"]["from_month"]
    assert has[late].mean() > 2 * has[~late].mean()
