"""The journey view: where along the customer journey experience is won and lost.

Metrics by phase and touchpoint, how many interactions happen after the purchase,
which touchpoints hurt most (low scores x volume x driver importance), and what
unresolved first contacts and repeat contacts do to NPS. Observational comparisons:
they show association with intervals, not a controlled effect.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import metrics
from .dataset import Dataset
from .engine import touchpoints as events
from .errors import DataError
from .results import Result, ci_text, p_text
from .schema import require_columns
from .vocab import in_journey_order

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["journey_metrics", "response_rate", "post_purchase_share", "pain_points",
           "contact_effects", "ContactEffects", "PRE_PURCHASE_PHASES"]

PRE_PURCHASE_PHASES: tuple[str, ...] = ("research", "selection")


def _need(frame: pd.DataFrame, cols: Sequence[str], what: str, fn: str) -> None:
    require_columns(frame, cols, f"{fn}: {what}")


def journey_metrics(responses: pd.DataFrame, by: str | Sequence[str] = ("journey_phase",
                                                                        "touchpoint"),
                    weight: str | None = None, level: float = 0.95, min_n: int = 30,
                    dataset: Dataset | None = None) -> pd.DataFrame:
    """NPS, CSAT top-box share and CES mean per phase / touchpoint, in journey order.

    Columns: the keys, ``n``, ``nps`` with ``nps_low``/``nps_high`` (adjusted Wald),
    ``csat_top_box`` with ``csat_low``/``csat_high`` (Wilson), ``ces_mean`` with its t
    interval where CES was asked, and ``small_sample`` (NPS n below ``min_n``). CSAT and CES
    are read on the scales, top box and easy box of ``dataset`` (the description:
    ``Dataset.csat_args()``, ``ces_args()``; None: the sample's, CSAT 1-5 top-2).
    """
    keys = [by] if isinstance(by, str) else list(by)
    _need(responses, keys, "grouping", "journey_metrics")
    dataset = dataset if dataset is not None else Dataset()
    n = metrics.nps(responses, by=keys, weight=weight, level=level, min_n=min_n)
    out = n[[*keys, "n", "nps", "ci_low", "ci_high", "small_sample"]].rename(
        columns={"ci_low": "nps_low", "ci_high": "nps_high"})
    if "csat" in responses.columns:
        c = metrics.csat(responses, by=keys, weight=weight, level=level, min_n=min_n,
                         **dataset.csat_args())
        out = out.merge(c[[*keys, "top_box", "top_box_low", "top_box_high"]].rename(columns={
            "top_box": "csat_top_box", "top_box_low": "csat_low", "top_box_high": "csat_high"}),
            on=keys, how="left")
    if "ces" in responses.columns and responses["ces"].notna().any():
        e = metrics.ces(responses, by=keys, weight=weight, level=level, min_n=min_n,
                        **dataset.ces_args())
        out = out.merge(e[[*keys, "mean", "mean_low", "mean_high"]].rename(columns={
            "mean": "ces_mean", "mean_low": "ces_low", "mean_high": "ces_high"}), on=keys,
            how="left")
    return in_journey_order(out, keys[0]) if keys[0] == "journey_phase" else out


def response_rate(responses: pd.DataFrame, touchpoints: events.Events, by: str = "touchpoint",
                  level: float = 0.95, min_n: int = 30) -> pd.DataFrame:
    """Answers per interaction for touchpoints that are surveyed (Wilson interval).

    ``interactions`` counts ``touchpoints`` events, ``answers`` transactional responses
    for the same ``by`` value. Without invitation counts this is a floor on the true
    response rate (not every interaction is invited). Relationship surveys are left out.
    ``touchpoints``: the events (DataFrame) or a source (:func:`cxlib.open_data`), whose
    events are counted in the engine.
    """
    _need(responses, [by], "grouping", "response_rate")
    r = responses
    if "survey_type" in r.columns:
        r = r[r["survey_type"] != "relationship"]
    answers = r.groupby(by).size().rename("answers")
    counts = events.event_counts(touchpoints, by, "response_rate").rename("interactions")
    t = pd.concat([counts, answers], axis=1, join="inner").reset_index()
    t["rate"] = t["answers"] / t["interactions"]
    t["ci_low"], t["ci_high"] = metrics.wilson_interval(t["rate"], t["interactions"], level)
    t["small_sample"] = t["interactions"] < min_n
    return t.sort_values("rate", ascending=False, ignore_index=True)


def post_purchase_share(touchpoints: events.Events, by: str | None = None,
                        purchase_types: Sequence[str] = ("purchase",),
                        exclude_event_types: Sequence[str] = ("exposure",),
                        level: float = 0.95) -> pd.DataFrame:
    """Share of interactions that happen after the customer's first purchase.

    Interactions are ``touchpoints`` events except ``exclude_event_types`` (ad exposures by
    default) and the purchases themselves; customers without a purchase are left out.
    The interval treats customers as clusters (ratio estimator, linearised variance), since
    one customer's interactions are not independent. ``touchpoints``: the events or a source
    (:func:`cxlib.open_data`); the per-customer counts are then summed in the engine.
    """
    sums = events.purchase_split(touchpoints, by, purchase_types, exclude_event_types,
                                 "post_purchase_share")
    if sums.empty or not sums["k"].sum():
        raise DataError(f"post_purchase_share: no events of type {list(purchase_types)}")
    z = metrics.z_value(level)
    k = sums["k"].to_numpy(float)
    sa, sm = sums["sa"].to_numpy(float), sums["sm"].to_numpy(float)
    share = sa / sm
    # sum over customers of (a - share * m)^2, expanded into the group sums
    ss = sums["saa"] - 2 * share * sums["sam"] + share**2 * sums["smm"]
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.where(k > 1, np.sqrt(np.clip(ss, 0, None) / (k * (k - 1))) / (sm / k), np.nan)
    out = pd.DataFrame({"interactions": sm.astype(int), "after_purchase": sa.astype(int),
                        "customers": k.astype(int), "share": share,
                        "ci_low": np.maximum(share - z * se, 0.0),
                        "ci_high": np.minimum(share + z * se, 1.0)})
    if by is not None:
        out.insert(0, by, sums[by].to_numpy())
    return in_journey_order(out, by) if by == "journey_phase" else out


def pain_points(responses: pd.DataFrame, touchpoints: events.Events | None = None,
                importance: Mapping[str, float] | pd.Series | None = None,
                importance_by: str = "organisation", by: str = "touchpoint", score: str = "nps",
                level: float = 0.95, min_n: int = 30) -> pd.DataFrame:
    """Touchpoints ranked by pain = low-score share x volume share x driver importance.

    ``low_share``: detractors (0-6) for ``score="nps"``, else the bottom two boxes of the
    1-5 scale, with a Wilson interval. ``volume_share``: the touchpoint's share of all
    interactions in ``touchpoints`` (or of answers without it). ``importance``: driver
    importance per ``importance_by`` value (e.g. a key-driver result's share per
    organisation), rescaled to mean 1 over the touchpoints; equal when not given.
    ``pain`` is scaled so the touchpoints sum to 100; ``pain_low``/``pain_high`` carry
    the low-share interval (volume and importance taken as known).
    """
    keys = [by] if importance is None or importance_by == by else [by, importance_by]
    _need(responses, [*keys, score], "", "pain_points")
    r = responses[responses[score].notna()]
    if score == "nps":
        vals = metrics._scores(r, score, 0, 10, "pain_points")
        low = (vals <= 6).to_numpy(dtype=bool)
    else:
        vals = metrics._scores(r, score, 1, 5, "pain_points")
        low = (vals <= 2).to_numpy(dtype=bool)
    frame = r[keys].reset_index(drop=True).assign(low=low)
    t = frame.groupby(keys, sort=True).agg(n=("low", "size"), low_count=("low", "sum"))
    t = t.reset_index()
    t["low_share"] = t["low_count"] / t["n"]
    t["low_low"], t["low_high"] = metrics.wilson_interval(t["low_share"], t["n"], level)
    if touchpoints is not None:
        volume = events.event_counts(touchpoints, by, "pain_points")
        t["interactions"] = t[by].map(volume).fillna(0).astype(int)
        t["volume_share"] = t["interactions"] / volume.sum()
    else:
        t["volume_share"] = t["n"] / t["n"].sum()
    if importance is None:
        t["importance"] = 1.0
    else:
        imp = pd.Series(importance, dtype=float)
        t["importance"] = t[importance_by].map(imp)
        missing = t.loc[t["importance"].isna(), importance_by].unique().tolist()
        if missing:
            raise DataError(f"pain_points: no importance given for {importance_by} {missing}")
        t["importance"] = t["importance"] / t["importance"].mean()
    raw = t["low_share"] * t["volume_share"] * t["importance"]
    scale = 100 / raw.sum() if raw.sum() > 0 else np.nan
    t["pain"] = raw * scale
    t["pain_low"] = t["low_low"] * t["volume_share"] * t["importance"] * scale
    t["pain_high"] = t["low_high"] * t["volume_share"] * t["importance"] * scale
    t["small_sample"] = t["n"] < min_n
    t = t.sort_values("pain", ascending=False, ignore_index=True)
    t.insert(0, "rank", np.arange(1, len(t) + 1))
    return t.drop(columns="low_count")


@dataclass(repr=False)
class ContactEffects(Result):
    """NPS by contact history before the answer, and differences with intervals.

    ``by_resolution``: NPS for answers with no contact in the window, with only resolved
    first contacts, and with an unresolved first contact. ``by_repeats``: by number of
    repeat contacts (0, 1, 2+). ``differences``: each group against its reference
    (adjusted-Wald difference test). Observational: customers who call differ in other
    ways too.
    """

    by_resolution: pd.DataFrame
    by_repeats: pd.DataFrame
    differences: pd.DataFrame
    window_days: int
    level: float

    def summary(self) -> pd.DataFrame:
        return self.differences.round(3)

    def headline(self) -> str:
        d = self.differences.set_index("comparison")
        row = d.loc["unresolved vs resolved"] if "unresolved vs resolved" in d.index else d.iloc[0]
        sig = "significant" if row.p_value < 1 - self.level else "not significant"
        ci = ci_text(row.ci_low, row.ci_high, self.level, "+.1f")
        return (f"Answers after an unresolved first contact score {row.difference:+.1f} NPS points "
                f"against resolved ones ({ci}, {p_text(row.p_value)}, {sig}; "
                f"n = {row.n_a:,} vs {row.n_b:,})")

    def plot(self, title: str | None = None) -> go.Figure:
        from .plots import interval_bars

        t = pd.concat([self.by_resolution.rename(columns={"contact_history": "group"}),
                       self.by_repeats.rename(columns={"repeat_contacts": "group"})
                       .assign(group=lambda d: "repeat contacts: " + d["group"].astype(str))],
                      ignore_index=True)
        return interval_bars(t, x="group", y="nps", title=title or self.headline(),
                             y_title=f"NPS (points, {self.level:.0%} CI)")


def contact_effects(responses: pd.DataFrame, touchpoints: events.Events, window_days: int = 90,
                    score: str = "nps", weight: str | None = None, level: float = 0.95,
                    min_n: int = 30) -> ContactEffects:
    """NPS by the customer's contacts in the ``window_days`` before each answer.

    First contacts are ``event_type == "contact"`` with ``resolved_first_contact``; repeat
    contacts are ``event_type == "repeat_contact"``. Each answer falls in one group:
    ``no contact``, ``resolved`` (all first contacts resolved) or ``unresolved`` (at least
    one not resolved; a first contact of unknown outcome counts as resolved); and by repeat
    contacts ``0``, ``1``, ``2+``. ``touchpoints``: the events, or a source
    (:func:`cxlib.open_data`) whose ``responses`` table ``responses`` was taken from: the
    contacts before each answer are then found in the engine.
    """
    _need(responses, ["response_id", "customer_id", "response_date", score], "responses",
          "contact_effects")
    r = responses[responses[score].notna()].reset_index(drop=True)
    hist = events.contact_history(touchpoints, r, window_days, score, "contact_effects"
                                  ).set_index("response_id")
    history = r["response_id"].map(hist["unresolved"])
    r = r.assign(contact_history=np.where(history.isna(), "no contact",
                                          np.where(history > 0, "unresolved", "resolved")),
                 repeat_contacts=r["response_id"].map(hist["repeats"]).fillna(0).astype(int)
                 .clip(upper=2).map({0: "0", 1: "1", 2: "2+"}))
    kw = dict(score=score, weight=weight, level=level, min_n=min_n)
    by_res = metrics.nps(r, by="contact_history", **kw)
    order = {"no contact": 0, "resolved": 1, "unresolved": 2}
    by_res = by_res.sort_values("contact_history", key=lambda s: s.map(order), ignore_index=True)
    by_rep = metrics.nps(r, by="repeat_contacts", **kw)
    comparisons = [("unresolved vs resolved", "contact_history", "unresolved", "resolved"),
                   ("unresolved vs no contact", "contact_history", "unresolved", "no contact"),
                   ("1 repeat vs none", "repeat_contacts", "1", "0"),
                   ("2+ repeats vs none", "repeat_contacts", "2+", "0")]
    diffs = []
    for name, col, a, b in comparisons:
        ga, gb = r[r[col] == a], r[r[col] == b]
        if len(ga) and len(gb):
            row = metrics.compare_nps(ga, gb, score=score, weight=weight, level=level,
                                      labels=(a, b))
            diffs.append(row.assign(comparison=name))
    differences = pd.concat(diffs, ignore_index=True) if diffs else pd.DataFrame()
    if not differences.empty:
        differences = differences[["comparison", *[c for c in differences.columns
                                                   if c != "comparison"]]]
    return ContactEffects(by_res, by_rep, differences, window_days, level)

