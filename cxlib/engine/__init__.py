"""Warehouse-scale data: aggregations pushed down to an engine, only small tables in pandas.

``Source(location)`` opens a folder of Parquet/CSV files or a DuckDB database file; embedded
DuckDB queries the tables where they lie. The functions here mirror their pandas versions
(same arguments and output) but take a source instead of DataFrames:

- :func:`nps` (``cxlib.nps``): one row per group;
- :func:`build_features` (``cxlib.churn.build_features``): one row per active customer.

Every result crossing into pandas is recorded in ``Source.log``. Methods and limits:
``docs/warehouse.md``.
"""

from __future__ import annotations

from ._features import build_features
from ._metrics import nps
from ._source import ENGINES, Fetch, Source, open_source

__all__ = ["Source", "open_source", "Fetch", "ENGINES", "nps", "build_features"]
