"""Concordance (Harrell's C) with R ``survival``'s conventions and its standard error.

As ``concordance()`` in R ``survival`` 3.x (Therneau & Watson 2017; the package vignette
"Concordance"), default time weights (``timewt="n"``):

- a pair is comparable when one subject has an event at time t and the other is still at
  risk after it: a later time, or censored at the same time t (R counts censored-at-t as
  outliving the event at t);
- two events at the same time (``tied_y``) are not comparable and are left out;
- ties in the score (``tied_x``) count one half: C = (concordant + tied_x / 2) /
  (concordant + discordant + tied_x);
- with strata, pairs are formed within a stratum only and the counts are summed;
- the standard error is R's infinitesimal jackknife (``concordance()$var``): the
  variance of Somers' d from each subject's influence on the pair counts, divided by 4.

Pairs are counted in O(n log^2 n) by a vectorised merge sort over the time order, so
100,000 customers take seconds and no sampling is needed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..checks import row_numbers, rows_text
from ..errors import DataError, ModelError, SmallSampleWarning
from ..metrics import z_value
from ..results import Result, ci_text
from .curves import _check_survival

__all__ = ["concordance", "Concordance"]

COUNT_NAMES = ["concordant", "discordant", "tied_x", "tied_y", "tied_xy"]


def _count_before(pos_data: np.ndarray, val_data: np.ndarray, pos_query: np.ndarray,
                  thr_query: np.ndarray) -> np.ndarray:
    """For each query, how many data points come before it (``pos``) with ``val < thr``.

    Values are integers >= 0; positions of data and queries never coincide. Counted level
    by level as in a merge sort: at each level a query in the right half of a block counts
    the data in the left half (a sorted search), so every earlier data point is counted once.
    """
    nd = len(pos_data)
    pos = np.concatenate([pos_data, pos_query])
    order = np.argsort(pos, kind="stable")
    is_query = (np.arange(len(pos)) >= nd)[order]
    value = np.concatenate([val_data, thr_query]).astype(np.int64)[order]
    width = int(value.max(initial=0)) + 1
    k = np.arange(len(pos), dtype=np.int64)
    found = np.zeros(len(pos), dtype=np.int64)
    half = 1
    while half < len(pos):
        block = k // (2 * half)
        right = (k % (2 * half)) >= half
        left_data = ~right & ~is_query
        right_query = right & is_query
        if left_data.any() and right_query.any():
            keys = np.sort(block[left_data] * width + value[left_data])
            base = block[right_query] * width
            found[right_query] += (np.searchsorted(keys, base + value[right_query], "left")
                                   - np.searchsorted(keys, base, "left"))
        half *= 2
    out = np.empty(len(pos), dtype=np.int64)
    out[order] = found
    return out[nd:]


def _first_of_group(sorted_keys: list[np.ndarray]) -> np.ndarray:
    """Position of the first row of each row's run of equal keys (rows already sorted)."""
    n = len(sorted_keys[0])
    new = np.ones(n, dtype=bool)
    if n > 1:
        new[1:] = np.any([k[1:] != k[:-1] for k in sorted_keys], axis=0)
    return np.maximum.accumulate(np.where(new, np.arange(n), 0))


def concordance_counts(time: np.ndarray, event: np.ndarray, score: np.ndarray,
                       strata: np.ndarray | None = None) -> tuple[dict[str, float], float]:
    """Pair counts (R's names, a higher ``score`` = an earlier event is concordant) and the
    infinitesimal-jackknife variance of C, as R ``survival::concordance(..., reverse=TRUE)``."""
    n = len(time)
    time = np.asarray(time, dtype=float)
    dead = np.asarray(event) == 1
    s = np.zeros(n, dtype=np.int64) if strata is None else np.unique(
        np.asarray(strata).astype(str), return_inverse=True)[1].astype(np.int64)
    r = np.unique(np.asarray(score, dtype=float), return_inverse=True)[1].astype(np.int64)
    m = int(r.max(initial=0)) + 1
    value = s * (m + 1) + r                 # stratum first: a range of values is one stratum
    low, high = s * (m + 1), (s + 1) * (m + 1)

    # (a) each event against those at risk after it: later times, or censored at its time
    desc = np.lexsort((dead, -time))        # later first; at one time the censored first
    pos = np.empty(n, dtype=np.int64)
    pos[desc] = np.arange(n)
    start = _first_of_group([time[desc], dead[desc]])[pos]   # first of its (time, status)
    ev = np.flatnonzero(dead)
    q = start[ev] - 0.5
    thresholds = [low[ev], value[ev], value[ev] + 1, high[ev]]
    c = _count_before(pos.astype(float), value, np.tile(q, 4), np.concatenate(thresholds))
    lo, lt, le, hi = c.reshape(4, -1)
    im = np.zeros((n, 3))
    im[ev, 0] = lt - lo                      # the other has a lower score: concordant
    im[ev, 1] = hi - le                      # a higher score: discordant
    im[ev, 2] = le - lt                      # tied score

    # (b) each subject against the events it outlived
    asc = np.lexsort((~dead, time))         # earlier first; at one time the events first
    pos = np.empty(n, dtype=np.int64)
    pos[asc] = np.arange(n)
    start = _first_of_group([time[asc], dead[asc]])[pos]
    q = start - 0.5
    c = _count_before(pos[ev].astype(float), value[ev], np.tile(q, 4),
                      np.concatenate([low, value, value + 1, high]))
    lo, lt, le, hi = c.reshape(4, -1)
    im[:, 0] += hi - le                      # the event had the higher score: concordant
    im[:, 1] += lt - lo
    im[:, 2] += le - lt

    conc, disc, tied_x = im.sum(axis=0) / 2      # each pair was counted for both members
    tied = pd.DataFrame({"s": s[ev], "t": time[ev], "r": r[ev]})
    pairs_y = tied.groupby(["s", "t"]).size()
    pairs_xy = tied.groupby(["s", "t", "r"]).size()
    tied_xy = float((pairs_xy * (pairs_xy - 1) / 2).sum())
    tied_y = float((pairs_y * (pairs_y - 1) / 2).sum()) - tied_xy
    counts = dict(zip(COUNT_NAMES, [float(conc), float(disc), float(tied_x), tied_y, tied_xy]))
    npair = conc + disc + tied_x
    if npair == 0:
        return counts, float("nan")
    somers = (conc - disc) / npair
    dfbeta = (im[:, 0] - im[:, 1]) / npair - somers / npair * im.sum(axis=1)
    return counts, float((dfbeta ** 2).sum() / 4)


@dataclass(repr=False)
class Concordance(Result):
    """Concordance of a score with time to event (R ``survival`` conventions).

    ``estimate`` is C, ``std_err`` its infinitesimal-jackknife standard error, ``counts``
    the pairs by kind (R's ``count``), ``n`` the customers, ``strata`` the stratum column.
    """

    estimate: float
    std_err: float
    counts: dict[str, float]
    n: int
    score: str
    strata: str | None = None
    level: float = 0.95

    def interval(self) -> tuple[float, float]:
        """Normal interval from the standard error at ``level``."""
        z = z_value(self.level)
        return self.estimate - z * self.std_err, self.estimate + z * self.std_err

    def summary(self) -> pd.DataFrame:
        low, high = self.interval()
        return pd.DataFrame([{"score": self.score, "concordance": self.estimate,
                              "std_err": self.std_err, "ci_low": low, "ci_high": high,
                              "n": self.n, **self.counts, "strata": self.strata}])

    def headline(self) -> str:
        low, high = self.interval()
        within = f" within {self.strata}" if self.strata else ""
        return (f"concordance of {self.score} with time to event{within}: {self.estimate:.3f} "
                f"({ci_text(low, high, self.level, '.3f')}, n = {self.n:,}; 0.5 = no better "
                "than chance)")

    def plot(self) -> go.Figure:
        """Comparable pairs by kind (concordant, discordant, tied on the score)."""
        from ..plots import style

        kinds = ["concordant", "discordant", "tied_x"]
        fig = go.Figure(go.Bar(x=[k.replace("_", " ") for k in kinds],
                               y=[self.counts[k] for k in kinds]))
        return style(fig, title=self.headline()[:90],
                     yaxis_title="pairs of customers")


def concordance(frame: pd.DataFrame, score: str, duration: str = "duration",
                event: str = "event", strata: str | None = None, risk_score: bool = True,
                level: float = 0.95) -> Concordance:
    """Harrell's C of ``score`` with time to event, with R ``survival::concordance``'s
    counting of ties and its standard error (see the module docstring).

    ``risk_score=True``: a higher score should mean an earlier event (a risk score or a
    Cox linear predictor; R's ``reverse=TRUE``); ``False``: a higher score should mean a
    longer time (R's default for ``concordance(Surv(time, status) ~ x)``).
    """
    t, e = _check_survival(frame, duration, event, "concordance")
    for col in [score] + ([strata] if strata else []):
        if col not in frame.columns:
            raise DataError(f"concordance: column {col!r} not found")
    raw = frame[score]
    x = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = raw.notna().to_numpy() & ~np.isfinite(x)
    if bad.any():
        raise DataError(f"concordance: column {score!r} must be numeric; {int(bad.sum())} rows "
                        f"are not (rows {rows_text(row_numbers(bad))})")
    ok = np.isfinite(x)
    if strata:
        ok &= frame[strata].notna().to_numpy()
    if not ok.all():
        warnings.warn(f"concordance: {int((~ok).sum()):,} rows with an empty {score!r}"
                      + (f" or {strata!r}" if strata else "") + " are left out",
                      SmallSampleWarning, stacklevel=2)
    if not ok.any() or e[ok].sum() == 0:
        raise ModelError(f"concordance: no events with a numeric {score!r}")
    st = frame.loc[ok, strata].to_numpy() if strata else None
    counts, var = concordance_counts(t[ok], e[ok], x[ok] if risk_score else -x[ok], st)
    npair = counts["concordant"] + counts["discordant"] + counts["tied_x"]
    est = (counts["concordant"] + counts["tied_x"] / 2) / npair if npair else float("nan")
    return Concordance(float(est), float(np.sqrt(var)), counts, int(ok.sum()), score, strata,
                       level)
