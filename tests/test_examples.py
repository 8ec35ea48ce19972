"""The example datasets in data/examples (issue 15 item 7): rebuilt byte for byte by
``cxlib.synth._examples``; ``cx init`` drafts descriptions that load; the profile says which
sections run; the scales, the planted truth and the personal data come through as planted."""

from __future__ import annotations

import csv
import json
import unicodedata
import numpy as np
import pandas as pd
import pytest
import yaml

import cxlib
from cxlib import metrics, paths
from cxlib.dataset import init_description, load_description, open_dataset, parse_description
from cxlib.drivers import key_drivers
from cxlib.surveyio import read_export
from cxlib.synth._examples import EXAMPLES, generated_files, write_examples
from cxlib.text import verbatims

ROOT = paths.DATA_DIR / "examples"
HAND_WRITTEN = {"cx.yml", "README.md", ".gitattributes"}


def _truth(name: str) -> dict:
    return json.loads((ROOT / name / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def loaded() -> dict[str, dict[str, pd.DataFrame]]:
    return {name: open_dataset(ROOT / name) for name in EXAMPLES}


# -- the files ----------------------------------------------------------------------------------

def test_committed_files_equal_a_fresh_generation_byte_for_byte():
    fresh = generated_files(seed=0)
    committed = {p.relative_to(ROOT).as_posix(): p.read_bytes() for p in ROOT.rglob("*")
                 if p.is_file() and p.name not in HAND_WRITTEN}
    assert sorted(committed) == sorted(fresh)
    changed = [rel for rel in fresh if committed[rel] != fresh[rel]]
    assert not changed, f"rebuild with: python -m cxlib.synth._examples --out data/examples " \
                        f"(differs: {changed})"


def test_generation_is_deterministic_and_seeded(tmp_path):
    assert generated_files(seed=0) == generated_files(seed=0)
    other = generated_files(seed=1)
    assert all(other[rel] != data for rel, data in generated_files(seed=0).items())
    written = write_examples(tmp_path, seed=0)
    assert {p.relative_to(tmp_path).as_posix() for p in written} == set(generated_files(0))
    assert not list(tmp_path.rglob("cx.yml"))  # the analyst's files are never written


def test_each_example_is_small_and_has_its_description_and_truth():
    for name in EXAMPLES:
        folder = ROOT / name
        assert (folder / "cx.yml").exists() and (folder / "truth.json").exists()
        assert sum(p.stat().st_size for p in folder.iterdir()) < 300_000
    assert (ROOT / "README.md").exists()


def test_the_survey_is_a_cp932_qualtrics_export_in_two_waves():
    waves = sorted((ROOT / "survey_only").glob("wave_*.csv"))
    assert [p.name for p in waves] == ["wave_2026-09.csv", "wave_2026-10.csv"]
    for path in waves:
        data = path.read_bytes()
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
        rows = list(csv.reader(data.decode("cp932").splitlines()))
        assert rows[0][:2] == ["StartDate", "EndDate"] and "store" in rows[0]
        assert rows[2][0].startswith('{"ImportId"')
        assert not any("customer" in c.lower() or c == "ExternalReference" for c in rows[0])
        frame = read_export(path)
        assert frame.attrs["platform"] == "qualtrics" and frame.attrs["encoding"] == "cp932"
        assert "薦める" in frame.attrs["questions"]["Q1"]
    head = (ROOT / "surveymonkey_crm" / "surveymonkey_export.csv").read_bytes()
    assert read_export(ROOT / "surveymonkey_crm" / "surveymonkey_export.csv").attrs[
        "platform"] == "surveymonkey" and head.startswith(b"\xef\xbb\xbf")


# -- cx init and the descriptions -------------------------------------------------------------

@pytest.mark.parametrize("name", EXAMPLES)
def test_cx_init_draft_loads_without_edits(name):
    folder = ROOT / name
    draft = parse_description(yaml.safe_load(init_description(folder)), folder=folder)
    tables = open_dataset(draft)
    expected = {"survey_only": {"responses"}, "crm_only": {"customers"},
                "surveymonkey_crm": {"customers", "responses"}}[name]
    assert set(tables) == expected
    if name == "survey_only":  # the unambiguous parts are guessed right
        assert draft.scores.csat.scale == (1, 10) and draft.scores.csat.top_box == 2
        assert draft.scores.ces.scale == (1, 5) and draft.scores.ces.high_means == "hard"
        assert len(draft.rational_items) == 3 and len(draft.emotional_items) == 3
        assert len(tables["responses"]) == _truth(name)["realised"]["n"]
    if name == "surveymonkey_crm":
        assert draft.tables.responses.join is not None
        assert "customer_id" in tables["responses"].columns
    if name == "crm_only":
        assert tables["customers"]["churned"].dtype == bool


@pytest.mark.parametrize("name", EXAMPLES)
def test_committed_description_loads_and_marks_its_edits(name):
    text = (ROOT / name / "cx.yml").read_text(encoding="utf-8")
    assert "TODO" not in text and "# edited" in text
    dataset = load_description(ROOT / name)
    assert dataset.file == ROOT / name / "cx.yml"


# -- the profile ------------------------------------------------------------------------------

RUNS = {"survey_only": ["01", "06"], "crm_only": ["03"],
        "surveymonkey_crm": ["01", "02", "03", "06"]}
RAN = {
    "survey_only": [("01", s) for s in ("nps_headline", "by_organisation", "csat_ces", "trend",
                                        "changes", "key_drivers", "comments")]
    + [("06", s) for s in ("writing", "topics", "impact", "suggestions", "actions")],
    "crm_only": [("03", s) for s in ("model", "calibration", "drivers", "survival", "cox",
                                     "revenue_at_risk", "contact_list")],
    "surveymonkey_crm": [("01", "nps_headline"), ("01", "key_drivers"), ("01", "comments"),
                         ("01", "retention"), ("02", "reliability"), ("02", "segments"),
                         ("02", "survival"), ("03", "model"), ("03", "cox")],
}
SKIPPED = {  # (notebook, section or None for the notebook): words of the reason
    "survey_only": [("02", None, "linked to customers by 'customer_id'"),
                    ("03", None, "needs the customers table; the data have responses"),
                    ("01", "retention", "needs the customers table"),
                    ("01", "nps_by_phase", "column 'journey_phase' in responses"),
                    ("01", "response_rate", "column 'touchpoint' in responses"),
                    ("01", "contact_effects", "column 'customer_id' in responses"),
                    ("06", "churn", "linked to customers by 'customer_id'"),
                    ("06", "emerging", "at least 4 months; the data span 3"),
                    ("06", "risk", "needs the customers table")],
    "crm_only": [("01", None, "needs the responses table ('nps' or 'csat'); the data have "
                              "customers"),
                 ("03", "expectation_gap", "needs the responses table"),
                 ("05", None, "column 'monitor_group' in customers"),
                 ("06", None, "needs the responses table; the data have customers")],
    "surveymonkey_crm": [("01", "trend", "answers in at least 3 months; the data span 1"),
                         ("04", None, "column 'organisation' in responses"),
                         ("05", None, "column 'monitor_group' in customers"),
                         ("03", "expectation_gap", "column 'expectation_met' in responses"),
                         # surveyed in October 2026, data to April 2027: no one followed 12
                         # months, so churn within 12 months is known only for churners
                         ("02", "churn_test", "the data have 30 churned and 0 who stayed"),
                         ("02", "outcomes", "the data have 30 churned and 0 who stayed")],
}


@pytest.mark.parametrize("name", EXAMPLES)
def test_profile_says_which_sections_run_and_why_others_do_not(name):
    prof = cxlib.profile(ROOT / name)
    runs = prof.notebooks.loc[prof.notebooks["supported"], "notebook"].tolist()
    assert runs == RUNS[name]
    for nb, section in RAN[name]:
        assert prof.supports(nb, section), (nb, section, prof.reason(nb, section))
    for nb, section, words in SKIPPED[name]:
        if section is None:
            assert not prof.runs(nb)
            reason = prof.notebooks.set_index("notebook").at[nb, "reason"]
        else:
            assert not prof.supports(nb, section)
            reason = prof.reason(nb, section)
        assert words in reason, (nb, section, reason)


# -- scales and planted truth -----------------------------------------------------------------

def test_csat_top_box_on_1_to_10_and_reversed_ces_match_the_truth(loaded):
    dataset = load_description(ROOT / "survey_only")
    truth = _truth("survey_only")["realised"]
    r = loaded["survey_only"]["responses"]
    assert r["csat"].min() >= 1 and r["csat"].max() == 10  # kept on its own scale
    csat = metrics.csat(r, **dataset.csat_args()).iloc[0]
    assert csat["top_box"] == pytest.approx(truth["csat_top2_box_share"], abs=1e-6)
    assert csat["mean"] == pytest.approx(truth["csat_mean"], abs=1e-6)
    assert csat["n"] == truth["n"]
    raw = pd.concat([read_export(p) for p in sorted((ROOT / "survey_only").glob("wave_*.csv"))],
                    ignore_index=True)["Q3"]
    raw = pd.to_numeric(raw)
    assert (r["ces"].astype(float).to_numpy() == (6 - raw).to_numpy()).sum() == \
        truth["ces_answered"]  # flipped answer by answer (5 = much effort -> 1)
    assert r.attrs["reversed"] == ["ces"]
    ces = metrics.ces(r, **dataset.ces_args()).iloc[0]
    assert ces["top_box"] == pytest.approx(truth["ces_raw_low_effort_share"], abs=1e-6)
    assert ces["mean"] == pytest.approx(truth["ces_loaded_mean"], abs=1e-6)
    assert ces["mean"] != pytest.approx(truth["ces_raw_mean"], abs=0.1)


def test_surveymonkey_labelled_csat_matches_the_truth(loaded):
    dataset = load_description(ROOT / "surveymonkey_crm")
    r = loaded["surveymonkey_crm"]["responses"]
    truth = _truth("surveymonkey_crm")["realised"]
    csat = metrics.csat(r, **dataset.csat_args()).iloc[0]
    assert csat["top_box"] == pytest.approx(truth["csat_top2_box_share"], abs=1e-6)
    assert metrics.nps(r).iloc[0]["nps"] == pytest.approx(truth["nps"], abs=1e-6)
    assert len(r) == truth["answers"]


def test_store_nps_and_the_driver_structure_come_through(loaded):
    truth = _truth("survey_only")
    r = loaded["survey_only"]["responses"]
    by_store = metrics.nps(r, by="organisation").set_index("organisation")["nps"]
    for store, value in truth["realised"]["nps_by_store"].items():
        assert by_store[store] == pytest.approx(value, abs=1e-6)
    gap = by_store["S02"] - by_store["S03"]
    assert gap == pytest.approx(truth["realised"]["nps_gap_S02_minus_S03"], abs=1e-6)
    assert gap > 20  # planted: S02 +0.25, S03 -0.35 on the NPS latent
    by_wave = metrics.nps(r.assign(wave=r["response_date"].dt.strftime("%Y-%m")), by="wave")
    assert by_wave["n"].sum() == truth["realised"]["n"]
    dataset = load_description(ROOT / "survey_only")
    items = list(dataset.items)
    kd = key_drivers(r, "nps", items, n_boot=50).importance.set_index("driver")
    emotional = kd.loc[list(dataset.emotional_items), "share"].sum()
    rational = kd.loc[list(dataset.rational_items), "share"].sum()
    assert emotional > rational  # planted weights: emotional 0.55, rational 0.25


def test_crm_churn_shares_match_the_truth(loaded):
    c = loaded["crm_only"]["customers"]
    truth = _truth("crm_only")["realised"]
    assert len(c) == truth["n"] and int(c["churned"].sum()) == truth["churned"]
    share = c.groupby("plan")["churned"].mean()
    for plan, value in truth["churn_share_by_plan"].items():
        assert share[plan] == pytest.approx(value, abs=1e-6)
    assert (c.loc[c["churned"], "churn_date"] >= c.loc[c["churned"], "signup_date"]).all()
    assert int(c.loc[~c["churned"], "monthly_revenue"].sum()) == truth["monthly_revenue_active"]


# -- personal data ----------------------------------------------------------------------------

def test_planted_phone_and_email_in_comments_are_masked_when_shown(loaded):
    pii = _truth("survey_only")["pii"]
    r = loaded["survey_only"]["responses"]
    raw = "\n".join(r["verbatim"].dropna())
    assert pii["values"]["phone"] in raw and pii["values"]["email"] in raw  # loaded as written
    shown = verbatims(r, n=len(r), columns=("response_id", "nps"))
    text = shown.to_csv()
    assert set(pii["response_ids"].values()) <= set(shown["response_id"])
    assert pii["values"]["phone"] not in text and "2468" not in text
    assert pii["values"]["email"] not in text and "@" not in text


def _norm(email: str) -> str:
    return unicodedata.normalize("NFKC", email).strip().casefold()


def test_emails_never_reach_a_loaded_table_and_answers_find_their_customer(loaded):
    tables = loaded["surveymonkey_crm"]
    for name, frame in tables.items():
        cells = [str(v) for v in frame.to_numpy(dtype=object).ravel()]
        assert not any("@" in c for c in cells), name
        assert not any("mail" in str(c).lower() or "メール" in str(c) for c in frame.columns)
        assert "@" not in json.dumps(frame.attrs, default=str, ensure_ascii=False)
    folder = ROOT / "surveymonkey_crm"
    with open(folder / "customer_master.csv", encoding="utf-8", newline="") as f:
        master = {_norm(row["メールアドレス"]): row["顧客ID"] for row in csv.DictReader(f)}
    with open(folder / "surveymonkey_export.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))[2:]
    expected = [master[_norm(row[5])] for row in rows]  # column 6: Email Address
    assert tables["responses"]["customer_id"].tolist() == expected
    assert any(row[5] != row[5].strip().lower() for row in rows)  # variants were planted
    assert np.isin(expected, tables["customers"]["customer_id"]).all()
