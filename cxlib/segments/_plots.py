"""Figures of the rational / emotional analysis (return plotly figures, never show them)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..plots import heatmap, style
from ._segmenter import SEGMENTS, SatisfactionSegmenter

COLOURS = {"emotionally_satisfied": "#3a9d5d", "rationally_only": "#e07b39",
           "dissatisfied": "#c23b3b", "other": "#8c8c8c"}


def plane_points(panel: pd.DataFrame, segment: str = "segment", churn: str = "event",
                 emotional: str = "emotional", rational: str = "rational",
                 max_points: int = 4000, jitter: float = 0.04, seed: int = 0) -> pd.DataFrame:
    """The points the plane figure draws: a seeded sample of at most ``max_points`` rows
    with a small jitter (scores of few Likert items sit on a lattice)."""
    rng = np.random.default_rng(seed)
    data = panel[[emotional, rational, segment, churn]].dropna()
    if len(data) > max_points:
        data = data.iloc[np.sort(rng.choice(len(data), max_points, replace=False))]
    return pd.DataFrame({
        "emotional": data[emotional].to_numpy() + rng.normal(0, jitter, len(data)),
        "rational": data[rational].to_numpy() + rng.normal(0, jitter, len(data)),
        "segment": data[segment].to_numpy(), "churned": data[churn].astype(bool).to_numpy()})


def satisfaction_plane(panel: pd.DataFrame, segmenter: SatisfactionSegmenter,
                       segment: str = "segment", churn: str = "event", title: str = "",
                       max_points: int = 4000, seed: int = 0) -> go.Figure:
    """Rational (x) vs emotional (y) scores, coloured by segment, churners as crosses, with
    the rule's boundaries drawn."""
    pts = plane_points(panel, segment, churn, segmenter.emotional, segmenter.rational,
                       max_points, seed=seed)
    fig = go.Figure()
    for seg in [s for s in SEGMENTS if s in set(pts["segment"])]:
        for gone in (False, True):
            p = pts[(pts["segment"] == seg) & (pts["churned"] == gone)]
            if p.empty:
                continue
            fig.add_trace(go.Scattergl(
                x=p["rational"], y=p["emotional"], mode="markers",
                name=f"{seg} ({'churned' if gone else 'stayed'})", legendgroup=seg,
                marker=dict(color=COLOURS.get(seg, "#7a5ba6"), size=6 if gone else 4,
                            opacity=0.9 if gone else 0.35,
                            symbol="x" if gone else "circle"),
                hovertemplate="R %{x:.2f}, E %{y:.2f}<extra>" + seg + "</extra>"))
    s = segmenter
    lo_x = float(min(pts["rational"].min(), s.rational_low)) - 0.2
    hi_x = float(max(pts["rational"].max(), s.rational_high)) + 0.2
    lo_y = float(min(pts["emotional"].min(), s.emotional_low)) - 0.2
    line = dict(color="#333", width=1.5, dash="dash")
    fig.add_shape(type="line", x0=lo_x, x1=hi_x, y0=s.emotional_high, y1=s.emotional_high,
                  line=line)
    fig.add_shape(type="line", x0=lo_x, x1=hi_x, y0=s.emotional_low, y1=s.emotional_low,
                  line=line)
    for x in {s.rational_high, s.rational_low}:
        fig.add_shape(type="line", x0=x, x1=x, y0=lo_y, y1=s.emotional_low, line=line)
    note = "rule boundaries" + (" (segments shown: mixture profiles)" if s.method == "mixture"
                                else "")
    style(fig, title=title or "Rational vs emotional satisfaction",
          xaxis_title="rational satisfaction (score, SD units)",
          yaxis_title="emotional attachment (score, SD units)",
          legend_title_text=note)
    return fig


def movement_figure(movement: pd.DataFrame, title: str = "") -> go.Figure:
    """Heatmap of segment transitions between consecutive waves (row shares, with n)."""
    order = [s for s in SEGMENTS if s in set(movement["from"]) | set(movement["to"])]
    share = movement.pivot(index="from", columns="to", values="share").reindex(
        index=order, columns=order).fillna(0.0)
    n = movement.pivot(index="from", columns="to", values="n").reindex(
        index=order, columns=order).fillna(0).astype(int)
    text = [[f"{share.iat[i, j]:.0%}<br>n={n.iat[i, j]:,}" for j in range(len(order))]
            for i in range(len(order))]
    fig = go.Figure(go.Heatmap(z=share.to_numpy(), x=order, y=order, text=text,
                               texttemplate="%{text}", colorscale="Blues", zmin=0, zmax=1,
                               colorbar=dict(title="share of row", tickformat=".0%")))
    style(fig, title=title or "Segment movement between survey waves",
          xaxis_title="segment at the next wave", yaxis_title="segment at a wave",
          yaxis_autorange="reversed")
    return fig


def reliability_figure(table: pd.DataFrame, title: str = "") -> go.Figure:
    """Cronbach's alpha (Feldt interval) and Dillon-Goldstein's rho (bootstrap interval when
    computed) per block, with the usual 0.7 floor drawn."""
    fig = go.Figure()
    for stat, name, colour in (("alpha", "Cronbach's alpha", "#1f5fa8"),
                               ("rho_dg", "Dillon-Goldstein's rho", "#e07b39")):
        lo, hi = table[f"{stat}_ci_low"], table[f"{stat}_ci_high"]
        fig.add_trace(go.Bar(x=table["block"] + "<br>n=" + table["n"].map("{:,}".format),
                             y=table[stat], name=name, marker_color=colour,
                             error_y=dict(type="data", symmetric=False, array=hi - table[stat],
                                          arrayminus=table[stat] - lo, color="#333")))
    fig.add_hline(y=0.7, line_dash="dash", line_color="#888")
    style(fig, barmode="group", yaxis_range=[0, 1],
          title=title or "Reliability per construct",
          yaxis_title="reliability (0-1; 95% CI)", xaxis_title="construct")
    return fig


def loadings_figure(structure, title: str = "") -> go.Figure:
    """Heatmap of the rotated factor loadings (items x factors)."""
    load = structure.loadings
    text = [[f"{v:.2f}" for v in row] for row in load.to_numpy()]
    return heatmap(load, text, title or "Factor loadings (varimax)", "factor", "item",
                   "loading", -1, 1, "RdBu")
