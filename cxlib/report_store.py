"""The report folder: run ids, the run lock, atomic writes, ``latest``, the index, pruning.

Every change a reader can see is one ``rename``/``os.replace``: a run folder appears
complete (renamed from ``.<id>.partial``), ``latest`` and ``index.html`` are swapped
in whole, and a pruned run is renamed to ``.<id>.deleting`` before it is removed.
So a runner killed at any moment never leaves a half-written file where a good
report was. Knows nothing about CX.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import shutil
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cxlib.errors import ReportError

LOCK_NAME = ".cx-report.lock"
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_RESERVED = {"latest", "index.html", "logs"}


class ReportLocked(ReportError):
    """Another report run holds the lock on this report folder."""


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, fsync, then rename it into place."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


@dataclass
class RunLock:
    """An exclusive ``flock`` on ``<out_root>/.cx-report.lock``, held for a whole run.

    The kernel releases the lock when its process dies, so a lock file left by a
    killed run is *stale* and taken over (``stale`` then holds what it said);
    a lock held by a live run raises :class:`ReportLocked` naming its pid and start.
    """

    path: Path
    fd: int | None = None
    stale: dict[str, Any] | None = None

    def acquire(self, run_id: str | None = None) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _read_lock(fd)
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                who = (f"pid {holder.get('pid')} on {holder.get('host')}, run "
                       f"{holder.get('run_id')}, since {holder.get('started')}") if holder else "?"
                raise ReportLocked(
                    f"another report run is in progress ({who}); lock {self.path}"
                ) from None
            raise
        previous = _read_lock(fd)
        if previous:  # its holder is gone (flock succeeded), so the lock is stale
            self.stale = previous
        info = {"pid": os.getpid(), "host": socket.gethostname(), "run_id": run_id,
                "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        os.fsync(fd)
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            os.ftruncate(self.fd, 0)  # an empty lock file is a released one
        finally:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> RunLock:
        return self.acquire() if self.fd is None else self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_lock(fd: int) -> dict[str, Any]:
    try:
        raw = os.pread(fd, 4096, 0)
        data = json.loads(raw.decode()) if raw.strip() else {}
    except (OSError, ValueError):
        return {"note": "unreadable lock file"}
    return data if isinstance(data, dict) else {}


def choose_run_id(out_root: Path, run_id: str | None = None) -> str:
    """Validate a given run id, or make a UTC timestamp id unique within ``out_root``."""
    if run_id is not None:
        if not _RUN_ID.match(run_id) or run_id in _RESERVED:
            raise ReportError(f"run id {run_id!r}: use letters, digits, '.', '_' or '-'")
        if _taken(out_root, run_id):
            raise ReportError(f"run id {run_id!r} already exists in {out_root}")
        return run_id
    base = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    candidate, n = base, 1
    while _taken(out_root, candidate):
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _taken(out_root: Path, run_id: str) -> bool:
    return any((out_root / name).exists() or (out_root / name).is_symlink()
               for name in (run_id, f".{run_id}.partial", f".{run_id}.deleting"))


def point_latest(out_root: Path, run_id: str) -> None:
    """Atomically make ``out_root/latest`` a relative symlink to ``run_id``."""
    tmp = out_root / f".latest.{os.getpid()}.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(run_id, tmp, target_is_directory=True)
    os.replace(tmp, out_root / "latest")


def latest_run(out_root: Path) -> str | None:
    link = out_root / "latest"
    return os.readlink(link) if link.is_symlink() else None


def read_runs(out_root: Path) -> list[dict[str, Any]]:
    """Manifests of all finished runs in ``out_root``, newest first."""
    runs = []
    if not out_root.is_dir():
        return runs
    for folder in out_root.iterdir():
        path = folder / "manifest.json"
        if folder.name.startswith(".") or folder.is_symlink() or not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            data["_folder"] = folder.name
            runs.append(data)
    runs.sort(key=lambda m: (str(m.get("started", "")), str(m.get("run_id", ""))), reverse=True)
    return runs


def write_index(out_root: Path) -> Path:
    """Rewrite ``out_root/index.html`` from the manifests of all finished runs."""
    from cxlib.render import index_html

    index = out_root / "index.html"
    write_text_atomic(index, index_html(read_runs(out_root), latest_run(out_root)))
    return index


def prune_runs(out_root: Path, keep: int, current: str | None = None) -> list[str]:
    """Delete all but the ``keep`` newest runs; never the one ``latest`` points at or ``current``.

    Also removes ``.partial`` folders of runs that were killed (call it holding the lock)
    and ``.deleting`` leftovers. Returns the run ids removed.
    """
    if keep < 1:
        raise ReportError(f"keep must be at least 1, got {keep}")
    protected = {latest_run(out_root), current}
    runs = [m["_folder"] for m in read_runs(out_root)]
    doomed = [r for r in runs[keep:] if r not in protected]
    for run in doomed:
        trash = out_root / f".{run}.deleting"
        os.rename(out_root / run, trash)  # gone from readers' view in one step
        shutil.rmtree(trash, ignore_errors=True)
    for leftover in list(out_root.glob(".*.partial")) + list(out_root.glob(".*.deleting")):
        if leftover.name != f".{current}.partial":
            shutil.rmtree(leftover, ignore_errors=True)
    return doomed
