"""Render executed notebooks to self-contained HTML pages, and the run index.

Knows about notebooks, nbconvert and plotly, nothing about CX. Every string we
put into HTML ourselves goes through :func:`html.escape`.
"""

from __future__ import annotations

import functools
import html
from html.parser import HTMLParser
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import nbformat
from nbconvert import HTMLExporter
from nbconvert.preprocessors import Preprocessor

from cxlib.report.job import Provenance

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"
TEMPLATE_NAME = "cx_report"
PLOTLY_MIME = "application/vnd.plotly.v1+json"


@dataclass(frozen=True)
class PageHeader:
    """What the header at the top of a report page says."""

    provenance: Provenance  # run, notebook, code version, parameters, inputs
    status: str
    started: str
    finished: str
    duration_s: float
    error: str | None = None
    attempts: int = 1


def header_html(h: PageHeader) -> str:
    """The run header as an HTML fragment; every value escaped."""
    e = html.escape
    p = h.provenance
    code = f"cxlib {e(p.version)} · commit {e(p.commit or 'unknown')}"
    if p.dirty:
        code += " <em>(with uncommitted changes)</em>"
    if p.notebook_sha256:
        code += f" · notebook sha256 <code>{e(p.notebook_sha256[:16])}</code>"
    rows = [
        ("Run", e(p.run_id)),
        ("Status", f'<span class="cx-status-{e(h.status)}">{e(h.status)}</span>'),
        ("Started", e(h.started)),
        ("Finished", e(h.finished)),
        ("Duration", f"{h.duration_s:.1f} s"),
        ("Code", code),
    ]
    if h.error:
        rows.insert(2, ("Error", f'<code class="cx-status-failed">{e(h.error)}</code>'))
    if h.attempts > 1:
        rows.insert(3, ("Attempts", str(int(h.attempts))))
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    banner = ""
    if h.status != "ok":
        banner = ('<p class="cx-banner">This notebook did not complete: the results below are '
                  "partial and must not be used.</p>\n")
    return (
        f'<header class="cx-header" id="cx-header">\n<h1>{e(p.notebook)}</h1>\n{banner}'
        f'<table class="cx-run">{body}</table>\n'
        f"<h2>Parameters</h2>\n{_parameters_table(p)}\n"
        f"<h2>Data</h2>\n{_inputs_table(p.inputs)}\n"
        "</header>\n"
    )


def _parameters_table(h: Provenance) -> str:
    e = html.escape
    declared = {str(d["name"]): d for d in h.declared}
    names = list(declared) + [k for k in h.parameters if k not in declared]
    if not names:
        return '<table class="cx-parameters"><tr><td>this notebook declares none</td></tr></table>'
    rows = ["<tr><th>name</th><th>value</th><th>from</th><th>type</th><th>default</th>"
            "<th>meaning</th></tr>"]
    for name in names:
        d = declared.get(name, {})
        injected = name in h.parameters
        value = literal(h.parameters[name]) if injected else str(d.get("default", ""))
        rows.append(
            f"<tr><th>{e(name)}</th><td><code>{e(value)}</code></td>"
            f"<td>{'given' if injected else 'default'}</td><td>{e(str(d.get('type', '')))}</td>"
            f"<td><code>{e(str(d.get('default', '')))}</code></td>"
            f"<td>{e(str(d.get('help', '')))}</td></tr>"
        )
    return f'<table class="cx-parameters">{"".join(rows)}</table>'


def literal(value: Any) -> str:
    """A value as the Python literal papermill injects, strings in double quotes."""
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _inputs_table(inputs: Sequence[Mapping[str, Any]]) -> str:
    e = html.escape
    if not inputs:
        return '<p class="cx-inputs">No parameter names an input file or folder.</p>'
    rows = ["<tr><th>parameter</th><th>path</th><th>sha256</th><th>files (rows)</th></tr>"]
    for item in inputs:
        files = ", ".join(
            e(str(f["name"])) + (f" ({int(f['rows']):,})" if f.get("rows") is not None else "")
            for f in item.get("files", [])
        ) or e(str(item.get("note", "")))
        digest = item.get("sha256")
        rows.append(
            f"<tr><th>{e(str(item.get('parameter', '')))}</th>"
            f"<td><code>{e(str(item.get('path', '')))}</code></td>"
            f"<td><code>{e(str(digest)[:16]) if digest else 'n/a'}</code></td>"
            f"<td>{files}</td></tr>"
        )
    return f'<table class="cx-inputs">{"".join(rows)}</table>'


class _Headings(HTMLParser):
    """Collects (level, id, text) of h1-h3 that carry nbconvert's anchor link (markdown cells)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str, str]] = []
        self._open: tuple[int, str] | None = None
        self._text: list[str] = []
        self._anchor = False
        self._has_anchor = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in {"h1", "h2", "h3"} and a.get("id") and self._open is None:
            self._open, self._text, self._has_anchor = (int(tag[1]), str(a["id"])), [], False
        elif tag == "a" and self._open and "anchor-link" in (a.get("class") or ""):
            self._anchor = self._has_anchor = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._anchor:
            self._anchor = False
        elif self._open and tag == f"h{self._open[0]}":
            if self._has_anchor:
                text = " ".join("".join(self._text).split())
                self.found.append((self._open[0], self._open[1], text))
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open and not self._anchor:
            self._text.append(data)


TOC_MARK = "<!-- cx-toc -->"


def toc_html(page: str) -> str:
    """A table of contents of the page's markdown headings (h1-h3), escaped; "" when none."""
    parser = _Headings()
    parser.feed(page)
    if not parser.found:
        return ""
    top = min(level for level, _, _ in parser.found)
    items = "".join(
        f'<li class="cx-toc-{level - top}">'
        f'<a href="#{html.escape(anchor)}">{html.escape(text)}</a></li>'
        for level, anchor, text in parser.found
    )
    return f'<nav class="cx-toc" id="cx-toc"><h2>Contents</h2><ul>{items}</ul></nav>\n'


def figure_html(fig: Mapping[str, Any], div_id: str) -> str:
    """A plotly figure (its JSON dict) as a div + script that expects a global Plotly.

    Text in the figure goes through :func:`cxlib.plots.sanitize_figure` first: a label from
    the data such as ``<a href=...>`` shows as text, whoever made the figure.
    """
    import plotly.io as pio

    from cxlib.plots import sanitize_figure

    spec = sanitize_figure(fig)  # labels from data are text, never markup
    config = spec.pop("config", None)
    return pio.to_html(
        spec,
        config=config,
        include_plotlyjs=False,
        full_html=False,
        div_id=div_id,
        default_width="100%",
        default_height=525,  # what plotly's own notebook renderer uses
        validate=False,
    )


@functools.lru_cache(maxsize=1)
def plotly_js() -> str:
    """The plotly.js bundle shipped with the installed plotly (~4.8 MB)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


class PlotlyHTMLPreprocessor(Preprocessor):  # type: ignore[misc]
    """Give every plotly JSON output a ``text/html`` rendering nbconvert can show.

    A papermill kernel renders figures as ``application/vnd.plotly.v1+json`` only,
    which nbconvert's HTML templates drop silently. Any existing ``text/html`` on
    such an output (the ``notebook`` renderer's, with its own plotly.js) is replaced.
    Div ids derive from cell and output index, so pages are reproducible.
    """

    def preprocess_cell(
        self, cell: Any, resources: dict[str, Any], index: int
    ) -> tuple[Any, dict[str, Any]]:
        for j, output in enumerate(cell.get("outputs", [])):
            data = output.get("data") or {}
            if PLOTLY_MIME in data:
                data["text/html"] = figure_html(data[PLOTLY_MIME], f"cx-plot-{index}-{j}")
                cx = resources.setdefault("cx", {})
                cx["plotly_figures"] = cx.get("plotly_figures", 0) + 1
        return cell, resources


@functools.lru_cache(maxsize=2)
def _exporter(show_code: bool) -> HTMLExporter:
    """The page exporter, made once per process (a batch renders many pages: its templates
    are compiled once, not per page)."""
    hide = not show_code
    exporter = HTMLExporter(
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(TEMPLATES_DIR)],
        exclude_input=hide,
        exclude_input_prompt=hide,
        exclude_output_prompt=hide,
    )
    exporter.register_preprocessor(PlotlyHTMLPreprocessor, enabled=True)
    return exporter


def render_notebook(
    nb: nbformat.NotebookNode, header: PageHeader, show_code: bool = False
) -> str:
    """An executed notebook as one offline HTML page (the notebook is not modified)."""
    exporter = _exporter(show_code)
    resources = {
        "metadata": {"name": header.provenance.notebook},
        "cx": {"header_html": header_html(header), "plotlyjs": PLOTLYJS_MARK, "plotly_figures": 0},
    }
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    page = str(body)
    page = page.replace(TOC_MARK, toc_html(page), 1)
    page = page.replace(SUMMARY_MARK, summary_html(headlines(nb)), 1)  # pages (issue 18)
    page = scrub_paths(page)  # pages (issue 18): no path of this machine on a page
    return page.replace(PLOTLYJS_MARK, plotly_js(), 1)


# --- pages (issue 18): summary of findings, no machine paths ------------------------------------

SUMMARY_MARK = "<!-- cx-summary -->"
PLOTLYJS_MARK = "<!-- cx-plotlyjs -->"  # in <head>, before any data: the first one is ours
MAX_HEADLINES = 5


def headlines(nb: nbformat.NotebookNode) -> list[str]:
    """The plain text of the notebook's headline findings (outputs whose metadata says
    ``{"cx": {"headline": true}}``, see :mod:`cxlib.findings`), in page order."""
    found = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            meta = (output.get("metadata") or {}).get("cx") or {}
            text = (output.get("data") or {}).get("text/plain")
            if meta.get("headline") and text:
                found.append(" ".join(str("".join(text) if isinstance(text, list) else text)
                                      .split()))
    return found


def summary_html(findings: Sequence[str]) -> str:
    """The "Summary" box of a page: the first :data:`MAX_HEADLINES` findings, escaped;
    "" when there are none."""
    if not findings:
        return ""
    items = "".join(f"<li>{html.escape(text)}</li>" for text in findings[:MAX_HEADLINES])
    return (f'<section class="cx-summary" id="cx-summary"><h2>Summary</h2>'
            f"<ul>{items}</ul></section>\n")


def _machine_paths() -> list[tuple[str, str]]:
    """(path, shown as) for the folders of this machine a page must not show, longest first:
    the project folder (paths inside it show relative), Python's prefixes, the home."""
    import sys
    import tempfile

    root = Path(__file__).resolve().parents[2]
    pairs = {str(root): ".", sys.prefix: "[python]", sys.base_prefix: "[python]", sys.exec_prefix: "[python]",
             str(Path.home()): "~", tempfile.gettempdir(): "[temporary folder]"}
    pairs = {k: v for k, v in pairs.items() if len(k) > 1}  # never "/" itself
    return sorted(pairs.items(), key=lambda kv: -len(kv[0]))


def scrub_paths(text: str) -> str:
    """``text`` without filesystem paths of this machine: a path inside the project shows
    relative to it (``data/sample``), Python's own as ``[python]/...``, the home as ``~``,
    temporary files as ``[temporary folder]/...`` (brackets, not angle brackets: the text
    lands in HTML and in the JSON of figures, and must read the same in both)."""
    import re

    for path, shown in _machine_paths():
        pattern = re.compile(r"(?<![\w.-])" + re.escape(path) + r"(?=[/\\]|\b|$)")
        if shown == ".":
            text = re.sub(pattern.pattern + r"[/\\]", "", text)
            text = pattern.sub(".", text)
        else:
            text = pattern.sub(shown, text)
    return text


# --- end pages ----------------------------------------------------------------------------------


PAGE_STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:90em}table{border-collapse:collapse}"
    "td,th{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}"
    ".cx-status-failed,.cx-status-invalid{color:#b42318;font-weight:bold}"
    ".cx-status-ok{color:#1a7f37}"
    ".cx-error{white-space:pre-wrap;margin:.2em 0 .6em 1em;font-size:.9em}"
    ".cx-header{margin:0 0 1.5em 0;padding:.8em 1em;border:1px solid #d0d7de;"
    "border-radius:6px;background:#f6f8fa}.cx-header h1{font-size:1.3em;margin:0 0 .5em 0}"
    ".cx-header th{color:#57606a}"
)


def standalone_page(title: str, header: Sequence[tuple[str, str]], body: str) -> str:
    """An offline page in the style of the index: ``title`` (text), a header table of
    (label, text) rows and ``body``, an HTML fragment the caller has escaped. Loads nothing."""
    e = html.escape
    rows = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in header)
    return scrub_paths(
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{e(title)}</title>\n<style>{PAGE_STYLE}</style>\n</head>\n<body>\n"
        f'<header class="cx-header" id="cx-header">\n<h1>{e(title)}</h1>\n'
        f'<table class="cx-run">{rows}</table>\n</header>\n{body}\n</body>\n</html>\n'
    )  # pages (issue 18): no path of this machine


def _pages_cell(rid: str, pages: Sequence[Mapping[str, Any]]) -> str:
    """Links to a run's extra pages (manifest ``data_profiles``), status and whole error."""
    e = html.escape
    out = []
    for item in pages:
        status = str(item.get("status", "?"))
        mark = f'<span class="cx-status-{e(status)}">{e(status)}</span>'
        label = e(str(item.get("title") or "data profile"))
        page = item.get("page")
        href = e(quote(f"{rid}/{page}"))
        link = (f'<a class="cx-data-profile" href="{href}">{label}</a> ({mark})' if page
                else f"{label} ({mark})")
        message = item.get("error") or item.get("note")
        if message:
            link += f'<pre class="cx-error">{e(str(message))}</pre>'
        out.append(link)
    return "<br>".join(out)


def index_html(runs: Sequence[Mapping[str, Any]], latest: str | None = None) -> str:
    """The list of runs (manifest dicts, already sorted) as a standalone HTML page."""
    e = html.escape
    rows = []
    for run in runs:
        rid = str(run.get("run_id", "?"))
        status = str(run.get("status", "?"))
        links = []
        per = run.get("units")  # one report per unit: grouped by cxlib.report.per_unit
        for nb in run.get("notebooks", []):
            if per and nb.get("unit"):
                continue
            name = e(str(nb.get("name", "?")))
            nb_status = str(nb.get("status", "?"))
            mark = f'<span class="cx-status-{e(nb_status)}">{e(nb_status)}</span>'
            if nb.get("html"):
                href = e(quote(f"{rid}/{nb['html']}"))
                link = f'<a href="{href}">{name}</a> ({mark})'
            else:
                link = f"{name} ({mark})"
            if nb.get("pdf"):  # cx report --pdf
                pdf_href = e(quote(f"{rid}/{nb['pdf']}"))
                link += f' <a class="cx-pdf" href="{pdf_href}">PDF</a>'
            if nb.get("error"):  # the whole message, as the manifest has it
                link += f'<pre class="cx-error">{e(str(nb["error"]))}</pre>'
            links.append(link)
        if per:
            from cxlib.report.per_unit import index_cell

            links.append(index_cell(rid, run))
        flag = " <em>(latest)</em>" if rid == latest else ""
        rows.append(
            f'<tr><td><a href="{e(quote(rid))}/manifest.json">{e(rid)}</a>{flag}</td>'
            f'<td class="cx-status-{e(status)}">{e(status)}</td>'
            f"<td>{e(str(run.get('started', '')))}</td><td>{e(_duration(run))}</td>"
            f"<td>{_pages_cell(rid, run.get('data_profiles') or [])}</td>"
            f"<td>{'<br>'.join(links)}</td></tr>"
        )
    latest_link = (f'<p>Latest good run: <a href="latest/">{e(latest)}</a></p>\n'
                   if latest else "<p>No run has succeeded yet.</p>\n")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>Reports</title>\n<style>{PAGE_STYLE}</style>\n</head>\n<body>\n"
        "<h1>Reports</h1>\n" + _changes_panel(runs, latest) + latest_link
        + "<table>\n<tr><th>Run</th><th>Status</th><th>Started</th><th>Duration</th>"
        "<th>Data</th><th>Notebooks</th></tr>\n"
        + scrub_paths("\n".join(rows))
        + "\n</table>\n</body>\n</html>\n"
    )


def _changes_panel(runs: Sequence[Mapping[str, Any]], latest: str | None) -> str:
    """The "What changed" panel of the latest good run (:mod:`cxlib.report.panel`)."""
    from cxlib.report.panel import changes_panel

    run = next((r for r in runs if latest is not None and r.get("run_id") == latest), None)
    return changes_panel(run.get("changes"), latest, f"{latest}/") if run and latest else ""


def _duration(run: Mapping[str, Any]) -> str:
    from datetime import datetime

    try:
        start = datetime.fromisoformat(str(run["started"]))
        end = datetime.fromisoformat(str(run["finished"]))
    except (KeyError, ValueError):
        return ""
    return f"{(end - start).total_seconds():.0f} s"
