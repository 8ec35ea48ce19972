"""cxlib.report / cxlib.cli: run tiny notebooks with papermill, parse the HTML they become.

Kernel starts cost ~1.5 s each, so the runs happen once per module (fixtures `runs`,
`faults`, `killed`) and the tests only look at what they produced. The browser checks
of the same kind of pages are in tests/test_browser.py.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import cxlib.report.run as run_module
from cxlib.cli import main
from cxlib.errors import ReportError
from cxlib.report import RunResult, run_report
from cxlib.report.job import Job, Outcome
from cxlib.report.options import load_run_file
from cxlib.report.params import (
    CliText,
    Parameter,
    check_value,
    parse_parameters_cell,
    parse_value,
)
from cxlib.report.store import LOCK_NAME, PUBLISHED, ReportLocked, RunLock, latest_run

ROOT = Path(__file__).resolve().parents[1]
# Strings that would break out of a Python literal if parameters were pasted as code.
NASTY = 'a"); import os; os._exit(3); ("\\ \' \n 対応 {n} $(id)'
CSV_ROWS = 3

PAYLOAD = "<script>alert(1)</script>"
CODE_MARKER = "only_visible_with_show_code"
N_FIGURES = 2
# what 03_fails raises: a multi-line message, like a DataError's list of problems
LONG_ERROR = "boom-in-cell-3:\n  - column 'a' has 2 bad values (rows 4, 9)\n  - last-problem"


def write_notebook(path: Path, params: str | None, cells: list[str], markdown: str = "") -> Path:
    """A notebook whose first code cell (tagged `parameters` unless params is None) holds params."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "P3"}
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
    (folder / "data").mkdir()
    csv_lines = ["id,score"] + [f"{i},{i * 2}" for i in range(CSV_ROWS)]
    (folder / "data" / "answers.csv").write_text("\n".join(csv_lines) + "\n", encoding="utf-8")
    (folder / "data" / ".hidden").write_text("not an input", encoding="utf-8")
    figs = write_notebook(
        folder / "01_figs.ipynb",
        'n: int = 3  # points per figure\ntitle: str = "Default"  # figure title\n'
        'data_dir: str = "data"  # input folder',
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
    other = write_notebook(
        folder / "02_other.ipynb",
        'n: int = 1  # a number\nraw: str = ""  # text echoed back',
        ['print(f"other n={n}")', "print(repr(raw))",
         'import os\nprint("TQDM_DISABLE=" + str(os.environ.get("TQDM_DISABLE")))'],
    )
    fails = write_notebook(
        folder / "03_fails.ipynb",
        "n: int = 1",
        ["x = 2", f"raise ValueError({LONG_ERROR!r})", 'print("AFTER-FAILURE")'],
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
    latest_after_good: str


@pytest.fixture(scope="module")
def runs(notebooks: Notebooks, tmp_path_factory: pytest.TempPathFactory) -> Runs:
    out = tmp_path_factory.mktemp("out") / "reports"
    params = {"n": 4, "title": PAYLOAD, "raw": NASTY}
    good = run_report([notebooks.figs, notebooks.other], out, run_id="r1-good", parameters=params,
                      jobs=2)
    shown = run_report([notebooks.figs], out, run_id="r2-shown",
                       parameters={"n": 4, "title": PAYLOAD}, show_code=True)
    return Runs(out, good, shown, latest_run(out))


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
    # on failure, say why (one flake under heavy load left a notebook with no cell run)
    why = [(nb.name, nb.failure, nb.error, nb.previous_errors) for nb in runs.good.notebooks
           if nb.status != "ok"]
    assert runs.good.ok and runs.good.status == "ok", why
    run_dir = runs.out / "r1-good"
    assert runs.good.run_dir == run_dir
    names = {p.name for p in run_dir.iterdir()}
    expected = {"manifest.json", "01_figs.ipynb", "01_figs.html", "02_other.ipynb", "02_other.html",
                "logs"}
    assert names == expected
    assert {p.name for p in (run_dir / "logs").iterdir()} == {"01_figs.log", "02_other.log"}
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
    assert other["parameters"] == {"n": 4, "raw": NASTY}
    assert figs["attempts"] == 1 and figs["failure"] is None
    assert figs["source_sha256"] == hashlib.sha256(Path(figs["source"]).read_bytes()).hexdigest()
    assert m["environment"]["papermill"] and m["environment"]["python"]


def test_parameters_are_passed_as_data(runs: Runs) -> None:
    executed = nbformat.read(runs.out / "r1-good" / "02_other.ipynb", as_version=4)
    printed = [o.get("text", "") for c in executed.cells for o in c.get("outputs", [])]
    assert repr(NASTY) + "\n" in printed  # arrived verbatim: quotes, backslash, newline, braces
    assert "other n=4" + "\n" in printed


def test_progress_bars_are_off_in_report_kernels(runs: Runs) -> None:
    """tqdm bars (e.g. the KPI model's bootstrap) would land in the HTML as stderr boxes."""
    executed = nbformat.read(runs.out / "r1-good" / "02_other.ipynb", as_version=4)
    printed = [o.get("text", "") for c in executed.cells for o in c.get("outputs", [])]
    assert "TQDM_DISABLE=1\n" in printed


def test_header_fingerprints_the_inputs(runs: Runs, notebooks: Notebooks) -> None:
    (figs,) = [nb for nb in manifest(runs.good)["notebooks"] if nb["name"] == "01_figs"]
    (data,) = figs["inputs"]
    csv = notebooks.figs.parent / "data" / "answers.csv"
    file_hash = hashlib.sha256(csv.read_bytes()).hexdigest()
    assert data["parameter"] == "data_dir" and Path(data["path"]) == csv.parent.resolve()
    assert data["files"] == [{"name": "answers.csv", "sha256": file_hash,
                              "bytes": csv.stat().st_size, "rows": CSV_ROWS}]  # .hidden skipped
    assert data["sha256"] == hashlib.sha256(f"answers.csv\0{file_hash}\n".encode()).hexdigest()
    header = soup(page(runs.good, "01_figs")).find(id="cx-header")
    text = header.get_text(" ")
    assert data["sha256"][:16] in text and f"answers.csv ({CSV_ROWS})" in text
    assert "commit" in text and "notebook sha256" in text and figs["source_sha256"][:16] in text
    # parameters: the given ones marked as such, the others with their defaults
    rows = {r.th.get_text(): [td.get_text() for td in r.find_all("td")]
            for r in header.select("table.cx-parameters tr") if r.th and r.find("td")}
    assert rows["n"][:2] == ["4", "given"] and rows["n"][3] == "3"
    assert rows["data_dir"][:2] == ['"data"', "default"] and rows["data_dir"][4] == "input folder"
    assert rows["title"][0] == f'"{PAYLOAD}"'  # escaped: text in the page, not a tag


def test_table_of_contents_links_to_the_headings(runs: Runs) -> None:
    doc = soup(page(runs.good, "01_figs"))
    toc = doc.find(id="cx-toc")
    assert toc is not None and toc.find_parent("header") is None
    links = [a["href"] for a in toc.find_all("a")]
    assert links == ["#Figures"]
    assert doc.find(id="Figures").name == "h2"
    assert soup(page(runs.good, "02_other")).find(id="cx-toc") is None  # no headings, no toc


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


def test_no_page_loads_anything_from_the_network(runs: Runs, faults: Faults) -> None:
    pages = sorted(runs.out.glob("r*/*.html"))
    assert len(pages) == 3 + len(faults.manifest["notebooks"])  # failed pages too
    for path in pages:
        doc = soup(path)
        assert [s["src"] for s in doc.find_all("script", src=True)] == []
        for link in doc.find_all("link", href=True):
            assert not link["href"].startswith(("http:", "https:", "//"))
        text = path.read_text(encoding="utf-8")
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


def test_index_lists_runs_newest_first(runs: Runs, faults: Faults) -> None:
    doc = BeautifulSoup((runs.out / "index.html").read_text(encoding="utf-8"), "html.parser")
    text = doc.find("table").get_text(" ")
    order = [text.index(r) for r in ("r4-faults", "r2-shown", "r1-good")]
    assert order == sorted(order)
    hrefs = {a["href"] for a in doc.find_all("a", href=True)}
    assert {"r1-good/01_figs.html", "r4-faults/03_fails.html", "latest/"} <= hrefs
    assert "failed" in text
    assert doc.find("a", href="latest/").get_text() == "r2-shown"


# --- a failing run ---------------------------------------------------------------------


def test_failed_notebook_keeps_partial_results(faults: Faults) -> None:
    (nb,) = [nb for nb in faults.manifest["notebooks"] if nb["name"] == "03_fails"]
    assert nb["status"] == "failed" and nb["failure"] == "error"
    assert "ValueError" in nb["error"] and "boom-in-cell-3" in nb["error"]
    doc = soup(faults.run_dir / nb["html"])
    tracebacks = doc.select('[data-mime-type="application/vnd.jupyter.stderr"]')
    assert any("boom-in-cell-3" in t.get_text() for t in tracebacks)  # the cell's own error
    assert "boom-in-cell-3" in doc.find(id="cx-header").get_text()  # and the header says so
    assert "AFTER-FAILURE" not in doc.get_text()
    executed = nbformat.read(faults.run_dir / nb["notebook"], as_version=4)
    last = [c for c in executed.cells if "AFTER-FAILURE" in c.source][0]
    assert last.execution_count is None and last.outputs == []


def test_failed_run_leaves_latest_alone(runs: Runs, faults: Faults) -> None:
    assert runs.latest_after_good == "r2-shown"
    assert latest_run(runs.out) == "r2-shown"
    # relative links all the way, so the report folder can be moved or served as it is
    assert os.readlink(runs.out / "latest") == f"{PUBLISHED}/latest"
    assert os.readlink(runs.out / "index.html") == f"{PUBLISHED}/index.html"
    assert os.readlink(runs.out / PUBLISHED / "latest") == "../r2-shown"
    assert (runs.out / "latest" / "01_figs.html").is_file()


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


# --- the report folder: pre-flight, a disk that fills -------------------------------------------


def _one_line_exit(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return code, err


@pytest.mark.parametrize(
    ("problem", "expected"),
    [("read_only", "not writable (Read-only file system"),
     ("no_permission", "not writable (Permission denied"),
     ("no_space", "0 MB free on its disk, a run needs at least"),
     ("under_a_file", "cannot be created (Not a directory")],
)  # fmt: skip
def test_unusable_report_folder_fails_before_anything_runs(
    problem: str, expected: str, notebooks: Notebooks, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    import errno
    import shutil as shutil_module

    from cxlib.report import store

    out = tmp_path / "reports"
    if problem == "under_a_file":
        (tmp_path / "a-file").write_text("x")
        out = tmp_path / "a-file" / "reports"
    elif problem == "no_space":
        real = shutil_module.disk_usage
        monkeypatch.setattr(store.shutil, "disk_usage",
                            lambda path: real(path)._replace(free=0))
    else:  # as root, chmod does not stop a write: the probe's open fails as the kernel would
        code = errno.EROFS if problem == "read_only" else errno.EACCES
        real_open = open

        def refuse(path: object, *args: object, **kwargs: object) -> object:
            if ".cx-probe" in str(path):
                raise OSError(code, os.strerror(code), str(path))
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr(store, "open", refuse, raising=False)
    code, err = _one_line_exit(["report", str(notebooks.other), "--out", str(out)], capsys)
    assert code == 2 and expected in err and str(out) in err
    assert not out.exists() or [p.name for p in out.iterdir()] == []  # no lock, no run


def test_unwritable_folder_for_real(notebooks: Notebooks, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes into a read-only folder; the case is simulated above")
    out = tmp_path / "reports"
    out.mkdir()
    out.chmod(0o555)
    try:
        code, err = _one_line_exit(["report", str(notebooks.other), "--out", str(out)], capsys)
    finally:
        out.chmod(0o755)
    assert code == 2 and "not writable" in err


@pytest.mark.parametrize("step", ["manifest", "publish"])
def test_disk_filling_during_the_run_is_one_line(
    step: str, notebooks: Notebooks, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import errno

    monkeypatch.setattr(run_module, "execute_all", _fake_execute)
    out = tmp_path / "reports"
    assert main(["report", str(notebooks.other), "--out", str(out), "--run-id", "d1", "-q"]) == 0
    capsys.readouterr()

    def full(path: Path, *args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    if step == "manifest":
        monkeypatch.setattr(run_module, "write_json_atomic", full)
    else:
        monkeypatch.setattr(run_module, "publish", full)
    code, err = _one_line_exit(["report", str(notebooks.other), "--out", str(out), "--run-id",
                                "d2", "-q"], capsys)
    assert code == 1 and "No space left on device" in err and "'latest' leads to d1" in err
    monkeypatch.undo()
    assert consistent(out) == "d1"


# --- the cx command -----------------------------------------------------------------------


def test_cli_report_exit_codes(
    notebooks: Notebooks, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "reports")
    ok = main(["report", str(notebooks.other), "--out", out, "--run-id", "c1", "-p", "n", "30",
               "-p", "raw", "007"])
    captured = capsys.readouterr()
    assert ok == 0 and "02_other" in captured.out and "ok" in captured.out and "c1" in captured.out
    params = json.loads((tmp_path / "reports" / "c1" / "manifest.json").read_text())
    # converted by the declared types: n: int -> 30, raw: str -> "007" (not 7)
    assert params["notebooks"][0]["parameters"] == {"n": 30, "raw": "007"}
    progress = captured.err.splitlines()  # the progress display
    assert any("start  02_other" in line for line in progress)
    assert any("ok     02_other" in line and "[1/1 done]" in line for line in progress)

    code = main(["report", str(notebooks.other), "--out", out, "-p", "n", "thirty"])
    err = capsys.readouterr().err
    assert code == 2 and "02_other: parameter 'n' expects int, got 'thirty'" in err

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


# --- parameters: parsing, types, run files -------------------------------------------------


def test_parameters_cell_is_parsed_with_types_defaults_and_help() -> None:
    cell = (
        "# a comment line\n"
        'data_dir: str = "../data/sample"  # folder with the tables\n'
        "label: str | None = None  # optional label\n"
        's: str = "a # b"  # a hash inside the string\n'
        "%matplotlib inline\n"
        "ratio = 0.5  # untyped\n"
        "ids: list[int] = [1, 2]\n"
    )
    params = parse_parameters_cell(cell)
    assert list(params) == ["data_dir", "label", "s", "ratio", "ids"]
    expected = Parameter("data_dir", "str", '"../data/sample"', "folder with the tables")
    assert params["data_dir"] == expected
    assert params["label"].annotation == "str | None" and params["label"].default == "None"
    assert params["s"].default == '"a # b"' and params["s"].help == "a hash inside the string"
    assert params["ratio"].type_name == "float" and params["ratio"].default_value() == 0.5
    assert params["ids"].type_name == "list[int]"


def _p(annotation: str, default: str = "None") -> Parameter:
    return Parameter("x", annotation, default)


@pytest.mark.parametrize(
    ("annotation", "given", "expected"),
    [
        ("int", 3, 3), ("int", CliText("007"), 7), ("float", 2, 2.0),
        ("float", CliText("0.9"), 0.9),
        ("str", CliText("007"), "007"), ("str", "ok", "ok"), ("bool", CliText("false"), False),
        ("str | None", None, None), ("str | None", CliText("null"), None),
        ("Optional[int]", CliText("5"), 5), ("list[int]", [1, 2], [1, 2]),
        ("list[str]", CliText("[a, b]"), ["a", "b"]), ("dict", {"a": 1}, {"a": 1}),
        ("Literal['nps', 'csat']", CliText("csat"), "csat"), ("", CliText("30"), 30),
    ],
)  # fmt: skip
def test_values_are_converted_to_the_declared_type(
    annotation: str, given: object, expected: object
) -> None:
    value = check_value("nb", _p(annotation), given)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    ("annotation", "given"),
    [("int", "3"), ("int", True), ("int", 2.5), ("int", CliText("abc")), ("float", "x"),
     ("float", math.nan), ("float", CliText("inf")), ("str", 3), ("bool", 1),
     ("list[int]", [1, "2"]), ("Literal['nps', 'csat']", CliText("ces")), ("str | None", 4)],
)  # fmt: skip
def test_mistyped_values_are_errors_naming_notebook_and_parameter(
    annotation: str, given: object
) -> None:
    with pytest.raises(ReportError, match=r"nb: parameter 'x' expects"):
        check_value("nb", _p(annotation), given)


def test_unknown_parameter_gets_a_hint(notebooks: Notebooks) -> None:
    with pytest.raises(ReportError, match=r"titel \(did you mean title\?\)"):
        run_module.preflight([notebooks.figs, notebooks.other], {"titel": "x"})
    with pytest.raises(ReportError, match="not declared by notebook 02_other"):
        run_module.preflight([notebooks.figs, notebooks.other], {}, {"02_other": {"title": "x"}})
    with pytest.raises(ReportError, match="did you mean 02_other"):
        run_module.preflight([notebooks.other], {}, {"02_othr": {"n": 1}})
    plans = run_module.preflight(
        [notebooks.figs, notebooks.other], {"n": 2}, {"02_other": {"n": 5}}
    )
    assert plans == [{"n": 2}, {"n": 5}]  # per-notebook values win over common ones


def test_run_file_keys_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "run.yml"
    path.write_text("parameters: {min_n: 30}\njobz: 2\n", encoding="utf-8")
    with pytest.raises(ReportError, match="unknown key 'jobz'; did you mean jobs"):
        load_run_file(path)
    path.write_text("keep: -1\n", encoding="utf-8")
    with pytest.raises(ReportError, match="keep"):
        load_run_file(path)
    path.write_text("show_code: 1\n", encoding="utf-8")
    with pytest.raises(ReportError, match="show_code"):
        load_run_file(path)


def test_options_are_declared_once_for_cli_run_file_and_function(tmp_path: Path) -> None:
    import inspect
    from dataclasses import fields

    from cxlib.cli import build_parser
    from cxlib.report.options import RunOptions, run_file_keys

    declared = {f.name for f in fields(RunOptions)}
    rep = build_parser()._subparsers._group_actions[0].choices["report"]
    cli = {a.dest for a in rep._actions} - {"help", "notebooks", "run", "param", "params_file",
                                            "quiet", "func"}
    assert cli == {f.name for f in fields(RunOptions) if f.metadata["flags"]} and cli <= declared
    assert set(run_file_keys()) <= declared and "run_id" not in run_file_keys()
    signature = inspect.signature(run_report).parameters
    assert set(signature) - {"notebooks", "progress"} == \
        {f.name for f in fields(RunOptions) if f.metadata["api"]}
    assert signature["timeout"].default == 900 and signature["retries"].default == 1
    # one check, three doors
    for bad in ({"keep": 0}, {"retries": -1}, {"jobs": True}, {"timeout": 2.5}):
        with pytest.raises(ReportError, match=next(iter(bad))):
            RunOptions(**bad)
        with pytest.raises(ReportError, match=f"run_report: '{next(iter(bad))}'"):
            run_report([], tmp_path, **bad)
    with pytest.raises(ReportError, match="unknown option 'jobz'; did you mean jobs"):
        run_report([], tmp_path, jobz=2)
    assert RunOptions(notebook_timeout=3).notebook_timeout == 3.0
    assert RunOptions(out="x").out == Path("x")


@pytest.mark.parametrize("argv", [["--keep", "0"], ["--retries", "-1"], ["--jobs", "x"],
                                  ["--timeout", "0"]])
def test_bad_option_values_on_the_command_line_exit_2(
    argv: list[str], notebooks: Notebooks, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(notebooks.other), "--out", str(tmp_path / "r"), *argv]) == 2
    assert argv[0] in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_sample_run_file_fits_the_notebooks() -> None:
    run = load_run_file(ROOT / "config" / "runs" / "daily.yml")
    available = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not available:
        pytest.skip("no notebooks yet")
    wanted = run.get("notebooks")
    chosen = [p for p in available if not wanted or p.stem in wanted]
    plans = run_module.preflight(chosen, run.get("parameters", {}), run.get("per_notebook"))
    assert len(plans) == len(chosen)


def test_notebook_names_resolve_in_the_notebooks_folder(notebooks: Notebooks) -> None:
    from cxlib.cli import UsageError, find_notebooks

    folder = notebooks.figs.parent
    assert find_notebooks(["02", "01_figs", str(notebooks.fails)], folder) == [
        notebooks.other, notebooks.figs, notebooks.fails]
    with pytest.raises(UsageError, match="no notebook"):
        find_notebooks(["99"], folder)


# --- parallel runs ---------------------------------------------------------------------------


BARRIER = (
    "import pathlib, time\n"
    'print(open("neighbour.txt").read())\n'
    "b = pathlib.Path(barrier)\n"
    '(b / me).write_text("here")\n'
    "t0 = time.monotonic()\n"
    "while not (b / other).exists():\n"
    '    assert time.monotonic() - t0 < 30, "the other notebook is not running at the same time"\n'
    "    time.sleep(0.05)\n"
    'print("met", other)'
)


def barrier_notebooks(base: Path) -> list[Path]:
    """Two notebooks in two folders that each wait for the other: they pass only in parallel."""
    paths = []
    for name, me, other in (("01_left", "left", "right"), ("02_right", "right", "left")):
        folder = base / me
        folder.mkdir()
        (folder / "neighbour.txt").write_text(f"{me.upper()}-FOLDER", encoding="utf-8")
        params = (f'me: str = "{me}"  # this side\nother: str = "{other}"  # the other side\n'
                  'barrier: str = ""  # meeting folder')
        paths.append(write_notebook(folder / f"{name}.ipynb", params, [BARRIER]))
    return paths


def test_notebooks_run_in_parallel_each_in_its_own_folder(faults: Faults) -> None:
    for name, me, other in (("01_left", "left", "right"), ("02_right", "right", "left")):
        nb, _ = faults.notebook(name)
        assert nb["status"] == "ok", nb["error"]
        text = soup(faults.run_dir / nb["html"]).get_text()
        assert f"{me.upper()}-FOLDER" in text  # papermill's cwd, per worker process
        assert f"met {other}" in text
    assert faults.manifest["jobs"] == 3


# --- faults: cell timeout, dead kernel, sys.exit, notebook time limit --------------------------

FAULTS = {
    "11_cell_timeout": ['print("before-sleep")', "import time\ntime.sleep(60)", 'print("NEVER")'],
    "12_dead_kernel": ['print("before-death")', "import os\nos._exit(1)", 'print("NEVER")'],
    "13_sys_exit": ['print("before-exit")', "import sys\nsys.exit(0)", 'print("NEVER")'],
    "14_notebook_time": ['print("before-steps")']
    + ["import time\ntime.sleep(1)"] * 60 + ['print("NEVER")'],
    "15_fine": ['print("fine-output")'],
}
CELL_LIMIT = 2  # seconds, for the fault run, which has no notebook limit
NOTEBOOK_LIMIT = 15  # seconds, for a run of 14_notebook_time alone, which would need 60
EXPECTED_FAILURE = {
    "11_cell_timeout": "timeout", "12_dead_kernel": "dead_kernel", "13_sys_exit": "incomplete",
    "14_notebook_time": "notebook_timeout", "15_fine": None,
}  # fmt: skip
EXPECTED_LIMIT = {"11_cell_timeout": CELL_LIMIT, "14_notebook_time": NOTEBOOK_LIMIT}


@dataclass
class Faults:
    code: int
    manifest: dict
    run_dir: Path
    latest_before: dict[str, str]
    stdout: str
    limit_manifest: dict
    limit_dir: Path

    def notebook(self, name: str) -> tuple[dict, Path]:
        """A notebook's manifest entry and the folder of its run."""
        for m, folder in ((self.manifest, self.run_dir), (self.limit_manifest, self.limit_dir)):
            found = [nb for nb in m["notebooks"] if nb["name"] == name]
            if found:
                return found[0], folder
        raise KeyError(name)


def tree_hashes(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def faults(runs: Runs, notebooks: Notebooks, tmp_path_factory: pytest.TempPathFactory) -> Faults:
    """One run of everything that fails, plus two notebooks that must run in parallel.

    Beside it, in a process and report folder of its own, a run of the notebook that is
    stopped at its time limit: the fault run has no notebook limit, so the cell limit is
    the only one that can fire there, however slowly kernels start on a loaded machine.
    """
    import contextlib
    import io

    folder = tmp_path_factory.mktemp("faults")
    paths = {name: write_notebook(folder / f"{name}.ipynb", "n: int = 1  # unused", cells)
             for name, cells in FAULTS.items()}
    limit_out = tmp_path_factory.mktemp("limit") / "reports"
    limited = subprocess.Popen(
        [sys.executable, "-m", "cxlib.cli", "report", str(paths["14_notebook_time"]),
         "--out", str(limit_out), "--run-id", "r5-limit", "-q",
         "--notebook-timeout", str(NOTEBOOK_LIMIT)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    barrier = folder / "barrier"
    barrier.mkdir()
    ordered = [*barrier_notebooks(folder), notebooks.fails,
               *(p for name, p in paths.items() if name != "14_notebook_time")]
    before = tree_hashes(runs.out / "latest")
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(["report", *map(str, ordered), "--out", str(runs.out), "--run-id",
                     "r4-faults", "--timeout", str(CELL_LIMIT), "-j", "3", "-q",
                     "-p", "barrier", str(barrier)])
    assert limited.wait(300) == 1
    run_dir = runs.out / "r4-faults"
    m = json.loads((run_dir / "manifest.json").read_text())
    limit_dir = limit_out / "r5-limit"
    limit_m = json.loads((limit_dir / "manifest.json").read_text())
    return Faults(code, m, run_dir, before, stdout.getvalue(), limit_m, limit_dir)


def test_faults_fail_the_run_and_leave_latest_alone(faults: Faults, runs: Runs) -> None:
    assert faults.code == 1 and faults.manifest["status"] == "failed"
    assert latest_run(runs.out) == "r2-shown"
    assert tree_hashes(runs.out / "latest") == faults.latest_before  # not a byte changed
    index = (runs.out / "index.html").read_text(encoding="utf-8")
    assert '<a href="r4-faults/11_cell_timeout.html">' in index


@pytest.mark.parametrize("name", list(FAULTS))
def test_each_fault_is_recorded_with_its_partial_output(faults: Faults, name: str) -> None:
    nb, run_dir = faults.notebook(name)
    assert nb["failure"] == EXPECTED_FAILURE[name], nb["error"]
    assert nb["limit_s"] == EXPECTED_LIMIT.get(name)  # the limit that fired, as recorded
    assert nb["status"] == ("ok" if EXPECTED_FAILURE[name] is None else "failed")
    executed = nbformat.read(run_dir / nb["notebook"], as_version=4)
    outputs = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert outputs.startswith(("before-", "fine-output"))  # the cells before the fault ran
    assert "NEVER" not in outputs
    never = [c for c in executed.cells if c.source == 'print("NEVER")']
    assert all(c.execution_count is None for c in never)
    doc = soup(run_dir / nb["html"])
    header = doc.find(id="cx-header").get_text(" ")
    if nb["status"] == "failed":
        assert nb["error"] and nb["error"] in header and "did not complete" in header
    else:
        assert "fine-output" in doc.get_text() and "did not complete" not in header
    assert (run_dir / nb["log"]).is_file()


def test_dead_kernel_is_retried_once(faults: Faults) -> None:
    nb, run_dir = faults.notebook("12_dead_kernel")
    assert nb["attempts"] == 2 and len(nb["previous_errors"]) == 1
    assert "DeadKernelError" in nb["previous_errors"][0] and "DeadKernelError" in nb["error"]
    log = (run_dir / nb["log"]).read_text()
    assert log.count("--- attempt") == 2


def test_notebook_time_limit_stops_the_notebook(faults: Faults) -> None:
    nb, run_dir = faults.notebook("14_notebook_time")
    assert nb["failure"] == "notebook_timeout" and nb["limit_s"] == NOTEBOOK_LIMIT
    assert nb["duration_s"] >= NOTEBOOK_LIMIT  # the runner stops it only past its limit
    assert f"stopped after {NOTEBOOK_LIMIT} s" in nb["error"]
    executed = nbformat.read(run_dir / nb["notebook"], as_version=4)
    ran = [c for c in executed.cells if c.cell_type == "code" and c.execution_count is not None]
    assert 2 <= len(ran) < 60  # stopped part of the way, not after 60 s of cells


def test_whole_error_message_reaches_console_manifest_page_and_index(
    faults: Faults, runs: Runs
) -> None:
    nb, run_dir = faults.notebook("03_fails")
    assert re.fullmatch(rf"ValueError: {re.escape(LONG_ERROR)} \(cell In \[\d+\]\)", nb["error"])
    lines = [f"    {line}" for line in nb["error"].splitlines()]
    assert len(lines) == 3 and "\n".join(lines) in faults.stdout  # every line, indented
    header = soup(run_dir / nb["html"]).find(id="cx-header").get_text()
    assert nb["error"] in header
    index = soup(runs.out / "index.html")
    shown = [pre.get_text() for pre in index.select("pre.cx-error")]
    assert nb["error"] in shown


def test_long_error_messages_are_cut_with_a_pointer() -> None:
    from cxlib.report.job import MAX_ERROR_LINES, error_text

    problems = "DataError: 40 problem(s)\n" + "\n".join(f"  - problem {i}" for i in range(40))
    text = error_text(problems)
    lines = text.splitlines()
    assert lines[:MAX_ERROR_LINES] == problems.splitlines()[:MAX_ERROR_LINES]
    assert lines[-1].startswith(f"[cut here, {41 - MAX_ERROR_LINES} more line(s)")
    assert error_text("one line") == "one line"
    assert len(error_text("x" * 100_000)) < 7000


# --- the lock, a killed runner, crashes while publishing ---------------------------------------


def test_overlapping_run_is_refused(
    notebooks: Notebooks, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reports"
    holder = RunLock(out / LOCK_NAME).acquire(run_id="the-other-run")
    try:
        with pytest.raises(ReportLocked, match=rf"pid {os.getpid()}.*the-other-run"):
            run_report([notebooks.other], out)
        assert main(["report", str(notebooks.other), "--out", str(out)]) == 3
        err = capsys.readouterr().err
        assert "another report run is in progress" in err and len(err.strip().splitlines()) == 1
    finally:
        holder.release()
    assert [p.name for p in out.iterdir()] == [LOCK_NAME]  # nothing was started


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    pid = int(dead.stdout)
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": pid, "run_id": "old"}))
    lock = RunLock(tmp_path / LOCK_NAME).acquire()
    try:
        assert lock.stale == {"pid": pid, "run_id": "old"}
        assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getpid()
    finally:
        lock.release()


@dataclass
class Killed:
    out: Path
    before: dict[str, str]
    after_kill: dict[str, str]
    index_before: bytes
    index_after_kill: bytes
    runner_pid: int
    leftovers: list[int]
    partial_existed: bool
    next_run: RunResult
    stopped_code: int
    left_after_term: list[int]


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if text in cmdline or cwd == text:
            found.append(int(proc.name))
    return found


@pytest.fixture(scope="module")
def killed(notebooks: Notebooks, tmp_path_factory: pytest.TempPathFactory) -> Killed:
    base = tmp_path_factory.mktemp("kill")
    out = base / "reports"
    slow_folder = base / "slow"
    slow_folder.mkdir()
    slow = write_notebook(slow_folder / "06_slow.ipynb", "n: int = 1  # unused",
                          ['print("working")', "import time\ntime.sleep(60)"])
    with pytest.MonkeyPatch.context() as mp:  # the good run needs no real kernel
        mp.setattr(run_module, "execute_all", _fake_execute)
        assert run_report([notebooks.other], out, run_id="k1-good").ok
    before, index_before = tree_hashes(out / "latest"), (out / "index.html").read_bytes()

    def start_runner(run_id: str) -> subprocess.Popen[bytes]:
        runner = subprocess.Popen(
            [sys.executable, "-m", "cxlib.cli", "report", str(slow), "--out", str(out),
             "--run-id", run_id, "-q"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        work = out / f".{run_id}.partial" / ".work" / "06_slow.ipynb"
        deadline = time.monotonic() + 60
        while not work.exists() and time.monotonic() < deadline:  # papermill is running it
            time.sleep(0.1)
        time.sleep(1.0)
        return runner

    def leftovers() -> list[int]:
        deadline = time.monotonic() + 20
        while (left := _processes_mentioning(str(slow_folder))) and time.monotonic() < deadline:
            time.sleep(0.2)
        return left

    stopped = start_runner("k2-stopped")  # systemd stop: SIGTERM
    stopped.send_signal(signal.SIGTERM)
    stopped_code = stopped.wait(30)
    left_after_term = leftovers()
    runner = start_runner("k2-killed")  # kill -9: no chance to clean up
    os.kill(runner.pid, signal.SIGKILL)
    runner.wait(10)
    partial_existed = (out / ".k2-killed.partial").is_dir()
    after_kill, index_after = tree_hashes(out / "latest"), (out / "index.html").read_bytes()
    left = leftovers()  # the worker gets SIGTERM from Linux and stops its kernel
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(run_module, "execute_all", _fake_execute)
        nxt = run_report([notebooks.other], out, run_id="k3-next", keep=1)
    return Killed(out, before, after_kill, index_before, index_after, runner.pid, left,
                  partial_existed, nxt, stopped_code, left_after_term)


def test_killed_runner_leaves_latest_and_its_files_intact(killed: Killed) -> None:
    assert killed.partial_existed  # it was killed mid-run ...
    assert killed.after_kill == killed.before  # ... and the good run is byte for byte the same
    assert killed.index_after_kill == killed.index_before
    assert not (killed.out / "k2-killed").exists()
    assert killed.leftovers == []  # no worker or kernel outlived the runner


def test_sigterm_stops_the_run_cleanly(killed: Killed) -> None:
    assert killed.stopped_code == 143
    assert killed.left_after_term == []
    assert not (killed.out / "k2-stopped").exists()  # never published
    assert killed.after_kill == killed.before


def test_next_run_takes_over_the_stale_lock_and_prunes(killed: Killed) -> None:
    nxt = killed.next_run
    assert nxt.ok and nxt.stale_lock is not None and nxt.stale_lock["pid"] == killed.runner_pid
    assert latest_run(killed.out) == "k3-next"
    assert nxt.pruned == ["k1-good"]  # --keep 1
    visible = sorted(p.name for p in killed.out.iterdir())
    published = os.readlink(killed.out / PUBLISHED)  # the one folder of latest + index
    assert visible == sorted([LOCK_NAME, PUBLISHED, published, "index.html", "k3-next",
                              "latest"])  # the .partial is gone too, and older publications
    index = soup(killed.out / "index.html").get_text(" ")
    assert "k3-next" in index and "k1-good" not in index
    assert json.loads((killed.out / "k3-next" / "manifest.json").read_text())["stale_lock"]["pid"] \
        == killed.runner_pid


def _fake_execute(
    jobs: list[Job], workers: int, notebook_timeout: object, retries: int, say: object
) -> dict[str, Outcome]:
    """Stands in for the workers: writes what a good notebook leaves, instantly."""
    outcomes = {}
    for job in jobs:
        nbformat.write(new_notebook(), job.executed)
        job.html.write_text("<html>fake page</html>", encoding="utf-8")
        outcomes[job.name] = Outcome("ok", "s", "f", 0.1, notebook=job.executed.name,
                                     html=job.html.name)
    return outcomes


def consistent(out: Path) -> str:
    """What `latest` leads to, after checking that it is a complete good run and that
    the index names the same run."""
    target = latest_run(out)
    assert target is not None
    m = json.loads((out / target / "manifest.json").read_text())
    assert m["status"] == "ok"
    for nb in m["notebooks"]:
        assert (out / target / nb["html"]).is_file() and (out / target / nb["notebook"]).is_file()
    index = (out / "index.html").read_text()
    assert index.rstrip().endswith("</html>")
    named = BeautifulSoup(index, "html.parser").find("a", href="latest/")
    assert named is not None and named.get_text() == target  # index and latest agree
    return target


class Crash(BaseException):
    """A kill at a chosen point (BaseException, like the runner's KeyboardInterrupt)."""


@pytest.mark.parametrize("point", ["rename", "publish", "remove_runs"])
def test_crash_at_each_publish_step_keeps_a_complete_latest(
    point: str, notebooks: Notebooks, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run_module, "execute_all", _fake_execute)
    out = tmp_path / "reports"
    run_report([notebooks.other], out, run_id="p1")
    before = tree_hashes(out / "p1")

    def crash(*args: object, **kwargs: object) -> None:
        raise Crash(point)

    if point == "rename":
        monkeypatch.setattr(run_module.os, "rename", crash)
    else:
        monkeypatch.setattr(run_module, point, crash)
    with pytest.raises(Crash):
        run_report([notebooks.other], out, run_id="p2", keep=1)
    monkeypatch.undo()
    target = consistent(out)
    assert target == ("p1" if point in {"rename", "publish"} else "p2")
    assert tree_hashes(out / "p1") == before  # the older run is untouched ...
    if point == "remove_runs":  # ... and, to be pruned, already gone from the index
        assert 'href="p1/' not in (out / "index.html").read_text()
    RunLock(out / LOCK_NAME).acquire().release()  # the crashed run released its lock


@pytest.mark.parametrize("layout", ["current", "older"])
def test_a_kill_at_any_step_of_publishing_leaves_latest_and_index_agreeing(
    layout: str, notebooks: Notebooks, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every rename, replace, symlink and mkdir of a run is, in turn, where it is killed."""
    from cxlib.report.render import index_html
    from cxlib.report.store import read_runs

    monkeypatch.setattr(run_module, "execute_all", _fake_execute)
    out = tmp_path / "reports"
    run_report([notebooks.other], out, run_id="q0")

    def make_older() -> None:  # index.html a file and latest a direct link, as runs made them
        good = latest_run(out)
        for name in ("index.html", "latest", PUBLISHED):
            (out / name).unlink(missing_ok=True)
        os.symlink(good, out / "latest")
        (out / "index.html").write_text(index_html(read_runs(out), good), encoding="utf-8")

    real = {name: getattr(os, name) for name in ("rename", "replace", "symlink", "mkdir")}
    seen: list[str] = []
    for step in range(1, 100):
        calls = 0

        def counted(name: str) -> object:
            def call(*args: object, **kwargs: object) -> object:
                nonlocal calls
                calls += 1
                if calls == step:
                    raise Crash(f"{name} {args[0]}")
                return real[name](*args, **kwargs)
            return call

        if layout == "older":
            make_older()
        for name in real:
            monkeypatch.setattr(os, name, counted(name))
        try:
            run_report([notebooks.other], out, run_id=f"q{step}")
            finished = True
        except Crash as exc:
            seen.append(str(exc))
            finished = False
        monkeypatch.undo()
        monkeypatch.setattr(run_module, "execute_all", _fake_execute)
        consistent(out)  # whatever step the kill hit
        RunLock(out / LOCK_NAME).acquire().release()
        if finished:
            break
    assert any(PUBLISHED in s for s in seen) and len(seen) > 5  # the publish steps were hit
