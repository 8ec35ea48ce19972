"""One report per store (issue 18): ``cx report 01 03 --per store`` on the sample's 50 stores.

Wall time of the whole command (48 stores rendered, 2 below min n listed; 96 pages, ``--jobs
2``), against separate ``cx report 01 03 -p unit_column store -p unit <store>`` calls, one per
store: those are timed for ``--separate`` stores (default 3) and EXTRAPOLATED to the 48
rendered stores (labelled so in the output). Target: the 50 stores under 5 minutes on this
2-core machine. The load average before each case is printed: the machine is shared.

Run: ``python -m benchmarks.bench_per_unit [--separate 3] [--jobs 2]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .bench_engine import machine

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 300.0


CPU = {"s": 0.0}  # CPU seconds of the last command's process tree (waited-for descendants)


def _cx(args: list[str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "cxlib.cli", "report", "--quiet", *args],
                          cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU["s"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if proc.returncode not in (0, 1):  # 1: a page failed (counted from the manifest)
        raise SystemExit(f"cx report {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return wall


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", default=str(ROOT / "data" / "sample"))
    ap.add_argument("--separate", type=int, default=3, help="separate runs timed")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    print(f"\n== cx report --per store (notebooks 01 and 03, --jobs {args.jobs}); {machine()}")
    common = ["01", "03", "--jobs", str(args.jobs), "--no-profile", "-p", "source",
              str(Path(args.sample).resolve())]
    with tempfile.TemporaryDirectory(prefix="cx-bench-per-") as tmp:
        print(f"load average before: {os.getloadavg()[0]:.1f}")
        per_s = _cx([*common, "--per", "store", "--out", f"{tmp}/per", "--run-id", "per"])
        manifest = json.loads(Path(f"{tmp}/per/per/manifest.json").read_text(encoding="utf-8"))
        units = manifest["units"]["units"]
        rendered = [u["unit"] for u in units if not u["small"]]
        pages = len(manifest["notebooks"])
        failed = [nb["name"] for nb in manifest["notebooks"] if nb["status"] != "ok"]
        per_cpu = CPU["s"]
        print(f"--per store: {per_s:.0f} s wall, {per_cpu:.0f} CPU s, for {len(rendered)} stores rendered "
              f"({pages} pages, {len(failed)} failed), {len(units) - len(rendered)} below min n "
              "listed; "
              f"target {TARGET_S:.0f} s: {'met' if per_s < TARGET_S else 'NOT met'} "
              f"({per_s / TARGET_S:.2f} of it)")
        print(f"load average before: {os.getloadavg()[0]:.1f}")
        times, cpus = [], []
        for i, unit in enumerate(rendered[:args.separate]):
            times.append(_cx([*common, "-p", "unit_column", "store", "-p", "unit", unit,
                              "--out", f"{tmp}/one", "--run-id", f"one{i}"]))
            cpus.append(CPU["s"])
        each = sum(times) / len(times)
        total = each * len(rendered)
        print(f"separate cx report per store: {each:.0f} s each (mean of {len(times)}: "
              f"{', '.join(f'{t:.0f}' for t in times)} s); EXTRAPOLATED to "
              f"{len(rendered)} stores: {total:.0f} s")
        cpu_total = sum(cpus) / len(cpus) * len(rendered)
        print(f"separate calls, CPU: {sum(cpus) / len(cpus):.0f} CPU s each; EXTRAPOLATED: "
              f"{cpu_total:.0f} CPU s")
        print(f"ratio --per / separate calls: wall {per_s / total:.2f} "
              f"({total / per_s:.1f}x faster), CPU {per_cpu / cpu_total:.2f}; "
              f"--per CPU / 2 cores = {per_cpu / 2:.0f} s (the wall time on an idle machine, "
              "at best)")


if __name__ == "__main__":
    main()
