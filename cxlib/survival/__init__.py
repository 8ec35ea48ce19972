"""Time to churn: durations, Kaplan-Meier curves, log-rank tests, a Cox model and its checks.

- :mod:`.curves`: durations from dates, Kaplan-Meier (log-log intervals, none where
  survival is 0, as R), log-rank test, survival figure;
- :mod:`.hazards`: Cox proportional hazards (statsmodels ``PHReg``, Efron ties);
- :mod:`.phtest`: proportional-hazards score test as R ``cox.zph`` (survival 3.x);
- :mod:`.pairs`: concordance with its standard error as R ``concordance()``.

Reference results from R ``survival`` 3.5 are in ``tests/reference/survival/``
(docs/churn.md). lifelines 0.30 pins ``pandas<3`` and so cannot join this environment.
"""

from .curves import (UNIT_DAYS, LogrankResult, durations, kaplan_meier, logrank, survival_at,
                     survival_figure)
from .hazards import CoxResult, cox
from .pairs import Concordance, concordance
from .phtest import TRANSFORMS, PHTest, proportional_hazards

__all__ = ["durations", "kaplan_meier", "survival_at", "logrank", "cox", "survival_figure",
           "proportional_hazards", "concordance", "LogrankResult", "CoxResult", "PHTest",
           "Concordance", "UNIT_DAYS", "TRANSFORMS"]
