"""Pilot evaluation against planted truth, own simulations, statsmodels and hand cases.

Truths used: the sample company's planted pilot (``truth["pilot"]``); simulations
of our own with a known effect (zero or not) at the level the estimators see
(customers with repeated observations, month shocks, a non-random pilot level);
statsmodels' power functions and formula OLS; hand-computed small cases.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize
from threadpoolctl import threadpool_limits

from cxlib import pilot
from cxlib.errors import DataError, ParameterError, SmallSampleWarning, StatisticalWarning

START = pd.Timestamp("2025-04-01")


# --------------------------------------------------------------------------- simulation
def simulate_panel(rng: np.random.Generator, n_pilot: int = 60, n_control: int = 140,
                   months: int = 12, start_month: int = 8, effect: float = 0.0,
                   rate: float = 0.5, pre_trend: float = 0.0, level_gap: float = 0.4):
    """Customers with Poisson(rate) observations a month; y = 3 + level_gap (pilot, not
    random) + customer effect (SD 0.6) + month shock (SD 0.2) + effect after the start
    + pre_trend x months-to-start (pilot) + noise (SD 0.8). Month m is 2024-01 + m."""
    n = n_pilot + n_control
    treated = np.arange(n) < n_pilot
    u = rng.normal(0, 0.6, n) + level_gap * treated
    shock = rng.normal(0, 0.2, months)
    k = rng.poisson(rate, (n, months))
    cust, mon = np.nonzero(k)
    reps = k[cust, mon]
    cust, mon = np.repeat(cust, reps), np.repeat(mon, reps)
    post = mon >= start_month
    y = (3 + u[cust] + shock[mon] + effect * (treated[cust] & post)
         + pre_trend * treated[cust] * np.minimum(mon - start_month, 0)
         + rng.normal(0, 0.8, len(cust)))
    when = (pd.Timestamp("2024-01-01") + pd.to_timedelta(mon * 30.44 + 10, unit="D"))
    ids = np.array([f"K{i:04d}" for i in range(n)], dtype=object)
    groups = pd.Series(np.where(treated, pilot.PILOT, pilot.CONTROL),
                       index=pd.Index(ids, name="customer_id"), name="group")
    obs = pd.DataFrame({"customer_id": ids[cust], "when": when, "y": y})
    start = pd.Timestamp("2024-01-01") + pd.DateOffset(months=start_month)
    return obs, groups, start


# --------------------------------------------------------------------------- planted truth
@pytest.fixture(scope="module")
def sample_groups(company):
    return pilot.define_groups(company.customers)


@pytest.mark.parametrize("kpi, truth_key", [
    ("csat_contact_centre", "csat_contact_centre"),
    ("nps", "nps_score"),
    ("nps_0_10", "nps_points_0_10"),
    ("first_contact_resolution", None),
])
def test_planted_pilot_effect_is_inside_the_interval(company, sample_groups, kpi, truth_key):
    t = company.truth["pilot"]
    truth = (t["effect_on_first_contact_resolution"] if truth_key is None
             else t["effects_on_answers"][truth_key])
    res = pilot.evaluate_pilot(company.tables, kpi, sample_groups, t["start"], bin_months=3)
    assert res.ci_low <= truth <= res.ci_high, res.summary()
    assert res.n_pilot > 100 and res.n_control > 1000
    assert set(res.cells["group"]) == {"pilot", "control"}
    # the event study has the reference period at zero and both sides of the start
    es = res.event_study.set_index("period")
    assert es.loc[-1, "estimate"] == 0 and es.index.min() < -1 and es.index.max() >= 0
    assert 0 <= res.pretrend_p <= 1


def test_clear_effects_are_detected_and_churn_has_no_spurious_one(company, sample_groups):
    t = company.truth["pilot"]
    fcr = pilot.evaluate_pilot(company.tables, "first_contact_resolution", sample_groups,
                               t["start"], event_study=False)
    assert fcr.ci_low > 0  # true effect +0.087 with ~565 pilot customers: detected
    churn = pilot.evaluate_pilot(company.tables, "churn", sample_groups, t["start"],
                                 pre_months=6, event_study=False)
    # planted churn effect is tiny (latent shifts of ~0.04 log-odds): interval must be narrow
    assert churn.ci_high - churn.ci_low < 0.02 and churn.n_obs > 50_000


def test_estimator_matches_statsmodels_formula_with_month_fixed_effects():
    obs, groups, start = simulate_panel(np.random.default_rng(5), effect=0.3)
    res = pilot.difference_in_differences(obs, groups, start, pre_months=8, event_study=False)
    d = obs.assign(treated=(obs["customer_id"].map(groups) == "pilot").astype(int),
                   post=(obs["when"] >= start).astype(int),
                   month=obs["when"].dt.to_period("M").astype(str))
    ref = smf.ols("y ~ treated + C(month) + treated:post", data=d).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(d["customer_id"])[0]})
    assert res.estimate == pytest.approx(ref.params["treated:post"], rel=1e-8)
    assert res.se == pytest.approx(ref.bse["treated:post"], rel=1e-6)


# --------------------------------------------------------------------------- replications
def test_interval_covers_zero_in_93_to_97_percent_without_an_effect():
    rng = np.random.default_rng(20261122)
    n_rep, covered, estimates = 600, 0, []
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        for _ in range(n_rep):
            obs, groups, start = simulate_panel(rng)
            r = pilot.difference_in_differences(obs, groups, start, pre_months=8,
                                                event_study=False)
            covered += r.ci_low <= 0 <= r.ci_high
            estimates.append(r.estimate)
    assert 0.93 <= covered / n_rep <= 0.97
    assert abs(np.mean(estimates)) < 3 * np.std(estimates) / np.sqrt(n_rep)  # unbiased


def test_planted_effect_recovered_and_pretrend_flagged_in_simulation():
    rng = np.random.default_rng(11)
    with threadpool_limits(1):
        hits, ests = 0, []
        for _ in range(60):
            obs, groups, start = simulate_panel(rng, effect=0.35)
            r = pilot.difference_in_differences(obs, groups, start, pre_months=8,
                                                event_study=False)
            hits += r.ci_low <= 0.35 <= r.ci_high
            ests.append(r.estimate)
        assert hits >= 52  # binomial(60, 0.95): P(< 52) < 1%
        assert abs(np.mean(ests) - 0.35) < 3 * np.std(ests) / np.sqrt(60)
        # a planted diverging pre-trend (0.08 per month) is caught by the event study
        obs, groups, start = simulate_panel(np.random.default_rng(3), n_pilot=150,
                                            pre_trend=0.08)
        bad = pilot.difference_in_differences(obs, groups, start, pre_months=8, bin_months=2)
        assert bad.pretrend_p < 0.01 and bad.pre_slope_ci[0] > 0
        assert pilot.decide(bad, threshold=0.0).recommendation == "extend the pilot"


# --------------------------------------------------------------------------- power
@pytest.mark.parametrize("n1, n2, sd, effect", [(200, 200, 1.0, 0.25), (120, 480, 3.0, 0.9)])
def test_power_of_means_matches_statsmodels(n1, n2, sd, effect):
    ref = NormalIndPower()
    assert pilot.power_mean(effect, sd, n1, n2) == pytest.approx(
        ref.power(effect / sd, nobs1=n1, alpha=0.05, ratio=n2 / n1), rel=1e-9)
    d = ref.solve_power(effect_size=None, nobs1=n1, alpha=0.05, power=0.8, ratio=n2 / n1)
    assert pilot.mde_mean(sd, n1, n2) == pytest.approx(d * sd, rel=1e-5)  # their root finder


def test_power_of_rates_matches_statsmodels_arcsine():
    base, new, n1, n2 = 0.20, 0.15, 700, 1400
    h = proportion_effectsize(new, base)
    assert pilot.power_rate(base, new - base, n1, n2) == pytest.approx(
        NormalIndPower().power(h, nobs1=n1, alpha=0.05, ratio=n2 / n1), rel=1e-9)
    mde = pilot.mde_rate(base, n1, n2, power=0.9)
    assert mde < 0 and pilot.power_rate(base, mde, n1, n2) == pytest.approx(0.9, abs=1e-6)


def test_nps_power_hand_case_and_simulation():
    # promoters 30%, detractors 20%: SD = 100 sqrt(0.5 - 0.1^2) = 70 points
    assert pilot.nps_sd(0.3, 0.2) == pytest.approx(70.0)
    se = 70 * math.sqrt(2 / 500)
    phi = lambda x: 0.5 * (1 + math.erf(x / math.sqrt(2)))  # noqa: E731
    hand = phi(10 / se - 1.959964) + phi(-10 / se - 1.959964)
    assert pilot.power_nps(10, 0.3, 0.2, 500, 500) == pytest.approx(hand, abs=1e-5)
    # simulated trials at the MDE reject in ~80% of cases
    n = 400
    mde = pilot.mde_nps(0.3, 0.2, n, n)
    rng = np.random.default_rng(1)
    shift = mde / 200  # move promoters up and detractors down by half the MDE each
    p1 = [0.2 - shift, 0.5, 0.3 + shift]
    scores = np.array([-100.0, 0.0, 100.0])
    a = scores[rng.choice(3, size=(3000, n), p=[0.2, 0.5, 0.3])]
    b = scores[rng.choice(3, size=(3000, n), p=p1)]
    z = (b.mean(1) - a.mean(1)) / np.sqrt(a.var(1, ddof=1) / n + b.var(1, ddof=1) / n)
    assert 0.76 < (np.abs(z) > 1.96).mean() < 0.84


def test_pilot_design_table_shrinks_with_size_and_duration(company):
    base = pilot.baseline(company.tables, START)
    assert 0 < base.promoters < 1 and 0 < base.monthly_churn < 0.1 and base.revenue_sd > 0
    design = pilot.pilot_design(base, [250, 1000], months=(3, 12))
    t = design.table.set_index(["kpi", "n_pilot", "months"])["mde"].abs()
    for kpi in ("nps", "churn", "revenue"):
        assert t[(kpi, 1000, 3)] < t[(kpi, 250, 3)]
    assert t[("nps", 250, 12)] < t[("nps", 250, 3)]
    assert t[("revenue", 250, 3)] == pytest.approx(
        pilot.mde_mean(base.revenue_sd, 250, 250))
    assert len(design.plot().data) == 2 * 3


# --------------------------------------------------------------------------- randomised pilots
def _randomised_customers(rng, n=600, effect=0.2, rho=0.7):
    customers = pd.DataFrame({
        "customer_id": [f"R{i:05d}" for i in range(n)],
        "segment": rng.choice(["consumer", "small_business"], n, p=[0.8, 0.2]),
        "acquisition_channel": rng.choice(["web", "store", "tv"], n),
    })
    pre = rng.normal(0, 1, n)
    post_no_effect = rho * pre + math.sqrt(1 - rho**2) * rng.normal(0, 1, n)
    return customers, pre, post_no_effect


def test_stratified_assignment_balances_strata_and_cuped_covers_the_truth():
    rng = np.random.default_rng(8)
    covered, reductions, ratio = 0, [], []
    for rep in range(300):
        customers, pre, post0 = _randomised_customers(rng)
        monitor = pilot.assign_monitor_group(customers, share=0.3, seed=rep)
        if rep == 0:  # every stratum gets its share, within one customer
            by = customers.assign(m=monitor.to_numpy()).groupby(
                ["segment", "acquisition_channel"])["m"].agg(["sum", "size"])
            assert (abs(by["sum"] - 0.3 * by["size"]) < 1).all()
        treated = monitor.to_numpy()
        if rep == 0:
            groups = pilot.define_groups(customers, monitor)
            assert (groups.loc[customers["customer_id"]].eq("pilot").to_numpy() == treated).all()
        frame = pd.DataFrame({"post": post0 + 0.2 * treated, "pre": pre,
                              "group": np.where(treated, "pilot", "control")})
        res = pilot.cuped_difference(frame)
        covered += res.ci_low <= 0.2 <= res.ci_high
        reductions.append(res.variance_reduction)
        ratio.append(res.se / res.raw_se)
    assert 0.92 <= covered / 300 <= 0.98
    assert np.mean(reductions) == pytest.approx(0.49, abs=0.05)  # rho^2 of the simulation
    assert np.mean(ratio) == pytest.approx(math.sqrt(1 - 0.49), abs=0.03)


def test_balance_smd_hand_case_and_figure():
    customers = pd.DataFrame({"customer_id": list("abcdef"), "x": [1.0, 2, 3, 2, 3, 4],
                              "segment": ["a", "a", "b", "a", "b", "b"]})
    groups = pd.Series(["pilot"] * 3 + ["control"] * 3, index=list("abcdef"))
    b = pilot.balance(customers, groups, ["x", "segment"])
    row = b.table.set_index("covariate")
    assert row.loc["x", "smd"] == pytest.approx(-1.0)  # (2 - 3) / sqrt((1 + 1) / 2)
    assert row.loc["segment=a", "smd"] == pytest.approx((2 / 3 - 1 / 3) / math.sqrt(1 / 3))
    assert row.loc["x", "imbalanced"] and b.plot().data


def test_matched_controls_copy_the_pilot_strata():
    rng = np.random.default_rng(2)
    customers, _, _ = _randomised_customers(rng, n=2000)
    customers["plan"] = rng.choice(["basic", "premium"], 2000)
    first = customers["acquisition_channel"].eq("tv") & (rng.random(2000) < 0.4)
    groups = pilot.match_controls(customers, pd.Series(first.to_numpy(),
                                                       index=customers["customer_id"]), seed=1)
    lab = customers.assign(g=customers["customer_id"].map(groups))
    counts = lab.groupby(["segment", "acquisition_channel", "plan", "g"]).size().unstack()
    assert (counts["pilot"] == counts["control"]).all()
    assert pilot.balance(customers, groups, ["segment", "acquisition_channel",
                                             "plan"]).max_abs_smd < 1e-12


def test_randomisation_inference_exact_case_and_null_rejection_rate():
    frame = pd.DataFrame({"post": [1.0, 2, 3, 10, 11, 12],
                          "group": ["control"] * 3 + ["pilot"] * 3})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        res = pilot.randomisation_test(frame)
    # 20 possible assignments; only this one and its mirror are as extreme
    assert res.exact and res.n_permutations == 20 and res.p_value == pytest.approx(2 / 20)
    rng = np.random.default_rng(4)
    rejections = 0
    for rep in range(300):
        y = rng.exponential(1.0, 40)  # skewed outcome, small groups: 10 vs 30
        f = pd.DataFrame({"post": y, "group": ["pilot"] * 10 + ["control"] * 30})
        rejections += pilot.randomisation_test(f, n_permutations=499, seed=rep).p_value <= 0.05
    assert 0.02 <= rejections / 300 <= 0.09
    f = pd.DataFrame({"post": np.r_[rng.normal(1.5, 1, 10), rng.normal(0, 1, 30)],
                      "group": ["pilot"] * 10 + ["control"] * 30})
    assert pilot.randomisation_test(f, n_permutations=999, seed=1).p_value < 0.01


def test_stratified_randomisation_keeps_each_stratum_fixed():
    # the outcome only depends on the stratum and the pilot share is equal in each:
    # every within-stratum re-assignment gives a difference of 0, so p = 1
    f = pd.DataFrame({"post": [0.0] * 6 + [5.0] * 6, "s": ["a"] * 6 + ["b"] * 6,
                      "group": (["pilot"] * 2 + ["control"] * 4) * 2})
    with pytest.warns(SmallSampleWarning, match="only 4 customers"):
        res = pilot.randomisation_test(f, strata="s", n_permutations=200, seed=0)
    assert np.allclose(res.null, 0) and res.p_value == 1.0


def test_nps_difference_hand_case_and_clustering():
    resp = pd.DataFrame({
        "customer_id": ["p1", "p2", "p3", "p4", "c1", "c2", "c3", "c4"],
        "response_date": pd.Timestamp("2025-05-01"),
        "nps": [10, 9, 8, 3, 10, 7, 5, 2],
    })
    groups = pd.Series(["pilot"] * 4 + ["control"] * 4, index=resp["customer_id"])
    out = pilot.nps_difference(resp, groups).set_index("group")
    assert out.loc["pilot", "nps"] == pytest.approx(25.0)  # 2 promoters, 1 detractor of 4
    assert out.loc["control", "nps"] == pytest.approx(-25.0)
    # one answer each: SE^2 = s^2/n per group, s^2 with n - 1
    var_p = np.var([100, 100, 0, -100], ddof=1) / 4
    var_c = np.var([100, 0, -100, -100], ddof=1) / 4
    half = 1.959964 * math.sqrt(var_p + var_c)
    assert out.loc["difference", "ci_high"] - 50 == pytest.approx(half, rel=1e-5)
    # duplicating every customer's answer adds no information: same interval
    dup = pilot.nps_difference(pd.concat([resp, resp]), groups).set_index("group")
    assert dup.loc["difference", "ci_high"] == pytest.approx(out.loc["difference", "ci_high"])


# --------------------------------------------------------------------------- decision
def test_decision_rules_and_probability():
    go = pilot.decide((0.10, 0.02), threshold=0.03)
    assert go.recommendation == "roll out"
    assert go.prob_above_threshold == pytest.approx(0.5 * (1 + math.erf(3.5 / math.sqrt(2))))
    assert pilot.decide((0.01, 0.005), threshold=0.05).recommendation == "stop"
    unsure = pilot.decide((0.04, 0.03), threshold=0.03)
    assert unsure.recommendation == "extend the pilot" and "ROLL" not in unsure.sentence()
    value = pilot.ValuePerUnit(2e6, 2e6 - 1e-6, 2e6 + 1e-6)
    d = pilot.decide((0.10, 1e-9), threshold=0.03, value=value, seed=1)
    assert d.impact[0] == pytest.approx(2e5, rel=1e-6)
    d = pilot.decide((0.10, 0.02), threshold=0.03, value=lambda e: 1e6 * e, cost=1.5e5)
    assert d.prob_profitable == pytest.approx(0.5 * (1 - math.erf(2.5 / math.sqrt(2))), abs=0.01)
    assert d.recommendation == "extend the pilot"  # the effect is there, the money is not


def test_retention_value_has_the_planted_sign(company):
    v = pilot.retention_value(company.tables, "first_contact_resolution", START)
    # planted: an unresolved first contact raises churn, so resolution is worth money
    assert v.details["churn_slope"] < 0 and v.ci_low > 0 and v.mean > 0


# --------------------------------------------------------------------------- errors
def test_clear_errors_for_empty_overlapping_groups_and_periods(company, sample_groups):
    c = company.customers
    with pytest.raises(DataError, match="selects no customers"):
        pilot.define_groups(c, "region == 'Atlantis'", "not monitor_group")
    with pytest.raises(DataError, match="overlap: .* customers are in both"):
        pilot.define_groups(c, "monitor_group", "region == 'Chubu'")
    with pytest.raises(DataError, match="neither a customers column nor a valid query"):
        pilot.define_groups(c, "monitor group", "not monitor_group")
    with pytest.raises(DataError, match="no observations for the pilot group after"):
        pilot.evaluate_pilot(company.tables, "nps", sample_groups, "2026-01-01")
    with pytest.raises(DataError, match="before the pilot start"):
        pilot.evaluate_pilot(company.tables, "nps", sample_groups, "2022-06-01", pre_months=3)
    with pytest.raises(DataError, match="after the pilot start"):
        pilot.evaluate_pilot(company.tables, "nps", sample_groups, START, end=START)
    with pytest.raises(ParameterError, match=r"kpi must be one of .*, got 'happiness'"):
        pilot.evaluate_pilot(company.tables, "happiness", sample_groups, START)
    with pytest.raises(DataError, match="no customers to assign"):
        pilot.assign_monitor_group(c.iloc[:0], share=0.2)


def test_rollout_value_goes_through_the_kpi_model_or_falls_back_to_retention(company):
    """FCR is a KPI-model indicator: money from its what-if; NPS is not: retention-based."""
    tables = company.tables
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the KPI model's mean-imputation caveat
        fcr = pilot.rollout_value(tables, "first_contact_resolution", 0.05, before="2025-04-01",
                                  customers=10_000, bootstrap=30, seed=1)
    assert fcr.source == "KPI model what-if, 10,000 customers"
    assert fcr.ci_low <= fcr.mean <= fcr.ci_high and fcr.mean > 0  # better FCR is worth money
    nps = pilot.rollout_value(tables, "nps", 5.0, before="2025-04-01", customers=10_000)
    assert nps.source.startswith("retention: 10,000 customers")


def test_cell_level_fit_equals_statsmodels_cluster_ols():
    """The DiD fitter works on cells (regressors constant within group x month x period):
    same coefficients and CR1 covariance as statsmodels' OLS on the full design matrix."""
    import statsmodels.api as sm

    from cxlib.pilot._did import _fit

    rng = np.random.default_rng(4)
    n_cells, n = 12, 6_000
    x_cell = np.column_stack([np.ones(n_cells), np.arange(n_cells) % 2,
                              (np.arange(n_cells) // 2 == 3), (np.arange(n_cells) >= 6)
                              * (np.arange(n_cells) % 2)]).astype(float)
    cell = rng.integers(0, n_cells, n)
    clusters = rng.integers(0, 400, n)
    y = x_cell[cell] @ np.array([1.0, 0.3, -0.2, 0.5]) + rng.standard_normal(n) \
        + 0.5 * rng.standard_normal(400)[clusters]
    ours = _fit(y, cell, x_cell, clusters)
    ref = sm.OLS(y, x_cell[cell]).fit(cov_type="cluster", cov_kwds={"groups": clusters})
    np.testing.assert_allclose(ours.params, ref.params, rtol=1e-10)
    np.testing.assert_allclose(ours.cov_params(), ref.cov_params(), rtol=1e-8)


# --------------------------------------------------------------------------- did() vs R
REF_DID = Path(__file__).parent / "reference" / "did"


@pytest.fixture(scope="module")
def produc():
    d = pd.read_csv(REF_DID / "produc.csv")
    number = pd.factorize(d["state"], sort=True)[0] + 1
    return {"balanced": d, "unbalanced": d[(number * 7 + d["year"]) % 5 != 0]}


def _produc_did(panel, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)  # 16 treated states, 9 regions
        return pilot.did(panel, unit="state", time="year", outcome="y", treated="treated",
                         start=1979, **kwargs)


def test_did_matches_r_two_way_fixed_effects_and_clusters_on_produc(produc):
    """tests/reference/did/did.R: lm + sandwich (CR1) and plm's two-way within estimator on
    the Produc panel with integer years, 0/1 treatment, state or region clusters."""
    ref = pd.read_csv(REF_DID / "produc_did.csv")
    for _, r in ref.iterrows():
        fe = r["unit_effects"].strip() == "TRUE"
        res = _produc_did(produc[r["case"]], cluster=r["cluster"].strip(), unit_effects=fe,
                          event_study=False)
        assert res.n_obs == r["n"] and res.n_clusters == r["clusters"]
        assert res.estimate == pytest.approx(r["estimate"], abs=1e-9), tuple(r)
        assert res.se == pytest.approx(r["se"], abs=1e-9), tuple(r)
    # on the unbalanced panel the pooled estimator and two-way fixed effects differ
    u = ref[ref["case"].str.strip() == "unbalanced"].set_index("cluster")
    assert abs(u["estimate"].iloc[0] - u["estimate"].iloc[-1]) > 0.04


@pytest.mark.parametrize("case", ["balanced", "unbalanced"])
def test_did_event_study_on_yearly_data_matches_r(produc, case):
    es_ref = pd.read_csv(REF_DID / f"produc_event_{case}.csv").set_index("period")
    pt = pd.read_csv(REF_DID / f"produc_pretrend_{case}.csv").iloc[0]
    res = _produc_did(produc[case], cluster="state")
    es = res.event_study.set_index("period")
    assert es.loc[-1, "estimate"] == 0 and len(es) == len(es_ref) + 1
    np.testing.assert_allclose(es.loc[es_ref.index, "estimate"], es_ref["estimate"], atol=1e-9)
    np.testing.assert_allclose(es.loc[es_ref.index, "se"], es_ref["se"], atol=1e-9)
    assert res.pretrend_chi2 == pytest.approx(pt["chi2"], rel=1e-8)
    assert res.pretrend_df == pt["df"] and res.pretrend_p == pytest.approx(pt["p"], rel=1e-6)
    assert res.period == "year" and "year FE" in res.method


def test_did_reads_dates_labels_and_booleans_alike(produc):
    """The same panel as yearly dates, as string periods, with labelled or boolean groups
    and other column names gives the same numbers (integers are not nanoseconds)."""
    base = _produc_did(produc["unbalanced"])
    d = produc["unbalanced"]
    dated = d.assign(when=pd.to_datetime(d["year"].astype(str) + "-01-01"),
                     group=np.where(d["treated"] == 1, "new", "old"), flag=d["treated"] == 1)
    variants = [
        dict(time="when", start="1979-01-01", treated="group", treated_value="new"),
        dict(time="when", start=pd.Timestamp("1978-07-01"), treated="flag"),  # mid-year start
        dict(time="year", post="after", treated="flag"),
    ]
    dated["after"] = (dated["year"] >= 1979).astype(int)
    for v in variants:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SmallSampleWarning)
            res = pilot.did(dated.rename(columns={"y": "gsp", "state": "who"}), unit="who",
                            outcome="gsp", **v)
        assert res.estimate == pytest.approx(base.estimate, abs=1e-12), v
        assert res.se == pytest.approx(base.se, abs=1e-12), v
        np.testing.assert_allclose(res.event_study["estimate"], base.event_study["estimate"],
                                   atol=1e-10)
    labels = d.assign(year=d["year"].astype(str))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        res = pilot.did(labels, unit="state", time="year", outcome="y", treated="treated",
                        start="1979")
    assert res.estimate == pytest.approx(base.estimate, abs=1e-12) and res.period == "year"
    assert res.pretrend_p == pytest.approx(base.pretrend_p, rel=1e-9)


def test_did_says_what_it_cannot_identify(produc):
    d = produc["balanced"]
    with pytest.raises(DataError, match="labels|treated_value"):
        pilot.did(d.assign(g=np.where(d["treated"] == 1, "a", "b")), unit="state", time="year",
                  outcome="y", treated="g", start=1979)
    with pytest.raises(DataError, match="constant per unit"):
        pilot.did(d.assign(treated=(d["year"] % 2)), unit="state", time="year", outcome="y",
                  treated="treated", start=1979)
    with pytest.raises(ParameterError, match="integer periods: start must be an integer"):
        pilot.did(d, unit="state", time="year", outcome="y", treated="treated",
                  start="1979-01-01")
    with pytest.raises(ParameterError, match="exactly one of start"):
        pilot.did(d, unit="state", time="year", outcome="y", treated="treated")
    with pytest.raises(DataError, match="need column.*'sales'"):
        pilot.did(d, unit="state", time="year", outcome="sales", treated="treated", start=1979)
    # each treated state seen only before or only after: unit effects cannot identify it
    split = d[(d["treated"] == 0) | ((d["year"] < 1979) == (d["state"] < "M"))]
    with pytest.raises(DataError, match="observed both before and after"):
        _produc_did(split)
    assert np.isfinite(_produc_did(split, unit_effects=False, event_study=False).estimate)
    # a start in the first year: no pre-period for the event study's reference
    with pytest.raises(DataError, match="before the pilot start"):
        _produc_did(d.assign(year=d["year"]), first=1979)
    # few clusters are named
    with pytest.warns(SmallSampleWarning, match="only 4 pilot region clusters"):
        pilot.did(d.assign(treated=d["region"].isin([1, 2, 3, 4]).astype(int)), unit="state",
                  time="year", outcome="y", treated="treated", start=1979, cluster="region",
                  event_study=False)
    # one pre period only: no pre-trend test, said so
    with pytest.warns(StatisticalWarning, match="pre-trend cannot be tested"):
        _produc_did(d, first=1978)


def test_unit_effects_match_statsmodels_with_customer_dummies_on_monthly_data():
    """Two-way FE on the simulated customer panel (unbalanced, dates) equal statsmodels'
    OLS with customer and month dummies; CR1 with K excluding the nested customer effects."""
    obs, groups, start = simulate_panel(np.random.default_rng(8), n_pilot=40, n_control=60,
                                        effect=0.3)
    res = pilot.difference_in_differences(obs, groups, start, pre_months=8, event_study=False,
                                          unit_effects=True)
    d = obs.assign(treated=(obs["customer_id"].map(groups) == "pilot").astype(int),
                   post=(obs["when"] >= start).astype(int),
                   month=obs["when"].dt.to_period("M").astype(str))
    d = d[d["when"] >= start - pd.DateOffset(months=8)]
    d["d"] = d["treated"] * d["post"]
    ref = smf.ols("y ~ d + C(customer_id) + C(month)", data=d).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(d["customer_id"])[0],
                                      "use_correction": False, "df_correction": False})
    g, n, k = d["customer_id"].nunique(), len(d), d["month"].nunique()
    assert res.estimate == pytest.approx(ref.params["d"], rel=1e-9)
    assert res.se == pytest.approx(ref.bse["d"] * math.sqrt(g / (g - 1) * (n - 1) / (n - k)),
                                   rel=1e-8)
    assert "customer" in res.method and "two-way" in res.method


def test_unit_effects_with_clusters_not_nested_in_units_match_statsmodels():
    """Clusters that cut across units (here: calendar months): the within scores keep the
    unit-mean term and K counts the unit effects, as OLS with dummies (statsmodels CR1)."""
    obs, groups, start = simulate_panel(np.random.default_rng(9), n_pilot=40, n_control=60,
                                        months=14, effect=0.3)
    d = obs.assign(treated=(obs["customer_id"].map(groups) == "pilot").astype(int),
                   post=(obs["when"] >= start).astype(int),
                   month=obs["when"].dt.to_period("M").astype(str))
    d["d"] = d["treated"] * d["post"]
    with pytest.warns(SmallSampleWarning, match="pilot month clusters"):
        res = pilot.did(d, unit="customer_id", time="when", outcome="y", treated="treated",
                        start=start, cluster="month", event_study=False)
    ref = smf.ols("y ~ d + C(customer_id) + C(month)", data=d).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(d["month"])[0]})
    assert res.estimate == pytest.approx(ref.params["d"], rel=1e-9)
    assert res.se == pytest.approx(ref.bse["d"], rel=1e-8)
