"""Rational vs emotional satisfaction: constructs, their quality, segments and churn.

The question (issue 4): do customers who are satisfied only rationally (price,
performance) leave as often as dissatisfied ones, while emotionally attached
customers stay? Steps, each a function returning DataFrames or a small result:

1. ``score_responses`` / ``construct_scores``: one score per construct from
   configurable item lists (defaults: ``cxlib.vocab.EMOTIONAL_ITEMS``, ``RATIONAL_ITEMS``);
2. ``reliability``, ``discriminant_validity``, ``factor_structure``: are the scores
   measuring two distinct things reliably? (``cxlib.measurement`` does the arithmetic);
3. ``SatisfactionSegmenter(method="rule" | "mixture")`` and ``agreement``;
4. ``survey_panel`` (one row per customer, follow-up from the survey) and
   ``outcomes_by_segment``, ``segment_movement``;
5. ``churn_test``: logistic and Cox models with controls and a computed verdict.
"""

from __future__ import annotations

from ._churn import CONTROLS, ChurnTest, churn_test, construct_effects
from ._constructs import (DEFAULT_BLOCKS, DiscriminantValidity, FactorStructure, construct_scores,
                          discriminant_validity, factor_structure, reliability)
from ._panel import OUTCOMES, outcomes_by_segment, score_responses, segment_movement, survey_panel
from ._plots import (loadings_figure, movement_figure, plane_points, reliability_figure,
                     satisfaction_plane)
from ._segmenter import (DISSATISFIED, EMOTIONALLY_SATISFIED, OTHER, RATIONALLY_ONLY, SEGMENTS,
                         Agreement, SatisfactionSegmenter, agreement, crosstab_figure,
                         rule_segments)

__all__ = [
    "DEFAULT_BLOCKS", "SEGMENTS", "EMOTIONALLY_SATISFIED", "RATIONALLY_ONLY", "DISSATISFIED",
    "OTHER", "CONTROLS", "OUTCOMES",
    "construct_scores", "score_responses", "reliability", "discriminant_validity",
    "factor_structure", "DiscriminantValidity", "FactorStructure",
    "SatisfactionSegmenter", "rule_segments", "agreement", "Agreement",
    "survey_panel", "outcomes_by_segment", "segment_movement",
    "churn_test", "construct_effects", "ChurnTest",
    "satisfaction_plane", "plane_points", "movement_figure", "reliability_figure",
    "loadings_figure", "crosstab_figure",
]
