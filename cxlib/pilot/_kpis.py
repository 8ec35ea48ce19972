"""The pilot's KPIs built from the contract tables, and their difference-in-differences.

:data:`KPIS` turns the tables into observations ``customer_id, when, y``;
:func:`evaluate_pilot` and :func:`difference_in_differences` run :func:`._did.did` on
them with the pilot's conventions (calendar months, a window of ``pre_months`` before the
start, customer clusters, pilot/control labels by customer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..checks import check_option
from ..engine import touchpoints as events
from ..errors import DataError
from ..plots import number_format, style
from ._did import DiDResult, did, month_index

__all__ = ["KPIS", "kpi_observations", "difference_in_differences", "evaluate_pilot",
           "effects_table", "effects_plot", "months_observed"]


def months_observed(t: Any, start: str | pd.Timestamp) -> int:
    """Calendar months with data from ``start`` on: the financials' months when the table is
    there, else the months in which answers were given (a survey-only or CRM dataset)."""
    start = pd.Timestamp(start)
    if "financials" in t:
        months = t["financials"]["month"]
    else:
        months = t["responses"]["response_date"]
    months = pd.to_datetime(months)
    return int(months[months >= start].dt.to_period("M").nunique())


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


def difference_in_differences(
    observations: pd.DataFrame, groups: pd.Series, start: str | pd.Timestamp, *,
    pre_months: int = 12, end: str | pd.Timestamp | None = None, bin_months: int = 1,
    level: float = 0.95, kpi: str = "y", unit: str = "", event_study: bool = True,
    unit_effects: bool = False,
) -> DiDResult:
    """DiD of ``y`` between pilot and control from observations ``customer_id, when, y``.

    ``groups``: pilot/control label by customer_id (:func:`define_groups`); the window is
    ``pre_months`` before ``start`` to ``end`` (exclusive; default: all data after start);
    calendar-month effects, SEs clustered by customer. ``unit_effects=False`` (default)
    fits ``y ~ pilot + month FE + pilot x post``; ``True`` adds customer fixed effects
    (two-way fixed effects, see :func:`did`). Raises :class:`DataError` when a group has
    no observations before or after the start.
    """
    for col in ("customer_id", "when", "y"):
        if col not in observations.columns:
            raise DataError(f"{kpi}: observations need column {col!r}")
    start = pd.Timestamp(start)
    frame = observations.assign(when=pd.to_datetime(observations["when"]))
    return did(frame, unit="customer_id", time="when", outcome="y", treated=groups,
               start=start, first=start - pd.DateOffset(months=pre_months), end=end,
               unit_effects=unit_effects, bin=bin_months, level=level, kpi=kpi, kpi_unit=unit,
               event_study=event_study)


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
        fmt = number_format([r.estimate, r.ci_low, r.ci_high])
        fig.add_trace(go.Scatter(
            x=[r.estimate], y=[r.kpi], mode="markers", marker=dict(
                size=11, color="#1f5fa8" if clear else "#8c8c8c"),
            error_x=dict(type="data", symmetric=False, array=[r.ci_high - r.estimate],
                         arrayminus=[r.estimate - r.ci_low], color="#333"),
            hovertemplate=f"{r.kpi}: %{{x:{fmt}}} [{format(r.ci_low, fmt)}, "
                          f"{format(r.ci_high, fmt)}]<extra></extra>"),
            row=i, col=1)
        fig.add_vline(x=0, line_color="#888", row=i, col=1)
        fig.update_yaxes(showticklabels=False, row=i, col=1)
    n_clear = sum(r.ci_low > 0 or r.ci_high < 0 for r in items)
    style(fig, showlegend=False, height=140 * len(items) + 120,
          title=f"{n_clear} of {len(items)} KPIs moved clearly "
                f"(interval excludes zero; {items[0].level:.0%} CI)")
    return fig
