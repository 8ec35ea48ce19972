"""The DuckDB engine path against the pandas reference implementations.

Truth here is (a) the pandas functions the engine mirrors (`cxlib.nps`,
`cxlib.churn.build_features`), which have their own tests against planted truth, and
(b) a hand-computed NPS case; plus a spy on everything the engine materialises in Python.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import cxlib
from cxlib import engine
from cxlib.churn import build_features
from conftest import write_boundary_company
from cxlib.errors import DataError, StatisticalWarning

SNAPSHOT = "2025-01-01"


@pytest.fixture(scope="module")
def sample_tables(sample_dir: Path) -> dict[str, pd.DataFrame]:
    return {t: pd.read_parquet(sample_dir / f"{t}.parquet")
            for t in ("customers", "responses", "touchpoints")}


@pytest.fixture(scope="module")
def sample_source(sample_dir: Path):
    with engine.Source(sample_dir) as src:
        yield src


@pytest.fixture(scope="module")
def small_csv_dir(small_company, tmp_path_factory) -> Path:
    """The small company as CSV files (what an export from a CRM looks like)."""
    out = tmp_path_factory.mktemp("small_csv")
    for name in ("customers", "responses", "touchpoints"):
        getattr(small_company, name).to_csv(out / f"{name}.csv", index=False)
    return out


@pytest.fixture(scope="module")
def small_duckdb_file(small_company, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("small_db") / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    for name in ("customers", "responses", "touchpoints"):
        frame = getattr(small_company, name)  # noqa: F841 (read by DuckDB's replacement scan)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
    con.close()
    return path


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("customer_id", kind="stable", ignore_index=True)


# -- NPS -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("by", [None, "journey_phase", ["organisation", "channel"], "touchpoint"])
@pytest.mark.parametrize("weight", [None, "weight"])
def test_nps_equals_pandas_on_sample(sample_source, sample_tables, by, weight):
    expected = cxlib.nps(sample_tables["responses"], by=by, weight=weight, min_n=50)
    got = engine.nps(sample_source, by=by, weight=weight, min_n=50)
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12, atol=1e-12)
    assert got.attrs == expected.attrs


def test_nps_hand_computed(tmp_path):
    # 10 answers: 5 promoters, 3 passives, 2 detractors -> NPS 30; one missing answer is
    # left out. Adjusted Wald (Rocks 2016): n + 3 = 13, p = 5.75/13, d = 2.75/13.
    scores = [10, 9, 9, 10, 9, 7, 8, 7, 3, 6, None]
    frame = pd.DataFrame({"response_id": [f"R{i}" for i in range(11)],
                          "nps": pd.array(scores, dtype="Int64")})
    frame.to_parquet(tmp_path / "responses.parquet")
    row = engine.nps(tmp_path).iloc[0]
    p, d = 5.75 / 13, 2.75 / 13
    half = 1.959963984540054 * np.sqrt((p + d - (p - d) ** 2) / 13)
    assert row["n"] == 10 and row["nps"] == pytest.approx(30.0)
    assert (row["promoters"], row["passives"], row["detractors"]) == pytest.approx((.5, .3, .2))
    assert row["ci_low"] == pytest.approx(100 * (p - d - half), rel=1e-9)
    assert row["ci_high"] == pytest.approx(100 * (p - d + half), rel=1e-9)
    assert bool(row["small_sample"])


def test_nps_group_with_missing_key_and_no_answers(tmp_path):
    frame = pd.DataFrame({"g": ["a", "a", None, "b", "c"], "nps": [10, 0, 9, 7, None],
                          "w": [1.0, 2.0, 1.5, 1.0, 1.0]})
    frame.to_parquet(tmp_path / "responses.parquet")
    expected = cxlib.nps(frame, by="g", weight="w")
    got = engine.nps(tmp_path, by="g", weight="w")
    assert list(got["g"].iloc[:2]) == ["a", "b"] and pd.isna(got["g"].iloc[2])  # c: no answer
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12, atol=1e-12)


# -- churn features --------------------------------------------------------------------------------

def test_features_equal_pandas_on_sample(sample_source, sample_tables):
    expected = _sorted(build_features(sample_tables, SNAPSHOT))
    got = engine.build_features(sample_source, SNAPSHOT)
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12, atol=1e-12)
    assert got.attrs == expected.attrs
    # the comparison is not vacuous: the event features vary
    assert got["repeat_contacts_30d"].sum() > 0 and got["unresolved_recent"].sum() > 0


@pytest.mark.parametrize("kind", ["csv", "duckdb"])
def test_features_equal_pandas_on_csv_and_duckdb_file(kind, small_company, small_csv_dir,
                                                      small_duckdb_file):
    location = small_csv_dir if kind == "csv" else small_duckdb_file
    args = dict(snapshot="2024-07-15", horizon=3, window_days=60)
    expected = _sorted(build_features(small_company.tables, **args))
    with engine.Source(location) as src:
        got = engine.build_features(src, **args)
        nps_got = engine.nps(src, by="journey_phase", weight="weight")
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12, atol=1e-12)
    pd.testing.assert_frame_equal(
        nps_got, cxlib.nps(small_company.responses, by="journey_phase", weight="weight"),
        check_exact=False, rtol=1e-12, atol=1e-12)


def test_features_without_events_or_surveys(small_company, tmp_path):
    small_company.customers.to_parquet(tmp_path / "customers.parquet")
    expected = _sorted(build_features({"customers": small_company.customers}, SNAPSHOT))
    got = engine.build_features(tmp_path, SNAPSHOT)
    pd.testing.assert_frame_equal(got, expected)
    assert "contacts_total" not in got.columns and "latest_nps" not in got.columns


def test_features_warn_and_fail_like_pandas(sample_source):
    with pytest.warns(StatisticalWarning, match="undercounts churn"):
        out = engine.build_features(sample_source, "2025-10-01", horizon=6)
    assert out.attrs["notes"]
    with pytest.raises(DataError, match="after the end of the data"):
        engine.build_features(sample_source, "2027-01-01")


# -- what crosses into pandas ----------------------------------------------------------------------

class _SpyResult:
    def __init__(self, result, rows: list[tuple[str, int]], sql: str) -> None:
        self._result, self._rows, self._sql = result, rows, sql

    def _record(self, n: int) -> None:
        self._rows.append((self._sql, n))

    def df(self) -> pd.DataFrame:
        frame = self._result.df()
        self._record(len(frame))
        return frame

    fetchdf = df

    def fetchall(self) -> list:
        rows = self._result.fetchall()
        self._record(len(rows))
        return rows

    def __getattr__(self, name: str):  # any other way out of DuckDB is not expected
        raise AssertionError(f"unexpected materialisation via {name}")


class _SpyConnection:
    """Wraps the engine's DuckDB connection; records the rows of every result brought out."""

    def __init__(self, con) -> None:
        self._con = con
        self.rows: list[tuple[str, int]] = []

    def execute(self, sql: str, params=None):
        return _SpyResult(self._con.execute(sql, params), self.rows, sql)

    def close(self) -> None:
        self._con.close()


def test_raw_tables_never_cross_into_pandas(sample_dir, sample_tables, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("the engine path read a table into pandas")

    monkeypatch.setattr(pd, "read_parquet", forbidden)
    monkeypatch.setattr(pd, "read_csv", forbidden)
    n_customers = len(sample_tables["customers"])
    n_events, n_responses = len(sample_tables["touchpoints"]), len(sample_tables["responses"])
    with engine.Source(sample_dir) as src:
        spy = _SpyConnection(src._backend._con)
        src._backend._con = spy
        feats = engine.build_features(src, SNAPSHOT)
        by_touchpoint = engine.nps(src, by="touchpoint", weight="weight")
        engine.nps(src, by=["journey_phase", "channel"])
        log = list(src.log)
    assert spy.rows, "the spy saw nothing: the test would pass vacuously"
    assert max(n for _, n in spy.rows) == len(feats) <= n_customers
    assert sum(n for _, n in spy.rows) < min(n_events, n_responses) / 2
    # the engine's own log agrees with the spy on every result that crossed
    assert [f.rows for f in log] == [n for sql, n in spy.rows if "DESCRIBE" not in sql]
    assert len(by_touchpoint) == sample_tables["responses"]["touchpoint"].nunique()


# -- clear errors ----------------------------------------------------------------------------------

def test_missing_table_names_the_source(small_company, tmp_path):
    small_company.customers.to_parquet(tmp_path / "customers.parquet")
    with pytest.raises(DataError, match=r"no 'responses' table .*found: customers") as err:
        engine.nps(tmp_path)
    assert str(tmp_path) in str(err.value)


def test_missing_column_names_table_file_and_column(small_company, tmp_path):
    small_company.responses.drop(columns=["weight"]).to_parquet(tmp_path / "responses.parquet")
    with pytest.raises(DataError, match=r"responses \(.*responses\.parquet\) lacks column\(s\) "
                                        r"'weight'"):
        engine.nps(tmp_path, weight="weight")
    with pytest.raises(DataError, match="'region_x'"):
        engine.nps(tmp_path, by="region_x")
    small_company.customers.drop(columns=["churn_date"]).to_parquet(tmp_path / "customers.parquet")
    with pytest.raises(DataError, match="customers .* lacks column.*'churn_date'"):
        engine.build_features(tmp_path, SNAPSHOT)


def test_identifiers_are_validated_not_pasted(sample_source, tmp_path):
    with pytest.raises(DataError, match="lacks column"):
        engine.nps(sample_source, by='channel" FROM responses; --')
    # a column that exists but whose name is not a plain identifier is refused, not quoted in
    odd = 'g"; DROP TABLE responses; --'
    pd.DataFrame({odd: ["a", "b"], "nps": [9, 3]}).to_parquet(tmp_path / "responses.parquet")
    with pytest.raises(DataError, match="not a plain identifier"):
        engine.nps(tmp_path, by=odd)


def test_bad_scores_and_weights_are_data_errors(tmp_path):
    base = pd.DataFrame({"nps": [10, 11, 3, -1], "weight": [1.0, 1.0, 0.0, 1.0]})
    base.to_parquet(tmp_path / "responses.parquet")
    with pytest.raises(DataError, match="'nps' has 2 values outside 0-10"):
        engine.nps(tmp_path)
    base.assign(nps=[10, 9, 3, 0]).to_parquet(tmp_path / "responses.parquet")
    with pytest.raises(DataError, match="weight column 'weight' has 1 values"):
        engine.nps(tmp_path, weight="weight")
    base.assign(nps=[10, 9, 3, 0], weight=[1.0, np.nan, 1.0, np.inf]).to_parquet(
        tmp_path / "responses.parquet")
    with pytest.raises(DataError, match="weight column 'weight' has 2 values"):
        engine.nps(tmp_path, weight="weight")
    # a NaN stored as NaN (not null): Parquet statistics leave it out of min/max
    pq.write_table(pa.table({"nps": [10, 9, 3], "weight": [1.0, float("nan"), 2.0]}),
                   tmp_path / "responses.parquet")
    with pytest.raises(DataError, match="weight column 'weight' has 1 values"):
        engine.nps(tmp_path, weight="weight")
    base.assign(nps=["10", "ten", "3", "0"]).to_parquet(tmp_path / "responses.parquet")
    with pytest.raises(DataError, match="1 values that are not numbers"):
        engine.nps(tmp_path)


def test_bad_locations(tmp_path):
    with pytest.raises(DataError, match="no such folder or file"):
        engine.Source(tmp_path / "nowhere")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="DuckDB file"):
        engine.Source(tmp_path / "notes.txt")
    (tmp_path / "broken.duckdb").write_text("not a database")
    with pytest.raises(DataError, match="cannot open as a DuckDB database"):
        engine.Source(tmp_path / "broken.duckdb")
    with pytest.raises(ValueError, match="engine must be one of duckdb, spark"):
        engine.Source(tmp_path, engine="oracle")


def test_cp932_csv_is_read(tmp_path):
    frame = pd.DataFrame({"response_id": ["R1", "R2", "R3"], "nps": [10, 2, 8],
                          "organisation": ["店舗①", "店舗①", "ウェブ～"]})
    frame.to_csv(tmp_path / "responses.csv", index=False, encoding="cp932")
    got = engine.nps(tmp_path, by="organisation", min_n=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = cxlib.nps(frame, by="organisation", min_n=1)
    pd.testing.assert_frame_equal(got, expected)
    assert set(got["organisation"]) == {"店舗①", "ウェブ～"}


def test_features_hand_computed_boundaries(tmp_path):
    """Two customers, events placed on the 30-day and window boundaries by hand."""
    snap = write_boundary_company(tmp_path)
    with pytest.warns(StatisticalWarning, match="undercounts"):  # data end 06-20
        got = engine.build_features(tmp_path, snap, horizon=1, window_days=90,
                                    static=("plan",)).set_index("customer_id")
    a, b = got.loc["A"], got.loc["B"]
    # window starts 2024-03-03: A's recent first contacts are 04-01 (unresolved) and 05-31
    assert (a.contacts_total, a.contacts_recent, a.unresolved_recent) == (3, 2, 1)
    assert a.repeat_contacts_30d == 1  # gaps 60 d, 30 d (counts), 30 d + 1 s
    assert (a.complaints_total, a.complaints_recent) == (1, 1)
    assert a.days_since_contact == pytest.approx(
        (snap - pd.Timestamp("2024-05-31 10:00:01")).total_seconds() / 86400)
    assert a.churned_in_horizon == 1 and b.churned_in_horizon == 0
    assert b.tenure_months == pytest.approx(91 / (365.25 / 12)) and b.first_year == 1
    assert b.days_since_contact == pytest.approx(
        (snap - pd.Timestamp("2024-04-01 12:00")).total_seconds() / 86400)
    tables = {t: pd.read_parquet(tmp_path / f"{t}.parquet") for t in ("customers", "touchpoints")}
    with pytest.warns(StatisticalWarning):
        expected = build_features(tables, snap, horizon=1, window_days=90, static=("plan",))
    pd.testing.assert_frame_equal(got.reset_index(), _sorted(expected))
