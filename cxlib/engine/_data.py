"""The contract tables of a source as a mapping, with the event table left in the engine.

``cxlib.open_data(source, engine)`` is what a notebook calls with its ``source`` and
``engine`` parameters. The result behaves like the dict of :func:`cxlib.load_tables`
(``data["customers"]``, ``"touchpoints" in data``) with two differences:

- every table present is checked against the contract when the data are opened, whichever
  engine reads it and whether or not a notebook uses it: customers, KPIs and financials are
  read into pandas and validated as :func:`cxlib.load_tables` validates them (and kept);
  answers and events are checked in the engine with the same rules (counts and examples),
  and against the customers they name; every read is recorded in ``data.log``.
  Empty and header-only files are named as such. Absent tables are not an error: they are
  listed in ``data.notes``. One DataError lists every problem found;
- the event table (``touchpoints``) is never read into pandas: ``data["touchpoints"]``
  raises. The analyses that need events (journey, churn, KPI model, pilot) take ``data``
  itself and reduce the events in the engine (:mod:`cxlib.engine.touchpoints`).

Tables that lie in a folder as one ``<table>.parquet`` or ``<table>.csv`` file are read by
:func:`cxlib.io.read_table` (the same reader and result as :func:`cxlib.load_tables`);
tables in a DuckDB file, in Parquet part folders or under Spark come through the engine.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataError
from ..schema import CONTRACT, unknown_customers, validate
from . import _sql
from ._contract import check_references, check_table, raise_if
from ._files import find_table
from ._source import Fetch, Source

__all__ = ["Data", "open_data", "EVENT_TABLES"]

EVENT_TABLES = ("touchpoints",)
"""Tables that stay in the engine: only their reductions come into pandas."""

CHECKED_IN_ENGINE = ("responses", "touchpoints")
"""Tables checked against the contract in the engine when the data are opened (the others
are read and validated in pandas then); answers come into pandas only when an analysis asks
for them (notebooks 03 and 04 never do)."""


def _engine_args(engine: str) -> tuple[str, str | None]:
    """``engine`` parameter -> (engine, Spark master): ``duckdb``, ``spark`` or a master."""
    text = (engine or "duckdb").strip()
    if text.lower() == "duckdb":
        return "duckdb", None
    if text.lower() == "spark":
        return "spark", None
    if text.startswith(("local", "spark://", "yarn", "k8s://", "mesos://")):
        return "spark", text
    raise DataError(f"engine {engine!r}: use duckdb, spark, or a Spark master such as "
                    "local[2] or spark://host:7077")


class Data(Mapping[str, pd.DataFrame]):
    """Contract tables of a :class:`Source`, read on first use; events stay in the engine."""

    def __init__(self, source: Source, check: bool = True) -> None:
        self.source = source
        self._frames: dict[str, pd.DataFrame] = {}
        self._checked = False  # references checked in the engine at open
        self.notes = [f"no {t} table in {source.location}" for t in CONTRACT
                      if not source.has(t)]
        """Contract tables absent from the source (a note, not an error)."""
        if check:
            self._check()

    def _check(self) -> None:
        """Every table present against the contract, now. The small ones are read (and
        kept) and validated in pandas; the large ones (:data:`CHECKED_IN_ENGINE`) are
        checked in the engine, with the customer ids they refer to. One DataError lists
        every problem."""
        problems: list[str] = []
        for name in self:
            if name in CHECKED_IN_ENGINE:
                problems += check_table(self.source, name)
                continue
            try:
                self._frames[name] = self._read(name)
            except DataError as exc:
                problems.append(str(exc))
        for name in CHECKED_IN_ENGINE:
            if name in self:
                problems += check_references(self.source, name)
        self._checked = not problems
        raise_if(problems)

    def __repr__(self) -> str:
        return (f"Data({self.source.location!r}, engine={self.source.engine!r}, "
                f"tables={list(self)}, in pandas={list(self._frames)})")

    def __iter__(self) -> Iterator[str]:
        return iter([t for t in CONTRACT if self.source.has(t)])

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.source.has(name)

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name in EVENT_TABLES:
            raise DataError(f"{name} ({self.source.location}) stays in the engine: it is "
                            "event-level. Pass the data object itself to the analysis (for "
                            "example journey.response_rate(responses, data)); it reduces the "
                            "events where they lie")
        if name not in self._frames:
            if not self.source.has(name):
                raise KeyError(name)
            frame = self._read(name)
            if name == "responses" and "customers" in self and not self._checked:
                raise_if(unknown_customers({"customers": self["customers"], name: frame},
                                           {name: self.source.tables[name]}))
            self._frames[name] = frame
        return self._frames[name]

    def _read(self, name: str) -> pd.DataFrame:
        from ..io import read_table  # io reads files; imported late (io imports heavy readers)

        label = self.source.tables[name]
        t0 = time.perf_counter()
        hit = (find_table(Path(self.source.location), name)
               if Path(self.source.location).is_dir() else None)
        if hit is not None and hit[0] in ("parquet", "csv"):
            frame = read_table(hit[1], name)
            self.source.log.append(Fetch(f"table {name}", len(frame), frame.shape[1],
                                         time.perf_counter() - t0))
            return frame
        frame = self.source.fetch(f"SELECT * FROM {_sql.ident(name, 'table')}",
                                  what=f"table {name}")
        return validate(frame, name, source=f"{self.source.location}: {label}")

    def sizes(self) -> dict[str, int]:
        """Rows per table, counted in the engine (no table is read for it)."""
        return {name: int(self.source.fetch(f"SELECT count(*) AS n FROM "
                                            f"{_sql.ident(name, 'table')}",
                                            what=f"rows of {name}").iloc[0, 0])
                for name in self}

    def column_counts(self, name: str, date: str | None = None) -> pd.Series:
        """Answered rows per column of ``name`` and ``rows`` (and, with ``date``, its
        ``first_date`` and ``last_date``), counted in the engine: one row crosses."""
        columns = list(self.source.columns(name))
        parts = [f"count({_sql.ident(c)}) AS {_sql.ident(f'c{i}')}"
                 for i, c in enumerate(columns)]
        parts.append("count(*) AS n_rows")
        if date in columns:
            parts += [f"min({_sql.ident(date)}) AS first_date",
                      f"max({_sql.ident(date)}) AS last_date"]
        row = self.source.fetch(f"SELECT {', '.join(parts)} FROM {_sql.ident(name, 'table')}",
                                what=f"{name}: answers per column").iloc[0]
        out = {c: int(row[f"c{i}"]) for i, c in enumerate(columns)}
        out["rows"] = int(row["n_rows"])
        if date in columns:
            out.update(first_date=row["first_date"], last_date=row["last_date"])
        return pd.Series(out, dtype=object)

    def rows_where(self, name: str, equal: Mapping[str, str] | None = None,
                   customers: Mapping[str, str] | None = None) -> pd.DataFrame:
        """The rows of ``name`` whose columns ``equal`` the given values and whose customer's
        columns equal ``customers`` (compared as text; values passed as parameters, never
        pasted into SQL), selected in the engine."""
        conditions, params = [], {}
        for i, (column, value) in enumerate((equal or {}).items()):
            params[f"e{i}"] = str(value)
            conditions.append(f"CAST({_sql.ident(column)} AS VARCHAR) = $e{i}")
        for i, (column, value) in enumerate((customers or {}).items()):
            params[f"c{i}"] = str(value)
            conditions.append(f"customer_id IN (SELECT customer_id FROM "
                              f"{_sql.ident('customers', 'table')} WHERE "
                              f"CAST({_sql.ident(column)} AS VARCHAR) = $c{i})")
        sql = f"SELECT * FROM {_sql.ident(name, 'table')}"
        if conditions:
            sql += " WHERE " + " AND ".join(conditions)
        return self.source.fetch(sql, params, what=f"{name} of a unit")

    @property
    def log(self) -> list[Fetch]:
        return self.source.log

    def crossed(self) -> pd.DataFrame:
        """What came into pandas: one row per read or reduction (rows, columns, seconds)."""
        return pd.DataFrame([vars(f) for f in self.source.log],
                            columns=["what", "rows", "columns", "seconds"]).round({"seconds": 3})

    def close(self) -> None:
        self.source.close()

    def __enter__(self) -> Data:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_data(source: str | Path | Source, engine: str = "duckdb", *, spark: Any = None,
              check: bool = True) -> Data:
    """The contract tables at ``source`` (folder of Parquet/CSV files or DuckDB file).

    ``engine``: ``"duckdb"`` (embedded, default), ``"spark"`` (the running session or
    ``local[*]``) or a Spark master (``"local[2]"``, ``"spark://host:7077"``); ``spark`` a
    running ``SparkSession`` to use instead. ``check``: check every table against the
    contract now (``False``: small tables are validated when first used, events not).
    """
    if isinstance(source, Source):
        return Data(source, check=check)
    kind, master = _engine_args(engine)
    src = Source(source, engine=kind, spark=spark if spark is not None else master)
    try:
        return Data(src, check=check)
    except BaseException:
        src.close()  # opened here: closed here when the data break the contract
        raise
