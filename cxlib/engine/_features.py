"""Customer churn features pushed down to the engine (:func:`cxlib.churn.build_features`).

The same definitions as the pandas version, in one SQL text: only the customer-level
table (one row per customer active at the snapshot) comes into pandas. Two differences,
both about order: rows are sorted by ``customer_id`` (the pandas version keeps the
customers table's order), and among answers on the same latest date the one with the
largest ``response_id`` wins (the pandas version takes the last in table order; the two
agree when the responses table is in ``response_id`` order, as the simulated data are).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..errors import DataError
from ..snapshot import DAYS_PER_MONTH, STATIC_COLUMNS, feature_window
from ..vocab import EMOTIONAL_ITEMS, RATIONAL_ITEMS
from . import _sql
from ._source import Source, using

__all__ = ["build_features"]

REPEAT_DAYS = 30


def _data_end(src: Source) -> pd.Timestamp:
    parts = [("customers", "signup_date"), ("customers", "churn_date"),
             ("touchpoints", "timestamp"), ("responses", "response_date")]
    sql = "SELECT max(d) AS d FROM (" + " UNION ALL ".join(
        _sql.DATA_END_PART.format(column=_sql.ident(c), table=_sql.ident(t, "table"))
        for t, c in parts if src.has(t)) + ")"
    return pd.Timestamp(src.fetch(sql, what="end of the data")["d"].iloc[0])


def build_features(source: Source | str | Path, snapshot: str | pd.Timestamp,
                   horizon: int | str | pd.DateOffset = 6, window_days: int = 90,
                   static: Sequence[str] = STATIC_COLUMNS) -> pd.DataFrame:
    """Customer features at ``snapshot`` and ``churned_in_horizon``, computed in the engine.

    Same arguments, columns, values and ``attrs`` as :func:`cxlib.churn.build_features`
    (see ``docs/churn.md``), rows sorted by ``customer_id``. ``touchpoints`` and
    ``responses`` add their features when the source has them.
    """
    with using(source) as src:
        return _build(src, snapshot, horizon, window_days, static)


def _build(src: Source, snapshot: str | pd.Timestamp, horizon: int | str | pd.DateOffset,
           window_days: int, static: Sequence[str]) -> pd.DataFrame:
    fn = "build_features"
    src.require("customers", ["customer_id", "signup_date", "churned", "churn_date"], fn)
    snap, stop, notes = feature_window(snapshot, horizon, _data_end(src), fn, stacklevel=5)

    cust_cols = src.columns("customers")
    static_present = [c for c in static if c in cust_cols]
    inner = [_sql.ident(c) for c in static_present]
    outer = list(inner)
    has_money = "monthly_revenue" in cust_cols
    if has_money:
        inner.append('TRY_CAST("monthly_revenue" AS DOUBLE) AS monthly_revenue')
        outer.append("monthly_revenue")
    parts = [_sql.FEATURES_BASE.format(inner="".join(f", {c}" for c in inner),
                                       outer="".join(f", {c}" for c in outer),
                                       customers=_sql.ident("customers", "table"))]
    select_static = "".join(f",\n       b.{c}" for c in (_sql.ident(s) for s in static_present))
    select_money = (",\n       b.monthly_revenue,\n       b.monthly_revenue * (b.tenure_days / "
                    "$days_per_month) AS spend_to_date") if has_money else ""
    survey, events, joins = "", "", ""

    if src.has("responses"):
        src.require("responses", ["customer_id", "response_date", "response_id"], fn)
        rcols = src.columns("responses")
        parts.append(_sql.FEATURES_RESPONSES.format(responses=_sql.ident("responses", "table")))
        latest: list[tuple[str, list[str], str]] = []
        if "nps" in rcols:
            latest.append(("latest_nps", ["nps"], 'CAST("nps" AS DOUBLE)'))
        for name, items in (("emotional_score", EMOTIONAL_ITEMS),
                            ("rational_score", RATIONAL_ITEMS)):
            present = [c for c in items if c in rcols]
            if present:
                total = " + ".join(f"CAST({_sql.ident(c)} AS DOUBLE)" for c in present)
                latest.append((name, present, f"({total}) / {float(len(present))!r}"))
        if "expectation_met" in rcols:
            latest.append(("expectation_met", ["expectation_met"],
                           'CAST("expectation_met" AS DOUBLE)'))
        for name, cols, value in latest:
            parts.append(_sql.FEATURES_LATEST.format(
                name=_sql.ident(name), value=value,
                present=" AND ".join(f"{_sql.ident(c)} IS NOT NULL" for c in cols)))
            joins += f"\nLEFT JOIN {name} ON {name}.customer_id = b.customer_id"
            if name == "expectation_met":
                survey += (",\n       3.0 - expectation_met.expectation_met AS expectation_gap,"
                           "\n       CASE WHEN expectation_met.expectation_met IS NULL THEN NULL"
                           "\n            WHEN 3.0 - expectation_met.expectation_met < 0 THEN 0.0"
                           "\n            ELSE 3.0 - expectation_met.expectation_met END"
                           "\n         * CAST(b.tenure_days / $days_per_month < 12 AS BIGINT)"
                           " AS expectation_gap_first_year")
            else:
                survey += f",\n       {name}.{name}"

    if src.has("touchpoints"):
        src.require("touchpoints", ["customer_id", "timestamp", "event_type"], fn)
        has_resolved = "resolved_first_contact" in src.columns("touchpoints")
        parts.append(_sql.FEATURES_TOUCHPOINTS.format(
            touchpoints=_sql.ident("touchpoints", "table"),
            resolved_col=(', TRY_CAST(t."resolved_first_contact" AS BOOLEAN) AS resolved_'
                          if has_resolved else ""),
            unresolved=_sql.UNRESOLVED if has_resolved else ""))
        events = _sql.TOUCHPOINT_COLUMNS.format(
            unresolved=("\n       coalesce(c.unresolved_recent, 0) AS unresolved_recent,"
                        if has_resolved else ""))
        joins += _sql.TOUCHPOINT_JOINS

    sql = "WITH " + "".join(parts).lstrip() + _sql.FEATURES_SELECT.format(
        static=select_static, money=select_money, survey=survey, events=events, joins=joins)
    params = {
        "snap": snap.to_pydatetime(), "stop": stop.to_pydatetime(),
        "recent": (snap - pd.Timedelta(days=window_days)).to_pydatetime(),
        "repeat_ns": REPEAT_DAYS * 86400 * 10**9,
        "days_per_month": DAYS_PER_MONTH,
        "horizon_days": (stop - snap).total_seconds() / 86400,
    }
    used = {k: v for k, v in params.items() if f"${k}" in sql}
    out = src.fetch(sql, used, what="churn features")
    if out.empty:
        raise DataError(f"{fn}: no customer is active at the snapshot {snap.date()}")
    for col in static_present:
        out[col] = out[col].astype("object").where(out[col].notna(), None)
    out.attrs.update(snapshot=str(snap.date()), horizon_end=str(stop.date()),
                     window_days=window_days, notes=notes, target="churned_in_horizon")
    return out

