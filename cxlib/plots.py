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

__all__ = ["TEMPLATE", "interval_bars", "importance_performance", "trend_band",
           "score_distribution", "ranked_bars", "forest", "heatmap", "escape_label",
           "escape_labels", "neutralise_markup", "sanitize_figure"]

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


def interval_bars(table: pd.DataFrame, x: str, y: str, low: str = "ci_low",
                  high: str = "ci_high", title: str = "", y_title: str | None = None,
                  flag: str | None = "small_sample") -> go.Figure:
    """Bars of ``y`` by ``x`` with asymmetric error bars from ``low``/``high``.

    Category labels carry each group's ``n``; rows where ``flag`` is true are drawn pale.
    """
    flagged = table[flag].astype(bool) if flag and flag in table else pd.Series(False, table.index)
    labels = table[x].map(escape_label)
    if "n" in table:
        labels = labels + "<br>n=" + table["n"].map(lambda v: f"{int(v):,}")
    fig = go.Figure(go.Bar(
        x=labels, y=table[y],
        error_y=dict(type="data", symmetric=False, array=table[high] - table[y],
                     arrayminus=table[y] - table[low], color="#333"),
        marker_opacity=[0.35 if f else 1.0 for f in flagged],
        hovertemplate="%{x}: %{y:.1f} [%{customdata[0]:.1f}, %{customdata[1]:.1f}]"
                      "<extra></extra>",
        customdata=table[[low, high]].to_numpy(),
    ))
    fig.update_layout(template=TEMPLATE, title=title, yaxis_title=y_title or y, xaxis_title=x,
                      showlegend=False)
    return fig


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
    fig = go.Figure(go.Scatter(
        x=t[x], y=t[y], mode="markers+text", text=escape_labels(t[label]), textposition="top center",
        error_y=error_y, marker=dict(size=11, color=["#c23b3b" if i in act.index else "#1f5fa8"
                                                      for i in t.index]),
        hovertemplate="%{text}: performance %{x:.2f}, importance %{y:.2f}<extra></extra>"))
    fig.add_vline(x=x_mid, line_dash="dot", line_color="#888")
    fig.add_hline(y=y_mid, line_dash="dot", line_color="#888")
    fig.update_layout(template=TEMPLATE, title=title or default, xaxis_title=x_title,
                      yaxis_title=y_title, showlegend=False)
    return fig


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
    fig.update_layout(template=TEMPLATE, title=title, yaxis_title=y_title, xaxis_title="")
    return fig


def score_distribution(scores: pd.Series, title: str = "", x_title: str = "answer (0-10)"
                       ) -> go.Figure:
    """Share of answers per score 0-10, coloured detractor / passive / promoter."""
    s = pd.to_numeric(scores, errors="coerce").dropna().astype(int)
    counts = s.value_counts().reindex(range(11), fill_value=0)
    colour = ["#c23b3b"] * 7 + ["#8c8c8c"] * 2 + ["#3a9d5d"] * 2
    fig = go.Figure(go.Bar(x=list(counts.index), y=100 * counts / max(len(s), 1),
                           marker_color=colour, customdata=counts.to_numpy(),
                           hovertemplate="%{x}: %{y:.1f}% (%{customdata:,})<extra></extra>"))
    fig.update_layout(template=TEMPLATE, title=title, xaxis_title=x_title,
                      yaxis_title=f"share of answers (%, n={len(s):,})",
                      xaxis=dict(tickmode="linear", dtick=1))
    return fig


def ranked_bars(table: pd.DataFrame, x: str, label: str, title: str = "", x_title: str = "",
                low: str | None = None, high: str | None = None) -> go.Figure:
    """Horizontal bars ranked by ``x`` (largest on top), with optional interval columns."""
    t = table.sort_values(x, ascending=True).reset_index(drop=True)
    error_x = None
    if low and high:
        error_x = dict(type="data", symmetric=False, array=t[high] - t[x],
                       arrayminus=t[x] - t[low], color="#333")
    fig = go.Figure(go.Bar(x=t[x], y=escape_labels(t[label]), orientation="h", error_x=error_x,
                           hovertemplate="%{y}: %{x:.3g}<extra></extra>"))
    fig.update_layout(template=TEMPLATE, title=title, xaxis_title=x_title, yaxis_title="",
                      showlegend=False)
    return fig


def forest(table: pd.DataFrame, label: str, x: str = "estimate", low: str = "ci_low",
           high: str = "ci_high", title: str = "", x_title: str = "", reference: float = 0.0,
           log: bool = False) -> go.Figure:
    """Estimates as points with interval whiskers, one row per ``label`` (first row on top),
    and a dashed line at ``reference`` (0 for differences, 1 for ratios on a ``log`` axis)."""
    t = table.iloc[::-1]
    fig = go.Figure(go.Scatter(
        x=t[x], y=escape_labels(t[label]), mode="markers", marker=dict(size=10, color="#1f5fa8"),
        error_x=dict(type="data", symmetric=False, array=t[high] - t[x],
                     arrayminus=t[x] - t[low], color="#333"),
        hovertemplate="%{y}: %{x:.3g}<extra></extra>"))
    fig.add_vline(x=reference, line_dash="dash", line_color="#888")
    fig.update_layout(template=TEMPLATE, title=title, xaxis_title=x_title, yaxis_title="",
                      xaxis_type="log" if log else None, showlegend=False, margin=dict(l=20),
                      yaxis_automargin=True, height=max(300, 28 * len(t) + 140))
    return fig


def heatmap(z: pd.DataFrame, text, title: str, x_title: str, y_title: str,
            colorbar: str, zmin=None, zmax=None, colorscale="Blues") -> go.Figure:
    """Heatmap of ``z`` (rows top to bottom) with ``text`` written in the cells."""
    fig = go.Figure(go.Heatmap(z=z.to_numpy(), x=escape_labels(z.columns),
                               y=escape_labels(z.index), text=text, texttemplate="%{text}",
                               colorscale=colorscale, zmin=zmin, zmax=zmax,
                               colorbar=dict(title=colorbar)))
    fig.update_layout(template=TEMPLATE, title=title, xaxis_title=x_title, yaxis_title=y_title,
                      yaxis_autorange="reversed")
    return fig
