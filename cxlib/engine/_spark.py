"""Spark SQL backend: the same folders and the same SQL texts, executed by Spark.

``pyspark`` (4.x, Java 17 or 21) in local mode (``"local[2]"``) or on a cluster. The
contract tables are registered as temporary views in a private session
(``SparkSession.newSession()``: own views and settings, shared JVM), so several sources can
use one Spark application. The DuckDB-dialect texts of :mod:`cxlib.engine._sql` are
translated once each by sqlglot (:func:`to_spark`), which also maps the engine-specific
functions listed in ``_sql.ENGINE_FUNCTIONS``. Results leave Spark as Arrow and are turned
into pandas by the same conversion as DuckDB results (DuckDB's Arrow reader), so the two
engines give frames of the same dtypes.

Conventions that make Spark agree with DuckDB (documented in ``docs/warehouse.md``):
session time zone UTC and timestamps without time zone (``TIMESTAMP_NTZ``); Parquet
timestamps in nanoseconds (pandas' default), which Spark cannot read, are read as integers
and converted exactly to microseconds (Spark's resolution; sub-microsecond parts are
dropped); CSV files read like ``cxlib.io`` (``*_id`` as text, contract dates as timestamps,
UTF-8 or CP932, RFC 4180 quoting).
"""

from __future__ import annotations

import functools
import tempfile
import warnings
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataError
from ..schema import CONTRACT, date_columns
from ._files import find_table, is_uri, is_utf8, require_text, transcode

__all__ = ["SparkBackend", "to_spark", "spark_session"]

#: Settings of the private session; the first two make timestamps mean the same as in DuckDB.
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.sql.legacy.parquet.nanosAsLong": "true",
}

#: Settings of a Spark application started here (spark=None or a master address).
LOCAL_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.session.timeZone": "UTC",
}


@contextmanager
def _quiet():
    """pyspark 4.x warns that it does not fully support pandas 3: results leave Spark as
    Arrow and pyspark's pandas conversion is never used, so the warning does not apply."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas",
                                category=FutureWarning)
        yield


def _pyspark():
    try:
        with _quiet():
            import pyspark
            from pyspark.sql import SparkSession
    except ImportError:
        raise DataError("engine='spark' needs pyspark (pip install 'pyspark>=4.0,<5') and "
                        "Java 17 or 21") from None
    if int(pyspark.__version__.split(".")[0]) < 4:
        raise DataError(f"engine='spark' needs pyspark 4.x (found {pyspark.__version__})")
    return SparkSession


def spark_session(master: str = "local[2]", conf: dict[str, str] | None = None):
    """A Spark session for ``master`` ("local[2]", "spark://host:7077", ...): the running one
    when its master is the same, else a new application with :data:`LOCAL_CONF` (UI off,
    driver on 127.0.0.1 for local masters) and ``conf``. Returns (session, started_here)."""
    SparkSession = _pyspark()
    active = SparkSession.getActiveSession()
    if active is not None:
        running = active.sparkContext.master
        if running != master:
            raise DataError(f"a Spark application with master {running!r} is already running "
                            f"in this process; pass that session as spark=, not {master!r}")
        return active, False
    settings = dict(LOCAL_CONF)
    if not master.startswith("local"):
        for key in ("spark.driver.host", "spark.driver.bindAddress"):
            settings.pop(key)
    settings.update(conf or {})
    builder = SparkSession.builder.master(master).appName("cx-workbench")
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        with _quiet():
            session = builder.getOrCreate()
    except Exception as exc:  # Java missing, cluster unreachable: never a raw traceback
        raise DataError(f"cannot start Spark with master {master!r}: "
                        f"{str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r} "
                        "(is Java 17 or 21 installed and on PATH?)") from None
    session.sparkContext.setLogLevel("ERROR")
    return session, True


# -- SQL translation ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=256)
def to_spark(sql: str, timestamps: frozenset[str] = frozenset()) -> str:
    """The DuckDB-dialect ``sql`` as Spark SQL (sqlglot), with the ``ENGINE_FUNCTIONS``:

    - ``epoch_ns(t)`` -> ``unix_micros(CAST(t AS TIMESTAMP)) * 1000`` (exact: Spark holds
      microseconds; the session time zone is UTC);
    - ``CAST(x AS TIMESTAMP_NS)`` -> ``CAST(x AS TIMESTAMP_NTZ)``;
    - ``isfinite(x)`` -> ``abs(x) < CAST('Infinity' AS DOUBLE)`` (false for NaN and
      infinities, NULL for NULL, as in DuckDB);
    - ``TRY_CAST`` and ``FILTER (WHERE ...)`` exist in Spark SQL as they are;
    - parameters ``$name`` -> ``:name``; those in ``timestamps`` (bound as ISO text) are
      wrapped in ``CAST(:name AS TIMESTAMP_NTZ)``.
    """
    import sqlglot
    from sqlglot import exp

    ntz = exp.DataType.build("TIMESTAMPNTZ")
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError as exc:  # our own texts: a bug, not a data problem
        raise ValueError(f"cannot translate SQL to Spark: {exc}") from None
    for node in list(tree.find_all(exp.DataType)):
        if node.this == exp.DataType.Type.TIMESTAMP_NS:
            node.replace(ntz.copy())
    for node in list(tree.find_all(exp.Anonymous)):
        name, args = node.name.lower(), node.expressions
        if name == "epoch_ns" and len(args) == 1:
            micros = exp.Anonymous(this="unix_micros", expressions=[
                exp.cast(args[0].copy(), exp.DataType.build("TIMESTAMPLTZ"))])
            node.replace(exp.paren(exp.Mul(this=micros, expression=exp.Literal.number(1000)),
                                   copy=False))
        elif name == "isfinite" and len(args) == 1:
            node.replace(exp.paren(exp.LT(
                this=exp.Abs(this=args[0].copy()),
                expression=exp.cast(exp.Literal.string("Infinity"), "DOUBLE")), copy=False))
    for node in list(tree.find_all(exp.Placeholder)):
        if node.name in timestamps:
            node.replace(exp.cast(node.copy(), ntz.copy()))
    return tree.sql(dialect="spark")


def _bind(params: dict[str, Any]) -> tuple[dict[str, Any], frozenset[str]]:
    """Parameters for Spark: timestamps as ISO text (cast in the SQL), others as they are."""
    out, stamps = {}, set()
    for key, value in params.items():
        if isinstance(value, (datetime, date, pd.Timestamp)):
            out[key] = pd.Timestamp(value).isoformat(sep=" ")
            stamps.add(key)
        else:
            out[key] = value
    return out, frozenset(stamps)


# -- types ---------------------------------------------------------------------------------------

def _duckdb_type(dtype) -> str:
    """A Spark data type named as DuckDB names it (what ``Source.columns`` reports)."""
    from pyspark.sql import types as T

    simple = {T.ByteType: "TINYINT", T.ShortType: "SMALLINT", T.IntegerType: "INTEGER",
              T.LongType: "BIGINT", T.FloatType: "FLOAT", T.DoubleType: "DOUBLE",
              T.StringType: "VARCHAR", T.BooleanType: "BOOLEAN", T.DateType: "DATE",
              T.TimestampNTZType: "TIMESTAMP", T.TimestampType: "TIMESTAMP WITH TIME ZONE",
              T.BinaryType: "BLOB"}
    for cls, name in simple.items():
        if isinstance(dtype, cls):
            return name
    if isinstance(dtype, T.DecimalType):
        return f"DECIMAL({dtype.precision},{dtype.scale})"
    if isinstance(dtype, (T.VarcharType, T.CharType)):
        return "VARCHAR"
    return dtype.simpleString().upper()


class SparkBackend:
    """Spark SQL over the contract tables of a folder (temporary views in a private session)."""

    def __init__(self, location: Path | str, spark: Any = None) -> None:
        import duckdb

        remote = is_uri(location)
        if not remote and not location.is_dir():
            raise DataError(f"source {location}: engine='spark' reads a folder of Parquet/CSV "
                            "files (a DuckDB database file needs engine='duckdb')")
        SparkSession = _pyspark()
        self._started = False
        if spark is None:
            active = SparkSession.getActiveSession()
            parent, self._started = (active, False) if active else spark_session("local[*]")
        elif isinstance(spark, str):
            parent, self._started = spark_session(spark)
        elif isinstance(spark, SparkSession):
            parent = spark
        else:
            raise ValueError("spark must be None, a SparkSession or a master address such as "
                             f"'local[2]', got {type(spark).__name__}")
        self._parent = parent
        self._spark = parent.newSession()
        for key, value in SESSION_CONF.items():
            self._spark.conf.set(key, value)
        self._arrow = duckdb.connect(":memory:")  # Arrow -> pandas, as for DuckDB results
        self._tmp: tempfile.TemporaryDirectory | None = None
        self.found: dict[str, str] = {}
        self._frames: dict[str, Any] = {}
        try:
            if remote:
                self._register_uri(str(location).rstrip("/"))
            else:
                self._register_all(location)
        except BaseException:
            self.close()  # stops an application started here
            raise

    def _register_all(self, location: Path) -> None:
        for table in CONTRACT:
            hit = find_table(location, table)
            if hit is None:
                continue
            kind, path, label = hit
            try:
                frame = (self._read_csv(path, table) if kind == "csv"
                         else self._read_parquet(path, kind))
            except DataError:
                raise
            except Exception as exc:
                raise DataError(f"{location / table}: cannot read ({_first_line(exc)})"
                                ) from None
            frame.createOrReplaceTempView(table)
            self._frames[table] = frame
            self.found[table] = label

    def _register_uri(self, uri: str) -> None:
        """Tables under a URI, found through Hadoop's FileSystem (s3a, hdfs, gs, abfss,
        file...): ``<table>.parquet`` (a file or a folder Spark wrote), ``<table>/`` of
        Parquet parts, or ``<table>.csv`` (UTF-8; convert CP932 exports beforehand)."""
        jvm = self._spark.sparkContext._jvm
        conf = self._spark.sparkContext._jsc.hadoopConfiguration()
        try:
            fs = jvm.org.apache.hadoop.fs.Path(uri).getFileSystem(conf)
        except Exception as exc:
            raise DataError(f"source {uri}: cannot open ({_first_line(exc)})") from None

        def exists(path: str) -> bool:
            return bool(fs.exists(jvm.org.apache.hadoop.fs.Path(path)))

        for table in CONTRACT:
            for name, kind in ((f"{table}.parquet", "parquet"), (table, "parts"),
                               (f"{table}.csv", "csv")):
                if exists(f"{uri}/{name}"):
                    break
            else:
                continue
            where = f"{uri}/{name}"
            try:
                frame = (self._read_csv(where, table) if kind == "csv"
                         else self._nanos_as_timestamps(self._spark.read.parquet(where), table))
            except DataError:
                raise
            except Exception as exc:
                raise DataError(f"{where}: cannot read ({_first_line(exc)})") from None
            frame.createOrReplaceTempView(table)
            self._frames[table] = frame
            self.found[table] = name if kind != "parts" else f"{table}/*.parquet"

    def _nanos_as_timestamps(self, frame, table: str):
        """Contract date columns that arrive as integers: nanosecond Parquet timestamps
        (read as longs), converted as in :meth:`_read_parquet`."""
        from pyspark.sql import types as T

        dates = set(date_columns(table))
        nanos = [f.name for f in frame.schema.fields
                 if f.name in dates and isinstance(f.dataType, T.LongType)]
        return self._micros(frame, nanos)

    def _micros(self, frame, nanos: list[str]):
        from pyspark.sql import functions as F

        if not nanos:
            return frame
        # Spark cannot read nanosecond timestamps: they arrive as integers (nanosAsLong) and
        # become microseconds, floor-divided exactly in integer arithmetic.
        cols = []
        for i, name in enumerate(frame.columns):
            c = frame[i]  # by position: a column name is never parsed
            if name in nanos:
                micros = (c - F.pmod(c, F.lit(1000))) / F.lit(1000)
                c = F.timestamp_micros(micros.cast("bigint")).cast("timestamp_ntz")
            cols.append(c.alias(name))
        return frame.select(*cols)

    def _read_parquet(self, path: Path, kind: str):
        import pyarrow as pa
        import pyarrow.parquet as pq

        first = path if kind == "parquet" else sorted(path.glob("*.parquet"))[0]
        nanos = [f.name for f in pq.read_schema(first)
                 if pa.types.is_timestamp(f.type) and f.type.unit == "ns"]
        frame = self._spark.read.parquet(str(path if kind == "parquet" else path / "*.parquet"))
        return self._micros(frame, nanos)

    def _read_csv(self, path: Path | str, table: str):
        from pyspark.sql import types as T

        if isinstance(path, Path):
            require_text(path)
        if isinstance(path, Path) and not is_utf8(path):  # Spark 4 reads UTF-8 (and
            # UTF-16/32, Latin-1) only; remote CSV files are read as UTF-8
            if self._tmp is None:
                self._tmp = tempfile.TemporaryDirectory(prefix="cx-spark-")
            path = transcode(path, "cp932", Path(self._tmp.name))
        options = {"header": "true", "multiLine": "true", "escape": '"', "quote": '"',
                   "encoding": "UTF-8"}
        reader = self._spark.read.options(**options)
        inferred = reader.option("inferSchema", "true").csv(str(path)).schema
        dates = set(date_columns(table) if table in CONTRACT else [])
        fields = []
        for field in inferred.fields:
            if field.name.endswith("_id"):
                dtype = T.StringType()
            elif field.name in dates:
                dtype = T.TimestampNTZType()
            else:
                dtype = field.dataType
                if isinstance(dtype, T.TimestampType):
                    dtype = T.TimestampNTZType()
            fields.append(T.StructField(field.name, dtype, True))
        return (self._spark.read.options(**options, mode="FAILFAST")
                .schema(T.StructType(fields)).csv(str(path)))

    def tables(self) -> dict[str, str]:
        return dict(self.found)

    def columns(self, table: str) -> dict[str, str]:
        return {f.name: _duckdb_type(f.dataType) for f in self._frames[table].schema.fields}

    def fetch(self, sql: str, params: dict[str, Any]) -> pd.DataFrame:
        from pyspark.sql import types as T

        args, stamps = _bind(params)
        text = to_spark(sql, stamps)
        try:
            frame = self._spark.sql(text, args=args or None)
            # Decimals (literals like 1.0 summed) as DOUBLE, as DuckDB's pandas conversion gives
            cols = [frame[i].cast("double").alias(f.name)
                    if isinstance(f.dataType, T.DecimalType)
                    else frame[i].cast("timestamp_ntz").alias(f.name)
                    if isinstance(f.dataType, T.TimestampType)
                    else frame[i] for i, f in enumerate(frame.schema.fields)]
            with _quiet():
                table = frame.select(*cols).toArrow()
        except Exception as exc:
            if type(exc).__name__ in ("AnalysisException", "ParseException"):
                raise  # our SQL is wrong: a bug to see, not a data problem
            raise DataError(f"the Spark engine failed on the data ({_first_line(exc)})"
                            ) from None
        return self._arrow.from_arrow(table).df()

    def close(self) -> None:
        for table in self.found:
            self._spark.catalog.dropTempView(table)
        self._arrow.close()
        if self._tmp is not None:
            self._tmp.cleanup()
        if self._started:
            self._parent.stop()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
