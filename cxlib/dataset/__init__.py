"""Your own data, whatever its shape: the dataset description (``cx.yml``) and its tables.

A description says where each contract table comes from (a contract file, a survey export
read by :func:`cxlib.read_survey`, several exports concatenated, an Excel sheet), how its
columns map to the contract, each score's scale and direction, the item battery with its
constructs, display labels, currency and time zone. Without a ``cx.yml`` the defaults hold:
they describe the sample (``Dataset.default()``). The schema: ``docs/own-data.md``.

- :func:`load_description` reads ``cx.yml`` (a file or the folder holding it);
- :func:`open_dataset` returns the contract tables present, typed and validated;
- :func:`init_description` drafts a commented ``cx.yml`` from the files in a folder, and
  :func:`write_description` writes it (never touching the exports).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ._description import (
    DESCRIPTION_FILE, LABELLED_COLUMNS, TABLES, CesScore, CsatScore, Dataset, Item, Join, Labels, NpsScore,
    RatingScore, Scores, TableSource, Tables, Weights, load_description, parse_description,
    sample_items,
)
from ._init import init_description, inspect_folder, write_description
from ._load import load_tables, resolve_sources

__all__ = ["Dataset", "load_description", "parse_description", "open_dataset",
           "init_description", "write_description", "inspect_folder", "resolve_sources",
           "load_tables", "DESCRIPTION_FILE", "TABLES", "TableSource", "Tables", "Scores",
           "NpsScore", "CsatScore", "CesScore", "RatingScore", "Item", "Join", "Labels",
           "sample_items", "Weights", "LABELLED_COLUMNS"]


def open_dataset(path: Path | str | Dataset | None = None) -> dict[str, pd.DataFrame]:
    """The contract tables of a dataset (a folder, a ``cx.yml`` or a Dataset; None: the
    sample), only those present, validated; ``tables[name].attrs`` say where each came from."""
    dataset = path if isinstance(path, Dataset) else load_description(path)
    return load_tables(dataset)
