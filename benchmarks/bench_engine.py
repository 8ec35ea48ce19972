"""NPS by group (1,000 groups) on 1M and 10M responses: the engine path vs pandas vs SQL.

Cases, each in its own Python process (so peak memory is that case's alone), all reading
the same Parquet file of responses (group, 0-10 score with 5% missing, survey weight):

- ``hand_sql`` (baseline): one hand-written DuckDB query that computes the counts, the
  weighted shares and the adjusted-Wald interval, straight from the file;
- ``engine``: ``cxlib.engine.nps(Source(folder), by="grp", weight="weight")``;
- ``pandas_vectorised``: ``pd.read_parquet`` then ``cxlib.nps`` (bincount per group);
- ``pandas_apply``: ``pd.read_parquet`` then a naive ``groupby().apply`` per group.

Time: best of ``--repeat`` runs inside the process (reading the file included, Python start
and imports excluded). Peak memory: the process's peak resident set (``ru_maxrss``), and
the part above the resident set after the imports; ``memory_ratio`` compares peaks. Ratios
are to ``hand_sql`` measured in the same run. Every case's NPS and interval are checked against ``hand_sql`` (1e-9 points).

Run: ``python -m benchmarks.bench_engine`` (``--sizes 1000000 10000000 --repeat 2``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

N_GROUPS = 1_000
CASES = ("hand_sql", "engine", "pandas_vectorised", "pandas_apply")

HAND_SQL = """
WITH g AS (
    SELECT grp,
           count(nps) AS n,
           sum(weight) FILTER (WHERE nps IS NOT NULL) AS sw,
           sum(weight * weight) FILTER (WHERE nps IS NOT NULL) AS sw2,
           coalesce(sum(weight) FILTER (WHERE nps >= 9), 0) AS wp,
           coalesce(sum(weight) FILTER (WHERE nps <= 6), 0) AS wd
    FROM read_parquet($path)
    GROUP BY grp
), s AS (
    SELECT *, wp / sw AS pro, wd / sw AS det, sw * sw / sw2 AS n_eff FROM g WHERE n > 0
), a AS (
    SELECT *, (pro * n_eff + 0.75) / (n_eff + 3) AS p, (det * n_eff + 0.75) / (n_eff + 3) AS d
    FROM s
)
SELECT grp, n, n_eff, pro AS promoters, det AS detractors, 100 * (pro - det) AS nps,
       100 * greatest(p - d - 1.959963984540054 * sqrt((p + d - (p - d) ^ 2) / (n_eff + 3)), -1)
           AS ci_low,
       100 * least(p - d + 1.959963984540054 * sqrt((p + d - (p - d) ^ 2) / (n_eff + 3)), 1)
           AS ci_high
FROM a
ORDER BY grp
"""


def write_responses(path: Path, n_rows: int, seed: int = 1, chunk: int = 1_000_000) -> Path:
    """A responses-only Parquet file (grp, nps, weight), written in chunks of ``chunk`` rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    names = np.array([f"g{i:04d}" for i in range(N_GROUPS)], dtype=object)
    pro = rng.uniform(0.2, 0.5, N_GROUPS)
    det = rng.uniform(0.1, 0.4, N_GROUPS)
    schema = pa.schema([("grp", pa.string()), ("nps", pa.int8()), ("weight", pa.float64())])
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, n_rows, chunk):
            m = min(chunk, n_rows - start)
            g = rng.integers(0, N_GROUPS, m)
            u = rng.random(m)
            score = np.where(u < pro[g], rng.integers(9, 11, m),
                             np.where(u < pro[g] + det[g], rng.integers(0, 7, m),
                                      rng.integers(7, 9, m)))
            missing = rng.random(m) < 0.05
            writer.write_table(pa.table({
                "grp": pa.array(names[g], pa.string()),
                "nps": pa.array(score.astype(np.int8), mask=missing),
                "weight": np.round(rng.lognormal(0, 0.3, m), 4)}, schema=schema))
    return path


def _naive_apply(frame: pd.DataFrame) -> pd.DataFrame:
    from scipy import stats

    z = stats.norm.ppf(0.975)

    def one(g: pd.DataFrame) -> pd.Series:
        g = g[g["nps"].notna()]
        w = g["weight"]
        sw = w.sum()
        pro, det = w[g["nps"] >= 9].sum() / sw, w[g["nps"] <= 6].sum() / sw
        n_eff = sw**2 / (w**2).sum()
        p, d = (pro * n_eff + 0.75) / (n_eff + 3), (det * n_eff + 0.75) / (n_eff + 3)
        half = z * np.sqrt((p + d - (p - d) ** 2) / (n_eff + 3))
        return pd.Series({"n": len(g), "nps": 100 * (pro - det),
                          "ci_low": 100 * max(p - d - half, -1),
                          "ci_high": 100 * min(p - d + half, 1)})

    return frame.groupby("grp").apply(one).reset_index()


def run_case(case: str, folder: Path) -> pd.DataFrame:
    """One computation of NPS by group from ``folder/responses.parquet``."""
    path = folder / "responses.parquet"
    if case == "hand_sql":
        import duckdb

        with duckdb.connect() as con:
            return con.execute(HAND_SQL, {"path": str(path)}).df()
    if case == "engine":
        from cxlib import engine

        return engine.nps(folder, by="grp", weight="weight")
    frame = pd.read_parquet(path)
    if case == "pandas_vectorised":
        import cxlib

        return cxlib.nps(frame, by="grp", weight="weight")
    if case == "pandas_apply":
        return _naive_apply(frame)
    raise ValueError(case)


def _child(case: str, folder: Path, repeat: int, out: Path) -> None:
    """Measure one case in this process; print seconds and peak memory as JSON."""
    import duckdb  # noqa: F401  (imports outside the timing, as in a notebook)
    import scipy.stats  # noqa: F401

    import cxlib  # noqa: F401
    from cxlib import engine  # noqa: F401

    rss_imports = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = run_case(case, folder)
        times.append(time.perf_counter() - t0)
    result[["grp", "nps", "ci_low", "ci_high"]].to_parquet(out)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": min(times), "peak_mb": peak,
                      "above_imports_mb": peak - rss_imports, "groups": len(result)}))


def measure(case: str, folder: Path, repeat: int) -> tuple[dict, pd.DataFrame]:
    out = folder / f"result_{case}.parquet"
    proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_engine", "--child", case,
                           "--folder", str(folder), "--repeat", str(repeat), "--out", str(out)],
                          capture_output=True, text=True, check=False,
                          cwd=Path(__file__).resolve().parents[1])
    if proc.returncode != 0:
        raise RuntimeError(f"{case} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1]), pd.read_parquet(out)


def machine() -> str:
    import duckdb

    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if "model name" in line)
    except (OSError, StopIteration):
        pass
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{cpu}, {os.cpu_count()} cores, {ram:.0f} GB RAM; Python "
            f"{platform.python_version()}, pandas {pd.__version__}, DuckDB {duckdb.__version__}")


def bench(sizes: list[int], repeat: int, cases: tuple[str, ...] = CASES) -> pd.DataFrame:
    rows = []
    with tempfile.TemporaryDirectory(prefix="cx-bench-engine-") as tmp:
        for n in sizes:
            folder = Path(tmp) / f"n{n}"
            folder.mkdir()
            t0 = time.perf_counter()
            write_responses(folder / "responses.parquet", n)
            print(f"# {n:,} responses written in {time.perf_counter() - t0:.1f} s", flush=True)
            base = None
            for case in cases:
                stats_, result = measure(case, folder, repeat)
                if base is None:
                    base, ref = stats_, result
                else:  # same numbers as the hand-written SQL
                    assert len(result) == len(ref) == N_GROUPS
                    for col in ("nps", "ci_low", "ci_high"):
                        np.testing.assert_allclose(result[col], ref[col], atol=1e-9, rtol=0)
                rows.append({"responses": n, "case": case, "seconds": stats_["seconds"],
                             "time_ratio": stats_["seconds"] / base["seconds"],
                             "peak_mb": stats_["peak_mb"],
                             "above_imports_mb": stats_["above_imports_mb"],
                             "memory_ratio": stats_["peak_mb"] / base["peak_mb"]})
                print(f"  {case:18s} {stats_['seconds']:8.3f} s  peak {stats_['peak_mb']:7.0f} MB",
                      flush=True)
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--child")
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.folder, args.repeat, args.out)
        return
    print(f"\n## NPS by group ({N_GROUPS:,} groups), engine vs pandas vs hand-written SQL")
    print(machine())
    table = bench(args.sizes, args.repeat)
    pd.set_option("display.width", 140)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))


if __name__ == "__main__":
    main()
