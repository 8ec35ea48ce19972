"""Checks that a plotly figure reads at its size: used on factory figures and on report pages.

* :func:`hover_texts` writes every hover label the way plotly does (a hovertemplate's
  ``%{x:,.2f}`` fields read by Python's ``format``, which agrees with d3 on the fixed,
  percent and separator formats cxlib uses), so a test can read the numbers a reader sees;
* :func:`figure_problems` lists what a reader would stumble on in the figure's JSON;
* :data:`LAYOUT_JS` measures a drawn figure in the browser (title, plot areas, tick labels,
  axis titles, point labels) for :func:`layout_problems`.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import numpy as np
import plotly.graph_objects as go

from cxlib import plots

FIELD = re.compile(r"%\{([^}:|]+)(?::([^}|]*))?(\|[^}]*)?\}")
DECIMALS = re.compile(r"\d\.(\d+)")
TAG = re.compile(r"<[^<>]*>")


def array(values: Any) -> np.ndarray:
    """Trace data as an array (plotly 6+ stores numbers as base64 ``bdata`` in JSON)."""
    if isinstance(values, dict) and "bdata" in values:
        data = np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
        shape = values.get("shape")
        if shape is not None:
            data = data.reshape([int(n) for n in str(shape).split(",")])
        return data
    return np.asarray(values, dtype=object)


def _column(trace: Any, name: str) -> Any:
    if name.startswith("customdata"):
        data = array(trace.customdata)
        k = re.fullmatch(r"customdata\[(\d+)\]", name)
        return data if k is None else data[:, int(k.group(1))]
    if name == "fullData.name":
        return None
    return getattr(trace, name)


def _written(value: Any, fmt: str | None, date: bool) -> str:
    if date:
        return str(value)[:10]
    if value is None:
        return str(value)
    if fmt:
        return format(float(value), fmt) if fmt[-1] in "f%eg" else format(value, fmt)
    return str(value)


def hover_texts(fig: go.Figure) -> list[str]:
    """Every hover label of ``fig`` (traces with hover turned off are left out); a trace that
    relies on plotly's default hover, which writes raw floats, raises AssertionError."""
    out = []
    for trace in fig.data:
        if trace.hoverinfo in ("skip", "none"):
            continue
        if trace.hoverinfo == "text":
            out += [str(t) for t in np.ravel(np.asarray(trace.hovertext if trace.hovertext
                                                        is not None else trace.text, dtype=object))]
            continue
        template = trace.hovertemplate
        assert template, (f"{trace.type} trace {trace.name!r} uses plotly's default hover, "
                          "which shows raw floats: give it a hovertemplate (cxlib.plots.style)")
        if trace.type == "heatmap":
            z = array(trace.z)
            cells = [(i, j) for i in range(z.shape[0]) for j in range(z.shape[1])]
            columns = {"x": lambda i, j: trace.x[j] if trace.x is not None else j,
                       "y": lambda i, j: trace.y[i] if trace.y is not None else i,
                       "z": lambda i, j: z[i, j]}
        else:
            n = len(array(trace.x if trace.x is not None else trace.y))
            cells = [(i, None) for i in range(n)]
            columns = {}
        for i, j in cells:
            def field(m: re.Match[str]) -> str:
                name, fmt, date = m.group(1), m.group(2), m.group(3)
                if name in columns:
                    value = columns[name](i, j)
                else:
                    values = _column(trace, name)
                    if values is None:
                        return str(trace.name)
                    values = np.ravel(array(values)) if not isinstance(values, str) else [values]
                    value = values[i] if len(values) > 1 else values[0]
                return _written(value, fmt, bool(date))
            text = re.sub(r"<extra>.*?</extra>", "", FIELD.sub(field, template))
            out.append(TAG.sub(" ", text).strip())
    return out


def figure_problems(fig: go.Figure, max_decimals: int = plots.MAX_DECIMALS) -> list[str]:
    """What a reader of ``fig`` would stumble on, read from its JSON: an unwrapped title,
    a title not kept clear of the plot, hover numbers with more than ``max_decimals``
    decimals or from plotly's default hover, and a category axis with more than 8 labels
    turned 90 degrees."""
    problems = []
    title = fig.layout.title
    if title.text:
        lines = re.split(r"<br\s*/?>", title.text)
        if max(plots._visible(line) for line in lines) > plots.TITLE_CHARS + 12:
            problems.append(f"title line longer than {plots.TITLE_CHARS} characters: "
                            f"{title.text!r}")
        if not (title.yref == "paper" and title.yanchor == "bottom" and (fig.layout.margin.t or 0)
                >= plots.title_margin(len(lines))):
            problems.append(f"title without a top margin that holds it: {title.text!r}")
    try:
        texts = hover_texts(fig)
    except AssertionError as e:
        problems.append(str(e))
        texts = []
    for text in texts:
        long = [d for d in DECIMALS.findall(text) if len(d) > max_decimals]
        if long:
            problems.append(f"hover shows {max(map(len, long))} decimals: {text!r}")
            break
    for key in [k for k in fig.layout.to_plotly_json() if k.startswith("xaxis")]:
        axis = fig.layout[key]
        categories = {str(v) for t in fig.data if (t.xaxis or "x") == key.replace("axis", "")
                      and t.x is not None and array(t.x).dtype.kind in "OUS" for v in array(t.x)}
        if len(categories) > 8 and axis.tickangle in (90, -90):
            problems.append(f"{key}: {len(categories)} category labels turned 90 degrees")
    return problems


# Measured in the browser, per figure: boxes of the title, plot areas, tick labels (by axis),
# axis titles, annotations, legend and point labels; tick labels turned 90 degrees.
LAYOUT_JS = """
() => Array.from(document.querySelectorAll("div.plotly-graph-div")).map(div => {
  const box = e => { const r = e.getBoundingClientRect();
                     return [r.left, r.top, r.right, r.bottom]; };
  const visible = e => { const r = e.getBoundingClientRect();
                         return r.width > 0 && r.height > 0 && e.textContent.trim() !== ""; };
  const all = sel => Array.from(div.querySelectorAll(sel)).filter(visible);
  const title = div.querySelector(".g-gtitle text");
  const axes = Array.from(div.querySelectorAll("g.xaxislayer-above, g.yaxislayer-above"))
    .map(g => { const t = Array.from(g.querySelectorAll("text")).filter(visible);
                return {boxes: t.map(box), turned: t.filter(
                  e => /rotate\\(-?90/.test(e.getAttribute("transform") || "")).length}; });
  return {
    name: title ? title.textContent : "(no title)",
    svg: box(div.querySelector("svg.main-svg")),
    title: title && visible(title) ? box(title) : null,
    areas: Array.from(div.querySelectorAll(".draglayer .nsewdrag")).map(box),
    axes: axes,
    axisTitles: all("g[class^='g-x'][class$='title'] text, g[class^='g-y'][class$='title'] text")
      .map(box),
    annotations: all("g.annotation text").map(box),
    legend: Array.from(div.querySelectorAll("g.legend")).map(box),
    points: all("g.textpoint text").map(box),
  };
})
"""


def _overlap(a: list[float], b: list[float], slack: float = 1.0) -> bool:
    return (a[0] + slack < b[2] and b[0] + slack < a[2]
            and a[1] + slack < b[3] and b[1] + slack < a[3])


def layout_problems(found: dict[str, Any]) -> list[str]:
    """Problems in one figure measured by :data:`LAYOUT_JS`: a title cut at the figure's
    edge or over the plot, its ticks, axis titles, annotations or legend; tick labels of one
    axis over each other; more than 8 tick labels turned 90 degrees; point labels over each
    other; an axis title cut at the figure's edge."""
    name, svg, problems = found["name"], found["svg"], []
    title = found["title"]
    if title:
        if title[0] < svg[0] - 1 or title[2] > svg[2] + 1 or title[1] < svg[1] - 1:
            problems.append(f"{name!r}: title cut at the figure's edge")
        ticks = [b for axis in found["axes"] for b in axis["boxes"]]
        for what in ("areas", "axisTitles", "annotations", "legend"):
            if any(_overlap(title, b) for b in found[what]):
                problems.append(f"{name!r}: title runs into the {what}")
        if any(_overlap(title, b) for b in ticks):
            problems.append(f"{name!r}: title runs into tick labels")
    for axis in found["axes"]:
        boxes = axis["boxes"]
        if any(_overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:]):
            problems.append(f"{name!r}: tick labels collide")
        if axis["turned"] and len(boxes) > 8:
            problems.append(f"{name!r}: {len(boxes)} tick labels turned 90 degrees")
    points = found["points"]
    if any(_overlap(a, b) for i, a in enumerate(points) for b in points[i + 1:]):
        problems.append(f"{name!r}: point labels overlap")
    for b in found["axisTitles"]:
        if b[0] < svg[0] - 1 or b[1] < svg[1] - 1 or b[2] > svg[2] + 1 or b[3] > svg[3] + 1:
            problems.append(f"{name!r}: axis title cut at the figure's edge")
    return problems
