"""Reading the tables a description names into the data contract's names and types.

Decisions, documented in ``docs/own-data.md``:

- scores are read on the description's scales; CSAT (and any item) keeps its own scale,
  which the description records (``Dataset.csat_args()`` for ``metrics.csat``);
- a scale whose highest answer is the worst (CES with ``high_means: hard``, items with
  ``reversed: true``) is flipped at load (answer -> lowest + highest - answer), so loaded
  scores always read "higher is better / easier"; ``frame.attrs["reversed"]`` names them;
- a responses table without ``weight`` gets weight 1 (unweighted), named in
  ``frame.attrs["filled"]``;
- ``responses.join`` (a key such as an e-mail) is replaced by the matching customer's
  ``customer_id`` and the key columns of both tables are dropped (never shown: errors give
  rows, not keys);
- survey exports' personal-data columns (``IP Address``, ``RecipientEmail``, location ...,
  :data:`cxlib.surveyio.PERSONAL_COLUMNS`) are not loaded unless the description maps them
  (or joins on one), and an id column empty in every row (``ExternalReference`` of an
  anonymous link) is read as absent; both are named in ``frame.attrs["notes"]``;
- ``weights:`` margins: the responses' ``weight`` is raked to them (``_weights``), the
  diagnostics in ``frame.attrs["weights"]``;
- only the contract columns present are checked (absent optional data is not an error),
  each score on its scale; every problem of every table is reported in one DataError.
"""

from __future__ import annotations

import glob as _glob
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..checks import MAX_ROWS_SHOWN, row_numbers, rows_text
from ..errors import DataError
from ..io import CSV_ENCODINGS, read_table
from ..schema import CONTRACT, as_numbers, date_columns, unknown_customers, validate
from ..surveyio import is_personal, parse_scores, read_survey
from ._description import TABLES, Dataset, Join, TableSource, _nearest
from ._weights import rake_responses

__all__ = ["load_tables", "resolve_sources"]

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
TEXT_SUFFIXES = (".csv", ".tsv", ".tab", ".txt")
TRUE_WORDS = frozenset({"true", "t", "1", "yes", "y", "はい", "有", "あり"})
FALSE_WORDS = frozenset({"false", "f", "0", "no", "n", "いいえ", "無", "なし"})
_TEMP = "__cx_score__"


def _columns_with(table: str, error: str) -> list[str]:
    return [n for n, col in CONTRACT[table].columns.items()
            if any(c.error == error for c in col.checks)]


# optional contract columns the pandera schema does not list
_EXTRA_NUMBERS = {"customers": ["share_of_wallet"]}
_EXTRA_FLAGS = {"customers": ["monitor_group"]}


def resolve_sources(dataset: Dataset) -> dict[str, tuple[TableSource, list[Path]]]:
    """Contract table -> (its source, the files it reads), for the tables present."""
    folder = dataset.folder
    if dataset.tables is None:  # the sample's layout: <table>.parquet or <table>.csv
        out = {}
        for name in TABLES:
            found = next((folder / f"{name}{s}" for s in (".parquet", ".csv")
                          if (folder / f"{name}{s}").exists()), None)
            if found is not None:
                out[name] = (TableSource(path=found.name), [found])
        return out
    out = {}
    for name, src in dataset.tables.named().items():
        files: list[Path] = []
        for pattern in src.paths():
            full = folder / pattern
            if any(ch in pattern for ch in "*?["):
                matched = sorted(Path(p) for p in _glob.glob(str(full)))
                if not matched:
                    raise DataError(f"tables.{name}.path: {pattern!r} matches no file in {folder}")
                files.extend(matched)
            elif not full.exists():
                near = _nearest(pattern, [p.name for p in folder.iterdir()]) if folder.is_dir() \
                    else ""
                raise DataError(f"tables.{name}.path: {pattern!r} not found in {folder}{near}")
            else:
                files.append(full)
        out[name] = (src, list(dict.fromkeys(files)))
    return out


# -- one file ---------------------------------------------------------------------------------

def _read_text(path: Path, encoding: str | None) -> pd.DataFrame:
    sep = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    last: Exception | None = None
    for enc in ([encoding] if encoding else CSV_ENCODINGS):
        try:
            return pd.read_csv(path, sep=sep, encoding=enc, dtype=str, keep_default_na=False,
                               na_values=[""])
        except UnicodeDecodeError as exc:
            last = exc
        except LookupError:
            raise DataError(f"{path.name}: unknown encoding {encoding!r}") from None
        except pd.errors.EmptyDataError:
            raise DataError(f"{path.name}: the file is empty") from None
        except pd.errors.ParserError as exc:
            raise DataError(f"{path.name}: cannot parse as delimited text ({exc})") from None
    raise DataError(f"{path.name}: not {' or '.join(CSV_ENCODINGS if not encoding else [encoding])}"
                    f" text ({last}); set 'encoding:' in cx.yml")


def _read_excel(path: Path, sheet: str | int | None) -> pd.DataFrame:
    try:
        sheets = pd.ExcelFile(path).sheet_names
    except Exception as exc:  # openpyxl raises many kinds for broken files
        raise DataError(f"{path.name}: cannot read as Excel ({type(exc).__name__}: {exc})") from None
    if isinstance(sheet, str) and sheet not in sheets:
        raise DataError(f"{path.name}: no sheet {sheet!r}{_nearest(sheet, sheets)} "
                        f"(sheets: {', '.join(sheets)})")
    if isinstance(sheet, int) and not 0 <= sheet < len(sheets):
        raise DataError(f"{path.name}: no sheet {sheet} (it has {len(sheets)})")
    frame = pd.read_excel(path, sheet_name=sheet or 0, dtype=object)
    return frame.rename(columns=lambda c: str(c).strip())


def _read_table_file(path: Path, table: str, src: TableSource) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises its own types for broken files
            raise DataError(f"{path.name}: cannot read as Parquet "
                            f"({type(exc).__name__}: {exc})") from None
    if suffix in EXCEL_SUFFIXES:
        return _read_excel(path, src.sheet)
    if suffix in TEXT_SUFFIXES:
        return _read_text(path, src.encoding)
    raise DataError(f"{path.name}: unsupported file type {path.suffix!r} "
                    "(use .csv, .tsv, .parquet or .xlsx)")


def _rename(frame: pd.DataFrame, columns: dict[str, str], name: str) -> pd.DataFrame:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        hints = "".join(_nearest(c, map(str, frame.columns)) for c in missing[:1])
        raise DataError(f"{name}: cx.yml maps column(s) not in the file: "
                        f"{', '.join(map(repr, missing))}{hints} (columns: "
                        f"{', '.join(map(repr, list(frame.columns)[:20]))})")
    out = frame.rename(columns=columns)
    dupes = out.columns[out.columns.duplicated()].unique().tolist()
    if dupes:
        raise DataError(f"{name}: after mapping, column(s) {dupes} appear more than once")
    return out


def _is_text(s: pd.Series) -> bool:
    return s.dtype == object or pd.api.types.is_string_dtype(s.dtype)


def _rows(mask: np.ndarray, values: pd.Series) -> str:
    rows = row_numbers(mask)
    return rows_text(rows, [values.iat[r - 1] for r in rows[:MAX_ROWS_SHOWN]])


def _to_dates(s: pd.Series, column: str, name: str) -> pd.Series:
    text = s.where(s.notna(), None)
    parsed = pd.to_datetime(text, errors="coerce", format="mixed")
    bad = (parsed.isna() & s.notna()).to_numpy()
    if bad.any():
        raise DataError(f"{name}: column {column!r} has {int(bad.sum())} values that are not "
                        f"dates (rows {_rows(bad, s)})")
    return parsed.astype("datetime64[ns]")


def _to_flags(s: pd.Series, column: str, name: str) -> pd.Series:
    words = s.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v))
                  else str(v).strip().lower())
    out = words.map(lambda w: True if w in TRUE_WORDS else False if w in FALSE_WORDS else None)
    bad = (out.isna() & words.notna() & (words != "")).to_numpy()
    if bad.any():
        raise DataError(f"{name}: column {column!r} has {int(bad.sum())} values that are not "
                        f"true/false (rows {_rows(bad, s)}); use true/false, 1/0 or yes/no")
    if out.notna().all():
        return out.astype(bool)
    return out.astype("boolean")


def _as_id(v: Any) -> Any:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip() or None


def _contract_types(frame: pd.DataFrame, table: str, name: str) -> pd.DataFrame:
    """Text columns (CSV, Excel) with contract names -> the contract's types."""
    out = frame.copy()
    numbers = _columns_with(table, "must be a number") + _EXTRA_NUMBERS.get(table, [])
    flags = _columns_with(table, "must be true/false") + _EXTRA_FLAGS.get(table, [])
    for col in out.columns:
        s = out[col]
        if not _is_text(s):
            continue
        if col.endswith("_id"):
            if s.dtype == object:  # Excel cells: 123.0 -> "123"
                out[col] = s.map(_as_id).astype("str")
        elif col in date_columns(table):
            out[col] = _to_dates(s, col, name)
        elif col in flags:
            out[col] = _to_flags(s, col, name)
        elif col in numbers:
            out[col] = as_numbers(s, f"{name}: column {col!r}")
    return out


def _read_survey_file(path: Path, src: TableSource, scored: set[str]) -> pd.DataFrame:
    """``read_survey`` with score columns held back, to be parsed on the dataset's scales."""
    mapping = {k: (_TEMP + v if v in scored else v) for k, v in src.columns.items()}
    frame = read_survey(path, platform=src.platform, encoding=src.encoding, mapping=mapping)
    questions = {k.removeprefix(_TEMP): v for k, v in frame.attrs.get("questions", {}).items()}
    attrs = {**frame.attrs, "questions": questions}
    frame = frame.rename(columns=lambda c: c.removeprefix(_TEMP))
    frame.attrs = attrs
    return frame


def _read_file(path: Path, table: str, src: TableSource, dataset: Dataset) -> pd.DataFrame:
    if src.kind == "survey":
        return _read_survey_file(path, src, set(dataset.scales()))
    if dataset.tables is None:  # the sample's layout: read as cxlib.io does
        return read_table(path, table, validate_contract=False)
    frame = _rename(_read_table_file(path, table, src), src.columns, path.name)
    return _contract_types(frame, table, path.name)


# -- one table --------------------------------------------------------------------------------

def _scores(frame: pd.DataFrame, dataset: Dataset, name: str) -> pd.DataFrame:
    """Score columns on the dataset's scales; reversed scales flipped (high = better)."""
    flipped = []
    reversed_cols = set(dataset.reversed_columns())
    for col, (lo, hi) in dataset.scales().items():
        if col not in frame.columns:
            continue
        if not pd.api.types.is_numeric_dtype(frame[col].dtype) or col in reversed_cols:
            frame[col] = parse_scores(frame[col], col, (lo, hi), name)
        if col in reversed_cols:
            frame[col] = lo + hi - frame[col]
            flipped.append(col)
    frame.attrs["reversed"] = flipped
    return frame


def _finish(frame: pd.DataFrame, table: str, src: TableSource, dataset: Dataset,
            name: str) -> pd.DataFrame:
    filled = []
    for col, value in src.fill.items():
        if col not in frame.columns:
            frame[col] = value
            filled.append(col)
    if table == "responses":
        if "weight" not in frame.columns:
            frame["weight"] = 1.0
            filled.append("weight")
    frame.attrs["filled"] = filled
    return frame


def _without_empty_ids(frame: pd.DataFrame, name: str) -> tuple[pd.DataFrame, list[str]]:
    """Without the id columns empty in every row (absent, not invalid); a note if any."""
    empty = [c for c in frame.columns if str(c).endswith("_id") and len(frame)
             and frame[c].isna().all()]
    if not empty:
        return frame, []
    return frame.drop(columns=empty), [f"{name}: column(s) {', '.join(map(repr, empty))} "
                                       "empty in every row, read as absent"]


def _without_personal(frame: pd.DataFrame, src: TableSource, name: str) -> pd.DataFrame:
    """An export without its personal-data columns the description does not map (after the
    join, which reads and drops its key); a note names them."""
    personal = [c for c in frame.columns if src.kind == "survey" and is_personal(str(c))
                and c not in set(src.columns.values())]
    if not personal:
        return frame
    attrs = dict(frame.attrs)
    out = frame.drop(columns=personal)
    attrs["questions"] = {k: v for k, v in attrs.get("questions", {}).items()
                          if k not in personal}
    attrs["notes"] = [*attrs.get("notes", []), f"{name}: personal-data column(s) "
                      f"{', '.join(map(repr, personal))} not loaded (map them in cx.yml to "
                      "load them)"]
    out.attrs = attrs
    return out


def _read(table: str, src: TableSource, files: list[Path], dataset: Dataset) -> pd.DataFrame:
    parts = [_read_file(p, table, src, dataset) for p in files]
    if table == "responses":  # per file, so that errors name the file and its rows
        parts = [_scores(part, dataset, p.name) for part, p in zip(parts, files)]
    flipped = parts[0].attrs.get("reversed", [])
    frame = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    questions: dict[str, str] = {}
    for part in parts:
        questions.update(part.attrs.get("questions", {}))
    name = " + ".join(p.name for p in files)
    frame, notes = _without_empty_ids(frame, name)
    attrs = {"source": name, "files": [str(p) for p in files], "kind": src.kind,
             "reversed": flipped, "notes": notes,
             "columns_from": {v: k for k, v in src.columns.items()}}
    if src.kind == "survey":
        attrs.update(platform=parts[0].attrs.get("platform"),
                     encoding=parts[0].attrs.get("encoding"),
                     generated_ids=bool(parts[0].attrs.get("generated_ids")))
    frame.attrs = {}
    frame = _finish(frame, table, src, dataset, name)
    frame.attrs.update(attrs, questions={**questions, **{
        k: v for k, v in dataset.questions().items() if k in frame.columns}})
    return frame


def _key(values: pd.Series) -> pd.Series:
    """Join keys compared without width, case or surrounding spaces; blanks are missing."""
    text = values.map(lambda v: None if v is None or v is pd.NA or (
        isinstance(v, float) and np.isnan(v)) else unicodedata.normalize("NFKC", str(v))
        .strip().casefold() or None)
    return text.astype("string")


def _join(responses: pd.DataFrame, customers: pd.DataFrame, join: Join, name: str,
          customers_name: str) -> pd.DataFrame:
    """``join.survey_column`` replaced by the customers' ``customer_id``; the key dropped."""
    for frame, col, where in ((responses, join.survey_column, name),
                              (customers, join.customers_column, customers_name)):
        if col not in frame.columns:
            raise DataError(f"{where}: join column {col!r} not found"
                            f"{_nearest(col, map(str, frame.columns))}")
    if "customer_id" in responses.columns:
        raise DataError(f"{name}: has a 'customer_id' column and a join on "
                        f"{join.survey_column!r}; use one of them")
    if "customer_id" not in customers.columns:
        raise DataError(f"{customers_name}: the join needs a 'customer_id' column")
    known = _key(customers[join.customers_column])
    dup = (known.duplicated(keep=False) & known.notna()).to_numpy()
    if dup.any():  # rows only: the keys are personal data
        raise DataError(f"{customers_name}: join column {join.customers_column!r} has "
                        f"{int(dup.sum())} values shared by several customers "
                        f"(rows {rows_text(row_numbers(dup))})")
    ids = pd.Series(customers["customer_id"].to_numpy(), index=known.to_numpy())
    ids = ids[known.notna().to_numpy()]
    keys = _key(responses[join.survey_column])
    found = keys.map(ids).astype("string")
    unmatched = found.isna().to_numpy()
    if unmatched.any():
        raise DataError(f"{name}: {int(unmatched.sum())} answers whose {join.survey_column!r} "
                        f"matches no {join.customers_column!r} of the customers table, or is "
                        f"empty (rows {rows_text(row_numbers(unmatched))})")
    attrs = dict(responses.attrs)
    out = responses.drop(columns=[join.survey_column])
    out.insert(min(1, out.shape[1]), "customer_id", found.to_numpy())
    attrs["questions"] = {k: v for k, v in attrs.get("questions", {}).items()
                          if k != join.survey_column}
    attrs["columns_from"] = {**attrs.get("columns_from", {}), "customer_id":
                             f"{join.survey_column} (joined on customers."
                             f"{join.customers_column})"}
    out.attrs = attrs
    return out


def load_tables(dataset: Dataset) -> dict[str, pd.DataFrame]:
    """The contract tables the description names and the folder holds, read, typed and
    validated (present columns, the dataset's scales); one DataError lists every problem."""
    problems: list[str] = []
    tables: dict[str, pd.DataFrame] = {}
    sources: dict[str, str] = {}
    for table, (src, files) in resolve_sources(dataset).items():
        try:
            frame = _read(table, src, files, dataset)
            sources[table] = frame.attrs["source"]
            if src.join is not None:
                if "customers" not in tables:
                    continue  # the customers table failed: its problem is listed
                frame = _join(frame, tables["customers"], src.join, sources[table],
                              sources["customers"])
            frame = _without_personal(frame, src, sources[table])
            validate(frame, table, sources[table], present_only=True, scales=dataset.scales())
        except DataError as exc:
            problems.append(str(exc))
            continue
        tables[table] = frame
    responses = dataset.tables.responses if dataset.tables is not None else None
    join = responses.join if responses is not None else None
    customers = tables.get("customers")
    if join is not None and customers is not None and join.customers_column in customers:
        tables["customers"] = customers.drop(columns=[join.customers_column])
        tables["customers"].attrs = customers.attrs  # the key never leaves the loader
    if not problems:
        problems = unknown_customers(
            {k: v for k, v in tables.items() if "customer_id" in v.columns}, sources)
    if problems:
        raise DataError("\n".join(problems))
    if dataset.weights is not None:
        if "responses" not in tables:
            raise DataError(f"{dataset.file.name if dataset.file else 'cx.yml'}: weights: "
                            "there is no responses table to weight")
        tables["responses"] = rake_responses(tables["responses"], tables.get("customers"),
                                             dataset)
    return tables
