"""Free text made safe to show and to export.

Survey verbatims are untrusted: they may hold HTML (``<script>``), spreadsheet
formulas and personal data. We never build HTML or Markdown from them; we show
them as plain DataFrames (pandas escapes cells in ``_repr_html_``), with e-mail
addresses, phone numbers, postcodes and addresses masked by default (:func:`mask_pii`,
docs/privacy.md), and prefix formula-like cells with ``'`` before writing spreadsheets
(:func:`excel_safe`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..checks import check_option
from ..errors import DataError

__all__ = ["mask_pii", "verbatims", "flagged_verbatims", "excel_safe", "EMAIL_MASK", "PHONE_MASK",
           "POSTCODE_MASK", "ADDRESS_MASK"]

EMAIL_MASK = "[email]"
PHONE_MASK = "[phone]"
POSTCODE_MASK = "[postcode]"
ADDRESS_MASK = "[address]"

# Every pattern below is linear in the text length: repetitions are bounded, or (for digit
# runs) the character classes on either side of a repetition are disjoint, so no input makes
# the engine try more than a fixed number of ways at one position. docs/privacy.md lists
# what is masked and what is not.
_D = "0-9０-９"                                   # ASCII and full-width digits
_TO_ASCII = str.maketrans("０１２３４５６７８９", "0123456789")

# e-mail: a local part (at most 64 characters, RFC 5321) that starts a run of such characters,
# @ or ＠, then up to 10 dot-separated labels of at most 63 characters and a letter TLD
_LOCAL = "A-Za-z0-9Ａ-Ｚａ-ｚ０-９._%+\\-＿．－"
_LABEL = "[A-Za-z0-9Ａ-Ｚａ-ｚ０-９\\-]{1,63}"
_EMAIL = re.compile(rf"(?<![{_LOCAL}])[{_LOCAL}]{{1,64}}[@＠]{_LABEL}"
                    rf"(?:[.．]{_LABEL}){{0,8}}[.．][A-Za-zＡ-Ｚａ-ｚ]{{2,24}}")

# phone: tokenise into runs of digit groups joined by 1-3 separators (hyphens incl. full-width
# and the katakana long mark, dots, spaces incl. NBSP and ideographic space, parentheses),
# then find the numbers inside each run (_mask_phones); separators and digits are disjoint
_SEP = "[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000\\-‐‑‒–—―−ー－.．()（）]"
_RUN = re.compile(rf"[+＋]?[(（]?[{_D}]+(?:{_SEP}{{1,3}}[{_D}]+)*")
_GROUP = re.compile(rf"[{_D}]+")

# postcode: 〒 or 郵便番号 (then up to two of colon or space), NNN-NNNN or NNNNNNN
_POSTCODE = re.compile(rf"(〒|郵便番号)([:：\s]{{0,2}})[{_D}]{{3}}[-－ー‐−]?[{_D}]{{4}}(?![{_D}])")

# address: a prefecture, a municipality (ending 市区町村郡), a district name, block numbers
# with a unit or a hyphen (1-1-1, 3丁目1番1号, 北1条西2丁目); or, without the prefecture, a
# city or ward followed by block numbers with a unit or three parts
_PREFECTURES = (
    "北海道|青森県|岩手県|宮城県|秋田県|山形県|福島県|茨城県|栃木県|群馬県|埼玉県|千葉県|東京都|"
    "神奈川県|新潟県|富山県|石川県|福井県|山梨県|長野県|岐阜県|静岡県|愛知県|三重県|滋賀県|京都府|"
    "大阪府|兵庫県|奈良県|和歌山県|鳥取県|島根県|岡山県|広島県|山口県|徳島県|香川県|愛媛県|高知県|"
    "福岡県|佐賀県|長崎県|熊本県|大分県|宮崎県|鹿児島県|沖縄県")
_KANJI = "\u4e00-\u9fff\u3005\u3007\u30a1-\u30fa\u30fcヶ"      # kanji, 々, 〇, katakana
_TOWN = rf"[{_KANJI}のが]{{0,12}}?"                             # 丸の内, 霞が関
_NUM = rf"(?:[{_D}]{{1,5}}|[一二三四五六七八九十〇百千]{{1,4}})"
_UNIT = "(?:丁目|番地|番|号|条|地割)"
_LINK = "[-－‐‑−ーの東西南北]"
_BLOCK = rf"(?:{_NUM}(?:(?:{_UNIT}{_LINK}?|{_LINK}){_NUM}){{1,4}}{_UNIT}?|{_NUM}{_UNIT})"
_STRONG_BLOCK = (rf"(?:{_NUM}(?:{_LINK}{_NUM}){{2,4}}{_UNIT}?"
                 rf"|{_NUM}{_UNIT}(?:{_LINK}?{_NUM}{_UNIT}?){{0,4}})")
_ADDRESS = re.compile(
    rf"(?:{_PREFECTURES})[{_KANJI}\u3041-\u3096]{{0,12}}?[市区町村郡]{_TOWN}{_BLOCK}"
    rf"|(?<![{_KANJI}])[{_KANJI}]{{1,6}}[市区]{_TOWN}{_STRONG_BLOCK}")


def _national_length(digits: str) -> int:
    """Digits of a Japanese number with this prefix: 11 for mobile, IP, M2M and 0800, else 10."""
    if digits[:4] in ("0120", "0570", "0990"):
        return 10
    return 11 if digits[:4] == "0800" or digits[:3] in (
        "020", "050", "060", "070", "080", "090") else 10


def _phone_end(groups: list[str], i: int, plus: bool) -> int | None:
    """Index of the last group of the phone number starting at group ``i``, or None.

    With ``+``: 8-15 digits (E.164, the longest that fits); +1 exactly 11; +81 a Japanese
    number without its 0 (``+81 (0)90 ...`` too). Without: 10-11 digits starting with 0 and a
    first group of two digits or more (the length its prefix implies when both fit); or
    3-3-4 digits with the first digit 2-9 (North American).
    """
    first = groups[i]
    if not plus and not (first[0] == "0" and len(first) >= 2):
        nanp = (len(first) == 3 and first[0] in "23456789" and len(groups) > i + 2
                and len(groups[i + 1]) == 3 and len(groups[i + 2]) == 4)
        return i + 2 if nanp else None
    ends: dict[int, int] = {}      # digit count -> last group index
    total = ""
    for j in range(i, min(len(groups), i + 15)):
        total += groups[j]
        if len(total) > 15:
            break
        ends[len(total)] = j
    if not plus:                                      # 10 or 11 digits, the expected first
        want = _national_length(total)
        return ends.get(want, ends.get(21 - want))
    if total.startswith("81"):
        skip = 3 if total[2:3] == "0" else 2          # +81 (0)90 ...
        want = _national_length("0" + total[skip:]) - 1
        rest = {n - skip: j for n, j in ends.items()}  # 9 or 10 digits, the expected first
        return rest.get(want, rest.get(19 - want))
    if total.startswith("1"):
        return ends.get(11)
    return next((ends[n] for n in range(15, 7, -1) if n in ends), None)


def _mask_phones(run: re.Match) -> str:
    """A run of digit groups with each phone number in it replaced by ``[phone]``."""
    text = run.group(0)
    spans = [(g.start(), g.end()) for g in _GROUP.finditer(text)]
    groups = [text[a:b].translate(_TO_ASCII) for a, b in spans]
    out, done, i = [], 0, 0
    while i < len(groups):
        end = _phone_end(groups, i, plus=i == 0 and text[0] in "+＋")
        if end == i and i > 0 and text[spans[i - 1][1]:spans[i][0]] in (".", "．"):
            end = None                     # a decimal fraction such as 0.0312345678
        if end is None:
            i += 1
            continue
        start, stop = spans[i][0], spans[end][1]
        while start > done and text[start - 1] in "(（+＋":
            start -= 1
        number = text[start:stop]
        unclosed = number.count("(") + number.count("（") - number.count(")") - number.count("）")
        if unclosed > 0 and text[stop:stop + 1] in (")", "）"):
            stop += 1
        out += [text[done:start], PHONE_MASK]
        done, i = stop, end + 1
    return "".join(out) + text[done:]


def mask_pii(text: object) -> object:
    """``text`` with e-mail addresses, phones, postcodes and addresses replaced by markers.

    E-mail addresses (ASCII or full-width, ``＠``); phone numbers written right after any
    character, with or without separators (hyphens, dots, spaces, NBSP, full-width forms,
    parentheses): Japanese numbers of 10-11 digits starting with 0 (03-1234-5678,
    090-1234-5678, 0120-123-456, ０９０－…), numbers starting with + (+81 90-1234-5678,
    +44 20 7946 0958), North American 3-3-4; postcodes after 〒 or 郵便番号; Japanese
    addresses from the prefecture (or a city or ward) to the block numbers. Markers:
    ``[email]``, ``[phone]``, ``[postcode]`` (after the kept 〒), ``[address]``. Dates, prices,
    percentages, versions and short ids are left alone. Linear in the text length
    (docs/privacy.md). Non-text values (None, NA) are returned unchanged.
    """
    if not isinstance(text, str):
        return text
    out = _EMAIL.sub(EMAIL_MASK, text) if ("@" in text or "＠" in text) else text
    out = _POSTCODE.sub(rf"\1\2{POSTCODE_MASK}", out)
    out = _ADDRESS.sub(ADDRESS_MASK, out)
    return _RUN.sub(_mask_phones, out)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
# an HTML-like tag; bounded or disjoint repetitions, so a long text of '<' or spaces stays linear
_MARKUP = r"<[\s/]{0,8}[A-Za-z!][^<>]*>"


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
    on ``score``. Personal data is masked (:func:`mask_pii`) unless ``mask=False``;
    comments are cut at ``max_chars`` after masking. Show the result as a DataFrame (escaped by
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
        check_option("group", group, ranges, where="verbatims")
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
    spreadsheet formula), ``pii`` (personal data that :func:`mask_pii` masks). Display-safe as
    :func:`verbatims` (masked by default, plain DataFrame).
    """
    if text not in frame.columns:
        raise DataError(f"flagged_verbatims: text column {text!r} not found")
    body = frame[text].astype("string")
    markup = body.str.contains(_MARKUP, regex=True).fillna(False)
    formula = body.map(lambda v: isinstance(v, str) and v.lstrip().startswith(_FORMULA_START),
                       na_action="ignore").fillna(False).astype(bool)
    pii = body.map(lambda v: mask_pii(v) != v, na_action="ignore").fillna(False).astype(bool)
    any_flag = (markup | formula | pii).to_numpy(dtype=bool)
    flags = pd.DataFrame({"markup": markup, "formula": formula, "pii": pii})[any_flag]
    out = _shown(frame[any_flag], text, columns, mask, max_chars)
    out.insert(0, "flag", [", ".join(k for k, v in row.items() if v)
                            for row in flags.to_dict("records")])
    return out
