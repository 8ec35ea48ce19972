"""The snapshot and horizon of customer features, shared by the pandas and engine builds.

Both :func:`cxlib.churn.build_features` and its pushed-down twin
:func:`cxlib.engine.build_features` check the window here and use the same month length
and static columns, so they agree by construction (``docs/churn.md``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .errors import DataError, StatisticalWarning

__all__ = ["DAYS_PER_MONTH", "STATIC_COLUMNS", "feature_window"]

DAYS_PER_MONTH = 365.25 / 12
STATIC_COLUMNS: tuple[str, ...] = ("acquisition_channel", "plan", "segment", "region")
"""Customer columns fixed at signup, used as features as they are."""


def _ts(value: str | pd.Timestamp, what: str) -> pd.Timestamp:
    try:
        return pd.Timestamp(value)
    except (TypeError, ValueError):
        raise DataError(f"build_features: {what} {value!r} is not a date") from None


def _horizon_end(snapshot: pd.Timestamp, horizon: int | str | pd.DateOffset) -> pd.Timestamp:
    if isinstance(horizon, (int, np.integer)):
        if horizon <= 0:
            raise DataError(f"build_features: horizon must be a positive number of months, "
                            f"got {horizon}")
        return snapshot + pd.DateOffset(months=int(horizon))
    if isinstance(horizon, pd.DateOffset):
        return snapshot + horizon
    return snapshot + pd.Timedelta(horizon)


def feature_window(snapshot: str | pd.Timestamp, horizon: int | str | pd.DateOffset,
                   data_end: pd.Timestamp, fn: str, stacklevel: int = 3
                   ) -> tuple[pd.Timestamp, pd.Timestamp, list[str]]:
    """Snapshot and horizon end, checked against the end of the data.

    A snapshot after the data is an error; a horizon that runs past it warns (the label
    then undercounts churn) and the caveat is returned as a note for the result.
    """
    snap = _ts(snapshot, "snapshot")
    stop = _horizon_end(snap, horizon)
    notes: list[str] = []
    if snap > data_end:
        raise DataError(f"{fn}: snapshot {snap.date()} is after the end of the data "
                        f"({data_end.date()})")
    if stop > data_end + pd.Timedelta(days=1):
        msg = (f"the horizon ends {stop.date()}, after the data ({data_end.date()}): churn "
               f"after {data_end.date()} is not seen, so the label undercounts churn")
        warnings.warn(f"{fn}: {msg}", StatisticalWarning, stacklevel=stacklevel)
        notes.append(msg)
    return snap, stop, notes
