"""What changed in a report run: alerts.json, the panels, ``--on-alert``.

Three consecutive ``cx report`` runs (once per module): a tiny notebook on the sample,
the same again (an unchanged rerun), then notebook 01 on a copy of the
sample with a shift planted in one region's NPS in the latest month, with an on-alert
command. The issue's "done when": the index's "What changed" panel then names that
region's shift with its interval and nothing else but the sample's own change: its
emerging comment topic (truth.json), whose share in the latest month every run finds
against the same month last year.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from planted import SHIFT_REGION, shifted_copy
from test_report import write_notebook

from cxlib.cli import main
from cxlib.errors import ReportError
from cxlib.report.alerts import ALERTS, HEADLINES, notify
from cxlib.report.options import RunOptions, load_run_file
from cxlib.report.panel import change_text

ROOT = Path(__file__).resolve().parents[1]
MARKER_SCRIPT = ("import json, sys\n"  # one line per call
                 "open(sys.argv[1], 'a').write(json.dumps(sys.argv[2:]) + '\\n')\n")


@dataclass
class Runs:
    out: Path
    folder: Path
    marker: Path
    codes: list[int]


@pytest.fixture(scope="module")
def runs(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Runs:
    folder = tmp_path_factory.mktemp("changes")
    out = folder / "reports"
    tiny = write_notebook(folder / "01_tiny.ipynb", 'source: str = ""  # data folder',
                          ['print("tiny")'])
    shifted = shifted_copy(sample_dir, folder / "shifted")
    script = folder / "on_alert.py"
    script.write_text(MARKER_SCRIPT, encoding="utf-8")
    marker = folder / "marker.json"
    command = f'{sys.executable} {script} {marker} "; touch {folder / "pwned"}"'
    notebook = str(ROOT / "notebooks" / "01_survey_exploration.ipynb")
    codes = [
        main(["report", str(tiny), "--out", str(out), "--run-id", "r1", "-q",
              "-p", "source", str(sample_dir)]),
        main(["report", str(tiny), "--out", str(out), "--run-id", "r2", "-q",
              "-p", "source", str(sample_dir), "--on-alert", command]),
        main(["report", notebook, "--out", str(out), "--run-id", "r3", "-q",
              "-p", "source", str(shifted), "--on-alert", command]),
    ]
    return Runs(out, folder, marker, codes)


def _emerging(sample_dir: Path) -> tuple[str, str, str]:
    """The sample's emerging topic as a flag: (metric, unit, comparison)."""
    truth = json.loads((sample_dir / "truth.json").read_text(encoding="utf-8"))
    return (f"topic:{truth['comments']['emerging']['topic']}", "whole company",
            "same month last year")


def _flagged(alerts: dict) -> set[tuple[str, str, str]]:
    return {(a["metric"], a["unit"], a["comparison"]) for a in alerts["alerts"] if a["flagged"]}


def _alerts(runs: Runs, run: str) -> dict:
    return json.loads((runs.out / run / ALERTS).read_text(encoding="utf-8"))


def _panel(path: Path) -> BeautifulSoup | None:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser").find(id="cx-changes")


def test_every_run_writes_its_headlines_and_alerts(runs: Runs, sample_dir: Path) -> None:
    assert runs.codes == [0, 0, 0]
    for run in ("r1", "r2", "r3"):
        assert (runs.out / run / HEADLINES).is_file() and (runs.out / run / ALERTS).is_file()
        manifest = json.loads((runs.out / run / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["changes"]["status"] == "ok" and manifest["changes"]["alerts"] == ALERTS
    first = _alerts(runs, "r1")
    assert first["previous_run"] is None and _flagged(first) == {_emerging(sample_dir)}
    assert any("no earlier good run" in n for n in first["notes"])
    keys = {"metric", "unit", "comparison", "before", "after", "difference", "ci_low",
            "ci_high", "n_before", "n_after", "n_eff_before", "n_eff_after", "p_value",
            "q_value", "flagged"}
    assert all(keys <= set(a) for a in first["alerts"])


def test_an_unchanged_rerun_flags_nothing(runs: Runs, sample_dir: Path) -> None:
    second = _alerts(runs, "r2")
    assert second["previous_run"] == "r1" and _flagged(second) == {_emerging(sample_dir)}
    last = [a for a in second["alerts"] if a["comparison"] == "last run r1"]
    assert last and all(a["difference"] == 0 for a in last) and not any(a["flagged"] for a in last)
    assert {a["metric"] for a in last} >= {"nps", "csat", "ces", "churn", "topic:staff"}
    assert all(a["p_value"] in (1.0, None) for a in last)
    page = runs.out / "r2" / "01_tiny.html"
    assert _panel(page) is None  # only a topic flagged: notebook 06's page would get it


def test_the_index_names_the_planted_shift_and_nothing_else(runs: Runs, sample_dir: Path
                                                            ) -> None:
    panel = _panel(runs.out / "index.html")
    assert panel is not None
    tables = {h.get_text(): h.find_next("table") for h in panel.find_all("h3")}
    assert list(tables)[0] == "Compared with the last run r2", list(tables)

    def named(table) -> set[tuple[str, str]]:
        rows = [[td.get_text() for td in tr.find_all("td")] for tr in table.find_all("tr")[1:]]
        return {(c[0], c[1]) for c in rows}

    # since the last run: the planted shift alone; against the data's own past, also the
    # sample's planted emerging topic (truth.json comments.emerging)
    assert named(tables["Compared with the last run r2"]) == {("NPS", f"region {SHIFT_REGION}")}
    assert set().union(*map(named, tables.values())) == {
        ("NPS", f"region {SHIFT_REGION}"), ("share of comments on App and web", "whole company")}
    third = _alerts(runs, "r3")
    (since,) = [a for a in third["alerts"] if a["flagged"] and a["comparison"] == "last run r2"]
    assert since["unit"] == SHIFT_REGION and since["ci_low"] > 0
    assert change_text(since) in panel.get_text()  # its interval, as the reader sees it
    assert "95% CI" in change_text(since)
    assert {(m, u) for m, u, _ in _flagged(third) - {_emerging(sample_dir)}} \
        == {("nps", SHIFT_REGION)}


def test_the_affected_report_opens_with_the_panel(runs: Runs) -> None:
    page = runs.out / "r3" / "01_survey_exploration.html"
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    panel = soup.find(id="cx-changes")
    assert panel is not None and SHIFT_REGION in panel.get_text()
    header = soup.find(id="cx-header")
    assert header is not None and header.find_next(id="cx-changes") is panel
    assert len(soup.find_all(id="cx-changes")) == 1


def test_on_alert_gets_the_path_and_no_shell(runs: Runs) -> None:
    lines = runs.marker.read_text(encoding="utf-8").splitlines()  # r2 (the emerging topic), r3
    calls = [json.loads(line) for line in lines]
    assert [args[-1] for args in calls] == [str(runs.out / r / ALERTS) for r in ("r2", "r3")]
    args = calls[-1]
    assert args[0].startswith("; touch")  # one argument, as written: no shell ran it
    assert not (runs.folder / "pwned").exists()


def test_a_failing_on_alert_command_is_reported_not_raised(tmp_path: Path) -> None:
    path = tmp_path / ALERTS
    path.write_text("{}", encoding="utf-8")
    said: list[str] = []
    failed = notify(f"{sys.executable} -c 'import sys; sys.exit(3)'", path, said.append)
    assert failed["status"] == "failed" and failed["exit"] == 3 and "exit status 3" in said[0]
    missing = notify("no-such-command-cx", path)
    assert missing["status"] == "failed" and "not found" in missing["error"]
    slow = notify(f"{sys.executable} -c 'import time; time.sleep(30)'", path, timeout=0.5)
    assert slow["status"] == "failed" and "stopped" in slow["error"]


def test_on_alert_and_changes_are_checked_options(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="on_alert"):
        RunOptions(on_alert='mail "unclosed')
    with pytest.raises(ReportError, match="changes"):
        RunOptions(changes={"alpha": 2})
    with pytest.raises(ReportError, match="unknown setting"):
        RunOptions(changes={"units": ["region"], "alfa": 0.1})
    run_file = tmp_path / "run.yml"
    run_file.write_text("on_alert: notify-team --channel cx\nchanges:\n  units: [region]\n"
                        "  baseline: 6\n", encoding="utf-8")
    values = load_run_file(run_file)
    assert RunOptions(**values).changes == {"units": ["region"], "baseline": 6}
