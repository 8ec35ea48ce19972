"""One contract for what analyses return (docs/results.md).

Every public result class derives from :class:`Result` and gives

- ``summary()``: a DataFrame of the numbers (as statsmodels' ``summary_frame``);
- ``headline()``: one sentence with the estimate, its interval (``95% CI a to b``) and n;
- ``plot()``: the main plotly figure, never shown; other figures are ``plot_<what>()``;
- ``repr``: one short line (the class name and the headline, cut to :data:`REPR_WIDTH`).

Result classes are dataclasses declared with ``repr=False`` so that this ``__repr__`` applies.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

__all__ = ["Result", "REPR_WIDTH", "ci_text"]

REPR_WIDTH = 160
"""Longest ``repr`` of a result, in characters."""


def p_text(p: float) -> str:
    """A p-value as a reader reads it: ``p < 0.001`` or ``p = 0.046`` (never 1.2e-164)."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def ci_text(low: float, high: float, level: float = 0.95, fmt: str = ".2f") -> str:
    """The interval as every headline writes it: ``95% CI 0.12 to 0.34``."""
    return f"{level:.0%} CI {low:{fmt}} to {high:{fmt}}"


class Result:
    """Base of every public result class (the contract above)."""

    def summary(self) -> pd.DataFrame:
        raise NotImplementedError

    def headline(self) -> str:
        raise NotImplementedError

    def plot(self) -> go.Figure:
        raise NotImplementedError

    def __repr__(self) -> str:
        text = f"<{type(self).__name__}: {' '.join(self.headline().split())}>"
        return text if len(text) <= REPR_WIDTH else text[:REPR_WIDTH - 2] + "…>"
