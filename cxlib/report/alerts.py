"""What changed in a run: headlines, alerts, the panels and the ``on_alert`` command.

After the notebooks of a run, :func:`compute` reads the run's data source (the first one
the data check found valid), computes its headline numbers (:mod:`cxlib.changes`),
compares them with the last good run's ``headlines.json`` and with the trailing
baseline in the data, and writes ``headlines.json`` and ``alerts.json`` into the run
folder; its return value is the ``changes`` entry of the manifest, from which the index
draws its panel (:mod:`cxlib.report.panel`). :func:`mark_pages` puts a short panel at
the top of each report that shows a flagged metric; :func:`notify` runs the ``on_alert``
command with the path of ``alerts.json`` when anything is flagged. A fault here is a note,
never a failed run.
"""

from __future__ import annotations

import json
import math
import os
import shlex
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

HEADLINES = "headlines.json"
ALERTS = "alerts.json"
COMMAND_TIMEOUT_S = 300
FORMAT = 2  # 2: weighted headlines with n_eff, topic shares


def _plain(value: Any) -> Any:
    """JSON-ready: NaN -> None, numpy scalars -> Python."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _records(frame: Any) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False) + "\n",
                   encoding="utf-8")
    os.replace(tmp, path)


def previous_headlines(run_folder: Path | None) -> tuple[Any, str]:
    """The headline frame of an earlier run (None when it has none) and a note."""
    import pandas as pd

    if run_folder is None:
        return None, "no earlier good run: nothing to compare with"
    path = run_folder / HEADLINES
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        frame = pd.DataFrame(data["headlines"])
    except FileNotFoundError:
        return None, f"the last good run {run_folder.name} has no {HEADLINES}: nothing to " \
                     "compare with"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, f"the last good run's {HEADLINES} could not be read ({exc})"
    if data.get("format") != FORMAT or frame.empty:
        return None, f"the last good run's {HEADLINES} could not be read (another format)"
    return frame, ""


def compute(source: Path, folder: Path, run_id: str, previous: Path | None,
            settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Headlines and alerts of the data at ``source`` into the run ``folder``, compared
    with the run folder ``previous`` (the last good run, or None); the manifest entry."""
    import cxlib
    from cxlib import changes as ch
    from cxlib.errors import CxError

    s = {**ch.SETTINGS, **(settings or {})}
    entry: dict[str, Any] = {"status": "ok", "source": str(source), "notes": [],
                             "alpha": s["alpha"], "min_n": s["min_n"]}
    try:
        with cxlib.open_data(source, check=False) as data:  # checked by its profile
            tables = {t: data[t] for t in ("responses", "customers") if t in data}
            current = ch.headlines(tables.get("responses"), tables.get("customers"),
                                   dataset=data.dataset, units=s["units"],
                                   baseline=s["baseline"], level=s["level"])
    except CxError as exc:
        return {**entry, "status": "skipped", "notes": [f"the data could not be read: {exc}"]}
    except Exception as exc:  # a fault of the computation: a note, the run goes on
        return {**entry, "status": "error",
                "notes": [f"not computed: {type(exc).__name__}: {exc}"]}
    before, note = previous_headlines(previous)
    label = f"last run {previous.name}" if previous is not None else "last run"
    alerts = ch.what_changed(current, before, previous_label=label, min_n=s["min_n"],
                             alpha=s["alpha"], level=s["level"])
    notes = [*current.attrs.get("notes", []), *([note] if note else [])]
    absent = [u for u in (settings or {}).get("units", []) if u not in current.attrs["units"]]
    if absent:  # asked for by the run; the default columns are used where present
        notes.append(f"unit column(s) not in the data: {', '.join(absent)}")
    topics = current.attrs.get("topics", {})
    alerts["metric_label"] = [ch.metric_label(m, topics) for m in alerts["metric"]]
    alerts["scale"] = [ch.metric_scale(m) for m in alerts["metric"]]
    alerts["level"] = s["level"]
    _write_json(folder / HEADLINES, {"format": FORMAT, "run_id": run_id, "source": str(source),
                                     "period": current.attrs.get("period"),
                                     "settings": s, "notes": notes,
                                     "headlines": _records(current)})
    flagged = _records(alerts[alerts["flagged"]].sort_values("q_value"))
    _write_json(folder / ALERTS, {"format": FORMAT, "run_id": run_id, "source": str(source),
                                  "period": current.attrs.get("period"),
                                  "previous_run": previous.name if previous else None,
                                  "settings": s, "notes": notes,
                                  "tests": int(alerts["tested"].sum()),
                                  "flagged": len(flagged), "alerts": _records(alerts)})
    return {**entry, "period": current.attrs.get("period"), "notes": notes,
            "previous_run": previous.name if previous else None,
            "comparisons": list(dict.fromkeys(alerts["comparison"])),
            "tests": int(alerts["tested"].sum()), "untested": int((~alerts["tested"]).sum()),
            "alerts": ALERTS, "headlines": HEADLINES, "flagged": flagged}


def mark_pages(pages: Mapping[str, Path], changes: Mapping[str, Any]) -> list[str]:
    """Put the short panel at the top of each report page (notebook name -> HTML file)
    that shows a flagged metric; the names of the pages marked."""
    from cxlib.changes import metric_notebooks
    from cxlib.report.panel import page_panel

    marked = []
    for name, path in pages.items():
        rows = [a for a in changes.get("flagged", [])
                if name[:2] in metric_notebooks(str(a.get("metric")))]
        panel = page_panel(rows)
        if not panel or not path.is_file():
            continue
        page = path.read_text(encoding="utf-8")
        at = page.find("</header>")
        at = at + len("</header>") if at >= 0 else page.find(">", page.find("<body")) + 1
        path.write_text(page[:at] + "\n" + panel + page[at:], encoding="utf-8")
        marked.append(name)
    return marked


def check_command(value: Any) -> str | None:
    """A complaint about an ``on_alert`` command line, or None when it splits into words."""
    try:
        words = shlex.split(value)
    except ValueError as exc:
        return f"is not a command line ({exc})"
    return None if words else "is empty"


def notify(command: str, alerts: Path, say: Callable[[str], None] | None = None,
           timeout: float = COMMAND_TIMEOUT_S) -> dict[str, Any]:
    """Run ``command`` (split like a shell would, never through one) with the path of
    ``alerts`` as its last argument; what happened (a failure is reported, not raised)."""
    say = say or (lambda message: None)
    argv: Sequence[str] = [*shlex.split(command), str(alerts)]
    outcome: dict[str, Any] = {"command": command, "status": "ok", "exit": None, "error": None}
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)
    except FileNotFoundError:
        outcome.update(status="failed", error=f"command not found: {argv[0]}")
    except subprocess.TimeoutExpired:
        outcome.update(status="failed", error=f"still running after {timeout:g} s: stopped")
    except OSError as exc:
        outcome.update(status="failed", error=f"could not start: {exc.strerror or exc}")
    else:
        outcome["exit"] = done.returncode
        if done.returncode != 0:
            tail = " ".join((done.stderr or done.stdout or "").strip().splitlines()[-3:])
            outcome.update(status="failed", error=f"exit status {done.returncode}"
                                                  + (f": {tail}" if tail else ""))
    say(f"on-alert command {outcome['status']}"
        + (f" ({outcome['error']})" if outcome["error"] else "") + f": {command}")
    return outcome


def after_notebooks(checks: Sequence[Any], folder: Path, run_id: str, previous: Path | None,
                    settings: Mapping[str, Any], pages: Mapping[str, Path],
                    say: Callable[[str], None]) -> dict[str, Any] | None:
    """The run's step: :func:`compute` on its first data source that can be read (the
    data checks of :mod:`cxlib.report.data_page`), then :func:`mark_pages`; the manifest
    entry, or None when the run has no data source."""
    usable = [c for c in checks if c.status != "invalid"
              and not (c.status == "not_profiled" and Path(c.path).is_dir())]
    if not usable:
        if not checks:
            return None
        return {"status": "skipped", "notes": ["the data were invalid or too large to read "
                                               "in memory: no headline numbers"]}
    say(f"what changed in {usable[0].path} ...")
    changes = compute(Path(usable[0].path), folder, run_id, previous, settings)
    if len(usable) > 1:
        changes["notes"].append(f"computed for the first data source only ({usable[0].path})")
    if changes["status"] == "ok":
        changes["pages"] = mark_pages(pages, changes)
        say(f"what changed: {len(changes['flagged'])} of {changes['tests']} comparisons "
            f"flagged -> {ALERTS}")
    else:
        say(f"what changed: {changes['status']}: {' '.join(changes['notes'])}")
    return changes


def summary_lines(changes: Mapping[str, Any]) -> list[str]:
    """What the console says about a run's changes: each flagged one, the notes, the
    ``on_alert`` command's outcome."""
    from cxlib.report.panel import change_text, unit_text

    flagged = changes.get("flagged", [])
    if changes.get("status") != "ok":
        head = f"{'what changed':<32} {changes.get('status', '?')}"
    else:
        head = (f"{'what changed':<32} {len(flagged)} flagged of {changes.get('tests', 0)} "
                f"comparisons  {ALERTS}")
    lines = [head]
    lines += [f"    {a.get('metric_label')}, {unit_text(a)}, vs {a.get('comparison')}: "
              f"{change_text(a)}, q {a.get('q_value', 0):.2g}" for a in flagged]
    lines += [f"    note: {n}" for n in changes.get("notes", [])]
    told = changes.get("on_alert")
    if told:
        lines.append(f"    on-alert command {told['status']}"
                     + (f": {told['error']}" if told.get("error") else ""))
    return lines
