"""Execute and render one notebook of a report run, in a process of its own.

``python -m cxlib.report.worker JOB.json`` is started by :mod:`cxlib.report.pool` once
per notebook (papermill's ``cwd`` is a process-wide ``chdir``, so parallel notebooks
need processes). It never raises for a notebook fault: it writes the executed
notebook, its HTML page (failed ones too, with the error visible) and an
:class:`~cxlib.report.job.Outcome` as JSON. Knows nothing about CX.
"""

from __future__ import annotations

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


def execute(job: Job) -> Outcome:
    """Run the notebook with papermill into ``job.work``; classify what happened."""
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


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    """Run the job in ``argv[0]``; the outcome goes to ``job.result`` (exit 0 unless broken)."""
    args = sys.argv[1:] if argv is None else argv
    job = Job.from_json(Path(args[0]).read_text(encoding="utf-8"))
    signal.signal(signal.SIGTERM, _interrupt)
    outcome = execute(job)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # rendering is short; a kill now is a kill
    outcome = finish(job, outcome)
    tmp = job.result.with_name(f".{job.result.name}.tmp")
    tmp.write_text(outcome.to_json(), encoding="utf-8")
    os.replace(tmp, job.result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
