"""Interval formulas from counts, shared by the pandas analyses and the engine.

Below both :mod:`cxlib.metrics` (which re-exports them) and :mod:`cxlib.engine` (whose
pushed-down NPS computes counts in SQL and the interval here), so the two give the same
numbers from one formula. Methods and references: ``docs/metrics.md``.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from .checks import check_between

__all__ = ["z_value", "adjusted_wald", "nps_interval"]


def z_value(level: float) -> float:
    """Two-sided normal critical value for a confidence ``level`` (0.95 -> 1.96)."""
    check_between("level", level, 0, 1)
    return float(stats.norm.ppf(0.5 + level / 2))


def adjusted_wald(promoters: np.ndarray, detractors: np.ndarray, n: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Adjusted-Wald centre and variance (shares, not points) from (effective) counts."""
    n_adj = n + 3.0
    p, d = (promoters + 0.75) / n_adj, (detractors + 0.75) / n_adj
    centre = p - d
    return centre, (p + d - centre**2) / n_adj


def nps_interval(promoters: np.ndarray | float, detractors: np.ndarray | float,
                 n: np.ndarray | float, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Adjusted-Wald NPS interval in points from counts (vectorised; Rocks 2016).

    ``promoters`` and ``detractors`` are counts (effective counts ``share * n_eff`` when
    weighted), ``n`` the (effective) number of answers. Clipped to -100..100.
    """
    centre, var = adjusted_wald(np.asarray(promoters, float), np.asarray(detractors, float),
                                np.asarray(n, float))
    half = z_value(level) * np.sqrt(var)
    return 100 * np.maximum(centre - half, -1.0), 100 * np.minimum(centre + half, 1.0)
