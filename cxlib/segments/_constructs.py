"""Construct scores and their quality: reliability, discriminant validity, factor structure."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy import stats
from sklearn.decomposition import FactorAnalysis
from threadpoolctl import threadpool_limits

from .. import measurement as ms
from ..checks import check_option, row_numbers, rows_text
from ..errors import ConvergenceWarning, DataError
from ..plots import style
from ..results import Result, ci_text
from ..schema import as_numbers
from ..vocab import EMOTIONAL_ITEMS, RATIONAL_ITEMS

DEFAULT_BLOCKS: dict[str, tuple[str, ...]] = {"emotional": EMOTIONAL_ITEMS,
                                              "rational": RATIONAL_ITEMS}
"""Construct name -> item columns (the data contract's own items, 1-5 agree scale)."""


def _blocks(frame: pd.DataFrame, blocks: dict[str, list[str]] | None, min_items: int = 1
            ) -> dict[str, list[str]]:
    blocks = {k: list(v) for k, v in (blocks or DEFAULT_BLOCKS).items()}
    if not blocks:
        raise DataError("no construct blocks given")
    for name, items in blocks.items():
        unknown = [c for c in items if c not in frame.columns]
        if unknown:
            raise DataError(f"block {name!r}: unknown item(s) {', '.join(map(str, unknown))} "
                            f"(columns: {', '.join(map(str, frame.columns))})")
        if len(items) < min_items:
            raise DataError(f"block {name!r} has {len(items)} item(s) "
                            f"({', '.join(items) or 'none'}); this needs at least {min_items}")
    return blocks


def _numeric(frame: pd.DataFrame, items: list[str], block: str) -> pd.DataFrame:
    out = {}
    for col in items:
        out[col] = as_numbers(frame[col], f"block {block!r}: item {col!r}")
    return pd.DataFrame(out, index=frame.index)


def construct_scores(frame: pd.DataFrame, blocks: dict[str, list[str]] | None = None,
                     standardize: bool = True, missing: ms.Missing = "error",
                     reference: pd.DataFrame | None = None) -> pd.DataFrame:
    """One score per construct and row: the mean of its items (item scale, e.g. 1-5).

    ``standardize=True`` turns each score into SD units (z) using the mean and SD of
    ``reference`` (default: ``frame`` itself), so thresholds read as "half an SD above
    average". Missing items (``missing=``): ``"error"`` raises naming the rows;
    ``"drop"`` leaves the score empty for rows missing any item of the block;
    ``"pairwise"`` averages the items answered. ``attrs["centre"]``/``["scale"]`` hold
    the standardisation used.
    """
    check_option("missing", missing, ms.MISSING_POLICIES, where="construct_scores")
    blocks = _blocks(frame, blocks)
    out = pd.DataFrame(index=frame.index)
    for name, items in blocks.items():
        values = _numeric(frame, items, name)
        na = values.isna().any(axis=1)
        if na.any() and missing == "error":
            raise DataError(f"block {name!r}: {int(na.sum())} rows miss some of "
                            f"{', '.join(items)} (rows {rows_text(row_numbers(na))}); pass "
                            "missing='drop' (score left empty) or 'pairwise' (mean of answered)")
        score = values.mean(axis=1, skipna=True)
        out[name] = score.where(~na) if missing == "drop" else score
    centre, scale = {}, {}
    if standardize:
        ref = out if reference is None else construct_scores(reference, blocks, False, missing)
        for name in blocks:
            centre[name], scale[name] = float(ref[name].mean()), float(ref[name].std())
            if not scale[name] > 0:
                raise DataError(f"block {name!r}: the score is constant; cannot standardise")
            out[name] = (out[name] - centre[name]) / scale[name]
    out.attrs.update(centre=centre, scale=scale, blocks=blocks, standardized=standardize)
    return out


def reliability(frame: pd.DataFrame, blocks: dict[str, list[str]] | None = None,
                missing: ms.Missing = "error", level: float = 0.95, n_boot: int = 0,
                seed: int = 0) -> pd.DataFrame:
    """Per block: Cronbach's alpha (standardised, Feldt 1965 interval), Dillon-Goldstein's
    rho (composite reliability on first-component loadings), rho_A (Dijkstra-Henseler,
    first-component weights), AVE, the first two eigenvalues, and ``n`` rows used.

    ``n_boot > 0`` adds percentile bootstrap intervals for rho and AVE (``seed``).
    Blocks need at least two items; constant items raise :class:`DataError`.
    """
    blocks = _blocks(frame, blocks, min_items=2)
    rng = np.random.default_rng(seed)
    rows = []
    for name, items in blocks.items():
        data = _numeric(frame, items, name)
        try:
            alpha = ms.cronbach_alpha(data, missing=missing)
            rho = ms.dillon_goldstein_rho(data, missing=missing)
            eig = ms.block_eigenvalues(data, missing=missing)
            loads = ms.first_component_loadings(data, missing=missing)
            rho_a = ms.rho_a(data, ms.FIRST_COMPONENT, missing=missing)
        except DataError as exc:
            raise DataError(f"block {name!r}: {exc}") from None
        n = int(len(data.dropna()) if missing != "pairwise" else data.notna().any(axis=1).sum())
        k = len(items)
        # Feldt (1965): (1 - alpha) / (1 - alpha_hat) ~ F(n - 1, (n - 1)(k - 1))
        df1, df2 = n - 1, (n - 1) * (k - 1)
        a_lo = 1 - (1 - alpha) * stats.f.ppf(0.5 + level / 2, df1, df2)
        a_hi = 1 - (1 - alpha) * stats.f.ppf(0.5 - level / 2, df1, df2)
        row = {"block": name, "items": k, "n": n, "alpha": alpha, "alpha_ci_low": a_lo,
               "alpha_ci_high": a_hi, "rho_dg": rho, "rho_dg_ci_low": np.nan,
               "rho_dg_ci_high": np.nan, "rho_a": rho_a, "ave": ms.ave(loads),
               "ave_ci_low": np.nan, "ave_ci_high": np.nan,
               "eig_1st": eig[0], "eig_2nd": eig[1] if k > 1 else np.nan}
        if n_boot > 0:
            base = data.dropna() if missing != "pairwise" else data
            values = base.to_numpy(dtype=float)
            resampled_corr = ms.WeightedCorr(values)
            draws = []
            for _ in range(n_boot):  # a resample as row counts: weighted correlations
                drawn = rng.integers(0, len(values), len(values))
                corr = resampled_corr(np.bincount(drawn, minlength=len(values)).astype(float))
                try:
                    lo = ms.component_loadings(corr)
                    draws.append((ms.composite_reliability(lo), ms.ave(lo)))
                except DataError:
                    continue
            d = np.array(draws)
            q = [50 - 50 * level, 50 + 50 * level]
            row["rho_dg_ci_low"], row["rho_dg_ci_high"] = np.percentile(d[:, 0], q)
            row["ave_ci_low"], row["ave_ci_high"] = np.percentile(d[:, 1], q)
            row["boot_failed"] = n_boot - len(d)
        row["unidimensional"] = bool(eig[0] > 1 and (k == 1 or eig[1] < 1))
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass(repr=False)
class DiscriminantValidity(Result):
    """HTMT and Fornell-Larcker for every pair of constructs.

    The summary adds each score correlation's Fisher-z interval at ``level`` (n rows).
    """

    htmt: pd.DataFrame
    fornell_larcker: pd.DataFrame
    pairs: pd.DataFrame      # a, b, htmt, correlation, sqrt_ave_a, sqrt_ave_b, htmt_ok, fl_ok
    n: int
    threshold: float = 0.85
    level: float = 0.95

    def summary(self) -> pd.DataFrame:
        """One row per pair: HTMT against the threshold, the score correlation with its
        Fisher-z interval against sqrt(AVE) of both blocks, and n."""
        r = self.pairs["correlation"].to_numpy(dtype=float)
        half = stats.norm.ppf(0.5 + self.level / 2) / np.sqrt(max(self.n - 3, 1))
        out = self.pairs.copy()
        out.insert(4, "corr_ci_low", np.tanh(np.arctanh(r) - half))
        out.insert(5, "corr_ci_high", np.tanh(np.arctanh(r) + half))
        return out.assign(threshold=self.threshold, n=self.n)

    def headline(self) -> str:
        t = self.summary()
        r = t.loc[t["htmt"].idxmax()]
        return (f"{r['a']} vs {r['b']}: HTMT {r['htmt']:.2f} "
                f"({'below' if r['htmt_ok'] else 'NOT below'} {self.threshold}); score "
                f"correlation {r['correlation']:.2f} "
                f"({ci_text(r['corr_ci_low'], r['corr_ci_high'], self.level)}) vs sqrt(AVE) "
                f"{min(r['sqrt_ave_a'], r['sqrt_ave_b']):.2f} (Fornell-Larcker "
                f"{'holds' if r['fl_ok'] else 'fails'}); n = {self.n:,}")

    def plot(self, title: str = "") -> go.Figure:
        """HTMT of every pair against the threshold."""
        t = self.pairs
        fig = go.Figure(go.Bar(x=t["a"] + " vs " + t["b"], y=t["htmt"],
                               marker_color=np.where(t["htmt_ok"], "#1f5fa8", "#c23b3b"),
                               hovertemplate="%{x}: HTMT %{y:.2f}<extra></extra>"))
        fig.add_hline(y=self.threshold, line_dash="dash", line_color="#888")
        n_bad = int((~t["htmt_ok"]).sum())
        style(fig, showlegend=False, yaxis_range=[0, 1.05],
              title=title or (f"Every pair of constructs is distinct (HTMT below "
                              f"{self.threshold}; n = {self.n:,})" if n_bad == 0 else
                              f"{n_bad} pair(s) at or above HTMT {self.threshold}"),
              xaxis_title="pair of constructs",
              yaxis_title="heterotrait-monotrait ratio (HTMT)")
        return fig


def discriminant_validity(frame: pd.DataFrame, blocks: dict[str, list[str]] | None = None,
                          missing: ms.Missing = "error", threshold: float = 0.85,
                          level: float = 0.95) -> DiscriminantValidity:
    """HTMT (Henseler et al. 2015) and the Fornell-Larcker criterion between constructs.

    Fornell-Larcker uses the correlation of the standardised mean scores and AVE from
    first-component loadings. ``threshold`` is the HTMT cut-off (0.85 strict, 0.90 liberal).
    """
    blocks = _blocks(frame, blocks, min_items=2)
    if len(blocks) < 2:
        raise DataError("discriminant validity needs at least two blocks")
    cols = [c for items in blocks.values() for c in items]
    data = pd.concat([_numeric(frame, items, name) for name, items in blocks.items()], axis=1)
    if missing == "drop":
        data = data.dropna()
    try:
        h = ms.htmt(data[cols], blocks, missing=missing)
        ave = {name: ms.ave(ms.first_component_loadings(data[items], missing=missing))
               for name, items in blocks.items()}
    except DataError as exc:
        raise DataError(f"discriminant validity: {exc}") from None
    scores = construct_scores(data, blocks, standardize=True,
                              missing="pairwise" if missing == "pairwise" else "error")
    fl = ms.fornell_larcker(scores, ave)
    names = list(blocks)
    pairs = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            r = fl.loc[a, b]
            pairs.append({"a": a, "b": b, "htmt": h.loc[a, b], "correlation": r,
                          "sqrt_ave_a": np.sqrt(ave[a]), "sqrt_ave_b": np.sqrt(ave[b]),
                          "htmt_ok": bool(h.loc[a, b] < threshold),
                          "fl_ok": bool(abs(r) < min(np.sqrt(ave[a]), np.sqrt(ave[b])))})
    return DiscriminantValidity(h, fl, pd.DataFrame(pairs), int(len(data)), threshold, level)


def _factor_analysis(corr: np.ndarray, n: int, k: int, seed: int) -> FactorAnalysis:
    """Maximum-likelihood factor analysis (sklearn, varimax) of n standardised rows, fitted
    on 2p rows with exactly their correlation matrix: the likelihood and sklearn's EM depend
    on the data only through it, and its stopping rule (log-likelihood scaled by n) gets the
    tolerance scaled by the row ratio, so the iterations are those of the full data."""
    p = len(corr)
    a = np.sqrt(p) * np.linalg.cholesky(corr + 1e-12 * np.eye(p)).T  # a.T @ a / p = corr
    rows = np.vstack([a, -a])                                       # mean 0, same cross products
    return FactorAnalysis(n_components=k, rotation="varimax", svd_method="lapack",
                          tol=1e-2 * len(rows) / n, random_state=seed).fit(rows)


@dataclass(repr=False)
class FactorStructure(Result):
    """Exploratory factor analysis of all items: does each item load on its own construct?

    No sampling interval: the headline gives the parallel-analysis benchmark instead.
    """

    eigenvalues: pd.DataFrame   # factor, eigenvalue, parallel_95 (random-data benchmark)
    n_factors_suggested: int    # parallel analysis (Horn 1965)
    loadings: pd.DataFrame      # item x factor, varimax-rotated, standardised items
    items: pd.DataFrame         # item, block, factor, loading, max_cross_loading, matches
    n: int

    @property
    def matches(self) -> bool:
        return bool(self.items["matches"].all())

    def summary(self) -> pd.DataFrame:
        """One row per item: its block, the factor it loads most on, that loading, the
        largest cross-loading and whether the factor is its block's."""
        return self.items.copy()

    def headline(self) -> str:
        wrong = self.items.loc[~self.items["matches"], "item"].tolist()
        return (f"EFA (maximum-likelihood factor analysis, varimax; n = {self.n:,}): parallel "
                f"analysis suggests {self.n_factors_suggested} factor(s) (no interval: "
                f"eigenvalues against the 95th percentile of random data); "
                + ("every item loads most on its own construct's factor" if not wrong else
                   f"items loading elsewhere: {', '.join(wrong)}"))

    def plot(self, title: str = "") -> go.Figure:
        """Heatmap of the rotated loadings (items x factors)."""
        from ._plots import loadings_figure

        return loadings_figure(self, title=title)


def factor_structure(frame: pd.DataFrame, blocks: dict[str, list[str]] | None = None,
                     n_factors: int | None = None, missing: ms.Missing = "error",
                     n_parallel: int = 20, seed: int = 0) -> FactorStructure:
    """EFA check of the intended structure (scikit-learn ``FactorAnalysis``, varimax).

    Eigenvalues of the item correlation matrix are compared with the 95th percentile of
    eigenvalues from ``n_parallel`` random normal data sets of the same size (parallel
    analysis). ``n_factors`` defaults to the number of blocks. Listwise deletion unless
    ``missing="error"`` (which raises on missing answers).
    """
    blocks = _blocks(frame, blocks, min_items=2)
    cols = [c for items in blocks.values() for c in items]
    data = pd.concat([_numeric(frame, items, name) for name, items in blocks.items()], axis=1)
    if data.isna().to_numpy().any():
        if missing == "error":
            rows = rows_text(row_numbers(data.isna().any(axis=1)))
            raise DataError(f"factor structure: missing answers (rows {rows});"
                            " pass missing='drop'")
        data = data.dropna()
    sd = data.std()
    const = sd.index[~(sd > 0)].tolist()
    if const:
        raise DataError(f"factor structure: item(s) {', '.join(const)} are constant")
    z = ((data - data.mean()) / sd).to_numpy()
    n, p = z.shape
    corr = np.corrcoef(z, rowvar=False)
    eig = np.linalg.eigvalsh(corr)[::-1]
    rng = np.random.default_rng(seed)
    # random data sets of n normal rows: their centred cross products are Wishart(n - 1, I),
    # so each benchmark correlation matrix is drawn in O(p^3) instead of O(n p^2)
    rand = np.array([np.linalg.eigvalsh(ms.cov_to_corr(stats.wishart.rvs(
        df=n - 1, scale=np.eye(p), random_state=rng)))[::-1] for _ in range(n_parallel)])
    bench = np.percentile(rand, 95, axis=0)
    above = eig > bench
    suggested = int(np.argmin(above)) if not above.all() else p
    k = n_factors or len(blocks)
    with warnings.catch_warnings(record=True) as caught, threadpool_limits(1):
        warnings.simplefilter("always")
        fa = _factor_analysis(corr, n, k, seed)
    if any("converge" in str(w.message).lower() for w in caught):
        warnings.warn("factor structure: factor analysis did not converge", ConvergenceWarning,
                      stacklevel=2)
    load = pd.DataFrame(fa.components_.T, index=cols, columns=[f"F{i + 1}" for i in range(k)])
    block_of = {c: name for name, items in blocks.items() for c in items}
    # name each factor after the block whose items load most on it
    names = {}
    for f in load.columns:
        strength = {b: load.loc[items, f].abs().mean() for b, items in blocks.items()}
        names[f] = max(strength, key=strength.get)
    for f in load.columns:  # flip so the named block's loadings are positive
        if load.loc[blocks[names[f]], f].sum() < 0:
            load[f] = -load[f]
    load.columns = [f"{f}:{names[f]}" for f in load.columns]
    rows = []
    for item in cols:
        a = load.loc[item].abs()
        best = a.idxmax()
        rows.append({"item": item, "block": block_of[item], "factor": best,
                     "loading": load.loc[item, best],
                     "max_cross_loading": a.drop(best).max() if k > 1 else np.nan,
                     "matches": best.split(":", 1)[1] == block_of[item]})
    table = pd.DataFrame({"factor": np.arange(1, p + 1), "eigenvalue": eig, "parallel_95": bench})
    return FactorStructure(table, suggested, load, pd.DataFrame(rows), n)
