"""Run parameterized notebooks with papermill and publish them as offline HTML reports.

A run executes every notebook into ``out_root/.<run_id>.partial/``, renders each to
HTML, writes ``manifest.json``, renames the folder to ``out_root/<run_id>/``, points
``out_root/latest`` at it when every notebook succeeded, and rewrites
``out_root/index.html``. Knows nothing about CX. See docs/reporting.md.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cxlib import __version__
from cxlib.errors import ReportError

PARAMETERS_TAG = "parameters"
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_RESERVED = {"latest", "index.html"}


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
    notebook_path: Path
    html_path: Path | None
    error: str | None = None

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

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def summary(self) -> str:
        lines = [f"run {self.run_id}: {self.status} ({self.run_dir})"]
        for nb in self.notebooks:
            line = f"  {nb.name:<32} {nb.status:<6} {nb.duration_s:7.1f} s"
            lines.append(line + (f"  {nb.error}" if nb.error else ""))
        return "\n".join(lines)


def run_report(
    notebooks: Sequence[Path],
    out_root: Path = Path("reports"),
    run_id: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    show_code: bool = False,
    timeout: int = 900,
    kernel_name: str = "python3",
) -> RunResult:
    """Execute ``notebooks`` with papermill and render each to offline HTML.

    ``parameters`` go to every notebook that declares them; a name no notebook
    declares, or a notebook without a ``parameters`` cell, raises :class:`ReportError`
    before anything runs. ``timeout`` is papermill's per-cell limit in seconds.
    A failed notebook fails the run but the other notebooks still run.
    """
    if isinstance(notebooks, (str, os.PathLike)):  # one path, not a sequence of characters
        notebooks = [Path(notebooks)]
    sources = [Path(p).absolute() for p in notebooks]
    plan = preflight(sources, dict(parameters or {}))
    out_root = Path(out_root).absolute()
    latest = out_root / "latest"
    if latest.exists() and not latest.is_symlink():
        raise ReportError(f"{latest} exists and is not a symlink; move it away")
    run_id = choose_run_id(out_root, run_id)
    partial = out_root / f".{run_id}.partial"
    final = out_root / run_id
    partial.mkdir(parents=True)
    commit = git_commit(sources[0].parent)
    started = _now()
    results = [
        _run_one(src, params, partial, final, run_id, commit, show_code, timeout, kernel_name)
        for src, params in zip(sources, plan)
    ]
    status = "ok" if all(r.ok for r in results) else "failed"
    result = RunResult(run_id, final, status, started, _now(), results)
    _write_json(partial / "manifest.json", manifest(result, commit))
    partial.rename(final)
    if result.ok:
        point_latest(out_root, run_id)
    write_index(out_root)
    return result


def preflight(notebooks: Sequence[Path], parameters: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Check the notebooks and return, for each, the parameters it declares.

    Raises ReportError for a missing or unreadable notebook, two notebooks with one
    name, a notebook without exactly one ``parameters`` cell, and a parameter that
    no notebook declares.
    """
    import nbformat
    import papermill

    if not notebooks:
        raise ReportError("no notebooks to run")
    declared: list[set[str]] = []
    seen: dict[str, Path] = {}
    for path in notebooks:
        if not path.is_file():
            raise ReportError(f"{path}: notebook not found")
        if path.stem in seen:
            raise ReportError(f"{path}: same name as {seen[path.stem]}; outputs would collide")
        seen[path.stem] = path
        try:
            nb = nbformat.read(path, as_version=4)
            tagged = [c for c in nb.cells if PARAMETERS_TAG in c.get("metadata", {}).get("tags", [])]
            names = set(papermill.inspect_notebook(path)) if len(tagged) == 1 else set()
        except (OSError, ValueError, KeyError) as exc:  # nbformat/papermill reading errors
            raise ReportError(f"{path.name}: cannot read notebook ({exc})") from exc
        if len(tagged) != 1:
            raise ReportError(
                f"{path.name}: needs exactly one cell tagged '{PARAMETERS_TAG}', found {len(tagged)}"
            )
        declared.append(names)
    unknown = sorted(set(parameters) - set().union(*declared))
    if unknown:
        known = ", ".join(sorted(set().union(*declared))) or "none"
        raise ReportError(
            f"unknown parameter(s) {', '.join(unknown)}: not declared by any notebook "
            f"(declared: {known})"
        )
    return [{k: v for k, v in parameters.items() if k in names} for names in declared]


def _run_one(
    source: Path,
    params: dict[str, Any],
    partial: Path,
    final: Path,
    run_id: str,
    commit: str | None,
    show_code: bool,
    timeout: int,
    kernel_name: str,
) -> NotebookResult:
    """Execute and render one notebook into ``partial``; never raises for notebook faults."""
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from cxlib.render import PageHeader, render_notebook

    executed = partial / f"{source.stem}.ipynb"
    started, t0 = _now(), time.monotonic()
    error: str | None = None
    try:
        papermill.execute_notebook(
            source,
            executed,
            parameters=params,
            kernel_name=kernel_name,
            cwd=source.parent,
            execution_timeout=timeout,
            progress_bar=False,
        )
    except PapermillExecutionError as exc:
        error = f"{exc.ename}: {exc.evalue} (cell In [{exc.exec_count}])"
    except Exception as exc:  # timeout, dead kernel, kernel that never started: all failures
        error = _short(f"{type(exc).__name__}: {exc}")
    duration = time.monotonic() - t0
    finished = _now()
    nb = nbformat.read(executed, as_version=4) if executed.exists() else None
    if error is None and nb is not None:
        missing = not_executed(nb)
        if missing:
            error = f"incomplete: {len(missing)} code cell(s) did not run (first: cell {missing[0]})"
    if nb is None:
        error = error or "no executed notebook was written"
    html_name: str | None = None
    if nb is not None:
        header = PageHeader(
            run_id=run_id, notebook=source.stem, status="failed" if error else "ok",
            started=started, finished=finished, duration_s=duration, version=__version__,
            commit=commit, parameters=params, error=error,
        )  # fmt: skip
        try:
            page = render_notebook(nb, header, show_code=show_code)
            (partial / f"{source.stem}.html").write_text(page, encoding="utf-8")
            html_name = f"{source.stem}.html"
        except Exception as exc:  # a page that cannot be rendered fails the notebook
            error = error or _short(f"rendering failed: {type(exc).__name__}: {exc}")
    return NotebookResult(
        name=source.stem,
        source=source,
        status="failed" if error else "ok",
        started=started,
        finished=finished,
        duration_s=round(duration, 3),
        parameters=dict(params),
        notebook_path=final / executed.name,
        html_path=final / html_name if html_name else None,
        error=error,
    )


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


def manifest(result: RunResult, commit: str | None = None) -> dict[str, Any]:
    """The JSON-ready manifest of a run; notebook paths are relative to the run folder."""
    return {
        "run_id": result.run_id,
        "status": result.status,
        "started": result.started,
        "finished": result.finished,
        "cxlib_version": __version__,
        "git_commit": commit,
        "notebooks": [
            {
                "name": nb.name,
                "source": str(nb.source),
                "status": nb.status,
                "started": nb.started,
                "finished": nb.finished,
                "duration_s": nb.duration_s,
                "parameters": nb.parameters,
                "error": nb.error,
                "notebook": nb.notebook_path.name,
                "html": nb.html_path.name if nb.html_path else None,
            }
            for nb in result.notebooks
        ],
    }


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
    return (out_root / run_id).exists() or (out_root / f".{run_id}.partial").exists()


def point_latest(out_root: Path, run_id: str) -> None:
    """Atomically make ``out_root/latest`` a relative symlink to ``run_id``."""
    tmp = out_root / f".latest.{os.getpid()}.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(run_id, tmp, target_is_directory=True)
    os.replace(tmp, out_root / "latest")


def write_index(out_root: Path) -> Path:
    """Rewrite ``out_root/index.html`` from the manifests of all finished runs."""
    from cxlib.render import index_html

    runs = []
    for folder in out_root.iterdir():
        path = folder / "manifest.json"
        if folder.name.startswith(".") or folder.is_symlink() or not path.is_file():
            continue
        try:
            runs.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    runs.sort(key=lambda m: (str(m.get("started", "")), str(m.get("run_id", ""))), reverse=True)
    link = out_root / "latest"
    latest = os.readlink(link) if link.is_symlink() else None
    index = out_root / "index.html"
    tmp = out_root / f".index.{os.getpid()}.tmp"
    tmp.write_text(index_html(runs, latest), encoding="utf-8")
    os.replace(tmp, index)
    return index


def git_commit(folder: Path) -> str | None:
    """Short commit of the git checkout holding ``folder``, or None."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=folder, capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() or None


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _short(message: str, limit: int = 300) -> str:
    first = message.strip().splitlines()[0] if message.strip() else message
    return first if len(first) <= limit else first[: limit - 3] + "..."
