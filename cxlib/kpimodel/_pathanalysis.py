"""Observed-variable path analysis (plain KPIs, no latent constructs) with statsmodels,
and the out-of-sample comparison of candidate integrated indices.

``path_analysis("retained ~ first_contact_resolution + nps", data)`` fits one equation a
line: OLS for continuous outcomes (HC1 standard errors), logistic regression for 0/1
outcomes (e.g. retention). Before fitting, rank and VIF are checked and the columns
named; separation and non-convergence become a clear ModelError instead of huge
coefficients.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DataError, ModelError, StatisticalWarning
from ..results import Result, ci_text
from ._fit import VIF_WARN, vif

__all__ = ["PathAnalysisResult", "path_analysis", "compare_indices"]


@dataclass(repr=False)
class PathAnalysisResult(Result):
    """Equations fitted one by one; ``coefficients`` long table, ``effects`` through chains."""

    equations: list[tuple[str, list[str], str]]   # (outcome, predictors, model)
    coefficients: pd.DataFrame
    effects: pd.DataFrame
    vif: pd.DataFrame
    fits: dict

    def summary(self) -> pd.DataFrame:
        """The coefficients of every equation: estimate, SE, 95% CI, p, n (statsmodels)."""
        return self.coefficients.copy()

    def _terms(self) -> pd.DataFrame:
        t = self.coefficients[self.coefficients["term"] != "const"]
        return t.assign(label=t["outcome"] + " <- " + t["term"])

    def headline(self) -> str:
        t = self._terms()
        r = t.loc[(t["estimate"] / t["std_error"]).abs().idxmax()]
        return (f"Observed-variable path analysis ({len(self.equations)} equation(s)): strongest "
                f"term {r['label']} {r['estimate']:+.3g} ({r['model']}, "
                f"{ci_text(r['ci_low'], r['ci_high'], 0.95, '+.3g')}, p = {r['p_value']:.3g}; "
                f"n = {r['n']:,})")

    def plot(self):
        """Every equation's coefficients with 95% CIs (log-odds for logit equations)."""
        from ..plots import forest

        return forest(self._terms(), "label",
                      title="Path analysis coefficients (95% CI; log-odds for logit equations)",
                      x_title="coefficient")


def _equations(spec: str) -> list[tuple[str, list[str]]]:
    eqs = []
    for no, raw in enumerate(spec.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.count("~") != 1 or "=~" in line or "<~" in line:
            raise ModelError(f"path_analysis: line {no}: use 'y ~ x1 + x2' (observed columns only)")
        lhs, rhs = (s.strip() for s in line.split("~"))
        terms = [t.strip() for t in rhs.split("+")]
        if not lhs or not all(terms) or not all(re.match(r"^[A-Za-z_][\w.]*$", t)
                                                for t in [lhs, *terms]):
            raise ModelError(f"path_analysis: line {no}: cannot read '{line}'")
        eqs.append((lhs, terms))
    if not eqs:
        raise ModelError("path_analysis: no equations")
    return eqs


def _is_binary(y: pd.Series) -> bool:
    return set(pd.unique(y.dropna())) <= {0, 1, True, False}


def path_analysis(spec: str, data: pd.DataFrame, controls: Sequence[str] = ()) -> PathAnalysisResult:
    """Fit each equation ``y ~ x1 + x2`` on observed columns (OLS, or logit for 0/1 y).

    Rows with a missing value in an equation's columns are left out of that equation
    (``n`` per row of the table). ``effects``: direct, indirect and total effects along
    chains of equations (products of coefficients; on the log-odds scale for a logit
    outcome, on the outcome's scale otherwise).
    """
    import statsmodels.api as sm

    eqs = _equations(spec)
    outcomes = [y for y, _ in eqs]
    if len(set(outcomes)) != len(outcomes):
        raise ModelError("path_analysis: an outcome appears in two equations; join them")
    cols = sorted({c for y, xs in eqs for c in [y, *xs]} | set(controls))
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise DataError(f"path_analysis: column(s) {', '.join(missing)} not found")
    rows, vif_rows, fits, info = [], [], {}, []
    for y, xs in eqs:
        frame = data[[y, *xs, *controls]].apply(pd.to_numeric, errors="coerce").astype(float).dropna()
        X = sm.add_constant(frame[[*xs, *controls]], has_constant="add")
        const_cols = [c for c in X.columns[1:] if X[c].nunique() <= 1]
        if const_cols:
            raise DataError(f"path_analysis: {y} ~ ...: column(s) {', '.join(const_cols)} are "
                            "constant in the rows used")
        if np.linalg.matrix_rank(X.to_numpy()) < X.shape[1]:
            v = vif(X.drop(columns="const"))
            raise ModelError(f"path_analysis: {y} ~ {' + '.join(xs)}: predictors are perfectly "
                             "collinear (" + ", ".join(f"{k} VIF {x:.3g}" for k, x in v.items()
                                                       if not np.isfinite(x) or x > VIF_WARN)
                             + "); drop one")
        v = vif(X.drop(columns="const"))
        vif_rows += [{"outcome": y, "variable": k, "vif": float(x)} for k, x in v.items()]
        if (v > VIF_WARN).any():
            warnings.warn(f"path_analysis: {y}: collinear predictors " + ", ".join(
                f"{k} VIF {x:.1f}" for k, x in v[v > VIF_WARN].items()), StatisticalWarning,
                stacklevel=2)
        binary = _is_binary(frame[y])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                if binary:
                    if frame[y].nunique() < 2:
                        raise ModelError(f"path_analysis: {y} has one class only")
                    fit = sm.Logit(frame[y], X).fit(disp=0, maxiter=100)
                else:
                    fit = sm.OLS(frame[y], X).fit(cov_type="HC1")
            except ModelError:
                raise
            except (Warning, np.linalg.LinAlgError, ValueError) as exc:
                raise ModelError(f"path_analysis: {y} ~ {' + '.join(xs)} cannot be fitted "
                                 f"({type(exc).__name__}: {exc}); perfect separation or "
                                 "collinearity?") from None
        model = "logit" if binary else "OLS"
        ci = fit.conf_int()
        for term in fit.params.index:
            rows.append({"outcome": y, "model": model, "term": term,
                         "estimate": fit.params[term], "std_error": fit.bse[term],
                         "ci_low": ci.loc[term, 0], "ci_high": ci.loc[term, 1],
                         "p_value": fit.pvalues[term], "n": int(fit.nobs)})
        fits[y] = fit
        info.append((y, xs, model))
    coef = pd.DataFrame(rows)
    # effects along chains: B[to, from] from the equations' coefficients
    names = sorted({c for y, xs in eqs for c in [y, *xs]})
    ix = {c: i for i, c in enumerate(names)}
    Bm = np.zeros((len(names), len(names)))
    for y, xs, _ in info:
        for x in xs:
            Bm[ix[y], ix[x]] = fits[y].params[x]
    total = np.linalg.inv(np.eye(len(names)) - Bm) - np.eye(len(names))
    eff = [{"from": a, "to": b, "direct": Bm[ix[b], ix[a]],
            "indirect": total[ix[b], ix[a]] - Bm[ix[b], ix[a]], "total": total[ix[b], ix[a]]}
           for a in names for b in names if a != b and total[ix[b], ix[a]] != 0]
    return PathAnalysisResult(info, coef, pd.DataFrame(eff, columns=["from", "to", "direct",
                                                                     "indirect", "total"]),
                              pd.DataFrame(vif_rows), fits)


def compare_indices(spec, data: pd.DataFrame, index: str, retention: str | None = "retained",
                    revenue: str | None = "monthly_revenue", nps: str | None = "nps",
                    controls: Sequence[str] = (), folds: int = 5, seed: int | None = 0,
                    scheme: str = "path", missing: str = "mean") -> pd.DataFrame:
    """Out-of-sample: estimated PLS index vs equal-weight index vs plain NPS.

    K-fold cross-validation: in each training fold the PLS model is refitted and the
    test customers scored with the training weights, means and SDs; the equal-weight
    index is the mean of the index's standardised KPIs (training means/SDs, missing
    = training mean). Each candidate alone (plus ``controls``) predicts retention
    (logistic, test AUC) and log revenue (OLS, test R²). Returns mean, standard error
    over folds and a 95% t interval (``*_low``, ``*_high``), with n.
    """
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.metrics import r2_score, roc_auc_score

    from ._fit import fit_pls
    from ._spec import parse_spec

    spec = parse_spec(spec)
    if index not in spec.constructs:
        raise ModelError(f"compare_indices: {index!r} is not a construct of the spec")
    inds = [i for i in spec.indicators if spec.block_of(i) == index]
    rng = np.random.default_rng(seed)
    fold = rng.permutation(len(data)) % folds
    ctrl = pd.get_dummies(data[list(controls)].astype("string"), drop_first=True,
                          dtype=float) if controls else pd.DataFrame(index=data.index)
    out = []
    for f in range(folds):
        train, test = data[fold != f], data[fold == f]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StatisticalWarning)
            res = fit_pls(spec, train, scheme=scheme, missing=missing)
        w = res.raw_weights
        mu = res.data.mean()
        Xte = test[spec.indicators].apply(pd.to_numeric, errors="coerce").astype(float).fillna(mu)
        cand = {}
        cand["estimated index"] = ((Xte[inds] - res.means[inds]) * w[inds]).sum(axis=1)
        tr_mu = train[inds].astype(float).mean()
        tr_sd = train[inds].astype(float).std(ddof=0)
        cand["equal-weight index"] = ((Xte[inds] - tr_mu) / tr_sd).mean(axis=1)
        if nps and nps in test:
            cand["NPS (0-10 answer)"] = pd.to_numeric(test[nps], errors="coerce").astype(float)
        if controls:
            cand["controls only"] = pd.Series(0.0, index=test.index)
        # the same candidates on the training rows, to fit the outcome models
        Xtr = res.data
        tr_c = {"estimated index": res.scores[index],
                "equal-weight index": ((Xtr[inds] - tr_mu) / tr_sd).mean(axis=1)}
        if "NPS (0-10 answer)" in cand:
            tr_c["NPS (0-10 answer)"] = pd.to_numeric(train.loc[Xtr.index, nps],
                                                      errors="coerce").astype(float)
        if controls:
            tr_c["controls only"] = pd.Series(0.0, index=Xtr.index)
        for name in cand:
            row = {"fold": f, "candidate": name}
            for kind, col in (("retention_auc", retention), ("revenue_r2", revenue)):
                if col is None:
                    continue
                Xa = pd.concat([tr_c[name].rename("x"), ctrl.reindex(Xtr.index)], axis=1)
                Xb = pd.concat([cand[name].rename("x"), ctrl.reindex(test.index)], axis=1)
                ya = pd.to_numeric(train.loc[Xtr.index, col], errors="coerce").astype(float)
                yb = pd.to_numeric(test[col], errors="coerce").astype(float)
                ka, kb = ya.notna() & Xa.notna().all(axis=1), yb.notna() & Xb.notna().all(axis=1)
                if kind == "revenue_r2":
                    ka &= ya > 0
                    kb &= yb > 0
                    mdl = LinearRegression().fit(Xa[ka], np.log(ya[ka]))
                    row[kind] = r2_score(np.log(yb[kb]), mdl.predict(Xb[kb]))
                else:
                    mdl = LogisticRegression(C=1e6, max_iter=1000).fit(Xa[ka], ya[ka])
                    row[kind] = roc_auc_score(yb[kb], mdl.predict_proba(Xb[kb])[:, 1])
                row[f"n_{kind.split('_')[0]}"] = int(kb.sum())
            out.append(row)
    per_fold = pd.DataFrame(out)
    metrics = [c for c in ("retention_auc", "revenue_r2") if c in per_fold]
    agg = per_fold.groupby("candidate", sort=False).agg(
        **{f"{m}": (m, "mean") for m in metrics},
        **{f"{m}_se": (m, lambda s: s.std(ddof=1) / np.sqrt(len(s))) for m in metrics},
        **{f"n_{m.split('_')[0]}": (f"n_{m.split('_')[0]}", "sum") for m in metrics})
    from scipy import stats as st
    tq = st.t.ppf(0.975, folds - 1)
    for m_ in metrics:
        agg[f"{m_}_low"] = agg[m_] - tq * agg[f"{m_}_se"]
        agg[f"{m_}_high"] = agg[m_] + tq * agg[f"{m_}_se"]
    agg["folds"] = folds
    return agg.reset_index()
