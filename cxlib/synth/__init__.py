"""A simulated company with planted truth, for tests, demos and method checks.

``make_company(n_customers=20_000, seed=0)`` returns the contract tables
(customers, responses, touchpoints, kpis, financials) and ``truth``: every
planted parameter (:class:`Params`) plus effects realised in this draw.
Deterministic for a seed: each component draws from its own stream
(``numpy.random.SeedSequence.spawn``).
"""

from __future__ import annotations

import json
from pathlib import Path

from ._company import TABLES, Company, make_company
from ._large import write_large
from ._params import EMOTIONAL_ITEMS, JOURNEY_PHASES, ORGANISATIONS, RATIONAL_ITEMS, Params

__all__ = ["Company", "Params", "make_company", "write_sample", "write_large", "TABLES",
           "JOURNEY_PHASES", "ORGANISATIONS", "RATIONAL_ITEMS", "EMOTIONAL_ITEMS"]


def write_sample(out_dir: Path | str, n_customers: int = 20_000, seed: int = 20261122) -> Path:
    """Write the contract tables as Parquet plus the truth into ``out_dir``.

    Truth: ``truth.json`` (planted parameters, realised effects) and ``latent.parquet``
    (per-customer unobserved variables; see :attr:`Company.latent`).

    Files are written under temporary names and renamed, so an interrupted run
    never leaves a half-written table; ``truth.json`` is written last and marks
    the sample as complete.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    company = make_company(n_customers=n_customers, seed=seed)
    for name, frame in company.tables.items():
        tmp = out / f".{name}.parquet.tmp"
        frame.to_parquet(tmp, index=False)
        tmp.replace(out / f"{name}.parquet")
    tmp = out / ".latent.parquet.tmp"
    company.latent.to_parquet(tmp, index=False)
    tmp.replace(out / "latent.parquet")
    tmp = out / ".truth.json.tmp"
    tmp.write_text(json.dumps(company.truth, indent=2, ensure_ascii=False, default=str),
                   encoding="utf-8")
    tmp.replace(out / "truth.json")
    return out

