"""Every notebook run on a ``source`` of Parquet files never brings the events into pandas.

Each notebook is executed (papermill, a real kernel) on a copy of the sample whose
``touchpoints`` table is a folder of Parquet parts, as a warehouse export is. A spy cell
put first in the kernel wraps everything through which table data can enter pandas:
``pandas.read_parquet``, ``pandas.read_csv``, ``pyarrow.parquet.read_table`` and the
engine's one exit (``_DuckDB.fetch``). The test then asserts on what crossed: no result
carries the event table's key ``event_id``, no file of the event table was read, and every
result is far smaller than the event table, while the touchpoint reductions did run in the
engine (so the test cannot pass by the spy seeing nothing). Key outputs of the same runs
are compared with the stored notebooks' (the pushed-down path gives the same numbers).
"""

from __future__ import annotations

import json
import os
import shutil
import textwrap
from pathlib import Path

import nbformat
import pandas as pd
import papermill
import pyarrow.parquet as pq
import pytest

from cxlib import paths

NOTEBOOKS = sorted(paths.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
USES_EVENTS = {"01_survey_exploration", "03_churn", "04_kpi_model", "05_pilot",
               "06_verbatims"}  # 06: the churn risk that ranks its action list

SPY = """\
# test spy: record everything that brings table data into pandas
import json as _json
import pandas as _pd
import pyarrow.parquet as _pq
from cxlib.engine import _source as _src

_crossed = []

def _wrap(owner, name, via):
    original = getattr(owner, name)
    def spy(*args, **kwargs):
        out = original(*args, **kwargs)
        columns = out.column_names if hasattr(out, "column_names") else list(out.columns)
        _crossed.append({"via": via, "what": str(args[1] if via == "engine" else args[0])[:300],
                         "rows": len(out), "columns": [str(c) for c in columns]})
        return out
    setattr(owner, name, spy)

_wrap(_src._DuckDB, "fetch", "engine")
_wrap(_pd, "read_parquet", "read_parquet")
_wrap(_pd, "read_csv", "read_csv")
_wrap(_pq, "read_table", "read_table")
"""

DUMP = """\
with open({path!r}, "w", encoding="utf-8") as _fh:
    _json.dump(_crossed, _fh)
"""


@pytest.fixture(scope="module")
def warehouse(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample with its events split into a folder of Parquet parts."""
    out = tmp_path_factory.mktemp("warehouse")
    for name in ("customers", "responses", "kpis", "financials"):
        shutil.copy(sample_dir / f"{name}.parquet", out / f"{name}.parquet")
    events = pq.read_table(sample_dir / "touchpoints.parquet")
    (out / "touchpoints").mkdir()
    half = events.num_rows // 2
    pq.write_table(events.slice(0, half), out / "touchpoints" / "part-0.parquet")
    pq.write_table(events.slice(half), out / "touchpoints" / "part-1.parquet")
    return out


def _run(path: Path, source: Path, workdir: Path) -> tuple[list[dict], nbformat.NotebookNode]:
    nb = nbformat.read(path, as_version=4)
    log = workdir / f"{path.stem}.crossed.json"
    nb.cells.insert(0, nbformat.v4.new_code_cell(SPY))
    nb.cells.append(nbformat.v4.new_code_cell(textwrap.dedent(DUMP.format(path=str(log)))))
    staged = workdir / path.name
    nbformat.write(nb, staged)
    done = papermill.execute_notebook(str(staged), str(workdir / f"{path.stem}.out.ipynb"),
                                      parameters={"source": str(source)},
                                      cwd=str(paths.NOTEBOOKS_DIR), progress_bar=False,
                                      kernel_name="python3")
    return json.loads(log.read_text(encoding="utf-8")), done


def _checked_outputs(nb: nbformat.NotebookNode) -> list[str]:
    texts = []
    for cell in nb.cells:
        if cell.cell_type == "code" and "NBVAL_CHECK_OUTPUT" in cell.source:
            texts.append("".join(o.get("text", "") or o.get("data", {}).get("text/plain", "")
                                 for o in cell.get("outputs", [])))
    return texts


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_on_parquet_source_keeps_events_in_the_engine(path: Path, warehouse: Path,
                                                               tmp_path: Path) -> None:
    crossed, executed = _run(path, warehouse, tmp_path)
    n_events = pq.ParquetFile(warehouse / "touchpoints" / "part-0.parquet").metadata.num_rows * 2
    assert crossed, "the spy saw nothing: the test would pass vacuously"
    reads = [c for c in crossed if c["via"] != "engine"]
    assert all("touchpoints" not in c["what"] for c in reads), reads
    assert all("event_id" not in c["columns"] for c in crossed)
    biggest = max(crossed, key=lambda c: c["rows"])
    assert biggest["rows"] < n_events / 5, biggest
    # the customers and answers came in; the reductions of the events ran in the engine
    assert any(c["rows"] == len(pd.read_parquet(warehouse / "customers.parquet"))
               for c in crossed)
    engine_on_events = [c for c in crossed if c["via"] == "engine" and "touchpoints" in c["what"]]
    if path.stem in USES_EVENTS:
        assert engine_on_events, "no touchpoint reduction ran in the engine"
    # same key outputs as the stored notebook, which ran on the single-file sample
    stored = nbformat.read(path, as_version=4)
    ours = _checked_outputs(executed)
    theirs = _checked_outputs(stored)
    assert len(ours) == len(theirs) and ours == theirs


@pytest.mark.skipif(shutil.which("java") is None and not os.environ.get("JAVA_HOME"),
                    reason="no Java runtime for pyspark (`make java` installs it)")
def test_churn_notebook_on_spark_gives_the_stored_outputs(sample_dir: Path, tmp_path: Path
                                                         ) -> None:
    """engine="local[2]": the features and the touchpoint checks run in Spark SQL; the
    checked outputs equal the stored (DuckDB) run's."""
    path = paths.NOTEBOOKS_DIR / "03_churn.ipynb"
    done = papermill.execute_notebook(
        str(path), str(tmp_path / "03_spark.ipynb"),
        parameters={"source": str(sample_dir), "engine": "local[2]"},
        cwd=str(paths.NOTEBOOKS_DIR), progress_bar=False, kernel_name="python3")
    crossed = [o for c in done.cells if c.cell_type == "code" and "tables.crossed()" in c.source
               for o in c.get("outputs", [])]
    assert crossed and "churn features" in str(crossed)
    assert _checked_outputs(done) == _checked_outputs(nbformat.read(path, as_version=4))
