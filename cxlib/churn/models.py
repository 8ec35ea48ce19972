"""Churn classifiers on any customer table, validated out of fold.

``fit(frame, target)`` infers what each column is (numeric, yes/no, categorical, id-like,
numeric-looking text with blanks), preprocesses inside each cross-validation fold (medians,
levels and scales are learnt on the training part only), and returns a :class:`ChurnModel`:

- ``model="logistic"``: statsmodels ``Logit`` (maximum likelihood) for odds ratios with Wald
  intervals; on perfect or quasi-separation a Firth-penalised fit (Firth 1993, Biometrika
  80:27; Heinze & Schemper 2002, Stat Med 21:2409) with a warning;
- ``model="boosted"``: scikit-learn ``HistGradientBoostingClassifier``; ``predict`` maps its
  scores through an isotonic calibration learnt on the out-of-fold scores (what
  ``CalibratedClassifierCV(ensemble=False)`` does); drivers by permutation importance (drop
  in ROC-AUC when a column's rows are shuffled) on the held-out folds.

Metrics are out of fold (stratified K-fold, or forward-chaining folds in time with
``time_column``): ROC-AUC, PR-AUC (average precision; its baseline is the churn rate),
Brier score and log loss, with percentile bootstrap intervals over customers.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy import linalg, stats
from scipy.special import expit
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.isotonic import IsotonicRegression
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from ..checks import check_option
from ..errors import ConvergenceWarning, DataError, ModelError, SmallSampleWarning, StatisticalWarning
from .columns import _coerce_like, _Prep, binary_target, infer_columns
from .evaluation import (_auc, _bootstrap_metrics, calibration_figure, calibration_table,
                         gains_figure, gains_table, roc_figure)
from ..metrics import z_value
from ..plots import forest
from ..results import Result, ci_text

__all__ = ["fit", "ChurnModel", "binary_target", "infer_columns", "gains_table",
           "calibration_table"]


# -- logistic fits ---------------------------------------------------------------------------

def _firth(X: np.ndarray, y: np.ndarray, max_iter: int = 100, tol: float = 1e-8
           ) -> tuple[np.ndarray, np.ndarray, bool]:
    """Firth-penalised logistic regression (Jeffreys prior); returns beta, covariance, converged."""
    b = np.zeros(X.shape[1])

    def info(beta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        p = expit(X @ beta)
        w = p * (1 - p)
        return p, w, X.T @ (X * w[:, None])

    def pen_ll(beta: np.ndarray) -> float:
        eta = X @ beta
        _, _, i_mat = info(beta)
        sign, logdet = np.linalg.slogdet(i_mat)
        return float(np.sum(y * eta - np.logaddexp(0, eta)) + 0.5 * logdet) if sign > 0 else -np.inf

    converged = False
    for _ in range(max_iter):
        p, w, i_mat = info(b)
        i_inv = np.linalg.pinv(i_mat)
        h = w * np.einsum("ij,jk,ik->i", X, i_inv, X)
        step = i_inv @ (X.T @ (y - p + h * (0.5 - p)))
        current, t = pen_ll(b), 1.0
        while pen_ll(b + t * step) < current - 1e-10 and t > 1e-6:
            t /= 2
        b = b + t * step
        if np.max(np.abs(t * step)) < tol:
            converged = True
            break
    _, _, i_mat = info(b)
    return b, np.linalg.pinv(i_mat), converged


@dataclass
class _LogitFit:
    params: np.ndarray       # with the intercept first, zeros for dropped columns
    cov: np.ndarray
    method: str
    dropped: list[int]


def _fit_logit(X: np.ndarray, y: np.ndarray) -> _LogitFit:
    """Logit by maximum likelihood; aliased columns dropped; Firth on separation."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import (ConvergenceWarning as SmConvergence,
                                                 PerfectSeparationWarning)

    n, k = X.shape
    keep = [j for j in range(k) if np.ptp(X[:, j]) > 0]
    if keep:   # pivoted QR of the correlation matrix of the centred columns finds aliases
        Xc = X[:, keep] - X[:, keep].mean(axis=0)
        scale = np.sqrt((Xc**2).sum(axis=0))
        gram = (Xc.T @ Xc) / np.outer(scale, scale)
        _, r, piv = linalg.qr(gram, pivoting=True)
        rank = int((np.abs(np.diag(r)) > 1e-6).sum())     # |correlation| > 0.9999995
        keep = [keep[i] for i in sorted(piv[:rank])]
    dropped = [j for j in range(k) if j not in keep]
    Xk = np.column_stack([np.ones(n), X[:, keep]])
    method = "maximum likelihood"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = sm.Logit(y, Xk).fit(disp=0, maxiter=100, method="newton")
            b, cov = np.asarray(res.params), np.asarray(res.cov_params())
            ok = bool(res.mle_retvals.get("converged", True))
        except (np.linalg.LinAlgError, ValueError, OverflowError):
            b, cov, ok = None, None, False
    separated = any(issubclass(w.category, (PerfectSeparationWarning, SmConvergence))
                    for w in caught)
    if b is None or not ok or separated or not np.all(np.isfinite(cov)) or np.max(
            np.abs(b[1:])) > 10:
        b, cov, conv = _firth(Xk, y)
        method = "Firth-penalised (separation)"
        if not conv:
            method += ", not converged"
    params = np.zeros(k + 1)
    full_cov = np.full((k + 1, k + 1), np.nan)
    idx = [0] + [j + 1 for j in keep]
    params[idx] = b
    full_cov[np.ix_(idx, idx)] = cov
    return _LogitFit(params, full_cov, method, dropped)


# -- the result --------------------------------------------------------------------------------

@dataclass(repr=False)
class ChurnModel(Result):
    """A fitted churn classifier with out-of-fold validation."""

    model: str
    target: str
    features: list[str]
    kinds: dict[str, str]
    metrics: dict[str, float]
    metric_table: pd.DataFrame
    drivers: pd.DataFrame
    oof: pd.Series = field(repr=False)
    y: pd.Series = field(repr=False)
    cv: str = ""
    notes: list[str] = field(default_factory=list)
    prep_: _Prep | None = field(default=None, repr=False)
    estimator_: object = field(default=None, repr=False)
    calibrator_: IsotonicRegression | None = field(default=None, repr=False)
    level: float = 0.95

    def predict(self, frame: pd.DataFrame) -> pd.Series:
        """Calibrated churn probability for each row of ``frame`` (same columns as in fit)."""
        missing = [c for c in self.features if c not in frame.columns]
        if missing:
            raise DataError(f"predict: column(s) missing: {', '.join(map(repr, missing))}")
        with threadpool_limits(1):
            p = _predict(self.model, self.estimator_, self.prep_, _coerce_like(frame, self.kinds))
            if self.calibrator_ is not None:
                p = self.calibrator_.predict(p)
        return pd.Series(p, index=frame.index, name="churn_probability")

    def summary(self) -> pd.DataFrame:
        """Out-of-fold metrics (ROC-AUC, PR-AUC, Brier, ...) with bootstrap intervals, n."""
        return self.metric_table.assign(n=int(self.metrics["n"]),
                                        events=int(self.metrics["events"]))

    def headline(self) -> str:
        m = self.metric_table.set_index("metric")
        auc, brier = m.loc["roc_auc"], m.loc["brier"]
        ci = ci_text(auc["ci_low"], auc["ci_high"], self.level, ".3f")
        return (f"{self.model} churn model for {self.target!r}: out-of-fold ROC-AUC "
                f"{auc['value']:.3f} ({ci}), "
                f"Brier {brier['value']:.3f}; n = {int(self.metrics['n']):,}, churners = "
                f"{int(self.metrics['events']):,} ({self.metrics['prevalence']:.1%}); {self.cv}")

    def calibration_table(self, bins: int = 10) -> pd.DataFrame:
        return calibration_table(self.y.to_numpy(), self.oof.to_numpy(), bins)

    def gains_table(self, bins: int = 10) -> pd.DataFrame:
        return gains_table(self.y.to_numpy(), self.oof.to_numpy(), bins)

    def plot(self) -> go.Figure:
        """Out-of-fold ROC curve with the AUC and its interval in the title."""
        m = self.metric_table.set_index("metric").loc["roc_auc"]
        return roc_figure(self.y.to_numpy(), self.oof.to_numpy(), m["value"], m["ci_low"],
                          m["ci_high"], label=self.model)

    def plot_calibration(self, bins: int = 10) -> go.Figure:
        return calibration_figure(self.calibration_table(bins))

    def plot_gains(self, bins: int = 10) -> go.Figure:
        return gains_figure(self.gains_table(bins))

    def plot_drivers(self, top: int = 12) -> go.Figure:
        """The strongest drivers as a forest plot with 95% intervals: odds ratios on a log axis
        (logistic) or permutation importance as the drop in ROC-AUC (boosted)."""
        n = len(self.y)
        if self.model == "logistic":
            shown = self.drivers.dropna(subset=["odds_ratio"]).head(top)
            return forest(shown, "term", x="odds_ratio", reference=1.0, log=True,
                          title=f"Odds ratios of the strongest drivers (95% CI; n = {n:,})",
                          x_title="odds ratio of churning in the horizon (log scale; 1 = no "
                                  "effect)")
        return forest(self.drivers.head(top), "feature", x="importance",
                      title=f"Permutation importance (drop in ROC-AUC, 95% CI; n = {n:,})",
                      x_title="drop in ROC-AUC when the feature is shuffled")


def _fit_one(model: str, X: pd.DataFrame, y: np.ndarray, kinds: dict[str, str], seed: int
             ) -> tuple[_Prep, object]:
    prep = _Prep(kinds).fit(X)
    if model == "logistic":
        return prep, _fit_logit(prep.transform(X), y)
    est = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.08, max_leaf_nodes=15,
                                         min_samples_leaf=40, l2_regularization=1.0,
                                         early_stopping=len(y) >= 1000, validation_fraction=0.15,
                                         n_iter_no_change=15, random_state=seed)
    est.fit(prep.transform(X, standardise=False), y)
    return prep, est


def _predict(model: str, est: object, prep: _Prep, X: pd.DataFrame) -> np.ndarray:
    if model == "logistic":
        Z = prep.transform(X)
        return expit(est.params[0] + Z @ est.params[1:])
    return est.predict_proba(prep.transform(X, standardise=False))[:, 1]


def _calibrator(oof: np.ndarray, y: np.ndarray) -> IsotonicRegression | None:
    """Isotonic map from out-of-fold boosted scores to churn rates (sklearn's ensemble=False)."""
    ok = ~np.isnan(oof)
    return IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(oof[ok], y[ok])


def _folds(y: np.ndarray, cv: int, seed: int, time: pd.Series | None
           ) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
    if time is None:
        k = int(min(cv, np.bincount(y).min()))
        if k < 2:
            raise ModelError("fit: fewer than two customers in the smaller class; cannot "
                             "cross-validate")
        skf = StratifiedKFold(k, shuffle=True, random_state=seed)
        return list(skf.split(np.zeros(len(y)), y)), f"stratified {k}-fold cross-validation"
    order = np.argsort(pd.to_numeric(time.rank(method="first")).to_numpy(), kind="stable")
    chunks = np.array_split(order, cv + 1)
    folds = [(np.concatenate(chunks[:i]), chunks[i]) for i in range(1, cv + 1)]
    return folds, (f"out-of-time cross-validation on {time.name!r}: {cv} forward folds "
                   "(train on earlier rows, test on the next block; the first block is "
                   "never scored)")


def _logit_drivers(prep: _Prep, fitted: _LogitFit, level: float) -> pd.DataFrame:
    z = z_value(level)
    rows = []
    for j, (name, base, kind) in enumerate(zip(prep.names_, prep.base_, prep.kind_of_)):
        b, var = fitted.params[j + 1], fitted.cov[j + 1, j + 1]
        sd = prep.sd_.get(base, 1.0) if kind == "numeric" else 1.0
        if kind == "numeric":      # back from standardised units to one unit of the column
            per, coef, se = "per unit", b / sd, np.sqrt(var) / sd
        elif kind == "level":
            per, coef, se = f"vs {prep.ref_[base]}", b, np.sqrt(var)
        elif kind == "missing":
            per, coef, se = "missing vs answered", b, np.sqrt(var)
        else:
            per, coef, se = "yes vs no", b, np.sqrt(var)
        dropped = j in fitted.dropped
        rows.append({"term": name, "feature": base, "kind": kind, "per": per,
                     "coef": np.nan if dropped else coef, "se": np.nan if dropped else se,
                     "odds_ratio": np.exp(coef) if not dropped else np.nan,
                     "ci_low": np.exp(coef - z * se) if not dropped else np.nan,
                     "ci_high": np.exp(coef + z * se) if not dropped else np.nan,
                     "p_value": 2 * stats.norm.sf(abs(coef / se)) if not dropped and se > 0
                     else np.nan,
                     "odds_ratio_per_sd": np.exp(coef * sd) if kind == "numeric" and not dropped
                     else np.nan, "sd": sd if kind == "numeric" else np.nan})
    out = pd.DataFrame(rows)
    order = (out["coef"] / out["se"]).abs().fillna(-1).sort_values(ascending=False).index
    return out.loc[order].reset_index(drop=True)


def _permutation_drivers(model: str, fitted: list, X: pd.DataFrame, y: np.ndarray,
                         folds: list, seed: int, repeats: int, level: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    drops: dict[str, list[float]] = {c: [] for c in X.columns}
    for (prep, est), (_, test) in zip(fitted, folds):
        Xt, yt = X.iloc[test], y[test]
        if yt.min() == yt.max():
            continue
        # shuffling a column's rows = shuffling the rows of the design block built from it
        Z = prep.transform(Xt, standardise=model == "logistic")
        base_of = np.asarray(prep.base_)

        def score(D: np.ndarray) -> np.ndarray:
            if model == "logistic":
                return expit(est.params[0] + D @ est.params[1:])
            return est.predict_proba(D)[:, 1]

        base = _auc(yt, score(Z))
        for c in X.columns:
            block = np.flatnonzero(base_of == c)
            for _ in range(repeats):
                D = Z.copy()
                D[:, block] = Z[rng.permutation(len(Z))][:, block]
                drops[c].append(base - _auc(yt, score(D)))
    z = z_value(level)
    rows = []
    for c, d in drops.items():
        d = np.asarray(d)
        half = z * d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else np.nan
        rows.append({"feature": c, "importance": d.mean(), "ci_low": d.mean() - half,
                     "ci_high": d.mean() + half, "n_permutations": len(d)})
    return pd.DataFrame(rows).sort_values("importance", ascending=False, ignore_index=True)


def fit(frame: pd.DataFrame, target: str, features: Sequence[str] | None = None,
        model: str = "logistic", seed: int = 0, cv: int = 5, exclude: Sequence[str] = (),
        time_column: str | None = None, coerce: str = "error", n_boot: int = 200,
        permutation_repeats: int = 2, level: float = 0.95) -> ChurnModel:
    """Fit a churn classifier to any customer table and validate it out of fold.

    ``target``: true/false, 0/1 or yes/no. ``features=None`` uses every column except the
    target, ``exclude``, id-like and date columns. ``model``: ``"logistic"`` (odds ratios)
    or ``"boosted"`` (gradient boosting, permutation importance). ``time_column`` switches
    to out-of-time folds. ``coerce="numeric"`` turns blanks in numeric-looking text into
    missing values (reported) instead of an error. Missing values: median (or a
    ``(missing)`` level) plus a missing indicator, learnt inside each fold. Class imbalance:
    stratified folds, no reweighting (so probabilities stay calibrated), PR-AUC reported
    against the churn rate. Runs single-threaded (OpenMP/BLAS), which is faster than
    oversubscribing a busy machine. See the module docstring for the methods.
    """
    with threadpool_limits(1):
        return _fit(frame, target, features, model, seed, cv, exclude, time_column, coerce,
                    n_boot, permutation_repeats, level)


def _fit(frame, target, features, model, seed, cv, exclude, time_column, coerce, n_boot,
         permutation_repeats, level) -> ChurnModel:
    check_option("model", model, ("logistic", "boosted"), where="fit")
    if not isinstance(frame, pd.DataFrame) or frame.empty:
        raise DataError("fit: expected a non-empty DataFrame")
    if target not in frame.columns:
        raise DataError(f"fit: target column {target!r} not found "
                        f"(columns: {', '.join(map(str, frame.columns))})")
    y = binary_target(frame[target], target).to_numpy()
    excl = list(exclude) + ([time_column] if time_column else [])
    X, kinds, notes = infer_columns(frame, target, features, excl, coerce)
    n_terms = sum(1 if k != "categorical" else max(X[c].nunique() - 1, 1)
                  for c, k in kinds.items())
    events = int(min(y.sum(), len(y) - y.sum()))
    if events / max(n_terms, 1) < 10:
        msg = (f"only {events / max(n_terms, 1):.1f} cases of the smaller class per model term "
               "(10 or more recommended): estimates are unstable")
        notes.append(msg)
        warnings.warn(f"fit: {msg}", SmallSampleWarning, stacklevel=2)
    time = frame[time_column] if time_column else None
    folds, cv_text = _folds(y, cv, seed, time)
    oof = np.full(len(y), np.nan)
    fitted = []
    methods = set()
    for train, test in folds:
        if y[train].min() == y[train].max():
            raise ModelError("fit: a training fold has a single class; use fewer folds")
        prep, est = _fit_one(model, X.iloc[train], y[train], kinds, seed)
        fitted.append((prep, est))
        if model == "logistic":
            methods.add(est.method)
        oof[test] = _predict(model, est, prep, X.iloc[test])
    scored = ~np.isnan(oof)
    table = _bootstrap_metrics(y[scored], oof[scored], n_boot, level, seed)
    prep, est = _fit_one(model, X, y, kinds, seed)
    if model == "logistic":
        if est.method != "maximum likelihood":
            msg = ("perfect or quasi-separation: a feature (or combination) predicts the target "
                   "almost exactly; coefficients are Firth-penalised and intervals approximate "
                   "- look for a column that restates the target")
            notes.append(msg)
            warnings.warn(f"fit: {msg}", ConvergenceWarning, stacklevel=2)
        if est.dropped:
            names = [prep.names_[j] for j in est.dropped]
            msg = f"term(s) collinear with others and left out: {', '.join(names)}"
            notes.append(msg)
            warnings.warn(f"fit: {msg}", StatisticalWarning, stacklevel=2)
        drivers = _logit_drivers(prep, est, level)
    else:
        drivers = _permutation_drivers(model, fitted, X, y, folds, seed, permutation_repeats,
                                       level)
    metrics = {r.metric: r.value for r in table.itertuples()}
    metrics |= {f"{r.metric}_ci_low": r.ci_low for r in table.itertuples()}
    metrics |= {f"{r.metric}_ci_high": r.ci_high for r in table.itertuples()}
    metrics |= {"n": float(scored.sum()), "events": float(y[scored].sum()),
                "prevalence": float(y[scored].mean())}
    calibrator = _calibrator(oof, y) if model == "boosted" else None
    return ChurnModel(model, target, list(X.columns), kinds, metrics, table, drivers,
                      pd.Series(oof, index=frame.index, name="oof_probability"),
                      pd.Series(y, index=frame.index, name=target), cv_text, notes, prep, est,
                      calibrator, level)
