"""The Spark engine against the DuckDB engine and the pandas reference implementations.

One local Spark application (``local[2]``, UI off, driver on 127.0.0.1) for the module.
Truth: (a) the DuckDB path and the pandas functions it mirrors (`cxlib.nps`,
`cxlib.churn.build_features`, themselves tested against planted truth), on the same small
simulated company; (b) hand-computed values for the translated engine functions and for
events placed on the 30-day and window boundaries. Skipped only when no Java is found
(``make java`` installs it).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cxlib
from cxlib import engine
from cxlib.churn import build_features
from cxlib.engine._spark import spark_session, to_spark
from conftest import write_boundary_company
from cxlib.errors import DataError, StatisticalWarning

pytestmark = pytest.mark.skipif(
    shutil.which("java") is None and not os.environ.get("JAVA_HOME"),
    reason="no Java runtime (java not on PATH, JAVA_HOME unset): pyspark needs Java 17 or 21; "
           "`make java` installs it")

ARGS = dict(snapshot="2024-07-15", horizon=3, window_days=60)
TABLES = ("customers", "responses", "touchpoints")


@pytest.fixture(scope="module")
def spark():
    t0 = time.perf_counter()
    session, started = spark_session("local[2]", {"spark.sql.shuffle.partitions": "2",
                                                  "spark.default.parallelism": "2"})
    print(f"\nSpark {session.version} started in {time.perf_counter() - t0:.1f} s")
    yield session
    if started:
        session.stop()


@pytest.fixture(scope="module")
def parquet_dir(small_company, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("small_parquet")
    for name in TABLES:
        getattr(small_company, name).to_parquet(out / f"{name}.parquet")
    return out


@pytest.fixture(scope="module")
def sources(parquet_dir, spark):
    with engine.Source(parquet_dir) as duck, \
            engine.Source(parquet_dir, engine="spark", spark=spark) as sp:
        yield duck, sp


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("customer_id", kind="stable", ignore_index=True)


def _same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Same rows, columns and dtypes; values equal to 1e-9."""
    assert list(got.columns) == list(expected.columns)
    assert got.dtypes.to_dict() == expected.dtypes.to_dict()
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9, atol=1e-9)


# -- the SQL translation ---------------------------------------------------------------------------

def test_engine_functions_are_translated_and_exact(sources):
    duck, sp = sources
    sql = ("SELECT epoch_ns(CAST($t AS TIMESTAMP_NS)) AS ns, isfinite(x) AS f "
           "FROM (VALUES (1.0), (CAST('Infinity' AS DOUBLE)), (CAST('NaN' AS DOUBLE)), "
           "(NULL)) AS v(x)")
    translated = to_spark(sql, frozenset({"t"}))
    for word in ("EPOCH_NS", "ISFINITE", "TIMESTAMP_NS", "$"):
        assert word not in translated.upper()
    params = {"t": pd.Timestamp("1970-01-02 00:00:00.000001")}
    got, expected = sp.fetch(sql, params), duck.fetch(sql, params)
    # one day and one microsecond after the epoch, in nanoseconds (hand-computed)
    assert (got["ns"] == 86_400 * 10**9 + 1_000).all()
    assert got["f"].tolist()[:3] == [True, False, False] and pd.isna(got["f"].iloc[3])
    _same(got, expected)


# -- NPS -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("by", [None, "journey_phase", ["organisation", "channel"], "touchpoint"])
@pytest.mark.parametrize("weight", [None, "weight"])
def test_nps_same_on_duckdb_and_spark(sources, small_company, by, weight):
    duck, sp = sources
    expected = engine.nps(duck, by=by, weight=weight, min_n=20)
    got = engine.nps(sp, by=by, weight=weight, min_n=20)
    _same(got, expected)
    assert got.attrs == expected.attrs
    # and both equal the pandas reference
    _same(got, cxlib.nps(small_company.responses, by=by, weight=weight, min_n=20))
    assert got["n"].sum() == small_company.responses["nps"].notna().sum()


def test_nps_errors_are_the_same_data_errors(spark, tmp_path):
    pd.DataFrame({"nps": [10, 11, 3, -1], "weight": [1.0, 1.0, 0.0, np.inf]}).to_parquet(
        tmp_path / "responses.parquet")
    with engine.Source(tmp_path, engine="spark", spark=spark) as sp:
        with pytest.raises(DataError, match="'nps' has 2 values outside 0-10"):
            engine.nps(sp)
        with pytest.raises(DataError, match="lacks column"):
            engine.nps(sp, by='channel" FROM responses; --')
    pd.DataFrame({"nps": [10, 9, 3], "weight": [1.0, 0.0, np.inf]}).to_parquet(
        tmp_path / "responses.parquet")
    with engine.Source(tmp_path, engine="spark", spark=spark) as sp:
        with pytest.raises(DataError, match="weight column 'weight' has 2 values"):
            engine.nps(sp, weight="weight")


# -- churn features --------------------------------------------------------------------------------

def test_features_same_on_duckdb_and_spark(sources, small_company):
    duck, sp = sources
    expected = engine.build_features(duck, **ARGS)
    got = engine.build_features(sp, **ARGS)
    _same(got, expected)
    assert got.attrs == expected.attrs
    _same(got, _sorted(build_features(small_company.tables, **ARGS)))
    # the comparison is not vacuous: event and survey features vary
    for col in ("repeat_contacts_30d", "unresolved_recent", "churned_in_horizon"):
        assert got[col].sum() > 0, col
    assert got["latest_nps"].notna().sum() > 0 and got["days_since_contact"].std() > 0


def test_features_from_csv_through_spark(spark, small_company, tmp_path):
    """CSV read like cxlib.io: ids as text, dates as timestamps, quoted text with commas."""
    for name in TABLES:
        getattr(small_company, name).to_csv(tmp_path / f"{name}.csv", index=False)
    with engine.Source(tmp_path, engine="spark", spark=spark) as sp:
        got = engine.build_features(sp, **ARGS)
        assert sp.columns("customers")["signup_date"] == "TIMESTAMP"
        assert sp.columns("responses")["response_id"] == "VARCHAR"
    with engine.Source(tmp_path) as duck:
        _same(got, engine.build_features(duck, **ARGS))


def test_cp932_csv_with_quotes_and_newlines(spark, tmp_path):
    frame = pd.DataFrame({"response_id": ["001", "002", "003"], "nps": [10, 2, 8],
                          "organisation": ["店舗①", "店舗①", "ウェブ～"],
                          "verbatim": ['遅い, "とても"', "行1\n行2", None]})
    frame.to_csv(tmp_path / "responses.csv", index=False, encoding="cp932")
    with engine.Source(tmp_path, engine="spark", spark=spark) as sp:
        got = engine.nps(sp, by="organisation", min_n=1)
        texts = sp.fetch("SELECT response_id, verbatim FROM responses ORDER BY response_id")
    with engine.Source(tmp_path) as duck:
        _same(got, engine.nps(duck, by="organisation", min_n=1))
    assert set(got["organisation"]) == {"店舗①", "ウェブ～"}
    assert texts["response_id"].tolist() == ["001", "002", "003"]  # leading zeros kept
    assert texts["verbatim"].tolist()[:2] == ['遅い, "とても"', "行1\n行2"]


def test_features_hand_computed_boundaries(spark, tmp_path):
    """Nanosecond Parquet timestamps; events exactly 30 days and 30 days + 1 s apart."""
    snap = write_boundary_company(tmp_path)
    kw = dict(horizon=1, window_days=90, static=("plan",))
    with engine.Source(tmp_path, engine="spark", spark=spark) as sp, \
            pytest.warns(StatisticalWarning, match="undercounts"):
        got = engine.build_features(sp, snap, **kw)
    a = got.set_index("customer_id").loc["A"]
    assert (a.contacts_total, a.contacts_recent, a.unresolved_recent) == (3, 2, 1)
    assert a.repeat_contacts_30d == 1  # gaps 60 d, 30 d (counts), 30 d + 1 s (does not)
    assert a.days_since_contact == pytest.approx(
        (snap - pd.Timestamp("2024-05-31 10:00:01")).total_seconds() / 86400, rel=1e-12)
    with engine.Source(tmp_path) as duck, pytest.warns(StatisticalWarning):
        _same(got, engine.build_features(duck, snap, **kw))


# -- what crosses into pandas, and errors ----------------------------------------------------------

class _ArrowSpy:
    """Stands in for the converter every Spark result passes through; records its rows."""

    def __init__(self, con) -> None:
        self._con, self.rows = con, []

    def from_arrow(self, table):
        self.rows.append(table.num_rows)
        return self._con.from_arrow(table)

    def close(self) -> None:
        self._con.close()


def test_only_aggregates_cross_into_pandas(spark, parquet_dir, small_company, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("the engine path read a table into pandas")

    monkeypatch.setattr(pd, "read_parquet", forbidden)
    monkeypatch.setattr(pd, "read_csv", forbidden)
    with engine.Source(parquet_dir, engine="spark", spark=spark) as sp:
        spy = _ArrowSpy(sp._backend._arrow)
        sp._backend._arrow = spy
        feats = engine.build_features(sp, **ARGS)
        engine.nps(sp, by="touchpoint", weight="weight")
        log = list(sp.log)
    assert spy.rows and [f.rows for f in log] == spy.rows
    assert max(spy.rows) == len(feats) <= len(small_company.customers)
    assert sum(spy.rows) < len(small_company.touchpoints) / 2


def test_bad_spark_locations(spark, tmp_path, small_company):
    small_company.customers.to_parquet(tmp_path / "customers.parquet")
    with engine.Source(tmp_path, engine="spark", spark=spark) as sp:
        assert sp.tables == {"customers": "customers.parquet"}
        with pytest.raises(DataError, match=r"no 'responses' table .*found: customers"):
            engine.nps(sp)
    (tmp_path / "responses.parquet").write_text("not a Parquet file")
    with pytest.raises(DataError, match="responses: cannot read"):
        engine.Source(tmp_path, engine="spark", spark=spark)
    (tmp_path / "responses.parquet").unlink()
    (tmp_path / "w.duckdb").write_text("x")
    with pytest.raises(DataError, match="engine='spark' reads a folder"):
        engine.Source(tmp_path / "w.duckdb", engine="spark", spark=spark)
    with pytest.raises(DataError, match="already running"):
        engine.Source(tmp_path, engine="spark", spark="local[3]")
    with pytest.raises(ValueError, match="spark= is for engine='spark'"):
        engine.Source(tmp_path, spark=spark)


def test_touchpoint_reductions_equal_duckdb(sources, small_company):
    """Every reduction the notebooks push down: Spark = DuckDB (and so = pandas)."""
    from cxlib.engine import touchpoints as T

    duck, sp = sources
    for by in ("touchpoint", "event_type"):
        pd.testing.assert_series_equal(T.event_counts(duck, by), T.event_counts(sp, by))
    for by in (None, "journey_phase"):
        a, b = (T.purchase_split(s, by, ["purchase"], ["exposure"]) for s in (duck, sp))
        if by:
            a, b = (x.sort_values(by, ignore_index=True) for x in (a, b))
        pd.testing.assert_frame_equal(a, b, rtol=1e-12)
    resp = small_company.responses
    pd.testing.assert_frame_equal(T.contact_history(duck, resp, 90),
                                  T.contact_history(sp, resp, 90))
    pd.testing.assert_frame_equal(T.contact_resolution(duck), T.contact_resolution(sp))
    pd.testing.assert_frame_equal(T.contact_observations(duck), T.contact_observations(sp))
    assert T.last_event(duck) == T.last_event(sp)
    assert engine.check_events(sp) == engine.check_events(duck) == []
    # the structural model's KPI table: answers and events reduced in each engine
    from cxlib import kpimodel

    pd.testing.assert_frame_equal(kpimodel.customer_kpis(engine.open_data(duck, check=False)),
                                  kpimodel.customer_kpis(engine.open_data(sp, check=False)))


def test_uri_locations_through_hadoop_filesystem(parquet_dir, spark, sources):
    """A URI location (here file://, the same Hadoop FileSystem path as s3a:// or hdfs://)
    is listed and read by Spark; nanosecond timestamps are converted as for local files;
    features equal the DuckDB engine's."""
    duck, _ = sources
    parts = parquet_dir.parent / "uri_parts"
    if not parts.exists():  # one table as a folder of parts, as Spark and warehouses write
        (parts / "touchpoints").mkdir(parents=True)
        for name in ("customers", "responses"):
            shutil.copy(parquet_dir / f"{name}.parquet", parts / f"{name}.parquet")
        shutil.copy(parquet_dir / "touchpoints.parquet", parts / "touchpoints" / "part-0.parquet")
    with engine.Source(parts.as_uri(), engine="spark", spark=spark) as remote:
        assert remote.tables == {"customers": "customers.parquet",
                                 "responses": "responses.parquet",
                                 "touchpoints": "touchpoints/*.parquet"}
        assert remote.columns("touchpoints")["timestamp"] == "TIMESTAMP"
        _same(engine.build_features(remote, **ARGS),
              engine.build_features(duck, **ARGS))
    with pytest.raises(DataError, match="needs engine='spark'"):
        engine.Source(parts.as_uri())


def test_contract_checks_same_on_duckdb_and_spark(spark, small_company, tmp_path):
    """The event table's contract checks (issue 14) give the same problems in both engines:
    duplicated ids, an unknown phase, a missing value, a missing column; a header-only
    table and an empty CSV file are named as such."""
    small_company.customers.to_parquet(tmp_path / "customers.parquet")
    ev = small_company.touchpoints.drop(columns=["organisation"]).copy()
    ev = pd.concat([ev, ev.iloc[[3]]], ignore_index=True)
    ev.loc[[5, 8], "journey_phase"] = "nowhere"
    ev.loc[6, "timestamp"] = pd.NaT
    ev.to_parquet(tmp_path / "touchpoints.parquet")
    small_company.kpis.iloc[:0].to_parquet(tmp_path / "kpis.parquet")
    errors = []
    for kw in ({}, {"engine": "spark", "spark": spark}):
        with engine.Source(tmp_path, **kw) as src, pytest.raises(DataError) as err:
            engine.open_data(src)
        errors.append(str(err.value))
    assert errors[0] == errors[1]
    text = errors[0]
    assert "kpis.parquet: table 'kpis' has no rows (only a header)" in text
    assert "touchpoints.parquet): 4 problem(s) with table 'touchpoints':" in text
    assert "missing column(s) 'organisation'" in text
    assert f"must not be empty (1 row, e.g. event_id {ev.loc[6, 'event_id']})" in text
    ids = sorted(ev.loc[[5, 8], "event_id"])
    assert f"(2 rows, e.g. event_id {ids[0]} ('nowhere'), {ids[1]} ('nowhere'))" in text
    assert (f"duplicates: 1 values in 2 rows, e.g. {ev.loc[3, 'event_id']} (2 rows)") in text
    (tmp_path / "kpis.parquet").unlink()
    (tmp_path / "kpis.csv").write_text("\n", encoding="utf-8")
    with pytest.raises(DataError, match="^kpis.csv: the file is empty$"):
        engine.Source(tmp_path, engine="spark", spark=spark)
