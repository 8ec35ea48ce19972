"""``fit_pls``: PLS path modelling with effects, quality measures and bootstrap intervals."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..checks import check_option
from ..errors import DataError, ModelError, SmallSampleWarning, StatisticalWarning
from ..metrics import z_value
from ..results import Result, ci_text
from ._bootstrap import BootstrapResult, intervals, jackknife, run_bootstrap
from ._core import SCHEMES, CoreFit, Structure, pls_core, treated_cov
from ._spec import ModelSpec, _odm, parse_spec

__all__ = ["PLSResult", "fit_pls", "vif", "VIF_WARN"]

VIF_WARN = 5.0
"""Variance inflation factor above which a collinearity warning is raised."""
MISSING = ("listwise", "mean")


def vif(frame: pd.DataFrame) -> pd.Series:
    """Variance inflation factor of each column (1 / (1 - R² on the other columns)).

    Computed from the inverse correlation matrix; ``inf`` for exactly collinear columns.
    """
    if frame.shape[1] < 2:
        return pd.Series(1.0, index=frame.columns, name="vif")
    corr = np.corrcoef(frame.to_numpy(dtype=float), rowvar=False)
    try:
        if np.linalg.cond(corr) > 1e12:
            raise np.linalg.LinAlgError
        out = np.diag(np.linalg.inv(corr))
    except np.linalg.LinAlgError:
        out = np.empty(frame.shape[1])
        for i in range(frame.shape[1]):
            others = np.delete(np.arange(frame.shape[1]), i)
            sub = corr[np.ix_(others, others)]
            r = corr[others, i]
            r2 = r @ np.linalg.lstsq(sub, r, rcond=None)[0]
            out[i] = np.inf if r2 > 1 - 1e-10 else 1 / (1 - r2)
    return pd.Series(out, index=frame.columns, name="vif")


class _StatVector:
    """Flattens a batched fit into named statistics (picklable for worker processes)."""

    def __init__(self, spec: ModelSpec, st: Structure) -> None:
        names = spec.constructs
        self.edges = [(names.index(s), names.index(d)) for s, d in spec.paths]
        reach = []
        for i, src in enumerate(names):
            for j, dst in enumerate(names):
                if i != j and _reaches(spec, src, dst):
                    reach.append((i, j))
        self.reach = reach
        self.endo = st.endogenous
        p = len(spec.indicators)
        self.labels = ([("weight", x) for x in spec.indicators]
                       + [("loading", x) for x in spec.indicators]
                       + [("path", f"{names[s]} -> {names[d]}") for s, d in self.edges]
                       + [("indirect", f"{names[s]} -> {names[d]}") for s, d in reach]
                       + [("total", f"{names[s]} -> {names[d]}") for s, d in reach]
                       + [("r2", names[k]) for k in self.endo])
        self.p = p

    def __call__(self, fit: CoreFit) -> np.ndarray:
        parts = [fit.weights, fit.loadings]
        if self.edges:
            s, d = np.array(self.edges).T
            parts.append(fit.paths[:, d, s])
        if self.reach:
            s, d = np.array(self.reach).T
            parts.append(fit.total[:, d, s] - fit.paths[:, d, s])
            parts.append(fit.total[:, d, s])
        parts.append(fit.r2[:, self.endo])
        return np.concatenate(parts, axis=1)


def _reaches(spec: ModelSpec, src: str, dst: str) -> bool:
    frontier, seen = [src], set()
    while frontier:
        node = frontier.pop()
        for s, d in spec.paths:
            if s == node and d not in seen:
                if d == dst:
                    return True
                seen.add(d)
                frontier.append(d)
    return False


@dataclass(repr=False)
class PLSResult(Result):
    """A fitted PLS path model (R plspm's outputs, as DataFrames).

    ``paths``: direct path coefficients (standardised) with OLS standard error, t and p
    on the construct scores (as plspm's ``inner_model``), plus bootstrap columns.
    ``effects``: direct, indirect and total effects for every pair joined by a path.
    ``outer``: weight, loading, communality, redundancy per indicator.
    ``inner_summary``: R², adjusted R², block communality, mean redundancy, AVE.
    ``scores``: construct scores (mean 0, population variance 1), indexed like the data.
    """

    spec: ModelSpec
    scheme: str
    scaled: bool
    n: int
    iterations: int
    paths: pd.DataFrame
    effects: pd.DataFrame
    outer: pd.DataFrame
    inner_summary: pd.DataFrame
    crossloadings: pd.DataFrame
    scores: pd.DataFrame
    gof: float
    vif: pd.DataFrame
    bootstrap: BootstrapResult | None = None
    n_dropped: int = 0
    data: pd.DataFrame = field(repr=False, default=None)      # indicators used (rows kept)
    means: pd.Series = field(repr=False, default=None)
    sds: pd.Series = field(repr=False, default=None)

    @property
    def raw_weights(self) -> pd.Series:
        """Score change (in score SD) per one unit of each indicator on its own scale."""
        w = self.outer.set_index("indicator")["weight"]
        return w / self.sds if self.scaled else w

    def total_effects(self) -> pd.DataFrame:
        """Total effects as a matrix [to, from] over all constructs (zeros where none)."""
        names = self.spec.constructs
        mat = pd.DataFrame(0.0, index=names, columns=names)
        for _, r in self.effects.iterrows():
            mat.loc[r["to"], r["from"]] = r["total"]
        return mat

    def summary(self) -> pd.DataFrame:
        """The path coefficients: from, to, estimate, OLS SE, t, p and, with a bootstrap,
        percentile and BCa limits (``inner_summary``, ``outer``, ``effects`` hold the rest)."""
        return self.paths.copy()

    def headline(self) -> str:
        top = self.paths.loc[self.paths["estimate"].abs().idxmax()]
        if "pct_low" in self.paths:
            level = self.bootstrap.level
            ci = f"bootstrap percentile {ci_text(top['pct_low'], top['pct_high'], level, '.3f')}"
        else:
            half = z_value(0.95) * top["std_error"]
            ci = (f"{ci_text(top['estimate'] - half, top['estimate'] + half, 0.95, '.3f')}, "
                  "normal approximation")
        dropped = f", {self.n_dropped:,} rows dropped" if self.n_dropped else ""
        return (f"PLS path model ({len(self.spec.blocks)} constructs, "
                f"{len(self.spec.indicators)} indicators, scheme {self.scheme}, GoF "
                f"{self.gof:.3f}): strongest path {top['from']} -> {top['to']} "
                f"{top['estimate']:.3f} ({ci}); n = {self.n:,}{dropped}")

    def plot(self):
        """Path diagram: constructs as nodes, arrows labelled with path coefficients."""
        from ._plots import path_diagram
        return path_diagram(self)


def _prepare(spec: ModelSpec, data: pd.DataFrame, missing: str) -> tuple[pd.DataFrame, int]:
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"fit_pls: data must be a DataFrame, got {type(data).__name__}")
    spec.check_data(data)
    frame = data[spec.indicators].apply(pd.to_numeric, errors="coerce").astype(float)
    na = frame.isna()
    dropped = 0
    if na.any().any():
        per_col = na.sum()
        per_col = per_col[per_col > 0].sort_values(ascending=False)
        detail = ", ".join(f"{c} {v:,}" for c, v in per_col.head(6).items())
        words = ", ".join(f"{c} for {v:,} ({v / len(frame):.0%})" for c, v in per_col.items())
        if missing == "listwise":
            keep = ~na.any(axis=1)
            dropped = int((~keep).sum())
            frame = frame[keep]
            warnings.warn(f"fit_pls: {dropped:,} of {len(data):,} rows dropped for missing "
                          f"indicator values ({detail}); use missing='mean' to keep them",
                          StatisticalWarning, stacklevel=3)
        else:
            warnings.warn(f"fit_pls: {len(per_col)} of {len(spec.indicators)} KPIs are missing "
                          f"in some of the {len(frame):,} rows: {words}; missing values "
                          "replaced by column means (each KPI's mean over the rows that have "
                          "it), so a KPI missing often varies less and its weight shrinks "
                          "towards 0", StatisticalWarning, stacklevel=3)
            frame = frame.fillna(frame.mean())
    for col in frame.columns:
        if frame[col].nunique() <= 1:
            raise DataError(f"fit_pls: column {col!r} is constant in the rows used "
                            f"(n = {len(frame):,})")
    return frame, dropped


def fit_pls(spec: str | Mapping[str, Any] | ModelSpec, data: pd.DataFrame, scheme: str = "path",
            scaled: bool = True, bootstrap: int = 0, seed: int | None = None,
            tol: float = 1e-6, maxiter: int = 100, missing: str = "listwise",
            level: float = 0.95, n_jobs: int = 2, progress: bool = False) -> PLSResult:
    """Fit a PLS path model (Lohmoller's algorithm as in R plspm) with optional bootstrap.

    ``spec``: lavaan-style text or dict (see :func:`parse_spec`). ``scheme``: inner
    weighting, ``"centroid"``, ``"factorial"`` or ``"path"``. ``scaled``: standardise each
    indicator (population SD) first; else centre only (raw units). ``tol``/``maxiter``:
    stop when the summed squared change of |weights| is below ``tol`` (plspm's rule).
    ``missing``: ``"listwise"`` drops incomplete rows, ``"mean"`` imputes column means
    (both warn). ``bootstrap``: number of resamples (0 = none) for percentile and BCa
    intervals at ``level``, drawn from ``seed`` in ``n_jobs`` processes.
    """
    spec = parse_spec(spec)
    check_option("scheme", scheme, SCHEMES, where="fit_pls")
    check_option("missing", missing, MISSING, where="fit_pls")
    if not 0 < tol <= 1e-3 or maxiter < 1:
        raise ModelError("fit_pls: tol must be in (0, 0.001] and maxiter at least 1")
    frame, dropped = _prepare(spec, data, missing)
    n = len(frame)
    max_pred = max([len(spec.predecessors(c)) for c in spec.constructs]
                   + [len(b.indicators) for b in spec.blocks if b.mode == "B"])
    if n <= max_pred + 2:
        raise ModelError(f"fit_pls: n = {n} rows cannot support {max_pred} predictors")
    if n < max(30, 10 * max_pred):
        warnings.warn(f"fit_pls: n = {n} is small for this model (largest regression has "
                      f"{max_pred} predictors; rule of thumb n >= {max(30, 10 * max_pred)})",
                      SmallSampleWarning, stacklevel=2)

    odm = _odm(spec)
    st = Structure(odm, spec.path_matrix().to_numpy(dtype=float),
                   np.array([b.mode == "B" for b in spec.blocks]), odm.argmax(axis=1))
    X = frame.to_numpy()
    vif_rows = _check_collinearity(spec, frame)
    S, mean, sd = treated_cov(X, scaled)
    fit = pls_core(S, n, st, scheme, tol, maxiter)
    if not fit.ok[0]:
        reason = ("did not converge" if fit.iterations[0] >= maxiter
                  else "hit a singular system (collinear indicators in a composite block?)")
        raise ModelError(f"fit_pls: the PLS algorithm {reason} after {fit.iterations[0]} "
                         f"iterations (maxiter={maxiter}); check the blocks' indicators")
    Xt = (X - mean) / sd if scaled else X - mean
    scores = pd.DataFrame(Xt @ fit.W[0], index=frame.index, columns=spec.constructs)
    result = _assemble(spec, st, fit, n, scores, frame, mean, sd, scheme, scaled, dropped)
    # structural collinearity: VIF of each endogenous construct's predictors
    for dst in spec.endogenous():
        pred = spec.predecessors(dst)
        for name, value in vif(scores[pred]).items():
            vif_rows.append({"level": "structural", "construct": dst, "variable": name,
                             "vif": float(value)})
    result.vif = pd.DataFrame(vif_rows, columns=["level", "construct", "variable", "vif"])
    high = result.vif[result.vif["vif"] > VIF_WARN]
    if len(high):
        detail = "; ".join(f"{r.variable} in {r.construct} ({r.level}) VIF {r.vif:.1f}"
                           for r in high.itertuples())
        warnings.warn(f"fit_pls: collinear predictors, VIF above {VIF_WARN:g}: {detail}; their "
                      "weights/paths are unstable", StatisticalWarning, stacklevel=2)

    if bootstrap:
        if bootstrap < 10:
            raise ModelError("fit_pls: bootstrap needs at least 10 resamples (0 for none)")
        result.bootstrap = _bootstrap(result, st, fit, X, mean, scheme, scaled, tol, maxiter,
                                      bootstrap, seed, level, n_jobs, progress)
        _attach_intervals(result)
    return result


def _check_collinearity(spec: ModelSpec, frame: pd.DataFrame) -> list[dict]:
    rows = []
    for b in spec.blocks:
        if b.mode != "B" or len(b.indicators) < 2:
            continue
        v = vif(frame[list(b.indicators)])
        bad = v[~np.isfinite(v) | (v > 1e8)]
        if len(bad):
            raise ModelError(f"fit_pls: indicators {', '.join(bad.index)} of composite block "
                             f"'{b.name}' are perfectly collinear (VIF infinite); drop one or "
                             "combine them")
        rows += [{"level": "outer", "construct": b.name, "variable": k, "vif": float(x)}
                 for k, x in v.items()]
    return rows


def _assemble(spec: ModelSpec, st: Structure, fit: CoreFit, n: int, scores: pd.DataFrame,
              frame: pd.DataFrame, mean: np.ndarray, sd: np.ndarray, scheme: str, scaled: bool,
              dropped: int) -> PLSResult:
    names = spec.constructs
    idx = {c: i for i, c in enumerate(names)}
    R = fit.R[0]
    r2 = fit.r2[0]
    # paths with OLS inference on the scores (like plspm's inner_model)
    rows = []
    for dst in spec.endogenous():
        pred = [idx[s] for s in spec.predecessors(dst)]
        k = idx[dst]
        inv = np.linalg.inv(R[np.ix_(pred, pred)])
        dof = n - len(pred) - 1
        se = np.sqrt(np.clip((1 - r2[k]) / dof * np.diag(inv), 0, None))
        for j, s_ in zip(pred, se):
            est = fit.paths[0, k, j]
            t = est / s_ if s_ > 0 else np.inf
            rows.append({"from": names[j], "to": dst, "estimate": est, "std_error": s_,
                         "t": t, "p_value": 2 * stats.t.sf(abs(t), dof)})
    paths = pd.DataFrame(rows)
    eff = []
    for src in names:
        for dst in names:
            if src != dst and _reaches(spec, src, dst):
                d = fit.paths[0, idx[dst], idx[src]]
                t = fit.total[0, idx[dst], idx[src]]
                eff.append({"from": src, "to": dst, "direct": d, "indirect": t - d, "total": t})
    effects = pd.DataFrame(eff, columns=["from", "to", "direct", "indirect", "total"])
    blocks = [spec.block_of(i) for i in spec.indicators]
    weights = fit.weights[0]
    loadings = fit.loadings[0]
    communality = loadings**2
    redundancy = communality * r2[st.block_of]
    outer = pd.DataFrame({"construct": blocks, "indicator": spec.indicators,
                          "mode": [spec.modes[b] for b in blocks], "weight": weights,
                          "loading": loadings, "communality": communality,
                          "redundancy": redundancy})
    cross = pd.DataFrame(fit.xload[0], index=pd.Index(spec.indicators, name="indicator"),
                         columns=names)
    cross.insert(0, "construct", blocks)
    endo = set(spec.endogenous())
    inner_rows = []
    for k, b in enumerate(spec.blocks):
        com = communality[st.block_of == k]
        red = redundancy[st.block_of == k]
        npred = len(spec.predecessors(b.name))
        r2k = r2[k] if b.name in endo else 0.0
        adj = 1 - (1 - r2k) * (n - 1) / (n - npred - 1) if npred else np.nan
        inner_rows.append({
            "construct": b.name, "type": "Endogenous" if b.name in endo else "Exogenous",
            "mode": b.mode, "n_indicators": len(b.indicators), "r2": r2k, "r2_adj": adj,
            "block_communality": com.mean(), "mean_redundancy": red.mean(),
            "ave": com.sum() / len(com) if b.mode == "A" else np.nan})
    inner = pd.DataFrame(inner_rows)
    multi = np.array([len(spec.blocks[k].indicators) > 1 for k in st.block_of])
    endo_r2 = [r2[idx[c]] for c in spec.endogenous()]
    gof = float(np.sqrt(communality[multi].mean() * np.mean(endo_r2))) if multi.any() else np.nan
    return PLSResult(spec, scheme, scaled, n, int(fit.iterations[0]), paths, effects, outer,
                     inner, cross, scores, gof, pd.DataFrame(), None, dropped, frame,
                     pd.Series(mean, index=spec.indicators), pd.Series(sd, index=spec.indicators))


def _bootstrap(result: PLSResult, st: Structure, fit: CoreFit, X: np.ndarray, mean: np.ndarray,
               scheme: str, scaled: bool, tol: float, maxiter: int, B: int, seed: int | None,
               level: float, n_jobs: int, progress: bool) -> BootstrapResult:
    stat_fn = _StatVector(result.spec, st)
    Xc = X - mean
    out, plan = run_bootstrap(Xc, st, scheme, tol, maxiter, scaled, stat_fn, B, seed, n_jobs,
                              progress)
    ok = out["ok"]
    n_failed = int((~ok).sum())
    if n_failed:
        warnings.warn(f"fit_pls: {n_failed} of {B} bootstrap resamples failed (no convergence "
                      "or a singular/constant block) and are left out of the intervals",
                      StatisticalWarning, stacklevel=3)
    if ok.sum() < 2:
        raise ModelError(f"fit_pls: only {int(ok.sum())} of {B} bootstrap resamples could be fitted")
    estimate = stat_fn(fit)[0]
    draws = out["stats"][ok]
    jack = jackknife(Xc, st, scheme, tol, maxiter, scaled, stat_fn)
    table = intervals(estimate, draws, jack, level)
    kinds, names = zip(*stat_fn.labels)
    table.insert(0, "estimate", estimate)
    table.insert(0, "name", names)
    table.insert(0, "statistic", kinds)
    cols = pd.MultiIndex.from_tuples(stat_fn.labels, names=["statistic", "name"])
    return BootstrapResult(B, n_failed, int(len(np.unique(out["fp"]))), level, seed, table,
                           pd.DataFrame(draws, columns=cols), out["weights"], out["total"],
                           out["means"], out["sds"], ok, plan)


_BOOT_COLS = ["boot_se", "pct_low", "pct_high", "bca_low", "bca_high"]


def _attach_intervals(result: PLSResult) -> None:
    table = result.bootstrap.intervals.set_index(["statistic", "name"])[_BOOT_COLS]

    def pick(kind: str, keys: pd.Series) -> pd.DataFrame:
        sub = table.xs(kind, level="statistic")
        return sub.reindex(keys.to_numpy()).reset_index(drop=True)

    label = result.paths["from"] + " -> " + result.paths["to"]
    result.paths = pd.concat([result.paths, pick("path", label)], axis=1)
    label = result.effects["from"] + " -> " + result.effects["to"]
    tot = pick("total", label).add_prefix("total_")
    ind = pick("indirect", label).add_prefix("indirect_")
    result.effects = pd.concat([result.effects, ind, tot], axis=1)
    w = pick("weight", result.outer["indicator"]).add_prefix("weight_")
    ld = pick("loading", result.outer["indicator"]).add_prefix("loading_")
    result.outer = pd.concat([result.outer, w, ld], axis=1)
