"""Key drivers recover planted importance: own simulations with known models, then the sample."""

from __future__ import annotations

import itertools
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxlib.drivers import key_drivers, relative_weights, shapley_r2
from cxlib.errors import DataError, ModelError, SmallSampleWarning
from cxlib.vocab import EMOTIONAL_ITEMS, RATIONAL_ITEMS

BETA = np.array([0.6, 0.45, 0.3, 0.15, 0.0])
NAMES = ["d1", "d2", "d3", "d4", "d5"]


def _population(rho: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Driver covariance (equicorrelated, unit variances), cov(x, y) and var(y), noise var 1."""
    sigma = np.full((5, 5), rho) + (1 - rho) * np.eye(5)
    cov_xy = sigma @ BETA
    return sigma, cov_xy, float(BETA @ sigma @ BETA + 1.0)


def _brute_force_shapley(sigma: np.ndarray, cov_xy: np.ndarray, var_y: float) -> np.ndarray:
    """Population LMG: R^2 gains averaged over all 5! orders (independent of cxlib's subsets)."""
    def r2(subset):
        idx = list(subset)
        if not idx:
            return 0.0
        return float(cov_xy[idx] @ np.linalg.solve(sigma[np.ix_(idx, idx)], cov_xy[idx]) / var_y)

    gains = np.zeros(5)
    orders = list(itertools.permutations(range(5)))
    for order in orders:
        for k, j in enumerate(order):
            gains[j] += r2(order[: k + 1]) - r2(order[:k])
    return gains / len(orders)


def _sample(rho: float, n: int, seed: int) -> pd.DataFrame:
    sigma, _, _ = _population(rho)
    rng = np.random.default_rng(seed)
    x = rng.multivariate_normal(np.zeros(5), sigma, size=n)
    y = x @ BETA + rng.standard_normal(n)
    return pd.DataFrame(x, columns=NAMES).assign(y=y)


def test_uncorrelated_drivers_importance_is_squared_beta():
    # with independent standardised drivers both methods give beta_j^2 / var(y) exactly
    sigma, cov_xy, var_y = _population(0.0)
    rxy = cov_xy / math.sqrt(var_y)
    truth = BETA**2 / var_y
    assert relative_weights(sigma, rxy) == pytest.approx(truth)
    assert shapley_r2(sigma, rxy) == pytest.approx(truth)


def test_two_driver_lmg_hand_formula():
    r12, r1, r2 = 0.5, 0.6, 0.3
    rxx = np.array([[1, r12], [r12, 1]])
    rxy = np.array([r1, r2])
    full = (r1**2 + r2**2 - 2 * r1 * r2 * r12) / (1 - r12**2)
    lmg = shapley_r2(rxx, rxy)
    assert lmg[0] == pytest.approx(0.5 * (r1**2 + full - r2**2))
    assert lmg[1] == pytest.approx(0.5 * (r2**2 + full - r1**2))
    assert relative_weights(rxx, rxy).sum() == pytest.approx(full)


@pytest.mark.parametrize("method", ["shapley", "relative_weights"])
def test_correlated_drivers_recover_planted_order_and_population_values(method):
    sigma, cov_xy, var_y = _population(0.4)
    truth = _brute_force_shapley(sigma, cov_xy, var_y)
    if method == "relative_weights":  # population relative weights from the known correlations
        truth_rw = relative_weights(sigma, cov_xy / math.sqrt(var_y))
        assert truth_rw == pytest.approx(truth, abs=0.02)  # the two methods nearly agree
        truth = truth_rw
    result = key_drivers(_sample(0.4, 3000, seed=1), "y", NAMES, method=method, n_boot=150, seed=3)
    table = result.importance.set_index("driver")
    assert list(result.importance["driver"]) == NAMES  # planted order d1 > d2 > ... > d5
    assert result.r2 == pytest.approx(truth.sum(), abs=0.03)
    covered = [(table.loc[d, "ci_low"] <= t <= table.loc[d, "ci_high"]) for d, t in zip(NAMES, truth)]
    assert sum(covered) >= 4, table[["importance", "ci_low", "ci_high"]]
    assert table.loc["d1", "rank_stability"] > 0.9 and table["share"].sum() == pytest.approx(1.0)
    assert result.n == 3000 and result.n_failed == 0


def test_relative_weights_sum_to_ols_r2():
    frame = _sample(0.3, 800, seed=4)
    x = np.c_[np.ones(800), frame[NAMES].to_numpy()]
    resid = frame["y"] - x @ np.linalg.lstsq(x, frame["y"], rcond=None)[0]
    r2 = 1 - resid.var() / frame["y"].var()
    result = key_drivers(frame, "y", NAMES, n_boot=20)
    assert result.importance["importance"].sum() == pytest.approx(r2)


def test_logistic_variant_recovers_order_for_a_binary_outcome():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2500, 4))
    y = (rng.random(2500) < 1 / (1 + np.exp(-(x @ np.array([1.2, 0.8, 0.4, 0.0]) - 0.3)))).astype(int)
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"]).assign(promoter=y)
    result = key_drivers(frame, "promoter", ["a", "b", "c", "d"], n_boot=20, seed=1)
    assert result.binary and "logistic" in result.method
    assert list(result.importance["driver"]) == ["a", "b", "c", "d"]
    assert result.importance.set_index("driver").loc["d", "share"] < 0.02
    with pytest.raises(ModelError, match="binary outcome needs method='relative_weights'"):
        key_drivers(frame, "promoter", ["a", "b"], method="shapley")


def test_bootstrap_is_seeded():
    frame = _sample(0.2, 500, seed=6)
    a = key_drivers(frame, "y", NAMES, n_boot=30, seed=9).importance
    b = key_drivers(frame, "y", NAMES, n_boot=30, seed=9).importance
    c = key_drivers(frame, "y", NAMES, n_boot=30, seed=10).importance
    pd.testing.assert_frame_equal(a, b)
    assert not a["ci_low"].equals(c["ci_low"])


def test_sample_relationship_nps_is_driven_by_emotional_items(company):
    # truth: relationship NPS = 0.6 * emotional + 0.25 * rational (+ noise); items load
    # on their construct, so emotional items must carry most of the explained variance
    rel = company.responses[company.responses["survey_type"] == "relationship"]
    items = [*RATIONAL_ITEMS, *EMOTIONAL_ITEMS]
    result = key_drivers(rel, "nps", items, method="shapley", n_boot=30, seed=0)
    share = result.importance.set_index("driver")["share"]
    assert share[list(EMOTIONAL_ITEMS)].sum() > 0.65
    assert set(result.importance["driver"].head(4)) == set(EMOTIONAL_ITEMS)


def test_sample_contact_centre_csat_matters_most_for_relationship_nps(company):
    # truth: cxi_weights contact_centre .35 > web .25 = stores .25; each customer's
    # transactional CSAT per organisation measures that organisation's quality (noisily).
    # Drivers come from different answers, so correlations are pairwise.
    weights = company.truth["params"]["cxi_weights"]
    r = company.responses
    tr = r[r["survey_type"] == "transactional"]
    per_org = tr.pivot_table(index="customer_id", columns="organisation", values="csat", aggfunc="mean")
    rel = r[r["survey_type"] == "relationship"].sort_values("response_date")
    frame = per_org.join(rel.groupby("customer_id")["nps"].last().astype(float), how="inner")
    orgs = list(per_org.columns)
    result = key_drivers(frame, "nps", orgs, missing="pairwise", n_boot=60, seed=0)
    assert result.importance["driver"].iat[0] == max(orgs, key=weights.get) == "contact_centre"


def test_bad_input_gets_clear_errors():
    frame = _sample(0.0, 200, seed=7)
    with pytest.raises(DataError, match=r"\['nope'\] not found"):
        key_drivers(frame, "y", ["d1", "nope"])
    with pytest.raises(ModelError, match=r"collinear \(d1 ~ d1_copy"):
        key_drivers(frame.assign(d1_copy=frame["d1"] * 2), "y", ["d1", "d1_copy", "d2"])
    with pytest.raises(ModelError, match=r"\['flat'\] do not vary"):
        key_drivers(frame.assign(flat=1.0), "y", ["d1", "flat"])
    with pytest.raises(DataError, match="'d2' has 1 values that are not numbers"):
        key_drivers(frame.astype({"d2": object}).assign(d2=lambda d: d["d2"].where(d.index != 3, "x")),
                    "y", ["d1", "d2"])
    with pytest.raises(ModelError, match="only 20 complete answers"):
        key_drivers(frame.head(20), "y", ["d1", "d2"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        key_drivers(frame.head(60), "y", ["d1", "d2"], n_boot=5)
    assert any(issubclass(w.category, SmallSampleWarning) for w in caught)


def test_summary_and_figures():
    result = key_drivers(_sample(0.3, 600, seed=8), "y", NAMES, n_boot=20)
    assert list(result.summary()["driver"]) == list(result.importance["driver"])
    assert "d1 explains the most of y" in result.headline()
    quad = result.plot_quadrant()
    assert len(quad.data) == 1 and list(quad.data[0].text) == list(result.importance["driver"])
    assert result.plot().data[0].type == "bar"


@pytest.mark.parametrize("missing_share", [0.0, 0.2])
def test_weighted_corr_equals_correlation_of_repeated_rows(missing_share):
    """A bootstrap resample as row counts: the same correlations as the copied rows
    (complete data: np.corrcoef; with gaps: pandas' pairwise-complete DataFrame.corr)."""
    from cxlib.measurement import WeightedCorr

    rng = np.random.default_rng(7)
    x = rng.standard_normal((400, 5))
    x[:, 1] += 0.8 * x[:, 0]
    x[rng.random(x.shape) < missing_share] = np.nan
    rows = rng.integers(0, len(x), len(x))
    counts = np.bincount(rows, minlength=len(x)).astype(float)
    expected = pd.DataFrame(x[rows]).corr().to_numpy()
    np.testing.assert_allclose(WeightedCorr(x)(counts), expected, atol=1e-12)


def test_logistic_weights_match_r_glm_solved_to_convergence():
    # tests/reference/drivers: R's glm (epsilon 1e-14) on R's infert data, same formula;
    # scikit-learn's default tolerance (1e-4) left the weights about 1e-6 away from these
    ref_dir = Path(__file__).parent / "reference" / "drivers"
    data = pd.read_csv(ref_dir / "infert.csv")
    ref = pd.read_csv(ref_dir / "infert_weights.csv").set_index("driver")["weight"]
    drivers = list(ref.index)
    result = key_drivers(data, "case", drivers, n_boot=0)
    got = result.importance.set_index("driver")["importance"].reindex(drivers)
    np.testing.assert_allclose(got.to_numpy(), ref.to_numpy(), rtol=0, atol=1e-10)


def test_organisation_drivers_small_unit_gives_reason_not_error():
    """A store with few customers rating every organisation: no estimate, a reason (the
    pain points then weigh organisations equally); the company: key_drivers' own result."""
    import pandas as pd

    from cxlib.drivers import key_drivers, organisation_drivers, organisation_frame

    responses = pd.read_parquet("data/sample/responses.parquet")
    full, why = organisation_drivers(responses, n_boot=20, seed=3)
    assert why == "" and full is not None
    frame = organisation_frame(responses)
    orgs = [c for c in frame.columns if c not in ("customer_id", "nps")]
    direct = key_drivers(frame, "nps", orgs, missing="pairwise", n_boot=20, seed=3)
    pd.testing.assert_frame_equal(full.importance, direct.importance)
    few = responses[responses["customer_id"].isin(responses["customer_id"].unique()[:40])]
    none, why = organisation_drivers(few, n_boot=20, seed=3)
    assert none is None and "weighed equally" in why and "need" in why
    only_tr = responses[responses["survey_type"] != "relationship"]
    assert organisation_drivers(only_tr)[0] is None
