"""Out-of-fold validation: ROC-AUC, PR-AUC, Brier with bootstrap intervals; calibration and gains.

ROC-AUC is the Mann-Whitney statistic and average precision follows scikit-learn's step
definition, both from one sort so that percentile-bootstrap intervals stay cheap; the point
estimates come from scikit-learn. Calibration and gains tables carry Wilson intervals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from sklearn.metrics import (average_precision_score, brier_score_loss, log_loss, roc_auc_score,
                             roc_curve)

from ..metrics import wilson_interval
from ..plots import style

__all__ = ["calibration_table", "gains_table", "roc_figure", "calibration_figure", "gains_figure"]


def _auc_ap(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """ROC-AUC (Mann-Whitney, ties one half) and average precision (as scikit-learn), one sort."""
    o = np.argsort(p, kind="stable")
    ps, ys = p[o], y[o]
    n = len(ps)
    new = np.r_[True, ps[1:] != ps[:-1]]
    starts = np.flatnonzero(new)
    ends = np.r_[starts[1:], n]
    ranks = ((starts + 1 + ends) / 2)[np.cumsum(new) - 1]
    n1 = ys.sum()
    n0 = n - n1
    auc = (ranks[ys == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)
    below = np.r_[0, np.cumsum(ys)][starts]              # positives scored below each group
    tp = (n1 - below)[::-1]                               # descending thresholds
    precision = tp / (n - starts)[::-1]
    recall = tp / n1
    ap = np.sum(np.diff(np.r_[0.0, recall]) * precision)
    return float(auc), float(ap)


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    return _auc_ap(y, p)[0]


def _bootstrap_metrics(y: np.ndarray, p: np.ndarray, n_boot: int, level: float, seed: int
                       ) -> pd.DataFrame:
    keys = ("roc_auc", "pr_auc", "brier")
    point = {"roc_auc": float(roc_auc_score(y, p)), "pr_auc": float(average_precision_score(y, p)),
             "brier": float(brier_score_loss(y, p)),
             "log_loss": float(log_loss(y, np.clip(p, 1e-6, 1 - 1e-6)))}
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {k: [] for k in keys}
    for _ in range(n_boot):
        i = rng.integers(0, len(y), len(y))
        if y[i].min() == y[i].max():
            continue
        auc, ap = _auc_ap(y[i], p[i])
        draws["roc_auc"].append(auc)
        draws["pr_auc"].append(ap)
        draws["brier"].append(float(np.mean((p[i] - y[i]) ** 2)))
    a = (1 - level) / 2
    rows = []
    for k, v in point.items():
        d = np.asarray(draws.get(k, []))
        lo, hi = (np.quantile(d, [a, 1 - a]) if len(d) else (np.nan, np.nan))
        rows.append({"metric": k, "value": v, "ci_low": float(lo), "ci_high": float(hi),
                     "method": f"percentile bootstrap ({len(d)} resamples)" if len(d) else
                     "point estimate"})
    return pd.DataFrame(rows)


# -- tables behind the figures -------------------------------------------------------------

def _wilson(k: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return wilson_interval(k / n, n)


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Observed churn per quantile bin of predicted probability, with Wilson intervals."""
    ok = ~np.isnan(p)
    y, p = np.asarray(y)[ok], np.asarray(p)[ok]
    q = pd.qcut(pd.Series(p).rank(method="first"), bins, labels=False)
    g = pd.DataFrame({"bin": q + 1, "y": y, "p": p}).groupby("bin")
    t = g.agg(n=("y", "size"), churners=("y", "sum"), predicted=("p", "mean")).reset_index()
    t["observed"] = t["churners"] / t["n"]
    t["ci_low"], t["ci_high"] = _wilson(t["churners"].to_numpy(float), t["n"].to_numpy(float))
    return t


def gains_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Deciles of risk (1 = riskiest): churn rate, lift and cumulative share of churners."""
    ok = ~np.isnan(p)
    y, p = np.asarray(y)[ok], np.asarray(p)[ok]
    order = np.argsort(-p, kind="stable")
    decile = np.empty(len(p), dtype=int)
    decile[order] = np.arange(len(p)) * bins // len(p) + 1
    t = (pd.DataFrame({"decile": decile, "y": y}).groupby("decile")
         .agg(n=("y", "size"), churners=("y", "sum")).reset_index())
    t["churn_rate"] = t["churners"] / t["n"]
    t["ci_low"], t["ci_high"] = _wilson(t["churners"].to_numpy(float), t["n"].to_numpy(float))
    t["lift"] = t["churn_rate"] / y.mean()
    t["cum_share_of_churners"] = t["churners"].cumsum() / y.sum()
    t["cum_share_of_customers"] = t["n"].cumsum() / len(y)
    return t


def roc_figure(y: np.ndarray, p: np.ndarray, auc: float, low: float, high: float,
               label: str = "model") -> go.Figure:
    """Out-of-fold ROC curve against chance, AUC and its interval in the title."""
    ok = ~np.isnan(p)
    fpr, tpr, _ = roc_curve(np.asarray(y)[ok], np.asarray(p)[ok])
    fig = go.Figure([go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance",
                                line=dict(dash="dot", color="#8c8c8c")),
                     go.Scatter(x=fpr, y=tpr, mode="lines", name=label)])
    style(fig, xaxis_title="false-positive rate (stayers flagged)",
          yaxis_title="true-positive rate (churners caught)",
          title=f"Out-of-fold ROC: AUC {auc:.3f} [{low:.3f}, {high:.3f}]")
    return fig


def calibration_figure(table: pd.DataFrame) -> go.Figure:
    """Observed vs mean predicted churn per bin (a :func:`calibration_table`), Wilson bars."""
    t = table
    top = float(max(t["predicted"].max(), t["ci_high"].max()))
    fig = go.Figure([
        go.Scatter(x=[0, top], y=[0, top], mode="lines", name="perfect",
                   line=dict(dash="dot", color="#8c8c8c")),
        go.Scatter(x=t["predicted"], y=t["observed"], mode="markers+lines", name="observed",
                   error_y=dict(type="data", symmetric=False, array=t["ci_high"] - t["observed"],
                                arrayminus=t["observed"] - t["ci_low"])),
    ])
    style(fig, title="Calibration: predicted vs observed churn by "
          "decile (out of fold, Wilson 95% CI)", xaxis_title="mean predicted",
          yaxis_title="observed churn rate", xaxis_tickformat=".0%",
          yaxis_tickformat=".0%")
    return fig


def gains_figure(table: pd.DataFrame) -> go.Figure:
    """Cumulative share of churners caught by risk decile (a :func:`gains_table`), with lift."""
    t = table
    fig = go.Figure([
        go.Bar(x=t["decile"], y=t["lift"], name="lift (churn rate / average)", yaxis="y2",
               opacity=0.35),
        go.Scatter(x=t["decile"], y=t["cum_share_of_churners"], mode="lines+markers",
                   name="cumulative share of churners"),
        go.Scatter(x=t["decile"], y=t["cum_share_of_customers"], mode="lines",
                   name="random targeting", line=dict(dash="dot", color="#8c8c8c")),
    ])
    style(fig, title="Gains: churners caught when contacting the "
          "riskiest deciles first", xaxis_title="risk decile (1 = riskiest)",
          yaxis=dict(title="share of churners", tickformat=".0%"),
          yaxis2=dict(title="lift", overlaying="y", side="right", showgrid=False))
    return fig
