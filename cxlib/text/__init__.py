"""Free text: made safe to show and export, prepared, coded into topics, scored, tied to NPS.

Survey verbatims are untrusted: they may hold HTML (``<script>``), spreadsheet formulas and
personal data. We never build HTML or Markdown from them; we show them as plain DataFrames
(pandas escapes cells in ``_repr_html_``), with personal data masked (:func:`mask_pii`,
docs/privacy.md), labels escaped before they reach plotly, and formula-like cells prefixed
with ``'`` before writing spreadsheets (:func:`excel_safe`). docs/verbatims.md describes
the text analytics.
"""

from __future__ import annotations

from ._pii import (ADDRESS_MASK, EMAIL_MASK, PHONE_MASK, POSTCODE_MASK, excel_safe,
                   flagged_verbatims, mask_pii, verbatims)

__all__ = ["mask_pii", "verbatims", "flagged_verbatims", "excel_safe", "EMAIL_MASK", "PHONE_MASK",
           "POSTCODE_MASK", "ADDRESS_MASK"]
