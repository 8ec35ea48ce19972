"""The customer-level KPI table, built from the contract tables.

One row per customer who answered a relationship survey. The first relationship
answer is the customer's *anchor*: its NPS, rational and emotional items and
expectation-met answer are the customer's relationship KPIs, and the outcome is
measured *after* it (prospective, so survivors do not explain themselves):

* ``retained``: still a customer ``horizon_months`` after the anchor (empty when the
  data end before the horizon does);
* ``monthly_revenue`` (the customers table) and ``annual_revenue`` = 12 x monthly.

Touchpoint KPIs summarise the customer's whole record, per owning organisation:
``csat_<organisation>`` and ``ces_<organisation>`` (mean transactional answers, 1-5 and
1-7), ``first_contact_resolution`` (share of first contacts resolved, 0-1), with the
number of answers / contacts behind each in ``n_<kpi>``. Without a touchpoints table there
is no ``first_contact_resolution``; without ``monthly_revenue`` the revenue columns are empty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..engine import kpi_answers
from ..engine import touchpoints as events
from ..errors import DataError
from ..schema import require_columns
from ..vocab import EMOTIONAL_ITEMS, RATIONAL_ITEMS

__all__ = ["customer_kpis", "kpi_owners", "KPI_UNITS", "SAMPLE_SPEC"]

KPI_UNITS: dict[str, str] = {
    "csat": "points on the 1-5 CSAT scale", "ces": "points on the 1-7 ease scale",
    "first_contact_resolution": "share of first contacts resolved (0-1)",
    "expectation_met": "points on the 1-5 expectation scale", "nps": "points on the 0-10 scale",
}
_FIXED_OWNERS = {"first_contact_resolution": "contact_centre", "expectation_met": "advertising",
                 "nps": "crm", "csat_overall": "crm"}


def kpi_owners(columns) -> dict[str, str]:
    """Owning organisation of each KPI column (``csat_web`` -> ``web``; fixed ones known)."""
    out = {}
    for col in columns:
        if col in _FIXED_OWNERS:
            out[col] = _FIXED_OWNERS[col]
        elif col.startswith(("csat_", "ces_")):
            out[col] = col.split("_", 1)[1]
        elif col in RATIONAL_ITEMS or col in EMOTIONAL_ITEMS:
            out[col] = "crm"
    return out


def _need(frame: pd.DataFrame, name: str, cols: list[str]) -> None:
    require_columns(frame, cols, f"customer_kpis: table {name!r}")


def customer_kpis(tables: dict[str, pd.DataFrame], horizon_months: int = 12) -> pd.DataFrame:
    """Customer-level KPIs and outcomes (see module doc), indexed by ``customer_id``.

    ``tables``: the contract tables as a dict, or :func:`cxlib.open_data`: the answers and
    events are then reduced in the engine (first relationship answer and transactional
    means per customer, first-contact resolution) and only customer-level tables load.
    """
    for name in ("customers", "responses"):
        if name not in tables:
            raise DataError(f"customer_kpis: table {name!r} missing (need customers and "
                            "responses; touchpoints optional)")
    cust = tables["customers"]
    # the events (optional): the in-memory table, or the source itself (reduced in the engine)
    tp = (None if "touchpoints" not in tables else tables if events.is_pushed_down(tables)
          else tables["touchpoints"])
    _need(cust, "customers", ["customer_id", "signup_date", "churned", "churn_date"])
    if events.is_pushed_down(tables):
        first, per_org, last_answer = kpi_answers(
            tables.source, ANSWER_COLUMNS + ["survey_type", "response_id"], ANCHOR_ITEMS)
    else:
        first, per_org, last_answer = _answers(tables["responses"])
    end = max(events.last_event(tp), last_answer) if tp is not None else last_answer
    if first.empty:
        raise DataError("customer_kpis: no relationship survey answers to anchor customers on")
    out = first.rename(columns={"response_date": "anchor_date", "csat": "csat_overall"})
    for score in ("csat", "ces"):
        sub = per_org[per_org["score"] == score]
        if sub.empty:
            continue
        mean = sub.pivot(index="customer_id", columns="organisation", values="mean")
        count = sub.pivot(index="customer_id", columns="organisation", values="n")
        for org in mean.columns:
            out[f"{score}_{org}"] = mean[org].reindex(out.index)
            out[f"n_{score}_{org}"] = count[org].reindex(out.index).fillna(0).astype(int)
    if tp is not None:
        fcr = events.contact_resolution(tp, "customer_kpis")
        out["first_contact_resolution"] = fcr["fcr"].reindex(out.index)
        out["n_first_contact_resolution"] = fcr["n"].reindex(out.index).fillna(0).astype(int)

    c = cust.set_index("customer_id")
    c = c.reindex(out.index)
    out["plan"] = c["plan"] if "plan" in c else np.nan
    out["segment"] = c["segment"] if "segment" in c else np.nan
    out["acquisition_channel"] = c["acquisition_channel"] if "acquisition_channel" in c else np.nan
    out["tenure_at_anchor_months"] = ((out["anchor_date"] - c["signup_date"]).dt.days / 30.44
                                      ).round(1)
    horizon_end = out["anchor_date"] + pd.DateOffset(months=horizon_months)
    left = c["churned"].astype(bool) & (c["churn_date"] <= horizon_end)
    known = horizon_end <= end
    out["retained"] = pd.Series(np.where(left, 0.0, 1.0), index=out.index).where(known | left)
    out["monthly_revenue"] = (pd.to_numeric(c["monthly_revenue"], errors="coerce").astype(float)
                              if "monthly_revenue" in c else np.nan)
    out["annual_revenue"] = 12 * out["monthly_revenue"]
    out.attrs["horizon_months"] = horizon_months
    return out


ANSWER_COLUMNS = ["customer_id", "response_date", "organisation", "nps", "csat", "ces"]
"""Answer columns the KPI table needs, with ``survey_type`` (transactional answers give the
touchpoint KPIs, relationship answers the anchor)."""
ANCHOR_ITEMS = ("nps", "expectation_met", "csat", *RATIONAL_ITEMS, *EMOTIONAL_ITEMS)


def _answers(resp: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp]:
    """From the answers: each customer's first relationship answer (``response_date`` and
    the items as floats, indexed by ``customer_id``), transactional ``mean`` and ``n`` per
    customer x organisation x ``score`` (csat, ces), and the last answer date."""
    _need(resp, "responses", ANSWER_COLUMNS + ["survey_type"])
    rel = resp[resp["survey_type"] == "relationship"].sort_values(["customer_id", "response_date"])
    first = rel.drop_duplicates("customer_id", keep="first").set_index("customer_id")
    items = [c for c in ANCHOR_ITEMS if c in first.columns]
    first = first[["response_date", *items]].copy()
    for col in items:
        first[col] = pd.to_numeric(first[col], errors="coerce").astype(float)
    tr = resp[resp["survey_type"] == "transactional"]
    parts = []
    for score in ("csat", "ces"):
        sub = tr[tr[score].notna()]
        g = sub.assign(_v=sub[score].astype(float)).groupby(["customer_id", "organisation"])["_v"]
        parts.append(pd.DataFrame({"mean": g.mean(), "n": g.count()}).reset_index()
                     .assign(score=score))
    return first, pd.concat(parts, ignore_index=True), pd.Timestamp(resp["response_date"].max())


SAMPLE_SPEC = """\
# The sample company's KPI model (lavaan-style; see docs/kpimodel.md).
# Each organisation's touchpoint KPIs form the integrated CX index (composite, Mode B):
CXI <~ csat_stores + csat_web + ces_web + csat_contact_centre + ces_contact_centre + first_contact_resolution + expectation_met
# Relationship-survey constructs (reflective, Mode A):
EMO =~ emo_trust + emo_valued + emo_pride + emo_attachment
RAT =~ rat_value + rat_quality + rat_convenience
# The index drives emotional attachment and rational satisfaction:
EMO ~ CXI
RAT ~ CXI
"""
"""Default model of notebook 04 on the sample company's customer KPI table."""
