"""The data contract of the large tables, checked in the engine (nothing row-sized loads).

The rules are read from :data:`cxlib.schema.CONTRACT`, the same declaration the pandas path
validates with: required columns, values that must not be empty, types (text, date/time,
true/false, number), ranges (scores, weights), allowed values (``journey_phase``) and unique
keys (``event_id``, ``response_id``); rules across columns of a row (the customers and KPI
tables have them) stay with the pandas validation of those small tables. One
SQL text counts every violation in one scan (plus one aggregation per unique key); only for
a rule that fails is a second query run for up to five examples, named by the table's key
(an event table in a warehouse has no row order; its key is its row name). Dialect: DuckDB,
translated for Spark like every text of :mod:`cxlib.engine._sql`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from ..errors import DataError
from ..checks import MAX_ROWS_SHOWN
from ..schema import CONTRACT
from . import _sql
from ._source import Source

__all__ = ["check_table", "check_references", "check_events", "raise_if"]

_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
            "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL", "REAL")
_DATETIME = ("TIMESTAMP", "DATE", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS", "TIMESTAMP_MS",
             "TIMESTAMP_S")


_BETWEEN = re.compile(r"^must be (?P<whole>whole numbers )?between (?P<lo>[-0-9.e]+) and "
                      r"(?P<hi>[-0-9.e]+)$")
_SIGNS = {"must be >= 0": "< 0", "must be > 0": "<= 0"}  # rule -> a violating comparison


@dataclass(frozen=True)
class _Rule:
    column: str
    text: str   # as the pandas path words it ("must be text", "must be one of ...")
    where: str  # SQL predicate true on a violating row


def _kind(engine_type: str) -> str:
    t = engine_type.upper()
    base = t.split("(")[0]
    if base in _NUMERIC:
        return "number"
    if t in _DATETIME or t.startswith("TIMESTAMP"):
        return "datetime"
    if base == "BOOLEAN":
        return "boolean"
    if base in ("VARCHAR", "STRING", "TEXT"):
        return "text"
    return base.lower()


def _rules(table: str, types: dict[str, str]) -> list[_Rule]:
    """The row rules of ``table`` for the columns present, from the contract's checks."""
    rules: list[_Rule] = []
    for name, column in CONTRACT[table].columns.items():
        if name not in types:
            continue
        q, kind = _sql.ident(name), _kind(types[name])
        floating = types[name].upper() in ("FLOAT", "DOUBLE", "REAL")
        # a number: the value, or text read as one (NULL when it is not: the type rule says so)
        v = (q if kind == "number" else "CAST(NULL AS DOUBLE)" if kind == "boolean"
             else f"TRY_CAST({q} AS DOUBLE)")
        known = f"{v} IS NOT NULL AND NOT isnan({v})"  # NaN is missing, as in pandas
        if not column.nullable:
            rules.append(_Rule(name, "must not be empty",
                               f"{q} IS NULL OR isnan({q})" if floating else f"{q} IS NULL"))
        for check in column.checks:
            error = check.error or ""
            bounds = _BETWEEN.match(error)
            if bounds:
                lo, hi = float(bounds["lo"]), float(bounds["hi"])
                whole = f" OR {v} <> floor({v})" if bounds["whole"] else ""
                rules.append(_Rule(name, error, f"{known} AND ({v} < {lo!r} OR {v} > {hi!r}"
                                                f"{whole})"))
                continue
            if error in _SIGNS:
                rules.append(_Rule(name, error, f"{known} AND {v} {_SIGNS[error]}"))
                continue
            if error == "must be text" and kind != "text":
                rules.append(_Rule(name, error, f"{q} IS NOT NULL"))
            elif error.startswith("must be a date/time") and kind != "datetime":
                rules.append(_Rule(name, error, f"{q} IS NOT NULL"))
            elif error == "must be true/false" and kind != "boolean":
                rules.append(_Rule(name, error, f"{q} IS NOT NULL"))
            elif error == "must be a number" and kind != "number":
                rules.append(_Rule(name, error, f"{q} IS NOT NULL AND {v} IS NULL"))
            elif error.startswith("must be one of "):
                allowed = error.removeprefix("must be one of ").split(", ")
                rules.append(_Rule(name, error, f"{q} IS NOT NULL AND CAST({q} AS VARCHAR) "
                                                f"NOT IN {_sql.literals(allowed, name)}"))
            elif error in ("must be text", "must be true/false", "must be a number") or (
                    error.startswith("must be a date/time")):
                continue  # the engine type guarantees it
            else:  # a rule this module cannot yet say in SQL: fail loudly, not silently
                raise NotImplementedError(f"no SQL for the {table}.{name} rule {error!r}")
    return rules


def _examples(n: int, key: str | None, pairs: list[tuple[object, object]]) -> str:
    """"N rows, e.g. event_id E3 ('x'), E9 ('y')" (the first few, by key)."""
    noun = "row" if n == 1 else "rows"
    if key is None or not pairs:
        return f"{n:,} {noun}"
    shown = ", ".join(f"{k} ({v!r})" if v is not None else str(k) for k, v in pairs)
    return f"{n:,} {noun}, e.g. {key} {shown}"


def check_table(src: Source, table: str) -> list[str]:
    """Contract problems of ``table`` found in the engine (empty: none): missing columns, no
    rows, then each rule with its count and first examples, and duplicated keys."""
    schema = CONTRACT[table]
    where = f"{table} ({src.location}: {src.tables[table]})"
    types = src.columns(table)
    name = _sql.ident(table, "table")
    problems: list[str] = []
    missing = [c for c in schema.columns if c not in types]
    if missing:
        problems.append(f"missing column(s) {', '.join(map(repr, missing))}")
    rules = _rules(table, types)
    counts = ", ".join(f"count(*) FILTER (WHERE {r.where}) AS v{i}" for i, r in enumerate(rules))
    c = src.fetch(f"SELECT count(*) AS n{', ' + counts if counts else ''} FROM {name}",
                  what=f"{table}: contract checks").iloc[0]
    if int(c["n"]) == 0:
        return [f"{where}: table {table!r} has no rows (only a header)"]
    keys = [k for k, col in schema.columns.items() if col.unique and k in types]
    key = keys[0] if keys else None
    for i, rule in enumerate(rules):
        n = int(c[f"v{i}"])
        if not n:
            continue
        pairs: list[tuple[object, object]] = []
        if key is not None and key != rule.column:
            kq, vq = _sql.ident(key), _sql.ident(rule.column)
            ex = src.fetch(f"SELECT {kq} AS k, CAST({vq} AS VARCHAR) AS v FROM {name} "
                           f"WHERE {rule.where} ORDER BY k NULLS LAST LIMIT {MAX_ROWS_SHOWN}",
                           what=f"{table}: examples of {rule.column} {rule.text}")
            pairs = list(zip(ex["k"], [None if pd.isna(v) else v for v in ex["v"]]))
        problems.append(f"column {rule.column!r} {rule.text} ({_examples(n, key, pairs)})")
    for k in keys:
        kq = _sql.ident(k)
        dup = src.fetch(f"SELECT count(*) AS ids, sum(n) AS n_rows FROM "
                        f"(SELECT {kq} AS k, count(*) AS n FROM {name} WHERE {kq} IS NOT NULL "
                        f"GROUP BY {kq} HAVING count(*) > 1)",
                        what=f"{table}: duplicated {k}").iloc[0]
        if int(dup["ids"]):
            ex = src.fetch(f"SELECT {kq} AS k, count(*) AS n FROM {name} WHERE {kq} IS NOT "
                           f"NULL GROUP BY {kq} HAVING count(*) > 1 ORDER BY k "
                           f"LIMIT {MAX_ROWS_SHOWN}", what=f"{table}: duplicated {k} examples")
            shown = ", ".join(f"{v} ({int(m)} rows)" for v, m in zip(ex["k"], ex["n"]))
            problems.append(f"column {k!r} must be unique (duplicates: {int(dup['ids']):,} "
                            f"values in {int(dup['n_rows']):,} rows, e.g. {shown})")
    if not problems:
        return []
    return [f"{where}: {len(problems)} problem(s) with table {table!r}:\n  - "
            + "\n  - ".join(problems)]


def check_references(src: Source, table: str) -> list[str]:
    """``table``'s customer ids unknown to the customers table (counts and examples), when
    both tables have ids and the customers table has rows (else its own check speaks)."""
    if not (src.has("customers") and "customer_id" in src.columns(table)
            and "customer_id" in src.columns("customers")):
        return []
    parts = dict(table=_sql.ident(table, "table"), customers=_sql.ident("customers", "table"))
    n_customers = int(src.fetch(f"SELECT count(*) AS n FROM {parts['customers']}",
                                what="rows of customers").iloc[0, 0])
    if not n_customers:
        return []
    n = int(src.fetch(_sql.UNKNOWN_CUSTOMER_COUNT.format(**parts),
                      what=f"{table}: unknown customers").iloc[0, 0])
    if not n:
        return []
    ex = src.fetch(_sql.UNKNOWN_CUSTOMERS.format(**parts),
                   what=f"{table}: unknown customer examples")
    noun = {"touchpoints": "events", "responses": "answers"}.get(table, "rows")
    return [f"{table} ({src.location}: {src.tables[table]}): column 'customer_id' refers to "
            f"customers not in the customers table ({n:,} {noun}; e.g. "
            f"{', '.join(map(str, ex['customer_id']))})"]


def check_events(src: Source) -> list[str]:
    """Contract problems of the source's event table (``touchpoints``), then its customer
    ids unknown to the customers table."""
    return check_table(src, "touchpoints") + check_references(src, "touchpoints")


def raise_if(problems: list[str]) -> None:
    if problems:
        raise DataError("\n".join(problems))
