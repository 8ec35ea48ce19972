"""Difference-in-differences for a pilot vs a comparison group, with an event study.

The two-way fixed-effects regression ``y ~ pilot + month FE + pilot x post`` by OLS
with standard errors clustered by customer (statsmodels ``cov_type="cluster"``,
Cameron & Miller 2015). The event study replaces ``pilot x post`` by one
``pilot x period`` term per (binned) month relative to the start, the period just
before the start being the reference; the pre-trend check is the joint Wald test
that all pre-start terms are zero, plus the pilot-minus-control slope over the
pre-period months.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy import stats

from ..checks import check_option
from ..engine import touchpoints as events
from ..errors import DataError, ModelError, SmallSampleWarning
from ..plots import TEMPLATE
from ._groups import CONTROL, PILOT
from ..metrics import z_value
from ..results import Result, ci_text

__all__ = ["KPIS", "kpi_observations", "difference_in_differences", "evaluate_pilot",
           "effects_table", "effects_plot",
           "DiDResult", "month_index"]

MIN_CLUSTERS = 30
"""Fewer pilot customers than this: cluster-robust SEs are unreliable (warned)."""


def _transactional_cc(t: dict[str, pd.DataFrame]) -> pd.DataFrame:
    r = t["responses"]
    keep = (r["organisation"] == "contact_centre") & r["csat"].notna()
    if "survey_type" in r.columns:
        keep &= r["survey_type"] == "transactional"
    r = r[keep]
    return pd.DataFrame({"customer_id": r["customer_id"], "when": r["response_date"],
                         "y": r["csat"].astype(float)})


def _nps(t: dict[str, pd.DataFrame]) -> pd.DataFrame:
    r = t["responses"]
    r = r[r["nps"].notna()]
    s = r["nps"].astype(float)
    return pd.DataFrame({"customer_id": r["customer_id"], "when": r["response_date"],
                         "y": 100.0 * ((s >= 9).astype(float) - (s <= 6).astype(float))})


def _nps_0_10(t: dict[str, pd.DataFrame]) -> pd.DataFrame:
    r = t["responses"]
    r = r[r["nps"].notna()]
    return pd.DataFrame({"customer_id": r["customer_id"], "when": r["response_date"],
                         "y": r["nps"].astype(float)})


def _fcr(t: dict[str, pd.DataFrame]) -> pd.DataFrame:
    # first contacts with a known outcome, from the events in memory or in the engine
    return events.contact_observations(t if events.is_pushed_down(t) else t["touchpoints"],
                                       "first_contact_resolution")


def _churn(t: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Customer-months from the month after signup to the churn month (1 = left that month)."""
    c = t["customers"]
    end = t["financials"]["month"].max() if "financials" in t else c["signup_date"].max()
    first = month_index(c["signup_date"]) + 1
    churned = c["churned"].to_numpy(dtype=bool)
    last = np.where(churned, month_index(c["churn_date"].fillna(c["signup_date"])),
                    month_index(pd.Series([end]))[0])
    k = np.clip(last - first + 1, 0, None)
    rep = np.repeat(np.arange(len(c)), k)
    offset = np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k)
    mi = first[rep] + offset
    when = pd.to_datetime(pd.DataFrame({"year": mi // 12, "month": mi % 12 + 1, "day": 1}))
    left = churned[rep] & (offset == k[rep] - 1)
    return pd.DataFrame({"customer_id": c["customer_id"].to_numpy()[rep], "when": when,
                         "y": left.astype(float)})


@dataclass(frozen=True)
class KpiSpec:
    label: str
    unit: str
    extract: Callable[[dict[str, pd.DataFrame]], pd.DataFrame]


KPIS: dict[str, KpiSpec] = {
    "csat_contact_centre": KpiSpec("Contact-centre CSAT", "1-5 scale, transactional answers",
                                   _transactional_cc),
    "nps": KpiSpec("NPS", "NPS points (per answer +100/0/-100)", _nps),
    "nps_0_10": KpiSpec("Likelihood to recommend", "0-10 scale", _nps_0_10),
    "first_contact_resolution": KpiSpec("First-contact resolution",
                                        "share of first contacts resolved", _fcr),
    "churn": KpiSpec("Monthly churn", "share of active customers leaving per month", _churn),
}
"""KPIs the pilot analysis can build from the contract tables."""


def kpi_observations(tables: dict[str, pd.DataFrame], kpi: str) -> pd.DataFrame:
    """Observation-level frame ``customer_id, when, y`` for one of :data:`KPIS`."""
    check_option("kpi", kpi, KPIS)
    return KPIS[kpi].extract(tables).reset_index(drop=True)


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
    bin_months: int = 1
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
                f"{self.n_control:,} control customers; pre-trend Wald p={self.pretrend_p:.3g} "
                f"(chi2={self.pretrend_chi2:.2f}, df={self.pretrend_df}); method: {self.method}")

    def plot(self) -> go.Figure:
        es = self.event_study
        fig = go.Figure()
        if not es.empty:
            fig.add_trace(go.Scatter(
                x=es["period"], y=es["estimate"], mode="markers+lines",
                error_y=dict(type="data", symmetric=False, array=es["ci_high"] - es["estimate"],
                             arrayminus=es["estimate"] - es["ci_low"], color="#333"),
                customdata=es[["n_pilot"]].to_numpy(),
                hovertemplate="period %{x}: %{y:.3g} (pilot n=%{customdata[0]})<extra></extra>",
                name="pilot - control"))
        fig.add_hline(y=0, line_color="#888")
        fig.add_vline(x=-0.5, line_dash="dot", line_color="#c23b3b",
                      annotation_text="pilot start")
        verdict = ("no sign of a pre-trend" if not self.pretrend_p < 0.05 else
                   "pre-trends differ: read the DiD with care")
        fig.update_layout(
            template=TEMPLATE, showlegend=False,
            title=f"{self.kpi}: effect {self.estimate:+.3g} [{self.ci_low:+.3g}, "
                  f"{self.ci_high:+.3g}]; {verdict} (p={self.pretrend_p:.2f})",
            xaxis_title=f"periods of {self.bin_months} month(s) since the pilot start "
                        f"(reference: -1)",
            yaxis_title=f"pilot minus control, {self.unit} ({self.level:.0%} CI)")
        return fig


@dataclass(frozen=True)
class _Fit:
    """OLS coefficients and their cluster-robust covariance (statsmodels' CR1)."""

    params: np.ndarray
    cov: np.ndarray

    @property
    def bse(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    def cov_params(self) -> np.ndarray:
        return self.cov


def _fit(y: np.ndarray, cell: np.ndarray, x_cell: np.ndarray, clusters: np.ndarray) -> _Fit:
    """OLS of ``y`` on regressors that are constant within cells, SE clustered.

    Every regressor of the DiD and its event study is a function of the cell (group x
    calendar month x before/after), row ``c`` of ``x_cell``. The normal equations then need
    only the count and the sum of ``y`` per cell, and each cluster's score
    sum_i x_i e_i = sum_c x_c (sum of its residuals in cell c): a sparse cluster-by-cell
    table of residual sums. Same estimates and the same CR1 covariance as statsmodels'
    ``OLS(...).fit(cov_type="cluster")`` (G/(G-1) (N-1)/(N-K) bread-meat-bread; tested),
    without the N x K design matrix (20M customer-months x 40 columns = 6 GB).
    """
    from scipy import sparse

    n_cells = len(x_cell)
    count = np.bincount(cell, minlength=n_cells).astype(float)
    xtx = x_cell.T @ (count[:, None] * x_cell)
    xty = x_cell.T @ np.bincount(cell, weights=y, minlength=n_cells)
    try:
        bread = np.linalg.inv(xtx)
    except np.linalg.LinAlgError as exc:
        raise ModelError(f"difference-in-differences cannot be fitted: {exc}") from None
    beta = bread @ xty
    resid = y - (x_cell @ beta)[cell]
    codes, n_groups = pd.factorize(clusters)[0], len(np.unique(clusters))
    sums = sparse.csr_matrix((resid, (codes, cell)), shape=(n_groups, n_cells))
    score = np.asarray(sums @ x_cell)                       # clusters x K
    n, k = len(y), x_cell.shape[1]
    scale = n_groups / max(n_groups - 1, 1) * (n - 1) / max(n - k, 1)
    return _Fit(beta, scale * bread @ (score.T @ score) @ bread)


def _dummies(codes: np.ndarray, k: int) -> np.ndarray:
    """One-hot columns for levels 1..k-1 (level 0 is the reference)."""
    out = np.zeros((len(codes), max(k - 1, 0)))
    rows = np.flatnonzero(codes > 0)
    out[rows, codes[rows] - 1] = 1.0
    return out


def difference_in_differences(
    observations: pd.DataFrame, groups: pd.Series, start: str | pd.Timestamp, *,
    pre_months: int = 12, end: str | pd.Timestamp | None = None, bin_months: int = 1,
    level: float = 0.95, kpi: str = "y", unit: str = "", event_study: bool = True,
) -> DiDResult:
    """DiD of ``y`` between pilot and control from observations ``customer_id, when, y``.

    ``groups``: pilot/control label by customer_id (:func:`define_groups`); the window is
    ``pre_months`` before ``start`` to ``end`` (exclusive; default: all data after start).
    Raises :class:`DataError` when a group has no observations before or after the start.
    """
    for col in ("customer_id", "when", "y"):
        if col not in observations.columns:
            raise DataError(f"{kpi}: observations need column {col!r}")
    start = pd.Timestamp(start)
    lo = start - pd.DateOffset(months=pre_months)
    when = pd.DatetimeIndex(observations["when"])
    y = observations["y"].to_numpy(dtype=float, na_value=np.nan)
    keep = (when >= lo) & ~np.isnan(y)
    if end is not None:
        keep &= when < pd.Timestamp(end)
    pos = pd.Index(groups.index).get_indexer(observations["customer_id"])
    keep &= pos >= 0
    when, y, pos = when[keep], y[keep], pos[keep]
    cid = observations["customer_id"].to_numpy()[keep]
    label = groups.to_numpy()[pos]
    treated = (label == PILOT).astype(float)
    post = np.asarray(when >= start)
    end_txt = "the end of the data" if end is None else str(pd.Timestamp(end).date())
    for name, is_t in ((PILOT, 1.0), (CONTROL, 0.0)):
        for period, mask, span in (("before", ~post, f"{lo.date()} to {start.date()}"),
                                   ("after", post, f"{start.date()} to {end_txt}")):
            if not ((treated == is_t) & mask).any():
                raise DataError(f"{kpi}: no observations for the {name} group {period} the pilot "
                                f"start ({span})")
    cust_codes, _ = pd.factorize(cid)
    m = month_index(when)
    m_codes, m_levels = pd.factorize(m, sort=True)
    # cells: group x calendar month x before/after; every regressor is a function of them
    cell_key = (treated.astype(np.int64) * len(m_levels) + m_codes) * 2 + post
    cell_ids, cell = np.unique(cell_key, return_inverse=True)
    c_post = (cell_ids % 2).astype(float)
    c_month = (cell_ids // 2) % len(m_levels)
    c_treated = (cell_ids // 2 // len(m_levels)).astype(float)
    cells_x = _Cells(cell, c_treated, c_month, c_post, m_levels)
    month_fe = _dummies(c_month, len(m_levels))
    x = np.column_stack([np.ones(len(cell_ids)), c_treated, month_fe, c_treated * c_post])
    res = _fit(y, cell, x, cust_codes)
    b, se = float(res.params[-1]), float(res.bse[-1])
    z = z_value(level)
    n_pilot = int(len(np.unique(cust_codes[treated == 1])))
    n_control = int(len(np.unique(cust_codes[treated == 0])))
    rows = []
    for name, is_t in ((CONTROL, 0.0), (PILOT, 1.0)):
        for period, mask in (("after", post), ("before", ~post)):
            sel = (treated == is_t) & mask
            rows.append({"group": name, "period": period, "n": int(sel.sum()),
                         "mean": float(y[sel].mean())})
    cells = pd.DataFrame(rows)
    result = DiDResult(kpi, unit, b, se, b - z * se, b + z * se,
                       float(2 * stats.norm.sf(abs(b / se))) if se > 0 else np.nan, level,
                       len(y), n_pilot, n_control, cells, bin_months=bin_months)
    if n_pilot < MIN_CLUSTERS:
        warnings.warn(f"{kpi}: only {n_pilot} pilot customers have observations; cluster-robust "
                      f"intervals are unreliable below {MIN_CLUSTERS}; check with "
                      "randomisation inference", SmallSampleWarning, stacklevel=2)
    if event_study:
        _event_study(result, y, cells_x, start, month_fe, cust_codes, bin_months, z)
    return result


@dataclass(frozen=True)
class _Cells:
    """Each observation's cell and the cells' attributes (group, month code, after start)."""

    of_row: np.ndarray
    treated: np.ndarray
    month: np.ndarray
    post: np.ndarray
    month_levels: np.ndarray


def _event_study(result: DiDResult, y, cells: _Cells, start, month_fe, clusters, bin_months, z):
    m_c = np.asarray(cells.month_levels)[cells.month]         # calendar month of each cell
    rel_c = (m_c - month_index(pd.Series([start]))[0]) // bin_months
    rel = rel_c[cells.of_row]
    treated_c = cells.treated
    treated = treated_c[cells.of_row]
    # every cell holds observations (cells are the observed group x month x period keys)
    levels = np.array(sorted(set(rel_c) - {-1}))
    if (rel_c != -1).all() or len(levels) == 0:
        return
    inter = (rel_c[:, None] == levels[None, :]) * treated_c[:, None]
    keep = inter.any(axis=0)  # periods with pilot observations
    levels, inter = levels[keep], inter[:, keep]
    x = np.column_stack([np.ones(len(rel_c)), treated_c, month_fe, inter])
    res = _fit(y, cells.of_row, x, clusters)
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
    # slope of the pilot-minus-control gap over the pre-period (per month)
    before = rel < 0
    m = m_c[cells.of_row]
    if before.sum() > 3 and len(set(m[before])) > 2:
        t_c = (m_c - m[before].mean()).astype(float)
        xs = np.column_stack([np.ones(len(rel_c)), treated_c, month_fe, treated_c * t_c])
        used = rel_c < 0  # the cells of the pre-period (before is a property of the cell)
        cols = xs[used].any(axis=0) | (np.arange(xs.shape[1]) == 0)
        sub = np.flatnonzero(used)
        remap = np.full(len(rel_c), -1)
        remap[sub] = np.arange(len(sub))
        r2 = _fit(y[before], remap[cells.of_row[before]], xs[np.ix_(sub, np.flatnonzero(cols))],
                  clusters[before])
        s, sse = float(r2.params[-1]), float(r2.bse[-1])
        result.pre_slope, result.pre_slope_ci = s, (s - z * sse, s + z * sse)


def evaluate_pilot(tables: dict[str, pd.DataFrame], kpi: str, groups: pd.Series,
                   start: str | pd.Timestamp, **kwargs) -> DiDResult:
    """:func:`difference_in_differences` for a KPI of :data:`KPIS` built from the tables."""
    obs = kpi_observations(tables, kpi)
    return difference_in_differences(obs, groups, start, kpi=kpi, unit=KPIS[kpi].unit, **kwargs)


def effects_table(results: list[DiDResult] | dict[str, DiDResult]) -> pd.DataFrame:
    """One row per KPI: estimate, SE, interval, p, pre-trend p, n (:meth:`DiDResult.summary`)."""
    items = list(results.values()) if isinstance(results, dict) else list(results)
    return pd.concat([r.summary() for r in items], ignore_index=True)


def effects_plot(results: list[DiDResult] | dict[str, DiDResult]) -> go.Figure:
    """Each KPI's effect with its interval, one panel per KPI (units differ)."""
    from plotly.subplots import make_subplots

    items = list(results.values()) if isinstance(results, dict) else list(results)
    fig = make_subplots(rows=len(items), cols=1, vertical_spacing=0.12 if len(items) < 5 else 0.06,
                        subplot_titles=[f"{r.kpi} ({r.unit}; n={r.n_pilot:,} pilot customers)"
                                        for r in items])
    for i, r in enumerate(items, start=1):
        clear = r.ci_low > 0 or r.ci_high < 0
        fig.add_trace(go.Scatter(
            x=[r.estimate], y=[r.kpi], mode="markers", marker=dict(
                size=11, color="#1f5fa8" if clear else "#8c8c8c"),
            error_x=dict(type="data", symmetric=False, array=[r.ci_high - r.estimate],
                         arrayminus=[r.estimate - r.ci_low], color="#333"),
            hovertemplate=f"{r.kpi}: %{{x:.3g}} [{r.ci_low:.3g}, {r.ci_high:.3g}]<extra></extra>"),
            row=i, col=1)
        fig.add_vline(x=0, line_color="#888", row=i, col=1)
        fig.update_yaxes(showticklabels=False, row=i, col=1)
    n_clear = sum(r.ci_low > 0 or r.ci_high < 0 for r in items)
    fig.update_layout(template=TEMPLATE, showlegend=False, height=140 * len(items) + 120,
                      title=f"{n_clear} of {len(items)} KPIs moved clearly "
                            f"(interval excludes zero; {items[0].level:.0%} CI)")
    return fig
