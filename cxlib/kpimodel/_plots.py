"""Figures of the KPI model: path diagram, bootstrap intervals, IPMA, money ranking."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..plots import escape_labels, labelled_range, number_format, place_labels, style

__all__ = ["path_diagram", "ipma_plot", "ranking_plot", "index_weights_plot",
           "index_comparison_plot"]


def _layers(result) -> dict[str, int]:
    spec = result.spec
    depth: dict[str, int] = {}

    def d(c: str) -> int:
        if c not in depth:
            pred = spec.predecessors(c)
            depth[c] = 0 if not pred else 1 + max(d(p) for p in pred)
        return depth[c]

    for c in spec.constructs:
        d(c)
    return depth


def path_diagram(result, title: str | None = None) -> go.Figure:
    """Constructs placed left to right by depth; arrows carry path estimates (and CIs)."""
    depth = _layers(result)
    pos: dict[str, tuple[float, float]] = {}
    for level in sorted(set(depth.values())):
        members = [c for c in result.spec.constructs if depth[c] == level]
        for i, c in enumerate(members):
            pos[c] = (float(level), (len(members) - 1) / 2 - i)
    r2 = result.inner_summary.set_index("construct")["r2"]
    fig = go.Figure()
    for _, row in result.paths.iterrows():
        (x0, y0), (x1, y1) = pos[row["from"]], pos[row["to"]]
        ci = (f" [{row['pct_low']:.2f}, {row['pct_high']:.2f}]" if "pct_low" in row else "")
        fig.add_annotation(x=x1 - 0.12, y=y1, ax=x0 + 0.12, ay=y0, xref="x", yref="y",
                           axref="x", ayref="y", showarrow=True, arrowhead=3,
                           arrowwidth=1.2 + 4 * min(abs(row["estimate"]), 1),
                           arrowcolor="#1f5fa8" if row["estimate"] >= 0 else "#c23b3b", text="")
        fig.add_annotation(x=(x0 + x1) / 2, y=(y0 + y1) / 2 + 0.12, showarrow=False,
                           text=f"{row['estimate']:.2f}{ci}", font=dict(size=11),
                           bgcolor="rgba(255,255,255,0.8)")
    xs = [pos[c][0] for c in result.spec.constructs]
    ys = [pos[c][1] for c in result.spec.constructs]
    labels = [f"<b>{c}</b><br>{'composite' if result.spec.modes[c] == 'B' else 'reflective'}"
              + (f"<br>R²={r2[c]:.2f}" if r2[c] > 0 else "") for c in result.spec.constructs]
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers+text", text=labels,
                             textposition="middle center",
                             marker=dict(size=70, color="#eef3fa", line=dict(color="#1f5fa8",
                                                                              width=2)),
                             hoverinfo="skip"))
    strongest = result.paths.loc[result.paths["estimate"].abs().idxmax()]
    style(fig, showlegend=False, height=420,
          title=title or (f"Strongest path: {strongest['from']} → {strongest['to']} "
                          f"({strongest['estimate']:.2f}); n = {result.n:,}"),
          xaxis=dict(visible=False, range=[min(xs) - 0.5, max(xs) + 0.5]),
          yaxis=dict(visible=False, range=[min(ys) - 0.8, max(ys) + 0.8]))
    return fig


def index_weights_plot(shares: pd.DataFrame, title: str = "") -> go.Figure:
    """Horizontal bars of each KPI's share of the index, with bootstrap intervals."""
    d = shares.sort_values("share")
    err = {}
    if "share_low" in d:
        err = dict(error_x=dict(type="data", symmetric=False, array=d["share_high"] - d["share"],
                                arrayminus=d["share"] - d["share_low"], color="#333"))
    fig = go.Figure(go.Bar(x=d["share"], y=d["indicator"] + " (" + d["organisation"] + ")",
                           orientation="h", **err))
    style(fig, title=title, xaxis_title="share of the index (weight × SD, "
          "normalised; 95% bootstrap CI)", xaxis_tickformat=".0%", height=380)
    return fig


def ipma_plot(table: pd.DataFrame, target: str, title: str = "") -> go.Figure:
    """Importance (total effect) vs performance (0-100) with importance intervals."""
    err = {}
    if "importance_low" in table:
        err = dict(error_x=dict(type="data", symmetric=False,
                                array=table["importance_high"] - table["importance"],
                                arrayminus=table["importance"] - table["importance_low"],
                                color="#999"))
    t = table.reset_index(drop=True)
    names = escape_labels(t["indicator"])
    ranges = (labelled_range(t["importance"], *(
        [t["importance_low"], t["importance_high"]] if "importance_low" in t else [])),
        labelled_range(t["performance"]))
    placed = place_labels(t["importance"], t["performance"], names, priority=t["importance"],
                          ranges=ranges)
    fig = go.Figure(go.Scatter(
        x=t["importance"], y=t["performance"], mode="markers+text", customdata=names,
        text=[n if p else "" for n, p in zip(names, placed)],
        textposition=[p or "top center" for p in placed], marker=dict(size=12),
        hovertemplate=f"%{{customdata}}: importance %{{x:{number_format(t['importance'])}}}, "
                      f"performance %{{y:{number_format(t['performance'])}}}<extra></extra>",
        **err))
    fig.add_vline(x=float(np.nanmean(table["importance"])), line_dash="dot", line_color="#888")
    fig.add_hline(y=float(np.nanmean(table["performance"])), line_dash="dot", line_color="#888")
    style(fig, title=title,
          xaxis_title=f"importance: total effect on {target} (points per point)",
          yaxis_title="performance (0-100)", height=450, xaxis_range=ranges[0],
          yaxis_range=ranges[1])
    return fig


def ranking_plot(ranking: pd.DataFrame, currency: str = "JPY", title: str = "") -> go.Figure:
    """Money per unit of KPI improvement, best first, with bootstrap intervals."""
    d = ranking.iloc[::-1]
    fig = go.Figure(go.Bar(
        x=d["revenue_change"], y=d["kpi"] + " (+" + d["unit"].map(lambda u: f"{u:g}") + ")",
        orientation="h",
        error_x=dict(type="data", symmetric=False, array=d["revenue_high"] - d["revenue_change"],
                     arrayminus=d["revenue_change"] - d["revenue_low"], color="#333")))
    style(fig, title=title, height=380,
          xaxis_title=f"change in annual revenue ({currency}, 95% bootstrap CI)")
    return fig


def index_comparison_plot(table: pd.DataFrame, metric: str = "retention_auc",
                          title: str = "") -> go.Figure:
    """Out-of-sample metric per candidate index with its 95% interval over folds."""
    label = {"retention_auc": "retention: test AUC", "revenue_r2": "log revenue: test R²"}
    fig = go.Figure(go.Scatter(
        x=table[metric], y=table["candidate"], mode="markers", marker=dict(size=11),
        error_x=dict(type="data", symmetric=False, array=table[f"{metric}_high"] - table[metric],
                     arrayminus=table[metric] - table[f"{metric}_low"], color="#333")))
    style(fig, title=title, height=320,
          xaxis_title=f"{label.get(metric, metric)} (mean over folds, 95% CI)")
    return fig
