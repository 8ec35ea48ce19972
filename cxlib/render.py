"""Render executed notebooks to self-contained HTML pages, and the run index.

Knows about notebooks, nbconvert and plotly, nothing about CX. Every string we
put into HTML ourselves goes through :func:`html.escape`.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import nbformat
from nbconvert import HTMLExporter
from nbconvert.preprocessors import Preprocessor

TEMPLATES_DIR = Path(__file__).parent / "templates"
TEMPLATE_NAME = "cx_report"
PLOTLY_MIME = "application/vnd.plotly.v1+json"


@dataclass(frozen=True)
class PageHeader:
    """What the header at the top of a report page says."""

    run_id: str
    notebook: str
    status: str
    started: str
    finished: str
    duration_s: float
    version: str
    commit: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None


def header_html(h: PageHeader) -> str:
    """The run header as an HTML fragment; every value escaped."""
    e = html.escape
    rows = [
        ("Run", e(h.run_id)),
        ("Status", f'<span class="cx-status-{e(h.status)}">{e(h.status)}</span>'),
        ("Started", e(h.started)),
        ("Finished", e(h.finished)),
        ("Duration", f"{h.duration_s:.1f} s"),
        ("cxlib", e(h.version)),
        ("Commit", e(h.commit or "unknown")),
    ]
    if h.error:
        rows.insert(2, ("Error", f'<code class="cx-status-failed">{e(h.error)}</code>'))
    params = "".join(
        f"<tr><th>{e(str(k))}</th><td><code>{e(repr(v))}</code></td></tr>"
        for k, v in h.parameters.items()
    )
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return (
        f'<header class="cx-header" id="cx-header">\n<h1>{e(h.notebook)}</h1>\n'
        f'<table class="cx-run">{body}</table>\n'
        f'<h2 style="font-size:1em;margin:0.6em 0 0.2em 0">Parameters</h2>\n'
        f'<table class="cx-parameters">{params or "<tr><td>none injected: notebook defaults</td></tr>"}</table>\n'
        "</header>\n"
    )


def figure_html(fig: Mapping[str, Any], div_id: str) -> str:
    """A plotly figure (its JSON dict) as a div + script that expects a global Plotly."""
    import plotly.io as pio

    spec = dict(fig)
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


def render_notebook(
    nb: nbformat.NotebookNode, header: PageHeader, show_code: bool = False
) -> str:
    """An executed notebook as one offline HTML page (the notebook is not modified)."""
    hide = not show_code
    exporter = HTMLExporter(
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(TEMPLATES_DIR)],
        exclude_input=hide,
        exclude_input_prompt=hide,
        exclude_output_prompt=hide,
    )
    exporter.register_preprocessor(PlotlyHTMLPreprocessor, enabled=True)
    resources = {
        "metadata": {"name": header.notebook},
        "cx": {"header_html": header_html(header), "plotlyjs": plotly_js(), "plotly_figures": 0},
    }
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return str(body)


def index_html(runs: Sequence[Mapping[str, Any]], latest: str | None = None) -> str:
    """The list of runs (manifest dicts, already sorted) as a standalone HTML page."""
    e = html.escape
    rows = []
    for run in runs:
        rid = str(run.get("run_id", "?"))
        status = str(run.get("status", "?"))
        links = []
        for nb in run.get("notebooks", []):
            name = e(str(nb.get("name", "?")))
            if nb.get("html"):
                href = e(quote(f"{rid}/{nb['html']}"))
                links.append(f'<a href="{href}">{name}</a> ({e(str(nb.get("status", "?")))})')
            else:
                links.append(f"{name} ({e(str(nb.get('status', '?')))})")
        mark = " <em>(latest)</em>" if rid == latest else ""
        rows.append(
            f'<tr><td><a href="{e(quote(rid))}/manifest.json">{e(rid)}</a>{mark}</td>'
            f'<td class="cx-status-{e(status)}">{e(status)}</td>'
            f"<td>{e(str(run.get('started', '')))}</td><td>{'<br>'.join(links)}</td></tr>"
        )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>Reports</title>\n<style>"
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}"
        ".cx-status-failed{color:#b42318;font-weight:bold}.cx-status-ok{color:#1a7f37}"
        "</style>\n</head>\n<body>\n<h1>Reports</h1>\n"
        "<table>\n<tr><th>Run</th><th>Status</th><th>Started</th><th>Notebooks</th></tr>\n"
        + "\n".join(rows)
        + "\n</table>\n</body>\n</html>\n"
    )
