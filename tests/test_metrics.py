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


# -- weighted, bootstrap, coverage ----------------------------------------------------------------
import math  # noqa: E402

from scipy import stats  # noqa: E402

from cxlib import metrics  # noqa: E402

Z95 = 1.959963984540054


def test_weighted_nps_hand_computed_with_kish_effective_n():
    # weights 3,1,1,1 on scores 10,9,0,7: sum w = 6, promoters 4/6, detractors 1/6 -> NPS 50.
    # Kish n_eff = 6^2 / (9+1+1+1) = 3. Adjusted Wald on effective counts: n' = 6,
    # p = (2 + .75)/6, d = (.5 + .75)/6, centre = .25, var = (p + d - .0625)/6.
    frame = pd.DataFrame({"nps": [10, 9, 0, 7], "w": [3.0, 1.0, 1.0, 1.0]})
    row = cxlib.nps(frame, weight="w").iloc[0]
    p, d = 2.75 / 6, 1.25 / 6
    half = Z95 * math.sqrt((p + d - 0.25**2) / 6)
    assert row.n == 4 and row.n_eff == pytest.approx(3.0)
    assert row.nps == pytest.approx(50.0) and row.promoters == pytest.approx(4 / 6)
    assert (row.ci_low, row.ci_high) == pytest.approx((100 * (0.25 - half), 100 * (0.25 + half)))
    # equal weights change nothing
    same = cxlib.nps(frame.assign(w=2.5), weight="w").iloc[0]
    plain = cxlib.nps(frame).iloc[0]
    assert (same.nps, same.ci_low, same.ci_high) == pytest.approx((plain.nps, plain.ci_low, plain.ci_high))


def test_bad_weights_and_text_scores_are_clear_errors():
    with pytest.raises(DataError, match=r"weight column 'w' has 1 values .* \(rows 2\)"):
        cxlib.nps(pd.DataFrame({"nps": [1, 2], "w": [1.0, 0.0]}), weight="w")
    with pytest.raises(DataError, match=r"'nps' has 1 values that are not numbers \(rows 2: 'ten'\)"):
        cxlib.nps(pd.DataFrame({"nps": ["9", "ten"]}))


@pytest.mark.parametrize("n", [50, 1000])
def test_adjusted_wald_coverage_between_93_and_97_percent(n):
    # 2,000 samples from a known population (detractors 25%, passives 35%, promoters 40%:
    # NPS +15); the vectorised interval is the one cxlib.nps uses (checked below).
    rng = np.random.default_rng(11 + n)
    counts = rng.multinomial(n, [0.25, 0.35, 0.40], size=2000)
    low, high = metrics.nps_interval(counts[:, 2], counts[:, 0], n)
    coverage = np.mean((low <= 15) & (15 <= high))
    assert 0.93 <= coverage <= 0.97, coverage
    scores = np.repeat([3, 7, 10], counts[0])
    row = cxlib.nps(pd.DataFrame({"nps": scores})).iloc[0]
    assert (row.ci_low, row.ci_high) == pytest.approx((low[0], high[0]))


def test_weighted_interval_coverage_with_unequal_weights():
    # a population where weights correct an over-sampled group: the weighted interval
    # (effective n) must still cover the population NPS about 95% of the time.
    rng = np.random.default_rng(3)
    n, reps = 300, 600
    # group A (weight 2) NPS -10: shares det .4 pas .3 pro .3 ; group B (weight 0.5) NPS +40
    # population: A is 2/3 of people but 1/3 of the sample -> population NPS = (2*-10 + 40)/3
    truth = (2 * -10 + 40) / 3
    hits = 0
    for _ in range(reps):
        a = rng.choice([0, 7, 10], size=n // 3, p=[0.4, 0.3, 0.3])
        b = rng.choice([0, 7, 10], size=2 * n // 3, p=[0.2, 0.2, 0.6])
        frame = pd.DataFrame({"nps": np.r_[a, b], "w": np.r_[np.full(len(a), 4.0), np.full(len(b), 1.0)]})
        row = cxlib.nps(frame, weight="w").iloc[0]
        hits += row.ci_low <= truth <= row.ci_high
    assert 0.92 <= hits / reps <= 0.98


def test_bootstrap_interval_matches_adjusted_wald_for_large_n_and_is_seeded():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"nps": rng.choice([2, 8, 10], size=2000, p=[0.3, 0.3, 0.4]),
                          "w": rng.uniform(0.5, 2, 2000)})
    wald = cxlib.nps(frame).iloc[0]
    boot = cxlib.nps(frame, method="bootstrap", n_boot=2000, seed=4).iloc[0]
    assert boot.ci_low == pytest.approx(wald.ci_low, abs=1.0)
    assert boot.ci_high == pytest.approx(wald.ci_high, abs=1.0)
    again = cxlib.nps(frame, method="bootstrap", n_boot=2000, seed=4).iloc[0]
    assert (again.ci_low, again.ci_high) == (boot.ci_low, boot.ci_high)
    wb = cxlib.nps(frame, weight="w", method="bootstrap", n_boot=400, seed=4).iloc[0]
    ww = cxlib.nps(frame, weight="w").iloc[0]
    assert wb.ci_low == pytest.approx(ww.ci_low, abs=1.5) and wb.ci_high == pytest.approx(ww.ci_high, abs=1.5)


# -- comparisons --------------------------------------------------------------------------------

def test_compare_nps_hand_computed():
    # a: 5 promoters, 3 passives, 2 detractors; b: 2, 3, 5. Adjusted: n' = 13 each,
    # centre a = 3/13, centre b = -3/13, variance of each = (8.5/13 - (3/13)^2)/13.
    a = pd.DataFrame({"nps": [10] * 5 + [8] * 3 + [0] * 2})
    b = pd.DataFrame({"nps": [10] * 2 + [8] * 3 + [0] * 5})
    out = cxlib.metrics.compare_nps(a, b).iloc[0]
    var = (8.5 / 13 - (3 / 13) ** 2) / 13
    se = math.sqrt(2 * var)
    z = (6 / 13) / se
    assert out.difference == pytest.approx(60.0)
    assert out.ci_low == pytest.approx(100 * (6 / 13 - Z95 * se))
    assert out.ci_high == pytest.approx(100 * (6 / 13 + Z95 * se))
    assert out.p_value == pytest.approx(2 * stats.norm.sf(z))
    # benchmark: a against a target of 0 uses a's variance only
    bench = cxlib.metrics.compare_nps(a, target=0).iloc[0]
    assert bench.p_value == pytest.approx(2 * stats.norm.sf((3 / 13) / math.sqrt(var)))
    assert bench.group_b == "target" and bench.difference == pytest.approx(30.0)


def test_compare_nps_false_alarm_rate_and_power_by_simulation():
    rng = np.random.default_rng(8)
    same, diff = 0, 0
    reps = 200
    for _ in range(reps):
        a = pd.DataFrame({"nps": rng.choice([0, 7, 10], 400, p=[0.3, 0.3, 0.4])})
        b = pd.DataFrame({"nps": rng.choice([0, 7, 10], 400, p=[0.3, 0.3, 0.4])})
        c = pd.DataFrame({"nps": rng.choice([0, 7, 10], 400, p=[0.2, 0.3, 0.5])})  # +20 points
        same += cxlib.metrics.compare_nps(a, b).p_value.iat[0] < 0.05
        diff += cxlib.metrics.compare_nps(c, b).p_value.iat[0] < 0.05
    assert same / reps <= 0.09  # nominal 5%
    # 20 points at n = 400 per group: se = sqrt((.69 + .61) / 400) = .057, power = Phi(.2/.057 - 1.96) = .94
    assert 0.88 <= diff / reps <= 0.98


def test_nps_change_finds_the_planted_change_only():
    rng = np.random.default_rng(2)
    dates = pd.to_datetime("2025-01-01") + pd.to_timedelta(rng.integers(0, 365, 6000), unit="D")
    group = rng.choice(["a", "b", "c"], 6000)
    after = dates >= "2025-07-01"
    p_up = np.where((group == "a") & after, 0.6, 0.35)  # group a: +25 points after July
    scores = np.where(rng.random(6000) < p_up, 10, rng.choice([0, 8], 6000))
    frame = pd.DataFrame({"response_date": dates, "g": group, "nps": scores})
    out = cxlib.metrics.nps_change(frame, "2025-07-01", by="g").set_index("g")
    assert out.loc["a", "significant"] and out.loc["a", "change"] > 15
    assert not out.loc["b", "significant"] and not out.loc["c", "significant"]
    assert (out["p_holm"] >= out["p_value"]).all()
    # two groupings are one family: Holm over all 3 + 2 groups, so p_holm can only grow
    frame["h"] = rng.choice(["x", "y"], 6000)
    both = cxlib.metrics.nps_change(frame, "2025-07-01", by=["g", "h"])
    assert list(both["grouping"]) == ["g", "g", "g", "h", "h"]
    a = both.set_index(["grouping", "group"]).loc[("g", "a")]
    assert a["significant"] and a["p_holm"] >= out.loc["a", "p_holm"]
    assert a["p_holm"] == pytest.approx(min(1.0, 5 * a["p_value"]), rel=1e-12, abs=0)  # times 5


def test_nps_change_holm_adjustment_hand_computed_with_moderate_p_values():
    # three groups, 60 answers before and after, changes of +30, +20 and +13 points:
    # raw p about 0.04, 0.18 and 0.38, so Holm visibly changes them (and the verdict of a)
    def block(g, prev, curr):
        rows = []
        for when, counts in (("2025-03-01", prev), ("2025-09-01", curr)):
            for score, n in zip((10, 8, 3), counts):
                rows += [{"response_date": pd.Timestamp(when), "g": g, "nps": score}] * n
        return rows

    frame = pd.DataFrame(block("a", (20, 20, 20), (30, 18, 12))
                         + block("b", (20, 20, 20), (26, 20, 14))
                         + block("c", (20, 20, 20), (24, 20, 16)))
    out = cxlib.metrics.nps_change(frame, "2025-07-01", by="g").set_index("g")
    p = out["p_value"]
    assert 0.01 < p["a"] < 0.05 < p["b"] < p["c"] < 0.5
    # Holm by hand: sorted p times 3, 2, 1, then running maximum
    hand = {"a": 3 * p["a"], "b": max(3 * p["a"], 2 * p["b"]),
            "c": max(3 * p["a"], 2 * p["b"], p["c"])}
    for g, value in hand.items():
        assert out.loc[g, "p_holm"] == pytest.approx(min(1.0, value), rel=1e-12)
    from statsmodels.stats.multitest import multipletests
    np.testing.assert_allclose(out["p_holm"], multipletests(p, method="holm")[1], rtol=1e-12)
    # a is below 0.05 on its own but not after the adjustment
    assert not out["significant"].any()


# -- trend, sample size --------------------------------------------------------------------------

def test_trend_band_flags_a_planted_shift_and_few_stable_months():
    rng = np.random.default_rng(9)
    months = pd.date_range("2024-01-01", periods=24, freq="MS")
    frames = []
    for i, m in enumerate(months):
        shares = [0.1, 0.3, 0.6] if i == 20 else [0.3, 0.3, 0.4]  # month 21: +30 points
        frames.append(pd.DataFrame({"response_date": m + pd.Timedelta(days=3),
                                    "nps": rng.choice([0, 7, 10], 300, p=shares)}))
    trend = cxlib.metrics.nps_trend(pd.concat(frames, ignore_index=True))
    assert len(trend) == 24 and bool(trend.loc[20, "beyond_noise"])
    assert trend["beyond_noise"].drop(index=20).sum() <= 2  # 99% band: false alarms are rare
    assert (trend["band_high"] > trend["centre"]).all()


def test_nps_sample_size_hand_computed_and_by_simulation():
    # p = .4, d = .2: v = .6 - .04 = .56; detect 10 points with two samples at 95% / 80%:
    # n = (1.959964 + 0.841621)^2 * 2 * .56 / .01 = 879.1 -> 880 per sample
    out = cxlib.metrics.nps_sample_size([10, 5], promoters=0.4, detractors=0.2)
    n = out["n_per_sample"].iat[0]
    assert n == math.ceil((Z95 + stats.norm.ppf(0.8)) ** 2 * 2 * 0.56 / 0.01) == 880
    assert out["n_per_sample"].iat[1] > 3.9 * n  # half the change needs ~4x the answers
    # simulated power with that n: baseline (.2, .4, .4) vs +10 points (.15, .4, .45)
    rng = np.random.default_rng(12)
    a = rng.multinomial(n, [0.2, 0.4, 0.4], size=4000)
    b = rng.multinomial(n, [0.15, 0.4, 0.45], size=4000)
    ca, va = metrics._adjusted(a[:, 2], a[:, 0], n)
    cb, vb = metrics._adjusted(b[:, 2], b[:, 0], n)
    power = np.mean(np.abs(cb - ca) / np.sqrt(va + vb) > Z95)
    assert 0.75 <= power <= 0.86, power


# -- CSAT, CES, repeat purchase, retention --------------------------------------------------------

def test_csat_top2_and_mean_hand_computed():
    from statsmodels.stats.proportion import proportion_confint

    frame = pd.DataFrame({"csat": [5, 4, 3, 2, 1, 5, None], "g": list("aaabbbb")})
    row = cxlib.metrics.csat(frame).iloc[0]
    assert row.n == 6 and row.top_box == pytest.approx(0.5)
    assert (row.top_box_low, row.top_box_high) == pytest.approx(
        proportion_confint(3, 6, alpha=0.05, method="wilson"))
    x = np.array([5, 4, 3, 2, 1, 5.0])
    half = stats.t.ppf(0.975, 5) * x.std(ddof=1) / math.sqrt(6)
    assert (row["mean"], row.mean_low, row.mean_high) == pytest.approx((20 / 6, 20 / 6 - half, 20 / 6 + half))
    by = cxlib.metrics.csat(frame, by="g").set_index("g")
    assert by.loc["a", "top_box"] == pytest.approx(2 / 3) and by.loc["b", "n"] == 3
    with pytest.raises(DataError, match="outside 1-5"):
        cxlib.metrics.csat(pd.DataFrame({"csat": [0, 5]}))


def test_ces_easy_share_and_mean():
    row = cxlib.metrics.ces(pd.DataFrame({"ces": [7, 6, 5, 4, 1, 2, 7, 7]})).iloc[0]
    assert row.top_box == pytest.approx(5 / 8) and row["mean"] == pytest.approx(39 / 8)


def test_repeat_purchase_and_retention_hand_computed():
    tp = pd.DataFrame({"customer_id": ["a", "a", "b", "c", "c", "c", "d"],
                       "event_type": ["purchase", "purchase", "purchase", "purchase", "visit",
                                      "purchase", "visit"]})
    customers = pd.DataFrame({
        "customer_id": ["a", "b", "c", "d", "e"],
        "plan": ["x", "x", "y", "y", "y"],
        "signup_date": pd.to_datetime(["2023-01-01", "2023-02-01", "2023-03-01", "2024-11-01", "2023-05-01"]),
        "churned": [False, True, True, False, True],
        "churn_date": pd.to_datetime([None, "2023-06-01", "2024-06-01", None, "2025-01-01"]),
    })
    rep = cxlib.metrics.repeat_purchase_rate(tp)  # a and c bought twice; b once; d never
    assert (rep["n"].iat[0], rep["count"].iat[0]) == (3, 2)
    by = cxlib.metrics.repeat_purchase_rate(tp, customers, by="plan").set_index("plan")
    assert by.loc["x", "rate"] == pytest.approx(0.5) and by.loc["y", "rate"] == pytest.approx(1.0)
    ret = cxlib.metrics.retention_rate(customers, months=12, as_of="2025-06-01")
    # eligible: a, b, c, e (d signed up < 12 months before); retained: a, c (left after 15
    # months), e (left after 20 months); b left after 4 months
    assert (ret["n"].iat[0], ret["count"].iat[0]) == (4, 3)
    assert ret["ci_low"].iat[0] < 0.75 < ret["ci_high"].iat[0]


def test_retention_on_the_sample_shows_the_planted_hyped_channel(company):
    # truth: the tv_campaign channel's expectation gap drives first-year churn above 60%
    ret = cxlib.metrics.retention_rate(company.customers, by="acquisition_channel").set_index(
        "acquisition_channel")
    truth = company.truth["realised"]["first_year_churn_by_channel"]
    assert ret["rate"].idxmin() == "tv_campaign" == max(truth, key=truth.get)
    for channel, churn in truth.items():
        assert ret.loc[channel, "ci_low"] - 0.03 <= 1 - churn <= ret.loc[channel, "ci_high"] + 0.03


def test_holm_is_statsmodels_holm_on_random_tied_and_missing_p_values():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(7)
    for m in (1, 2, 5, 40, 300):
        p = rng.uniform(0, 1, m) ** 3  # many small ones
        p[: m // 4] = p[0]  # ties
        np.testing.assert_array_equal(cxlib.metrics.holm(p), multipletests(p, method="holm")[1])
    p = np.array([0.01, np.nan, 0.04, 0.5])
    np.testing.assert_array_equal(cxlib.metrics.holm(p), multipletests(p, method="holm")[1])
    assert cxlib.metrics.holm(np.array([])).shape == (0,)
