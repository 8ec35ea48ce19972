"""NPS by group (1,000 groups) on 1M, 10M and 100M responses: the engine path vs pandas vs SQL.

Cases, each in its own Python process (so peak memory is that case's alone), all reading
the same Parquet file of responses (group, 0-10 score with 5% missing, survey weight). The
files are generated once in chunks of 1M rows (never all in memory) and cached in
``data/bench/responses_<n>/`` (git-ignored; ``bench_spark`` reads the same files):

- ``hand_sql`` (baseline): one hand-written DuckDB query that computes the counts, the
  weighted shares and the adjusted-Wald interval, straight from the file;
- ``engine``: ``cxlib.engine.nps(Source(folder), by="grp", weight="weight")``;
- ``pandas_vectorised``: ``pd.read_parquet`` then ``cxlib.nps`` (bincount per group);
- ``pandas_apply``: ``pd.read_parquet`` then a naive ``groupby().apply`` per group.

Time: best of ``--repeat`` runs inside the process (reading the file included, Python start
and imports excluded). Peak memory: the process's peak resident set (``VmHWM``; not
``ru_maxrss``, which on Linux keeps the parent's peak across fork and exec, so every child of
a large parent would report the parent's peak), and the part above the resident set after
the imports; ``memory_ratio`` compares peaks. Ratios
are to ``hand_sql`` measured in the same run. Every case's NPS and interval are checked
against ``hand_sql`` (1e-9 points). Target (issue 9): the engine within 1.5x of ``hand_sql``;
each size prints the ratio and whether the target is met.

The pandas cases hold the whole table in memory (about 125 bytes per response at 10M). Before
each one the benchmark estimates its peak from the same case at the largest smaller size of
the run (or from 130 bytes per response when there is none) and skips it, saying so and
why, when that estimate does not fit in the memory available (``MemAvailable`` less a 2 GB
reserve). A case killed by the kernel or failing is reported as such, not dropped.

Run: ``python -m benchmarks.bench_engine`` (``--sizes 1000000 10000000 100000000
--repeat 2``). Generating the 100M-row file takes about 15 s the first time (360 MB).
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

from cxlib import paths

N_GROUPS = 1_000
CASES = ("hand_sql", "engine", "pandas_vectorised", "pandas_apply")
IN_MEMORY = ("pandas_vectorised", "pandas_apply")  # read the whole table into pandas
BENCH_DATA = paths.DATA_DIR / "bench"               # git-ignored cache of generated files
BYTES_PER_ROW = 130      # pandas cases' peak above imports, per response (measured at 10M)
RESERVE_MB = 2048        # memory left free for the system and the other jobs
TARGET = 1.5             # issue 9: engine within 1.5x of the hand-written SQL

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
    names = pa.array([f"g{i:04d}" for i in range(N_GROUPS)], pa.string())
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
                "grp": names.take(pa.array(g)),  # in Arrow: no Python strings per row
                "nps": pa.array(score.astype(np.int8), mask=missing),
                "weight": np.round(rng.lognormal(0, 0.3, m), 4)}, schema=schema))
    return path


def responses_folder(n_rows: int, root: Path = BENCH_DATA) -> Path:
    """The folder holding ``responses.parquet`` with ``n_rows`` generated responses: cached in
    ``root`` (written once, to a temporary name renamed when complete, so an interrupted run
    leaves no half file behind)."""
    import pyarrow.parquet as pq

    folder = root / f"responses_{n_rows}"
    path = folder / "responses.parquet"
    if path.exists() and pq.ParquetFile(path).metadata.num_rows == n_rows:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / "responses.parquet.part"
    t0 = time.perf_counter()
    write_responses(part, n_rows)
    part.replace(path)
    print(f"# {n_rows:,} responses written to {path.relative_to(paths.PROJECT_ROOT)} in "
          f"{time.perf_counter() - t0:.1f} s ({path.stat().st_size / 2**20:,.0f} MB)", flush=True)
    return folder


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


def rss_mb(field: str = "VmHWM") -> float:
    """This process's peak (``VmHWM``) or current (``VmRSS``) resident set in MB, from
    /proc/self/status: the peak of this program's own memory since its exec. Falls back to
    ``ru_maxrss`` where /proc is missing (which on Linux also counts the parent's peak
    before a fork and exec, hence not used first)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(case: str, folder: Path, repeat: int, out: Path) -> None:
    """Measure one case in this process; print seconds and peak memory as JSON."""
    import duckdb  # noqa: F401  (imports outside the timing, as in a notebook)
    import scipy.stats  # noqa: F401

    import cxlib  # noqa: F401
    from cxlib import engine  # noqa: F401

    rss_imports = rss_mb("VmRSS")
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = run_case(case, folder)
        times.append(time.perf_counter() - t0)
    result[["grp", "nps", "ci_low", "ci_high"]].to_parquet(out)
    peak = rss_mb("VmHWM")
    print(json.dumps({"seconds": min(times), "peak_mb": peak,
                      "above_imports_mb": peak - rss_imports, "groups": len(result)}))


def measure(case: str, folder: Path, repeat: int, out_dir: Path
            ) -> tuple[dict | None, pd.DataFrame | None, str]:
    """Run one case in a child process: (stats, result, "") or (None, None, why it failed)."""
    out = out_dir / f"result_{case}.parquet"
    proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_engine", "--child", case,
                           "--folder", str(folder), "--repeat", str(repeat), "--out", str(out)],
                          capture_output=True, text=True, check=False,
                          cwd=paths.PROJECT_ROOT)
    if proc.returncode != 0:
        if proc.returncode < 0:
            import signal

            sig = signal.Signals(-proc.returncode).name
            why = f"killed by {sig}" + (" (out of memory?)" if sig == "SIGKILL" else "")
        else:
            lines = (proc.stderr or "").strip().splitlines()
            why = f"exited {proc.returncode}: {lines[-1] if lines else 'no message'}"
        return None, None, why
    return json.loads(proc.stdout.strip().splitlines()[-1]), pd.read_parquet(out), ""


def available_mb() -> float:
    """``MemAvailable`` from /proc/meminfo, in MB (inf where it cannot be read)."""
    try:
        text = Path("/proc/meminfo").read_text()
        return int(text.split("MemAvailable:")[1].split()[0]) / 1024
    except (OSError, IndexError, ValueError):
        return float("inf")


def memory_estimate(case: str, n: int, done: list[dict]) -> tuple[float, str]:
    """Estimated peak MB of ``case`` at ``n`` responses, and where the estimate comes from:
    its measured peak above imports at the largest smaller size of this run, scaled
    linearly, else :data:`BYTES_PER_ROW`; plus the imports' resident set."""
    prior = [r for r in done if r["case"] == case and r["responses"] < n
             and np.isfinite(r["peak_mb"])]
    imports = next((r["peak_mb"] - r["above_imports_mb"] for r in done
                    if np.isfinite(r["peak_mb"])), 270.0)
    if prior:
        ref = max(prior, key=lambda r: r["responses"])
        per_row = ref["above_imports_mb"] / ref["responses"]
        how = f"{ref['above_imports_mb']:,.0f} MB above imports at {ref['responses']:,}, scaled"
    else:
        per_row = BYTES_PER_ROW / 2**20
        how = f"{BYTES_PER_ROW} bytes per response"
    return imports + per_row * n, how


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
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="cx-bench-engine-") as tmp:
        for n in sizes:
            folder = responses_folder(n)
            out_dir = Path(tmp) / f"n{n}"
            out_dir.mkdir()
            print(f"# {n:,} responses ({(folder / 'responses.parquet').stat().st_size / 2**20:,.0f}"
                  f" MB Parquet); load {os.getloadavg()[0]:.1f}", flush=True)
            base = ref = None
            for case in cases:
                row = {"responses": n, "case": case, "seconds": np.nan, "time_ratio": np.nan,
                       "peak_mb": np.nan, "above_imports_mb": np.nan, "memory_ratio": np.nan,
                       "note": ""}
                rows.append(row)
                if case in IN_MEMORY:
                    need, how = memory_estimate(case, n, rows[:-1])
                    free = available_mb()
                    if need > free - RESERVE_MB:
                        row["note"] = (f"skipped: needs ~{need / 1024:.1f} GB ({how}), "
                                       f"{free / 1024:.1f} GB available less a "
                                       f"{RESERVE_MB / 1024:.0f} GB reserve")
                        print(f"  {case:18s} {row['note']}", flush=True)
                        continue
                stats_, result, why = measure(case, folder, repeat, out_dir)
                if stats_ is None:
                    row["note"] = f"failed: {why}"
                    print(f"  {case:18s} {row['note']}", flush=True)
                    if case == "hand_sql":
                        raise RuntimeError(f"the baseline failed at {n:,} responses: {why}")
                    continue
                if base is None:
                    base, ref = stats_, result
                else:  # same numbers as the hand-written SQL
                    assert len(result) == len(ref) == N_GROUPS
                    for col in ("nps", "ci_low", "ci_high"):
                        np.testing.assert_allclose(result[col], ref[col], atol=1e-9, rtol=0)
                row.update(seconds=stats_["seconds"],
                           time_ratio=stats_["seconds"] / base["seconds"],
                           peak_mb=stats_["peak_mb"], above_imports_mb=stats_["above_imports_mb"],
                           memory_ratio=stats_["peak_mb"] / base["peak_mb"])
                print(f"  {case:18s} {stats_['seconds']:8.3f} s  ratio {row['time_ratio']:5.2f}"
                      f"  peak {stats_['peak_mb']:7.0f} MB", flush=True)
    return pd.DataFrame(rows)


def target_lines(table: pd.DataFrame) -> list[str]:
    """Engine / hand-written SQL per size, against the 1.5x target."""
    lines = []
    for n, part in table.groupby("responses"):
        ratio = part.loc[part["case"] == "engine", "time_ratio"]
        if ratio.empty or not np.isfinite(ratio.iloc[0]):
            lines.append(f"{n:,} responses: engine not measured")
            continue
        r = float(ratio.iloc[0])
        verdict = "met" if r <= TARGET else f"MISSED, {100 * (r / TARGET - 1):.0f}% over"
        lines.append(f"{n:,} responses: engine / hand SQL = {r:.2f} "
                     f"(target <= {TARGET}: {verdict})")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+",
                        default=[1_000_000, 10_000_000, 100_000_000])
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
    print(f"time: best of {args.repeat} in each case's own process (file read included); "
          "ratios to hand_sql in this run")
    table = bench(args.sizes, args.repeat)
    with pd.option_context("display.width", 200, "display.max_colwidth", 110):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}", na_rep="-"))
    for line in target_lines(table):
        print(line)


if __name__ == "__main__":
    main()
