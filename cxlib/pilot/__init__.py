"""Pilot evaluation: did the monitor group's integrated touchpoints really move the KPIs?

Design (:mod:`._power`, :mod:`._groups`): power and minimum detectable effects for NPS,
churn and revenue per customer; random or matched monitor groups with balance checks.
Analysis (:mod:`._did`, :mod:`._kpis`, :mod:`._randomised`): difference-in-differences of
any panel (two-way fixed effects, any clusters) and of the pilot's KPIs, event study and
pre-trend check; for a randomised pilot the
CUPED difference, the NPS difference and randomisation inference.
Decision (:mod:`._decision`): effect, interval, probability above a business threshold,
projected money and a computed recommendation (roll out / extend the pilot / stop).
"""

from __future__ import annotations

from ._decision import (
    RECOMMENDATIONS, Decision, ValuePerUnit, decide, retention_value, rollout_value,
)
from ._did import DiDResult, did
from ._kpis import (KPIS, difference_in_differences, effects_plot, effects_table, evaluate_pilot,
                    kpi_observations, months_observed)
from ._groups import (CONTROL, PILOT, Balance, add_tenure_band, assign_monitor_group, balance,
                      define_groups, match_controls)
from ._power import (Baseline, PilotDesign, baseline, mde_mean, mde_nps, mde_rate, nps_sd,
                     pilot_design, power_mean, power_nps, power_rate)
from ._randomised import (CupedResult, RandomisationResult, cuped_difference, customer_pre_post,
                          nps_difference, randomisation_test)

__all__ = [
    "months_observed",
    # design
    "baseline", "Baseline", "pilot_design", "PilotDesign", "power_mean", "mde_mean", "nps_sd",
    "power_nps", "mde_nps", "power_rate", "mde_rate",
    "define_groups", "assign_monitor_group", "match_controls", "add_tenure_band", "balance",
    "Balance", "PILOT", "CONTROL",
    # analysis
    "did", "KPIS", "kpi_observations", "difference_in_differences", "evaluate_pilot", "DiDResult",
    "effects_table", "effects_plot",
    "customer_pre_post", "cuped_difference", "CupedResult", "nps_difference",
    "randomisation_test", "RandomisationResult",
    # decision
    "ValuePerUnit", "retention_value", "rollout_value", "decide", "Decision", "RECOMMENDATIONS",
]
