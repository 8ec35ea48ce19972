"""Survey exports' personal-data columns and empty id columns (issue 15), on copies of the
example datasets: personal data not mapped by the description are not loaded, an id
column empty in every row is absent (both with a note), and ``cx init`` does not read
Qualtrics' ``DistributionChannel`` as the touchpoint channel."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pandas as pd

import cxlib
from cxlib import paths
from cxlib.dataset import init_description, load_description, load_tables

EXAMPLES = Path(paths.SAMPLE_DIR).parent / "examples"
PERSONAL = {"IP Address": "203.0.113.7", "First Name": "彩", "Last Name": "渡辺"}
QUALTRICS = {"IPAddress": "198.51.100.23", "RecipientFirstName": "Taro",
             "RecipientLastName": "Yamada", "RecipientEmail": "taro.yamada@example.jp",
             "LocationLatitude": "35.6895", "LocationLongitude": "139.6917",
             "ExternalReference": ""}


def _rewrite(path: Path, encoding: str, header_rows: int, edit) -> None:
    """Apply ``edit(header, rows)`` to a CSV export, keeping its encoding and line ends."""
    raw = path.read_bytes().decode(encoding)
    newline = "\r\n" if "\r\n" in raw else "\n"
    rows = list(csv.reader(io.StringIO(raw.lstrip("\ufeff"))))
    edit(rows[:header_rows], rows[header_rows:])
    out = io.StringIO()
    csv.writer(out, lineterminator=newline).writerows(rows)
    bom = "\ufeff" if raw.startswith("\ufeff") else ""
    path.write_bytes((bom + out.getvalue()).encode(encoding))


def _every_value(tables: dict[str, pd.DataFrame]) -> set[str]:
    return {str(v) for frame in tables.values() for col in frame.columns
            for v in frame[col].dropna().unique()} | {
        str(c) for frame in tables.values() for c in frame.columns}


def _surveymonkey(tmp_path: Path) -> Path:
    folder = tmp_path / "surveymonkey"
    shutil.copytree(EXAMPLES / "surveymonkey_crm", folder)

    def fill(header, rows):
        for name, value in PERSONAL.items():
            at = header[0].index(name)
            for row in rows:
                row[at] = value
    _rewrite(folder / "surveymonkey_export.csv", "utf-8", 2, fill)
    return folder


def test_personal_data_of_a_surveymonkey_export_are_not_loaded(tmp_path):
    folder = _surveymonkey(tmp_path)
    data = cxlib.open_data(folder)
    tables = {name: data[name] for name in ("responses", "customers")}
    seen = _every_value(tables)
    assert not seen & {*PERSONAL, *PERSONAL.values()}
    assert not any("@" in v for v in seen)  # the join's e-mails are gone too
    assert any("'IP Address', 'First Name', 'Last Name' not loaded" in n for n in data.notes)
    assert data["responses"]["customer_id"].notna().all()  # the join still works
    # mapped explicitly, a column is loaded
    description = (folder / "cx.yml").read_text(encoding="utf-8").replace(
        '      "Respondent ID": response_id',
        '      "Respondent ID": response_id\n      "First Name": first_name')
    (folder / "cx.yml").write_text(description, encoding="utf-8")
    tables = load_tables(load_description(folder))
    assert set(tables["responses"]["first_name"]) == {"彩"}
    assert "IP Address" not in tables["responses"]


def test_an_email_column_that_is_not_the_join_key_is_not_loaded(tmp_path):
    folder = _surveymonkey(tmp_path)
    lines = (folder / "cx.yml").read_text(encoding="utf-8").splitlines()
    (folder / "cx.yml").write_text("\n".join(l for l in lines if "join:" not in l) + "\n",
                                   encoding="utf-8")
    tables = load_tables(load_description(folder))
    assert "Email Address" not in tables["responses"]
    assert not any("@" in v for v in _every_value({"responses": tables["responses"]}))
    assert "'Email Address'" in tables["responses"].attrs["notes"][0]


def _qualtrics(tmp_path: Path) -> Path:
    folder = tmp_path / "qualtrics"
    shutil.copytree(EXAMPLES / "survey_only", folder)

    def add(header, rows):
        for name, value in QUALTRICS.items():
            for line in header:
                line.append(name if line is header[0] else
                            ('{"ImportId":"' + name + '"}' if line is header[2] else name))
            for row in rows:
                row.append(value)
    for wave in ("wave_2026-09.csv", "wave_2026-10.csv"):
        _rewrite(folder / wave, "cp932", 3, add)
    return folder


def test_an_anonymous_qualtrics_export_loads_without_personal_data_or_its_empty_id(tmp_path):
    folder = _qualtrics(tmp_path)
    data = cxlib.open_data(folder)  # ExternalReference, empty, is read as customer_id: absent
    responses = data["responses"]
    assert "customer_id" not in responses
    seen = _every_value({"responses": responses})
    assert not seen & ({*QUALTRICS} | {v for v in QUALTRICS.values() if v})
    assert any("'customer_id' empty in every row, read as absent" in n for n in data.notes)
    assert any("'RecipientEmail'" in n and "not loaded" in n for n in data.notes)
    assert len(responses) == 640 and data.profile.runs("01") and not data.profile.runs("02")


def test_a_partly_empty_id_column_is_still_invalid(tmp_path):
    folder = _qualtrics(tmp_path)

    def one_id(header, rows):
        rows[0][header[0].index("ExternalReference")] = "C0001"
    _rewrite(folder / "wave_2026-09.csv", "cp932", 3, one_id)
    try:
        load_tables(load_description(folder))
    except cxlib.DataError as exc:
        assert "customer_id" in str(exc)
    else:
        raise AssertionError("a customer_id empty in most rows loaded")


def test_init_does_not_read_distribution_channel_as_the_channel(tmp_path):
    folder = _qualtrics(tmp_path)
    (folder / "cx.yml").unlink()
    draft = init_description(folder)
    assert "DistributionChannel: channel" not in draft and ": channel" not in draft
    for name in ("IPAddress", "RecipientEmail", "LocationLatitude"):
        assert f"{name}:" not in draft  # never mapped
