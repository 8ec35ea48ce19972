"""cxlib.changes: headline numbers by unit, their comparisons, q-values and flags.

Checked against peers (cxlib.metrics, statsmodels' Benjamini-Hochberg), hand counts,
the sample with and without a planted shift, and a simulation of the false-discovery
rate over many null units.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup
from planted import SHIFT_REGION, planted_topic, shifted_responses
from statsmodels.stats.multitest import multipletests

from cxlib import changes, metrics, text
from cxlib.dataset import Dataset
from cxlib.errors import DataError, ParameterError
from cxlib.report.panel import changes_panel, page_panel


@pytest.fixture(scope="module")
def sample(sample_dir):
    return (pd.read_parquet(sample_dir / "responses.parquet"),
            pd.read_parquet(sample_dir / "customers.parquet"))


def _latest(h: pd.DataFrame, metric: str, unit: str = changes.COMPANY,
            window: str = "latest") -> pd.Series:
    row = h[(h.metric == metric) & (h.unit == unit) & (h.window == window)]
    assert len(row) == 1, (metric, unit, window)
    return row.iloc[0]


# -- the numbers, against peers and hand counts ----------------------------------------------

def test_bh_qvalues_match_statsmodels():
    p = np.random.default_rng(1).uniform(size=300) ** 3
    assert np.allclose(metrics.benjamini_hochberg(p), multipletests(p, method="fdr_bh")[1])
    assert metrics.benjamini_hochberg([]).size == 0


@pytest.mark.parametrize("weight", ["weight", None])
def test_survey_headlines_match_cxlib_metrics(sample, weight):
    responses, customers = sample
    h = changes.headlines(responses, customers, dataset=Dataset.default(), weight=weight)
    dec = responses[responses.response_date.dt.to_period("M") == "2025-12"]
    dec = dec.merge(customers[["customer_id", "region"]], on="customer_id")
    peer = metrics.nps(dec, by="region", weight=weight).set_index("region")
    for region, row in peer.iterrows():
        mine = _latest(h, "nps", region)
        assert mine.n == row.n and mine.estimate == pytest.approx(row.nps)
        assert mine.n_eff == pytest.approx(row.n_eff)
        assert (mine.ci_low, mine.ci_high) == pytest.approx((row.ci_low, row.ci_high))
    top = metrics.csat(dec, by="organisation", weight=weight).set_index("organisation")
    for org, row in top.iterrows():
        mine = _latest(h, "csat", org)
        assert mine.n == row.n and mine.estimate == pytest.approx(row.top_box)
        assert (mine.ci_low, mine.ci_high) == pytest.approx((row.top_box_low, row.top_box_high))
    effort = metrics.ces(dec, weight=weight).iloc[0]
    mine = _latest(h, "ces")
    assert mine.estimate == pytest.approx(effort["mean"])
    assert (mine.ci_low, mine.ci_high) == pytest.approx((effort.mean_low, effort.mean_high))
    base = _latest(h, "nps", window="baseline")
    months = responses.response_date.dt.to_period("M")
    pooled = metrics.nps(responses[(months >= "2025-09") & (months <= "2025-11")],
                         weight=weight).iloc[0]
    assert base.period == "2025-09 to 2025-11" and base.n == pooled.n
    assert base.estimate == pytest.approx(pooled.nps)
    assert _latest(h, "nps", window="last_year").period == "2024-12"


def test_weighted_nps_of_a_unit_is_report_01s_and_its_alert_says_n_eff(sample):
    responses, customers = sample
    h = changes.headlines(responses, customers)  # weighted by default, as report 01
    nov = responses[responses.response_date.dt.to_period("M") == "2025-11"]
    nov = nov.merge(customers[["customer_id", "region"]], on="customer_id")
    peer = metrics.nps(nov[nov.region == "Kanto"], weight="weight").iloc[0]
    unweighted = metrics.nps(nov[nov.region == "Kanto"]).iloc[0]
    assert peer.nps != pytest.approx(unweighted.nps)  # the weights move it (0.05 points)
    only_nov = responses[responses.response_date < "2025-12-01"]
    mine = _latest(changes.headlines(only_nov, customers), "nps", "Kanto")
    assert mine.estimate == pytest.approx(peer.nps) and mine.n == peer.n
    assert mine.n_eff == pytest.approx(peer.n_eff) and mine.n_eff < mine.n
    assert (mine.ci_low, mine.ci_high) == pytest.approx((peer.ci_low, peer.ci_high))
    out = changes.what_changed(h, None)
    row = out[(out.metric == "nps") & (out.unit == "Kanto")].iloc[0]
    assert row.n_eff_after == pytest.approx(_latest(h, "nps", "Kanto").n_eff)
    assert row.n_after == _latest(h, "nps", "Kanto").n


def test_the_min_n_guard_counts_the_effective_n():
    rng = np.random.default_rng(3)
    n = 40  # 40 answers a month, but half of them carry nearly all the weight
    data = pd.DataFrame({"response_date": np.repeat(pd.to_datetime(["2025-01-15", "2025-02-15"]),
                                                    n),
                         "nps": rng.integers(0, 11, 2 * n),
                         "weight": np.tile(np.r_[np.full(n // 2, 10.0), np.full(n // 2, 0.01)],
                                           2)})
    h = changes.headlines(data, None, baseline=1)
    latest = _latest(h, "nps")
    assert latest.n == n and latest.n_eff == pytest.approx(n / 2, rel=0.01)
    out = changes.what_changed(h, min_n=30)
    assert not out.tested.any() and out.note.str.contains("fewer than 30").all()
    assert changes.what_changed(changes.headlines(data, None, baseline=1, weight=None),
                                min_n=30).tested.all()


def test_missing_weights_are_a_data_error_naming_the_rows():
    data = pd.DataFrame({"response_date": pd.to_datetime(["2025-01-03"] * 3),
                         "nps": [10, 3, 8], "weight": [1.0, np.nan, -2.0]})
    with pytest.raises(DataError, match=r"'weight' has 2 values .*rows 3, 4|'weight' has 2"):
        changes.headlines(data, None)


def test_churn_and_retention_by_hand():
    d = pd.Timestamp
    customers = pd.DataFrame({
        "customer_id": list("abcdefg"),
        "region": ["x", "x", "x", "y", "y", "y", "y"],
        "signup_date": [d("2024-01-10"), d("2024-01-20"), d("2024-02-05"), d("2024-11-03"),
                        d("2025-01-02"), d("2025-01-15"), d("2025-02-27")],
        "churned": [True, False, True, True, False, True, False],
        "churn_date": [d("2025-01-05"), pd.NaT, d("2025-02-10"), d("2025-02-14"), pd.NaT,
                       d("2025-02-01"), pd.NaT],
    })
    h = changes.headlines(None, customers, baseline=1, units=["region"])
    assert h.attrs["period"] == "2025-02"
    # February 2025: active at its start a? no (left in January); b, c, d, e, f -> 5;
    # c, d and f leave in February
    churn = _latest(h, "churn")
    assert (churn.n, churn.estimate) == (5, pytest.approx(3 / 5))
    assert _latest(h, "churn", "y").estimate == pytest.approx(2 / 3)
    # January 2025 (the baseline): a, b, c and d active at its start; a leaves in January
    jan = _latest(h, "churn", window="baseline")
    assert (jan.n, jan.estimate) == (4, pytest.approx(1 / 4))
    # 12-month retention of February 2024's signups (c): left after 12 months + 5 days
    ret = _latest(h, "retention")
    assert (ret.n, ret.estimate) == (1, 1.0)
    assert "NPS, CSAT and CES: skipped" in " ".join(h.attrs["notes"])


def test_a_difference_matches_compare_nps(sample):
    responses, _ = sample
    month = responses.response_date.dt.to_period("M")
    a, b = responses[month == "2025-12"], responses[month == "2025-11"]
    ha = changes.headlines(a, None)
    hb = changes.headlines(b, None)
    got = changes.compare(ha[ha.window == "latest"], hb[hb.window == "latest"], "x")
    got = got[(got.metric == "nps") & (got.unit == changes.COMPANY)].iloc[0]
    peer = metrics.compare_nps(a, b, weight="weight").iloc[0]
    assert got.difference == pytest.approx(peer.difference)
    assert (got.ci_low, got.ci_high) == pytest.approx((peer.ci_low, peer.ci_high))
    assert got.p_value == pytest.approx(peer.p_value)


def test_absent_metrics_are_notes_not_errors():
    responses = pd.DataFrame({"response_date": pd.to_datetime(["2025-01-03"] * 40),
                              "nps": [10] * 20 + [3] * 20})
    h = changes.headlines(responses, None)
    assert set(h.metric) == {"nps"}
    notes = " ".join(h.attrs["notes"])
    assert "CSAT top-box share: skipped" in notes and "churn and retention: skipped" in notes
    empty = changes.headlines(None, None)
    assert empty.empty and "no headline numbers" in empty.attrs["notes"][0]
    with pytest.raises(ParameterError, match="baseline"):
        changes.headlines(responses, None, baseline=0)


# -- what is flagged ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def emerging(sample_dir):
    """The sample's own change (truth.json): a topic whose share of comments rises from a
    month on; the latest month against the same month last year finds it."""
    truth = json.loads((sample_dir / "truth.json").read_text(encoding="utf-8"))
    topic = truth["comments"]["emerging"]["topic"]
    return {(f"topic:{topic}", changes.COMPANY, "same month last year")}


def _flags(out: pd.DataFrame) -> set[tuple[str, str, str]]:
    flagged = out[out.flagged]
    return set(zip(flagged.metric, flagged.unit, flagged.comparison))


def test_unchanged_data_flag_nothing_and_differ_by_exactly_zero(sample, emerging):
    responses, customers = sample
    h = changes.headlines(responses, customers)
    again = changes.headlines(responses.copy(), customers.copy())
    out = changes.what_changed(again, h)
    last = out[out.comparison == "last run"]
    assert len(last) == (h.window == "latest").sum()
    assert last.metric.str.startswith("topic:").any() and (last.n_eff_after < last.n_after).any()
    assert (last.difference == 0).all() and (last.p_value.dropna() == 1).all()
    assert _flags(out) == emerging  # only the sample's own emerging topic, vs last year


def test_a_planted_shift_is_flagged_in_its_region_only(sample, emerging):
    responses, customers = sample
    before = changes.headlines(responses, customers)
    shifted, moved = shifted_responses(responses, customers)
    assert len(moved) >= 25
    out = changes.what_changed(changes.headlines(shifted, customers), before)
    flagged = out[out.flagged]
    assert {f[:2] for f in _flags(out) - emerging} == {("nps", SHIFT_REGION)}
    assert set(flagged.comparison) >= {"last run", "previous 3 months"}
    row = flagged[flagged.comparison == "last run"].iloc[0]
    assert row.ci_low > 0 and row.difference > 20 and row.q_value < 0.05


def test_topic_shares_are_the_shares_of_coded_comments(sample):
    responses, customers = sample
    h = changes.headlines(responses, customers)
    dec = responses[(responses.response_date.dt.to_period("M") == "2025-12")
                    & responses.verbatim.notna()]
    codes = text.default_codebook().code(dec.verbatim)
    for topic in codes.columns:
        mine = _latest(h, f"topic:{topic}")
        assert mine.n == len(dec) == mine.n_eff and mine.estimate == codes[topic].mean()
        low, high = metrics.wilson_interval(codes[topic].mean(), len(dec))
        assert (mine.ci_low, mine.ci_high) == pytest.approx((low, high))
    assert h.attrs["topics"]["topic:app_web"] == text.default_codebook().topic("app_web").label


def test_a_planted_topic_shift_is_flagged(sample, emerging):
    responses, customers = sample
    before = changes.headlines(responses, customers)
    planted, moved = planted_topic(responses, "delivery")
    assert len(moved) >= 30
    out = changes.what_changed(changes.headlines(planted, customers), before)
    found = _flags(out) - emerging
    assert ("topic:delivery", changes.COMPANY, "last run") in found
    assert {f[0] for f in found} == {"topic:delivery"}  # nothing else moved
    row = out[(out.metric == "topic:delivery") & (out.unit == changes.COMPANY)
              & (out.comparison == "last run")].iloc[0]
    assert row.ci_low > 0 and row.n_after == row.n_before  # same comments, other topics


def test_units_under_min_n_are_listed_not_tested(sample):
    responses, customers = sample
    h = changes.headlines(responses, customers)
    out = changes.what_changed(h, h, min_n=100)
    small = out[~out.tested]
    assert len(small) and ((small.n_eff_before < 100) | (small.n_eff_after < 100)).all()
    assert (out[out.tested][["n_eff_before", "n_eff_after"]] >= 100).all().all()
    assert small.p_value.isna().all() and small.q_value.isna().all() and not small.flagged.any()
    assert small.note.str.contains("fewer than 100").all()


def _null_and_shifted(rng: np.random.Generator, n_null: int, n_shift: int, n: int
                      ) -> pd.DataFrame:
    """Answers of ``n`` per store and month over two months; the last ``n_shift`` stores
    gain promoters (and lose detractors) in the second."""
    stores = n_null + n_shift
    store = np.tile(np.repeat(np.arange(stores), n), 2)
    second = np.repeat([False, True], stores * n)
    shifted = second & (store >= n_null)
    promoter = np.where(shifted, 0.50, 0.35)  # passives 0.30; NPS 0, shifted +30 points
    u = rng.random(len(store))
    score = np.where(u < promoter, 10, np.where(u < promoter + 0.30, 8, 3))
    return pd.DataFrame({"store": [f"s{s:03d}" for s in range(stores)], }).iloc[store].assign(
        nps=score, response_date=np.where(second, pd.Timestamp("2025-02-15"),
                                          pd.Timestamp("2025-01-15"))).reset_index(drop=True)


def test_false_discovery_rate_stays_at_its_level_over_many_null_units():
    rng = np.random.default_rng(20261122)
    n_null, n_shift, reps, alpha = 200, 20, 30, 0.05
    fdp, power, raw_fdp = [], [], []
    for _ in range(reps):
        data = _null_and_shifted(rng, n_null, n_shift, n=150)
        h = changes.headlines(data, None, units=["store"], baseline=1)
        out = changes.what_changed(h, alpha=alpha)
        stores = out[out.unit_column == "store"]
        null = stores.unit.str[1:].astype(int) < n_null
        flagged = stores.flagged.to_numpy()
        fdp.append((flagged & null).sum() / max(flagged.sum(), 1))
        power.append(flagged[~null].mean())
        raw = (stores.p_value < alpha).to_numpy()
        raw_fdp.append((raw & null).sum() / max(raw.sum(), 1))
    fdr, mc = np.mean(fdp), np.std(fdp) / np.sqrt(reps)
    # BH controls the FDR at alpha * m0 / m (about 0.045 here)
    assert fdr <= alpha + 3 * mc, (fdr, mc)
    assert np.mean(power) > 0.5  # the shifted stores are found
    assert np.mean(raw_fdp) > 2 * alpha  # without the correction the FDR would be higher


# -- the panel -----------------------------------------------------------------------------

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_hostile_unit_labels_stay_text_in_the_panels():
    rows = [{"metric": "nps", "metric_label": "NPS", "unit_column": "<b>region</b>",
             "unit": HOSTILE, "comparison": "last run <i>x</i>", "period_before": "2025-11",
             "before": -3.0, "after": 20.0, "difference": 23.0, "ci_low": 9.0, "ci_high": 37.0,
             "n_before": 200, "n_after": 210, "q_value": 0.0004, "scale": "points",
             "level": 0.95}]
    entry = {"status": "ok", "period": "2025-12", "tests": 10, "comparisons": ["last run"],
             "flagged": rows, "alerts": "alerts.json", "notes": [HOSTILE], "alpha": 0.05}
    for fragment in (changes_panel(entry, "r<1>", "r1/"), page_panel(rows)):
        soup = BeautifulSoup(fragment, "html.parser")
        assert not soup.find_all(["script", "img", "b", "i"])
        assert HOSTILE in soup.get_text()
        assert "+23.0 points (95% CI +9.0 to +37.0)" in soup.get_text()


def test_the_panel_says_when_nothing_changed():
    entry = {"status": "ok", "period": "2025-12", "tests": 12, "comparisons": ["last run"],
             "flagged": [], "untested": 2, "min_n": 30, "notes": [], "alpha": 0.05}
    text = BeautifulSoup(changes_panel(entry, "r1"), "html.parser").get_text()
    assert "Nothing changed beyond sampling noise" in text and "2 comparisons not tested" in text
    assert changes_panel(None, "r1") == "" and page_panel([]) == ""
