"""Worker processes of a report run: start, watch, time out, retry and stop them.

One ``python -m cxlib.report_worker`` process per notebook, ``workers`` at a time,
each in its own process group and set to receive SIGTERM when the runner dies.
Knows nothing about CX.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cxlib.report_worker import now

Progress = Callable[[str], None]
GRACE_S = 5.0  # a stopped worker gets this long to shut its kernel down


@dataclass
class _Running:
    spec: dict[str, Any]
    proc: subprocess.Popen[bytes]
    t0: float
    log: Any
    started: str


def execute_all(
    specs: list[dict[str, Any]],
    workers: int,
    notebook_timeout: float | None,
    retries: int,
    say: Progress,
) -> dict[str, dict[str, Any]]:
    """Run every spec in a worker process, ``workers`` at a time; name -> outcome."""
    queue = collections.deque(specs)
    running: list[_Running] = []
    outcomes: dict[str, dict[str, Any]] = {}
    total = len(specs)
    try:
        while queue or running:
            while queue and len(running) < workers:
                spec = queue.popleft()
                running.append(_start(spec))
                retry = f" (attempt {spec['attempt']})" if spec["attempt"] > 1 else ""
                say(f"  start  {spec['name']}{retry}  [{len(outcomes)}/{total} done, "
                    f"{len(running)} running]")
            time.sleep(0.1)
            for job in list(running):
                elapsed = time.monotonic() - job.t0
                code = job.proc.poll()
                if code is None and notebook_timeout and elapsed > notebook_timeout:
                    _stop(job)
                    code = -1
                    outcome = _stopped_outcome(job, f"notebook_timeout: stopped after "
                                                    f"{notebook_timeout:g} s (the notebook limit)")
                elif code is None:
                    continue
                else:
                    outcome = _collect(job, code)
                running.remove(job)
                job.log.close()
                spec = job.spec
                if outcome.get("failure") == "dead_kernel" and spec["attempt"] <= retries:
                    say(f"  retry  {spec['name']}: {outcome['error']}")
                    queue.appendleft({**spec, "attempt": spec["attempt"] + 1,
                                      "previous_errors": [*spec["previous_errors"],
                                                          outcome["error"]]})
                    continue
                outcomes[spec["name"]] = {**outcome, "attempts": spec["attempt"],
                                          "previous_errors": spec["previous_errors"]}
                mark = "ok" if outcome["status"] == "ok" else "FAILED"
                say(f"  {mark:<6} {spec['name']}  {outcome['duration_s']:.1f} s  "
                    f"[{len(outcomes)}/{total} done]" + (f"  {outcome['error']}" if
                                                         outcome.get("error") else ""))
    except BaseException:
        for job in running:  # Ctrl-C, SIGTERM, a bug: stop the workers and their kernels
            _stop(job)
            job.log.close()
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


def _start(spec: dict[str, Any]) -> _Running:
    job_file = Path(spec["result"]).with_name(f"{spec['name']}.job.json")
    job_file.write_text(json.dumps(spec, default=str), encoding="utf-8")
    result = Path(spec["result"])
    if result.exists():
        result.unlink()
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("TQDM_DISABLE", "1")  # progress bars are for a screen, not for a report
    log = open(spec["log"], "ab")  # noqa: SIM115 - closed when the worker ends
    log.write(f"--- attempt {spec['attempt']} {now()}\n".encode())
    log.flush()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cxlib.report_worker", str(job_file)],
        cwd=Path(spec["source"]).parent,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so it can be stopped as one
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
    )
    return _Running(spec, proc, time.monotonic(), log, now())


def _stop(job: _Running) -> None:
    """SIGTERM the worker's group (it shuts its kernel down), SIGKILL it after a grace period."""
    for sig, wait in ((signal.SIGTERM, GRACE_S), (signal.SIGKILL, GRACE_S)):
        try:
            os.killpg(job.proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            job.proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _collect(job: _Running, code: int) -> dict[str, Any]:
    result = Path(job.spec["result"])
    if code == 0 and result.is_file():
        try:
            return dict(json.loads(result.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            pass
    return _stopped_outcome(job, f"crash: the worker exited with status {code} "
                                 f"({_last_line(job.spec['log'])})")


def _stopped_outcome(job: _Running, error: str) -> dict[str, Any]:
    """Outcome of a worker that gave no result: render what it left, in this process."""
    from cxlib.report_worker import finish

    failure = error.split(":", 1)[0]
    elapsed = round(time.monotonic() - job.t0, 3)
    outcome = {"status": "failed", "failure": failure, "error": error, "finished": now(),
               "started": job.started, "duration_s": elapsed}
    return finish(job.spec, outcome)


def _last_line(log: str) -> str:
    try:
        lines = [x for x in Path(log).read_text(encoding="utf-8", errors="replace").splitlines()
                 if x.strip()]
    except OSError:
        return "no log"
    return lines[-1][:200] if lines else "empty log"
