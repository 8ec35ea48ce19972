"""Check that a regenerated sample differs from a reference one only by added columns.

``python -m benchmarks.check_sample_columns NEW REFERENCE``: for every table (and
``latent``, ``truth.json``) each column of REFERENCE must be equal in NEW, value for value
and dtype for dtype; columns only in NEW are listed. Exit 1 on any difference. Used when
the simulator gained the ``store`` column (issue 18): no other value of the sample moved.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd


def compare(new: Path, ref: Path) -> list[str]:
    problems: list[str] = []
    for file in sorted(ref.glob("*.parquet")):
        a, b = pd.read_parquet(new / file.name), pd.read_parquet(file)
        added = [c for c in a.columns if c not in b.columns]
        if len(a) != len(b):
            problems.append(f"{file.name}: {len(a)} rows, reference {len(b)}")
            continue
        for col in b.columns:
            if col not in a.columns:
                problems.append(f"{file.name}: column {col} missing")
            elif a[col].dtype != b[col].dtype or not a[col].equals(b[col]):
                problems.append(f"{file.name}: column {col} differs")
        print(f"{file.name}: {len(b.columns)} columns identical" if not problems else "",
              f"added: {added}" if added else "")
    t_new = json.loads((new / "truth.json").read_text(encoding="utf-8"))
    t_ref = json.loads((ref / "truth.json").read_text(encoding="utf-8"))
    if t_new != t_ref:
        problems.append("truth.json differs")
    return problems


if __name__ == "__main__":
    found = compare(Path(sys.argv[1]), Path(sys.argv[2]))
    print("\n".join(found) or "no difference but the added columns")
    sys.exit(1 if found else 0)
