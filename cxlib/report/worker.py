"""Execute and render one notebook of a report run, in a process of its own.

``python -m cxlib.report.worker JOB.json`` is started by :mod:`cxlib.report.pool` once
per notebook (papermill's ``cwd`` is a process-wide ``chdir``, so parallel notebooks
need processes). It never raises for a notebook fault: it writes the executed
notebook, its HTML page (failed ones too, with the error visible) and an
:class:`~cxlib.report.job.Outcome` as JSON. Knows nothing about CX.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from cxlib.report.job import Job, Outcome, now


def not_executed(nb: Any) -> list[int]:
    """Indexes of non-empty code cells without an execution count (never ran).

    papermill leaves cells after a timeout or a dead kernel marked "completed";
    their missing ``execution_count`` is what tells. Empty cells are never run.
    """
    return [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and cell.source.strip() and cell.get("execution_count") is None
    ]


SAVE_EVERY_S = 10.0
"""While a notebook runs, its file is rewritten at most this often (and always at the start
and the end, also after an error, a timeout, a dead kernel or SIGTERM)."""


@functools.cache
def _engine() -> str:
    """The name of papermill's nbclient engine with sparse saves, registered once.

    papermill rewrites the whole notebook at every cell's start and end (deep copy, schema
    validation, JSON): about 100 writes for notebook 01, 1.4 CPU s of a 4 CPU s unit page in
    a batch. Only a worker killed with SIGKILL loses more than before: at most the outputs of
    the last :data:`SAVE_EVERY_S` seconds (its cells are then judged incomplete, as before)."""
    from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

    class SparseSaves(NotebookExecutionManager):  # type: ignore[misc]
        final = False

        def save(self, **kwargs: Any) -> None:
            if self.final or (self.now() - self.last_save_time).total_seconds() >= SAVE_EVERY_S:
                super().save(**kwargs)

        def notebook_start(self, **kwargs: Any) -> None:
            self.final = True  # the first write: the runner waits for the file
            super().notebook_start(**kwargs)
            self.final = False

        def notebook_complete(self, **kwargs: Any) -> None:
            self.final = True
            super().notebook_complete(**kwargs)

    class Engine(NBClientEngine):  # type: ignore[misc]
        @classmethod
        def execute_notebook(cls, nb: Any, kernel_name: str, output_path: Any = None,
                             progress_bar: bool = True, log_output: bool = False,
                             autosave_cell_every: int = 30, **kwargs: Any) -> Any:
            # papermill's Engine.execute_notebook with SparseSaves for its manager
            nb_man = SparseSaves(nb, output_path=output_path, progress_bar=progress_bar,
                                 log_output=log_output, autosave_cell_every=autosave_cell_every)
            nb_man.notebook_start()
            try:
                cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
            finally:
                nb_man.cleanup_pbar()
                nb_man.notebook_complete()
            return nb_man.nb

    papermill_engines.register("cx-sparse-saves", Engine)
    return "cx-sparse-saves"


def execute(job: Job, km: Any = None) -> Outcome:
    """Run the notebook with papermill into ``job.work``; classify what happened.

    ``km``: a running kernel's manager to run it in (a batch), else a kernel of its own."""
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    started, t0 = now(), time.monotonic()
    failure: str | None = None
    error = ""
    limit: float | None = None
    try:
        papermill.execute_notebook(
            job.source,
            job.work,
            parameters=job.parameters,
            kernel_name=job.kernel_name,
            cwd=job.source.parent,
            execution_timeout=job.timeout,
            progress_bar=False,
            engine_name=_engine(),
            **({"km": km} if km is not None else {}),
        )
    except PapermillExecutionError as exc:
        failure = "error"
        error = f"{exc.ename}: {str(exc.evalue).strip()} (cell In [{exc.exec_count}])"
    except CellTimeoutError:
        failure, limit = "timeout", float(job.timeout)
        error = f"CellTimeoutError: a cell timed out after {job.timeout} s (the per-cell limit)"
    except DeadKernelError as exc:
        failure, error = "dead_kernel", f"DeadKernelError: {exc}"
    except KeyboardInterrupt:
        failure, error = "interrupted", "interrupted: the runner stopped this notebook"
    except Exception as exc:  # kernel that never started, unreadable notebook...: all failures
        failure, error = "crash", f"{type(exc).__name__}: {exc}"
    outcome = Outcome("ok", started, now(), round(time.monotonic() - t0, 3))
    if failure:
        outcome = replace(outcome.failed(failure, error), limit_s=limit)
    return outcome


def finish(job: Job, outcome: Outcome) -> Outcome:
    """Check completeness, move the executed notebook into place and render its page.

    Used by the worker, and by the runner for a worker it had to stop.
    """
    import nbformat

    from cxlib.report.render import PageHeader, render_notebook

    work, executed, page = job.work, job.executed, job.html
    nb = None
    if not work.exists() and executed.exists():  # a worker stopped after moving it
        work = executed
    if work.exists():
        try:
            nb = nbformat.read(work, as_version=4)
        except Exception as exc:  # a file cut short by a kill
            if outcome.ok:
                outcome = outcome.failed("crash", f"unreadable output: {exc}")
    if nb is not None:
        missing = not_executed(nb)
        if missing and outcome.ok:
            outcome = outcome.failed("incomplete", f"incomplete: {len(missing)} code cell(s) "
                                                   f"did not run (first: cell {missing[0]})")
        os.replace(work, executed)
        outcome = replace(outcome, notebook=executed.name)
    else:
        if outcome.ok:
            outcome = outcome.failed("crash", "no executed notebook was written")
        nb = nbformat.v4.new_notebook()
        outcome = replace(outcome, notebook=None)
    header = PageHeader(job.provenance, outcome.status, outcome.started, outcome.finished,
                        outcome.duration_s, outcome.error, job.attempt)
    try:
        text = render_notebook(nb, header, show_code=job.show_code)
        tmp = page.with_name(f".{page.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, page)
        outcome = replace(outcome, html=page.name)
    except Exception as exc:  # a page that cannot be rendered fails the notebook
        outcome = replace(outcome, html=None)
        if outcome.ok:
            outcome = outcome.failed("render", f"rendering failed: {type(exc).__name__}: {exc}")
    return outcome


# --- a batch: one notebook for many units, in one kernel (cx report --per) ---------------------

RESET = ("_ip = get_ipython()\n"
         "_ip.input_transformers_cleanup[:] = [t for t in _ip.input_transformers_cleanup\n"
         "    if getattr(t, '__module__', '').startswith('IPython')]\n"
         "_ip.reset(new_session=False)\n"
         "import sys as _s\n"
         "[getattr(m, '__warningregistry__', {}).clear() for m in list(_s.modules.values())]\n"
         "get_ipython().execution_count = 1\n"
         "del _s")
"""Run between two units: an empty namespace (what ``%reset -f`` does, without its second
full garbage collection: 0.1 CPU s a unit), no input transformer a notebook installed
(``cxlib.sections`` skips a notebook's later cells with one), warnings shown again, cells
counted from 1; imported modules (and the data cached by ``cxlib.open_data``) stay, which
is the point."""


def run_batch(batch: Job) -> Outcome:
    """Execute ``batch.parts`` in turn in one kernel, each part's outcome to its result
    file. A part whose kernel died (or did not start) fails as such and the next part gets
    a new kernel; a stopped batch (SIGTERM) stops after the part it was running. The
    batch's own outcome: ok when every part is."""
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync

    started, t0 = now(), time.monotonic()
    km = None
    statuses = []
    try:
        for part in batch.parts:
            if km is None:
                km = AsyncKernelManager(kernel_name=part.kernel_name)
            else:
                _reset(km)
            outcome = execute(part, km)
            if outcome.failure in ("dead_kernel", "crash"):
                run_sync(km.shutdown_kernel)(now=True)
                km = None
            done = finish(part, outcome)
            _write_outcome(part, done)
            statuses.append(done.ok)
            if outcome.failure == "interrupted":
                break
    finally:
        if km is not None:
            run_sync(km.shutdown_kernel)(now=True)
    out = Outcome("ok", started, now(), round(time.monotonic() - t0, 3))
    bad = len(batch.parts) - sum(statuses)
    return out.failed("error", f"{bad} of {len(batch.parts)} unit(s) failed") if bad else out


def _reset(km: Any) -> None:
    from jupyter_client import BlockingKernelClient

    kc = BlockingKernelClient()
    kc.load_connection_info(km.get_connection_info())
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        # as a user expression: evaluated directly, not through the input transformers a
        # notebook may have installed (which would swallow a cell of code)
        reply = kc.execute_interactive("", silent=True, timeout=60,
                                       user_expressions={"reset": f"exec({RESET!r})"})
        result = reply["content"].get("user_expressions", {}).get("reset", {})
        if result.get("status") != "ok":
            raise RuntimeError(f"the kernel could not be reset: {result.get('evalue')}")
    finally:
        kc.stop_channels()


def part_outcomes(batch: Job, outcome: Outcome) -> list[tuple[Job, Outcome]]:
    """Each part of a finished batch with its outcome: its result file, or (the batch was
    stopped or crashed before it) the batch's failure, its page rendered from what is left."""
    out = []
    for part in batch.parts:
        if not part.log.exists():  # the batch's worker log holds the part's
            part.log.symlink_to(batch.log.name)
        try:
            got = Outcome.from_json(part.result.read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError):
            failed = Outcome("failed", outcome.started, now(), 0.0)
            got = finish(part, replace(failed.failed(outcome.failure or "crash",
                                                     outcome.error or "the batch stopped"),
                                       limit_s=outcome.limit_s))
        out.append((part, got))
    return out


def _write_outcome(job: Job, outcome: Outcome) -> None:
    tmp = job.result.with_name(f".{job.result.name}.tmp")
    tmp.write_text(outcome.to_json(), encoding="utf-8")
    os.replace(tmp, job.result)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    """Run the job in ``argv[0]``; the outcome goes to ``job.result`` (exit 0 unless broken)."""
    args = sys.argv[1:] if argv is None else argv
    job = Job.from_json(Path(args[0]).read_text(encoding="utf-8"))
    signal.signal(signal.SIGTERM, _interrupt)
    if job.parts:
        _write_outcome(job, run_batch(job))
        return 0
    outcome = execute(job)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # rendering is short; a kill now is a kill
    _write_outcome(job, finish(job, outcome))
    return 0


if __name__ == "__main__":
    sys.exit(main())
