"""The money: revenue at risk, customer lifetime value per segment, who to contact first.

- Revenue at risk of a customer = P(churn within the horizon) x monthly revenue x
  ``months_at_stake`` (default 12: a year of revenue is lost when a customer leaves). Per
  segment the sum carries a 95% prediction interval for the revenue actually lost, from
  the Bernoulli variance of independent customers (normal approximation).
- Lifetime value per segment is retention based (Gupta & Lehmann 2003, J Interactive
  Marketing 17:9): a constant monthly churn hazard lambda = churns / customer-months
  (exact Poisson interval), retention r = exp(-lambda), and
  CLV = margin x mean monthly revenue x (1 + d) / (1 + d - r) with monthly discount d.
  The interval carries the churn-rate uncertainty only; the constant hazard is an
  approximation (first-year churn is higher, see the Kaplan-Meier curves).
- The contact list ranks customers by expected value saved =
  P(churn) x ``save_rate`` x value if retained - ``contact_cost``; ``save_rate`` (share of
  would-be churners a contact keeps) is an assumption to set from a pilot, not an estimate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy import stats

from ..errors import DataError
from ..schema import require_columns
from ..plots import style
from ..metrics import z_value

__all__ = ["revenue_at_risk", "customer_value", "contact_list", "revenue_at_risk_figure"]


_need = require_columns


def _monthly_discount(annual_discount: float) -> float:
    return (1 + annual_discount) ** (1 / 12) - 1


def revenue_at_risk(frame: pd.DataFrame, probability: pd.Series | np.ndarray,
                    by: str | None = None, months_at_stake: float = 12.0,
                    revenue: str = "monthly_revenue", level: float = 0.95
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Expected revenue at risk per customer and per group of ``by``.

    Returns ``(per_customer, per_group)``: per customer ``customer_id, churn_probability,
    monthly_revenue, revenue_at_risk``; per group ``[by], n, expected_churners,
    revenue_at_risk, pi_low, pi_high, share_of_revenue_at_risk`` (the interval is a
    prediction interval for the revenue actually lost).
    """
    _need(frame, [revenue] + ([by] if by else []), "revenue_at_risk")
    p = np.asarray(probability, dtype=float)
    if len(p) != len(frame):
        raise DataError("revenue_at_risk: one probability per row of the frame is needed")
    rev = pd.to_numeric(frame[revenue], errors="coerce").to_numpy(dtype=float)
    if np.isnan(rev).any():
        rev = np.where(np.isnan(rev), 0.0, rev)
    stake = rev * months_at_stake
    per = pd.DataFrame({"customer_id": frame["customer_id"].to_numpy()
                        if "customer_id" in frame else np.arange(len(frame)),
                        "churn_probability": p, "monthly_revenue": rev,
                        "revenue_at_risk": p * stake})
    if by:
        per[by] = frame[by].to_numpy()
    z = z_value(level)
    keys = per[by] if by else pd.Series("all", index=per.index)
    g = per.assign(_var=p * (1 - p) * stake**2, _stake=stake).groupby(keys.to_numpy())
    out = g.agg(n=("churn_probability", "size"), expected_churners=("churn_probability", "sum"),
                revenue_at_risk=("revenue_at_risk", "sum"), _var=("_var", "sum"),
                _stake=("_stake", "sum")).reset_index(names=by or "group")
    half = z * np.sqrt(out.pop("_var"))
    out["pi_low"] = (out["revenue_at_risk"] - half).clip(lower=0)
    out["pi_high"] = out["revenue_at_risk"] + half
    out["share_of_revenue_at_risk"] = out["revenue_at_risk"] / out.pop("_stake")
    return per, out.sort_values("revenue_at_risk", ascending=False, ignore_index=True)


def customer_value(survival_frame: pd.DataFrame, by: str | None = None,
                   revenue: str = "monthly_revenue", margin: float = 1.0,
                   annual_discount: float = 0.08, level: float = 0.95) -> pd.DataFrame:
    """Retention-based customer lifetime value per group, with the churn-rate interval.

    ``survival_frame``: ``duration`` (months), ``event`` and ``revenue`` per customer.
    Returns ``[by], n, churns, customer_months, monthly_churn_rate, rate_ci_low,
    rate_ci_high, expected_lifetime_months, monthly_revenue, clv, clv_ci_low, clv_ci_high``.
    """
    _need(survival_frame, ["duration", "event", revenue] + ([by] if by else []),
          "customer_value")
    d = survival_frame.assign(_rev=pd.to_numeric(survival_frame[revenue], errors="coerce"))
    keys = d[by] if by else pd.Series("all", index=d.index)
    g = d.groupby(keys.to_numpy(), dropna=True)
    t = g.agg(n=("event", "size"), churns=("event", "sum"), customer_months=("duration", "sum"),
              monthly_revenue=("_rev", "mean")).reset_index(names=by or "group")
    a = (1 - level) / 2
    k, expo = t["churns"].to_numpy(float), t["customer_months"].to_numpy(float)
    t["monthly_churn_rate"] = k / expo
    t["rate_ci_low"] = np.where(k > 0, stats.chi2.ppf(a, 2 * k) / 2, 0.0) / expo
    t["rate_ci_high"] = stats.chi2.ppf(1 - a, 2 * k + 2) / 2 / expo
    dm = _monthly_discount(annual_discount)

    def clv(rate: np.ndarray) -> np.ndarray:
        r = np.exp(-rate)
        return margin * t["monthly_revenue"].to_numpy() * (1 + dm) / (1 + dm - r)

    t["expected_lifetime_months"] = 1 / (1 - np.exp(-t["monthly_churn_rate"]))
    t["clv"] = clv(t["monthly_churn_rate"].to_numpy())
    t["clv_ci_low"] = clv(t["rate_ci_high"].to_numpy())
    t["clv_ci_high"] = clv(t["rate_ci_low"].to_numpy())
    t.attrs.update(margin=margin, annual_discount=annual_discount)
    return t.sort_values("clv", ascending=False, ignore_index=True)


def contact_list(risk: pd.DataFrame, value: pd.DataFrame | None = None, by: str | None = None,
                 save_rate: float = 0.25, contact_cost: float = 0.0, margin: float = 1.0,
                 annual_discount: float = 0.08, top: int | None = 50) -> pd.DataFrame:
    """Customers ranked by expected value saved by a retention contact.

    ``risk``: the per-customer table of :func:`revenue_at_risk` (with ``by`` if given).
    ``value``: :func:`customer_value` per ``by`` group; the value if retained is the
    customer's monthly revenue x margin x the group's discounted lifetime factor (without
    ``value``: ``months_at_stake`` worth of revenue, i.e. revenue at risk / probability).
    """
    _need(risk, ["customer_id", "churn_probability", "monthly_revenue"], "contact_list")
    out = risk.copy()
    if value is not None:
        key = by or "group"
        dm = _monthly_discount(annual_discount)
        factor = (1 + dm) / (1 + dm - np.exp(-value.set_index(key)["monthly_churn_rate"]))
        f = out[by].map(factor) if by else pd.Series(float(factor.iloc[0]), index=out.index)
        out["value_if_retained"] = margin * out["monthly_revenue"] * f.astype(float)
    else:
        out["value_if_retained"] = margin * out["revenue_at_risk"] / out[
            "churn_probability"].where(out["churn_probability"] > 0)
    out["expected_value_saved"] = (out["churn_probability"] * save_rate
                                   * out["value_if_retained"] - contact_cost)
    out = out.sort_values("expected_value_saved", ascending=False, ignore_index=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out.attrs.update(save_rate=save_rate, contact_cost=contact_cost)
    return out.head(top) if top else out


def revenue_at_risk_figure(per_group: pd.DataFrame, by: str, currency: str = "JPY",
                           title: str = "") -> go.Figure:
    """Bars of expected revenue at risk per group with prediction intervals."""
    t = per_group
    fig = go.Figure(go.Bar(
        x=t[by].astype(str) + "<br>n=" + t["n"].map(lambda v: f"{int(v):,}"),
        y=t["revenue_at_risk"],
        error_y=dict(type="data", symmetric=False, array=t["pi_high"] - t["revenue_at_risk"],
                     arrayminus=t["revenue_at_risk"] - t["pi_low"], color="#333"),
        hovertemplate="%{x}: %{y:,.0f}<extra></extra>"))
    style(fig, title=title, yaxis_title=f"expected revenue at risk "
          f"({currency})", xaxis_title=by, showlegend=False)
    return fig
