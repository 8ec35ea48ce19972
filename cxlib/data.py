"""Opening a dataset for the notebooks: ``cxlib.open_data(source, engine)``.

One way to open data, whatever its shape:

- ``source`` a folder holding a ``cx.yml``, or a ``cx.yml`` itself: the tables come from the
  description (:func:`cxlib.open_dataset`: survey exports mapped, scales read as described,
  reversed scales flipped); the tables present are validated when opened, absent tables are
  notes (``data.notes``), never errors. They are handed to the engine as Parquet files in a
  temporary folder, so the analyses that reduce events in the engine work the same way;
- any other folder or DuckDB file: the contract tables as :func:`cxlib.engine.open_data`
  reads them (the sample's layout), with the default description (the sample's scales and
  items).

With ``where={column: value}`` (``unit_column`` and ``unit`` of a notebook: a store, a
region) the data hold one unit only (:func:`restrict`); ``data.company`` is then the whole.

Either way the result is a :class:`DescribedData`: the engine's :class:`~cxlib.engine.Data`
mapping plus ``data.dataset`` (the description: scales, items, labels) and
``data.profile`` (:func:`cxlib.profile` of the tables, computed on first use, or in a
report run read from the run's data check, which profiled the source once), which a
notebook section asks before it runs (:func:`cxlib.sections.runs`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from collections.abc import Mapping
from typing import Any

import pandas as pd

from .dataset import DESCRIPTION_FILE, Dataset, load_description, load_tables
from .engine import Data, Source
from .errors import DataError
from .engine import open_data as open_engine_data

__all__ = ["DescribedData", "open_data", "described", "restrict"]


def described(source: str | Path) -> Path | None:
    """The ``cx.yml`` that describes ``source`` (the file itself, or the one in the folder),
    or None when there is none (then the sample's layout and defaults hold)."""
    path = Path(source)
    if path.is_dir():
        file = path / DESCRIPTION_FILE
        return file if file.exists() else None
    return path if path.suffix.lower() in (".yml", ".yaml") else None


class DescribedData(Data):
    """The engine's contract tables, with their description and data profile."""

    def __init__(self, source: Source, dataset: Dataset,
                 tables: dict[str, pd.DataFrame] | None = None, check: bool = True,
                 scratch: tempfile.TemporaryDirectory | None = None) -> None:
        super().__init__(source, check=check and tables is None)
        self.dataset = dataset
        """The description (``cx.yml``, or the sample's defaults): scales, items, labels."""
        self._scratch = scratch
        self._profile: Any = None
        self._origin: Path | None = None  # the source as opened (a report run's profile key)
        self.where: dict[str, str] = {}
        """The unit these data are restricted to (column -> value; empty: the whole)."""
        self.company: DescribedData = self
        """The whole data these were restricted from (themselves when not restricted)."""
        if tables is not None:  # read and validated from the description already
            self._frames.update(tables)
            self._checked = True
            self.notes = [f"no {t} table in {dataset.file}" for t in _contract()
                          if t not in tables]
            self.notes += [n for frame in tables.values() for n in frame.attrs.get("notes", [])]

    @property
    def profile(self) -> Any:
        """:func:`cxlib.profile` of these tables: which report sections they support, and
        why not. Computed on first use; the events stay in the engine (only their columns'
        answer counts and date range cross)."""
        if self._profile is None:
            from .profiling import cached_profile

            cached = cached_profile(self._origin, self.dataset) if self._origin else None
            self._profile = cached if cached is not None else _profile(self)
        return self._profile

    def close(self) -> None:
        super().close()
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None


def _contract() -> tuple[str, ...]:
    from .schema import CONTRACT

    return tuple(CONTRACT)


def _event_stand_in(data: Data, table: str) -> tuple[pd.DataFrame, int, dict[str, int]]:
    """A two-row frame standing for an event table in the profile: each column answered
    when it has any value (counted in the engine), the date column's first and last value."""
    from .profiling import DATE_COLUMNS

    date = DATE_COLUMNS.get(table)
    found = data.column_counts(table, date)
    counts = {c: int(found[c]) for c in data.source.columns(table)}
    frame = pd.DataFrame({c: [1, 1] if counts[c] else [None, None] for c in counts})
    if "first_date" in found:
        frame[date] = pd.to_datetime([found["first_date"], found["last_date"]])
    return frame, int(found["rows"]), counts


def _profile(data: DescribedData) -> Any:
    from .profiling import profile

    tables: dict[str, pd.DataFrame] = {}
    stand_ins: dict[str, tuple[int, dict[str, int]]] = {}
    for name in data:
        if name in data._frames or name not in ("touchpoints",):
            tables[name] = data[name]
        else:
            tables[name], rows, counts = _event_stand_in(data, name)
            stand_ins[name] = (rows, counts)
    result = profile(tables, dataset=data.dataset)
    for name, (rows, counts) in stand_ins.items():  # the real counts, not the stand-in's
        result.tables.loc[result.tables["table"] == name, "rows"] = rows
        for column, n in counts.items():
            at = (result.columns["table"] == name) & (result.columns["column"] == column)
            result.columns.loc[at, "answered"] = n
            result.columns.loc[at, "answered_share"] = n / rows if rows else 0.0
            result.columns.loc[at, "missing_share"] = 1 - n / rows if rows else 0.0
    return result


def open_data(source: str | Path, engine: str = "duckdb", *, spark: Any = None,
              check: bool = True, where: Mapping[str, str] | None = None) -> DescribedData:
    """The contract tables at ``source``: a folder (with or without ``cx.yml``), a
    ``cx.yml``, or a DuckDB file; ``engine`` and ``spark`` as :func:`cxlib.engine.open_data`.

    Data that are present and invalid raise one DataError listing every problem; absent
    tables and columns are not an error (``data.notes``, ``data.profile``). ``where``
    (column -> value; empty names and values are left out) restricts them to one unit
    (:func:`restrict`).
    """
    where = {k: v for k, v in (where or {}).items() if k and v not in (None, "")}
    if not where:
        return _open(source, engine, spark, check)
    return restrict(_company(source, engine, spark, check), where)


_COMPANY: dict[tuple, DescribedData] = {}


def _company(source: str | Path, engine: str, spark: Any, check: bool) -> DescribedData:
    """The whole data a unit is restricted from, opened (and checked) once per process for
    the same files: a report per unit runs many units in one kernel. The last one is kept
    (and closed when other data take its place); a file changed on disk opens them anew."""
    path = Path(source).resolve()
    files = sorted(path.rglob("*")) if path.is_dir() else [path]
    key = (str(path), engine, check, id(spark),
           tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files if f.is_file()))
    if key not in _COMPANY:
        for old in _COMPANY.values():
            old.close()
        _COMPANY.clear()
        _COMPANY[key] = _open(source, engine, spark, check)
    return _COMPANY[key]


def _open(source: str | Path, engine: str, spark: Any, check: bool) -> DescribedData:
    from .display import use_labels  # pages (issue 18): tables show the display names

    file = described(source)
    if file is None:
        plain = open_engine_data(source, engine, spark=spark, check=check)
        folder = Path(source) if Path(source).is_dir() else Path(source).parent
        data = DescribedData(plain.source, Dataset.default(folder), check=False)
        data._frames, data._checked, data.notes = plain._frames, plain._checked, plain.notes
        use_labels(data.dataset.labels.model_dump())
        data._origin = Path(source)
        return data
    dataset = load_description(file)
    use_labels(dataset.labels.model_dump())
    tables = load_tables(dataset)
    scratch = tempfile.TemporaryDirectory(prefix="cx-dataset-")
    for name, frame in tables.items():
        frame.to_parquet(Path(scratch.name) / f"{name}.parquet", index=False)
    try:
        src = open_engine_data(scratch.name, engine, spark=spark, check=False).source
    except BaseException:
        scratch.cleanup()
        raise
    data = DescribedData(src, dataset, tables, scratch=scratch)
    data._origin = Path(source)
    return data


UNIT_TABLES = ("customers", "responses", "touchpoints")
"""Tables restricted to a unit; the others (KPIs, financials) are company-level and kept."""


def restrict(data: DescribedData, where: Mapping[str, str]) -> DescribedData:
    """``data`` restricted to one unit, the same way in every table: ``where`` maps a column
    to its value (``{"store": "Sendai"}``; several: all must hold).

    A customer column (region, store) keeps the unit's customers, their answers and their
    events; a column of the answers and events only (organisation) keeps the rows that carry
    it and every customer. KPIs and financials are company-level and stay whole (a note).
    The rows are written to a temporary folder the engine reads, as for a ``cx.yml``, so the
    analyses that reduce events in the engine see the unit only. ``.company`` is ``data``.
    Raises DataError for a column no table has and for a value no row carries.
    """
    tables = {name: data.source.columns(name) for name in UNIT_TABLES if name in data}
    for column, value in where.items():
        if not any(column in cols for cols in tables.values()):
            raise DataError(f"{data.source.location}: no column {column!r} in "
                            f"{', '.join(tables) or 'the customer tables'} to choose a unit by")
    frames: dict[str, pd.DataFrame] = {}
    customers = data["customers"] if "customers" in data else None
    by_customer = {c: v for c, v in where.items()
                   if customers is not None and c in customers.columns}
    if customers is not None:
        keep = pd.Series(True, index=customers.index)
        for column, value in by_customer.items():
            keep &= customers[column].astype("string") == str(value)
        frames["customers"] = customers[keep.to_numpy()].reset_index(drop=True)
    ids = set(frames["customers"]["customer_id"]) if by_customer else None
    if "responses" in data:
        answers = data["responses"]
        keep = pd.Series(True, index=answers.index)
        for column, value in where.items():
            if column in answers.columns and column not in by_customer:
                keep &= answers[column].astype("string") == str(value)
        if ids is not None:
            keep &= answers["customer_id"].isin(ids)
        frames["responses"] = answers[keep.to_numpy()].reset_index(drop=True)
    rows = frames.get("responses", frames.get("customers"))
    if rows is not None and rows.empty:
        shown = ", ".join(f"{c} = {v!r}" for c, v in where.items())
        raise DataError(f"{data.source.location}: no customer or answer has {shown}")
    scratch = tempfile.TemporaryDirectory(prefix="cx-unit-")
    try:
        if "touchpoints" in data:
            own = {c: v for c, v in where.items()
                   if c not in by_customer and c in tables["touchpoints"]}
            data.rows_where("touchpoints", own, by_customer).to_parquet(
                Path(scratch.name) / "touchpoints.parquet", index=False)
        kept = {name: data[name] for name in data if name not in UNIT_TABLES}
        for name, frame in {**frames, **kept}.items():
            frame.to_parquet(Path(scratch.name) / f"{name}.parquet", index=False)
        src = open_engine_data(scratch.name, data.source.engine, check=False).source
    except BaseException:
        scratch.cleanup()
        raise
    unit = DescribedData(src, data.dataset, {**frames, **kept}, scratch=scratch)
    unit.notes = [n for n in unit.notes if not n.startswith("no ")] + [
        n for n in data.notes] + [f"{name}: company-level, not restricted to the unit"
                                  for name in kept]
    unit.where, unit.company = dict(where), data
    return unit
