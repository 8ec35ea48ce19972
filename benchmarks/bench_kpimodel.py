"""PLS path modelling: cxlib.kpimodel vs the `plspm` package from PyPI (0.5.x).

Same model (ECSI), same data, centroid scheme, raw (unscaled) indicators:
- fit time at n = 250 (the ECSI data) and n = 100,000 (ECSI rows resampled with jitter);
- 1,000-resample bootstrap time at both sizes (plspm with its 2 processes, cxlib with 2 jobs).
Printed as seconds and the ratio plspm / cxlib (> 1: cxlib faster). Also checks that
both give the same path coefficients. Run: ``python -m benchmarks.bench_kpimodel``.
Not imported by tests.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

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


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def plspm_fit(data: pd.DataFrame, boot: int = 0):
    import plspm.config as c
    from plspm.mode import Mode
    from plspm.plspm import Plspm
    from plspm.scheme import Scheme

    names = list(BLOCKS)
    path = pd.DataFrame(0, index=names, columns=names)
    for dst, srcs in PATHS.items():
        for src in srcs:
            path.loc[dst, src] = 1
    config = c.Config(path, scaled=False)
    for name, cols in BLOCKS.items():
        config.add_lv(name, Mode.A, *[c.MV(col) for col in cols])
    return Plspm(data, config, Scheme.CENTROID, iterations=100, tolerance=1e-6,
                 bootstrap=bool(boot), bootstrap_iterations=boot or 100, processes=2)


def main() -> None:
    try:
        import plspm  # noqa: F401
    except ImportError:
        print("plspm (PyPI) is not installed: pip install 'plspm>=0.5,<0.6' to compare")
        return
    rows = []
    warnings.simplefilter("ignore")
    for n in (250, 100_000):
        data = ecsi(n)
        t_c, res = timed(lambda: km.fit_pls(SPEC, data, scheme="centroid", scaled=False))
        try:
            t_p, ref = timed(lambda: plspm_fit(data))
            theirs = ref.path_coefficients()
            diff = max(abs(theirs.loc[r["to"], r["from"]] - r["estimate"])
                       for _, r in res.paths.iterrows())
        except Exception as exc:  # plspm 0.5.7 breaks on pandas 3: say so, keep our timings
            print(f"plspm fit at n={n:,} failed: {type(exc).__name__}: {exc}")
            t_p, diff = float("nan"), float("nan")
        rows.append({"case": f"fit n={n:,}", "plspm_s": t_p, "cxlib_s": t_c,
                     "ratio": t_p / t_c, "max_path_diff": diff})
        t_c, _ = timed(lambda: km.fit_pls(SPEC, data, scheme="centroid", scaled=False,
                                          bootstrap=1000, seed=1, n_jobs=2))
        try:
            t_p = float("nan") if np.isnan(diff) else timed(
                lambda: plspm_fit(data, boot=1000).bootstrap())[0]
        except Exception as exc:  # report, do not hide, a failure of the baseline
            print(f"plspm bootstrap at n={n:,} failed: {type(exc).__name__}: {exc}")
            t_p = float("nan")
        rows.append({"case": f"fit + 1,000 bootstrap n={n:,}", "plspm_s": t_p, "cxlib_s": t_c,
                     "ratio": t_p / t_c, "max_path_diff": np.nan})
    print("\n## PLS-PM: plspm (PyPI) vs cxlib.kpimodel (ratio = plspm / cxlib)")
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.3g}"))


if __name__ == "__main__":
    main()
