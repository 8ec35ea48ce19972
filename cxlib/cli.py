"""The ``cx`` command: ``cx report`` runs notebooks into HTML, ``cx data`` writes sample data.

A thin face over :mod:`cxlib.report`: the report options come from its declaration
(:class:`cxlib.report.options.RunOptions`). Exit codes: 0 success, 1 a notebook failed
or the run could not be written (disk full), 2 usage or pre-flight error (one line on
stderr, no traceback), 3 another report run holds the lock, 130 interrupted (Ctrl-C)
and 143 stopped by SIGTERM. Heavy modules are imported inside the subcommands.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cxlib.errors import CxError
from cxlib.report.options import add_arguments

NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 3
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143


class UsageError(Exception):
    """Bad command-line input; reported as one line with exit status 2."""


def load_params_file(path: Path) -> dict[str, Any]:
    """A YAML file holding one mapping of parameter names to values."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"--params-file {path}: {exc}".splitlines()[0]) from exc
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise UsageError(f"--params-file {path}: expected a mapping of parameter names to values")
    return data


def default_notebooks(folder: Path = Path("notebooks")) -> list[Path]:
    """Every ``notebooks/NN_*.ipynb``, in reading order."""
    return sorted(folder.glob(NOTEBOOK_GLOB))


def find_notebooks(names: Sequence[str], folder: Path = Path("notebooks")) -> list[Path]:
    """Paths for ``names``: a path to a notebook, or a name in ``folder`` (``01`` or
    ``01_survey_exploration``, with or without ``.ipynb``)."""
    found = []
    for name in names:
        path = Path(name)
        if path.suffix == ".ipynb" and (path.exists() or path.parent != Path(".")):
            found.append(path)
            continue
        matches = sorted(folder.glob(f"{path.stem}.ipynb"))
        matches = matches or sorted(folder.glob(f"{path.stem}_*.ipynb"))
        if len(matches) != 1:
            what = "no notebook" if not matches else f"{len(matches)} notebooks"
            raise UsageError(f"{name}: {what} in {folder} match")
        found.append(matches[0])
    return found


class _Progress:
    """Progress lines on stderr, each with the time since the run started."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()

    def __call__(self, message: str) -> None:
        print(f"[{time.monotonic() - self.t0:7.1f} s] {message}", file=sys.stderr, flush=True)


def _terminate(signum: int, frame: object) -> None:
    raise _Terminated()


class _Terminated(KeyboardInterrupt):
    """SIGTERM (systemd stop, kill): unwound like Ctrl-C so workers are stopped."""


def _cmd_report(args: argparse.Namespace) -> int:
    from cxlib.report.options import RunOptions, given_on_command_line, load_run_file
    from cxlib.report.params import CliText
    from cxlib.report.run import run_with
    from cxlib.report.store import ReportLocked, ReportWriteError

    values = load_run_file(Path(args.run)) if args.run else {}
    listed = values.pop("notebooks", None) or []
    names = args.notebooks or [str(n) for n in listed]
    notebooks = find_notebooks(names) if names else default_notebooks()
    if not notebooks:
        raise UsageError(f"no notebooks given and none match notebooks/{NOTEBOOK_GLOB}")
    params: dict[str, Any] = dict(values.get("parameters") or {})
    if args.params_file:
        params.update(load_params_file(Path(args.params_file)))
    for name, value in args.param or []:
        params[name] = CliText(value)
    values.update(given_on_command_line(args), parameters=params)
    options = RunOptions.from_mapping(values, "cx report")

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        result = run_with(notebooks, options, progress=None if args.quiet else _Progress())
    except ReportLocked as exc:
        print(f"cx report: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    except ReportWriteError as exc:
        print(f"cx report: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except _Terminated:
        print("cx report: stopped by SIGTERM; 'latest' unchanged", file=sys.stderr)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        print("cx report: interrupted; 'latest' unchanged", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
    for nb in result.notebooks:
        print(f"{nb.name:<32} {nb.status:<6} {nb.duration_s:7.1f} s")
        for line in (nb.error or "").splitlines():  # the whole message, every line
            print(f"    {line}")
    print(f"report: {result.run_dir}" + ("" if result.ok else "  (FAILED; 'latest' unchanged)"))
    return EXIT_OK if result.ok else EXIT_FAILED


def _cmd_data(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if (out / "truth.json").exists() and not args.force:
        print(f"sample data already in {out} (use --force to rewrite)")
        return 0
    from cxlib.synth import write_sample

    folder = write_sample(out, n_customers=args.n_customers, seed=args.seed)
    print(f"sample data written to {folder}")
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cx", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    rep = sub.add_parser("report", help="run notebooks with papermill and render HTML reports")
    rep.add_argument(
        "notebooks", nargs="*",
        help=f"paths or names in notebooks/ (01, 01_survey_exploration); default: {NOTEBOOK_GLOB}",
    )  # fmt: skip
    rep.add_argument(
        "--run", metavar="FILE", help="run file (config/runs/*.yml); options win over it"
    )
    rep.add_argument(
        "-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUE"),
        help="parameter; VALUE is converted to the type the notebook declares (-p min_n 30)",
    )  # fmt: skip
    rep.add_argument("--params-file", help="YAML mapping of parameters (-p overrides it)")
    add_arguments(rep)  # --out, --run-id, --timeout, --jobs ...: cxlib.report.options
    rep.add_argument("--quiet", "-q", action="store_true", help="no progress lines on stderr")
    rep.set_defaults(func=_cmd_report)

    data = sub.add_parser("data", help="write the synthetic sample data set")
    data.add_argument("--out", default="data/sample", help="folder (default: data/sample)")
    data.add_argument("--n-customers", type=_positive_int, default=20000)
    data.add_argument("--seed", type=int, default=20261122)
    data.add_argument("--force", action="store_true", help="rewrite an existing sample")
    data.set_defaults(func=_cmd_data)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``cx``; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed usage and the error (status 2)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        status: int = args.func(args)
        return status
    except (UsageError, CxError) as exc:
        print(f"cx {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
