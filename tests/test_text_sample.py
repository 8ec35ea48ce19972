"""Notebook 06's estimates on the sample against the comments' planted truth (truth.json).

The sample's comments carry planted topics whose NPS and churn associations are known
(``truth["comments"]``, :func:`cxlib.synth._comments.company_comments`): ``nps_points`` is
the expected with-minus-without difference given each answer's score, churn and month, and
``realised_nps_points`` the difference on the topics actually planted in this draw.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from cxlib import text

SEED = 20261122  # the notebook's default seed


@pytest.fixture(scope="module")
def sample(sample_dir):
    responses = pd.read_parquet(sample_dir / "responses.parquet")
    customers = pd.read_parquet(sample_dir / "customers.parquet")
    truth = json.loads((sample_dir / "truth.json").read_text(encoding="utf-8"))["comments"]
    result = text.analyse(responses, customers=customers, n_boot=500, seed=SEED)
    return result, truth


def test_topic_impact_covers_the_planted_effects(sample):
    result, truth = sample
    t = result.impact.table.set_index("topic")
    planted = pd.DataFrame(truth["topics"]).T
    coded = planted[planted["in_default_codebook"].astype(bool)].index
    assert set(t.index) == set(coded)
    # the codebook finds the planted topics: the estimate is the realised planted difference
    assert ((t["impact"] - planted.loc[t.index, "realised_nps_points"]).abs() < 1.5).all()
    assert ((t["churn_impact"] - planted.loc[t.index, "realised_churn_points"]).abs() < 1.5).all()
    # 95% intervals around the expected effects: 9 intervals, P(3 or more misses) < 1%
    nps = planted.loc[t.index, "nps_points"].astype(float)
    churn = planted.loc[t.index, "churn_points"].astype(float)
    covered = (t["ci_low"] <= nps) & (nps <= t["ci_high"])
    churn_covered = (t["churn_low"] <= churn) & (churn <= t["churn_high"])
    assert covered.sum() >= 7, t.assign(planted=nps)[["impact", "ci_low", "ci_high", "planted"]]
    assert churn_covered.sum() >= 7, t.assign(planted=churn)[["churn_impact", "churn_low",
                                                              "churn_high", "planted"]]
    # the planted signs are what a reader sees
    assert t.loc["contract", "ci_high"] < -40 and t.loc["contract", "churn_low"] > 10


def test_the_emerging_topic_is_flagged_alone(sample):
    result, truth = sample
    flagged = set(result.trend.tests.loc[result.trend.tests["emerging"], "topic"])
    assert flagged == {truth["emerging"]["topic"]}


def test_the_topic_left_out_of_the_codebook_is_suggested(sample):
    result, _ = sample
    terms = " ".join(result.suggestions.themes["terms"])
    assert "駐車場" in terms or "parking" in terms


def test_writing_sentiment_and_actions_on_the_sample(sample):
    result, truth = sample
    w = result.writing.set_index("group")
    assert w.loc["all", "comments"] == result.n_comments > 8000
    assert w.loc["detractors", "share"] > w.loc["promoters", "share"]  # planted: 1.5 vs 0.8
    s = result.topics.set_index("topic")
    assert s.loc["waiting", "polarity_high"] < 0 < s.loc["staff", "polarity_low"]
    asked = result.actions.table
    assert len(asked) >= sum(truth["actions"].values())
    assert not asked["verbatim"].str.contains("taro.yamada@example.jp", regex=False).any()


def test_no_comments_nothing_to_code(sample_dir):
    responses = pd.read_parquet(sample_dir / "responses.parquet").assign(verbatim=None)
    result = text.analyse(responses.head(500))
    assert not result.has_comments and result.impact is None and result.actions is None
    assert "No comments to code" in result.headline() and "500" in result.headline()
    assert result.writing.set_index("group").loc["all", "comments"] == 0


def test_language_keeps_only_the_comments_in_it(sample_dir):
    responses = pd.read_parquet(sample_dir / "responses.parquet").head(3000)
    both = text.analyse(responses, n_boot=50, language="auto")
    ja = text.analyse(responses, n_boot=50, language="ja")
    en = text.analyse(responses, n_boot=50, language="en")
    assert ja.n_comments + en.n_comments == both.n_comments > 0
    assert 0 < en.n_comments < ja.n_comments     # the sample writes mostly Japanese
    coded = responses["verbatim"].to_numpy()[en.codes.any(axis=1).to_numpy()]
    assert len(coded) and not pd.Series(coded).str.contains("[ぁ-んァ-ン一-龥]").any()
