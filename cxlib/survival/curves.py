"""Durations, Kaplan-Meier curves and log-rank tests (statsmodels ``SurvfuncRight``, ``survdiff``).

- Kaplan-Meier with Greenwood variance and the pointwise log-log ("exponential Greenwood")
  interval, as R ``survival`` (``conf.type="log-log"``); where survival reaches 0 the
  interval is undefined and left empty (NaN), as R reports NA;
- log-rank test (Mantel-Haenszel, chi-square with groups - 1 df).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

from ..checks import check_option, row_numbers, rows_text
from ..errors import DataError, ModelError, SmallSampleWarning
from ..metrics import wilson_interval, z_value
from ..plots import TEMPLATE, style
from ..results import Result, ci_text, p_text

__all__ = ["durations", "kaplan_meier", "survival_at", "logrank", "survival_figure",
           "LogrankResult", "UNIT_DAYS"]

UNIT_DAYS: dict[str, float] = {"days": 1.0, "weeks": 7.0, "months": 365.25 / 12, "years": 365.25}
"""Length of one duration unit in days (a month is 30.44 days)."""

KM_COLUMNS = ["time", "survival", "ci_low", "ci_high", "at_risk", "events"]
MIN_GROUP_N = 30


# -- durations ------------------------------------------------------------------------------

def durations(customers: pd.DataFrame, end: str | pd.Timestamp | None = None,
              unit: str = "days") -> pd.DataFrame:
    """Time from ``signup_date`` to ``churn_date`` (event 1) or to ``end`` (censored, event 0).

    ``end`` defaults to the last date in the table (latest signup or churn date). Churn
    after ``end`` counts as censored at ``end``; customers who sign up after ``end`` are
    left out with a warning. ``unit`` is days, weeks, months (30.44 days) or years.
    Returns ``customer_id, duration, event`` followed by the table's other columns
    (``churned`` and ``churn_date`` dropped) so groups such as ``acquisition_channel``
    can be passed as ``by``.
    """
    need = ["customer_id", "signup_date", "churned", "churn_date"]
    missing = [c for c in need if c not in customers.columns]
    if missing:
        raise DataError(f"durations: customers table lacks column(s) {', '.join(missing)}")
    check_option("unit", unit, UNIT_DAYS, where="durations")
    for col in ("signup_date", "churn_date"):
        if not pd.api.types.is_datetime64_any_dtype(customers[col].dtype):
            raise DataError(f"durations: column {col!r} must be a date column "
                            f"(got {customers[col].dtype}); parse it with pd.to_datetime")
    signup = customers["signup_date"]
    churn = customers["churn_date"].where(customers["churned"].astype("boolean").fillna(False))
    if signup.isna().any():
        raise DataError(f"durations: column 'signup_date' is empty in {int(signup.isna().sum())} "
                        f"rows (rows {rows_text(row_numbers(signup.isna()))})")
    if end is None:
        end_ts = max(signup.max(), churn.max()) if churn.notna().any() else signup.max()
    else:
        end_ts = pd.Timestamp(end)
    before = churn.notna() & (churn < signup)
    if before.any():
        raise DataError(f"durations: churn_date before signup_date in {int(before.sum())} rows "
                        f"(rows {rows_text(row_numbers(before))})")
    late = signup > end_ts
    if late.any():
        warnings.warn(f"durations: {int(late.sum())} customers signed up after the end "
                      f"{end_ts.date()} and are left out", SmallSampleWarning, stacklevel=2)
    event = churn.notna() & (churn <= end_ts)
    stop = churn.where(event, end_ts)
    days = (stop - signup).dt.total_seconds() / 86400.0
    rest = [c for c in customers.columns if c not in ("customer_id", "churned", "churn_date")]
    out = pd.DataFrame({"customer_id": customers["customer_id"],
                        "duration": days / UNIT_DAYS[unit],
                        "event": event.astype(int)})
    out = pd.concat([out, customers[rest]], axis=1)
    out = out.loc[~late.to_numpy()].reset_index(drop=True)
    out.attrs["unit"] = unit
    out.attrs["end"] = str(end_ts.date())
    return out


def _check_survival(frame: pd.DataFrame, duration: str, event: str, where: str
                    ) -> tuple[np.ndarray, np.ndarray]:
    for col in (duration, event):
        if col not in frame.columns:
            raise DataError(f"{where}: column {col!r} not found "
                            f"(columns: {', '.join(map(str, frame.columns))})")
    t = pd.to_numeric(frame[duration], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    e = pd.to_numeric(frame[event].astype("object").map(
        lambda v: int(v) if isinstance(v, (bool, np.bool_)) else v), errors="coerce"
    ).to_numpy(dtype=float, na_value=np.nan)
    bad_t = ~np.isfinite(t) | (t < 0)
    if bad_t.any():
        raise DataError(f"{where}: column {duration!r} must be a number >= 0; "
                        f"{int(bad_t.sum())} rows are not (rows {rows_text(row_numbers(bad_t))})")
    bad_e = ~np.isin(e, (0.0, 1.0))
    if bad_e.any():
        raise DataError(f"{where}: column {event!r} must be 1 (churned) or 0 (censored); "
                        f"{int(bad_e.sum())} rows are not (rows {rows_text(row_numbers(bad_e))})")
    return t, e.astype(int)


def _groups(frame: pd.DataFrame, by: str | None, where: str) -> pd.Series:
    if by is None:
        return pd.Series("all", index=frame.index)
    if by not in frame.columns:
        raise DataError(f"{where}: column {by!r} not found")
    g = frame[by]
    if g.isna().any():
        warnings.warn(f"{where}: {int(g.isna().sum())} rows with empty {by!r} are left out",
                      SmallSampleWarning, stacklevel=3)
    return g


# -- Kaplan-Meier ---------------------------------------------------------------------------

def _km_one(t: np.ndarray, e: np.ndarray, z: float) -> pd.DataFrame:
    if e.sum() == 0:
        return pd.DataFrame({"time": [0.0], "survival": [1.0], "ci_low": [1.0], "ci_high": [1.0],
                             "at_risk": [len(t)], "events": [0]})
    sf = SurvfuncRight(t, e)
    s = np.asarray(sf.surv_prob, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        greenwood = (np.asarray(sf.surv_prob_se) / s) ** 2      # sum d / (n (n - d))
        se_loglog = np.sqrt(greenwood) / np.abs(np.log(s))
        low = s ** np.exp(z * se_loglog)
        high = s ** np.exp(-z * se_loglog)
    # S = 0 (everyone gone): no interval, as R reports NA; S = 1 cannot occur at an event time
    low = np.where(s > 0, low, np.nan)
    high = np.where(s > 0, high, np.nan)
    return pd.DataFrame({"time": np.asarray(sf.surv_times, dtype=float), "survival": s,
                         "ci_low": low, "ci_high": high,
                         "at_risk": np.asarray(sf.n_risk).astype(int),
                         "events": np.asarray(sf.n_events).astype(int)})


def kaplan_meier(frame: pd.DataFrame, duration: str = "duration", event: str = "event",
                 by: str | None = None, level: float = 0.95) -> pd.DataFrame:
    """Kaplan-Meier survival per group, one row per event time.

    Columns ``[by], time, survival, ci_low, ci_high, at_risk, events``; the interval is
    pointwise log-log (exponential Greenwood) at ``level``, empty (NaN) where survival is 0
    (as R). Groups with fewer than 30 customers raise a :class:`SmallSampleWarning`.
    ``attrs["n"]`` holds n per group.
    """
    t, e = _check_survival(frame, duration, event, "kaplan_meier")
    z = z_value(level)
    groups = _groups(frame, by, "kaplan_meier")
    parts, sizes = [], {}
    values = groups.to_numpy(dtype=object)
    present = pd.notna(values)
    for key in sorted(pd.unique(values[present]), key=str):
        pos = np.flatnonzero(present & (values == key))
        sizes[key] = len(pos)
        part = _km_one(t[pos], e[pos], z)
        if by is not None:
            part.insert(0, by, key)
        parts.append(part)
    small = [str(k) for k, n in sizes.items() if n < MIN_GROUP_N]
    if small:
        warnings.warn(f"kaplan_meier: groups with fewer than {MIN_GROUP_N} customers: "
                      f"{', '.join(small)}", SmallSampleWarning, stacklevel=2)
    cols = ([by] if by is not None else []) + KM_COLUMNS
    out = pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)
    out.attrs.update(n=sizes, level=level, by=by, unit=frame.attrs.get("unit", "time"))
    return out


def survival_at(km_table: pd.DataFrame, time: float, by: str | None = None) -> pd.DataFrame:
    """Read a Kaplan-Meier table at ``time``: the step value (and interval) in force then.

    Returns ``[by], time, survival, ci_low, ci_high, n`` (``n`` = customers in the group;
    before the first event the survival is 1).
    """
    by = by if by is not None else km_table.attrs.get("by")
    rows = []
    groups = km_table.groupby(by, sort=True) if by else [(None, km_table)]
    for key, grp in groups:
        grp = grp.sort_values("time")
        upto = grp[grp["time"] <= time]
        n_total = km_table.attrs.get("n", {}).get(key if by else "all", np.nan)
        if upto.empty:
            row = {"survival": 1.0, "ci_low": 1.0, "ci_high": 1.0}
        else:
            last = upto.iloc[-1]
            row = {k: float(last[k]) for k in ("survival", "ci_low", "ci_high")}
        rows.append(({by: key} if by else {}) | {"time": time} | row | {"n": n_total})
    return pd.DataFrame(rows)


# -- log-rank -------------------------------------------------------------------------------

@dataclass(repr=False)
class LogrankResult(Result):
    """Log-rank test of equal survival across groups.

    ``groups``: per group (first column), customers ``n`` and ``events``. The headline and
    figure add each group's share with an event during follow-up (Wilson interval at
    ``level``): a description of the groups, not a survival estimate.
    """

    statistic: float
    p_value: float
    df: int
    test: str
    groups: pd.DataFrame   # by, n, events
    level: float = 0.95

    def test_text(self) -> str:
        """The test alone: ``log-rank test: chi2 = 70.63 on 3 df, p < 0.001``."""
        return f"{self.test}: chi2 = {self.statistic:.2f} on {self.df} df, {p_text(self.p_value)}"

    def summary(self) -> pd.DataFrame:
        """Per group: n, events, share with an event and its Wilson interval, and the test."""
        g = self.groups.copy()
        g["event_share"] = g["events"] / g["n"]
        g["ci_low"], g["ci_high"] = wilson_interval(g["event_share"].to_numpy(),
                                                    g["n"].to_numpy(), self.level)
        return g.assign(chi2=self.statistic, df=self.df, p_value=self.p_value)

    def headline(self) -> str:
        t = self.summary().sort_values("event_share", ascending=False)
        by = t.columns[0]
        parts = [f"{r[by]} {r['event_share']:.1%} "
                 f"({ci_text(r['ci_low'], r['ci_high'], self.level, '.1%')}, n = {int(r['n']):,})"
                 for _, r in t.iloc[[0, -1]].iterrows()]
        return f"{self.test_text()}; events during follow-up: most {parts[0]}, fewest {parts[1]}"

    def plot(self) -> go.Figure:
        """Share of each group with an event during follow-up (Wilson intervals)."""
        from ..plots import interval_bars

        t = self.summary()
        by = t.columns[0]
        t = t.assign(pct=100 * t["event_share"], pct_low=100 * t["ci_low"],
                     pct_high=100 * t["ci_high"])
        return interval_bars(t, x=by, y="pct", low="pct_low", high="pct_high", flag=None,
                             title=self.test_text(),
                             y_title=f"with an event during follow-up (%, {self.level:.0%} CI)")


def logrank(frame: pd.DataFrame, duration: str = "duration", event: str = "event",
            by: str = "acquisition_channel", strata: str | None = None) -> LogrankResult:
    """Log-rank (Mantel-Haenszel) test that all groups of ``by`` share one survival curve.

    Chi-square on (groups - 1) df; ``strata`` gives the stratified version.
    """
    t, e = _check_survival(frame, duration, event, "logrank")
    groups = _groups(frame, by, "logrank")
    keep = groups.notna().to_numpy()
    g = groups[keep].astype(str).to_numpy()
    levels = np.unique(g)
    if len(levels) < 2:
        raise ModelError(f"logrank: column {by!r} has fewer than two groups ({', '.join(levels)})")
    s = None if strata is None else frame.loc[keep, strata].astype(str).to_numpy()
    try:
        chi2, p = survdiff(t[keep], e[keep], g, strata=s)
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise ModelError(f"logrank: test by {by!r} failed ({exc})") from None
    table = (pd.DataFrame({by: g, "event": e[keep]}).groupby(by)
             .agg(n=("event", "size"), events=("event", "sum")).reset_index())
    name = "log-rank test" + (f" stratified by {strata}" if strata else "")
    return LogrankResult(float(chi2), float(p), len(levels) - 1, name, table)


# -- figure ---------------------------------------------------------------------------------

def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    return f"rgba({int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha})"


def survival_figure(km_table: pd.DataFrame, by: str | None = None, title: str = "",
                    time_title: str | None = None) -> go.Figure:
    """Step curves of Kaplan-Meier survival per group with shaded pointwise intervals."""
    by = by if by is not None else km_table.attrs.get("by")
    unit = time_title or f"time since signup ({km_table.attrs.get('unit', 'time')})"
    colours = list(TEMPLATE.layout.colorway)
    fig = go.Figure()
    groups = km_table.groupby(by, sort=True) if by else [("all", km_table)]
    sizes = km_table.attrs.get("n", {})
    for i, (key, grp) in enumerate(groups):
        grp = grp.sort_values("time")
        start = pd.DataFrame({"time": [0.0], "survival": [1.0], "ci_low": [1.0], "ci_high": [1.0]})
        g = pd.concat([start, grp[["time", "survival", "ci_low", "ci_high"]]], ignore_index=True)
        colour = colours[i % len(colours)]
        label = f"{key} (n={sizes[key]:,})" if key in sizes else str(key)
        fig.add_trace(go.Scatter(x=g["time"], y=g["ci_high"], mode="lines", line_shape="hv",
                                 line=dict(width=0), showlegend=False, hoverinfo="skip",
                                 legendgroup=str(key)))
        fig.add_trace(go.Scatter(x=g["time"], y=g["ci_low"], mode="lines", line_shape="hv",
                                 line=dict(width=0), fill="tonexty",
                                 fillcolor=_rgba(colour, 0.18), showlegend=False,
                                 hoverinfo="skip", legendgroup=str(key)))
        fig.add_trace(go.Scatter(x=g["time"], y=g["survival"], mode="lines", line_shape="hv",
                                 line=dict(color=colour, width=2), name=label,
                                 legendgroup=str(key),
                                 hovertemplate=f"{key}: %{{y:.1%}} at %{{x:.1f}}<extra></extra>"))
    style(fig, title=title, xaxis_title=unit,
          yaxis_title="share still customers", yaxis_tickformat=".0%",
          yaxis_range=[0, 1.02])
    return fig
