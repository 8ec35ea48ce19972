"""Imports go one way: no circle anywhere in cxlib, and the engine imports no analysis.

The import graph is read from the source with the standard library's ``ast`` (nothing is
imported): every ``import`` and ``from ... import`` in a module, at module level or inside a
function, is an edge; imports under ``if TYPE_CHECKING:`` are not (they never run). ``from
package import name`` is an edge to ``package.name`` when that is a module, else to
``package``. Importing a submodule is not counted as importing its parent packages.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import cxlib

PACKAGE = Path(cxlib.__file__).parent

#: What the engine may import besides itself: the data layer below it (errors, the contract,
#: names, readers) and the small modules that both the engine and the analyses use.
BELOW_ENGINE = {"cxlib.errors", "cxlib.checks", "cxlib.schema", "cxlib.vocab", "cxlib.io",
                "cxlib.surveyio", "cxlib.dates", "cxlib.decoding", "cxlib.paths",
                "cxlib.intervals", "cxlib.snapshot"}


def modules(root: Path = PACKAGE, name: str = "cxlib") -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of the package under ``root``."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join([name, *parts])] = path
    return out


def _type_checking_only(tree: ast.AST) -> set[int]:
    """ids of the import nodes inside ``if TYPE_CHECKING:`` blocks."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
            if name == "TYPE_CHECKING":
                skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skip


def import_graph(mods: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (module- and function-level)."""
    graph: dict[str, set[str]] = {}
    for mod, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        skip = _type_checking_only(tree)
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        edges: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[:len(base) - (node.level - 1)]
                    where = ".".join(base + ([node.module] if node.module else []))
                else:
                    where = node.module or ""
                targets = [f"{where}.{a.name}" if f"{where}.{a.name}" in mods else where
                           for a in node.names]
            else:
                continue
            for target in targets:
                while target and target not in mods:  # "import a.b.c" of an attribute
                    target = target.rpartition(".")[0]
                if target and target != mod:
                    edges.add(target)
        graph[mod] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a list of modules (first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def reachable(graph: dict[str, set[str]], start: set[str]) -> dict[str, str]:
    """Modules reachable from ``start`` -> the module that imports them (for the message)."""
    seen: dict[str, str] = {}
    todo = sorted(start)
    while todo:
        mod = todo.pop()
        for nxt in sorted(graph.get(mod, ())):
            if nxt not in seen and nxt not in start:
                seen[nxt] = mod
                todo.append(nxt)
    return seen


def test_the_package_has_no_import_circle():
    cycle = find_cycle(import_graph(modules()))
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_the_engine_imports_only_the_data_layer():
    graph = import_graph(modules())
    engine = {m for m in graph if m == "cxlib.engine" or m.startswith("cxlib.engine.")}
    above = {m: by for m, by in reachable(graph, engine).items() if m not in BELOW_ENGINE}
    assert not above, "the engine imports modules above it: " + "; ".join(
        f"{m} (imported by {by})" for m, by in sorted(above.items()))


def test_only_the_engine_imports_its_private_modules():
    graph = import_graph(modules())
    private = [(mod, t) for mod, targets in graph.items() if not mod.startswith("cxlib.engine")
               for t in targets if t.startswith("cxlib.engine._")]
    assert not private, "use cxlib.engine's public names: " + "; ".join(
        f"{m} imports {t}" for m, t in private)


def test_the_data_layer_lies_below_the_engine():
    """What the engine may import must not itself reach the analyses or the engine."""
    graph = import_graph(modules())
    for low in sorted(BELOW_ENGINE & set(graph)):
        above = set(reachable(graph, {low})) - BELOW_ENGINE
        assert not above, f"{low} imports {sorted(above)}"


# -- the checks themselves, on planted packages ------------------------------------------------

def _plant(tmp_path: Path, files: dict[str, str]) -> dict[str, Path]:
    root = tmp_path / "pkg"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return modules(root, "pkg")


def test_a_planted_circle_is_found_and_named(tmp_path):
    mods = _plant(tmp_path, {
        "__init__.py": "",
        "a.py": "from . import b\n",
        "b.py": "def f():\n    from .sub.c import g\n",  # a function-level import counts
        "sub/__init__.py": "",
        "sub/c.py": "import pkg.a\n",
        "d.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import a\n",
    })
    graph = import_graph(mods)
    assert graph["pkg.d"] == set()  # TYPE_CHECKING imports never run
    assert find_cycle(graph) == ["pkg.a", "pkg.b", "pkg.sub.c", "pkg.a"]
    del graph["pkg.sub.c"]
    assert find_cycle(graph) is None


def test_the_engine_check_sees_an_indirect_import(tmp_path):
    mods = _plant(tmp_path, {
        "__init__.py": "", "schema.py": "from .metrics import x\n", "metrics.py": "",
        "engine/__init__.py": "from ._source import Source\n",
        "engine/_source.py": "from ..schema import CONTRACT\n",
    })
    graph = import_graph(mods)
    assert reachable(graph, {"pkg.engine", "pkg.engine._source"}) == {
        "pkg.schema": "pkg.engine._source", "pkg.metrics": "pkg.schema"}


@pytest.mark.parametrize("line, target", [
    ("from .. import metrics", "cxlib.metrics"),
    ("from ..engine import touchpoints", "cxlib.engine"),
    ("from ..engine._sql import ident", "cxlib.engine._sql"),
    ("import cxlib.engine._sql as s", "cxlib.engine._sql"),
])
def test_relative_and_attribute_imports_resolve(tmp_path, line, target):
    probe = tmp_path / "_probe_.py"  # read as if it were cxlib/churn/_probe_.py
    probe.write_text(line + "\n", encoding="utf-8")
    graph = import_graph({**modules(), "cxlib.churn._probe_": probe})
    assert graph["cxlib.churn._probe_"] == {target}
