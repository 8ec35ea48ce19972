"""Notebook 06 as a report: on a survey with no comments, and with hostile comments.

Run through :func:`cxlib.report.run_report` on small folders made from the sample (customers
and a part of the answers: fast), as ``cx report`` would run them.
"""

from __future__ import annotations

import csv
from pathlib import Path

import nbformat
import pandas as pd
from bs4 import BeautifulSoup

import cxlib
from cxlib import paths, sections, text
from cxlib.report import run_report

NOTEBOOK = paths.NOTEBOOKS_DIR / "06_verbatims.ipynb"
FORMULA = ("=", "+", "-", "@", "\t", "\r")


HOSTILE = ['=HYPERLINK("http://example.com","返金") 返金してください', "@SUM(1) I want to cancel",
           "-1+2 refund me\x07 now", "<script>alert('cx')</script> 解約したい",
           '<img src=x onerror="alert(1)"> 返金してください',
           "折り返しは taro.yamada@example.jp か 090-1234-5678 までお願いします"]


def _folder(sample_dir: Path, out: Path, n: int, keep_text: bool = True) -> Path:
    """customers and the first ``n`` answers; with text, hostile comments that ask for action
    given to customers with a churn risk and a high revenue, so that they top the list."""
    out.mkdir()
    responses = pd.read_parquet(sample_dir / "responses.parquet").head(n)
    customers = pd.read_parquet(sample_dir / "customers.parquet")
    if not keep_text:
        responses = responses.assign(verbatim=pd.array([None] * n, dtype="string"))
    responses.to_parquet(out / "responses.parquet")
    customers.to_parquet(out / "customers.parquet")
    if keep_text:
        risk = text.churn_risk(cxlib.open_data(out))  # revenue is not a feature of the model
        rows = responses.index[responses["customer_id"].isin(risk.index)][:len(HOSTILE)]
        responses.loc[rows, "verbatim"] = HOSTILE
        top = customers["customer_id"].isin(responses.loc[rows, "customer_id"])
        customers.loc[top, "monthly_revenue"] = 10_000_000.0
        responses.to_parquet(out / "responses.parquet")
        customers.to_parquet(out / "customers.parquet")
    return out


def _run(folder: Path, out: Path, **parameters):
    result = run_report([NOTEBOOK], out, parameters={"source": str(folder.resolve()),
                                                     **parameters}, jobs=1)
    assert result.ok, result.summary()
    return result.notebooks[0]


def _printed(done) -> str:
    nb = nbformat.read(done.notebook_path, as_version=4)
    return "\n".join(o.get("text", "") or o.get("data", {}).get("text/plain", "")
                     for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def test_no_comments_every_section_says_there_is_nothing_to_code(sample_dir, tmp_path):
    folder = _folder(sample_dir, tmp_path / "quiet", 3000, keep_text=False)
    done = _run(folder, tmp_path / "reports")
    text = _printed(done)
    profile = cxlib.open_data(folder).profile
    for key in ("writing", "topics", "impact", "churn", "emerging", "suggestions", "actions"):
        note = sections.note(profile, "06", key)
        assert "'verbatim'" in note and note in text, key
    assert "Traceback" not in text


def test_hostile_comments_are_text_in_the_report_and_the_csv(sample_dir, tmp_path):
    folder = _folder(sample_dir, tmp_path / "hostile", 3000)
    export = tmp_path / "actions.csv"
    done = _run(folder, tmp_path / "reports", export=str(export), top_n=20, n_boot=100,
                level="parent")
    page = BeautifulSoup(done.html_path.read_text(encoding="utf-8"), "html.parser")
    assert not page.select("img[onerror]")
    assert not [s for s in page.find_all("script") if "alert('cx')" in (s.string or "")]
    shown = page.get_text()
    assert '<img src=x onerror="alert(1)"> 返金してください' in shown  # as text, in the list
    assert "<script>alert('cx')</script> 解約したい" in shown
    assert "taro.yamada@example.jp" not in shown and "090-1234-5678" not in shown
    with export.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert any("onerror" in r["verbatim"] for r in rows)
    assert {"'" + h.replace("\x07", "") for h in HOSTILE[:3]} <= {r["verbatim"] for r in rows}
    for r in rows:
        assert not any(v.startswith(FORMULA) for v in r.values()), r
    text = _printed(done)
    assert f"Written: {export}" in text and "coded at the parent level" in text


def test_a_report_run_writes_the_action_list_beside_the_page(sample_dir, tmp_path):
    # no export parameter: the runner gives the kernel its run folder (paths.REPORT_DIR_ENV)
    # and the whole list lands there as 06_actions.csv, linked from the page by its name
    folder = _folder(sample_dir, tmp_path / "hostile", 3000)
    result = run_report([NOTEBOOK], tmp_path / "reports",
                        parameters={"source": str(folder.resolve()), "n_boot": 50}, jobs=1)
    assert result.ok, result.summary()
    written = result.run_dir / "06_actions.csv"
    with written.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {"'" + h.replace("\x07", "") for h in HOSTILE[:3]} <= {r["verbatim"] for r in rows}
    for r in rows:
        assert not any(v.startswith(FORMULA) for v in r.values()), r
    page_text = result.notebooks[0].html_path.read_text(encoding="utf-8")
    page = BeautifulSoup(page_text, "html.parser")
    assert [a.get_text() for a in page.select('a[href="06_actions.csv"]')] == ["06_actions.csv"]
    assert f"({len(rows):,} rows; UTF-8, formulas neutralised)" in page.get_text()
    assert str(tmp_path) not in page_text  # the name only, never this machine's path


def test_export_path_and_the_linked_finding(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(paths.REPORT_DIR_ENV, raising=False)
    assert paths.export_path("", "06_actions.csv") is None  # JupyterLab: not written
    assert paths.export_path("mine.csv", "06_actions.csv") == Path("mine.csv")
    monkeypatch.setenv(paths.REPORT_DIR_ENV, str(tmp_path))
    assert paths.export_path("", "06_actions.csv") == tmp_path / "06_actions.csv"
    assert paths.export_path("mine.csv", "06_actions.csv") == Path("mine.csv")
    found = cxlib.findings.Finding("The list:", link='x"><script>a.csv')
    assert found._repr_html_() == ('<p class="cx-finding">The list: <a href="x%22%3E%3Cscript%3Ea.csv">'
                                   'x&quot;&gt;&lt;script&gt;a.csv</a></p>')
    cxlib.finding("The list:", link="06_actions.csv")
    assert capsys.readouterr().out == "The list: 06_actions.csv\n"
