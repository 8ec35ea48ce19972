"""Run parameterized notebooks with papermill and publish them as offline HTML reports.

A run checks every notebook's parameters and the report folder, holds the folder's
lock, profiles the notebooks' data source into ``00_data_profile.html``
(:mod:`cxlib.report.data_page`; present invalid data stop the run there, before any
notebook, as a failed run whose manifest carries every problem), executes the notebooks
in parallel worker processes (:mod:`cxlib.report.pool`) into ``out/.<run_id>.partial/``,
writes ``manifest.json``, renames the folder to
``out/<run_id>/``, then publishes ``latest`` (moved only when every notebook
succeeded) and ``index.html`` in one step and prunes old runs (``keep``).
Knows nothing about CX but through ``data_page``. See docs/reporting.md.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from cxlib import __version__
from cxlib.errors import ReportError
from cxlib.report import alerts
from cxlib.report.data_page import DataCheck, DataSource, check, find_sources
from cxlib.report.inputs import code_version, describe_inputs, sha256_file
from cxlib.report.job import Job, Outcome, Provenance, now
from cxlib.report.options import RunOptions, default_of
from cxlib.report.params import NotebookParameters, read_parameters, resolve
from cxlib.report.pool import Progress, execute_all
from cxlib.report.store import (
    DISK_ERRNOS,
    LOCK_NAME,
    ReportWriteError,
    RunLock,
    check_folder,
    choose_run_id,
    latest_run,
    os_problem,
    publish,
    remove_runs,
    runs_to_prune,
    write_json_atomic,
)


@dataclass(frozen=True)
class NotebookResult:
    """Outcome of one notebook in a run; paths point into the final run folder."""

    name: str
    source: Path
    status: str  # "ok" | "failed" | "not_run" (the data check failed first)
    started: str
    finished: str
    duration_s: float
    parameters: dict[str, Any]
    notebook_path: Path | None
    html_path: Path | None
    error: str | None = None
    failure: str | None = None  # a key of cxlib.report.job.FAILURES
    limit_s: float | None = None  # the time limit that fired (timeout, notebook_timeout)
    attempts: int = 1
    previous_errors: list[str] = field(default_factory=list)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    source_sha256: str | None = None
    pdf_path: Path | None = None  # cx report --pdf: the page printed by Chromium

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
    data: list[DataCheck] = field(default_factory=list)  # one per data source
    changes: dict[str, Any] | None = None  # what changed (cxlib.report.alerts)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def summary(self) -> str:
        lines = [f"run {self.run_id}: {self.status} ({self.run_dir})"]
        for d in self.data:
            lines.append(f"  data profile {d.status} ({d.page})")
            lines += [f"      {line}" for line in (d.error or d.note or "").splitlines()]
        for nb in self.notebooks:
            lines.append(f"  {nb.name:<32} {nb.status:<6} {nb.duration_s:7.1f} s")
            lines += [f"      {line}" for line in (nb.error or "").splitlines()]
        return "\n".join(lines)


def available_cores() -> int:
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return max(os.cpu_count() or 1, 1)


def run_report(
    notebooks: Sequence[Path] | Path,
    out: Path = Path("reports"),
    *,
    progress: Progress | None = None,
    **options: Any,
) -> RunResult:
    """Execute ``notebooks`` with papermill, in parallel, and render each to offline HTML.

    ``out`` is the report folder; the keyword options are those of
    :class:`~cxlib.report.options.RunOptions` (listed below), checked before anything
    runs. ``parameters`` go to every notebook that declares them, ``per_notebook[name]``
    to that notebook only; each value is checked against the notebook's parameters cell
    (:class:`ReportError` for unknown or mistyped ones, or a notebook without exactly one
    ``parameters`` cell). A failed notebook fails the run, the others still run, and
    ``latest`` is not moved. Raises :class:`ReportLocked` when another run holds the
    folder's lock, :class:`ReportError` when the folder cannot be made, written or has
    too little space, and :class:`ReportWriteError` when it could not be written during
    the run (disk full). ``progress`` receives one line per event.
    """
    return run_with(notebooks, RunOptions.from_mapping({"out": out, **options}, "run_report"),
               progress)


def _signature() -> inspect.Signature:
    """``run_report``'s signature, from the declaration of the options."""
    hints = inspect.get_annotations(RunOptions)
    kind = inspect.Parameter.KEYWORD_ONLY
    params = [
        inspect.Parameter("notebooks", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                          annotation="Sequence[Path] | Path"),
        inspect.Parameter("out", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                          default=Path("reports"), annotation="Path"),
        inspect.Parameter("progress", kind, default=None, annotation="Progress | None"),
    ]
    params += [inspect.Parameter(f.name, kind, default=default_of(f), annotation=hints[f.name])
               for f in fields(RunOptions) if f.metadata["api"] and f.name != "out"]
    return inspect.Signature(params, return_annotation="RunResult")


run_report.__signature__ = _signature()  # type: ignore[attr-defined]
run_report.__doc__ = (run_report.__doc__ or "") + "\n    Options:\n\n" + "".join(
    f"    - ``{f.name}`` ({inspect.get_annotations(RunOptions)[f.name]}, default "
    f"{default_of(f)!r}): {f.metadata['help']}\n"
    for f in fields(RunOptions) if f.metadata["api"])


def run_with(
    notebooks: Sequence[Path] | Path, options: RunOptions, progress: Progress | None = None
) -> RunResult:
    """:func:`run_report` with its options already checked (what ``cx report`` calls)."""
    if isinstance(notebooks, (str, os.PathLike)):  # one path, not a sequence of characters
        notebooks = [Path(notebooks)]
    paths = [Path(p).absolute() for p in notebooks]
    declared = _declared(paths)
    plans = resolve(declared, options.parameters, options.per_notebook)
    sources = find_sources(declared, plans) if options.profile else []
    units = None
    if options.per:  # one report per unit (cxlib.report.per_unit): checked before anything runs
        from cxlib.report import per_unit

        per_unit.check_notebooks(declared, options.per)
        units = per_unit.list_units(declared, plans, options.per,
                                    per_unit.min_n_of(declared, plans))
    out_root = Path(options.out).absolute()
    latest = out_root / "latest"
    if latest.exists() and not latest.is_symlink():
        raise ReportError(f"{latest} exists and is not a symlink; move it away")
    check_folder(out_root)
    say = progress or (lambda message: None)
    lock = RunLock(out_root / LOCK_NAME)
    lock.acquire()
    try:
        return _run_locked(paths, declared, plans, sources, out_root, options, lock, say, units)
    except OSError as exc:
        if exc.errno not in DISK_ERRNOS:
            raise
        raise ReportWriteError(
            f"report folder {out_root} could not be written during the run "
            f"({os_problem(exc)}); 'latest' leads to {latest_run(out_root) or 'no run'}"
        ) from None
    finally:
        lock.release()


def _run_locked(
    paths: Sequence[Path],
    declared: Sequence[NotebookParameters],
    plans: Sequence[dict[str, Any]],
    sources: Sequence[DataSource],
    out_root: Path,
    options: RunOptions,
    lock: RunLock,
    say: Progress,
    units: Any = None,
) -> RunResult:
    if lock.stale:
        say(f"removed a stale lock of a dead run: {json.dumps(lock.stale)}")
    run_id = choose_run_id(out_root, options.run_id)
    partial = out_root / f".{run_id}.partial"
    final = out_root / run_id
    (partial / ".work").mkdir(parents=True)
    (partial / "logs").mkdir()
    version = code_version(paths[0].parent)
    cache: dict[Path, dict[str, Any]] = {}
    jobs = [_job(d, params, partial, run_id, version, options, cache)
            for d, params in zip(declared, plans)]
    started = now()
    per = None
    if units is not None:  # one report per unit: batches of unit pages (cxlib.report.per_unit)
        from cxlib.report import per_unit

        min_n = int(units.attrs["min_n"])
        jobs = per_unit.batches(jobs, units, options.per, options.jobs or available_cores())
        per = per_unit.manifest_units(units, options.per, min_n, [d.name for d in declared])
        say(f"--per {options.per}: {int((~units['small']).sum())} unit(s) rendered, "
            f"{int(units['small'].sum())} below min_n {min_n}")
    workers = min(options.jobs or available_cores(), len(jobs))
    data = []
    for source in sources:
        say(f"data profile of {source.path} ...")
        data.append(check(source, partial, run_id))
        say(f"data profile: {data[-1].status} -> {data[-1].page}")
    if any(d.invalid for d in data):  # present invalid data: no notebook runs
        results = [_not_run(part, started) for job in jobs for part in (job.parts or (job,))]
    else:
        say(f"run {run_id}: {len(jobs)} notebook(s), {workers} at a time -> {final}")
        outcomes = execute_all(jobs, workers, options.notebook_timeout, options.retries, say)
        results = [_result(job, outcomes[job.name], final) for job in jobs if not job.parts]
        if per is not None:
            from cxlib.report.worker import part_outcomes

            results += [_result(part, got, final) for job in jobs if job.parts
                        for part, got in part_outcomes(job, outcomes[job.name])]
    status = "ok" if all(r.ok for r in results) else "failed"
    previous = latest_run(out_root)  # the last good run, before this one
    changes = alerts.after_notebooks(
        data, partial, run_id, out_root / previous if previous else None, options.changes,
        {r.name: partial / r.html_path.name for r in results if r.ok and r.html_path}, say)
    if options.pdf:  # after the What-changed panels are in the pages; published with them
        results = _print_pdfs(results, partial, final, say)
    result = RunResult(run_id, final, status, started, now(), results, stale_lock=lock.stale,
                       data=data, changes=changes)
    shutil.rmtree(partial / ".work", ignore_errors=True)
    write_json_atomic(partial / "manifest.json",
                      {**manifest(result, version, workers), **({"units": per} if per else {})})
    os.rename(partial, final)  # the run appears complete, in one step
    new_latest = run_id if result.ok else latest_run(out_root)
    doomed = runs_to_prune(out_root, options.keep, {new_latest, run_id}) if options.keep else []
    publish(out_root, new_latest, leave_out=doomed)  # latest and index.html, in one step
    if options.keep:
        remove_runs(out_root, doomed, current=run_id)
    if doomed:
        say(f"pruned {len(doomed)} old run(s): {', '.join(doomed)}")
    if options.on_alert and changes and changes.get("flagged"):
        changes["on_alert"] = alerts.notify(options.on_alert, final / alerts.ALERTS, say)
    say(f"run {run_id}: {status}" + ("" if result.ok else " ('latest' unchanged)"))
    return RunResult(run_id, final, status, started, result.finished, results, doomed,
                     lock.stale, data, changes)


def _print_pdfs(results: list[NotebookResult], partial: Path, final: Path,
                say: Progress) -> list[NotebookResult]:
    """Each rendered page printed to a PDF beside it (:mod:`cxlib.report.pdf`); without
    Chromium one line says why and the run goes on without PDFs."""
    from dataclasses import replace

    from cxlib.report import pdf

    why = pdf.unavailable()
    pages = [partial / r.html_path.name for r in results if r.html_path is not None]
    if why or not pages:
        say(why or "PDF skipped: no page was rendered")
        return results
    say(f"printing {len(pages)} page(s) to PDF ...")
    try:
        printed = {p.with_suffix(".html").name for p in pdf.print_pdfs(pages)}
    except Exception as exc:  # noqa: BLE001 - a PDF never fails the HTML run
        say(f"PDF skipped: Chromium could not print ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''})")
        return results
    return [replace(r, pdf_path=final / Path(r.html_path.name).with_suffix(".pdf").name)
            if r.html_path is not None and r.html_path.name in printed else r for r in results]


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
    options: RunOptions,
    cache: dict[Path, dict[str, Any]],
) -> Job:
    provenance = Provenance(
        run_id=run_id,
        notebook=declared.name,
        version=__version__,
        commit=version.get("commit"),
        dirty=bool(version.get("dirty")),
        parameters=params,
        declared=tuple(
            {"name": p.name, "type": p.annotation, "default": p.default, "help": p.help}
            for p in declared.parameters.values()
        ),
        inputs=tuple(describe_inputs(declared, params, cache)),
        notebook_sha256=sha256_file(declared.path),
    )
    return Job(declared.name, declared.path, partial, params, options.timeout,
               options.kernel_name, options.show_code, provenance)


def _not_run(job: Job, when: str) -> NotebookResult:
    """A notebook the run did not start because the data check found invalid data."""
    return NotebookResult(
        name=job.name, source=job.source, status="not_run", started=when, finished=when,
        duration_s=0.0, parameters=dict(job.parameters), notebook_path=None, html_path=None,
        error="not run: the data check found the data invalid (see the data profile)",
        failure="data", inputs=list(job.provenance.inputs),
        source_sha256=job.provenance.notebook_sha256)


def _result(job: Job, outcome: Outcome, final: Path) -> NotebookResult:
    return NotebookResult(
        name=job.name,
        source=job.source,
        status=outcome.status,
        started=outcome.started,
        finished=outcome.finished,
        duration_s=float(outcome.duration_s),
        parameters=dict(job.parameters),
        notebook_path=final / outcome.notebook if outcome.notebook else None,
        html_path=final / outcome.html if outcome.html else None,
        error=outcome.error,
        failure=outcome.failure,
        limit_s=outcome.limit_s,
        attempts=outcome.attempts,
        previous_errors=list(outcome.previous_errors),
        inputs=list(job.provenance.inputs),
        source_sha256=job.provenance.notebook_sha256,
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
        "data_profiles": [d.to_manifest() for d in result.data],
        "changes": result.changes,
        "environment": dict(zip(versions["component"], versions["version"])),
        "notebooks": [
            {
                "name": nb.name,
                "source": str(nb.source),
                "source_sha256": nb.source_sha256,
                "status": nb.status,
                "failure": nb.failure,
                "limit_s": nb.limit_s,
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
                "pdf": nb.pdf_path.name if nb.pdf_path else None,
                "log": None if nb.status == "not_run" else f"logs/{nb.name}.log",
                "unit": nb.parameters.get("unit") or None,
            }
            for nb in result.notebooks
        ],
    }
