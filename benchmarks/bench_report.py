"""``cx report`` end to end: every notebook on the sample, then on the 1M-customer data.

Each case is one ``cx report`` command in its own process tree (``--jobs 2``: two notebooks
at a time on this 2-core machine, the default), writing into a temporary report folder:
wall time of the whole command, each notebook's own duration (from the run's manifest) and
the peak memory of its process tree (the report, its workers and kernels: resident sets
summed, sampled from /proc every 0.5 s, and the largest single process). Baseline in the same run: the
sample report; the ratio large / sample says how the report scales with data that are 50x
larger (1M vs 20,000 customers; 100M vs 243k events; 4.7M vs 27k answers). Target (issue
9): the 1M-customer report under 10 minutes. The large case is skipped, saying so, when
``data/large`` is missing (``make data-large``).

Run: ``python -m benchmarks.bench_report [--large data/large] [--jobs 2]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .bench_engine import machine

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 600.0


def _tree_rss(root: int) -> tuple[int, int]:
    """(sum, max) resident bytes of ``root`` and all its descendants, from /proc."""
    parent, rss = {}, {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/statm", encoding="utf-8") as fh:
                rss[int(entry)] = int(fh.read().split()[1]) * page
            parent[int(entry)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        kids = [p for p, pp in parent.items() if pp in frontier and p not in tree]
        tree.update(kids)
        frontier = kids
    sizes = [rss.get(p, 0) for p in tree]
    return sum(sizes), max(sizes)


def _child(data: Path, out: Path, jobs: int) -> None:
    """Run one report; print its wall time and the peak memory of its process tree (JSON),
    sampled from /proc every 0.5 s: the peak of the tree's total and of one process."""
    cx = Path(sys.executable).with_name("cx")
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(cx), "report", "--out", str(out), "--run-id", "bench",
                             "--jobs", str(jobs), "--quiet", "-p", "source", str(data)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    peak_sum = peak_one = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak_sum, peak_one
        while not stop.wait(0.5):
            total, one = _tree_rss(proc.pid)
            peak_sum, peak_one = max(peak_sum, total), max(peak_one, one)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    _, err = proc.communicate()
    stop.set()
    watcher.join()
    wall = time.perf_counter() - t0
    print(json.dumps({"wall_s": wall, "peak_gb": peak_sum / 1024**3,
                      "peak_one_gb": peak_one / 1024**3, "code": proc.returncode,
                      "stderr": err[-2000:]}))


def _case(data: Path, jobs: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="cx-bench-report-") as tmp:
        out = Path(tmp) / "reports"
        proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_report", "--child",
                               str(data), str(out), "--jobs", str(jobs)],
                              cwd=ROOT, capture_output=True, text=True, check=True)
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        manifest = out / "bench" / "manifest.json"
        if manifest.exists():
            run = json.loads(manifest.read_text(encoding="utf-8"))
            res["status"] = run["status"]
            res["notebooks"] = {nb["name"]: (nb["status"], nb["duration_s"])
                                for nb in run["notebooks"]}
        else:
            res["status"] = "no manifest"
            res["notebooks"] = {}
    return res


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", default=str(ROOT / "data" / "sample"))
    ap.add_argument("--large", default=str(ROOT / "data" / "large"))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--child", nargs=2, metavar=("DATA", "OUT"))
    args = ap.parse_args(argv)
    if args.child:
        _child(Path(args.child[0]), Path(args.child[1]), args.jobs)
        return

    print(f"\n== cx report end to end (--jobs {args.jobs}); {machine()}")
    cases = [("sample", Path(args.sample))]
    if (Path(args.large) / "truth.json").exists():
        cases.append(("large", Path(args.large)))
    else:
        print(f"large: skipped, {args.large} has no complete data (run `make data-large`)")
    results = {}
    for name, data in cases:
        res = results[name] = _case(data, args.jobs)
        print(f"{name:<7} {res['wall_s']:7.1f} s wall, peak memory {res['peak_gb']:.1f} GB "
              f"(all processes; largest one {res['peak_one_gb']:.1f} GB), status "
              f"{res['status']} (exit {res['code']})")
        for nb, (status, secs) in res["notebooks"].items():
            print(f"    {nb:<26} {status:<6} {secs:7.1f} s")
        if res["code"] != 0:
            print("    stderr:", res["stderr"].strip().replace("\n", "\n    "))
    if "large" in results:
        large, sample = results["large"]["wall_s"], results["sample"]["wall_s"]
        verdict = "met" if large < TARGET_S else f"MISSED by {large - TARGET_S:.0f} s"
        print(f"ratio large / sample: {large / sample:.1f}x; target {TARGET_S / 60:.0f} min: "
              f"{large / TARGET_S:.2f} of it ({verdict})")


if __name__ == "__main__":
    main()
