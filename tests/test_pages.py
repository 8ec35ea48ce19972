"""Pages a reviewer reads (issue 18): findings as prose and a summary, readable tables,
warnings in words, no machine path on a page, PDF output's clear message without Chromium."""

from __future__ import annotations

import re
import sys
import tempfile
import warnings
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup
from nbformat.v4 import new_code_cell, new_notebook, new_output

from cxlib import display, findings, tables
from cxlib.report import pdf, render, run_report

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> 東京店'


def cells(html_text: str) -> list[list[str]]:
    """Header row then body rows of the first table, as the reader sees them."""
    table = BeautifulSoup(html_text, "html.parser").find("table")
    return [[c.get_text() for c in tr.find_all(["th", "td"])] for tr in table.find_all("tr")]


# --- findings -----------------------------------------------------------------------------------


def test_a_finding_is_escaped_prose_marked_for_the_summary() -> None:
    found = findings.Finding(f"NPS is lowest at {HOSTILE} (+3.0, CI -1.0 to +7.0, n = 1,234).",
                             headline=True)
    data, meta = found._repr_mimebundle_()
    assert meta == {"cx": {"finding": True, "headline": True}}
    soup = BeautifulSoup(data["text/html"], "html.parser")
    assert soup.find("script") is None and soup.find("img") is None  # data never markup
    assert soup.p.get_text() == data["text/plain"] == found.text
    assert "cx-headline" in soup.p["class"]


def test_a_finding_outside_a_notebook_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    assert findings.finding("A", "  two\nlines ", headline=True) is None
    assert capsys.readouterr().out == "A two lines\n"


def _finding_output(text: str, headline: bool) -> nbformat.NotebookNode:
    data, meta = findings.Finding(text, headline)._repr_mimebundle_()
    return new_output("display_data", data=data, metadata=meta)


def test_the_summary_lists_headline_findings_in_order_escaped() -> None:
    nb = new_notebook()
    texts = [f"finding {i} {HOSTILE}" for i in range(7)]
    nb.cells = [new_code_cell("x", outputs=[_finding_output(t, headline=i != 1)])
                for i, t in enumerate(texts)]
    nb.cells.append(new_code_cell("y", outputs=[new_output("stream", name="stdout", text="no")]))
    assert render.headlines(nb) == [t for i, t in enumerate(texts) if i != 1]
    box = BeautifulSoup(render.summary_html(render.headlines(nb)), "html.parser")
    items = [li.get_text() for li in box.find_all("li")]
    assert items == [texts[0], *texts[2:6]]  # at most five, the first ones
    assert box.find("script") is None and box.find("img") is None
    assert render.summary_html([]) == ""


# --- tables -------------------------------------------------------------------------------------


def test_tables_have_readable_formats_per_column() -> None:
    frame = pd.DataFrame({
        "store": [HOSTILE, "b", "c"],
        "n": [1_234_567, 12, 0],
        "share": [0.0573, 0.5, np.nan],
        "ci_low": [0.05, 0.45, np.nan],  # a bound takes its estimate's format
        "p_value": [0.00001, 0.2, 0.04567],
        "revenue_change": [912153.4975, 1.5e7, -0.2],
        "tiny": [5.73e-05, 0.0001, 0.0],
        "nps": [12.34, -0.0001, 3.0],
        "significant": [True, False, True],
    }, index=[7, 3, 5])  # a default-like integer index: not shown
    rows = cells(tables.to_html(frame))
    assert rows[0] == ["store", "n", "share", "ci_low", "p_value", "revenue_change", "tiny", "nps",
                       "significant"]
    assert rows[1] == [HOSTILE, "1,234,567", "5.7%", "5.0%", "<0.001", "912,153", "0.000057",
                       "12.34", "yes"]
    assert rows[2] == ["b", "12", "50.0%", "45.0%", "0.200", "15,000,000", "0.000100", "0.00",
                       "no"]
    assert rows[3] == ["c", "0", "–", "–", "0.046", "0", "0.000000", "3.00", "yes"]
    text = tables.to_html(frame)
    assert "<script" not in text and "<img" not in text and not re.search(r"\de[+-]\d", text)


def test_declared_formats_units_and_a_named_index() -> None:
    frame = pd.DataFrame({"value": [1234.5, 2.25], "rate": [12.5, 3.0]},
                         index=pd.Index(["Kanto", "Kansai"], name="region"))
    frame.attrs["formats"] = {"value": "money", "rate": "number:1"}
    frame.attrs["units"] = {"value": "JPY", "rate": "%"}
    rows = cells(tables.to_html(frame))
    assert rows == [["region", "value (JPY)", "rate (%)"], ["Kanto", "1,234", "12.5"],
                    ["Kansai", "2", "3.0"]]


def test_long_tables_are_cut_with_their_size() -> None:
    frame = pd.DataFrame({"n": range(100)})
    text = tables.to_html(frame, max_rows=20)
    assert "100 rows × 1 columns" in text and "…" in text
    assert len(cells(text)) < 20


def test_dataframes_and_warnings_in_an_ipython_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    from IPython.core.formatters import HTMLFormatter

    class Shell:
        class display_formatter:  # noqa: N801 - the attribute IPython's shell has
            formatters = {"text/html": HTMLFormatter()}

    monkeypatch.setattr(warnings, "formatwarning", warnings.formatwarning)
    assert display.install(Shell)
    html_text = Shell.display_formatter.formatters["text/html"](pd.DataFrame({"x": [1e-7]}))
    assert 'class="dataframe cx-table"' in html_text and "e-07" not in html_text
    message = warnings.formatwarning("something happened", UserWarning,
                                     "/work/x/cxlib/pilot/_decision.py", 153, "code line")
    assert message == "Warning: something happened\n"


# --- no machine path on a page ------------------------------------------------------------------


def test_paths_of_this_machine_are_scrubbed() -> None:
    home, tmp = str(Path.home()), tempfile.gettempdir()
    text = (f"{ROOT}/data/sample and {sys.prefix}/lib/x.py:3 and {home}/notes.txt and "
            f"{tmp}/ipykernel_1/2.py:1; https://example.com/a/b stays; {ROOT}")
    out = render.scrub_paths(text)
    for path in (str(ROOT), sys.prefix, home, tmp):
        assert path + "/" not in out
    assert out.startswith("data/sample and [python]/lib/x.py:3 and ")
    assert "[temporary folder]/ipykernel_1/2.py:1" in out
    assert "https://example.com/a/b stays" in out and out.endswith("; .")


# --- a report page, end to end ------------------------------------------------------------------

PAGE_CELLS = [
    "import warnings\nimport pandas as pd\nimport cxlib",
    f"cxlib.finding('Headline with', {HOSTILE!r}, '(CI 1 to 2, n = 10).', headline=True)\n"
    "cxlib.finding('A finding that is not a headline.')",
    "pd.DataFrame({'store': ['a', 'b'], 'n': [1234567, 12], 'share': [0.0573, 0.5], "
    "'p_value': [1e-6, 0.2], 'revenue': [912153.4975, 1.5e7], 'x': [5.73e-05, 1e-4]})",
    "import cxlib.pilot._decision as d\n"
    "warnings.warn_explicit('something happened', UserWarning, d.__file__, 153)",
    "print(d.__file__)",
]


def write_notebook(path: Path, sources: list[str]) -> Path:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "P3"}
    first = new_code_cell('title: str = "t"  # a title')
    first.metadata["tags"] = ["parameters"]
    nb.cells = [first, *[new_code_cell(s) for s in sources]]
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("pages")
    said: list[str] = []
    with pytest.MonkeyPatch.context() as mp:  # --pdf on a machine without Chromium
        mp.setattr(pdf, "chromium", lambda: None)
        expected = pdf.unavailable()
        run = run_report([write_notebook(folder / "01_page.ipynb", PAGE_CELLS)],
                         folder / "reports", run_id="pages", jobs=1, pdf=True,
                         progress=said.append)
    assert run.ok, run.summary()  # the HTML run succeeds, with one line saying why no PDF
    assert [s for s in said if s.startswith("PDF skipped")] == [expected]
    assert run.notebooks[0].pdf_path is None and not list(run.run_dir.glob("*.pdf"))
    return run.notebooks[0].html_path.read_text(encoding="utf-8")


def test_the_page_opens_with_its_summary(page: str) -> None:
    soup = BeautifulSoup(page, "html.parser")
    box = soup.find(id="cx-summary")
    assert box is not None and box.find_previous(id="cx-header") is not None
    assert [li.get_text() for li in box.find_all("li")] == [
        f"Headline with {HOSTILE} (CI 1 to 2, n = 10)."]
    prose = [p.get_text() for p in soup.select("p.cx-finding")]
    assert prose[1] == "A finding that is not a headline."
    assert not soup.find_all("script", string=re.compile("alert"))


def test_the_page_tables_read_well(page: str) -> None:
    rows = cells(page[page.index('<table class="dataframe'):])
    assert rows == [["store", "n", "share", "p_value", "revenue", "x"],
                    ["a", "1,234,567", "5.7%", "<0.001", "912,153", "0.000057"],
                    ["b", "12", "50.0%", "0.200", "15,000,000", "0.000100"]]


def test_the_page_says_warnings_in_words_and_shows_no_machine_path(page: str) -> None:
    text = BeautifulSoup(page, "html.parser").get_text()
    assert "Warning: something happened" in text and "_decision.py:153" not in text
    assert "cxlib/pilot/_decision.py" in text  # the printed path, shown relative to the project
    head, body = page.split("<body", 1)
    for path in (str(ROOT), sys.prefix, str(Path.home()), tempfile.gettempdir() + "/"):
        assert path not in body, path


def test_pdf_without_chromium_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CX_CHROMIUM", "")
    monkeypatch.setattr(pdf.shutil, "which", lambda name: None)
    assert pdf.chromium() is None
    why = pdf.unavailable()
    assert why is not None and why.startswith("PDF skipped: ") and "\n" not in why


def test_tables_show_display_names_and_keep_the_values(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = pd.DataFrame({"organisation": ["web", "stores", "<b>x</b>"], "n": [1, 2, 3]})
    monkeypatch.setattr(display, "LABELS", {})
    display.use_labels({"organisations": {"web": "ウェブ", "<b>x</b>": "<i>y</i>"},
                        "touchpoints": {}})
    rows = cells(display.dataframe_html(frame))
    assert [r[0] for r in rows] == ["organisation", "ウェブ", "stores", "<i>y</i>"]
    assert "<i>" not in display.dataframe_html(frame)  # escaped, display names are data too
    assert frame["organisation"].tolist() == ["web", "stores", "<b>x</b>"]  # keys unchanged


def test_a_long_table_of_mixed_units_keeps_every_value_readable() -> None:
    frame = pd.DataFrame({"quantity": ["score change", "retention", "annual revenue"],
                          "estimate": [0.0004321, 0.0497, 5318084.2], "ci_low": [0.0002, 0.033,
                                                                                4144924.0]})
    rows = cells(tables.to_html(frame))
    assert [r[1:] for r in rows[1:]] == [["0.000432", "0.000200"], ["0.0497", "0.0330"],
                                         ["5,318,084", "4,144,924"]]
