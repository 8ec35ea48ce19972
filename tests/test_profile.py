"""The data profile: which report sections the data support, and why not."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest

import cxlib
from cxlib import sections
from cxlib.dataset import Dataset, load_tables, write_description
from cxlib.profiling import DataProfile

from dataset_folders import crm_folder, qualtrics_folder

EXAMPLES = Path(cxlib.paths.SAMPLE_DIR).parent / "examples"


@pytest.fixture(scope="module")
def sample_tables():
    return load_tables(Dataset.default())


@pytest.fixture(scope="module")
def sample_profile(sample_tables):
    return cxlib.profile(sample_tables)


def test_sections_are_declared_once_with_unique_keys():
    keys = [(s.notebook, s.key) for s in sections.SECTIONS]
    assert len(keys) == len(set(keys))
    assert {s.notebook for s in sections.SECTIONS} == set(sections.NOTEBOOK_NEEDS)
    pattern = re.compile(r"^(@(items|rational|emotional|months|horizon):\d+|@linked|@repeat|@horizon|"
                         r"[a-z]+(\.[a-z_]+)?(\|[a-z]+\.[a-z_]+)*)$")
    for s in sections.SECTIONS:
        assert all(pattern.match(n) for n in s.needs), s


def test_the_sample_supports_every_section(sample_profile):
    p = sample_profile
    assert p.sections["supported"].all(), p.sections[~p.sections["supported"]]
    assert all(p.runs(nb) for nb in sections.NOTEBOOK_NEEDS)
    assert p.tables.set_index("table")["rows"].to_dict() == {
        "customers": 20_000, "responses": 26_710, "touchpoints": 242_689, "kpis": 282,
        "financials": 36}
    assert p.tables.set_index("table").loc["responses", "first_date"] == pd.Timestamp("2023-01-01")
    cols = p.columns.set_index(["table", "column"])
    assert cols.loc[("responses", "csat"), "scale"] == "1-5"
    verbatim = cols.loc[("responses", "verbatim")]
    assert verbatim["missing_share"] == pytest.approx(1 - verbatim["answered"] / 26_710)


def test_result_contract(sample_profile):
    p = sample_profile
    assert isinstance(p.summary(), pd.DataFrame) and len(p.summary()) == len(sections.SECTIONS)
    n = len(sections.SECTIONS)
    assert f"{n} of {n} report sections have their inputs; notebooks that can run: " \
           "01, 02, 03, 04, 05" in p.headline()
    assert isinstance(p.plot(), go.Figure)
    assert repr(p).startswith("<DataProfile: 5 table(s)") and "\n" not in repr(p)
    assert "<table" in p.to_html()
    with pytest.raises(cxlib.errors.ParameterError, match="unknown section 01/nope"):
        p.supports("01", "nope")


@pytest.mark.parametrize("drop, notebook, section, named", [
    (("responses", "verbatim"), "01", "comments", "'verbatim'"),
    (("responses", "journey_phase"), "01", "nps_by_phase", "'journey_phase'"),
    (("customers", "monthly_revenue"), "03", "revenue_at_risk", "'monthly_revenue'"),
    (("customers", "monitor_group"), "05", "balance", "'monitor_group'"),
    (("touchpoints", "resolved_first_contact"), "01", "contact_effects",
     "'resolved_first_contact'"),
    (("touchpoints", None), "01", "response_rate", "the touchpoints table"),
])
def test_dropping_a_column_moves_its_section_to_unsupported_naming_it(
        sample_tables, sample_profile, drop, notebook, section, named):
    table, column = drop
    tables = dict(sample_tables)
    if column is None:
        del tables[table]
    else:
        tables[table] = tables[table].drop(columns=column)
    assert sample_profile.supports(notebook, section)
    p = cxlib.profile(tables)
    assert not p.supports(notebook, section)
    assert named in p.reason(notebook, section)
    changed = p.sections["supported"] != sample_profile.sections["supported"]
    assert changed.any() and not (p.sections["supported"] & ~sample_profile.sections["supported"]).any()


def test_key_drivers_need_two_rated_items(sample_tables):
    items = [*cxlib.vocab.RATIONAL_ITEMS, *cxlib.vocab.EMOTIONAL_ITEMS]
    tables = {"responses": sample_tables["responses"].drop(columns=[*items, "csat", "ces",
                                                                 "expectation_met"])}
    p = cxlib.profile(tables)
    assert p.reason("01", "key_drivers") == \
        "Key drivers need at least two rated items; this survey has NPS only"
    assert p.supports("01", "nps_headline") and p.runs("01")


def test_survey_only_export(tmp_path):
    qualtrics_folder(tmp_path)
    write_description(tmp_path)
    p = cxlib.profile(tmp_path)
    assert isinstance(p, DataProfile)
    assert p.runs("01") and not any(p.runs(nb) for nb in ("02", "03", "04", "05"))
    for section in ("nps_headline", "key_drivers", "comments", "changes", "sample_size"):
        assert p.supports("01", section), p.reason("01", section)
    assert p.reason("01", "trend") == \
        "The monthly NPS trend needs answers in at least 3 months; the data span 2"
    assert "'customer_id'" in p.reason("02", "segments")
    assert "the customers table" in p.reason("03", "model")
    assert "'organisation'" in p.reason("01", "by_organisation")
    cols = p.columns.set_index(["table", "column"])
    assert cols.loc[("responses", "ces"), "scale"] == "1-5 reversed"
    assert cols.loc[("responses", "csat"), "from"] == "Q2"
    assert cols.loc[("responses", "weight"), "from"] == "(filled)"
    assert p.tables["platform"].tolist() == ["qualtrics"]


def test_crm_only_extract(tmp_path):
    crm_folder(tmp_path)
    write_description(tmp_path)
    p = cxlib.profile(tmp_path)
    assert p.runs("03") and not p.runs("01")
    for section in ("model", "survival", "cox", "revenue_at_risk"):
        assert p.supports("03", section), p.reason("03", section)
    assert p.reason("03", "expectation_gap").endswith("the responses table; the data have "
                                                      "customers")
    assert "'acquisition_channel'" in p.reason("01", "retention")
    assert p.notebooks.set_index("notebook").loc["01", "reason"].startswith(
        "notebook 01 needs the responses table")


def test_small_data_name_the_minimum(sample_tables):
    tables = {"customers": sample_tables["customers"].head(30)}
    p = cxlib.profile(tables)
    assert p.reason("03", "model") == ("The churn model needs at least 50 customers rows with "
                                       "every input answered; the data have 30")
    assert p.supports("03", "survival")


def test_a_notebook_without_inputs_skips_later_cells_only_in_a_report_run(monkeypatch, capsys):
    import IPython

    class Shell:
        input_transformers_cleanup: list = []

    shell = Shell()
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    crm_only = cxlib.profile({"customers": load_tables(Dataset.default())["customers"]})
    monkeypatch.delenv("CX_REPORT_RUN", raising=False)
    assert not sections.runs(crm_only, "01")  # in Lab: the note, and nothing is skipped
    assert "Skipped:" in capsys.readouterr().out and shell.input_transformers_cleanup == []
    monkeypatch.setenv("CX_REPORT_RUN", "1")
    assert not sections.runs(crm_only, "01")  # in a report run: the later cells are skipped
    assert len(shell.input_transformers_cleanup) == 1
    assert shell.input_transformers_cleanup[0](["x = 1\n"]) == []


def _followed(churn_dates: list[str | None]) -> dict[str, pd.DataFrame]:
    """Customers who signed up in 2024 and answered on 2025-01-01, with these churn dates."""
    ids = [f"c{i:02d}" for i in range(len(churn_dates))]
    customers = pd.DataFrame({
        "customer_id": ids, "signup_date": pd.Timestamp("2024-01-01"),
        "churned": [d is not None for d in churn_dates],
        "churn_date": pd.to_datetime(churn_dates)})
    items = [*cxlib.vocab.RATIONAL_ITEMS, *cxlib.vocab.EMOTIONAL_ITEMS]
    responses = pd.DataFrame({"customer_id": ids, "response_date": pd.Timestamp("2025-01-01"),
                              **{item: 3.0 for item in items}})
    return {"customers": customers, "responses": responses}


def test_the_churn_test_needs_both_outcomes_at_the_horizon():
    # 30 churn within 12 months of the answer, 5 after it (2026-03-01, also the data's end),
    # 25 stay (followed 14 months), 1 churned before answering (not at risk): 30 and 30
    before = ["2024-06-01"]
    p = cxlib.profile(_followed(["2025-03-01"] * 30 + ["2026-03-01"] * 5 + [None] * 25 + before))
    assert p.supports("02", "churn_test") and p.supports("02", "outcomes")
    # the later churners leave in August 2025: the data end there, nobody is followed 12
    # months, every known outcome is a churn
    p = cxlib.profile(_followed(["2025-03-01"] * 30 + ["2025-08-01"] * 5 + [None] * 25 + before))
    assert p.supports("02", "segments") and p.supports("02", "survival")
    assert p.reason("02", "churn_test") == (
        "The churn test needs at least 30 surveyed customers whose churn within 12 months of "
        "their first answer is known, some churned and some not; the data have 35 churned and "
        "0 who stayed")
    assert not p.supports("02", "outcomes")
    assert sections.note(p, "02", "churn_test").startswith("Skipped: The churn test needs")
    # both outcomes, too few known: 10 churned and 19 stayed
    p = cxlib.profile(_followed(["2025-03-01"] * 10 + ["2026-03-01"] * 4 + [None] * 15 + before))
    assert p.reason("02", "churn_test").endswith("the data have 10 churned and 19 who stayed")


def test_the_horizon_follows_the_notebooks_parameter():
    # answers 2025-01-01; 30 churn 2 months later, 5 seven months later (the data's end), 25
    # stay (followed 7 months): at 12 months every known outcome is a churn, at 6 months 30
    # churned and 30 (25 + the 5 later churners) stayed
    p = cxlib.profile(_followed(["2025-03-01"] * 30 + ["2025-08-01"] * 5 + [None] * 25))
    assert not p.supports("02", "churn_test") and not p.supports("02", "churn_test", 12)
    assert p.supports("02", "churn_test", horizon_months=6)
    assert p.supports("02", "outcomes", horizon_months=6)
    assert sections.note(p, "02", "churn_test", horizon_months=6) == ""
    assert p.reason("02", "churn_test", horizon_months=7).endswith(
        "the data have 35 churned and 0 who stayed")
    assert "within 12 months" in sections.note(p, "02", "churn_test", horizon_months=12)
    assert p.supports("02", "churn_test", horizon_months=2)  # day 59 < 2 x 30.44
    assert p.reason("02", "churn_test", horizon_months=1) == (
        "The churn test needs at least 30 surveyed customers whose churn within 1 months of "
        "their first answer is known, some churned and some not; the data have 0 churned and "
        "60 who stayed")
    # sections without @horizon ignore it
    assert p.supports("02", "segments", horizon_months=6) == p.supports("02", "segments")


def test_the_horizon_counts_agree_with_the_survey_panel():
    from cxlib import segments

    data = cxlib.open_data(EXAMPLES / "surveymonkey_crm")
    ds = data.dataset
    scored = segments.score_responses(data["responses"], {
        "emotional": list(ds.emotional_items), "rational": list(ds.rational_items)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the small segments of this example
        panel = segments.survey_panel(scored, data["customers"], horizon_months=12)
    known = panel["churn_in_horizon"].dropna().astype(bool)
    assert len(known) and known.all()  # this draw: everyone known at 12 months churned
    assert data.profile.reason("02", "churn_test").endswith(
        f"the data have {int(known.sum())} churned and {int((~known).sum())} who stayed")


def test_a_report_run_reads_the_profile_its_data_check_stored(tmp_path, monkeypatch,
                                                              sample_profile):
    # the runner stores the profile once (cxlib.report.data_page) and points its kernels at
    # it: the notebook's data.profile is read, and the answers stay in the engine
    from cxlib.profiling import RUN_CACHE, cache_file, save_profile

    source = Path(cxlib.paths.SAMPLE_DIR)
    save_profile(sample_profile, cache_file(source, tmp_path))
    monkeypatch.setenv(RUN_CACHE, str(tmp_path))
    data = cxlib.open_data(source)
    cached = data.profile
    for name in ("tables", "columns", "sections", "notebooks", "needs", "horizons"):
        pd.testing.assert_frame_equal(getattr(cached, name), getattr(sample_profile, name))
    assert cached.dataset is data.dataset
    assert "table responses" not in set(data.crossed()["what"])
    monkeypatch.delenv(RUN_CACHE)  # outside a report run (Lab): computed from the data
    data = cxlib.open_data(source)
    pd.testing.assert_frame_equal(data.profile.sections, sample_profile.sections)
    assert "table responses" in set(data.crossed()["what"])
