"""Shared fixtures: one simulated company per session (about 2 s)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cxlib import paths, synth

SEED = 20261122  # the seed `make data` uses for data/sample


@pytest.fixture(scope="session")
def company() -> synth.Company:
    """The default-size company, same seed as the bundled sample."""
    return synth.make_company(n_customers=20_000, seed=SEED)


@pytest.fixture(scope="session")
def small_company() -> synth.Company:
    return synth.make_company(n_customers=1_500, seed=7)


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """data/sample, generated if a test run starts without it (make test generates it)."""
    if not (paths.SAMPLE_DIR / "truth.json").exists():
        synth.write_sample(paths.SAMPLE_DIR, n_customers=20_000, seed=SEED)
    return paths.SAMPLE_DIR


def write_boundary_company(folder: Path) -> pd.Timestamp:
    """Two customers with events placed by hand on the 30-day and window boundaries
    (nanosecond Parquet timestamps); returns the snapshot 2024-06-01.

    A: contact outside the 90-day window; contact 60 days later; repeat exactly 30 days
    later (counts); complaint; contact 30 days + 1 second later (not a repeat); an event at
    the snapshot (excluded). B: one contact. A churns 2024-06-20 (the end of the data).
    """
    customers = pd.DataFrame({
        "customer_id": ["A", "B"], "signup_date": pd.to_datetime(["2023-01-01", "2024-03-02"]),
        "churned": [True, False], "churn_date": pd.to_datetime(["2024-06-20", None]),
        "plan": ["basic", "premium"]})
    t = pd.to_datetime(["2024-02-01 10:00", "2024-04-01 10:00", "2024-05-01 10:00",
                        "2024-05-01 09:00", "2024-05-31 10:00:01", "2024-06-01 00:00",
                        "2024-04-01 12:00"], format="ISO8601").as_unit("ns")
    touchpoints = pd.DataFrame({
        "event_id": [f"E{i}" for i in range(7)], "customer_id": ["A"] * 6 + ["B"],
        "timestamp": t,
        "event_type": ["contact", "contact", "repeat_contact", "complaint", "contact",
                       "contact", "contact"],
        "resolved_first_contact": pd.array([False, False, None, None, True, False, True],
                                           dtype="boolean")})
    customers.to_parquet(folder / "customers.parquet")
    touchpoints.to_parquet(folder / "touchpoints.parquet")
    return pd.Timestamp("2024-06-01")
