"""The data contract accepts the sample and rejects broken copies, naming columns and rows."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import cxlib
from cxlib.errors import DataError
from cxlib.schema import CONTRACT, validate, validate_company


def _error(frame: pd.DataFrame, table: str, source: str = "x.csv") -> str:
    with pytest.raises(DataError) as info:
        validate(frame, table, source=source)
    return str(info.value)


def test_sample_on_disk_meets_the_contract(sample_dir):
    tables = cxlib.load_sample(sample_dir)
    assert set(tables) == set(CONTRACT)
    assert len(tables["customers"]) == 20_000
    assert all(len(t) > 0 for t in tables.values())


def test_every_simulated_table_validates(small_company):
    assert set(validate_company(small_company.tables)) == set(CONTRACT)


def test_out_of_range_scores_are_listed_with_rows(small_company):
    r = small_company.responses.copy()
    r.loc[[16, 203], "nps"] = 11
    r.loc[910, "nps"] = -1
    r.loc[5, "csat"] = 6
    msg = _error(r, "responses", "responses.csv")
    assert msg.startswith("responses.csv:")
    line = next(l for l in msg.splitlines() if "'nps'" in l)
    assert "between 0 and 10" in line and "3 rows" in line
    assert re.search(r"17 \(11\), 204 \(11\), 911 \(-1\)", line)
    assert re.search(r"column 'csat' .*between 1 and 5.*1 row: 6 \(6\)", msg)


def test_missing_column_is_named(small_company):
    msg = _error(small_company.customers.drop(columns=["churn_date", "region"]), "customers")
    assert "missing column(s)" in msg and "'churn_date'" in msg and "'region'" in msg


def test_duplicate_ids_are_listed(small_company):
    c = small_company.customers.copy()
    c.loc[9, "customer_id"] = c.loc[2, "customer_id"]
    msg = _error(c, "customers")
    assert "column 'customer_id' must be unique" in msg
    assert "rows: 3" in msg and "10" in msg


def test_wrong_types_name_rows_not_tracebacks(small_company):
    r = small_company.responses.copy()
    r["nps"] = r["nps"].astype(object)
    r.loc[[1, 2], "nps"] = "ten"
    r["response_date"] = r["response_date"].dt.strftime("%Y-%m-%d")
    r["weight"] = r["weight"].astype(object)
    r.loc[4, "weight"] = "heavy"
    msg = _error(r, "responses")
    assert re.search(r"column 'nps' must be a number \(2 rows: 2 \('ten'\), 3 \('ten'\)\)", msg)
    assert "column 'response_date' must be a date/time column" in msg
    assert re.search(r"column 'weight' must be a number \(1 row: 5 \('heavy'\)\)", msg)


def test_every_violation_is_reported_at_once(small_company):
    c = small_company.customers.copy()
    c.loc[0, "revenue"] = -5
    c.loc[1, "churned"] = not c.loc[1, "churned"]
    c.loc[3, "customer_id"] = None
    msg = _error(c, "customers")
    assert msg.count("\n  - ") == 3
    assert "churn_date must be set exactly when churned is true (1 row: 2)" in msg
    assert "column 'revenue' must be >= 0 (1 row: 1 (-5.0))" in msg
    assert "column 'customer_id' must not be empty (1 row: 4)" in msg


def test_long_lists_are_cut_with_a_count(small_company):
    r = small_company.responses.copy()
    r.loc[r.index[:40], "journey_phase"] = "after_sales"
    msg = _error(r, "responses")
    assert "must be one of research" in msg and "40 rows" in msg and "and 35 more" in msg


def test_unknown_customer_references(small_company):
    t = small_company.touchpoints.copy()
    t.loc[2, "customer_id"] = "C999999"
    with pytest.raises(DataError, match=r"tp.parquet: column 'customer_id' refers to customers "
                                        r"not in the customers table \(1 row: 3 \('C999999'\)\)"):
        validate_company({**small_company.tables, "touchpoints": t}, {"touchpoints": "tp.parquet"})


def test_validate_does_not_touch_the_callers_frame(small_company):
    k = small_company.kpis.copy()
    k.index = k.index + 100
    before = k.copy()
    assert validate(k, "kpis") is k
    pd.testing.assert_frame_equal(k, before)


def test_csv_in_cp932_with_leading_zero_ids(tmp_path, small_company):
    c = small_company.customers.head(50).copy()
    c["customer_id"] = [f"{i:05d}" for i in range(50)]
    c["region"] = "関東①"  # not in shift_jis, in cp932
    path = tmp_path / "customers.csv"
    c.to_csv(path, index=False, encoding="cp932")
    back = cxlib.read_table(path, "customers")
    assert back["customer_id"].iloc[1] == "00001"
    assert back["region"].iloc[0] == "関東①"
    assert pd.api.types.is_datetime64_any_dtype(back["signup_date"])


def test_csv_with_bad_dates_names_file_column_rows(tmp_path, small_company):
    c = small_company.customers.head(20).copy()
    c["signup_date"] = c["signup_date"].dt.strftime("%Y-%m-%d").astype(object)
    c.loc[[3, 7], "signup_date"] = "next week"
    path = tmp_path / "customers.csv"
    c.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"customers.csv: column 'signup_date' has 2 values that "
                                        r"are not dates \(rows 4 \('next week'\), 8 \('next week'\)\)"):
        cxlib.read_table(path, "customers")


def test_empty_file_is_one_clear_error(tmp_path):
    path = tmp_path / "responses.csv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="responses.csv: the file is empty"):
        cxlib.read_table(path, "responses")


def test_missing_sample_points_to_make_data(tmp_path):
    with pytest.raises(DataError, match="make data"):
        cxlib.load_sample(tmp_path)


def test_contract_is_documented_column_by_column():
    readme = (cxlib.paths.DATA_DIR / "README.md").read_text(encoding="utf-8")
    for table, schema in CONTRACT.items():
        assert f"### `{table}`" in readme, table
        for column in schema.columns:
            assert f"`{column}`" in readme, f"{table}.{column} undocumented"
    assert np.all([t in readme for t in cxlib.vocab.JOURNEY_PHASES])


def test_require_columns_names_what_is_missing_and_what_is_there():
    from cxlib.schema import require_columns
    frame = pd.DataFrame({"a": [1], "b": [2]})
    require_columns(frame, ["a"], "f")
    with pytest.raises(DataError, match=r"f: column\(s\) 'c', 'd' not found \(columns present: 'a', 'b'\)"):
        require_columns(frame, ["a", "c", "d"], "f")
