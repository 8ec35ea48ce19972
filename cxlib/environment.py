"""What this run was computed with: Python, platform and package versions."""

from __future__ import annotations

import platform
from importlib import metadata

import pandas as pd

PACKAGES: tuple[str, ...] = ("cx-workbench", "numpy", "pandas", "scipy", "statsmodels",
                             "scikit-learn", "plotly", "pandera", "papermill", "nbconvert")


def environment_versions(packages: tuple[str, ...] = PACKAGES) -> pd.DataFrame:
    """One row per component with its version ("not installed" when absent)."""
    rows = [("python", platform.python_version()), ("platform", platform.platform())]
    for name in packages:
        try:
            rows.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            rows.append((name, "not installed"))
    return pd.DataFrame(rows, columns=["component", "version"])
