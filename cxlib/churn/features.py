"""A customer feature table at a snapshot date, without leakage, and a churn label after it.

Everything in a feature is known before the snapshot: customers active at the snapshot
(signed up before it, not churned before it), their events and survey answers dated
before it. The label is "churned in [snapshot, snapshot + horizon)". Columns of the
customers table that describe the end of the data rather than the snapshot (``churned``,
``churn_date``, cumulative ``revenue``, ``share_of_wallet`` of unknown date) are never
used; ``monthly_revenue`` is read as the contracted monthly price (assumed unchanged by
what happens after the snapshot) and spend to date is price x tenure.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import DataError, StatisticalWarning
from ..sections import SECTIONS, SKIPPED
from ..snapshot import DAYS_PER_MONTH, STATIC_COLUMNS, feature_window
from ..vocab import EMOTIONAL_ITEMS, RATIONAL_ITEMS

__all__ = ["build_features", "FEATURE_DESCRIPTIONS", "ChurnData", "from_tables",
           "from_customer_table", "DAYS_PER_MONTH"]

CONTACT_TYPES = ("contact", "repeat_contact")

FEATURE_DESCRIPTIONS: dict[str, str] = {
    "tenure_months": "months since signup at the snapshot",
    "first_year": "1 if tenure is under 12 months at the snapshot",
    "renewal_in_horizon": "1 if a 12-month anniversary (renewal) falls inside the horizon",
    "acquisition_channel": "how the customer was acquired",
    "plan": "product plan", "segment": "customer segment", "region": "region",
    "monthly_revenue": "contracted monthly revenue (currency)",
    "spend_to_date": "monthly revenue x tenure months (currency)",
    "latest_nps": "latest 0-10 recommend answer before the snapshot (any survey)",
    "emotional_score": "mean of the emotional items (1-5) in the latest relationship survey",
    "rational_score": "mean of the rational items (1-5) in the latest relationship survey",
    "expectation_gap": "3 - expectation_met (1-5) in the latest answer: > 0 = below what was "
                       "promised",
    "expectation_gap_first_year": "positive part of the expectation gap while in the first year",
    "contacts_recent": "first contacts about an issue in the window before the snapshot",
    "contacts_total": "first contacts about an issue since signup",
    "repeat_contacts_30d": "contacts in the window that follow another contact within 30 days",
    "unresolved_recent": "first contacts not resolved on first contact, in the window",
    "complaints_recent": "complaints in the window",
    "complaints_total": "complaints since signup",
    "days_since_contact": "days since the last contact (since signup if none)",
    "days_since_event": "days since the last recorded interaction of any kind",
}


def _data_end(tables: Mapping[str, pd.DataFrame]) -> pd.Timestamp:
    dates = [tables["customers"]["signup_date"].max(), tables["customers"]["churn_date"].max()]
    if "touchpoints" in tables:
        dates.append(tables["touchpoints"]["timestamp"].max())
    if "responses" in tables:
        dates.append(tables["responses"]["response_date"].max())
    return max(d for d in dates if pd.notna(d))


def _latest(frame: pd.DataFrame, date_col: str, cols: Sequence[str]) -> pd.DataFrame:
    """Per customer, the values of ``cols`` in the latest row where all of them are present."""
    sub = frame.dropna(subset=list(cols)).sort_values([date_col], kind="stable")
    return sub.groupby("customer_id", sort=False)[list(cols)].last()


def build_features(tables: Mapping[str, pd.DataFrame], snapshot: str | pd.Timestamp,
                   horizon: int | str | pd.DateOffset = 6, window_days: int = 90,
                   static: Sequence[str] = STATIC_COLUMNS) -> pd.DataFrame:
    """Customer features at ``snapshot`` and the label ``churned_in_horizon``.

    ``tables`` needs ``customers``; ``touchpoints`` and ``responses`` add contact and survey
    features when present. ``horizon`` is in months (or a pandas offset / timedelta text);
    ``window_days`` is the "recent" window for contacts and complaints (the sample's
    unresolved contacts raise churn for three months). ``static`` names customer columns
    fixed at signup. Returns one row per customer active at the snapshot: ``customer_id``,
    the features in :data:`FEATURE_DESCRIPTIONS` that the tables allow, and
    ``churned_in_horizon`` (0/1). ``attrs`` records snapshot, horizon end and notes.

    ``tables`` may be :func:`cxlib.open_data`: the whole build then runs in the engine
    (:func:`cxlib.engine.build_features`, rows sorted by ``customer_id``).
    """
    from .. import engine  # the engine lies below the analyses; loaded only when used

    if engine.touchpoints.is_pushed_down(tables):
        return engine.build_features(tables.source, snapshot, horizon, window_days, static)
    if "customers" not in tables:
        raise DataError("build_features: tables need a 'customers' table")
    cust = tables["customers"]
    for col in ("customer_id", "signup_date", "churned", "churn_date"):
        if col not in cust.columns:
            raise DataError(f"build_features: customers table lacks column {col!r}")
    snap, stop, notes = feature_window(snapshot, horizon, _data_end(tables), "build_features")

    churn_date = cust["churn_date"].where(cust["churned"].astype("boolean").fillna(False))
    active = (cust["signup_date"] < snap) & (churn_date.isna() | (churn_date >= snap))
    base = cust.loc[active.to_numpy()].reset_index(drop=True)
    cd = churn_date.loc[active.to_numpy()].reset_index(drop=True)
    if base.empty:
        raise DataError(f"build_features: no customer is active at the snapshot {snap.date()}")
    ids = base["customer_id"]

    out = pd.DataFrame({"customer_id": ids})
    tenure_days = (snap - base["signup_date"]).dt.total_seconds() / 86400
    out["tenure_months"] = tenure_days / DAYS_PER_MONTH
    out["first_year"] = (out["tenure_months"] < 12).astype(int)
    # next anniversary (in whole years of 365.25 days) before the end of the horizon
    next_anniv = np.ceil(tenure_days / 365.25).clip(lower=1) * 365.25
    horizon_days = (stop - snap).total_seconds() / 86400
    out["renewal_in_horizon"] = (next_anniv < tenure_days + horizon_days).astype(int)
    for col in static:
        if col in base.columns:
            out[col] = base[col].astype("object").where(base[col].notna(), None)
    if "monthly_revenue" in base.columns:
        out["monthly_revenue"] = pd.to_numeric(base["monthly_revenue"], errors="coerce")
        out["spend_to_date"] = out["monthly_revenue"] * out["tenure_months"]

    if "responses" in tables:
        resp = tables["responses"]
        resp = resp[(resp["response_date"] < snap) & resp["customer_id"].isin(ids)]
        if "nps" in resp.columns:
            out["latest_nps"] = ids.map(_latest(resp, "response_date", ["nps"])["nps"]
                                        ).astype(float)
        for name, items in (("emotional_score", EMOTIONAL_ITEMS),
                            ("rational_score", RATIONAL_ITEMS)):
            present = [c for c in items if c in resp.columns]
            if present:
                latest = _latest(resp, "response_date", present).astype(float).mean(axis=1)
                out[name] = ids.map(latest).astype(float)
        if "expectation_met" in resp.columns:
            met = _latest(resp, "response_date", ["expectation_met"])["expectation_met"]
            out["expectation_gap"] = 3.0 - ids.map(met).astype(float)
            out["expectation_gap_first_year"] = out["expectation_gap"].clip(lower=0) * out[
                "first_year"]

    if "touchpoints" in tables:
        tp = tables["touchpoints"]
        tp = tp[(tp["timestamp"] < snap) & tp["customer_id"].isin(ids)]
        recent = tp["timestamp"] >= snap - pd.Timedelta(days=window_days)
        first = tp["event_type"] == "contact"
        contact_like = tp[tp["event_type"].isin(CONTACT_TYPES)].sort_values(
            ["customer_id", "timestamp"], kind="stable")
        gap = contact_like.groupby("customer_id")["timestamp"].diff()
        repeat = gap.notna() & (gap <= pd.Timedelta(days=30)) & (
            contact_like["timestamp"] >= snap - pd.Timedelta(days=window_days))

        def count(mask: pd.Series, frame: pd.DataFrame = tp) -> pd.Series:
            return ids.map(frame.loc[mask, "customer_id"].value_counts()).fillna(0).astype(int)

        out["contacts_recent"] = count(first & recent)
        out["contacts_total"] = count(first)
        out["repeat_contacts_30d"] = count(repeat, contact_like)
        if "resolved_first_contact" in tp.columns:
            unresolved = first & tp["resolved_first_contact"].astype("boolean").eq(False).fillna(
                False)
            out["unresolved_recent"] = count(unresolved & recent)
        out["complaints_recent"] = count((tp["event_type"] == "complaint") & recent)
        out["complaints_total"] = count(tp["event_type"] == "complaint")
        last_contact = ids.map(contact_like.groupby("customer_id")["timestamp"].max())
        since = (snap - last_contact).dt.total_seconds() / 86400
        out["days_since_contact"] = since.fillna(tenure_days)
        last_event = ids.map(tp.groupby("customer_id")["timestamp"].max())
        out["days_since_event"] = ((snap - last_event).dt.total_seconds() / 86400).fillna(
            tenure_days)

    out["churned_in_horizon"] = (cd.notna() & (cd < stop)).astype(int).to_numpy()
    out.attrs.update(snapshot=str(snap.date()), horizon_end=str(stop.date()),
                     window_days=window_days, notes=notes, target="churned_in_horizon")
    return out


# -- one entry for the notebook: our tables, or any customer table with a churn flag ---------

@dataclass
class ChurnData:
    """What the churn notebook works on, whatever the source.

    ``features``: one row per customer with ``target`` (0/1) and candidate features;
    ``survival``: ``customer_id, duration`` (months), ``event`` and grouping columns;
    ``groups``: grouping columns present (channel, cohort, segment...);
    ``money``: ``customer_id`` and ``monthly_revenue`` (may be empty).
    """

    features: pd.DataFrame
    target: str
    survival: pd.DataFrame
    groups: list[str]
    source: str
    notes: list[str] = field(default_factory=list)
    tables: Mapping[str, pd.DataFrame] | None = field(default=None, repr=False)

    def missing(self, section: str) -> str:
        """Why a section of the churn notebook cannot run on these data ("" when it can), as
        :func:`cxlib.sections.note` words it. For a customer table read outside the contract,
        which has no data profile; contract tables are judged by their profile."""
        lacks = {"survival": self._lacks_durations(), "cox": self._lacks_durations(),
                 "expectation_gap": "" if self.tables else
                 "needs the customers and responses tables of the contract; a customer table "
                 "has no survey answers",
                 "revenue_at_risk": self._lacks_revenue(), "contact_list": self._lacks_revenue()
                 }.get(section, "")
        if not lacks:
            return ""
        title = next(s.title for s in SECTIONS if s.notebook == "03" and s.key == section)
        return f"{SKIPPED}{title} {lacks}."

    def runs(self, section: str) -> bool:
        """Whether a section has its inputs; when not, prints :meth:`missing` (as
        :func:`cxlib.sections.runs` does with a profile)."""
        why = self.missing(section)
        if why:
            print(why)
        return not why

    def _lacks_durations(self) -> str:
        if self.survival.empty:
            return "needs months to churn or to now (map a column to 'tenure_months')"
        if not self.groups:
            return "needs a grouping column (text with 2-12 levels)"
        return ""

    def _lacks_revenue(self) -> str:
        return "" if "monthly_revenue" in self.features else (
            "needs monthly revenue (map a column to 'monthly_revenue')")

    def pick_group(self, wanted: str = "") -> str:
        """``wanted`` if it is a grouping column of these data, else the first one available."""
        if wanted and wanted in self.groups:
            return wanted
        if wanted:
            warnings.warn(f"group {wanted!r} is not in the data; using "
                          f"{self.groups[0] if self.groups else 'none'} (available: "
                          f"{', '.join(self.groups)})", StatisticalWarning, stacklevel=2)
        if not self.groups:
            raise DataError("no grouping column (text with 2-12 levels) in the data")
        return self.groups[0]


def _cohort(dates: pd.Series) -> pd.Series:
    return dates.dt.year.astype("Int64").astype(str).where(dates.notna(), None)


def from_tables(tables: Mapping[str, pd.DataFrame], snapshot: str | pd.Timestamp,
                horizon: int = 6, window_days: int = 90) -> ChurnData:
    """Contract tables: features at ``snapshot`` and survival over the whole history."""
    from ..survival import durations

    feats = build_features(tables, snapshot, horizon, window_days=window_days)
    surv = durations(tables["customers"], unit="months")
    surv["signup_cohort"] = _cohort(surv["signup_date"])
    groups = [c for c in ("acquisition_channel", "signup_cohort", "segment", "plan")
              if c in surv.columns]
    return ChurnData(feats, "churned_in_horizon", surv, groups,
                     f"contract tables, snapshot {feats.attrs['snapshot']}, horizon "
                     f"{horizon} months", list(feats.attrs["notes"]), tables)


CUSTOMER_TABLE_ROLES = ("customer_id", "churned", "tenure_months", "monthly_revenue")


def from_customer_table(frame: pd.DataFrame, column_map: Mapping[str, str] | None = None
                        ) -> ChurnData:
    """Any customer table with a churn flag: rename its columns to ours and describe it.

    ``column_map`` maps the table's column names to our roles: ``customer_id``,
    ``churned`` (required; true/false, 0/1 or Yes/No), ``tenure_months`` (enables the
    survival curves: months to churn or to now) and ``monthly_revenue`` (enables revenue at
    risk). Text columns with at most 12 levels become survival groups. Every other column is
    a candidate feature, as it is.
    """
    column_map = dict(column_map or {})
    unknown = [k for k in column_map if k not in frame.columns]
    if unknown:
        raise DataError(f"from_customer_table: column_map names column(s) not in the table: "
                        f"{', '.join(map(repr, unknown))} (columns: {', '.join(frame.columns)})")
    bad_roles = [v for v in column_map.values() if v not in CUSTOMER_TABLE_ROLES]
    if bad_roles:
        raise DataError(f"from_customer_table: unknown role(s) {', '.join(map(repr, bad_roles))};"
                        f" roles are {', '.join(CUSTOMER_TABLE_ROLES)}")
    data = frame.rename(columns=column_map)
    if "churned" not in data.columns:
        raise DataError("from_customer_table: no churn flag; map one column to 'churned' "
                        "(column_map={'Churn': 'churned'})")
    from .models import binary_target
    data = data.assign(churned=binary_target(data["churned"], "churned"))
    if "customer_id" not in data.columns:
        data.insert(0, "customer_id", [f"row{i + 1}" for i in range(len(data))])
    data["customer_id"] = data["customer_id"].astype(str)
    notes = []
    groups = [c for c in data.columns
              if c not in ("customer_id", "churned") and not pd.api.types.is_numeric_dtype(
                  data[c].dtype) and 2 <= data[c].nunique() <= 12]
    if "tenure_months" in data.columns:
        tenure = pd.to_numeric(data["tenure_months"], errors="coerce")
        ok = tenure.notna() & (tenure >= 0)
        if not ok.all():
            notes.append(f"{int((~ok).sum())} rows without a usable tenure are left out of the "
                         "survival curves")
        surv = pd.DataFrame({"customer_id": data["customer_id"], "duration": tenure,
                             "event": data["churned"]})
        extra = groups + [c for c in ("monthly_revenue",) if c in data.columns]
        surv = pd.concat([surv, data[extra]], axis=1).loc[ok.to_numpy()].reset_index(drop=True)
    else:
        notes.append("no tenure column mapped: survival curves are not available")
        surv = pd.DataFrame(columns=["customer_id", "duration", "event"])
    surv.attrs["unit"] = "months"
    return ChurnData(data, "churned", surv, groups, "customer table", notes)
