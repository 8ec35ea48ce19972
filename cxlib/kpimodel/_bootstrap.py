"""Bootstrap of PLS-PM estimates: vectorised, seeded, parallel, percentile and BCa.

Resamples are drawn in fixed-size chunks; chunk ``i`` draws from its own stream
``SeedSequence(seed).spawn(chunks)[i]`` (never a state shared by forked workers,
which made plspm 0.5.7 repeat resamples), so results are identical for any number
of workers. Each chunk turns its resamples into frequency counts, the counts into a
stack of covariance matrices, and fits them all at once (:func:`pls_core`).
Resamples that fail (no convergence, singular block, a constant indicator) are
counted and left out; the count is reported beside the intervals.

Intervals: percentile, and BCa (Efron 1987, JASA 82) with the acceleration from a
jackknife (exact up to ``EXACT_JACKKNIFE_MAX`` rows, else delete-a-group with
``JACKKNIFE_GROUPS`` groups).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..results import Result, ci_text
from ._core import Structure, pls_core, resample_cov

EXACT_JACKKNIFE_MAX = 1_000
PARALLEL_MIN_WORK = 5_000_000
"""Rows x resamples below which worker processes cost more than they save (run in-process)."""
JACKKNIFE_GROUPS = 200


@dataclass(repr=False)
class BootstrapResult(Result):
    """Bootstrap draws of every statistic and their intervals.

    ``intervals`` has one row per statistic: ``estimate`` (full sample), ``boot_mean``,
    ``boot_se``, percentile (``pct_low``, ``pct_high``) and BCa (``bca_low``,
    ``bca_high``) limits at ``level``. ``n_failed`` resamples failed and are left out;
    ``n_distinct`` counts distinct resamples (should equal ``n_resamples``).
    """

    n_resamples: int
    n_failed: int
    n_distinct: int
    level: float
    seed: int | None
    intervals: pd.DataFrame
    draws: pd.DataFrame
    # per resample (all, failed ones included; see ok): weights, totals, means, sds
    weights: np.ndarray = field(repr=False, default=None)
    total: np.ndarray = field(repr=False, default=None)
    means: np.ndarray = field(repr=False, default=None)
    sds: np.ndarray = field(repr=False, default=None)
    ok: np.ndarray = field(repr=False, default=None)
    plan: list = field(repr=False, default_factory=list)   # (seed sequence, size) per chunk

    def summary(self) -> pd.DataFrame:
        """One row per statistic: estimate, bootstrap mean and SE, percentile and BCa limits."""
        return self.intervals.copy()

    def _shown(self) -> pd.DataFrame:
        """The path coefficients when the statistics have them, else all statistics."""
        t = self.intervals
        if "statistic" in t and (t["statistic"] == "path").any():
            t = t[t["statistic"] == "path"]
        return t.assign(label=t["name"] if "name" in t else t.index.astype(str))

    def headline(self) -> str:
        t = self._shown()
        top = t.loc[t["estimate"].abs().idxmax()]
        return (f"bootstrap: {self.n_resamples} resamples ({self.n_failed} failed, "
                f"{self.n_distinct} distinct), {self.level:.0%} percentile and BCa intervals, "
                f"seed {self.seed}; largest {top.get('statistic', 'statistic')} {top['label']} "
                f"{top['estimate']:.3f} (percentile "
                f"{ci_text(top['pct_low'], top['pct_high'], self.level, '.3f')}; "
                f"n = {self.n_resamples - self.n_failed} resamples)")

    def plot(self):
        """Percentile intervals of the path coefficients (or of every statistic)."""
        from ..plots import forest

        t = self._shown()
        return forest(t, "label", low="pct_low", high="pct_high",
                      title=f"Bootstrap percentile intervals ({self.level:.0%}; "
                            f"n = {self.n_resamples - self.n_failed} resamples)",
                      x_title="estimate (full sample) with its interval")

    def counts(self, n: int) -> Iterator[tuple[slice, np.ndarray]]:
        """Regenerate the resample counts chunk by chunk (same draws as the fit)."""
        start = 0
        for ss, size in self.plan:
            yield slice(start, start + size), draw_counts(ss, size, n)
            start += size


def chunk_plan(n_resamples: int, n: int, seed: int | None) -> list[tuple[np.random.SeedSequence, int]]:
    """Fixed chunks (independent of the number of workers), one seed sequence each."""
    cap = int(np.clip(2_000_000 // max(n, 1), 5, 200))
    size = max(1, min(cap, math.ceil(n_resamples / 8)))
    sizes = [size] * (n_resamples // size)
    if n_resamples % size:
        sizes.append(n_resamples % size)
    seeds = np.random.SeedSequence(seed).spawn(len(sizes))
    return list(zip(seeds, sizes))


def draw_counts(ss: np.random.SeedSequence, size: int, n: int) -> np.ndarray:
    """Bootstrap frequencies (size, n): rows drawn with replacement, counted per row."""
    rng = np.random.default_rng(ss)
    idx = rng.integers(0, n, size=(size, n))
    flat = (idx + (np.arange(size) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=size * n).reshape(size, n).astype(np.int32)


def fingerprint(counts: np.ndarray) -> np.ndarray:
    """A number per resample that differs between different resamples (a.s.)."""
    r = np.random.default_rng(20261122).random(counts.shape[1])
    return counts @ r


def _chunk(Xc: np.ndarray, ss, size: int, st: Structure, scheme: str, tol: float, maxiter: int,
           scaled: bool, stat_fn: Callable) -> dict[str, np.ndarray]:
    n = Xc.shape[0]
    counts = draw_counts(ss, size, n)
    S, mean, sd = resample_cov(Xc, counts, scaled)
    fit = pls_core(S, n, st, scheme, tol, maxiter)
    return {"stats": stat_fn(fit), "ok": fit.ok, "fp": fingerprint(counts),
            "weights": fit.weights, "total": fit.total, "means": mean, "sds": sd}


def run_bootstrap(Xc: np.ndarray, st: Structure, scheme: str, tol: float, maxiter: int,
                  scaled: bool, stat_fn: Callable, n_resamples: int, seed: int | None,
                  n_jobs: int = 2, progress: bool = False) -> tuple[dict, list]:
    """Draw, fit and collect all resamples; chunks run in parallel worker processes."""
    n = Xc.shape[0]
    plan = chunk_plan(n_resamples, n, seed)
    args = (st, scheme, tol, maxiter, scaled, stat_fn)
    bar = None
    if progress:
        from tqdm.std import tqdm
        bar = tqdm(total=n_resamples, desc="bootstrap", unit="resample", mininterval=0.5)
    if n_jobs == 1 or len(plan) == 1 or n * n_resamples < PARALLEL_MIN_WORK:
        results = []
        for ss, size in plan:
            results.append(_chunk(Xc, ss, size, *args))
            if bar is not None:
                bar.update(size)
    else:
        from joblib import Parallel, delayed
        gen = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_chunk)(Xc, ss, size, *args) for ss, size in plan)
        results = []
        for (_, size), res in zip(plan, gen):
            results.append(res)
            if bar is not None:
                bar.update(size)
    if bar is not None:
        bar.close()
    out = {k: np.concatenate([r[k] for r in results]) for k in results[0]}
    return out, plan


def jackknife(Xc: np.ndarray, st: Structure, scheme: str, tol: float, maxiter: int,
              scaled: bool, stat_fn: Callable) -> np.ndarray:
    """Leave-one-out (or delete-a-group) estimates, for the BCa acceleration."""
    n = Xc.shape[0]
    groups = np.arange(n) if n <= EXACT_JACKKNIFE_MAX else np.arange(n) % JACKKNIFE_GROUPS
    g = groups.max() + 1
    out = []
    for lo in range(0, g, 200):
        ids = np.arange(lo, min(lo + 200, g))
        mask = (groups[None, :] != ids[:, None]).astype(np.int32)
        S, _, _ = resample_cov(Xc, mask, scaled)
        fit = pls_core(S, int(mask[0].sum()), st, scheme, tol, maxiter)
        vals = stat_fn(fit)
        vals[~fit.ok] = np.nan
        out.append(vals)
    return np.concatenate(out)


def intervals(estimate: np.ndarray, draws: np.ndarray, jack: np.ndarray | None,
              level: float) -> pd.DataFrame:
    """Percentile and BCa limits per column of ``draws`` (failed resamples removed)."""
    alpha = (1 - level) / 2
    K = draws.shape[1]
    pct = np.nanquantile(draws, [alpha, 1 - alpha], axis=0) if len(draws) else np.full((2, K), np.nan)
    bca = np.full((2, K), np.nan)
    z = stats.norm.ppf([alpha, 1 - alpha])
    for k in range(K):
        d = draws[:, k]
        d = d[np.isfinite(d)]
        if len(d) < 2 or not np.isfinite(estimate[k]):
            continue
        prop = (np.mean(d < estimate[k]) + 0.5 * np.mean(d == estimate[k]))
        if prop <= 0 or prop >= 1:
            continue
        z0 = stats.norm.ppf(prop)
        a = 0.0
        if jack is not None:
            j = jack[:, k]
            j = j[np.isfinite(j)]
            dev = j.mean() - j
            den = 6 * (dev**2).sum() ** 1.5
            a = float((dev**3).sum() / den) if den > 0 else 0.0
        adj = stats.norm.cdf(z0 + (z0 + z) / (1 - a * (z0 + z)))
        bca[:, k] = np.quantile(d, adj)
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(draws, axis=0) if len(draws) else np.full(K, np.nan)
        se = np.nanstd(draws, axis=0, ddof=1) if len(draws) > 1 else np.full(K, np.nan)
    return pd.DataFrame({"boot_mean": mean, "boot_se": se, "pct_low": pct[0], "pct_high": pct[1],
                         "bca_low": bca[0], "bca_high": bca[1]})
