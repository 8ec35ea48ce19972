"""The data of a report run: its profile page, and the data check before notebooks run.

The one part of the runner that knows about CX data. The notebooks' ``source`` parameter
(given, or the notebook's default; relative paths start from the notebook's folder, where
papermill runs it) names the data. Each distinct source is profiled once per run
(:func:`cxlib.profile`: tables, rows, dates, mapped columns, scales, missingness, the
report sections it supports), written as ``00_data_profile.html`` in the run folder and
recorded in ``manifest.json`` (``data_profiles``), with each notebook's minimum inputs,
and stored for the notebooks (:func:`cache_folder`): their ``data.profile`` is read from it
instead of computed again.

The rule: present invalid data (a bad ``cx.yml``, a file that does not read, values off
the contract: a :class:`~cxlib.errors.CxError`) fail the run before any notebook runs,
every problem on the console, in the manifest, the index and the page; data the profile
does not read (a DuckDB file, or more than :data:`MAX_BYTES` of files, which the notebooks
read through their engine) are a note and the notebooks run.
"""

from __future__ import annotations

import html
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cxlib.errors import CxError, ReportError
from cxlib.report.params import NO_DEFAULT, NotebookParameters
from cxlib.report.render import standalone_page
from cxlib.report.store import write_text_atomic

DATA_PARAMETER = "source"
PAGE = "00_data_profile"
MAX_BYTES = 256 * 2**20
"""Sources with more bytes of files than this are not profiled (the profile reads every
table into pandas; the sample is 7 MB, ``make data-large`` several GB)."""
DESCRIPTIONS = (".yml", ".yaml")


@dataclass(frozen=True)
class DataSource:
    """One data source of a run and the notebooks that read it."""

    value: str  # as the notebooks get it
    path: Path  # resolved from the notebook's folder
    notebooks: tuple[str, ...]
    page: str  # file name of its profile page in the run folder


@dataclass(frozen=True)
class DataCheck:
    """The profile of one data source: ``status`` "ok", "invalid" (present data that fail
    their checks: the run stops), "not_profiled" (a note) or "error" (the profile broke)."""

    source: str
    path: str
    notebooks: list[str]
    status: str
    page: str | None = None
    description: str | None = None  # the cx.yml read, None for the defaults
    headline: str | None = None
    error: str | None = None  # the whole message
    note: str | None = None
    minimum_inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    duration_s: float = 0.0

    @property
    def invalid(self) -> bool:
        return self.status == "invalid"

    def to_manifest(self) -> dict[str, Any]:
        return asdict(self)


def find_sources(declared: Sequence[NotebookParameters],
                 plans: Sequence[dict[str, Any]]) -> list[DataSource]:
    """The distinct data sources of the notebooks, in notebook order.

    Raises ReportError (pre-flight, nothing runs) for a source that does not exist.
    """
    found: dict[Path, list[str]] = {}
    given: dict[Path, str] = {}
    for d, params in zip(declared, plans):
        param = d.parameters.get(DATA_PARAMETER)
        if param is None:
            continue
        value = params[DATA_PARAMETER] if DATA_PARAMETER in params else param.default_value()
        if value is NO_DEFAULT or not isinstance(value, (str, os.PathLike)) or not str(value):
            continue
        path = (d.path.parent / Path(value).expanduser()).resolve()
        if not path.exists():
            raise ReportError(
                f"{d.name}: {DATA_PARAMETER} {str(value)!r} not found ({path}); a relative "
                f"path starts from the notebook's folder {d.path.parent}: give an absolute one")
        found.setdefault(path, []).append(d.name)
        given.setdefault(path, str(value))
    return [DataSource(given[p], p, tuple(names), PAGE + ("" if i == 0 else f"_{i + 1}") + ".html")
            for i, (p, names) in enumerate(found.items())]


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    total = 0
    for root, dirs, names in os.walk(path):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        total += sum((Path(root) / n).stat().st_size for n in names if not n.startswith("."))
        if total > MAX_BYTES:
            break
    return total


def check(source: DataSource, folder: Path, run_id: str) -> DataCheck:
    """Profile ``source`` and write its page into the run ``folder``."""
    import cxlib

    t0 = time.monotonic()
    yml = source.path if source.path.is_file() else source.path / "cx.yml"
    base = {"source": source.value, "path": str(source.path),
            "notebooks": list(source.notebooks), "page": source.page,
            "description": str(yml) if yml.is_file() else None}
    result: DataCheck
    profile = None
    if source.path.is_file() and source.path.suffix.lower() not in DESCRIPTIONS:
        result = DataCheck(**base, status="not_profiled",
                           note=f"{source.path.name}: the profile reads a folder or a cx.yml, "
                                "not a database file; the notebooks read it through the engine")
    elif (size := _size(source.path)) > MAX_BYTES:
        result = DataCheck(**base, status="not_profiled",
                           note=f"more than {MAX_BYTES // 2**20} MB of files "
                                f"({size / 2**20:,.0f} MB or more): too large to profile in "
                                "memory; the notebooks read it through the engine")
    else:
        try:
            profile = cxlib.profile(source.path)
        except CxError as exc:  # present and invalid: every problem, as the error says
            result = DataCheck(**base, status="invalid", error=str(exc))
        except Exception as exc:  # a fault of the profile itself, not of the data
            result = DataCheck(**base, status="error",
                               note=f"the profile could not be computed: "
                                    f"{type(exc).__name__}: {exc}")
        else:
            from cxlib.profiling import cache_file, save_profile

            save_profile(profile, cache_file(source.path, cache_folder(folder)))
            nbs = profile.notebooks
            result = DataCheck(
                **base, status="ok", headline=profile.headline(),
                minimum_inputs={str(r.notebook): {"present": bool(r.supported),
                                                  "reason": str(r.reason)}
                                for r in nbs.itertuples()})
    result = DataCheck(**{**asdict(result), "duration_s": round(time.monotonic() - t0, 3)})
    write_text_atomic(folder / source.page, page_html(result, run_id, profile))
    return result


def cache_folder(run_folder: Path) -> Path:
    """Where a run keeps what its notebooks read instead of computing again (the profiles,
    :data:`cxlib.profiling.RUN_CACHE`); removed with the run's ``.work`` folder."""
    return run_folder / ".work" / "cache"


def page_html(result: DataCheck, run_id: str, profile: Any = None) -> str:
    """The profile page: a header (run, source, description, status), then the problems
    or the profile (:meth:`cxlib.profiling.DataProfile.to_html`, escaped)."""
    e = html.escape
    header = [("Run", run_id), ("Source", result.path),
              ("Description", result.description or "no cx.yml: the defaults (the sample's "
                                                     "layout and scales)"),
              ("Status", result.status), ("Notebooks", ", ".join(result.notebooks))]
    if result.invalid:
        body = ("<h2>The data are invalid</h2>\n<p>No notebook ran. Every problem found:</p>\n"
                f'<pre class="cx-error">{e(result.error or "")}</pre>')
    elif profile is None:
        body = f"<p>{e(result.note or '')}</p>"
    else:
        body = profile.to_html()
    return standalone_page(f"Data profile: {Path(result.path).name}", header, body)


def summary_lines(result: DataCheck) -> list[str]:
    """What the console says about one data check (the whole error, every line)."""
    lines = [f"{'data profile':<32} {result.status:<6} {result.duration_s:7.1f} s  "
             f"{result.page or ''}"]
    text = result.error or result.note or result.headline or ""
    lines += [f"    {line}" for line in text.splitlines()]
    skipped = [f"    notebook {nb}: {v['reason'].removeprefix(f'notebook {nb} needs ')}"
               for nb, v in result.minimum_inputs.items()
               if not v["present"] and nb in {n[:2] for n in result.notebooks}]
    if skipped:
        lines.append("    minimum inputs missing (the notebook shows only a note):")
        lines += ["  " + s for s in skipped]
    return lines
