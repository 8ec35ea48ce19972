"""The engine on Spark local mode vs DuckDB: NPS by group and the churn-feature pushdown.

Same functions, same SQL, two engines (issue 9): ``cxlib.engine.nps`` and
``cxlib.engine.build_features`` on ``Source(folder)`` (embedded DuckDB, the baseline) and on
``Source(folder, engine="spark", spark=session)`` with a ``local[2]`` session started by
``cxlib.engine.spark_session`` (the project's local settings: UI off, 8 shuffle partitions,
driver on 127.0.0.1; plus ``spark.driver.memory``, ``--driver-memory``, default 4g).

Cases, each engine in its own Python process:

- NPS by group (1,000 groups, weighted, adjusted-Wald interval) on the cached responses
  file of ``bench_engine`` (``data/bench/responses_<n>/``, generated when missing), default
  10M responses;
- customer churn features (snapshot 2025-01-01, 6-month horizon) on ``data/sample``, and on
  ``data/large`` (``make data-large``: 1M customers, ~100M events) when it is there.

Times, all wall clock inside the process: for Spark, the JVM start (``spark_session``:
launching the JVM and the application) and opening the source (registering the tables:
Spark reads the Parquet footers) are reported apart from the query; the query is timed
``--repeat`` times and both the first run (cold: class loading, JIT) and the best are
given. For DuckDB, opening the source is included in the query time (it is a few
milliseconds). Ratios Spark / DuckDB from the same run: ``warm`` = best Spark query / best
DuckDB query; ``end to end`` = (JVM start + open + first query) / first DuckDB call, what a
one-off run waits. Peak memory: the Python process's peak resident set (``VmHWM``) and, for
Spark, plus the JVM's (``VmHWM`` of the java child). Both engines' results are compared (NPS to 1e-9
points; features column by column, numbers to 1e-9).

Skips, saying why, when pyspark or Java is missing (``make java`` installs Java). Run:
``python -m benchmarks.bench_spark`` (``--sizes 10000000``, ``--repeat 3``,
``--large data/large``, ``--timeout 1800``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cxlib import paths

SNAPSHOT = "2025-01-01"
HORIZON = 6
ENGINES = ("duckdb", "spark")


# --- child: one engine, one workload -----------------------------------------------------

def _jvm_peak_mb() -> float:
    """Peak resident set (VmHWM) of the java processes started by this one, in MB."""
    import psutil

    total = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            if "java" not in child.name():
                continue
            for line in Path(f"/proc/{child.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
        except (OSError, psutil.Error):
            continue
    return total


def _run(kind: str, src, folder: Path) -> pd.DataFrame:
    from cxlib import engine

    if kind == "nps":
        return engine.nps(src, by="grp", weight="weight")
    return engine.build_features(src, SNAPSHOT, horizon=HORIZON)


def _child(engine_name: str, kind: str, folder: Path, repeat: int, out: Path,
           driver_memory: str) -> None:
    """Time one workload on one engine in this process; print JSON, write the result."""
    import warnings

    from cxlib import engine

    from .bench_engine import rss_mb

    warnings.simplefilter("ignore")
    stats: dict = {"engine": engine_name, "kind": kind}
    times: list[float] = []
    if engine_name == "duckdb":
        for _ in range(repeat):
            t0 = time.perf_counter()
            with engine.Source(folder) as src:
                result = _run(kind, src, folder)
            times.append(time.perf_counter() - t0)
        stats.update(jvm_start_s=0.0, open_s=0.0, jvm_peak_mb=0.0)
    else:
        t0 = time.perf_counter()
        session, started = engine.spark_session(
            "local[2]", {"spark.driver.memory": driver_memory})
        stats["jvm_start_s"] = time.perf_counter() - t0
        stats["spark"] = session.version
        try:
            t0 = time.perf_counter()
            src = engine.Source(folder, engine="spark", spark=session)
            stats["open_s"] = time.perf_counter() - t0
            with src:
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    result = _run(kind, src, folder)
                    times.append(time.perf_counter() - t0)
            stats["jvm_peak_mb"] = _jvm_peak_mb()
        finally:
            if started:
                session.stop()
    stats.update(first_s=times[0], best_s=min(times), rows=len(result),
                 python_peak_mb=rss_mb("VmHWM"))
    result.to_parquet(out)
    print(json.dumps(stats))


# --- parent ---------------------------------------------------------------------------------

def why_not_spark() -> str:
    """Empty when pyspark and Java are there, else why the Spark cases cannot run."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install 'pyspark>=4.0,<5')"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime (java not on PATH, JAVA_HOME unset; `make java` installs it)"
    return ""


def measure(engine_name: str, kind: str, folder: Path, repeat: int, out: Path,
            driver_memory: str, timeout: float) -> tuple[dict | None, str]:
    """One case in a child process (own process group, stopped whole on timeout)."""
    cmd = [sys.executable, "-m", "benchmarks.bench_spark", "--child", engine_name, kind,
           "--folder", str(folder), "--repeat", str(repeat), "--out", str(out),
           "--driver-memory", driver_memory]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=paths.PROJECT_ROOT, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the child and its JVM
        proc.communicate()
        return None, f"timed out after {timeout:.0f} s"
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = [ln for ln in (stderr or "").strip().splitlines() if ln.strip()]
        return None, f"exited {proc.returncode}: {tail[-1] if tail else 'no message'}"
    return json.loads(lines[-1]), ""


def compare(a: pd.DataFrame, b: pd.DataFrame, tol: float = 1e-9) -> str:
    """'equal' when both frames hold the same values (numbers to ``tol``), else what differs."""
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return f"DIFFERENT shape/columns: {a.shape} vs {b.shape}"
    bad = []
    for col in a.columns:
        x, y = a[col], b[col]
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y) \
                and not pd.api.types.is_bool_dtype(x):
            xv, yv = x.to_numpy(float, na_value=np.nan), y.to_numpy(float, na_value=np.nan)
            if not np.allclose(xv, yv, atol=tol, rtol=0, equal_nan=True):
                bad.append(f"{col} (max |diff| {np.nanmax(np.abs(xv - yv)):.2g})")
        elif not x.astype(object).where(x.notna(), None).equals(
                y.astype(object).where(y.notna(), None)):
            bad.append(col)
    return "equal" if not bad else "DIFFERENT: " + ", ".join(bad)


def workloads(sizes: list[int], large: Path) -> list[tuple[str, str, Path | None, str]]:
    """(label, kind, folder or None, why skipped) for every workload of the run."""
    from . import bench_engine

    out = []
    for n in sizes:
        out.append((f"NPS by group, {n:,} responses", "nps", bench_engine.responses_folder(n), ""))
    out.append(("churn features, data/sample", "features", paths.SAMPLE_DIR,
                "" if (paths.SAMPLE_DIR / "customers.parquet").exists()
                else "data/sample not generated (make data)"))
    big = large if large.is_absolute() else paths.PROJECT_ROOT / large
    if (big / "touchpoints.parquet").exists() and (big / "customers.parquet").exists():
        import pyarrow.parquet as pq

        events = pq.ParquetFile(big / "touchpoints.parquet").metadata.num_rows
        out.append((f"churn features, {large} ({events:,} events)", "features", big, ""))
    else:
        out.append((f"churn features, {large}", "features", None,
                    f"{large}/touchpoints.parquet not found (make data-large)"))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000_000],
                        help="responses for the NPS workload (default 10,000,000)")
    parser.add_argument("--large", type=Path, default=Path("data/large"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--driver-memory", default="4g")
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="seconds one case may take before it is stopped (default 1800)")
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "KIND"))
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.child:
        _child(*args.child, args.folder, args.repeat, args.out, args.driver_memory)
        return

    from .bench_engine import machine

    print("\n## Spark local[2] vs DuckDB: the same engine functions (ratio = Spark / DuckDB)")
    print(machine())
    why = why_not_spark()
    if why:
        print(f"skipped: {why}")
        return
    import pyspark

    java = subprocess.run(["java", "-version"], capture_output=True, text=True)
    java_line = (java.stderr or java.stdout).strip().splitlines()[0] if java.returncode == 0 \
        else "java -version failed"
    print(f"pyspark {pyspark.__version__}, {java_line}; spark.driver.memory "
          f"{args.driver_memory}; best of {args.repeat} queries per process; "
          f"load {os.getloadavg()[0]:.1f}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="cx-bench-spark-") as tmp:
        for label, kind, folder, skip in workloads(args.sizes, args.large):
            if folder is None:
                print(f"{label}: skipped: {skip}")
                rows.append({"workload": label, "note": f"skipped: {skip}"})
                continue
            print(f"{label} ...", flush=True)
            got, results = {}, {}
            for name in ENGINES:
                out = Path(tmp) / f"{kind}_{name}.parquet"
                stats, err = measure(name, kind, folder, args.repeat, out, args.driver_memory,
                                     args.timeout)
                if stats is None:
                    print(f"  {name}: failed: {err}")
                else:
                    got[name], results[name] = stats, pd.read_parquet(out)
                    print(f"  {name:6s} first {stats['first_s']:7.2f} s  best "
                          f"{stats['best_s']:7.2f} s  JVM start {stats['jvm_start_s']:5.1f} s  "
                          f"open {stats['open_s']:5.2f} s", flush=True)
            row = {"workload": label, "note": ""}
            if "duckdb" in got:
                d = got["duckdb"]
                row.update(duckdb_s=d["best_s"], duckdb_peak_mb=d["python_peak_mb"])
            else:
                row["note"] = "duckdb failed"
            if "spark" in got:
                s = got["spark"]
                row.update(spark_s=s["best_s"], spark_first_s=s["first_s"],
                           jvm_start_s=s["jvm_start_s"], spark_open_s=s["open_s"],
                           spark_peak_mb=s["python_peak_mb"] + s["jvm_peak_mb"])
            else:
                row["note"] = (row["note"] + "; " if row["note"] else "") + "spark failed"
            if len(got) == 2:
                d, s = got["duckdb"], got["spark"]
                row["ratio_warm"] = s["best_s"] / d["best_s"]
                row["ratio_end_to_end"] = ((s["jvm_start_s"] + s["open_s"] + s["first_s"])
                                           / d["first_s"])
                row["note"] = compare(results["duckdb"], results["spark"])
            rows.append(row)
    table = pd.DataFrame(rows)
    cols = ["workload", "duckdb_s", "spark_s", "ratio_warm", "spark_first_s", "jvm_start_s",
            "spark_open_s", "ratio_end_to_end", "duckdb_peak_mb", "spark_peak_mb", "note"]
    table = table.reindex(columns=cols)
    with pd.option_context("display.width", 250, "display.max_colwidth", 80):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}", na_rep="-"))
    print("duckdb_s, spark_s: best query; ratio_warm = spark_s / duckdb_s; ratio_end_to_end = "
          "(JVM start + open + first query) / first DuckDB call; spark_peak_mb = Python + JVM")


if __name__ == "__main__":
    main()
