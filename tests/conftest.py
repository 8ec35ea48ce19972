"""Shared fixtures: one simulated company per session (about 2 s)."""

from __future__ import annotations

from pathlib import Path

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
