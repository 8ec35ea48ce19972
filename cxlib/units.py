"""Units of a company (stores, regions, organisations): which there are, and where one stands.

- :func:`unit_table` lists the units of a column with the levels above them (the dataset
  description's ``hierarchy``), display names and their n; ``cx report --per`` renders one
  page per unit from it;
- :func:`standing` puts one unit beside the whole company and ranks it among its peers:
  NPS of both with adjusted-Wald intervals (:func:`cxlib.metrics.nps`), and the unit's rank
  with a bootstrap interval (each peer's promoter/passive/detractor counts redrawn,
  multinomial with its effective n, every replicate ranked; Goldstein & Spiegelhalter 1996,
  "League tables and their limitations"). A rank without its interval overstates what a
  league table knows: among 50 stores of a few hundred answers, ranks 10 and 30 are
  often indistinguishable.

The data are those of :func:`cxlib.open_data` with ``where={column: unit}``: restricted to
the unit, ``data.company`` the whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .errors import DataError
from .metrics import nps
from .results import Result, ci_text

__all__ = ["Standing", "standing", "unit_table", "unit_answers"]


def unit_answers(data, column: str) -> pd.DataFrame:
    """The company's answers with ``column`` (joined from the customers when it is theirs)."""
    company = data.company if hasattr(data, "company") else data
    if "responses" not in company:
        raise DataError(f"{company.source.location}: no answers to compare units by")
    answers = company["responses"]
    if column not in answers.columns:
        customers = company["customers"] if "customers" in company else None
        if customers is None or column not in customers.columns:
            raise DataError(f"{company.source.location}: no column {column!r} in the "
                            "customers or the answers to choose a unit by")
        answers = answers.merge(customers[["customer_id", column]], on="customer_id",
                                how="left")
    return answers


def unit_table(data, column: str, min_n: int = 30) -> pd.DataFrame:
    """One row per unit of ``column``: the levels above it in the description's
    ``hierarchy`` (those that are columns of the customers or answers), ``unit``, ``label``
    (display name), ``customers``, ``n`` (answers with an NPS; customers when there are no
    answers) and ``small`` (n below ``min_n``); in hierarchy order, then by unit.

    A level above that does not hold each unit in one value is an error naming both.
    """
    levels = list(data.dataset.hierarchy)
    parents = levels[:levels.index(column)] if column in levels else []
    customers = data["customers"] if "customers" in data else None
    if "responses" in data:
        rows = unit_answers(data, column)
        for level in parents:
            if level not in rows.columns and customers is not None and level in customers:
                rows = rows.merge(customers[["customer_id", level]], on="customer_id",
                                  how="left")
        score = rows["nps"].notna() if "nps" in rows else pd.Series(True, rows.index)
    elif customers is not None and column in customers.columns:
        rows, score = customers, pd.Series(True, customers.index)
    else:
        raise DataError(f"{data.source.location}: no column {column!r} to choose a unit by")
    parents = [p for p in parents if p in rows.columns]
    rows = rows.assign(_answered=score.to_numpy())
    rows = rows[rows[column].notna()]
    keys = [*parents, column]
    nested = rows.groupby(column)[parents].nunique() if parents else pd.DataFrame()
    for level in parents:
        split = nested.index[nested[level] > 1].tolist()
        if split:
            raise DataError(f"hierarchy: {column} {split[0]!r} lies in several {level}s; "
                            f"a {column} must lie in one {level} (hierarchy {levels})")
    table = rows.groupby(keys, dropna=False).agg(n=("_answered", "sum")).reset_index()
    if customers is not None and column in customers.columns:
        table["customers"] = table[column].map(customers.groupby(column).size()).fillna(0)
    else:
        table["customers"] = table[column].map(rows.groupby(column)["customer_id"].nunique())
    table = table.rename(columns={column: "unit"})
    table["unit"] = table["unit"].astype(str)
    table["label"] = table["unit"].map(lambda v: data.dataset.label("units", v))
    table["n"] = table["n"].astype(int)
    table["customers"] = table["customers"].astype(int)
    table["small"] = table["n"] < min_n
    table.attrs.update(column=column, levels=parents, min_n=min_n)
    return table.sort_values([*parents, "unit"]).reset_index(drop=True)[
        [*parents, "unit", "label", "customers", "n", "small"]]


@dataclass(repr=False)
class Standing(Result):
    """One unit beside the company and its rank among its peers (units with n >= min_n)."""

    column: str
    unit: str
    label: str
    peers: pd.DataFrame  # one row per peer: unit, n, n_eff, nps, ci_low, ci_high, rank, ...
    company: pd.Series  # n, n_eff, nps, ci_low, ci_high of the whole company
    level: float
    n_boot: int

    @property
    def row(self) -> pd.Series:
        return self.peers.loc[self.peers["unit"] == self.unit].iloc[0]

    def summary(self) -> pd.DataFrame:
        """The unit and the company: NPS with interval and n; the unit's rank (1 = highest
        NPS) with its interval, out of how many peers, and its percentile."""
        r, c = self.row, self.company
        cols = ["nps", "ci_low", "ci_high", "n", "n_eff"]
        out = pd.DataFrame([r[cols], c[cols]]).astype(float)
        out.insert(0, "who", [self.label, "whole company"])
        out["n"] = out["n"].astype(int)
        for name in ("rank", "rank_low", "rank_high", "percentile"):
            out[name] = [r[name], np.nan]
        out["peers"] = [len(self.peers), np.nan]
        return out.reset_index(drop=True)

    def headline(self) -> str:
        r, c, k = self.row, self.company, len(self.peers)
        ci = lambda a, b: ci_text(a, b, self.level, ".1f")  # noqa: E731
        return (f"{self.label}: NPS {r.nps:.1f} ({ci(r.ci_low, r.ci_high)}, n = {int(r.n):,}) "
                f"beside the whole company's {c.nps:.1f} ({ci(c.ci_low, c.ci_high)}, "
                f"n = {int(c.n):,}); rank {int(r['rank'])} of {k} {self.column} units "
                f"({self.level:.0%} interval {int(r.rank_low)} to {int(r.rank_high)}, "
                f"bootstrap, {self.n_boot} resamples), percentile {r.percentile:.0f}.")

    def plot(self) -> go.Figure:
        """Every peer's NPS with its interval, best first; the unit marked, the company's
        NPS a line."""
        from .plots import TEMPLATE, escape_label

        t = self.peers.sort_values("nps", ascending=False)
        mine = t["unit"] == self.unit
        fig = go.Figure(go.Scatter(
            x=t["label"].map(escape_label), y=t["nps"], mode="markers",
            marker=dict(size=[12 if m else 7 for m in mine],
                        color=["#c23b3b" if m else "#1f5fa8" for m in mine]),
            error_y=dict(type="data", symmetric=False, array=t["ci_high"] - t["nps"],
                         arrayminus=t["nps"] - t["ci_low"], color="#999", thickness=1),
            customdata=t[["ci_low", "ci_high", "n"]].to_numpy(),
            hovertemplate="%{x}: NPS %{y:.1f} (%{customdata[0]:.1f} to %{customdata[1]:.1f}),"
                          " n = %{customdata[2]:,.0f}<extra></extra>"))
        fig.add_hline(y=float(self.company.nps), line_dash="dot", line_color="#555",
                      annotation_text=f"whole company {self.company.nps:.1f}",
                      annotation_position="top right")
        r = self.row
        fig.update_layout(
            template=TEMPLATE, showlegend=False, height=420,
            title=escape_label(f"{self.label}: rank {int(r['rank'])} of {len(t)} "
                               f"(interval {int(r.rank_low)} to {int(r.rank_high)})"),
            xaxis_title=f"{self.column} (highest NPS first)",
            yaxis_title=f"NPS (points, {self.level:.0%} CI)")
        fig.update_xaxes(showticklabels=len(t) <= 60, tickangle=-60)
        return fig


def standing(data, *, weight: str | None = "weight", level: float = 0.95, min_n: int = 30,
             n_boot: int = 1000, seed: int = 0) -> Standing:
    """The unit ``data`` are restricted to (``cxlib.open_data(..., where={column: unit})``)
    beside the whole company and ranked among its peers: the units of the same column with
    at least ``min_n`` effective answers, the unit itself always among them.

    NPS per unit and of the company: :func:`cxlib.metrics.nps` (``weight``, adjusted-Wald
    intervals at ``level``). Rank 1 is the highest NPS; its interval: the ``level``
    percentile interval of the unit's rank over ``n_boot`` parametric bootstrap replicates
    (``seed``). Percentile: the share of the other peers the unit is above (0-100).
    """
    where = dict(getattr(data, "where", {}) or {})
    if len(where) != 1:
        raise DataError("standing: the data must be restricted to one unit "
                        "(cxlib.open_data(source, engine, where={column: unit}))")
    (column, unit), = where.items()
    answers = unit_answers(data, column)
    w = weight if weight and weight in answers.columns else None
    answers = answers[answers[column].notna()].assign(**{column: lambda f: f[column].astype(str)})
    by_unit = nps(answers, by=column, weight=w, level=level, min_n=min_n)
    by_unit = by_unit.rename(columns={column: "unit"})
    if str(unit) not in set(by_unit["unit"]):
        raise DataError(f"standing: {column} {unit!r} has no NPS answer")
    peers = by_unit[(by_unit["n_eff"] >= min_n) | (by_unit["unit"] == str(unit))]
    peers = peers.reset_index(drop=True).copy()
    company = nps(answers, weight=w, level=level, min_n=min_n).iloc[0]
    ranks = _bootstrap_ranks(peers, n_boot, seed)
    alpha = (1 - level) / 2
    higher = (peers["nps"].to_numpy()[None, :] > peers["nps"].to_numpy()[:, None]).sum(axis=1)
    peers["rank"] = 1 + higher
    peers["rank_low"] = np.floor(np.quantile(ranks, alpha, axis=0)).astype(int)
    peers["rank_high"] = np.ceil(np.quantile(ranks, 1 - alpha, axis=0)).astype(int)
    k = len(peers)
    peers["percentile"] = 100.0 * (k - peers["rank"]) / (k - 1) if k > 1 else 100.0
    peers["label"] = peers["unit"].map(lambda v: data.dataset.label("units", v))
    return Standing(column, str(unit), data.dataset.label("units", str(unit)), peers, company,
                    level, n_boot)


def _bootstrap_ranks(peers: pd.DataFrame, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, k) ranks of each peer (1 = highest NPS) in replicates where each peer's
    promoters, passives and detractors are redrawn (multinomial, its effective n)."""
    rng = np.random.default_rng(seed)
    shares = peers[["promoters", "passives", "detractors"]].to_numpy(float).clip(0, 1)
    shares = shares / shares.sum(axis=1, keepdims=True)
    size = np.maximum(np.rint(peers["n_eff"].to_numpy(float)), 1).astype(int)
    draws = np.stack([rng.multinomial(size[i], shares[i], size=n_boot)
                      for i in range(len(peers))], axis=1)  # (n_boot, k, 3)
    score = (draws[..., 0] - draws[..., 2]) / size[None, :]
    return 1 + (score[:, None, :] > score[:, :, None]).sum(axis=2)
