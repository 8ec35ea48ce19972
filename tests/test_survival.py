"""cxlib.survival against hand-computed, published and planted truth."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from cxlib import survival as sv
from cxlib.errors import DataError, ModelError

Z95 = 1.959963984540054

# Gehan (1965) / Freireich leukaemia remission data (MASS::gehan): weeks, 1 = relapse
GEHAN_6MP = [(6, 1), (6, 1), (6, 1), (6, 0), (7, 1), (9, 0), (10, 1), (10, 0), (11, 0), (13, 1),
             (16, 1), (17, 0), (19, 0), (20, 0), (22, 1), (23, 1), (25, 0), (32, 0), (32, 0),
             (34, 0), (35, 0)]
GEHAN_CONTROL = [(t, 1) for t in (1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17,
                                  22, 23)]


def gehan() -> pd.DataFrame:
    rows = [("6-MP", t, e) for t, e in GEHAN_6MP] + [("control", t, e) for t, e in GEHAN_CONTROL]
    return pd.DataFrame(rows, columns=["treat", "duration", "event"])


@pytest.mark.filterwarnings("ignore::cxlib.errors.SmallSampleWarning")
def test_kaplan_meier_matches_a_hand_computed_case():
    frame = pd.DataFrame({"duration": [1, 2, 2, 3, 4, 5], "event": [1, 1, 0, 1, 0, 1]})
    km = sv.kaplan_meier(frame)
    # by hand: S(1) = 5/6, S(2) = 5/6 * 4/5 (the censoring at 2 is still at risk), S(3) = x 2/3,
    # S(5) = 0; Greenwood at 3: 1/(6*5) + 1/(5*4) + 1/(3*2) = 0.25
    assert km["time"].tolist() == [1, 2, 3, 5]
    assert km["at_risk"].tolist() == [6, 5, 3, 1]
    assert km["events"].tolist() == [1, 1, 1, 1]
    np.testing.assert_allclose(km["survival"], [5 / 6, 4 / 6, 4 / 9, 0.0])
    s3 = 4 / 9
    se = np.sqrt(0.25) / abs(np.log(s3))            # log-log (exponential Greenwood) scale
    row = km.iloc[2]
    assert row["ci_low"] == pytest.approx(s3 ** np.exp(Z95 * se), rel=1e-9)
    assert row["ci_high"] == pytest.approx(s3 ** np.exp(-Z95 * se), rel=1e-9)


@pytest.mark.filterwarnings("ignore::cxlib.errors.SmallSampleWarning")
def test_gehan_matches_published_values():
    """R survival on MASS::gehan: KM of 6-MP, log-rank chi2 16.8 (1 df), Cox coef 1.572 (se 0.412)."""
    data = gehan()
    km = sv.kaplan_meier(data, by="treat")
    mp = km[km["treat"] == "6-MP"].set_index("time")["survival"]
    np.testing.assert_allclose(mp.loc[[6, 7, 10, 13, 16, 22, 23]],
                               [0.857, 0.807, 0.753, 0.690, 0.627, 0.538, 0.448], atol=6e-4)
    lr = sv.logrank(data, by="treat")
    assert lr.statistic == pytest.approx(16.79, abs=0.01)
    assert lr.df == 1 and lr.p_value == pytest.approx(4.17e-5, rel=0.02)
    fit = sv.cox(data, covariates=["treat"])            # reference = most frequent level
    assert set(fit.reference.values()) <= {"6-MP", "control"}
    hr = fit.hazard_ratios.iloc[0]
    coef = np.log(hr["hazard_ratio"]) * (1 if fit.reference["treat"] == "6-MP" else -1)
    assert coef == pytest.approx(1.572, abs=0.002)
    se = (np.log(hr["ci_high"]) - np.log(hr["ci_low"])) / (2 * Z95)
    assert se == pytest.approx(0.412, abs=0.001)
    assert hr["n"] == 21 and hr["events"] in (21, 9)


def _simulate(n: int, seed: int, time_varying: bool = False) -> pd.DataFrame:
    """Exponential times, log-hazard 0.7 per SD of x and log 2 for group b; censoring at 3."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    grp = np.where(rng.random(n) < 0.4, "b", "a")
    lin = 0.7 * x + np.log(2.0) * (grp == "b")
    if time_varying:   # group b's excess hazard only before t = 0.5: not proportional
        t1 = rng.exponential(1 / np.exp(0.7 * x + np.log(4.0) * (grp == "b")))
        t2 = 0.5 + rng.exponential(1 / np.exp(0.7 * x))
        t = np.where(t1 < 0.5, t1, t2)
    else:
        t = rng.exponential(1 / np.exp(lin))
    cens = rng.uniform(0.5, 3.0, n)
    return pd.DataFrame({"duration": np.minimum(t, cens), "event": (t <= cens).astype(int),
                         "x": x, "grp": grp})


def test_cox_recovers_planted_hazard_ratios_and_ph_check_detects_violation():
    data = _simulate(2000, seed=11)
    fit = sv.cox(data, covariates=["x", "grp"])
    hr = fit.hazard_ratios.set_index("term")
    for term, true in (("x", np.exp(0.7)), ("grp[b]", 2.0)):
        assert hr.loc[term, "ci_low"] < true < hr.loc[term, "ci_high"], term
    assert fit.reference == {"grp": "a"}
    assert (fit.ph_test["p_value"] > 0.01).all()
    bad = sv.cox(_simulate(2000, seed=12, time_varying=True), covariates=["x", "grp"])
    ph = bad.ph_test.set_index("term")["p_value"]
    assert ph["grp[b]"] < 1e-4 and ph["x"] > 0.01
    assert "rejected for grp[b]" in " ".join(bad.notes())


def test_durations_censor_at_end_and_count_from_signup():
    customers = pd.DataFrame({
        "customer_id": ["a", "b", "c", "d"],
        "signup_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-06-01", "2025-02-01"]),
        "churned": [True, True, False, False],
        "churn_date": pd.to_datetime(["2024-01-31", "2024-12-31", None, None]),
        "acquisition_channel": ["tv", "web", "tv", "web"],
    })
    with pytest.warns(UserWarning, match="after the end"):
        d = sv.durations(customers, end="2024-07-01")
    assert d["customer_id"].tolist() == ["a", "b", "c"]
    assert d["duration"].tolist() == [30.0, 182.0, 30.0]   # b churns after the end: censored
    assert d["event"].tolist() == [1, 0, 0]
    assert "acquisition_channel" in d and "churn_date" not in d
    months = sv.durations(customers, unit="months")
    assert months.loc[1, "duration"] == pytest.approx(365 / (365.25 / 12))
    assert months["event"].tolist() == [1, 1, 0, 0]


def test_sample_first_year_churn_by_channel_matches_realised_truth(company):
    d = sv.durations(company.customers, unit="months")
    km = sv.kaplan_meier(d, by="acquisition_channel")
    at12 = sv.survival_at(km, 12.0).set_index("acquisition_channel")
    realised = company.truth["realised"]["first_year_churn_by_channel"]
    # the truth's share counts only customers with a full year; KM uses everyone: within 4 points
    for channel, share in realised.items():
        assert 1 - at12.loc[channel, "survival"] == pytest.approx(share, abs=0.04), channel
    assert 1 - at12.loc["tv_campaign", "ci_high"] > 0.60
    assert sv.logrank(d, by="acquisition_channel").p_value < 1e-10
    fig = sv.survival_figure(km, title="first year")
    assert len(fig.data) == 3 * 5


def test_bad_input_is_named():
    frame = pd.DataFrame({"duration": [1.0, -2.0, 3.0], "event": [1, 0, 2]})
    with pytest.raises(DataError, match="'duration'.*rows 2"):
        sv.kaplan_meier(frame)
    with pytest.raises(DataError, match="'event'.*rows 3"):
        sv.kaplan_meier(frame.assign(duration=1.0))
    ok = pd.DataFrame({"duration": [1.0, 2.0, 3.0, 4.0], "event": [0, 0, 0, 0],
                       "x": [1.0, 2.0, 3.0, 4.0], "g": ["a"] * 4})
    with pytest.raises(ModelError, match="no events"):
        sv.cox(ok, covariates=["x"])
    with pytest.raises(ModelError, match="single level"):
        sv.cox(ok.assign(event=1), covariates=["g"])
    with pytest.raises(ModelError, match="fewer than two groups"):
        sv.logrank(ok, by="g")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ModelError, match="collinear"):
            sv.cox(ok.assign(event=1, y=ok["x"] * 2), covariates=["x", "y"])
