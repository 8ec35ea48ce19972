"""Ambiguous input is refused or resolved by evidence, never read silently (issue 14, item 5).

Each test plants one case: day-first dates, a day/month order nothing settles, two
conventions in one column, a Latin-1 file that happens to be valid CP932, undecodable
bytes in a known row and column, and an Excel export with a merged title row.
"""

from __future__ import annotations

import csv

import pandas as pd
import pytest

import cxlib
from cxlib.errors import DataError
from cxlib.io import read_survey
from test_io import SM_MAPPING, _qualtrics_rows, _surveymonkey_rows


def _write(path, rows, encoding="utf-8"):
    with open(path, "w", encoding=encoding, newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def _error(call, *args, **kw) -> str:
    with pytest.raises(DataError) as info:
        call(*args, **kw)
    return str(info.value)


def _survey(path, dates, encoding="utf-8", comments=None):
    rows = [["response_id", "response_date", "nps", "verbatim"]]
    for i, d in enumerate(dates):
        rows.append([f"r{i + 1}", d, "9", (comments or ["ok"] * len(dates))[i]])
    return _write(path, rows, encoding)


# -- dates ---------------------------------------------------------------------------------------

def test_a_day_above_12_makes_the_whole_column_day_first(tmp_path):
    frame = read_survey(_survey(tmp_path / "s.csv", ["05/01/2024", "13/01/2024", "02/03/2024"]))
    assert frame["response_date"].tolist() == [pd.Timestamp("2024-01-05"),
                                               pd.Timestamp("2024-01-13"),
                                               pd.Timestamp("2024-03-02")]
    assert frame.attrs["date_formats"] == {"response_date": "dayfirst"}
    assert any("DD/MM/YYYY" in n and "row 2" in n for n in frame.attrs["notes"])


def test_a_month_above_12_makes_the_whole_column_month_first(tmp_path):
    frame = read_survey(_survey(tmp_path / "s.csv", ["05/01/2024 10:00", "12/31/2024 09:30"]))
    assert frame["response_date"].tolist() == [pd.Timestamp("2024-05-01 10:00"),
                                               pd.Timestamp("2024-12-31 09:30")]
    assert frame.attrs["date_formats"] == {"response_date": "monthfirst"}


def test_dates_nothing_can_order_are_refused_with_rows_and_the_way_to_declare(tmp_path):
    path = _survey(tmp_path / "s.csv", ["05/01/2024", "03/02/2024", "07/07/2024"])
    msg = _error(read_survey, path)
    assert msg.startswith("s.csv: column 'response_date'")
    assert "1 ('05/01/2024')" in msg and "2 ('03/02/2024')" in msg
    assert "07/07" not in msg  # reads the same both ways, so it is no example
    assert "date_format='dayfirst'" in msg and "'monthfirst'" in msg and "%d/%m/%Y" in msg


def test_two_conventions_in_one_column_are_refused(tmp_path):
    path = _survey(tmp_path / "s.csv", ["13/01/2024", "01/02/2024", "01/13/2024"])
    msg = _error(read_survey, path)
    assert "mixes day-first" in msg and "1 ('13/01/2024')" in msg and "3 ('01/13/2024')" in msg


@pytest.mark.parametrize("declared, want", [
    ("dayfirst", ["2024-01-05", "2024-02-03"]),
    ("monthfirst", ["2024-05-01", "2024-03-02"]),
    ("%d/%m/%Y", ["2024-01-05", "2024-02-03"]),
])
def test_a_declared_format_is_used(tmp_path, declared, want):
    path = _survey(tmp_path / "s.csv", ["05/01/2024", "03/02/2024"])
    frame = read_survey(path, date_format=declared)
    assert frame["response_date"].tolist() == [pd.Timestamp(w) for w in want]
    assert frame.attrs["date_formats"] == {"response_date": declared}


def test_the_format_can_be_declared_in_the_mapping_file(tmp_path):
    path = _survey(tmp_path / "s.csv", ["05.01.2024", "03.02.2024"])
    mapping = tmp_path / "m.yml"
    mapping.write_text("date_format: dayfirst\ncolumns:\n  verbatim: verbatim\n", encoding="utf-8")
    frame = read_survey(path, mapping=mapping)
    assert frame["response_date"].tolist() == [pd.Timestamp("2024-01-05"),
                                               pd.Timestamp("2024-02-03")]
    assert "given twice" in _error(read_survey, path, mapping=mapping, date_format="monthfirst")


def test_a_value_that_contradicts_the_declaration_is_named(tmp_path):
    path = _survey(tmp_path / "s.csv", ["05/01/2024", "01/13/2024"])
    msg = _error(read_survey, path, date_format="dayfirst")
    assert "'response_date'" in msg and "(rows 2 ('01/13/2024'))" in msg
    assert "unknown" not in _error(read_survey, path, date_format="%d/%m/%Y")
    assert "neither" in _error(read_survey, path, date_format="european")


def test_two_digit_years_need_a_strftime_format(tmp_path):
    path = _survey(tmp_path / "s.csv", ["24/01/05", "24/02/13"])
    assert "two-digit years" in _error(read_survey, path)
    frame = read_survey(path, date_format="%y/%m/%d")
    assert frame["response_date"].tolist() == [pd.Timestamp("2024-01-05"),
                                               pd.Timestamp("2024-02-13")]


def test_iso_and_japanese_year_first_dates_need_no_declaration(tmp_path):
    frame = read_survey(_survey(tmp_path / "s.csv", ["2024-01-05 10:00", "2024/02/03"]))
    assert frame["response_date"].tolist() == [pd.Timestamp("2024-01-05 10:00"),
                                               pd.Timestamp("2024-02-03")]
    assert frame.attrs["date_formats"] == {"response_date": "year-first"}


def test_surveymonkey_us_dates_without_a_declaration_are_refused(tmp_path):
    """The SurveyMonkey fixture of test_io has only days <= 12: it must say so, not guess."""
    path = _write(tmp_path / "monkey.csv", _surveymonkey_rows())
    msg = _error(read_survey, path, mapping=SM_MAPPING)
    assert "'response_date'" in msg and "03/01/2024" in msg and "date_format=" in msg


def _customers_csv(small_company, path, dates, encoding="utf-8", **column):
    c = small_company.customers.head(len(dates)).copy()
    c["signup_date"] = dates
    for k, v in column.items():
        c[k] = v
    c.to_csv(path, index=False, encoding=encoding)
    return path


def test_contract_table_dates_follow_the_same_rules(tmp_path, small_company):
    ambiguous = ["05/01/2023", "03/02/2023", "04/06/2023"]
    path = _customers_csv(small_company, tmp_path / "customers.csv", ambiguous)
    msg = _error(cxlib.read_table, path, "customers")
    assert msg.startswith("customers.csv: column 'signup_date'") and "date_format=" in msg
    back = cxlib.read_table(path, "customers", date_format={"signup_date": "dayfirst"})
    assert back["signup_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2023-01-05", "2023-02-03", "2023-06-04"]
    assert back.attrs["date_formats"]["signup_date"] == "dayfirst"
    (tmp_path / "evident").mkdir()
    _customers_csv(small_company, tmp_path / "evident" / "customers.csv",
                   ["05/01/2023", "13/02/2023"])
    got = cxlib.load_tables(tmp_path / "evident", tables=("customers",))["customers"]
    assert got["signup_date"].dt.strftime("%Y-%m-%d").tolist() == ["2023-01-05", "2023-02-13"]


# -- decoding ------------------------------------------------------------------------------------

FRENCH = ["Très bien", "Génial, merci", "Élan parfait"]


def test_latin1_that_happens_to_be_valid_cp932_is_refused(tmp_path):
    path = _survey(tmp_path / "fr.csv", ["2024-01-05"] * 3, encoding="latin-1",
                   comments=FRENCH)
    path.read_bytes().decode("cp932")  # the trap: it decodes, as 'Tr鑚 bien'
    msg = _error(read_survey, path)
    assert msg.startswith("fr.csv:") and "mojibake" in msg and "encoding='latin-1'" in msg
    assert "row 1 (line 2), column 'verbatim'" in msg and "Très bien" in msg
    frame = read_survey(path, encoding="latin-1")
    assert frame["verbatim"].tolist() == FRENCH and frame.attrs["encoding"] == "latin-1"


def test_latin1_contract_table_is_refused_and_read_when_declared(tmp_path, small_company):
    path = _customers_csv(small_company, tmp_path / "customers.csv", ["2023-01-05"] * 3,
                          encoding="latin-1", region=["Genève", "Genève", "Zug"])
    msg = _error(cxlib.read_table, path, "customers")
    assert "mojibake" in msg and "column 'region'" in msg and "row 1" in msg
    back = cxlib.read_table(path, "customers", encoding="latin-1")
    assert back["region"].tolist() == ["Genève", "Genève", "Zug"]


def test_genuine_japanese_is_still_read_as_cp932(tmp_path):
    comments = ["iPhone筐体が割れた", "ﾔﾏﾀﾞ ﾀﾛｳ様", "髙橋です①"]  # level-2 kanji, half-width kana
    frame = read_survey(_survey(tmp_path / "jp.csv", ["2024/01/05"] * 3, encoding="cp932",
                                comments=comments))
    assert frame.attrs["encoding"] == "cp932" and frame["verbatim"].tolist() == comments


def test_undecodable_bytes_are_named_by_row_and_column(tmp_path):
    data = "response_id,nps,verbatim\nr1,9,fine\nr2,7,".encode() + b"\x81\x20broken\n"
    (tmp_path / "bad.csv").write_bytes(data)
    msg = _error(read_survey, tmp_path / "bad.csv")
    assert "row 2 (line 3), column 'verbatim'" in msg and "position" not in msg
    msg = _error(read_survey, tmp_path / "bad.csv", encoding="utf-8")
    assert "cannot decode as utf-8" in msg and "row 2 (line 3), column 'verbatim'" in msg


def test_undecodable_rows_count_below_all_header_rows(tmp_path):
    """Qualtrics has three header rows: the first answer is row 1 (line 4)."""
    path = _write(tmp_path / "q.csv", _qualtrics_rows())
    path.write_bytes(path.read_bytes().replace(b"IP Address", b"IP \xff Address", 1))
    msg = _error(read_survey, tmp_path / "q.csv")
    assert "row 1 (line 4), column 'Status'" in msg


def test_undecodable_contract_table_names_row_and_column(tmp_path, small_company):
    c = small_company.customers.head(4).copy()
    c.to_csv(tmp_path / "customers.csv", index=False)
    lines = (tmp_path / "customers.csv").read_bytes().split(b"\n")
    region = list(c.columns).index("region")
    fields = lines[3].split(b",")
    fields[region] = b"North\x81 East"  # neither UTF-8 nor CP932
    lines[3] = b",".join(fields)
    (tmp_path / "customers.csv").write_bytes(b"\n".join(lines))
    msg = _error(cxlib.read_table, tmp_path / "customers.csv", "customers")
    assert "not UTF-8" in msg and "encoding=" in msg
    assert "row 3 (line 4), column 'region': b'North\\x81 East'" in msg


# -- title rows above the header -----------------------------------------------------------------

def test_excel_export_with_a_merged_title_row(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["A1"] = "Customer survey, March 2024"
    sheet.merge_cells("A1:D1")
    for r, row in enumerate([["response_id", "response_date", "nps", "verbatim"],
                             ["r1", "2024-03-01", 10, "great"],
                             ["r2", "2024-03-02", 3, "slow"]], start=2):
        for c, v in enumerate(row, start=1):
            sheet.cell(row=r, column=c, value=v)
    book.save(tmp_path / "export.xlsx")
    frame = read_survey(tmp_path / "export.xlsx")
    assert list(frame.columns) == ["response_id", "response_date", "nps", "verbatim"]
    assert frame["nps"].tolist() == [10, 3] and frame["response_id"].tolist() == ["r1", "r2"]
    assert any("title" in n and "Customer survey, March 2024" in n for n in frame.attrs["notes"])


def test_csv_saved_from_excel_with_a_title_line(tmp_path):
    rows = [["Customer survey", "", "", ""], ["", "", "", ""],
            ["response_id", "response_date", "nps", "verbatim"], ["r1", "2024-03-01", "9", "ok"]]
    frame = read_survey(_write(tmp_path / "t.csv", rows))
    assert frame["nps"].tolist() == [9]
    assert any("2 title row(s)" in n for n in frame.attrs["notes"])


def test_an_unnamed_column_with_answers_is_named_in_the_error(tmp_path):
    rows = [["response_id", "nps", ""], ["r1", "9", "stray"], ["r2", "8", ""]]
    msg = _error(read_survey, _write(tmp_path / "u.csv", rows))
    assert "u.csv:" in msg and "no name" in msg and "column(s) C" in msg and "duplicated" not in msg
    rows = [["response_id", "nps", "", ""], ["r1", "9", "", ""]]  # empty and unnamed: dropped
    assert list(read_survey(_write(tmp_path / "e.csv", rows)).columns) == ["response_id", "nps"]
