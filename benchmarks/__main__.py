"""Run every benchmark: ``python -m benchmarks`` (``make bench``).

Default sizes: NPS by group at 1M, 10M and 100M responses (files generated once into
``data/bench/``, git-ignored); PLS-PM at n = 250 and 1,000,000 (plspm's 1M bootstrap
extrapolated from 10 resamples); churn features from ``data/large`` when it exists; Spark
local[2] vs DuckDB when pyspark and Java are there; ``cx report`` end to end on the sample
and on ``data/large`` when it exists; ``cx report --per store`` on the sample's 50 stores against
separate runs (about 5 more minutes); 1,000,000 comments tokenised and coded (verbatims) against
a plain SudachiPy loop (about 10 more minutes). About 20-26 minutes on 2 cores without the 1M-customer
report, which adds about 10 (``docs/performance.md``); each benchmark's own module runs it
alone with more options.
"""

from __future__ import annotations

import time

from . import (bench_engine, bench_features_large, bench_foundation, bench_kpimodel,
               bench_per_unit, bench_report, bench_spark, bench_verbatims)

if __name__ == "__main__":
    start = time.perf_counter()
    bench_foundation.main()
    bench_kpimodel.main([])
    bench_engine.main([])
    bench_features_large.main([])
    bench_spark.main([])
    bench_report.main([])
    bench_per_unit.main([])
    bench_verbatims.main([])
    print(f"\nall benchmarks: {(time.perf_counter() - start) / 60:.1f} min")
