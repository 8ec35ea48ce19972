"""What each report section needs from the data, declared once.

A section of a notebook runs when every one of its ``needs`` holds; otherwise the data
profile (:func:`cxlib.profile`) gives the reason naming what is missing. A need is:

- ``"customers"``: the table is present;
- ``"responses.nps"``: the column is present and has answers;
- ``"responses.nps|responses.csat"``: any one of them;
- ``"@items:2"``: at least 2 rated items of the description have answers (``@rational:2``,
  ``@emotional:2``: of that construct);
- ``"@linked"``: answers name customers of the customer table (``customer_id`` in both);
- ``"@months:3"``: answers (``response_date``) in at least 3 calendar months;
- ``"@repeat"``: some customers answered more than once;
- ``"@horizon"``: churn within the notebook's ``horizon_months`` of each customer's first
  answer is known for at least ``HORIZON_MIN_N`` customers (churned in time, or followed
  that long), with both outcomes (the churn models cannot be fitted on one outcome);
  ``sections.runs(profile, "02", "churn_test", horizon_months=horizon_months)`` passes the
  notebook's parameter (without it: ``HORIZON_MONTHS``); ``"@horizon:6"``: fixed at 6.

``min_n``: the least number of rows of the section's first table with every column it needs
from that table answered (except ``SPARSE`` columns, empty by design for most rows).
``NOTEBOOK_NEEDS`` are the minimum inputs of each notebook.

In a notebook, ``if sections.runs(data.profile, "01", "trend"):`` guards a section: when its
inputs are absent it prints one sentence saying what is missing and the section is skipped.
``sections.runs(data.profile, "02")`` guards a whole notebook: without its minimum inputs it
prints the note and every later cell of the notebook is skipped (it stays in the report,
runs nothing and shows nothing).
"""

from __future__ import annotations

import os

from dataclasses import dataclass
from typing import Any

__all__ = ["Section", "SECTIONS", "NOTEBOOK_NEEDS", "NOTEBOOK_TITLES", "SPARSE", "note",
           "runs", "SKIPPED", "HORIZON_MIN_N", "HORIZON_MONTHS"]

SKIPPED = "Skipped: "
"""How every note starts (plain text, never markup: reasons name columns from the data)."""

HORIZON_MIN_N = 30
"""``@horizon``: the least number of customers with a known outcome at the horizon."""

HORIZON_MONTHS = 12
"""``@horizon`` without a horizon given: the default of the notebooks' ``horizon_months``."""

SPARSE = frozenset({"customers.churn_date", "touchpoints.resolved_first_contact",
                    "responses.verbatim", "responses.expectation_met"})
"""Columns empty by design for many rows: not counted against ``min_n``."""


@dataclass(frozen=True)
class Section:
    """One section of a notebook and the data it needs."""

    notebook: str
    key: str
    title: str
    needs: tuple[str, ...]
    min_n: int = 1
    plural: bool = False  # the title reads as a plural ("Key drivers need ...")


NOTEBOOK_TITLES: dict[str, str] = {
    "01": "Survey exploration", "02": "Rational vs emotional satisfaction",
    "03": "Churn", "04": "KPI model", "05": "Pilot evaluation", "06": "Verbatims",
}

NOTEBOOK_NEEDS: dict[str, tuple[str, ...]] = {
    "01": ("responses.nps|responses.csat", "responses.response_date"),
    "02": ("@rational:1", "@emotional:1", "@linked", "customers.churned"),
    "03": ("customers.churned", "customers.signup_date"),
    "04": ("responses.organisation", "responses.csat|responses.ces", "@linked",
           "customers.churned"),
    "05": ("customers.monitor_group", "@linked", "responses.response_date"),
    "06": ("responses",),  # without comments each section says there is nothing to code
}
"""The minimum inputs of each notebook (issue 15): without them it shows only a note."""

_CHURN = ("customers.churned", "customers.signup_date", "customers.churn_date")
_CONSTRUCTS = ("@rational:1", "@emotional:1", "responses.customer_id")
_PANEL = (*_CONSTRUCTS, "responses.response_date", "@linked", *_CHURN)
_TEXT = ("responses.verbatim",)
_KPI_TABLE = (*_CHURN, "responses.organisation", "responses.csat", "responses.ces",
              "responses.nps", "responses.survey_type", "responses.response_id",
              "responses.response_date", "responses.customer_id", "@linked")
# (customers first: min_n counts customers, as the KPI table has one row per customer)
_KPI_MODEL = (*_KPI_TABLE, "@rational:1", "@emotional:1")
_PILOT = ("customers.monitor_group", "responses.response_date", "@linked", "@months:2")

SECTIONS: tuple[Section, ...] = (
    # 01 survey exploration
    Section("01", "who_answered", "The answer counts", ("responses",), plural=True),
    Section("01", "response_rate", "Answers per interaction",
            ("responses.touchpoint", "responses.customer_id", "touchpoints.touchpoint"),
            plural=True),
    Section("01", "nps_headline", "The NPS headline", ("responses.nps",)),
    Section("01", "nps_by_phase", "NPS by journey phase",
            ("responses.nps", "responses.journey_phase")),
    Section("01", "by_touchpoint", "Touchpoint metrics",
            ("responses.touchpoint", "responses.nps|responses.csat|responses.ces"), plural=True),
    Section("01", "by_organisation", "NPS by organisation",
            ("responses.nps", "responses.organisation")),
    Section("01", "csat_ces", "CSAT and CES by organisation",
            ("responses.csat|responses.ces", "responses.organisation")),
    Section("01", "retention", "Retention by acquisition channel",
            (*_CHURN, "customers.acquisition_channel")),
    Section("01", "trend", "The monthly NPS trend",
            ("responses.nps", "responses.response_date", "@months:3")),
    Section("01", "changes", "Significant changes",
            ("responses.nps", "responses.response_date", "@months:2"), plural=True),
    Section("01", "key_drivers", "Key drivers", ("responses.nps", "@items:2"), min_n=100,
            plural=True),
    Section("01", "pain_points", "Pain points",
            ("responses.nps", "responses.organisation", "responses.touchpoint",
             "responses.customer_id", "touchpoints.touchpoint"), plural=True),
    Section("01", "contact_effects", "Contact effects",
            ("responses.nps", "responses.customer_id", "responses.response_date",
             "touchpoints.event_type", "touchpoints.resolved_first_contact"), plural=True),
    Section("01", "comments", "Comments", ("responses.verbatim", "responses.nps"), plural=True),
    Section("01", "sample_size", "Sample-size planning", ("responses.nps",)),
    # 02 rational vs emotional
    Section("02", "item_answers", "The item answers", _CONSTRUCTS, plural=True),
    Section("02", "reliability", "Reliability", ("@rational:2", "@emotional:2"), min_n=30),
    Section("02", "validity", "Discriminant validity", ("@rational:2", "@emotional:2"),
            min_n=30),
    Section("02", "segments", "Segments", _PANEL, min_n=30, plural=True),
    Section("02", "agreement", "Rule and latent profiles", _PANEL, min_n=30, plural=True),
    Section("02", "outcomes", "Segment outcomes", (*_PANEL, "@horizon"), min_n=30,
            plural=True),
    Section("02", "survival", "Retention after the survey", _PANEL, min_n=30),
    Section("02", "churn_test", "The churn test", (*_PANEL, "@horizon"), min_n=30),
    Section("02", "construct_effects", "Construct effects", _PANEL, min_n=30, plural=True),
    Section("02", "movement", "Segment movement", (*_PANEL, "@repeat"), min_n=30),
    # (movement: the segments are fitted on the panel)
    # 03 churn
    Section("03", "model", "The churn model", _CHURN, min_n=50),
    Section("03", "calibration", "Calibration and gains", _CHURN, min_n=50, plural=True),
    Section("03", "drivers", "Churn drivers", _CHURN, min_n=50, plural=True),
    Section("03", "survival", "Survival curves", _CHURN, plural=True),
    Section("03", "cox", "The Cox model",
            (*_CHURN, "customers.plan|customers.segment|customers.acquisition_channel")),
    Section("03", "expectation_gap", "The expectation gap",
            ("responses.expectation_met", "responses.response_date", "@linked", *_CHURN)),
    # (revenue at risk and the contact list rank customers by the churn model's probabilities)
    Section("03", "revenue_at_risk", "Revenue at risk", (*_CHURN, "customers.monthly_revenue"),
            min_n=50),
    Section("03", "contact_list", "The contact list", (*_CHURN, "customers.monthly_revenue"),
            min_n=50),
    # 04 KPI model (the KPI table: kpimodel.customer_kpis; the model on the KPIs present)
    Section("04", "kpi_table", "The customer KPI table", _KPI_TABLE, min_n=50),
    Section("04", "path_model", "The path model", _KPI_MODEL, min_n=50),
    Section("04", "measurement", "Measurement quality",
            (*_KPI_MODEL, "@rational:2", "@emotional:2"), min_n=50),
    Section("04", "index_shares", "Index shares", _KPI_MODEL, min_n=50, plural=True),
    Section("04", "financial_link", "The link to the financials",
            (*_KPI_MODEL, "customers.monthly_revenue"), min_n=50),
    Section("04", "what_if", "The first-contact-resolution what-if",
            (*_KPI_MODEL, "customers.monthly_revenue", "touchpoints.resolved_first_contact"),
            min_n=50),
    Section("04", "index_comparison", "The index comparison",
            (*_KPI_MODEL, "customers.monthly_revenue"), min_n=50),
    Section("04", "ipma", "The importance-performance map", _KPI_MODEL, min_n=50),
    Section("04", "ranking", "The KPI ranking", (*_KPI_MODEL, "customers.monthly_revenue"),
            min_n=50),
    # 05 pilot
    Section("05", "balance", "The balance check", ("customers.monitor_group",)),
    Section("05", "design", "The pilot design", _PILOT),
    Section("05", "effects", "The pilot effects", _PILOT, plural=True),
    Section("05", "pretrends", "The pre-trend check", (*_PILOT, "@months:3")),
    Section("05", "random_control", "The random comparison", _PILOT),
    Section("05", "rollout", "The roll-out value",
            (*_PILOT, "customers.monthly_revenue", "touchpoints.resolved_first_contact",
             "financials.revenue")),
    # 06 verbatims
    Section("06", "writing", "The comment counts", _TEXT, plural=True),
    Section("06", "topics", "Topics and their sentiment", _TEXT, plural=True),
    Section("06", "impact", "Topic impact on NPS", (*_TEXT, "responses.nps")),
    Section("06", "churn", "Topic impact on churn", (*_TEXT, "@linked", "customers.churned")),
    Section("06", "drivers", "Topics as key drivers", (*_TEXT, "responses.nps", "@items:2"),
            min_n=100, plural=True),
    Section("06", "emerging", "Emerging topics", (*_TEXT, "responses.response_date", "@months:4"),
            plural=True),
    Section("06", "suggestions", "Suggested topics", _TEXT, plural=True),
    Section("06", "actions", "The action list", _TEXT),
    Section("06", "risk", "Ranking actions by revenue at risk",
            (*_TEXT, *_CHURN, "customers.monthly_revenue", "@linked"), min_n=50),
)
"""Every section of notebooks 01-06 with its needs (read from the notebooks' calls)."""


def note(profile: Any, notebook: str, section: str | None = None,
         horizon_months: int | None = None) -> str:
    """The sentence shown when a section (or, with no ``section``, a notebook) of
    ``notebook`` lacks its inputs, e.g. "Skipped: Key drivers need at least two rated items;
    this survey has NPS only."; empty when the data support it. ``horizon_months``: the
    notebook's horizon, for sections that need ``@horizon``."""
    if section is None:
        if profile.runs(notebook):
            return ""
        row = profile.notebooks[profile.notebooks["notebook"] == notebook].iloc[0]
        reason = f"{row['reason']}, so none of its sections run"
    else:
        reason = profile.reason(notebook, section, horizon_months)
        if not reason:
            return ""
    return f"{SKIPPED}{reason[:1].upper()}{reason[1:]}."


def runs(profile: Any, notebook: str, section: str | None = None,
         horizon_months: int | None = None) -> bool:
    """Whether a section (or, with no ``section``, the notebook) has its inputs; when not,
    prints :func:`note` and returns False. In a report run (``CX_REPORT_RUN=1``, set by the
    runner for its kernels, one fresh kernel per notebook), a notebook that cannot run skips
    its later cells, so the run succeeds with the note; in JupyterLab nothing is skipped (a
    kernel the analyst keeps must not silently ignore the cells they run next)."""
    text = note(profile, notebook, section, horizon_months)
    if not text:
        return True
    print(text)
    if section is None and os.environ.get("CX_REPORT_RUN") == "1":
        _skip_later_cells()
    return False


def _skip_later_cells() -> None:
    """Every later cell of the running IPython kernel runs as an empty cell."""
    try:
        from IPython import get_ipython
    except ImportError:  # not in IPython: nothing to skip
        return
    shell = get_ipython()
    if shell is not None and _skip not in shell.input_transformers_cleanup:
        shell.input_transformers_cleanup.append(_skip)


def _skip(lines: list[str]) -> list[str]:
    return []
