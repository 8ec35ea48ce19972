"""cxlib.report / cxlib.cli: run tiny notebooks with papermill, parse the HTML they become.

Kernel starts cost ~1.5 s each, so the runs happen once per module (fixture `runs`)
and the tests only look at what they produced.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from cxlib.cli import main, parse_value
from cxlib.errors import ReportError
from cxlib.report import RunResult, run_report

PAYLOAD = "<script>alert(1)</script>"
CODE_MARKER = "only_visible_with_show_code"
N_FIGURES = 2


def write_notebook(path: Path, params: str | None, cells: list[str], markdown: str = "") -> Path:
    """A notebook whose first code cell (tagged `parameters` unless params is None) holds params."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    first = new_code_cell(params if params is not None else "x = 1")
    if params is not None:
        first.metadata["tags"] = ["parameters"]
    nb.cells = [first]
    if markdown:
        nb.cells.append(new_markdown_cell(markdown))
    nb.cells += [new_code_cell(src) for src in cells]
    nbformat.write(nb, path)
    return path


@dataclass
class Notebooks:
    figs: Path
    other: Path
    fails: Path
    slow: Path
    untagged: Path


@pytest.fixture(scope="module")
def notebooks(tmp_path_factory: pytest.TempPathFactory) -> Notebooks:
    folder = tmp_path_factory.mktemp("nbs")
    (folder / "neighbour.txt").write_text("NEIGHBOUR-FILE-READ", encoding="utf-8")
    figs = write_notebook(
        folder / "01_figs.ipynb",
        'n: int = 3  # points per figure\ntitle: str = "Default"  # figure title',
        [
            'print(open("neighbour.txt").read())  # relative to the notebook folder',
            f"{CODE_MARKER} = 1\n"
            "import plotly.graph_objects as go\n"
            f"for k in range({N_FIGURES}):\n"
            '    fig = go.Figure(go.Bar(y=list(range(n))), layout_title_text=f"{title} {k}")\n'
            "    fig.show()",
        ],
        markdown="## Figures\nTwo bar charts.",
    )
    other = write_notebook(folder / "02_other.ipynb", "n: int = 1", ['print(f"other n={n}")'])
    fails = write_notebook(
        folder / "03_fails.ipynb",
        "n: int = 1",
        ["x = 2", 'raise ValueError("boom-in-cell-3")', 'print("AFTER-FAILURE")'],
    )
    slow = write_notebook(
        folder / "04_slow.ipynb", "n: int = 1", ["import time\ntime.sleep(30)", 'print("NEVER")']
    )
    untagged = write_notebook(folder / "05_untagged.ipynb", None, ["print(1)"])
    return Notebooks(figs, other, fails, slow, untagged)


@dataclass
class Runs:
    out: Path
    good: RunResult
    shown: RunResult
    bad: RunResult
    latest_after_good: str


@pytest.fixture(scope="module")
def runs(notebooks: Notebooks, tmp_path_factory: pytest.TempPathFactory) -> Runs:
    out = tmp_path_factory.mktemp("out") / "reports"
    params = {"n": 4, "title": PAYLOAD}
    good = run_report([notebooks.figs, notebooks.other], out, run_id="r1-good", parameters=params)
    shown = run_report([notebooks.figs], out, run_id="r2-shown", parameters=params, show_code=True)
    latest = os.readlink(out / "latest")
    bad = run_report([notebooks.fails], out, run_id="r3-bad")
    return Runs(out, good, shown, bad, latest)


_soups: dict[Path, BeautifulSoup] = {}


def soup(path: Path) -> BeautifulSoup:
    if path not in _soups:
        _soups[path] = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    return _soups[path]


def page(result: RunResult, name: str) -> Path:
    (nb,) = [nb for nb in result.notebooks if nb.name == name]
    assert nb.html_path is not None and nb.html_path.is_file()
    return nb.html_path


def manifest(result: RunResult) -> dict:
    return json.loads((result.run_dir / "manifest.json").read_text(encoding="utf-8"))


# --- a good run -----------------------------------------------------------------------


def test_good_run_layout(runs: Runs) -> None:
    assert runs.good.ok and runs.good.status == "ok"
    run_dir = runs.out / "r1-good"
    assert runs.good.run_dir == run_dir
    names = {p.name for p in run_dir.iterdir()}
    expected = {"manifest.json", "01_figs.ipynb", "01_figs.html", "02_other.ipynb", "02_other.html"}
    assert names == expected
    assert not list(runs.out.glob(".*.partial"))
    assert "r1-good" in runs.good.summary() and "01_figs" in runs.good.summary()


def test_manifest_of_good_run(runs: Runs) -> None:
    m = manifest(runs.good)
    assert m["run_id"] == "r1-good" and m["status"] == "ok"
    assert m["started"] <= m["finished"]
    figs, other = m["notebooks"]
    assert figs["name"] == "01_figs" and figs["status"] == "ok" and figs["error"] is None
    assert figs["notebook"] == "01_figs.ipynb" and figs["html"] == "01_figs.html"
    assert figs["duration_s"] > 0
    assert figs["parameters"] == {"n": 4, "title": PAYLOAD}
    # a parameter only goes to the notebooks that declare it
    assert other["parameters"] == {"n": 4}


def test_notebook_runs_in_its_own_folder(runs: Runs) -> None:
    assert "NEIGHBOUR-FILE-READ" in soup(page(runs.good, "01_figs")).get_text()


def test_plotly_js_inlined_once_and_every_figure_rendered(runs: Runs) -> None:
    html_text = page(runs.good, "01_figs").read_text(encoding="utf-8")
    doc = soup(page(runs.good, "01_figs"))
    libs = [s for s in doc.find_all("script") if "plotly.js v" in (s.string or "")]
    assert len(libs) == 1 and libs[0].find_parent("head") is not None
    assert html_text.count("* plotly.js v") == 1
    divs = doc.select("div.plotly-graph-div")
    assert len(divs) == N_FIGURES
    assert len({d["id"] for d in divs}) == N_FIGURES
    assert all(d["id"].startswith("cx-plot-") for d in divs)
    # a page without figures does not carry the 4.8 MB library
    other = page(runs.good, "02_other").read_text(encoding="utf-8")
    assert "plotly.js v" not in other and "other n=4" in other


@pytest.mark.parametrize("which", ["good", "shown", "bad"])
def test_page_makes_no_network_request(runs: Runs, which: str) -> None:
    result: RunResult = getattr(runs, which)
    for nb in result.notebooks:
        assert nb.html_path is not None
        doc = soup(nb.html_path)
        assert [s["src"] for s in doc.find_all("script", src=True)] == []
        for link in doc.find_all("link", href=True):
            assert not link["href"].startswith(("http:", "https:", "//"))
        text = nb.html_path.read_text(encoding="utf-8")
        assert "cdnjs.cloudflare.com" not in text and "unpkg.com" not in text


def test_code_hidden_by_default_shown_on_request(runs: Runs) -> None:
    hidden = soup(page(runs.good, "01_figs"))
    assert CODE_MARKER not in hidden.get_text()
    assert not hidden.select(".jp-InputPrompt") and not hidden.select(".jp-OutputPrompt")
    assert hidden.find(string=lambda s: "Two bar charts" in s)  # markdown stays
    shown = soup(page(runs.shown, "01_figs"))
    assert CODE_MARKER in shown.get_text()
    assert shown.select(".jp-InputPrompt")
    assert len(shown.select("div.plotly-graph-div")) == N_FIGURES


def test_header_shows_run_and_escaped_parameters(runs: Runs) -> None:
    for result in (runs.good, runs.shown):
        doc = soup(page(result, "01_figs"))
        header = doc.find(id="cx-header")
        assert header is not None
        text = header.get_text(" ")
        assert result.run_id in text and "01_figs" in text and "0.1.0" in text
        assert "n" in text and "4" in text
        assert PAYLOAD in text  # shown as text ...
        assert header.find("script") is None  # ... not as an element
        # the payload never became a script element anywhere (title, code, header)
        assert not [s for s in doc.find_all("script") if (s.string or "").strip() == "alert(1)"]


def test_index_lists_runs_newest_first(runs: Runs) -> None:
    doc = soup(runs.out / "index.html")
    text = doc.get_text(" ")
    order = [text.index(r) for r in ("r3-bad", "r2-shown", "r1-good")]
    assert order == sorted(order)
    hrefs = {a["href"] for a in doc.find_all("a", href=True)}
    assert {"r1-good/01_figs.html", "r3-bad/03_fails.html"} <= hrefs
    assert "failed" in text


# --- a failing run ---------------------------------------------------------------------


def test_failed_run_keeps_partial_results(runs: Runs) -> None:
    assert not runs.bad.ok and runs.bad.status == "failed"
    (nb,) = runs.bad.notebooks
    assert nb.status == "failed"
    assert runs.bad.run_dir == runs.out / "r3-bad" and nb.notebook_path.is_file()
    m = manifest(runs.bad)
    assert m["status"] == "failed"
    err = m["notebooks"][0]["error"]
    assert "ValueError" in err and "boom-in-cell-3" in err
    doc = soup(page(runs.bad, "03_fails"))
    tracebacks = doc.select('[data-mime-type="application/vnd.jupyter.stderr"]')
    assert any("boom-in-cell-3" in t.get_text() for t in tracebacks)  # the cell's own error
    assert "boom-in-cell-3" in doc.find(id="cx-header").get_text()  # and the header says so
    page_text = doc.get_text()
    assert "AFTER-FAILURE" not in page_text
    executed = nbformat.read(nb.notebook_path, as_version=4)
    last = [c for c in executed.cells if "AFTER-FAILURE" in c.source][0]
    assert last.execution_count is None and last.outputs == []


def test_failed_run_leaves_latest_alone(runs: Runs) -> None:
    assert runs.latest_after_good == "r2-shown"  # relative link to the last good run
    assert os.readlink(runs.out / "latest") == "r2-shown"
    assert (runs.out / "latest" / "01_figs.html").is_file()


def test_cell_timeout_is_a_failure_and_later_cells_did_not_run(
    notebooks: Notebooks, tmp_path: Path
) -> None:
    result = run_report([notebooks.slow], tmp_path / "reports", run_id="slow", timeout=1)
    assert result.status == "failed"
    (nb,) = result.notebooks
    assert nb.error and "timed out" in nb.error
    executed = nbformat.read(nb.notebook_path, as_version=4)
    assert [c.execution_count for c in executed.cells if "NEVER" in c.source] == [None]
    assert not (tmp_path / "reports" / "latest").exists()


# --- pre-flight --------------------------------------------------------------------------


def test_unknown_parameter_fails_before_anything_runs(notebooks: Notebooks, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    with pytest.raises(ReportError, match="nope"):
        run_report([notebooks.figs, notebooks.other], out, parameters={"n": 1, "nope": 2})
    assert not out.exists()


def test_notebook_without_parameters_cell_is_refused(notebooks: Notebooks, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    with pytest.raises(ReportError, match="parameters"):
        run_report([notebooks.other, notebooks.untagged], out)
    assert not out.exists()


def test_existing_run_id_is_refused(runs: Runs, notebooks: Notebooks) -> None:
    with pytest.raises(ReportError, match="already exists"):
        run_report([notebooks.other], runs.out, run_id="r1-good")


# --- the cx command -----------------------------------------------------------------------


def test_cli_report_exit_codes(
    notebooks: Notebooks, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "reports")
    ok = main(["report", str(notebooks.other), "--out", out, "--run-id", "c1", "-p", "n", "30"])
    captured = capsys.readouterr().out
    assert ok == 0 and "02_other" in captured and "ok" in captured and "c1" in captured
    params = json.loads((tmp_path / "reports" / "c1" / "manifest.json").read_text())
    assert params["notebooks"][0]["parameters"] == {"n": 30}  # an int, not "30"

    assert main(["report", str(notebooks.fails), "--out", out, "--run-id", "c2"]) == 1
    assert "failed" in capsys.readouterr().out

    code = main(["report", str(notebooks.other), "--out", out, "-p", "nope", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "nope" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_cli_report_without_notebooks_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["report"]) == 2
    assert "no notebooks" in capsys.readouterr().err
    assert main(["report", "--bogus-option"]) == 2


def test_cli_data_keeps_existing_sample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "truth.json").write_text("{}")
    assert main(["data", "--out", str(tmp_path)]) == 0
    assert "already" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "value"),
    [("30", 30), ("0.5", 0.5), ("true", True), ("north east", "north east"),
     ("2026-01-31", "2026-01-31"), ("[1, 2]", [1, 2]), ("'007'", "007")],
)  # fmt: skip
def test_parameter_values_are_yaml_scalars(text: str, value: object) -> None:
    assert parse_value(text) == value
