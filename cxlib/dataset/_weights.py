"""Raking the answers to the population margins a description declares (``weights:``).

When ``cx.yml`` names margins, :func:`rake_responses` replaces the responses' ``weight``
(their design weight, or 1 when the file had none) by raked weights
(:func:`cxlib.weights.rake`, trimmed when ``trim`` is given), so every estimate that takes
``weight`` uses them. The diagnostics (convergence, design effect, effective n, weight range)
go to ``responses.attrs["weights"]``, which the data profile reports. Errors name the
description file and the key.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..errors import DataError
from ..weights import rake
from ._description import Dataset, _nearest, check_shares

__all__ = ["rake_responses", "margins_of"]

MARGIN_COLUMNS = ("variable", "category", "target")


def _where(dataset: Dataset) -> str:
    return dataset.file.name if dataset.file is not None else "cx.yml"


def margins_of(dataset: Dataset) -> dict[str, dict[str, float]]:
    """The declared margins as ``{column: {category: share}}``, shares scaled to sum to 1
    (read from the margins CSV when ``weights.rake`` is a path)."""
    assert dataset.weights is not None
    rake_ = dataset.weights.rake
    where = f"{_where(dataset)}: weights.rake"
    if isinstance(rake_, str):
        path = dataset.folder / rake_
        if not path.is_file():
            raise DataError(f"{where}: margins file {rake_!r} not found in {dataset.folder}")
        try:
            frame = pd.read_csv(path, dtype={"variable": str, "category": str},
                                keep_default_na=False, encoding="utf-8-sig")
        except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise DataError(f"{path.name}: cannot read the margins ({exc})") from None
        missing = [c for c in MARGIN_COLUMNS if c not in frame.columns]
        if missing:
            raise DataError(f"{path.name}: the margins need columns variable, category, target; "
                            f"missing {', '.join(map(repr, missing))}")
        target = pd.to_numeric(frame["target"], errors="coerce")
        if target.isna().any():
            rows = [i + 2 for i in frame.index[target.isna()][:5]]
            raise DataError(f"{path.name}: column 'target' has values that are not numbers "
                            f"(lines {', '.join(map(str, rows))})")
        cells = {str(v): dict(zip(g["category"].map(str), target[g.index].astype(float)))
                 for v, g in frame.groupby("variable", sort=False)}
        where = f"{path.name} (weights.rake)"
        for var, shares in cells.items():
            try:
                check_shares(var, shares)
            except ValueError as exc:
                raise DataError(f"{where}: {exc}") from None
    else:
        cells = rake_
    return {v: {c: t / sum(s.values()) for c, t in s.items()} for v, s in cells.items()}


def _variable(name: str, responses: pd.DataFrame, customers: pd.DataFrame | None,
              where: str) -> pd.Series:
    """The answers' values of ``name`` as text: their own column, else their customer's."""
    if name in responses.columns:
        values = responses[name]
    elif customers is not None and name in customers.columns and "customer_id" in responses:
        values = responses["customer_id"].map(customers.set_index("customer_id")[name])
    else:
        known = list(responses.columns) + (list(customers.columns) if customers is not None
                                           else [])
        raise DataError(f"{where}.{name}: column {name!r} is in neither the responses nor the "
                        f"customers they name{_nearest(name, known)}")
    return values.map(lambda v: None if pd.isna(v) else str(v))


def rake_responses(responses: pd.DataFrame, customers: pd.DataFrame | None,
                   dataset: Dataset) -> pd.DataFrame:
    """``responses`` with ``weight`` raked to the description's margins (see module doc)."""
    weights = dataset.weights
    assert weights is not None
    where = f"{_where(dataset)}: weights.rake"
    margins = margins_of(dataset)
    frame = pd.DataFrame({v: _variable(v, responses, customers, where) for v in margins},
                         index=responses.index)
    frame["weight"] = responses["weight"] if "weight" in responses else 1.0
    for var, cells in margins.items():
        absent = [c for c in cells if not (frame[var] == c).any()]
        if absent:
            seen = ", ".join(map(repr, sorted(frame[var].dropna().unique())[:10]))
            raise DataError(f"{where}.{var}: categor{'y' if len(absent) == 1 else 'ies'} "
                            f"{', '.join(map(repr, absent))} of the margins not in the data "
                            f"(the answers have {seen or 'none'}); merge it with a "
                            "neighbouring category or drop it from the margins")
    try:
        result = rake(frame, margins, weight="weight", trim=weights.trim)
    except DataError as exc:
        raise DataError(f"{where}: {str(exc).removeprefix('rake: ')}") from None
    attrs = dict(responses.attrs)
    out = responses.copy()
    out["weight"] = result.weights.to_numpy()
    attrs["filled"] = [c for c in attrs.get("filled", []) if c != "weight"]
    attrs["columns_from"] = {**attrs.get("columns_from", {}),
                             "weight": f"raked to {where.split(': ')[-1]}"}
    attrs["weights"] = weights_attrs(result)
    out.attrs = attrs
    return out


def weights_attrs(result: Any) -> dict[str, Any]:
    """A raking result as plain values (``frame.attrs`` travel with copies and Parquet)."""
    summary = result.summary()
    return {"headline": result.headline(),
            "diagnostics": [{"diagnostic": str(k), "value": _plain(r["value"]),
                             "meaning": str(r["meaning"])} for k, r in summary.iterrows()],
            "margins": [{k: _plain(v) for k, v in row.items()}
                        for row in result.margins.to_dict("records")]}


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value

