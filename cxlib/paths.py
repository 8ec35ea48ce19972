"""Where things live in a checkout; every default path is derived here, once."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = PROJECT_ROOT / "data"
SAMPLE_DIR = DATA_DIR / "sample"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
REPORTS_DIR = PROJECT_ROOT / "reports"

REPORT_DIR_ENV = "CX_REPORT_DIR"
"""Environment variable the report runner sets for its notebooks' kernels: the folder of the
run, where a notebook's pages are published (files written there sit beside its page).
Unset outside a report run (JupyterLab, a script)."""


def report_dir() -> Path | None:
    """The folder of the report run this process belongs to, or None outside a run."""
    folder = os.environ.get(REPORT_DIR_ENV)
    return Path(folder) if folder else None


def export_path(export: str | Path, name: str) -> Path | None:
    """Where a notebook writes a file for its readers: ``export`` when given; else, in a
    report run, ``name`` in the run's folder (beside the page); else None (not written)."""
    if export:
        return Path(export)
    folder = report_dir()
    return folder / name if folder is not None else None
