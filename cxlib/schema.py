"""The data contract (``data/README.md``) as pandera schemas, and validation.

``validate(frame, "responses", source="responses.csv")`` returns the frame
unchanged when it meets the contract, and otherwise raises one
:class:`~cxlib.errors.DataError` listing every violation with the file, the
column and the rows (1-based data rows: row 1 is the first row after the
header), the first few of each, then a count.

Checks are written to survive wrong types: a range check on a text column
does not crash, it is the type check that reports the offending rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import warnings

import numpy as np
import pandas as pd
import pyarrow
import pyarrow.compute as pc

with warnings.catch_warnings():
    # pandera's pandas backend imports pyspark.pandas when pyspark is installed (the Spark engine), which warns
    # that it does not support pandas 3; cxlib never converts through pyspark.pandas.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas",
                            category=FutureWarning)
    import pandera.pandas as pa
    import pandera.backends.pandas.builtin_checks  # noqa: F401  (imported by the first validate)
from pandera.errors import SchemaError, SchemaErrors

from .checks import check_option, row_numbers, rows_text
from .errors import DataError
from .vocab import EMOTIONAL_ITEMS, JOURNEY_PHASES, RATIONAL_ITEMS

__all__ = ["CONTRACT", "contract_schema", "validate", "validate_company", "unknown_customers", "require_columns",
           "as_numbers",
           "date_columns", "boolean_columns", "JOURNEY_PHASES"]


# -- element-wise checks that tolerate any dtype --------------------------------------------

def _check(fn: Callable[[pd.Series], pd.Series], error: str) -> pa.Check:
    return pa.Check(fn, error=error, ignore_na=False)


def _text() -> pa.Check:
    def ok(s: pd.Series) -> pd.Series:
        if pd.api.types.is_string_dtype(s.dtype) and s.dtype != object:
            return pd.Series(True, index=s.index)
        return s.map(lambda v: isinstance(v, str)) | s.isna()
    return _check(ok, "must be text")


def _numeric() -> pa.Check:
    def ok(s: pd.Series) -> pd.Series:
        if pd.api.types.is_bool_dtype(s.dtype):
            return pd.Series(False, index=s.index)
        if pd.api.types.is_numeric_dtype(s.dtype):
            return pd.Series(True, index=s.index)
        return pd.to_numeric(s, errors="coerce").notna() | s.isna()
    return _check(ok, "must be a number")


def _as_number(s: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(s.dtype):
        return pd.Series(np.nan, index=s.index)
    return pd.to_numeric(s, errors="coerce").astype("Float64")


def _between(lo: float, hi: float, integer: bool = False) -> pa.Check:
    def ok(s: pd.Series) -> pd.Series:
        x = _as_number(s)
        good = (x >= lo) & (x <= hi)
        if integer:
            good &= (x % 1 == 0)
        return good.fillna(True).astype(bool)
    kind = "whole numbers " if integer else ""
    return _check(ok, f"must be {kind}between {lo:g} and {hi:g}")


def _non_negative() -> pa.Check:
    return _check(lambda s: (_as_number(s) >= 0).fillna(True).astype(bool), "must be >= 0")


def _positive() -> pa.Check:
    return _check(lambda s: (_as_number(s) > 0).fillna(True).astype(bool), "must be > 0")


_DATETIME_ERROR = "must be a date/time column (parse text with cxlib.io or pd.to_datetime)"


def _datetime() -> pa.Check:
    def ok(s: pd.Series) -> pd.Series:
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            return pd.Series(True, index=s.index)
        return s.isna()
    return _check(ok, _DATETIME_ERROR)


def _boolean() -> pa.Check:
    def ok(s: pd.Series) -> pd.Series:
        if pd.api.types.is_bool_dtype(s.dtype):
            return pd.Series(True, index=s.index)
        return s.map(lambda v: isinstance(v, (bool, np.bool_))) | s.isna()
    return _check(ok, "must be true/false")


def _one_of(values: tuple[str, ...]) -> pa.Check:
    allowed = set(values)
    return _check(lambda s: s.isin(allowed) | s.isna(), f"must be one of {', '.join(values)}")


# -- column constructors ------------------------------------------------------------------

def _col(*checks: pa.Check, nullable: bool = False, unique: bool = False) -> pa.Column:
    return pa.Column(None, checks=list(checks), nullable=nullable, unique=unique, required=True)


def _id(unique: bool = False) -> pa.Column:
    return _col(_text(), unique=unique)


def _score(lo: int, hi: int) -> pa.Column:
    return _col(_numeric(), _between(lo, hi, integer=True), nullable=True)


def _churn_consistent(df: pd.DataFrame) -> pd.Series:
    churned = df["churned"].astype("boolean")
    has_date = df["churn_date"].notna()
    return ((churned.fillna(False) == has_date)).astype(bool)


def _churn_after_signup(df: pd.DataFrame) -> pd.Series:
    if not (pd.api.types.is_datetime64_any_dtype(df["churn_date"].dtype)
            and pd.api.types.is_datetime64_any_dtype(df["signup_date"].dtype)):
        return pd.Series(True, index=df.index)
    return (df["churn_date"].isna() | (df["churn_date"] >= df["signup_date"])).astype(bool)


CONTRACT: dict[str, pa.DataFrameSchema] = {
    "customers": pa.DataFrameSchema(
        {
            "customer_id": _id(unique=True),
            "signup_date": _col(_datetime()),
            "acquisition_channel": _col(_text()),
            "plan": _col(_text()),
            "segment": _col(_text(), nullable=True),
            "region": _col(_text(), nullable=True),
            "churned": _col(_boolean()),
            "churn_date": _col(_datetime(), nullable=True),
            "monthly_revenue": _col(_numeric(), _non_negative(), nullable=True),
            "revenue": _col(_numeric(), _non_negative(), nullable=True),
        },
        checks=[
            pa.Check(_churn_consistent, name="churn_date_iff_churned",
                     error="churn_date must be set exactly when churned is true"),
            pa.Check(_churn_after_signup, name="churn_after_signup",
                     error="churn_date must not be before signup_date"),
        ],
        name="customers",
    ),
    "responses": pa.DataFrameSchema(
        {
            "response_id": _id(unique=True),
            "customer_id": _id(),
            "response_date": _col(_datetime()),
            "journey_phase": _col(_text(), _one_of(JOURNEY_PHASES)),
            "touchpoint": _col(_text()),
            "organisation": _col(_text()),
            "channel": _col(_text(), nullable=True),
            "nps": _score(0, 10),
            "csat": _score(1, 5),
            "ces": _score(1, 7),
            **{item: _score(1, 5) for item in (*RATIONAL_ITEMS, *EMOTIONAL_ITEMS)},
            "verbatim": _col(_text(), nullable=True),
            "weight": _col(_numeric(), _positive()),
        },
        name="responses",
    ),
    "touchpoints": pa.DataFrameSchema(
        {
            "event_id": _id(unique=True),
            "customer_id": _id(),
            "timestamp": _col(_datetime()),
            "journey_phase": _col(_text(), _one_of(JOURNEY_PHASES)),
            "touchpoint": _col(_text()),
            "organisation": _col(_text()),
            "channel": _col(_text(), nullable=True),
            "event_type": _col(_text()),
            "resolved_first_contact": _col(_boolean(), nullable=True),
        },
        name="touchpoints",
    ),
    "kpis": pa.DataFrameSchema(
        {
            "month": _col(_datetime()),
            "organisation": _col(_text()),
            "kpi": _col(_text()),
            "value": _col(_numeric(), nullable=True),
            "n": _col(_numeric(), _non_negative()),
        },
        unique=["month", "organisation", "kpi"],
        name="kpis",
    ),
    "financials": pa.DataFrameSchema(
        {
            "month": _col(_datetime(), unique=True),
            "active_customers": _col(_numeric(), _non_negative()),
            "new_customers": _col(_numeric(), _non_negative()),
            "churned_customers": _col(_numeric(), _non_negative()),
            "revenue": _col(_numeric(), _non_negative()),
        },
        name="financials",
    ),
}


# -- validation and messages ----------------------------------------------------------------

def _describe(cases: pd.DataFrame, schema: pa.DataFrameSchema) -> list[str]:
    """One line per (column, check) from pandera's failure_cases table."""
    lines: list[str] = []
    table_level = cases["schema_context"].eq("DataFrameSchema") & cases["index"].notna()
    for check, grp in cases[table_level].groupby("check", sort=False):
        rows = sorted({int(i) + 1 for i in grp["index"]})
        lines.append(f"{_check_text(str(check), None, schema)} ({rows_text(rows, count=True)})")
    for (column, check), grp in cases[~table_level].groupby(["column", "check"], sort=False,
                                                             dropna=False):
        if check == "column_in_dataframe":
            lines.append(f"missing column(s) {', '.join(map(repr, grp['failure_case']))}")
            continue
        what = f"column {column!r} {_check_text(str(check), column, schema)}"
        grp = grp[grp["index"].notna()].sort_values("index", kind="stable")
        if grp.empty:  # a failure about the whole column (pandera dtype and the like)
            lines.append(f"{what}: {', '.join(map(str, cases.loc[grp.index, 'failure_case']))}")
            continue
        rows = [int(i) + 1 for i in grp["index"]]
        values = [None if _isna(v) else v for v in grp["failure_case"]]
        lines.append(f"{what} ({rows_text(rows, values, count=True)})")
    return lines


def _isna(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _check_text(check: str, column: object, schema: pa.DataFrameSchema) -> str:
    if check == "not_nullable":
        return "must not be empty"
    if check == "field_uniqueness":
        return "must be unique (duplicates)"
    if check.startswith("multiple_fields_uniqueness"):
        return "must have unique rows for the key columns (duplicates)"
    in_column = isinstance(column, str) and column in schema.columns
    checks = schema.columns[column].checks if in_column else schema.checks
    for c in checks:
        if check in (c.error, c.name):
            return c.error or c.name
    return check


# table-level checks and the columns each reads (dropped when one of them is absent)
_TABLE_CHECK_COLUMNS: dict[str, tuple[str, ...]] = {
    "churn_date_iff_churned": ("churned", "churn_date"),
    "churn_after_signup": ("churn_date", "signup_date"),
}


def contract_schema(table: str, present: Sequence[str] | None = None,
                    scales: Mapping[str, tuple[int, int]] | None = None) -> pa.DataFrameSchema:
    """The contract of ``table``, optionally for a table that has only some of its columns.

    ``present``: the columns the table has; contract columns not among them are not
    required, nor the table-level checks that read them (None: every column required).
    ``scales``: score column -> (lowest, highest) whole number, replacing the contract's
    range, and adding a range check for scored columns outside the contract (own items).
    """
    check_option("table", table, CONTRACT, where="schema")
    schema = CONTRACT[table]
    if present is not None:
        have = set(present)
        absent = [c for c in schema.columns if c not in have]
        if absent:
            schema = schema.remove_columns(absent)
            schema.checks = [c for c in schema.checks
                             if set(_TABLE_CHECK_COLUMNS.get(c.name, ())) <= have]
            if schema.unique and not set(schema.unique) <= have:
                schema.unique = None
    for column, (lo, hi) in (scales or {}).items():
        if column in schema.columns:
            schema = schema.update_column(column, checks=[_numeric(), _between(lo, hi, True)])
        elif present is not None and column in present:
            schema = schema.add_columns({column: _score(lo, hi)})
    return schema


def validate(frame: pd.DataFrame, table: str, source: str | None = None, *,
             present_only: bool = False, scales: Mapping[str, tuple[int, int]] | None = None
             ) -> pd.DataFrame:
    """Check ``frame`` against the contract of ``table``; return it or raise ``DataError``.

    ``source`` names the file (or query) the table came from; it starts every message.
    ``present_only``: check the contract columns the frame has and do not require the
    others (a dataset described by ``cx.yml`` may lack optional data); ``scales``: score
    ranges of the dataset (see :func:`contract_schema`).
    """
    check_option("table", table, CONTRACT, where="schema")
    label = source or table
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{label}: expected a pandas DataFrame, got {type(frame).__name__}")
    if frame.empty and len(frame.columns):
        raise DataError(f"{label}: table {table!r} has no rows (only a header)")
    schema = contract_schema(table, list(frame.columns) if present_only else None, scales)
    positional = frame.reset_index(drop=True)
    try:
        schema.validate(positional, lazy=True)
    except SchemaErrors as exc:
        lines = _describe(exc.failure_cases, schema)
        raise DataError(f"{label}: {len(lines)} problem(s) with table {table!r}:\n  - "
                        + "\n  - ".join(lines)) from None
    except SchemaError as exc:  # pragma: no cover - lazy mode collects, but be safe
        raise DataError(f"{label}: table {table!r}: {exc}") from None
    return frame


def validate_company(tables: Mapping[str, pd.DataFrame],
                     sources: Mapping[str, str] | None = None) -> dict[str, pd.DataFrame]:
    """Validate every table, then that responses and touchpoints refer to known customers.

    Collects the problems of all tables into one ``DataError``.
    """
    sources = sources or {}
    problems: list[str] = []
    for name, frame in tables.items():
        try:
            validate(frame, name, sources.get(name))
        except DataError as exc:
            problems.append(str(exc))
    if not problems:
        problems = unknown_customers(tables, sources)
    if problems:
        raise DataError("\n".join(problems))
    return dict(tables)


def unknown_customers(tables: Mapping[str, pd.DataFrame],
                      sources: Mapping[str, str] | None = None) -> list[str]:
    """Problems where ``responses`` or ``touchpoints`` name customers not in ``customers``."""
    sources = sources or {}
    problems: list[str] = []
    if "customers" not in tables:
        return problems

    def text(ids: pd.Series) -> pyarrow.Array:
        return pyarrow.array(ids.astype("string"), type=pyarrow.string(), from_pandas=True)

    # Arrow's hash kernel: about 10x faster than Series.isin on millions of text ids
    known = text(tables["customers"]["customer_id"])
    for name in ("responses", "touchpoints"):
        if name not in tables:
            continue
        ids = tables[name]["customer_id"].reset_index(drop=True)
        inside = pc.is_in(text(ids), value_set=known).to_numpy(zero_copy_only=False)
        bad = pd.Series(~inside.astype(bool))
        if bad.any():
            rows = rows_text(row_numbers(bad), list(ids[bad]), count=True)
            problems.append(
                f"{sources.get(name, name)}: column 'customer_id' refers to customers not in "
                f"the customers table ({rows})")
    return problems


def as_numbers(raw: pd.Series, where: str) -> np.ndarray:
    """``raw`` as floats (true/false as 1/0, missing as NaN); text that is not a number is a
    DataError "<where> has N values that are not numbers (rows ...: first values)"."""
    if pd.api.types.is_bool_dtype(raw.dtype):
        raw = raw.astype("boolean")
    values = pd.to_numeric(raw, errors="coerce")
    text = (values.isna() & raw.notna()).to_numpy(dtype=bool)
    if text.any():
        shown = ", ".join(repr(v) for v in raw[text].head(3))
        raise DataError(f"{where} has {int(text.sum())} values that are not numbers (rows "
                        f"{rows_text(row_numbers(text))}: {shown})")
    return values.astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def require_columns(frame: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    """Raise ``DataError`` naming every column of ``columns`` that ``frame`` lacks.

    ``where`` says who needs them (a function and table, or a file name).
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        shown = ", ".join(map(repr, list(frame.columns)[:12]))
        more = " ..." if len(frame.columns) > 12 else ""
        raise DataError(f"{where}: column(s) {', '.join(map(repr, missing))} not found "
                        f"(columns present: {shown}{more})")


def date_columns(table: str) -> list[str]:
    """The columns of a contract table that must hold dates or timestamps."""
    return [name for name, col in CONTRACT[table].columns.items()
            if any(c.error == _DATETIME_ERROR for c in col.checks)]


def boolean_columns(table: str) -> list[str]:
    """The columns of a contract table that must hold true/false."""
    return [name for name, col in CONTRACT[table].columns.items()
            if any(c.error == "must be true/false" for c in col.checks)]
