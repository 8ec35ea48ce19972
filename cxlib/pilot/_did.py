"""Difference-in-differences of any panel: two-way fixed effects, clusters, event study.

:func:`did` fits ``y ~ unit FE + period FE + treated x post`` by OLS (or, with
``unit_effects=False``, ``y ~ treated + period FE + treated x post``) with standard
errors clustered by any column (CR1, Cameron & Miller 2015). Periods are calendar
months of a date column, integers (years, waves) or ordered labels. The event study
replaces ``treated x post`` by one term per (binned) period relative to the start, the
period just before it being the reference; the pre-trend check is the joint Wald test
that all pre-start terms are zero, plus the treated-minus-control slope over the
pre-period.

Every regressor is a function of the cell (group x period x before/after), so the fit
works on cell counts and sums, and unit effects are absorbed by the within
transformation through a sparse unit-by-cell count table (Frisch-Waugh-Lovell): no
N x K design matrix (20M customer-months x 40 columns = 6 GB).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy import sparse, stats

from ..errors import DataError, ModelError, ParameterError, SmallSampleWarning, StatisticalWarning
from ..intervals import z_value
from ..plots import number_format, style
from ..results import Result, ci_text
from ._groups import CONTROL, PILOT

__all__ = ["did", "DiDResult", "month_index"]

MIN_CLUSTERS = 30
"""Fewer treated clusters than this: cluster-robust SEs are unreliable (warned)."""

_CHUNK = 200_000
"""Units per block when absorbing unit effects (bounds memory at 1M+ units)."""


def month_index(when: pd.Series) -> np.ndarray:
    """Months since year 0 (integer), for calendar-month arithmetic."""
    w = pd.DatetimeIndex(when)
    return (w.year * 12 + w.month - 1).to_numpy()


@dataclass(repr=False)
class DiDResult(Result):
    """Difference-in-differences estimate with its event study and pre-trend check."""

    kpi: str
    unit: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    level: float
    n_obs: int
    n_pilot: int
    n_control: int
    cells: pd.DataFrame
    """Observations and mean per group x period (pre/post): the raw 2x2 table."""
    event_study: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Per relative period: estimate, se, ci_low, ci_high (reference period is 0 by definition)."""
    pretrend_p: float = np.nan
    pretrend_chi2: float = np.nan
    pretrend_df: int = 0
    pre_slope: float = np.nan
    pre_slope_ci: tuple[float, float] = (np.nan, np.nan)
    bin: int = 1
    """Periods per event-study bin."""
    period: str = "month"
    """What one period is: "month", "quarter", "year" (dates) or the time column's name."""
    unit_name: str = "customer"
    n_clusters: int = 0
    method: str = ("OLS y ~ pilot + month FE + pilot x post, SE clustered by customer")

    @property
    def small_sample(self) -> bool:
        return self.n_pilot < MIN_CLUSTERS

    def summary(self) -> pd.DataFrame:
        """One row: the headline numbers."""
        return pd.DataFrame([{
            "kpi": self.kpi, "estimate": self.estimate, "se": self.se, "ci_low": self.ci_low,
            "ci_high": self.ci_high, "p_value": self.p_value, "pretrend_p": self.pretrend_p,
            "n_obs": self.n_obs, "n_pilot_customers": self.n_pilot,
            "n_control_customers": self.n_control, "small_sample": self.small_sample}])

    def headline(self) -> str:
        return (f"{self.kpi}: pilot effect {self.estimate:+.4g} ({self.unit}), "
                f"{ci_text(self.ci_low, self.ci_high, self.level, '+.4g')}, "
                f"p={self.p_value:.3g}; "
                f"n = {self.n_obs:,} observations from {self.n_pilot:,} pilot and "
                f"{self.n_control:,} control {self.unit_name}s; pre-trend Wald "
                f"p={self.pretrend_p:.3g} (chi2={self.pretrend_chi2:.2f}, df={self.pretrend_df}); "
                f"method: {self.method}")

    def plot(self) -> go.Figure:
        es = self.event_study
        fig = go.Figure()
        if not es.empty:
            fig.add_trace(go.Scatter(
                x=es["period"], y=es["estimate"], mode="markers+lines",
                error_y=dict(type="data", symmetric=False, array=es["ci_high"] - es["estimate"],
                             arrayminus=es["estimate"] - es["ci_low"], color="#333"),
                customdata=es[["n_pilot"]].to_numpy(),
                hovertemplate=f"period %{{x}}: %{{y:{number_format(es[['ci_low', 'ci_high']])}}} "
                              "(pilot n=%{customdata[0]:,})<extra></extra>",
                name="pilot - control"))
        fig.add_hline(y=0, line_color="#888")
        fig.add_vline(x=-0.5, line_dash="dot", line_color="#c23b3b",
                      annotation_text="pilot start")
        verdict = ("no sign of a pre-trend" if not self.pretrend_p < 0.05 else
                   "pre-trends differ: read the DiD with care")
        style(
            fig, showlegend=False,
            title=f"{self.kpi}: effect {self.estimate:+.3g} [{self.ci_low:+.3g}, "
                  f"{self.ci_high:+.3g}]; {verdict} (p={self.pretrend_p:.2f})",
            xaxis_title=f"periods of {self.bin} {self.period}(s) since the pilot start "
                        f"(reference: -1)",
            yaxis_title=f"pilot minus control, {self.unit} ({self.level:.0%} CI)")
        return fig


# -- the cell-based fit --------------------------------------------------------------------

@dataclass(frozen=True)
class _Fit:
    """OLS coefficients and their cluster-robust covariance (CR1)."""

    params: np.ndarray
    cov: np.ndarray

    @property
    def bse(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    def cov_params(self) -> np.ndarray:
        return self.cov


def _fit(y: np.ndarray, cell: np.ndarray, x_cell: np.ndarray, clusters: np.ndarray,
         units: np.ndarray | None = None) -> _Fit:
    """OLS of ``y`` on regressors that are constant within cells, SE clustered.

    Row ``c`` of ``x_cell`` holds the regressors of cell ``c``. The normal equations need
    only the count and the sum of ``y`` per cell, and each cluster's score
    sum_i x_i e_i = sum_c x_c (sum of its residuals in cell c): a sparse cluster-by-cell
    table of residual sums. Same estimates and CR1 covariance as statsmodels'
    ``OLS(...).fit(cov_type="cluster")`` (G/(G-1) (N-1)/(N-K); tested).

    ``units`` (integer codes) adds unit fixed effects by the within transformation:
    X'MX = X'X - sum_u (sum of x over u)(sum of x over u)' / n_u from a sparse unit-by-cell
    count table, in blocks of units. K then counts the columns of ``x_cell`` only when the
    units are nested in the clusters (Stata's xtreg/reghdfe, fixest's default), else the
    units too.
    """
    n_cells = len(x_cell)
    count = np.bincount(cell, minlength=n_cells).astype(float)
    xtx = x_cell.T @ (count[:, None] * x_cell)
    xty = x_cell.T @ np.bincount(cell, weights=y, minlength=n_cells)
    codes = pd.factorize(clusters)[0]
    n_groups = int(codes.max()) + 1
    n, k = len(y), x_cell.shape[1]
    if units is not None:
        n_units = int(units.max()) + 1
        table = sparse.csr_matrix((np.ones(n), (units, cell)), shape=(n_units, n_cells))
        n_u = np.bincount(units, minlength=n_units).astype(float)
        y_bar = np.bincount(units, weights=y, minlength=n_units) / n_u
        for lo in range(0, n_units, _CHUNK):
            block = slice(lo, lo + _CHUNK)
            sums = np.asarray(table[block] @ x_cell)          # units x K: sum of x per unit
            xtx -= sums.T @ (sums / n_u[block, None])
            xty -= sums.T @ y_bar[block]
    try:
        beta = np.linalg.solve(xtx, xty)
        bread = np.linalg.inv(xtx)
    except np.linalg.LinAlgError as exc:
        raise ModelError(f"difference-in-differences cannot be fitted: {exc}") from None
    if np.linalg.cond(xtx) > 1e12:
        raise ModelError("difference-in-differences cannot be fitted: the regressors are "
                         "collinear (a period or a group has too few observations)")
    fitted = (x_cell @ beta)[cell]
    resid = y - fitted
    if units is not None:
        f_bar = np.bincount(units, weights=fitted, minlength=n_units) / n_u
        resid -= (y_bar - f_bar)[units]
    score = np.asarray(sparse.csr_matrix((resid, (codes, cell)), shape=(n_groups, n_cells))
                       @ x_cell)                              # clusters x K
    if units is not None:
        first = np.zeros(n_units, dtype=codes.dtype)
        first[units] = codes
        if not (first[units] == codes).all():                 # units not nested in clusters
            by_unit = sparse.csc_matrix((resid, (codes, units)), shape=(n_groups, n_units))
            for lo in range(0, n_units, _CHUNK):
                block = slice(lo, lo + _CHUNK)
                means = np.asarray(table[block] @ x_cell) / n_u[block, None]
                score -= np.asarray(by_unit[:, block] @ means)
            k += n_units
    scale = n_groups / max(n_groups - 1, 1) * (n - 1) / max(n - k, 1)
    return _Fit(beta, scale * bread @ (score.T @ score) @ bread)


def _dummies(codes: np.ndarray, k: int) -> np.ndarray:
    """One-hot columns for levels 1..k-1 (level 0 is the reference)."""
    out = np.zeros((len(codes), max(k - 1, 0)))
    rows = np.flatnonzero(codes > 0)
    out[rows, codes[rows] - 1] = 1.0
    return out


# -- reading the inputs --------------------------------------------------------------------

@dataclass(frozen=True)
class _Time:
    """Periods as integers on one scale: ``index`` per row, the start, the data's step."""

    index: np.ndarray
    start: int
    step: int
    name: str
    post: np.ndarray


def _label(column: str) -> str:
    return column[:-3] if column.endswith("_id") else column


def _time(values: pd.Series, column: str, start, post_col: pd.Series | None) -> _Time:
    """Period index of each row: calendar months (dates), the integers, or label ranks."""
    if pd.api.types.is_datetime64_any_dtype(values):
        index = month_index(values)
        kind = "date"
    elif pd.api.types.is_bool_dtype(values):
        raise DataError(f"time column {column!r} holds true/false values, not periods")
    elif pd.api.types.is_numeric_dtype(values):
        v = values.to_numpy(dtype=float)
        if not np.all(v == np.round(v)):
            bad = np.flatnonzero(v != np.round(v))[:5]
            raise DataError(f"time column {column!r}: periods must be whole numbers (rows "
                            f"{', '.join(str(i + 1) for i in bad)})")
        index, kind = v.astype(np.int64), "integer"
    else:
        cat = (values.cat.categories if isinstance(values.dtype, pd.CategoricalDtype)
               and values.cat.ordered else pd.Index(sorted(values.astype(str).unique())))
        index = cat.get_indexer(values.astype(str) if not isinstance(
            values.dtype, pd.CategoricalDtype) else values)
        kind = "label"
    levels = np.unique(index)
    step = int(np.gcd.reduce(np.diff(levels))) if len(levels) > 1 else 1
    if post_col is not None:
        post = _flags(post_col, "post")
        per = pd.DataFrame({"t": index, "p": post}).groupby("t")["p"]
        mixed = per.nunique()
        if (mixed > 1).any():
            where = _values(values[np.isin(index, mixed.index[mixed > 1])])
            raise DataError(f"post differs within period(s) {where}: staggered starts are "
                            "not supported (one start for all units)")
        first_post = per.first()
        if not first_post.any() or first_post.all():
            raise DataError("post: need periods both before and after the start")
        after = first_post.index[first_post.to_numpy()]
        if (first_post.index[~first_post.to_numpy()] > after.min()).any():
            raise DataError("post: once post is 1 it must stay 1 in later periods")
        start_index = int(after.min())
    elif kind == "date":
        start = pd.Timestamp(start) if not isinstance(start, (int, np.integer)) else start
        if not isinstance(start, pd.Timestamp):
            raise ParameterError(f"time column {column!r} holds dates: start must be a date, "
                                 f"got {start!r}")
        post = np.asarray(values >= start)
        start_index = int(month_index(pd.Series([start]))[0])
    elif kind == "integer":
        if isinstance(start, bool) or not isinstance(start, (int, np.integer, float)) \
                or start != int(start):
            raise ParameterError(f"time column {column!r} holds integer periods: start must be "
                                 f"an integer (e.g. a year), got {start!r}")
        start_index = int(start)
        post = index >= start_index
    else:
        labels = cat
        if str(start) not in set(labels.astype(str)):
            raise ParameterError(f"start {start!r} is not a period of {column!r} "
                                 f"({_values(pd.Series(labels))})")
        start_index = int(list(labels.astype(str)).index(str(start)))
        post = index >= start_index
    if kind == "date":
        name = {1: "month", 3: "quarter", 12: "year"}.get(step, f"{step}-month period")
    else:
        name = _label(column)
    return _Time(np.asarray(index, dtype=np.int64), start_index, step, name, np.asarray(post))


def _values(values: pd.Series, limit: int = 5) -> str:
    uniq = pd.unique(values.dropna())
    shown = ", ".join(repr(v) for v in uniq[:limit])
    return shown + (f" and {len(uniq) - limit} more" if len(uniq) > limit else "")


def _flags(values: pd.Series, name: str, true_value=None) -> np.ndarray:
    """0/1, true/false or labelled values as booleans (``true_value`` names the 1)."""
    if true_value is not None:
        if not (values == true_value).any():
            raise DataError(f"{name}: no rows equal {true_value!r} (values: {_values(values)})")
        return (values == true_value).to_numpy()
    if pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype=bool)
    uniq = set(pd.unique(values.dropna()))
    if pd.api.types.is_numeric_dtype(values) and uniq <= {0, 1}:
        return (values == 1).to_numpy()
    if uniq <= {PILOT, CONTROL}:
        return (values == PILOT).to_numpy()
    raise DataError(f"{name}: values {_values(values)} are not 0/1, true/false or "
                    f"{PILOT!r}/{CONTROL!r}; say which value is treated with treated_value=")


def did(frame: pd.DataFrame, *, unit: str, time: str, outcome: str, treated: str | pd.Series,
        start=None, post: str | None = None, cluster: str | None = None,
        unit_effects: bool = True, first=None, end=None, treated_value=None, bin: int = 1,
        level: float = 0.95, event_study: bool = True, kpi: str | None = None,
        kpi_unit: str = "") -> DiDResult:
    """Difference-in-differences of ``outcome`` between treated and comparison units.

    ``time``: dates (calendar months are the periods), integer periods (years, waves) or
    labels (their sorted order, or an ordered categorical's). ``treated``: a column or a
    Series by unit of 0/1, true/false, "pilot"/"control", or labels with
    ``treated_value``; constant within a unit. The start: ``start`` (a value of the time
    scale; rows at or after it are post) or ``post`` (a 0/1 column, a function of the
    period). ``first``/``end``: window on ``time`` (end exclusive). ``cluster``: any
    column, units nested or not (default: ``unit``).

    ``unit_effects=True``: two-way fixed effects ``y ~ unit FE + period FE + treated x
    post`` (as R's ``plm(effect="twoways")``, fixest ``feols(y ~ D | unit + period)``);
    ``False``: ``y ~ treated + period FE + treated x post``. CR1 standard errors
    G/(G-1) (N-1)/(N-K), K without unit effects nested in the clusters; normal intervals.
    The event study has one term per ``bin`` periods of the data's own step (monthly,
    quarterly, yearly dates; gaps between integer periods). Tested against R (sandwich,
    plm) on the Produc panel, ``tests/reference/did``.
    """
    kpi = outcome if kpi is None else kpi
    if (start is None) == (post is None):
        raise ParameterError("did: give exactly one of start= (first treated period) or post= "
                             "(a 0/1 column)")
    if not (isinstance(bin, (int, np.integer)) and bin >= 1):
        raise ParameterError(f"bin must be a whole number of periods >= 1, got {bin!r}")
    cols = [unit, time, outcome] + [c for c in (post, cluster) if c is not None]
    if isinstance(treated, str):
        cols.append(treated)
    missing = [c for c in dict.fromkeys(cols) if c not in frame.columns]
    if missing:
        raise DataError(f"{kpi}: observations need column(s) {', '.join(map(repr, missing))} "
                        f"(have {', '.join(map(str, frame.columns[:12]))})")
    data = frame.reset_index(drop=True)
    y_all = pd.to_numeric(data[outcome], errors="coerce")
    bad = y_all.isna() & data[outcome].notna()
    if bad.any():
        raise DataError(f"{kpi}: outcome {outcome!r} has {int(bad.sum())} values that are not "
                        f"numbers (rows {', '.join(str(i + 1) for i in np.flatnonzero(bad)[:5])})")
    if isinstance(treated, pd.Series):
        label = pd.Series(treated.reindex(data[unit]).to_numpy(), index=data.index)
        name = "treated"
    else:
        label, name = data[treated], treated
    keep = y_all.notna() & label.notna() & data[time].notna()
    if first is not None:
        keep &= data[time] >= (pd.Timestamp(first) if pd.api.types.is_datetime64_any_dtype(
            data[time]) else first)
    if end is not None:
        keep &= data[time] < (pd.Timestamp(end) if pd.api.types.is_datetime64_any_dtype(
            data[time]) else end)
    data, label = data[keep.to_numpy()], label[keep.to_numpy()]
    if data.empty:
        raise DataError(f"{kpi}: no observations with an outcome, a group and a period "
                        "in the window")
    if cluster is not None and data[cluster].isna().any():
        rows = np.flatnonzero(data[cluster].isna().to_numpy())[:5]
        raise DataError(f"{kpi}: cluster column {cluster!r} is missing in rows "
                        f"{', '.join(str(i + 1) for i in rows)}")
    is_treated = _flags(label, name, treated_value)
    y = y_all[keep.to_numpy()].to_numpy(dtype=float)
    unit_codes, _ = pd.factorize(data[unit])
    first_flag = np.zeros(int(unit_codes.max()) + 1, dtype=bool)
    first_flag[unit_codes] = is_treated
    mixed = first_flag[unit_codes] != is_treated
    if mixed.any():
        who = pd.unique(data[unit].to_numpy()[np.isin(unit_codes, unit_codes[mixed])])
        raise DataError(f"{kpi}: treatment differs within {_label(unit)} "
                        f"{_values(pd.Series(who))}; it must be constant per unit")
    t = _time(data[time], time, start, data[post] if post is not None else None)
    treated_f = is_treated.astype(float)
    after = t.post
    _check_identified(kpi, is_treated, after, unit_codes, unit_effects, start)
    clusters = unit_codes if cluster is None else pd.factorize(data[cluster])[0]
    p_codes, p_levels = pd.factorize(t.index, sort=True)
    # cells: group x period x before/after; every regressor is a function of them
    cell_key = (treated_f.astype(np.int64) * len(p_levels) + p_codes) * 2 + after
    cell_ids, cell = np.unique(cell_key, return_inverse=True)
    cells = _Cells(cell, (cell_ids // 2 // len(p_levels)).astype(float),
                   (cell_ids // 2) % len(p_levels), (cell_ids % 2).astype(float), p_levels)
    units = unit_codes if unit_effects else None
    period_fe = _dummies(cells.period, len(p_levels))
    base = (period_fe if unit_effects else
            np.column_stack([np.ones(len(cell_ids)), cells.treated, period_fe]))
    res = _fit(y, cell, np.column_stack([base, cells.treated * cells.post]), clusters, units)
    b, se = float(res.params[-1]), float(res.bse[-1])
    z = z_value(level)
    n_pilot = int(len(np.unique(unit_codes[is_treated])))
    n_control = int(len(np.unique(unit_codes[~is_treated])))
    rows = []
    for group, flag in ((CONTROL, False), (PILOT, True)):
        for period, mask in (("after", after), ("before", ~after)):
            sel = (is_treated == flag) & mask
            rows.append({"group": group, "period": period, "n": int(sel.sum()),
                         "mean": float(y[sel].mean())})
    cl_name = _label(unit) if cluster is None else _label(cluster)
    method = (f"OLS y ~ {'unit FE' if unit_effects else 'pilot'} + {t.name} FE + pilot x post"
              f"{' (two-way fixed effects)' if unit_effects else ''}, SE clustered by {cl_name}")
    result = DiDResult(kpi, kpi_unit, b, se, b - z * se, b + z * se,
                       float(2 * stats.norm.sf(abs(b / se))) if se > 0 else np.nan, level,
                       len(y), n_pilot, n_control, pd.DataFrame(rows), bin=int(bin),
                       period=t.name, unit_name=_label(unit),
                       n_clusters=int(clusters.max()) + 1, method=method)
    n_treated_clusters = len(np.unique(clusters[is_treated]))
    if n_treated_clusters < MIN_CLUSTERS:
        what = f"{_label(unit)}s" if cluster is None else f"{cl_name} clusters"
        warnings.warn(f"{kpi}: only {n_treated_clusters} pilot {what} have observations; "
                      f"cluster-robust intervals are unreliable below {MIN_CLUSTERS}; check with "
                      "randomisation inference", SmallSampleWarning, stacklevel=2)
    if event_study:
        _event_study(result, y, cells, t, base, clusters, units, int(bin), z)
    return result


def _check_identified(kpi, is_treated, after, unit_codes, unit_effects, start):
    """Each group before and after; with unit effects, units seen on both sides."""
    span = {False: "before", True: "after"}
    for group, flag in ((PILOT, True), (CONTROL, False)):
        for side in (False, True):
            if not ((is_treated == flag) & (after == side)).any():
                when = ("" if start is None else f" ({start.date()})"
                        if isinstance(start, pd.Timestamp) else f" ({start!r})")
                raise DataError(f"{kpi}: no observations for the {group} group {span[side]} "
                                f"the pilot start{when}")
        if unit_effects:
            sel = is_treated == flag
            n_after = np.bincount(unit_codes[sel], weights=after[sel])
            n_all = np.bincount(unit_codes[sel])
            if not ((n_after > 0) & (n_after < n_all)).any():
                raise DataError(
                    f"{kpi}: with unit effects the effect is identified by units observed both "
                    f"before and after the start; no {group} unit is (use unit_effects=False "
                    "to compare levels of different units)")


@dataclass(frozen=True)
class _Cells:
    """Each observation's cell and the cells' attributes (group, period code, after start)."""

    of_row: np.ndarray
    treated: np.ndarray
    period: np.ndarray
    post: np.ndarray
    period_levels: np.ndarray


def _event_study(result: DiDResult, y, cells: _Cells, t: _Time, base, clusters, units,
                 bin, z):
    p_c = np.asarray(cells.period_levels)[cells.period]       # period index of each cell
    rel_c = ((p_c - t.start) // t.step) // bin
    rel = rel_c[cells.of_row]
    treated_c = cells.treated
    treated = treated_c[cells.of_row]
    if not ((rel_c == -1) & (treated_c == 1)).any():
        warnings.warn(f"{result.kpi}: no event study: the pilot group has no observations in "
                      f"the {bin} {t.name}(s) just before the start (the reference period)",
                      StatisticalWarning, stacklevel=3)
        return
    levels = np.array(sorted(set(rel_c[treated_c == 1]) - {-1}))
    if len(levels) == 0:
        return
    inter = (rel_c[:, None] == levels[None, :]) * treated_c[:, None]
    res = _fit(y, cells.of_row, np.column_stack([base, inter]), clusters, units)
    k = len(levels)
    b, cov = np.asarray(res.params)[-k:], np.asarray(res.cov_params())[-k:, -k:]
    se = np.sqrt(np.diag(cov))
    n_p = np.array([int(((rel == lv) & (treated == 1)).sum()) for lv in levels])
    es = pd.DataFrame({"period": levels, "estimate": b, "se": se, "ci_low": b - z * se,
                       "ci_high": b + z * se, "n_pilot": n_p})
    ref = pd.DataFrame({"period": [-1], "estimate": [0.0], "se": [0.0], "ci_low": [0.0],
                        "ci_high": [0.0], "n_pilot": [int(((rel == -1) & (treated == 1)).sum())]})
    result.event_study = pd.concat([es, ref]).sort_values("period", ignore_index=True)
    pre = levels < -1
    if pre.any():
        bp, vp = b[pre], cov[np.ix_(pre, pre)]
        chi2 = float(bp @ np.linalg.pinv(vp) @ bp)
        result.pretrend_chi2, result.pretrend_df = chi2, int(pre.sum())
        result.pretrend_p = float(stats.chi2.sf(chi2, int(pre.sum())))
    else:
        warnings.warn(f"{result.kpi}: the pre-trend cannot be tested: the pilot group has only "
                      f"the reference period before the start (bins of {bin} {t.name}(s))",
                      StatisticalWarning, stacklevel=3)
    _pre_slope(result, y, cells, p_c, rel_c, base, clusters, units, z)


def _pre_slope(result, y, cells, p_c, rel_c, base, clusters, units, z):
    """Slope of the pilot-minus-control gap over the pre-period (per period)."""
    before = rel_c[cells.of_row] < 0
    p = p_c[cells.of_row]
    if not (before.sum() > 3 and len(set(p[before])) > 2):
        return
    t_c = (p_c - p[before].mean()).astype(float)
    xs = np.column_stack([base, cells.treated * t_c])
    used = rel_c < 0                 # the cells of the pre-period (a property of the cell)
    cols = xs[used].any(axis=0)
    if units is None:
        cols |= np.arange(xs.shape[1]) == 0
    sub = np.flatnonzero(used)
    remap = np.full(len(rel_c), -1)
    remap[sub] = np.arange(len(sub))
    sub_units = None if units is None else pd.factorize(units[before])[0]
    try:
        r2 = _fit(y[before], remap[cells.of_row[before]], xs[np.ix_(sub, np.flatnonzero(cols))],
                  clusters[before], sub_units)
    except ModelError:
        return
    s, sse = float(r2.params[-1]), float(r2.bse[-1])
    result.pre_slope, result.pre_slope_ci = s, (s - z * sse, s + z * sse)
