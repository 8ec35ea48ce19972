"""NPS against a hand-computed case and against planted truth (coverage)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import cxlib
from cxlib.errors import DataError


def test_nps_hand_computed_adjusted_wald():
    # 5 promoters, 3 passives, 2 detractors: NPS = 30.
    # Adjusted Wald (Rocks 2016): n' = 13, p = 5.75/13, d = 2.75/13, centre = 3/13,
    # var = (p + d - centre^2)/13 = 0.0461993..., half = 1.959964 * 0.2149403 = 0.4212753
    frame = pd.DataFrame({"nps": [10, 9, 9, 10, 9, 8, 7, 8, 6, 0]})
    row = cxlib.nps(frame).iloc[0]
    assert row.n == 10 and row.nps == pytest.approx(30.0)
    assert (row.promoters, row.passives, row.detractors) == pytest.approx((0.5, 0.3, 0.2))
    assert row.ci_low == pytest.approx(-19.0506, abs=1e-3)
    assert row.ci_high == pytest.approx(65.2044, abs=1e-3)
    assert row.small_sample


def test_nps_interval_covers_the_true_value_95_percent_of_the_time():
    rng = np.random.default_rng(5)
    shares = [0.25, 0.40, 0.35]  # detractor, passive, promoter: true NPS = +10
    hits = 0
    reps = 1000
    for _ in range(reps):
        scores = rng.choice([3, 7, 10], size=150, p=shares)
        row = cxlib.nps(pd.DataFrame({"nps": scores})).iloc[0]
        hits += row.ci_low <= 10 <= row.ci_high
    assert 0.93 <= hits / reps <= 0.97


def test_nps_by_group_flags_small_groups_and_skips_missing():
    frame = pd.DataFrame({"g": ["a"] * 40 + ["b"] * 5,
                          "nps": pd.array([10] * 20 + [0] * 20 + [9, 9, 9, None, 5], dtype="Int64")})
    out = cxlib.nps(frame, by="g", min_n=30).set_index("g")
    assert out.loc["a", "nps"] == 0 and not out.loc["a", "small_sample"]
    assert out.loc["b", "n"] == 4 and out.loc["b", "nps"] == 50 and out.loc["b", "small_sample"]


def test_nps_rejects_out_of_range_scores_with_rows():
    with pytest.raises(DataError, match=r"2 values outside 0-10 \(rows 2, 4\)"):
        cxlib.nps(pd.DataFrame({"nps": [1, 11, 5, -2]}))
