"""Measurement quality of reflective item blocks: reliability and discriminant validity.

Every statistic works from a block's correlation (or covariance) matrix, so the
missing-value policy is one explicit choice, ``missing=``:

* ``"error"`` (default): any missing answer raises :class:`~cxlib.errors.DataError`
  naming the items and rows;
* ``"drop"``: listwise deletion (rows with any missing item in the block are left out);
* ``"pairwise"``: each correlation uses the rows where both items are answered.

Conventions follow R plspm's ``unidim`` (Sanchez 2013, *PLS Path Modeling with R*):
items are standardised within the block; Cronbach's alpha is the standardised alpha;
Dillon-Goldstein's rho uses the loadings on the first principal component;
eigenvalues are those of the block's correlation matrix. References: Cronbach (1951);
Werts, Linn & Joreskog (1974) for composite reliability; Fornell & Larcker (1981)
for AVE and their criterion; Dijkstra & Henseler (2015, MIS Quarterly 39(2)) for
rho_A; Henseler, Ringle & Sarstedt (2015, JAMS 43) for HTMT.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from .checks import check_option, row_numbers, rows_text
from .errors import DataError, ParameterError
from .schema import as_numbers

__all__ = ["WeightedCorr", "cov_to_corr", "component_loadings", "cronbach_alpha", "dillon_goldstein_rho", "block_eigenvalues",
           "composite_reliability", "ave", "rho_a", "FIRST_COMPONENT", "htmt", "fornell_larcker",
           "item_correlations", "first_component_loadings", "MISSING_POLICIES"]

Missing = Literal["error", "drop", "pairwise"]
MISSING_POLICIES: tuple[str, ...] = ("error", "drop", "pairwise")


# --- input checks -------------------------------------------------------------------------

def _numeric_block(items: pd.DataFrame, missing: str, min_items: int = 2,
                   what: str = "block") -> pd.DataFrame:
    """The block as float columns, checked: enough items, numeric, no constant item."""
    check_option("missing", missing, MISSING_POLICIES, where=what)
    if not isinstance(items, pd.DataFrame):
        raise DataError(f"{what}: expected a DataFrame of item columns, got {type(items).__name__}")
    if items.shape[1] < min_items:
        raise DataError(f"{what}: {items.shape[1]} item(s) ({', '.join(map(str, items.columns))}); "
                        f"this statistic needs at least {min_items} items")
    if items.columns.duplicated().any():
        dup = items.columns[items.columns.duplicated()].tolist()
        raise DataError(f"{what}: duplicated item columns {dup}")
    out = {}
    for col in items.columns:
        out[col] = as_numbers(items[col], f"{what}: item {col!r}")
    frame = pd.DataFrame(out, index=items.index)
    na = frame.isna()
    if na.to_numpy().any():
        if missing == "error":
            cols = [c for c in frame.columns if na[c].any()]
            raise DataError(f"{what}: missing answers in {', '.join(map(str, cols))} "
                            f"({rows_text(row_numbers(na.any(axis=1)), count=True)}); "
                            "pass missing='drop' or 'pairwise'")
        if missing == "drop":
            frame = frame.dropna()
    if len(frame.dropna(how="all")) < 3:
        raise DataError(f"{what}: fewer than 3 usable rows")
    sd = frame.std()
    const = [str(c) for c in frame.columns if not (sd[c] > 0)]
    if const:
        raise DataError(f"{what}: item(s) {', '.join(const)} are constant (or have fewer than "
                        "two answers); a constant item has no correlation with the others")
    return frame


def item_correlations(items: pd.DataFrame, missing: Missing = "error") -> pd.DataFrame:
    """Pearson correlations of the items under the chosen missing-value policy."""
    block = _numeric_block(items, missing)
    corr = block.corr()
    if corr.isna().to_numpy().any():
        raise DataError("items: some pairs of items have no rows answered in common")
    return corr


def cov_to_corr(cov: np.ndarray) -> np.ndarray:
    """The correlation matrix of a covariance (or cross-product) matrix."""
    sd = np.sqrt(np.diag(cov))
    with np.errstate(invalid="ignore", divide="ignore"):
        return cov / np.outer(sd, sd)


class WeightedCorr:
    """Correlation matrices of the columns of ``values`` under row frequency weights.

    ``WeightedCorr(values)(w)`` equals the correlation of the data with row i repeated
    ``w[i]`` times: a bootstrap resample is its counts (``np.bincount`` of the drawn rows),
    so a resample costs one weighted cross product instead of copying the rows. The data
    are centred once (at the column means: a resample's means are close, which keeps the
    one-pass formula accurate) and kept transposed for BLAS. Missing values: pairwise
    complete (as ``DataFrame.corr``), from weighted sums over rows where both are present.
    """

    def __init__(self, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=float)
        present = ~np.isnan(values)
        self.complete = bool(present.all())
        centre = np.nanmean(values, axis=0) if present.any() else np.zeros(values.shape[1])
        x = np.where(present, values - centre, 0.0)
        self._xt = np.ascontiguousarray(x.T)
        self._x = np.ascontiguousarray(x)
        self._buf = np.empty_like(self._xt)  # reused: a fresh 8 x N array each call costs
        #                                      more in page faults than the arithmetic
        if not self.complete:
            self._pt = np.ascontiguousarray(present.T, dtype=float)
            self._p = np.ascontiguousarray(present, dtype=float)

    def __call__(self, w: np.ndarray) -> np.ndarray:
        w = np.asarray(w, dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            if self.complete:
                s = self._xt @ w
                return cov_to_corr(np.multiply(self._xt, w, out=self._buf) @ self._x
                                   - np.outer(s, s) / w.sum())
            wp = self._pt * w                      # weights where column i is present
            wx = np.multiply(self._xt, w, out=self._buf)
            n = wp @ self._p                       # n[i, j]: weight where i and j present
            sx = wx @ self._p                      # sum of x_i where j is present
            sxx = (wx * self._xt) @ self._p        # sum of x_i^2 where j is present
            sxy = wx @ self._x                     # sum of x_i x_j (zeros where absent)
            cov = sxy - sx * sx.T / n
            var = sxx - sx**2 / n
            return cov / np.sqrt(var * var.T)


def _eig(corr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values, vectors = np.linalg.eigh(corr)
    order = np.argsort(values)[::-1]
    return values[order], vectors[:, order]


# --- block statistics ---------------------------------------------------------------------

def cronbach_alpha(items: pd.DataFrame, standardized: bool = True,
                   missing: Missing = "error") -> float:
    """Cronbach's alpha of a block (0-1, negative values reported as 0 like plspm).

    ``standardized=True`` (default, as R plspm): alpha of the standardised items,
    p/(p-1) * (1 - p / sum of the correlation matrix). ``False``: the raw-score
    alpha from the covariance matrix, p/(p-1) * (1 - sum of item variances /
    variance of the total).
    """
    block = _numeric_block(items, missing)
    matrix = (block.corr() if standardized else block.cov()).to_numpy()
    p = matrix.shape[0]
    alpha = p / (p - 1) * (1 - np.trace(matrix) / matrix.sum())
    return float(max(alpha, 0.0))


def block_eigenvalues(items: pd.DataFrame, missing: Missing = "error") -> np.ndarray:
    """Eigenvalues of the block's correlation matrix, largest first (sum = number of items).

    A unidimensional block has one eigenvalue above 1 and a clearly smaller second one.
    """
    corr = item_correlations(items, missing).to_numpy()
    return _eig(corr)[0]


def first_component_loadings(items: pd.DataFrame, missing: Missing = "error") -> pd.Series:
    """Correlation of each item with the block's first principal component (sign: sum >= 0)."""
    corr = item_correlations(items, missing)
    return pd.Series(component_loadings(corr.to_numpy()), index=corr.index, name="loading")


def component_loadings(corr: np.ndarray) -> np.ndarray:
    """First-principal-component loadings from an item correlation matrix (sign: sum >= 0)."""
    if not np.isfinite(corr).all():
        raise DataError("items: the correlation matrix is undefined (an item does not vary "
                        "or two items have no rows in common)")
    values, vectors = _eig(corr)
    loadings = np.sqrt(max(values[0], 0.0)) * vectors[:, 0]
    return -loadings if loadings.sum() < 0 else loadings


def composite_reliability(loadings) -> float:
    """Composite reliability from standardised loadings (Werts, Linn & Joreskog 1974).

    (sum l)^2 / ((sum l)^2 + sum (1 - l^2)); with first-principal-component
    loadings this is Dillon-Goldstein's rho.
    """
    lam = np.asarray(loadings, dtype=float).ravel()
    if lam.size < 2:
        raise DataError(f"composite reliability needs at least 2 loadings, got {lam.size}")
    if not np.isfinite(lam).all():
        raise DataError("composite reliability: loadings contain missing or infinite values")
    if (np.abs(lam) > 1 + 1e-9).any():
        raise DataError("composite reliability: standardised loadings must lie in [-1, 1]")
    num = lam.sum() ** 2
    return float(num / (num + np.sum(1 - lam**2)))


def ave(loadings) -> float:
    """Average variance extracted: mean squared standardised loading (Fornell & Larcker 1981)."""
    lam = np.asarray(loadings, dtype=float).ravel()
    if lam.size < 1 or not np.isfinite(lam).all():
        raise DataError("AVE: loadings must be a non-empty set of finite numbers")
    return float(np.mean(lam**2))


def dillon_goldstein_rho(items: pd.DataFrame, missing: Missing = "error") -> float:
    """Dillon-Goldstein's rho as R plspm's ``unidim``: composite reliability of the loadings
    of the standardised items on the block's first principal component."""
    return composite_reliability(first_component_loadings(items, missing).to_numpy())


FIRST_COMPONENT = "first_component"
"""``rho_a(items, FIRST_COMPONENT)``: weights of the block's first principal component."""


def rho_a(items: pd.DataFrame, weights, missing: Missing = "error") -> float:
    """Dijkstra-Henseler's rho_A of a block for its outer weights.

    rho_A = (w'w)^2 * w'(S - diag S)w / w'(ww' - diag ww')w with S the items'
    correlation matrix and w rescaled so the composite has unit variance (w'Sw = 1).
    ``weights``: the block's PLS Mode A outer weights for standardised items (what
    seminr, cSEM and SmartPLS report; :func:`cxlib.kpimodel.measurement_quality` passes
    them), as a sequence in item order or a Series/dict by item; or
    ``"first_component"`` for a block outside a path model (the first principal
    component: the weights Mode A converges to with the block as its own proxy; not the
    PLS model's number). With equal weights rho_A equals standardised alpha.
    Returns NaN where undefined (all weight on one item).
    """
    corr = item_correlations(items, missing)
    s = corr.to_numpy()
    if isinstance(weights, str):
        check_option("weights", weights, (FIRST_COMPONENT,))
        w = _eig(s)[1][:, 0]
    elif weights is None:
        raise ParameterError("rho_a: pass the block's PLS outer weights (kpimodel's "
                             "PLSResult.outer) or weights='first_component'")
    else:
        if isinstance(weights, (pd.Series, dict)):
            w = pd.Series(weights, dtype=float).reindex(corr.index).to_numpy()
        else:
            w = np.asarray(weights, dtype=float).ravel()
        if w.size != s.shape[0] or not np.isfinite(w).all():
            raise DataError(f"rho_a: need one finite weight per item ({', '.join(corr.index)})")
    var = float(w @ s @ w)
    if not var > 0:
        raise DataError("rho_a: the weighted composite has zero variance")
    w = w / np.sqrt(var)
    outer = np.outer(w, w)
    denom = float(w @ (outer - np.diag(np.diag(outer))) @ w)
    if abs(denom) < 1e-12:
        return float("nan")
    return float((w @ w) ** 2 * (w @ (s - np.diag(np.diag(s))) @ w) / denom)


# --- discriminant validity ----------------------------------------------------------------

def htmt(data: pd.DataFrame, blocks: dict[str, list[str]], missing: Missing = "error",
         absolute: bool = True) -> pd.DataFrame:
    """Heterotrait-monotrait ratio for every pair of blocks (Henseler et al. 2015).

    Mean correlation between the items of two blocks divided by the geometric mean
    of the average within-block correlations. ``absolute=True`` uses absolute
    correlations (as cSEM and seminr do). Values below 0.85 (strict) or 0.90
    (liberal) support discriminant validity. Symmetric matrix, 1 on the diagonal.
    """
    _check_blocks(data, blocks)
    cols = [c for items in blocks.values() for c in items]
    corr = item_correlations(data[cols], missing)
    if absolute:
        corr = corr.abs()
    names = list(blocks)
    mono = {}
    for name in names:
        c = corr.loc[blocks[name], blocks[name]].to_numpy()
        mono[name] = c[np.triu_indices_from(c, 1)].mean()
    out = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            hetero = corr.loc[blocks[a], blocks[b]].to_numpy().mean()
            out.loc[a, b] = out.loc[b, a] = hetero / np.sqrt(mono[a] * mono[b])
    return out


def fornell_larcker(scores: pd.DataFrame, ave_by_construct) -> pd.DataFrame:
    """Fornell-Larcker matrix: sqrt(AVE) on the diagonal, construct correlations below and
    above it. The criterion holds for a construct when its diagonal value exceeds every
    correlation in its row."""
    ave_s = pd.Series(ave_by_construct, dtype=float)
    missing_cols = [c for c in ave_s.index if c not in scores.columns]
    if missing_cols:
        raise DataError(f"fornell_larcker: no score column for {', '.join(missing_cols)}")
    corr = scores[list(ave_s.index)].astype(float).corr()
    out = corr.copy()
    for name in ave_s.index:
        out.loc[name, name] = np.sqrt(ave_s[name])
    return out


def _check_blocks(data: pd.DataFrame, blocks: dict[str, list[str]]) -> None:
    if not blocks:
        raise DataError("no blocks given")
    for name, items in blocks.items():
        items = list(items)
        unknown = [c for c in items if c not in data.columns]
        if unknown:
            raise DataError(f"block {name!r}: unknown item(s) {', '.join(map(str, unknown))} "
                            f"(columns: {', '.join(map(str, data.columns))})")
        if len(items) < 2:
            raise DataError(f"block {name!r} has {len(items)} item; reliability and HTMT need "
                            "at least 2 items per block")
