"""From survey answers to one row per customer with follow-up, and outcomes by segment."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from .. import measurement as ms
from ..checks import check_option
from ..errors import DataError, SmallSampleWarning
from ..metrics import nps as nps_table
from ._constructs import _blocks, construct_scores
from ._segmenter import SEGMENTS

DAYS_PER_MONTH = 365.25 / 12
CUSTOMER_COLUMNS = ("customer_id", "signup_date", "churned", "churn_date", "acquisition_channel",
                    "plan")


def score_responses(responses: pd.DataFrame, blocks: dict[str, list[str]] | None = None,
                    survey_type: str | None = "relationship", standardize: bool = True,
                    missing: ms.Missing = "error") -> pd.DataFrame:
    """Survey answers carrying the construct items, with one score column per construct.

    Keeps rows of ``survey_type`` (when the column exists; ``None`` keeps all) and adds
    ``wave``: the order of each customer's answers (1 = first). Scores are standardised
    over all kept answers together, so waves stay comparable.
    """
    blocks = _blocks(responses, blocks)
    for col in ("customer_id", "response_date"):
        if col not in responses.columns:
            raise DataError(f"responses: column {col!r} not found")
    rel = responses
    if survey_type is not None and "survey_type" in responses.columns:
        rel = responses[responses["survey_type"] == survey_type]
    if rel.empty:
        raise DataError(f"responses: no answers with survey_type == {survey_type!r}")
    rel = rel.sort_values(["customer_id", "response_date"], kind="stable")
    scores = construct_scores(rel, blocks, standardize=standardize, missing=missing)
    out = rel.copy()
    for name in blocks:
        out[name] = scores[name]
    complete = scores.notna().all(axis=1)
    out = out[complete]
    out["wave"] = out.groupby("customer_id").cumcount() + 1
    out.attrs.update(scores.attrs, dropped_incomplete=int((~complete).sum()))
    return out.reset_index(drop=True)


def survey_panel(scored: pd.DataFrame, customers: pd.DataFrame, wave: str = "first",
                 horizon_months: int = 12, end: str | pd.Timestamp | None = None) -> pd.DataFrame:
    """One row per surveyed customer: scores at the chosen answer, customer facts, follow-up.

    ``wave``: ``"first"`` (default; follow-up starts at each customer's first answer, so
    later answers, given only by customers who stayed, do not bias churn) or ``"last"``.
    Adds ``tenure_months`` at the survey, ``followup_months`` and ``event`` (churn after
    the survey, censored at ``end``: default the last date in the tables),
    ``churn_in_horizon`` (churned within ``horizon_months``; empty when follow-up is
    shorter and the customer has not churned) and ``renewed`` (still a customer one month
    after the next contract anniversary; empty when not yet observed).
    """
    check_option("wave", wave, ("first", "last"), where="survey_panel")
    missing = [c for c in CUSTOMER_COLUMNS if c not in customers.columns]
    if missing:
        raise DataError(f"customers: column(s) {', '.join(missing)} not found")
    pick = scored.groupby("customer_id", sort=False)["wave"].transform("min" if wave == "first"
                                                                        else "max")
    one = scored[scored["wave"] == pick]
    extra = [c for c in ("monthly_revenue", "revenue", "share_of_wallet", "segment", "region")
             if c in customers.columns]
    cust = customers[list(CUSTOMER_COLUMNS) + extra].rename(columns={"segment": "customer_segment"})
    panel = one.merge(cust, on="customer_id", how="left", validate="one_to_one")
    unknown = panel["signup_date"].isna()
    if unknown.any():
        raise DataError(f"responses: {int(unknown.sum())} customer ids not in customers "
                        f"(e.g. {', '.join(panel.loc[unknown, 'customer_id'].head(3))})")
    end_ts = pd.Timestamp(end) if end is not None else max(
        customers["signup_date"].max(), customers["churn_date"].max(),
        scored["response_date"].max())
    churned = panel["churned"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    churn_date = panel["churn_date"].where(churned)
    before = churned & (churn_date < panel["response_date"]).to_numpy(dtype=bool)
    if before.any():
        warnings.warn(f"survey_panel: {int(before.sum())} customers answered after their churn "
                      "date and are left out (not at risk after the survey)", SmallSampleWarning,
                      stacklevel=2)
        panel, churned, churn_date = panel[~before], churned[~before], churn_date[~before]
    event = churned & (churn_date <= end_ts).to_numpy(dtype=bool)
    stop = churn_date.where(event, end_ts)
    panel = panel.assign(
        tenure_months=(panel["response_date"] - panel["signup_date"]).dt.days / DAYS_PER_MONTH,
        followup_months=(stop - panel["response_date"]).dt.days / DAYS_PER_MONTH,
        event=event.astype(int))
    h = panel["followup_months"] <= horizon_months
    in_h = pd.array(np.where(event & h, True, np.where(~h, False, pd.NA)), dtype="boolean")
    panel["churn_in_horizon"] = in_h
    # next contract anniversary after the survey (renewal decision)
    k = np.ceil(panel["tenure_months"] / 12).clip(lower=1).astype(int)
    anniversary = pd.Series([s + pd.DateOffset(months=12 * int(m)) for s, m in
                             zip(panel["signup_date"], k)], index=panel.index)
    decided = anniversary + pd.Timedelta(days=31)
    gone = pd.Series(event, index=panel.index) & (stop <= decided)
    observed = gone | (decided <= end_ts)
    panel["renewed"] = pd.array(np.where(observed, ~gone, pd.NA), dtype="boolean")
    panel.attrs.update(scored.attrs, end=str(end_ts.date()), horizon_months=horizon_months,
                       wave=wave)
    return panel.reset_index(drop=True)


def _share_row(x: pd.Series, level: float, min_n: int) -> dict:
    x = x.dropna().astype(bool)
    n, k = len(x), int(x.sum())
    if n == 0:
        return {"estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan, "n": 0}
    lo, hi = proportion_confint(k, n, alpha=1 - level, method="wilson")
    return {"estimate": k / n, "ci_low": lo, "ci_high": hi, "n": n}


def _mean_row(x: pd.Series, level: float) -> dict:
    x = pd.to_numeric(x, errors="coerce").dropna().astype(float)
    n = len(x)
    if n < 2:
        return {"estimate": x.mean() if n else np.nan, "ci_low": np.nan, "ci_high": np.nan, "n": n}
    half = stats.t.ppf(0.5 + level / 2, n - 1) * x.std() / np.sqrt(n)
    return {"estimate": x.mean(), "ci_low": x.mean() - half, "ci_high": x.mean() + half, "n": n}


OUTCOMES = {
    "churn_in_horizon": "churned within the horizon (share; Wilson interval)",
    "renewed": "renewed at the next anniversary (share; Wilson interval)",
    "nps": "NPS at the survey (points; adjusted-Wald interval)",
    "monthly_revenue": "monthly revenue (mean; t interval)",
    "share_of_wallet": "share of wallet where known (mean; t interval)",
}


def outcomes_by_segment(panel: pd.DataFrame, segment: str = "segment", level: float = 0.95,
                        min_n: int = 30) -> pd.DataFrame:
    """Per segment and outcome: estimate, interval and n (long form).

    Outcomes (those present): churn within the horizon, renewal, NPS, monthly revenue,
    share of wallet. ``small_sample`` flags n below ``min_n``; ``method`` says which interval.
    """
    if segment not in panel.columns:
        raise DataError(f"outcomes_by_segment: column {segment!r} not found; assign segments first")
    order = [s for s in SEGMENTS if s in set(panel[segment])]
    order += sorted(set(panel[segment].dropna()) - set(order), key=str)
    rows = []
    for seg in order:
        grp = panel[panel[segment] == seg]
        for outcome, method in OUTCOMES.items():
            if outcome not in panel.columns:
                continue
            if outcome in ("churn_in_horizon", "renewed"):
                row = _share_row(grp[outcome], level, min_n)
            elif outcome == "nps":
                t = nps_table(grp, level=level, min_n=min_n).iloc[0]
                row = {"estimate": t["nps"], "ci_low": t["ci_low"], "ci_high": t["ci_high"],
                       "n": int(t["n"])}
            else:
                row = _mean_row(grp[outcome], level)
            rows.append({"segment": seg, "outcome": outcome, **row, "method": method})
    out = pd.DataFrame(rows)
    out["small_sample"] = out["n"] < min_n
    return out


def segment_movement(scored: pd.DataFrame, segment: str = "segment") -> pd.DataFrame:
    """Transitions between consecutive survey waves of the same customer.

    One row per (from, to) pair: ``n`` customers-transitions and ``share`` of the
    ``from`` segment's transitions (row share). Empty when no customer answered twice.
    """
    for col in ("customer_id", "wave", segment):
        if col not in scored.columns:
            raise DataError(f"segment_movement: column {col!r} not found")
    s = scored.sort_values(["customer_id", "wave"])
    nxt = s.groupby("customer_id")[segment].shift(-1)
    pairs = pd.DataFrame({"from": s[segment], "to": nxt}).dropna()
    if pairs.empty:
        return pd.DataFrame(columns=["from", "to", "n", "share"])
    table = pairs.groupby(["from", "to"]).size().rename("n").reset_index()
    table["share"] = table["n"] / table.groupby("from")["n"].transform("sum")
    return table
