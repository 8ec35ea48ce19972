"""Verbatims at scale: 1,000,000 comments tokenised and coded, vs a plain tokenise-only loop.

Comments: a pool of simulated comments (``cxlib.synth._comments.simulate_comments``, Japanese,
English and mixed) repeated up to ``--n``; nothing is cached between comments, so a repeated
comment costs what a new one does. They are processed in chunks of ``--chunk`` by ``--jobs``
worker processes (the engine-friendly way: a chunk in, only its per-comment codes out):

- ``tokenise_only`` (baseline): a plain loop calling SudachiPy on each normalised comment;
- ``cxlib``: :func:`cxlib.text.terms` (tokens, stop words, negation, English path for English
  sentences) and :meth:`Codebook.code` with the default codebook, keeping per comment the
  topic codes and the number of terms.

Time: wall clock of each case (worker start included). Peak memory: the parent's peak
resident set (``VmHWM``) and the largest worker's (``ru_maxrss`` of children). Target
(issue 17): 1M comments tokenised and coded in under 3 minutes on 2 cores.

Run: ``python -m benchmarks.bench_verbatims`` (``--n 1000000 --jobs 2 --chunk 50000``).
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

from .bench_engine import rss_mb

TARGET_SECONDS = 180


def _pool(size: int = 20_000, seed: int = 17) -> list[str]:
    from cxlib.synth._comments import simulate_comments

    frame, _ = simulate_comments(size, seed=seed, comment_share=1.0)
    return frame["verbatim"].astype(object).tolist()


def _tokenise_only(texts: list[str]) -> int:
    from cxlib.text._normalise import normalise
    from cxlib.text._tokens import _sudachi

    tok = _sudachi()
    return sum(len(tok.tokenize(normalise(t))) for t in texts)


def _code(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    from cxlib.text import default_codebook, terms

    codes = default_codebook().code(texts).to_numpy()
    n_terms = np.fromiter((len(terms(t)) for t in texts), np.int32, len(texts))
    return np.packbits(codes, axis=1), n_terms


def _chunks(pool: list[str], n: int, chunk: int):
    reps = -(-chunk // len(pool))
    block = (pool * reps)[:chunk]
    for start in range(0, n, chunk):
        yield block[: min(chunk, n - start)]


def run(case: str, pool: list[str], n: int, jobs: int, chunk: int) -> dict:
    fn = _tokenise_only if case == "tokenise_only" else _code
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=jobs) as ex:
        results = list(ex.map(fn, _chunks(pool, n, chunk)))
    seconds = time.perf_counter() - t0
    kept = (sum(r[0].nbytes + r[1].nbytes for r in results) / 2**20 if case == "cxlib" else 0.0)
    return {"case": case, "comments": n, "seconds": seconds,
            "per_comment_us": 1e6 * seconds / n, "codes_kept_mb": kept}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=50_000)
    args = parser.parse_args(argv)
    print(f"\n## verbatims: {args.n:,} comments tokenised and coded ({args.jobs} processes, "
          f"chunks of {args.chunk:,})")
    print(f"{os.cpu_count()} cores")
    pool = _pool()
    rows = [run(case, pool, args.n, args.jobs, args.chunk) for case in ("tokenise_only", "cxlib")]
    table = pd.DataFrame(rows)
    table["ratio"] = table["seconds"] / table["seconds"].iat[0]
    with pd.option_context("display.width", 160):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory: parent {rss_mb('VmHWM'):.0f} MB, largest worker {children:.0f} MB")
    t = table["seconds"].iat[1] * 1_000_000 / args.n
    print(f"target: 1M comments in under {TARGET_SECONDS} s -> "
          f"{'met' if t < TARGET_SECONDS else 'NOT met'} ({t:.0f} s for 1M"
          f"{'' if args.n == 1_000_000 else ', scaled from this run'})")


if __name__ == "__main__":
    main()
