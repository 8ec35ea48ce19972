"""``tables.responses.join``: answers linked to customers by e-mail; the e-mails never load."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from cxlib.dataset import init_description, open_dataset, parse_description
from cxlib.errors import DataError

EMAILS = ["aya.sato@example.jp", "ken.ito@example.jp", "mai.kato@example.jp"]


def _folder(tmp_path: Path, survey_emails: list[str], customer_emails: list[str] = EMAILS,
            customers: bool = True) -> Path:
    rows = ["Respondent ID,Collector ID,Start Date,End Date,Email Address,Q1,Q2",
            ",,,,,Response,Response"]
    rows += [f"{100 + i},9,2026/10/0{1 + i} 10:00:00,2026/10/0{1 + i} 10:05:00,{e},{i + 7},"
             f"{i + 2}" for i, e in enumerate(survey_emails)]
    (tmp_path / "survey.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    if customers:
        lines = ["顧客ID,メールアドレス,契約日,解約フラグ,解約日"]
        lines += [f"00{i + 1},{e},2025-01-0{i + 1},0," for i, e in enumerate(customer_emails)]
        (tmp_path / "master.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path


def _description(folder: Path, join: dict | None = None, customers: bool = True,
                 columns: dict | None = None):
    tables = {"responses": {"path": "survey.csv", "kind": "survey",
                            "columns": {"Q1": "nps", **(columns or {})},
                            **({"join": join} if join else {})}}
    if customers:
        tables["customers"] = {"path": "master.csv", "columns": {
            "顧客ID": "customer_id", "契約日": "signup_date", "解約フラグ": "churned",
            "解約日": "churn_date"}}
    return parse_description({"tables": tables, "items": {}}, folder=folder)


JOIN = {"survey_column": "Email Address", "customers_column": "メールアドレス"}


def _cells(tables: dict[str, pd.DataFrame]) -> str:
    return "\n".join(f"{list(t.columns)}\n{t.astype(str).to_csv()}\n{t.attrs}"
                     for t in tables.values())


def test_join_replaces_emails_by_customer_ids_and_drops_both_columns(tmp_path):
    # case, full-width @ and spaces differ from the customer master: still the same address
    folder = _folder(tmp_path, ["MAI.KATO@example.jp", " aya.sato@example.jp ",
                                "ken.ito＠example.jp"])
    tables = open_dataset(_description(folder, JOIN))
    assert tables["responses"]["customer_id"].tolist() == ["003", "001", "002"]
    assert tables["responses"]["nps"].tolist() == [7, 8, 9]
    assert "Email Address" not in tables["responses"].columns
    assert "メールアドレス" not in tables["customers"].columns
    text = _cells(tables)
    assert "@" not in text and "＠" not in text
    assert "example" not in text.lower()
    assert tables["responses"].attrs["columns_from"]["customer_id"].startswith("Email Address")


def test_without_the_join_the_emails_load_as_an_extra_column(tmp_path):
    """The guard of the test above: the e-mails are in the file and load unless joined."""
    tables = open_dataset(_description(_folder(tmp_path, EMAILS)))
    assert "aya.sato@example.jp" in _cells(tables)


def test_unmatched_or_duplicated_emails_name_rows_not_addresses(tmp_path):
    folder = _folder(tmp_path, ["aya.sato@example.jp", "nobody@example.jp", ""])
    with pytest.raises(DataError) as err:
        open_dataset(_description(folder, JOIN))
    msg = str(err.value)
    assert "2 answers whose 'Email Address' matches no 'メールアドレス'" in msg
    assert "rows 2, 3" in msg and "nobody" not in msg
    folder = _folder(tmp_path, EMAILS, [EMAILS[0], EMAILS[1], EMAILS[0].upper()])
    with pytest.raises(DataError) as err:
        open_dataset(_description(folder, JOIN))
    msg = str(err.value)
    assert "master.csv: join column 'メールアドレス' has 2 values shared by several customers " \
           "(rows 1, 3)" in msg
    assert "aya" not in msg.lower()


def test_join_needs_customers_and_excludes_a_mapped_customer_id(tmp_path):
    folder = _folder(tmp_path, EMAILS, customers=False)
    with pytest.raises(DataError, match="responses.join links answers to the customers table"):
        _description(folder, JOIN, customers=False)
    with pytest.raises(DataError, match="map a customer_id column or use 'join', not both"):
        _description(folder, JOIN, columns={"Collector ID": "customer_id"})
    with pytest.raises(DataError, match="'join' is for the responses table only"):
        parse_description({"tables": {"customers": {"path": "m.csv", "join": JOIN}}})
    with pytest.raises(DataError, match="tables.responses.join: unknown key 'survey_col'; did "
                                        "you mean 'survey_column'?"):
        parse_description({"tables": {"responses": {"path": "s.csv", "join": {
            "survey_col": "a", "customers_column": "b"}}, "customers": {"path": "m.csv"}}})


def test_a_misspelt_join_column_is_named_with_the_nearest(tmp_path):
    folder = _folder(tmp_path, EMAILS)
    with pytest.raises(DataError, match="join column 'Email Adress' not found; did you mean "
                                        "'Email Address'"):
        open_dataset(_description(folder, {**JOIN, "survey_column": "Email Adress"}))


def test_init_writes_the_join_when_both_tables_hold_emails(tmp_path):
    text = init_description(_folder(tmp_path, EMAILS))
    assert 'join: {survey_column: "Email Address", customers_column: "メールアドレス"}' in text
    tables = open_dataset(parse_description(yaml.safe_load(text), folder=tmp_path))
    assert "@" not in _cells(tables)
    (tmp_path / "master.csv").unlink()
    text = init_description(tmp_path)
    assert "join:" not in text
    # no join: the export's e-mail column is personal data, not loaded
    assert "# personal data, not loaded (map one to load it): Email Address" in text
    assert "Email Address" not in open_dataset(
        parse_description(yaml.safe_load(text), folder=tmp_path))["responses"]
