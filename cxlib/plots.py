"""Plotly figure factories with one house style. They return figures, never show them."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

__all__ = ["TEMPLATE", "interval_bars"]

TEMPLATE = go.layout.Template(
    layout=go.Layout(
        font=dict(family="Noto Sans JP, Hiragino Sans, Meiryo, Arial, sans-serif", size=13),
        colorway=["#1f5fa8", "#e07b39", "#3a9d5d", "#c23b3b", "#7a5ba6", "#8c8c8c"],
        plot_bgcolor="white",
        xaxis=dict(showgrid=False, linecolor="#888"),
        yaxis=dict(gridcolor="#e5e5e5", zerolinecolor="#888"),
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
    labels = table[x].astype(str)
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
