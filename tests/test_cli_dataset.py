"""``cx init``, ``cx profile`` and the data profile page of a report run (issue 15).

The report runs use a one-cell notebook that declares ``source`` (as the real notebooks do):
the profile page and the data check do not depend on what the notebooks compute.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbformat.v4 import new_code_cell, new_notebook

from cxlib.cli import main
from cxlib.dataset import load_description
from cxlib.report.data_page import PAGE, find_sources
from cxlib.report.params import read_parameters

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "data" / "examples"
NAMES = ("survey_only", "crm_only", "surveymonkey_crm")
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(2)>"


def export_copy(name: str, folder: Path) -> Path:
    """An example's raw exports, without its cx.yml (and truth.json)."""
    folder.mkdir(parents=True)
    for f in (EXAMPLES / name).iterdir():
        if f.name not in ("cx.yml", "truth.json"):
            shutil.copy2(f, folder / f.name)
    return folder


def checksums(folder: Path) -> dict[str, str]:
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(folder.iterdir()) if f.name != "cx.yml"}


def hostile_folder(folder: Path, bad_rows: bool = False) -> Path:
    """A plain responses.csv (no cx.yml): markup in a store name and in a column name;
    with ``bad_rows`` two problems: NPS 11 (row 6) and NPS -1 (row 8)."""
    folder.mkdir(parents=True)
    rows = [["response_id", "response_date", "nps", "organisation", IMG]]
    for i in range(40):
        nps = {5: 11, 7: -1}.get(i, i % 11) if bad_rows else i % 11
        rows.append([f"r{i}", f"2026-0{1 + i % 3}-1{i % 9}", str(nps),
                     SCRIPT if i % 2 else "S02", "x"])
    with open(folder / "responses.csv", "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return folder


def source_notebook(folder: Path) -> Path:
    """A notebook declaring ``source`` that leaves a marker file when it runs."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "P3"}
    params = new_code_cell('source: str = "../data/sample"  # contract tables')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, new_code_cell("from pathlib import Path\n"
                                      "Path('ran.marker').write_text(source)")]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "01_source.ipynb"
    nbformat.write(nb, path)
    return path


def report(notebook: Path, source: Path, out: Path, *extra: str) -> int:
    return main(["report", str(notebook), "--out", str(out), "--run-id", "r1", "--jobs", "1",
                 "-p", "source", str(source), *extra])


# --- cx init ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_init_writes_a_description_that_loads_and_leaves_exports_alone(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = export_copy(name, tmp_path / name)
    before = checksums(folder)
    assert main(["init", str(folder)]) == 0
    out = capsys.readouterr().out
    assert checksums(folder) == before  # the raw exports are never modified
    dataset = load_description(folder)  # valid as written
    assert dataset.file == folder / "cx.yml"
    assert f"wrote {folder / 'cx.yml'}" in out and "detected:" in out
    for table, src in dataset.tables.named().items():
        assert f"  {table:<12} <- {', '.join(src.paths())}" in out
    # what it could not guess: every TODO line of the file, on the console
    todo = [line.strip() for line in (folder / "cx.yml").read_text("utf-8").splitlines()
            if "TODO:" in line]
    assert todo and all(line in out for line in todo)
    assert f"cx profile {folder}" in out
    assert main(["profile", str(folder)]) == 0  # and its tables load
    capsys.readouterr()


def test_init_refuses_to_overwrite_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = export_copy("crm_only", tmp_path / "crm")
    assert main(["init", str(folder)]) == 0
    capsys.readouterr()
    edited = "# edited by the analyst\n" + (folder / "cx.yml").read_text("utf-8")
    (folder / "cx.yml").write_text(edited, encoding="utf-8")
    assert main(["init", str(folder)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "already exists" in err and "--force" in err
    assert (folder / "cx.yml").read_text("utf-8") == edited
    assert main(["init", "--force", str(folder)]) == 0
    assert (folder / "cx.yml").read_text("utf-8") != edited
    assert main(["init", str(tmp_path / "nowhere")]) == 2
    assert "not a folder" in capsys.readouterr().err


# --- cx profile ---------------------------------------------------------------------------


def test_profile_names_supported_and_skipped_sections_with_reasons(
    capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["profile", str(EXAMPLES / "survey_only")]) == 0
    out = capsys.readouterr().out
    supported = out.split("sections supported")[1].split("sections skipped")[0]
    skipped = out.split("sections skipped")[1]
    for key in ("nps_headline", "csat_ces", "trend", "key_drivers", "comments"):
        assert f" {key} " in supported and f" {key} " not in skipped
    assert ("01 response_rate      Answers per interaction need column 'touchpoint' in "
            "responses; responses has no 'touchpoint'") in skipped
    assert "03 model              The churn model needs the customers table" in skipped
    assert "responses" in out and "640 rows" in out and "2026-09-15 to 2026-11-14" in out
    assert "responses.ces <- Q3  scale 1-5 reversed  85% answered, 15% missing" in out
    assert "01 Survey exploration" in out and "runs" in out
    assert main(["profile", str(EXAMPLES / "survey_only"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    by_key = {(s["notebook"], s["section"]): s for s in data["sections"]}
    assert by_key[("01", "key_drivers")]["supported"] is True
    assert "touchpoint" in by_key[("01", "response_rate")]["reason"]
    assert [n["supported"] for n in data["notebooks"]] == [True, False, False, False, False, True]


def test_misspelt_key_is_exit_2_with_the_suggestion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "survey"
    shutil.copytree(EXAMPLES / "survey_only", folder)
    text = (folder / "cx.yml").read_text("utf-8")
    (folder / "cx.yml").write_text(text.replace("\n  ces:", "\n  cess:", 1), encoding="utf-8")
    assert main(["profile", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "scores: unknown key 'cess'; did you mean 'ces'?" in err
    assert "Traceback" not in err


def test_invalid_data_give_every_problem(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    folder = hostile_folder(tmp_path / "bad", bad_rows=True)
    assert main(["profile", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cx profile: responses.csv: 1 problem(s) with table 'responses':")
    assert "6 (11)" in err and "8 (-1)" in err


# --- the profile page of a report run -----------------------------------------------------


@pytest.fixture(scope="module")
def good_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    base = tmp_path_factory.mktemp("run")
    notebook = source_notebook(base / "nb")
    data = shutil.copytree(EXAMPLES / "survey_only", base / "survey_only")
    code = report(notebook, data, base / "reports")
    return base, str(code)


def test_run_folder_holds_the_profile_page_linked_from_the_index(
    good_run: tuple[Path, str]
) -> None:
    base, code = good_run
    assert code == "0"
    reports = base / "reports"
    index = BeautifulSoup((reports / "index.html").read_text("utf-8"), "html.parser")
    links = [a["href"] for a in index.find_all("a", class_="cx-data-profile")]
    assert links == [f"r1/{PAGE}.html"]
    page = reports / links[0]
    assert page.is_file()
    soup = BeautifulSoup(page.read_text("utf-8"), "html.parser")
    text = soup.get_text(" ")
    assert "Key drivers" in text and "Answers per interaction need column 'touchpoint'" in text
    assert "survey_only/cx.yml" in text and str(base) not in text  # no path of this machine
    assert not soup.find_all("script") and "http" not in page.read_text("utf-8")  # offline
    manifest = json.loads((reports / "r1" / "manifest.json").read_text("utf-8"))
    [prof] = manifest["data_profiles"]
    assert prof["status"] == "ok" and prof["page"] == f"{PAGE}.html"
    assert prof["notebooks"] == ["01_source"] and prof["path"] == str(base / "survey_only")
    inputs = prof["minimum_inputs"]
    assert inputs["01"] == {"present": True, "reason": ""}
    assert not inputs["03"]["present"] and "customers table" in inputs["03"]["reason"]
    assert manifest["notebooks"][0]["status"] == "ok"
    assert (base / "nb" / "ran.marker").read_text() == str(base / "survey_only")


def test_hostile_labels_stay_text_in_the_profile_page(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    notebook = source_notebook(tmp_path / "nb")
    data = hostile_folder(tmp_path / "hostile")
    assert report(notebook, data, tmp_path / "reports") == 0
    capsys.readouterr()
    raw = (tmp_path / "reports" / "r1" / f"{PAGE}.html").read_text("utf-8")
    soup = BeautifulSoup(raw, "html.parser")
    assert not soup.find_all("script") and not soup.find_all("img")
    assert IMG in soup.get_text()  # the column name, shown as text
    assert SCRIPT not in raw and IMG not in raw


def test_invalid_data_fail_the_run_before_any_notebook(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notebook = source_notebook(tmp_path / "nb")
    data = hostile_folder(tmp_path / "bad", bad_rows=True)
    assert report(notebook, data, tmp_path / "reports") == 1
    out = capsys.readouterr().out
    assert "data profile" in out and "invalid" in out
    assert "6 (11)" in out and "8 (-1)" in out  # the whole message, every problem
    assert not (tmp_path / "nb" / "ran.marker").exists()  # no notebook ran
    run = tmp_path / "reports" / "r1"
    manifest = json.loads((run / "manifest.json").read_text("utf-8"))
    assert manifest["status"] == "failed"
    [prof] = manifest["data_profiles"]
    assert prof["status"] == "invalid" and "6 (11)" in prof["error"] and "8 (-1)" in prof["error"]
    assert manifest["notebooks"][0]["status"] == "not_run"
    assert manifest["notebooks"][0]["failure"] == "data"
    assert not (tmp_path / "reports" / "latest").exists()  # no good run to point at
    index = BeautifulSoup((tmp_path / "reports" / "index.html").read_text("utf-8"),
                          "html.parser")
    assert "8 (-1)" in index.get_text()
    page = BeautifulSoup((run / f"{PAGE}.html").read_text("utf-8"), "html.parser")
    assert "8 (-1)" in page.find("pre", class_="cx-error").get_text()


def test_missing_source_is_a_preflight_error(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    notebook = source_notebook(tmp_path / "nb")
    assert report(notebook, tmp_path / "nowhere", tmp_path / "reports") == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "not found" in err
    assert not (tmp_path / "reports").exists()


def test_no_profile_skips_the_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    notebook = source_notebook(tmp_path / "nb")
    data = hostile_folder(tmp_path / "bad", bad_rows=True)  # not checked: the notebook runs
    assert report(notebook, data, tmp_path / "reports", "--no-profile") == 0
    capsys.readouterr()
    manifest = json.loads((tmp_path / "reports" / "r1" / "manifest.json").read_text("utf-8"))
    assert manifest["data_profiles"] == []
    assert not (tmp_path / "reports" / "r1" / f"{PAGE}.html").exists()


def test_the_notebooks_source_is_the_sample_by_default(sample_dir: Path) -> None:
    declared = [read_parameters(p) for p in sorted((ROOT / "notebooks").glob("0*.ipynb"))]
    [source] = find_sources(declared, [{} for _ in declared])
    assert source.path == sample_dir.resolve()
    assert source.notebooks == tuple(d.name for d in declared) and source.page == f"{PAGE}.html"
