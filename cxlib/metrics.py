"""Survey metrics with their uncertainty.

NPS uses the adjusted-Wald interval recommended by Rocks (2016, The American
Statistician 70(4)): add 3 to n and 3/4 to promoters and to detractors, then a
normal interval on the difference of two multinomial shares. Weighted NPS uses
Kish's effective sample size ``(sum w)^2 / sum w^2`` in place of n. Two NPS are
compared with the adjusted-Wald difference test (Lewis & Sauro 2021). Shares use
Wilson intervals, means t intervals. Methods and references: ``docs/metrics.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .checks import check_between, check_option, row_numbers, rows_text
from .errors import DataError, ParameterError
from .intervals import adjusted_wald as _adjusted
from .intervals import nps_interval, z_value
from .schema import as_numbers

__all__ = ["nps", "nps_interval", "compare_nps", "nps_change", "nps_trend", "nps_sample_size",
           "csat", "ces", "repeat_purchase_rate", "retention_rate", "wilson_interval",
           "effective_n", "filter_responses", "holm", "benjamini_hochberg"]

NPS_COLUMNS = ["n", "n_eff", "promoters", "passives", "detractors", "nps", "ci_low", "ci_high",
               "small_sample"]
SCALE_COLUMNS = ["n", "n_eff", "top_box", "top_box_low", "top_box_high", "mean", "mean_low",
                 "mean_high", "small_sample"]


# -- validation ------------------------------------------------------------------------------

def _scores(frame: pd.DataFrame, column: str, lo: float, hi: float, fn: str) -> pd.Series:
    """``column`` as Float64, with one clear DataError for text and out-of-range values."""
    return pd.Series(_score_array(frame, column, lo, hi, fn), dtype="Float64")


def _score_array(frame: pd.DataFrame, column: str, lo: float, hi: float, fn: str) -> np.ndarray:
    """``column`` as a float array (NaN = no answer); DataError for text and out-of-range values."""
    if column not in frame.columns:
        raise DataError(f"{fn}: column {column!r} not found "
                        f"(columns: {', '.join(map(str, frame.columns))})")
    raw = frame[column]
    if pd.api.types.is_bool_dtype(raw.dtype):
        raise DataError(f"{fn}: column {column!r} holds true/false, not scores")
    values = (raw.to_numpy(dtype=float, na_value=np.nan) if pd.api.types.is_numeric_dtype(raw.dtype)
              else as_numbers(raw, f"{fn}: column {column!r}"))
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(values) & ((values < lo) | (values > hi))
    if bad.any():
        raise DataError(f"{fn}: column {column!r} has {int(bad.sum())} values outside "
                        f"{lo:g}-{hi:g} (rows {rows_text(row_numbers(bad))})")
    return values


def _groups(frame: pd.DataFrame, keys: list[str], keep: np.ndarray, fn: str
            ) -> tuple[np.ndarray, pd.DataFrame]:
    """Group codes of the kept rows and the sorted group labels (one row per group)."""
    if not keys:
        return np.zeros(int(keep.sum()), dtype=int), pd.DataFrame(index=[0])
    missing = [k for k in keys if k not in frame.columns]
    if missing:
        raise DataError(f"{fn}: grouping column(s) {missing} not found")
    sub = frame.loc[keep, keys] if not keep.all() else frame[keys]
    grouped = sub.groupby(keys, sort=True, observed=True, dropna=False)
    codes = grouped.ngroup().to_numpy()
    labels = grouped.size().index.to_frame(index=False)
    return codes, labels


def _weights(frame: pd.DataFrame, weight: str | None, fn: str) -> np.ndarray:
    if weight is None:
        return np.ones(len(frame))
    if weight not in frame.columns:
        raise DataError(f"{fn}: weight column {weight!r} not found")
    w = pd.to_numeric(frame[weight], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(w) | (w <= 0)
    if bad.any():
        raise DataError(f"{fn}: weight column {weight!r} has {int(bad.sum())} values that are "
                        f"missing or not > 0 (rows {rows_text(row_numbers(bad))})")
    return w


def _keys(by: str | Sequence[str] | None) -> list[str]:
    return [] if by is None else ([by] if isinstance(by, str) else list(by))


def effective_n(weights: np.ndarray) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2`` (equals n for equal weights)."""
    w = np.asarray(weights, dtype=float)
    return float(w.sum() ** 2 / (w**2).sum()) if len(w) else 0.0


def wilson_interval(share: np.ndarray | float, n: np.ndarray | float, level: float = 0.95
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a share (0-1) from ``n`` answers (effective n if weighted)."""
    z = z_value(level)
    p, n = np.asarray(share, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return centre - half, centre + half


# -- NPS --------------------------------------------------------------------------------------

def _bootstrap_nps(cls: np.ndarray, w: np.ndarray, level: float, n_boot: int,
                   rng: np.random.Generator) -> tuple[float, float]:
    """Percentile bootstrap of NPS from row classes (+1, 0, -1) and weights."""
    n = len(cls)
    if np.allclose(w, w[0]):  # equal weights: resampling rows = multinomial counts
        shares = np.array([(cls == 1).mean(), (cls == 0).mean(), (cls == -1).mean()])
        counts = rng.multinomial(n, shares, size=n_boot)
        draws = (counts[:, 0] - counts[:, 2]) / n
    else:
        draws = np.empty(n_boot)
        chunk = max(1, 2_000_000 // n)
        for start in range(0, n_boot, chunk):
            idx = rng.integers(0, n, size=(min(chunk, n_boot - start), n))
            ww = w[idx]
            draws[start:start + len(idx)] = (ww * cls[idx]).sum(axis=1) / ww.sum(axis=1)
    alpha = (1 - level) / 2
    return tuple(100 * np.quantile(draws, [alpha, 1 - alpha]))  # type: ignore[return-value]


def nps(frame: pd.DataFrame, by: str | list[str] | None = None, score: str = "nps",
        weight: str | None = None, level: float = 0.95, min_n: int = 30,
        method: str = "adjusted_wald", n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Net Promoter Score (points, -100..100) per group with its interval.

    Promoters answer 9-10, detractors 0-6 on the 0-10 scale; missing answers are
    left out (``n`` counts answers). Shares are fractions 0-1 (weighted when ``weight``
    names a column; ``n_eff`` is then Kish's effective n, else ``n``). Interval:
    ``method="adjusted_wald"`` (Rocks 2016, with ``n_eff``) or ``"bootstrap"``
    (percentile, ``n_boot`` resamples of rows, ``seed``). Groups with ``n_eff < min_n``
    are kept and flagged in ``small_sample``.
    """
    check_option("method", method, ("adjusted_wald", "bootstrap"), where="nps")
    values = _score_array(frame, score, 0, 10, "nps")
    w = _weights(frame, weight, "nps")
    keys = _keys(by)
    keep = ~np.isnan(values)
    codes, labels = _groups(frame, keys, keep, "nps")
    x, w = values[keep], w[keep]
    cls = np.where(x >= 9, 1, np.where(x <= 6, -1, 0))
    k = len(labels)
    count = np.bincount(codes, minlength=k)
    sw = np.bincount(codes, w, minlength=k)
    sw2 = np.bincount(codes, w**2, minlength=k)
    wp = np.bincount(codes, w * (cls == 1), minlength=k)
    wd = np.bincount(codes, w * (cls == -1), minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        pro, det = wp / sw, wd / sw
        n_eff = np.where(count > 0, sw**2 / sw2, 0.0)
    low, high = nps_interval(pro * n_eff, det * n_eff, n_eff, level)
    if method == "bootstrap":
        rng = np.random.default_rng(seed)
        bounds = np.array([_bootstrap_nps(cls[codes == g], w[codes == g], level, n_boot, rng)
                           if count[g] else (np.nan, np.nan) for g in range(k)]).reshape(k, 2)
        low, high = bounds[:, 0], bounds[:, 1]
    columns = {key: labels[key].to_numpy() for key in keys}
    columns.update(n=count.astype(int), n_eff=n_eff, promoters=pro, passives=1 - pro - det,
                   detractors=det, nps=100 * (pro - det), ci_low=low, ci_high=high,
                   small_sample=n_eff < min_n)
    out = pd.DataFrame(columns)
    out.attrs.update(method=method, level=level, weight=weight)
    return out


def _one(frame: pd.DataFrame, score: str, weight: str | None) -> tuple[float, float, float, int]:
    row = nps(frame, score=score, weight=weight).iloc[0]
    return float(row.promoters), float(row.detractors), float(row.n_eff), int(row.n)


def compare_nps(a: pd.DataFrame, b: pd.DataFrame | None = None, *, target: float | None = None,
                score: str = "nps", weight: str | None = None, level: float = 0.95,
                labels: tuple[str, str] = ("a", "b")) -> pd.DataFrame:
    """NPS of ``a`` minus NPS of ``b`` (points) with interval and two-sided p-value.

    Two independent groups or periods: adjusted-Wald difference test (3 added to each
    n, 3/4 to its promoters and detractors; standard errors added in quadrature;
    Lewis & Sauro 2021). With ``target`` instead of ``b``: benchmark test of ``a``
    against a fixed NPS (points). The interval and the test use the same standard
    error, so the interval excludes 0 exactly when ``p_value < 1 - level``.
    """
    if (b is None) == (target is None):
        raise ParameterError("compare_nps: give either b (a second group) or target (a benchmark)")
    z = z_value(level)
    pa, da, na, ca = _one(a, score, weight)
    centre_a, var_a = _adjusted(np.array(pa * na), np.array(da * na), np.array(na))
    if b is not None:
        pb, db, nb, cb = _one(b, score, weight)
        centre_b, var_b = _adjusted(np.array(pb * nb), np.array(db * nb), np.array(nb))
        nps_b, label_b = 100 * (pb - db), labels[1]
        test = "adjusted-Wald difference (two independent samples)"
    else:
        centre_b, var_b, nb, cb = np.array(target / 100), np.array(0.0), np.nan, 0
        nps_b, label_b = float(target), "target"
        test = "adjusted-Wald one-sample test against a target"
    diff, se = float(centre_a - centre_b), float(np.sqrt(var_a + var_b))
    stat = diff / se
    return pd.DataFrame([{
        "group_a": labels[0], "n_a": ca, "nps_a": 100 * (pa - da),
        "group_b": label_b, "n_b": cb, "nps_b": nps_b,
        "difference": 100 * (pa - da) - nps_b,
        "ci_low": 100 * (diff - z * se), "ci_high": 100 * (diff + z * se),
        "z": stat, "p_value": float(2 * stats.norm.sf(abs(stat))), "test": test,
    }])


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (Holm 1979), in the order given: the sorted p-values
    times m, m - 1, ..., 1, their running maximum, capped at 1. What statsmodels'
    ``multipletests(p, method="holm")[1]`` gives, without the full garbage collection it
    runs on every call (0.1-0.2 CPU s in a report kernel holding a batch's objects)."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p)
    adjusted = np.maximum.accumulate(p[order] * np.arange(len(p), 0, -1))
    out = np.empty_like(adjusted)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def benjamini_hochberg(p: Sequence[float]) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values: step-up, monotone, at most 1), in the
    order given; NaN stays NaN. What statsmodels' ``multipletests(p, method="fdr_bh")[1]``
    gives for the p-values that are not NaN."""
    p = np.asarray(p, dtype=float)
    q = np.full(len(p), np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m:
        order = np.argsort(p[ok])
        ranked = p[ok][order] * m / np.arange(1, m + 1)
        adjusted = np.minimum.accumulate(ranked[::-1])[::-1].clip(max=1)
        out = np.empty(m)
        out[order] = adjusted
        q[ok] = out
    return q


def nps_change(frame: pd.DataFrame, split: str | pd.Timestamp,
               by: str | Sequence[str] | None = None,
               months: int = 6, date: str = "response_date", score: str = "nps",
               weight: str | None = None, level: float = 0.95, min_n: int = 30) -> pd.DataFrame:
    """Which NPS changed: the ``months`` from ``split`` against the ``months`` before it.

    One row per group with both NPS, the difference, its interval and p-value
    (:func:`compare_nps`), the Holm-adjusted p-value across groups (``p_holm``) and
    ``significant`` (``p_holm < 1 - level``). Groups below ``min_n`` in either
    period are flagged ``small_sample``. With several groupings (``by=["journey_phase",
    "channel"]``) the rows carry ``grouping`` and ``group`` and Holm runs over all of them
    (one family of tests).
    """
    split = pd.Timestamp(split)
    if date not in frame.columns:
        raise DataError(f"nps_change: date column {date!r} not found")
    when = pd.to_datetime(frame[date])
    prev = frame[(when >= split - pd.DateOffset(months=months)) & (when < split)]
    curr = frame[(when >= split) & (when < split + pd.DateOffset(months=months))]
    several = by is not None and not isinstance(by, str)
    groupings = list(by) if several else [by]
    for col in groupings:
        if col is not None and col not in frame.columns:
            raise DataError(f"nps_change: grouping column {col!r} not found")
    groups = [({}, prev, curr)] if by is None else [
        ({"grouping": col, "group": g} if several else {col: g},
         prev[prev[col] == g], curr[curr[col] == g])
        for col in groupings for g in sorted(frame[col].dropna().unique())]
    rows = []
    for key, p, c in groups:
        if p[score].notna().sum() == 0 or c[score].notna().sum() == 0:
            continue
        row = compare_nps(c, p, score=score, weight=weight, level=level,
                          labels=("current", "previous")).iloc[0]
        rows.append({**key, "n_previous": row.n_b, "nps_previous": row.nps_b,
                     "n_current": row.n_a, "nps_current": row.nps_a, "change": row.difference,
                     "ci_low": row.ci_low, "ci_high": row.ci_high, "p_value": row.p_value,
                     "small_sample": min(row.n_a, row.n_b) < min_n})
    out = pd.DataFrame(rows)
    if out.empty:
        raise DataError(f"nps_change: no answers on both sides of {split.date()} "
                        f"(+/- {months} months)")
    out["p_holm"] = holm(out["p_value"].to_numpy(float))
    out["significant"] = out["p_holm"] < 1 - level
    out.attrs.update(previous=(split - pd.DateOffset(months=months)).date(), split=split.date(),
                     current_end=(split + pd.DateOffset(months=months)).date())
    return out


def nps_trend(frame: pd.DataFrame, date: str = "response_date", freq: str = "M",
              score: str = "nps", weight: str | None = None, level: float = 0.95,
              band_level: float = 0.99, min_n: int = 30) -> pd.DataFrame:
    """NPS per period (``freq``: "M" month, "Q" quarter) with its interval and a noise band.

    The band is a control chart for a net score: centre = NPS of all periods pooled,
    limits = centre +/- z(``band_level``) * sqrt(v / n_eff) with v = p + d - (p - d)^2
    from the pooled shares. A period outside its band (``beyond_noise``) moved more than
    sampling noise explains if nothing had changed; inside the band it may be noise.
    """
    if date not in frame.columns:
        raise DataError(f"nps_trend: date column {date!r} not found")
    period = pd.to_datetime(frame[date]).dt.to_period(freq).dt.to_timestamp()
    per = nps(frame.assign(period=period.to_numpy()), by="period", score=score, weight=weight,
              level=level, min_n=min_n)
    pooled = nps(frame, score=score, weight=weight).iloc[0]
    p, d = pooled.promoters, pooled.detractors
    v = p + d - (p - d) ** 2
    zb = z_value(band_level)
    half = 100 * zb * np.sqrt(v / per["n_eff"])
    per["centre"] = 100 * (p - d)
    per["band_low"], per["band_high"] = per["centre"] - half, per["centre"] + half
    per["beyond_noise"] = (per["nps"] < per["band_low"]) | (per["nps"] > per["band_high"])
    per.attrs.update(band_level=band_level, level=level)
    return per


def nps_sample_size(change: float | Sequence[float], promoters: float, detractors: float,
                    level: float = 0.95, power: float = 0.8, design: str = "two_sample"
                    ) -> pd.DataFrame:
    """Answers needed to detect an NPS change of ``change`` points (two-sided test).

    ``promoters``/``detractors`` are the baseline shares (0-1); the per-answer variance
    of the net score is v = p + d - (p - d)^2. Two independent samples of equal size
    (``design="two_sample"``, e.g. two waves): n per sample = (z_a + z_b)^2 * 2v / delta^2;
    against a fixed target (``"one_sample"``): (z_a + z_b)^2 * v / delta^2.
    """
    check_option("design", design, ("two_sample", "one_sample"), where="nps_sample_size")
    if not (0 <= promoters <= 1 and 0 <= detractors <= 1 and promoters + detractors <= 1):
        raise DataError("nps_sample_size: promoters and detractors are shares 0-1 summing to <= 1")
    delta = np.atleast_1d(np.asarray(change, dtype=float)) / 100
    if np.any(delta == 0):
        raise ParameterError("nps_sample_size: change must not be 0")
    v = promoters + detractors - (promoters - detractors) ** 2
    factor = 2 if design == "two_sample" else 1
    n = (z_value(level) + stats.norm.ppf(power)) ** 2 * factor * v / delta**2
    n_per = np.ceil(n).astype(int)
    return pd.DataFrame({"change": np.abs(delta) * 100, "n_per_sample": n_per,
                         "n_total": n_per * factor, "design": design})


# -- CSAT, CES and other scales ----------------------------------------------------------------

def _scale_metric(frame: pd.DataFrame, by: str | list[str] | None, score: str, lo: int, hi: int,
                  top_from: float, weight: str | None, level: float, min_n: int, fn: str
                  ) -> pd.DataFrame:
    values = _scores(frame, score, lo, hi, fn)
    w = _weights(frame, weight, fn)
    keys = _keys(by)
    data = pd.DataFrame({"_x": values.to_numpy(dtype=float, na_value=np.nan), "_w": w})
    for k in keys:
        if k not in frame.columns:
            raise DataError(f"{fn}: grouping column {k!r} not found")
        data[k] = frame[k].to_numpy()
    data = data[data["_x"].notna()]
    data["_wt"] = data["_w"] * (data["_x"] >= top_from)
    data["_wx"] = data["_w"] * data["_x"]
    data["_wxx"] = data["_w"] * data["_x"] ** 2
    data["_w2"] = data["_w"] ** 2
    aggs = dict(n=("_x", "size"), sw=("_w", "sum"), sw2=("_w2", "sum"), wt=("_wt", "sum"),
                wx=("_wx", "sum"), wxx=("_wxx", "sum"))
    if keys:
        g = data.groupby(keys, sort=True, observed=True, dropna=False).agg(**aggs).reset_index()
    else:
        g = pd.DataFrame([{k: data[c].sum() if k != "n" else len(data)
                           for k, (c, _) in aggs.items()}])
    out = g[keys].copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        n_eff = g["sw"] ** 2 / g["sw2"]
        top = g["wt"] / g["sw"]
        mean = g["wx"] / g["sw"]
        var = (g["wxx"] / g["sw"] - mean**2).clip(lower=0) * n_eff / (n_eff - 1)
        se = np.sqrt(var / n_eff)
        t = stats.t.ppf(0.5 + level / 2, np.maximum(n_eff - 1, 1))
    out["n"], out["n_eff"], out["top_box"] = g["n"].astype(int), n_eff, top
    out["top_box_low"], out["top_box_high"] = wilson_interval(top, n_eff, level)
    out["mean"], out["mean_low"], out["mean_high"] = mean, mean - t * se, mean + t * se
    out["small_sample"] = out["n_eff"] < min_n
    out.attrs.update(score=score, top_from=top_from, level=level)
    return out[[*keys, *SCALE_COLUMNS]]


def csat(frame: pd.DataFrame, by: str | list[str] | None = None, score: str = "csat",
         weight: str | None = None, level: float = 0.95, min_n: int = 30,
         scale: tuple[int, int] = (1, 5), top: int = 2) -> pd.DataFrame:
    """CSAT per group: top-``top``-box share (Wilson interval) and mean (t interval).

    On the 1-5 scale top-2-box counts answers 4-5. Weighted with ``weight`` (effective n).
    """
    return _scale_metric(frame, by, score, scale[0], scale[1], scale[1] - top + 1, weight,
                         level, min_n, "csat")


def ces(frame: pd.DataFrame, by: str | list[str] | None = None, score: str = "ces",
        weight: str | None = None, level: float = 0.95, min_n: int = 30,
        scale: tuple[int, int] = (1, 7), easy_from: int = 5) -> pd.DataFrame:
    """Customer Effort Score per group: mean (t interval) and share "easy" (Wilson).

    Scale 1-7, "the company made it easy" (7 = strongly agree = low effort); ``top_box``
    is the share answering ``easy_from`` or more (5-7 by default).
    """
    return _scale_metric(frame, by, score, scale[0], scale[1], easy_from, weight, level, min_n,
                         "ces")


# -- behaviour: repeat purchase and retention ---------------------------------------------------

def _rate_table(flags: pd.DataFrame, keys: list[str], hit: str, level: float, min_n: int
                ) -> pd.DataFrame:
    if keys:
        g = flags.groupby(keys, sort=True, observed=True, dropna=False)[hit].agg(["size", "sum"])
        g = g.reset_index()
    else:
        g = pd.DataFrame([{"size": len(flags), "sum": flags[hit].sum()}])
    out = g[keys].copy()
    out["n"], out["count"] = g["size"].astype(int), g["sum"].astype(int)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["rate"] = out["count"] / out["n"]
    out["ci_low"], out["ci_high"] = wilson_interval(out["rate"], out["n"], level)
    out["small_sample"] = out["n"] < min_n
    return out


def repeat_purchase_rate(touchpoints: pd.DataFrame, customers: pd.DataFrame | None = None,
                         by: str | list[str] | None = None,
                         purchase_types: Sequence[str] = ("purchase",), level: float = 0.95,
                         min_n: int = 30) -> pd.DataFrame:
    """Share of purchasing customers with two or more purchases, with a Wilson interval.

    Purchases are ``touchpoints`` rows whose ``event_type`` is in ``purchase_types``;
    ``n`` counts customers with at least one, ``count`` those with more than one. ``by``
    may name customer columns (give ``customers``).
    """
    for col in ("customer_id", "event_type"):
        if col not in touchpoints.columns:
            raise DataError(f"repeat_purchase_rate: touchpoints column {col!r} not found")
    buys = touchpoints[touchpoints["event_type"].isin(list(purchase_types))]
    per = buys.groupby("customer_id").size().rename("purchases").reset_index()
    keys = _keys(by)
    if keys and customers is not None:
        per = per.merge(customers[["customer_id", *[k for k in keys if k in customers]]],
                        on="customer_id", how="left")
    missing = [k for k in keys if k not in per.columns]
    if missing:
        raise DataError(f"repeat_purchase_rate: grouping column(s) {missing} not found "
                        "in customers")
    per["repeat"] = per["purchases"] >= 2
    return _rate_table(per, keys, "repeat", level, min_n)


def retention_rate(customers: pd.DataFrame, by: str | list[str] | None = None, months: int = 12,
                   as_of: str | pd.Timestamp | None = None, level: float = 0.95,
                   min_n: int = 30) -> pd.DataFrame:
    """Share of customers still with us ``months`` after signup, with a Wilson interval.

    Only customers who signed up at least ``months`` before ``as_of`` (default: the last
    signup or churn date in the table) count in ``n``; ``count`` is those retained.
    """
    for col in ("signup_date", "churned", "churn_date"):
        if col not in customers.columns:
            raise DataError(f"retention_rate: customers column {col!r} not found")
    signup = pd.to_datetime(customers["signup_date"])
    churn = pd.to_datetime(customers["churn_date"])
    end = pd.Timestamp(as_of) if as_of is not None else max(signup.max(), churn.max())
    horizon = signup + pd.DateOffset(months=months)
    eligible = horizon <= end
    flags = customers.loc[eligible, _keys(by)].copy()
    churned = customers.loc[eligible, "churned"].astype(bool)
    flags["retained"] = ~churned | (churn[eligible] >= horizon[eligible])
    return _rate_table(flags, _keys(by), "retained", level, min_n)


def filter_responses(responses: pd.DataFrame, customers: pd.DataFrame | None = None,
                     start: str | None = None, end: str | None = None,
                     where: dict[str, str] | None = None,
                     customer_columns: Sequence[str] = ("region", "plan", "segment",
                                                        "acquisition_channel"),
                     date: str = "response_date") -> pd.DataFrame:
    """Responses in [``start``, ``end``] matching ``where`` (column -> value; empty values skip).

    Customer columns (region, plan ...) are joined first when ``customers`` is given, so
    they can be filtered and grouped on. Raises DataError when nothing is left.
    """
    out = responses
    if customers is not None:
        extra = [c for c in customer_columns if c in customers.columns and c not in out.columns]
        if extra:
            out = out.merge(customers[["customer_id", *extra]], on="customer_id", how="left")
    when = pd.to_datetime(out[date])
    keep = pd.Series(True, index=out.index)
    if start:
        keep &= when >= pd.Timestamp(start)
    if end:
        keep &= when < pd.Timestamp(end) + pd.Timedelta(days=1)
    for col, value in (where or {}).items():
        if value in (None, ""):
            continue
        if col not in out.columns:
            raise DataError(f"filter_responses: column {col!r} not found")
        keep &= out[col] == value
    out = out[keep.to_numpy()].reset_index(drop=True)
    if out.empty:
        raise DataError(f"filter_responses: no responses between {start or 'start'} and "
                        f"{end or 'end'} with {where}")
    return out
