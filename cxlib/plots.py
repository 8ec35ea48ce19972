"""Plotly figure factories with one house style. They return figures, never show them.

Labels from the data are data, never markup: plotly renders a subset of HTML in titles, ticks,
legends and hover text (``<a href>`` becomes a live link). Factories escape data labels at the
source (:func:`escape_label`); :func:`sanitize_figure` is the backstop applied to every figure
shown in a notebook (a renderer installed on import) and to every figure of a report page.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.io._base_renderers import MimetypeRenderer

__all__ = ["TEMPLATE", "MAX_COLUMNS", "style", "title_margin", "number_format", "wrap_title",
           "log_ticks", "place_labels", "labelled_range", "interval_bars",
           "importance_performance", "trend_band", "score_distribution", "ranked_bars", "forest",
           "heatmap", "escape_label", "escape_labels", "neutralise_markup", "sanitize_figure"]

ALLOWED_TAGS = frozenset({"br", "b", "i", "em", "sup", "sub"})
"""Plotly text tags cxlib's own figures use; kept only when bare (no attributes)."""

_MARKUP = re.compile(r"<[^<>]{0,200}>|[<>]|&(?!(?:[A-Za-z]{1,10}|#\d{1,7}|#x[0-9A-Fa-f]{1,6});)")
_BARE_TAG = re.compile(r"<\s{0,3}/?\s{0,3}([A-Za-z]{1,3})\s{0,3}/?\s{0,3}>")


def escape_label(value: Any) -> str:
    """A data label as plotly text that shows exactly what it says (``<`` -> ``&lt;``)."""
    return html.escape(str(value), quote=False)


def escape_labels(values: Iterable[Any]) -> list[str]:
    """:func:`escape_label` of each value (a column of labels for ticks, legends, text)."""
    return [escape_label(v) for v in values]


def neutralise_markup(text: str) -> str:
    """Text with every tag but the bare ones of :data:`ALLOWED_TAGS` escaped (idempotent, linear).

    ``<a href=...>``, ``<b onmouseover=...>``, ``<span style=...>`` and a lone ``<`` become
    text; ``<br>`` and ``<b>...</b>`` written by cxlib's own figures stay (a closing tag only
    after its opening one); entities stay as they are.
    """
    if "<" not in text and ">" not in text and "&" not in text:
        return text
    open_tags: dict[str, int] = {}

    def neutral(match: re.Match[str]) -> str:
        found = match.group(0)
        tag = _BARE_TAG.fullmatch(found)
        name = tag.group(1).lower() if tag else ""
        if name in ALLOWED_TAGS:
            if name == "br":
                return found
            if "/" not in found:
                open_tags[name] = open_tags.get(name, 0) + 1
                return found
            if open_tags.get(name, 0) > 0:
                open_tags[name] -= 1
                return found
        return html.escape(found, quote=False)

    return _MARKUP.sub(neutral, text)


def _sanitize(node: Any) -> Any:
    if isinstance(node, str):
        return neutralise_markup(node)
    if isinstance(node, dict):
        # hovertemplate / texttemplate / template are cxlib's code, not data (<extra> lives there)
        return {k: (v if "template" in k else _sanitize(v)) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [_sanitize(v) for v in node]
    if isinstance(node, np.ndarray) and node.dtype.kind in "OUS":  # labels kept as arrays
        return np.array([_sanitize(v) for v in node.ravel().tolist()],
                        dtype=object).reshape(node.shape)
    return node


def sanitize_figure(fig: go.Figure | dict[str, Any]) -> Any:
    """A copy of ``fig`` (a Figure or its dict) with markup in every text neutralised.

    Walks titles, tick and legend texts, trace names, categories, text and hover text: every
    string except templates (cxlib's own code). A Figure comes back as a Figure.
    """
    if isinstance(fig, go.Figure):
        return go.Figure(_sanitize(fig.to_dict()))
    return _sanitize(dict(fig))


class _Sanitising(MimetypeRenderer):  # type: ignore[misc]
    """A notebook renderer that shows figures through :func:`sanitize_figure`."""

    def __init__(self, inner: MimetypeRenderer) -> None:
        self.inner = inner

    def to_mimebundle(self, fig_dict: dict[str, Any]) -> dict[str, Any]:
        return self.inner.to_mimebundle(_sanitize(fig_dict))


def _install_renderers() -> None:
    """Make the default notebook renderers sanitise (idempotent; other renderers untouched)."""
    names = [n for n in (pio.renderers.default or "").split("+") if n]
    safe = []
    for name in names:
        inner = pio.renderers[name]
        if isinstance(inner, MimetypeRenderer) and not isinstance(inner, _Sanitising):
            pio.renderers[f"cx_{name}"] = _Sanitising(inner)
            name = f"cx_{name}"
        safe.append(name)
    if safe != names:
        pio.renderers.default = "+".join(safe)


_install_renderers()

TEMPLATE = go.layout.Template(
    layout=go.Layout(
        font=dict(family="Noto Sans JP, Hiragino Sans, Meiryo, Arial, sans-serif", size=13),
        colorway=["#1f5fa8", "#e07b39", "#3a9d5d", "#c23b3b", "#7a5ba6", "#8c8c8c"],
        plot_bgcolor="white",
        xaxis=dict(showgrid=False, linecolor="#888", automargin=True),
        yaxis=dict(gridcolor="#e5e5e5", zerolinecolor="#888", automargin=True),
        margin=dict(l=60, r=20, t=60, b=60),
        title=dict(x=0.0, xanchor="left"),
    )
)

TITLE_CHARS = 68
"""Characters per title line: titles wrap at words to fit about 600 px, the narrowest a figure
is shown (a Lab output beside the file browser)."""

MAX_DECIMALS = 4
"""Most decimals a number in a hover label shows."""

PLOT_AREA = (500, 300)
"""Width and height (px) of the smallest plot area a figure is shown in; labels are placed for it."""

_TAG = re.compile(r"<[^<>]*>")
_ENTITY = re.compile(r"&(?:[A-Za-z]{1,10}|#\d{1,7}|#x[0-9A-Fa-f]{1,6});")


def _visible(text: str) -> int:
    """Characters a reader sees in plotly text (tags dropped, an entity counts as one)."""
    return len(_ENTITY.sub("_", _TAG.sub("", text)))


def wrap_title(text: str, width: int = TITLE_CHARS) -> str:
    """``text`` with ``<br>`` between words so that no line is longer than ``width``
    characters (existing ``<br>`` kept; a single longer word stays whole)."""
    lines: list[str] = []
    for part in re.split(r"<br\s*/?>", text):
        line = ""
        for word in part.split(" "):
            if line and _visible(f"{line} {word}") > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
    return "<br>".join(lines)


def _numbers(values: Any) -> np.ndarray:
    flat = pd.Series(np.ravel(np.asarray(values, dtype=object)))
    return pd.to_numeric(flat, errors="coerce").to_numpy(dtype=float)


def number_format(values: Any, digits: int = 3) -> str:
    """A format (d3's, which plotly uses, and Python's alike, e.g. ``",.2f"``) that shows
    ``values`` with about ``digits`` significant digits of the largest magnitude, thousands
    separators and at most :data:`MAX_DECIMALS` decimals; whole numbers without decimals."""
    a = np.abs(_numbers(values))
    a = a[np.isfinite(a)]
    if a.size == 0 or np.all(a == np.round(a)) or a.max() == 0:
        return ",.0f"
    decimals = digits - 1 - int(np.floor(np.log10(a.max())))
    return f",.{int(np.clip(decimals, 0, MAX_DECIMALS))}f"


_LADDERS = ((1,), (1, 2, 5), (1, 1.5, 2, 3, 5, 7), (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9))


def log_ticks(low: float, high: float, width: float = PLOT_AREA[0]) -> list[float]:
    """Tick values for a log axis from ``low`` to ``high`` whose labels do not collide on an
    axis ``width`` px long: the densest of the 1 / 1-2-5 / ... series that fits, at most 8
    (at least the powers of ten, with the two ends when fewer than two lie between them)."""
    low, high = sorted((float(low), float(high)))
    if not (np.isfinite(low) and np.isfinite(high) and low > 0):
        return []
    chosen: list[float] = []
    for ladder in _LADDERS:
        ticks = [round(m * 10.0 ** e, 12)
                 for e in range(int(np.floor(np.log10(low))), int(np.ceil(np.log10(high))) + 1)
                 for m in ladder if low <= round(m * 10.0 ** e, 12) <= high]
        label_px = 8 * max((len(f"{v:,g}") for v in ticks), default=1) + 16
        if chosen and (len(ticks) * label_px > width or len(ticks) > 8):
            break
        chosen = ticks
    return chosen if len(chosen) >= 2 else sorted({low, high, *chosen})


_POSITIONS = ("top center", "bottom center", "middle right", "middle left",
              "top right", "top left", "bottom right", "bottom left")


def labelled_range(*values: Any, pad: float = 0.12) -> list[float]:
    """An axis range over ``values`` (points, interval ends) with ``pad`` of the span on each
    side: room for point labels, which :func:`place_labels` places within it."""
    v = np.concatenate([_numbers(x) for x in values])
    lo, hi = float(np.nanmin(v)), float(np.nanmax(v))
    span = (hi - lo) or abs(hi) or 1.0
    return [lo - pad * span, hi + pad * span]


def place_labels(x: Any, y: Any, labels: Iterable[str], priority: Any = None,
                 ranges: tuple[Any, Any] | None = None, size: tuple[int, int] = PLOT_AREA,
                 font_size: float = 13.0) -> list[str]:
    """A plotly ``textposition`` per point (in the given order) so that point labels overlap
    neither each other, the points nor the edge of a ``size`` (px) plot area whose axes span
    ``ranges`` (default :func:`labelled_range` of the points); labels are placed by decreasing
    ``priority`` (default: as given); ``""`` marks a label that fits nowhere (leave it out;
    the hover keeps it)."""
    labels = list(labels)
    ranges = ranges or (labelled_range(x), labelled_range(y))
    px, py = ((_numbers(v) - r[0]) / (r[1] - r[0]) * n for v, r, n in zip((x, y), ranges, size))
    rank = (np.arange(len(labels)) if priority is None
            else np.argsort(-_numbers(priority), kind="stable"))
    radius, char, line = 7.0, 0.6 * font_size, 1.3 * font_size
    points = [(a - radius, b - radius, a + radius, b + radius) for a, b in zip(px, py)]
    placed: list[tuple[float, ...]] = []
    out = [""] * len(labels)
    for i in rank:
        w, h = char * _visible(labels[i]), line
        for pos in _POSITIONS:
            vertical, horizontal = pos.split()
            y0 = {"top": py[i] + radius + 2, "bottom": py[i] - radius - 2 - h,
                  "middle": py[i] - h / 2}[vertical]
            x0 = {"center": px[i] - w / 2, "right": px[i] + radius + 2,
                  "left": px[i] - radius - 2 - w}[horizontal]
            box = (x0, y0, x0 + w, y0 + h)
            inside = box[0] >= 0 and box[1] >= 0 and box[2] <= size[0] and box[3] <= size[1]
            if inside and not any(_overlap(box, b) for b in placed + points[:i] + points[i + 1:]):
                placed.append(box)
                out[i] = pos
                break
    return out


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


TITLE_LINE = 24
"""Height (px) of one title line at the house title size."""

_ABOVE_PLOT = 26
"""Room (px) for a row of subplot titles or line labels between the title and the plot."""


def style(fig: go.Figure, **layout: Any) -> go.Figure:
    """``fig`` in the house style, with ``layout``: :data:`TEMPLATE`; the title wrapped
    (:func:`wrap_title`) and set above the plot in a top margin that holds its lines, clear
    of the plot, its tick labels, axis titles and subplot titles; log axes with ticks that do
    not collide (:func:`log_ticks`); and a hover label with formatted numbers
    (:func:`number_format`) on every trace without one. Every figure factory of cxlib
    returns through it."""
    fig.update_layout(template=TEMPLATE, **layout)
    title = fig.layout.title.text
    if title:
        text = wrap_title(title)
        lines = text.count("<br>") + 1
        above = any(a.y is not None and a.y >= 0.99 and (a.yref or "").endswith(("paper", "domain"))
                    for a in fig.layout.annotations)  # subplot titles, line labels
        # plotly grows a multi-line title downwards from its anchor: lift it by its extra lines
        lift = 18 + TITLE_LINE * (lines - 1) + (_ABOVE_PLOT if above else 0)
        fig.update_layout(title=dict(text=text, x=0, xref="container", xanchor="left", y=1,
                                     yref="paper", yanchor="bottom", pad=dict(l=8, b=lift)),
                          margin_t=max(fig.layout.margin.t or 0, title_margin(lines, above)))
    _wrap_axis_titles(fig)
    _slant_long_categories(fig)
    for trace in fig.data:
        _default_hover(trace)
    _log_axes(fig)
    return fig


def _slant_long_categories(fig: go.Figure) -> None:
    """Category labels too long to stand side by side under a horizontal axis of
    :data:`PLOT_AREA` slanted by 30 degrees (plotly does not turn multi-line labels or a
    heatmap's, and turns others up to 90)."""
    for trace in fig.data:
        if trace.x is None or getattr(trace, "orientation", None) == "h":
            continue
        labels = [str(v) for v in dict.fromkeys(np.ravel(np.asarray(trace.x, dtype=object)))]
        if not labels or np.asarray(trace.x).dtype.kind not in "OUS":
            continue
        longest = max(_visible(part) for v in labels for part in re.split(r"<br\s*/?>", v))
        axis = fig.layout[(trace.xaxis or "x").replace("x", "xaxis", 1)]
        if len(labels) * 7 * longest > PLOT_AREA[0] and axis.tickangle is None:
            axis.tickangle = -30


def _wrap_axis_titles(fig: go.Figure) -> None:
    """Axis titles wrapped to their axis, so that they run neither past the plot into the
    title nor past the figure's edge (about 8 px per character; a horizontal axis taken as
    380 px, what is left beside long row labels in the narrowest figure)."""
    layout = fig.layout
    plot_height = (layout.height or 450) - (layout.margin.t or 60) - (layout.margin.b or 60)
    for key in [k for k in layout.to_plotly_json() if k.startswith(("xaxis", "yaxis"))]:
        axis = layout[key]
        text = axis.title.text
        if not text:
            continue
        span = (axis.domain[1] - axis.domain[0]) if axis.domain else 1.0
        width = max(int((plot_height if key.startswith("y") else 380) * span / 8), 16)
        axis.title.text = wrap_title(text, width)


def title_margin(lines: int, above: bool = False) -> int:
    """Top margin (px) that holds a title of ``lines`` lines above the plot, and a row of
    subplot titles or line labels under it when ``above``."""
    return 34 + TITLE_LINE * lines + (_ABOVE_PLOT if above else 0)


def _default_hover(trace: Any) -> None:
    """A formatted ``hovertemplate`` for a trace that has none (plotly's default hover shows
    raw floats such as ``0.8806756 +0.003011479``)."""
    if trace.hovertemplate or trace.hoverinfo in ("skip", "none", "text"):
        return
    name = "<extra>%{fullData.name}</extra>" if trace.name else "<extra></extra>"
    if trace.type == "heatmap":
        trace.hovertemplate = f"%{{y}} · %{{x}}: %{{z:{number_format(trace.z)}}}{name}"
        return
    if trace.type not in ("bar", "scatter", "scattergl", "histogram"):
        return
    if trace.type == "histogram":  # %{x} is the bin centre, the value the count
        data, count = ("x", "y") if trace.x is not None else ("y", "x")
        fmt = number_format(getattr(trace, data), digits=4)
        trace.hovertemplate = f"%{{{data}:{fmt}}}: %{{{count}:,}}{name}"
        return
    parts, numeric = {}, {}
    for axis in ("x", "y"):
        values = getattr(trace, axis)
        if values is None:
            continue
        numbers = _numbers(values)
        error = getattr(trace, f"error_{axis}")
        bounds = None
        if (np.isfinite(numbers).all() and error is not None and error.array is not None
                and trace.customdata is None and error.visible is not False):
            up = _numbers(error.array)
            down = up if error.symmetric is not False or error.arrayminus is None else \
                _numbers(error.arrayminus)
            bounds = np.column_stack([numbers - down, numbers + up])
        fmt = number_format(numbers if bounds is None else np.concatenate([numbers, bounds.ravel()]))
        kind = np.asarray(values).dtype.kind
        numeric[axis] = bool(np.isfinite(numbers).any()) and kind in "iuf"
        parts[axis] = (f"%{{{axis}:{fmt}}}" if numeric[axis] else
                       f"%{{{axis}|%Y-%m-%d}}" if kind == "M" else f"%{{{axis}}}")
        if bounds is not None and numeric[axis]:
            trace.customdata = bounds
            parts[axis] += f" [%{{customdata[0]:{fmt}}}, %{{customdata[1]:{fmt}}}]"
    text = "%{text}: " if trace.text is not None and "text" in (trace.mode or "") else ""
    value = "x" if getattr(trace, "orientation", None) == "h" else "y"
    label = "y" if value == "x" else "x"
    if len(parts) < 2:
        body = parts.get(value) or parts.get(label, "")
    else:
        body = (f"{parts['x']}, {parts['y']}" if all(numeric.values())
                else f"{parts[label]}: {parts[value]}")
    trace.hovertemplate = f"{text}{body}{name}"


def _log_axes(fig: go.Figure) -> None:
    """Ticks from :func:`log_ticks` on every log axis without tick values of its own."""
    layout = fig.layout
    for key in [k for k in layout.to_plotly_json() if k.startswith(("xaxis", "yaxis"))]:
        axis = layout[key]
        if axis.type != "log" or axis.tickvals is not None:
            continue
        ref, letter = key.replace("axis", ""), key[0]
        values = []
        for trace in fig.data:
            if (getattr(trace, f"{letter}axis", None) or letter) != ref:
                continue
            v = _numbers(getattr(trace, letter))
            error = getattr(trace, f"error_{letter}", None)
            values.append(v)
            if error is not None and error.array is not None:
                up = _numbers(error.array)
                down = _numbers(error.arrayminus) if error.arrayminus is not None else up
                values += [v + up, v - down]
        found = np.concatenate(values) if values else np.array([])
        found = found[np.isfinite(found) & (found > 0)]
        if found.size == 0:
            continue
        domain = axis.domain or (0, 1)
        ticks = log_ticks(found.min(), found.max(), PLOT_AREA[0] * (domain[1] - domain[0]))
        axis.update(tickvals=ticks, ticktext=[f"{v:,g}" for v in ticks])


MAX_COLUMNS = 8
"""Most categories drawn side by side; more are drawn as rows so their labels read across
(plotly would turn them, up to 90 degrees)."""


def interval_bars(table: pd.DataFrame, x: str, y: str, low: str = "ci_low",
                  high: str = "ci_high", title: str = "", y_title: str | None = None,
                  flag: str | None = "small_sample") -> go.Figure:
    """Bars of ``y`` by ``x`` with asymmetric error bars from ``low``/``high``; more than
    :data:`MAX_COLUMNS` categories, or labels too long to stand side by side in
    :data:`PLOT_AREA`, as horizontal bars, the first row on top.

    Category labels carry each group's ``n``; rows where ``flag`` is true are drawn pale.
    """
    longest = max((_visible(escape_label(v)) for v in table[x]), default=0)
    across = len(table) > MAX_COLUMNS or len(table) * 7 * longest > PLOT_AREA[0]
    t = table.iloc[::-1] if across else table
    flagged = t[flag].astype(bool) if flag and flag in t else pd.Series(False, t.index)
    labels = t[x].map(escape_label)
    if "n" in t:
        labels = labels + (" (n=" if across else "<br>n=") + t["n"].map(
            lambda v: f"{int(v):,}") + (")" if across else "")
    fmt = number_format(t[[y, low, high]])
    error = dict(type="data", symmetric=False, array=t[high] - t[y], arrayminus=t[y] - t[low],
                 color="#333")
    value, label = ("x", "y") if across else ("y", "x")
    fig = go.Figure(go.Bar(
        **{label: labels, value: t[y], f"error_{value}": error},
        orientation="h" if across else "v",
        marker_opacity=[0.35 if f else 1.0 for f in flagged],
        hovertemplate=f"%{{{label}}}: %{{{value}:{fmt}}} [%{{customdata[0]:{fmt}}}, "
                      f"%{{customdata[1]:{fmt}}}]<extra></extra>",
        customdata=t[[low, high]].to_numpy(),
    ))
    if across:
        return style(fig, title=title, xaxis_title=y_title or y, yaxis_title="",
                     showlegend=False, height=max(300, 26 * len(t) + 160))
    return style(fig, title=title, yaxis_title=y_title or y, xaxis_title=x, showlegend=False)


def importance_performance(table: pd.DataFrame, x: str = "performance", y: str = "share",
                           label: str = "driver", title: str | None = None,
                           x_title: str = "performance (mean score)",
                           y_title: str = "importance (share of explained variance)") -> go.Figure:
    """Importance-performance quadrant: drivers as points, lines at the mean of each axis.

    Top-left (important, performing below average) is where to act first. Error bars show
    ``ci_low``/``ci_high`` of the importance when the table has them (scaled like ``y``).
    """
    t = table.reset_index(drop=True)
    error_y = None
    if {"ci_low", "ci_high", "importance"} <= set(t.columns) and y == "share":
        scale = t[y] / t["importance"]
        error_y = dict(type="data", symmetric=False, array=(t["ci_high"] * scale - t[y]),
                       arrayminus=(t[y] - t["ci_low"] * scale), color="#888")
    x_mid, y_mid = float(t[x].mean()), float(t[y].mean())
    act = t[(t[y] >= y_mid) & (t[x] < x_mid)]
    default = (f"Act first on {', '.join(escape_labels(act[label]))}: important and below-average"
               if len(act) else
               "No driver is both above-average in importance and below-average in performance")
    names = escape_labels(t[label])
    ranges = (labelled_range(t[x]), labelled_range(t[y], *(
        [t[y] - error_y["arrayminus"], t[y] + error_y["array"]] if error_y else [])))
    placed = place_labels(t[x], t[y], names, priority=t[y], ranges=ranges)  # most important first
    fig = go.Figure(go.Scatter(
        x=t[x], y=t[y], mode="markers+text", customdata=names,
        text=[n if p else "" for n, p in zip(names, placed)],
        textposition=[p or "top center" for p in placed],
        error_y=error_y, marker=dict(size=11, color=["#c23b3b" if i in act.index else "#1f5fa8"
                                                      for i in t.index]),
        hovertemplate=f"%{{customdata}}: performance %{{x:{number_format(t[x])}}}, "
                      f"importance %{{y:{number_format(t[y])}}}<extra></extra>"))
    fig.add_vline(x=x_mid, line_dash="dot", line_color="#888")
    fig.add_hline(y=y_mid, line_dash="dot", line_color="#888")
    return style(fig, title=title or default, xaxis_title=x_title, yaxis_title=y_title,
                 showlegend=False, xaxis_range=ranges[0], yaxis_range=ranges[1])


def trend_band(trend: pd.DataFrame, x: str = "period", y: str = "nps", title: str = "",
               y_title: str = "NPS (points)") -> go.Figure:
    """A metric over time with its interval and a noise band (``band_low``/``band_high``).

    Points outside the band (``beyond_noise``) are drawn red.
    """
    t = trend.reset_index(drop=True)
    beyond = t["beyond_noise"].astype(bool) if "beyond_noise" in t else pd.Series(False, t.index)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=pd.concat([t[x], t[x][::-1]]),
                             y=pd.concat([t["band_high"], t["band_low"][::-1]]),
                             fill="toself", fillcolor="rgba(140,140,140,0.18)", line=dict(width=0),
                             name="noise band", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=t[x], y=t["centre"], mode="lines", name="pooled level",
                             line=dict(color="#888", dash="dot")))
    fig.add_trace(go.Scatter(
        x=t[x], y=t[y], mode="lines+markers", name=y,
        error_y=dict(type="data", symmetric=False, array=t["ci_high"] - t[y],
                     arrayminus=t[y] - t["ci_low"], color="#bbb", thickness=1),
        marker=dict(size=8, color=["#c23b3b" if b else "#1f5fa8" for b in beyond]),
        customdata=t[["n"]].to_numpy() if "n" in t else None,
        hovertemplate="%{x|%Y-%m}: %{y:.1f} (n=%{customdata[0]:,})<extra></extra>"))
    return style(fig, title=title, yaxis_title=y_title, xaxis_title="")


def score_distribution(scores: pd.Series, title: str = "", x_title: str = "answer (0-10)"
                       ) -> go.Figure:
    """Share of answers per score 0-10, coloured detractor / passive / promoter."""
    s = pd.to_numeric(scores, errors="coerce").dropna().astype(int)
    counts = s.value_counts().reindex(range(11), fill_value=0)
    colour = ["#c23b3b"] * 7 + ["#8c8c8c"] * 2 + ["#3a9d5d"] * 2
    fig = go.Figure(go.Bar(x=list(counts.index), y=100 * counts / max(len(s), 1),
                           marker_color=colour, customdata=counts.to_numpy(),
                           hovertemplate="%{x}: %{y:.1f}% (%{customdata:,})<extra></extra>"))
    return style(fig, title=title, xaxis_title=x_title,
                 yaxis_title=f"share of answers (%, n={len(s):,})",
                 xaxis=dict(tickmode="linear", dtick=1))


def ranked_bars(table: pd.DataFrame, x: str, label: str, title: str = "", x_title: str = "",
                low: str | None = None, high: str | None = None) -> go.Figure:
    """Horizontal bars ranked by ``x`` (largest on top), with optional interval columns."""
    t = table.sort_values(x, ascending=True).reset_index(drop=True)
    error_x = None
    if low and high:
        error_x = dict(type="data", symmetric=False, array=t[high] - t[x],
                       arrayminus=t[x] - t[low], color="#333")
    fig = go.Figure(go.Bar(x=t[x], y=escape_labels(t[label]), orientation="h", error_x=error_x))
    return style(fig, title=title, xaxis_title=x_title, yaxis_title="", showlegend=False)


def forest(table: pd.DataFrame, label: str, x: str = "estimate", low: str = "ci_low",
           high: str = "ci_high", title: str = "", x_title: str = "", reference: float = 0.0,
           log: bool = False, max_label: int = 40) -> go.Figure:
    """Estimates as points with interval whiskers, one row per ``label`` (first row on top),
    and a dashed line at ``reference`` (0 for differences, 1 for ratios on a ``log`` axis).
    Labels longer than ``max_label`` characters are shortened on the axis, whole in the hover."""
    t = table.iloc[::-1]
    full = [str(v) for v in t[label]]
    short = [v if len(v) <= max_label else v[:max_label - 1] + "…" for v in full]
    if len(set(short)) < len(set(full)):  # shortening must not merge two rows
        short = full
    fmt = number_format(t[[x, low, high]])
    fig = go.Figure(go.Scatter(
        x=t[x], y=escape_labels(short), mode="markers", marker=dict(size=10, color="#1f5fa8"),
        error_x=dict(type="data", symmetric=False, array=t[high] - t[x],
                     arrayminus=t[x] - t[low], color="#333"),
        customdata=np.column_stack([escape_labels(full), t[low].to_numpy(dtype=object),
                                    t[high].to_numpy(dtype=object)]),
        hovertemplate=f"%{{customdata[0]}}: %{{x:{fmt}}} [%{{customdata[1]:{fmt}}}, "
                      f"%{{customdata[2]:{fmt}}}]<extra></extra>"))
    fig.add_vline(x=reference, line_dash="dash", line_color="#888")
    return style(fig, title=title, xaxis_title=x_title, yaxis_title="",
                 xaxis_type="log" if log else None, showlegend=False, margin=dict(l=20),
                 yaxis_automargin=True, height=max(300, 28 * len(t) + 140))


def heatmap(z: pd.DataFrame, text, title: str, x_title: str, y_title: str,
            colorbar: str, zmin=None, zmax=None, colorscale="Blues") -> go.Figure:
    """Heatmap of ``z`` (rows top to bottom) with ``text`` written in the cells."""
    fig = go.Figure(go.Heatmap(z=z.to_numpy(), x=escape_labels(z.columns),
                               y=escape_labels(z.index), text=text, texttemplate="%{text}",
                               colorscale=colorscale, zmin=zmin, zmax=zmax,
                               colorbar=dict(title=colorbar)))
    return style(fig, title=title, xaxis_title=x_title, yaxis_title=y_title,
                 yaxis_autorange="reversed")
