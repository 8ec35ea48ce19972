"""The dataset description (cx.yml): schema errors, defaults, reading described tables, cx init."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
import yaml

from cxlib import io, metrics, surveyio, vocab
from cxlib.dataset import (
    load_tables,
    Dataset, init_description, load_description, open_dataset, parse_description,
    write_description,
)
from cxlib.errors import DataError

from dataset_folders import QUESTIONS, crm_folder, qualtrics_folder, sample_folder


# -- the schema -------------------------------------------------------------------------------

def _problems(data: dict) -> str:
    with pytest.raises(DataError) as err:
        parse_description(data)
    return str(err.value)


def test_misspelt_key_is_rejected_with_its_path_and_the_nearest_key():
    msg = _problems({"tables": {"responses": {"path": "a.csv", "colums": {"Q1": "nps"}}}})
    assert "tables.responses: unknown key 'colums'; did you mean 'columns'?" in msg
    assert "cx.yml: 1 problem(s)" in msg
    assert "Traceback" not in msg and "pydantic" not in msg.lower()


def test_misspelt_table_score_and_top_level_keys_get_suggestions():
    msg = _problems({"tables": {"respones": {"path": "a.csv"}}, "scroes": {},
                     "scores": {"cast": {"scale": [1, 10]}}})
    assert "tables: unknown key 'respones'; did you mean 'responses'?" in msg
    assert "top level: unknown key 'scroes'; did you mean 'scores'?" in msg
    assert "scores: unknown key 'cast'; did you mean 'csat'?" in msg
    assert "3 problem(s)" in msg


def test_unknown_key_is_rejected_and_the_valid_keys_listed():
    msg = _problems({"colour": "blue"})
    assert "unknown key 'colour'" in msg and "did you mean" not in msg
    assert "valid keys: version, name, currency, timezone, tables, scores, items, labels" in msg


def test_bad_values_name_the_key_and_suggest():
    msg = _problems({"items": {"q1": {"construct": "rationl"}},
                     "timezone": "Asia/Tokio", "scores": {"nps": {"scale": [1, 10]}},
                     "labels": {"phases": {"reserch": "認知"}}})
    assert "items.q1.construct:" in msg and "did you mean 'rational'?" in msg
    assert "timezone: unknown time zone 'Asia/Tokio'; did you mean 'Asia/Tokyo'?" in msg
    assert "scores.nps.scale: NPS is defined on 0-10" in msg
    assert "labels.phases: unknown journey phase 'reserch'; did you mean 'research'?" in msg


def test_a_scale_must_run_upwards_and_the_top_box_fit_inside():
    msg = _problems({"scores": {"csat": {"scale": [5, 1]}, "ces": {"scale": [1, 5]}}})
    assert "scores.csat.scale: a scale goes from its lowest to its highest answer" in msg
    msg = _problems({"scores": {"csat": {"scale": [1, 5], "top_box": 5}}})
    assert "top_box 5 covers the whole scale" in msg


def test_survey_options_fit_the_table():
    msg = _problems({"tables": {"customers": {"path": "c.csv", "kind": "survey"}}})
    assert "kind 'survey' is for the responses table only" in msg
    msg = _problems({"tables": {"responses": {"path": "r.csv", "platform": "qualtrics"}}})
    assert "'platform' applies to kind: survey only" in msg


def test_yaml_errors_and_missing_files_are_data_errors(tmp_path):
    (tmp_path / "cx.yml").write_text("tables: [unclosed\n", encoding="utf-8")
    with pytest.raises(DataError, match="cx.yml: not valid YAML"):
        load_description(tmp_path)
    with pytest.raises(DataError, match="not found"):
        load_description(tmp_path / "other.yml")
    (tmp_path / "cx.yml").write_text("tables:\n  responses: {path: 'nope_*.csv'}\n")
    with pytest.raises(DataError, match=r"tables.responses.path: 'nope_\*.csv' matches no file"):
        open_dataset(tmp_path)


# -- defaults: today's constants --------------------------------------------------------------

def test_default_description_is_the_sample_and_todays_constants():
    ds = Dataset.default()
    assert ds.scales() == surveyio.SCORE_SCALES
    assert ds.rational_items == vocab.RATIONAL_ITEMS
    assert ds.emotional_items == vocab.EMOTIONAL_ITEMS
    assert ds.reversed_columns() == ()
    # the keyword defaults of metrics.csat and metrics.ces
    csat_defaults = metrics.csat.__kwdefaults__ or dict(zip(
        metrics.csat.__code__.co_varnames[-2:], metrics.csat.__defaults__[-2:]))
    assert ds.csat_args() == {"scale": csat_defaults["scale"], "top": csat_defaults["top"]}
    ces_defaults = dict(zip(metrics.ces.__code__.co_varnames[-2:], metrics.ces.__defaults__[-2:]))
    assert ds.ces_args() == {"scale": ces_defaults["scale"],
                             "easy_from": ces_defaults["easy_from"]}
    assert (ds.currency, ds.timezone, ds.tables) == ("JPY", "Asia/Tokyo", None)
    assert load_description(None).model_dump() == ds.model_dump()


def test_default_description_reads_the_sample_as_load_sample_does():
    tables = load_tables(Dataset.default())
    reference = io.load_sample()
    assert list(tables) == list(reference)
    for name, frame in reference.items():
        pd.testing.assert_frame_equal(tables[name], frame)


# -- cx init and reading back -----------------------------------------------------------------

def _digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_init_on_a_cp932_qualtrics_survey_guesses_and_loads_back(tmp_path):
    raw = qualtrics_folder(tmp_path)
    before = _digests(tmp_path)
    text = init_description(tmp_path)
    assert "platform: qualtrics" in text and "encoding: cp932" in text
    assert "- wave_2025-01.csv" in text and "- wave_2025-02.csv" in text
    parsed = yaml.safe_load(text)
    cols = parsed["tables"]["responses"]["columns"]
    assert (cols["Q1"], cols["Q2"], cols["Q3"], cols["Q5"]) == ("nps", "csat", "ces", "verbatim")
    assert cols["EndDate"] == "response_date"
    assert parsed["scores"]["csat"] == {"scale": [1, 10], "top_box": 2}
    assert parsed["scores"]["ces"] == {"scale": [1, 5], "high_means": "hard"}
    constructs = {cols[q]: parsed["items"][cols[q]]["construct"] for q in
                  ("Q4_1", "Q4_2", "Q4_3", "Q4_4")}
    assert list(constructs.values()) == ["rational", "rational", "emotional", "emotional"]
    assert parsed["items"][cols["Q4_3"]]["question"] == QUESTIONS["Q4_3"]
    assert "no customer id" in text

    path = write_description(tmp_path)
    assert _digests(tmp_path) == {**before, "cx.yml": _digests(tmp_path)["cx.yml"]}
    with pytest.raises(DataError, match="already exists"):
        write_description(tmp_path)
    ds = load_description(path)
    tables = load_tables(ds)
    assert list(tables) == ["responses"]
    r = tables["responses"]
    assert len(r) == 140 and "customer_id" not in r.columns
    # CSAT keeps its 1-10 scale; the top box is 9-10 on it
    assert r["csat"].tolist() == raw["Q2"]
    top = metrics.csat(r, **ds.csat_args())["top_box"].iat[0]
    assert top == pytest.approx(np.mean(np.array(raw["Q2"]) >= 9))
    # CES where 5 meant much effort is flipped: loaded CES has high = easy
    assert r["ces"].tolist() == [6 - v for v in raw["Q3"]]
    assert r.attrs["reversed"] == ["ces"]
    assert r["nps"].tolist() == raw["Q1"]
    assert r[cols["Q4_1"]].tolist() == raw["Q4_1"]
    assert (r["weight"] == 1).all() and "weight" in r.attrs["filled"]
    assert r["response_date"].dt.month.tolist() == [1] * 70 + [2] * 70
    assert r.attrs["platform"] == "qualtrics" and r.attrs["encoding"] == "cp932"
    assert r.attrs["questions"]["nps"] == QUESTIONS["Q1"]


def test_described_scale_rejects_answers_outside_it(tmp_path):
    qualtrics_folder(tmp_path)
    text = init_description(tmp_path).replace("csat: {scale: [1, 10]", "csat: {scale: [1, 5]")
    (tmp_path / "cx.yml").write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=r"wave_2025-01.csv: column 'csat' has \d+ values "
                                        r"outside 1-5 \(rows"):
        open_dataset(tmp_path)


def test_init_on_a_crm_extract_maps_japanese_headers(tmp_path):
    crm_folder(tmp_path)
    parsed = yaml.safe_load(init_description(tmp_path))
    assert list(parsed["tables"]) == ["customers"]
    assert parsed["tables"]["customers"]["columns"] == {
        "会員番号": "customer_id", "契約日": "signup_date", "プラン": "plan", "解約": "churned",
        "解約日": "churn_date", "月額料金": "monthly_revenue", "累計売上": "revenue"}
    write_description(tmp_path)
    customers = open_dataset(tmp_path)["customers"]
    assert customers["customer_id"].iat[0] == "000000"  # leading zeros kept
    assert customers["churned"].dtype == bool
    assert pd.api.types.is_datetime64_any_dtype(customers["churn_date"].dtype)
    assert (customers["churned"] == customers["churn_date"].notna()).all()


def test_present_invalid_data_fail_with_every_problem(tmp_path):
    crm_folder(tmp_path)
    write_description(tmp_path)
    path = tmp_path / "crm_extract.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    cells = lines[3].split(",")
    cells[3], cells[4] = "0", "2025-01-15"  # not churned, yet a churn date
    lines[3] = ",".join(cells)
    lines[5] = lines[5].replace(lines[5].split(",")[5], "-10", 1)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        open_dataset(tmp_path)
    msg = str(err.value)
    assert "crm_extract.csv: 2 problem(s) with table 'customers'" in msg
    assert "churn_date must be set exactly when churned is true (1 row: 3)" in msg
    assert "column 'monthly_revenue' must be >= 0 (1 row: 5 (-10.0))" in msg


def test_init_on_the_sample_folder_loads_the_same_tables(tmp_path):
    sample_folder(tmp_path)
    parsed = yaml.safe_load(init_description(tmp_path))
    assert set(parsed["tables"]) == {"customers", "responses", "touchpoints", "kpis",
                                     "financials"}
    assert parsed["scores"]["ces"] == {"scale": [1, 7], "high_means": "easy"}
    write_description(tmp_path)
    ds = load_description(tmp_path)
    assert ds.scales() == Dataset.default().scales()
    assert ds.rational_items == vocab.RATIONAL_ITEMS
    assert ds.emotional_items == vocab.EMOTIONAL_ITEMS
    tables = load_tables(ds)
    for name, frame in io.load_sample().items():
        pd.testing.assert_frame_equal(tables[name], frame)


def test_mapping_a_column_the_file_lacks_names_it(tmp_path):
    crm_folder(tmp_path)
    (tmp_path / "cx.yml").write_text(
        "tables:\n  customers:\n    path: crm_extract.csv\n    columns: {会員番: customer_id}\n",
        encoding="utf-8")
    with pytest.raises(DataError, match="maps column.s. not in the file: '会員番'; "
                                        "did you mean '会員番号'"):
        open_dataset(tmp_path)


def test_the_example_in_the_docs_is_a_valid_description():
    from cxlib import paths

    text = (paths.PROJECT_ROOT / "docs" / "own-data.md").read_text(encoding="utf-8")
    survey, crm, weights = [b.split("```")[0] for b in text.split("```yaml\n")[1:4]]
    data = yaml.safe_load(survey)
    data["tables"].update(yaml.safe_load(crm))
    data.update(yaml.safe_load(weights))
    ds = parse_description(data)
    assert ds.scales()["csat"] == (1, 10) and ds.reversed_columns() == ("ces",)
    assert ds.ces_args() == {"scale": (1, 5), "easy_from": 4}
    assert ds.rational_items == ("value_for_money",) and ds.emotional_items == ("trust",)
    assert ds.tables.customers.sheet == "顧客一覧"
    assert ds.label("organisations", "stores") == "店舗"
    assert ds.weights.trim == (0.3, 3) and ds.weights.rake["age_band"]["55+"] == 0.32
