"""Free text made safe to show and to export.

Survey verbatims are untrusted: they may hold HTML (``<script>``), spreadsheet
formulas and personal data. We never build HTML or Markdown from them; we show
them as plain DataFrames (pandas escapes cells in ``_repr_html_``), with e-mail
addresses and phone numbers masked by default (:func:`mask_pii`), and prefix
formula-like cells with ``'`` before writing spreadsheets (:func:`excel_safe`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .errors import DataError

__all__ = ["mask_pii", "verbatims", "flagged_verbatims", "excel_safe", "EMAIL_MASK", "PHONE_MASK"]

EMAIL_MASK = "[email]"
PHONE_MASK = "[phone]"

_D = "0-9０-９"                       # ASCII and full-width digits
# separators inside a number: hyphens (incl. full-width, katakana long mark), spaces, dots, parens
_SEP = r"[ \u3000\-‐‑‒–—―−ー－.．()（）]"
_EMAIL = re.compile(
    r"[A-Za-z0-9Ａ-Ｚａ-ｚ０-９._%+\-＿．]+[@＠][A-Za-z0-9Ａ-Ｚａ-ｚ０-９\-]+"
    r"(?:[.．][A-Za-z0-9Ａ-Ｚａ-ｚ０-９\-]+)*[.．][A-Za-zＡ-Ｚａ-ｚ]{2,}")
# a run of digit groups, optionally with a +country code and a (area) code; validated below
_PHONE = re.compile(
    rf"(?<![{_D}\w])(?:[+＋][{_D}]{{1,3}}{_SEP}?)?(?:[(（][{_D}]{{1,5}}[)）]{_SEP}?)?"
    rf"[{_D}]{{1,11}}(?:{_SEP}?[{_D}]{{1,5}}){{0,4}}(?![{_D}])")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def _is_phone(candidate: str) -> bool:
    digits = re.sub(rf"[^{_D}]", "", candidate)
    starts_plus = candidate.lstrip()[:1] in ("+", "＋")
    first = candidate.lstrip("(（ ")[:1]
    if starts_plus:
        return 8 <= len(digits) <= 15
    # national numbers (Japan and most of Europe) start with 0: 10-11 digits in Japan
    return first in ("0", "０") and 10 <= len(digits) <= 11


def mask_pii(text: object) -> object:
    """``text`` with e-mail addresses and phone numbers replaced by ``[email]``/``[phone]``.

    Phones: numbers starting with 0 of 10-11 digits (Japanese landline and mobile, e.g.
    090-1234-5678, 03-1234-5678, (03) 1234-5678, 09012345678, full-width ０９０－…) and
    international numbers starting with + (8-15 digits). Dates, prices and ids without a
    leading 0 or + are left alone. Non-text values (None, NA) are returned unchanged.
    """
    if not isinstance(text, str):
        return text
    out = _EMAIL.sub(EMAIL_MASK, text)
    return _PHONE.sub(lambda m: PHONE_MASK if _is_phone(m.group(0)) else m.group(0), out)


def excel_safe(values: pd.DataFrame | pd.Series | object) -> pd.DataFrame | pd.Series | object:
    """Guard text against spreadsheet formula injection before an export.

    Text cells starting with ``= + - @`` (or tab / carriage return, or their full-width
    forms) get a leading ``'`` so Excel and LibreOffice show them as text (OWASP CSV
    injection). Numbers are untouched; frames and series are copied, never mutated.
    """
    def guard(v: object) -> object:
        return "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v

    if isinstance(values, pd.DataFrame):
        out = values.copy()
        for col in out.columns:
            if not pd.api.types.is_numeric_dtype(out[col].dtype):
                out[col] = out[col].map(guard, na_action="ignore")
        return out
    if isinstance(values, pd.Series):
        return values.map(guard, na_action="ignore") if not pd.api.types.is_numeric_dtype(
            values.dtype) else values.copy()
    return guard(values)


def _shown(frame: pd.DataFrame, text: str, columns: Sequence[str], mask: bool, max_chars: int
           ) -> pd.DataFrame:
    cols = [c for c in columns if c in frame.columns and c != text]
    out = frame[cols].copy()
    body = frame[text].astype("string")
    if mask:
        body = body.map(mask_pii, na_action="ignore").astype("string")
    too_long = body.str.len() > max_chars
    body = body.where(~too_long.fillna(False), body.str.slice(0, max_chars - 1) + "…")
    out[text] = body.astype(object)
    return out.reset_index(drop=True)


def verbatims(frame: pd.DataFrame, text: str = "verbatim", score: str = "nps",
              group: str | None = None, n: int = 10, mask: bool = True, seed: int = 0,
              columns: Sequence[str] = ("response_id", "response_date", "touchpoint",
                                        "nps"),
              max_chars: int = 300) -> pd.DataFrame:
    """A random sample of ``n`` comments for display, as a plain DataFrame.

    ``group``: None (all), "promoters" (9-10), "passives" (7-8) or "detractors" (0-6)
    on ``score``. E-mail addresses and phone numbers are masked unless ``mask=False``;
    comments are cut at ``max_chars``. Show the result as a DataFrame (escaped by
    pandas); never build HTML or Markdown from it.
    """
    if text not in frame.columns:
        raise DataError(f"verbatims: text column {text!r} not found")
    has = frame[text].notna() & (frame[text].astype("string").str.strip() != "")
    if group is not None:
        if score not in frame.columns:
            raise DataError(f"verbatims: score column {score!r} not found")
        s = pd.to_numeric(frame[score], errors="coerce")
        ranges = {"promoters": (9, 10), "passives": (7, 8), "detractors": (0, 6)}
        if group not in ranges:
            raise ValueError(f"group must be one of {', '.join(ranges)} or None, got {group!r}")
        lo, hi = ranges[group]
        has &= s.between(lo, hi).fillna(False)
    pool = frame[has.fillna(False).to_numpy()]
    if len(pool) > n:
        rng = np.random.default_rng(seed)
        pool = pool.iloc[np.sort(rng.choice(len(pool), size=n, replace=False))]
    return _shown(pool, text, columns, mask, max_chars)


def flagged_verbatims(frame: pd.DataFrame, text: str = "verbatim", mask: bool = True,
                      columns: Sequence[str] = ("response_id", "response_date", "touchpoint",
                                                "nps"),
                      max_chars: int = 300) -> pd.DataFrame:
    """Comments that need care before they leave the analysis, with the reason.

    ``flag`` names what was found: ``markup`` (HTML-like tags), ``formula`` (starts like a
    spreadsheet formula), ``pii`` (an e-mail address or phone number). Display-safe as
    :func:`verbatims` (masked by default, plain DataFrame).
    """
    if text not in frame.columns:
        raise DataError(f"flagged_verbatims: text column {text!r} not found")
    body = frame[text].astype("string")
    markup = body.str.contains(r"<\s*/?\s*[A-Za-z!][^>]*>", regex=True).fillna(False)
    formula = body.map(lambda v: isinstance(v, str) and v.lstrip().startswith(_FORMULA_START),
                       na_action="ignore").fillna(False).astype(bool)
    pii = body.map(lambda v: mask_pii(v) != v, na_action="ignore").fillna(False).astype(bool)
    any_flag = (markup | formula | pii).to_numpy(dtype=bool)
    flags = pd.DataFrame({"markup": markup, "formula": formula, "pii": pii})[any_flag]
    out = _shown(frame[any_flag], text, columns, mask, max_chars)
    out.insert(0, "flag", [", ".join(k for k, v in row.items() if v)
                            for row in flags.to_dict("records")])
    return out
