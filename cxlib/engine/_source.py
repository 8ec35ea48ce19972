"""Where the contract tables live and which engine queries them in place.

A :class:`Source` is opened from a folder of Parquet/CSV files (``<table>.parquet``,
``<table>.csv`` or a folder ``<table>/`` of Parquet parts) or from a DuckDB database file
(tables named as in the data contract). The engine executes every query where the data lie:
embedded DuckDB (default) or Spark SQL (``engine="spark"``: pyspark in local mode or a
cluster, :mod:`cxlib.engine._spark`). Only the result of an aggregation (customer- or
group-level) comes into pandas, through :meth:`Source.fetch`, which logs what crossed.

The engine is behind a small interface (``_Backend``: ``tables``, ``columns``, ``fetch``,
``close``); ``columns`` names types as DuckDB does for every engine, and ``fetch`` takes the
DuckDB-dialect texts of :mod:`cxlib.engine._sql` (a backend translates them).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from ..errors import DataError
from ..checks import MAX_ROWS_SHOWN
from ..schema import CONTRACT, boolean_columns, date_columns
from ._files import find_table, is_uri, is_utf8, require_text, transcode
from ._sql import ident

__all__ = ["Source", "open_source", "using", "Fetch", "ENGINES", "is_uri"]

ENGINES = ("duckdb", "spark")
_TRUE, _FALSE = "('True', 'TRUE', 'true')", "('False', 'FALSE', 'false')"
"""The texts pandas' CSV reader takes as true and false (``cxlib.io.read_table``)."""
DUCKDB_SUFFIXES = (".duckdb", ".ddb", ".db")


@dataclass(frozen=True)
class Fetch:
    """One result that crossed from the engine into pandas."""

    what: str
    rows: int
    columns: int
    seconds: float


class _Backend(Protocol):
    def tables(self) -> dict[str, str]: ...
    def columns(self, table: str) -> dict[str, str]: ...
    def fetch(self, sql: str, params: dict[str, Any]) -> pd.DataFrame: ...
    def close(self) -> None: ...


class _DuckDB:
    """Embedded DuckDB: views over the files of a folder, or the tables of a database file."""

    def __init__(self, location: Path, threads: int | None, memory_limit: str | None) -> None:
        import duckdb

        self._duckdb = duckdb
        self._tmp: tempfile.TemporaryDirectory | None = None
        self.found: dict[str, str] = {}
        config: dict[str, Any] = {}
        if threads:
            config["threads"] = int(threads)
        if memory_limit:
            config["memory_limit"] = str(memory_limit)
        if location.is_dir():
            self._con = duckdb.connect(":memory:", config=config)
            problems = []
            for table in CONTRACT:
                try:
                    self._register(location, table)
                except DataError as exc:  # every table's problem, not only the first
                    problems.append(str(exc))
            if problems:
                self.close()
                raise DataError("\n".join(problems))
        else:
            try:
                self._con = duckdb.connect(str(location), read_only=True, config=config)
            except duckdb.Error as exc:
                raise DataError(f"{location}: cannot open as a DuckDB database ({exc})") from None
            rows = self._con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema()").fetchall()
            names = {r[0] for r in rows}
            self.found = {t: f"table {t}" for t in CONTRACT if t in names}

    def _register(self, folder: Path, table: str) -> None:
        hit = find_table(folder, table)
        if hit is None:
            return
        kind, path, label = hit
        try:
            if kind == "parquet":
                rel = self._con.read_parquet(str(path))
            elif kind == "parts":
                rel = self._con.read_parquet(str(path / "*.parquet"))
            else:
                rel = self._read_csv(path, table)
        except self._duckdb.Error as exc:
            raise DataError(f"{folder / table}: cannot read ({str(exc).splitlines()[0]})") from None
        self.found[table] = label
        rel.create_view(table, replace=True)

    def _read_csv(self, path: Path, table: str):
        name = path.name
        require_text(path)
        if not is_utf8(path):
            if self._tmp is None:
                self._tmp = tempfile.TemporaryDirectory(prefix="cx-engine-")
            path = transcode(path, "cp932", Path(self._tmp.name))
        raw = self._con.read_csv(str(path), header=True, all_varchar=True)
        dtype = {c: "VARCHAR" for c in raw.columns if c.endswith("_id")}
        dates = [c for c in date_columns(table) if c in raw.columns]
        flags = [c for c in boolean_columns(table) if c in raw.columns]
        dtype.update(dict.fromkeys(dates, "TIMESTAMP"))
        dtype.update(dict.fromkeys(flags, "VARCHAR"))  # read as pandas reads true/false
        typed = self._con.read_csv(str(path), header=True, dtype=dtype)
        self._check_text(name, raw, typed, dates, flags)
        if flags:
            typed = typed.project("* REPLACE (" + ", ".join(
                f"CASE WHEN {ident(c)} IN {_TRUE} THEN true WHEN {ident(c)} IN {_FALSE} "
                f"THEN false END AS {ident(c)}" for c in flags) + ")")
        return typed

    def _check_text(self, name: str, raw, typed, dates: list[str], flags: list[str]) -> None:
        """DataError naming the file, column and rows (1-based data rows, with values) of
        texts that are not dates in a date column, or not true/false in a true/false column
        (the words pandas reads as such), found in one scan of the text. Dates are checked
        against the typed read too, which may know a date format the plain cast does not."""
        bad = {c: f"{ident(c)} IS NOT NULL AND TRY_CAST({ident(c)} AS TIMESTAMP) IS NULL"
               for c in dates}
        bad.update({c: f"{ident(c)} IS NOT NULL AND {ident(c)} NOT IN {_TRUE[:-1]}, "
                       f"{_FALSE[1:]}" for c in flags})
        if not bad:
            return
        numbered = (f"SELECT row_number() OVER () AS row_, {', '.join(map(ident, bad))} "
                    "FROM raw")
        counts = raw.query("raw", "SELECT " + ", ".join(
            f"count(*) FILTER (WHERE {where})" for where in bad.values())
            + f" FROM ({numbered})").fetchone()
        found = {c: n for c, n in zip(bad, counts) if n}
        if found.keys() & set(dates):
            try:
                typed.query("typed", "SELECT " + ", ".join(f"max({ident(c)})" for c in dates)
                            + " FROM typed").fetchall()
                found = {c: n for c, n in found.items() if c not in dates}  # a known format
            except self._duckdb.ConversionException:
                pass
        problems = []
        for c, n in found.items():
            rows, values = raw.query("raw", (
                f"SELECT list(row_ ORDER BY row_)[1:{MAX_ROWS_SHOWN}], "
                f"list({ident(c)} ORDER BY row_)[1:{MAX_ROWS_SHOWN}] FROM ({numbered}) "
                f"WHERE {bad[c]}")).fetchone()
            shown = ", ".join(f"{r} ({v!r})" for r, v in zip(rows, values))
            more = f" and {n - len(rows):,} more" if n > len(rows) else ""
            what = "dates" if c in dates else "true/false"
            problems.append(f"{name}: column {c!r} has {n:,} values that are not {what} "
                            f"(rows {shown}{more})")
        if problems:
            raise DataError("\n".join(problems))

    def tables(self) -> dict[str, str]:
        return dict(self.found)

    def columns(self, table: str) -> dict[str, str]:
        rows = self._con.execute(f"DESCRIBE {ident(table, 'table')}").fetchall()
        return {r[0]: str(r[1]) for r in rows}

    def fetch(self, sql: str, params: dict[str, Any]) -> pd.DataFrame:
        try:
            return self._con.execute(sql, params).df()
        except self._duckdb.ConversionException as exc:
            raise DataError(f"a value could not be converted ({str(exc).splitlines()[0]})"
                            ) from None

    def close(self) -> None:
        self._con.close()
        if self._tmp is not None:
            self._tmp.cleanup()


class Source:
    """Contract tables queried in place: a folder of Parquet/CSV files or a DuckDB file.

    ``Source("data/large")`` or ``Source("warehouse.duckdb")``: embedded DuckDB (default);
    ``threads`` and ``memory_limit`` (e.g. ``"8GB"``) are passed to it.
    ``Source("data/large", engine="spark", spark=...)``: Spark SQL over a folder, where
    ``spark`` is a running ``SparkSession`` (used, never stopped here), a master address
    (``"local[2]"``, ``"spark://host:7077"``: an application is started and stopped with the
    source) or None (the running session, else ``local[*]``). Every result that comes into
    pandas goes through :meth:`fetch` and is recorded in :attr:`log`.
    """

    def __init__(self, location: str | Path, engine: str = "duckdb", *,
                 threads: int | None = None, memory_limit: str | None = None,
                 spark: Any = None) -> None:
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
        if spark is not None and engine != "spark":
            raise ValueError("spark= is for engine='spark'")
        remote = is_uri(location)  # s3a://, hdfs://, file://...: only Spark lists these
        if remote and engine != "spark":
            raise DataError(f"source {location}: a URI location needs engine='spark' (or "
                            "a local folder or DuckDB file for engine='duckdb')")
        path: Path | str = str(location) if remote else Path(location)
        if not remote and not path.exists():
            raise DataError(f"source {path}: no such folder or file")
        if not remote and path.is_file() and path.suffix not in DUCKDB_SUFFIXES:
            raise DataError(f"source {path}: a folder of Parquet/CSV files or a DuckDB file "
                            f"({', '.join(DUCKDB_SUFFIXES)}) is expected")
        self.location = str(path)
        self.engine = engine
        self.log: list[Fetch] = []
        if engine == "spark":
            from ._spark import SparkBackend

            self._backend: _Backend = SparkBackend(path, spark)
        else:
            self._backend = _DuckDB(path, threads, memory_limit)
        self._columns: dict[str, dict[str, str]] = {}

    def __repr__(self) -> str:
        return f"Source({self.location!r}, engine={self.engine!r}, tables={list(self.tables)})"

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._backend.close()

    @property
    def tables(self) -> dict[str, str]:
        """Contract tables found, with where each comes from (file name or database table)."""
        return self._backend.tables()

    def has(self, table: str) -> bool:
        return table in self._backend.tables()

    def columns(self, table: str) -> dict[str, str]:
        """Column name -> engine type of ``table``; DataError naming the source if absent."""
        if not self.has(table):
            raise DataError(f"source {self.location}: no {table!r} table (looked for "
                            f"{table}.parquet, {table}.csv, {table}/*.parquet or a database "
                            f"table; found: {', '.join(self.tables) or 'none'})")
        if table not in self._columns:
            self._columns[table] = self._backend.columns(table)
        return self._columns[table]

    def require(self, table: str, columns: list[str] | tuple[str, ...], fn: str) -> None:
        """DataError naming the source, table and columns when any of ``columns`` is absent."""
        have = self.columns(table)
        missing = [c for c in columns if c not in have]
        if missing:
            raise DataError(f"{fn}: {table} ({self.location}: {self.tables[table]}) lacks "
                            f"column(s) {', '.join(map(repr, missing))} "
                            f"(columns: {', '.join(have)})")

    def fetch(self, sql: str, params: dict[str, Any] | None = None, *, what: str = "query"
              ) -> pd.DataFrame:
        """Run ``sql`` in the engine and bring its (aggregated) result into pandas."""
        t0 = time.perf_counter()
        frame = self._backend.fetch(sql, params or {})
        self.log.append(Fetch(what, len(frame), frame.shape[1], time.perf_counter() - t0))
        return frame


def open_source(source: str | Path | Source, engine: str = "duckdb", *, spark: Any = None
                ) -> Source:
    """``source`` as a :class:`Source` (an open one is returned as it is)."""
    return source if isinstance(source, Source) else Source(source, engine=engine, spark=spark)


@contextmanager
def using(source: str | Path | Source) -> Iterator[Source]:
    """``source`` as an open :class:`Source`; closed afterwards only if opened here."""
    if isinstance(source, Source):
        yield source
        return
    src = Source(source)
    try:
        yield src
    finally:
        src.close()
