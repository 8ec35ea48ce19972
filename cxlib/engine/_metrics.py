"""NPS by group pushed down to the engine; the interval math is :mod:`cxlib.intervals`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from ..intervals import nps_interval
from . import _sql
from ._source import Source, using

__all__ = ["nps"]

_NUMERIC = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
            "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL"}


def _keys(by: str | Sequence[str] | None) -> list[str]:
    return [] if by is None else ([by] if isinstance(by, str) else list(by))


def nps(source: Source | str | Path, by: str | Sequence[str] | None = None, score: str = "nps",
        weight: str | None = None, level: float = 0.95, min_n: int = 30,
        table: str = "responses") -> pd.DataFrame:
    """Net Promoter Score per group computed in the engine; same frame as :func:`cxlib.nps`.

    One SQL scan of ``table`` returns, per group, the number of answers, the sums of
    weights and squared weights, and the weighted promoters (9-10) and detractors (0-6);
    shares, Kish's effective n and the adjusted-Wald interval (Rocks 2016,
    :func:`cxlib.intervals.nps_interval`) are then computed on that group-level table. Only
    ``method="adjusted_wald"`` (a bootstrap needs the rows). Groups are sorted, missing
    keys last; groups without answers are left out.
    """
    with using(source) as src:
        return _nps(src, _keys(by), score, weight, level, min_n, table)


def _nps(src: Source, keys: list[str], score: str, weight: str | None, level: float,
         min_n: int, table: str) -> pd.DataFrame:
    columns = [*keys, score] + ([weight] if weight else [])
    src.require(table, columns, "nps")
    types = src.columns(table)
    if types[score].upper() == "BOOLEAN":
        raise DataError(f"nps: column {score!r} holds true/false, not scores")
    quoted = [_sql.ident(k) for k in keys]
    score_q = _sql.ident(score)
    weight_q = _sql.ident(weight) if weight else "1.0"
    score_value = _as_double(score_q, types[score])
    parts = dict(score=score_q, table=_sql.ident(table, "table"), score_value=score_value,
                 text_count=("0" if score_value == score_q
                             else f"count({score_q}) - count({score_value})"),
                 weight_value=_as_double(weight_q, types[weight]) if weight else "1.0")
    where = f"{table} ({src.location}: {src.tables[table]})"
    check = src.fetch(_sql.NPS_CHECKS.format(**parts), what="nps checks").iloc[0]
    if weight:
        check["w_nan"] = src.fetch(_sql.NPS_NAN_WEIGHTS.format(**parts),
                                   what="nps NaN weights").iloc[0, 0]
    else:
        check["w_nan"] = 0
    if check["s_text"]:
        raise DataError(f"nps: {where}: column {score!r} has {int(check['s_text'])} values "
                        "that are not numbers")
    if (check["s_min"] < 0 or check["s_max"] > 10 or check["w_missing"] > 0 or check["w_nan"] > 0
            or not check["w_min"] > 0 or not np.isfinite(check["w_max"])):
        bad = src.fetch(_sql.NPS_BAD_VALUES.format(**parts), what="nps bad values").iloc[0]
        if bad["bad_range"]:
            raise DataError(f"nps: {where}: column {score!r} has {int(bad['bad_range'])} "
                            "values outside 0-10")
        if bad["bad_weight"]:
            raise DataError(f"nps: {where}: weight column {weight!r} has "
                            f"{int(bad['bad_weight'])} values that are missing or not > 0")
    sql = _sql.NPS_BY_GROUP.format(
        key_select="".join(f"{k}, " for k in quoted), **parts,
        group_by=f"GROUP BY {', '.join(quoted)}" if keys else "",
        order_by=f"ORDER BY {', '.join(q + ' NULLS LAST' for q in quoted)}" if keys else "")
    g = src.fetch(sql, what=f"nps by {', '.join(keys) or 'all'}")
    if keys:
        g = g[g["n"] > 0].reset_index(drop=True)
    return _from_sums(g, keys, level, min_n, weight)


def _as_double(column: str, engine_type: str) -> str:
    """The column as DOUBLE: as it is when numeric, else converted (NULL when not a number)."""
    numeric = engine_type.upper().split("(")[0] in _NUMERIC
    return column if numeric else f"TRY_CAST({column} AS DOUBLE)"


def _from_sums(g: pd.DataFrame, keys: list[str], level: float, min_n: int,
               weight: str | None) -> pd.DataFrame:
    """The columns of :func:`cxlib.metrics.nps` from per-group sums (n, sw, sw2, wp, wd)."""
    count = g["n"].to_numpy(dtype=np.int64)
    sw, sw2 = (g[c].to_numpy(dtype=float, na_value=0.0) for c in ("sw", "sw2"))
    wp, wd = (g[c].to_numpy(dtype=float, na_value=0.0) for c in ("wp", "wd"))
    with np.errstate(invalid="ignore", divide="ignore"):
        pro, det = wp / sw, wd / sw
        n_eff = np.where(count > 0, sw**2 / sw2, 0.0)
    low, high = nps_interval(pro * n_eff, det * n_eff, n_eff, level)
    columns = {key: g[key].to_numpy() for key in keys}
    columns.update(n=count.astype(int), n_eff=n_eff, promoters=pro, passives=1 - pro - det,
                   detractors=det, nps=100 * (pro - det), ci_low=low, ci_high=high,
                   small_sample=n_eff < min_n)
    out = pd.DataFrame(columns)
    out.attrs.update(method="adjusted_wald", level=level, weight=weight)
    return out
