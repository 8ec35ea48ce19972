"""Reading the contract tables from disk (Parquet or CSV), validated.

Analysis modules never read files; notebooks call :func:`load_tables` or
:func:`load_sample` and get DataFrames that meet the data contract. CSV text is
decoded by :func:`cxlib.decoding.decode` (UTF-8, then CP932 unless it reads as
mojibake) and dates by :func:`cxlib.dates.parse_dates` (one convention per column;
ambiguous day/month order refused unless declared). What the reader decided is in
``frame.attrs``: ``encoding``, ``date_formats`` and ``notes``.
"""

from __future__ import annotations

import io as _io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from . import paths
from .checks import check_option
from .dates import parse_dates
from .decoding import ENCODINGS, decode
from .errors import DataError
from .schema import CONTRACT, date_columns, validate, validate_company
from .surveyio import read_survey  # survey platform exports (Qualtrics, SurveyMonkey, Forms)

__all__ = ["read_table", "load_tables", "load_sample", "load_truth", "load_latent",
           "read_survey", "CSV_ENCODINGS"]

CSV_ENCODINGS = ENCODINGS
"""Tried in order; CP932 (Windows Japanese) rather than shift_jis, which fails on ①㈱～."""

DateFormat = str | Mapping[str, str] | None
"""``'dayfirst'``, ``'monthfirst'`` or a strftime format for every date column, or
column -> one of those; see :mod:`cxlib.dates`."""


def _read_csv(path: Path, table: str, encoding: str | None = None,
              date_format: DateFormat = None) -> pd.DataFrame:
    id_cols = [c for c in CONTRACT[table].columns if c.endswith("_id")]
    text, used = decode(path.read_bytes(), path.name, encoding)
    try:
        frame = pd.read_csv(_io.StringIO(text), dtype=dict.fromkeys(id_cols, str),
                            keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        raise DataError(f"{path.name}: the file is empty") from None
    except pd.errors.ParserError as exc:
        raise DataError(f"{path.name}: cannot parse as CSV ({exc})") from None
    formats: dict[str, str] = {}
    notes: list[str] = []
    for col in date_columns(table):
        if col in frame.columns:
            declared = date_format.get(col) if isinstance(date_format, Mapping) else date_format
            reading = parse_dates(frame[col], col, path.name, declared)
            frame[col] = reading.values
            formats[col] = reading.convention
            notes.append(f"dates {reading.note}")
    frame.attrs.update(encoding=used, date_formats=formats, notes=notes)
    return frame


def read_table(path: Path | str, table: str, validate_contract: bool = True,
               encoding: str | None = None, date_format: DateFormat = None) -> pd.DataFrame:
    """Read one contract table from ``.parquet`` or ``.csv`` and validate it.

    For CSV, ``encoding`` None tries UTF-8 then CP932 (see :mod:`cxlib.decoding`);
    ``date_format`` is needed only when day and month order is ambiguous.
    """
    path = Path(path)
    check_option("table", table, CONTRACT, where="read_table")
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
    elif path.suffix in (".csv", ".txt"):
        frame = _read_csv(path, table, encoding, date_format)
    else:
        raise DataError(f"{path.name}: unsupported file type {path.suffix!r} (use .parquet or .csv)")
    if not validate_contract:
        return frame
    attrs = dict(frame.attrs)
    frame = validate(frame, table, source=path.name)
    frame.attrs.update(attrs)
    return frame


def load_tables(data_dir: Path | str, tables: tuple[str, ...] = tuple(CONTRACT),
                encoding: str | None = None, date_format: DateFormat = None
                ) -> dict[str, pd.DataFrame]:
    """Read ``<table>.parquet`` (or ``.csv``) for each table in ``data_dir``; validate all.

    ``encoding`` and ``date_format`` apply to CSV files (see :func:`read_table`).
    """
    folder = Path(data_dir)
    out: dict[str, pd.DataFrame] = {}
    sources: dict[str, str] = {}
    for name in tables:
        candidates = [folder / f"{name}.parquet", folder / f"{name}.csv"]
        found = next((c for c in candidates if c.exists()), None)
        if found is None:
            raise DataError(f"{folder}: no {name}.parquet or {name}.csv "
                            "(for the sample data run `make data`)")
        out[name] = read_table(found, name, validate_contract=False, encoding=encoding,
                               date_format=date_format)
        sources[name] = found.name
    return validate_company(out, sources)


def load_sample(data_dir: Path | str | None = None) -> dict[str, pd.DataFrame]:
    """The bundled sample company's tables (``data/sample/`` unless given), validated."""
    return load_tables(paths.SAMPLE_DIR if data_dir is None else data_dir)


def load_truth(data_dir: Path | str | None = None) -> dict[str, Any]:
    """The planted parameters written beside the sample data (``truth.json``)."""
    path = Path(paths.SAMPLE_DIR if data_dir is None else data_dir) / "truth.json"
    if not path.exists():
        raise DataError(f"{path}: not found (run `make data`)")
    return json.loads(path.read_text(encoding="utf-8"))


def load_latent(data_dir: Path | str | None = None) -> pd.DataFrame:
    """Per-customer unobserved truth of the sample (``latent.parquet``): for tests and demos."""
    path = Path(paths.SAMPLE_DIR if data_dir is None else data_dir) / "latent.parquet"
    if not path.exists():
        raise DataError(f"{path}: not found (run `make data`)")
    return pd.read_parquet(path)
