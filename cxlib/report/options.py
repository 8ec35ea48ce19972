"""Options of a report run, declared once in :class:`RunOptions`.

Each field carries its type, default, help, check, its command-line flags and whether
a run file may set it; the ``cx report`` options (:func:`add_arguments`), the run-file
schema (:func:`load_run_file`, unknown keys rejected with a did-you-mean hint) and the
keyword arguments of :func:`cxlib.report.run_report` all follow from it.
Knows nothing about CX.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, Field, dataclass, field, fields
from pathlib import Path
from typing import Any

from cxlib.errors import ReportError

Check = Callable[[Any], "str | None"]  # a complaint about a value, or None when it is fine


def positive(value: Any) -> str | None:
    return None if value > 0 else "must be positive"


def not_negative(value: Any) -> str | None:
    return None if value >= 0 else "must be 0 or more"


def string_keys(value: Mapping[Any, Any]) -> str | None:
    return None if all(isinstance(k, str) for k in value) else "needs parameter names as keys"


def mapping_values(value: Mapping[Any, Any]) -> str | None:
    bad = [str(k) for k, v in value.items() if not isinstance(v, dict)]
    return f"needs a mapping of parameters for each notebook (not for {', '.join(bad)})" if bad \
        else None


def command_line(value: Any) -> str | None:
    from cxlib.report.alerts import check_command

    return check_command(value)


def changes_settings(value: Mapping[str, Any]) -> str | None:
    if not value:
        return None
    from cxlib.changes import check_settings  # loads the analyses only when settings are given

    return check_settings(value)


def option(
    default: Any,
    help: str,  # noqa: A002 - the word argparse uses
    *,
    check: Check | None = None,
    flags: tuple[str, ...] = (),
    run_file: bool = True,
    api: bool = True,
) -> Any:
    """A field of :class:`RunOptions`: ``flags`` on the command line, ``run_file``/``api``
    whether a run file / ``run_report`` may set it."""
    meta = {"help": help, "check": check, "flags": flags, "run_file": run_file, "api": api}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class RunOptions:
    """How a report run goes. Constructing one checks every value (ReportError)."""

    notebooks: list[str] | None = option(
        None, "notebooks to run (names like 01_survey_exploration, or paths); default all",
        api=False)
    parameters: dict[str, Any] = option(
        {}, "mapping of parameters for every notebook that declares them", check=string_keys)
    per_notebook: dict[str, dict[str, Any]] = option(
        {}, "mapping of notebook name -> parameters for that notebook only",
        check=mapping_values)
    out: Path = option(Path("reports"), "report root folder", flags=("--out",))
    run_id: str | None = option(None, "run folder name (default: UTC timestamp)",
                                flags=("--run-id",), run_file=False)
    show_code: bool = option(False, "show code cells in the HTML", flags=("--show-code",))
    timeout: int = option(900, "seconds one cell may run", check=positive,
                          flags=("--timeout",))
    notebook_timeout: float | None = option(
        None, "seconds one notebook may run in all (default: no limit)", check=positive,
        flags=("--notebook-timeout",))
    jobs: int | None = option(None, "notebooks run at the same time (default: the available "
                              "cores)", check=positive, flags=("--jobs", "-j"))
    retries: int = option(1, "re-runs of a notebook whose kernel died", check=not_negative,
                          flags=("--retries",))
    keep: int | None = option(None, "keep only the newest N runs (and the one 'latest' points "
                              "at)", check=positive, flags=("--keep",))
    kernel_name: str = option("python3", "Jupyter kernel the notebooks run in", run_file=False)
    per: str | None = option(
        None, "render the notebooks once per unit of this column (store, region, "
        "organisation; a level of the description's hierarchy): units below the run's min_n "
        "are listed with their n", flags=("--per",))
    profile: bool = option(True, "profile the notebooks' data source into a page of the run "
                           "and check it before any notebook runs (--no-profile: skip)",
                           flags=("--no-profile",))
    # -- what changed (cxlib.report.alerts) --
    on_alert: str | None = option(
        None, "command run with the path of the run's alerts.json as its last argument when "
        "a change is flagged (split like a shell would, never run through one)",
        check=command_line, flags=("--on-alert",))
    changes: dict[str, Any] = option(
        {}, "settings of the 'What changed' comparisons: units (list of columns), baseline "
        "(months), min_n, alpha, level", check=changes_settings)
    pdf: bool = option(False, "also print each page to a PDF beside it, through the headless "
                       "Chromium the browser tests use (without it: a one-line note, the HTML "
                       "run goes on)", flags=("--pdf",))

    def __post_init__(self) -> None:
        for f in fields(self):
            try:
                value = checked(f, getattr(self, f.name))
            except _Bad as exc:
                raise ReportError(f"option {f.name!r} {exc}") from None
            object.__setattr__(self, f.name, value)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], where: str, scope: str = "api") -> RunOptions:
        """Options from ``values`` given by ``where`` (``scope`` "api" or "run_file"):
        unknown names and bad values are ReportErrors starting with ``where``."""
        allowed = [f.name for f in fields(cls) if f.metadata[scope]]
        word = "key" if scope == "run_file" else "option"
        for key in values:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f"; did you mean {close[0]}?" if close else ""
                raise ReportError(f"{where}: unknown {word} {key!r}{hint} "
                                  f"(allowed: {', '.join(allowed)})")
        by_name = {f.name: f for f in fields(cls)}
        for key, value in values.items():
            try:
                checked(by_name[key], value)
            except _Bad as exc:
                raise ReportError(f"{where}: {key!r} {exc}") from None
        return cls(**values)


class _Bad(Exception):
    pass


@functools.lru_cache(maxsize=1)
def _hints() -> dict[str, Any]:
    return typing.get_type_hints(RunOptions)


def checked(f: Field[Any], value: Any) -> Any:
    """``value`` for the field ``f``: type checked (a bool is no number, an int is a float,
    a str a Path) and its check passed; raises _Bad with what is wrong."""
    kinds = _kinds(_hints()[f.name])
    if value is None and type(None) in kinds:
        return None
    for kind in kinds:
        if kind in (int, float) and isinstance(value, bool):
            continue
        if kind is float and isinstance(value, int):
            value = float(value)
        if kind is Path and isinstance(value, str):
            value = Path(value)
        if isinstance(value, kind):
            break
    else:
        expected = " or ".join(k.__name__ for k in kinds if k is not type(None))
        raise _Bad(f"should be {expected}, got {value!r}")
    check = f.metadata["check"]
    complaint = check(value) if check else None
    if complaint:
        raise _Bad(f"{complaint}, got {value!r}")
    return value


def _kinds(hint: Any) -> tuple[type, ...]:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return tuple(k for arg in typing.get_args(hint) for k in _kinds(arg))
    origin = typing.get_origin(hint)
    return (origin if origin is not None else hint,)


def default_of(f: Field[Any]) -> Any:
    if f.default is not MISSING:
        return f.default
    return f.default_factory()  # type: ignore[misc]


# --- the command line ---------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One ``cx report`` option per field with flags; absent ones are None (a run file may
    set them)."""
    for f in fields(RunOptions):
        flags = f.metadata["flags"]
        if not flags:
            continue
        default = default_of(f)
        text = f.metadata["help"]
        if default not in (None, False) and "default" not in text:
            text += f" (default: {default})"
        kinds = _kinds(_hints()[f.name])
        if bool in kinds:  # a flag turns the default over: --show-code, --no-profile
            parser.add_argument(*flags, dest=f.name, action="store_const", const=not default,
                                default=None, help=f.metadata["help"])
        else:
            parser.add_argument(*flags, dest=f.name, type=_arg_type(f, kinds), help=text)


def _arg_type(f: Field[Any], kinds: Sequence[type]) -> Callable[[str], Any]:
    convert: Callable[[str], Any] = str
    if int in kinds:
        convert = int
    elif float in kinds:
        convert = float

    def parse(text: str) -> Any:
        try:
            return checked(f, convert(text))
        except (_Bad, ValueError) as exc:
            raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None

    parse.__name__ = convert.__name__
    return parse


def given_on_command_line(args: argparse.Namespace) -> dict[str, Any]:
    """The options given on the command line (flags not used are left out)."""
    return {f.name: getattr(args, f.name) for f in fields(RunOptions)
            if f.metadata["flags"] and getattr(args, f.name, None) is not None}


# --- run files ----------------------------------------------------------------------------------


def run_file_keys() -> dict[str, str]:
    """Key -> help of everything a run file may set."""
    return {f.name: f.metadata["help"] for f in fields(RunOptions) if f.metadata["run_file"]}


def load_run_file(path: Path) -> dict[str, Any]:
    """A run file (``config/runs/*.yml``): a YAML mapping of :func:`run_file_keys`.

    Returns the keys it sets, checked (unknown keys are an error with a did-you-mean
    hint); parameter values are checked later against the notebooks.
    """
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ReportError(f"run file {path}: {str(exc).splitlines()[0]}") from exc
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ReportError(f"run file {path}: expected a mapping of "
                          f"{', '.join(run_file_keys())}")
    RunOptions.from_mapping(data, f"run file {path}", scope="run_file")
    return data
