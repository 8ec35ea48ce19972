"""Rational / emotional segments: threshold rule or Gaussian mixture (latent profiles)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from ..checks import check_option, row_numbers, rows_text
from ..errors import ConvergenceWarning, DataError, ModelError, ParameterError
from ..plots import heatmap
from ..results import Result, ci_text

EMOTIONALLY_SATISFIED = "emotionally_satisfied"
RATIONALLY_ONLY = "rationally_only"
DISSATISFIED = "dissatisfied"
OTHER = "other"
SEGMENTS: tuple[str, ...] = (EMOTIONALLY_SATISFIED, RATIONALLY_ONLY, DISSATISFIED, OTHER)
"""Segment names in display order."""


def rule_segments(emotional, rational, emotional_high: float = 0.5, rational_high: float = 0.5,
                  emotional_low: float = 0.0, rational_low: float = 0.0) -> np.ndarray:
    """Segment names from the threshold rule:

    * emotionally_satisfied: emotional >= emotional_high;
    * rationally_only: rational >= rational_high and emotional < emotional_low;
    * dissatisfied: rational < rational_low and emotional < emotional_low;
    * other: everyone else (middling, or rational middling with low emotion).
    """
    e = np.asarray(emotional, dtype=float)
    r = np.asarray(rational, dtype=float)
    return np.select([e >= emotional_high, (r >= rational_high) & (e < emotional_low),
                      (r < rational_low) & (e < emotional_low)],
                     [EMOTIONALLY_SATISFIED, RATIONALLY_ONLY, DISSATISFIED], OTHER).astype(object)


class SatisfactionSegmenter(ClusterMixin, BaseEstimator):
    """Segments customers on the emotional and rational construct scores.

    ``method="rule"``: the thresholds of :func:`rule_segments` (in the units of the
    scores; SD units for standardised scores). ``method="mixture"``: Gaussian mixtures
    with 1..``max_profiles`` components (latent profile analysis), the number chosen by
    BIC; each profile is named by applying the rule to its construct means, so
    ``predict`` returns the same segment names for both methods (profiles that map to
    the same name merge; ``profiles_`` lists them all). Input: a DataFrame with the
    columns ``emotional`` and ``rational`` (names configurable) or a 2-column array in
    that order. Fitted state: ``classes_``, ``profiles_`` and ``bic_`` (mixture).

    ``max_fit_rows``: above this many rows the mixtures are fitted (and BIC computed) on a
    random subsample of that size drawn with ``seed`` (``fit_rows_`` records the rows
    used); ``predict`` still labels every row. With 2 scores and at most ``max_profiles``
    components, 100,000 rows pin the profile means to about 0.01 SD, while EM over a
    million rows costs minutes.
    """

    def __init__(self, method: str = "rule", emotional: str = "emotional",
                 rational: str = "rational", emotional_high: float = 0.5,
                 rational_high: float = 0.5, emotional_low: float = 0.0,
                 rational_low: float = 0.0, max_profiles: int = 6,
                 covariance_type: str = "full", n_init: int = 3, seed: int = 0,
                 max_fit_rows: int = 100_000):
        self.method = method
        self.emotional = emotional
        self.rational = rational
        self.emotional_high = emotional_high
        self.rational_high = rational_high
        self.emotional_low = emotional_low
        self.rational_low = rational_low
        self.max_profiles = max_profiles
        self.covariance_type = covariance_type
        self.n_init = n_init
        self.seed = seed
        self.max_fit_rows = max_fit_rows

    # -- helpers ---------------------------------------------------------------------------
    def _matrix(self, X) -> np.ndarray:
        if isinstance(X, pd.DataFrame):
            missing = [c for c in (self.emotional, self.rational) if c not in X.columns]
            if missing:
                raise DataError(f"SatisfactionSegmenter: column(s) {', '.join(missing)} not found "
                                f"(columns: {', '.join(map(str, X.columns))})")
            M = X[[self.emotional, self.rational]].apply(
                pd.to_numeric, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        else:
            M = np.asarray(X, dtype=float)
            if M.ndim != 2 or M.shape[1] != 2:
                raise DataError("SatisfactionSegmenter: expected 2 columns (emotional, rational)")
        bad = ~np.isfinite(M).all(axis=1)
        if bad.any():
            raise DataError(f"SatisfactionSegmenter: {int(bad.sum())} rows have empty or "
                            f"non-numeric scores (rows {rows_text(row_numbers(bad))}); drop them "
                            "or score with missing='pairwise'")
        return M

    def _rule(self, M: np.ndarray) -> np.ndarray:
        return rule_segments(M[:, 0], M[:, 1], self.emotional_high, self.rational_high,
                             self.emotional_low, self.rational_low)

    # -- estimator API ---------------------------------------------------------------------
    def fit(self, X, y=None) -> SatisfactionSegmenter:
        check_option("method", self.method, ("rule", "mixture"),
                     where="SatisfactionSegmenter")
        if self.emotional_high < self.emotional_low or self.rational_high < self.rational_low:
            raise ParameterError("SatisfactionSegmenter: thresholds: each *_high must be at least the matching *_low")
        M = self._matrix(X)
        self.n_features_in_ = 2
        if self.method == "rule":
            self.classes_ = np.array(SEGMENTS, dtype=object)
            self.profiles_ = None
            return self
        if len(M) < 10 * self.max_profiles:
            raise ModelError(f"SatisfactionSegmenter: {len(M)} rows are too few for up to "
                             f"{self.max_profiles} profiles")
        if len(M) > self.max_fit_rows:
            pick = np.random.default_rng(self.seed).choice(len(M), self.max_fit_rows,
                                                           replace=False)
            M = M[np.sort(pick)]
        self.fit_rows_ = len(M)
        fits, bic = [], []
        for k in range(1, self.max_profiles + 1):
            # one BLAS/OpenMP thread: on 2-column data threads only add overhead (10x here)
            with warnings.catch_warnings(record=True) as caught, threadpool_limits(1):
                warnings.simplefilter("always")
                gm = GaussianMixture(k, covariance_type=self.covariance_type, n_init=self.n_init,
                                     random_state=self.seed).fit(M)
            if any("converge" in str(w.message).lower() for w in caught):
                warnings.warn(f"mixture with {k} profiles did not converge", ConvergenceWarning,
                              stacklevel=2)
            fits.append(gm)
            bic.append(gm.bic(M))
        best = int(np.argmin(bic))
        self.model_ = fits[best]
        self.n_profiles_ = best + 1
        self.bic_ = pd.DataFrame({"profiles": range(1, self.max_profiles + 1), "bic": bic,
                                  "chosen": [i == best for i in range(self.max_profiles)]})
        means = self.model_.means_
        names = self._rule(means)
        self.profiles_ = pd.DataFrame({
            "profile": range(self.n_profiles_), "emotional_mean": means[:, 0],
            "rational_mean": means[:, 1], "weight": self.model_.weights_, "segment": names,
            "label": [f"{s} (E {e:+.2f}, R {r:+.2f})" for s, e, r in
                      zip(names, means[:, 0], means[:, 1])],
        }).sort_values("emotional_mean", ascending=False, ignore_index=True)
        present = set(names)
        self.classes_ = np.array([s for s in SEGMENTS if s in present], dtype=object)
        return self

    def predict_profile(self, X) -> np.ndarray:
        """Mixture profile index per row (mixture method only)."""
        check_is_fitted(self, "classes_")
        if self.method != "mixture":
            raise ModelError("predict_profile needs method='mixture'")
        with threadpool_limits(1):
            return self.model_.predict(self._matrix(X))

    def predict(self, X) -> np.ndarray:
        """Segment name per row (object array)."""
        check_is_fitted(self, "classes_")
        M = self._matrix(X)
        if self.method == "rule":
            return self._rule(M)
        names = self._rule(self.model_.means_)
        with threadpool_limits(1):
            return names[self.model_.predict(M)]

    def fit_predict(self, X, y=None) -> np.ndarray:
        return self.fit(X).predict(X)


@dataclass(repr=False)
class Agreement(Result):
    """Agreement between two segmentations of the same rows."""

    adjusted_rand: float
    ci_low: float
    ci_high: float
    crosstab: pd.DataFrame
    n: int
    same_label_share: float
    names: tuple[str, str]
    level: float = 0.95

    def summary(self) -> pd.DataFrame:
        """One row: the two labelings, adjusted Rand index with its bootstrap interval,
        share with the same label, n."""
        return pd.DataFrame([{"a": self.names[0], "b": self.names[1],
                              "adjusted_rand": self.adjusted_rand, "ci_low": self.ci_low,
                              "ci_high": self.ci_high, "same_label_share": self.same_label_share,
                              "n": self.n}])

    def headline(self) -> str:
        return (f"{self.names[0]} vs {self.names[1]}: adjusted Rand index {self.adjusted_rand:.2f} "
                f"(bootstrap {ci_text(self.ci_low, self.ci_high, self.level)}), same segment for "
                f"{self.same_label_share:.0%} of n = {self.n:,}")

    def plot(self, title: str = "") -> go.Figure:
        """Heatmap of the cross-table (counts, shaded by row share)."""
        return crosstab_figure(self, title=title)


def crosstab_figure(agreement: Agreement, title: str = "") -> go.Figure:
    """Heatmap of the cross-table of two segmentations (counts, shaded by row share)."""
    tab = agreement.crosstab
    share = tab.div(tab.sum(axis=1), axis=0)
    text = [[f"{v:,}" for v in row] for row in tab.to_numpy()]
    return heatmap(share, text, title or "Rule vs mixture segments", agreement.names[1],
                   agreement.names[0], "share of row", 0, 1)


def ari_from_table(table: np.ndarray) -> float:
    """Adjusted Rand index from a cross-table of counts (as ``adjusted_rand_score``, via the
    pair confusion matrix, in exact integer arithmetic)."""
    t = np.rint(np.asarray(table, dtype=float)).astype(np.int64)
    n = int(t.sum())
    sum_sq = int((t * t).sum())
    fp = int((t @ t.sum(axis=0)).sum()) - sum_sq
    fn = int((t.T @ t.sum(axis=1)).sum()) - sum_sq
    tp = sum_sq - n
    tn = n * n - fp - fn - sum_sq
    if fn == 0 and fp == 0:
        return 1.0
    return 2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn))


def agreement(a, b, names: tuple[str, str] = ("rule", "mixture"), n_boot: int = 200,
              level: float = 0.95, seed: int = 0) -> Agreement:
    """Adjusted Rand index (with a percentile bootstrap interval over rows) and the
    cross-table of two segment labelings of the same rows."""
    a, b = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
    if len(a) != len(b) or len(a) == 0:
        raise DataError(f"agreement: labelings must have the same non-zero length "
                        f"({len(a)} vs {len(b)})")
    ari = float(adjusted_rand_score(a, b))
    rng = np.random.default_rng(seed)
    ca, cb = pd.factorize(pd.Series(a))[0], pd.factorize(pd.Series(b))[0]
    ka, kb = ca.max() + 1, cb.max() + 1
    cell = ca * kb + cb
    boot = []
    for _ in range(n_boot):  # a resample as row counts -> its cross-table -> ARI
        counts = np.bincount(rng.integers(0, len(a), len(a)), minlength=len(a))
        boot.append(ari_from_table(np.bincount(cell, weights=counts, minlength=ka * kb)
                                   .reshape(ka, kb)))
    lo, hi = (np.percentile(boot, [50 - 50 * level, 50 + 50 * level]) if n_boot
              else (np.nan, np.nan))
    order = [s for s in SEGMENTS if s in set(a) | set(b)]
    order += sorted((set(a) | set(b)) - set(order), key=str)
    table = pd.crosstab(pd.Series(a, name=names[0]), pd.Series(b, name=names[1]))
    table = table.reindex(index=[s for s in order if s in table.index],
                          columns=[s for s in order if s in table.columns], fill_value=0)
    return Agreement(ari, float(lo), float(hi), table, len(a), float(np.mean(a == b)),
                     tuple(names), level)
