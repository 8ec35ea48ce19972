"""The ``cx`` command: ``cx report`` runs notebooks into HTML, ``cx data`` writes sample data.

Exit codes: 0 success, 1 a notebook failed, 2 usage or pre-flight error (one line on
stderr, no traceback). Heavy modules are imported inside the subcommands.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cxlib.errors import CxError

NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"


class UsageError(Exception):
    """Bad command-line input; reported as one line with exit status 2."""


def parse_value(text: str) -> Any:
    """A ``-p`` value as a YAML scalar (``30`` -> 30, ``true`` -> True, ``a b`` -> 'a b').

    Lists and mappings in YAML flow style are kept; YAML dates and anything else
    papermill cannot write as a literal stay the original string. Never evaluated.
    """
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, (str, int, float, bool, list, dict, type(None))) else text


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


def _cmd_report(args: argparse.Namespace) -> int:
    from cxlib.report import run_report

    notebooks = [Path(p) for p in args.notebooks] or default_notebooks()
    if not notebooks:
        raise UsageError(f"no notebooks given and none match notebooks/{NOTEBOOK_GLOB}")
    params = load_params_file(Path(args.params_file)) if args.params_file else {}
    for name, value in args.param or []:
        params[name] = parse_value(value)
    result = run_report(
        notebooks,
        out_root=Path(args.out),
        run_id=args.run_id,
        parameters=params,
        show_code=args.show_code,
        timeout=args.timeout,
    )
    for nb in result.notebooks:
        print(f"{nb.name:<32} {nb.status:<6} {nb.duration_s:7.1f} s")
        if nb.error:
            print(f"    {nb.error}")
    print(f"report: {result.run_dir}" + ("" if result.ok else "  (FAILED; 'latest' unchanged)"))
    return 0 if result.ok else 1


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
    rep.add_argument("notebooks", nargs="*", help=f"default: notebooks/{NOTEBOOK_GLOB}")
    rep.add_argument("--out", default="reports", help="report root folder (default: reports)")
    rep.add_argument("--run-id", help="run folder name (default: UTC timestamp)")
    rep.add_argument("--show-code", action="store_true", help="show code cells in the HTML")
    rep.add_argument(
        "-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUE"),
        help="parameter; VALUE is read as a YAML scalar (-p min_n 30 gives an int)",
    )  # fmt: skip
    rep.add_argument("--params-file", help="YAML mapping of parameters (-p overrides it)")
    rep.add_argument(
        "--timeout", type=_positive_int, default=900, help="seconds per cell (default: 900)"
    )
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
