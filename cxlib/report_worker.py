"""Execute and render one notebook of a report run, in a process of its own.

``python -m cxlib.report_worker JOB.json`` is started by :mod:`cxlib.report` once per
notebook (papermill's ``cwd`` is a process-wide ``chdir``, so parallel notebooks need
processes). It never raises for a notebook fault: it writes the executed notebook,
its HTML page (failed ones too, with the error visible) and a result JSON:
``status`` "ok" | "failed" and ``failure`` one of ``FAILURES``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

FAILURES = {
    "error": "a cell raised an exception",
    "timeout": "a cell ran longer than the time limit",
    "notebook_timeout": "the notebook ran longer than its time limit and was stopped",
    "dead_kernel": "the kernel died (out of memory, os._exit, a crash)",
    "incomplete": "code cells did not run (sys.exit in a cell, or an interrupted run)",
    "interrupted": "the run was stopped (SIGTERM / Ctrl-C)",
    "crash": "the notebook could not be run (kernel did not start, unreadable output...)",
    "render": "the HTML page could not be rendered",
}


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


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


def short(message: str, limit: int = 300) -> str:
    first = message.strip().splitlines()[0] if message.strip() else message
    return first if len(first) <= limit else first[: limit - 3] + "..."


def execute(job: Mapping[str, Any]) -> dict[str, Any]:
    """Run the notebook with papermill into ``job["work"]``; classify what happened."""
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    source = Path(job["source"])
    started, t0 = now(), time.monotonic()
    failure: str | None = None
    error: str | None = None
    try:
        papermill.execute_notebook(
            source,
            job["work"],
            parameters=job["parameters"],
            kernel_name=job["kernel_name"],
            cwd=source.parent,
            execution_timeout=job["timeout"],
            progress_bar=False,
        )
    except PapermillExecutionError as exc:
        failure, error = "error", short(f"{exc.ename}: {exc.evalue} (cell In [{exc.exec_count}])")
    except CellTimeoutError:
        failure = "timeout"
        error = f"CellTimeoutError: a cell timed out after {job['timeout']} s (the per-cell limit)"
    except DeadKernelError as exc:
        failure, error = "dead_kernel", short(f"DeadKernelError: {exc}")
    except KeyboardInterrupt:
        failure, error = "interrupted", "interrupted: the runner stopped this notebook"
    except Exception as exc:  # kernel that never started, unreadable notebook...: all failures
        failure, error = "crash", short(f"{type(exc).__name__}: {exc}")
    return {
        "status": "failed" if failure else "ok",
        "failure": failure,
        "error": error,
        "started": started,
        "finished": now(),
        "duration_s": round(time.monotonic() - t0, 3),
    }


def finish(job: Mapping[str, Any], outcome: dict[str, Any]) -> dict[str, Any]:
    """Check completeness, move the executed notebook into place and render its page.

    Used by the worker, and by the runner for a worker it had to stop.
    """
    import nbformat

    from cxlib.render import PageHeader, render_notebook

    outcome = dict(outcome)
    work, executed, page = Path(job["work"]), Path(job["executed"]), Path(job["html"])
    nb = None
    if not work.exists() and executed.exists():  # a worker stopped after moving it
        work = executed
    if work.exists():
        try:
            nb = nbformat.read(work, as_version=4)
        except Exception as exc:  # a file cut short by a kill
            outcome.update(status="failed", failure=outcome.get("failure") or "crash",
                           error=outcome.get("error") or short(f"unreadable output: {exc}"))
    if nb is not None:
        missing = not_executed(nb)
        if missing and outcome["status"] == "ok":
            outcome.update(status="failed", failure="incomplete",
                           error=f"incomplete: {len(missing)} code cell(s) did not run "
                                 f"(first: cell {missing[0]})")
        os.replace(work, executed)
        outcome["notebook"] = executed.name
    else:
        if outcome["status"] == "ok":
            outcome.update(status="failed", failure="crash",
                           error="no executed notebook was written")
        nb = nbformat.v4.new_notebook()
        outcome["notebook"] = None
    header = PageHeader(
        **job["header"],
        status=outcome["status"],
        started=outcome["started"],
        finished=outcome["finished"],
        duration_s=outcome["duration_s"],
        error=outcome["error"],
        attempts=int(job.get("attempt", 1)),
    )
    try:
        text = render_notebook(nb, header, show_code=job["show_code"])
        tmp = page.with_name(f".{page.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, page)
        outcome["html"] = page.name
    except Exception as exc:  # a page that cannot be rendered fails the notebook
        outcome["html"] = None
        if outcome["status"] == "ok":
            outcome.update(status="failed", failure="render",
                           error=short(f"rendering failed: {type(exc).__name__}: {exc}"))
    return outcome


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    """Run the job in ``argv[0]``; the result goes to ``job["result"]`` (exit 0 unless broken)."""
    args = sys.argv[1:] if argv is None else argv
    job = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    signal.signal(signal.SIGTERM, _interrupt)
    outcome = execute(job)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # rendering is short; a kill now is a kill
    outcome = finish(job, outcome)
    result = Path(job["result"])
    tmp = result.with_name(f".{result.name}.tmp")
    tmp.write_text(json.dumps(outcome, default=str), encoding="utf-8")
    os.replace(tmp, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
