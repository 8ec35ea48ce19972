"""Names shared by the data contract and every analysis: phases, organisations, items."""

from __future__ import annotations

import pandas as pd

JOURNEY_PHASES: tuple[str, ...] = (
    "research",
    "selection",
    "purchase",
    "initial_use",        # first 90-120 days of use
    "use_support",
    "recommend_complain",
    "renewal",
)
"""Journey phases in order; ``journey_phase`` columns use exactly these names."""

ORGANISATIONS: tuple[str, ...] = ("advertising", "web", "stores", "contact_centre", "crm")
"""Organisations that own touchpoints in the sample company (real data may add others)."""

RATIONAL_ITEMS: tuple[str, ...] = ("rat_value", "rat_quality", "rat_convenience")
"""Rational-satisfaction items (1-5 agree scale): value for money, quality, convenience."""

EMOTIONAL_ITEMS: tuple[str, ...] = ("emo_trust", "emo_valued", "emo_pride", "emo_attachment")
"""Emotional-attachment items (1-5 agree scale): trust, feeling valued, pride, attachment."""


def in_journey_order(frame: pd.DataFrame, column: str = "journey_phase") -> pd.DataFrame:
    """Rows of ``frame`` sorted by journey phase (research first), other values last."""
    rank = {phase: i for i, phase in enumerate(JOURNEY_PHASES)}
    return frame.sort_values(column, key=lambda s: s.map(rank).fillna(len(rank)),
                             kind="stable").reset_index(drop=True)
