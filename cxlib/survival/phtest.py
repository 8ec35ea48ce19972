"""Proportional-hazards test as R ``survival::cox.zph`` (survival 3.x).

Grambsch & Therneau (1994, *Biometrika* 81:515) showed that a time-varying coefficient
beta(t) = beta + theta g(t) shows in the Schoenfeld residuals. ``cox.zph`` in survival 3.x
(Therneau's documentation of ``cox.zph``; source ``cox.zph.R`` and ``zph1.c``) tests
theta = 0 with the exact score test: one Newton step from the Efron fit of the model with
the added covariates x g(t), with the full 2p x 2p information matrix. This module does
the same:

- risk-set sums and means are Efron-adjusted at tied event times (the deaths at a time
  enter with weights 1/d, 2/d, ..., 1), for the score, the information and the
  Schoenfeld residuals alike;
- g(t) is one of ``km`` (1 minus the left-continuous Kaplan-Meier of all subjects, R's
  default), ``rank`` (average ranks of all times), ``identity`` or ``log``, centred at its
  mean over the events;
- per term: chi-square on the term's columns (a factor's levels together when ``terms``),
  and ``GLOBAL`` on all of them; strata have their own risk sets.

The older approximation (a regression of scaled residuals on g(t) with the average
variance) is not offered: it differs from the score test at tied times and by design.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy import stats

from ..checks import check_option
from ..errors import ModelError
from ..results import Result

__all__ = ["proportional_hazards", "PHTest", "TRANSFORMS"]

TRANSFORMS = {"km": "1 - Kaplan-Meier", "rank": "rank of time", "identity": "time",
              "log": "log time"}
"""Time transforms g(t) of the test, as R ``cox.zph(transform=)``."""


def time_transform(time: np.ndarray, event: np.ndarray, transform: str) -> np.ndarray:
    """g(t) for every subject, not yet centred (R ``cox.zph``'s ``ttimes``)."""
    if transform == "identity":
        return time.astype(float)
    if transform == "rank":
        return stats.rankdata(time)
    if transform == "log":
        if (time <= 0).any():
            raise ModelError("proportional_hazards: the log transform needs durations > 0")
        return np.log(time)
    # km: 1 - S(t-), the Kaplan-Meier of all subjects just before t
    times, inverse = np.unique(time, return_inverse=True)
    deaths = np.bincount(inverse, weights=event, minlength=len(times))
    at_risk = len(time) - np.concatenate([[0], np.cumsum(np.bincount(inverse))[:-1]])
    surv = np.cumprod(1 - deaths / at_risk)
    before = np.concatenate([[1.0], surv])[inverse]   # S at the last time before t
    return 1 - before


def score_pieces(time: np.ndarray, event: np.ndarray, X: np.ndarray, beta: np.ndarray,
                 strata: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                             np.ndarray, np.ndarray]:
    """Score vector u (2p), information (2p x 2p) of the model with x g(t) added, at
    theta = 0, and the Schoenfeld residuals (events ordered by stratum then time), all
    with Efron's weights at ties (R ``zph1.c``). Returns ``u, imat, resid, event_order``."""
    n, p = X.shape
    Xc = X - X.mean(axis=0)                  # centred for stability, as zph1.c
    eta = Xc @ beta
    u = np.zeros(2 * p)
    imat = np.zeros((2 * p, 2 * p))
    resid, order_ev = [], []
    for code in np.unique(strata):
        idx = np.flatnonzero(strata == code)
        idx = idx[np.argsort(time[idx], kind="stable")]
        t, d, x, gg = time[idx], event[idx] == 1, Xc[idx], g[idx]
        if not d.any():
            continue
        risk = np.exp(eta[idx] - eta[idx].max())
        # risk-set sums at each distinct time: everyone with time >= t
        times, first = np.unique(t, return_index=True)
        grp = np.searchsorted(times, t)

        def at_risk(v: np.ndarray) -> np.ndarray:
            return np.cumsum(v[::-1])[::-1][first]

        def at_death(v: np.ndarray) -> np.ndarray:
            return np.bincount(grp, weights=v * d, minlength=len(times))

        nd = at_death(np.ones(len(t))).astype(int)
        keep = nd > 0
        # one Efron slot per event: the deaths at the time enter with weight 1 - l / d
        k = np.repeat(np.flatnonzero(keep), nd[keep])
        starts = np.repeat(np.cumsum(nd[keep]) - nd[keep], nd[keep])
        frac = (np.arange(len(k)) - starts) / nd[k]
        den = at_risk(risk)[k] - frac * at_death(risk)[k]
        mean = np.column_stack([(at_risk(risk * x[:, a])[k] - frac * at_death(risk * x[:, a])[k])
                                / den for a in range(p)])
        gk = gg[first][k]
        xsum_d = np.column_stack([at_death(x[:, a]) for a in range(p)])
        u[:p] += xsum_d.sum(axis=0) - mean.sum(axis=0)
        u[p:] += gg[first] @ xsum_d - gk @ mean
        info = np.zeros((3, p, p))           # sums of V, g V and g^2 V over the slots
        for a in range(p):
            for b in range(a + 1):
                xx = risk * x[:, a] * x[:, b]
                v = (at_risk(xx)[k] - frac * at_death(xx)[k]) / den - mean[:, a] * mean[:, b]
                info[:, a, b] = info[:, b, a] = [v.sum(), gk @ v, (gk ** 2) @ v]
        imat += np.block([[info[0], info[1]], [info[1], info[2]]])
        # Schoenfeld residuals: x minus the mean of the Efron means at that time
        slot_mean = np.zeros((len(times), p))
        np.add.at(slot_mean, k, mean)
        slot_mean[keep] /= nd[keep][:, None]
        dead = np.flatnonzero(d)
        resid.append(x[dead] - slot_mean[grp[dead]])
        order_ev.append(idx[dead])
    return u, imat, np.vstack(resid), np.concatenate(order_ev)


def zph(time: np.ndarray, event: np.ndarray, X: np.ndarray, beta: np.ndarray,
        strata: np.ndarray | None, terms: dict[str, list[int]], transform: str = "km"
        ) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """R's ``cox.zph`` table (term, chisq, df, p_value; last row ``GLOBAL``), the scaled
    Schoenfeld residuals per design column (R's ``y`` with ``terms=FALSE``) and each
    event's ``time`` and ``g`` (R's ``time`` and ``x``), events by stratum then time."""
    check_option("transform", transform, TRANSFORMS, where="proportional_hazards")
    time = np.asarray(time, dtype=float)
    event = np.asarray(event).astype(int)
    X = np.asarray(X, dtype=float)
    beta = np.asarray(beta, dtype=float)
    strata = np.zeros(len(time), dtype=int) if strata is None else np.unique(
        np.asarray(strata).astype(str), return_inverse=True)[1]
    p = X.shape[1]
    g = time_transform(time, event, transform)
    g = g - g[event == 1].mean()
    u, imat, resid, ev = score_pieces(time, event, X, beta, strata, g)
    rows = []
    for name, cols in list(terms.items()) + [("GLOBAL", list(range(p)))]:
        kk = list(range(p)) + [p + c for c in cols]
        uu = np.concatenate([np.zeros(p), u[p:][cols]])
        chisq = float(uu @ np.linalg.solve(imat[np.ix_(kk, kk)], uu))
        rows.append({"term": name, "chisq": chisq, "df": len(cols),
                     "p_value": float(stats.chi2.sf(chisq, len(cols)))})
    table = pd.DataFrame(rows)
    # scaled residuals (R's zph$y with terms=FALSE): per stratum, the information per event
    # over the covariates that vary there, plus beta
    codes = strata[ev]
    used = np.zeros((len(np.unique(strata)), p))
    for i, code in enumerate(np.unique(strata)):
        inside = strata == code
        varies = X[inside].max(axis=0) > X[inside].min(axis=0)
        used[i] = varies * (event[inside] == 1).sum()
    wt = sum(np.minimum.outer(row, row) for row in used)
    vmean = imat[:p, :p] / np.where(wt == 0, 1, wt)
    scaled = np.full_like(resid, np.nan)
    for i, code in enumerate(np.unique(strata)):
        rows_s = codes == code
        k = used[i] > 0
        if k.any() and rows_s.any():
            scaled[np.ix_(rows_s, k)] = np.linalg.solve(vmean[np.ix_(k, k)],
                                                        resid[np.ix_(rows_s, k)].T).T
    scaled += beta
    events = pd.DataFrame({"time": time[ev], "g": time_transform(time, event, transform)[ev]})
    return table, scaled, events


@dataclass(repr=False)
class PHTest(Result):
    """Test of proportional hazards (R ``cox.zph``): ``table`` has ``term, chisq, df,
    p_value`` with a last row ``GLOBAL``; ``residuals`` the scaled Schoenfeld residuals
    (beta(t) estimates, one column per design column, one row per event) and ``event_times``
    each event's ``time`` and ``g`` = g(t)."""

    table: pd.DataFrame
    residuals: pd.DataFrame
    event_times: pd.DataFrame
    transform: str
    n: int
    events: int

    def summary(self) -> pd.DataFrame:
        return self.table.assign(transform=self.transform)

    def headline(self) -> str:
        terms = self.table[self.table["term"] != "GLOBAL"]
        glob = self.table.iloc[-1]
        worst = terms.loc[terms["p_value"].idxmin()]
        verdict = ("no term rejects proportional hazards at 5%" if worst["p_value"] >= 0.05
                   else f"{worst['term']} changes over time")
        return (f"proportional hazards (score test, g(t) = {TRANSFORMS[self.transform]}): "
                f"{verdict}; smallest p = {worst['p_value']:.3g} ({worst['term']}), global "
                f"chi2 = {glob['chisq']:.2f} on {int(glob['df'])} df, p = {glob['p_value']:.3g}"
                f"; no interval: a test; n = {self.n:,}, events = {self.events:,}")

    def plot(self, column: str | None = None) -> go.Figure:
        """Scaled Schoenfeld residuals (beta(t)) of one design column against g(t), with a
        running mean; a flat line means a constant hazard ratio. Default: the column whose
        term has the smallest p."""
        from ..plots import style

        cols = list(self.residuals.columns)
        if column is None:
            terms = self.table[self.table["term"] != "GLOBAL"]
            worst = terms.loc[terms["p_value"].idxmin(), "term"]
            column = next((c for c in cols if c == worst or c.startswith(f"{worst}[")), cols[0])
        check_option("column", column, cols, where="PHTest.plot")
        order = np.argsort(self.event_times["g"].to_numpy(), kind="stable")
        x = self.event_times["g"].to_numpy()[order]
        y = self.residuals[column].to_numpy()[order]
        width = max(5, len(y) // 10)
        smooth = pd.Series(y).rolling(width, center=True, min_periods=1).mean()
        fig = go.Figure([go.Scatter(x=x, y=y, mode="markers", name="scaled residual",
                                    marker=dict(size=4, opacity=0.5)),
                         go.Scatter(x=x, y=smooth, mode="lines", name="running mean")])
        return style(fig, title=f"beta(t) of {column}",
                     xaxis_title=TRANSFORMS[self.transform],
                     yaxis_title="coefficient (log hazard ratio)")


def proportional_hazards(fit, transform: str = "km", terms: bool = True) -> PHTest:
    """R ``cox.zph(fit, transform, terms)`` for a :class:`~cxlib.survival.CoxResult`.

    ``terms=True`` tests each covariate as a whole (a categorical one on all its levels,
    df = levels - 1); ``False`` tests each design column (R ``terms=FALSE``).
    """
    d = fit.fit_data
    names = fit.design_columns
    groups = fit.terms if terms else {n: [n] for n in names}
    index = {n: i for i, n in enumerate(names)}
    cols = {t: [index[c] for c in cs] for t, cs in groups.items()}
    table, resid, events = zph(d["time"], d["event"], d["X"], d["beta"], d["strata"], cols,
                               transform)
    return PHTest(table, pd.DataFrame(resid, columns=names), events, transform, fit.n,
                  fit.events)
