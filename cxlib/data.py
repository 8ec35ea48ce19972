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

Either way the result is a :class:`DescribedData`: the engine's :class:`~cxlib.engine.Data`
mapping plus ``data.dataset`` (the description: scales, items, labels) and
``data.profile`` (:func:`cxlib.profile` of the tables, computed on first use, or in a
report run read from the run's data check, which profiled the source once), which a
notebook section asks before it runs (:func:`cxlib.sections.runs`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from .dataset import DESCRIPTION_FILE, Dataset, load_description, load_tables
from .engine import Data, Source
from .engine import open_data as open_engine_data

__all__ = ["DescribedData", "open_data", "described"]


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
              check: bool = True) -> DescribedData:
    """The contract tables at ``source``: a folder (with or without ``cx.yml``), a
    ``cx.yml``, or a DuckDB file; ``engine`` and ``spark`` as :func:`cxlib.engine.open_data`.

    Data that are present and invalid raise one DataError listing every problem; absent
    tables and columns are not an error (``data.notes``, ``data.profile``).
    """
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
