"""One report per unit (``cx report --per store``): the units, their jobs, their index.

The runner lists the units of the column in the notebooks' data (:func:`cxlib.units.unit_table`:
the levels above it from the description's ``hierarchy``, display names, n), renders every
chosen notebook once per unit of at least ``min_n`` answers (the run's ``min_n`` parameter,
else the notebooks' default) with ``unit_column`` and ``unit`` as parameters, and lists the
smaller units with their n instead. A notebook's units run in batches, one per worker, each
batch in one kernel (:func:`cxlib.report.worker.run_batch`): modules are imported and the
company's data read once per batch, not once per page. Every page keeps its own files,
outcome and manifest entry (``unit``); the manifest's ``units`` and the index group the pages
by the hierarchy (region -> store).
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cxlib.errors import CxError, ReportError
from cxlib.report.job import Job
from cxlib.report.params import NO_DEFAULT, NotebookParameters

UNIT_PARAMETERS = ("unit_column", "unit")
DEFAULT_MIN_N = 30
_PLAIN = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def check_notebooks(declared: Sequence[NotebookParameters], column: str) -> None:
    """ReportError (one line) naming the notebooks that do not declare the unit parameters."""
    lacking = [d.name for d in declared
               if any(p not in d.parameters for p in UNIT_PARAMETERS)]
    if lacking:
        raise ReportError(f"--per {column}: {', '.join(lacking)} cannot be rendered per unit "
                          f"(no parameters {' and '.join(UNIT_PARAMETERS)}); choose notebooks "
                          "that declare them, e.g. 01 and 03")


def takes_units(notebook: Path) -> bool:
    """Whether the notebook declares the unit parameters (``cx report --per`` without names
    renders those)."""
    from cxlib.report.params import read_parameters

    declared = read_parameters(notebook).parameters
    return all(p in declared for p in UNIT_PARAMETERS)


def _value(d: NotebookParameters, plan: Mapping[str, Any], name: str, fallback: Any) -> Any:
    if name in plan:
        return plan[name]
    param = d.parameters.get(name)
    value = param.default_value() if param else NO_DEFAULT
    return fallback if value is NO_DEFAULT else value


def min_n_of(declared: Sequence[NotebookParameters], plans: Sequence[Mapping[str, Any]]) -> int:
    """The run's ``min_n``: given, else the first notebook's default, else 30."""
    for d, plan in zip(declared, plans):
        if "min_n" in d.parameters:
            return int(_value(d, plan, "min_n", DEFAULT_MIN_N))
    return DEFAULT_MIN_N


def list_units(declared: Sequence[NotebookParameters], plans: Sequence[Mapping[str, Any]],
               column: str, min_n: int) -> Any:
    """The units of ``column`` in the first notebook's data (``source`` and ``engine``)."""
    import cxlib
    from cxlib.units import unit_table

    d, plan = declared[0], plans[0]
    source = _value(d, plan, "source", "")
    if not source:
        raise ReportError(f"--per {column}: {d.name} names no data source")
    path = (d.path.parent / Path(str(source)).expanduser()).resolve()
    try:
        data = cxlib.open_data(path, str(_value(d, plan, "engine", "duckdb")))
        try:
            return unit_table(data, column, min_n)
        finally:
            data.close()
    except CxError as exc:
        raise ReportError(f"--per {column}: {exc}") from None


def slug(value: str) -> str:
    """A file-name part for a unit: the value when plain, else a cleaned one with a hash."""
    if _PLAIN.match(value):
        return value
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:8]
    return (re.sub(r"[^A-Za-z0-9_-]+", "_", value).strip("_")[:30] + "-" + digest).lstrip("-")


def batches(jobs: Sequence[Job], units: Any, column: str, workers: int) -> list[Job]:
    """Per notebook job, its units' jobs (parameters ``unit_column`` and ``unit``, the page
    titled with the unit) in ``workers`` batches; units marked small get no page."""
    rendered = units[~units["small"]]
    out = []
    for job in jobs:
        parts = []
        for row in rendered.itertuples(index=False):
            unit, label = str(row.unit), str(row.label)
            params = {**job.parameters, "unit_column": column, "unit": unit}
            prov = replace(job.provenance, notebook=f"{job.name} · {column} {label}",
                           parameters=params)
            parts.append(replace(job, name=f"{job.name}--{slug(unit)}", parameters=params,
                                 provenance=prov))
        size = max(1, -(-len(parts) // max(workers, 1)))
        for i in range(0, len(parts), size):
            out.append(replace(job, name=f"{job.name}--batch{i // size + 1}",
                               parts=tuple(parts[i:i + size])))
    if not out:
        raise ReportError(f"--per {column}: no unit has at least {units.attrs.get('min_n')} "
                          f"answers ({len(units)} unit(s)); lower min_n")
    return out


def manifest_units(units: Any, column: str, min_n: int, notebooks: Sequence[str]) -> dict:
    """The manifest's ``units``: column, levels above it, min_n, notebooks, every unit."""
    levels = list(units.attrs.get("levels", []))
    rows = [{**{lvl: str(r[lvl]) for lvl in levels}, "unit": str(r["unit"]),
             "label": str(r["label"]), "customers": int(r["customers"]), "n": int(r["n"]),
             "small": bool(r["small"]), "slug": slug(str(r["unit"]))}
            for _, r in units.iterrows()]
    return {"column": column, "levels": levels, "min_n": min_n, "notebooks": list(notebooks),
            "units": rows}


def unit_of(name: str, per: Mapping[str, Any]) -> tuple[str, str] | None:
    """(notebook, unit slug) of a per-unit page name, None for other pages."""
    for nb in per.get("notebooks", []):
        if name.startswith(f"{nb}--"):
            return nb, name[len(nb) + 2:]
    return None


def index_cell(rid: str, run: Mapping[str, Any]) -> str:
    """The run's per-unit pages for the index, grouped by the hierarchy (details per level
    above the unit), then the units below ``min_n`` with their n. Every value escaped."""
    e = html.escape
    per = run["units"]
    pages: dict[tuple[str, str], Mapping[str, Any]] = {}
    for nb in run.get("notebooks", []):
        key = unit_of(str(nb.get("name", "")), per)
        if key:
            pages[key] = nb
    levels, column = list(per.get("levels", [])), str(per.get("column", "unit"))
    big = [u for u in per.get("units", []) if not u.get("small")]
    small = [u for u in per.get("units", []) if u.get("small")]

    def unit_line(u: Mapping[str, Any]) -> str:
        links = []
        for nb in per.get("notebooks", []):
            page = pages.get((nb, str(u.get("slug"))))
            if not page:
                continue
            status = str(page.get("status", "?"))
            mark = f'<span class="cx-status-{e(status)}">{e(status)}</span>'
            short = e(str(nb).split("_", 1)[0])
            href = e(quote(f"{rid}/{page.get('html')}"))
            link = f'<a href="{href}">{short}</a>' if page.get("html") else short
            links.append(f"{link} ({mark})" if status != "ok" else link)
        return (f'<li class="cx-unit">{e(str(u.get("label")))} '
                f'<small>n = {int(u.get("n", 0)):,}</small> · {" · ".join(links)}</li>')

    def group(rows: list[Mapping[str, Any]], depth: int) -> str:
        if depth == len(levels):
            return "<ul>" + "".join(unit_line(u) for u in rows) + "</ul>"
        level, out, seen = levels[depth], [], []
        for u in rows:
            if u.get(level) not in seen:
                seen.append(u.get(level))
        for value in seen:
            inner = [u for u in rows if u.get(level) == value]
            out.append(f"<details><summary>{e(level)} {e(str(value))} "
                       f"({len(inner)})</summary>{group(inner, depth + 1)}</details>")
        return "".join(out)

    head = (f'<div class="cx-units"><strong>One report per {e(column)}</strong>: '
            f"{len(big)} unit(s) of at least {int(per.get('min_n', 0))} answers")
    body = group(big, 0)
    if small:
        listed = ", ".join(f"{e(str(u.get('label')))} (n = {int(u.get('n', 0)):,})"
                           for u in small)
        body += (f'<p class="cx-units-small">Below the minimum n, not rendered: '
                 f"{listed}</p>")
    return head + body + "</div>"
