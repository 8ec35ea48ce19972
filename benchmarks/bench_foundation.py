"""Simulator and contract validation.

Baselines, measured in the same run so the ratios survive a slower machine:
- simulation: generating the default 20,000-customer company (other sizes as ratios);
- validation: reading the sample's Parquet files (validation cost as a multiple of it).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from cxlib import schema, synth


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench_simulation() -> pd.DataFrame:
    base = best_of(lambda: synth.make_company(20_000, seed=1))
    rows = [{"case": "make_company 20k (baseline)", "seconds": base, "ratio": 1.0}]
    for n in (5_000, 80_000):
        t = best_of(lambda n=n: synth.make_company(n, seed=1), repeat=2)
        rows.append({"case": f"make_company {n // 1000}k", "seconds": t, "ratio": t / base})
    return pd.DataFrame(rows)


def bench_validation() -> pd.DataFrame:
    with tempfile.TemporaryDirectory() as tmp:
        out = synth.write_sample(Path(tmp), n_customers=20_000, seed=1)
        files = {name: out / f"{name}.parquet" for name in synth.TABLES}
        base = best_of(lambda: {k: pd.read_parquet(v) for k, v in files.items()})
        tables = {k: pd.read_parquet(v) for k, v in files.items()}
    rows = [{"case": "read 5 Parquet tables (baseline)", "seconds": base, "ratio": 1.0}]
    t = best_of(lambda: schema.validate_company(tables))
    rows.append({"case": "validate_company", "seconds": t, "ratio": t / base})
    for name in ("touchpoints", "responses"):
        t = best_of(lambda name=name: schema.validate(tables[name], name))
        rows.append({"case": f"validate {name} ({len(tables[name]):,} rows)", "seconds": t,
                     "ratio": t / base})
    return pd.DataFrame(rows)


def main() -> None:
    pd.set_option("display.width", 120)
    for title, fn in (("simulation", bench_simulation), ("contract validation", bench_validation)):
        print(f"\n## {title}")
        print(fn().to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
