"""The report folder: pre-flight, run ids, the lock, atomic writes, publishing, pruning.

Every change a reader can see is one ``rename``/``os.replace``: a run folder appears
complete (renamed from ``.<id>.partial``); ``latest`` and ``index.html`` are fixed
symlinks into ``.cx-published``, itself a symlink to a folder holding both, swapped
in one step (:func:`publish`), so no kill leaves them naming different runs; a pruned
run is renamed to ``.<id>.deleting`` before it is removed. So a runner killed at any
moment never leaves a half-written file where a good report was. Knows nothing about CX.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import shutil
import socket
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cxlib.errors import ReportError

LOCK_NAME = ".cx-report.lock"
PUBLISHED = ".cx-published"  # -> .cx-published.<n>/ holding index.html and latest
MIN_FREE_BYTES = 200 * 2**20  # a run of the sample notebooks writes about 60 MB
DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_RESERVED = {"latest", "index.html", "logs"}


class ReportLocked(ReportError):
    """Another report run holds the lock on this report folder."""


class ReportWriteError(ReportError):
    """The report folder could not be written during a run (disk full, read-only...)."""


def os_problem(exc: OSError) -> str:
    """``[Errno 28] No space left on device: 'path'`` without the exception's class name."""
    where = f": {exc.filename}" if exc.filename else ""
    return f"{exc.strerror or exc}{where}"


def check_folder(out_root: Path, min_free: int = MIN_FREE_BYTES) -> None:
    """Pre-flight of the report folder: it exists or can be made, has ``min_free`` bytes
    free and takes a file; ReportError (one line) when not."""
    what = f"report folder {out_root}"
    try:
        out_root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"{what} cannot be created ({os_problem(exc)})") from None
    if not out_root.is_dir():
        raise ReportError(f"{what} is not a folder")
    try:
        free = shutil.disk_usage(out_root).free
    except OSError as exc:
        raise ReportError(f"{what}: free space unknown ({os_problem(exc)})") from None
    if free < min_free:
        raise ReportError(f"{what}: {free / 2**20:.0f} MB free on its disk, a run needs "
                          f"at least {min_free / 2**20:.0f} MB")
    probe = out_root / f".cx-probe.{os.getpid()}"
    try:
        with open(probe, "wb") as handle:
            handle.write(b"cx")
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise ReportError(f"{what} is not writable ({os_problem(exc)})") from None
    finally:
        try:
            probe.unlink()
        except OSError:
            pass


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
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ReportError(f"cannot create the lock file ({os_problem(exc)})") from None
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
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode(), 0)
            os.fsync(fd)
        except OSError as exc:
            os.close(fd)
            raise ReportError(f"cannot write the lock file ({os_problem(exc)})") from None
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


def latest_run(out_root: Path) -> str | None:
    """The run ``out_root/latest`` leads to, or None (no good run yet)."""
    link = out_root / "latest"
    if not link.is_symlink() or not link.exists():
        return None
    return Path(os.path.realpath(link)).name


def read_runs(out_root: Path, leave_out: Collection[str] = ()) -> list[dict[str, Any]]:
    """Manifests of all finished runs in ``out_root`` (but ``leave_out``), newest first."""
    runs = []
    if not out_root.is_dir():
        return runs
    for folder in out_root.iterdir():
        path = folder / "manifest.json"
        if (folder.name.startswith(".") or folder.is_symlink() or folder.name in leave_out
                or not path.is_file()):
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


def publish(out_root: Path, latest: str | None, leave_out: Collection[str] = ()) -> None:
    """Make ``latest`` lead to the run ``latest`` (None: no good run) and ``index.html``
    list the runs (but ``leave_out``, about to be pruned), both in one ``os.replace``.

    A folder of the older layout (``index.html`` a file, ``latest`` a direct link) is
    first taken over as it stands, then published.
    """
    from cxlib.report.render import index_html

    fixed = {"index.html": f"{PUBLISHED}/index.html", "latest": f"{PUBLISHED}/latest"}
    current = latest_run(out_root)
    if any(_link(out_root / name) != target for name, target in fixed.items()):
        if current is not None or (out_root / "index.html").exists():
            _swap_in(out_root, index_html(read_runs(out_root), current), current)
        for name, target in fixed.items():  # each swap leaves the same run named
            tmp = out_root / f".{name}.{os.getpid()}.tmp"
            _unlink(tmp)
            os.symlink(target, tmp)
            os.replace(tmp, out_root / name)
    _swap_in(out_root, index_html(read_runs(out_root, leave_out), latest), latest)
    for old in out_root.glob(f"{PUBLISHED}.*"):
        if old.name != _link(out_root / PUBLISHED):
            _remove(old)


def _swap_in(out_root: Path, index: str, latest: str | None) -> None:
    """A new ``.cx-published.<n>`` folder with ``index.html`` and ``latest``, swapped in."""
    numbers = [int(p.suffix[1:]) for p in out_root.glob(f"{PUBLISHED}.*") if p.suffix[1:].isdigit()]
    folder = out_root / f"{PUBLISHED}.{max(numbers, default=0) + 1}"
    folder.mkdir()
    write_text_atomic(folder / "index.html", index)
    if latest is not None:
        os.symlink(f"../{latest}", folder / "latest", target_is_directory=True)
    _fsync_dir(folder)
    tmp = out_root / f"{PUBLISHED}.{os.getpid()}.tmp"
    _unlink(tmp)
    os.symlink(folder.name, tmp, target_is_directory=True)
    os.replace(tmp, out_root / PUBLISHED)  # the one step
    _fsync_dir(out_root)


def _link(path: Path) -> str | None:
    return os.readlink(path) if path.is_symlink() else None


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    else:
        shutil.rmtree(path, ignore_errors=True)


def _unlink(path: Path) -> None:
    if path.is_symlink() or path.exists():
        path.unlink()


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def runs_to_prune(out_root: Path, keep: int, protected: Collection[str | None]) -> list[str]:
    """The runs beyond the ``keep`` newest, never one in ``protected``."""
    runs = [m["_folder"] for m in read_runs(out_root)]
    return [r for r in runs[keep:] if r not in protected]


def remove_runs(out_root: Path, doomed: Collection[str], current: str | None = None) -> None:
    """Delete the runs ``doomed``, ``.partial`` folders of killed runs (but ``current``'s)
    and ``.deleting`` leftovers; call it holding the lock."""
    for run in doomed:
        trash = out_root / f".{run}.deleting"
        os.rename(out_root / run, trash)  # gone from readers' view in one step
        shutil.rmtree(trash, ignore_errors=True)
    for leftover in list(out_root.glob(".*.partial")) + list(out_root.glob(".*.deleting")):
        if leftover.name != f".{current}.partial":
            shutil.rmtree(leftover, ignore_errors=True)
