"""PLS path modelling on covariance matrices, batched: one fit or thousands of resamples.

Every PLS-PM quantity except the scores themselves is a function of the
indicators' covariance matrix, so the algorithm runs on a stack ``S`` of shape
(B, p, p): B = 1 for a fit, B = resamples for the bootstrap (vectorised with
numpy's batched linear algebra).

The iteration reproduces R plspm (Sanchez, Trinchera & Russolillo, plspm 0.4/0.5,
``get_weights``; Lohmoller 1989; Tenenhaus et al. 2005, CSDA 48):

* start from unit weights scaled so each block sum has unit (population) variance;
* outer estimates Y standardised as R's ``scale(Y) * sqrt((n-1)/n)``, i.e. with
  population standard deviation (n-1)/n: this constant changes nothing but the
  scale of the iterated weights, which the stopping rule sees, so it is kept;
* inner weights: centroid = sign of correlations, factorial = correlations,
  path = regression coefficients on predecessors and correlations with followers;
* Mode A: w_j = cov(x_j, z); Mode B: w = S_jj^{-1} cov(x_j, z);
* stop when sum((|w_old| - |w_new|)^2) < tol (default 1e-6), as plspm does;
* finally weights are rescaled so each score has unit population variance, and a
  construct whose indicators mostly correlate negatively with it is flipped
  (plspm flips the scores only; here weights and scores flip together).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SCHEMES = ("centroid", "factorial", "path")


@dataclass
class Structure:
    """Array form of a spec: outer design, path matrix and modes."""

    odm: np.ndarray        # (p, m) 0/1
    path: np.ndarray       # (m, m) path[k, j] = 1 when j -> k
    mode_b: np.ndarray     # (m,) bool
    block_of: np.ndarray   # (p,) index of each indicator's construct

    @property
    def endogenous(self) -> list[int]:
        return [k for k in range(self.path.shape[0]) if self.path[k].any()]


@dataclass
class CoreFit:
    """Batched estimates; leading axis = resample (B)."""

    W: np.ndarray           # (B, p, m) outer weights, zeros outside blocks
    R: np.ndarray           # (B, m, m) construct-score correlations
    paths: np.ndarray       # (B, m, m) paths[k, j]: j -> k
    r2: np.ndarray          # (B, m)
    xload: np.ndarray       # (B, p, m) cross-loadings
    total: np.ndarray       # (B, m, m) total effects [to, from]
    iterations: np.ndarray  # (B,)
    ok: np.ndarray          # (B,) converged and finite

    @property
    def weights(self) -> np.ndarray:       # (B, p)
        return self.W.sum(axis=2)

    @property
    def loadings(self) -> np.ndarray:      # (B, p)
        p = self.xload.shape[1]
        return self.xload[:, np.arange(p), self._block_of]

    _block_of: np.ndarray = None  # set by pls_core


def _corr(C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sd = np.sqrt(np.clip(np.einsum("bii->bi", C), 0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        return C / (sd[:, :, None] * sd[:, None, :]), sd


def _inner_weights(R: np.ndarray, st: Structure, scheme: str) -> np.ndarray:
    adj = st.path + st.path.T
    if scheme == "centroid":
        return np.sign(R * adj)
    if scheme == "factorial":
        return R * adj
    E = np.zeros_like(R)
    for k in range(st.path.shape[0]):
        pred = np.flatnonzero(st.path[k])
        if pred.size:
            A = R[:, pred][:, :, pred]
            E[:, pred, k] = np.linalg.solve(A, R[:, pred, k][..., None])[..., 0]
        foll = np.flatnonzero(st.path[:, k])
        if foll.size:
            E[:, foll, k] = R[:, k, foll]
    return E


def _safe_solve(A: np.ndarray, b: np.ndarray, bad: np.ndarray) -> np.ndarray:
    """Batched solve; a singular system marks its resample bad instead of raising."""
    try:
        return np.linalg.solve(A, b)
    except np.linalg.LinAlgError:
        out = np.full_like(b, np.nan)
        for i in range(A.shape[0]):
            try:
                out[i] = np.linalg.solve(A[i], b[i])
            except np.linalg.LinAlgError:
                bad[i] = True
        return out


def pls_core(S: np.ndarray, n: int, st: Structure, scheme: str = "path",
             tol: float = 1e-6, maxiter: int = 100) -> CoreFit:
    """PLS-PM on a stack of (population) covariance matrices of the treated indicators."""
    S = np.asarray(S, dtype=float)
    if S.ndim == 2:
        S = S[None]
    B, p, _ = S.shape
    m = st.odm.shape[1]
    odm = st.odm
    c = (n - 1) / n
    bad = ~np.isfinite(S).all(axis=(1, 2))
    S = np.where(bad[:, None, None], np.eye(p), S)

    block_var = np.einsum("pk,bpq,qk->bk", odm, S, odm)
    with np.errstate(divide="ignore", invalid="ignore"):
        W = odm[None] / np.sqrt(block_var)[:, None, :]
    w_old = W.sum(axis=2)
    active = np.ones(B, dtype=bool)
    iterations = np.zeros(B, dtype=int)
    converged = np.zeros(B, dtype=bool)
    b_blocks = [np.flatnonzero(st.block_of == k) for k in range(m)]
    for it in range(1, maxiter + 1):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        Sa, Wa = S[idx], W[idx]
        SW = Sa @ Wa
        C = Wa.transpose(0, 2, 1) @ SW
        R, sd = _corr(C)
        E = _inner_weights(R, st, scheme)
        with np.errstate(divide="ignore", invalid="ignore"):
            D = c / sd                                    # Y = XW * c / sd
            T = (SW * D[:, None, :]) @ E                   # cov(X, Z)
        W_new = T * odm[None]
        bad_a = np.zeros(idx.size, dtype=bool)
        for k in np.flatnonzero(st.mode_b):
            j = b_blocks[k]
            W_new[:, j, k] = _safe_solve(Sa[:, j][:, :, j], T[:, j, k][..., None], bad_a)[..., 0]
        w_new = W_new.sum(axis=2)
        dif = ((np.abs(w_old[idx]) - np.abs(w_new)) ** 2).sum(axis=1)
        W[idx] = W_new
        w_old[idx] = w_new
        iterations[idx] = it
        finite = np.isfinite(dif)
        bad[idx[~finite | bad_a]] = True
        done = (dif < tol) & finite & ~bad_a
        converged[idx[done]] = True
        active[idx[done | ~finite | bad_a]] = False

    # unit-variance scores, sign fixed by the majority of the block's loadings
    C = W.transpose(0, 2, 1) @ S @ W
    with np.errstate(divide="ignore", invalid="ignore"):
        W = W / np.sqrt(np.einsum("bkk->bk", C))[:, None, :]
        sdx = np.sqrt(np.einsum("bpp->bp", S))
        xload = (S @ W) / sdx[:, :, None]
    votes = np.einsum("bpk,pk->bk", np.sign(xload), odm)
    flip = np.where(np.sign(votes) <= 0, -1.0, 1.0)
    W = W * flip[:, None, :]
    xload = xload * flip[:, None, :]
    R = W.transpose(0, 2, 1) @ S @ W

    paths = np.zeros((B, m, m))
    r2 = np.zeros((B, m))
    for k in st.endogenous:
        pred = np.flatnonzero(st.path[k])
        A = R[:, pred][:, :, pred]
        coef = _safe_solve(A, R[:, pred, k][..., None], bad)[..., 0]
        paths[:, k, pred] = coef
        r2[:, k] = (coef * R[:, pred, k]).sum(axis=1)
    eye = np.eye(m)
    total = _safe_solve(np.broadcast_to(eye, paths.shape) - paths,
                        np.broadcast_to(eye, paths.shape).copy(), bad) - eye
    ok = converged & ~bad & np.isfinite(W).all(axis=(1, 2)) & np.isfinite(paths).all(axis=(1, 2))
    fit = CoreFit(W, R, paths, r2, xload, total, iterations, ok)
    fit._block_of = st.block_of
    return fit


def treated_cov(X: np.ndarray, scaled: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Population covariance (or correlation when scaled) of X, with means and sds."""
    mean = X.mean(axis=0)
    Xc = X - mean
    S = Xc.T @ Xc / len(X)
    sd = np.sqrt(np.diag(S))
    if scaled:
        S = S / np.outer(sd, sd)
    return S, mean, sd


def resample_cov(Xc: np.ndarray, counts: np.ndarray, scaled: bool
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Covariances of resamples given as counts (B, n) over the rows of centred X.

    Counts are bootstrap frequencies, or 0/1 masks for a (grouped) jackknife; means and
    covariances divide by each resample's total count.
    """
    w = counts.astype(float)
    n = w.sum(axis=1)[:, None]                          # rows in each resample
    mean = w @ Xc / n                                   # (B, p)
    G = np.empty((len(w), Xc.shape[1], Xc.shape[1]))
    for b in range(len(w)):
        G[b] = (Xc.T * w[b]) @ Xc
    S = G / n[:, :, None] - mean[:, :, None] * mean[:, None, :]
    sd = np.sqrt(np.clip(np.einsum("bpp->bp", S), 0, None))
    if scaled:
        with np.errstate(divide="ignore", invalid="ignore"):
            S = S / (sd[:, :, None] * sd[:, None, :])
    return S, mean, sd
