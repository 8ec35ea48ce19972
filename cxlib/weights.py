"""Survey weights for an unbalanced sample: raking with optional trimming.

:func:`rake` adjusts weights by iterative proportional fitting (raking) until the weighted
sample matches population margins on one or more categorical variables (Deville & Särndal
1992; Kolenikov 2014). Trimming bounds the weights relative to their mean as R's
``survey::trimWeights(strict=TRUE)`` does, alternated with raking so the margins still hold
where they can. Methods and the check against R: ``docs/weights.md``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import ConvergenceWarning, DataError, ModelError
from .results import Result
from .checks import MAX_ROWS_SHOWN, row_numbers, rows_text
from .schema import as_numbers, require_columns

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["Raking", "rake", "trim_weights"]

MARGIN_COLUMNS = ["variable", "category", "target", "target_share", "sample_n",
                  "sample_share", "weighted", "weighted_share", "error"]
_SHARE_SUM = 1e-6          # targets summing to 1 within this are shares
_TOTALS_AGREE = 1e-6       # count margins must agree in total within this (relative)
_MAX_TRIM_PASSES = 10_000  # strict trimming passes; each pass caps what the last one pushed out


# -- result -----------------------------------------------------------------------------------

@dataclass(repr=False)
class Raking(Result):
    """Raked weights and their diagnostics.

    ``weights`` is a Series aligned to the frame's index. ``margins`` has one row per
    variable and category: ``target`` (in weight units) and ``target_share``, the unweighted
    ``sample_n``/``sample_share``, the ``weighted`` total and share, and ``error`` (weighted
    minus target share). Design effect is Kish's 1 + CV² of the weights (population CV),
    effective n = n / deff.
    """

    weights: pd.Series
    margins: pd.DataFrame
    converged: bool
    iterations: int
    trim_rounds: int
    trim: tuple[float, float] | None
    n_trimmed: int

    @property
    def n(self) -> int:
        return int(len(self.weights))

    @property
    def deff(self) -> float:
        w = self.weights.to_numpy(dtype=float)
        return float(len(w) * np.sum(w**2) / np.sum(w) ** 2)

    @property
    def n_eff(self) -> float:
        return self.n / self.deff

    @property
    def max_margin_error(self) -> float:
        return float(self.margins["error"].abs().max())

    def summary(self) -> pd.DataFrame:
        """One row per diagnostic: value and what it means."""
        w = self.weights
        rows = [
            ("converged", self.converged, "margins reached within tol"),
            ("iterations", self.iterations, "raking sweeps (last round)"),
            ("trim_rounds", self.trim_rounds, "trim-then-rake rounds"),
            ("max_margin_error", self.max_margin_error, "largest |weighted - target| share"),
            ("n", self.n, "rows weighted"),
            ("deff", self.deff, "Kish design effect, 1 + CV² of the weights"),
            ("n_eff", self.n_eff, "effective n = n / deff"),
            ("weight_min", float(w.min()), "smallest weight"),
            ("weight_max", float(w.max()), "largest weight"),
            ("weight_ratio", float(w.max() / w.min()), "largest / smallest weight"),
            ("n_trimmed", self.n_trimmed, "weights outside the trim bounds before trimming"),
        ]
        frame = pd.DataFrame(rows, columns=["diagnostic", "value", "meaning"])
        return frame.set_index("diagnostic")

    def headline(self) -> str:
        trimmed = (f"; {self.n_trimmed:,} weights trimmed to {self.trim[0]:g}-{self.trim[1]:g} "
                   f"x the mean" if self.trim else "")
        state = "" if self.converged else " (NOT converged: read the diagnostics)"
        return (f"Raked to {self.margins['variable'].nunique()} margins{state}: effective n = "
                f"{self.n_eff:,.0f} of n = {self.n:,} (design effect {self.deff:.2f}; weights "
                f"{self.weights.min():.3g}-{self.weights.max():.3g}{trimmed}; no interval: "
                f"weights describe the design, they estimate nothing)")

    def plot(self, title: str | None = None) -> go.Figure:
        """Sample, target and weighted share of each category, in percent."""
        import plotly.graph_objects as go

        from .plots import escape_label, style

        m = self.margins
        labels = [escape_label(f"{v}: {c}") for v, c in zip(m["variable"], m["category"])]
        fig = go.Figure()
        for col, name, colour in [("sample_share", "sample (unweighted)", "#8c8c8c"),
                                  ("target_share", "target", "#1f5fa8"),
                                  ("weighted_share", "weighted", "#e07b39")]:
            fig.add_trace(go.Bar(x=labels, y=100 * m[col], name=name, marker_color=colour,
                                 hovertemplate="%{x}: %{y:.1f}%<extra>" + name + "</extra>"))
        style(fig, barmode="group", title=title or self.headline(),
              yaxis_title="share of the total (%)", xaxis_title="")
        return fig

    def plot_weights(self, title: str | None = None) -> go.Figure:
        """Histogram of the weights relative to their mean."""
        import plotly.graph_objects as go

        from .plots import style

        rel = self.weights / self.weights.mean()
        fig = go.Figure(go.Histogram(x=rel, nbinsx=40, marker_color="#1f5fa8"))
        if self.trim:
            for bound in self.trim:
                if 0 < bound < math.inf:
                    fig.add_vline(x=bound, line_dash="dot", line_color="#c23b3b")
        style(fig, title=title or self.headline(),
              xaxis_title="weight / mean weight",
              yaxis_title=f"respondents (n={self.n:,})", showlegend=False)
        return fig


# -- inputs -----------------------------------------------------------------------------------

def _margin_table(margins: Any) -> dict[str, pd.Series]:
    """Margins as {variable: Series(category -> target)}, targets checked."""
    if isinstance(margins, pd.DataFrame):
        require_columns(margins, ["variable", "category", "target"], "rake: margins")
        margins = {v: g.set_index("category")["target"]
                   for v, g in margins.groupby("variable", sort=False)}
    if not isinstance(margins, Mapping) or not margins:
        raise DataError("rake: margins must be a non-empty dict of column -> {category: target} "
                        "or a DataFrame with columns variable, category, target")
    out: dict[str, pd.Series] = {}
    for var, cells in margins.items():
        s = pd.Series(cells, dtype=object) if isinstance(cells, Mapping) else pd.Series(cells)
        if s.empty:
            raise DataError(f"rake: margins for {var!r} are empty")
        if s.index.duplicated().any():
            dup = s.index[s.index.duplicated()].unique().tolist()
            raise DataError(f"rake: margins for {var!r} name categories twice: "
                            f"{', '.join(map(_show, dup[:MAX_ROWS_SHOWN]))}")
        target = pd.to_numeric(s, errors="coerce").astype(float)
        bad = ~np.isfinite(target) | (target < 0)
        if bad.any():
            shown = ", ".join(f"{_show(c)}: {s[c]!r}" for c in s.index[bad][:MAX_ROWS_SHOWN])
            raise DataError(f"rake: margins for {var!r} need numbers >= 0 ({shown})")
        out[str(var)] = target
    return out


def _codes(frame: pd.DataFrame, var: str, categories: pd.Index) -> np.ndarray:
    """Position of each row's category in ``categories``; DataError for NaN or unknown ones."""
    values = frame[var]
    missing = values.isna().to_numpy()
    if missing.any():
        raise DataError(f"rake: column {var!r} has {int(missing.sum())} missing values "
                        f"(rows {_rows(missing)}); drop or impute them before raking")
    codes = categories.get_indexer(values)
    unknown = codes < 0
    if unknown.any():
        absent = pd.unique(values[unknown])
        hint = ""
        if set(map(str, absent)) <= set(map(str, categories)):
            hint = " (the margins spell them differently: text vs numbers?)"
        raise DataError(f"rake: column {var!r} has categories not in the margins: "
                        f"{', '.join(map(_show, absent[:MAX_ROWS_SHOWN]))}{hint} "
                        f"(rows {_rows(unknown)})")
    return codes


def _show(value: Any) -> str:
    """repr of a category, numpy scalars as plain Python values."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _rows(mask: np.ndarray) -> str:
    return rows_text(row_numbers(mask))


def _base_weights(frame: pd.DataFrame, weight: str | None) -> np.ndarray:
    if weight is None:
        return np.ones(len(frame))
    require_columns(frame, [weight], "rake: base weight")
    w = as_numbers(frame[weight], f"rake: base weight column {weight!r}")
    bad = ~np.isfinite(w) | (w <= 0)
    if bad.any():
        raise DataError(f"rake: base weight column {weight!r} has {int(bad.sum())} values that "
                        f"are missing, zero or negative (rows {_rows(bad)})")
    return w


def _targets(margins: dict[str, pd.Series], base_total: float) -> dict[str, pd.Series]:
    """Targets in weight units: counts as given (totals must agree), shares x base total."""
    sums = {v: float(t.sum()) for v, t in margins.items()}
    shares = {v for v, s in sums.items() if abs(s - 1.0) <= _SHARE_SUM}
    if shares and len(shares) < len(sums):
        counts = [v for v in sums if v not in shares]
        raise DataError(f"rake: margins mix shares ({', '.join(map(repr, sorted(shares)))}) and "
                        f"counts ({', '.join(map(repr, counts))}); give all as counts or all "
                        f"as shares")
    if shares:
        return {v: t / sums[v] * base_total for v, t in margins.items()}
    first = next(iter(sums.values()))
    if any(abs(s - first) > _TOTALS_AGREE * first for s in sums.values()):
        shown = ", ".join(f"{v!r} sums to {s:,.6g}" for v, s in sums.items())
        raise DataError(f"rake: count margins disagree in total ({shown}); they must describe "
                        f"one population (or give shares)")
    return margins


def _check_cells(var: str, target: pd.Series, codes: np.ndarray, base: np.ndarray) -> None:
    """Every positive ``target`` (as the analyst gave it) has respondents; no zero one has."""
    present = np.bincount(codes, weights=base, minlength=len(target)) > 0
    empty = (~present) & (target.to_numpy() > 0)
    if empty.any():
        cells = ", ".join(f"{_show(c)} (target {t:,.6g})" for c, t in target[empty].items())
        raise DataError(f"rake: margin {var!r} has no respondents in {cells}; merge it with a "
                        f"neighbouring category or drop it from the margins")
    zero = present & (target.to_numpy() == 0)
    if zero.any():
        cells = ", ".join(map(_show, target.index[zero]))
        rows = np.isin(codes, np.flatnonzero(zero))
        raise DataError(f"rake: margin {var!r} has target 0 for {cells} but respondents have it "
                        f"(rows {_rows(rows)}); drop those rows or give a positive target")


# -- algorithms -------------------------------------------------------------------------------

def _ipf(w: np.ndarray, codes: list[np.ndarray], targets: list[np.ndarray], total: float,
         max_iter: int, tol: float) -> tuple[np.ndarray, int, float]:
    """Iterative proportional fitting from ``w``: (weights, sweeps, max share error)."""
    w = w.copy()
    error = math.inf
    for sweep in range(1, max_iter + 1):
        for c, t in zip(codes, targets):
            sums = np.bincount(c, weights=w, minlength=len(t))
            factor = np.divide(t, sums, out=np.zeros_like(t), where=sums > 0)
            w *= factor[c]
        error = max(float(np.max(np.abs(np.bincount(c, weights=w, minlength=len(t)) - t)))
                    for c, t in zip(codes, targets)) / total
        if error <= tol:
            return w, sweep, error
    return w, max_iter, error


def trim_weights(weights: np.ndarray, lower: float, upper: float) -> np.ndarray:
    """Cap weights to ``[lower, upper]`` (absolute) and spread what was cut equally over the
    weights that were inside, repeated until none is outside: R's
    ``survey::trimWeights(strict=TRUE)``. The total is kept."""
    w = np.asarray(weights, dtype=float).copy()
    for _ in range(_MAX_TRIM_PASSES):
        outside = (w < lower) | (w > upper)
        if not outside.any() or outside.all():
            break
        capped = np.clip(w, lower, upper)
        capped[~outside] += np.sum(w - capped) / np.sum(~outside)
        w = capped
    return w


# -- the estimator ----------------------------------------------------------------------------

def rake(frame: pd.DataFrame, margins: Mapping[str, Any] | pd.DataFrame, *,
         weight: str | None = None, trim: tuple[float, float] | None = None,
         max_iter: int = 1000, tol: float = 1e-10, max_trim_rounds: int = 200) -> Raking:
    """Rake weights so the weighted ``frame`` matches ``margins`` (iterative proportional fitting).

    ``margins``: ``{column: {category: target}}`` (a dict or Series per column), or a long
    DataFrame with columns ``variable``, ``category``, ``target``. Targets are population
    counts (all margins must then sum to the same total, and the weights sum to it) or shares
    summing to 1 (the weights then sum to the base weights' total, n without them). Every
    category in the data needs a margin; every margin with a positive target needs respondents.
    ``weight`` names a column of positive base (design) weights to start from.

    ``trim=(low, high)`` bounds the weights to low..high times the mean weight: the raked
    weights are trimmed as R's ``survey::trimWeights(strict=TRUE)`` (cut and spread equally),
    then raked again, until the raked weights lie within the bounds (to ``tol`` relative).
    The returned weights are always raked ones; if the bounds and margins cannot both hold a
    :class:`~cxlib.errors.ConvergenceWarning` says so. ``tol`` is the largest accepted gap
    between a weighted and a target share. Method: Deville & Särndal (1992), Kolenikov (2014);
    design effect: Kish (1965).
    """
    if not isinstance(frame, pd.DataFrame) or frame.empty:
        raise DataError("rake: frame must be a non-empty DataFrame")
    table = _margin_table(margins)
    require_columns(frame, list(table), "rake")
    low, high = _trim_bounds(trim)
    if max_iter < 1 or not tol > 0:
        raise ModelError(f"rake: need max_iter >= 1 and tol > 0 (got {max_iter}, {tol})")

    base = _base_weights(frame, weight)
    index = {v: pd.Index(t.index) for v, t in table.items()}
    codes = {v: _codes(frame, v, index[v]) for v in table}
    targets = _targets(table, float(base.sum()))
    for v in table:
        _check_cells(v, table[v], codes[v], base)

    c_list = [codes[v] for v in table]
    t_list = [targets[v].to_numpy(dtype=float) for v in table]
    total = float(t_list[0].sum())
    w, sweeps, error = _ipf(base, c_list, t_list, total, max_iter, tol)
    converged = error <= tol
    n_trimmed = rounds = 0
    if trim is not None and converged:
        mean = total / len(w)
        lo, hi = low * mean, high * mean
        outside = (w < lo * (1 - tol)) | (w > hi * (1 + tol))
        n_trimmed = int(outside.sum())
        while outside.any() and rounds < max_trim_rounds:
            rounds += 1
            previous = w
            w, sweeps, error = _ipf(trim_weights(w, lo, hi), c_list, t_list, total, max_iter, tol)
            outside = (w < lo * (1 - tol)) | (w > hi * (1 + tol))
            if error > tol or np.max(np.abs(w - previous)) <= tol * mean:
                break
        converged = error <= tol
        if converged and outside.any():
            warnings.warn(
                f"rake: the margins cannot hold with weights within {low:g}-{high:g} x the mean: "
                f"after {rounds} trim rounds {int(outside.sum())} weights stay outside (range "
                f"{w.min() / mean:.3g}-{w.max() / mean:.3g} x the mean); the weights returned "
                f"meet the margins. Widen the bounds or merge small categories.",
                ConvergenceWarning, stacklevel=2)
    if not converged:
        worst = max(table, key=lambda v: np.max(np.abs(
            np.bincount(codes[v], weights=w, minlength=len(targets[v])) - targets[v])))
        warnings.warn(
            f"rake: did not converge after {sweeps} sweeps: largest margin error {error:.3g} "
            f"(share of the total, tol {tol:g}), worst in {worst!r}. The margins may contradict "
            f"each other for this sample (e.g. categories that only occur together).",
            ConvergenceWarning, stacklevel=2)

    return Raking(weights=pd.Series(w, index=frame.index, name="weight"),
                  margins=_achieved(frame, table, targets, codes, w, total),
                  converged=converged, iterations=sweeps, trim_rounds=rounds,
                  trim=None if trim is None else (low, high), n_trimmed=n_trimmed)


def _trim_bounds(trim: tuple[float, float] | None) -> tuple[float, float]:
    if trim is None:
        return 0.0, math.inf
    try:
        low, high = (float(b) for b in trim)
    except (TypeError, ValueError):
        raise ModelError(f"rake: trim must be (low, high) relative to the mean weight, "
                         f"got {trim!r}") from None
    if not (0 <= low < 1 < high):
        raise ModelError(f"rake: trim bounds must satisfy 0 <= low < 1 < high (relative to the "
                         f"mean weight), got ({low:g}, {high:g})")
    return low, high


def _achieved(frame: pd.DataFrame, table: dict[str, pd.Series], targets: dict[str, pd.Series],
              codes: dict[str, np.ndarray], w: np.ndarray, total: float) -> pd.DataFrame:
    parts = []
    for v in table:
        k = len(targets[v])
        n = np.bincount(codes[v], minlength=k)
        weighted = np.bincount(codes[v], weights=w, minlength=k)
        t = targets[v].to_numpy(dtype=float)
        parts.append(pd.DataFrame({
            "variable": v, "category": list(targets[v].index), "target": t,
            "target_share": t / total, "sample_n": n, "sample_share": n / len(frame),
            "weighted": weighted, "weighted_share": weighted / w.sum(),
            "error": weighted / w.sum() - t / total}))
    return pd.concat(parts, ignore_index=True)[MARGIN_COLUMNS]
