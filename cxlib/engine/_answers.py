"""Answer-level reductions for the structural model's KPI table, in the engine.

:func:`cxlib.kpimodel.customer_kpis` computes the same from an in-memory answers table;
with :func:`cxlib.open_data` it calls :func:`kpi_answers`, so only customer-level tables
come into pandas (tests/test_engine_touchpoints.py, tests/test_engine_spark.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from . import _sql
from ._source import Source

__all__ = ["kpi_answers"]


def kpi_answers(src: Source, required: Sequence[str], items: Sequence[str]
                ) -> tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp]:
    """Each customer's first relationship answer (``response_date`` and the ``items``
    present, as floats, indexed by ``customer_id``; ties on the date: the smallest
    ``response_id``, table order for answers stored in id order), transactional ``mean`` and
    ``n`` per customer x ``organisation`` x ``score`` (csat, ces), and the last answer date."""
    src.require("responses", list(required), "customer_kpis")
    have = src.columns("responses")
    table = _sql.ident("responses", "table")
    items_sql = "".join(f", TRY_CAST({_sql.ident(c)} AS DOUBLE) AS {_sql.ident(c)}"
                        for c in items if c in have)
    first = src.fetch(_sql.KPI_FIRST_ANSWER.format(items=items_sql, responses=table),
                      what="responses: first relationship answer per customer")
    first["response_date"] = first["response_date"].astype("datetime64[ns]")
    parts = [src.fetch(_sql.KPI_TRANSACTIONAL.format(score=_sql.ident(score), name=score,
                                                     responses=table),
                       what=f"responses: mean {score} per customer and organisation")
             for score in ("csat", "ces")]
    per_org = pd.concat(parts, ignore_index=True)
    per_org["n"] = per_org["n"].astype("int64")
    last = src.fetch(_sql.DATA_END_PART.format(column=_sql.ident("response_date"),
                                               table=table), what="responses: last answer")
    return first.set_index("customer_id"), per_org, pd.Timestamp(last["d"].iloc[0])
