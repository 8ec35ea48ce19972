"""Tables a reader reads: DataFrames as HTML with one format per column.

Thousands separators, fixed decimals per column, shares as percentages, p-values to three
decimals (``<0.001``), no scientific notation, no default index column; every cell and
header escaped (data never becomes markup). The format of a column is inferred from its
name and values (:func:`column_format`) unless declared in ``frame.attrs["formats"]``
(column -> ``"count"``, ``"percent"``, ``"pvalue"``, ``"money"``, ``"number:2"``,
``"text"``); ``frame.attrs["units"]`` (column -> unit) adds the unit to the header.
:func:`cxlib.display.install` makes this the HTML of every DataFrame shown in a notebook.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["column_format", "format_column", "resolve", "to_html"]

_PVALUE = re.compile(r"^(p|q)(_|$)|_p$|p_?value|q_?value")
_SHARE = re.compile(r"share|rate|top_box|top\d|survival|promoters|detractors|passives|prevalence|coverage"
                    r"|proportion|retained_share|churned_share|response_rate")
_NOT_SHARE = re.compile(r"ratio|_pp$|^pp_|pct|percent|per_")
_MONEY = re.compile(r"revenue|clv|spend|money|value_saved|at_risk|jpy|usd|eur")
_COUNT = re.compile(r"^(n|count|answers|events|customers|interactions|rows|churners)$|^n_"
                    r"|_n$|_count$")
_BOUND = re.compile(r"^(ci_|pi_|)(low|high|lo|hi|lower|upper)$|_(low|high|lo|hi|lower|upper)$")
MISSING = "–"
LONG_KEYS = {"unit", "quantity", "kpi", "outcome", "metric", "measure"}
"""A table with one of these columns lists quantities of different units, row by row."""


def column_format(name: str, values: pd.Series, previous: str | None = None) -> str:
    """The format of a column from its ``name`` and ``values``: ``count``, ``percent``,
    ``pvalue``, ``money``, ``number``, ``bool``, ``date`` or ``text``. A bound column
    (``ci_low``, ``rate_high``...) takes the format of ``previous`` (its estimate's)."""
    key = str(name).lower()
    if pd.api.types.is_bool_dtype(values):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "date"
    if not pd.api.types.is_numeric_dtype(values):
        return "text"
    if _BOUND.search(key) and previous is not None:
        base = _BOUND.sub("", key)
        if not base or base in {"ci", "pi"}:
            return previous
        key = base
    finite = values[np.isfinite(values.astype(float))] if len(values) else values
    if _PVALUE.search(key) and (finite.between(0, 1).all()):
        return "pvalue"
    if _SHARE.search(key) and not _NOT_SHARE.search(key) and finite.between(-1, 1).all():
        return "percent"
    if _MONEY.search(key):
        return "money"
    integral = bool(len(finite)) and bool((finite == finite.round()).all())
    if pd.api.types.is_integer_dtype(values) or (_COUNT.search(key) and integral):
        return "count"
    return "number"


def _decimals(values: np.ndarray, most: int) -> int:
    """The fewest decimals (up to ``most``) that show every value as it is."""
    for k in range(most + 1):
        if np.allclose(np.round(values, k), values, rtol=0, atol=10.0 ** -(most + 2)):
            return k
    return most


def _number_decimals(values: np.ndarray) -> int:
    top = float(np.max(np.abs(values))) if values.size else 0.0
    if top >= 1000:
        most = 0
    elif top >= 100:
        most = 1
    elif top >= 1 or top == 0:
        most = 2
    else:
        most = min(8, 2 - math.floor(math.log10(top)))  # 0.057 -> 3, 0.00012 -> 6
    return _decimals(values, most)


def resolve(values: pd.Series, kind: str, long: bool = False) -> str:
    """``kind`` with its decimals fixed for ``values`` (``percent`` -> ``percent:1``);
    a kind that already says them, and text kinds, are returned as they are. In a ``long``
    table (rows of quantities in different units) numbers a thousandfold apart show with
    three significant digits each (``number:sig``)."""
    name, _, fixed = kind.partition(":")
    if fixed or name in {"text", "bool", "date", "pvalue"}:
        return kind
    numbers = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
    finite = numbers[np.isfinite(numbers)]
    if name == "percent":
        digits = min(1, _decimals(100 * finite, 1))
    elif name == "count":
        digits = 0
    elif name == "money":
        digits = 0 if not finite.size or np.max(np.abs(finite)) >= 100 else _decimals(finite, 2)
    elif long and _mixed(finite):
        return "number:sig"  # quantities of different units in one column (long tables)
    else:
        digits = _number_decimals(finite)
    return f"{name}:{digits}"


def _mixed(values: np.ndarray) -> bool:
    """Whether one set of decimals cannot show every value: magnitudes a thousandfold apart
    with some below 1 (a long table of quantities in different units)."""
    nonzero = np.abs(values[values != 0])
    return bool(nonzero.size) and nonzero.min() < 1 and nonzero.max() / nonzero.min() >= 1e3


def _significant(v: float, digits: int = 3) -> str:
    """``v`` with ``digits`` significant digits, never fewer than its integer digits."""
    if v == 0:
        return "0"
    decimals = min(8, max(0, digits - 1 - math.floor(math.log10(abs(v)))))
    return _fixed(v, decimals)


def format_column(values: pd.Series, kind: str) -> list[str]:
    """``values`` as text in the format ``kind`` (see :func:`column_format`; ``number:2``
    fixes the decimals); missing values show as a dash."""
    kind, _, fixed = resolve(values, kind).partition(":")
    if kind in {"text", "bool", "date"}:
        return [_plain(v, kind) for v in values]
    numbers = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
    if kind == "pvalue":
        return [MISSING if not math.isfinite(v) else ("<0.001" if v < 0.001 else f"{v:.3f}")
                for v in numbers]
    if fixed == "sig":
        return [MISSING if not math.isfinite(v) else _significant(v) for v in numbers]
    digits = int(fixed)
    if kind == "percent":
        return [MISSING if not math.isfinite(v) else f"{100 * v:,.{digits}f}%" for v in numbers]
    return [MISSING if not math.isfinite(v) else _fixed(v, digits) for v in numbers]


def _fixed(v: float, digits: int) -> str:
    text = f"{v:,.{digits}f}"
    if text.startswith("-") and not any(ch in "123456789" for ch in text):
        return text[1:]  # -0.00 is 0.00
    return text


def _plain(v: Any, kind: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT or v is pd.NA:
        return MISSING
    if kind == "bool":
        return "yes" if bool(v) else "no"
    if kind == "date":
        ts = pd.Timestamp(v)
        return f"{ts:%Y-%m-%d}" if ts == ts.normalize() else f"{ts:%Y-%m-%d %H:%M}"
    if isinstance(v, float):
        return _fixed(v, _number_decimals(np.array([v])))
    return str(v)


def _visible(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with a meaningful index as column(s) and a default one dropped."""
    index = frame.index
    default = all(n is None for n in index.names) and pd.api.types.is_integer_dtype(index)
    if default:
        return frame.reset_index(drop=True)
    names = [n if n is not None else "" for n in index.names]
    out = frame.copy()
    out.index = out.index.set_names(names)
    return out.reset_index(allow_duplicates=True)


def _header(column: Any) -> str:
    if isinstance(column, tuple):
        return " ".join(str(c) for c in column if str(c))
    return str(column)


def to_html(frame: pd.DataFrame, max_rows: int | None = None,
            labels: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """``frame`` as an HTML table with readable formats (see the module docstring);
    ``labels`` (column -> value -> display name) shows those columns' values by name."""
    e = html.escape
    attrs = getattr(frame, "attrs", {}) or {}
    declared: Mapping[str, str] = attrs.get("formats") or {}
    units: Mapping[str, str] = attrs.get("units") or {}
    shown_rows = len(frame)
    limit = max_rows if max_rows is not None else pd.get_option("display.max_rows")
    cut = limit is not None and len(frame) > limit
    table = _visible(frame)
    if cut:
        half = max(int(pd.get_option("display.min_rows") or 10) // 2, 1)
        table = pd.concat([table.head(half), table.tail(half)])
    columns = list(table.columns)
    long = any(_header(c).lower() in LONG_KEYS for c in columns)
    cells: list[list[str]] = []
    kinds: list[str] = []
    previous: str | None = None
    for j, column in enumerate(columns):
        values = table.iloc[:, j]
        kind = resolve(values, declared.get(column)
                       or column_format(_header(column), values, previous), long=long)
        if not _BOUND.search(_header(column).lower()):
            previous = kind  # bounds that follow show as their estimate, decimals too
        kinds.append(kind)
        shown = format_column(values, kind)
        names = (labels or {}).get(_header(column))
        if names and kind == "text":  # display names; the frame keeps its values
            shown = [names.get(v, v) for v in shown]
        cells.append(shown)
    head = "".join(
        f'<th class="{"cx-num" if k.split(":")[0] not in {"text", "bool", "date"} else "cx-text"}">'
        f"{e(_header(c))}{e(f' ({units[c]})') if c in units else ''}</th>"
        for c, k in zip(columns, kinds))
    rows = []
    for i in range(len(table)):
        if cut and i == len(table) // 2:
            rows.append(f'<tr class="cx-more"><td colspan="{len(columns)}">…</td></tr>')
        tds = "".join(
            f'<td class="{"cx-num" if k.split(":")[0] not in {"text", "bool", "date"} else "cx-text"}">'
            f"{e(col[i])}</td>" for col, k in zip(cells, kinds))
        rows.append(f"<tr>{tds}</tr>")
    foot = (f'<p class="cx-table-size">{shown_rows:,} rows × {len(columns)} columns</p>'
            if cut else "")
    return (f'<table class="dataframe cx-table"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>{foot}")
