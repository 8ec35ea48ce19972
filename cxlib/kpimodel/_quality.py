"""Measurement and structural quality of a fitted PLS model.

Reliability and validity statistics come from :mod:`cxlib.measurement` (Cronbach's
alpha, Dillon-Goldstein's rho, composite reliability, AVE, rho_A, HTMT,
Fornell-Larcker); this module applies them to the model's blocks and adds what
belongs to the structural model: VIF (in ``PLSResult.vif``) and Cohen's f².
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._fit import PLSResult

__all__ = ["measurement_quality", "discriminant_validity", "f_squared"]


def measurement_quality(result: PLSResult) -> pd.DataFrame:
    """Per construct: alpha, DG rho, composite reliability (PLS loadings), rho_A, AVE.

    Reflective (Mode A) blocks only get the reliability measures; composite (Mode B)
    blocks show NaN there (reliability does not apply to formative indices; see VIF).
    """
    from .. import measurement as ms

    rows = []
    outer = result.outer.set_index("indicator")
    for b in result.spec.blocks:
        items = result.data[list(b.indicators)]
        lam = outer.loc[list(b.indicators), "loading"].to_numpy()
        row = {"construct": b.name, "mode": b.mode, "n_indicators": len(b.indicators),
               "cronbach_alpha": np.nan, "dillon_goldstein_rho": np.nan,
               "composite_reliability": np.nan, "rho_a": np.nan,
               "ave": ms.ave(lam) if b.mode == "A" else np.nan}
        if b.mode == "A" and len(b.indicators) > 1:
            w = outer.loc[list(b.indicators), "weight"].to_numpy()
            if not result.scaled:
                w = w * result.sds[list(b.indicators)].to_numpy()
            row.update(cronbach_alpha=ms.cronbach_alpha(items),
                       dillon_goldstein_rho=ms.dillon_goldstein_rho(items),
                       composite_reliability=ms.composite_reliability(lam),
                       rho_a=ms.rho_a(items, w))
        rows.append(row)
    return pd.DataFrame(rows)


def discriminant_validity(result: PLSResult) -> dict[str, pd.DataFrame]:
    """HTMT of the reflective blocks and the Fornell-Larcker matrix (cxlib.measurement)."""
    from .. import measurement as ms

    refl = {b.name: list(b.indicators) for b in result.spec.blocks
            if b.mode == "A" and len(b.indicators) > 1}
    out = {}
    if len(refl) >= 2:
        out["htmt"] = ms.htmt(result.data, refl)
    ave = result.inner_summary.set_index("construct")["ave"].dropna()
    if len(ave):
        out["fornell_larcker"] = ms.fornell_larcker(result.scores, ave[list(refl)] if refl
                                                    else ave)
    return out


def f_squared(result: PLSResult) -> pd.DataFrame:
    """Cohen's f² of each path: (R² with - R² without the predictor) / (1 - R² with).

    Rules of thumb: 0.02 small, 0.15 medium, 0.35 large (Cohen 1988).
    """
    R = result.scores.corr().to_numpy()
    names = result.spec.constructs
    ix = {c: i for i, c in enumerate(names)}
    rows = []

    def r2(y: int, xs: list[int]) -> float:
        if not xs:
            return 0.0
        A = R[np.ix_(xs, xs)]
        r = R[xs, y]
        return float(r @ np.linalg.solve(A, r))

    for dst in result.spec.endogenous():
        pred = [ix[p] for p in result.spec.predecessors(dst)]
        full = r2(ix[dst], pred)
        for p in pred:
            without = r2(ix[dst], [q for q in pred if q != p])
            rows.append({"from": names[p], "to": dst, "f2": (full - without) / (1 - full)})
    return pd.DataFrame(rows)
