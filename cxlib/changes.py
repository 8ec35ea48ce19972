"""What changed: a run's headline numbers and the changes beyond sampling noise.

:func:`headlines` computes, from the tables, the headline numbers by unit (the whole
company and each value of the unit columns: region, organisation, store where present)
for the latest month, the trailing baseline (the ``baseline`` months before it, pooled)
and the same month a year earlier (where the data span it):

- ``nps``: Net Promoter Score (points), adjusted-Wald interval (Rocks 2016);
- ``csat``: CSAT top-box share on the description's scale, Wilson interval;
- ``ces``: mean Customer Effort Score on the description's scale (high = easy), t interval;
- ``churn``: monthly churn rate, customers who left in the month of those active at its
  start (customer-months pooled over a window), Wilson interval;
- ``retention``: 12-month retention of the customers who signed up 12 months before the
  month (cohorts pooled over a window), Wilson interval;
- ``topic:<name>``: the share of comments (``responses.verbatim``) coded with a topic of the
  codebook (:mod:`cxlib.text`), Wilson interval, where there are comments.

NPS, CSAT and CES are weighted by ``responses.weight`` where it exists, as in report 01
(the intervals and the minimum-n guard then use Kish's effective n); customer counts and
comment counts are not weighted.

:func:`compare` tests after minus before for each metric and unit: two independent
samples, the standard errors of both sides added in quadrature (adjusted-Wald for NPS,
Agresti-Caffo for shares, the standard error of the mean for CES), a two-sided z-test;
units under ``min_n`` (effective) answers on either side are listed, not tested; the p-values of all
tests of a run get Benjamini-Hochberg q-values
(:func:`cxlib.metrics.benjamini_hochberg`) and a change is
flagged when ``q < alpha``. Identical numbers on both sides give a difference of exactly 0
and p = 1. Absent tables or columns skip their metric with a note. Methods: docs/reporting.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .checks import row_numbers, rows_text
from .errors import DataError, ParameterError
from .intervals import adjusted_wald, nps_interval, z_value
from .metrics import benjamini_hochberg, wilson_interval

__all__ = ["UNIT_COLUMNS", "METRICS", "COMPANY", "headlines", "compare", "what_changed",
           "METRIC_NOTEBOOKS", "SETTINGS", "metric_label", "metric_scale",
           "metric_notebooks"]

UNIT_COLUMNS: tuple[str, ...] = ("region", "organisation", "store")
"""The unit columns compared by default (each where the data have it)."""

COMPANY = "whole company"
"""The unit label of the whole company (its unit column is ``""``)."""

METRICS: dict[str, str] = {"nps": "NPS", "csat": "CSAT top-box share", "ces": "CES mean",
                           "churn": "monthly churn rate", "retention": "12-month retention"}
"""Metric key -> how the reader sees it."""

SCALE = {"nps": "points", "csat": "share", "ces": "mean", "churn": "share", "retention": "share"}
"""How each metric is measured: NPS points, a share 0-1, or a mean on the CES scale."""

TOPIC = "topic:"
"""The prefix of a topic share's metric key (``topic:staff``: the share of comments coded
staff)."""

TEXT = "verbatim"
"""The comments' column in responses."""

METRIC_NOTEBOOKS: dict[str, tuple[str, ...]] = {
    "nps": ("01",), "csat": ("01", "04"), "ces": ("01", "04"), "churn": ("03",),
    "retention": ("01", "03"), "topic": ("06",)}
"""The notebooks (by number) whose report shows each metric (``topic``: every topic
share): their pages get the panel."""


def metric_label(metric: str, topics: Mapping[str, str] | None = None) -> str:
    """How the reader sees a metric key (``topics``: topic metric -> the topic's label)."""
    if metric.startswith(TOPIC):
        name = metric[len(TOPIC):]
        return f"share of comments on {(topics or {}).get(metric) or name}"
    return METRICS.get(metric, metric)


def metric_scale(metric: str) -> str:
    """``points``, ``share`` or ``mean`` (:data:`SCALE`; topic shares are shares)."""
    return "share" if metric.startswith(TOPIC) else SCALE.get(metric, "mean")


def metric_notebooks(metric: str) -> tuple[str, ...]:
    """The notebooks whose report shows the metric (:data:`METRIC_NOTEBOOKS`)."""
    return METRIC_NOTEBOOKS.get("topic" if metric.startswith(TOPIC) else metric, ())

SETTINGS: dict[str, Any] = {"units": list(UNIT_COLUMNS), "baseline": 3, "min_n": 30,
                            "alpha": 0.05, "level": 0.95}
"""The settings of a run's comparisons and their defaults (a run file's ``changes``)."""

HEADLINE_COLUMNS = ["metric", "unit_column", "unit", "window", "period", "n", "n_eff", "estimate",
                    "centre", "se", "ci_low", "ci_high"]
RETENTION_MONTHS = 12


# -- headline numbers --------------------------------------------------------------------------

def _months(dates: pd.Series) -> pd.Series:
    return pd.to_datetime(dates).dt.to_period("M")


def _windows(latest: pd.Period, baseline: int) -> dict[str, tuple[pd.Period, pd.Period]]:
    """Window name -> (first month, last month), both included."""
    return {"latest": (latest, latest), "baseline": (latest - baseline, latest - 1),
            "last_year": (latest - 12, latest - 12)}


def _period_text(first: pd.Period, last: pd.Period) -> str:
    return str(first) if first == last else f"{first} to {last}"


def _summarise(values: pd.DataFrame, units: Sequence[str], kind: str, level: float
               ) -> pd.DataFrame:
    """Per unit (the company, then each unit column's values) n, Kish's effective n,
    estimate, adjusted centre, its standard error and interval, from ``values["_x"]``
    weighted by ``values["_w"]`` (when present; else each row counts once)."""
    parts = []
    for col in ["", *units]:
        if col and col not in values.columns:
            continue
        frame = values.dropna(subset=[col]) if col else values
        keys = frame[col].astype(str) if col else pd.Series(COMPANY, index=frame.index)
        x = frame["_x"].to_numpy(dtype=float)
        w = frame["_w"].to_numpy(dtype=float) if "_w" in frame else np.ones(len(x))
        codes, labels = pd.factorize(keys, sort=True)
        k = len(labels)
        n = np.bincount(codes, minlength=k).astype(float)
        sw, sw2 = np.bincount(codes, w, minlength=k), np.bincount(codes, w * w, minlength=k)
        n_eff = sw**2 / sw2  # Kish; n itself for equal weights
        if kind == "nps":  # cxlib.metrics.nps: effective counts share * n_eff
            pro = np.bincount(codes, w * (x == 1), minlength=k) / sw
            det = np.bincount(codes, w * (x == -1), minlength=k) / sw
            centre, var = adjusted_wald(pro * n_eff, det * n_eff, n_eff)
            low, high = nps_interval(pro * n_eff, det * n_eff, n_eff, level)
            est, centre, se = 100 * (pro - det), 100 * centre, 100 * np.sqrt(var)
        elif kind == "share":
            est = np.bincount(codes, w * x, minlength=k) / sw
            centre = (est * n_eff + 1) / (n_eff + 2)  # Agresti-Caffo: one success, one failure
            se = np.sqrt(centre * (1 - centre) / (n_eff + 2))
            low, high = wilson_interval(est, n_eff, level)
        else:  # a mean, as cxlib.metrics.ces (t interval with the effective n)
            est = np.bincount(codes, w * x, minlength=k) / sw
            squares = np.bincount(codes, w * (x - est[codes]) ** 2, minlength=k) / sw
            with np.errstate(invalid="ignore", divide="ignore"):
                se = np.where(n_eff > 1, np.sqrt(squares / np.maximum(n_eff - 1, 1e-12)), 0.0)
            t = stats.t.ppf(0.5 + level / 2, np.maximum(n_eff - 1, 1))
            centre, low, high = est, est - t * se, est + t * se
        parts.append(pd.DataFrame({"unit_column": col, "unit": np.asarray(labels, dtype=object),
                                   "n": n.astype(int), "n_eff": n_eff, "estimate": est,
                                   "centre": centre, "se": se, "ci_low": low, "ci_high": high}))
    return pd.concat(parts, ignore_index=True)


def _survey_values(responses: pd.DataFrame, metric: str, dataset: Any) -> pd.Series:
    x = pd.to_numeric(responses[metric], errors="coerce").astype(float)
    if metric == "nps":
        return pd.Series(np.where(x >= 9, 1.0, np.where(x <= 6, -1.0, 0.0)),
                         index=x.index).where(x.notna())
    if metric == "csat":
        top = dataset.csat_args() if dataset is not None else {"scale": (1, 5), "top": 2}
        return (x >= top["scale"][1] - top["top"] + 1).astype(float).where(x.notna())
    return x  # ces: the mean on the loaded scale (high = easy)


def _customer_values(customers: pd.DataFrame, metric: str, first: pd.Period,
                     last: pd.Period, end: pd.Timestamp, units: Sequence[str]) -> pd.DataFrame:
    """Rows of ``_x`` (left / retained) and the unit columns, for the months first..last."""
    signup = pd.to_datetime(customers["signup_date"])
    left = customers["churned"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    churn = pd.to_datetime(customers["churn_date"]).where(left)
    keep = [u for u in units if u in customers.columns]
    rows = []
    for month in pd.period_range(first, last, freq="M"):
        start, stop = month.start_time, (month + 1).start_time
        if metric == "churn":
            at_risk = (signup < start) & ~(churn < start).fillna(False).to_numpy(dtype=bool)
            x = ((churn >= start) & (churn < stop)).fillna(False)[at_risk]
        else:
            horizon = signup + pd.DateOffset(months=RETENTION_MONTHS)
            cohort = ((signup >= start - pd.DateOffset(months=RETENTION_MONTHS))
                      & (signup < stop - pd.DateOffset(months=RETENTION_MONTHS))
                      & (horizon <= end))
            x = ~(churn < horizon).fillna(False)[cohort]
        part = customers.loc[x.index, keep].copy()
        part["_x"] = x.astype(float).to_numpy()
        rows.append(part)
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=[*keep, "_x"])


def _present(frame: pd.DataFrame | None, *columns: str) -> bool:
    return frame is not None and all(c in frame.columns and frame[c].notna().any()
                                     for c in columns)


def _answer_weights(answers: pd.DataFrame, weight: str | None, notes: list[str]
                    ) -> np.ndarray | None:
    """The answers' weights (None: unweighted, with a note when asked for but absent);
    a DataError names the rows with a missing or non-positive weight."""
    if weight is None:
        return None
    if weight not in answers.columns:
        notes.append(f"NPS, CSAT and CES: unweighted, the answers have no column {weight!r}")
        return None
    w = pd.to_numeric(answers[weight], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~(w > 0) | ~np.isfinite(w)
    if bad.any():
        raise DataError(f"responses: column {weight!r} has {int(bad.sum())} values that are "
                        f"missing or not > 0 (rows {rows_text(row_numbers(bad))})")
    return w


def _window_parts(frame: pd.DataFrame, x: pd.Series, w: np.ndarray | None, month: pd.Series,
                  windows: Mapping[str, tuple[pd.Period, pd.Period]], units: Sequence[str],
                  kind: str, level: float, metric: str) -> list[pd.DataFrame]:
    """The headline rows of one metric (row values ``x``, weights ``w``) in each window."""
    parts = []
    for window, (first, last) in windows.items():
        keep = ((month >= first) & (month <= last) & x.notna()).to_numpy()
        if not keep.any():
            continue
        values = frame.loc[keep, [u for u in units if u in frame.columns]].copy()
        values["_x"] = x[keep].to_numpy()
        if w is not None:
            values["_w"] = w[keep]
        parts.append(_summarise(values, units, kind, level).assign(
            metric=metric, window=window, period=_period_text(first, last)))
    return parts


def _topic_parts(answers: pd.DataFrame, month: pd.Series,
                 windows: Mapping[str, tuple[pd.Period, pd.Period]], units: Sequence[str],
                 level: float, codebook: Any, topics: dict[str, str]) -> list[pd.DataFrame]:
    """Each topic's share of the comments (unweighted, as notebook 06 counts them), every
    comment coded once with ``codebook`` (the shipped one when None); ``topics`` gets
    metric -> the topic's label."""
    from .text import default_codebook

    book = codebook or default_codebook()
    body = answers[TEXT].astype("string")
    has = (body.str.strip().str.len() > 0).fillna(False).to_numpy(dtype=bool)
    in_windows = np.zeros(len(answers), dtype=bool)
    for first, last in windows.values():
        in_windows |= ((month >= first) & (month <= last)).to_numpy()
    rows = has & in_windows
    if not rows.any():
        return []
    codes = book.code(body[rows].reset_index(drop=True))
    frame, month = answers.loc[rows], month[rows]
    parts = []
    for t in book.topics:
        metric = f"{TOPIC}{t.name}"
        topics[metric] = t.label
        x = pd.Series(codes[t.name].to_numpy(dtype=float), index=frame.index)
        parts += _window_parts(frame, x, None, month, windows, units, "share", level, metric)
    return parts


def headlines(responses: pd.DataFrame | None = None, customers: pd.DataFrame | None = None,
              *, dataset: Any = None, units: Sequence[str] = UNIT_COLUMNS, baseline: int = 3,
              level: float = 0.95, weight: str | None = "weight", codebook: Any = None
              ) -> pd.DataFrame:
    """The headline numbers (:data:`HEADLINE_COLUMNS`) by metric, unit and window.

    The latest month is the month of the last answer (of the last signup or churn date
    when there are no answers); ``window`` is "latest", "baseline" (the ``baseline``
    months before it, pooled) or "last_year" (the same month a year earlier). Customer
    columns (region ...) are joined to the answers by ``customer_id``. ``dataset``
    (:class:`cxlib.dataset.Dataset`) gives the CSAT top box (default: 4-5 of 1-5).
    NPS, CSAT and CES are weighted by the answers' ``weight`` column when it exists (as in
    report 01; ``n_eff`` is then Kish's effective n), else counted once each. With
    comments (``responses.verbatim``), each topic of ``codebook``
    (:class:`cxlib.text.Codebook`, the shipped one when None) gets its share of the
    comments, metric ``topic:<name>`` (``attrs["topics"]``: metric -> label).
    ``attrs["notes"]`` says what was skipped and why; ``attrs["period"]`` the latest month.
    """
    if baseline < 1:
        raise ParameterError(f"headlines: baseline must be 1 month or more, got {baseline}")
    notes: list[str] = []
    has_answers = _present(responses, "response_date")
    has_customers = _present(customers, "signup_date")
    if has_answers:
        latest = _months(responses["response_date"]).max()
    elif has_customers:
        latest = _months(customers["signup_date"]).max()
    else:
        out = pd.DataFrame(columns=HEADLINE_COLUMNS)
        out.attrs.update(notes=["no answer dates (responses.response_date) and no customer "
                                "signup dates: no headline numbers"], period=None)
        return out
    windows = _windows(latest, baseline)
    parts: list[pd.DataFrame] = []
    topics: dict[str, str] = {}
    if has_answers:
        answers = responses
        join = [u for u in units if u not in responses.columns and customers is not None
                and u in customers.columns]
        if join and "customer_id" in responses.columns and "customer_id" in customers.columns:
            answers = responses.merge(customers[["customer_id", *join]].drop_duplicates(
                "customer_id"), on="customer_id", how="left")
        month = _months(answers["response_date"])
        w = _answer_weights(answers, weight, notes)
        for metric in ("nps", "csat", "ces"):
            if not _present(answers, metric):
                notes.append(f"{METRICS[metric]}: skipped, no answers in responses.{metric}")
                continue
            kind = "nps" if metric == "nps" else ("share" if metric == "csat" else "mean")
            parts += _window_parts(answers, _survey_values(answers, metric, dataset), w, month,
                                   windows, units, kind, level, metric)
        if _present(answers, TEXT):
            parts += _topic_parts(answers, month, windows, units, level, codebook, topics)
    else:
        notes.append("NPS, CSAT and CES: skipped, no answer dates (responses.response_date)")
    if _present(customers, "signup_date") and customers is not None \
            and {"churned", "churn_date"} <= set(customers.columns):
        end = max(pd.to_datetime(customers["signup_date"]).max(),
                  pd.to_datetime(customers["churn_date"]).max())
        for metric in ("churn", "retention"):
            for window, (first, last) in windows.items():
                values = _customer_values(customers, metric, first, last, end, units)
                if values.empty:
                    continue
                parts.append(_summarise(values, units, "share", level).assign(
                    metric=metric, window=window, period=_period_text(first, last)))
    else:
        notes.append("churn and retention: skipped, they need customers.signup_date, "
                     "customers.churned and customers.churn_date")
    out = (pd.concat(parts, ignore_index=True)[HEADLINE_COLUMNS] if parts
           else pd.DataFrame(columns=HEADLINE_COLUMNS))
    found = [u for u in units if (responses is not None and u in responses.columns)
             or (customers is not None and u in customers.columns)]
    out.attrs.update(notes=notes, period=str(latest), level=level, baseline=baseline,
                     units=found, topics=topics)
    return out


# -- comparisons -------------------------------------------------------------------------------

KEY = ["metric", "unit_column", "unit"]
ALERT_COLUMNS = ["metric", "unit_column", "unit", "comparison", "period_before", "period_after",
                 "before", "after", "difference", "ci_low", "ci_high", "n_before", "n_after",
                 "n_eff_before", "n_eff_after", "p_value", "q_value", "tested", "flagged",
                 "note"]


def compare(after: pd.DataFrame, before: pd.DataFrame, comparison: str, *, min_n: int = 30,
            level: float = 0.95) -> pd.DataFrame:
    """After minus before for every (metric, unit) in both, with interval and p-value.

    ``after``/``before``: headline rows (one window each). The interval and the test use
    the difference of the adjusted centres and ``sqrt(se_after^2 + se_before^2)``;
    ``difference`` is of the estimates. Units with an effective n (``n_eff``; ``n``
    unweighted) under ``min_n`` on either side are not tested (``tested`` False, the
    reason in ``note``). q-values are left to :func:`what_changed` (one family per run).
    """
    both = after.merge(before, on=KEY, suffixes=("_a", "_b"))
    z = z_value(level)
    dc = both["centre_a"].to_numpy(float) - both["centre_b"].to_numpy(float)
    se = np.sqrt(both["se_a"].to_numpy(float) ** 2 + both["se_b"].to_numpy(float) ** 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        stat = np.where(se > 0, dc / np.where(se > 0, se, 1), np.where(dc == 0, 0.0, np.inf))
    p = 2 * stats.norm.sf(np.abs(stat))
    small = (both["n_eff_a"] < min_n) | (both["n_eff_b"] < min_n)
    out = pd.DataFrame({
        **{k: both[k] for k in KEY}, "comparison": comparison,
        "period_before": both["period_b"], "period_after": both["period_a"],
        "before": both["estimate_b"], "after": both["estimate_a"],
        "difference": both["estimate_a"] - both["estimate_b"],
        "ci_low": dc - z * se, "ci_high": dc + z * se,
        "n_before": both["n_b"].astype(int), "n_after": both["n_a"].astype(int),
        "n_eff_before": both["n_eff_b"], "n_eff_after": both["n_eff_a"],
        "p_value": np.where(small, np.nan, p), "q_value": np.nan, "tested": ~small,
        "flagged": False,
        "note": np.where(small, f"not tested: fewer than {min_n} (effective) answers on a "
                                "side", ""),
    })
    return out[ALERT_COLUMNS]


def what_changed(current: pd.DataFrame, previous: pd.DataFrame | None = None, *,
                 previous_label: str = "last run", min_n: int = 30, alpha: float = 0.05,
                 level: float = 0.95) -> pd.DataFrame:
    """Every comparison of a run (:data:`ALERT_COLUMNS`), q-values over all of them.

    ``current``: :func:`headlines` of this run; ``previous``: the latest-month headlines
    of the last good run (None: none). Comparisons: with the last run, with the trailing
    baseline and with the same month last year. ``flagged`` when ``q_value < alpha``.
    """
    if not 0 < alpha < 1:
        raise ParameterError(f"what_changed: alpha must be between 0 and 1, got {alpha}")
    latest = current[current["window"] == "latest"]
    baseline = current.attrs.get("baseline", 3)
    parts = []
    if previous is not None and len(previous):
        parts.append(compare(latest, previous[previous["window"] == "latest"], previous_label,
                             min_n=min_n, level=level))
    for window, label in (("baseline", f"previous {baseline} months"),
                          ("last_year", "same month last year")):
        parts.append(compare(latest, current[current["window"] == window], label,
                             min_n=min_n, level=level))
    parts = [p for p in parts if len(p)]
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=ALERT_COLUMNS)
    tested = out["tested"].to_numpy(dtype=bool)
    q = np.full(len(out), np.nan)
    q[tested] = benjamini_hochberg(out.loc[tested, "p_value"].to_numpy(float))
    out["q_value"] = q
    out["flagged"] = tested & (np.nan_to_num(q, nan=1.0) < alpha)
    out.attrs.update(alpha=alpha, min_n=min_n, level=level, tests=int(tested.sum()))
    return out


def check_settings(values: Mapping[str, Any]) -> str | None:
    """A complaint about a run file's ``changes`` mapping, or None when it is fine."""
    unknown = [k for k in values if k not in SETTINGS]
    if unknown:
        return f"has unknown setting(s) {', '.join(map(str, unknown))} (allowed: " \
               f"{', '.join(SETTINGS)})"
    units = values.get("units", [])
    if not isinstance(units, list) or not all(isinstance(u, str) for u in units):
        return "needs units as a list of column names"
    for name in ("baseline", "min_n"):
        v = values.get(name, 1)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            return f"needs {name} as a whole number of 1 or more"
    for name in ("alpha", "level"):
        v = values.get(name, 0.5)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < 1:
            return f"needs {name} between 0 and 1"
    return None
