"""The ``cx`` command: ``cx report`` runs notebooks into HTML, ``cx init`` drafts a dataset
description, ``cx profile`` shows what a dataset holds, ``cx data`` writes sample data.

A thin face over :mod:`cxlib.report` and :mod:`cxlib.dataset`: the report options come
from their declaration (:class:`cxlib.report.options.RunOptions`). Exit codes: 0 success,
1 a notebook failed, the data check found the run's data invalid (no notebook ran; every
problem on the console and in the manifest) or the run could not be written (disk full),
2 usage or pre-flight error (on stderr, no traceback; for invalid data given to ``cx
profile`` the whole message with every problem), 3 another report run holds the lock, 130
interrupted (Ctrl-C) and 143 stopped by SIGTERM. Heavy modules are imported inside the
subcommands.
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
    if options.per and not names:  # a report per unit: the notebooks that take a unit
        from cxlib.report.per_unit import takes_units

        notebooks = [nb for nb in notebooks if takes_units(nb)]

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
    from cxlib.report.data_page import summary_lines

    for check in result.data:
        print("\n".join(summary_lines(check)))
    if result.changes:
        from cxlib.report.alerts import summary_lines as changes_lines

        print("\n".join(changes_lines(result.changes)))
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


def _plain(value: object) -> str:
    """Text from the data, safe for a terminal: control characters shown as escapes."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(value))


def _cmd_init(args: argparse.Namespace) -> int:
    from cxlib.dataset import DESCRIPTION_FILE, load_description, write_description

    folder = Path(args.folder)
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder")
    target = folder / DESCRIPTION_FILE
    if target.exists() and not args.force:
        raise UsageError(f"{target} already exists; edit it, or replace it with "
                         f"cx init --force {folder}")
    written = write_description(folder, force=args.force)
    text = written.read_text(encoding="utf-8")
    dataset = load_description(written)  # the draft is valid as written
    print(f"wrote {written}")
    comments = [line.split("#", 1)[1].strip() for line in text.splitlines()
                if line.lstrip().startswith("path:") and "#" in line]
    print("detected:")
    tables = dataset.tables.named()
    for (name, src), detail in zip(tables.items(), comments + [""] * len(tables)):
        files = ", ".join(src.paths())
        print(f"  {name:<12} <- {_plain(files)}" + (f"  ({_plain(detail)})" if detail else ""))
        for col, target_name in (src.columns or {}).items():
            print(f"      {_plain(col)} -> {_plain(target_name)}")
    if not tables:
        print("  no contract table")
    for name, scale in dataset.scales().items():
        if name in dataset.items or f"  {name}:" not in text:
            continue
        print(f"  score {name}: {scale[0]}-{scale[1]}"
              + (" (reversed at load: high means hard)" if name in dataset.reversed_columns()
                 else ""))
    if dataset.items:
        constructs = {c: dataset.construct_items(c) for c in ("rational", "emotional", "other")}
        print("  items: " + "; ".join(f"{c} {', '.join(map(_plain, names))}"
                                      for c, names in constructs.items() if names))
    skipped = [line.lstrip("# ").strip() for line in text.splitlines()
               if line.startswith("# ") and (": not used (" in line or ": could not read" in line)]
    notes = [line.strip().lstrip("# ") for line in text.splitlines()
             if line.strip().startswith("# no customer id") or "# personal data" in line]
    for line in skipped + notes:
        print(f"note: {_plain(line)}")
    todo = [line.strip() for line in text.splitlines() if "TODO:" in line]
    if todo:
        print(f"could not guess ({len(todo)}; marked TODO in {DESCRIPTION_FILE}):")
        for line in todo:
            print(f"  {_plain(line)}")
    print(f"next: check {written}, then: cx profile {folder}")
    return EXIT_OK


def _profile_text(prof: object, where: str) -> str:
    """The data profile for a terminal: tables, columns, notebooks and sections."""
    import pandas as pd

    p: Any = prof
    out = [f"data profile of {_plain(where)}",
           f"description: {_plain(p.dataset.file) if p.dataset.file else 'none (defaults)'}",
           "", _plain(p.headline()), "", "tables:"]
    for t in p.tables.itertuples():
        dates = (f"{t.first_date:%Y-%m-%d} to {t.last_date:%Y-%m-%d}"
                 if pd.notna(t.first_date) else "no dates")
        kind = " ".join(x for x in (t.platform, t.kind) if x)
        out.append(f"  {t.table:<12} {t.rows:>9,} rows  {t.columns:>3} columns  {dates}  "
                   f"[{_plain(kind)}] {_plain(t.source)}")
    out += ["", "columns (contract name <- file column, scale, answered / missing):"]
    for c in p.columns.itertuples():
        origin = c._3  # "from"
        src = f" <- {_plain(origin)}" if origin != c.column else ""
        scale = f"  scale {c.scale}" if c.scale else ""
        out.append(f"  {c.table}.{_plain(c.column)}{src}{scale}  "
                   f"{c.answered_share:.0%} answered, {c.missing_share:.0%} missing")
    out += ["", "notebooks (minimum inputs):"]
    for n in p.notebooks.itertuples():
        state = "runs" if n.supported else f"skipped: {_plain(n.reason)}"
        out.append(f"  {n.notebook} {n.title:<36} {state}")
    ok = p.sections[p.sections["supported"]]
    skipped = p.sections[~p.sections["supported"]]
    out += ["", f"sections supported ({len(ok)} of {len(p.sections)}):"]
    out += [f"  {s.notebook} {s.section:<18} {s.title}" for s in ok.itertuples()]
    out += ["", f"sections skipped ({len(skipped)}), with the reason:"]
    out += [f"  {s.notebook} {s.section:<18} {_plain(s.reason)}" for s in skipped.itertuples()]
    return "\n".join(out)


def _profile_json(prof: object) -> str:
    import json

    p: Any = prof

    def records(frame: Any) -> list[dict[str, Any]]:
        return json.loads(frame.to_json(orient="records", date_format="iso", force_ascii=False))

    return json.dumps({"description": str(p.dataset.file) if p.dataset.file else None,
                       "headline": p.headline(), "tables": records(p.tables),
                       "columns": records(p.columns), "notebooks": records(p.notebooks),
                       "sections": records(p.sections)}, indent=2, ensure_ascii=False)


def _cmd_profile(args: argparse.Namespace) -> int:
    from cxlib import paths
    from cxlib.profiling import profile

    where = Path(args.source) if args.source else Path(paths.SAMPLE_DIR)
    if not where.exists():
        raise UsageError(f"{where}: no such folder or file")
    prof = profile(where)  # DataError (every problem) -> exit 2 in main
    print(_profile_json(prof) if args.json else _profile_text(prof, str(where)))
    return EXIT_OK


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

    init = sub.add_parser(
        "init", help="draft a commented cx.yml describing the data files in a folder")
    init.add_argument("folder", help="folder holding the exports (they are only read)")
    init.add_argument("--force", action="store_true", help="replace an existing cx.yml")
    init.set_defaults(func=_cmd_init)

    prof = sub.add_parser(
        "profile", help="what a dataset holds and which report sections it supports")
    prof.add_argument("source", nargs="?",
                      help="a folder (with or without cx.yml) or a cx.yml; default: the sample")
    prof.add_argument("--json", action="store_true", help="the profile as JSON")
    prof.set_defaults(func=_cmd_profile)

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
