"""Churn: who leaves (classifiers), when (survival), why (drivers) and what it costs.

- :mod:`.features`: ``build_features(tables, snapshot, horizon)`` without leakage, and
  ``from_tables`` / ``from_customer_table`` (any customer table with a churn flag);
- :mod:`.models`: ``fit(frame, target, model="logistic" | "boosted")`` validated out of fold;
- :mod:`.timing`: first-year churn by group, the expectation-gap effect (survival curves,
  log-rank and Cox models live in :mod:`cxlib.survival`);
- :mod:`.value`: revenue at risk, lifetime value per segment, the ranked contact list.

Methods and references: ``docs/churn.md``.
"""

from __future__ import annotations

from .features import (FEATURE_DESCRIPTIONS, ChurnData, build_features, from_customer_table,
                       from_tables)
from .models import ChurnModel, binary_target, calibration_table, fit, gains_table, infer_columns
from .timing import GapEffect, expectation_gap_effect, first_year_churn
from .value import contact_list, customer_value, revenue_at_risk, revenue_at_risk_figure

__all__ = [
    "build_features", "from_tables", "from_customer_table", "ChurnData", "FEATURE_DESCRIPTIONS",
    "fit", "ChurnModel", "binary_target", "infer_columns", "calibration_table", "gains_table",
    "first_year_churn", "expectation_gap_effect", "GapEffect",
    "revenue_at_risk", "customer_value", "contact_list", "revenue_at_risk_figure",
]
