"""PLS path modelling: cxlib.kpimodel vs the `plspm` package from PyPI (0.5.7).

plspm 0.5.7 fails on pandas 3 (``ValueError: zip() argument 2 is longer than argument 1``
in ``InnerModel``), so it runs in its own virtual environment, ``.venv-peers/plspm``, built
once from ``benchmarks/peers/plspm-requirements.txt`` (pandas 2) and reused; nothing is added
to the project's dependencies. Each plspm case runs in a subprocess
(``benchmarks/peers/plspm_peer.py``) that reads the same data from a temporary ``.npy`` file
(exact float64, no extra dependency in the peer) and prints JSON timings; cxlib runs here.

Same model (ECSI), same data, centroid scheme, raw (unscaled) indicators, 2 processes each:
- fit time (best of 3) at n = 250 (the ECSI data) and n = 1,000,000 (ECSI rows resampled
  with jitter, simulated);
- fit + 1,000-resample bootstrap time at both sizes. cxlib always runs all 1,000. Where
  plspm's projected bootstrap time exceeds ``--peer-budget`` seconds (default 240) it is
  timed on fewer resamples (at least a pilot of 10) and scaled to 1,000: initial fit once,
  then linear in resamples. The table marks such numbers "extrapolated" and says from how
  many resamples; ``--peer-budget 30000`` runs all of them. Every plspm run has a timeout
  (``--peer-timeout``, default 1,800 s); a pilot that times out gives a lower bound.
Prints seconds, the ratio plspm / cxlib (> 1: cxlib faster), the largest absolute difference
of the path coefficients, the machine, and the issue 9 target (bootstrap >= 20x faster than
plspm) per size. Without network, or when the peer venv cannot be built, it says why and
prints cxlib's timings only. Run: ``python -m benchmarks.bench_kpimodel`` (``--no-peer``
skips plspm; ``--sizes 250 100000`` for other sizes). Not imported by tests.
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
PILOT = 10        # plspm resamples timed first (plspm's minimum) to project the rest
TARGET = 20       # issue 9: cxlib's bootstrap at least 20x faster than plspm's

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
    """Run one plspm job in the peer venv; its JSON answer, or {"ok": False, "error": ...}.

    The peer runs in its own process group, so a timeout stops its worker processes too."""
    import signal

    job_file = workdir / "job.json"
    job_file.write_text(json.dumps(job))
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(py), str(PEER_SCRIPT), str(job_file)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return {"ok": False, "error": f"timed out after {timeout:.0f} s"}
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    if not lines:
        tail = " | ".join((stderr or "").strip().splitlines()[-3:])
        return {"ok": False, "error": f"peer exited {proc.returncode} without an answer: {tail}"}
    return {**json.loads(lines[-1]), "wall": time.perf_counter() - t0}


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


def _progress(row: dict) -> None:
    """One line per case as it finishes (the table comes at the end)."""
    peer = f"{row['plspm_s']:10,.2f} s" if np.isfinite(row["plspm_s"]) else "         - "
    print(f"  {row['case']:32s} cxlib {row['cxlib_s']:8.2f} s  plspm {peer}", flush=True)


def peer_bootstrap(py: Path, job: dict, work: Path, peer_fit: float, fit_wall: float,
                   budget: float, timeout: float) -> tuple[float, str]:
    """plspm's fit + BOOT-resample bootstrap time and a note saying how it was obtained.

    A pilot of PILOT resamples gives plspm's cost per resample and worker (a resample costs
    more than a fit: pandas copies, loadings by ``corrwith``). When BOOT resamples would
    take longer than ``budget`` seconds, as many as fit in the budget are timed (the pilot
    itself when that is no more) and the time is scaled to BOOT: the initial fit once, then
    linear in resamples. A pilot stopped by ``timeout`` gives a lower bound: its resamples
    took more than ``timeout`` less the whole fit job's wall time (``fit_wall``: interpreter
    start, imports and the repeated fits, more than the pilot spends outside resampling)."""
    pilot = run_peer(py, {**job, "bootstrap": PILOT}, work, timeout=timeout)
    if not pilot["ok"]:
        if pilot["error"].startswith("timed out"):
            low = peer_fit + max(timeout - fit_wall, 0.0) * BOOT / PILOT
            return low, (f"plspm lower bound: a {PILOT}-resample pilot did not finish in "
                         f"{timeout:,.0f} s, so {BOOT:,} take more than {low:,.0f} s "
                         f"(extrapolated)")
        print(f"plspm bootstrap pilot failed: {pilot['error']}")
        return np.nan, "plspm failed"
    k, ans = BOOT, pilot
    per = max(pilot["seconds"] - peer_fit, 1e-3) / (PILOT / JOBS)
    if peer_fit + BOOT / JOBS * per > budget:
        k = max(PILOT, JOBS * int((budget - peer_fit) / per))
        k = min(BOOT, -(-k // JOBS) * JOBS)
    if k != PILOT:
        ans = run_peer(py, {**job, "bootstrap": k}, work, timeout=timeout)
    if not ans["ok"]:
        print(f"plspm bootstrap of {k:,} failed: {ans['error']}")
        return np.nan, "plspm failed"
    t_p = ans["seconds"]
    if k < BOOT:  # initial fit once, then resamples scale linearly
        t_p = peer_fit + (t_p - peer_fit) * BOOT / k
    bs = ans.get("bootstrap", {})
    note = f"plspm {bs['kept']:,} kept, {bs['distinct']:,} distinct of {k:,}" if bs else "plspm"
    if k < BOOT:
        note += (f"; plspm extrapolated: timed on {k:,} resamples ({ans['seconds']:,.0f} s), "
                 f"scaled to {BOOT:,}")
    return t_p, note


# --- the benchmark ---------------------------------------------------------------------

def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_kpimodel",
                                 description="cxlib.kpimodel vs PyPI plspm 0.5.7")
    ap.add_argument("--no-peer", action="store_true", help="time cxlib only")
    ap.add_argument("--peer-budget", type=float, default=240.0,
                    help="seconds one plspm bootstrap may take before it is timed on fewer "
                         "resamples and scaled up (default 240)")
    ap.add_argument("--peer-timeout", type=float, default=1800.0,
                    help="seconds after which one plspm run is stopped (default 1800)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[250, 1_000_000])
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
            peer_fit = fit_wall = np.nan
            if py is not None:
                ans = run_peer(py, job, work, timeout=args.peer_timeout)
                if ans["ok"]:
                    peer_versions = ans["versions"]
                    peer_fit = row["plspm_s"] = ans["seconds"]
                    fit_wall = ans["wall"]
                    row["max_path_diff"] = path_diff(res, ans["paths"])
                else:
                    print(f"plspm fit at n={n:,} failed: {ans['error']}")
                    row["note"] = "plspm failed"
            rows.append(row)
            _progress(row)

            # fit + bootstrap
            t_c, res_b = timed(lambda: km.fit_pls(SPEC, data, scheme=SCHEME, scaled=False,
                                                  bootstrap=BOOT, seed=1, n_jobs=JOBS))
            b = res_b.bootstrap
            row = {"case": f"fit + {BOOT:,} bootstrap n={n:,}", "plspm_s": np.nan, "cxlib_s": t_c,
                   "max_path_diff": np.nan,
                   "note": f"cxlib {b.n_distinct:,} distinct, {b.n_failed} failed"}
            if py is not None and np.isfinite(peer_fit):
                t_p, note = peer_bootstrap(py, job, work, peer_fit, fit_wall,
                                           args.peer_budget, args.peer_timeout)
                row["plspm_s"] = t_p
                row["note"] = f"{row['note']}; {note}"
            rows.append(row)
            _progress(row)

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
    with pd.option_context("display.max_colwidth", 160, "display.width", 260):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}", na_rep="-"))
    for line in scaled_lines:
        print(line)
    for _, r in table[table["case"].str.contains("bootstrap")].iterrows():
        if not np.isfinite(r["ratio"]):
            print(f"target (bootstrap >= {TARGET}x faster than plspm), {r['case']}: "
                  "not measured (no plspm time)")
            continue
        bound = "at least " if "lower bound" in r["note"] else ""
        extra = " (plspm time extrapolated)" if "extrapolated" in r["note"] else ""
        verdict = ("met" if r["ratio"] >= TARGET
                   else f"MISSED: {r['ratio']:.1f}x, {TARGET / r['ratio']:.1f}x short")
        print(f"target (bootstrap >= {TARGET}x faster than plspm), {r['case']}: "
              f"{bound}{r['ratio']:.0f}x{extra}: {verdict}")


if __name__ == "__main__":
    main()
