"""One report per unit (issue 18): units, the data restricted to one, its standing, the run.

A small simulated company whose customers get 5 stores (one with a hostile name, one below
min_n) nested in regions; a tiny notebook that opens the data of one unit and shows its
standing stands in for notebooks 01 and 03 (which only add their analyses), so the run takes
two kernels, not ten. The numbers on each page are compared with a hand computation.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup
from nbformat.v4 import new_code_cell, new_notebook

import cxlib
from cxlib import synth, units
from cxlib.errors import DataError, ReportError
from cxlib.report import run_report
from cxlib.report.params import read_parameters

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = '<img src=x onerror=alert(1)>"&'
STORES = {"Kanto": "Shinjuku", "Kansai": "Umeda", "Chubu": HOSTILE, "Kyushu": "Tenjin"}
TINY = "Sapporo"  # a handful of Hokkaido customers: below min_n
MIN_N = 30


@pytest.fixture(scope="module")
def company_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    c = synth.make_company(n_customers=1_200, seed=11)
    customers = c.customers.copy()
    customers["store"] = customers["region"].map(STORES)
    hokkaido = customers.index[customers["region"] == "Hokkaido"][:8]
    customers.loc[hokkaido, "store"] = TINY
    keep = customers["store"].notna()
    customers = customers[keep].reset_index(drop=True)
    ids = set(customers["customer_id"])
    folder = tmp_path_factory.mktemp("stores")
    tables = {**c.tables, "customers": customers,
              "responses": c.responses[c.responses["customer_id"].isin(ids)],
              "touchpoints": c.touchpoints[c.touchpoints["customer_id"].isin(ids)]}
    for name, frame in tables.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def _nps_by_hand(folder: Path, store: str) -> tuple[float, int]:
    """Weighted NPS (points) and n of a store's answers, from the files."""
    c = pd.read_parquet(folder / "customers.parquet")
    r = pd.read_parquet(folder / "responses.parquet")
    r = r[r["customer_id"].isin(c.loc[c["store"] == store, "customer_id"])]
    r = r[r["nps"].notna()]
    x, w = r["nps"].to_numpy(float), r["weight"].to_numpy(float)
    return 100 * (w[x >= 9].sum() - w[x <= 6].sum()) / w.sum(), len(r)


# -- the data of one unit ------------------------------------------------------------------------

def test_restricted_data_hold_the_unit_only_in_every_table(company_dir: Path) -> None:
    whole = cxlib.open_data(company_dir)
    one = cxlib.open_data(company_dir, where={"store": "Umeda"})
    ids = set(whole["customers"].query("store == 'Umeda'")["customer_id"])
    assert set(one["customers"]["customer_id"]) == ids
    assert set(one["responses"]["customer_id"]) <= ids
    assert len(one["responses"]) == whole["responses"]["customer_id"].isin(ids).sum()
    events = one.source.fetch("SELECT DISTINCT customer_id FROM touchpoints")["customer_id"]
    assert set(events) <= ids and len(events) > 0
    n_events = whole.source.fetch("SELECT count(*) AS n FROM touchpoints WHERE customer_id IN "
                                  "(SELECT customer_id FROM customers WHERE store = 'Umeda')")
    assert one.sizes()["touchpoints"] == int(n_events.iloc[0, 0])
    assert one.sizes()["kpis"] == whole.sizes()["kpis"]  # company-level, kept whole
    assert one.company.sizes()["customers"] == whole.sizes()["customers"]
    assert cxlib.open_data(company_dir, where={"store": ""}).sizes() == whole.sizes()


def test_an_answer_level_column_keeps_its_rows_and_every_customer(company_dir: Path) -> None:
    one = cxlib.open_data(company_dir, where={"organisation": "web"})
    assert set(one["responses"]["organisation"]) == {"web"}
    orgs = one.source.fetch("SELECT DISTINCT organisation FROM touchpoints")["organisation"]
    assert set(orgs) == {"web"}
    assert len(one["customers"]) == len(pd.read_parquet(company_dir / "customers.parquet"))


def test_unknown_unit_and_column_are_clear_errors(company_dir: Path) -> None:
    with pytest.raises(DataError, match=r"no customer or answer has store = 'Nowhere'"):
        cxlib.open_data(company_dir, where={"store": "Nowhere"})
    with pytest.raises(DataError, match=r"no column 'shop'"):
        cxlib.open_data(company_dir, where={"shop": "x"})


def test_unit_table_nests_stores_in_regions_and_flags_small_ones(company_dir: Path) -> None:
    table = units.unit_table(cxlib.open_data(company_dir), "store", min_n=MIN_N)
    assert list(table.columns[:2]) == ["region", "unit"]
    assert dict(zip(table["unit"], table["region"])) == {**{v: k for k, v in STORES.items()},
                                                         TINY: "Hokkaido"}
    for store in [*STORES.values(), TINY]:
        assert int(table.set_index("unit").at[store, "n"]) == _nps_by_hand(company_dir, store)[1]
    assert table.set_index("unit")["small"].to_dict() == {
        **dict.fromkeys(STORES.values(), False), TINY: True}


# -- the standing of a unit ----------------------------------------------------------------------

def _planted(true_nps: list[float], n: int, seed: int) -> Path:
    """Answers of units with known NPS (promoter and detractor shares), one customer each."""
    rng = np.random.default_rng(seed)
    rows = []
    for k, score in enumerate(true_nps):
        pro = 0.4 + score / 200
        det = pro - score / 100
        cls = rng.choice([10, 8, 3], size=n, p=[pro, 1 - pro - det, det])
        rows += [(f"u{k}", v) for v in cls]
    return pd.DataFrame(rows, columns=["store", "nps"])


def test_rank_interval_covers_the_planted_order_and_widens_with_noise(tmp_path: Path) -> None:
    # eleven units 4 points apart, 4,000 answers each: ranks nearly certain
    sure = _standing_of(tmp_path / "a", _planted([4.0 * k for k in range(11)], 4000, 1), "u5")
    assert int(sure.row["rank"]) == 6 and sure.row.rank_low >= 5 and sure.row.rank_high <= 7
    # equal units, 60 answers each: the interval spans most of the table
    vague = _standing_of(tmp_path / "b", _planted([0.0] * 11, 60, 2), "u5")
    assert vague.row.rank_high - vague.row.rank_low >= 6
    assert vague.summary().loc[0, "percentile"] == pytest.approx(
        100 * (11 - vague.row["rank"]) / 10)


def _standing_of(folder: Path, answers: pd.DataFrame, unit: str) -> units.Standing:
    """Write ``answers`` (store, nps) as a minimal dataset and rank ``unit``."""
    folder.mkdir()
    n = len(answers)
    ids = [f"c{i}" for i in range(n)]
    pd.DataFrame({"customer_id": ids, "signup_date": pd.Timestamp("2024-01-01"),
                  "acquisition_channel": "web_organic", "plan": "basic", "segment": "consumer",
                  "region": "Kanto", "store": answers["store"].to_numpy(), "churned": False,
                  "churn_date": pd.NaT, "monthly_revenue": 1000.0, "revenue": 1000.0}
                 ).to_parquet(folder / "customers.parquet", index=False)
    pd.DataFrame({"response_id": [f"r{i}" for i in range(n)], "customer_id": ids,
                  "response_date": pd.Timestamp("2024-06-01"), "journey_phase": "purchase",
                  "touchpoint": "store_purchase", "organisation": "stores", "channel": "store",
                  "nps": answers["nps"].astype("Int64").to_numpy(), "weight": 1.0,
                  **{c: pd.array([pd.NA] * n, dtype="Int64") for c in (
                      "csat", "ces", "rat_value", "rat_quality", "rat_convenience", "emo_trust",
                      "emo_valued", "emo_pride", "emo_attachment")},
                  "verbatim": pd.array([pd.NA] * n, dtype="string")}
                 ).to_parquet(folder / "responses.parquet", index=False)
    return units.standing(cxlib.open_data(folder, where={"store": unit}), n_boot=400, seed=3)


# -- the run ---------------------------------------------------------------------------------------

UNIT_NOTEBOOK = """\
source: str = "data"  # the data
engine: str = "duckdb"  # engine
min_n: int = 30  # smallest unit ranked
unit_column: str = ""  # unit column
unit: str = ""  # the unit"""

UNIT_CELLS = [
    "import cxlib\ntables = cxlib.open_data(source, engine, where={unit_column: unit})",
    "standing = cxlib.units.standing(tables, min_n=min_n) if unit else None\n"
    "print('HEADLINE', standing.headline() if standing is not None else 'whole company')",
    # a notebook that cannot run skips its later cells (cxlib.sections): in its unit only
    f"if unit == {HOSTILE!r}:\n    cxlib.sections._skip_later_cells()",
    "print('LAST CELL RAN')",
]


def _notebook(path: Path, params: str, cells: list[str]) -> Path:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "P3"}
    first = new_code_cell(params)
    first.metadata["tags"] = ["parameters"]
    nb.cells = [first] + [new_code_cell(c) for c in cells]
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def per_run(company_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("per")
    nb = _notebook(folder / "10_unit.ipynb", UNIT_NOTEBOOK.replace('"data"', f'"{company_dir}"'),
                   UNIT_CELLS)
    return run_report([nb], folder / "reports", per="store", jobs=2, run_id="stores",
                      parameters={"min_n": MIN_N}, profile=False)


def test_a_page_per_unit_above_min_n_with_the_numbers_of_the_data(
        per_run, company_dir: Path) -> None:
    assert per_run.ok, per_run.summary()
    pages = {nb.parameters["unit"]: nb for nb in per_run.notebooks}
    assert set(pages) == set(STORES.values())  # not the tiny one
    for store, nb in pages.items():
        soup = BeautifulSoup(nb.html_path.read_text(encoding="utf-8"), "html.parser")
        text = soup.get_text(" ")
        line = re.search(r"HEADLINE (.*?): NPS (-?\d+\.\d) \(95% CI .*?n = ([\d,]+)\)", text)
        assert line, text[:2000]
        nps, n = _nps_by_hand(company_dir, store)
        assert line.group(1) == store
        assert float(line.group(2)) == pytest.approx(nps, abs=0.051)
        assert int(line.group(3).replace(",", "")) == n
        assert store in soup.find("h1").get_text()  # the title names the unit


def test_units_sharing_a_kernel_start_afresh(per_run) -> None:
    """The first unit of a batch skips its later cells; the next one in the same kernel runs
    them all, its namespace empty and its cells counted from 1."""
    for nb in per_run.notebooks:
        text = nb.html_path.read_text(encoding="utf-8")
        assert ("LAST CELL RAN" in text) == (nb.parameters["unit"] != HOSTILE), nb.name
        executed = nbformat.read(nb.notebook_path, as_version=4)
        counts = [c.execution_count for c in executed.cells if c.cell_type == "code"]
        assert counts[:3] == [1, 2, 3], (nb.name, counts)


def test_small_units_are_listed_with_their_n_and_pages_grouped_by_region(per_run) -> None:
    manifest = json.loads((per_run.run_dir / "manifest.json").read_text(encoding="utf-8"))
    per = manifest["units"]
    assert per["column"] == "store" and per["levels"] == ["region"] and per["min_n"] == MIN_N
    tiny = [u for u in per["units"] if u["small"]]
    assert [u["unit"] for u in tiny] == [TINY]
    index = (per_run.run_dir.parent / "index.html").read_text(encoding="utf-8")
    soup = BeautifulSoup(index, "html.parser")
    small = soup.find(class_="cx-units-small").get_text(" ")
    assert TINY in small and f"n = {tiny[0]['n']}" in small
    groups = {d.find("summary").get_text(" ").split(" (")[0]: d for d in soup.find_all("details")}
    assert set(groups) == {f"region {r}" for r in STORES}
    kanto = groups["region Kanto"]
    assert "Shinjuku" in kanto.get_text() and "Umeda" not in kanto.get_text()
    assert len(kanto.find_all("a")) == 1


def test_hostile_unit_labels_are_escaped_everywhere(per_run) -> None:
    for page in [per_run.run_dir.parent / "index.html",
                 *[nb.html_path for nb in per_run.notebooks]]:
        text = page.read_text(encoding="utf-8")
        assert "<img src=x" not in text, page
        soup = BeautifulSoup(text, "html.parser")
        assert not soup.find("img", onerror=True)
    hostile = next(nb for nb in per_run.notebooks if nb.parameters["unit"] == HOSTILE)
    assert re.fullmatch(r"10_unit--[A-Za-z0-9_-]+", hostile.name)  # a safe file name
    soup = BeautifulSoup(hostile.html_path.read_text(encoding="utf-8"), "html.parser")
    assert HOSTILE in soup.find("h1").get_text()  # shown as text


def test_per_refuses_notebooks_without_unit_parameters(company_dir: Path, tmp_path: Path) -> None:
    nb = _notebook(tmp_path / "20_plain.ipynb", f'source: str = "{company_dir}"  # data',
                   ["x = 1"])
    with pytest.raises(ReportError) as caught:
        run_report([nb], tmp_path / "reports", per="store", profile=False)
    message = str(caught.value)
    assert "\n" not in message and "20_plain" in message and "unit_column" in message
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())


def test_per_with_an_unknown_column_fails_before_the_run(company_dir: Path, tmp_path: Path
                                                         ) -> None:
    nb = _notebook(tmp_path / "10_unit.ipynb",
                   UNIT_NOTEBOOK.replace('"data"', f'"{company_dir}"'), UNIT_CELLS)
    with pytest.raises(ReportError, match=r"--per shop: .*no column 'shop'"):
        run_report([nb], tmp_path / "reports", per="shop", profile=False)


def test_report_notebooks_declare_the_unit_parameters() -> None:
    for name in ("01_survey_exploration", "03_churn"):
        declared = read_parameters(ROOT / "notebooks" / f"{name}.ipynb").parameters
        assert {"unit_column", "unit", "min_n"} <= set(declared), name


def test_the_retired_region_parameter_names_the_unit_filter(tmp_path: Path) -> None:
    """Notebook 01 filters one region with unit_column and unit; an old ``-p region`` (or a
    run file's ``region:``) is refused before anything runs, saying what replaces it."""
    from cxlib.report.run import preflight

    nb01 = ROOT / "notebooks" / "01_survey_exploration.ipynb"
    assert "region" not in read_parameters(nb01).parameters
    with pytest.raises(ReportError, match=r"unknown parameter\(s\) region \(retired: one region "
                       r"is a unit, -p unit_column region -p unit Kanto\)"):
        preflight([nb01], {"region": "Kanto"})
    with pytest.raises(ReportError, match=r"region \(retired: .*not declared by notebook 01"):
        preflight([nb01], {}, {"01_survey_exploration": {"region": "Kanto"}})
    assert preflight([nb01], {"unit_column": "region", "unit": "Kanto"}) == [
        {"unit_column": "region", "unit": "Kanto"}]


def test_sample_stores_nest_in_regions_without_moving_other_columns() -> None:
    c = synth.make_company(n_customers=2_000, seed=5)
    stores = c.customers.groupby("store")["region"].nunique()
    assert (stores == 1).all() and c.customers["store"].notna().all()
    again = synth.make_company(n_customers=2_000, seed=5)
    pd.testing.assert_frame_equal(c.customers, again.customers)
    from cxlib.synth._stores import STORES as ALL

    assert sum(map(len, ALL.values())) == 50


def test_a_running_notebook_is_written_at_its_start_and_end_not_per_cell(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """papermill writes the whole notebook at every cell's start and end (1.4 CPU s of a unit
    page); the worker's engine writes it at the start, the end, and at most every 10 s."""
    import papermill
    import papermill.engines

    from cxlib.report import worker

    writes: list[int] = []
    real = papermill.engines.write_ipynb
    monkeypatch.setattr(papermill.engines, "write_ipynb",
                        lambda nb, path: (writes.append(sum(
                            c.get("execution_count") is not None for c in nb.cells)),
                            real(nb, path)))
    nb = _notebook(tmp_path / "cells.ipynb", 'n: int = 1  # n', [f"print({i})" for i in range(8)])
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(nb, out, kernel_name="python3", progress_bar=False,
                               engine_name=worker._engine())
    assert writes == [0, 9]  # at the start (the runner waits for the file) and at the end
    executed = nbformat.read(out, as_version=4)
    assert [c.execution_count for c in executed.cells] == list(range(1, 10))
    assert executed.cells[-1].outputs[0]["text"] == "7\n"
