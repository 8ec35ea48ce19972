"""One simulated company: its contract tables and planted truth (:func:`make_company`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..checks import check_at_least
from ._params import EMOTIONAL_ITEMS, ORGANISATIONS, RATIONAL_ITEMS, Params
from ._simulate import CATALOGUE, CHANNELS, TOUCHPOINTS, draw_population, simulate_journey
from ._stores import draw_stores
from ._surveys import PLANTED_TEXT, make_responses

__all__ = ["TABLES", "Company", "make_company"]

TABLES: tuple[str, ...] = ("customers", "responses", "touchpoints", "kpis", "financials")


@dataclass
class Company:
    """The tables of one simulated company and its ground truth."""

    customers: pd.DataFrame
    responses: pd.DataFrame
    touchpoints: pd.DataFrame
    kpis: pd.DataFrame
    financials: pd.DataFrame
    truth: dict[str, Any] = field(default_factory=dict)
    latent: pd.DataFrame | None = None
    """Per-customer unobserved truth: CX index, constructs, expectation gap, quality per org."""

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: getattr(self, name) for name in TABLES}


def _dates(p: Params, day: np.ndarray) -> pd.Series:
    return pd.Series(np.datetime64(p.start, "D") + day.astype("timedelta64[D]")).astype(
        "datetime64[ns]")


def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    return np.array([f"{prefix}{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


def make_company(n_customers: int = 20_000, seed: int = 0, params: Params | None = None) -> Company:
    """Simulate ``n_customers`` over ``params.months`` months; same seed, same tables."""
    check_at_least("n_customers", n_customers, 100, where="make_company")
    p = params or Params()
    # one stream per component; the comments' stream (the fifth) leaves the others as they were
    s_pop, s_journey, s_survey, s_time, s_text = (np.random.default_rng(s)
                                                  for s in np.random.SeedSequence(seed).spawn(5))
    pop = draw_population(p, n_customers, s_pop)
    journey = simulate_journey(p, pop, s_journey)
    raw, survey_truth = make_responses(p, pop, journey, s_survey, s_text)
    end = np.datetime64(p.start, "M") + p.months

    cid = _ids("C", n_customers, 6)
    churned = journey.churn_day >= 0
    sow = 1 / (1 + np.exp(-(-0.2 + 0.5 * pop.emotional + 0.15 * pop.rational
                             + 0.3 * s_pop.standard_normal(n_customers))))
    customers = pd.DataFrame({
        "customer_id": cid,
        "signup_date": _dates(p, pop.signup_day),
        "acquisition_channel": pop.channel.astype(str),
        "plan": pop.plan.astype(str),
        "segment": pop.segment.astype(str),
        "region": pop.region.astype(str),
        "store": draw_stores(pop.region, seed),
        "churned": churned,
        "churn_date": _dates(p, np.where(churned, journey.churn_day, 0)).where(churned),
        "monthly_revenue": np.round(journey.monthly_spend),
        "revenue": np.round(journey.revenue),
        "share_of_wallet": np.where(s_pop.random(n_customers) < 0.6, np.round(sow, 2), np.nan),
        "monitor_group": pop.monitor,
    })

    touchpoints = _touchpoints(p, journey.events, cid, s_time, end)
    responses = _responses(p, raw, cid, customers)
    kpis = _monthly_kpis(touchpoints, responses, customers)
    m = pd.period_range(p.start, periods=p.months, freq="M").to_timestamp()
    financials = pd.DataFrame({
        "month": m.astype("datetime64[ns]"),
        "active_customers": journey.monthly["active"].astype(int),
        "new_customers": journey.monthly["new"].astype(int),
        "churned_customers": journey.monthly["churned"].astype(int),
        "revenue": np.round(journey.monthly["revenue"]),
    })
    truth = _truth(p, pop, journey, customers, responses, survey_truth, n_customers, seed)
    latent = pd.DataFrame({
        "customer_id": cid, "cx_index": pop.cxi, "emotional": pop.emotional,
        "rational": pop.rational, "expectation_gap": pop.gap,
        **{f"quality_{o}": pop.quality[:, i] for i, o in enumerate(ORGANISATIONS)},
    })
    return Company(customers, responses, touchpoints, kpis, financials, truth, latent)


def _touchpoints(p: Params, ev: dict, cid: np.ndarray, rng: np.random.Generator,
                 end: np.datetime64) -> pd.DataFrame:
    ts = (np.datetime64(p.start, "s") + (ev["day"] * 86400).astype("timedelta64[s]")
          + rng.integers(9 * 3600, 21 * 3600, len(ev["day"])).astype("timedelta64[s]"))
    keep = ts < end.astype("datetime64[s]")
    order = np.lexsort((ev["customer"][keep], ts[keep]))
    tp = np.array(TOUCHPOINTS, dtype=object)[ev["touchpoint"][keep][order]]
    resolved = ev["resolved"][keep][order]
    frame = pd.DataFrame({
        "event_id": _ids("E", keep.sum(), 7),
        "customer_id": cid[ev["customer"][keep][order]],
        "timestamp": ts[keep][order].astype("datetime64[ns]"),
        "journey_phase": [CATALOGUE[t][0] for t in tp],
        "touchpoint": tp,
        "organisation": [CATALOGUE[t][1] for t in tp],
        "channel": np.array(CHANNELS, dtype=object)[ev["channel"][keep][order]],
        "event_type": [CATALOGUE[t][3] for t in tp],
        "resolved_first_contact": pd.array(np.where(resolved < 0, None, resolved == 1),
                                           dtype="boolean"),
    })
    repeat = (frame["touchpoint"] == "support_contact").to_numpy() & (resolved < 0)
    frame.loc[repeat, "event_type"] = "repeat_contact"
    return frame


def _responses(p: Params, raw: pd.DataFrame, cid: np.ndarray, customers: pd.DataFrame
               ) -> pd.DataFrame:
    tp_channel = {t: CATALOGUE[t][2] for t in TOUCHPOINTS}
    code = raw["channel_code"].to_numpy()
    channel = np.where(code >= 0, np.array(CHANNELS, dtype=object)[np.clip(code, 0, None)],
                       raw["touchpoint"].map(tp_channel).fillna("email"))
    out = pd.DataFrame({
        "response_id": _ids("R", len(raw), 7),
        "customer_id": cid[raw["customer"].to_numpy()],
        "response_date": _dates(p, raw["day"].to_numpy()),
        "survey_type": raw["survey_type"].to_numpy(),
        "journey_phase": raw["journey_phase"].to_numpy(),
        "touchpoint": raw["touchpoint"].to_numpy(),
        "organisation": raw["organisation"].to_numpy(),
        "channel": channel,
    })
    for col in ("nps", "csat", "ces", *RATIONAL_ITEMS, *EMOTIONAL_ITEMS, "expectation_met"):
        values = raw[col].to_numpy(dtype=float, na_value=np.nan) if col in raw else np.nan
        out[col] = pd.array(np.where(np.asarray(values) >= 0, values, np.nan), dtype="Float64"
                            ).astype("Int64")
    out["verbatim"] = pd.array(raw["verbatim"].to_numpy(), dtype="string")
    # post-stratification weights by region x plan within survey type (mean 1 per type)
    cells = customers.set_index("customer_id")[["region", "plan"]]
    key = cells.loc[out["customer_id"]].reset_index(drop=True)
    pop_share = customers.groupby(["region", "plan"]).size() / len(customers)
    out["weight"] = 1.0
    for stype, idx in out.groupby("survey_type").groups.items():
        k = key.loc[idx]
        sample_share = k.groupby(["region", "plan"]).size() / len(k)
        ratio = (pop_share / sample_share).reindex(pd.MultiIndex.from_frame(k)).to_numpy()
        out.loc[idx, "weight"] = np.round(ratio / ratio.mean(), 4)
    return out


def _monthly_kpis(tp: pd.DataFrame, resp: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """Each organisation's monthly KPIs in long form: month, organisation, kpi, value, n."""
    rows = []

    def add(frame: pd.DataFrame, when: str, org: str, kpi: str, col: str) -> None:
        g = frame.groupby(frame[when].dt.to_period("M"))[col]
        agg = pd.DataFrame({"value": g.mean(), "n": g.count()}).reset_index(names="month")
        agg["organisation"], agg["kpi"] = org, kpi
        rows.append(agg)

    tr = resp[resp["survey_type"] == "transactional"]
    for org in ORGANISATIONS:
        sub = tr[tr["organisation"] == org]
        if len(sub):
            add(sub.assign(top2=(sub["csat"] >= 4).astype(float)), "response_date", org,
                "csat_top2", "top2")
    for org in ("web", "contact_centre"):
        add(tr[tr["organisation"] == org].assign(x=lambda d: d["ces"].astype(float)),
            "response_date", org, "ces_mean", "x")
    contacts = tp[tp["event_type"] == "contact"]
    add(contacts.assign(x=contacts["resolved_first_contact"].astype(float)), "timestamp",
        "contact_centre", "first_contact_resolution", "x")
    onboarding = resp[(resp["survey_type"] == "relationship") & (resp["journey_phase"] == "initial_use")]
    add(onboarding.assign(x=(onboarding["expectation_met"] >= 3).astype(float)), "response_date",
        "advertising", "expectation_met_share", "x")
    rel = resp[resp["survey_type"] == "relationship"]
    add(rel.assign(x=rel["nps"].astype(float) >= 9), "response_date", "crm", "promoter_share", "x")
    out = pd.concat(rows, ignore_index=True)
    out["month"] = out["month"].dt.to_timestamp().astype("datetime64[ns]")
    out = out[["month", "organisation", "kpi", "value", "n"]]
    return out.sort_values(["month", "organisation", "kpi"], ignore_index=True)


def _truth(p: Params, pop, journey, customers: pd.DataFrame, responses: pd.DataFrame,
           survey_truth: dict, n: int, seed: int) -> dict[str, Any]:
    end = pd.Timestamp(p.start) + pd.DateOffset(months=p.months)
    full_year = customers["signup_date"] <= end - pd.Timedelta(days=365)
    gone_1y = customers["churned"] & (customers["churn_date"] - customers["signup_date"]
                                      <= pd.Timedelta(days=365))
    first_year = gone_1y[full_year].groupby(customers.loc[full_year, "acquisition_channel"]).mean()
    latent = pd.Series(np.select(
        [pop.emotional >= 0.5, (pop.rational >= 0.5) & (pop.emotional < 0),
         (pop.rational < 0) & (pop.emotional < 0)],
        ["emotionally_satisfied", "rationally_only", "dissatisfied"], "other"))
    planted_ids = {k: str(responses["response_id"].iat[pos])
                   for k, pos in survey_truth["planted_text_rows"].items()}
    return {
        "seed": seed,
        "n_customers": n,
        "params": p.to_dict(),
        "scales": {
            "churn": "log-odds of monthly churn probability (discrete-time logit hazard)",
            "constructs": "latent emotional attachment, rational satisfaction and CX index: "
                          "standard normal",
            "spend": "log-points of monthly spend per SD of the CX index",
        },
        "realised": {
            "churn_rate": float(customers["churned"].mean()),
            "first_year_churn_by_channel": {k: float(v) for k, v in first_year.items()},
            "latent_segment_churn_rate": {k: float(v) for k, v in
                                          customers["churned"].groupby(latent).mean().items()},
            "latent_segment_rule": "emotionally_satisfied: E >= 0.5; rationally_only: R >= 0.5 "
                                   "and E < 0; dissatisfied: R < 0 and E < 0 (latent SD units)",
            "corr_emotional_rational": float(np.corrcoef(pop.emotional, pop.rational)[0, 1]),
            "monitor_group_size": int(pop.monitor.sum()),
        },
        "pilot": {
            "start": str((pd.Timestamp(p.start) + pd.DateOffset(months=p.pilot_start_month)).date()),
            "region": p.pilot_region,
            "latent_quality_shift": p.pilot_quality_shift,
            "effect_on_first_contact_resolution": journey.pilot_fcr_att,
            "effects_on_answers": survey_truth["pilot_effects"],
        },
        "planted_text": {k: {"response_id": planted_ids[k], "text": PLANTED_TEXT[k]}
                         for k in planted_ids},
        "comments": survey_truth["comments"],
    }
