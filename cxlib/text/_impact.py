"""What topics are worth: NPS and churn with vs without each topic, and emerging topics.

:func:`topic_impact` compares answers whose comment mentions a topic with all other answers:
NPS points with minus without, and (where the customer is known) churn percentage points,
with percentile bootstrap intervals over answers (resampled whole, so the mentions, scores and
churn of one answer stay together). :func:`topic_trend` gives each topic's share of comments
by month with Wilson intervals and flags topics whose recent share rose beyond noise
(one-sided two-proportion z-test, Benjamini-Hochberg false-discovery rate across topics).
Labels come from the analyst's codebook and are escaped before they reach plotly.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy import stats

from ..checks import check_at_least, check_between
from ..errors import DataError
from ..metrics import benjamini_hochberg
from ..results import Result, ci_text

__all__ = ["TopicImpact", "TopicTrend", "topic_impact", "topic_trend", "topic_drivers",
           "benjamini_hochberg"]


def _check_codes(frame: pd.DataFrame, codes: pd.DataFrame, where: str) -> np.ndarray:
    if len(codes) != len(frame):
        raise DataError(f"{where}: codes have {len(codes)} rows, the answers {len(frame)}; "
                        "code the same rows (codebook.code(frame['verbatim']))")
    if codes.shape[1] == 0:
        raise DataError(f"{where}: no topics in codes")
    return codes.fillna(False).to_numpy(dtype=bool)


def _nps_points(frame: pd.DataFrame, score: str, where: str) -> np.ndarray:
    if score not in frame.columns:
        raise DataError(f"{where}: score column {score!r} not found")
    s = pd.to_numeric(frame[score], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = np.flatnonzero(~np.isnan(s) & ((s < 0) | (s > 10)))
    if len(bad):
        raise DataError(f"{where}: column {score!r} has {len(bad)} values outside 0-10 "
                        f"(rows {', '.join(str(i + 1) for i in bad[:10])})")
    return np.where(np.isnan(s), np.nan, np.where(s >= 9, 100.0, np.where(s <= 6, -100.0, 0.0)))


def _with_without(w: np.ndarray, x: np.ndarray, v: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Mean of ``v`` with minus without each topic, for each row of weights ``w`` (B x n)."""
    xv = x & ok[:, None]
    vv = np.where(ok, v, 0.0)
    s_with = w @ (xv * vv[:, None])
    n_with = w @ xv
    s_all = w @ vv
    n_all = w @ ok.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return s_with / n_with - (s_all[:, None] - s_with) / (n_all[:, None] - n_with)


@dataclass(repr=False)
class TopicImpact(Result):
    """Each topic's NPS (and churn) with vs without it, with bootstrap intervals.

    ``table``: topic, label, n_with (answers mentioning it), share (of answers with a
    comment), nps_with, nps_without, impact (points) with ci_low/ci_high, and where churn is
    known churn_with, churn_without, churn_impact (percentage points) with churn_low/high
    and n_known. Sorted by impact, most negative first.
    """

    table: pd.DataFrame
    n: int
    n_comments: int
    n_boot: int
    level: float
    score: str
    notes: list[str] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        return self.table.round(2)

    def _top(self) -> pd.Series:
        t = self.table.dropna(subset=["impact"])
        return t.loc[t["impact"].abs().idxmax()]

    def headline(self) -> str:
        if self.table["impact"].isna().all():
            return (f"No topic has answers both with and without it (no interval: nothing to "
                    f"compare; n = {self.n:,})")
        top = self._top()
        return (f"Comments on {top['label']} go with {self.score.upper()} {top['impact']:+.1f} "
                f"points ({ci_text(top['ci_low'], top['ci_high'], self.level, '+.1f')}; "
                f"n = {int(top['n_with']):,} of {self.n:,} answers)")

    def plot(self, title: str | None = None) -> go.Figure:
        """Frequency x impact: how often a topic comes up and how NPS differs when it does."""
        from ..plots import TEMPLATE, escape_label, style

        t = self.table.dropna(subset=["impact"])
        labels = [escape_label(v) for v in t["label"]]
        fig = go.Figure(go.Scatter(
            x=100 * t["share"], y=t["impact"], mode="markers+text", text=labels,
            textposition="top center",
            error_y=dict(type="data", symmetric=False, array=t["ci_high"] - t["impact"],
                         arrayminus=t["impact"] - t["ci_low"], color="#999"),
            marker=dict(size=12, color=np.where(t["impact"] < 0, "#c23b3b", "#3a9d5d")),
            customdata=np.column_stack([labels, t["n_with"]]),
            hovertemplate="%{customdata[0]}: %{y:+.1f} points, %{x:.1f}% of comments "
                          "(n=%{customdata[1]})<extra></extra>"))
        fig.add_hline(y=0, line_dash="dash", line_color="#888")
        style(fig, title=escape_label(title or self.headline()),
              xaxis_title="share of comments mentioning the topic (%)",
              yaxis_title=f"{self.score.upper()} with minus without (points, "
                          f"{self.level:.0%} bootstrap CI)", showlegend=False)
        return fig

    def plot_churn(self, title: str | None = None) -> go.Figure:
        """Churn percentage points with vs without each topic (customers known)."""
        from ..plots import escape_label, forest

        t = self.table.dropna(subset=["churn_impact"]) if "churn_impact" in self.table else \
            self.table.iloc[:0]
        t = t.assign(label=t["label"].astype(str)) if len(t) else pd.DataFrame(
            {"label": [], "churn_impact": [], "churn_low": [], "churn_high": []})
        # plots.forest escapes the labels itself (escaping here too would show "&lt;")
        return forest(t, label="label", x="churn_impact", low="churn_low", high="churn_high",
                      title=escape_label(title or "Churn with minus without each topic"),
                      x_title=f"churn (percentage points, {self.level:.0%} bootstrap CI)")


def topic_impact(frame: pd.DataFrame, codes: pd.DataFrame, score: str = "nps",
                 churn: str | None = "churned", text: str = "verbatim",
                 labels: dict[str, str] | None = None, n_boot: int = 500, level: float = 0.95,
                 seed: int = 0, min_mentions: int = 5) -> TopicImpact:
    """NPS points (and churn points) with vs without each topic, with bootstrap intervals.

    ``codes``: one boolean column per topic, rows aligned with ``frame`` (from
    :meth:`Codebook.code`). Answers without a score are left out; churn uses answers whose
    ``churn`` is known (NA for anonymous answers). Topics mentioned fewer than
    ``min_mentions`` times get no estimate. Percentile bootstrap over answers, ``n_boot``
    resamples from ``seed``.
    """
    where = "topic_impact"
    check_between("level", level, 0, 1, where)
    check_at_least("n_boot", n_boot, 20, where)
    x = _check_codes(frame, codes, where)
    v = _nps_points(frame, score, where)
    ok = ~np.isnan(v)
    v = np.nan_to_num(v)
    has_churn = churn is not None and churn in frame.columns
    if has_churn:
        c = pd.array(frame[churn], dtype="boolean")
        c_ok = ~np.asarray(c.isna())
        c_val = np.asarray(c.fillna(False), dtype=float) * 100
    names = list(codes.columns)
    n_with = (x & ok[:, None]).sum(axis=0)
    enough = n_with >= min_mentions
    point = _with_without(np.ones((1, len(v))), x, v, ok)[0]
    rng = np.random.default_rng(seed)
    boots, churn_boots = [], []
    n = len(v)
    for start in range(0, n_boot, 25):
        w = np.stack([np.bincount(rng.integers(0, n, n), minlength=n).astype(float)
                      for _ in range(min(25, n_boot - start))])
        boots.append(_with_without(w, x, v, ok))
        if has_churn:
            churn_boots.append(_with_without(w, x, c_val, c_ok))
    boot = np.vstack(boots)
    alpha = (1 - level) / 2
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)      # topics never mentioned: NaN
        low, high = np.nanquantile(boot, [alpha, 1 - alpha], axis=0)
        nps_with = (x * (v * ok)[:, None]).sum(0) / n_with
    has_text = frame[text].notna().to_numpy() if text in frame.columns else np.ones(n, bool)
    n_comments = int(has_text.sum())
    table = pd.DataFrame({
        "topic": names, "label": [(labels or {}).get(t, t) for t in names],
        "n_with": n_with, "share": x[has_text].sum(axis=0) / max(n_comments, 1),
        "nps_with": nps_with, "nps_without": nps_with - point,
        "impact": point, "ci_low": low, "ci_high": high})
    if has_churn:
        cb = np.vstack(churn_boots)
        cp = _with_without(np.ones((1, n)), x, c_val, c_ok)[0]
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            cl, ch = np.nanquantile(cb, [alpha, 1 - alpha], axis=0)
        known_with = np.maximum((x & c_ok[:, None]).sum(0), 1)
        churn_with = (x * (c_val * c_ok)[:, None]).sum(0) / known_with
        table = table.assign(churn_with=churn_with, churn_without=churn_with - cp,
                             churn_impact=cp, churn_low=cl, churn_high=ch,
                             n_known=(x & c_ok[:, None]).sum(axis=0))
    est = [c for c in table.columns if c not in ("topic", "label", "n_with", "share", "n_known")]
    table.loc[~enough, est] = np.nan
    notes = ([f"fewer than {min_mentions} mentions, no estimate: "
              f"{', '.join(np.array(names)[~enough])}"] if (~enough).any() else [])
    table = table.sort_values("impact", na_position="last", ignore_index=True)
    return TopicImpact(table, int(ok.sum()), n_comments, n_boot, level, score, notes)


def topic_drivers(frame: pd.DataFrame, codes: pd.DataFrame, items: Sequence[str],
                  outcome: str = "nps", **kwargs):
    """Topics (0/1) as key drivers of ``outcome`` next to the rated ``items``
    (:func:`cxlib.drivers.key_drivers` on both; same options)."""
    from ..drivers import key_drivers

    _check_codes(frame, codes, "topic_drivers")
    clash = sorted(set(codes.columns) & set(frame.columns))
    if clash:
        raise DataError(f"topic_drivers: topic names {clash} are also columns of the answers")
    data = pd.concat([frame[[outcome, *items]].reset_index(drop=True),
                      codes.reset_index(drop=True).astype(float)], axis=1)
    return key_drivers(data, outcome, [*items, *codes.columns], **kwargs)


@dataclass(repr=False)
class TopicTrend(Result):
    """Topic shares by period with Wilson intervals, and which topics are emerging.

    ``shares``: period, topic, label, n (comments), k (mentions), share, ci_low, ci_high.
    ``tests``: topic, label, share_before, share_recent, rise (points) with rise_low/high,
    p (one-sided), q (Benjamini-Hochberg), emerging (q <= fdr and rise > 0).
    """

    shares: pd.DataFrame
    tests: pd.DataFrame
    recent: int
    fdr: float
    level: float
    n: int

    def summary(self) -> pd.DataFrame:
        return self.tests.round(4)

    def headline(self) -> str:
        t = self.tests.dropna(subset=["rise"])
        if t.empty:
            return f"Too few periods to compare (no interval: one period only; n = {self.n:,})"
        em = t[t["emerging"]]
        top = (em if len(em) else t).sort_values("rise", ascending=False).iloc[0]
        ci = ci_text(top["rise_low"], top["rise_high"], self.level, "+.1f")
        if len(em):
            return (f"{top['label']} is emerging: {100 * top['share_before']:.1f}% -> "
                    f"{100 * top['share_recent']:.1f}% of comments ({top['rise']:+.1f} points, "
                    f"{ci}; q = {top['q']:.3f}; n = {self.n:,})")
        return (f"No topic rose beyond noise (FDR {self.fdr:.0%}); largest rise {top['label']} "
                f"{top['rise']:+.1f} points ({ci}; n = {self.n:,})")

    def plot(self, title: str | None = None) -> go.Figure:
        """Each topic's share of comments by period, with its sampling-error band."""
        from ..plots import TEMPLATE, escape_label, style

        fig = go.Figure()
        emerging = set(self.tests.loc[self.tests["emerging"], "topic"])
        for i, (topic, g) in enumerate(self.shares.groupby("topic", sort=False)):
            label = escape_label(g["label"].iat[0]) + (" (emerging)" if topic in emerging else "")
            colour = TEMPLATE.layout.colorway[i % len(TEMPLATE.layout.colorway)]
            x = g["period"].astype(str)
            fig.add_trace(go.Scatter(x=pd.concat([x, x[::-1]]),
                                     y=100 * pd.concat([g["ci_high"], g["ci_low"][::-1]]),
                                     fill="toself", line=dict(width=0), opacity=0.15,
                                     fillcolor=colour, showlegend=False, hoverinfo="skip",
                                     legendgroup=str(i)))
            fig.add_trace(go.Scatter(x=x, y=100 * g["share"], mode="lines+markers", name=label,
                                     line=dict(color=colour, width=3 if topic in emerging else 1.5),
                                     legendgroup=str(i), customdata=g[["n"]].to_numpy(),
                                     hovertemplate=label + ": %{y:.1f}% (n=%{customdata[0]})"
                                                           "<extra></extra>"))
        style(fig, title=escape_label(title or self.headline()),
              yaxis_title=f"share of comments (%, {self.level:.0%} Wilson band)",
              xaxis_title="")
        return fig


def topic_trend(frame: pd.DataFrame, codes: pd.DataFrame, date: str = "response_date",
                text: str = "verbatim", freq: str = "M", recent: int = 3, fdr: float = 0.05,
                level: float = 0.95, labels: dict[str, str] | None = None) -> TopicTrend:
    """Share of comments per topic by period; emerging = the last ``recent`` periods' share
    above the earlier periods' beyond noise (one-sided z-test, BH at ``fdr`` across topics).
    Only answers with a comment count."""
    from ..metrics import wilson_interval

    where = "topic_trend"
    check_between("fdr", fdr, 0, 1, where)
    check_at_least("recent", recent, 1, where)
    x = _check_codes(frame, codes, where)
    if date not in frame.columns:
        raise DataError(f"{where}: date column {date!r} not found")
    when = pd.to_datetime(frame[date], errors="coerce")
    has = (frame[text].notna().to_numpy() if text in frame.columns else np.ones(len(frame), bool)
           ) & when.notna().to_numpy()
    period = when[has].dt.to_period(freq).to_numpy()
    xs = x[has]
    names = list(codes.columns)
    label = {t: (labels or {}).get(t, t) for t in names}
    periods = np.sort(pd.unique(period))
    rows = []
    for per in periods:
        sel = period == per
        k = xs[sel].sum(axis=0)
        lo, hi = wilson_interval(k / sel.sum(), sel.sum(), level)
        for j, t in enumerate(names):
            rows.append((per, t, label[t], int(sel.sum()), int(k[j]), k[j] / sel.sum(),
                         float(np.atleast_1d(lo)[j]), float(np.atleast_1d(hi)[j])))
    shares = pd.DataFrame(rows, columns=["period", "topic", "label", "n", "k", "share", "ci_low",
                                         "ci_high"])
    z = stats.norm.ppf(0.5 + level / 2)
    if len(periods) > recent:
        late = np.isin(period, periods[-recent:])
        n1, n0 = late.sum(), (~late).sum()
        p1, p0 = xs[late].mean(axis=0), xs[~late].mean(axis=0)
        pooled = xs.mean(axis=0)
        se0 = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
        with np.errstate(invalid="ignore", divide="ignore"):
            pval = np.where(se0 > 0, stats.norm.sf((p1 - p0) / se0), 1.0)
        se = np.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
        rise = 100 * (p1 - p0)
        tests = pd.DataFrame({"topic": names, "label": [label[t] for t in names],
                              "share_before": p0, "share_recent": p1, "rise": rise,
                              "rise_low": rise - 100 * z * se, "rise_high": rise + 100 * z * se,
                              "p": pval})
        tests["q"] = benjamini_hochberg(tests["p"])
        tests["emerging"] = (tests["q"] <= fdr) & (tests["rise"] > 0)
    else:
        tests = pd.DataFrame({"topic": names, "label": [label[t] for t in names]}).assign(
            share_before=np.nan, share_recent=np.nan, rise=np.nan, rise_low=np.nan,
            rise_high=np.nan, p=np.nan, q=np.nan, emerging=False)
    tests = tests.sort_values("p", na_position="last", ignore_index=True)
    return TopicTrend(shares, tests, recent, fdr, level, int(has.sum()))
