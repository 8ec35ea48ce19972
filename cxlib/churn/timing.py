"""When customers leave: first-year churn by group and the expectation-gap effect.

First-year churn is 1 - S(12 months) from Kaplan-Meier (so customers who joined less than
a year ago count for the time they were seen), with the log-log interval, per group.

The expectation-gap effect is a landmark analysis: follow customers from their first
"expectation met" answer in the first year to the end of that year, and compare churn by
the answer (Kaplan-Meier, log-rank) and per point of gap (Cox, adjusted for plan and
segment, and again within acquisition channel). Starting the clock at the answer avoids
immortal-time bias: a customer has to be still there to answer.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .. import survival as sv
from ..errors import ModelError, SmallSampleWarning
from ..plots import style
from ..results import Result, ci_text

__all__ = ["first_year_churn", "expectation_gap_effect", "GapEffect", "GAP_GROUPS"]

GAP_GROUPS = ("below expectations", "as expected", "above expectations")


def first_year_churn(survival_frame: pd.DataFrame, by: str = "acquisition_channel",
                     months: float = 12.0, level: float = 0.95, min_n: int = 30
                     ) -> pd.DataFrame:
    """Share churned within ``months`` of signup per group (1 - Kaplan-Meier), with interval.

    ``survival_frame``: ``duration`` in months and ``event`` (see
    :func:`cxlib.survival.durations` with ``unit="months"``). Returns
    ``by, n, churned_share, ci_low, ci_high, events, small_sample``.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        km = sv.kaplan_meier(survival_frame, by=by, level=level)
    at = sv.survival_at(km, months, by=by)
    d = survival_frame
    events = (d[(d["event"] == 1) & (d["duration"] <= months)].groupby(by).size()
              .reindex(at[by]).fillna(0).astype(int).to_numpy())
    out = pd.DataFrame({by: at[by], "n": at["n"].astype(int),
                        "churned_share": 1 - at["survival"], "ci_low": 1 - at["ci_high"],
                        "ci_high": 1 - at["ci_low"], "events": events})
    out["small_sample"] = out["n"] < min_n
    return out.sort_values("churned_share", ascending=False, ignore_index=True)


@dataclass(repr=False)
class GapEffect(Result):
    """Churn in the rest of the first year by the customer's expectation-met answer."""

    available: bool
    reason: str = ""
    hazard_ratios: pd.DataFrame = field(default_factory=pd.DataFrame)
    by_answer: pd.DataFrame = field(default_factory=pd.DataFrame)
    km: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    logrank: sv.LogrankResult | None = None
    n: int = 0
    level: float = 0.95

    def summary(self) -> pd.DataFrame:
        """One row per quantity: the hazard ratio per point below expectations (each model),
        the share churned by month 12 per answer, and the log-rank test; estimate, interval,
        p and n."""
        cols = ["quantity", "estimate", "ci_low", "ci_high", "p_value", "n"]
        if not self.available:
            return pd.DataFrame(columns=cols)
        hr = self.hazard_ratios.assign(
            quantity="hazard ratio per point below expectations (" + self.hazard_ratios["model"]
            + ")").rename(columns={"hazard_ratio": "estimate"})
        share = self.by_answer.assign(
            quantity="churned by month 12: " + self.by_answer["answer"],
            p_value=np.nan).rename(columns={"churned_share": "estimate"})
        parts = [hr[cols], share[cols]]
        if self.logrank is not None:
            parts.append(pd.DataFrame([{"quantity": f"{self.logrank.test} (chi2 on "
                                                    f"{self.logrank.df} df)",
                                        "estimate": self.logrank.statistic, "ci_low": np.nan,
                                        "ci_high": np.nan, "p_value": self.logrank.p_value,
                                        "n": self.n}]))
        return pd.concat(parts, ignore_index=True)

    def headline(self) -> str:
        if not self.available:
            return f"expectation-gap effect not available: {self.reason}"
        hr = self.hazard_ratios.iloc[0]
        share = self.by_answer.set_index("answer")["churned_share"]
        return (f"Each point below expectations multiplies the first-year churn hazard by "
                f"{hr['hazard_ratio']:.2f} ({ci_text(hr['ci_low'], hr['ci_high'], self.level)}, "
                f"{hr['model']}; n = {self.n:,}); by month 12 "
                f"{share.get(GAP_GROUPS[0], np.nan):.1%} of customers below expectations are "
                f"gone vs {share.get(GAP_GROUPS[1], np.nan):.1%} as expected")

    def plot(self) -> go.Figure:
        if not self.available:
            fig = go.Figure()
            fig.add_annotation(text=f"not available: {self.reason}", showarrow=False,
                               x=0.5, y=0.5, xref="paper", yref="paper")
            style(fig, title="Expectation gap and first-year churn")
            return fig
        best = self.by_answer.set_index("answer")["churned_share"]
        title = (f"Customers below expectations: {best.get(GAP_GROUPS[0], np.nan):.0%} gone by "
                 f"month 12 vs {best.get(GAP_GROUPS[1], np.nan):.0%} as expected")
        fig = sv.survival_figure(self.km, by="answer", title=title,
                                 time_title="months since the expectation answer "
                                            "(to the end of year one)")
        return fig


def expectation_gap_effect(tables: Mapping[str, pd.DataFrame] | None,
                           end: str | pd.Timestamp | None = None,
                           level: float = 0.95) -> GapEffect:
    """Landmark analysis of the expectation gap on churn in the rest of the first year.

    Needs ``customers`` and ``responses`` with ``expectation_met`` (1-5). Each customer's
    first answer in their first 12 months starts the clock; follow-up ends at churn, at
    month 12 or at ``end`` (default: last date in the data). Returns a :class:`GapEffect`
    (``available=False`` with the reason when the data do not allow it).
    """
    if not tables or "responses" not in tables or "customers" not in tables:
        return GapEffect(False, "needs the customers and responses tables")
    resp, cust = tables["responses"], tables["customers"]
    if "expectation_met" not in resp.columns or resp["expectation_met"].notna().sum() == 0:
        return GapEffect(False, "no 'expectation_met' answers in the responses")
    end_ts = pd.Timestamp(end) if end is not None else max(
        cust["signup_date"].max(), cust["churn_date"].max(), resp["response_date"].max())
    r = resp.loc[resp["expectation_met"].notna(), ["customer_id", "response_date",
                                                   "expectation_met"]]
    c = cust.set_index("customer_id")
    r = r[r["customer_id"].isin(c.index)]
    signup = c.loc[r["customer_id"], "signup_date"].to_numpy()
    year_end = pd.Series(signup).add(pd.DateOffset(months=12)).to_numpy()
    r = r[(r["response_date"].to_numpy() < year_end)]
    r = r.sort_values("response_date", kind="stable").groupby("customer_id").head(1)
    if len(r) < 30:
        return GapEffect(False, f"only {len(r)} customers answered in their first year")
    info = c.loc[r["customer_id"]].reset_index()
    start = r["response_date"].to_numpy()
    stop_year = info["signup_date"] + pd.DateOffset(months=12)
    churn = info["churn_date"].where(info["churned"].astype(bool))
    limit = np.minimum(stop_year.to_numpy(), np.datetime64(end_ts))
    event = churn.notna().to_numpy() & (churn.to_numpy() <= limit) & (churn.to_numpy() >= start)
    stop = np.where(event, churn.to_numpy(), limit)
    frame = pd.DataFrame({
        "customer_id": info["customer_id"],
        "duration": (pd.Series(stop) - pd.Series(start)).dt.total_seconds().to_numpy()
        / 86400 / sv.UNIT_DAYS["months"],
        "event": event.astype(int),
        "expectation_gap": 3.0 - r["expectation_met"].astype(float).to_numpy(),
    })
    for col in ("plan", "segment", "acquisition_channel"):
        if col in info.columns:
            frame[col] = info[col].astype(str).to_numpy()
    frame = frame[frame["duration"] > 0].reset_index(drop=True)
    frame["answer"] = np.select([frame["expectation_gap"] > 0, frame["expectation_gap"] == 0],
                                GAP_GROUPS[:2], GAP_GROUPS[2])
    if frame["event"].sum() < 10:
        return GapEffect(False, f"only {int(frame['event'].sum())} churns after the answers")
    adjust = [c for c in ("plan", "segment") if c in frame and frame[c].nunique() > 1]
    rows = []
    specs = [("adjusted for " + ", ".join(adjust) if adjust else "unadjusted", None)]
    if "acquisition_channel" in frame and frame["acquisition_channel"].nunique() > 1:
        specs.append(("within acquisition channel", "acquisition_channel"))
    for label, strata in specs:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SmallSampleWarning)
                res = sv.cox(frame, covariates=["expectation_gap", *adjust], strata=strata,
                             level=level)
        except ModelError:
            continue
        hr = res.hazard_ratios.iloc[0]
        ph = res.ph_test.iloc[0]
        rows.append({"model": label, "hazard_ratio": hr["hazard_ratio"], "ci_low": hr["ci_low"],
                     "ci_high": hr["ci_high"], "p_value": hr["p_value"], "n": res.n,
                     "events": res.events, "ph_p_value": ph["p_value"]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        km = sv.kaplan_meier(frame, by="answer", level=level)
    horizon = float(frame["duration"].max())
    at = sv.survival_at(km, horizon, by="answer")
    by_answer = pd.DataFrame({"answer": at["answer"], "n": at["n"].astype(int),
                              "churned_share": 1 - at["survival"],
                              "ci_low": 1 - at["ci_high"], "ci_high": 1 - at["ci_low"]})
    by_answer["answer"] = pd.Categorical(by_answer["answer"], GAP_GROUPS, ordered=True)
    by_answer = by_answer.sort_values("answer", ignore_index=True)
    by_answer["answer"] = by_answer["answer"].astype(str)
    lr = sv.logrank(frame, by="answer") if frame["answer"].nunique() > 1 else None
    return GapEffect(True, "", pd.DataFrame(rows), by_answer, km, lr, len(frame), level)
