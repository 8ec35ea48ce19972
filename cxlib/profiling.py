"""The data profile: what a dataset holds and which report sections it supports.

``cxlib.profile(source)`` reads a dataset (a folder, a ``cx.yml``, a
:class:`~cxlib.dataset.Dataset`, or tables already loaded) and returns a
:class:`DataProfile`: tables found, rows, date ranges, mapped columns, scales,
missingness, and for every section of :data:`cxlib.sections.SECTIONS` whether its inputs
exist, with the reason naming the missing table or column when not.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .dataset import Dataset, load_description, load_tables
from .errors import ParameterError
from .results import Result
from .sections import HORIZON_MIN_N, HORIZON_MONTHS, NOTEBOOK_NEEDS, NOTEBOOK_TITLES, SECTIONS, SPARSE, Section
from .snapshot import DAYS_PER_MONTH

__all__ = ["profile", "DataProfile", "DATE_COLUMNS", "save_profile", "load_profile",
           "cached_profile", "RUN_CACHE"]

DATE_COLUMNS = {"customers": "signup_date", "responses": "response_date",
                "touchpoints": "timestamp", "kpis": "month", "financials": "month"}
"""The date column that spans each table."""

HORIZON_COLUMNS = ["months", "churned", "stayed"]
HORIZON_MAX_MONTHS = 240
"""``DataProfile.horizons`` counts outcomes per horizon up to this many months."""

_SCORE_NAMES = {"nps": "NPS", "csat": "CSAT", "ces": "CES", "expectation_met": "expectation met"}


class _Facts:
    """Answers to the needs of sections, computed once per profile."""

    def __init__(self, tables: Mapping[str, pd.DataFrame], dataset: Dataset):
        self.tables, self.dataset = tables, dataset
        self._cache: dict[str, tuple[bool, str]] = {}
        self._horizons: pd.DataFrame | None = None

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
                return horizon_check(self.horizon_counts(), k or HORIZON_MONTHS)
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

    def horizon_counts(self) -> pd.DataFrame:
        """Per horizon in months (1, 2, ...): surveyed customers who churned within it after
        their first answer, and those followed beyond it (as
        :func:`cxlib.segments.survey_panel` counts); empty when the data lack dates, churn
        or linked customer ids."""
        if self._horizons is not None:
            return self._horizons
        needed = [("responses", "customer_id"), ("responses", "response_date"),
                  ("customers", "customer_id"), ("customers", "churned"),
                  ("customers", "signup_date")]
        if not all(self.answered(t, c) for t, c in needed):
            self._horizons = pd.DataFrame(columns=HORIZON_COLUMNS)
            return self._horizons
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
        followup = ((panel["churn_date"].where(gone, end) - panel["answered"]).dt.days
                    / DAYS_PER_MONTH).to_numpy(dtype=float)
        last = int(min(HORIZON_MAX_MONTHS, np.ceil(np.nanmax(followup, initial=0)) + 1))
        months = np.arange(1, last + 1)
        churned = np.searchsorted(np.sort(followup[gone]), months, side="right")
        stayed = len(followup) - np.searchsorted(np.sort(followup), months, side="right")
        self._horizons = pd.DataFrame({"months": months, "churned": churned, "stayed": stayed})
        return self._horizons

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
            if need.startswith(("@items", "@rational", "@emotional")):
                if first != "responses":  # items are answers: counted with answers only
                    continue
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


def horizon_check(horizons: pd.DataFrame, months: int) -> tuple[bool, str]:
    """(holds, what is missing) for ``@horizon`` at ``months``, from
    :meth:`_Facts.horizon_counts`: at least ``HORIZON_MIN_N`` customers with a known outcome,
    both outcomes present."""
    what = (f"at least {HORIZON_MIN_N} surveyed customers whose churn within {months} "
            "months of their first answer is known, some churned and some not")
    if horizons.empty:
        return False, f"{what}; the data lack dates, churn or linked customer ids"
    at = horizons[horizons["months"] <= max(months, 1)].iloc[-1]  # past the last: as the last
    churned, stayed = int(at["churned"]), int(at["stayed"])
    ok = churned + stayed >= HORIZON_MIN_N and churned > 0 and stayed > 0
    return ok, f"{what}; the data have {churned:,} churned and {stayed:,} who stayed"


def _count(k: int) -> str:
    return {1: "one", 2: "two", 3: "three"}.get(k, str(k))


@dataclass(repr=False)
class DataProfile(Result):
    """What a dataset holds and which report sections it supports (see module doc).

    ``tables``: one row per table (source, rows, columns, first and last date);
    ``columns``: one row per column (where it came from, its scale, answers, missing share);
    ``sections``: one row per report section (``supported`` and the ``reason`` if not, at
    the default horizon ``sections.HORIZON_MONTHS``); ``notebooks``: each notebook's minimum
    inputs; ``needs``: every need checked; ``horizons``: per horizon in months, surveyed
    customers churned within it and followed beyond it (``@horizon`` at any horizon);
    ``weighting``: the raking headline when ``cx.yml`` declares margins (design effect,
    effective n), with its ``weights`` diagnostics and ``weight_margins`` (else empty).
    """

    dataset: Dataset
    tables: pd.DataFrame
    columns: pd.DataFrame
    sections: pd.DataFrame
    notebooks: pd.DataFrame
    needs: pd.DataFrame
    horizons: pd.DataFrame
    weighting: str = ""
    weights: pd.DataFrame = field(default_factory=pd.DataFrame)
    weight_margins: pd.DataFrame = field(default_factory=pd.DataFrame)

    def summary(self) -> pd.DataFrame:
        """The sections table: notebook, section, title, supported, reason."""
        return self.sections.copy()

    def supports(self, notebook: str, section: str, horizon_months: int | None = None) -> bool:
        """Whether the data have the inputs of ``section`` of ``notebook`` ("01",
        "key_drivers"); ``horizon_months``: the notebook's horizon, for ``@horizon`` needs
        (None: ``sections.HORIZON_MONTHS``)."""
        return not self.reason(notebook, section, horizon_months)

    def reason(self, notebook: str, section: str, horizon_months: int | None = None) -> str:
        """Why a section is not supported (empty when it is); ``horizon_months`` as in
        :meth:`supports`."""
        row = self._row(notebook, section)
        spec = next(s for s in SECTIONS if (s.notebook, s.key) == (notebook, section))
        if horizon_months is None or "@horizon" not in spec.needs:
            return str(row["reason"])
        return _section_reason(spec, lambda need: self._check(need, horizon_months),
                               row["rows_with_inputs"])

    def _check(self, need: str, horizon_months: int) -> tuple[bool, str]:
        if need == "@horizon":
            return horizon_check(self.horizons, horizon_months)
        hit = self.needs[self.needs["need"] == need]
        return bool(hit["holds"].iat[0]), str(hit["missing"].iat[0])

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
        weighted = f" {self.weighting}." if self.weighting else ""
        return (f"{len(self.tables)} table(s): {'; '.join(parts) or 'none'}.{weighted} {ok} of "
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
            "<h2>Columns</h2>", table(self.columns),
            *(["<h2>Survey weights (raked)</h2>", f"<p>{html.escape(self.weighting)}</p>",
               table(self.weights), table(self.weight_margins)] if self.weighting else [])])


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


def _section_reason(section: Section, check: Any, rows: Any) -> str:
    """Why ``section`` cannot run (empty if it can): its first unmet need, else too few rows
    with every input answered. ``check(need)`` -> (holds, missing); ``rows`` the count."""
    reasons = [why for ok, why in map(check, section.needs) if not ok]
    if not reasons and section.min_n > 1 and rows < section.min_n:
        table = next((n.split("|")[0].split(".")[0] for n in section.needs
                      if not n.startswith("@")), "responses")
        reasons = [f"at least {section.min_n} {table} rows with every input answered; "
                   f"the data have {rows}"]
    verb = "need" if section.plural else "needs"
    return f"{section.title} {verb} {reasons[0]}" if reasons else ""


def _sections_frame(facts: _Facts) -> pd.DataFrame:
    rows = []
    for s in SECTIONS:
        n = facts.rows(s)[1] if s.min_n > 1 else None
        reason = _section_reason(s, facts.check, n)
        rows.append({"notebook": s.notebook, "section": s.key, "title": s.title,
                     "supported": not reason, "reason": reason, "rows_with_inputs": n})
    frame = pd.DataFrame(rows)
    frame["rows_with_inputs"] = frame["rows_with_inputs"].astype("Int64")
    return frame


def _needs_frame(facts: _Facts) -> pd.DataFrame:
    """Every need checked (the sections' and notebooks'), whether it holds and why not."""
    return pd.DataFrame([{"need": k, "holds": ok, "missing": why}
                         for k, (ok, why) in facts._cache.items()],
                        columns=["need", "holds", "missing"])


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
    sections, notebooks = _sections_frame(facts), _notebooks_frame(facts)
    raked = tables["responses"].attrs.get("weights", {}) if "responses" in tables else {}
    return DataProfile(dataset, _tables_frame(tables), _columns_frame(tables, dataset),
                       sections, notebooks, _needs_frame(facts), facts.horizon_counts().copy(),
                       raked.get("headline", ""), pd.DataFrame(raked.get("diagnostics", [])),
                       pd.DataFrame(raked.get("margins", [])))


# -- one profile per report run ---------------------------------------------------------------

RUN_CACHE = "CX_RUN_CACHE"
"""Environment variable the report runner sets for its notebooks' kernels: the folder where
it stored the profile of each data source (``profiles/<key>.json``), so a notebook's
``data.profile`` is read, not computed again. Unset (JupyterLab): computed."""

_FRAMES = ("tables", "columns", "sections", "notebooks", "needs", "horizons", "weights",
           "weight_margins")


def save_profile(result: DataProfile, path: Path | str) -> None:
    """Write a profile's frames as JSON (pandas' table schema keeps the types)."""
    data: dict[str, Any] = {"weighting": result.weighting}
    for name in _FRAMES:
        data[name] = json.loads(getattr(result, name).to_json(orient="table", index=False))
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_suffix(".tmp")
    temp.write_text(json.dumps(data), encoding="utf-8")
    temp.replace(target)


def load_profile(path: Path | str, dataset: Dataset) -> DataProfile:
    """A profile written by :func:`save_profile`, for the data ``dataset`` describes."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    frames = {name: pd.read_json(io.StringIO(json.dumps(data[name])), orient="table")
              for name in _FRAMES}
    return DataProfile(dataset, **frames, weighting=data["weighting"])


def cache_file(source: Path | str, folder: Path | str) -> Path:
    """Where the profile of ``source`` (resolved) is stored in a run's cache ``folder``."""
    key = hashlib.sha256(str(Path(source).resolve()).encode()).hexdigest()[:20]
    return Path(folder) / "profiles" / f"{key}.json"


def cached_profile(source: Path | str, dataset: Dataset) -> DataProfile | None:
    """The profile of ``source`` stored by the report run this kernel belongs to
    (:data:`RUN_CACHE`), or None (not in a report run, or not profiled by it)."""
    folder = os.environ.get(RUN_CACHE)
    if not folder:
        return None
    file = cache_file(source, folder)
    return load_profile(file, dataset) if file.is_file() else None
