"""Every public result class keeps one contract (docs/results.md).

The classes are found by walking cxlib's modules, not listed by hand: any class defined in
cxlib with a ``summary``, ``headline`` or ``plot`` must derive from ``cxlib.results.Result``
and have a builder below, which makes one from small data through the analysis that
returns it. Each is then checked: ``summary()`` a non-empty DataFrame, ``headline()`` one
sentence with a number, an interval (``95% CI``) and n, ``plot()`` and every
``plot_<what>()`` a plotly Figure, ``repr`` one short line.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import warnings

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

import cxlib
from cxlib import churn, drivers, journey, pilot, profiling, segments, survival, text, weights
from cxlib import kpimodel as km
from cxlib.kpimodel._bootstrap import BootstrapResult
from cxlib.results import REPR_WIDTH, Result

INTERVAL = re.compile(r"\b\d+% (CI|interval)\b")
N = re.compile(r"\bn = \d[\d,]*\b")
NUMBER = re.compile(r"\d")

# Results whose method gives no sampling interval: their headline says so ("no interval: ...").
NO_INTERVAL = {"Balance", "FactorStructure", "PilotDesign", "Raking", "DataProfile", "PHTest"}


# The report runner's outcome of a run is not an analysis result.
NOT_ANALYSES = re.compile(r"^cxlib\.(report|render|cli)(_\w+)?(\.|$)")


def public_result_classes() -> set[type]:
    """Classes defined in cxlib's analysis modules that look like results."""
    found = set()
    for info in pkgutil.walk_packages(cxlib.__path__, "cxlib."):
        if NOT_ANALYSES.match(info.name):
            continue
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if obj.__module__.startswith("cxlib.") and not NOT_ANALYSES.match(obj.__module__) \
                    and obj is not Result and any(
                    callable(getattr(obj, m, None)) for m in ("summary", "headline", "plot")):
                found.add(obj)
    return found


# -- builders: small data through the analysis that returns each class ---------------------------

def _survival_frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    grp = rng.choice(["a", "b", "c"], n)
    x = rng.normal(size=n)
    t = rng.exponential(1 / (0.05 * np.where(grp == "b", 2.0, 1.0) * np.exp(0.3 * x)))
    return pd.DataFrame({"duration": np.minimum(t, 24), "event": (t <= 24).astype(int),
                         "grp": grp, "x": x})


def _logrank(_):
    return survival.logrank(_survival_frame(), by="grp")


def _cox(_):
    return survival.cox(_survival_frame(), covariates=["grp", "x"])


def _ph_test(_):
    return _cox(None).ph("rank")


def _concordance(_):
    return survival.concordance(_survival_frame(), "x", strata="grp")


def _contact_effects(_):
    rng = np.random.default_rng(1)
    n = 300
    ids = [f"c{i}" for i in range(n)]
    kind = rng.choice(["none", "resolved", "unresolved"], n)
    t0 = pd.Timestamp("2024-01-01")
    responses = pd.DataFrame({"response_id": [f"r{i}" for i in range(n)], "customer_id": ids,
                              "response_date": t0 + pd.Timedelta(days=30),
                              "nps": rng.integers(0, 11, n)})
    rows = [(c, t0 + pd.Timedelta(days=20), "use_support", "support_contact", "contact",
             k == "resolved") for c, k in zip(ids, kind) if k != "none"]
    tp = pd.DataFrame(rows, columns=["customer_id", "timestamp", "journey_phase", "touchpoint",
                                     "event_type", "resolved_first_contact"])
    return journey.contact_effects(responses, tp, window_days=90)


def _key_drivers(_):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 3))
    frame = pd.DataFrame(x, columns=["d1", "d2", "d3"]).assign(
        y=x @ [0.6, 0.3, 0.1] + rng.normal(size=300))
    return drivers.key_drivers(frame, "y", ["d1", "d2", "d3"], n_boot=20)


@pytest.fixture(scope="module")
def scored(small_company):
    return segments.score_responses(small_company.responses)


def _agreement(_):
    rng = np.random.default_rng(3)
    a = rng.choice(segments.SEGMENTS, 300)
    b = np.where(rng.random(300) < 0.7, a, rng.choice(segments.SEGMENTS, 300))
    return segments.agreement(a, b, n_boot=30)


def _churn_test(_):
    rng = np.random.default_rng(4)
    n = 3000
    er = rng.multivariate_normal([0, 0], [[1, 0.4], [0.4, 1]], size=n)
    segment = segments.rule_segments(er[:, 0], er[:, 1])
    hr = {"dissatisfied": 1.0, "rationally_only": 1.0, "emotionally_satisfied": 0.6, "other": 0.8}
    rate = 0.02 * np.array([hr[s] for s in segment])
    t = np.ceil(rng.exponential(1 / rate) * 30.4375) / 30.4375
    panel = pd.DataFrame({"segment": segment, "tenure_months": rng.uniform(2, 30, n),
                          "acquisition_channel": rng.choice(["a", "b"], n),
                          "plan": rng.choice(["basic", "premium"], n),
                          "followup_months": np.minimum(t, 24), "event": (t <= 24).astype(int),
                          "churn_in_horizon": t <= 12})
    return segments.churn_test(panel, horizon_months=12)


def _pilot_obs(seed: int = 5):
    rng = np.random.default_rng(seed)
    n_p, n_c, months, start_month = 60, 140, 12, 8
    treated = np.arange(n_p + n_c) < n_p
    k = rng.poisson(0.5, (n_p + n_c, months))
    cust, mon = np.nonzero(k)
    cust, mon = np.repeat(cust, k[cust, mon]), np.repeat(mon, k[cust, mon])
    y = 3 + 0.3 * (treated[cust] & (mon >= start_month)) + rng.normal(0, 0.8, len(cust))
    ids = np.array([f"K{i:04d}" for i in range(n_p + n_c)], dtype=object)
    groups = pd.Series(np.where(treated, pilot.PILOT, pilot.CONTROL),
                       index=pd.Index(ids, name="customer_id"))
    when = pd.Timestamp("2024-01-01") + pd.to_timedelta(mon * 30.44 + 10, unit="D")
    start = pd.Timestamp("2024-01-01") + pd.DateOffset(months=start_month)
    return pd.DataFrame({"customer_id": ids[cust], "when": when, "y": y}), groups, start


def _did(_):
    obs, groups, start = _pilot_obs()
    return pilot.difference_in_differences(obs, groups, start, pre_months=8, kpi="y",
                                           unit="points")


def _value(_):
    return pilot.ValuePerUnit.per_unit(3.0e6, 1.5e6, 4.5e6, change=0.1, n=10_000,
                                       source="hand-made what-if")


def _decision(_):
    return pilot.decide(_did(None), threshold=0.1, value=_value(None))


def _balance(small_company):
    customers = small_company.customers
    groups = pilot.define_groups(customers)
    return pilot.balance(customers, groups, ["plan", "monthly_revenue"])


def _baseline(small_company):
    return pilot.baseline(small_company.tables, "2025-04-01", months=12)


def _design(small_company):
    return pilot.pilot_design(_baseline(small_company), [200, 800], months=(3, 6))


def _cuped_frame(seed: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pre = rng.normal(size=300)
    treated = np.arange(300) < 100
    return pd.DataFrame({"pre": pre, "post": 0.7 * pre + rng.normal(size=300) + 0.3 * treated,
                         "group": np.where(treated, pilot.PILOT, pilot.CONTROL)})


def _cuped(_):
    return pilot.cuped_difference(_cuped_frame())


def _randomisation(_):
    return pilot.randomisation_test(_cuped_frame(), n_permutations=300)


def _churn_model(_):
    rng = np.random.default_rng(7)
    n = 800
    x = rng.normal(size=(n, 2))
    y = rng.random(n) < 1 / (1 + np.exp(-(-1 + x @ [0.8, -0.5])))
    frame = pd.DataFrame({"tenure": x[:, 0], "usage": x[:, 1], "plan": rng.choice(["a", "b"], n),
                          "churned": y})
    return churn.fit(frame, "churned", n_boot=20)


def _gap(small_company):
    return churn.expectation_gap_effect(small_company.tables)


def _standing(small_company):
    import tempfile

    folder = tempfile.mkdtemp(prefix="cx-standing-")
    for name, frame in small_company.tables.items():
        frame.to_parquet(f"{folder}/{name}.parquet", index=False)
    region = str(small_company.tables["customers"]["region"].mode().iat[0])  # also relabelled ones
    return cxlib.units.standing(cxlib.open_data(folder, where={"region": region}),
                                n_boot=200, seed=1)


def _two_blocks(n: int = 300, seed: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(n)
    b = 0.5 * a + np.sqrt(0.75) * rng.standard_normal(n)
    cols = {f"a{i}": 0.85 * a + 0.5 * rng.standard_normal(n) for i in (1, 2, 3)}
    cols |= {f"b{i}": 0.85 * b + 0.5 * rng.standard_normal(n) for i in (1, 2, 3)}
    return pd.DataFrame(cols).assign(
        retained=(rng.random(n) < 1 / (1 + np.exp(-(1 + 0.8 * b)))).astype(int),
        monthly_revenue=np.exp(8 + 0.1 * a + 0.2 * rng.standard_normal(n)))


SPEC = "A =~ a1 + a2 + a3\nB =~ b1 + b2 + b3\nB ~ A"


def _pls(_):
    return km.fit_pls(SPEC, _two_blocks(), bootstrap=30, seed=1, n_jobs=1)


def _outcomes(_):
    return km.link_outcomes(_pls(None), _two_blocks(), retention_on=["B"], revenue_on=["A"])


def _what_if(_):
    return km.what_if(_outcomes(None), {"a1": 0.5})


def _path_analysis(_):
    rng = np.random.default_rng(9)
    x = rng.standard_normal(500)
    m = 0.5 * x + rng.standard_normal(500)
    return km.path_analysis("m ~ x", pd.DataFrame({"x": x, "m": m}))


def _comments():
    from cxlib.synth._comments import simulate_comments

    frame, _ = simulate_comments(1200, seed=3)
    return frame, text.default_codebook().code(frame["verbatim"])


def _topic_impact(_):
    frame, codes = _comments()
    return text.topic_impact(frame, codes, n_boot=50)


def _topic_trend(_):
    frame, codes = _comments()
    return text.topic_trend(frame, codes)


def _topic_suggestions(_):
    frame, _ = _comments()
    return text.suggest_topics(frame["verbatim"], text.default_codebook(), n_themes=4)


def _action_list(_):
    frame, _ = _comments()
    return text.action_list(frame.assign(churn_risk=0.2))


def _verbatim_analysis(c):
    items = ["rat_value", "rat_quality", "emo_trust", "emo_attachment"]
    return text.analyse(c.responses, customers=c.customers, items=items, n_boot=50,
                        min_mentions=5, churn_risk=pd.Series(0.2, index=c.customers.customer_id))


BUILDERS = {
    cxlib.units.Standing: _standing,
    survival.LogrankResult: _logrank,
    survival.CoxResult: _cox,
    survival.PHTest: _ph_test,
    survival.Concordance: _concordance,
    journey.ContactEffects: _contact_effects,
    drivers.KeyDrivers: _key_drivers,
    segments.Agreement: _agreement,
    segments.DiscriminantValidity: lambda c: segments.discriminant_validity(
        segments.score_responses(c.responses)),
    segments.FactorStructure: lambda c: segments.factor_structure(
        segments.score_responses(c.responses), n_parallel=5),
    segments.ChurnTest: _churn_test,
    pilot.DiDResult: _did,
    pilot.ValuePerUnit: _value,
    pilot.Decision: _decision,
    pilot.Balance: _balance,
    pilot.Baseline: _baseline,
    pilot.PilotDesign: _design,
    pilot.CupedResult: _cuped,
    pilot.RandomisationResult: _randomisation,
    churn.ChurnModel: _churn_model,
    churn.GapEffect: _gap,
    km.PLSResult: _pls,
    BootstrapResult: lambda c: _pls(c).bootstrap,
    km.OutcomeModel: _outcomes,
    km.WhatIfResult: _what_if,
    km.PathAnalysisResult: _path_analysis,
    weights.Raking: lambda c: weights.rake(  # equal shares of every region
        c.customers, {"region": dict.fromkeys(c.customers["region"].unique(),
                                              1 / c.customers["region"].nunique())}),
    profiling.DataProfile: lambda c: profiling.profile(
        {"customers": c.customers, "responses": c.responses}),
    text.TopicImpact: _topic_impact,
    text.TopicTrend: _topic_trend,
    text.TopicSuggestions: _topic_suggestions,
    text.ActionList: _action_list,
    text.VerbatimAnalysis: _verbatim_analysis,
}


def test_every_result_class_is_found_and_has_a_builder():
    found = public_result_classes()
    assert len(found) >= 23
    assert {c for c in found if not issubclass(c, Result)} == set(), "derive from Result"
    assert found == set(BUILDERS), "a result class without a builder (or a stale builder)"


def check_contract(result: Result) -> None:
    """The contract, as assertions (used on every class and on a broken one below)."""
    name = type(result).__name__
    table = result.summary()
    assert isinstance(table, pd.DataFrame) and not table.empty, f"{name}.summary()"
    head = result.headline()
    assert isinstance(head, str) and "\n" not in head, f"{name}.headline(): one line"
    assert NUMBER.search(head), f"{name}.headline() has no number: {head}"
    assert N.search(head), f"{name}.headline() has no 'n = ...': {head}"
    if name in NO_INTERVAL:
        assert "no interval" in head, f"{name}.headline() should say it has no interval"
    else:
        assert INTERVAL.search(head), f"{name}.headline() has no '95% CI': {head}"
    figures = ["plot"] + [m for m in dir(result) if m.startswith("plot_")]
    for method in figures:
        assert isinstance(getattr(result, method)(), go.Figure), f"{name}.{method}()"
    others = [m for m in dir(result) if re.search(r"(^figure$|_figure$|_plot$|^quadrant$)", m)]
    assert not others, f"{name}: figures are plot() or plot_<what>(), not {others}"
    text = repr(result)
    assert "\n" not in text and len(text) <= REPR_WIDTH and text.startswith(f"<{name}"), text


@pytest.mark.parametrize("cls", sorted(BUILDERS, key=lambda c: c.__name__),
                         ids=lambda c: c.__name__)
def test_result_follows_the_contract(cls, small_company):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small data: small-sample warnings are expected here
        result = BUILDERS[cls](small_company)
    assert type(result) is cls
    check_contract(result)


def test_the_check_fails_on_a_class_that_breaks_the_contract():
    good = _cuped(None)

    class TextSummary(type(good)):
        def summary(self):
            return "CUPED difference +0.1"

    class NoInterval(type(good)):
        def headline(self):
            return f"CUPED difference {self.estimate:+.3f}; n = {self.n_pilot}"

    class OldFigureName(type(good)):
        def roc_figure(self):
            return self.plot()

    class LongRepr(type(good)):
        def headline(self):
            return "x" * 400 + " 95% CI 1 to 2; n = 3"

        def __repr__(self):
            return self.headline()

    check_contract(good)
    for broken in (TextSummary, NoInterval, OldFigureName, LongRepr):
        with pytest.raises(AssertionError):
            check_contract(broken(**vars(good)))


# -- numbers the headlines added, against peers they were not computed with ----------------------

def test_baseline_nps_interval_is_statsmodels_cluster_robust_mean(small_company):
    import statsmodels.api as sm

    base = _baseline(small_company)
    r = small_company.responses
    end = pd.Timestamp("2025-04-01")
    r = r[(r["response_date"] >= end - pd.DateOffset(months=12)) & (r["response_date"] < end)
          & r["nps"].notna()]
    s = 100.0 * ((r["nps"] >= 9).astype(float) - (r["nps"] <= 6).astype(float))
    fit = sm.OLS(s.to_numpy(), np.ones((len(s), 1))).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(r["customer_id"])[0]})
    assert base.n_answers == len(s)
    assert base.nps == pytest.approx(fit.params[0])
    assert base.nps_se == pytest.approx(fit.bse[0], rel=1e-9)
    lo, hi = base.nps_interval()
    assert (lo, hi) == pytest.approx(tuple(fit.conf_int()[0]), rel=1e-6)


def test_discriminant_validity_correlation_interval_is_scipy_fisher_z(small_company):
    from scipy import stats

    scored = segments.score_responses(small_company.responses)
    dv = segments.discriminant_validity(scored, level=0.9)
    scores = segments.construct_scores(scored, segments.DEFAULT_BLOCKS, standardize=True)
    test = stats.pearsonr(scores["emotional"], scores["rational"])
    row = dv.summary().iloc[0]
    assert row["correlation"] == pytest.approx(test.statistic)
    ci = test.confidence_interval(0.9)
    assert (row["corr_ci_low"], row["corr_ci_high"]) == pytest.approx((ci.low, ci.high))


def test_logrank_event_shares_and_randomisation_range_by_hand():
    lr = _logrank(None)
    frame = _survival_frame()
    t = lr.summary().set_index("grp")
    for g, part in frame.groupby("grp"):
        share = part["event"].mean()
        assert t.loc[g, "event_share"] == pytest.approx(share)
        assert t.loc[g, "ci_low"] < share < t.loc[g, "ci_high"]
    ri = _randomisation(None)
    assert ri.null_range() == pytest.approx(tuple(np.percentile(ri.null, [2.5, 97.5])))
