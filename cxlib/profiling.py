"""The data profile: what a dataset holds and which report sections it supports.

``cxlib.profile(source)`` reads a dataset (a folder, a ``cx.yml``, a
:class:`~cxlib.dataset.Dataset`, or tables already loaded) and returns a
:class:`DataProfile`: tables found, rows, date ranges, mapped columns, scales,
missingness, and for every section of :data:`cxlib.sections.SECTIONS` whether its inputs
exist, with the reason naming the missing table or column when not.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .dataset import Dataset, load_description, load_tables
from .errors import ParameterError
from .results import Result
from .sections import HORIZON_MIN_N, NOTEBOOK_NEEDS, NOTEBOOK_TITLES, SECTIONS, SPARSE, Section
from .snapshot import DAYS_PER_MONTH

__all__ = ["profile", "DataProfile", "DATE_COLUMNS"]

DATE_COLUMNS = {"customers": "signup_date", "responses": "response_date",
                "touchpoints": "timestamp", "kpis": "month", "financials": "month"}
"""The date column that spans each table."""

_SCORE_NAMES = {"nps": "NPS", "csat": "CSAT", "ces": "CES", "expectation_met": "expectation met"}


class _Facts:
    """Answers to the needs of sections, computed once per profile."""

    def __init__(self, tables: Mapping[str, pd.DataFrame], dataset: Dataset):
        self.tables, self.dataset = tables, dataset
        self._cache: dict[str, tuple[bool, str]] = {}

    def answered(self, table: str, column: str) -> bool:
        frame = self.tables.get(table)
        return frame is not None and column in frame.columns and bool(frame[column].notna().any())

    def _items(self, construct: str | None) -> list[str]:
        names = (self.dataset.items if construct is None
                 else self.dataset.construct_items(construct))
        return [n for n in names if self.answered("responses", n)]

    def _survey_has(self) -> str:
        scores = [_SCORE_NAMES[s] for s in _SCORE_NAMES if self.answered("responses", s)]
        items = self._items(None)
        if not scores and not items:
            return "no scores"
        if not items:
            return f"{' and '.join(scores)} only"
        return f"{len(items)} ({', '.join(items)})"

    def check(self, need: str) -> tuple[bool, str]:
        """(holds, what is missing) for one need."""
        if need not in self._cache:
            self._cache[need] = self._check(need)
        return self._cache[need]

    def _check(self, need: str) -> tuple[bool, str]:
        present = ", ".join(self.tables) or "no tables"
        if need.startswith("@"):
            kind, _, arg = need[1:].partition(":")
            k = int(arg) if arg else 0
            if kind in ("items", "rational", "emotional"):
                found = self._items(None if kind == "items" else kind)
                what = ("rated item" if kind == "items" else f"{kind} item") + "s" * (k != 1)
                if "responses" not in self.tables:
                    return False, f"at least {_count(k)} {what} in a responses table; " \
                                  "there is none"
                return len(found) >= k, (f"at least {_count(k)} {what}; this survey has "
                                         + (self._survey_has() if kind == "items"
                                            else f"{len(found)}"))
            if kind == "linked":
                if not (self.answered("responses", "customer_id")
                        and self.answered("customers", "customer_id")):
                    missing = [t for t in ("responses", "customers")
                               if not self.answered(t, "customer_id")]
                    return False, ("answers linked to customers by 'customer_id'; it is not in "
                                   + " or ".join(missing))
                known = self.tables["responses"]["customer_id"].isin(
                    self.tables["customers"]["customer_id"])
                return bool(known.any()), ("answers linked to customers; no answer's "
                                           "customer_id is in the customers table")
            if kind == "months":
                if not self.answered("responses", "response_date"):
                    return False, "answer dates (column 'response_date' in responses)"
                months = self.tables["responses"]["response_date"].dt.to_period("M").nunique()
                return months >= k, f"answers in at least {k} months; the data span {months}"
            if kind == "repeat":
                if not self.answered("responses", "customer_id"):
                    return False, "customers who answered more than once (no 'customer_id')"
                ids = self.tables["responses"]["customer_id"].dropna()
                return bool(ids.duplicated().any()), ("customers who answered more than once; "
                                                      "each answered once")
            if kind == "horizon":
                return self._horizon(k)
            raise ParameterError(f"profile: unknown need {need!r} in cxlib.sections")
        options = need.split("|")
        if any(self._one(o) for o in options):
            return True, ""
        if len(options) == 1:
            return False, self._missing(options[0], present)
        table = options[0].split(".")[0]
        cols = [o.split(".", 1)[1] for o in options]
        if table not in self.tables:
            return False, f"the {table} table ({' or '.join(map(repr, cols))}); the data have " \
                          f"{present}"
        return False, (f"column {' or '.join(map(repr, cols))} in {table}; "
                       f"{table} has {'neither' if len(cols) == 2 else 'none of them'}")

    def _horizon(self, months: int) -> tuple[bool, str]:
        """Whether churn within ``months`` of each customer's first answer is known for
        enough customers, with both outcomes (as :func:`cxlib.segments.survey_panel` counts)."""
        what = (f"at least {HORIZON_MIN_N} surveyed customers whose churn within {months} "
                "months of their first answer is known, some churned and some not")
        needed = [("responses", "customer_id"), ("responses", "response_date"),
                  ("customers", "customer_id"), ("customers", "churned"),
                  ("customers", "signup_date")]
        if not all(self.answered(t, c) for t, c in needed):
            return False, f"{what}; the data lack dates, churn or linked customer ids"
        answers, customers = self.tables["responses"], self.tables["customers"]
        first = answers.dropna(subset=["customer_id", "response_date"]).groupby(
            "customer_id")["response_date"].min().rename("answered").reset_index()
        churn_date = (customers["churn_date"] if "churn_date" in customers.columns
                      else pd.Series(pd.NaT, index=customers.index))
        cust = pd.DataFrame({"customer_id": customers["customer_id"],
                             "churned": customers["churned"].astype("boolean").fillna(False),
                             "churn_date": churn_date})
        panel = first.merge(cust, on="customer_id", how="inner")
        end = max(customers["signup_date"].max(), churn_date.max(),
                  answers["response_date"].max())
        before = panel["churned"] & (panel["churn_date"] < panel["answered"]).fillna(False)
        panel = panel[~before.to_numpy(dtype=bool)]  # not at risk after the survey
        gone = panel["churned"].to_numpy(dtype=bool) & (panel["churn_date"] <= end).to_numpy(
            dtype=bool)
        followup = (panel["churn_date"].where(gone, end) - panel["answered"]).dt.days \
            / DAYS_PER_MONTH
        within = followup <= months
        churned, stayed = int((gone & within).sum()), int((~within).sum())
        ok = churned + stayed >= HORIZON_MIN_N and churned > 0 and stayed > 0
        return ok, f"{what}; the data have {churned:,} churned and {stayed:,} who stayed"

    def _one(self, need: str) -> bool:
        table, _, column = need.partition(".")
        return table in self.tables if not column else self.answered(table, column)

    def _missing(self, need: str, present: str) -> str:
        table, _, column = need.partition(".")
        if table not in self.tables:
            return f"the {table} table; the data have {present}"
        if column not in self.tables[table].columns:
            return f"column {column!r} in {table}; {table} has no {column!r}"
        return f"answers in column {column!r} of {table}; it is empty"

    def rows(self, section: Section) -> tuple[str, int]:
        """(table, rows with every needed column of the section's first table answered)."""
        first = next((n.split("|")[0].split(".")[0] for n in section.needs
                      if not n.startswith("@")), "responses")
        frame = self.tables.get(first)
        if frame is None:
            return first, 0
        mask = pd.Series(True, index=frame.index)
        for need in section.needs:
            if need.startswith("@items") or need.startswith(("@rational", "@emotional")):
                kind = need[1:].split(":")[0]
                cols = self._items(None if kind == "items" else kind)
                mask &= frame[cols].notna().all(axis=1) if cols else True
                continue
            cols = [o.split(".", 1)[1] for o in need.split("|")
                    if o.startswith(first + ".") and o not in SPARSE]
            cols = [c for c in cols if c in frame.columns]
            if cols:
                mask &= frame[cols].notna().any(axis=1)
        return first, int(mask.sum())


def _count(k: int) -> str:
    return {1: "one", 2: "two", 3: "three"}.get(k, str(k))


@dataclass(repr=False)
class DataProfile(Result):
    """What a dataset holds and which report sections it supports (see module doc).

    ``tables``: one row per table (source, rows, columns, first and last date);
    ``columns``: one row per column (where it came from, its scale, answers, missing share);
    ``sections``: one row per report section (``supported`` and the ``reason`` if not).
    """

    dataset: Dataset
    tables: pd.DataFrame
    columns: pd.DataFrame
    sections: pd.DataFrame
    notebooks: pd.DataFrame

    def summary(self) -> pd.DataFrame:
        """The sections table: notebook, section, title, supported, reason."""
        return self.sections.copy()

    def supports(self, notebook: str, section: str) -> bool:
        """Whether the data have the inputs of ``section`` of ``notebook`` ("01", "key_drivers")."""
        return bool(self._row(notebook, section)["supported"])

    def reason(self, notebook: str, section: str) -> str:
        """Why a section is not supported (empty when it is)."""
        return str(self._row(notebook, section)["reason"])

    def runs(self, notebook: str) -> bool:
        """Whether a notebook's minimum inputs are present."""
        row = self.notebooks[self.notebooks["notebook"] == notebook]
        if row.empty:
            raise ParameterError(f"unknown notebook {notebook!r}; notebooks: "
                           f"{', '.join(self.notebooks['notebook'])}")
        return bool(row["supported"].iat[0])

    def _row(self, notebook: str, section: str) -> pd.Series:
        hit = self.sections[(self.sections["notebook"] == notebook)
                            & (self.sections["section"] == section)]
        if hit.empty:
            known = self.sections.loc[self.sections["notebook"] == notebook, "section"]
            raise ParameterError(f"unknown section {notebook}/{section}; sections of {notebook}: "
                           f"{', '.join(known) or 'none (unknown notebook)'}")
        return hit.iloc[0]

    def headline(self) -> str:
        parts = [f"{r.table} {r.rows:,} rows" + (
            f" ({r.first_date:%Y-%m-%d} to {r.last_date:%Y-%m-%d})"
            if pd.notna(r.first_date) else "") for r in self.tables.itertuples()]
        ok = int(self.sections["supported"].sum())
        runs = self.notebooks.loc[self.notebooks["supported"], "notebook"].tolist()
        rows = int(self.tables["rows"].sum()) if len(self.tables) else 0
        return (f"{len(self.tables)} table(s): {'; '.join(parts) or 'none'}. {ok} of "
                f"{len(self.sections)} report sections have their inputs; notebooks that can "
                f"run: {', '.join(runs) or 'none'} (n = {rows:,} rows in all; no interval: "
                f"a profile counts, it estimates nothing)")

    def plot(self) -> Any:
        """Share of rows answered per column, by table (bars; labels escaped)."""
        import plotly.graph_objects as go

        from .plots import escape_label, style

        c = self.columns.sort_values(["table", "answered_share"], ascending=[False, True])
        labels = [escape_label(f"{t}.{col}") for t, col in zip(c["table"], c["column"])]
        fig = go.Figure(go.Bar(x=100 * c["answered_share"], y=labels, orientation="h",
                               hovertemplate="%{y}: %{x:.1f}% answered<extra></extra>"))
        style(fig, showlegend=False, xaxis_title="rows answered (%)",
              title=escape_label(self.headline().split(". ")[-1]),
              height=max(300, 18 * len(c) + 120))
        return fig

    def to_html(self) -> str:
        """A report page fragment: headline, sections, tables and columns (all escaped)."""
        def table(frame: pd.DataFrame) -> str:
            return frame.to_html(index=False, escape=True, na_rep="", border=0)

        return "\n".join([
            f"<p>{html.escape(self.headline())}</p>",
            "<h2>Notebooks</h2>", table(self.notebooks),
            "<h2>Report sections</h2>", table(self.sections),
            "<h2>Tables</h2>", table(self.tables),
            "<h2>Columns</h2>", table(self.columns)])


def _tables_frame(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    rows = []
    for name, frame in tables.items():
        col = DATE_COLUMNS.get(name)
        dates = frame[col] if col in frame.columns and pd.api.types.is_datetime64_any_dtype(
            frame[col].dtype) else pd.Series(dtype="datetime64[ns]")
        rows.append({"table": name, "source": frame.attrs.get("source", ""),
                     "kind": frame.attrs.get("kind", "table"),
                     "platform": frame.attrs.get("platform") or "",
                     "rows": len(frame), "columns": frame.shape[1],
                     "first_date": dates.min(), "last_date": dates.max()})
    return pd.DataFrame(rows, columns=["table", "source", "kind", "platform", "rows", "columns",
                                       "first_date", "last_date"])


def _columns_frame(tables: Mapping[str, pd.DataFrame], dataset: Dataset) -> pd.DataFrame:
    scales = dataset.scales()
    flipped = set(dataset.reversed_columns())
    rows = []
    for name, frame in tables.items():
        mapped = frame.attrs.get("columns_from", {})
        filled = set(frame.attrs.get("filled", []))
        for col in frame.columns:
            n = int(frame[col].notna().sum())
            scale = scales.get(col) if name == "responses" else None
            rows.append({
                "table": name, "column": col,
                "from": "(filled)" if col in filled else mapped.get(col, col),
                "scale": f"{scale[0]}-{scale[1]}" + (" reversed" if col in flipped else "")
                if scale else "",
                "answered": n, "answered_share": n / len(frame) if len(frame) else 0.0,
                "missing_share": 1 - n / len(frame) if len(frame) else 0.0})
    return pd.DataFrame(rows, columns=["table", "column", "from", "scale", "answered",
                                       "answered_share", "missing_share"])


def _sections_frame(facts: _Facts) -> pd.DataFrame:
    rows = []
    for s in SECTIONS:
        reasons = [why for ok, why in map(facts.check, s.needs) if not ok]
        if not reasons and s.min_n > 1:
            table, n = facts.rows(s)
            if n < s.min_n:
                reasons = [f"at least {s.min_n} {table} rows with every input answered; "
                           f"the data have {n}"]
        verb = "need" if s.plural else "needs"
        rows.append({"notebook": s.notebook, "section": s.key, "title": s.title,
                     "supported": not reasons,
                     "reason": f"{s.title} {verb} {reasons[0]}" if reasons else ""})
    return pd.DataFrame(rows)


def _notebooks_frame(facts: _Facts) -> pd.DataFrame:
    rows = []
    for nb, needs in NOTEBOOK_NEEDS.items():
        reasons = [why for ok, why in map(facts.check, needs) if not ok]
        rows.append({"notebook": nb, "title": NOTEBOOK_TITLES[nb], "supported": not reasons,
                     "reason": f"notebook {nb} needs {reasons[0]}" if reasons else ""})
    return pd.DataFrame(rows)


def profile(source: Path | str | Dataset | Mapping[str, pd.DataFrame] | None = None,
            dataset: Dataset | None = None) -> DataProfile:
    """Profile a dataset: a folder or ``cx.yml`` (None: the sample), a Dataset, or tables
    already loaded (then ``dataset`` gives their scales and items; default: the sample's).

    Reading the tables validates them: data that are present and invalid raise DataError.
    """
    if isinstance(source, Mapping):
        tables = dict(source)
        dataset = dataset or Dataset.default()
    else:
        dataset = source if isinstance(source, Dataset) else load_description(source)
        tables = load_tables(dataset)
    facts = _Facts(tables, dataset)
    return DataProfile(dataset, _tables_frame(tables), _columns_frame(tables, dataset),
                       _sections_frame(facts), _notebooks_frame(facts))
