"""Reductions of the touchpoint events, in pandas or pushed down to the engine.

The event table is the large one (hundreds of millions of rows in a warehouse). Each
analysis that needs it uses one of the reductions below, which return a group-, customer-,
response- or KPI-observation-level table. Every function takes either the events as a
DataFrame (computed in pandas) or a :class:`~cxlib.engine.Source` /
:class:`~cxlib.engine.Data` (one SQL text of :mod:`cxlib.engine._sql`, run where the data
lie), and both give the same table (tests/test_engine_touchpoints.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..schema import require_columns
from . import _sql
from ._source import Source

__all__ = ["Events", "is_pushed_down", "event_counts", "purchase_split", "contact_history",
           "contact_resolution", "contact_observations", "last_event"]

Events = Any
"""A touchpoints DataFrame, a :class:`Source` or a :class:`Data` (anything with ``source``)."""

TABLE = "touchpoints"


def is_pushed_down(events: Events) -> bool:
    """True when ``events`` is an engine source rather than an in-memory table."""
    return isinstance(events, Source) or isinstance(getattr(events, "source", None), Source)


def _src(events: Events) -> Source:
    return events if isinstance(events, Source) else events.source


def _table(name: str = TABLE) -> str:
    return _sql.ident(name, "table")


def event_counts(events: Events, by: str, fn: str = "event_counts") -> pd.Series:
    """Number of events per value of ``by`` (missing values left out), named ``n``."""
    if not is_pushed_down(events):
        require_columns(events, [by], f"{fn}: touchpoints")
        return events.groupby(by).size().rename("n")
    src = _src(events)
    src.require(TABLE, [by], fn)
    g = src.fetch(_sql.EVENT_COUNTS.format(by=_sql.ident(by), touchpoints=_table()),
                  what=f"touchpoints: events by {by}")
    return g.set_index(by)["n"].astype("int64").sort_index()


def purchase_split(events: Events, by: str | None, purchase_types: Sequence[str],
                   exclude_event_types: Sequence[str], fn: str = "purchase_split"
                   ) -> pd.DataFrame:
    """Per group: customers ``k`` with a purchase and, over them, the sums of interactions
    after the first purchase ``a`` and of all interactions ``m`` (purchases and excluded
    types left out): ``sa, sm, saa, sam, smm`` (sums of a, m, a*a, a*m, m*m)."""
    cols = ["customer_id", "timestamp", "event_type"] + ([by] if by else [])
    if not is_pushed_down(events):
        require_columns(events, cols, f"{fn}: touchpoints")
        tp = events[~events["event_type"].isin(list(exclude_event_types))]
        buys = tp[tp["event_type"].isin(list(purchase_types))]
        first = buys.groupby("customer_id")["timestamp"].min()
        tp = tp[~tp["event_type"].isin(list(purchase_types))]
        tp = tp[tp["customer_id"].isin(first.index)]
        frame = pd.DataFrame({"customer_id": tp["customer_id"].to_numpy(),
                              "a": (tp["timestamp"] > tp["customer_id"].map(first)).to_numpy(
                                  dtype=float), "m": 1.0})
        keys = ["customer_id"] + ([by] if by else [])
        if by:
            frame[by] = tp[by].to_numpy()
        per = frame.groupby(keys, sort=False)[["a", "m"]].sum()
        per = per.assign(aa=per["a"] ** 2, am=per["a"] * per["m"], mm=per["m"] ** 2,
                         k=1).reset_index()
        sums = per.groupby(by, sort=False) if by else per.groupby(np.zeros(len(per)))
        out = sums[["k", "a", "m", "aa", "am", "mm"]].sum()
        out.columns = ["k", "sa", "sm", "saa", "sam", "smm"]
        out = out.reset_index() if by else out.reset_index(drop=True)
        return out
    src = _src(events)
    src.require(TABLE, cols, fn)
    key = _sql.ident(by) if by else ""
    sql = _sql.PURCHASE_SPLIT.format(
        touchpoints=_table(),
        exclude=_sql.literals(exclude_event_types, "event type") if exclude_event_types
        else "('')",
        purchase=_sql.literals(purchase_types, "purchase type"),
        key_inner=f", {key}" if by else "", key_select=f", tp.{key}" if by else "",
        key_group=f", tp.{key}" if by else "", key_outer=f"{key}, " if by else "",
        group_by=f"GROUP BY {key}" if by else "")
    out = src.fetch(sql, what=f"touchpoints: interactions after the first purchase"
                              f"{' by ' + by if by else ''}")
    out["k"] = out["k"].astype("int64")
    return out[out["k"] > 0].reset_index(drop=True)


def contact_history(events: Events, responses: pd.DataFrame | Source | None, window_days: int,
                    score: str = "nps", fn: str = "contact_history") -> pd.DataFrame:
    """Per answer (``response_id``) whose customer had first or repeat contacts in the
    ``window_days`` up to the end of the answer's day: ``unresolved`` (1 when a first contact
    in the window was not resolved, 0 when all were resolved or of unknown outcome, missing
    when there was none) and
    ``repeats`` (repeat contacts in the window). Answers without contacts are absent.

    In pandas ``responses`` is the answers frame; pushed down, the answers are the source's
    ``responses`` table (those with ``score``), so ``responses`` is not used.
    """
    need = ["customer_id", "timestamp", "event_type", "resolved_first_contact"]
    day = pd.Timedelta(days=1)
    if not is_pushed_down(events):
        require_columns(events, need, f"{fn}: touchpoints")
        r = responses[responses[score].notna()]
        ev = events[events["event_type"].isin(["contact", "repeat_contact"])][need]
        pairs = r[["response_id", "customer_id", "response_date"]].merge(ev, on="customer_id")
        stop = pairs["response_date"] + day  # answers are dated to the day
        inside = (pairs["timestamp"] < stop) & (pairs["timestamp"] >= stop - window_days * day)
        pairs = pairs[inside]
        first = pairs["event_type"] == "contact"
        # a first contact whose outcome is unknown counts as resolved (no evidence of failure)
        unresolved = (~pairs["resolved_first_contact"].astype("boolean").fillna(True)
                      ).astype(float).where(first)
        frame = pd.DataFrame({"response_id": pairs["response_id"].to_numpy(),
                              "unresolved": unresolved.to_numpy(),
                              "repeats": (~first).to_numpy(dtype="int64")})
        out = frame.groupby("response_id", sort=True).agg(unresolved=("unresolved", "max"),
                                                          repeats=("repeats", "sum"))
        return out.reset_index()
    src = _src(events)
    src.require(TABLE, need, fn)
    src.require("responses", ["response_id", "customer_id", "response_date", score], fn)
    sql = _sql.CONTACT_HISTORY.format(touchpoints=_table(),
                                      responses=_table("responses"),
                                      score=_sql.ident(score))
    out = src.fetch(sql, {"day_ns": int(day.value), "window_ns": int(window_days * day.value)},
                    what=f"touchpoints: contacts in the {window_days} days before each answer")
    out["unresolved"] = out["unresolved"].astype("Float64").astype(float)
    out["repeats"] = out["repeats"].astype("int64")
    return out.sort_values("response_id", ignore_index=True)


def contact_resolution(events: Events, fn: str = "contact_resolution") -> pd.DataFrame:
    """Per customer with first contacts: ``fcr`` (share resolved among known outcomes;
    missing when none known) and ``n`` (known outcomes), indexed by ``customer_id``."""
    need = ["customer_id", "event_type", "resolved_first_contact"]
    if not is_pushed_down(events):
        require_columns(events, need, f"{fn}: touchpoints")
        contacts = events[events["event_type"] == "contact"]
        y = contacts["resolved_first_contact"].astype("Float64").astype(float)
        g = y.groupby(contacts["customer_id"].to_numpy())
        out = pd.DataFrame({"fcr": g.mean(), "n": g.count().astype("int64")})
        out.index.name = "customer_id"
        return out
    src = _src(events)
    src.require(TABLE, need, fn)
    out = src.fetch(_sql.CONTACT_RESOLUTION.format(touchpoints=_table()),
                    what="touchpoints: first-contact resolution per customer")
    out["fcr"] = out["fcr"].astype("Float64").astype(float)
    out["n"] = out["n"].astype("int64")
    return out.set_index("customer_id").sort_index()


def contact_observations(events: Events, fn: str = "contact_observations") -> pd.DataFrame:
    """First contacts with a known outcome: ``customer_id, when, y`` (1 resolved, 0 not)."""
    need = ["customer_id", "timestamp", "event_type", "resolved_first_contact"]
    if not is_pushed_down(events):
        require_columns(events, need, f"{fn}: touchpoints")
        tp = events[(events["event_type"] == "contact") & events["resolved_first_contact"].notna()]
        return pd.DataFrame({"customer_id": tp["customer_id"].to_numpy(),
                             "when": tp["timestamp"].to_numpy(),
                             "y": tp["resolved_first_contact"].to_numpy(dtype=float)})
    src = _src(events)
    src.require(TABLE, need, fn)
    out = src.fetch(_sql.CONTACT_OBSERVATIONS.format(touchpoints=_table()),
                    what="touchpoints: first contacts with a known outcome")
    out["when"] = out["when"].astype("datetime64[ns]")  # one resolution whatever the engine
    return out


def last_event(events: Events) -> pd.Timestamp:
    """Timestamp of the latest event."""
    if not is_pushed_down(events):
        return pd.Timestamp(events["timestamp"].max())
    src = _src(events)
    d = src.fetch(_sql.DATA_END_PART.format(column=_sql.ident("timestamp"),
                                            table=_table()), what="touchpoints: last event")
    return pd.Timestamp(d["d"].iloc[0])
