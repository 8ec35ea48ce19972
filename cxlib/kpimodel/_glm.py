"""Batched weighted least squares and logistic regression (one fit per bootstrap resample).

Frequency weights (the bootstrap counts) make a resample's fit a weighted fit on the
original rows. Logistic regression by Newton-Raphson / IRLS, vectorised over resamples;
a resample whose fit does not converge (e.g. separation) is marked failed.
"""

from __future__ import annotations

import numpy as np


def batched_ols(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """X (B, n, k) or (n, k), y (n,), w (B, n) -> coefficients (B, k), ok (B,)."""
    Xb = np.broadcast_to(X, (w.shape[0], *X.shape[-2:])) if X.ndim == 2 else X
    XtW = (Xb * w[:, :, None]).transpose(0, 2, 1)
    A = XtW @ Xb
    g = XtW @ y
    ok = np.linalg.matrix_rank(A) == A.shape[-1]
    A = np.where(ok[:, None, None], A, np.eye(A.shape[-1]))
    beta = np.linalg.solve(A, g[..., None])[..., 0]
    beta[~ok] = np.nan
    return beta, ok


def batched_logit(X: np.ndarray, y: np.ndarray, w: np.ndarray, maxiter: int = 30,
                  tol: float = 1e-8, start: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Logistic regression per resample by IRLS; returns coefficients (B, k) and ok (B,).

    ``start``: coefficients to start every resample from (e.g. the full-sample fit, which
    halves the iterations for bootstrap resamples); default: the intercept-only fit. The
    log-likelihood is concave, so the solution does not depend on the start.
    """
    B = w.shape[0]
    Xb = np.broadcast_to(X, (B, *X.shape[-2:])) if X.ndim == 2 else X
    k = Xb.shape[-1]
    beta = np.zeros((B, k))
    if start is not None:
        beta[:] = np.asarray(start, dtype=float)
    else:
        ybar = np.clip((w @ y) / w.sum(axis=1), 1e-6, 1 - 1e-6)
        beta[:, 0] = np.log(ybar / (1 - ybar))      # first column is the intercept
    ok = np.zeros(B, dtype=bool)
    active = np.ones(B, dtype=bool)
    for _ in range(maxiter):
        idx = np.flatnonzero(active)
        if not idx.size:
            break
        Xa, wa = Xb[idx], w[idx]
        eta = (Xa @ beta[idx][:, :, None])[:, :, 0]
        p = 1 / (1 + np.exp(-eta))
        XtV = (Xa * (wa * p * (1 - p))[:, :, None]).transpose(0, 2, 1)
        H = XtV @ Xa
        g = (Xa.transpose(0, 2, 1) @ (wa * (y - p))[:, :, None])[:, :, 0]
        try:
            step = np.linalg.solve(H + 1e-10 * np.eye(k), g[..., None])[..., 0]
        except np.linalg.LinAlgError:
            step = np.full_like(g, np.nan)
            for i in range(len(idx)):
                try:
                    step[i] = np.linalg.solve(H[i], g[i])
                except np.linalg.LinAlgError:
                    pass
        beta[idx] += step
        bad = ~np.isfinite(step).all(axis=1) | (np.abs(beta[idx]) > 30).any(axis=1)
        done = (np.abs(step).max(axis=1) < tol) & ~bad
        ok[idx[done]] = True
        active[idx[done | bad]] = False
    beta[~ok] = np.nan
    return beta, ok
