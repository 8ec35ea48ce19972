"""Report pages in a real browser: Debian's headless Chromium, driven by Playwright.

Two report runs are opened page by page:

* fixture notebooks that plant ``<script>`` and ``<img onerror>`` payloads in a
  DataFrame, a plotly title and hover text, a parameter and an exception message,
  plus a *canary* page that deliberately renders raw HTML, to prove that this
  harness does see a payload that runs;
* a run over whatever ``notebooks/NN_*.ipynb`` exist, on the sample data whose
  planted verbatims are listed in ``data/sample/truth.json`` (``planted_text``).

Every page: no console error, no network request (all are blocked and recorded),
every plotly figure rendered (its ``svg.main-svg`` exists), no planted script ran
(``alert`` is replaced by a recorder before any page script, and dialogs are
recorded too), and every table-of-contents link lands on a heading.

Chromium comes from the system (``make test`` installs Debian's ``chromium`` when
missing; no browser is downloaded at run time). Without it, or without the
``playwright`` package, these tests skip locally and fail under CI (``CI`` set).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest

from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from cxlib.changes import metric_notebooks
from cxlib.report import RunResult, available_cores, render, run_report

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SCRIPT = "<script>alert('cx')</script> 対応が遅すぎます"
ONERROR = '<img src=x onerror="alert(1)"> 返金してください'
PLOTLY_MIME = "application/vnd.plotly.v1+json"
# notebooks whose page opens with three to five headline findings (cxlib.finding)
SUMMARISED = {"01_survey_exploration", "02_rational_emotional", "03_churn", "04_kpi_model",
              "05_pilot"}

# Runs before any script of the page: a planted alert() is recorded instead of shown.
RECORD_ALERTS = """
window.__cx_alerts = [];
for (const name of ["alert", "confirm", "prompt"]) {
  window[name] = (message) => { window.__cx_alerts.push(name + ":" + String(message)); };
}
// counts resource errors in the capture phase, i.e. just before an inline onerror runs
window.__cx_resource_errors = 0;
window.addEventListener("error", (e) => { if (e.target !== window) window.__cx_resource_errors++; },
                        true);
"""
# every image has finished, and every broken one has dispatched its error event
IMAGES_SETTLED = """
() => {
  const images = Array.from(document.images);
  const broken = images.filter(i => i.complete && i.naturalWidth === 0 && i.getAttribute("src"));
  return images.every(i => i.complete) && window.__cx_resource_errors >= broken.length;
}
"""
INSPECT = """
() => {
  const figures = Array.from(document.querySelectorAll("div.plotly-graph-div"));
  const scripts = Array.from(document.scripts).map(s => s.textContent.trim());
  const withHandlers = Array.from(document.querySelectorAll("*")).filter(
    el => Array.from(el.attributes).some(a => a.name.startsWith("on") && /alert/.test(a.value)));
  const toc = Array.from(document.querySelectorAll("#cx-toc a")).map(a => a.getAttribute("href"));
  return {
    figures: figures.length,
    rendered: figures.filter(f => f.querySelector("svg.main-svg")).length,
    plantedScripts: scripts.filter(t => /^alert\\(/.test(t)).length,
    plantedHandlers: withHandlers.length,
    alerts: window.__cx_alerts || ["recorder missing"],
    text: document.body ? document.body.innerText : "",
    tocMissing: toc.filter(h => {
      const id = h.slice(1);
      let decoded = id;
      try { decoded = decodeURIComponent(id); } catch (e) {}
      return !(document.getElementById(id) || document.getElementById(decoded));
    }),
    tocCount: toc.length,
    summary: Array.from(document.querySelectorAll("#cx-summary li")).map(li => li.innerText),
    changes: Array.from(document.querySelectorAll("#cx-changes")).map(el => el.innerText),
    changesMarkup: Array.from(document.querySelectorAll(
      "#cx-changes script, #cx-changes img, #cx-changes b, #cx-changes a[href^='http']")).length,
  };
}
"""


def write_notebook(path: Path, params: str, cells: list[str], markdown: str = "") -> Path:
    """A notebook: a `parameters` cell, an optional markdown cell, then ``cells``."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "P3"}
    first = new_code_cell(params)
    first.metadata["tags"] = ["parameters"]
    nb.cells = [first] + ([new_markdown_cell(markdown)] if markdown else [])
    nb.cells += [new_code_cell(src) for src in cells]
    nbformat.write(nb, path)
    return path


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"browser test cannot run under CI: {reason} (make test installs it)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    executable = (os.environ.get("CX_CHROMIUM") or shutil.which("chromium")
                  or shutil.which("chromium-browser"))
    if not executable:
        _unavailable("no chromium on PATH (apt-get install chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@dataclass
class PageCheck:
    url: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    found: dict[str, Any] = field(default_factory=dict)

    @property
    def alerts(self) -> list[str]:
        return list(self.found.get("alerts", [])) + self.dialogs


def open_page(browser: Any, path: Path, hover: bool = False) -> PageCheck:
    """Load ``path`` in a fresh context with every request but the page itself blocked."""
    url = path.resolve().as_uri()
    check = PageCheck(url)
    context = browser.new_context(service_workers="block")
    context.add_init_script(RECORD_ALERTS)

    def route(r: Any) -> None:
        if r.request.url == url:
            r.continue_()
        else:
            check.requests.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: check.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: check.page_errors.append(str(e)))

    def on_dialog(d: Any) -> None:
        check.dialogs.append(f"dialog:{d.message}")
        d.dismiss()

    page.on("dialog", on_dialog)
    page.on("websocket", lambda ws: check.requests.append(ws.url))
    page.goto(url, wait_until="load", timeout=60_000)
    try:  # plotly draws asynchronously after load
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('div.plotly-graph-div'))"
            ".every(d => d.querySelector('svg.main-svg'))", timeout=20_000)
    except Exception:  # counted below; the assertion says what is missing
        pass
    hovered: list[str] = []
    if hover:
        for point in page.query_selector_all("div.plotly-graph-div g.point path"):
            point.scroll_into_view_if_needed()
            box = point.bounding_box()  # plotly's drag layer takes the pointer, so move the mouse
            if box:
                page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
                page.wait_for_timeout(200)  # plotly draws the hover label with the planted text
                hovered += page.evaluate("() => Array.from(document.querySelectorAll("
                                         "'g.hovertext')).map(g => g.textContent)")
    try:  # let an onerror of a broken <img> fire, if one exists, before inspecting
        page.wait_for_function(IMAGES_SETTLED, timeout=10_000)
    except Exception:  # an image that never settles: inspected as it is
        pass
    page.wait_for_timeout(100)
    check.found.update(page.evaluate(INSPECT))
    check.found["hover"] = hovered
    context.close()
    return check


def expected_figures(notebook: Path) -> int:
    nb = nbformat.read(notebook, as_version=4)
    return sum(PLOTLY_MIME in (o.get("data") or {}) for c in nb.cells for o in c.get("outputs", []))


def assert_clean(check: PageCheck, figures: int | None = None) -> None:
    assert check.console_errors == [], check.console_errors
    assert check.page_errors == [], check.page_errors
    assert check.requests == [], f"network requests: {check.requests}"
    assert check.alerts == [], f"a planted script ran: {check.alerts}"
    assert check.found["plantedScripts"] == 0 and check.found["plantedHandlers"] == 0
    assert check.found["rendered"] == check.found["figures"], "a plotly figure did not render"
    if figures is not None:
        assert check.found["figures"] == figures
    assert check.found["tocMissing"] == []


# --- fixture notebooks with planted payloads ---------------------------------------------------

PLANTED_CELLS = [
    "import pandas as pd\nimport plotly.graph_objects as go\n"
    f"planted = [{SCRIPT!r}, {ONERROR!r}]",
    'pd.DataFrame({"comment": planted, "score": [0, 10]})',
    'fig = go.Figure(go.Bar(x=["a", "b"], y=[1, 2], hovertext=planted, hoverinfo="text"))\n'
    "fig.update_layout(title_text=title, xaxis_title=planted[1])\nfig.show()",
    "print(planted)",
    "import cxlib\ncxlib.finding('Planted in a finding:', planted[0], headline=True)",
]
CANARY_CELLS = [
    "from IPython.display import HTML, display\n"
    "display(HTML('<img src=x onerror=\"alert(' + repr('canary') + ')\">'))"
]
FAILING_CELLS = [f"raise ValueError({ONERROR!r})"]
LINK = '<a href="http://evil.example/t7">t7</a>'
BOLD = '<b onmouseover="alert(7)">sb</b>'
LABEL_CELLS = [  # labels from data in every place plotly renders markup; first without cxlib
    f"import plotly.graph_objects as go\nlabels = [{LINK!r}, {BOLD!r}]\n"
    "fig = go.Figure(go.Bar(x=labels, y=[1, 2], name=labels[0], hovertext=labels))\n"
    "fig.update_layout(title_text=labels[0], showlegend=True, xaxis_title=labels[1])\nfig.show()",
    "import cxlib.plots  # installs the sanitising renderer\nfig.show()",
]


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    folder = tmp_path_factory.mktemp("planted")
    params = 'title: str = "t"  # figure title'
    paths = [
        write_notebook(folder / "01_planted.ipynb", params, PLANTED_CELLS,
                       markdown="## What customers wrote\nPlanted payloads."),
        write_notebook(folder / "02_canary.ipynb", params, CANARY_CELLS),
        write_notebook(folder / "03_fails.ipynb", params, FAILING_CELLS),
        write_notebook(folder / "04_labels.ipynb", params, LABEL_CELLS),
    ]
    return run_report(paths, folder / "reports", run_id="planted", parameters={"title": SCRIPT},
                      jobs=2)


def _page(run: RunResult, name: str) -> Path:
    (nb,) = [nb for nb in run.notebooks if nb.name == name]
    assert nb.html_path is not None
    return nb.html_path


def test_planted_payloads_are_shown_as_text_and_never_run(
    browser: Any, planted_run: RunResult
) -> None:
    check = open_page(browser, _page(planted_run, "01_planted"), hover=True)
    assert_clean(check, figures=1)
    text = check.found["text"]
    assert SCRIPT in text and ONERROR in text  # visible, as text (DataFrame, print, header)
    assert check.found["hover"] == [SCRIPT, ONERROR]  # hover labels drawn, as text
    assert check.found["tocCount"] == 1
    assert check.found["summary"] == [f"Planted in a finding: {SCRIPT}"]  # the summary box too


def test_error_message_with_payload_is_escaped(browser: Any, planted_run: RunResult) -> None:
    assert not planted_run.ok
    check = open_page(browser, _page(planted_run, "03_fails"))
    assert_clean(check)
    assert ONERROR in check.found["text"]


def test_canary_proves_the_browser_sees_a_payload_that_runs(
    browser: Any, planted_run: RunResult
) -> None:
    # raw HTML built from data (what notebooks must never do) does run: the harness catches it
    check = open_page(browser, _page(planted_run, "02_canary"))
    assert check.alerts == ["alert:canary"]
    assert check.found["plantedHandlers"] == 1
    assert [u.rsplit("/", 1)[-1] for u in check.requests] == ["x"]  # and the blocked request


def test_labels_from_data_are_text_in_charts(browser: Any, planted_run: RunResult) -> None:
    page = _page(planted_run, "04_labels")
    check = open_page(browser, page)
    assert_clean(check, figures=2)
    html_text = page.read_text(encoding="utf-8")
    assert "evil.example" in html_text  # the labels are on the page, as text:
    assert 'href="http://evil.example' not in html_text and "<b onmouseover" not in html_text
    context = browser.new_context()
    view = context.new_page()
    view.goto(page.resolve().as_uri(), wait_until="load")
    view.wait_for_function("() => document.querySelectorAll('svg.main-svg').length >= 2")
    found = view.evaluate("() => ({links: document.querySelectorAll('svg a').length, "
                          "ticks: Array.from(document.querySelectorAll('g.xtick text'))"
                          ".map(t => t.textContent), bold: Array.from(document.querySelectorAll("
                          "'g.xtick text tspan')).filter(t => t.style.fontWeight).length})")
    context.close()
    assert found["links"] == 0 and found["bold"] == 0, found
    assert found["ticks"].count(LINK) == 2 and found["ticks"].count(BOLD) == 2, found
    # in the executed notebook, the figure shown after importing cxlib is stored sanitised too
    (nb,) = [nb for nb in planted_run.notebooks if nb.name == "04_labels"]
    cells = [c for c in nbformat.read(nb.notebook_path, as_version=4).cells
             if c.cell_type == "code"]
    stored = json.dumps([o.get("data", {}).get(PLOTLY_MIME) for o in cells[-1].outputs])
    assert "&lt;a href" in stored and "<a " not in stored and "<b " not in stored


def test_index_page_is_clean(browser: Any, planted_run: RunResult) -> None:
    check = open_page(browser, planted_run.run_dir.parent / "index.html")
    assert_clean(check)
    assert "planted" in check.found["text"]


HOSTILE_UNIT = '<script>alert("unit")</script><img src=x onerror="alert(2)"> 店舗<b>B</b>'


def test_the_what_changed_panels_are_text(browser: Any, planted_run: RunResult,
                                          tmp_path: Path) -> None:
    """A flagged change of a unit whose label is a payload: the index's panel and a
    report's panel show it as text, and nothing of it runs."""
    from cxlib.report import alerts
    from cxlib.report.panel import change_text

    row = {"metric": "nps", "metric_label": "NPS", "unit_column": "store", "unit": HOSTILE_UNIT,
           "comparison": "last run r1", "period_before": "2025-11", "before": -3.0,
           "after": 20.0, "difference": 23.0, "ci_low": 9.0, "ci_high": 37.0,
           "n_before": 200, "n_after": 210, "n_eff_before": 190.2, "n_eff_after": 201.7,
           "q_value": 0.0004, "scale": "points", "level": 0.95}
    changes = {"status": "ok", "period": "2025-12", "tests": 40, "comparisons": ["last run r1"],
               "flagged": [row], "alerts": alerts.ALERTS, "notes": [HOSTILE_UNIT], "alpha": 0.05}
    index = tmp_path / "index.html"
    index.write_text(render.index_html([{"run_id": "r2", "status": "ok", "changes": changes}],
                                       latest="r2"), encoding="utf-8")
    page = tmp_path / "01_planted.html"
    shutil.copy(_page(planted_run, "01_planted"), page)
    assert alerts.mark_pages({"01_planted": page}, changes) == ["01_planted"]
    for path in (index, page):
        check = open_page(browser, path)
        assert_clean(check)
        (panel,) = check.found["changes"]
        assert HOSTILE_UNIT in panel and change_text(row) in panel, panel
        assert "effective 190 / 202" in panel
        assert check.found["changesMarkup"] == 0 and check.requests == []


# --- the notebooks of the project, on the sample data ---------------------------------------------


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    if not SAMPLE_NOTEBOOKS:
        pytest.skip("no notebooks/NN_*.ipynb yet")
    present = [p for p in SAMPLE_NOTEBOOKS if p.exists()]
    out = tmp_path_factory.mktemp("sample") / "reports"
    return run_report(present, out, run_id="sample", jobs=available_cores(), pdf=True)


def planted_verbatims() -> list[str]:
    path = ROOT / "data" / "sample" / "truth.json"
    if not path.exists():
        return []
    planted = json.loads(path.read_text(encoding="utf-8")).get("planted_text", {})
    return [v["text"] for k, v in planted.items() if k in {"script", "onerror"}]


@pytest.mark.parametrize("notebook", [p.stem for p in SAMPLE_NOTEBOOKS] or ["none"])
def test_sample_report_page_in_the_browser(
    browser: Any, sample_run: RunResult, notebook: str
) -> None:
    results = {nb.name: nb for nb in sample_run.notebooks}
    if notebook not in results:
        pytest.skip(f"{notebook} is not in this checkout")
    nb = results[notebook]
    assert nb.html_path is not None and nb.html_path.is_file()
    figures = expected_figures(nb.notebook_path) if nb.notebook_path else None
    check = open_page(browser, nb.html_path)
    assert_clean(check, figures=figures)
    headlines = render.headlines(nbformat.read(nb.notebook_path, as_version=4))
    assert check.found["summary"] == headlines[:render.MAX_HEADLINES]  # the summary box
    if notebook in SUMMARISED:
        assert 3 <= len(check.found["summary"]) <= 5, check.found["summary"]
    flagged = (sample_run.changes or {}).get("flagged", [])
    shown = [a for a in flagged if notebook[:2] in metric_notebooks(a["metric"])]
    assert len(check.found["changes"]) == (1 if shown else 0)  # the panel, where it belongs
    for a in shown:
        assert a["metric_label"] in check.found["changes"][0]
    for verbatim in planted_verbatims():  # a planted verbatim on the page is text, not markup
        marker = verbatim.split("> ", 1)[-1]  # the Japanese words after the tag
        if marker in check.found["text"]:
            assert check.alerts == []


def test_the_sample_index_says_what_changed(browser: Any, sample_run: RunResult) -> None:
    """The sample's own change (its emerging comment topic, truth.json) in the index's
    panel; it is flagged against the same month last year, the first run has no last run."""
    truth = json.loads((ROOT / "data" / "sample" / "truth.json").read_text(encoding="utf-8"))
    topic = truth["comments"]["emerging"]["topic"]
    check = open_page(browser, sample_run.run_dir.parent / "index.html")
    assert_clean(check)
    (panel,) = check.found["changes"]
    flagged = sample_run.changes["flagged"]
    assert [(a["metric"], a["comparison"]) for a in flagged] == [
        (f"topic:{topic}", "same month last year")]
    assert flagged[0]["metric_label"] in panel and "whole company" in panel
    assert "06" in {p[:2] for p in sample_run.changes["pages"]}


def test_sample_run_succeeded(sample_run: RunResult) -> None:
    failed = {nb.name: nb.error for nb in sample_run.notebooks if not nb.ok}
    assert failed == {}, sample_run.summary()


# --- pages a reviewer reads: tables, paths, PDF (issue 18) ------------------------------------


def _sample_pages(run: RunResult) -> list[Path]:
    pages = [nb.html_path for nb in run.notebooks if nb.html_path is not None]
    return pages + [run.run_dir.parent / "index.html"] + sorted(run.run_dir.glob("00_*.html"))


def test_sample_tables_read_well(sample_run: RunResult) -> None:
    """Every number in a rendered table: no scientific notation, thousands separated, and
    no pandas index column (every DataFrame went through cxlib.tables)."""
    from bs4 import BeautifulSoup

    numbers = 0
    for nb in sample_run.notebooks:
        soup = BeautifulSoup(nb.html_path.read_text(encoding="utf-8"), "html.parser")
        for table in soup.find_all("table", class_="dataframe"):
            assert "cx-table" in table["class"], f"{nb.name}: a table not formatted"
            first = table.find("tr").find(["th", "td"])
            assert first.get_text().strip(), f"{nb.name}: an unnamed (index) first column"
            for cell in table.find_all("td", class_="cx-num"):
                text = cell.get_text()
                numbers += 1
                assert not re.search(r"\d[eE][+-]?\d", text), f"{nb.name}: {text}"
                assert not re.search(r"\d{4}", text.split(".")[0]), f"{nb.name}: {text}"
    assert numbers > 100


def test_no_page_shows_a_path_of_the_machine(sample_run: RunResult) -> None:
    import sys
    import tempfile

    machine = [str(ROOT), sys.prefix, str(Path.home()) + "/", tempfile.gettempdir() + "/",
               "site-packages", "ipykernel_"]
    for page in _sample_pages(sample_run):
        body = page.read_text(encoding="utf-8").split("<body", 1)[-1]
        found = [p for p in machine if p in body]
        assert found == [], f"{page.name} shows {found}"


def test_sample_pages_print_to_pdf(browser: Any, sample_run: RunResult) -> None:
    """cx report --pdf: a PDF per page, with pages, its title and its summary in the text."""
    if not (shutil.which("pdftotext") and shutil.which("pdfinfo")):
        _unavailable("no pdftotext/pdfinfo (apt-get install poppler-utils; make browser)")
    import subprocess

    for nb in sample_run.notebooks:
        assert nb.pdf_path is not None and nb.pdf_path.is_file(), nb.name
        info = subprocess.run(["pdfinfo", str(nb.pdf_path)], capture_output=True, text=True,
                              check=True).stdout
        pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
        assert pages > 0
        text = subprocess.run(["pdftotext", str(nb.pdf_path), "-"], capture_output=True,
                              text=True, check=True).stdout
        assert nb.name in text and "Summary" in text, nb.name
    manifest = json.loads((sample_run.run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert all(n["pdf"] == f"{n['name']}.pdf" for n in manifest["notebooks"])
    if shutil.which("fc-list"):  # Japanese prints with a real font, not empty boxes
        fonts = subprocess.run(["fc-list", ":lang=ja"], capture_output=True, text=True).stdout
        assert fonts.strip(), "no Japanese font: apt-get install fonts-noto-cjk (make browser)"


@pytest.mark.parametrize("width", [800, 1280])
def test_sample_figures_read_at_their_size(
    browser: Any, sample_run: RunResult, width: int
) -> None:
    """Every figure of every sample page, drawn at a Lab-like and a wide window: the title
    neither cut nor over the plot, tick labels apart and never turned 90 degrees for more
    than 8 categories, point labels apart, axis titles inside; and, in the executed
    notebooks, hover labels with formatted numbers (figure_checks)."""
    import plotly.graph_objects as go

    from figure_checks import LAYOUT_JS, figure_problems, layout_problems

    problems: list[str] = []
    for nb in sample_run.notebooks:
        if nb.html_path is None or nb.notebook_path is None:
            continue
        url = nb.html_path.resolve().as_uri()
        context = browser.new_context(viewport={"width": width, "height": 900})
        context.route("**/*", lambda r: r.continue_() if r.request.url == url else r.abort())
        page = context.new_page()
        page.goto(url, wait_until="load", timeout=60_000)
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('div.plotly-graph-div'))"
            ".every(d => d.querySelector('svg.main-svg'))", timeout=30_000)
        problems += [f"{nb.name} at {width} px: {p}"
                     for found in page.evaluate(LAYOUT_JS) for p in layout_problems(found)]
        context.close()
        if width == 800:  # the JSON is the same at every width
            cells = nbformat.read(nb.notebook_path, as_version=4).cells
            problems += [f"{nb.name}: {p}" for c in cells for o in c.get("outputs", [])
                         if PLOTLY_MIME in (o.get("data") or {})
                         for p in figure_problems(go.Figure(o["data"][PLOTLY_MIME]))]
    assert problems == [], "\n".join(problems)


# --- one report per unit (cx report --per): the index and a unit's page -----------------------

from test_report_per_unit import (HOSTILE, MIN_N, STORES, TINY,  # noqa: E402
                                  UNIT_NOTEBOOK, company_dir)  # noqa: F401 (a fixture)

UNIT_PAGE_CELLS = [  # the unit beside the company, as a report notebook shows it
    "import cxlib\ntables = cxlib.open_data(source, engine, where={unit_column: unit})",
    "standing = cxlib.units.standing(tables, min_n=min_n, n_boot=200, seed=1)\n"
    "cxlib.finding(standing.headline(), headline=True)",
    "standing.summary()",
    "standing.plot().show()",
]
# the index as a reader sees it: each region's <details>, what its summary and list say
INDEX_UNITS = """
() => ({
  groups: Array.from(document.querySelectorAll(".cx-units details")).map(d => ({
    summary: d.querySelector("summary").innerText,
    units: Array.from(d.querySelectorAll("li.cx-unit")).map(li => li.innerText),
    links: Array.from(d.querySelectorAll("li.cx-unit a")).map(a => a.getAttribute("href")),
  })),
  small: (document.querySelector(".cx-units-small") || {}).innerText || "",
})
"""


@pytest.fixture(scope="module")
def unit_run(company_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    folder = tmp_path_factory.mktemp("per-browser")
    nb = write_notebook(folder / "10_unit.ipynb",
                        UNIT_NOTEBOOK.replace('"data"', f'"{company_dir}"'), UNIT_PAGE_CELLS)
    return run_report([nb], folder / "reports", per="store", jobs=2, run_id="stores",
                      parameters={"min_n": MIN_N}, profile=False)


def test_unit_index_groups_pages_by_region_and_lists_small_units(
        browser: Any, unit_run: RunResult) -> None:
    assert unit_run.ok, unit_run.summary()
    index = unit_run.run_dir.parent / "index.html"
    check = open_page(browser, index)
    assert_clean(check)
    context = browser.new_context(service_workers="block")
    context.add_init_script(RECORD_ALERTS)
    context.route("**/*", lambda r: r.continue_() if r.request.url == index.as_uri()
                  else r.abort())
    page = context.new_page()
    page.goto(index.as_uri(), wait_until="load")
    closed = page.evaluate("() => Array.from(document.querySelectorAll('.cx-units details'))"
                           ".every(d => !d.open)")
    for d in page.query_selector_all(".cx-units details"):  # a reader opens each region
        d.query_selector("summary").click()
    found = page.evaluate(INDEX_UNITS)
    visible = [li.is_visible() for li in page.query_selector_all("li.cx-unit")]
    alerts = page.evaluate("() => window.__cx_alerts")
    context.close()
    groups = {g["summary"].split(" (")[0]: g for g in found["groups"]}
    assert set(groups) == {f"region {r}" for r in STORES}
    for region, store in STORES.items():
        (line,) = groups[f"region {region}"]["units"]  # one store per region here
        assert line.startswith(store) and re.search(r"n = [\d,]+", line), line
        (href,) = groups[f"region {region}"]["links"]
        assert (index.parent / href).is_file()
    assert closed and visible and all(visible) and alerts == []
    assert TINY in found["small"] and re.search(rf"{TINY} \(n = \d+\)", found["small"])
    assert TINY not in " ".join(u for g in found["groups"] for u in g["units"])  # no page


def test_unit_page_opens_with_its_standing_and_no_label_runs(
        browser: Any, unit_run: RunResult) -> None:
    pages = {nb.parameters["unit"]: nb for nb in unit_run.notebooks}
    assert set(pages) == set(STORES.values())
    for store in ("Shinjuku", HOSTILE):  # a plain label and a hostile one
        check = open_page(browser, pages[store].html_path)
        assert_clean(check, figures=1)
        text = check.found["text"]
        assert store in text  # the label shown as text, in the title and the standing
        (summary,) = check.found["summary"]
        assert summary.startswith(f"{store}: NPS ") and "beside the whole company's" in summary
        assert re.search(rf"rank \d of {len(STORES)} store units \(95% interval \d to \d", summary)
        assert "whole company" in text
