"""The financial layer: construct scores -> retention and revenue; what-if in money.

``link_outcomes`` fits, at customer level, a logistic model of retention and a
log-linear model of monthly revenue on construct scores (and optional plain KPIs
and controls), with statsmodels for the full-sample table. When the PLS model was
bootstrapped, both are refitted on the *same* resamples (weights, scores and outcome
models re-estimated together), so what-if intervals carry the uncertainty of the
whole chain.

``what_if`` turns KPI changes (in the KPI's own units) into: the change of each
construct score (score SD; through the outer weight and the total effects), the
change in retention probability (average over customers, percentage points) and in
expected annual revenue. Expected annual revenue of a customer is
12 x monthly revenue x (1 + p) / 2, where p is the probability of still being a
customer at the horizon: churners are assumed to leave, on average, half-way.
Intervals are bootstrap percentiles; customers' baseline linear predictors are held
at their full-sample values (the effect's uncertainty, not the mix's, is resampled).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import DataError, ModelError, StatisticalWarning
from ..results import Result, ci_text
from ._fit import PLSResult, vif, VIF_WARN
from ._glm import batched_logit, batched_ols

__all__ = ["OutcomeModel", "WhatIfResult", "link_outcomes", "what_if", "rank_kpis",
           "ipma", "index_shares"]


@dataclass(repr=False)
class OutcomeModel(Result):
    """Retention and revenue linked to a fitted PLS model (see :func:`link_outcomes`)."""

    result: PLSResult
    retention: str | None
    revenue: str | None
    retention_on: list[str]
    revenue_on: list[str]
    controls: list[str]
    log_revenue: bool
    table: pd.DataFrame                  # coefficients with CIs (statsmodels)
    n_retention: int
    n_revenue: int
    horizon_label: str = "horizon"
    # arrays for what-if (full sample first, then per resample)
    _eta: np.ndarray = field(repr=False, default=None)        # (n_ret,) retention lin. pred.
    _monthly: np.ndarray = field(repr=False, default=None)    # monthly revenue of ret. rows
    _beta_ret: np.ndarray = field(repr=False, default=None)   # (k,) predictors only
    _beta_rev: np.ndarray = field(repr=False, default=None)
    _boot_ret: np.ndarray = field(repr=False, default=None)   # (B, k)
    _boot_rev: np.ndarray = field(repr=False, default=None)
    _boot_ok: np.ndarray = field(repr=False, default=None)
    n_failed: int = 0

    def summary(self) -> pd.DataFrame:
        """The coefficients of both models with 95% CIs, p and n (statsmodels)."""
        return self.table.copy()

    def _predictors(self) -> pd.DataFrame:
        on = set(self.retention_on) | set(self.revenue_on)
        t = self.table[self.table["term"].isin(on)]
        return t.assign(label=t["model"] + ": " + t["term"])

    def headline(self) -> str:
        parts = []
        for _, r in self._predictors().groupby("outcome", sort=False).head(1).iterrows():
            parts.append(f"{r['model']} per SD of {r['term']} {r['estimate']:+.3g} "
                         f"({ci_text(r['ci_low'], r['ci_high'], 0.95, '+.3g')}; n = {r['n']:,})")
        boot = (f"; {len(self._boot_ok)} joint bootstrap resamples, {self.n_failed} failed"
                if self._boot_ok is not None else "")
        return "Outcome models on construct scores: " + "; ".join(parts) + boot

    def plot(self):
        """The construct-score coefficients of each outcome model with 95% CIs."""
        from ..plots import forest

        return forest(self._predictors(), "label",
                      title="Outcomes on construct scores (95% CI; log-odds for retention)",
                      x_title="coefficient per SD of the construct score")


def _design(result: PLSResult, d: pd.DataFrame, on: list[str], controls: list[str],
            scores: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    parts = []
    for name in on:
        if name in scores.columns:
            parts.append(scores[name].rename(name))
        elif name in d.columns:
            parts.append(pd.to_numeric(d[name], errors="coerce").astype(float).rename(name))
        else:
            raise DataError(f"link_outcomes: {name!r} is neither a construct of the model nor a "
                            "column of data")
    X = pd.concat(parts, axis=1)
    ctrl = []
    for c in controls:
        if c not in d.columns:
            raise DataError(f"link_outcomes: control column {c!r} not found")
        col = d[c]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            X[c] = col.astype(float)
            ctrl.append(c)
        else:
            dummies = pd.get_dummies(col.astype("string"), prefix=c, drop_first=True, dtype=float)
            X = pd.concat([X, dummies], axis=1)
            ctrl += list(dummies.columns)
    X.insert(0, "const", 1.0)
    return X, ctrl


def _sm_table(fit, outcome: str, model: str, n: int) -> pd.DataFrame:
    ci = fit.conf_int()
    return pd.DataFrame({"outcome": outcome, "model": model, "term": fit.params.index,
                         "estimate": fit.params.to_numpy(), "std_error": fit.bse.to_numpy(),
                         "ci_low": ci.iloc[:, 0].to_numpy(), "ci_high": ci.iloc[:, 1].to_numpy(),
                         "p_value": fit.pvalues.to_numpy(), "n": n})


def link_outcomes(result: PLSResult, data: pd.DataFrame, retention: str | None = "retained",
                  revenue: str | None = "monthly_revenue", retention_on: Sequence[str] | None = None,
                  revenue_on: Sequence[str] | None = None, controls: Sequence[str] = (),
                  log_revenue: bool = True) -> OutcomeModel:
    """Logistic model of ``retention`` (0/1) and OLS of log ``revenue`` on construct scores.

    ``retention_on`` / ``revenue_on``: constructs (or plain KPI columns) used as predictors;
    by default the model's final constructs (those explaining no other). ``controls``:
    columns added to both (categorical ones as dummies). Rows are those of the PLS fit;
    rows with a missing outcome are left out of that outcome's model.
    """
    import statsmodels.api as sm

    if retention is None and revenue is None:
        raise ModelError("link_outcomes: give a retention and/or a revenue column")
    spec = result.spec
    sinks = [c for c in spec.constructs if not any(s == c for s, _ in spec.paths)]
    retention_on = list(retention_on or sinks)
    revenue_on = list(revenue_on or sinks)
    controls = list(controls)
    d = data.reindex(result.data.index)
    missing_rows = d.index[d.isna().all(axis=1)] if len(d.columns) else d.index
    if len(missing_rows) == len(d):
        raise DataError("link_outcomes: data share no rows (index) with the PLS fit's data")
    rows = []
    out = dict(ret=None, rev=None)
    n_ret = n_rev = 0
    scores = result.scores
    for kind, col, on in (("ret", retention, retention_on), ("rev", revenue, revenue_on)):
        if col is None:
            continue
        if col not in d.columns:
            raise DataError(f"link_outcomes: outcome column {col!r} not found")
        X, _ = _design(result, d, on, controls, scores)
        y = pd.to_numeric(d[col], errors="coerce").astype(float)
        keep = y.notna() & X.notna().all(axis=1)
        if kind == "rev" and log_revenue:
            nonpos = keep & (y <= 0)
            if nonpos.any():
                warnings.warn(f"link_outcomes: {int(nonpos.sum())} rows with {col} <= 0 left out "
                              "of the log-revenue model", StatisticalWarning, stacklevel=2)
            keep &= y > 0
        X, y = X[keep], y[keep]
        if kind == "ret":
            values = set(np.unique(y))
            if not values <= {0.0, 1.0}:
                raise DataError(f"link_outcomes: retention column {col!r} must be 0/1")
            if len(values) < 2:
                raise ModelError(f"link_outcomes: {col!r} has one class only ({len(y)} rows); "
                                 "no retention model can be fitted")
            events = int(min(y.sum(), len(y) - y.sum()))
            if events < 10 * (X.shape[1] - 1):
                warnings.warn(f"link_outcomes: {events} events for {X.shape[1] - 1} predictors "
                              "(fewer than 10 per predictor); estimates unstable",
                              StatisticalWarning, stacklevel=2)
        v = vif(X.drop(columns="const"))
        if (v > VIF_WARN).any():
            warnings.warn("link_outcomes: collinear predictors of " + col + ": " + ", ".join(
                f"{k} VIF {x:.1f}" for k, x in v[v > VIF_WARN].items()), StatisticalWarning,
                stacklevel=2)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                if kind == "ret":
                    fit = sm.Logit(y, X).fit(disp=0, maxiter=100)
                    n_ret = len(y)
                else:
                    fit = sm.OLS(np.log(y) if log_revenue else y, X).fit(cov_type="HC1")
                    n_rev = len(y)
            except (Warning, np.linalg.LinAlgError) as exc:
                raise ModelError(f"link_outcomes: the {col} model cannot be fitted "
                                 f"({type(exc).__name__}: {exc}); check separation or "
                                 "collinear predictors") from None
        name = ("logit of " if kind == "ret" else ("OLS of log " if log_revenue else "OLS of ")) + col
        rows.append(_sm_table(fit, col, name, len(y)))
        out[kind] = (fit, X, y, keep)

    model = OutcomeModel(result, retention, revenue, retention_on, revenue_on, controls,
                         log_revenue, pd.concat(rows, ignore_index=True), n_ret, n_rev)
    if out["ret"] is not None:
        fit, X, y, keep = out["ret"]
        model._eta = X.to_numpy() @ fit.params.to_numpy()
        model._beta_ret = fit.params[retention_on].to_numpy()
        mrev = d.loc[keep, revenue] if revenue is not None else None
        model._monthly = None if mrev is None else pd.to_numeric(mrev, errors="coerce").to_numpy(float)
    if out["rev"] is not None:
        fit, X, y, keep = out["rev"]
        model._beta_rev = fit.params[revenue_on].to_numpy()
        if model._monthly is None:
            model._monthly = y.to_numpy()
    if result.bootstrap is not None:
        _bootstrap_outcomes(model, d, out)
    return model


def _bootstrap_outcomes(model: OutcomeModel, d: pd.DataFrame, out: dict) -> None:
    """Refit the outcome models on the PLS bootstrap's resamples (same counts)."""
    result = model.result
    boot = result.bootstrap
    spec = result.spec
    Xraw = result.data.to_numpy()
    n, p = Xraw.shape
    block = np.array([spec.constructs.index(spec.block_of(i)) for i in spec.indicators])
    m = len(spec.constructs)
    B = boot.n_resamples
    res = {"ret": np.full((B, len(model.retention_on)), np.nan),
           "rev": np.full((B, len(model.revenue_on)), np.nan)}
    ok_all = boot.ok.copy()
    for sl, counts in boot.counts(n):
        W = np.zeros((counts.shape[0], p, m))
        W[:, np.arange(p), block] = boot.weights[sl]
        Xt = Xraw[None] - boot.means[sl][:, None, :]
        if result.scaled:
            with np.errstate(divide="ignore", invalid="ignore"):
                Xt = Xt / boot.sds[sl][:, None, :]
        S = Xt @ W                                        # scores per resample
        for kind, on in (("ret", model.retention_on), ("rev", model.revenue_on)):
            if out[kind] is None:
                continue
            fit, X, y, keep = out[kind]
            rows = np.flatnonzero(keep.to_numpy())
            design = np.broadcast_to(X.to_numpy(), (counts.shape[0], *X.shape)).copy()
            for c, name in enumerate(X.columns):
                if name in spec.constructs:
                    design[:, :, c] = S[:, rows, spec.constructs.index(name)]
            w = counts[:, rows].astype(float)
            yy = y.to_numpy()
            if kind == "ret":
                beta, ok = batched_logit(design, yy, w, start=fit.params.to_numpy())
            else:
                beta, ok = batched_ols(design, np.log(yy) if model.log_revenue else yy, w)
            idx = [list(X.columns).index(name) for name in on]
            res[kind][sl] = beta[:, idx]
            ok_all[sl] &= ok
    model._boot_ret = res["ret"]
    model._boot_rev = res["rev"]
    model._boot_ok = ok_all
    model.n_failed = int((~ok_all).sum())
    if model.n_failed > boot.n_failed:
        warnings.warn(f"link_outcomes: {model.n_failed} of {B} joint resamples failed "
                      "(PLS or outcome model) and are left out of what-if intervals",
                      StatisticalWarning, stacklevel=3)


@dataclass(repr=False)
class WhatIfResult(Result):
    """Change in index, retention and revenue for KPI changes, with bootstrap intervals."""

    changes: dict[str, float]
    table: pd.DataFrame
    n_resamples: int
    n_failed: int
    level: float
    currency: str
    n: int = 0
    """Rows of the PLS model the what-if is computed from."""

    def quantity(self, name: str) -> pd.Series:
        """One row of :attr:`table` by its quantity (estimate, ci_low, ci_high, unit)."""
        rows = self.table[self.table["quantity"] == name]
        if rows.empty:
            raise ModelError(f"what_if: no quantity {name!r}; have {list(self.table['quantity'])}")
        return rows.iloc[0]

    @property
    def revenue_total(self) -> pd.Series:
        """Change in annual revenue over all base customers, with its interval."""
        rows = self.table[self.table["quantity"].str.startswith("annual revenue, ")]
        return self.quantity(str(rows["quantity"].iloc[0]) if len(rows) else "annual revenue, all")

    def summary(self) -> pd.DataFrame:
        """One row per quantity: unit, estimate and bootstrap percentile interval."""
        return self.table.copy()

    def headline(self) -> str:
        ch = ", ".join(f"{k} {v:+g}" for k, v in self.changes.items())
        r = self.revenue_total
        return (f"what-if ({ch}): {r['quantity']} {r['estimate']:+,.0f} {self.currency} a year "
                f"(bootstrap percentile {ci_text(r['ci_low'], r['ci_high'], self.level, '+,.0f')}"
                f" from {self.n_resamples - self.n_failed} resamples, {self.n_failed} failed; "
                f"n = {self.n:,})")

    def plot(self):
        """Each quantity with its interval, one panel per quantity (units differ)."""
        from plotly.subplots import make_subplots

        from ..plots import style

        t = self.table
        fig = make_subplots(rows=len(t), cols=1, vertical_spacing=0.5 / max(len(t), 1),
                            subplot_titles=[f"{q} ({u})" for q, u in zip(t["quantity"], t["unit"])])
        for i, r in enumerate(t.itertuples(), start=1):
            fig.add_scatter(x=[r.estimate], y=[r.quantity], mode="markers",
                            marker=dict(size=11, color="#1f5fa8"),
                            error_x=dict(type="data", symmetric=False,
                                         array=[r.ci_high - r.estimate],
                                         arrayminus=[r.estimate - r.ci_low], color="#333"),
                            row=i, col=1)
            fig.add_vline(x=0, line_color="#888", row=i, col=1)
            fig.update_yaxes(showticklabels=False, row=i, col=1)
        return style(fig, showlegend=False, height=120 * len(t) + 120,
                     title=self.headline().split(" (bootstrap")[0])


def _deltas(model: OutcomeModel, changes: Mapping[str, float], w_raw: np.ndarray,
            total: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
    """Construct-score changes (m,) for KPI changes, through weights and total effects."""
    spec = model.result.spec
    m = len(spec.constructs)
    direct = np.zeros(m)
    plain = {}
    for kpi, delta in changes.items():
        if kpi in spec.indicators:
            j = spec.indicators.index(kpi)
            direct[spec.constructs.index(spec.block_of(kpi))] += w_raw[j] * delta
        else:
            plain[kpi] = delta
    return direct + total @ direct, plain


def _effects(model: OutcomeModel, dlv: np.ndarray, plain: dict, beta_ret, beta_rev
             ) -> tuple[float, float]:
    spec = model.result.spec
    d_ret = d_rev = 0.0
    p0 = p1 = None
    if model._eta is not None and beta_ret is not None:
        x = np.array([dlv[spec.constructs.index(c)] if c in spec.constructs else plain.get(c, 0.0)
                      for c in model.retention_on])
        d_eta = float(x @ beta_ret)
        p0 = 1 / (1 + np.exp(-model._eta))
        p1 = 1 / (1 + np.exp(-(model._eta + d_eta)))
        d_ret = float(np.mean(p1 - p0))
    factor = 1.0
    if beta_rev is not None:
        x = np.array([dlv[spec.constructs.index(c)] if c in spec.constructs else plain.get(c, 0.0)
                      for c in model.revenue_on])
        dlog = float(x @ beta_rev)
        factor = np.exp(dlog) if model.log_revenue else dlog
    mon = model._monthly
    if mon is None:
        return d_ret, np.nan
    if model.log_revenue or beta_rev is None:
        new_mon = mon * factor
    else:
        new_mon = mon + factor
    keep0 = (1 + p0) / 2 if p0 is not None else 1.0
    keep1 = (1 + p1) / 2 if p1 is not None else 1.0
    d_rev = float(np.mean(12 * (new_mon * keep1 - mon * keep0)))
    return d_ret, d_rev


def _check_changes(model: OutcomeModel, changes: Mapping[str, float]) -> None:
    if not changes:
        raise ModelError("what_if: give at least one change, e.g. {'first_contact_resolution': 0.05}")
    known = set(model.result.spec.indicators) | set(model.retention_on) | set(model.revenue_on)
    for kpi in changes:
        if kpi not in known:
            import difflib
            hint = difflib.get_close_matches(kpi, sorted(known), n=1)
            raise ModelError(f"what_if: {kpi!r} is not an indicator of the model nor an outcome "
                             "predictor" + (f" (did you mean {hint[0]!r}?)" if hint else ""))


def what_if(model: OutcomeModel, changes: Mapping[str, float], base_customers: int | None = None,
            level: float = 0.95, currency: str = "JPY") -> WhatIfResult:
    """Change in construct scores, retention and annual revenue for KPI changes (own units).

    ``changes``: {kpi: delta}, e.g. ``{"first_contact_resolution": +0.05}`` (five
    points of share). ``base_customers``: customers the total is scaled to (default: the
    customers in the model). Intervals: bootstrap percentiles (``fit_pls(bootstrap=...)``).
    """
    _check_changes(model, changes)
    result = model.result
    spec = result.spec
    total_full = result.total_effects().to_numpy()
    dlv, plain = _deltas(model, changes, result.raw_weights.to_numpy(), total_full)
    d_ret, d_rev = _effects(model, dlv, plain, model._beta_ret, model._beta_rev)
    n_base = base_customers or result.n
    labels = ([(f"score change: {c}", "score SD") for c in spec.constructs]
              + [("retention probability", "percentage points"),
                 ("annual revenue per customer", f"{currency} per year"),
                 (f"annual revenue, {n_base:,} customers", f"{currency} per year")])
    est = np.concatenate([dlv, [100 * d_ret, d_rev, d_rev * n_base]])
    low = high = np.full(len(est), np.nan)
    n_res, n_failed = 0, 0
    boot = result.bootstrap
    if boot is not None and model._boot_ok is not None:
        ok = np.flatnonzero(model._boot_ok)
        n_res, n_failed = boot.n_resamples, boot.n_resamples - len(ok)
        draws = []
        for b in ok:
            w = boot.weights[b] / boot.sds[b] if result.scaled else boot.weights[b]
            dl, pl = _deltas(model, changes, w, boot.total[b])
            br = model._boot_ret[b] if model._beta_ret is not None else None
            bv = model._boot_rev[b] if model._beta_rev is not None else None
            r, v = _effects(model, dl, pl, br, bv)
            draws.append(np.concatenate([dl, [100 * r, v, v * n_base]]))
        draws = np.array(draws)
        a = (1 - level) / 2
        low, high = np.nanquantile(draws, [a, 1 - a], axis=0)
    else:
        warnings.warn("what_if: the PLS model has no bootstrap; intervals are missing "
                      "(fit_pls(..., bootstrap=200) or more)", StatisticalWarning, stacklevel=2)
    table = pd.DataFrame({"quantity": [q for q, _ in labels], "unit": [u for _, u in labels],
                          "estimate": est, "ci_low": low, "ci_high": high})
    return WhatIfResult(dict(changes), table, n_res, n_failed, level, currency,
                        model.result.n)


def rank_kpis(model: OutcomeModel, units: Mapping[str, float] | None = None,
              kpis: Sequence[str] | None = None, base_customers: int | None = None,
              level: float = 0.95, currency: str = "JPY") -> pd.DataFrame:
    """KPIs ranked by annual revenue per unit of improvement, with bootstrap intervals.

    ``units``: the improvement each KPI is moved by (own units); default one tenth of
    the KPI's observed range (e.g. 0.1 of a 0-1 share, 0.4 of a 1-5 scale).
    ``kpis``: default every indicator of a composite (formative) block, or all indicators.
    """
    spec = model.result.spec
    if kpis is None:
        kpis = [i for b in spec.blocks if b.mode == "B" for i in b.indicators] or spec.indicators
    data = model.result.data
    rows = []
    for kpi in kpis:
        unit = (units or {}).get(kpi)
        if unit is None:
            unit = float(data[kpi].max() - data[kpi].min()) / 10
        res = what_if(model, {kpi: unit}, base_customers, level, currency).table.set_index("quantity")
        r = res.loc["retention probability"]
        v = res.loc["annual revenue per customer"]
        tot = res.iloc[-1]
        rows.append({"kpi": kpi, "organisation": None, "unit": unit,
                     "retention_pp": r.estimate, "retention_low": r.ci_low,
                     "retention_high": r.ci_high, "revenue_change": tot.estimate,
                     "revenue_low": tot.ci_low, "revenue_high": tot.ci_high,
                     "revenue_per_customer": v.estimate})
    from ._kpis import kpi_owners
    out = pd.DataFrame(rows)
    owners = kpi_owners(out["kpi"])
    out["organisation"] = [owners.get(k, "") for k in out["kpi"]]
    out["clearly_positive"] = out["revenue_low"] > 0
    return out.sort_values("revenue_change", ascending=False, ignore_index=True)


def _ipma_core(w_raw: np.ndarray, ranges: np.ndarray, block: np.ndarray, total: np.ndarray,
               t: int) -> np.ndarray:
    """Importance (target 0-100 points per indicator 0-100 point) of each indicator."""
    m = total.shape[0]
    s = np.array([np.sum(w_raw[block == k] * ranges[block == k]) / 100 for k in range(m)])
    wt = w_raw * ranges / 100 / s[block]
    eff = np.where(block == t, 1.0, total[t, block] * s[block] / s[t])
    return wt * eff


def ipma(result: PLSResult, target: str, scale: Mapping[str, tuple[float, float]] | None = None,
         level: float = 0.95) -> pd.DataFrame:
    """Importance-performance map of the indicators for ``target`` (Ringle & Sarstedt 2016).

    Indicators are rescaled to 0-100 with ``scale`` {column: (min, max)} (default: the
    observed range); the construct scores follow with normalised weights. Importance =
    unstandardised total effect on the target's 0-100 score of one point on the
    indicator's 0-100 scale; performance = the indicator's mean on 0-100. Importance
    intervals: bootstrap percentiles of weights and total effects (rescaling constants
    held at the full sample's).
    """
    spec = result.spec
    if target not in spec.constructs:
        raise ModelError(f"ipma: target {target!r} is not a construct ({', '.join(spec.constructs)})")
    data = result.data
    lo = np.array([(scale or {}).get(c, (data[c].min(), data[c].max()))[0] for c in data.columns])
    hi = np.array([(scale or {}).get(c, (data[c].min(), data[c].max()))[1] for c in data.columns])
    ranges = hi - lo
    block = np.array([spec.constructs.index(spec.block_of(i)) for i in spec.indicators])
    t = spec.constructs.index(target)
    reach = np.array([k == t or _reaches_idx(result, k, t) for k in range(len(spec.constructs))])
    total = result.total_effects().to_numpy()
    w_raw = result.raw_weights.to_numpy()
    if (result.outer["weight"] < 0).any():
        warnings.warn("ipma: negative outer weights; rescaled scores leave 0-100",
                      StatisticalWarning, stacklevel=2)
    imp = _ipma_core(w_raw, ranges, block, total, t)
    perf = 100 * (data.mean().to_numpy() - lo) / ranges
    out = pd.DataFrame({"indicator": spec.indicators, "construct": [spec.block_of(i) for i in spec.indicators],
                        "importance": imp, "performance": perf})
    boot = result.bootstrap
    if boot is not None:
        ok = np.flatnonzero(boot.ok)
        draws = np.array([_ipma_core(boot.weights[b] / boot.sds[b] if result.scaled
                                     else boot.weights[b], ranges, block, boot.total[b], t)
                          for b in ok])
        a = (1 - level) / 2
        out["importance_low"], out["importance_high"] = np.nanquantile(draws, [a, 1 - a], axis=0)
    return out[reach[block]].reset_index(drop=True)


def _reaches_idx(result: PLSResult, k: int, t: int) -> bool:
    from ._fit import _reaches
    names = result.spec.constructs
    return _reaches(result.spec, names[k], names[t])


def index_shares(result: PLSResult, construct: str, level: float = 0.95) -> pd.DataFrame:
    """Each indicator's (and organisation's) share of a composite index, with intervals.

    Share = standardised weight / sum of the block's standardised weights (what one SD of
    each KPI contributes to the index); negative shares mean the KPI lowers the index.
    """
    from ._kpis import kpi_owners
    spec = result.spec
    if construct not in spec.constructs:
        raise ModelError(f"index_shares: {construct!r} is not a construct")
    inds = [i for i in spec.indicators if spec.block_of(i) == construct]
    pos = [spec.indicators.index(i) for i in inds]
    w = result.outer.set_index("indicator").loc[inds, "weight"].to_numpy()
    std_w = w if result.scaled else w * result.sds[inds].to_numpy()
    share = std_w / std_w.sum()
    owners = kpi_owners(inds)
    out = pd.DataFrame({"indicator": inds, "organisation": [owners.get(i, "") for i in inds],
                        "weight": w, "share": share})
    boot = result.bootstrap
    if boot is not None:
        ok = np.flatnonzero(boot.ok)
        bw = boot.weights[ok][:, pos]
        if not result.scaled:
            bw = bw * boot.sds[ok][:, pos]
        bs = bw / bw.sum(axis=1, keepdims=True)
        a = (1 - level) / 2
        out["share_low"], out["share_high"] = np.nanquantile(bs, [a, 1 - a], axis=0)
    return out
