"""Dates written as text: one convention per column, inferred only from evidence.

``05/01/2024`` is 5 January day-first and 1 May month-first. A column of numeric
dates with the year last is read day-first only if some value has a first number
above 12 (``13/01/2024``), month-first only if some value has a second number above
12, and is refused otherwise (or with evidence both ways) unless the format is
declared: ``date_format="dayfirst"``, ``"monthfirst"`` or a strftime format such as
``"%d.%m.%Y"``. Year-first dates (ISO ``2024-01-05``, Japanese ``2024/01/05``) and
dates with month names need no declaration; two-digit years (``05/01/24``) need a
strftime format. Rows are numbered from 1 (the first value of the column).
"""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np
import pandas as pd

from .checks import rows_text
from .errors import DataError

__all__ = ["CONVENTIONS", "DateReading", "parse_dates"]

CONVENTIONS = {"dayfirst": "DD/MM/YYYY", "monthfirst": "MM/DD/YYYY"}
"""Declarable conventions for numeric dates with the year last (any of / . - between)."""

_YEAR_LAST = re.compile(r"^(\d{1,2})([/.\-])(\d{1,2})[/.\-](\d{4})((?:[\sT].*)?)$")
_SHORT_YEAR = re.compile(r"^\d{1,2}([/.\-])\d{1,2}\1\d{2}(?:$|[\sT])")
_HOW = ("declare the format: date_format='dayfirst' (DD/MM/YYYY) or 'monthfirst' (MM/DD/YYYY), "
        "or a strftime format such as '%d/%m/%Y'")


class DateReading(NamedTuple):
    """Parsed values (``datetime64``), the convention used, and how it was chosen."""

    values: pd.Series
    convention: str  # 'dayfirst', 'monthfirst', 'year-first', a strftime format, or 'none'
    note: str


def _shown(text: pd.Series, positions, limit: int = 3) -> str:
    return ", ".join(f"{p + 1} ({text.iat[p]!r})" for p in list(positions)[:limit])


def parse_dates(values: pd.Series, column: str, source: str,
                date_format: str | None = None) -> DateReading:
    """Text -> ``datetime64[ns]`` with one convention for the whole column (see the module).

    Raises one DataError naming ``source``, ``column`` and example rows when the
    convention is ambiguous, mixed, or values are not dates.
    """
    text = values.reset_index(drop=True).astype("string").str.strip().replace("", pd.NA)
    where = f"{source}: column {column!r}"
    if date_format is not None and date_format not in CONVENTIONS and "%" not in date_format:
        raise DataError(f"{where}: date_format {date_format!r} is neither "
                        f"{' nor '.join(map(repr, CONVENTIONS))} nor a strftime format "
                        "such as '%d/%m/%Y'")
    if date_format is not None and date_format not in CONVENTIONS:
        parsed = pd.to_datetime(text, format=date_format, errors="coerce")
        bad = np.flatnonzero((parsed.isna() & text.notna()).to_numpy())
        if len(bad):
            raise DataError(f"{where} has {len(bad)} values that do not match date_format "
                            f"{date_format!r} (rows {_shown(text, bad, 5)})")
        return DateReading(_indexed(parsed, values), date_format, f"{column}: {date_format} "
                           "(declared)")

    try:
        return _read(text, values, column, where, date_format)
    except ValueError as exc:  # pandas: time zones mixed with naive times, out of range...
        raise DataError(f"{where}: {exc}") from None


def _read(text: pd.Series, values: pd.Series, column: str, where: str,
          date_format: str | None) -> DateReading:
    parsed = pd.to_datetime(text.astype(object), format="ISO8601", errors="coerce")  # fast path
    rest = text[parsed.isna() & text.notna()]
    convention, note = "year-first", f"{column}: year first (ISO) or month names"
    short = rest[rest.str.match(_SHORT_YEAR)]
    if len(short):
        raise DataError(f"{where} has dates with two-digit years, which read three ways "
                        f"(rows {_shown(text, short.index)}); declare a strftime format, "
                        "e.g. date_format='%d/%m/%y' or '%y/%m/%d'")
    year_last = rest[rest.str.match(_YEAR_LAST)]
    if len(year_last):
        parts = year_last.str.extract(_YEAR_LAST)
        convention, note = _convention(parts, text, column, where, date_format)
        first, second = (pd.to_numeric(parts[k]).astype("Int64") for k in (0, 2))
        day, month = (first, second) if convention == "dayfirst" else (second, first)
        iso = (parts[3] + "-" + month.astype("string").str.zfill(2) + "-"
               + day.astype("string").str.zfill(2) + parts[4])
        rest = rest.copy()
        rest.loc[iso.index] = iso
    if len(rest):
        more = pd.to_datetime(rest.astype(object), errors="coerce", format="mixed")
        units = ("s", "ms", "us", "ns")
        if parsed.notna().any() and units.index(parsed.dt.unit) > units.index(more.dt.unit):
            more = more.dt.as_unit(parsed.dt.unit)
        parsed = more.reindex(text.index).where(text.index.isin(rest.index), parsed)
    bad = np.flatnonzero((parsed.isna() & text.notna()).to_numpy())
    if len(bad):
        declared = f" as declared {date_format!r}" if date_format else ""
        raise DataError(f"{where} has {len(bad)} values that are not dates{declared} "
                        f"(rows {rows_text([p + 1 for p in bad], [text.iat[p] for p in bad[:5]])})")
    return DateReading(_indexed(parsed, values), convention, note)


def _convention(parts: pd.DataFrame, text: pd.Series, column: str, where: str,
                declared: str | None) -> tuple[str, str]:
    """'dayfirst' or 'monthfirst' for year-last dates, from the declaration or the evidence."""
    if declared is not None:
        return declared, f"{column}: {CONVENTIONS[declared]} (declared)"
    first, second = parts[0].astype(int), parts[2].astype(int)
    day_first = first.index[(first > 12) & (second <= 12)]
    month_first = second.index[(second > 12) & (first <= 12)]
    if len(day_first) and len(month_first):
        raise DataError(f"{where} mixes day-first dates (rows {_shown(text, day_first)}) and "
                        f"month-first dates (rows {_shown(text, month_first)}); one column "
                        f"must use one convention: fix the export or {_HOW}")
    if len(day_first):
        return "dayfirst", (f"{column}: DD/MM/YYYY, inferred from row "
                            f"{_shown(text, day_first, 1)}")
    if len(month_first):
        return "monthfirst", (f"{column}: MM/DD/YYYY, inferred from row "
                              f"{_shown(text, month_first, 1)}")
    differ = first.index[first != second]
    if len(differ):
        raise DataError(f"{where} has dates that read differently day-first and month-first "
                        f"(rows {_shown(text, differ)}) and no number above 12 to tell which; "
                        f"{_HOW}")
    return "dayfirst", f"{column}: day equals month in every numeric date (either reading)"


def _indexed(parsed: pd.Series, like: pd.Series) -> pd.Series:
    return parsed.set_axis(like.index).rename(like.name)
