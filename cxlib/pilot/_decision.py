"""From a measured pilot effect to a decision: roll out, extend the pilot, or stop.

The probability that the effect exceeds the business threshold uses the normal
approximation of the estimate (equivalently a flat-prior posterior): Phi((b - t) / se).
The money comes in from outside as a value per unit of the KPI with an interval
(:class:`ValuePerUnit`, e.g. from the KPI model's what-if) or as a callable; the
impact interval propagates both uncertainties by simulation (``seed``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import statsmodels.api as sm
from scipy import stats

from ..errors import DataError
from ..plots import style
from ._did import DiDResult
from ._kpis import kpi_observations
from ..metrics import z_value
from ..results import Result, ci_text

__all__ = ["ValuePerUnit", "retention_value", "rollout_value", "decide", "Decision",
           "RECOMMENDATIONS"]

RECOMMENDATIONS = ("roll out", "extend the pilot", "stop")


@dataclass(repr=False)
class ValuePerUnit(Result):
    """Money per unit change of a KPI (e.g. JPY per year for +1.0 of a share), with interval."""

    mean: float
    ci_low: float
    ci_high: float
    unit: str = "JPY per year per unit of the KPI"
    source: str = ""
    level: float = 0.95
    details: dict = field(default_factory=dict)
    n: int = 0
    """Customers the value is for (the roll-out base)."""

    @classmethod
    def per_unit(cls, total: float, low: float, high: float, change: float,
                 unit: str = "JPY per year per +1.0 of the KPI", source: str = "",
                 level: float = 0.95, n: int = 0) -> "ValuePerUnit":
        """From money (estimate and interval) for a KPI change of ``change`` (e.g. a KPI
        model's what-if at the measured effect) to money per unit (linear around it)."""
        if not change or not np.isfinite(change):
            raise DataError(f"ValuePerUnit.per_unit: the KPI change must be non-zero, got {change}")
        lo, hi = sorted((low / change, high / change))
        return cls(total / change, lo, hi, unit=unit, source=source, level=level, n=n)

    @property
    def sd(self) -> float:
        return (self.ci_high - self.ci_low) / (2 * z_value(self.level))

    def summary(self) -> pd.DataFrame:
        """One row: value per unit with its interval, unit, customers and source."""
        return pd.DataFrame([{"value": self.mean, "ci_low": self.ci_low,
                              "ci_high": self.ci_high, "level": self.level, "unit": self.unit,
                              "n": self.n, "source": self.source}])

    def headline(self) -> str:
        ci = ci_text(self.ci_low, self.ci_high, self.level, ",.0f")
        return (f"{self.mean:,.0f} {self.unit} ({ci}; n = {self.n:,} customers); "
                f"source: {self.source}")

    def plot(self) -> go.Figure:
        """The value per unit with its interval."""
        from ..plots import forest

        return forest(self.summary().assign(what="value per unit"), "what", x="value",
                      title=self.headline().split("; source")[0],
                      x_title=f"{self.unit} ({self.level:.0%} CI)")


def retention_value(tables: dict[str, pd.DataFrame], kpi: str, before: str | pd.Timestamp,
                    customers: int | None = None, window_months: int = 12,
                    churn_days: int = 90, horizon_months: int = 12,
                    level: float = 0.95) -> ValuePerUnit:
    """Retention-based money per unit of an observation KPI, from data before ``before``.

    value = customers x observations per customer-year x d(churn within ``churn_days``)/d(y)
    x monthly revenue per customer x ``horizon_months``. The churn slope is a linear
    probability regression of churn-after-the-observation on ``y`` with customer-clustered
    SE (for first-contact resolution: churn after resolved minus after unresolved contacts).
    An observational association, not an experiment: customers with unresolved contacts
    may differ in other ways. For survey KPIs only answered experiences count (a lower bound).
    ``customers`` defaults to those active at the end of the data (the roll-out base).
    """
    end = pd.Timestamp(before)
    lo = end - pd.DateOffset(months=window_months)
    obs = kpi_observations(tables, kpi)
    obs = obs[(obs["when"] >= lo) & (obs["when"] < end - pd.Timedelta(days=churn_days))
              & obs["y"].notna()]
    if len(obs) < 30:
        raise DataError(f"retention_value: only {len(obs)} {kpi} observations between "
                        f"{lo.date()} and {end.date()} - {churn_days} days")
    cust = tables["customers"].set_index("customer_id")
    left = cust["churn_date"].reindex(obs["customer_id"]).to_numpy()
    w = obs["when"].to_numpy()
    gone = ((left > w) & (left <= w + np.timedelta64(churn_days, "D"))).astype(float)
    x = sm.add_constant(obs["y"].to_numpy(dtype=float))
    fit = sm.OLS(gone, x).fit(cov_type="cluster",
                              cov_kwds={"groups": pd.factorize(obs["customer_id"])[0]})
    slope, se = float(fit.params[1]), float(fit.bse[1])
    stop = end - pd.Timedelta(days=churn_days)  # observations need churn_days of follow-up
    first = cust["signup_date"].where(cust["signup_date"] > lo, lo)
    last = cust["churn_date"].where(cust["churn_date"] < stop, stop).fillna(stop)
    years = float((last - first).dt.days.clip(lower=0).sum() / 365.25)
    rate = len(obs) / years
    base = customers if customers is not None else int(cust["churn_date"].isna().sum())
    revenue = float(cust.loc[cust["churn_date"].isna(), "monthly_revenue"].mean())
    scale = -base * rate * revenue * horizon_months  # a lower churn is worth money
    z = z_value(level)
    lo_v, hi_v = sorted((scale * (slope - z * se), scale * (slope + z * se)))
    return ValuePerUnit(scale * slope, lo_v, hi_v, unit="JPY per year per +1.0 of the KPI",
                        source=(f"retention: {base:,} customers x {rate:.2f} {kpi} observations "
                                f"per customer-year x churn slope {slope:+.4f} per unit (SE "
                                f"{se:.4f}, {churn_days}-day churn) x {revenue:,.0f} JPY/month x "
                                f"{horizon_months} months"),
                       level=level, details={"customers": base, "per_customer_year": rate,
                                             "churn_slope": slope, "churn_slope_se": se,
                                             "monthly_revenue": revenue}, n=base)


def rollout_value(tables: dict[str, pd.DataFrame], kpi: str, effect: float,
                  before: str | pd.Timestamp, customers: int | None = None,
                  bootstrap: int = 100, seed: int = 0, level: float = 0.95,
                  spec: str | None = None) -> ValuePerUnit:
    """Money per unit of ``kpi`` for a roll-out to ``customers`` (default: active at the end).

    Through the KPI model when ``kpi`` is one of its indicators: PLS fit (``spec``, default
    ``kpimodel.SAMPLE_SPEC``, sparse indicators mean-imputed with a warning), retention and
    revenue linked to the index, and the what-if at the measured ``effect`` divided by it
    (linear around the effect). Otherwise :func:`retention_value` from data before ``before``.
    ``ValuePerUnit.source`` says which.
    """
    from .. import kpimodel as km  # the KPI model is only needed on this path

    base = customers if customers is not None else int(
        tables["customers"]["churn_date"].isna().sum())
    model_spec = km.parse_spec(spec or km.SAMPLE_SPEC)
    if kpi not in model_spec.indicators:
        return retention_value(tables, kpi, before, customers=base, level=level)
    kpi_table = km.customer_kpis(tables, horizon_months=12)
    with warnings.catch_warnings(record=True) as caught:  # said again below, in context
        warnings.simplefilter("always")
        pls = km.fit_pls(model_spec, kpi_table, missing="mean", bootstrap=bootstrap, seed=seed,
                         level=level)
        index = [b.name for b in model_spec.blocks if b.mode == "B"]
        outcomes = km.link_outcomes(pls, kpi_table, retention="retained",
                                    revenue="monthly_revenue", revenue_on=index,
                                    controls=["plan", "segment"])
        money = km.what_if(outcomes, {kpi: effect}, base_customers=base,
                           level=level).revenue_total
    for w in caught:  # raised where the analyst called rollout_value, saying what it is about
        text = str(w.message).removeprefix("fit_pls: ").replace("rows", "customers")
        warnings.warn(f"rollout_value: the money value of the roll-out comes from the KPI "
                      f"model fitted on {len(kpi_table):,} customers; {text}", w.category,
                      stacklevel=2)
    return ValuePerUnit.per_unit(money["estimate"], money["ci_low"], money["ci_high"],
                                 change=effect, level=level, n=base,
                                 source=f"KPI model what-if, {base:,} customers")


@dataclass(repr=False)
class Decision(Result):
    """The pilot's verdict with the numbers it follows from."""

    kpi: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    level: float
    threshold: float
    prob_above_threshold: float
    prob_positive: float
    recommendation: str
    reasons: list[str]
    impact: tuple[float, float, float] | None = None
    """Projected yearly money of a roll-out: (median, ci_low, ci_high), or None."""
    prob_profitable: float | None = None
    pretrend_p: float = np.nan
    n: int | None = None
    """Observations behind the effect (from a :class:`DiDResult`), or None when not given."""

    def summary(self) -> pd.DataFrame:
        """One row: the effect, its interval, the threshold, P(above), the recommendation
        and, when valued, the projected money."""
        row = {"kpi": self.kpi, "estimate": self.estimate, "ci_low": self.ci_low,
               "ci_high": self.ci_high, "threshold": self.threshold,
               "prob_above_threshold": self.prob_above_threshold,
               "recommendation": self.recommendation}
        if self.impact is not None:
            row |= {"impact_jpy": self.impact[0], "impact_ci_low": self.impact[1],
                    "impact_ci_high": self.impact[2]}
        return pd.DataFrame([row])

    def sentence(self) -> str:
        money = "" if self.impact is None else (
            f"; projected roll-out impact {self.impact[0] / 1e6:+,.1f}M JPY a year "
            f"({self.level:.0%} interval {self.impact[1] / 1e6:+,.1f}M to "
            f"{self.impact[2] / 1e6:+,.1f}M)")
        return (f"Recommendation: {self.recommendation.upper()}. The pilot moved {self.kpi} by "
                f"{self.estimate:+.3g} ({self.level:.0%} CI {self.ci_low:+.3g} to "
                f"{self.ci_high:+.3g}); the probability that the effect exceeds the threshold "
                f"{self.threshold:+.3g} is {self.prob_above_threshold:.0%}{money}. Why: "
                + "; ".join(self.reasons) + ".")

    def headline(self) -> str:
        n = f"n = {self.n:,} observations" if self.n is not None else "n not given"
        return (f"{self.recommendation.capitalize()}: the pilot moved {self.kpi} by "
                f"{self.estimate:+.3g} ({ci_text(self.ci_low, self.ci_high, self.level, '+.3g')}; "
                f"{n}), P(effect > {self.threshold:+.3g}) = {self.prob_above_threshold:.0%}")

    def plot(self) -> go.Figure:
        sd = self.se if self.se > 0 else 1e-9
        x = np.linspace(min(self.ci_low, self.threshold, 0) - 1.5 * sd,
                        max(self.ci_high, self.threshold, 0) + 1.5 * sd, 300)
        dens = stats.norm.pdf(x, self.estimate, sd)
        above = x >= self.threshold
        fig = go.Figure()
        fig.add_trace(go.Scatter(x=x, y=dens, mode="lines", line_color="#1f5fa8",
                                 name="plausible effects"))
        fig.add_trace(go.Scatter(x=x[above], y=dens[above], fill="tozeroy", mode="none",
                                 fillcolor="rgba(58,157,93,0.35)", name="above threshold"))
        fig.add_vline(x=self.threshold, line_dash="dash", line_color="#3a9d5d",
                      annotation_text="threshold")
        fig.add_vline(x=0, line_color="#888")
        style(fig, showlegend=False, yaxis_title="density",
              title=f"{self.recommendation.capitalize()}: "
                    f"P(effect > {self.threshold:g}) = {self.prob_above_threshold:.0%}",
              xaxis_title=f"pilot effect on {self.kpi} (normal approximation)")
        return fig


def decide(effect: DiDResult | tuple[float, float], threshold: float, *,
           value: ValuePerUnit | Callable[[np.ndarray], np.ndarray] | None = None,
           cost: float | None = None, kpi: str | None = None, level: float = 0.95,
           confidence: float = 0.8, pretrend_alpha: float = 0.05, n_draws: int = 20_000,
           seed: int = 0) -> Decision:
    """Roll out / extend the pilot / stop, from an effect and a business threshold.

    ``effect``: a :class:`DiDResult` (its pre-trend p is used) or ``(estimate, se)``;
    ``threshold``: smallest effect worth a roll-out, in the KPI's units (higher is better;
    pass a negated KPI for churn). Rules, in order: a failed pre-trend check (p <
    ``pretrend_alpha``) -> extend; interval above 0 and P(effect > threshold) >=
    ``confidence`` (and, with ``value`` and ``cost``, P(impact > cost) >= ``confidence``)
    -> roll out; interval entirely below the threshold -> stop; otherwise extend.
    """
    if isinstance(effect, DiDResult):
        est, se, name, pre_p = effect.estimate, effect.se, kpi or effect.kpi, effect.pretrend_p
        n = effect.n_obs
    else:
        (est, se), name, pre_p, n = effect, kpi or "the KPI", np.nan, None
    if not np.isfinite(est) or not np.isfinite(se) or se < 0:
        raise DataError(f"decide: the effect needs a finite estimate and SE (got {est}, {se})")
    z = z_value(level)
    lo, hi = est - z * se, est + z * se
    sd = max(se, 1e-12)
    p_thr = float(stats.norm.sf(threshold, est, sd))
    p_pos = float(stats.norm.sf(0.0, est, sd))
    impact, p_profit = None, None
    if value is not None:
        rng = np.random.default_rng(seed)
        draws = rng.normal(est, sd, n_draws)
        if isinstance(value, ValuePerUnit):
            money = draws * rng.normal(value.mean, max(value.sd, 0.0), n_draws)
        else:
            money = np.asarray(value(draws), dtype=float)
        q = np.quantile(money, [0.5, (1 - level) / 2, (1 + level) / 2])
        impact = (float(q[0]), float(q[1]), float(q[2]))
        if cost is not None:
            p_profit = float((money > cost).mean())
    reasons = []
    if pre_p < pretrend_alpha:
        rec = "extend the pilot"
        reasons.append(f"pilot and control already drifted apart before the start (pre-trend "
                       f"p = {pre_p:.3f}), so the difference-in-differences may be biased")
    elif lo > 0 and p_thr >= confidence and (p_profit is None or p_profit >= confidence):
        rec = "roll out"
        reasons.append(f"the interval excludes zero and the effect exceeds the threshold with "
                       f"probability {p_thr:.0%} (>= {confidence:.0%})")
        if p_profit is not None:
            reasons.append(f"the roll-out pays its cost with probability {p_profit:.0%}")
    elif hi < threshold:
        rec = "stop"
        reasons.append(f"even the upper end of the interval ({hi:+.3g}) is below the threshold")
    else:
        rec = "extend the pilot"
        if lo <= 0:
            reasons.append("the interval still includes no effect")
        if p_thr < confidence:
            reasons.append(f"the probability of exceeding the threshold ({p_thr:.0%}) is below "
                           f"{confidence:.0%}")
        if p_profit is not None and p_profit < confidence:
            reasons.append(f"the roll-out pays its cost with probability {p_profit:.0%} only")
        reasons.append("more customers or months would narrow the interval")
    return Decision(name, float(est), float(se), lo, hi, level, threshold, p_thr, p_pos, rec,
                    reasons, impact, p_profit, pre_p, n)
