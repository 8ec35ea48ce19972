"""Errors and warnings that speak to the analyst.

Every error raised by cxlib for bad input is a subclass of :class:`CxError`, so a
notebook or a scheduled run can catch one thing; the message names the file,
column and rows at fault.
"""

from __future__ import annotations


class CxError(Exception):
    """Base class of every error cxlib raises on purpose."""


class DataError(CxError):
    """Input data break the data contract (missing column, bad values, ...)."""


class ReportError(CxError):
    """A report run cannot start or could not complete."""
