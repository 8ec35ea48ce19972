"""What the runner hands a worker process (:class:`Job`) and what comes back (:class:`Outcome`).

Both are frozen dataclasses written as JSON between the processes. A job knows its
files by its name and the run's ``.partial`` folder. Knows nothing about CX.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
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
    "data": "not run: the data check before the run found present data invalid",
}
MAX_ERROR_LINES = 30  # an error message longer than this is cut, with a pointer to the page
MAX_ERROR_CHARS = 6000


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def error_text(message: str) -> str:
    """The whole error message, every line, cut only past ``MAX_ERROR_LINES``/``_CHARS``.

    A cut message ends with a line saying how much more the notebook's page holds.
    """
    lines = message.strip().splitlines() or [""]
    kept: list[str] = []
    size = 0
    for line in lines[:MAX_ERROR_LINES]:
        room = MAX_ERROR_CHARS - size
        if len(line) > room:
            kept.append(line[:room] + "...")
            break
        kept.append(line)
        size += len(line) + 1
    if kept != lines:
        more = len(lines) - len(kept)
        kept.append(f"[cut here, {more} more line(s): the whole message is in the notebook's page]")
    return "\n".join(kept)


def first_line(message: str | None) -> str:
    """The first line of a message, with a count of the others (for progress lines)."""
    lines = (message or "").strip().splitlines()
    if len(lines) <= 1:
        return message or ""
    return f"{lines[0]} [+{len(lines) - 1} line(s)]"


@dataclass(frozen=True)
class Provenance:
    """What a page's header says about its run before the notebook runs."""

    run_id: str
    notebook: str
    version: str
    commit: str | None = None
    dirty: bool = False  # tracked files differ from the commit
    parameters: dict[str, Any] = field(default_factory=dict)  # injected values
    declared: tuple[dict[str, Any], ...] = ()  # name, type, default, help per parameter
    inputs: tuple[dict[str, Any], ...] = ()  # fingerprints (cxlib.report.inputs)
    notebook_sha256: str | None = None


@dataclass(frozen=True)
class Job:
    """One notebook to execute and render, in a worker process."""

    name: str
    source: Path
    folder: Path  # the run's .partial folder
    parameters: dict[str, Any]
    timeout: int  # seconds per cell
    kernel_name: str
    show_code: bool
    provenance: Provenance
    attempt: int = 1
    previous_errors: tuple[str, ...] = ()
    parts: tuple[Job, ...] = ()
    """A batch (``cx report --per``): the jobs of one notebook's units, run in turn in one
    kernel by one worker; each part has its own files and outcome (``part.result``)."""

    @property
    def work(self) -> Path:
        """Where papermill writes while the notebook runs."""
        return self.folder / ".work" / f"{self.name}.ipynb"

    @property
    def executed(self) -> Path:
        return self.folder / f"{self.name}.ipynb"

    @property
    def html(self) -> Path:
        return self.folder / f"{self.name}.html"

    @property
    def result(self) -> Path:
        """The worker's :class:`Outcome` as JSON."""
        return self.folder / ".work" / f"{self.name}.result.json"

    @property
    def job_file(self) -> Path:
        return self.folder / ".work" / f"{self.name}.job.json"

    @property
    def log(self) -> Path:
        return self.folder / "logs" / f"{self.name}.log"

    def retry(self, error: str) -> Job:
        return replace(self, attempt=self.attempt + 1,
                       previous_errors=(*self.previous_errors, error))

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=str)

    @classmethod
    def from_json(cls, text: str) -> Job:
        data = json.loads(text)
        data["source"], data["folder"] = Path(data["source"]), Path(data["folder"])
        prov = data["provenance"]
        prov["declared"], prov["inputs"] = tuple(prov["declared"]), tuple(prov["inputs"])
        data["provenance"] = Provenance(**prov)
        data["previous_errors"] = tuple(data["previous_errors"])
        data["parts"] = tuple(cls.from_json(json.dumps(p)) for p in data.get("parts", ()))
        return cls(**data)


@dataclass(frozen=True)
class Outcome:
    """What became of one notebook: status, the failure kind (a key of ``FAILURES``), files."""

    status: str  # "ok" | "failed"
    started: str
    finished: str
    duration_s: float
    failure: str | None = None
    error: str | None = None  # the whole message (error_text)
    limit_s: float | None = None  # the time limit that fired, for timeout / notebook_timeout
    notebook: str | None = None  # file names in the run folder
    html: str | None = None
    attempts: int = 1
    previous_errors: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def failed(self, failure: str, error: str) -> Outcome:
        return replace(self, status="failed", failure=failure, error=error_text(error))

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=str)

    @classmethod
    def from_json(cls, text: str) -> Outcome:
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in data.items() if k in known}
        data["previous_errors"] = tuple(data.get("previous_errors", ()))
        return cls(**data)
