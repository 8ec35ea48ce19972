"""The checks and row lists that every bad-input error message shares.

``rows_text`` writes the rows at fault the one way cxlib does ("17, 204 ('x') and 3 more"),
``check_option`` and ``check_between``/``check_at_least`` turn a bad argument into a
:class:`~cxlib.errors.ParameterError` that names the function and the argument. Imports
nothing from cxlib but :mod:`cxlib.errors`, so data, engine and analyses can all use it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

import numpy as np

from .errors import ParameterError

__all__ = ["MAX_ROWS_SHOWN", "row_numbers", "rows_text", "check_option", "check_between",
           "check_at_least"]

MAX_ROWS_SHOWN = 5
"""Rows named in an error message before "and N more"."""


def row_numbers(mask: Sequence[bool] | np.ndarray) -> list[int]:
    """1-based numbers of the rows where ``mask`` is true (the analyst's row 1 is the first)."""
    return (np.flatnonzero(np.asarray(mask, dtype=bool)) + 1).tolist()


def _plain(value: object) -> object:
    """A NumPy scalar as the Python value it holds, so ``repr`` reads as the analyst wrote it."""
    item = getattr(value, "item", None)
    return item() if callable(item) and np.ndim(value) == 0 else value


def rows_text(rows: Sequence[int], values: Sequence | None = None, *, count: bool = False) -> str:
    """The first :data:`MAX_ROWS_SHOWN` of ``rows`` (row numbers, 1-based), then "and N more".

    ``values`` (aligned with ``rows``) are shown after each row as ``17 ('x')``; a value of
    None is left out. ``count=True`` starts with the number of rows: "3 rows: 17, 204, 911".
    """
    rows = list(rows)
    shown_values = list(values)[:MAX_ROWS_SHOWN] if values is not None else []
    shown_values += [None] * (min(len(rows), MAX_ROWS_SHOWN) - len(shown_values))
    shown = ", ".join(f"{r} ({_plain(v)!r})" if v is not None else str(r)
                      for r, v in zip(rows[:MAX_ROWS_SHOWN], shown_values))
    more = len(rows) - MAX_ROWS_SHOWN
    text = shown + (f" and {more} more" if more > 0 else "")
    if count:
        text = f"{len(rows)} {'row' if len(rows) == 1 else 'rows'}: {text}"
    return text


def _prefix(where: str | None) -> str:
    return f"{where}: " if where else ""


def check_option(name: str, value: object, allowed: Iterable[object], where: str | None = None
                 ) -> None:
    """Raise ``ParameterError`` unless ``value`` is one of ``allowed``.

    The message names ``where`` (the function), the argument, the choices and, for a near
    miss, the closest choice: "nps: method must be one of adjusted_wald, bootstrap, got
    'bootsrap'; did you mean 'bootstrap'?".
    """
    allowed = list(allowed)
    try:
        if value in allowed:
            return
    except TypeError:  # an unhashable or incomparable value is not a choice either
        pass
    message = (f"{_prefix(where)}{name} must be one of {', '.join(map(str, allowed))}, "
               f"got {value!r}")
    if isinstance(value, str):
        choices = {str(a): a for a in allowed if a is not None}
        close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
        if close:
            message += f"; did you mean {choices[close[0]]!r}?"
    raise ParameterError(message)


def check_between(name: str, value: float, low: float, high: float, where: str | None = None
                  ) -> None:
    """Raise ``ParameterError`` unless ``low < value < high`` (NaN is outside)."""
    if not low < value < high:
        raise ParameterError(f"{_prefix(where)}{name} must be between {low:g} and {high:g}, "
                             f"got {value}")


def check_at_least(name: str, value: float, minimum: float, where: str | None = None) -> None:
    """Raise ``ParameterError`` unless ``value >= minimum`` (NaN is not)."""
    if not value >= minimum:
        raise ParameterError(f"{_prefix(where)}{name} must be at least {minimum:g}, got {value}")
