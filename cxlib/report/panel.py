"""The "What changed" panel: a run's flagged changes as an HTML fragment.

Reads the ``changes`` entry of a run's manifest (written by :mod:`cxlib.report.alerts`);
every label from the data is escaped. Imports nothing of the runner, so the index
(:mod:`cxlib.report.render`) and the report pages can both use it.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

PANEL_STYLE = (
    ".cx-changes{margin:0 0 1.5em 0;padding:.8em 1em;border:1px solid #d4a72c;"
    "border-radius:6px;background:#fff8c5}.cx-changes h2{font-size:1.15em;margin:0 0 .4em 0}"
    ".cx-changes h3{font-size:1em;margin:.6em 0 .2em 0}.cx-changes table{margin:.4em 0}.cx-changes td,.cx-changes th{padding:.2em .6em}"
)


def _number(value: Any, scale: str, signed: bool = False, unit: bool = True) -> str:
    """A value as the reader sees it: NPS points, shares in % (differences in percentage
    points, ``pp``), means with two decimals."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    sign = "+" if signed else ""
    if scale == "share":
        text = f"{100 * float(value):{sign}.1f}"
        return text + ((" pp" if signed else "%") if unit else "")
    if scale == "points":
        return f"{float(value):{sign}.1f}" + (" points" if signed and unit else "")
    return f"{float(value):{sign}.2f}"


def change_text(a: Mapping[str, Any]) -> str:
    """``+12.3 points (95% CI +4.0 to +20.6)`` for one alert record (plain text)."""
    scale = str(a.get("scale", "mean"))
    level = float(a.get("level", 0.95))
    return (f"{_number(a.get('difference'), scale, signed=True)} ({level:.0%} CI "
            f"{_number(a.get('ci_low'), scale, signed=True, unit=False)} to "
            f"{_number(a.get('ci_high'), scale, signed=True, unit=False)})")


def unit_text(a: Mapping[str, Any]) -> str:
    """``region Kansai`` or ``whole company`` (plain text)."""
    column = str(a.get("unit_column") or "")
    return f"{column} {a.get('unit', '')}" if column else str(a.get("unit", ""))


def _q(value: Any) -> str:
    return "n/a" if value is None else (f"{value:.2g}" if value >= 0.001 else "< 0.001")


def _counts(a: Mapping[str, Any]) -> str:
    """``1,234 / 1,250``, with the effective n of weighted answers where it differs."""
    n = [int(a.get("n_before") or 0), int(a.get("n_after") or 0)]
    eff = [a.get("n_eff_before"), a.get("n_eff_after")]
    text = f"{n[0]:,} / {n[1]:,}"
    if all(isinstance(v, (int, float)) for v in eff) and any(
            abs(float(v) - k) >= 0.5 for v, k in zip(eff, n)):
        text += f" (effective {float(eff[0]):,.0f} / {float(eff[1]):,.0f})"
    return text


def _rows(alerts: Iterable[Mapping[str, Any]]) -> str:
    e = html.escape
    out = []
    for a in alerts:
        scale = str(a.get("scale", "mean"))
        out.append(
            f"<tr><td>{e(str(a.get('metric_label', a.get('metric', ''))))}</td>"
            f"<td>{e(unit_text(a))}</td><td>{e(str(a.get('comparison', '')))}"
            f" ({e(str(a.get('period_before', '')))})</td>"
            f"<td>{e(_number(a.get('before'), scale))}</td>"
            f"<td>{e(_number(a.get('after'), scale))}</td>"
            f"<td>{e(change_text(a))}</td>"
            f"<td>{e(_counts(a))}</td>"
            f"<td>{e(_q(a.get('q_value')))}</td></tr>")
    return "".join(out)


def _tables(flagged: list[Mapping[str, Any]]) -> str:
    """One table per comparison: since the last run, against the previous months, against
    the same month last year (a rerun of the same data has nothing in the first)."""
    e = html.escape
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for a in flagged:
        groups.setdefault(str(a.get("comparison", "")), []).append(a)
    order = sorted(groups, key=lambda c: (not c.startswith("last run"),
                                          not c.startswith("previous"), c))
    return "".join(f"<h3>Compared with the {e(c)}</h3>"
                   f'<table class="cx-changes-table">{HEAD}{_rows(groups[c])}</table>'
                   for c in order)


HEAD = ("<tr><th>metric</th><th>unit</th><th>compared with</th><th>before</th><th>after</th>"
        "<th>change</th><th>n before / after</th><th>q</th></tr>")


def changes_panel(changes: Mapping[str, Any] | None, run_id: str, href: str = "") -> str:
    """The panel of a run's changes for the top of the index (``href``: the path from the
    page to the run folder, for the link to ``alerts.json``); "" when there are none."""
    if not changes:
        return ""
    e = html.escape
    status = str(changes.get("status", ""))
    notes = [str(n) for n in changes.get("notes", [])]
    parts = [f'<section class="cx-changes" id="cx-changes"><style>{PANEL_STYLE}</style>'
             f"<h2>What changed</h2>"]
    if status != "ok":
        parts.append(f"<p>Run {e(run_id)}: not computed. {e(' '.join(notes))}</p></section>\n")
        return "".join(parts)
    flagged = list(changes.get("flagged", []))
    against = ", ".join(str(c) for c in changes.get("comparisons", [])) or "nothing"
    alpha = float(changes.get("alpha", 0.05))
    parts.append(
        f"<p>Run {e(run_id)}, latest month {e(str(changes.get('period', '')))}: "
        f"{int(changes.get('tests', 0)):,} comparisons ({e(against)}); a change is shown when "
        f"its Benjamini-Hochberg q-value is under {alpha:g}.</p>")
    if flagged:
        parts.append(_tables(flagged))
    else:
        parts.append("<p>Nothing changed beyond sampling noise.</p>")
    untested = int(changes.get("untested", 0))
    if untested:
        parts.append(f"<p>{untested:,} comparisons not tested: fewer than "
                     f"{int(changes.get('min_n', 0))} (effective) answers, customers or "
                     "comments on a side (listed "
                     "in alerts.json).</p>")
    if notes:
        parts.append("<ul>" + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>")
    if changes.get("alerts"):
        link = e(quote(f"{href}{changes['alerts']}"))
        parts.append(f'<p>Every comparison: <a href="{link}">{e(str(changes["alerts"]))}</a>'
                     "</p>")
    parts.append("</section>\n")
    return "".join(parts)


def page_panel(flagged: Iterable[Mapping[str, Any]]) -> str:
    """A short panel of the flagged changes shown in one report ("" when none)."""
    rows = list(flagged)
    if not rows:
        return ""
    return (f'<section class="cx-changes" id="cx-changes"><style>{PANEL_STYLE}</style>'
            "<h2>What changed</h2><p>Changes beyond sampling noise in this run "
            "(Benjamini-Hochberg q-value under the run's threshold):</p>"
            f"{_tables(rows)}</section>\n")
