"""Analyses for a randomised pilot: CUPED, the NPS difference, randomisation inference.

These compare pilot and control after the start at the customer level (one
value per customer, so customers are the independent units). They are valid when
the monitor group was drawn at random (:func:`assign_monitor_group`); for a pilot
chosen by region use :func:`difference_in_differences`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..errors import DataError, SmallSampleWarning
from ..plots import style
from ._groups import CONTROL, PILOT
from ..metrics import z_value
from ..results import Result, ci_text

__all__ = ["customer_pre_post", "cuped_difference", "CupedResult", "nps_difference",
           "randomisation_test", "RandomisationResult"]


def customer_pre_post(observations: pd.DataFrame, groups: pd.Series, start: str | pd.Timestamp,
                      pre_months: int = 12, end: str | pd.Timestamp | None = None,
                      kpi: str = "y") -> pd.DataFrame:
    """Per customer with observations after ``start``: mean ``y`` before (``pre``, NaN when
    none) and after (``post``), their counts and the group label."""
    start = pd.Timestamp(start)
    obs = observations[(observations["when"] >= start - pd.DateOffset(months=pre_months))
                       & observations["y"].notna()]
    if end is not None:
        obs = obs[obs["when"] < pd.Timestamp(end)]
    obs = obs[obs["customer_id"].isin(groups.index)]
    post = obs["when"] >= start
    if not post.any():
        raise DataError(f"{kpi}: no observations after the pilot start {start.date()}")
    a = obs[post].groupby("customer_id")["y"].agg(post="mean", n_post="size")
    b = obs[~post].groupby("customer_id")["y"].agg(pre="mean", n_pre="size")
    out = a.join(b, how="left").fillna({"n_pre": 0})
    out["group"] = groups.reindex(out.index)
    for name in (PILOT, CONTROL):
        if not (out["group"] == name).any():
            raise DataError(f"{kpi}: no {name} customers with observations after {start.date()}")
    return out.reset_index()


@dataclass(repr=False)
class CupedResult(Result):
    """Difference of post-period means (pilot - control), CUPED-adjusted and raw."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    level: float
    raw_estimate: float
    raw_se: float
    theta: float
    variance_reduction: float
    n_pilot: int
    n_control: int
    n_with_covariate: int

    def summary(self) -> pd.DataFrame:
        """Two rows, CUPED and raw: difference, SE, interval; with theta, the variance
        reduction and the group sizes."""
        z = z_value(self.level)
        return pd.DataFrame({
            "method": ["CUPED", "raw difference"], "estimate": [self.estimate, self.raw_estimate],
            "se": [self.se, self.raw_se],
            "ci_low": [self.ci_low, self.raw_estimate - z * self.raw_se],
            "ci_high": [self.ci_high, self.raw_estimate + z * self.raw_se],
            "theta": [self.theta, np.nan], "variance_reduction": [self.variance_reduction, np.nan],
            "n_pilot": self.n_pilot, "n_control": self.n_control,
            "n_with_covariate": [self.n_with_covariate, np.nan]})

    def headline(self) -> str:
        return (f"CUPED difference {self.estimate:+.4g} (SE {self.se:.3g}, "
                f"{ci_text(self.ci_low, self.ci_high, self.level, '+.4g')}); raw difference "
                f"{self.raw_estimate:+.4g} (SE {self.raw_se:.3g}); variance reduced by "
                f"{self.variance_reduction:.0%} (theta {self.theta:.3f}); n = {self.n_pilot:,} "
                f"pilot, {self.n_control:,} control customers "
                f"({self.n_with_covariate:,} with a pre-period value)")

    def plot(self) -> go.Figure:
        t = pd.DataFrame({"method": ["raw difference", "CUPED"],
                          "est": [self.raw_estimate, self.estimate],
                          "se": [self.raw_se, self.se]})
        z = z_value(self.level)
        fig = go.Figure(go.Scatter(x=t["est"], y=t["method"], mode="markers",
                                   error_x=dict(type="data", array=z * t["se"], color="#333")))
        fig.add_vline(x=0, line_color="#888")
        style(fig, title=f"CUPED narrows the interval by "
              f"{1 - self.se / self.raw_se:.0%}", xaxis_title=f"pilot - control "
              f"({self.level:.0%} CI)")
        return fig


def _welch(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    return float(a.mean() - b.mean()), float(se)


def cuped_difference(frame: pd.DataFrame, outcome: str = "post", covariate: str = "pre",
                     group: str = "group", level: float = 0.95) -> CupedResult:
    """Pilot - control difference of ``outcome`` with CUPED (Deng et al. 2013).

    Y_adj = Y - theta (X - mean X) with theta = cov(Y, X) / var(X) pooled over both groups;
    customers without a pre-period value keep Y (X set to its mean). Welch standard errors.
    """
    for col in (outcome, covariate, group):
        if col not in frame.columns:
            raise DataError(f"cuped_difference: column {col!r} not found")
    d = frame[frame[outcome].notna()]
    y = d[outcome].to_numpy(dtype=float)
    x = d[covariate].to_numpy(dtype=float, na_value=np.nan)
    is_p = (d[group] == PILOT).to_numpy()
    n_p, n_c = int(is_p.sum()), int((~is_p).sum())
    if n_p < 2 or n_c < 2:
        raise DataError(f"cuped_difference: need at least 2 customers per group "
                        f"(pilot {n_p}, control {n_c})")
    has = ~np.isnan(x)
    if has.sum() > 2 and np.var(x[has]) > 0:
        theta = float(np.cov(y[has], x[has])[0, 1] / np.var(x[has], ddof=1))
        xc = np.where(has, x - x[has].mean(), 0.0)
    else:
        theta, xc = 0.0, np.zeros_like(y)
    adj = y - theta * xc
    raw, raw_se = _welch(y[is_p], y[~is_p])
    est, se = _welch(adj[is_p], adj[~is_p])
    z = z_value(level)
    reduction = 1 - float(np.var(adj, ddof=1) / np.var(y, ddof=1)) if np.var(y) > 0 else 0.0
    return CupedResult(est, se, est - z * se, est + z * se, level, raw, raw_se, theta, reduction,
                       n_p, n_c, int(has.sum()))


def _cluster_mean_var(y: np.ndarray, clusters: np.ndarray) -> float:
    """Variance of a mean with cluster-robust (CR1) correction G / (G - 1)."""
    dev = pd.Series(y - y.mean()).groupby(clusters).sum().to_numpy()
    g = len(dev)
    return float((dev**2).sum() / len(y) ** 2 * g / max(g - 1, 1))


def nps_difference(responses: pd.DataFrame, groups: pd.Series,
                   start: str | pd.Timestamp | None = None, end: str | pd.Timestamp | None = None, level: float = 0.95) -> pd.DataFrame:
    """NPS of pilot and control (points) and their difference with intervals.

    Answers (``nps`` 0-10) from ``start`` to ``end``; each answer scores +100 promoter,
    0 passive, -100 detractor, so NPS is a mean and its variance is clustered by customer
    (one customer's answers are not independent). Rows: pilot, control, difference.
    """
    r = responses[responses["nps"].notna() & responses["customer_id"].isin(groups.index)]
    if start is not None:
        r = r[r["response_date"] >= pd.Timestamp(start)]
    if end is not None:
        r = r[r["response_date"] < pd.Timestamp(end)]
    g = r["customer_id"].map(groups).to_numpy()
    s = r["nps"].astype(float).to_numpy()
    score = 100.0 * ((s >= 9).astype(float) - (s <= 6).astype(float))
    z = z_value(level)
    rows, var = [], {}
    for name in (PILOT, CONTROL):
        m = g == name
        if not m.any():
            raise DataError(f"nps_difference: no NPS answers from the {name} group in the period")
        cl = r["customer_id"].to_numpy()[m]
        var[name] = _cluster_mean_var(score[m], cl)
        est = float(score[m].mean())
        rows.append({"group": name, "nps": est, "ci_low": est - z * np.sqrt(var[name]),
                     "ci_high": est + z * np.sqrt(var[name]), "n": int(m.sum()),
                     "customers": int(len(set(cl)))})
    diff = rows[0]["nps"] - rows[1]["nps"]
    se = float(np.sqrt(var[PILOT] + var[CONTROL]))
    rows.append({"group": "difference", "nps": diff, "ci_low": diff - z * se,
                 "ci_high": diff + z * se, "n": rows[0]["n"] + rows[1]["n"],
                 "customers": rows[0]["customers"] + rows[1]["customers"]})
    out = pd.DataFrame(rows)
    out["small_sample"] = out["n"] < 30
    return out


@dataclass(repr=False)
class RandomisationResult(Result):
    """Randomisation (permutation) test of the pilot - control difference of means."""

    observed: float
    p_value: float
    null: np.ndarray
    n_permutations: int
    exact: bool
    n_pilot: int
    n_control: int

    level: float = 0.95

    def null_range(self) -> tuple[float, float]:
        """The central ``level`` range of the re-assigned differences (no effect)."""
        lo, hi = np.quantile(self.null, [0.5 - self.level / 2, 0.5 + self.level / 2])
        return float(lo), float(hi)

    def summary(self) -> pd.DataFrame:
        """One row: observed difference, p, the central range of the null, re-assignments, n."""
        lo, hi = self.null_range()
        return pd.DataFrame([{"observed": self.observed, "p_value": self.p_value,
                              "null_low": lo, "null_high": hi,
                              "n_permutations": self.n_permutations, "exact": self.exact,
                              "n_pilot": self.n_pilot, "n_control": self.n_control}])

    def headline(self) -> str:
        how = "all" if self.exact else "random"
        lo, hi = self.null_range()
        return (f"Randomisation test: difference {self.observed:+.4g}, two-sided p = "
                f"{self.p_value:.3g} ({how} {self.n_permutations:,} re-assignments, central "
                f"{self.level:.0%} interval without an effect {lo:+.4g} to {hi:+.4g}; "
                f"n = {self.n_pilot} pilot, {self.n_control} control)")

    def plot(self) -> go.Figure:
        fig = go.Figure(go.Histogram(x=self.null, nbinsx=40, marker_color="#8c8c8c",
                                     name="re-assigned"))
        fig.add_vline(x=self.observed, line_color="#c23b3b", annotation_text="observed")
        style(fig, showlegend=False,
              title=f"Observed difference vs {self.n_permutations:,} random "
                    f"re-assignments: p = {self.p_value:.3f}",
              xaxis_title="pilot - control difference", yaxis_title="re-assignments")
        return fig


def randomisation_test(frame: pd.DataFrame, outcome: str = "post", group: str = "group",
                       strata: str | None = None, n_permutations: int = 2000,
                       seed: int = 0) -> RandomisationResult:
    """Fisher randomisation test of no effect for any customer (difference of means).

    Re-assigns the pilot label as the design did (within ``strata`` when given) and counts
    re-assignments at least as extreme: p = (1 + #extreme) / (1 + B) (Phipson & Smyth
    2010). Without strata and with at most ``n_permutations`` possible assignments, every
    assignment is enumerated and p is exact.
    """
    d = frame[frame[outcome].notna()]
    y = d[outcome].to_numpy(dtype=float)
    t = (d[group] == PILOT).to_numpy()
    n, k = len(y), int(t.sum())
    if k == 0 or k == n:
        raise DataError("randomisation_test: need customers in both the pilot and control group")
    if min(k, n - k) < 5:
        warnings.warn(f"randomisation_test: only {min(k, n - k)} customers in the smaller group",
                      SmallSampleWarning, stacklevel=2)
    observed = float(y[t].mean() - y[~t].mean())
    total = y.sum()
    exact = strata is None and math.comb(n, k) <= n_permutations
    if exact:
        idx = np.array(list(combinations(range(n), k)))
        sums = y[idx].sum(axis=1)
    else:
        rng = np.random.default_rng(seed)
        blocks = [np.arange(n)] if strata is None else [
            np.flatnonzero(d[strata].to_numpy() == s) for s in pd.unique(d[strata])]
        sums = np.zeros(n_permutations)
        for b in blocks:
            kb = int(t[b].sum())
            if kb == 0:
                continue
            keys = rng.random((n_permutations, len(b)))
            pick = np.argpartition(keys, kb - 1, axis=1)[:, :kb] if kb < len(b) else \
                np.tile(np.arange(len(b)), (n_permutations, 1))
            sums += y[b][pick].sum(axis=1)
    null = sums / k - (total - sums) / (n - k)
    tol = 1e-12 * max(1.0, abs(observed))
    extreme = int((np.abs(null) >= abs(observed) - tol).sum())
    p = extreme / len(null) if exact else (1 + extreme) / (1 + len(null))
    return RandomisationResult(observed, float(p), null, len(null), exact, k, n - k)
