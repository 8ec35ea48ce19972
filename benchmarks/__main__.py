"""Run every benchmark: ``python -m benchmarks`` (``make bench``)."""

from __future__ import annotations

from . import bench_engine, bench_features_large, bench_foundation, bench_kpimodel

if __name__ == "__main__":
    bench_foundation.main()
    bench_kpimodel.main()
    bench_engine.main()
    bench_features_large.main([])
