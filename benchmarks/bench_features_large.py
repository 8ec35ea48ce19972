"""Customer churn features from the warehouse-scale sample (``make data-large``: 1M customers,
~100M touchpoint events) through the DuckDB engine.

Baseline, measured in the same run: one hand-written DuckDB scan that counts each customer's
events before the snapshot (the least any feature build must do). Each case runs in its own
process; time is wall time of the call, peak memory the process's peak resident set
(``VmHWM``, see ``bench_engine.rss_mb``). The issue's targets: under 2 minutes and under
8 GB. Skips when ``data/large`` is missing.

Run: ``python -m benchmarks.bench_features_large [--data data/large]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

SNAPSHOT = "2025-01-01"
BASELINE_SQL = """
SELECT customer_id, count(*) AS events
FROM read_parquet($path)
WHERE timestamp < TIMESTAMP '2025-01-01'
GROUP BY customer_id
"""


def _child(case: str, folder: Path) -> None:
    import duckdb

    from cxlib import engine

    from .bench_engine import rss_mb

    start = time.perf_counter()
    if case == "baseline":
        rows = len(duckdb.connect().execute(
            BASELINE_SQL, {"path": str(folder / "touchpoints.parquet")}).df())
    else:
        with engine.Source(folder) as src:
            rows = len(engine.build_features(src, SNAPSHOT, horizon=6))
    seconds = time.perf_counter() - start
    peak_mb = rss_mb("VmHWM")
    print(json.dumps({"case": case, "seconds": seconds, "peak_mb": peak_mb, "rows": rows}))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/large")
    parser.add_argument("--child", default=None)
    args = parser.parse_args(argv)
    folder = Path(args.data)
    if args.child:
        _child(args.child, folder)
        return
    print("\n## churn features from the large sample (engine, DuckDB)")
    if not (folder / "touchpoints.parquet").exists():
        print(f"skipped: {folder}/touchpoints.parquet not found (run `make data-large`)")
        return
    import pyarrow.parquet as pq

    events = pq.ParquetFile(folder / "touchpoints.parquet").metadata.num_rows
    results = []
    for case in ("baseline", "engine"):
        out = subprocess.run([sys.executable, "-m", "benchmarks.bench_features_large",
                              "--data", str(folder), "--child", case],
                             capture_output=True, text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    base = results[0]["seconds"]
    print(f"{events:,} touchpoint events; snapshot {SNAPSHOT}")
    for r in results:
        print(f"{r['case']:<9} {r['seconds']:7.1f} s  ratio {r['seconds'] / base:5.2f}  "
              f"peak {r['peak_mb']:7,.0f} MB  rows {r['rows']:,}")


if __name__ == "__main__":
    main()
