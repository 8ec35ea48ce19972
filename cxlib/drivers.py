"""Key-driver analysis: how much of an outcome each driver explains.

Two decompositions of R^2 that stay meaningful when drivers are correlated:

* **Relative weights** (Johnson 2000, Multivariate Behavioral Research 35(1)): regress the
  outcome on the orthogonal counterpart Z of the standardised drivers and share each
  squared weight back through the loadings; the weights sum to R^2. For a binary outcome,
  the logistic variant of Tonidandel & LeBreton (2010, J. Business and Psychology 25)
  fits a logistic regression on Z and standardises its coefficients.
* **Shapley / LMG** (Lindeman, Merenda & Gold 1980; Grömping 2006, J. Statistical
  Software 17(1)): each driver's R^2 gain averaged over all orders of entry, computed
  exactly from the correlation matrix over all 2^p subsets (p <= 15).

Both come with percentile bootstrap intervals (``n_boot`` resamples, ``seed``) and rank
stability: the share of resamples in which a driver keeps its rank.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from math import factorial
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .checks import check_option
from .errors import DataError, ModelError, SmallSampleWarning
from .measurement import WeightedCorr
from .results import Result, ci_text
from .schema import as_numbers

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["key_drivers", "KeyDrivers", "relative_weights", "shapley_r2", "organisation_frame",
           "organisation_drivers", "METHODS"]

METHODS = ("relative_weights", "shapley")
MAX_SHAPLEY_DRIVERS = 15


# -- decompositions from a correlation matrix ------------------------------------------------

def _loadings(rxx: np.ndarray) -> np.ndarray:
    """Lambda = R^(1/2): correlations between the drivers X and their orthogonal counterpart Z."""
    values, vectors = np.linalg.eigh(rxx)
    if values.min() < 1e-10:
        raise np.linalg.LinAlgError("driver correlation matrix is singular")
    return vectors @ np.diag(np.sqrt(values)) @ vectors.T


def relative_weights(rxx: np.ndarray, rxy: np.ndarray) -> np.ndarray:
    """Johnson's relative weights from the driver correlations ``rxx`` and ``rxy``; sum = R^2."""
    lam = _loadings(rxx)
    beta = np.linalg.solve(lam, rxy)  # standardised weights of y on Z
    return (lam**2) @ (beta**2)


@lru_cache(maxsize=16)
def _subsets(p: int) -> tuple[np.ndarray, ...]:
    return tuple(np.flatnonzero([(mask >> j) & 1 for j in range(p)]) for mask in range(1 << p))


def _subset_r2(rxx: np.ndarray, rxy: np.ndarray) -> np.ndarray:
    """R^2 of every subset of drivers, indexed by bitmask (grouped by size, batched solves)."""
    p = len(rxy)
    r2 = np.zeros(1 << p)
    subsets = _subsets(p)
    sizes = np.array([len(s) for s in subsets])
    for size in range(1, p + 1):
        masks = np.flatnonzero(sizes == size)
        idx = np.stack([subsets[m] for m in masks])              # (k, size)
        a = rxx[idx[:, :, None], idx[:, None, :]]                # (k, size, size)
        r = rxy[idx]                                             # (k, size)
        r2[masks] = np.einsum("ki,ki->k", r, np.linalg.solve(a, r[:, :, None])[:, :, 0])
    return r2


def shapley_r2(rxx: np.ndarray, rxy: np.ndarray) -> np.ndarray:
    """Shapley (LMG) share of R^2 per driver, exact over all subsets; sums to the full R^2."""
    p = len(rxy)
    if p > MAX_SHAPLEY_DRIVERS:
        raise ModelError(f"Shapley/LMG over {p} drivers needs 2^{p} regressions; use at most "
                         f"{MAX_SHAPLEY_DRIVERS} drivers or method='relative_weights'")
    r2 = _subset_r2(rxx, rxy)
    masks = np.arange(1 << p)
    size = np.array([bin(m).count("1") for m in masks])
    weight = np.array([factorial(s) * factorial(p - s - 1) / factorial(p) if s < p else 0.0
                       for s in size])
    out = np.zeros(p)
    for j in range(p):
        without = masks[(masks >> j & 1) == 0]
        out[j] = np.sum(weight[without] * (r2[without | (1 << j)] - r2[without]))
    return out


def _logit(x: np.ndarray, y: np.ndarray, tol: float = 1e-10, max_iter: int = 100) -> np.ndarray:
    """Maximum-likelihood logistic coefficients (intercept first) by Newton-Raphson,
    iterated until no coefficient moves by more than ``tol`` (R's ``glm`` to convergence).

    Raises ``LinAlgError`` when it does not converge (perfect separation).
    """
    from scipy.special import expit

    design = np.column_stack([np.ones(len(x)), x])
    beta = np.zeros(design.shape[1])
    for _ in range(max_iter):
        prob = expit(design @ beta)
        hessian = design.T @ (design * (prob * (1 - prob))[:, None])
        step = np.linalg.solve(hessian, design.T @ (y - prob))
        beta = beta + step
        if not np.isfinite(beta).all():
            break
        if np.abs(step).max() < tol:
            return beta
    raise np.linalg.LinAlgError("the logistic fit does not converge (perfect separation?)")


def _logistic_weights(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Relative weights for a binary outcome (Tonidandel & LeBreton 2010), the logistic
    regression on the orthogonal counterparts solved to convergence (unpenalised)."""
    from scipy.special import expit

    xs = (x - x.mean(axis=0)) / x.std(axis=0, ddof=1)
    rxx = np.corrcoef(xs, rowvar=False)
    lam = _loadings(rxx)
    z = xs @ np.linalg.inv(lam)
    coef = _logit(z, np.asarray(y, dtype=float))
    b = coef[1:]
    logit = coef[0] + z @ b
    prob = expit(logit)
    r2 = np.corrcoef(y, prob)[0, 1] ** 2
    b_std = b * z.std(axis=0, ddof=1) * np.sqrt(r2) / logit.std(ddof=1)
    return (lam**2) @ (b_std**2)


# -- result -----------------------------------------------------------------------------------

@dataclass(repr=False)
class KeyDrivers(Result):
    """Importance of each driver for ``outcome``, with bootstrap intervals and rank stability.

    ``importance`` has one row per driver, most important first: ``importance`` (its part
    of R^2), ``ci_low``/``ci_high``, ``share`` (of the explained R^2, 0-1), ``rank`` with
    ``rank_low``/``rank_high`` (bootstrap interval) and ``rank_stability`` (share of
    resamples with the same rank), ``performance`` (mean driver score) with its interval,
    and ``n`` answers.
    """

    importance: pd.DataFrame
    outcome: str
    method: str
    r2: float
    r2_low: float
    r2_high: float
    n: int
    n_boot: int
    n_failed: int
    level: float
    binary: bool
    notes: list[str] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        """The importance table rounded for reading."""
        cols = ["driver", "importance", "ci_low", "ci_high", "share", "rank", "rank_low",
                "rank_high", "rank_stability", "performance"]
        return self.importance[cols].round(3)

    def headline(self) -> str:
        top = self.importance.iloc[0]
        share = ci_text(top.ci_low / self.r2, top.ci_high / self.r2, self.level, ".0%")
        return (f"{top.driver} explains the most of {self.outcome} ({top.share:.0%} of "
                f"R² = {self.r2:.2f}, {share}; keeps rank {int(top['rank'])} in "
                f"{top.rank_stability:.0%} of {self.n_boot - self.n_failed} resamples; "
                f"n = {self.n:,})")

    def plot(self, title: str | None = None) -> go.Figure:
        """Bars of each driver's share of R^2 with bootstrap intervals."""
        from .plots import interval_bars

        t = self.importance.assign(share_low=self.importance.ci_low / self.r2,
                                   share_high=self.importance.ci_high / self.r2,
                                   pct=100 * self.importance.share)
        t["pct_low"], t["pct_high"] = 100 * t.share_low, 100 * t.share_high
        return interval_bars(t.drop(columns="n"), x="driver", y="pct", low="pct_low",
                             high="pct_high", flag=None, title=title or self.headline(),
                             y_title=f"share of explained variance "
                                     f"(%, {self.level:.0%} bootstrap CI)")

    def plot_quadrant(self, title: str | None = None) -> go.Figure:
        """Importance-performance quadrant: fix what matters most and performs worst."""
        from .plots import importance_performance

        return importance_performance(self.importance, title=title)


# -- entry point ------------------------------------------------------------------------------

def _prepare(frame: pd.DataFrame, outcome: str, drivers: Sequence[str], missing: str
             ) -> pd.DataFrame:
    check_option("missing", missing, ("listwise", "pairwise"), where="key_drivers")
    cols = [outcome, *drivers]
    absent = [c for c in cols if c not in frame.columns]
    if absent:
        raise DataError(f"key_drivers: column(s) {absent} not found")
    if len(set(drivers)) != len(drivers) or outcome in drivers:
        raise DataError("key_drivers: drivers must be distinct and must not include the outcome")
    data = pd.DataFrame(index=range(len(frame)))
    for c in cols:
        data[c] = as_numbers(frame[c].reset_index(drop=True), f"key_drivers: column {c!r}")
    if missing == "listwise":
        data = data.dropna()
    else:
        data = data[data[outcome].notna()]
    return data


def _design_floor(p: int) -> int:
    """The fewest answers per driver :func:`key_drivers` estimates from."""
    return max(30, 5 * p)


def _fewest_answers(data: pd.DataFrame, drivers: Sequence[str]) -> int:
    return int(data[list(drivers)].notna().sum().min()) if len(data) else 0


def _check_design(data: pd.DataFrame, outcome: str, drivers: Sequence[str]) -> None:
    p = len(drivers)
    n_min = _fewest_answers(data, drivers)
    if n_min < _design_floor(p):
        raise ModelError(f"key_drivers: only {n_min} complete answers for {p} drivers; need at "
                         f"least {_design_floor(p)}")
    sd = data[[outcome, *drivers]].std()
    flat = sd.index[(sd.fillna(0) == 0)].tolist()
    if flat:
        raise ModelError(f"key_drivers: column(s) {flat} do not vary; drop them")
    corr = data[list(drivers)].corr().to_numpy()
    if not np.isfinite(corr).all() or np.linalg.eigvalsh(corr).min() < 1e-8:
        pairs = [(drivers[i], drivers[j], corr[i, j]) for i in range(p) for j in range(i + 1, p)
                 if np.isfinite(corr[i, j]) and abs(corr[i, j]) > 0.95]
        named = "; ".join(f"{a} ~ {b} (r = {r:.2f})" for a, b, r in pairs) or "a linear combination"
        raise ModelError(f"key_drivers: drivers are collinear ({named}); drop or combine them")


def _importance(data: pd.DataFrame, outcome: str, drivers: list[str], method: str,
                binary: bool) -> np.ndarray:
    if binary:
        complete = data.dropna()
        return _logistic_weights(complete[drivers].to_numpy(), complete[outcome].to_numpy())
    values = data[[*drivers, outcome]].to_numpy(dtype=float)
    corr = (np.corrcoef(values, rowvar=False) if not np.isnan(values).any()
            else data[[*drivers, outcome]].corr().to_numpy())  # pairwise complete
    return _linear_importance(corr, method)


def _linear_importance(corr: np.ndarray, method: str) -> np.ndarray:
    """Importance from the correlation matrix of ``[*drivers, outcome]``."""
    rxx, rxy = corr[:-1, :-1], corr[:-1, -1]
    if not np.isfinite(corr).all():
        raise np.linalg.LinAlgError("undefined correlation")
    return relative_weights(rxx, rxy) if method == "relative_weights" else shapley_r2(rxx, rxy)


def key_drivers(frame: pd.DataFrame, outcome: str, drivers: Sequence[str],
                method: str = "relative_weights", n_boot: int = 200, level: float = 0.95,
                seed: int = 0, binary: bool | None = None, missing: str = "listwise"
                ) -> KeyDrivers:
    """Importance of ``drivers`` for ``outcome`` (relative weights or Shapley/LMG).

    ``binary``: None detects a 0/1 outcome and then uses logistic relative weights
    (Shapley is for continuous outcomes). ``missing="listwise"`` keeps complete rows;
    ``"pairwise"`` builds the correlation matrix from all pairs available (for drivers
    answered by different people; linear methods only). Intervals: percentile bootstrap
    over rows, ``n_boot`` resamples from ``seed``; failed resamples are counted in
    ``n_failed``. Performance is each driver's mean score.
    """
    check_option("method", method, METHODS, where="key_drivers")
    drivers = list(drivers)
    data = _prepare(frame, outcome, drivers, missing)
    y = data[outcome].dropna()
    is_binary = bool(set(np.unique(y)) <= {0.0, 1.0}) if binary is None else binary
    if is_binary:
        if method != "relative_weights":
            raise ModelError("key_drivers: a binary outcome needs method='relative_weights' "
                             "(logistic relative weights); Shapley/LMG here decomposes linear R²")
        if missing != "listwise":
            raise ModelError("key_drivers: the logistic variant needs missing='listwise'")
        if y.nunique() < 2:
            raise ModelError(f"key_drivers: outcome {outcome!r} has one class only")
    _check_design(data, outcome, drivers)
    n = len(data)  # listwise: complete rows; pairwise: rows with the outcome
    if len(data) < 100:
        warnings.warn(f"key_drivers: {len(data)} answers; importance ranks are unstable below "
                      "about 100", SmallSampleWarning, stacklevel=2)
    try:
        point = _importance(data, outcome, drivers, method, is_binary)
    except np.linalg.LinAlgError as exc:
        raise ModelError(f"key_drivers: cannot decompose R² ({exc})") from None
    rng = np.random.default_rng(seed)
    boots, failed = [], 0
    values = data.to_numpy()
    resampled_corr = None if is_binary else WeightedCorr(data[[*drivers, outcome]].to_numpy(float))
    for _ in range(n_boot):
        rows = rng.integers(0, len(values), len(values))
        try:
            if is_binary:
                sample = pd.DataFrame(values[rows], columns=data.columns)
                est = _importance(sample, outcome, drivers, method, is_binary)
            else:  # the resample as row counts: same draws, no copy of the rows
                counts = np.bincount(rows, minlength=len(values)).astype(float)
                est = _linear_importance(resampled_corr(counts), method)
            if not np.isfinite(est).all():
                raise np.linalg.LinAlgError("non-finite")
            boots.append(est)
        except (np.linalg.LinAlgError, ValueError):
            failed += 1
    boot = np.array(boots).reshape(-1, len(drivers))
    alpha = (1 - level) / 2
    order = np.argsort(-point, kind="stable")
    rank = np.empty(len(drivers), int)
    rank[order] = np.arange(1, len(drivers) + 1)
    boot_rank = (-boot).argsort(axis=1, kind="stable").argsort(axis=1) + 1
    r2 = float(point.sum())
    r2_boot = boot.sum(axis=1)
    perf = data[drivers]
    perf_n = perf.notna().sum()
    perf_se = perf.std(ddof=1) / np.sqrt(perf_n)
    from scipy import stats

    t = stats.t.ppf(0.5 + level / 2, np.maximum(perf_n - 1, 1))
    table = pd.DataFrame({
        "driver": drivers, "importance": point,
        "ci_low": np.quantile(boot, alpha, axis=0) if len(boot) else np.nan,
        "ci_high": np.quantile(boot, 1 - alpha, axis=0) if len(boot) else np.nan,
        "share": point / r2, "rank": rank,
        "rank_low": np.quantile(boot_rank, alpha, axis=0, method="lower") if len(boot) else np.nan,
        "rank_high": (np.quantile(boot_rank, 1 - alpha, axis=0, method="higher")
                      if len(boot) else np.nan),
        "rank_stability": (boot_rank == rank).mean(axis=0) if len(boot) else np.nan,
        "performance": perf.mean().to_numpy(),
        "performance_low": (perf.mean() - t * perf_se).to_numpy(),
        "performance_high": (perf.mean() + t * perf_se).to_numpy(),
        "n": perf_n.to_numpy(),
    }).sort_values("rank", ignore_index=True)
    notes = [f"{failed} of {n_boot} bootstrap resamples failed and were left out"] if failed else []
    label = ("logistic relative weights (Tonidandel & LeBreton 2010)" if is_binary else
             "relative weights (Johnson 2000)" if method == "relative_weights" else
             "Shapley / LMG (Grömping 2006)")
    return KeyDrivers(table, outcome, label, r2,
                      float(np.quantile(r2_boot, alpha)) if len(boot) else np.nan,
                      float(np.quantile(r2_boot, 1 - alpha)) if len(boot) else np.nan,
                      n, n_boot, failed, level, is_binary, notes)


def organisation_frame(responses: pd.DataFrame, score: str = "csat", outcome: str = "nps",
                       by: str = "organisation") -> pd.DataFrame:
    """One row per customer: mean transactional ``score`` per ``by`` value, and the
    customer's latest relationship ``outcome`` (for :func:`key_drivers` with
    ``missing="pairwise"``: customers rate different organisations).
    """
    need = ["customer_id", "survey_type", "response_date", by, score, outcome]
    absent = [c for c in need if c not in responses.columns]
    if absent:
        raise DataError(f"organisation_frame: column(s) {absent} not found")
    tr = responses[responses["survey_type"] != "relationship"]
    wide = tr.pivot_table(index="customer_id", columns=by, values=score, aggfunc="mean")
    wide.columns = [str(c) for c in wide.columns]
    rel = responses[(responses["survey_type"] == "relationship") & responses[outcome].notna()]
    last = rel.sort_values("response_date").groupby("customer_id")[outcome].last().astype(float)
    out = wide.join(last.rename(outcome), how="inner")
    if out.empty:
        raise DataError("organisation_frame: no customer has both transactional and "
                        "relationship answers")
    return out.reset_index()


def organisation_drivers(responses: pd.DataFrame, *, n_boot: int = 200, seed: int = 0,
                         level: float = 0.95) -> tuple[KeyDrivers | None, str]:
    """The organisations as key drivers of NPS (:func:`key_drivers` on
    :func:`organisation_frame`, pairwise), or None with the reason when the answers are too
    few to estimate them (a small store or region: callers then weigh organisations equally).
    """
    if responses.empty or not {"relationship"} <= set(responses.get("survey_type", ())) or \
            responses.loc[responses["survey_type"] != "relationship"].empty:
        return None, ("organisations weighed equally: organisation importance needs "
                      "transactional and relationship answers of the same customers")
    frame = organisation_frame(responses)
    orgs = [c for c in frame.columns if c not in ("customer_id", "nps")]
    data = frame[frame["nps"].notna()]
    fewest = _fewest_answers(data, orgs)
    if len(orgs) < 2 or fewest < _design_floor(len(orgs)):
        return None, (f"organisations weighed equally: {fewest} customers rated the least-rated "
                      f"of {len(orgs)} organisation(s) beside their NPS; importance needs at "
                      f"least {_design_floor(len(orgs))} and two organisations")
    return key_drivers(frame, "nps", orgs, missing="pairwise", n_boot=n_boot, seed=seed,
                       level=level), ""
