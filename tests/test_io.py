"""read_survey: every export format round-trips; bad input gets one clear DataError.

Fixtures are written here, in each platform's layout, from one known answer table
(``TRUTH``); reading them back must give the same ids, dates, scores and comments.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest

import cxlib
from cxlib.errors import DataError, ParameterError
from cxlib.io import read_survey

TRUTH = pd.DataFrame({
    "response_id": ["R_001", "R_002", "00123", "R_004"],
    "response_date": pd.to_datetime(["2024-03-01 10:15:00", "2024-03-02 08:00:00",
                                     "2024-03-05 19:30:00", "2024-03-09 12:00:00"]),
    "nps": pd.array([10, 0, 7, None], dtype="Int64"),
    "csat": pd.array([5, 1, 3, 4], dtype="Int64"),
    "verbatim": pd.array(["とても親切でした①", "=SUM(A1) 最悪", None, "Fine, thanks"], dtype="string"),
})
NPS_Q = "How likely are you to recommend us to a friend or colleague?"
CSAT_Q = "Overall, how satisfied are you?"
TEXT_Q = "Why? / 理由"


def _nps_label(v, style: str) -> str:
    if pd.isna(v):
        return ""
    return {"plain": str(v), "dash": f"{v} - 非常に薦めたい" if v == 10 else str(v),
            "eq": "0 = Not at all likely" if v == 0 else f"{v}",
            "fullwidth": str(v).translate(str.maketrans("0123456789", "０１２３４５６７８９"))}[style]


def _text(v) -> str:
    return "" if pd.isna(v) else str(v)


def _write(path, rows, encoding="utf-8", delimiter=","):
    with open(path, "w", encoding=encoding, newline="") as fh:
        csv.writer(fh, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL).writerows(rows)
    return path


def _to_xlsx(rows, path):
    """Write rows as an Excel sheet; text stays text (openpyxl would turn '=...' into a formula)."""
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if value is None or (not isinstance(value, str) and pd.isna(value)) or value == "":
                continue
            cell = sheet.cell(row=r, column=c, value=value)
            if isinstance(value, str):
                cell.data_type = "s"
    book.save(path)
    return path


def _qualtrics_rows(style="dash"):
    ids = ["StartDate", "EndDate", "Status", "ResponseId", "RecordedDate", "Q1", "Q2", "Q3_TEXT"]
    text = ["Start Date", "End Date", "Response Type", "Response ID", "Recorded Date", NPS_Q, CSAT_Q,
            TEXT_Q]
    imports = [json.dumps({"ImportId": k}) for k in
               ("startDate", "endDate", "status", "_recordId", "recordedDate", "QID1", "QID2",
                "QID3_TEXT")]
    rows = [ids, text, imports]
    for r in TRUTH.itertuples():
        when = r.response_date.strftime("%Y-%m-%d %H:%M:%S")
        rows.append([when, when, "IP Address", r.response_id, when, _nps_label(r.nps, style),
                     _text(r.csat), _text(r.verbatim)])
    return rows


def _surveymonkey_rows():
    top = ["Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address", NPS_Q, CSAT_Q,
           TEXT_Q]
    sub = ["", "", "", "", "", "Response", "Response", "Open-Ended Response"]
    rows = [top, sub]
    for r in TRUTH.itertuples():
        when = r.response_date.strftime("%m/%d/%Y %I:%M:%S %p")
        rows.append([r.response_id, "4321", when, when, "203.0.113.1", _nps_label(r.nps, "eq"),
                     _text(r.csat), _text(r.verbatim)])
    return rows


MAPPING = {"Q1": "nps", "Q2": "csat", "Q3_TEXT": "verbatim"}
SM_MAPPING = {NPS_Q: "nps", CSAT_Q: "csat", TEXT_Q: "verbatim"}


def _same(frame: pd.DataFrame, ids: bool = True) -> None:
    cols = ["response_date", "nps", "csat", "verbatim"] + (["response_id"] if ids else [])
    got = frame[cols].reset_index(drop=True)
    want = TRUTH[cols].reset_index(drop=True)
    pd.testing.assert_series_equal(got["response_date"], want["response_date"], check_dtype=False)
    for c in ("nps", "csat"):
        assert got[c].dtype == "Int64"
        assert got[c].tolist() == want[c].tolist(), c
    assert got["verbatim"].fillna("").tolist() == want["verbatim"].fillna("").tolist()
    if ids:
        assert got["response_id"].tolist() == want["response_id"].tolist()  # "00123" kept


def test_qualtrics_csv_three_header_rows(tmp_path):
    path = _write(tmp_path / "qualtrics.csv", _qualtrics_rows())
    frame = read_survey(path, mapping=MAPPING)
    assert frame.attrs["platform"] == "qualtrics"
    _same(frame)
    assert frame.attrs["questions"]["nps"] == NPS_Q


def test_qualtrics_tsv_utf16_and_question_text_mapping(tmp_path):
    path = _write(tmp_path / "qualtrics.tsv", _qualtrics_rows(style="plain"), encoding="utf-16",
                  delimiter="\t")
    frame = read_survey(path, mapping={NPS_Q: "nps", CSAT_Q: "csat", TEXT_Q: "verbatim"})
    assert frame.attrs["platform"] == "qualtrics" and frame.attrs["encoding"] == "utf-16"
    _same(frame)


def test_surveymonkey_csv_two_header_rows_and_labelled_answers(tmp_path):
    path = _write(tmp_path / "monkey.csv", _surveymonkey_rows(), encoding="utf-8-sig")
    frame = read_survey(path, mapping=SM_MAPPING, date_format="monthfirst")
    assert frame.attrs["platform"] == "surveymonkey" and frame.attrs["encoding"] == "utf-8-sig"
    assert not any("\ufeff" in c for c in frame.columns)
    _same(frame)


def test_surveymonkey_xlsx(tmp_path):
    path = _to_xlsx(_surveymonkey_rows(), tmp_path / "monkey.xlsx")
    frame = read_survey(path, mapping=SM_MAPPING, date_format="monthfirst")
    assert frame.attrs["platform"] == "surveymonkey"
    _same(frame)


def test_google_forms_csv_gets_ids_and_dates(tmp_path):
    rows = [["Timestamp", NPS_Q, CSAT_Q, TEXT_Q]]
    for r in TRUTH.itertuples():
        rows.append([r.response_date.strftime("%Y/%m/%d %H:%M:%S"), _nps_label(r.nps, "plain"),
                     _text(r.csat), _text(r.verbatim)])
    frame = read_survey(_write(tmp_path / "forms.csv", rows), mapping=SM_MAPPING)
    assert frame.attrs["platform"] == "google_forms" and frame.attrs["generated_ids"]
    _same(frame, ids=False)
    assert frame["response_id"].tolist() == [f"forms-{i:05d}" for i in range(1, 5)]


def test_cp932_with_fullwidth_digits_and_yaml_mapping(tmp_path):
    rows = [["回答ID", "回答日時", "推奨度", "満足度", "コメント"]]
    for r in TRUTH.itertuples():
        rows.append([r.response_id, r.response_date.strftime("%Y/%m/%d %H:%M"),
                     _nps_label(r.nps, "fullwidth"), _nps_label(r.csat, "fullwidth"),
                     _text(r.verbatim)])
    rows[1][2] = "１０ - 非常に薦めたい"
    path = _write(tmp_path / "jp.csv", rows, encoding="cp932")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("shift_jis")  # ① needs cp932: shift_jis is not enough
    mapping = tmp_path / "mapping.yml"
    mapping.write_text("columns:\n  回答ID: response_id\n  回答日時: response_date\n  推奨度: nps\n"
                       "  満足度: csat\n  コメント: verbatim\n", encoding="utf-8")
    frame = read_survey(path, mapping=mapping)
    assert frame.attrs["encoding"] == "cp932" and frame.attrs["platform"] == "csv"
    _same(frame)
    assert read_survey(path, encoding="cp932", mapping=mapping)["nps"].tolist()[:2] == [10, 0]


def test_plain_csv_parquet_and_excel_in_contract_names(tmp_path):
    TRUTH.to_csv(tmp_path / "plain.csv", index=False)
    TRUTH.to_parquet(tmp_path / "plain.parquet", index=False)
    _to_xlsx([list(TRUTH.columns)] + [[v.to_pydatetime() if isinstance(v, pd.Timestamp) else
                                       (None if pd.isna(v) else v) for v in row]
                                      for row in TRUTH.astype(object).itertuples(index=False)],
             tmp_path / "plain.xlsx")
    for name, platform in (("plain.csv", "csv"), ("plain.parquet", "parquet"),
                           ("plain.xlsx", "excel")):
        frame = read_survey(tmp_path / name)
        assert frame.attrs["platform"] == platform, name
        _same(frame)


def test_read_survey_output_feeds_nps(tmp_path):
    frame = read_survey(_write(tmp_path / "q.csv", _qualtrics_rows()), mapping=MAPPING)
    row = cxlib.nps(frame).iloc[0]
    assert row.n == 3 and row.nps == pytest.approx(0.0)  # one promoter, one passive, one detractor


# -- bad input ---------------------------------------------------------------------------------

def _error(path, **kw) -> str:
    with pytest.raises(DataError) as info:
        read_survey(path, **kw)
    return str(info.value)


def test_scores_outside_the_scale_are_listed(tmp_path):
    rows = [["response_id", "nps"], ["a", "9"], ["b", "11"], ["c", "-1"], ["d", "5"]]
    msg = _error(_write(tmp_path / "x.csv", rows))
    assert msg.startswith("x.csv:") and "'nps'" in msg and "2 values outside 0-10" in msg
    assert "2 ('11')" in msg and "3 ('-1')" in msg


def test_text_in_a_score_column_is_named(tmp_path):
    rows = [["response_id", "csat"], ["a", "4"], ["b", "very good"], ["c", "N/A"]]
    msg = _error(_write(tmp_path / "x.csv", rows))
    assert "'csat'" in msg and "1 answers that are not scores" in msg and "2 ('very good')" in msg


def test_duplicated_response_ids_are_listed(tmp_path):
    rows = [["response_id", "nps"], ["a", "9"], ["b", "1"], ["a", "5"]]
    msg = _error(_write(tmp_path / "x.csv", rows))
    assert "duplicated ids" in msg and "1 ('a')" in msg and "3 ('a')" in msg


def test_empty_and_header_only_files(tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    assert "empty" in _error(tmp_path / "empty.csv")
    (tmp_path / "blank.csv").write_text("\n\n", encoding="utf-8")
    assert "empty" in _error(tmp_path / "blank.csv")
    (tmp_path / "header.csv").write_text("response_id,nps\n", encoding="utf-8")
    assert "no answers" in _error(tmp_path / "header.csv")


def test_undecodable_file(tmp_path):
    (tmp_path / "bad.csv").write_bytes(b"response_id,nps\n\x81\x20,\xff\n")
    msg = _error(tmp_path / "bad.csv")
    assert "not UTF-8" in msg and "CP932" in msg and "encoding=" in msg
    assert "cannot decode as utf-8" in _error(tmp_path / "bad.csv", encoding="utf-8")


def test_mapping_that_names_a_missing_column(tmp_path):
    path = _write(tmp_path / "q.csv", _qualtrics_rows())
    msg = _error(path, mapping={"Q1": "nps", "Q9": "csat"})
    assert "'Q9'" in msg and "not in the file" in msg and "'Q1'" in msg  # lists what exists


def test_ragged_rows_and_duplicate_headers(tmp_path):
    msg = _error(_write(tmp_path / "r.csv", [["response_id", "nps"], ["a", "9"], ["b", "1", "x"]]))
    assert "lines 3" in msg
    msg = _error(_write(tmp_path / "d.csv", [["response_id", "nps", "nps"], ["a", "9", "8"]]))
    assert "duplicated column names ['nps']" in msg


def test_missing_file_and_unknown_platform(tmp_path):
    assert "not found" in _error(tmp_path / "nope.csv")
    with pytest.raises(ParameterError, match="platform must be one of"):
        read_survey(tmp_path / "nope.csv", platform="typeform")


def test_na_answers_in_scores_are_missing_but_text_is_kept(tmp_path):
    rows = [["response_id", "nps", "verbatim"], ["a", "N/A", "None"], ["b", "わからない", "NA"]]
    frame = read_survey(_write(tmp_path / "x.csv", rows))
    assert frame["nps"].isna().all()
    assert frame["verbatim"].tolist() == ["None", "NA"]  # free text is kept as typed
    assert np.all(frame["response_id"] == ["a", "b"])
