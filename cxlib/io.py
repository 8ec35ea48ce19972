"""Reading the contract tables from disk (Parquet or CSV), validated.

Analysis modules never read files; notebooks call :func:`load_tables` or
:func:`load_sample` and get DataFrames that meet the data contract.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from . import paths
from .checks import check_option, row_numbers, rows_text
from .errors import DataError
from .schema import CONTRACT, date_columns, validate, validate_company
from .surveyio import read_survey  # survey platform exports (Qualtrics, SurveyMonkey, Forms)

__all__ = ["read_table", "load_tables", "load_sample", "load_truth", "load_latent",
           "read_survey", "CSV_ENCODINGS"]

CSV_ENCODINGS = ("utf-8-sig", "cp932")
"""Tried in order; CP932 (Windows Japanese) rather than shift_jis, which fails on ①㈱～."""


def _read_csv(path: Path, table: str) -> pd.DataFrame:
    id_cols = [c for c in CONTRACT[table].columns if c.endswith("_id")]
    last: UnicodeDecodeError | None = None
    for encoding in CSV_ENCODINGS:
        try:
            frame = pd.read_csv(path, encoding=encoding, dtype=dict.fromkeys(id_cols, str),
                                keep_default_na=False, na_values=[""])
            break
        except UnicodeDecodeError as exc:
            last = exc
        except pd.errors.EmptyDataError:
            raise DataError(f"{path.name}: the file is empty") from None
        except pd.errors.ParserError as exc:
            raise DataError(f"{path.name}: cannot parse as CSV ({exc})") from None
    else:
        raise DataError(f"{path.name}: not UTF-8 or CP932 text ({last})")
    for col in date_columns(table):
        if col in frame.columns:
            parsed = pd.to_datetime(frame[col], errors="coerce", format="mixed")
            bad = parsed.isna() & frame[col].notna()
            if bad.any():
                raise DataError(f"{path.name}: column {col!r} has {int(bad.sum())} values that are "
                                f"not dates (rows {rows_text(row_numbers(bad))})")
            frame[col] = parsed
    return frame


def read_table(path: Path | str, table: str, validate_contract: bool = True) -> pd.DataFrame:
    """Read one contract table from ``.parquet`` or ``.csv`` and validate it."""
    path = Path(path)
    check_option("table", table, CONTRACT, where="read_table")
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
    elif path.suffix in (".csv", ".txt"):
        frame = _read_csv(path, table)
    else:
        raise DataError(f"{path.name}: unsupported file type {path.suffix!r} (use .parquet or .csv)")
    return validate(frame, table, source=path.name) if validate_contract else frame


def load_tables(data_dir: Path | str, tables: tuple[str, ...] = tuple(CONTRACT)
                ) -> dict[str, pd.DataFrame]:
    """Read ``<table>.parquet`` (or ``.csv``) for each table in ``data_dir``; validate all."""
    folder = Path(data_dir)
    out: dict[str, pd.DataFrame] = {}
    sources: dict[str, str] = {}
    for name in tables:
        candidates = [folder / f"{name}.parquet", folder / f"{name}.csv"]
        found = next((c for c in candidates if c.exists()), None)
        if found is None:
            raise DataError(f"{folder}: no {name}.parquet or {name}.csv "
                            "(for the sample data run `make data`)")
        out[name] = read_table(found, name, validate_contract=False)
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
