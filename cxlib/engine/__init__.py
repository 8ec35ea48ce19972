"""Warehouse-scale data: aggregations pushed down to an engine, only small tables in pandas.

``Source(location)`` opens a folder of Parquet/CSV files or a DuckDB database file; embedded
DuckDB queries the tables where they lie. ``Source(folder, engine="spark", spark=...)`` runs
the same SQL on Spark (a SparkSession, ``"local[2]"`` or a cluster address), with the same
results. The functions here mirror their pandas versions
(same arguments and output) but take a source instead of DataFrames:

- :func:`nps` (``cxlib.nps``): one row per group;
- :func:`build_features` (``cxlib.churn.build_features``): one row per active customer;
- :mod:`touchpoints`: the reductions of the event table the journey, KPI-model and pilot
  analyses use (each also runs in pandas on an in-memory table);
- :func:`kpi_answers`: the answer-level reductions of the KPI model's table.

The analyses call only these public names; the engine imports nothing above the data
layer (``cxlib.errors``, ``schema``, ``vocab``, ``io``) and the small shared modules
``cxlib.intervals`` and ``cxlib.snapshot`` (tests/test_imports.py).

:func:`open_data` (``cxlib.open_data``) wraps a source as the mapping of contract tables the
notebooks use: small tables are read into pandas on first use, the event table never is.

Every result crossing into pandas is recorded in ``Source.log``. Methods and limits:
``docs/warehouse.md``.
"""

from __future__ import annotations

from . import _touchpoints as touchpoints
from ._answers import kpi_answers
from ._contract import check_events
from ._data import EVENT_TABLES, Data, open_data
from ._features import build_features
from ._metrics import nps
from ._source import ENGINES, Fetch, Source, open_source
from ._spark import spark_session

__all__ = ["Source", "open_source", "Fetch", "ENGINES", "nps", "build_features",
           "spark_session", "Data", "open_data", "EVENT_TABLES", "touchpoints",
           "kpi_answers", "check_events"]
