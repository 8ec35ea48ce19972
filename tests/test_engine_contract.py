"""One contract check for every table at ``cxlib.open_data``, whichever engine reads it.

Each case plants one fault found by a hostile-input run (issue 14) in a folder of CSV files
read by DuckDB, and checks the error names the file, the column and the rows (or, for the
event table, which has no row order in a warehouse, the keys of the first offending rows).
Truth: the planted row, value and counts; the pandas path (``cxlib.load_tables``) on the
same files for the rules both share.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

import cxlib
from cxlib import engine, synth
from cxlib.errors import DataError

TABLES = ("customers", "responses", "touchpoints", "kpis", "financials")


@pytest.fixture(scope="module")
def company() -> synth.Company:
    return synth.make_company(n_customers=300, seed=3)


@pytest.fixture
def folder(company, tmp_path) -> Path:
    """The small company as five CSV files."""
    for name in TABLES:
        getattr(company, name).to_csv(tmp_path / f"{name}.csv", index=False)
    return tmp_path


def _rows(folder: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)


def _write(folder: Path, table: str, frame: pd.DataFrame) -> None:
    frame.to_csv(folder / f"{table}.csv", index=False)


def _error(folder: Path, **kw) -> str:
    with pytest.raises(DataError) as err:
        cxlib.open_data(folder, **kw)
    return str(err.value)


def test_a_good_folder_opens_and_keeps_the_small_tables(folder):
    with cxlib.open_data(folder) as data:
        assert data.notes == []
        # validated at open and kept: no second read when a notebook asks for them
        reads = len(data.log)
        assert data["kpis"] is data["kpis"] and len(data.log) == reads
        read = {f.what for f in data.log if f.what.startswith("table ")}
        assert read == {"table customers", "table kpis", "table financials"}
        # answers and events were checked in the engine: nothing row-sized came into pandas
        assert max(f.rows for f in data.log if not f.what.startswith("table ")) <= 5
        assert len(data["responses"]) == len(_rows(folder, "responses"))  # on first use


def test_answers_are_checked_in_the_engine_with_the_pandas_rules(folder):
    r = _rows(folder, "responses")
    r.loc[3, "nps"] = "11"
    r.loc[5, "nps"] = "7.5"
    r.loc[8, "csat"] = "good"
    r.loc[9, "weight"] = "0"
    r.loc[10, "journey_phase"] = "after_sales"
    r.loc[12, "customer_id"] = "C-unknown"
    r.loc[14, "response_id"] = r.loc[2, "response_id"]
    _write(folder, "responses", r)
    msg = _error(folder)
    rid = r["response_id"]
    assert msg.startswith(f"responses ({folder}: responses.csv): 5 problem(s) with table "
                          "'responses':")
    for line in (f"column 'nps' must be whole numbers between 0 and 10 (2 rows, e.g. "
                 f"response_id {rid[3]} ('11.0'), {rid[5]} ('7.5'))",
                 f"column 'csat' must be a number (1 row, e.g. response_id {rid[8]} ('good'))",
                 f"column 'weight' must be > 0 (1 row, e.g. response_id {rid[9]} ('0.0'))",
                 f"column 'journey_phase' must be one of research,",
                 f"column 'response_id' must be unique (duplicates: 1 values in 2 rows, e.g. "
                 f"{rid[2]} (2 rows))",
                 f"column 'customer_id' refers to customers not in the customers table "
                 f"(1 answers; e.g. C-unknown)"):
        assert line in msg, line
    # the pandas path finds the same faults, named by row
    with pytest.raises(DataError) as err:
        cxlib.load_tables(folder)
    pandas_msg = str(err.value)
    for line in ("column 'nps' must be whole numbers between 0 and 10 (2 rows: 4 (11.0), "
                 "6 (7.5))", "column 'csat' must be a number (1 row: 9 ('good'))",
                 "column 'weight' must be > 0 (1 row: 10 (0.0))",
                 "column 'response_id' must be unique (duplicates) (2 rows: 3"):
        assert line in pandas_msg, (line, pandas_msg)


def test_absent_tables_are_a_note_not_an_error(folder):
    (folder / "kpis.csv").unlink()
    (folder / "financials.csv").unlink()
    with cxlib.open_data(folder) as data:
        assert "kpis" not in data
        assert data.notes == [f"no kpis table in {folder}", f"no financials table in {folder}"]


def test_duplicated_event_ids_are_named(folder):
    ev = _rows(folder, "touchpoints")
    ev = pd.concat([ev, ev.iloc[[4, 4, 9]]], ignore_index=True)  # E4 three times, E9 twice
    _write(folder, "touchpoints", ev)
    ids = ev["event_id"].iloc[[4, 9]].tolist()
    msg = _error(folder)
    assert msg.startswith(f"touchpoints ({folder}: touchpoints.csv): 1 problem(s)")
    assert (f"column 'event_id' must be unique (duplicates: 2 values in 5 rows, e.g. "
            f"{ids[0]} (3 rows), {ids[1]} (2 rows))") in msg


def test_unknown_journey_phase_in_events_is_named(folder):
    ev = _rows(folder, "touchpoints")
    ev.loc[[7, 3], "journey_phase"] = ["nowhere", "use_and_support"]
    _write(folder, "touchpoints", ev)
    msg = _error(folder)
    first, second = sorted([(ev.loc[3, "event_id"], "use_and_support"),
                            (ev.loc[7, "event_id"], "nowhere")])
    assert "column 'journey_phase' must be one of research, selection," in msg
    assert f"(2 rows, e.g. event_id {first[0]} ({first[1]!r}), {second[0]} ({second[1]!r}))" in msg


def test_event_rules_are_counted_with_examples(folder):
    ev = _rows(folder, "touchpoints")
    ev.loc[[2, 5, 6], "event_type"] = ""          # missing required values
    ev.loc[[8, 1], "touchpoint"] = ""
    _write(folder, "touchpoints", ev.drop(columns=["organisation"]))
    msg = _error(folder)
    assert msg.startswith(f"touchpoints ({folder}: touchpoints.csv): 3 problem(s)")
    assert "missing column(s) 'organisation'" in msg
    assert (f"column 'event_type' must not be empty (3 rows, e.g. event_id "
            f"{ev.loc[2, 'event_id']}, {ev.loc[5, 'event_id']}, {ev.loc[6, 'event_id']})") in msg
    assert (f"column 'touchpoint' must not be empty (2 rows, e.g. event_id "
            f"{ev.loc[1, 'event_id']}, {ev.loc[8, 'event_id']})") in msg


def test_true_false_words_are_read_as_pandas_reads_them(folder):
    """DuckDB would read yes/no as true/false; pandas (and the contract) do not."""
    ev = _rows(folder, "touchpoints")
    ev["resolved_first_contact"] = ev["resolved_first_contact"].replace("True", "yes")
    _write(folder, "touchpoints", ev)
    rows = [i + 1 for i in ev.index[ev["resolved_first_contact"] == "yes"]]
    msg = _error(folder)
    shown = ", ".join(f"{r} ('yes')" for r in rows[:5])
    assert msg == (f"touchpoints.csv: column 'resolved_first_contact' has {len(rows)} values "
                   f"that are not true/false (rows {shown} and {len(rows) - 5} more)")
    # pandas rejects the file too (and then holds every value of the column as text)
    with pytest.raises(DataError, match=rf"'resolved_first_contact' must be true/false "
                                        rf"\(\d+ rows: {rows[0]} \('yes'\)"):
        cxlib.read_table(folder / "touchpoints.csv", "touchpoints")
    # the words pandas takes stay true and false in the engine
    ev["resolved_first_contact"] = ev["resolved_first_contact"].replace("yes", "true")
    _write(folder, "touchpoints", ev)
    with engine.Source(folder) as src:
        n = src.fetch("SELECT count(*) FILTER (WHERE resolved_first_contact) AS t, "
                      "count(*) FILTER (WHERE NOT resolved_first_contact) AS f FROM touchpoints")
    assert n.iloc[0].tolist() == [len(rows), int((ev["resolved_first_contact"] == "False").sum())]


def test_malformed_timestamp_names_file_column_and_row(folder):
    ev = _rows(folder, "touchpoints")
    ev.loc[2, "timestamp"] = "not a date"   # data row 3 (line 4 of the file)
    ev.loc[40, "timestamp"] = "2024-13-01"
    _write(folder, "touchpoints", ev)
    msg = _error(folder)
    assert msg == ("touchpoints.csv: column 'timestamp' has 2 values that are not dates "
                   "(rows 3 ('not a date'), 41 ('2024-13-01'))")
    # the pandas path names the same rows
    with pytest.raises(DataError, match=r"'timestamp' has 2 values that are not dates "
                                        r"\(rows 3 \('not a date'\), 41 \('2024-13-01'\)\)"):
        cxlib.read_table(folder / "touchpoints.csv", "touchpoints")


def test_empty_file_is_named_as_such(folder):
    (folder / "customers.csv").write_text("", encoding="utf-8")
    assert _error(folder) == "customers.csv: the file is empty"
    with pytest.raises(DataError, match="^customers.csv: the file is empty$"):
        engine.build_features(folder, "2024-06-01")  # the engine's own functions too
    (folder / "customers.csv").write_bytes(b"\xef\xbb\xbf\n  \n")  # a BOM and blank lines
    assert _error(folder) == "customers.csv: the file is empty"


@pytest.mark.parametrize("table", TABLES)
def test_header_only_file_is_named_as_such(folder, table):
    frame = _rows(folder, table)
    _write(folder, table, frame.iloc[:0])
    msg = _error(folder)
    assert f"table {table!r} has no rows (only a header)" in msg
    assert "not in the customers table" not in msg  # not the misleading message of before
    assert len(msg.splitlines()) == 1


def test_header_only_through_the_pandas_path(folder):
    _write(folder, "financials", _rows(folder, "financials").iloc[:0])
    with pytest.raises(DataError, match="financials.csv: table 'financials' has no rows"):
        cxlib.load_tables(folder)


def test_a_table_no_notebook_reads_is_checked_at_open(folder):
    kpis = _rows(folder, "kpis")
    kpis.loc[4, "n"] = "-3"
    kpis.loc[6, "value"] = "many"
    _write(folder, "kpis", kpis)
    msg = _error(folder)
    assert msg.startswith("kpis.csv: 2 problem(s) with table 'kpis':")
    assert "column 'n' must be >= 0 (1 row: 5 (-3))" in msg
    assert "column 'value' must be a number (1 row: 7 ('many'))" in msg


def test_every_table_s_problems_in_one_error(folder):
    _write(folder, "financials", _rows(folder, "financials").iloc[:0])
    ev = _rows(folder, "touchpoints")
    _write(folder, "touchpoints", pd.concat([ev, ev.iloc[[0]]], ignore_index=True))
    msg = _error(folder)
    assert "financials.csv: table 'financials' has no rows" in msg
    assert "column 'event_id' must be unique" in msg


def test_check_false_defers_to_first_use(folder):
    kpis = _rows(folder, "kpis")
    kpis.loc[0, "n"] = "-1"
    _write(folder, "kpis", kpis)
    with cxlib.open_data(folder, check=False) as data:
        data["customers"]
        with pytest.raises(DataError, match="kpis.csv: 1 problem"):
            data["kpis"]


def test_the_event_rules_follow_the_contract():
    """The SQL rules are read from the contract the pandas path validates with."""
    from cxlib.engine import _contract
    from cxlib.schema import CONTRACT

    columns = CONTRACT["touchpoints"].columns
    typed = {"timestamp": "TIMESTAMP", "resolved_first_contact": "BOOLEAN"}
    rules = _contract._rules("touchpoints", {n: typed.get(n, "VARCHAR") for n in columns})
    assert {r.column for r in rules if r.text == "must not be empty"} == {
        n for n, c in columns.items() if not c.nullable}
    assert [r.column for r in rules if r.text.startswith("must be one of")] == ["journey_phase"]
    assert not [r for r in rules if r.text.startswith(("must be a date", "must be true"))]
    # text where a date/time or true/false is required: every value is a violation
    as_text = _contract._rules("touchpoints", dict.fromkeys(columns, "VARCHAR"))
    assert {r.column for r in as_text if r.where.endswith("IS NOT NULL")} == {
        "timestamp", "resolved_first_contact"}


def test_parquet_parts_are_checked_in_sql(company, tmp_path):
    """A warehouse-style event folder: duplicates across two parts are found in the engine."""
    for name in ("customers", "responses"):
        getattr(company, name).to_parquet(tmp_path / f"{name}.parquet")
    ev = company.touchpoints
    (tmp_path / "touchpoints").mkdir()
    ev.iloc[:100].to_parquet(tmp_path / "touchpoints" / "part-0.parquet")
    ev.iloc[99:].to_parquet(tmp_path / "touchpoints" / "part-1.parquet")
    with engine.Source(tmp_path) as src:
        problems = engine.check_events(src)
    assert len(problems) == 1
    assert (f"touchpoints/*.parquet): 1 problem(s) with table 'touchpoints':\n  - column "
            f"'event_id' must be unique (duplicates: 1 values in 2 rows, e.g. "
            f"{ev['event_id'].iloc[99]} (2 rows))") in problems[0]
