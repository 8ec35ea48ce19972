"""Worker processes of a report run: start, watch, time out, retry and stop them.

One ``python -m cxlib.report.worker`` process per notebook, ``workers`` at a time,
each in its own process group and set to receive SIGTERM when the runner dies.
Knows nothing about CX.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cxlib.paths import REPORT_DIR_ENV
from cxlib.report.data_page import cache_folder
from cxlib.report.job import Job, Outcome, first_line, now

Progress = Callable[[str], None]
GRACE_S = 5.0  # a stopped worker gets this long to shut its kernel down


@dataclass
class _Running:
    job: Job
    proc: subprocess.Popen[bytes]
    t0: float
    log: Any
    started: str


def execute_all(
    jobs: list[Job],
    workers: int,
    notebook_timeout: float | None,
    retries: int,
    say: Progress,
) -> dict[str, Outcome]:
    """Run every job in a worker process, ``workers`` at a time; name -> outcome."""
    queue = collections.deque(jobs)
    running: list[_Running] = []
    outcomes: dict[str, Outcome] = {}
    total = len(jobs)
    try:
        while queue or running:
            while queue and len(running) < workers:
                job = queue.popleft()
                running.append(_start(job))
                retry = f" (attempt {job.attempt})" if job.attempt > 1 else ""
                say(f"  start  {job.name}{retry}  [{len(outcomes)}/{total} done, "
                    f"{len(running)} running]")
            time.sleep(0.1)
            for run in list(running):
                elapsed = time.monotonic() - run.t0
                code = run.proc.poll()
                limit = notebook_timeout and notebook_timeout * max(len(run.job.parts), 1)
                if code is None and limit and elapsed > limit:
                    _stop(run)
                    outcome = _stopped_outcome(run, "notebook_timeout", (
                        f"notebook_timeout: stopped after {limit:g} s "
                        "(the notebook limit" + (f" x {len(run.job.parts)} units)"
                                                 if run.job.parts else ")")), limit_s=limit)
                elif code is None:
                    continue
                else:
                    outcome = _collect(run, code)
                running.remove(run)
                run.log.close()
                job = run.job
                if outcome.failure == "dead_kernel" and job.attempt <= retries:
                    say(f"  retry  {job.name}: {first_line(outcome.error)}")
                    queue.appendleft(job.retry(outcome.error or ""))
                    continue
                outcomes[job.name] = replace(outcome, attempts=job.attempt,
                                             previous_errors=job.previous_errors)
                mark = "ok" if outcome.ok else "FAILED"
                say(f"  {mark:<6} {job.name}  {outcome.duration_s:.1f} s  "
                    f"[{len(outcomes)}/{total} done]"
                    + (f"  {first_line(outcome.error)}" if outcome.error else ""))
    except BaseException:
        for run in running:  # Ctrl-C, SIGTERM, a bug: stop the workers and their kernels
            _stop(run)
            run.log.close()
        raise
    return outcomes


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to SIGTERM the worker when the runner dies (kill -9 included)."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _start(job: Job) -> _Running:
    job.job_file.write_text(job.to_json(), encoding="utf-8")
    if job.result.exists():
        job.result.unlink()
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("TQDM_DISABLE", "1")  # progress bars are for a screen, not for a report
    env["CX_REPORT_RUN"] = "1"  # a notebook without its inputs skips its cells (cxlib.sections)
    env["CX_RUN_CACHE"] = str(cache_folder(job.folder))  # the data profiles of the run
    env[REPORT_DIR_ENV] = str(job.folder)  # files a notebook exports, beside its page
    log = open(job.log, "ab")  # noqa: SIM115 - closed when the worker ends
    log.write(f"--- attempt {job.attempt} {now()}\n".encode())
    log.flush()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cxlib.report.worker", str(job.job_file)],
        cwd=job.source.parent,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so it can be stopped as one
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
    )
    return _Running(job, proc, time.monotonic(), log, now())


def _stop(run: _Running) -> None:
    """SIGTERM the worker's group (it shuts its kernel down), SIGKILL it after a grace period."""
    for sig, wait in ((signal.SIGTERM, GRACE_S), (signal.SIGKILL, GRACE_S)):
        try:
            os.killpg(run.proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            run.proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _collect(run: _Running, code: int) -> Outcome:
    if code == 0 and run.job.result.is_file():
        try:
            return Outcome.from_json(run.job.result.read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError):
            pass
    return _stopped_outcome(run, "crash", f"crash: the worker exited with status {code} "
                                          f"({_last_line(run.job.log)})")


def _stopped_outcome(run: _Running, failure: str, error: str,
                     limit_s: float | None = None) -> Outcome:
    """Outcome of a worker that gave no result: render what it left, in this process."""
    from cxlib.report.worker import finish

    elapsed = round(time.monotonic() - run.t0, 3)
    outcome = Outcome("failed", run.started, now(), elapsed).failed(failure, error)
    if run.job.parts:  # a batch: its parts without a result are finished by the runner
        return replace(outcome, limit_s=limit_s)
    return finish(run.job, replace(outcome, limit_s=limit_s))


def _last_line(log: Path) -> str:
    try:
        lines = [x for x in log.read_text(encoding="utf-8", errors="replace").splitlines()
                 if x.strip()]
    except OSError:
        return "no log"
    return lines[-1][:200] if lines else "empty log"
