"""Errors and warnings that speak to the analyst.

Every error raised by cxlib for bad input is a subclass of :class:`CxError`, so a
notebook or a scheduled run can catch one thing; the message names the file,
column and rows at fault. The row lists and option checks that build these messages
live in :mod:`cxlib.checks`.
"""

from __future__ import annotations


class CxError(Exception):
    """Base class of every error cxlib raises on purpose."""


class DataError(CxError):
    """Input data break the data contract (missing column, bad values, ...)."""


class ReportError(CxError):
    """A report run cannot start or could not complete."""


class ModelError(CxError):
    """A model cannot be fitted as asked (one-class target, bad spec, singular design...)."""


class ParameterError(CxError, ValueError):
    """An argument is not one cxlib accepts (an unknown option, a level outside 0-1, ...).

    Also a ``ValueError``, as Python and scikit-learn use for a bad argument value, so code
    that catches ``ValueError`` keeps working.
    """


class StatisticalWarning(UserWarning):
    """A result is computed but should be read with care (small n, fallback method...)."""


class SmallSampleWarning(StatisticalWarning):
    """A group or sample is below the minimum n for a stable estimate."""


class ConvergenceWarning(StatisticalWarning):
    """An iterative estimator stopped before converging, or needed a fallback."""
