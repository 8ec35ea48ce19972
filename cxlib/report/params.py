"""Notebook parameters for report runs: what a notebook declares, and checking what is given.

The ``parameters`` cell is parsed with :mod:`ast` (papermill's own inspection drops
``x: str | None = None`` and cuts ``"a # b"`` at the hash). Values are checked
against each parameter's annotation (or its default's type when unannotated)
before anything runs; they are passed to papermill as data, never evaluated.
Knows nothing about CX.
"""

from __future__ import annotations

import ast
import difflib
import io
import math
import re
import tokenize
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cxlib.errors import ReportError

PARAMETERS_TAG = "parameters"
RETIRED = {
    "region": "retired: one region is a unit, -p unit_column region -p unit Kanto",
}
"""Parameters the notebooks no longer declare, with what replaces them (an old run file
or command line gets this instead of a guess)."""
NO_DEFAULT = object()
_ANY = "any"


def parse_value(text: str) -> Any:
    """A command-line value as a YAML scalar (``30`` -> 30, ``true`` -> True, ``a b`` -> 'a b').

    Lists and mappings in YAML flow style are kept; YAML dates and anything else
    papermill cannot write as a literal stay the original string. Never evaluated.
    """
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, (str, int, float, bool, list, dict, type(None))) else text


class CliText(str):
    """A value typed on the command line: converted by the declared type of each notebook.

    ``-p code 007`` stays the string ``"007"`` for ``code: str`` and becomes 7 for
    ``code: int``; for an unannotated parameter it is read as a YAML scalar.
    """


@dataclass(frozen=True)
class Parameter:
    """One line of a notebook's parameters cell."""

    name: str
    annotation: str  # as written ("int", "str | None", "list[int]"); "" when none
    default: str  # source text of the default value
    help: str = ""  # the trailing comment

    def default_value(self) -> Any:
        """The default as a Python value, or ``NO_DEFAULT`` when it is not a literal."""
        try:
            return ast.literal_eval(self.default)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return NO_DEFAULT

    @property
    def type_name(self) -> str:
        """The type the value is checked against (annotation, else the default's type)."""
        if self.annotation:
            return self.annotation
        value = self.default_value()
        if value is NO_DEFAULT or value is None:
            return _ANY
        return type(value).__name__


@dataclass(frozen=True)
class NotebookParameters:
    """The parameters one notebook declares, in cell order."""

    path: Path
    parameters: dict[str, Parameter]

    @property
    def name(self) -> str:
        return self.path.stem


def read_parameters(path: Path) -> NotebookParameters:
    """Parse the single cell tagged ``parameters`` of the notebook at ``path``.

    Raises ReportError when the notebook is missing or unreadable, or has no or several
    ``parameters`` cells (papermill would then let the defaults overwrite injected values).
    """
    import nbformat

    path = Path(path)
    if not path.is_file():
        raise ReportError(f"{path}: notebook not found")
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # nbformat raises several unrelated types for bad files
        what = f"{type(exc).__name__}: {exc}"
        raise ReportError(f"{path.name}: cannot read notebook ({what})") from exc
    tagged = [c for c in nb.cells if PARAMETERS_TAG in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        raise ReportError(
            f"{path.name}: needs exactly one cell tagged '{PARAMETERS_TAG}', found {len(tagged)}"
        )
    try:
        params = parse_parameters_cell(tagged[0].source)
    except SyntaxError as exc:
        raise ReportError(f"{path.name}: parameters cell is not valid Python ({exc.msg}, "
                          f"line {exc.lineno})") from exc
    return NotebookParameters(path, params)


def parse_parameters_cell(source: str) -> dict[str, Parameter]:
    """Every ``name[: type] = value  # help`` assignment at the top level of ``source``."""
    lines = source.splitlines()
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)
    tree = ast.parse(code)
    comments: dict[int, str] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type == tokenize.COMMENT:
                comments[tok.start[0]] = tok.string.lstrip("#").strip()
    except (tokenize.TokenError, IndentationError):
        pass
    found: dict[str, Parameter] = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if node.value is None:
                continue
            name, annotation, value = node.target.id, ast.unparse(node.annotation), node.value
        elif (isinstance(node, ast.Assign) and len(node.targets) == 1
              and isinstance(node.targets[0], ast.Name)):
            name, annotation, value = node.targets[0].id, "", node.value
        else:
            continue
        default = ast.get_source_segment(code, value) or ast.unparse(value)
        line = getattr(node, "end_lineno", node.lineno) or node.lineno
        found[name] = Parameter(name, annotation, default, comments.get(line, ""))
    return found


def check_value(notebook: str, param: Parameter, value: Any) -> Any:
    """``value`` converted to ``param``'s declared type, or ReportError naming both.

    Accepts an int for a float (converted), never a bool for an int, never NaN or
    infinity (papermill would write them as undefined names).
    """
    try:
        spec = ast.parse(param.type_name, mode="eval").body if param.type_name != _ANY else None
    except SyntaxError:
        spec = None
    try:
        return _convert(value, spec)
    except _Mismatch as exc:
        if isinstance(value, CliText):
            shown = repr(str(value))
        else:
            shown = f"{value!r} ({type(value).__name__})"
        raise ReportError(
            f"{notebook}: parameter {param.name!r} expects {param.type_name}, got {shown}"
            + (f": {exc}" if str(exc) else "")
        ) from None


class _Mismatch(Exception):
    pass


_SIMPLE = {"int", "float", "str", "bool", "list", "dict", "None", "NoneType"}


def _convert(value: Any, spec: ast.expr | None) -> Any:  # noqa: C901 - one branch per form
    if spec is None or (isinstance(spec, ast.Name) and spec.id in {"Any", "object"}):
        return _any(value)
    if isinstance(spec, ast.Constant) and spec.value is None:
        spec = ast.Name("None")
    if isinstance(spec, ast.BinOp) and isinstance(spec.op, ast.BitOr):
        return _union(value, _flatten_union(spec))
    if isinstance(spec, ast.Subscript):
        head = _dotted(spec.value)
        args = spec.slice.elts if isinstance(spec.slice, ast.Tuple) else [spec.slice]
        if head == "Optional":
            return _union(value, [args[0], ast.Name("None")])
        if head == "Union":
            return _union(value, list(args))
        if head == "Literal":
            choices = [ast.literal_eval(a) for a in args]
            for choice in choices:
                if (str(choice) == value) if isinstance(value, CliText) else (
                        choice == value and type(choice) is type(value)):
                    return choice
            raise _Mismatch(f"choose one of {', '.join(map(repr, choices))}")
        if head in {"list", "List"}:
            items = _container(value, list)
            return [_convert(v, args[0]) for v in items]
        if head in {"dict", "Dict"}:
            items = _container(value, dict)
            key, val = (args + [None])[:2] if len(args) == 2 else (None, None)
            return {_convert(k, key): _convert(v, val) for k, v in items.items()}
        return _any(value)  # a generic we do not check (tuple[...], Sequence[...])
    name = _dotted(spec)
    if name not in _SIMPLE:
        return _any(value)  # an annotation we cannot check (date, Path, ...)
    return _simple(value, name)


def _flatten_union(spec: ast.expr) -> list[ast.expr]:
    if isinstance(spec, ast.BinOp) and isinstance(spec.op, ast.BitOr):
        return _flatten_union(spec.left) + _flatten_union(spec.right)
    return [spec]


def _union(value: Any, members: Sequence[ast.expr]) -> Any:
    names = [_dotted(m) if not isinstance(m, ast.Constant) else "None" for m in members]
    if "None" in names or "NoneType" in names:
        if value is None or (isinstance(value, CliText) and value in {"null", "None", "~"}):
            return None
    for member in members:
        if isinstance(member, ast.Constant) and member.value is None:
            continue
        try:
            return _convert(value, member)
        except _Mismatch:
            continue
    raise _Mismatch("")


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr  # typing.Optional -> Optional
    return ""


def _container(value: Any, kind: type) -> Any:
    if isinstance(value, CliText):
        import yaml

        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError:
            raise _Mismatch("not YAML") from None
    if not isinstance(value, kind):
        raise _Mismatch("")
    return value


_INT = re.compile(r"^[+-]?\d+$")


def _simple(value: Any, name: str) -> Any:
    text = value if isinstance(value, CliText) else None
    if name in {"None", "NoneType"}:
        if value is None or text in {"null", "None", "~"}:
            return None
        raise _Mismatch("")
    if name == "str":
        if isinstance(value, str):
            return str(value)
        raise _Mismatch("")
    if name == "bool":
        if text is not None:
            low = text.lower()
            if low in {"true", "yes", "on", "1"}:
                return True
            if low in {"false", "no", "off", "0"}:
                return False
            raise _Mismatch("")
        if isinstance(value, bool):
            return value
        raise _Mismatch("")
    if name == "int":
        if text is not None and _INT.match(text.strip()):
            return int(text)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _Mismatch("")
    if name == "float":
        if text is not None:
            try:
                number = float(text)
            except ValueError:
                raise _Mismatch("") from None
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        else:
            raise _Mismatch("")
        if not math.isfinite(number):
            raise _Mismatch("NaN and infinity cannot be passed")
        return number
    if name == "list":
        return _container(value, list)
    if name == "dict":
        return _container(value, dict)
    raise _Mismatch("")  # pragma: no cover


def _any(value: Any) -> Any:
    """An unchecked parameter: a command-line text becomes a YAML scalar; finite numbers only."""
    if isinstance(value, CliText):
        value = parse_value(str(value))
    if isinstance(value, float) and not math.isfinite(value):
        raise _Mismatch("NaN and infinity cannot be passed")
    if isinstance(value, CliText):
        return str(value)
    return value


def resolve(
    declared: Sequence[NotebookParameters],
    common: Mapping[str, Any] | None = None,
    per_notebook: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """The checked parameters injected into each notebook, in the order of ``declared``.

    ``common`` values go to every notebook that declares them (a name none declares is
    an error, with a did-you-mean hint); ``per_notebook[name]`` values go to that
    notebook only, must be declared by it, and win over ``common``.
    """
    common = dict(common or {})
    per_notebook = {str(k): dict(v) for k, v in (per_notebook or {}).items()}
    all_names = sorted(set().union(*(d.parameters for d in declared)) if declared else set())
    unknown = [k for k in common if k not in all_names]
    if unknown:
        raise ReportError(_unknown_message(unknown, all_names, "any notebook of this run"))
    by_name = {d.name: d for d in declared}
    for nb_name, values in per_notebook.items():
        if nb_name not in by_name:
            hint = _hint(nb_name, list(by_name))
            raise ReportError(f"parameters given for notebook {nb_name!r}, which is not in this "
                              f"run ({', '.join(by_name) or 'none'}){hint}")
        missing = [k for k in values if k not in by_name[nb_name].parameters]
        if missing:
            raise ReportError(_unknown_message(missing, sorted(by_name[nb_name].parameters),
                                               f"notebook {nb_name}"))
    plans = []
    for d in declared:
        given = {k: v for k, v in common.items() if k in d.parameters}
        given.update(per_notebook.get(d.name, {}))
        plans.append({k: check_value(d.name, d.parameters[k], v) for k, v in given.items()})
    return plans


def _unknown_message(unknown: Sequence[str], known: Sequence[str], where: str) -> str:
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=1)
        if name in RETIRED:
            hints.append(f"{name} ({RETIRED[name]})")
        else:
            hints.append(f"{name} (did you mean {close[0]}?)" if close else name)
    return (f"unknown parameter(s) {', '.join(hints)}: not declared by {where} "
            f"(declared: {', '.join(known) or 'none'})")


def _hint(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean {close[0]}?" if close else ""
