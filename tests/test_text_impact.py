"""Topic impact: hand-computed on small data, intervals cover planted effects, emerging topics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib.errors import DataError
from cxlib.synth._comments import simulate_comments
from cxlib.text import (benjamini_hochberg, default_codebook, topic_drivers, topic_impact,
                        topic_trend)


def test_impact_matches_a_hand_computed_case():
    frame = pd.DataFrame({"nps": [10, 9, 0, 8, 3, 10], "churned": [True, False, None, True,
                                                                    False, False],
                          "verbatim": ["a"] * 6})
    codes = pd.DataFrame({"x": [True, True, True, False, False, False]})
    r = topic_impact(frame, codes, n_boot=50, min_mentions=1)
    row = r.table.iloc[0]
    # with: 10, 9, 0 -> NPS (2 - 1) / 3 = 33.3; without: 8, 3, 10 -> (1 - 1) / 3 = 0
    assert row["nps_with"] == pytest.approx(100 / 3) and row["nps_without"] == pytest.approx(0)
    assert row["impact"] == pytest.approx(100 / 3)
    # churn known: with 1 of 2, without 1 of 3
    assert row["churn_impact"] == pytest.approx(100 * (1 / 2 - 1 / 3))
    assert row["n_known"] == 2


def test_intervals_cover_planted_effects_at_the_nominal_rate():
    book = default_codebook()
    hits, total = 0, 0
    for rep in range(100):
        frame, truth = simulate_comments(700, seed=1000 + rep)
        r = topic_impact(frame, book.code(frame["verbatim"]), n_boot=200, seed=rep)
        t = r.table.dropna(subset=["ci_low"])
        effect = t["topic"].map(lambda k: truth["topics"][k]["nps_points"])
        hits += int(((t["ci_low"] <= effect) & (effect <= t["ci_high"])).sum())
        total += len(t)
    coverage = hits / total
    # 95% nominal; about 900 intervals, correlated within a replication: MC error ~1.5 points
    assert 0.91 <= coverage <= 0.985, f"coverage {coverage:.3f} of {total}"


def test_large_sample_estimates_hit_planted_nps_and_churn_effects():
    frame, truth = simulate_comments(20_000, seed=5)
    r = topic_impact(frame, default_codebook().code(frame["verbatim"]), n_boot=100)
    t = r.table.set_index("topic")
    for topic, row in t.iterrows():
        planted = truth["topics"][topic]
        assert abs(row["impact"] - planted["nps_points"]) < 5, topic
        assert abs(row["churn_impact"] - planted["churn_points"]) < 4, topic
    assert r.table["impact"].is_monotonic_increasing


def test_emerging_topic_is_flagged_and_steady_ones_are_not():
    frame, truth = simulate_comments(6000, seed=8)
    trend = topic_trend(frame, default_codebook().code(frame["verbatim"]))
    flagged = set(trend.tests.loc[trend.tests["emerging"], "topic"])
    assert flagged == {truth["emerging"]["topic"]}
    shares = trend.shares
    assert set(shares["period"].astype(str)) == {f"2025-{m:02d}" for m in range(1, 13)}
    assert (shares["ci_low"] <= shares["share"]).all()
    assert (shares["share"] <= shares["ci_high"]).all()


def test_no_rise_means_few_false_alarms():
    alarms = 0
    for rep in range(20):
        frame, _ = simulate_comments(1500, seed=300 + rep, emerging_factor=1.0)
        trend = topic_trend(frame, default_codebook().code(frame["verbatim"]))
        alarms += bool(trend.tests["emerging"].any())
    assert alarms <= 4  # FDR 5% across 9 topics; under the global null at most ~5% of runs


def test_benjamini_hochberg_matches_statsmodels():
    from statsmodels.stats.multitest import multipletests

    p = np.array([0.01, 0.04, 0.03, 0.2, 0.5, np.nan, 0.001])
    ok = ~np.isnan(p)
    expected = multipletests(p[ok], method="fdr_bh")[1]
    assert np.allclose(benjamini_hochberg(p)[ok], expected)
    assert np.isnan(benjamini_hochberg(p)[5])


def test_topics_as_drivers_next_to_rated_items():
    frame, _ = simulate_comments(1500, seed=4)
    rng = np.random.default_rng(0)
    frame["item"] = np.clip(frame["nps"] / 2 + rng.normal(0, 1.5, len(frame)), 0, 5)
    book = default_codebook()
    r = topic_drivers(frame, book.code(frame["verbatim"]), ["item"], n_boot=30)
    assert set(r.importance["driver"]) == {"item", *book.names}


def test_bad_input_is_named():
    frame = pd.DataFrame({"nps": [11, 5], "verbatim": ["a", "b"]})
    codes = pd.DataFrame({"x": [True, False]})
    with pytest.raises(DataError, match=r"column 'nps' has 1 values outside 0-10 \(rows 1\)"):
        topic_impact(frame, codes)
    with pytest.raises(DataError, match="codes have 1 rows, the answers 2"):
        topic_impact(frame, codes.iloc[:1])
    with pytest.raises(DataError, match="date column 'response_date' not found"):
        topic_trend(frame, codes)


def test_hostile_labels_stay_text_in_figures():
    frame, _ = simulate_comments(800, seed=2)
    codes = default_codebook().code(frame["verbatim"])
    labels = {"staff": "<a href='http://x'>staff</a>", "waiting": "<script>alert(1)</script>"}
    impact = topic_impact(frame, codes, labels=labels, n_boot=30)
    trend = topic_trend(frame, codes, labels=labels)
    for fig in (impact.plot(), impact.plot_churn(), trend.plot()):
        text = fig.to_json()
        assert "<script>" not in text and "<a href" not in text
        assert "&lt;script&gt;" in text or "&lt;a href" in text
