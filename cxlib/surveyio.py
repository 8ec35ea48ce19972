"""Reading survey platform exports into the data contract's names.

``read_survey(path)`` reads a Qualtrics export (CSV/TSV with three header rows:
field ids, question text, ImportId JSON), a SurveyMonkey export (CSV/XLSX with two
header rows), a Google Forms CSV, or a plain CSV / TSV / Parquet / Excel file, and
returns a DataFrame whose columns carry the contract's names where known
(``response_id``, ``response_date``, ``nps`` ...; other columns are kept as they
were). Metadata travel in ``frame.attrs``: ``platform``, ``encoding``,
``questions`` (column -> question text, for labels), ``source``, ``date_formats``
(column -> convention used) and ``notes`` (what the reader decided, in sentences).

Text is decoded as UTF-8 (with or without BOM), UTF-16 (Qualtrics TSV) or CP932
(Japanese Excel), never with replacement characters, and CP932 only when it does not
read as mojibake (:mod:`cxlib.decoding`). Dates are read with one convention per
column; day-first versus month-first is inferred only from evidence, else declared
(:mod:`cxlib.dates`). Title rows above the header (an Excel export's merged title
cell) are skipped and noted in ``frame.attrs["notes"]``. Score columns are
NFKC-normalised (full-width ``１０`` -> ``10``) and labelled answers
("10 - 非常に薦めたい", "0 = Not at all likely") keep their number. Problems raise
one :class:`~cxlib.errors.DataError` naming the file, the column and the rows
(row 1 is the first answer below the header rows).
"""

from __future__ import annotations

import csv
import io as _io
import re
import unicodedata
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .checks import check_option, row_numbers, rows_text
from .dates import parse_dates
from .decoding import decode, delimiter
from .errors import DataError
from .vocab import EMOTIONAL_ITEMS, RATIONAL_ITEMS

__all__ = ["read_survey", "read_export", "PLATFORMS", "SCORE_SCALES", "parse_scores",
           "PERSONAL_COLUMNS", "is_personal"]

PLATFORMS = ("qualtrics", "surveymonkey", "google_forms", "csv", "parquet", "excel")

SCORE_SCALES: dict[str, tuple[int, int]] = {
    "nps": (0, 10), "csat": (1, 5), "ces": (1, 7), "expectation_met": (1, 5),
    **{item: (1, 5) for item in (*RATIONAL_ITEMS, *EMOTIONAL_ITEMS)},
}
"""Contract score columns and their scales (whole numbers)."""

NA_ANSWERS = frozenset({"", "na", "n/a", "none", "-", "#n/a", "該当なし", "わからない",
                        "don't know", "dont know", "not applicable"})
"""Answers that mean "no score" in a score column (text columns keep them as typed)."""

# export column (case- and space-insensitive) -> contract name, applied when no mapping names it
KNOWN_COLUMNS: dict[str, str] = {
    "responseid": "response_id", "respondentid": "response_id", "response_id": "response_id",
    "recordeddate": "response_date", "enddate": "response_date", "timestamp": "response_date",
    "タイムスタンプ": "response_date", "response_date": "response_date",
    "externalreference": "customer_id", "externaldatareference": "customer_id",
    "customid": "customer_id", "customdata1": "customer_id", "customer_id": "customer_id",
}

PERSONAL_COLUMNS = frozenset({
    "ipaddress", "firstname", "lastname", "emailaddress",  # SurveyMonkey
    "recipientfirstname", "recipientlastname", "recipientemail",  # Qualtrics
    "locationlatitude", "locationlongitude"})
"""Export columns (keys as :func:`is_personal` compares them) holding personal data about the
respondent, not answers: not loaded unless a description maps them (``cxlib.dataset``)."""


def is_personal(column: str) -> bool:
    """Whether an export column is one of :data:`PERSONAL_COLUMNS` ("IP Address", "IPAddress")."""
    return _key(column) in PERSONAL_COLUMNS


_LABELLED = re.compile(r"^([+-]?\d+(?:\.\d+)?)(?:\s*[-=:.)）–—・]\s*.*|\s+\S.*)?$", re.S)


def _key(name: str) -> str:
    return re.sub(r"[\s_]+", "", unicodedata.normalize("NFKC", str(name))).lower()


# -- decoding and raw rows -----------------------------------------------------------------

def _text_rows(text: str, name: str, suffix: str) -> tuple[list[str], list[list[str]]]:
    """Title lines (see :func:`_skip_titles`) and the rows below them, padded to one width."""
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise DataError(f"{name}: the file is empty")
    sep = delimiter(text.split("\n", 1)[0], suffix)
    try:
        rows = [r for r in csv.reader(_io.StringIO(text, newline=""), delimiter=sep) if r]
    except csv.Error as exc:
        raise DataError(f"{name}: cannot parse as delimited text ({exc})") from None
    titles, rows = _skip_titles(rows)
    width = len(rows[0])
    ragged = [i + 1 + len(titles) for i, r in enumerate(rows) if len(r) != width
              and not (len(r) > width and not any(c.strip() for c in r[width:]))]
    if ragged:
        raise DataError(f"{name}: {len(ragged)} lines do not have the header's {width} fields "
                        f"(lines {rows_text(ragged)}); "
                        "check the separator and quoting")
    return titles, [r[:width] + [""] * (width - len(r)) for r in rows]


def _skip_titles(rows: list[list[str]]) -> tuple[list[str], list[list[str]]]:
    """Leading rows with at most one filled cell above a wider header: a report title
    (in Excel often one cell merged across the header), a date line, blank rows."""
    k = 0
    while k < len(rows) and sum(1 for c in rows[k] if c.strip()) <= 1:
        k += 1
    if k == len(rows):  # a one-column file: nothing is a title
        return [], rows
    return [next((c.strip() for c in r if c.strip()), "") for r in rows[:k]], rows[k:]


def _excel_rows(path: Path) -> list[list[str]]:
    try:
        raw = pd.read_excel(path, header=None, dtype=object, sheet_name=0)
    except ImportError as exc:
        raise DataError(f"{path.name}: reading Excel needs openpyxl "
                        "(pip install openpyxl)") from exc
    except Exception as exc:  # openpyxl raises many kinds for broken files
        raise DataError(f"{path.name}: cannot read as Excel "
                        f"({type(exc).__name__}: {exc})") from None
    rows = []
    for rec in raw.itertuples(index=False):
        row = []
        for v in rec:
            if v is None or (isinstance(v, float) and np.isnan(v)):
                row.append("")
            elif isinstance(v, float) and v.is_integer():
                row.append(str(int(v)))
            elif isinstance(v, datetime):
                row.append(v.isoformat(sep=" "))
            else:
                row.append(str(v))
        rows.append(row)
    if not rows:
        raise DataError(f"{path.name}: the file is empty")
    return rows


# -- platform detection -----------------------------------------------------------------------

def _detect(rows: list[list[str]]) -> str:
    head = {_key(c) for c in rows[0]}
    third = rows[2] if len(rows) > 2 else []
    if any(c.strip().startswith('{"ImportId"') for c in third) or \
            {"responseid", "startdate", "enddate"} <= head:
        return "qualtrics"
    second = [c.strip().lower() for c in rows[1]] if len(rows) > 1 else []
    if ({"respondentid", "collectorid"} <= head) or \
            any(c in ("response", "open-ended response") for c in second):
        return "surveymonkey"
    if _key(rows[0][0]) in ("timestamp", "タイムスタンプ"):
        return "google_forms"
    return "csv"


def _header(rows: list[list[str]], platform: str, name: str
            ) -> tuple[list[str], dict[str, str], list[list[str]]]:
    """Column names, question texts and data rows for a detected platform."""
    if platform == "qualtrics":
        if len(rows) < 3:
            raise DataError(f"{name}: a Qualtrics export needs 3 header rows, "
                            f"found {len(rows)} rows")
        names, questions = rows[0], dict(zip(rows[0], rows[1]))
        return names, questions, rows[3:] if rows[2] and rows[2][0].startswith("{") else rows[2:]
    if platform == "surveymonkey":
        if len(rows) < 2:
            raise DataError(f"{name}: a SurveyMonkey export needs 2 header rows")
        names, questions, current = [], {}, ""
        for top, sub in zip(rows[0], rows[1]):
            current = top or current  # a question spans several columns, named once
            sub_clean = sub.strip()
            col = current if sub_clean.lower() in ("", "response", "open-ended response") \
                else f"{current} - {sub_clean}"
            names.append(col)
            questions[col] = current
        return names, questions, rows[2:]
    return rows[0], {c: c for c in rows[0]}, rows[1:]


# -- values -----------------------------------------------------------------------------------

def parse_scores(values: pd.Series, column: str = "score", scale: tuple[int, int] | None = None,
                 source: str = "survey") -> pd.Series:
    """Text answers -> whole-number scores (``Int64``), or one DataError naming the rows.

    NFKC first (``１０`` -> ``10``), then the leading number of labelled answers
    ("10 - 非常に薦めたい", "0 = Not at all likely"); ``NA_ANSWERS`` and blanks become
    missing. Text without a leading number, fractions and values outside ``scale`` are errors.
    """
    out = np.full(len(values), np.nan)
    bad_text: list[int] = []
    for i, v in enumerate(values.to_numpy(dtype=object)):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            continue
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
            out[i] = float(v)
            continue
        s = unicodedata.normalize("NFKC", str(v)).strip().replace("−", "-")
        if s.lower() in NA_ANSWERS:
            continue
        m = _LABELLED.match(s)
        if m is None:
            bad_text.append(i)
        else:
            out[i] = float(m.group(1))
    raw = values.to_numpy(dtype=object)
    if bad_text:
        shown = rows_text([i + 1 for i in bad_text], raw[bad_text])
        raise DataError(f"{source}: column {column!r} has {len(bad_text)} answers that are not "
                        f"scores (rows {shown})")
    frac = np.flatnonzero(~np.isnan(out) & (out % 1 != 0))
    if len(frac):
        shown = rows_text(frac + 1, raw[frac])
        raise DataError(f"{source}: column {column!r} has {len(frac)} scores that are not whole "
                        f"numbers (rows {shown})")
    if scale is not None:
        lo, hi = scale
        off = np.flatnonzero(~np.isnan(out) & ((out < lo) | (out > hi)))
        if len(off):
            shown = rows_text(off + 1, raw[off])
            raise DataError(f"{source}: column {column!r} has {len(off)} values outside "
                            f"{lo}-{hi} (rows {shown})")
    return pd.Series(pd.array(np.where(np.isnan(out), None, out), dtype="Float64").astype("Int64"),
                     index=values.index, name=values.name)


def _load_mapping(mapping: Mapping[str, str] | str | Path | None, name: str
                  ) -> tuple[dict[str, str], str | None]:
    """Export column -> contract column pairs, and a ``date_format`` given beside them."""
    if mapping is None:
        return {}, None
    date_format = None
    if isinstance(mapping, (str, Path)):
        import yaml

        path = Path(mapping)
        if not path.exists():
            raise DataError(f"mapping file {path} not found")
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
        except yaml.YAMLError as exc:
            raise DataError(f"{path.name}: not valid YAML ({exc})") from None
        if isinstance(loaded, dict):
            loaded = dict(loaded)
            date_format = loaded.pop("date_format", None)
        mapping = loaded.get("columns", loaded) if isinstance(loaded, dict) else None
        if not isinstance(mapping, dict):
            raise DataError(f"{path.name}: expected 'export column: contract column' pairs "
                            "(optionally under 'columns:', with 'date_format:' beside)")
    pairs = {str(k): str(v) for k, v in mapping.items()}
    date_format = pairs.pop("date_format", date_format)
    return pairs, None if date_format is None else str(date_format)


def _apply_mapping(frame: pd.DataFrame, questions: dict[str, str], mapping: dict[str, str],
                   name: str) -> pd.DataFrame:
    """Rename by ``mapping`` (keys: column names or question texts), then known platform names."""
    by_question = {q: c for c, q in questions.items()}
    rename: dict[str, str] = {}
    missing = []
    for src, dst in mapping.items():
        col = src if src in frame.columns else by_question.get(src)
        if col is None:
            missing.append(src)
        else:
            rename[col] = dst
    if missing:
        raise DataError(f"{name}: the mapping names column(s) not in the file: "
                        f"{', '.join(map(repr, missing))} (columns: "
                        f"{', '.join(map(repr, list(frame.columns)[:20]))})")
    taken = set(rename.values())
    for col in frame.columns:
        target = KNOWN_COLUMNS.get(_key(col))
        if col not in rename and target and target not in taken and target not in frame.columns:
            rename[col] = target
            taken.add(target)
    out = frame.rename(columns=rename)
    dupes = out.columns[out.columns.duplicated()].unique().tolist()
    if dupes:
        raise DataError(f"{name}: after mapping, column(s) {dupes} appear more than once")
    out.attrs["questions"] = {rename.get(c, c): q for c, q in questions.items()}
    return out


def _finish(frame: pd.DataFrame, name: str, date_format: str | None = None) -> pd.DataFrame:
    """Contract types for the columns present: text ids, dates, whole-number scores.

    Exports without a response id (Google Forms) get ``<file stem>-<row>`` ids.
    """
    if "response_id" not in frame.columns:
        stem = Path(name).stem
        frame.insert(0, "response_id", [f"{stem}-{i:05d}" for i in range(1, len(frame) + 1)])
        frame.attrs["generated_ids"] = True
    for col in ("response_id", "customer_id"):
        if col in frame.columns:
            frame[col] = frame[col].astype("string").str.strip().replace("", pd.NA)
    if "response_id" in frame.columns:
        ids = frame["response_id"]
        dup = ids.duplicated(keep=False) & ids.notna()
        if dup.any():
            shown = rows_text(row_numbers(dup), list(ids[dup]))
            raise DataError(f"{name}: column 'response_id' has {int(dup.sum())} duplicated ids "
                            f"(rows {shown})")
    if "response_date" in frame.columns and not pd.api.types.is_datetime64_any_dtype(
            frame["response_date"].dtype):
        reading = parse_dates(frame["response_date"], "response_date", name, date_format)
        frame["response_date"] = reading.values.astype("datetime64[ns]")
        frame.attrs["date_formats"] = {"response_date": reading.convention}
        frame.attrs.setdefault("notes", []).append(f"dates {reading.note}")
    for col, scale in SCORE_SCALES.items():
        if col in frame.columns:
            frame[col] = parse_scores(frame[col], col, scale, name)
    if "verbatim" in frame.columns:
        frame["verbatim"] = frame["verbatim"].astype("string")
    if "weight" in frame.columns:
        frame["weight"] = pd.to_numeric(frame["weight"], errors="coerce")
    return frame


def read_export(path: str | Path, platform: str | None = None, encoding: str | None = None
                ) -> pd.DataFrame:
    """The answers of an export as typed, header rows removed, nothing renamed or parsed.

    Every cell is text (or None); ``attrs`` carry ``platform`` (detected unless given),
    ``encoding``, ``questions`` (column -> question text) and ``notes`` (title rows skipped).
    :func:`read_survey` builds on it; ``cxlib.dataset`` uses it to inspect exports.
    """
    path = Path(path)
    name = path.name
    check_option("platform", platform, (*PLATFORMS, None), where="read_survey")
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise DataError(f"{name}: the file is empty")
    suffix = path.suffix.lower()
    used_encoding: str | None = None
    notes: list[str] = []
    if platform == "parquet" or (platform is None and suffix == ".parquet"):
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises its own types for broken files
            raise DataError(f"{name}: cannot read as Parquet "
                            f"({type(exc).__name__}: {exc})") from None
        if frame.empty:
            raise DataError(f"{name}: the file has no rows")
        detected, questions = "parquet", {c: c for c in frame.columns}
    else:
        if platform == "excel" or suffix in (".xlsx", ".xlsm", ".xls"):
            titles, rows = _skip_titles(_excel_rows(path))
        else:
            text, used_encoding = decode(path.read_bytes(), name, encoding,
                                         layout=lambda records: _layout(records, platform))
            titles, rows = _text_rows(text, name, suffix)
        if titles:
            shown = ", ".join(repr(t) for t in titles if t) or "blank"
            notes.append(f"skipped {len(titles)} title row(s) above the header: {shown}")
        detected = platform if platform not in (None, "excel") else _detect(rows)
        names, questions, data = _header(rows, detected, name)
        names = [n.strip().lstrip("\ufeff") for n in names]
        questions = {n.strip().lstrip("\ufeff"): q for n, q in questions.items()}
        names, data = _drop_unnamed(names, data, name, len(titles) + len(rows) - len(data))
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise DataError(f"{name}: duplicated column names {dupes}; rename them or map them")
        if not data:
            raise DataError(f"{name}: the file has a header but no answers")
        frame = pd.DataFrame(data, columns=names, dtype=object)
        frame = frame.replace("", None)
        if platform == "excel" or suffix in (".xlsx", ".xlsm", ".xls"):
            detected = detected if detected != "csv" else "excel"
    frame.attrs.update(platform=detected, encoding=used_encoding, source=name,
                       questions=questions, notes=notes)
    return frame


def read_survey(path: str | Path, platform: str | None = None, encoding: str | None = None,
                mapping: Mapping[str, str] | str | Path | None = None,
                date_format: str | None = None) -> pd.DataFrame:
    """Read a survey export into the contract's names (see the module docstring).

    ``platform``: one of :data:`PLATFORMS`, or None to detect it from the file.
    ``encoding``: None tries UTF-8 (BOM or not), UTF-16 (by BOM), then CP932 (refused
    when it reads as mojibake); a name (``'latin-1'``, ``'cp1252'``...) is used as given.
    ``mapping``: dict or YAML file, export column (field id or question text) ->
    contract column, e.g. ``{"Q1": "nps", "Q2_TEXT": "verbatim"}``; it may carry a
    ``date_format`` key instead of the argument.
    ``date_format``: ``'dayfirst'``, ``'monthfirst'`` or a strftime format for
    ``response_date``; needed only when the dates are ambiguous (see :mod:`cxlib.dates`).
    """
    name = Path(path).name
    pairs, mapped_format = _load_mapping(mapping, name)
    if date_format is not None and mapped_format is not None and date_format != mapped_format:
        raise DataError(f"{name}: date_format given twice: {date_format!r} and "
                        f"{mapped_format!r} in the mapping")
    date_format = date_format or mapped_format
    frame = read_export(path, platform, encoding)
    detected, used_encoding, notes = (frame.attrs["platform"], frame.attrs["encoding"],
                                      frame.attrs["notes"])
    frame = _apply_mapping(frame, frame.attrs["questions"], pairs, name)
    questions = frame.attrs["questions"]
    frame = _finish(frame, name, date_format)
    frame.attrs.update(platform=detected, encoding=used_encoding, source=name,
                       questions=questions, notes=notes + frame.attrs.get("notes", []))
    return frame


def _layout(records: list[list[str]], platform: str | None) -> tuple[int, list[str]]:
    """Header records (titles included) and column names, as :func:`read_survey` reads them."""
    titles, rows = _skip_titles(records)
    detected = platform if platform not in (None, "excel", "parquet") else _detect(rows)
    names, _, data = _header(rows, detected, "")
    return len(records) - len(data), names


def _drop_unnamed(names: list[str], data: list[list[str]], name: str, n_header: int
                  ) -> tuple[list[str], list[list[str]]]:
    """Drop columns with no name and no answers; a column with answers but no name is an error."""
    unnamed = [j for j, n in enumerate(names) if not n]
    filled = [j for j in unnamed if any(r[j].strip() for r in data)]
    if filled:
        cols = ", ".join(_column_letter(j) for j in filled[:5])
        raise DataError(f"{name}: {len(filled)} column(s) with answers have no name in the "
                        f"header (line {n_header}, column(s) {cols}); name them in the export "
                        "or remove them")
    keep = [j for j in range(len(names)) if j not in set(unnamed)]
    return [names[j] for j in keep], [[r[j] for j in keep] for r in data]


def _column_letter(j: int) -> str:
    """0 -> 'A', 26 -> 'AA' (as Excel names columns)."""
    letters = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def question_labels(frame: pd.DataFrame) -> dict[str, Any]:
    """Column -> question text recorded by :func:`read_survey` (empty if none)."""
    return dict(frame.attrs.get("questions", {}))
