"""A copy of the sample with a shift planted in one region's NPS in its latest month."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

SHIFT_REGION = "Chubu"
SHIFT_SHARE = 0.7  # of the region's detractors in the latest month who become promoters


def shifted_responses(responses: pd.DataFrame, customers: pd.DataFrame,
                      region: str = SHIFT_REGION, share: float = SHIFT_SHARE,
                      seed: int = 5) -> tuple[pd.DataFrame, np.ndarray]:
    """``responses`` with ``share`` of ``region``'s detractors (NPS 0-6) in the latest month
    answering 10 instead; and the rows changed."""
    out = responses.copy()
    month = out["response_date"].dt.to_period("M")
    ids = set(customers.loc[customers["region"] == region, "customer_id"])
    rows = np.flatnonzero((month == month.max()).to_numpy() & out["customer_id"].isin(ids)
                          .to_numpy() & (out["nps"] <= 6).fillna(False).to_numpy())
    moved = np.random.default_rng(seed).choice(rows, int(share * len(rows)), replace=False)
    out.loc[out.index[moved], "nps"] = 10
    return out, moved


def shifted_copy(sample: Path, folder: Path, region: str = SHIFT_REGION,
                 share: float = SHIFT_SHARE) -> Path:
    """A copy of the sample's tables in ``folder`` with the shift planted."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in sample.glob("*.parquet"):
        shutil.copy(path, folder / path.name)
    responses = pd.read_parquet(sample / "responses.parquet")
    customers = pd.read_parquet(sample / "customers.parquet")
    changed, _ = shifted_responses(responses, customers, region, share)
    changed.to_parquet(folder / "responses.parquet", index=False)
    return folder


def planted_topic(responses: pd.DataFrame, topic: str, share: float = 0.15,
                  seed: int = 7) -> tuple[pd.DataFrame, np.ndarray]:
    """``responses`` whose comments in the latest month are, for ``share`` of those not
    coded ``topic`` (shipped codebook), replaced by copies of that month's ``topic``
    comments (scores untouched); and the rows changed."""
    from cxlib.text import default_codebook

    out = responses.copy()
    month = out["response_date"].dt.to_period("M")
    latest = (month == month.max()).to_numpy() & out["verbatim"].notna().to_numpy()
    coded = default_codebook().code(out["verbatim"].where(latest))[topic].to_numpy()
    rng = np.random.default_rng(seed)
    others = np.flatnonzero(latest & ~coded)
    moved = rng.choice(others, int(share * len(others)), replace=False)
    copies = out["verbatim"].to_numpy()[rng.choice(np.flatnonzero(coded), len(moved))]
    out.loc[out.index[moved], "verbatim"] = copies
    return out, moved
