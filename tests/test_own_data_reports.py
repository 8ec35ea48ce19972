"""Reports on data we did not make (issue 15): each example dataset end to end.

Each example of ``data/examples/`` goes through :func:`cxlib.report.run_report` with its
folder as ``source`` (the notebooks read its ``cx.yml``). The run must succeed; every
section the data profile supports must run (no note for it) and every other one must show
its note, the sentence :func:`cxlib.sections.note` gives (read from the executed
notebooks). Dropping a column moves its section from ran to skipped, with the reason naming
that column; invalid data that are present still fail the run, with the problem in the
manifest. Notebooks per example are chosen to keep the runtime modest.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest

import cxlib
from cxlib import paths, sections
from cxlib.report import run_report

EXAMPLES = Path(paths.SAMPLE_DIR).parent / "examples"
NOTEBOOKS = {"01": "01_survey_exploration", "02": "02_rational_emotional", "03": "03_churn",
             "04": "04_kpi_model", "05": "05_pilot", "06": "06_verbatims"}
RUNS = {"survey_only": ("01", "06"), "crm_only": ("03",), "surveymonkey_crm": ("01", "02", "03")}


def _report(folder: Path, notebooks: tuple[str, ...], out: Path):
    return run_report([paths.NOTEBOOKS_DIR / f"{NOTEBOOKS[n]}.ipynb" for n in notebooks], out,
                      parameters={"source": str(folder.resolve())}, jobs=2)


def _printed(result, notebook: str) -> str:
    """Every text the executed notebook printed or displayed."""
    done = next(nb for nb in result.notebooks if nb.name == NOTEBOOKS[notebook])
    nb = nbformat.read(done.notebook_path, as_version=4)
    return "\n".join(o.get("text", "") or o.get("data", {}).get("text/plain", "")
                     for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def _check_sections(result, folder: Path, notebooks: tuple[str, ...]) -> None:
    profile = cxlib.open_data(folder).profile
    for nb in notebooks:
        text = _printed(result, nb)
        rows = profile.sections[profile.sections["notebook"] == nb]
        assert profile.runs(nb)
        for row in rows.itertuples():
            note = sections.note(profile, nb, row.section)
            if row.supported:
                assert not note
            else:
                assert note and note in text, (nb, row.section, note)
        skipped = text.count(sections.SKIPPED)
        # every unsupported section's note, at most once each (plus notebook-own notes)
        assert skipped >= int((~rows["supported"]).sum()), (nb, skipped)


@pytest.mark.parametrize("example", sorted(RUNS))
def test_example_dataset_runs_end_to_end(example: str, tmp_path: Path) -> None:
    folder = EXAMPLES / example
    result = _report(folder, RUNS[example], tmp_path / "reports")
    assert result.ok, result.summary()
    _check_sections(result, folder, RUNS[example])
    profile = cxlib.open_data(folder).profile
    if example == "survey_only":  # what a survey export supports, and what it does not
        ran = set(profile.sections.query("notebook == '01' and supported")["section"])
        assert {"nps_headline", "csat_ces", "trend", "key_drivers", "comments"} <= ran
        assert not {"response_rate", "retention", "contact_effects"} & ran
        text = _printed(result, "01")
        assert "CSAT top-2-box is lowest for" in text and "新宿店" in text  # labels from cx.yml
    if example == "crm_only":
        assert "Skipped: The expectation gap needs the responses table" in _printed(result, "03")


def test_dropping_a_column_moves_its_section_to_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "survey"
    shutil.copytree(EXAMPLES / "survey_only", folder)
    description = (folder / "cx.yml").read_text(encoding="utf-8")
    # the CSAT column no longer mapped (and with no CES either): the CSAT/CES section goes
    lines = [line for line in description.splitlines()
             if not line.strip().startswith(("Q2: csat", "Q3: ces"))]
    (folder / "cx.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    profile = cxlib.open_data(folder).profile
    assert not profile.supports("01", "csat_ces")
    assert "'csat' or 'ces'" in profile.reason("01", "csat_ces")
    result = _report(folder, ("01",), tmp_path / "reports")
    assert result.ok, result.summary()
    text = _printed(result, "01")
    assert sections.note(profile, "01", "csat_ces") in text
    assert "CSAT top-2-box is lowest" not in text


def test_invalid_present_data_fail_the_run_with_the_problem_in_the_manifest(tmp_path: Path
                                                                           ) -> None:
    folder = tmp_path / "survey"
    shutil.copytree(EXAMPLES / "survey_only", folder)
    wave = folder / "wave_2026-10.csv"
    lines = wave.read_bytes().decode("cp932").splitlines(keepends=True)
    header = lines[0].rstrip("\r\n").split(",")
    q1 = header.index("Q1")
    row = lines[5].split(",")  # a data row after the three Qualtrics header rows
    row[q1] = "11"  # an NPS of 11
    lines[5] = ",".join(row)
    wave.write_bytes("".join(lines).encode("cp932"))
    with pytest.raises(cxlib.DataError, match="nps"):
        cxlib.open_data(folder)
    result = _report(folder, ("01",), tmp_path / "reports")
    assert not result.ok
    manifest = json.loads((result.run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert "nps" in json.dumps(manifest, ensure_ascii=False)
    assert "11" in json.dumps(manifest, ensure_ascii=False)


def test_absent_financials_skip_only_the_sections_that_need_them(sample_dir: Path,
                                                                 tmp_path: Path) -> None:
    # optional data absent (no financials table): the pilot and KPI notebooks still run, the
    # roll-out value in money says why it is missing, and the decision is still made
    folder = tmp_path / "no_financials"
    folder.mkdir()
    for table in ("customers", "responses", "touchpoints", "kpis"):
        shutil.copy(sample_dir / f"{table}.parquet", folder)
    result = _report(folder, ("04", "05"), tmp_path / "reports")
    assert result.ok, result.summary()
    _check_sections(result, folder, ("04", "05"))
    pilot_text = _printed(result, "05")
    assert "roll-out value" in pilot_text.lower() and "financials" in pilot_text
    assert "Recommendation: " in pilot_text  # the decision, from the effect alone,
    assert "projected roll-out impact" not in pilot_text  # without a money figure
    # the profile of the run's data check is read, not computed again: the answers stay in
    # the engine (only their reductions cross into pandas)
    assert "table responses" not in _printed(result, "04")


def test_kpi_model_runs_the_sections_its_data_support(sample_dir: Path, tmp_path: Path) -> None:
    # no revenue, no event log, and no answers about the web organisation: the KPI table and
    # the path model on the KPIs present still run; the money sections say why they do not
    folder = tmp_path / "no_money"
    folder.mkdir()
    customers = pd.read_parquet(sample_dir / "customers.parquet").drop(columns="monthly_revenue")
    customers.to_parquet(folder / "customers.parquet", index=False)
    responses = pd.read_parquet(sample_dir / "responses.parquet")
    responses[responses["organisation"] != "web"].to_parquet(folder / "responses.parquet",
                                                             index=False)
    (folder / "cx.yml").write_text("version: 1  # the sample's layout and scales\n",
                                   encoding="utf-8")
    result = run_report([paths.NOTEBOOKS_DIR / "04_kpi_model.ipynb"], tmp_path / "reports",
                        parameters={"source": str(folder), "bootstrap": 20}, jobs=1)
    assert result.ok, result.summary()
    profile = cxlib.open_data(folder).profile
    ran = set(profile.sections.query("notebook == '04' and supported")["section"])
    assert ran == {"kpi_table", "path_model", "measurement", "index_shares", "ipma"}
    _check_sections(result, folder, ("04",))
    text = _printed(result, "04")
    assert "Skipped: The KPI ranking needs column 'monthly_revenue' in customers" in text
    assert "Skipped: The first-contact-resolution what-if needs" in text
    assert "left out of the model: csat_web, ces_web" in text  # the organisation absent
    assert "CXI -> EMO" in text  # the path model ran on the KPIs present


def test_churn_runs_the_sections_its_data_support(sample_dir: Path, tmp_path: Path) -> None:
    # no revenue, no acquisition channel and no event log: the model, survival, the Cox model
    # (on plan and segment) and the expectation gap run; revenue at risk and the contact list
    # say why they do not, and the notebook succeeds
    folder = tmp_path / "no_revenue"
    folder.mkdir()
    customers = pd.read_parquet(sample_dir / "customers.parquet")
    customers.drop(columns=["monthly_revenue", "acquisition_channel"]).to_parquet(
        folder / "customers.parquet", index=False)
    shutil.copy(sample_dir / "responses.parquet", folder)
    (folder / "cx.yml").write_text("version: 1  # the sample's layout and scales\n",
                                   encoding="utf-8")
    result = run_report([paths.NOTEBOOKS_DIR / "03_churn.ipynb"], tmp_path / "reports",
                        parameters={"source": str(folder), "n_boot": 20}, jobs=1)
    assert result.ok, result.summary()
    profile = cxlib.open_data(folder).profile
    ran = set(profile.sections.query("notebook == '03' and supported")["section"])
    assert ran == {"model", "calibration", "drivers", "survival", "cox", "expectation_gap"}
    _check_sections(result, folder, ("03",))
    text = _printed(result, "03")
    assert "Skipped: Revenue at risk needs column 'monthly_revenue' in customers" in text
    assert "Skipped: The contact list needs column 'monthly_revenue' in customers" in text
    assert "Out-of-fold ROC-AUC" in text and "Highest hazard: " in text  # the others ran
    assert "Expected revenue at risk" not in text and "Contacting the top" not in text


def test_churn_on_a_customer_table_without_revenue_or_tenure(sample_dir: Path,
                                                            tmp_path: Path) -> None:
    # a customer table outside the contract (customer_table + column_map, no profile): the
    # model runs; the sections its columns cannot support say what to map
    table = tmp_path / "crm.csv"
    customers = pd.read_parquet(sample_dir / "customers.parquet").head(400)
    customers[["customer_id", "plan", "segment", "churned"]].rename(
        columns={"churned": "Cancelled"}).to_csv(table, index=False)
    result = run_report([paths.NOTEBOOKS_DIR / "03_churn.ipynb"], tmp_path / "reports",
                        parameters={"customer_table": str(table), "n_boot": 20,
                                    "column_map": {"Cancelled": "churned"}}, jobs=1)
    assert result.ok, result.summary()
    text = _printed(result, "03")
    assert "Out-of-fold ROC-AUC" in text
    for title in ("Survival curves", "The Cox model"):
        assert f"Skipped: {title} needs months to churn or to now" in text
    assert "Skipped: The expectation gap needs the customers and responses tables" in text
    for title in ("Revenue at risk", "The contact list"):
        assert f"Skipped: {title} needs monthly revenue (map a column to 'monthly_revenue')" \
            in text
