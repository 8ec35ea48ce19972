"""cxlib.kpimodel: conformance with R plspm, spec validation, collinearity, scaling."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from cxlib import kpimodel as km
from cxlib import paths
from cxlib.errors import DataError, ModelError, StatisticalWarning

REF = paths.PROJECT_ROOT.parent / "shared" / "reference" / "ecsi_satisfaction"
needs_ref = pytest.mark.skipif(not REF.is_dir(), reason="../shared/reference/ not present")

ECSI = """
# ECSI model as in R plspm's documentation
IMAG =~ imag1 + imag2 + imag3 + imag4 + imag5
EXPE =~ expe1 + expe2 + expe3 + expe4 + expe5
QUAL =~ qual1 + qual2 + qual3 + qual4 + qual5
VAL  =~ val1 + val2 + val3 + val4
SAT  =~ sat1 + sat2 + sat3 + sat4
LOY  =~ loy1 + loy2 + loy3 + loy4
EXPE ~ IMAG
QUAL ~ EXPE
VAL  ~ EXPE + QUAL
SAT  ~ IMAG + EXPE + QUAL + VAL
LOY  ~ IMAG + SAT
"""
TOL = 1e-6


@pytest.fixture(scope="module")
def ecsi() -> pd.DataFrame:
    return pd.read_csv(REF / "satisfaction.csv", index_col=0)


@pytest.fixture(scope="module")
def fits(ecsi) -> dict[str, km.PLSResult]:
    return {s: km.fit_pls(ECSI, ecsi, scheme=s, scaled=False) for s in ("centroid", "factorial",
                                                                       "path")}


def _ref(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / name)


@needs_ref
@pytest.mark.parametrize("scheme,file", [("centroid", "satisfaction.outer-model.csv"),
                                         ("factorial", "satisfaction.outer-model-factorial.csv"),
                                         ("path", "satisfaction.outer-model-path.csv")])
def test_outer_model_matches_r_plspm(fits, scheme, file):
    ref = _ref(file).set_index("name")
    got = fits[scheme].outer.set_index("indicator").loc[ref.index]
    assert (got["construct"] == ref["block"]).all()
    for col in ("weight", "loading", "communality", "redundancy"):
        np.testing.assert_allclose(got[col], ref[col], atol=TOL, rtol=0, err_msg=col)


@needs_ref
def test_paths_effects_inner_summary_gof_match_r_plspm(fits):
    res = fits["centroid"]
    eff = _ref("satisfaction.effects.csv")
    got = res.effects.set_index(["from", "to"]).loc[list(zip(eff["from"], eff["to"]))]
    for col in ("direct", "indirect", "total"):
        np.testing.assert_allclose(got[col], eff[col], atol=TOL, rtol=0, err_msg=col)
    inner = _ref("satisfaction.inner-model.csv").rename(columns={"Unnamed: 0": "from"})
    sat = res.paths[res.paths["to"] == "SAT"].set_index("from").loc[inner["from"]]
    for mine, theirs in (("estimate", "Estimate"), ("std_error", "Std. Error"),
                         ("t", "t value"), ("p_value", "Pr(>|t|)")):
        np.testing.assert_allclose(sat[mine], inner[theirs], atol=TOL, rtol=1e-6, err_msg=mine)
    summ = _ref("satisfaction.inner-summary.csv").set_index("Unnamed: 0")
    mine = res.inner_summary.set_index("construct").loc[summ.index]
    assert (mine["type"] == summ["type"]).all()
    for col, ref_col in (("r2", "r_squared"), ("block_communality", "block_communality"),
                         ("mean_redundancy", "mean_redundancy"), ("ave", "ave")):
        np.testing.assert_allclose(mine[col], summ[ref_col], atol=TOL, rtol=0, err_msg=col)
    assert abs(res.gof - 0.609741624338411) < TOL


@needs_ref
def test_crossloadings_and_scores_match_r_plspm(fits):
    res = fits["centroid"]
    cross = _ref("satisfaction.crossloadings.csv").set_index("name")
    names = res.spec.constructs
    np.testing.assert_allclose(res.crossloadings.loc[cross.index, names], cross[names], atol=TOL)
    scores = _ref("satisfaction.scores.csv")
    np.testing.assert_allclose(res.scores[names].to_numpy(), scores[names].to_numpy(), atol=TOL)


@needs_ref
def test_measurement_quality_matches_r_unidim(fits):
    pytest.importorskip("cxlib.measurement")
    uni = _ref("satisfaction_unidim.csv").set_index("Unnamed: 0")
    q = km.measurement_quality(fits["centroid"]).set_index("construct").loc[uni.index]
    np.testing.assert_allclose(q["cronbach_alpha"], uni["cronbach_alpha"], atol=TOL)
    np.testing.assert_allclose(q["dillon_goldstein_rho"], uni["dillon_goldstein_rho"], atol=TOL)
    # AVE of the PLS loadings equals plspm's block communality for reflective blocks
    np.testing.assert_allclose(q["ave"], fits["centroid"].inner_summary["ave"], atol=1e-12)


@needs_ref
def test_scaled_standardises_each_indicator(ecsi):
    """scaled=True equals a raw fit on a copy standardised by hand, column by column."""
    items = km.parse_spec(ECSI).indicators
    hand = ecsi[items].astype(float)
    hand = (hand - hand.mean()) / hand.std(ddof=0)
    a = km.fit_pls(ECSI, ecsi, scheme="path", scaled=True)
    b = km.fit_pls(ECSI, hand, scheme="path", scaled=False)
    np.testing.assert_allclose(a.outer["weight"], b.outer["weight"], atol=1e-10)
    np.testing.assert_allclose(a.paths["estimate"], b.paths["estimate"], atol=1e-10)
    # and it is not the same as dividing everything by one overall SD (plspm 0.5.7's bug)
    one_sd = (ecsi[items] - ecsi[items].mean()) / ecsi[items].to_numpy().std()
    c = km.fit_pls(ECSI, one_sd, scheme="path", scaled=False)
    assert np.abs(c.paths["estimate"].to_numpy() - a.paths["estimate"].to_numpy()).max() > 1e-4


# --- spec parsing and validation -------------------------------------------------------------

def _toy(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f = rng.standard_normal(n)
    g = 0.5 * f + rng.standard_normal(n) * 0.8
    return pd.DataFrame({"a1": f + rng.standard_normal(n) * 0.5, "a2": f + rng.standard_normal(n) * 0.5,
                         "b1": g + rng.standard_normal(n) * 0.5, "b2": g + rng.standard_normal(n) * 0.5})


def test_text_dict_and_yaml_specs_agree():
    text = "A =~ a1 + a2  # reflective\nB <~ b1 +\n  b2\nB ~ A"
    as_dict = {"constructs": {"A": ["a1", "a2"], "B": {"mode": "formative",
                                                       "indicators": ["b1", "b2"]}},
               "paths": {"B": ["A"]}}
    as_yaml = ("constructs:\n  A: [a1, a2]\n  B: {mode: composite, indicators: [b1, b2]}\n"
               "paths:\n  B: [A]\n")
    specs = [km.parse_spec(s) for s in (text, as_dict, as_yaml)]
    assert all(s.blocks == specs[0].blocks and s.paths == specs[0].paths for s in specs)
    assert specs[0].modes == {"A": "A", "B": "B"}
    fit = km.fit_pls(text, _toy())
    assert fit.paths["estimate"].iloc[0] > 0.3


@pytest.mark.parametrize("spec,match", [
    ("A =~ a1 + a2\nB =~ b1 + b2\nB ~ A\nA ~ B", r"cycle: A -> B -> A"),
    ("A =~ a1 + a2\nB =~ b1 + b2\nB ~ A + C", r"construct 'C' has no indicators"),
    ("A =~ a1 + a2\nB =~ a2 + b2\nB ~ A", r"'a2' is in two blocks"),
    ("A =~\nB =~ b1\nB ~ A", r"'A' has no indicators"),
    ("A =~ a1 + a2\nB =~ b1 + b2\nC =~ b3\nB ~ A", r"C have no structural path"),
    ("A =~ a1 + a2\nB =~ b1 + b2\nB -> A", r"cannot read"),
    ("A =~ a1 + a2\nB =~ b1 + b2\nB ~ a1", r"indicator of 'A', not a construct"),
    ({"constructs": {"A": ["a1"]}, "pathz": {}}, r"unknown key 'pathz' \(did you mean 'paths'"),
])
def test_bad_specs_give_clear_errors(spec, match):
    with pytest.raises(ModelError, match=match):
        km.parse_spec(spec)


def test_unknown_and_constant_columns_are_named():
    data = _toy().assign(flat=3.0)
    with pytest.raises(DataError, match=r"column 'a3' not found \(did you mean 'a[12]'\?\)"):
        km.fit_pls("A =~ a1 + a3\nB =~ b1 + b2\nB ~ A", data)
    with pytest.raises(DataError, match=r"column 'flat' is constant"):
        km.fit_pls("A =~ a1 + flat\nB =~ b1 + b2\nB ~ A", data)


def test_missing_values_are_dropped_or_imputed_with_a_warning():
    data = _toy()
    data.loc[:9, "a1"] = np.nan
    with pytest.warns(StatisticalWarning, match=r"10 of 200 rows dropped"):
        res = km.fit_pls("A =~ a1 + a2\nB =~ b1 + b2\nB ~ A", data)
    assert res.n == 190 and res.n_dropped == 10
    with pytest.warns(StatisticalWarning, match="replaced by column means"):
        res = km.fit_pls("A =~ a1 + a2\nB =~ b1 + b2\nB ~ A", data, missing="mean")
    assert res.n == 200


def test_collinear_kpis_error_or_warn_with_vif():
    data = _toy()
    data["a3"] = 2 * data["a1"] - data["a2"]            # exact linear combination
    with pytest.raises(ModelError, match=r"perfectly collinear \(VIF infinite\)"):
        km.fit_pls("A <~ a1 + a2 + a3\nB =~ b1 + b2\nB ~ A", data)
    rng = np.random.default_rng(3)
    data["a3"] = data["a1"] + 0.05 * rng.standard_normal(len(data))   # nearly collinear
    with pytest.warns(StatisticalWarning, match=r"a3 in A \(outer\) VIF \d+"):
        res = km.fit_pls("A <~ a1 + a2 + a3\nB =~ b1 + b2\nB ~ A", data)
    assert res.vif.set_index("variable").loc["a3", "vif"] > km.VIF_WARN
    # hand check of vif(): two predictors with correlation r have VIF 1 / (1 - r^2)
    r = np.corrcoef(data["a1"], data["b1"])[0, 1]
    assert km.vif(data[["a1", "b1"]]).iloc[0] == pytest.approx(1 / (1 - r**2))
    with pytest.raises(ModelError, match="perfectly collinear"):
        km.path_analysis("b1 ~ a1 + a2 + dup", data.assign(dup=data["a1"] + data["a2"]))


def test_path_analysis_recovers_known_ols_and_logit():
    rng = np.random.default_rng(11)
    n = 4000
    x = rng.standard_normal(n)
    m = 0.5 * x + rng.standard_normal(n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-0.3 + 0.8 * m)))).astype(int)
    res = km.path_analysis("m ~ x\ny ~ m", pd.DataFrame({"x": x, "m": m, "y": y}))
    coef = res.coefficients.set_index(["outcome", "term"])
    assert coef.loc[("m", "x"), "ci_low"] < 0.5 < coef.loc[("m", "x"), "ci_high"]
    assert coef.loc[("y", "m"), "ci_low"] < 0.8 < coef.loc[("y", "m"), "ci_high"]
    assert coef.loc[("y", "m"), "model"] == "logit"
    tot = res.effects.set_index(["from", "to"]).loc[("x", "y")]
    assert tot["indirect"] == pytest.approx(coef.loc[("m", "x"), "estimate"]
                                            * coef.loc[("y", "m"), "estimate"])


def test_summary_and_figure():
    res = km.fit_pls("A =~ a1 + a2\nB =~ b1 + b2\nB ~ A", _toy())
    assert "A" in res.summary()["from"].tolist() and f"n = {res.n:,}" in res.headline()
    fig = res.plot()
    assert len(fig.data) == 1 and len(fig.layout.annotations) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        q = km.f_squared(res)
    r2 = res.inner_summary.set_index("construct").loc["B", "r2"]
    assert q["f2"].iloc[0] == pytest.approx(r2 / (1 - r2))   # one predictor: f2 = R2/(1-R2)


def test_what_if_rows_are_read_by_name():
    """revenue_total is the per-customer revenue change times the base customers."""
    from cxlib.kpimodel._outcomes import WhatIfResult
    table = pd.DataFrame({
        "quantity": ["retention probability", "annual revenue per customer",
                     "annual revenue, 1,000 customers"],
        "unit": ["percentage points", "JPY per year", "JPY per year"],
        "estimate": [0.5, 12.0, 12_000.0], "ci_low": [0.1, 5.0, 5_000.0],
        "ci_high": [0.9, 20.0, 20_000.0]})
    wi = WhatIfResult({"fcr": 0.05}, table, 200, 0, 0.95, "JPY")
    per_customer = wi.quantity("annual revenue per customer")["estimate"]
    assert wi.revenue_total["estimate"] == 1_000 * per_customer
    with pytest.raises(ModelError, match="no quantity 'churn'"):
        wi.quantity("churn")
