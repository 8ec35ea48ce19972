"""Run parameterized notebooks with papermill and publish them as offline HTML reports.

A run holds the report folder's lock, checks every notebook's parameters, executes
the notebooks in parallel worker processes (:mod:`cxlib.report_worker`) into
``out_root/.<run_id>.partial/``, writes ``manifest.json``, renames the folder to
``out_root/<run_id>/``, points ``out_root/latest`` at it when every notebook
succeeded, rewrites ``out_root/index.html`` and prunes old runs (``keep``).
Knows nothing about CX. See docs/reporting.md.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cxlib import __version__
from cxlib.errors import ReportError
from cxlib.report_inputs import code_version, describe_inputs, sha256_file
from cxlib.report_params import PARAMETERS_TAG, NotebookParameters, read_parameters, resolve
from cxlib.report_pool import Progress
from cxlib.report_pool import execute_all as _execute_all
from cxlib.report_store import (
    LOCK_NAME,
    ReportLocked,
    RunLock,
    choose_run_id,
    point_latest,
    prune_runs,
    write_index,
    write_json_atomic,
)
from cxlib.report_worker import not_executed, now

__all__ = [
    "NotebookResult", "RunResult", "run_report", "preflight", "not_executed", "manifest",
    "choose_run_id", "point_latest", "write_index", "ReportLocked", "PARAMETERS_TAG",
]


@dataclass(frozen=True)
class NotebookResult:
    """Outcome of one notebook in a run; paths point into the final run folder."""

    name: str
    source: Path
    status: str  # "ok" | "failed"
    started: str
    finished: str
    duration_s: float
    parameters: dict[str, Any]
    notebook_path: Path | None
    html_path: Path | None
    error: str | None = None
    failure: str | None = None  # a key of cxlib.report_worker.FAILURES
    attempts: int = 1
    previous_errors: list[str] = field(default_factory=list)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    source_sha256: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True)
class RunResult:
    """Outcome of a report run."""

    run_id: str
    run_dir: Path
    status: str  # "ok" | "failed"
    started: str
    finished: str
    notebooks: list[NotebookResult] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    stale_lock: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def summary(self) -> str:
        lines = [f"run {self.run_id}: {self.status} ({self.run_dir})"]
        for nb in self.notebooks:
            line = f"  {nb.name:<32} {nb.status:<6} {nb.duration_s:7.1f} s"
            lines.append(line + (f"  {nb.error}" if nb.error else ""))
        return "\n".join(lines)


def available_cores() -> int:
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return max(os.cpu_count() or 1, 1)


def run_report(
    notebooks: Sequence[Path] | Path,
    out_root: Path = Path("reports"),
    run_id: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    show_code: bool = False,
    timeout: int = 900,
    kernel_name: str = "python3",
    *,
    per_notebook: Mapping[str, Mapping[str, Any]] | None = None,
    jobs: int | None = None,
    notebook_timeout: float | None = None,
    retries: int = 1,
    keep: int | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Execute ``notebooks`` with papermill, in parallel, and render each to offline HTML.

    ``parameters`` go to every notebook that declares them, ``per_notebook[name]`` to
    that notebook only; each value is checked against the notebook's parameters cell
    before anything runs (:class:`ReportError` for unknown or mistyped ones, or a
    notebook without exactly one ``parameters`` cell). ``timeout`` is the per-cell
    limit and ``notebook_timeout`` the whole-notebook limit in seconds; a notebook
    whose kernel died is re-run up to ``retries`` times. ``jobs`` notebooks run at
    once (default: the available cores). A failed notebook fails the run, the others
    still run, and ``latest`` is not moved. Raises :class:`ReportLocked` when another
    run holds the folder's lock; ``keep`` prunes all but the newest runs.
    """
    if isinstance(notebooks, (str, os.PathLike)):  # one path, not a sequence of characters
        notebooks = [Path(notebooks)]
    sources = [Path(p).absolute() for p in notebooks]
    declared = _declared(sources)
    plans = resolve(declared, parameters, per_notebook)
    if keep is not None and keep < 1:
        raise ReportError(f"keep must be at least 1, got {keep}")
    if retries < 0:
        raise ReportError(f"retries must be 0 or more, got {retries}")
    out_root = Path(out_root).absolute()
    latest = out_root / "latest"
    if latest.exists() and not latest.is_symlink():
        raise ReportError(f"{latest} exists and is not a symlink; move it away")
    say = progress or (lambda message: None)
    lock = RunLock(out_root / LOCK_NAME)
    lock.acquire()
    try:
        if lock.stale:
            say(f"removed a stale lock of a dead run: {json.dumps(lock.stale)}")
        run_id = choose_run_id(out_root, run_id)
        partial = out_root / f".{run_id}.partial"
        final = out_root / run_id
        (partial / ".work").mkdir(parents=True)
        (partial / "logs").mkdir()
        version = code_version(sources[0].parent)
        cache: dict[Path, dict[str, Any]] = {}
        specs = [
            _job(d, params, partial, run_id, version, show_code, timeout, kernel_name, cache)
            for d, params in zip(declared, plans)
        ]
        started = now()
        workers = min(jobs or available_cores(), len(specs))
        say(f"run {run_id}: {len(specs)} notebook(s), {workers} at a time -> {final}")
        outcomes = _execute_all(specs, workers, notebook_timeout, retries, say)
        results = [
            _result(spec, outcomes[spec["name"]], final) for spec in specs
        ]
        status = "ok" if all(r.ok for r in results) else "failed"
        result = RunResult(run_id, final, status, started, now(), results, stale_lock=lock.stale)
        shutil.rmtree(partial / ".work", ignore_errors=True)
        write_json_atomic(partial / "manifest.json", manifest(result, version, workers))
        os.rename(partial, final)  # the run appears complete, in one step
        if result.ok:
            point_latest(out_root, run_id)
        pruned = prune_runs(out_root, keep, current=run_id) if keep else []
        write_index(out_root)
        if pruned:
            say(f"pruned {len(pruned)} old run(s): {', '.join(pruned)}")
        say(f"run {run_id}: {status}" + ("" if result.ok else " ('latest' unchanged)"))
        return RunResult(run_id, final, status, started, result.finished, results, pruned,
                         lock.stale)
    finally:
        lock.release()


def preflight(
    notebooks: Sequence[Path],
    parameters: Mapping[str, Any],
    per_notebook: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Check the notebooks and return, for each, the checked parameters it gets.

    Raises ReportError for a missing or unreadable notebook, two notebooks with one
    name, a notebook without exactly one ``parameters`` cell, a parameter that no
    notebook declares and a value of the wrong type.
    """
    return resolve(_declared([Path(p) for p in notebooks]), parameters, per_notebook)


def _declared(sources: Sequence[Path]) -> list[NotebookParameters]:
    if not sources:
        raise ReportError("no notebooks to run")
    seen: dict[str, Path] = {}
    declared = []
    for path in sources:
        if path.stem in seen:
            raise ReportError(f"{path}: same name as {seen[path.stem]}; outputs would collide")
        seen[path.stem] = path
        declared.append(read_parameters(path))
    return declared


def _job(
    declared: NotebookParameters,
    params: dict[str, Any],
    partial: Path,
    run_id: str,
    version: Mapping[str, Any],
    show_code: bool,
    timeout: int,
    kernel_name: str,
    cache: dict[Path, dict[str, Any]],
) -> dict[str, Any]:
    name = declared.name
    inputs = describe_inputs(declared, params, cache)
    source_sha = sha256_file(declared.path)
    return {
        "name": name,
        "source": str(declared.path),
        "work": str(partial / ".work" / f"{name}.ipynb"),
        "executed": str(partial / f"{name}.ipynb"),
        "html": str(partial / f"{name}.html"),
        "result": str(partial / ".work" / f"{name}.result.json"),
        "log": str(partial / "logs" / f"{name}.log"),
        "parameters": params,
        "timeout": timeout,
        "kernel_name": kernel_name,
        "show_code": show_code,
        "attempt": 1,
        "previous_errors": [],
        "header": {
            "run_id": run_id,
            "notebook": name,
            "version": __version__,
            "commit": version.get("commit"),
            "dirty": bool(version.get("dirty")),
            "parameters": params,
            "declared": [
                {"name": p.name, "type": p.annotation, "default": p.default, "help": p.help}
                for p in declared.parameters.values()
            ],
            "inputs": inputs,
            "notebook_sha256": source_sha,
        },
    }


def _result(spec: Mapping[str, Any], outcome: Mapping[str, Any], final: Path) -> NotebookResult:
    return NotebookResult(
        name=spec["name"],
        source=Path(spec["source"]),
        status=outcome["status"],
        started=outcome["started"],
        finished=outcome["finished"],
        duration_s=float(outcome["duration_s"]),
        parameters=dict(spec["parameters"]),
        notebook_path=final / outcome["notebook"] if outcome.get("notebook") else None,
        html_path=final / outcome["html"] if outcome.get("html") else None,
        error=outcome.get("error"),
        failure=outcome.get("failure"),
        attempts=int(outcome.get("attempts", 1)),
        previous_errors=list(outcome.get("previous_errors", [])),
        inputs=list(spec["header"]["inputs"]),
        source_sha256=spec["header"]["notebook_sha256"],
    )


def manifest(
    result: RunResult, version: Mapping[str, Any] | None = None, jobs: int | None = None
) -> dict[str, Any]:
    """The JSON-ready manifest of a run; notebook paths are relative to the run folder."""
    from cxlib.environment import environment_versions

    version = dict(version or {})
    versions = environment_versions()
    return {
        "run_id": result.run_id,
        "status": result.status,
        "started": result.started,
        "finished": result.finished,
        "cxlib_version": __version__,
        "git_commit": version.get("commit"),
        "git_dirty": version.get("dirty"),
        "jobs": jobs,
        "stale_lock": result.stale_lock,
        "environment": dict(zip(versions["component"], versions["version"])),
        "notebooks": [
            {
                "name": nb.name,
                "source": str(nb.source),
                "source_sha256": nb.source_sha256,
                "status": nb.status,
                "failure": nb.failure,
                "error": nb.error,
                "attempts": nb.attempts,
                "previous_errors": nb.previous_errors,
                "started": nb.started,
                "finished": nb.finished,
                "duration_s": nb.duration_s,
                "parameters": nb.parameters,
                "inputs": nb.inputs,
                "notebook": nb.notebook_path.name if nb.notebook_path else None,
                "html": nb.html_path.name if nb.html_path else None,
                "log": f"logs/{nb.name}.log",
            }
            for nb in result.notebooks
        ],
    }
