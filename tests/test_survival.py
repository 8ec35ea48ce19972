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


# -- against R survival 3.5 (tests/reference/survival/make_reference.R) ----------------------

REF = __import__("pathlib").Path(__file__).parent / "reference" / "survival"

# R's fits: (data, covariates, categorical, strata)
R_FITS = {
    "lung": ("lung", ["age", "sex", "ph.ecog"], None, None),
    "lung_strata": ("lung", ["age", "ph.ecog"], None, "sex"),
    "veteran": ("veteran", ["trt", "karno", "age"], None, None),
    "veteran_celltype": ("veteran", ["karno", "age", "celltype"], ["celltype"], None),
    "veteran_strata": ("veteran", ["karno", "age"], None, "celltype"),
}


def r_data(name: str) -> pd.DataFrame:
    frame = pd.read_csv(REF / f"{name}.csv")
    # lung: status 1 = censored, 2 = dead; veteran: 0/1
    return frame.assign(event=(frame["status"] == frame["status"].max()).astype(int))


@pytest.fixture(scope="module")
def r_fits():
    fits = {}
    for key, (data, covs, cat, strata) in R_FITS.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")          # lung: one row without ph.ecog
            fits[key] = sv.cox(r_data(data), duration="time", covariates=covs,
                               categorical=cat, strata=strata)
    return fits


def test_cox_coefficients_match_r(r_fits):
    ref = pd.read_csv(REF / "coef.csv")
    ref = ref[~ref["term"].str.startswith("celltype")]     # R codes the factor from its 1st level
    for _, row in ref.iterrows():
        hr = r_fits[row["fit"]].hazard_ratios.set_index("term").loc[row["term"]]
        assert np.log(hr["hazard_ratio"]) == pytest.approx(row["coef"], rel=1e-6), tuple(row)


@pytest.mark.parametrize("transform", ["km", "rank", "identity", "log"])
@pytest.mark.parametrize("terms", [True, False])
@pytest.mark.parametrize("fit", list(R_FITS))
def test_ph_test_matches_r_cox_zph(r_fits, fit, transform, terms):
    """chisq, df and p of cox.zph per term and GLOBAL; lung and veteran have tied death
    times (lung 15 tied times), where only Efron-adjusted risk-set means agree."""
    ref = pd.read_csv(REF / "cox_zph.csv")
    ref = ref[(ref["fit"] == fit) & (ref["transform"] == transform) & (ref["terms"] == terms)]
    got = r_fits[fit].ph(transform, terms=terms).table.set_index("term")
    # a factor's single levels are coded against another reference level in R: compare the
    # terms both share (whole terms and GLOBAL do not depend on the coding)
    ref = ref[ref["term"].isin(got.index)]
    assert len(ref) >= 3
    for _, row in ref.iterrows():
        g = got.loc[row["term"]]
        assert g["df"] == row["df"], row["term"]
        assert g["chisq"] == pytest.approx(row["chisq"], rel=1e-6, abs=1e-9), row["term"]
        assert g["p_value"] == pytest.approx(row["p"], rel=1e-6, abs=1e-12), row["term"]


def test_ph_test_default_is_km_per_design_column(r_fits):
    fit = r_fits["lung"]
    assert fit.ph_test["term"].tolist() == ["age", "sex", "ph.ecog"]
    pd.testing.assert_frame_equal(fit.ph_test, fit.ph("km", terms=False).table.iloc[:3])
    assert fit.ph("rank").transform == "rank"
    assert "global chi2 = 4.46 on 3 df" in fit.ph().headline()


def test_scaled_schoenfeld_residuals_match_r(r_fits):
    ref = pd.read_csv(REF / "cox_zph_lung_resid.csv")
    ph = r_fits["lung"].ph("km", terms=False)
    np.testing.assert_allclose(ph.event_times["time"], ref["time"])
    np.testing.assert_allclose(ph.event_times["g"], ref["x"], rtol=1e-9)
    for col in ("age", "sex", "ph.ecog"):
        np.testing.assert_allclose(ph.residuals[col], ref[col], rtol=1e-6, atol=1e-9)


def test_ph_transform_is_checked(r_fits):
    from cxlib.errors import CxError

    with pytest.raises(CxError, match="transform"):
        r_fits["lung"].ph("logrank")


@pytest.mark.parametrize("fit", list(R_FITS))
def test_cox_concordance_matches_r(r_fits, fit):
    """R concordance(fit): censored-at-event-time pairs counted, tied times left out,
    tied scores one half, pairs within strata; SE from the infinitesimal jackknife."""
    ref = pd.read_csv(REF / "concordance.csv").set_index("fit").loc[fit]
    got = r_fits[fit]
    assert got.concordance == pytest.approx(ref["concordance"], rel=1e-9)
    assert got.concordance_se == pytest.approx(ref["std_err"], rel=1e-6)
    assert got.log_likelihood == pytest.approx(ref["loglik"], rel=1e-9)


@pytest.mark.parametrize("strata", [None, "celltype"])
def test_concordance_of_a_score_matches_r(strata):
    """karno on veteran: many tied scores and a tied x and y pair; higher karno = longer."""
    key = "veteran_karno_score" + ("_strata" if strata else "")
    ref = pd.read_csv(REF / "concordance.csv").set_index("fit").loc[key]
    got = sv.concordance(r_data("veteran"), "karno", duration="time", strata=strata,
                         risk_score=False)
    assert got.estimate == pytest.approx(ref["concordance"], rel=1e-9)
    assert got.std_err == pytest.approx(ref["std_err"], rel=1e-6)
    assert got.n == ref["n"]
    for k in ("concordant", "discordant", "tied_x", "tied_y", "tied_xy"):
        assert got.counts[k] == ref[k], k
    # the same score as a risk score (-karno) gives the same answer
    flipped = sv.concordance(r_data("veteran").assign(risk=lambda d: -d["karno"]), "risk",
                             duration="time", strata=strata)
    assert flipped.estimate == pytest.approx(got.estimate, rel=1e-12)


def test_concordance_pair_rules_by_hand():
    """Four customers: an event at 2 with a censoring at 2 (comparable), two events at 3
    (not comparable), a tie in the score (one half)."""
    frame = pd.DataFrame({"duration": [2, 2, 3, 3], "event": [1, 0, 1, 1],
                          "risk": [3.0, 1.0, 2.0, 2.0]})
    got = sv.concordance(frame, "risk")
    # comparable pairs: (0,1) censored at 2, (0,2), (0,3): all concordant; (2,3) tied in y
    assert got.counts == {"concordant": 3.0, "discordant": 0.0, "tied_x": 0.0, "tied_y": 0.0,
                          "tied_xy": 1.0}
    assert got.estimate == 1.0
    frame.loc[1, "risk"] = 3.0                      # now tied with the event at 2
    assert sv.concordance(frame, "risk").estimate == pytest.approx(2.5 / 3)


@pytest.mark.filterwarnings("ignore::cxlib.errors.SmallSampleWarning")
@pytest.mark.parametrize("data,by", [("veteran", "trt"), ("lung", "sex")])
def test_kaplan_meier_matches_r_and_has_no_interval_at_zero(data, by):
    """R survfit(conf.type="log-log"): both veteran arms reach survival 0, where R gives
    no interval (NA) and so do we."""
    ref = pd.read_csv(REF / "kaplan_meier.csv")
    ref = ref[ref["data"] == f"{data}_{by}"]
    km = sv.kaplan_meier(r_data(data), duration="time", by=by)
    assert len(km) == len(ref)
    for col in ("time", "survival", "ci_low", "ci_high", "at_risk", "events"):
        np.testing.assert_allclose(km[col].to_numpy(dtype=float), ref[col].to_numpy(dtype=float),
                                   rtol=1e-9, err_msg=col)       # NaN where R has NA
    if data == "veteran":
        zero = km["survival"] == 0
        assert zero.sum() == 2 and km.loc[zero, ["ci_low", "ci_high"]].isna().all().all()
        assert km.loc[~zero, ["ci_low", "ci_high"]].notna().all().all()


def test_concordance_bad_input_is_named():
    frame = pd.DataFrame({"duration": [1.0, 2.0, 3.0], "event": [1, 0, 1],
                          "score": [0.5, "high", None]})
    with pytest.raises(DataError, match="'score'.*rows 2"):
        sv.concordance(frame, "score")
    with pytest.raises(DataError, match="'nope' not found"):
        sv.concordance(frame, "nope")
    with pytest.warns(UserWarning, match="1 rows with an empty 'score'"):
        got = sv.concordance(frame.assign(score=[0.5, 0.1, None]), "score")
    assert got.n == 2 and got.estimate == 1.0
