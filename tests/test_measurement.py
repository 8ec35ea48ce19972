"""cxlib.measurement against hand-computed cases, simulated truth and R plspm's output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxlib import measurement as m
from cxlib.errors import DataError, ParameterError

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "reference" / "ecsi_satisfaction"


@pytest.fixture
def hand() -> pd.DataFrame:
    # Three items, four respondents. Each item is a permutation of 1..4 (variance 5/3),
    # so r(a,b) = 4/5 = 0.8, r(a,c) = 3/5 = 0.6, r(b,c) = 0.
    return pd.DataFrame({"a": [1, 2, 3, 4], "b": [1, 3, 2, 4], "c": [2, 1, 4, 3]})


def test_alpha_hand_computed(hand):
    # sum of the correlation matrix = 3 + 2 * (0.8 + 0.6 + 0) = 5.8
    # alpha = 3/2 * (1 - 3/5.8) = 4.2 / 5.8; equal variances, so raw alpha is the same
    assert m.cronbach_alpha(hand) == pytest.approx(4.2 / 5.8, abs=1e-12)
    assert m.cronbach_alpha(hand, standardized=False) == pytest.approx(4.2 / 5.8, abs=1e-12)


def test_raw_alpha_differs_when_variances_differ(hand):
    # scaling an item changes the covariance matrix, not the correlations
    scaled = hand.assign(a=hand["a"] * 3)
    assert m.cronbach_alpha(scaled) == pytest.approx(4.2 / 5.8, abs=1e-12)
    # raw: variances 15, 5/3, 5/3; covariances 4, 3, 0; total variance
    # = 15 + 5/3 + 5/3 + 2 * (4 + 3 + 0) = 32.333...; alpha = 1.5 * (1 - 18.333/32.333)
    assert m.cronbach_alpha(scaled, standardized=False) == pytest.approx(
        1.5 * (1 - (15 + 10 / 3) / (15 + 10 / 3 + 14)), abs=1e-12)


def test_eigenvalues_rho_ave_rho_a_hand_computed(hand):
    # det(R - x I) = (1 - x) * ((1 - x)^2 - 1): eigenvalues 2, 1, 0
    np.testing.assert_allclose(m.block_eigenvalues(hand), [2, 1, 0], atol=1e-12)
    # first component v = (1, .8, .6)/sqrt(2); loadings sqrt(2) * v = (1, .8, .6)
    np.testing.assert_allclose(m.first_component_loadings(hand), [1, 0.8, 0.6], atol=1e-12)
    # DG rho = 2.4^2 / (2.4^2 + 0 + .36 + .64)
    assert m.dillon_goldstein_rho(hand) == pytest.approx(5.76 / 6.76, abs=1e-12)
    assert m.ave([1, 0.8, 0.6]) == pytest.approx(2 / 3)
    assert m.composite_reliability([0.7, 0.7]) == pytest.approx(1.96 / (1.96 + 2 * 0.51))
    # rho_A with PC1 weights = (1 - 1/lambda1) / (1 - sum v^4); v^2 = .5, .32, .18
    assert m.rho_a(hand, "first_component") == pytest.approx(0.5 / (1 - (0.25 + 0.1024 + 0.0324)), abs=1e-12)
    # with equal weights rho_A equals standardised alpha (Dijkstra & Henseler 2015)
    assert m.rho_a(hand, weights=[1, 1, 1]) == pytest.approx(4.2 / 5.8, abs=1e-12)
    # weights are rescaled, so their scale does not matter
    assert m.rho_a(hand, weights={"a": 2, "b": 2, "c": 2}) == pytest.approx(4.2 / 5.8)
    # no silent default: PLS weights come from a model, the component only when asked
    with pytest.raises(ParameterError, match="PLS outer weights"):
        m.rho_a(hand, None)
    with pytest.raises(ParameterError, match="weights must be one of"):
        m.rho_a(hand, "pca")


def _two_factor(n: int, loading: float, phi: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f = rng.multivariate_normal([0, 0], [[1, phi], [phi, 1]], size=n)
    noise = np.sqrt(1 - loading**2)
    cols = {f"x{i}": loading * f[:, 0] + noise * rng.standard_normal(n) for i in range(3)}
    cols |= {f"y{i}": loading * f[:, 1] + noise * rng.standard_normal(n) for i in range(3)}
    return pd.DataFrame(cols)


def test_htmt_and_alpha_recover_simulated_truth():
    # tau-equivalent items: HTMT equals the factor correlation, alpha equals
    # 3 l^2 / (1 + 2 l^2) (Spearman-Brown of the inter-item correlation l^2)
    data = _two_factor(20_000, loading=0.8, phi=0.5, seed=3)
    blocks = {"X": ["x0", "x1", "x2"], "Y": ["y0", "y1", "y2"]}
    table = m.htmt(data, blocks)
    assert table.loc["X", "Y"] == pytest.approx(0.5, abs=0.02)
    assert table.loc["Y", "X"] == table.loc["X", "Y"] and table.loc["X", "X"] == 1
    r = 0.64
    assert m.cronbach_alpha(data[blocks["X"]]) == pytest.approx(3 * r / (1 + 2 * r), abs=0.01)
    scores = pd.DataFrame({k: data[v].mean(axis=1) for k, v in blocks.items()})
    fl = m.fornell_larcker(scores, {"X": 0.64, "Y": 0.64})
    assert fl.loc["X", "X"] == pytest.approx(0.8)
    assert fl.loc["X", "Y"] == pytest.approx(scores.corr().loc["X", "Y"])


def test_missing_items_are_handled_only_as_asked(hand):
    gappy = pd.concat([hand, pd.DataFrame({"a": [np.nan, 2.0], "b": [3.0, 1.0],
                                           "c": [1.0, 4.0]})], ignore_index=True)
    with pytest.raises(DataError, match="missing answers in a"):
        m.cronbach_alpha(gappy)
    dropped = m.cronbach_alpha(gappy, missing="drop")
    assert dropped == pytest.approx(m.cronbach_alpha(gappy.dropna()))
    pairwise = m.cronbach_alpha(gappy, missing="pairwise")
    assert pairwise != pytest.approx(dropped)  # pairwise uses the extra answers of b and c
    corr = gappy.corr()  # pandas' pairwise correlations
    assert pairwise == pytest.approx(1.5 * (1 - 3 / corr.to_numpy().sum()))
    with pytest.raises(ParameterError, match="missing must be one of"):
        m.cronbach_alpha(hand, missing="ignore")


def test_clear_errors(hand):
    with pytest.raises(DataError, match="at least 2 items"):
        m.cronbach_alpha(hand[["a"]])
    with pytest.raises(DataError, match="'c'.*constant|c are constant"):
        m.dillon_goldstein_rho(hand.assign(c=3))
    with pytest.raises(DataError, match=r"item 'b' has 1 values that are not numbers \(rows 2: 'x'\)"):
        m.cronbach_alpha(hand.assign(b=["1", "x", "3", "4"]))
    with pytest.raises(DataError, match="unknown item.*nope"):
        m.htmt(hand, {"A": ["a", "nope"], "B": ["b", "c"]})
    with pytest.raises(DataError, match="block 'A' has 1 item"):
        m.htmt(hand, {"A": ["a"], "B": ["b", "c"]})
    with pytest.raises(DataError, match="at least 2 loadings"):
        m.composite_reliability([0.8])


@pytest.mark.skipif(not REFERENCE.exists(), reason="../shared/reference/ not present")
def test_matches_r_plspm_unidim_on_ecsi():
    data = pd.read_csv(REFERENCE / "satisfaction.csv", index_col=0)
    ref = pd.read_csv(REFERENCE / "satisfaction_unidim.csv", index_col=0)
    for block, row in ref.iterrows():
        items = data[[c for c in data.columns if c.rstrip("0123456789") == block.lower()]]
        assert items.shape[1] == row["mvs"], block
        assert m.cronbach_alpha(items) == pytest.approx(row["cronbach_alpha"], abs=1e-6)
        assert m.dillon_goldstein_rho(items) == pytest.approx(row["dillon_goldstein_rho"], abs=1e-6)
        eig = m.block_eigenvalues(items)
        assert eig[0] == pytest.approx(row["eig_1st"], abs=1e-6)
        assert eig[1] == pytest.approx(row["eig_2nd"], abs=1e-6)


RHO_A = ROOT / "tests" / "reference" / "measurement"


@pytest.mark.skipif(not REFERENCE.exists(), reason="../shared/reference/ not present")
def test_rho_a_matches_r_pls_mode_a_weights_on_ecsi():
    # tests/reference/measurement/rho_a.R: PLS (Mode A, path scheme, standardised items)
    # written out in R, as seminr/cSEM/SmartPLS estimate it, then Dijkstra-Henseler's formula
    from cxlib import kpimodel

    data = pd.read_csv(REFERENCE / "satisfaction.csv", index_col=0)
    ref = pd.read_csv(RHO_A / "ecsi_rho_a.csv").set_index("construct")
    weights = pd.read_csv(RHO_A / "ecsi_path_weights.csv").set_index("indicator")
    for block, row in ref.iterrows():
        w = weights.loc[weights["construct"] == block, "weight"]
        assert m.rho_a(data[w.index], w) == pytest.approx(row["rho_a"], abs=1e-12)
        assert m.rho_a(data[w.index], "first_component") == pytest.approx(
            row["rho_a_first_component"], abs=1e-12)
    assert (ref["rho_a"] - ref["rho_a_first_component"]).abs().max() > 0.04  # LOY: they differ
    spec = "\n".join([*(f"{b} =~ {' + '.join(weights.index[weights['construct'] == b])}"
                         for b in ref.index),
                       "EXPE ~ IMAG", "QUAL ~ EXPE", "VAL ~ EXPE + QUAL",
                       "SAT ~ IMAG + EXPE + QUAL + VAL", "LOY ~ IMAG + SAT"])
    fit = kpimodel.fit_pls(spec, data, scheme="path", scaled=True, tol=1e-14, maxiter=1000)
    quality = kpimodel.measurement_quality(fit).set_index("construct")
    np.testing.assert_allclose(quality.loc[ref.index, "rho_a"], ref["rho_a"], rtol=0, atol=1e-9)
