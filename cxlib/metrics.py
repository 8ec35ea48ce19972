"""Survey metrics with their uncertainty.

NPS uses the adjusted-Wald interval recommended by Rocks (2016, The American
Statistician 70(4)): add 3 to n and 3/4 to promoters and to detractors, then a
normal interval on the difference of two multinomial shares.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .errors import DataError

__all__ = ["nps"]

NPS_COLUMNS = ["n", "promoters", "passives", "detractors", "nps", "ci_low", "ci_high",
               "small_sample"]


def _nps_row(scores: np.ndarray, z: float, min_n: int) -> dict[str, float]:
    n = len(scores)
    pro = float((scores >= 9).sum())
    det = float((scores <= 6).sum())
    if n == 0:
        return dict.fromkeys(NPS_COLUMNS, np.nan) | {"n": 0, "small_sample": True}
    n_adj = n + 3
    p_adj, d_adj = (pro + 0.75) / n_adj, (det + 0.75) / n_adj
    centre = p_adj - d_adj
    half = z * np.sqrt((p_adj + d_adj - centre**2) / n_adj)
    return {
        "n": n,
        "promoters": pro / n,
        "passives": (n - pro - det) / n,
        "detractors": det / n,
        "nps": 100 * (pro - det) / n,
        "ci_low": 100 * max(centre - half, -1.0),
        "ci_high": 100 * min(centre + half, 1.0),
        "small_sample": n < min_n,
    }


def nps(frame: pd.DataFrame, by: str | list[str] | None = None, score: str = "nps",
        level: float = 0.95, min_n: int = 30) -> pd.DataFrame:
    """Net Promoter Score (points, -100..100) per group with an adjusted-Wald interval.

    Promoters answer 9-10, detractors 0-6 on the 0-10 scale; missing answers are
    left out (``n`` counts answers). Shares are fractions 0-1. Groups with fewer
    than ``min_n`` answers are kept and flagged in ``small_sample``.
    """
    if score not in frame.columns:
        raise DataError(f"nps: column {score!r} not found (columns: {', '.join(frame.columns)})")
    values = pd.to_numeric(frame[score], errors="coerce").astype("Float64")
    bad = values.notna() & ~values.between(0, 10)
    if bad.any():
        rows = (np.flatnonzero(bad.to_numpy()) + 1)[:5].tolist()
        raise DataError(f"nps: column {score!r} has {int(bad.sum())} values outside 0-10 "
                        f"(rows {', '.join(map(str, rows))})")
    z = float(stats.norm.ppf(0.5 + level / 2))
    data = frame.assign(_score=values)
    if by is None:
        row = _nps_row(data["_score"].dropna().to_numpy(dtype=float), z, min_n)
        return pd.DataFrame([row], columns=NPS_COLUMNS)
    keys = [by] if isinstance(by, str) else list(by)
    rows = []
    for key, grp in data.groupby(keys, sort=True, observed=True):
        key = key if isinstance(key, tuple) else (key,)
        rows.append(dict(zip(keys, key)) | _nps_row(grp["_score"].dropna().to_numpy(dtype=float),
                                                   z, min_n))
    return pd.DataFrame(rows, columns=[*keys, *NPS_COLUMNS])
