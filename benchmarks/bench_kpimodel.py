"""PLS path modelling: cxlib.kpimodel vs the `plspm` package from PyPI (0.5.7).

plspm 0.5.7 fails on pandas 3 (``ValueError: zip() argument 2 is longer than argument 1``
in ``InnerModel``), so it runs in its own virtual environment, ``.venv-peers/plspm``, built
once from ``benchmarks/peers/plspm-requirements.txt`` (pandas 2) and reused; nothing is added
to the project's dependencies. Each plspm case runs in a subprocess
(``benchmarks/peers/plspm_peer.py``) that reads the same data from a temporary ``.npy`` file
(exact float64, no extra dependency in the peer) and prints JSON timings; cxlib runs here.

Same model (ECSI), same data, centroid scheme, raw (unscaled) indicators, 2 processes each:
- fit time (best of 3) at n = 250 (the ECSI data) and n = 100,000 (ECSI rows resampled with
  jitter, simulated);
- fit + 1,000-resample bootstrap time at both sizes. Where plspm's projected bootstrap time
  exceeds ``--peer-budget`` seconds (default 240) it is timed on fewer resamples and scaled
  to 1,000 (said in the ``note`` column); ``--peer-budget 3000`` runs all of them.
Prints seconds, the ratio plspm / cxlib (> 1: cxlib faster), the largest absolute difference
of the path coefficients, and the machine. Without network, or when the peer venv cannot be
built, it says why and prints cxlib's timings only. Run: ``python -m benchmarks.bench_kpimodel``
(``--no-peer`` skips plspm). Not imported by tests.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from cxlib import kpimodel as km
from cxlib import paths

REF = paths.PROJECT_ROOT.parent / "shared" / "reference" / "ecsi_satisfaction" / "satisfaction.csv"
BLOCKS = {"IMAG": [f"imag{i}" for i in range(1, 6)], "EXPE": [f"expe{i}" for i in range(1, 6)],
          "QUAL": [f"qual{i}" for i in range(1, 6)], "VAL": [f"val{i}" for i in range(1, 5)],
          "SAT": [f"sat{i}" for i in range(1, 5)], "LOY": [f"loy{i}" for i in range(1, 5)]}
PATHS = {"EXPE": ["IMAG"], "QUAL": ["EXPE"], "VAL": ["EXPE", "QUAL"],
         "SAT": ["IMAG", "EXPE", "QUAL", "VAL"], "LOY": ["IMAG", "SAT"]}
SPEC = {"constructs": BLOCKS, "paths": PATHS}
SCHEME = "centroid"
BOOT = 1000
JOBS = 2          # cxlib n_jobs and plspm processes
REPEAT = 3        # fits are timed as the best of this many runs (both sides)

PEERS = Path(__file__).resolve().parent / "peers"
PEER_VENV = paths.PROJECT_ROOT / ".venv-peers" / "plspm"
PEER_REQS = PEERS / "plspm-requirements.txt"
PEER_SCRIPT = PEERS / "plspm_peer.py"


def ecsi(n: int, seed: int = 0) -> pd.DataFrame:
    """The ECSI data (n = 250), or its rows resampled with small jitter to n rows."""
    if REF.exists():
        base = pd.read_csv(REF, index_col=0).drop(columns="gender").astype(float)
    else:  # the reference folder is absent: a simulated stand-in with the same columns
        rng = np.random.default_rng(seed)
        f = rng.standard_normal((250, 1))
        base = pd.DataFrame(7 + 1.5 * f + rng.standard_normal((250, 27)),
                            columns=[c for b in BLOCKS.values() for c in b])
    if n == len(base):
        return base
    rng = np.random.default_rng(seed)
    rows = base.to_numpy()[rng.integers(0, len(base), n)]
    return pd.DataFrame(rows + 0.1 * rng.standard_normal(rows.shape), columns=base.columns)


def timed(fn: Callable[[], object], repeat: int = 1) -> tuple[float, object]:
    """Best wall-clock seconds of ``repeat`` calls, and the last call's result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


# --- the peer: its own venv, one subprocess per case -------------------------------------

def peer_python() -> tuple[Path | None, str]:
    """The peer venv's python, built on first use; or None and the reason it is unavailable."""
    py = PEER_VENV / "bin" / "python"
    stamp = PEER_VENV / ".installed"
    want = hashlib.sha256(PEER_REQS.read_bytes()).hexdigest()
    if py.exists() and stamp.exists() and stamp.read_text().strip() == want:
        return py, "reused"
    print(f"building the plspm peer venv in {PEER_VENV.relative_to(paths.PROJECT_ROOT)} "
          f"(once; about 30 s) ...", flush=True)
    steps = [[sys.executable, "-m", "venv", "--clear", str(PEER_VENV)],
             [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
              "--retries", "1", "--timeout", "20", "-r", str(PEER_REQS)],
             [str(py), "-c", "import plspm.plspm, pandas, numpy"]]
    for cmd in steps:
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, f"`{' '.join(cmd[:4])} ...` failed: {type(exc).__name__}: {exc}"
        if done.returncode != 0:
            err = [ln for ln in (done.stderr or done.stdout).splitlines()
                   if ln.strip() and not ln.startswith("WARNING: Location")]
            return None, (f"`{' '.join(Path(c).name if i == 0 else c for i, c in enumerate(cmd[:4]))}"
                          f" ...` exited {done.returncode}: " + " | ".join(err[-3:]))
    stamp.write_text(want + "\n")
    return py, "built"


def run_peer(py: Path, job: dict, workdir: Path, timeout: float) -> dict:
    """Run one plspm job in the peer venv; its JSON answer, or {"ok": False, "error": ...}."""
    job_file = workdir / "job.json"
    job_file.write_text(json.dumps(job))
    try:
        done = subprocess.run([str(py), str(PEER_SCRIPT), str(job_file)], capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {timeout:.0f} s"}
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        tail = " | ".join((done.stderr or "").strip().splitlines()[-3:])
        return {"ok": False, "error": f"peer exited {done.returncode} without an answer: {tail}"}
    return json.loads(lines[-1])


def path_diff(res: km.PLSResult, peer_paths: list) -> float:
    """Largest |plspm - cxlib| over the path coefficients."""
    ours = {(r["from"], r["to"]): r["estimate"] for _, r in res.paths.iterrows()}
    return max(abs(est - ours[(src, dst)]) for src, dst, est in peer_paths)


def machine() -> list[str]:
    """Cores, CPU model, memory, load and library versions, for the record."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or cpu
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        mem = f", {kb / 2**20:.0f} GiB memory"
    except (OSError, IndexError, ValueError):
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ", load %.2f %.2f %.2f" % os.getloadavg() if hasattr(os, "getloadavg") else ""
    blas = ""
    try:
        from threadpoolctl import threadpool_info
        info = [f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')})"
                for i in threadpool_info() if i.get("user_api") == "blas"]
        blas = "; BLAS " + ", ".join(info) if info else ""
    except ImportError:
        pass
    env = " ".join(f"{k}={os.environ[k]}" for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
                   if k in os.environ)
    return [f"machine: {cpu}, {os.cpu_count()} cores ({usable} usable){mem}{load}",
            f"cxlib side: Python {platform.python_version()}, numpy {np.__version__}, "
            f"pandas {pd.__version__}{blas}" + (f"; {env}" if env else "")]


# --- the benchmark ---------------------------------------------------------------------

def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_kpimodel",
                                 description="cxlib.kpimodel vs PyPI plspm 0.5.7")
    ap.add_argument("--no-peer", action="store_true", help="time cxlib only")
    ap.add_argument("--peer-budget", type=float, default=240.0,
                    help="seconds one plspm bootstrap may take before it is timed on fewer "
                         "resamples and scaled up (default 240)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[250, 100_000])
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")

    print("\n## PLS-PM: plspm (PyPI) vs cxlib.kpimodel (ratio = plspm / cxlib)")
    for line in machine():
        print(line)
    print(f"data: {'ECSI reference (' + str(REF.name) + ')' if REF.exists() else 'simulated stand-in'}"
          f"; larger n = its rows resampled with N(0, 0.1) jitter (seed 0)")
    py, why = (None, "--no-peer") if args.no_peer else peer_python()
    if py is None:
        print(f"plspm peer skipped: {why}")
    rows: list[dict] = []
    peer_versions: dict = {}
    with tempfile.TemporaryDirectory(prefix="cx-bench-plspm-") as tmp:
        work = Path(tmp)
        for n in args.sizes:
            data = ecsi(n)
            np.save(work / "data.npy", data.to_numpy(dtype=np.float64))
            job = {"data": str(work / "data.npy"), "columns": list(data.columns),
                   "blocks": BLOCKS, "paths": PATHS, "scheme": SCHEME, "scaled": False,
                   "processes": JOBS, "repeat": REPEAT, "bootstrap": 0}

            # fit
            t_c, res = timed(lambda: km.fit_pls(SPEC, data, scheme=SCHEME, scaled=False),
                             repeat=REPEAT)
            row = {"case": f"fit n={n:,}", "plspm_s": np.nan, "cxlib_s": t_c,
                   "max_path_diff": np.nan, "note": ""}
            peer_fit = np.nan
            if py is not None:
                ans = run_peer(py, job, work, timeout=max(600.0, 3 * args.peer_budget))
                if ans["ok"]:
                    peer_versions = ans["versions"]
                    peer_fit = row["plspm_s"] = ans["seconds"]
                    row["max_path_diff"] = path_diff(res, ans["paths"])
                else:
                    print(f"plspm fit at n={n:,} failed: {ans['error']}")
                    row["note"] = "plspm failed"
            rows.append(row)

            # fit + bootstrap
            t_c, res_b = timed(lambda: km.fit_pls(SPEC, data, scheme=SCHEME, scaled=False,
                                                  bootstrap=BOOT, seed=1, n_jobs=JOBS))
            b = res_b.bootstrap
            row = {"case": f"fit + {BOOT:,} bootstrap n={n:,}", "plspm_s": np.nan, "cxlib_s": t_c,
                   "max_path_diff": np.nan,
                   "note": f"cxlib {b.n_distinct:,} distinct, {b.n_failed} failed"}
            if py is not None and np.isfinite(peer_fit):
                # a pilot of 10 resamples (plspm's minimum) gives its cost per resample and
                # worker; a resample costs more than a fit (pandas copies, loadings by corrwith)
                k, ans = BOOT, run_peer(py, {**job, "bootstrap": 10}, work, timeout=600.0)
                if ans["ok"]:
                    per = max(ans["seconds"] - peer_fit, 1e-3) / (10 / JOBS)
                    if peer_fit + BOOT / JOBS * per > args.peer_budget:
                        k = max(10, JOBS * int((args.peer_budget - peer_fit) / per))
                        k = min(BOOT, -(-k // JOBS) * JOBS)
                    ans = run_peer(py, {**job, "bootstrap": k}, work,
                                   timeout=max(600.0, 3 * args.peer_budget))
                if ans["ok"]:
                    t_p = ans["seconds"]
                    if k < BOOT:  # initial fit once, then resamples scale linearly
                        t_p = peer_fit + (t_p - peer_fit) * BOOT / k
                    row["plspm_s"] = t_p
                    bs = ans.get("bootstrap", {})
                    note = (f"plspm {bs['kept']:,} kept, {bs['distinct']:,} distinct of {k:,}"
                            if bs else "plspm")
                    if k < BOOT:
                        note += f" (timed on {k:,}, scaled to {BOOT:,})"
                    row["note"] = f"{row['note']}; {note}"
                else:
                    print(f"plspm bootstrap at n={n:,} failed: {ans['error']}")
                    row["note"] += "; plspm failed"
            rows.append(row)

        # plspm's scaled=True divides every indicator by one overall SD (RELIABILITY.md);
        # cxlib standardises each indicator. Show what that does to the point estimates.
        scaled_lines = []
        if py is not None:
            data = ecsi(args.sizes[0])
            np.save(work / "data.npy", data.to_numpy(dtype=np.float64))
            ours = km.fit_pls(SPEC, data, scheme=SCHEME, scaled=True)
            ours_raw = km.fit_pls(SPEC, data, scheme=SCHEME, scaled=False)
            ans = run_peer(py, {**job, "data": str(work / "data.npy"), "scaled": True,
                                "repeat": 1}, work, timeout=600.0)
            if ans["ok"]:
                scaled_lines.append(
                    f"scaled=True at n={len(data):,}: max |plspm - cxlib| = "
                    f"{path_diff(ours, ans['paths']):.2g} (vs cxlib scaled=False: "
                    f"{path_diff(ours_raw, ans['paths']):.2g}): plspm's scaled=True is its "
                    f"scaled=False, since it divides by one overall SD, not each indicator's")
            else:
                scaled_lines.append(f"plspm scaled=True at n={len(data):,} failed: {ans['error']}")

    table = pd.DataFrame(rows)
    table.insert(3, "ratio", table["plspm_s"] / table["cxlib_s"])
    if peer_versions:
        v = peer_versions
        print(f"plspm side ({PEER_VENV.relative_to(paths.PROJECT_ROOT)}, {why}): Python "
              f"{v['python']}, plspm {v['plspm']}, pandas {v['pandas']}, numpy {v['numpy']}")
    print(f"scheme {SCHEME}, scaled=False, {JOBS} processes each, fits best of {REPEAT}, "
          f"bootstrap seed 1 (cxlib)")
    with pd.option_context("display.max_colwidth", 120, "display.width", 200):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    for line in scaled_lines:
        print(line)


if __name__ == "__main__":
    main()
