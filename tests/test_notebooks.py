"""Static rules every notebook follows (nbval executes them; see pyproject addopts)."""

from __future__ import annotations

import ast
import re

import nbformat
import pytest

from cxlib import paths

NOTEBOOKS = sorted(paths.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
PARAM_LINE = re.compile(r"^[a-z_][a-z0-9_]*: [A-Za-z_\[\], |]+ = .+  # \S.*$")


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/NN_topic.ipynb expected"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_one_typed_and_commented_parameters_cell(path):
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    lines = [l for l in tagged[0].source.splitlines() if l.strip() and not l.startswith("#")]
    assert lines
    for line in lines:
        assert PARAM_LINE.match(line), f"parameter line should be `name: type = value  # what`: {line}"
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert first_code is tagged[0], "the parameters cell is the first code cell"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_exit_no_eval_no_raw_html_from_data(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = cell.source
        assert "sys.exit" not in source and "os._exit" not in source
        assert not re.search(r"\b(eval|exec)\(", source)
        assert "IPython.display.HTML" not in source and "display(HTML" not in source
        assert "Markdown(" not in source and ".style" not in source
        ast.parse("\n".join(l for l in source.splitlines() if not l.startswith(("%", "!"))))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_key_outputs_are_checked_and_versions_recorded(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    checked = [c for c in code if c.source.startswith("# NBVAL_CHECK_OUTPUT")]
    assert checked, "mark deterministic headline outputs with # NBVAL_CHECK_OUTPUT"
    assert all(c.outputs for c in checked), "checked cells need stored outputs to compare"
    assert "environment_versions()" in code[-1].source, "last cell records package versions"
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_statistical_warnings_are_never_silenced(path):
    """Small samples and fallbacks are flagged in the report, not hidden."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not re.search(r"(simplefilter|filterwarnings)\(\s*['\"]ignore", cell.source)
