"""The model spec analysts read and write: lavaan-style text, or the same as a dict/YAML.

Text form, one statement a line (``#`` starts a comment; a line ending in ``+``
continues on the next)::

    CXI <~ csat_stores + csat_web + first_contact_resolution   # composite (Mode B)
    EMO =~ emo_trust + emo_valued + emo_pride                  # reflective (Mode A)
    EMO ~ CXI                                                  # structural path CXI -> EMO

Dict / YAML form::

    constructs:
      CXI: {mode: formative, indicators: [csat_stores, csat_web]}
      EMO: [emo_trust, emo_valued]          # a bare list is reflective
    paths:
      EMO: [CXI]                            # EMO is explained by CXI
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, ModelError

__all__ = ["Block", "ModelSpec", "parse_spec"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_OPS = (("=~", "A"), ("<~", "B"))
_MODE_WORDS = {"a": "A", "reflective": "A", "mode a": "A",
               "b": "B", "formative": "B", "composite": "B", "mode b": "B"}


@dataclass(frozen=True)
class Block:
    """One construct and its indicators; mode "A" reflective, "B" composite/formative."""

    name: str
    indicators: tuple[str, ...]
    mode: str = "A"


@dataclass(frozen=True)
class ModelSpec:
    """A validated PLS path model: blocks (in declared order) and structural paths."""

    blocks: tuple[Block, ...]
    paths: tuple[tuple[str, str], ...]   # (from, to)
    source: str = ""

    @property
    def constructs(self) -> list[str]:
        return [b.name for b in self.blocks]

    @property
    def indicators(self) -> list[str]:
        return [i for b in self.blocks for i in b.indicators]

    @property
    def modes(self) -> dict[str, str]:
        return {b.name: b.mode for b in self.blocks}

    def block_of(self, indicator: str) -> str:
        for b in self.blocks:
            if indicator in b.indicators:
                return b.name
        raise ModelError(f"block_of: {indicator!r} is not an indicator of the model "
                         f"({', '.join(self.indicators)})")

    def path_matrix(self) -> pd.DataFrame:
        """0/1 matrix with a 1 in row ``to``, column ``from`` (R plspm's convention)."""
        names = self.constructs
        mat = pd.DataFrame(0, index=names, columns=names)
        for src, dst in self.paths:
            mat.loc[dst, src] = 1
        return mat

    def predecessors(self, construct: str) -> list[str]:
        return [s for s, d in self.paths if d == construct]

    def endogenous(self) -> list[str]:
        return [c for c in self.constructs if self.predecessors(c)]

    def to_text(self) -> str:
        lines = [f"{b.name} {'=~' if b.mode == 'A' else '<~'} {' + '.join(b.indicators)}"
                 for b in self.blocks]
        for dst in self.endogenous():
            lines.append(f"{dst} ~ {' + '.join(self.predecessors(dst))}")
        return "\n".join(lines)

    def restrict(self, columns: Any) -> tuple[ModelSpec, list[str]]:
        """The model on the indicators among ``columns`` (e.g. a KPI table without an
        organisation's KPIs), and the indicators left out. A construct left without
        indicators goes, with its paths."""
        have = set(columns)
        dropped = [i for i in self.indicators if i not in have]
        if not dropped:
            return self, []
        blocks = tuple(Block(b.name, tuple(i for i in b.indicators if i in have), b.mode)
                       for b in self.blocks)
        kept = tuple(b for b in blocks if b.indicators)
        names = {b.name for b in kept}
        paths = tuple((a, b) for a, b in self.paths if a in names and b in names)
        return ModelSpec(kept, paths, self.source), dropped

    def check_data(self, data: pd.DataFrame) -> None:
        """Raise one DataError listing unknown, non-numeric and constant indicator columns."""
        problems = []
        missing = [c for c in self.indicators if c not in data.columns]
        for col in missing:
            hint = difflib.get_close_matches(col, [str(c) for c in data.columns], n=1,
                                                  cutoff=0.5)
            problems.append(f"column {col!r} not found" + (f" (did you mean {hint[0]!r}?)"
                                                           if hint else ""))
        for col in (c for c in self.indicators if c in data.columns):
            values = data[col]
            if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
                problems.append(f"column {col!r} is not numeric (dtype {values.dtype})")
                continue
            v = pd.to_numeric(values, errors="coerce").astype(float).dropna()
            if len(v) and v.nunique() <= 1:
                problems.append(f"column {col!r} is constant (every value {v.iloc[0]:g})")
            if not len(v):
                problems.append(f"column {col!r} has no values")
        if problems:
            raise DataError("model spec vs data: " + "; ".join(problems))


def _fail(msg: str) -> None:
    raise ModelError(f"model spec: {msg}")


def _split_terms(rhs: str, where: str) -> list[str]:
    terms = [t.strip() for t in rhs.split("+")]
    if any(not t for t in terms):
        _fail(f"{where}: empty term in '{rhs.strip()}' (a stray '+'?)")
    for t in terms:
        if not _NAME.match(t):
            _fail(f"{where}: '{t}' is not a valid name (letters, digits, '_' and '.'; "
                  "no spaces)")
    return terms


def _parse_text(text: str) -> tuple[list[tuple[str, list[str], str, str]], list[tuple[str, str, str]]]:
    """Blocks (name, indicators, mode, where) and paths (from, to, where) from text."""
    statements: list[tuple[int, str]] = []
    pending, start = "", 0
    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        for part in line.split(";"):
            part = part.strip()
            if not part:
                continue
            if pending:
                pending = f"{pending} {part}"
            else:
                pending, start = part, no
            if not pending.endswith("+"):
                statements.append((start, pending))
                pending = ""
    if pending:
        statements.append((start, pending))
    blocks, paths = [], []
    for no, stmt in statements:
        where = f"line {no}"
        for op, mode in _OPS:
            if op in stmt:
                lhs, rhs = stmt.split(op, 1)
                name = lhs.strip()
                if not _NAME.match(name):
                    _fail(f"{where}: '{name}' is not a valid construct name")
                if not rhs.strip():
                    _fail(f"{where}: construct '{name}' has no indicators")
                blocks.append((name, _split_terms(rhs, where), mode, where))
                break
        else:
            if "~" not in stmt:
                _fail(f"{where}: cannot read '{stmt}'; use 'X =~ a + b' (reflective), "
                      "'X <~ a + b' (composite) or 'Y ~ X1 + X2' (path)")
            lhs, rhs = stmt.split("~", 1)
            dst = lhs.strip()
            if not _NAME.match(dst):
                _fail(f"{where}: '{dst}' is not a valid construct name")
            if not rhs.strip():
                _fail(f"{where}: path into '{dst}' has no predictors")
            for src in _split_terms(rhs, where):
                paths.append((src, dst, where))
    return blocks, paths


def _unknown_keys(given: Mapping, allowed: tuple[str, ...], where: str) -> None:
    for key in given:
        if key not in allowed:
            hint = difflib.get_close_matches(str(key), allowed, n=1)
            _fail(f"{where}: unknown key {key!r}" + (f" (did you mean {hint[0]!r}?)" if hint
                                                     else f"; allowed: {', '.join(allowed)}"))


def _parse_dict(spec: Mapping[str, Any]):
    _unknown_keys(spec, ("constructs", "paths"), "top level")
    constructs = spec.get("constructs") or {}
    if not isinstance(constructs, Mapping) or not constructs:
        _fail("'constructs' must map each construct to its indicators")
    blocks = []
    for name, body in constructs.items():
        where = f"construct {name!r}"
        mode = "A"
        if isinstance(body, str):
            indicators = _split_terms(body, where)
        elif isinstance(body, Mapping):
            _unknown_keys(body, ("mode", "indicators"), where)
            word = str(body.get("mode", "A")).strip().lower()
            if word not in _MODE_WORDS:
                _fail(f"{where}: mode {body.get('mode')!r} unknown; use reflective (A) or "
                      "formative (B)")
            mode = _MODE_WORDS[word]
            indicators = body.get("indicators") or []
        else:
            indicators = list(body or [])
        if isinstance(indicators, str):
            indicators = _split_terms(indicators, where)
        if not indicators:
            _fail(f"{where} has no indicators")
        blocks.append((str(name), [str(i) for i in indicators], mode, where))
    paths = []
    raw_paths = spec.get("paths") or {}
    if not isinstance(raw_paths, Mapping):
        _fail("'paths' must map each explained construct to a list of its predictors")
    for dst, srcs in raw_paths.items():
        if isinstance(srcs, str):
            srcs = _split_terms(srcs, f"paths into {dst!r}")
        for src in srcs or []:
            paths.append((str(src), str(dst), f"paths into {dst!r}"))
    return blocks, paths


def _find_cycle(names: list[str], edges: list[tuple[str, str]]) -> list[str] | None:
    succ: dict[str, list[str]] = {n: [] for n in names}
    for s, d in edges:
        succ[s].append(d)
    state = dict.fromkeys(names, 0)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in succ[node]:
            if state[nxt] == 1:
                return stack[stack.index(nxt):] + [nxt]
            if state[nxt] == 0:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for n in names:
        if state[n] == 0:
            found = visit(n)
            if found:
                return found
    return None


def parse_spec(spec: str | Mapping[str, Any] | ModelSpec) -> ModelSpec:
    """Parse and validate a model spec (text, dict or YAML text); clear ModelError if wrong.

    Checks: syntax, a construct declared twice, a construct with no indicators (also one
    used in a path but never given indicators), an indicator in two blocks, an indicator
    with the name of a construct, self-paths and cycles, constructs with no paths.
    Columns are checked against data by :meth:`ModelSpec.check_data` (``fit_pls`` does).
    """
    if isinstance(spec, ModelSpec):
        return spec
    source = ""
    if isinstance(spec, str):
        source = spec
        if re.search(r"^\s*constructs\s*:", spec, re.M):
            import yaml
            try:
                loaded = yaml.safe_load(spec)
            except yaml.YAMLError as exc:
                raise ModelError(f"model spec: not valid YAML ({exc})") from None
            blocks_raw, paths_raw = _parse_dict(loaded)
        else:
            blocks_raw, paths_raw = _parse_text(spec)
    elif isinstance(spec, Mapping):
        blocks_raw, paths_raw = _parse_dict(spec)
    else:
        raise ModelError(f"model spec: expected text or a dict, got {type(spec).__name__}")
    if not blocks_raw:
        _fail("no constructs declared (use 'X =~ a + b' or 'X <~ a + b')")

    seen: dict[str, str] = {}
    owner: dict[str, str] = {}
    blocks: list[Block] = []
    for name, indicators, mode, where in blocks_raw:
        if name in seen:
            _fail(f"construct '{name}' is declared twice ({seen[name]} and {where})")
        seen[name] = where
        dup = sorted({i for i in indicators if indicators.count(i) > 1})
        if dup:
            _fail(f"{where}: indicator(s) {', '.join(dup)} listed twice in '{name}'")
        for ind in indicators:
            if ind in owner:
                _fail(f"indicator '{ind}' is in two blocks ('{owner[ind]}' and '{name}'); "
                      "each column measures one construct")
            owner[ind] = name
        blocks.append(Block(name, tuple(indicators), mode))
    clash = sorted(set(owner) & set(seen))
    if clash:
        _fail(f"'{clash[0]}' is both a construct and an indicator; rename one")

    names = [b.name for b in blocks]
    edges: list[tuple[str, str]] = []
    for src, dst, where in paths_raw:
        for end in (src, dst):
            if end not in seen:
                if end in owner:
                    _fail(f"{where}: '{end}' is an indicator of '{owner[end]}', not a "
                          "construct; paths join constructs")
                _fail(f"{where}: construct '{end}' has no indicators (declare "
                      f"'{end} =~ column' or '{end} <~ column')")
        if src == dst:
            _fail(f"{where}: '{src}' cannot explain itself (cycle {src} -> {src})")
        if (src, dst) not in edges:
            edges.append((src, dst))
    cycle = _find_cycle(names, edges)
    if cycle:
        _fail("the structural model has a cycle: " + " -> ".join(cycle)
              + " (PLS path models must be recursive)")
    linked = {s for s, _ in edges} | {d for _, d in edges}
    alone = [n for n in names if n not in linked]
    if alone:
        _fail(f"construct(s) {', '.join(alone)} have no structural path; every construct "
              "needs at least one 'Y ~ X' link")
    return ModelSpec(tuple(blocks), tuple(edges), source)


def _odm(spec: ModelSpec) -> np.ndarray:
    """Outer design matrix: indicators x constructs, 1 where the indicator is in the block."""
    odm = np.zeros((len(spec.indicators), len(spec.blocks)))
    row = 0
    for k, b in enumerate(spec.blocks):
        odm[row:row + len(b.indicators), k] = 1
        row += len(b.indicators)
    return odm
