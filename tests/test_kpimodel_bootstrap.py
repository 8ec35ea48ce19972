"""cxlib.kpimodel bootstrap, planted-truth recovery, coverage, what-if and the sample company."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from cxlib import kpimodel as km
from cxlib.errors import StatisticalWarning
from cxlib.kpimodel import _bootstrap
from cxlib.kpimodel._core import Structure, pls_core, resample_cov
from cxlib.kpimodel._spec import _odm

SIMPLE = "A =~ a1 + a2 + a3\nB =~ b1 + b2 + b3\nB ~ A"


def _two_blocks(n: int, seed: int, beta: float = 0.5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(n)
    b = beta * a + np.sqrt(1 - beta**2) * rng.standard_normal(n)
    cols = {f"a{i}": 0.85 * a + np.sqrt(1 - 0.85**2) * rng.standard_normal(n) for i in (1, 2, 3)}
    cols |= {f"b{i}": 0.85 * b + np.sqrt(1 - 0.85**2) * rng.standard_normal(n) for i in (1, 2, 3)}
    return pd.DataFrame(cols)


def test_bootstrap_is_seeded_parallel_invariant_and_draws_distinct_resamples(monkeypatch):
    data = _two_blocks(300, 1)
    a = km.fit_pls(SIMPLE, data, bootstrap=48, seed=5, n_jobs=1)
    b = km.fit_pls(SIMPLE, data, bootstrap=48, seed=5, n_jobs=1)
    pd.testing.assert_frame_equal(a.bootstrap.draws, b.bootstrap.draws)
    monkeypatch.setattr(_bootstrap, "PARALLEL_MIN_WORK", 0)   # force worker processes
    c = km.fit_pls(SIMPLE, data, bootstrap=48, seed=5, n_jobs=2)
    pd.testing.assert_frame_equal(a.bootstrap.draws, c.bootstrap.draws)
    assert c.bootstrap.n_distinct == 48 and c.bootstrap.n_failed == 0
    d = km.fit_pls(SIMPLE, data, bootstrap=48, seed=6, n_jobs=1)
    assert not np.allclose(a.bootstrap.draws.to_numpy(), d.bootstrap.draws.to_numpy())
    # every chunk has its own stream: no resample repeats across chunks (hash of the indices)
    plan = _bootstrap.chunk_plan(200, 300, seed=5)
    assert len(plan) > 1
    hashes = {hash(row.tobytes()) for ss, size in plan
              for row in _bootstrap.draw_counts(ss, size, 300)}
    assert len(hashes) == 200
    # interval columns are attached and ordered
    p = a.paths.iloc[0]
    assert p.pct_low < p.estimate < p.pct_high and p.bca_low < p.bca_high


def test_failed_resamples_are_counted_and_reported():
    data = _two_blocks(60, 2)
    rare = np.zeros(60)
    rare[[3, 40]] = 1.0                      # some resamples miss both rows: constant column
    data["a3"] = rare + 0.0
    with pytest.warns(StatisticalWarning, match=r"bootstrap resamples failed"):
        res = km.fit_pls(SIMPLE, data, bootstrap=100, seed=1, n_jobs=1)
    boot = res.bootstrap
    # P(a resample misses both rows) = (1 - 2/60)^60 ~ 0.13
    assert 3 <= boot.n_failed <= 30
    assert len(boot.draws) == 100 - boot.n_failed
    assert f"{boot.n_failed} failed" in res.bootstrap.headline()
    assert np.isfinite(res.paths[["pct_low", "pct_high"]].to_numpy()).all()


def test_percentile_interval_coverage_of_a_path_is_nominal():
    """Coverage of the 95% percentile interval for the path, 500 simulated data sets.

    Cheaper design (documented): the same engine fit_pls uses (draw_counts ->
    resample_cov -> pls_core -> percentile), vectorised across all replications at once.
    Target: the PLS estimand, i.e. PLS on the population covariance matrix.
    """
    spec = km.parse_spec(SIMPLE)
    odm = _odm(spec)
    st = Structure(odm, spec.path_matrix().to_numpy(float), np.zeros(2, bool), odm.argmax(1))
    lam = 0.85
    L = np.zeros((6, 2))
    L[:3, 0] = L[3:, 1] = lam
    sigma = L @ np.array([[1, 0.5], [0.5, 1]]) @ L.T
    np.fill_diagonal(sigma, 1.0)
    target = pls_core(sigma, 10**9, st).paths[0, 1, 0]
    reps, n, B = 500, 300, 199
    rng = np.random.default_rng(2026)
    seeds = np.random.SeedSequence(7).spawn(reps)
    full, boot = [], []
    for r in range(reps):
        X = rng.multivariate_normal(np.zeros(6), sigma, size=n)
        Xc = X - X.mean(axis=0)
        full.append(resample_cov(Xc, np.ones((1, n), dtype=np.int32), True)[0][0])
        boot.append(resample_cov(Xc, _bootstrap.draw_counts(seeds[r], B, n), True)[0])
    est = pls_core(np.array(full), n, st).paths[:, 1, 0]
    fit = pls_core(np.concatenate(boot), n, st)
    assert fit.ok.all()
    draws = fit.paths[:, 1, 0].reshape(reps, B)
    low, high = np.quantile(draws, [0.025, 0.975], axis=1)
    coverage = np.mean((low <= target) & (target <= high))
    assert 0.92 <= coverage <= 0.98, coverage
    assert abs(est.mean() - target) < 0.01     # PLS is consistent for its estimand here


def _composite_world(n: int, seed: int):
    """Known linear truth: CXI = g'x exactly (unit variance), EMO = b CXI + e (observed)."""
    rng = np.random.default_rng(seed)
    cov = np.array([[1, 0.3, 0.2], [0.3, 1, 0.3], [0.2, 0.3, 1]])
    g = np.array([0.5, 0.35, 0.25])
    g = g / np.sqrt(g @ cov @ g)
    beta = 0.6
    x = rng.multivariate_normal(np.zeros(3), cov, size=n)
    cxi = x @ g
    emo = beta * cxi + np.sqrt(1 - beta**2) * rng.standard_normal(n)
    logit = 1.0 + 0.8 * emo
    retained = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    monthly = 5000 * np.exp(0.1 * cxi + 0.05 * rng.standard_normal(n))
    data = pd.DataFrame({"k1": 2 * x[:, 0] + 3, "k2": x[:, 1], "k3": 0.5 * x[:, 2],
                         "emo": emo, "retained": retained, "monthly_revenue": monthly})
    truth = {"g_raw": g / np.array([2, 1, 0.5]), "g": g, "beta": beta, "emo": emo, "cxi": cxi,
             "monthly": monthly}
    return data, truth


SPEC_CXI = "CXI <~ k1 + k2 + k3\nEMO =~ emo\nEMO ~ CXI"


def test_planted_weights_and_path_recovered_within_bootstrap_intervals():
    data, truth = _composite_world(1500, 4)
    res = km.fit_pls(SPEC_CXI, data, bootstrap=200, seed=9, level=0.99, n_jobs=1)
    w = res.outer.set_index("indicator").loc[["k1", "k2", "k3"]]
    assert ((w["weight_pct_low"] <= truth["g"]) & (truth["g"] <= w["weight_pct_high"])).all(), w
    path = res.paths.iloc[0]
    assert path.pct_low <= truth["beta"] <= path.pct_high
    np.testing.assert_allclose(res.raw_weights[["k1", "k2", "k3"]], truth["g_raw"], atol=0.05)


def test_what_if_on_known_linear_truth_gives_the_known_answer():
    data, truth = _composite_world(3000, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        res = km.fit_pls(SPEC_CXI, data, bootstrap=100, seed=2, n_jobs=1)
        model = km.link_outcomes(res, data, retention_on=["EMO"], revenue_on=["CXI"])
        out = km.what_if(model, {"k1": 0.5}, level=0.99).table.set_index("quantity")
    d_cxi = truth["g_raw"][0] * 0.5                       # index change in SD
    d_emo = truth["beta"] * d_cxi
    eta = 1.0 + 0.8 * truth["emo"]
    p0, p1 = 1 / (1 + np.exp(-eta)), 1 / (1 + np.exp(-(eta + 0.8 * d_emo)))
    m0, m1 = truth["monthly"], truth["monthly"] * np.exp(0.1 * d_cxi)
    known = {"score change: CXI": d_cxi, "score change: EMO": d_emo,
             "retention probability": 100 * np.mean(p1 - p0),
             "annual revenue per customer": np.mean(12 * (m1 * (1 + p1) / 2 - m0 * (1 + p0) / 2))}
    for quantity, value in known.items():
        row = out.loc[quantity]
        assert row.ci_low <= value <= row.ci_high, (quantity, value, row.to_dict())
        assert row.estimate == pytest.approx(value, rel=0.25), quantity
    ranking = km.rank_kpis(model, units={"k1": 0.5, "k2": 0.5, "k3": 0.5})
    # per half unit: k3 (sd 0.5) moves the index most per unit, then k2, then k1
    assert list(ranking["kpi"]) == ["k3", "k2", "k1"]


def test_sample_company_planted_signs_and_ordering(company):
    """The sample company: estimated index and financial links follow the planted truth."""
    kpis = km.customer_kpis(company.tables)
    spec = ("CXI <~ csat_stores + csat_web + ces_web + csat_contact_centre + ces_contact_centre"
            " + first_contact_resolution + expectation_met\n"
            "EMO =~ emo_trust + emo_valued + emo_pride + emo_attachment\n"
            "RAT =~ rat_value + rat_quality + rat_convenience\nEMO ~ CXI\nRAT ~ CXI")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        res = km.fit_pls(spec, kpis, missing="mean", bootstrap=30, seed=1, n_jobs=1)
        model = km.link_outcomes(res, kpis, retention_on=["EMO", "RAT"], revenue_on=["CXI"],
                                 controls=["plan", "segment"])
    truth = company.truth["params"]
    coef = model.table.set_index(["outcome", "term"])
    # planted: emotional attachment lowers churn, rational satisfaction does not
    assert truth["churn_emotional"] < 0 < truth["churn_rational"]
    assert coef.loc[("retained", "EMO"), "ci_low"] > 0
    assert coef.loc[("retained", "RAT"), "estimate"] < coef.loc[("retained", "EMO"), "estimate"]
    # planted: the CX index raises spend
    assert truth["spend_cxi"] > 0 and coef.loc[("monthly_revenue", "CXI"), "ci_low"] > 0
    # the index drives both constructs, and tracks the latent CX index
    assert (res.paths["pct_low"] > 0).all()
    latent = company.latent.set_index("customer_id").loc[res.scores.index, "cx_index"]
    assert np.corrcoef(res.scores["CXI"], latent)[0, 1] > 0.3
    # planted cxi_weights: contact centre largest; the estimated index agrees
    shares = km.index_shares(res, "CXI").groupby("organisation")["share"].sum()
    assert max(truth["cxi_weights"], key=truth["cxi_weights"].get) == "contact_centre"
    assert shares.idxmax() == "contact_centre"
    # retention is prospective: measured after the anchor answer, unknown near the data's end
    assert kpis["retained"].isna().any() and set(kpis["retained"].dropna().unique()) <= {0, 1}
