"""Bytes of a CSV/TSV export to text: UTF-8 (BOM or not), UTF-16 by BOM, then CP932; never a guess.

A file is decoded strictly (never with replacement characters). Text that
decodes as CP932 but reads as mojibake is refused: Latin-1 / CP1252 bytes often
happen to be valid CP932 (``Très`` -> ``Tr鑚``), and then give rare level-2 kanji,
IBM extension kanji, single half-width katakana or private-use characters where a
Latin-1 reading gives accented letters inside words. Undecodable bytes are
reported by data row and column, not by byte offset. An explicit ``encoding=`` is
always honoured as given.
"""

from __future__ import annotations

import csv
import io as _io
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from .errors import DataError

__all__ = ["ENCODINGS", "decode", "delimiter"]

ENCODINGS = ("utf-8-sig", "cp932")
"""Tried in order; CP932 (Windows Japanese) rather than shift_jis, which fails on ①㈱～."""

Layout = Callable[[list[list[str]]], tuple[int, list[str]]]
"""Records of a file -> (number of header records, column names), for row numbers in errors."""

_SHOWN = 3  # cells quoted in an error message


def _one_header(records: list[list[str]]) -> tuple[int, list[str]]:
    return 1, records[0] if records else []


def delimiter(first_line: str, suffix: str = "") -> str:
    """The field separator of a delimited file: tab for .tsv, else the commonest of , tab ;."""
    if suffix.lower() in (".tsv", ".tab"):
        return "\t"
    counts = {d: first_line.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=counts.get)  # type: ignore[arg-type]
    return best if counts[best] else ","


def decode(data: bytes, name: str, encoding: str | None = None,
           layout: Layout = _one_header) -> tuple[str, str]:
    """``(text, encoding used)``, or one DataError naming rows and columns.

    ``encoding`` None tries UTF-16 (by BOM), UTF-8 (BOM or not), then CP932 (if the
    CP932 reading is plausible); anything else is decoded exactly as asked.
    ``layout`` tells how many header records the file has, so errors can say
    "row 1" for the first record below the header.
    """
    if encoding is None and data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"  # by its byte-order mark
    if encoding is not None:
        try:
            return data.decode(encoding), encoding
        except LookupError:
            raise DataError(f"{name}: unknown encoding {encoding!r}") from None
        except UnicodeDecodeError:
            n, where = _undecodable(data, encoding, name, layout)
            raise DataError(f"{name}: cannot decode as {encoding}: {n} cell(s) have bytes that "
                            f"are not {encoding} ({where})") from None
    try:
        return data.decode("utf-8-sig"), "utf-8-sig"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp932")
    except UnicodeDecodeError:
        found = [(*_undecodable(data, enc, name, layout), enc) for enc in ENCODINGS]
        n, where, enc = min(found, key=lambda f: f[0])
        raise DataError(f"{name}: not UTF-8, UTF-16 or CP932 text; read as "
                        f"{enc.removesuffix('-sig').upper()}, {n} cell(s) "
                        f"have bytes that do not decode ({where}); give encoding= "
                        "(e.g. encoding='latin-1', 'cp1252' or 'euc-jp')") from None
    if _looks_latin(data, text):
        n, where = _locate(text, name, layout, _rare().search, _both)
        raise DataError(f"{name}: decodes as CP932 but reads as mojibake (rare kanji or "
                        f"half-width katakana where Latin-1 has accented letters; {n} cell(s): "
                        f"{where}); give the encoding, e.g. encoding='latin-1' or 'cp1252' "
                        "(or encoding='cp932' to keep this reading)")
    return text, "cp932"


# -- where the bytes are --------------------------------------------------------------------------

def _records(text: str, name: str) -> list[tuple[int, list[str]]]:
    """(first physical line, fields) of every non-empty record, as the readers see them."""
    text = text.lstrip("\ufeff")
    sep = delimiter(text.split("\n", 1)[0], Path(name).suffix)
    out: list[tuple[int, list[str]]] = []
    reader = csv.reader(_io.StringIO(text, newline=""), delimiter=sep)
    line = 1
    try:
        for fields in reader:
            if fields:
                out.append((line, fields))
            line = reader.line_num + 1
    except csv.Error:  # unparseable: fall back to physical lines, one field each
        return [(i, [ln]) for i, ln in enumerate(text.split("\n"), start=1) if ln]
    return out


def _locate(text: str, name: str, layout: Layout, bad: Callable[[str], object],
            show: Callable[[str], str]) -> tuple[int, str]:
    """How many cells ``bad`` flags, and the first few as "row R (line L), column 'c': ..."."""
    records = _records(text, name)
    try:
        n_header, names = layout([r for _, r in records])
    except DataError:
        n_header, names = _one_header([r for _, r in records])
    hits: list[str] = []
    count = 0
    for k, (line, fields) in enumerate(records):
        for j, cell in enumerate(fields):
            if not bad(cell):
                continue
            count += 1
            if len(hits) < _SHOWN:
                col = repr(names[j]) if j < len(names) and names[j].strip() else f"{j + 1}"
                row = (f"row {k - n_header + 1} (line {line})" if k >= n_header
                       else f"header line {line}")
                hits.append(f"{row}, column {col}: {show(cell)}")
    more = f"; and {count - len(hits)} more" if count > len(hits) else ""
    return count, "; ".join(hits) + more


_ESCAPED = re.compile("[\udc80-\udcff]")


def _undecodable(data: bytes, encoding: str, name: str, layout: Layout) -> tuple[int, str]:
    try:
        text = data.decode(encoding, errors="surrogateescape")
    except UnicodeDecodeError as exc:  # UTF-16/32 cannot escape a broken unit
        return 1, f"{exc.reason} at byte {exc.start}"

    def show(cell: str) -> str:
        raw = cell.encode(encoding.removesuffix("-sig"), errors="surrogateescape")
        return repr(raw[:60]) + ("..." if len(raw) > 60 else "")

    return _locate(text, name, layout, _ESCAPED.search, show)


# -- is a CP932 reading plausible? ----------------------------------------------------------------

@lru_cache(maxsize=1)
def _rare() -> re.Pattern[str]:
    """Characters rare in Japanese that Latin-1 accented letters (0xC0-0xFF) become in CP932.

    Level-2 kanji (0x989F-0xEAA4), IBM/NEC extension rows (0xED-0xEE, 0xFA-0xFC),
    half-width katakana and private use (user-defined rows); characters that CP932
    also encodes in a common row (NEC/IBM duplicates) are left out.
    """
    chars = set()
    for lead in (*range(0x98, 0xA0), *range(0xE0, 0xEB), 0xED, 0xEE, 0xFA, 0xFB, 0xFC):
        for trail in (*range(0x40, 0x7F), *range(0x80, 0xFD)):
            try:
                ch = bytes((lead, trail)).decode("cp932")
            except UnicodeDecodeError:
                continue
            if len(ch) == 1 and ch.encode("cp932") >= b"\x98\x9f":
                chars.add(ch)
    listed = "".join(re.escape(c) for c in sorted(chars))
    return re.compile(f"[{listed}\uff61-\uff9f\ue000-\uf8ff]")


_PRIVATE = re.compile("[\ue000-\uf8ff]")
_LATIN_LETTER = "À-ÖØ-öø-ÿŒœŠšŽžŸ"
_LATIN_TYPICAL = re.compile(f"(?<=[A-Za-z])[{_LATIN_LETTER}]|[{_LATIN_LETTER}](?=[A-Za-z])"
                            "|[‘’“”„–—…€£°«»·¡¿©®\xa0§]")


def _non_ascii(text: str) -> int:
    return len(text) - len(text.encode("ascii", "ignore"))


def _looks_latin(data: bytes, text: str) -> bool:
    """True when the CP932 reading ``text`` is mojibake of Latin-1 / CP1252 text.

    Either a private-use character (CP932 user-defined rows, or single 0xA0/0xFD-0xFF,
    which are NBSP and ý þ ÿ in Latin-1), or: at least half of the non-ASCII characters
    are rare in Japanese (see :func:`_rare`) and at least 80% of the non-ASCII
    characters of the CP1252 reading are accented letters touching an ASCII letter, or
    usual Latin punctuation (’ “ ” – € £ ° « »).
    """
    if _PRIVATE.search(text):
        return True
    non_ascii = _non_ascii(text)
    if not non_ascii or len(_rare().findall(text)) * 2 < non_ascii:
        return False
    latin = data.decode("cp1252", errors="replace")
    return len(_LATIN_TYPICAL.findall(latin)) >= 0.8 * _non_ascii(latin)


def _both(cell: str) -> str:
    raw = cell.encode("cp932")
    return f"{cell[:40]!r} (as Latin-1: {raw.decode('latin-1')[:40]!r})"
