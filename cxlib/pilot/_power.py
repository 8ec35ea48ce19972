"""Power and minimum detectable effect (MDE) of a two-group pilot comparison.

Normal approximation, two-sided test (the power of both tails is counted, as in
``statsmodels.stats.power.NormalIndPower``). Means and NPS use the difference of
means with the baseline SD in both groups; rates (churn) use Cohen's arcsine
effect size h = 2 asin(sqrt(p1)) - 2 asin(sqrt(p2)) (Cohen 1988, ch. 6).
``variance_factor`` inflates the variance for clustering (design effect
1 + (m - 1) ICC for m answers per customer) or a difference-in-differences
(about 2 (1 - rho) with rho the pre/post correlation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from scipy import optimize, stats

from ..checks import check_between
from ..errors import DataError, ParameterError
from ..metrics import z_value
from ..plots import TEMPLATE, escape_labels, style
from ..results import Result, ci_text
from ._randomised import _cluster_mean_var

__all__ = ["power_mean", "mde_mean", "nps_sd", "power_nps", "mde_nps", "power_rate", "mde_rate",
           "Baseline", "baseline", "pilot_design", "PilotDesign"]


def _check(n_pilot: float, n_control: float, alpha: float) -> None:
    if n_pilot <= 0 or n_control <= 0:
        raise ParameterError(f"group sizes must be positive, got {n_pilot} and {n_control}")
    check_between("alpha", alpha, 0, 1)


def _power_z(standardised: float, alpha: float) -> float:
    z = stats.norm.ppf(1 - alpha / 2)
    d = abs(standardised)
    return float(stats.norm.cdf(d - z) + stats.norm.cdf(-d - z))


def _solve_z(alpha: float, power: float) -> float:
    """Standardised effect (effect / SE) with the given two-sided power."""
    check_between("power", power, alpha, 1)
    return float(optimize.brentq(lambda d: _power_z(d, alpha) - power, 0.0, 40.0, xtol=1e-12))


def power_mean(effect: float, sd: float, n_pilot: float, n_control: float, alpha: float = 0.05,
               variance_factor: float = 1.0) -> float:
    """Power to detect a difference of means ``effect`` (same units as ``sd``)."""
    _check(n_pilot, n_control, alpha)
    se = sd * np.sqrt(variance_factor * (1 / n_pilot + 1 / n_control))
    return _power_z(effect / se, alpha)


def mde_mean(sd: float, n_pilot: float, n_control: float, alpha: float = 0.05,
             power: float = 0.8, variance_factor: float = 1.0) -> float:
    """Smallest difference of means detected with ``power`` (units of ``sd``'s variable)."""
    _check(n_pilot, n_control, alpha)
    return _solve_z(alpha, power) * sd * np.sqrt(variance_factor * (1 / n_pilot + 1 / n_control))


def nps_sd(promoters: float, detractors: float) -> float:
    """SD of one answer's NPS score (+100 promoter, 0 passive, -100 detractor), in points."""
    if not (0 <= promoters <= 1 and 0 <= detractors <= 1 and promoters + detractors <= 1):
        raise ParameterError("promoters and detractors are shares 0-1 summing to at most 1")
    return 100 * float(np.sqrt(promoters + detractors - (promoters - detractors) ** 2))


def power_nps(effect: float, promoters: float, detractors: float, n_pilot: float,
              n_control: float, alpha: float = 0.05, variance_factor: float = 1.0) -> float:
    """Power to detect an NPS difference of ``effect`` points with n answers per group."""
    return power_mean(effect, nps_sd(promoters, detractors), n_pilot, n_control, alpha,
                      variance_factor)


def mde_nps(promoters: float, detractors: float, n_pilot: float, n_control: float,
            alpha: float = 0.05, power: float = 0.8, variance_factor: float = 1.0) -> float:
    """Minimum detectable NPS difference (points) with n answers per group."""
    return mde_mean(nps_sd(promoters, detractors), n_pilot, n_control, alpha, power,
                    variance_factor)


def _h(p1: float, p2: float) -> float:
    return float(2 * np.arcsin(np.sqrt(p1)) - 2 * np.arcsin(np.sqrt(p2)))


def power_rate(baseline: float, effect: float, n_pilot: float, n_control: float,
               alpha: float = 0.05, variance_factor: float = 1.0) -> float:
    """Power to detect a change of a rate from ``baseline`` to ``baseline + effect``
    (e.g. churn 0.20 -> 0.17 is effect -0.03), arcsine effect size."""
    _check(n_pilot, n_control, alpha)
    if not (0 < baseline < 1 and 0 <= baseline + effect <= 1):
        raise ParameterError("baseline and baseline + effect must be rates 0-1")
    h = _h(baseline + effect, baseline)
    return _power_z(h / np.sqrt(variance_factor * (1 / n_pilot + 1 / n_control)), alpha)


def mde_rate(baseline: float, n_pilot: float, n_control: float, alpha: float = 0.05,
             power: float = 0.8, variance_factor: float = 1.0, direction: int = -1) -> float:
    """Minimum detectable absolute change of a rate (negative: a decrease, as churn should)."""
    _check(n_pilot, n_control, alpha)
    check_between("baseline", baseline, 0, 1, where="mde_rate")
    h = _solve_z(alpha, power) * np.sqrt(variance_factor * (1 / n_pilot + 1 / n_control))
    phi = np.arcsin(np.sqrt(baseline)) + np.sign(direction) * h / 2
    phi = float(np.clip(phi, 0, np.pi / 2))
    return float(np.sin(phi) ** 2 - baseline)


@dataclass(repr=False)
class Baseline(Result):
    """Pre-pilot levels and spreads the design needs (per customer, per month)."""

    promoters: float
    detractors: float
    nps_answers_per_customer_month: float
    nps_icc: float
    monthly_churn: float
    revenue_mean: float
    revenue_sd: float
    n_customers: int
    months: int
    n_answers: int = 0
    nps_se: float = np.nan
    """Standard error of the baseline NPS (points), clustered by customer (CR1)."""
    level: float = 0.95

    @property
    def nps(self) -> float:
        return 100 * (self.promoters - self.detractors)

    def nps_interval(self) -> tuple[float, float]:
        half = z_value(self.level) * self.nps_se
        return self.nps - half, self.nps + half

    def summary(self) -> pd.DataFrame:
        """One row per quantity: estimate, interval (NPS only), unit."""
        lo, hi = self.nps_interval()
        rows = [("nps", self.nps, lo, hi, "points"),
                ("promoters", self.promoters, np.nan, np.nan, "share of answers"),
                ("detractors", self.detractors, np.nan, np.nan, "share of answers"),
                ("nps_answers_per_customer_month", self.nps_answers_per_customer_month, np.nan,
                 np.nan, "answers"),
                ("nps_icc", self.nps_icc, np.nan, np.nan, "intra-customer correlation"),
                ("monthly_churn", self.monthly_churn, np.nan, np.nan, "share per month"),
                ("revenue_mean", self.revenue_mean, np.nan, np.nan, "JPY per customer-month"),
                ("revenue_sd", self.revenue_sd, np.nan, np.nan, "JPY per customer-month")]
        out = pd.DataFrame(rows, columns=["quantity", "estimate", "ci_low", "ci_high", "unit"])
        return out.assign(n_customers=self.n_customers, n_answers=self.n_answers,
                          months=self.months)

    def headline(self) -> str:
        lo, hi = self.nps_interval()
        return (f"Baseline over {self.months} months, {self.n_customers:,} active customers: "
                f"NPS {self.nps:+.1f} ({ci_text(lo, hi, self.level, '+.1f')}, clustered by "
                f"customer; n = {self.n_answers:,} answers): promoters {self.promoters:.1%}, "
                f"detractors {self.detractors:.1%} "
                f"({self.nps_answers_per_customer_month:.3f} answers per customer-month, "
                f"ICC {self.nps_icc:.2f}); monthly churn {self.monthly_churn:.2%}; monthly "
                f"revenue per customer {self.revenue_mean:,.0f} (SD {self.revenue_sd:,.0f})")

    def plot(self) -> go.Figure:
        """The baseline answer mix: promoters, passives, detractors."""
        shares = [self.promoters, 1 - self.promoters - self.detractors, self.detractors]
        fig = go.Figure(go.Bar(x=["promoters", "passives", "detractors"],
                               y=[100 * s for s in shares],
                               marker_color=["#3a9d5d", "#8c8c8c", "#c23b3b"],
                               hovertemplate="%{x}: %{y:.1f}%<extra></extra>"))
        lo, hi = self.nps_interval()
        ci = ci_text(lo, hi, self.level, "+.1f")
        style(fig, showlegend=False,
              title=f"Baseline NPS {self.nps:+.1f} ({ci}; n = {self.n_answers:,} "
                    f"answers, {self.months} months)",
              yaxis_title="share of answers (%)", xaxis_title="")
        return fig


def baseline(tables: dict[str, pd.DataFrame], before: str | pd.Timestamp,
             months: int = 12) -> Baseline:
    """Baseline rates from the ``months`` months before ``before`` (contract tables).

    NPS: all answers in the window (shares, answers per active customer-month, and the
    intra-customer correlation by one-way ANOVA); churn: churned / active customer-months;
    revenue: ``monthly_revenue`` of customers active at the start of the window.
    """
    end = pd.Timestamp(before)
    start = end - pd.DateOffset(months=months)
    cust, resp = tables["customers"], tables["responses"]
    r = resp[(resp["response_date"] >= start) & (resp["response_date"] < end)
             & resp["nps"].notna()]
    if r.empty:
        raise DataError(f"responses: no NPS answers between {start.date()} and {end.date()}")
    score = r["nps"].astype(float)
    active = (cust["signup_date"] < end) & (cust["churn_date"].isna()
                                            | (cust["churn_date"] >= start))
    if not active.any():
        raise DataError(f"customers: nobody active between {start.date()} and {end.date()}")
    first = cust["signup_date"].where(cust["signup_date"] > start, start)
    last = cust["churn_date"].where(cust["churn_date"] < end, end).fillna(end)
    exposure = ((last - first).dt.days.clip(lower=0) / 30.4375)[active].sum()
    churned = (cust["churn_date"] >= start) & (cust["churn_date"] < end)
    # ICC of the per-answer NPS score within customers (one-way ANOVA estimator)
    s = 100 * ((score >= 9).astype(float) - (score <= 6).astype(float))
    g = s.groupby(r["customer_id"].to_numpy())
    k, n = g.ngroups, len(s)
    m0 = (n - (g.size() ** 2).sum() / n) / max(k - 1, 1)
    msb = (g.size() * (g.mean() - s.mean()) ** 2).sum() / max(k - 1, 1)
    msw = ((s - g.transform("mean").to_numpy()) ** 2).sum() / max(n - k, 1)
    icc = float(np.clip((msb - msw) / (msb + (m0 - 1) * msw), 0, 1)) if msb + msw > 0 else 0.0
    rev = cust.loc[active, "monthly_revenue"].dropna().astype(float)
    return Baseline(
        promoters=float((score >= 9).mean()), detractors=float((score <= 6).mean()),
        nps_answers_per_customer_month=float(len(r) / exposure), nps_icc=icc,
        monthly_churn=float(churned.sum() / exposure), revenue_mean=float(rev.mean()),
        revenue_sd=float(rev.std()), n_customers=int(active.sum()), months=months,
        n_answers=int(n), nps_se=float(np.sqrt(_cluster_mean_var(s.to_numpy(),
                                                                 r["customer_id"].to_numpy()))))


@dataclass(repr=False)
class PilotDesign(Result):
    """MDE per KPI, pilot size and duration for a given allocation, alpha and power."""

    table: pd.DataFrame
    baseline: Baseline
    alpha: float
    power: float

    def summary(self) -> pd.DataFrame:
        """The MDE table: one row per KPI x pilot size x duration."""
        return self.table.copy()

    def headline(self) -> str:
        t = self.table[self.table["kpi"] == "nps"].sort_values(["n_pilot", "months"])
        first, last = t.iloc[0], t.iloc[-1]
        return (f"Minimum detectable NPS change from {abs(first['mde']):.1f} points "
                f"(n = {int(first['n_pilot']):,} pilot customers, {first['months']} months) to "
                f"{abs(last['mde']):.1f} points (n = {int(last['n_pilot']):,}, {last['months']} "
                f"months) at alpha {self.alpha}, power {self.power:.0%} (no interval: a design, "
                f"not an estimate; {self.table['n_pilot'].nunique()} pilot sizes x "
                f"{self.table['months'].nunique()} durations)")

    def plot(self) -> go.Figure:
        kpis = list(dict.fromkeys(self.table["kpi"]))
        fig = make_subplots(rows=1, cols=len(kpis), subplot_titles=[
            f"{k} ({self.table.loc[self.table['kpi'] == k, 'unit'].iat[0]})" for k in kpis])
        colours = TEMPLATE.layout.colorway
        for j, kpi in enumerate(kpis, start=1):
            t = self.table[self.table["kpi"] == kpi]
            for i, (months, grp) in enumerate(t.groupby("months")):
                fig.add_trace(go.Scatter(
                    x=grp["n_pilot"], y=grp["mde"].abs(), mode="lines+markers",
                    name=f"{months} months", legendgroup=str(months), showlegend=j == 1,
                    line_color=colours[i % len(colours)]), row=1, col=j)
            fig.update_xaxes(title_text="customers in the pilot", type="log", row=1, col=j)
        fig.update_yaxes(title_text=f"minimum detectable effect (|MDE|, power {self.power:.0%})",
                         row=1, col=1)
        return style(fig, title=self.finding(), legend_title="duration")

    def trends(self) -> pd.DataFrame:
        """Per KPI, how the |MDE| moves with pilot size (at each duration) and with duration
        (at each size): ``"smaller"``, ``"larger"``, ``"unchanged"`` (within 1%) or ``"mixed"``."""
        rows = []
        for kpi, t in self.table.assign(mde=self.table["mde"].abs()).groupby("kpi", sort=False):
            rows.append({"kpi": kpi,
                         "larger_pilot": _direction(t, along="n_pilot", within="months"),
                         "longer_pilot": _direction(t, along="months", within="n_pilot")})
        return pd.DataFrame(rows)

    def finding(self) -> str:
        """What the figure shows, computed from :meth:`trends`: how the MDE moves with pilot
        size and with duration, per KPI (longer pilots can raise the churn MDE: a share
        churned over the duration)."""
        t = self.trends()
        parts = []
        for column, what, varied in (("larger_pilot", "larger pilots", "n_pilot"),
                                     ("longer_pilot", "longer pilots", "months")):
            if self.table[varied].nunique() < 2:  # one size or one duration: nothing to say
                continue
            said = {d: t.loc[t[column] == d, "kpi"].tolist() for d in dict.fromkeys(t[column])}
            if len(said) == 1:
                parts.append(f"{what}: {next(iter(said))} MDE for every KPI")
            else:
                parts.append(f"{what}: " + ", ".join(
                    f"{d} {'MDE ' if i == 0 else ''}for {', '.join(escape_labels(k))}"
                    for i, (d, k) in enumerate(said.items())))
        sentence = "; ".join(parts) or "Minimum detectable effect of the design"
        return sentence[0].upper() + sentence[1:]


def _direction(table: pd.DataFrame, along: str, within: str) -> str:
    """How ``mde`` moves as ``along`` grows, over every group of ``within`` (1% tolerance)."""
    steps: list[float] = []
    for _, g in table.sort_values(along).groupby(within):
        m = g["mde"].to_numpy(dtype=float)
        steps += list(np.diff(m) / np.maximum(np.abs(m[:-1]), 1e-12))
    change = np.array(steps)
    if change.size == 0 or np.all(np.abs(change) <= 0.01):
        return "unchanged"
    if np.all(change <= 0.01):
        return "smaller"
    if np.all(change >= -0.01):
        return "larger"
    return "mixed"


def pilot_design(base: Baseline, pilot_sizes: list[int] | tuple[int, ...],
                 months: list[int] | tuple[int, ...] = (3, 6, 12), control_ratio: float = 1.0,
                 alpha: float = 0.05, power: float = 0.8) -> PilotDesign:
    """MDE table for NPS (points), churn over the duration (share) and monthly revenue per
    customer (JPY), per pilot size and duration, with ``control_ratio`` controls per pilot customer.

    NPS answers per group = customers x answers per customer-month x months, variance
    inflated by the design effect 1 + (m - 1) ICC; churn compares the share churned within
    the duration (1 - (1 - monthly)^months); revenue compares customer means (duration
    does not shrink persistent between-customer differences, so its MDE depends on n only).
    """
    rows = []
    for n_p in pilot_sizes:
        n_c = n_p * control_ratio
        for m in months:
            per_cust = base.nps_answers_per_customer_month * m
            deff = 1 + max(per_cust - 1, 0) * base.nps_icc
            a_p, a_c = max(n_p * per_cust, 1.0), max(n_c * per_cust, 1.0)
            churn = 1 - (1 - base.monthly_churn) ** m
            for kpi, unit, value, n_units in (
                ("nps", "points", mde_nps(base.promoters, base.detractors, a_p, a_c, alpha, power,
                                          deff), a_p),
                ("churn", "share churned", mde_rate(churn, n_p, n_c, alpha, power), n_p),
                ("revenue", "JPY per customer-month",
                 mde_mean(base.revenue_sd, n_p, n_c, alpha, power), n_p),
            ):
                rows.append({"kpi": kpi, "unit": unit, "n_pilot": n_p, "n_control": n_c,
                             "months": m, "units_pilot": n_units, "mde": value,
                             "baseline": {"nps": 100 * (base.promoters - base.detractors),
                                          "churn": churn, "revenue": base.revenue_mean}[kpi]})
    return PilotDesign(pd.DataFrame(rows), base, alpha, power)
