"""What each column of a customer table is, and the preprocessing learnt on training rows.

Kinds: ``numeric``, ``binary`` (true/false, 0/1, yes/no) and ``categorical`` (text); id-like
and date columns are left out; numeric-looking text with blanks is an error naming the rows,
or an explicit, reported coercion to missing. ``_Prep`` imputes (median or a ``(missing)``
level) with missing indicators, dummy-codes against the most common level, lumps rare
levels into ``(other)`` and standardises; it is fitted inside each cross-validation fold.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..checks import check_option, row_numbers, rows_text
from ..errors import DataError, ModelError, StatisticalWarning

__all__ = ["binary_target", "infer_columns"]

YES = {"yes", "y", "true", "t", "1", "churned", "churn"}
NO = {"no", "n", "false", "f", "0", "stayed", "active"}
MAX_LEVELS = 50
ID_NAME = re.compile(r"(^id$|_id$|^id_|ID$|Id$|^uuid$)")


# -- targets and column kinds ---------------------------------------------------------------

def binary_target(series: pd.Series, name: str = "target") -> pd.Series:
    """0/1 from true/false, 0/1 or yes/no text (case-insensitive); errors name the rows."""
    s = series
    if s.isna().any():
        raise DataError(f"target {name!r} is empty in {int(s.isna().sum())} rows "
                        f"(rows {rows_text(row_numbers(s.isna()))})")
    if pd.api.types.is_bool_dtype(s.dtype):
        out = s.astype(int)
    elif pd.api.types.is_numeric_dtype(s.dtype):
        bad = ~s.isin([0, 1])
        if bad.any():
            raise DataError(f"target {name!r} must have two classes coded 0/1; found "
                            f"{sorted(pd.unique(s[bad]))[:5]} in rows "
                            f"{rows_text(row_numbers(bad), list(s[bad]))}")
        out = s.astype(int)
    else:
        text = s.astype(str).str.strip().str.lower()
        known = text.isin(YES | NO)
        values = sorted(pd.unique(s.astype(str)))
        if not known.all():
            raise DataError(f"target {name!r} must have two classes (true/false, 0/1, yes/no); "
                            f"found values {values[:6]}; unrecognised in rows "
                            f"{rows_text(row_numbers(~known), list(s[~known]))}")
        out = text.isin(YES).astype(int)
    classes = out.unique()
    if len(classes) < 2:
        raise ModelError(f"target {name!r} has a single class ({int(classes[0])} in all "
                         f"{len(out):,} rows): nothing to learn")
    return out.rename(name)


def _is_id(name: str, s: pd.Series) -> bool:
    if ID_NAME.search(str(name)):
        return True
    if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        return False
    return len(s) > 20 and s.nunique(dropna=True) == len(s)


def _blank(s: pd.Series) -> pd.Series:
    return s.astype(str).str.strip().eq("") & s.notna()


def infer_columns(frame: pd.DataFrame, target: str, features: Sequence[str] | None = None,
                  exclude: Sequence[str] = (), coerce: str = "error"
                  ) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """Decide each feature's kind: ``numeric``, ``binary`` or ``categorical``.

    Returns the (possibly converted) feature frame, ``{column: kind}`` and notes.
    Numeric-looking text with blanks or stray text raises ``DataError`` naming the column
    and rows, unless ``coerce="numeric"`` (then they become missing, and a note says so).
    """
    check_option("coerce", coerce, ("error", "numeric"), where="infer_columns")
    notes: list[str] = []
    if features is None:
        cand = [c for c in frame.columns if c != target and c not in exclude]
        ids = [c for c in cand if _is_id(c, frame[c])]
        if ids:
            notes.append(f"id-like column(s) left out: {', '.join(ids)}")
        dates = [c for c in cand if pd.api.types.is_datetime64_any_dtype(frame[c].dtype)]
        if dates:
            notes.append(f"date column(s) left out (derive durations first): {', '.join(dates)}")
        cand = [c for c in cand if c not in ids and c not in dates]
    else:
        missing = [c for c in features if c not in frame.columns]
        if missing:
            raise DataError(f"feature column(s) not found: {', '.join(map(repr, missing))}")
        cand = [c for c in features if c != target and c not in exclude]
    out, kinds = {}, {}
    for c in cand:
        s = frame[c]
        if s.isna().all() or (not pd.api.types.is_numeric_dtype(s.dtype) and _blank(s).add(
                s.isna()).all()):
            notes.append(f"column {c!r} is empty in every row: left out")
            warnings.warn(f"fit: column {c!r} is empty in every row and is left out",
                          StatisticalWarning, stacklevel=3)
            continue
        if pd.api.types.is_bool_dtype(s.dtype):
            s, kind = s.astype("boolean").astype("Float64").astype(float), "binary"
        elif pd.api.types.is_numeric_dtype(s.dtype):
            s = s.astype("Float64").astype(float)
            kind = "binary" if set(np.unique(s[~np.isnan(s)])) <= {0.0, 1.0} else "numeric"
        else:
            text = s.astype("object").where(s.notna(), None)
            text = text.map(lambda v: v if v is None else str(v).strip())
            text = text.where(text != "", None)
            low = text.dropna().str.lower()
            number = pd.to_numeric(text, errors="coerce")
            parsed = number.notna().sum() / max(text.notna().sum(), 1)
            if len(low) and set(low.unique()) <= (YES | NO) and low.nunique() == 2 and not (
                    parsed == 1 and set(low.unique()) - {"0", "1"}):
                s, kind = text.str.lower().isin(YES).astype(float).where(text.notna()), "binary"
            elif parsed >= 0.9 and text.notna().sum() > 0:
                bad = s.notna() & number.isna()
                if bad.any():
                    msg = (f"column {c!r} looks numeric but has {int(bad.sum())} blank or "
                           f"non-numeric values (rows {rows_text(row_numbers(bad), list(s[bad]))})")
                    if coerce == "error":
                        raise DataError(f"fit: {msg}; clean it, or pass coerce='numeric' to "
                                        "treat them as missing")
                    notes.append(f"{msg}: coerced to missing")
                    warnings.warn(f"fit: {msg}: coerced to missing", StatisticalWarning,
                                  stacklevel=3)
                s, kind = number.astype(float), "numeric"
            else:
                if text.nunique() > MAX_LEVELS:
                    notes.append(f"column {c!r} has {text.nunique()} text levels (> {MAX_LEVELS})"
                                 ": left out")
                    continue
                s, kind = text, "categorical"
        if s.nunique(dropna=True) < 2:
            notes.append(f"column {c!r} is constant: left out")
            continue
        out[c], kinds[c] = s, kind
    if not kinds:
        raise ModelError(f"no usable feature columns (target {target!r}; "
                         + ("; ".join(notes) if notes else "no other columns") + ")")
    return pd.DataFrame(out, index=frame.index), kinds, notes


# -- preprocessing learnt on training rows ---------------------------------------------------

class _Prep:
    """Impute (median / '(missing)'), add missing indicators, dummy-code, standardise."""

    def __init__(self, kinds: dict[str, str], min_level: int = 10):
        self.kinds = kinds
        self.min_level = min_level

    def fit(self, X: pd.DataFrame) -> _Prep:
        self.fill_, self.mean_, self.sd_, self.levels_, self.ref_, self.missing_ = \
            {}, {}, {}, {}, {}, []
        self.pattern_: dict[str, np.ndarray] = {}
        for c, kind in self.kinds.items():
            s = X[c]
            if kind == "categorical":
                counts = s.fillna("(missing)").value_counts()
                keep = counts[counts >= self.min_level].index.tolist()
                if len(keep) < len(counts):
                    keep.append("(other)")
                self.ref_[c] = str(counts.index[0])
                self.levels_[c] = [lv for lv in keep if lv != self.ref_[c]]
            else:
                x = s.to_numpy(dtype=float)
                med = np.nanmedian(x) if np.isfinite(x).any() else 0.0
                self.fill_[c] = float(med)
                if np.isnan(x).any():
                    self.missing_.append(c)
                filled = np.where(np.isnan(x), med, x)
                self.pattern_[c] = np.isnan(x)
                self.mean_[c] = float(filled.mean())
                sd = float(filled.std())
                self.sd_[c] = sd if sd > 0 else 1.0
        self.names_, self.base_, self.kind_of_ = [], [], []
        for c, kind in self.kinds.items():
            if kind == "categorical":
                for lv in self.levels_[c]:
                    self.names_.append(f"{c}[{lv}]")
                    self.base_.append(c)
                    self.kind_of_.append("level")
            else:
                self.names_.append(c)
                self.base_.append(c)
                self.kind_of_.append(kind)
        # columns missing in exactly the same rows share one indicator (a survey not answered)
        groups: list[list[str]] = []
        for c in self.missing_:
            for g in groups:
                if np.array_equal(self.pattern_[g[0]], self.pattern_[c]):
                    g.append(c)
                    break
            else:
                groups.append([c])
        self.missing_ = [g[0] for g in groups]
        self.missing_label_ = {g[0]: "+".join(g) for g in groups}
        for c in self.missing_:
            self.names_.append(f"{self.missing_label_[c]}[missing]")
            self.base_.append(c)
            self.kind_of_.append("missing")
        del self.pattern_
        return self

    def transform(self, X: pd.DataFrame, standardise: bool = True) -> np.ndarray:
        cols = []
        for c, kind in self.kinds.items():
            s = X[c]
            if kind == "categorical":
                text = s.astype("object").where(s.notna(), "(missing)").astype(str)
                known = set(self.levels_[c]) | {self.ref_[c]}
                if "(other)" in self.levels_[c]:
                    text = text.where(text.isin(known), "(other)")
                for lv in self.levels_[c]:
                    cols.append((text == lv).to_numpy(dtype=float))
            else:
                x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
                x = np.where(np.isnan(x), self.fill_[c], x)
                if standardise and kind == "numeric":
                    x = (x - self.mean_[c]) / self.sd_[c]
                cols.append(x)
        for c in self.missing_:
            cols.append(pd.to_numeric(X[c], errors="coerce").isna().to_numpy(dtype=float))
        return np.column_stack(cols) if cols else np.empty((len(X), 0))


def _coerce_like(frame: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    """Convert new rows the way fit converted the training columns."""
    out = {}
    for c, kind in kinds.items():
        s = frame[c]
        if kind == "categorical":
            text = s.astype("object").where(s.notna(), None)
            out[c] = text.map(lambda v: v if v is None else str(v).strip())
        elif kind == "binary" and not pd.api.types.is_numeric_dtype(s.dtype) and not \
                pd.api.types.is_bool_dtype(s.dtype):
            t = s.astype(str).str.strip().str.lower()
            out[c] = t.isin(YES).astype(float).where(t.isin(YES | NO))
        else:
            out[c] = pd.to_numeric(s.astype("object").map(
                lambda v: float(v) if isinstance(v, (bool, np.bool_)) else v),
                errors="coerce").astype(float)
    return pd.DataFrame(out, index=frame.index)
