"""Time the PyPI ``plspm`` package on one job; run inside the peer venv, not the project's.

Called by ``benchmarks/bench_kpimodel.py`` as ``<peer python> plspm_peer.py JOB.json``.
The job names a ``.npy`` file of indicator values (float64, rows x columns), its column
names, the model (blocks, paths), the inner scheme, ``scaled``, the number of bootstrap
resamples (0 = fit only), worker processes and how often to repeat the fit. Prints one JSON
object on stdout: seconds (best of ``repeat``), the path coefficients, package versions and,
for a bootstrap, how many resamples plspm kept and how many of them were distinct.
Imports only numpy, pandas and plspm, so it runs where cxlib cannot be installed.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
import warnings


def run(job: dict) -> dict:
    import numpy as np
    import pandas as pd
    import plspm
    import plspm.bootstrap as pb
    import plspm.config as c
    from plspm.mode import Mode
    from plspm.plspm import Plspm
    from plspm.scheme import Scheme

    out: dict = {"versions": {"python": sys.version.split()[0], "plspm": _version("plspm"),
                              "pandas": pd.__version__, "numpy": np.__version__}}
    data = pd.DataFrame(np.load(job["data"]), columns=job["columns"])
    names = list(job["blocks"])
    path = pd.DataFrame(0, index=names, columns=names)
    for dst, srcs in job["paths"].items():
        for src in srcs:
            path.loc[dst, src] = 1
    config = c.Config(path, scaled=job["scaled"])
    for name, cols in job["blocks"].items():
        config.add_lv(name, Mode.A, *[c.MV(col) for col in cols])
    scheme = {"centroid": Scheme.CENTROID, "factorial": Scheme.FACTORIAL,
              "path": Scheme.PATH}[job["scheme"]]
    boot = int(job.get("bootstrap", 0))

    # plspm keeps only summaries of its resamples; record the raw draws it summarises
    # (the 4th call of _create_summary is the direct paths) to count kept / distinct ones.
    seen: list = []
    original = pb._create_summary

    def recording(frame, orig):
        seen.append(frame)
        return original(frame, orig)

    pb._create_summary = recording
    times = []
    for _ in range(1 if boot else max(1, int(job.get("repeat", 1)))):
        seen.clear()
        t0 = time.perf_counter()
        model = Plspm(data, config, scheme, iterations=100, tolerance=1e-6,
                      bootstrap=bool(boot), bootstrap_iterations=boot or 100,
                      processes=int(job.get("processes", 2)))
        times.append(time.perf_counter() - t0)
    out["seconds"] = min(times)
    coef = model.path_coefficients()
    out["paths"] = [[src, dst, float(coef.loc[dst, src])]
                    for dst, srcs in job["paths"].items() for src in srcs]
    if boot and len(seen) >= 4:
        draws = seen[3]
        out["bootstrap"] = {"requested": boot, "kept": int(len(draws)),
                            "distinct": int(len(draws.round(12).drop_duplicates()))}
    del plspm
    return out


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


def main() -> None:
    warnings.simplefilter("ignore")
    with open(sys.argv[1]) as fh:
        job = json.load(fh)
    try:
        result = {"ok": True, **run(job)}
    except Exception as exc:  # report the baseline's failure to the caller, do not hide it
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}",
                  "traceback": traceback.format_exc(limit=4)}
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
