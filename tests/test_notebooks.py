"""Static rules every notebook follows (nbval executes them; see pyproject addopts)."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess

import nbformat
import pytest

from cxlib import notebookfile, paths

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


# -- stored as JupyterLab saves them ---------------------------------------------------------

def _through_javascript(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """What Lab sends back to its server: the notebook through JSON.parse / JSON.stringify."""
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("no node.js to play JupyterLab's part")
    out = subprocess.run([node, "-e", "let s='';process.stdin.on('data',d=>s+=d);"
                          "process.stdin.on('end',()=>process.stdout.write("
                          "JSON.stringify(JSON.parse(s))))"],
                         input=json.dumps(nb), capture_output=True, text=True, check=True)
    return nbformat.from_dict(json.loads(out.stdout))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_opened_and_saved_in_lab_the_file_is_unchanged(path):
    """Lab's save: the server reads the file (nbformat), the browser holds it as JavaScript
    and sends it back, the server writes it (nbformat.write) with Lab's kernelspec."""
    stored = path.read_text(encoding="utf-8")
    assert stored == notebookfile.lab_text(nbformat.reads(stored, as_version=4))
    nb = _through_javascript(nbformat.reads(stored, as_version=4))
    nb.metadata["kernelspec"] = dict(notebookfile.KERNELSPEC)
    saved = nbformat.writes(nb, version=nbformat.NO_CONVERT) + "\n"
    assert saved == stored, "store notebooks with cxlib.notebookfile.write"


def test_lab_numbers_and_kernelspec_match_javascript_and_the_venv():
    values = [1.0, -0.0, 0.5, 3.0e20, 1e21, 1e-7, 2**53 + 1, 10**22, True, None, "1.0", 7]
    nb = nbformat.v4.new_notebook(metadata={"x": values})
    assert notebookfile.js_numbers(values) == [1, 0, 0.5, 300000000000000000000, 1e21, 1e-7,
                                               2**53, 1e22, True, None, "1.0", 7]
    assert _through_javascript(nb).metadata["x"] == notebookfile.js_numbers(values)
    kernelspec = pytest.importorskip("jupyter_client.kernelspec")
    try:
        spec = kernelspec.KernelSpecManager().get_kernel_spec("python3")
    except kernelspec.NoSuchKernel:
        pytest.skip("no python3 kernel installed")
    assert notebookfile.KERNELSPEC == {"display_name": spec.display_name,
                                       "language": spec.language, "name": "python3"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_footer_headings_sit_above_their_own_tables(path):
    """'What came into pandas' above tables.crossed(), 'Package versions' above the versions."""
    cells = nbformat.read(path, as_version=4).cells
    assert "environment_versions()" in cells[-1].source
    assert cells[-2].cell_type == "markdown" and "Package versions of this run" in cells[-2].source
    assert "tables.crossed()" in cells[-3].source
    assert cells[-4].cell_type == "markdown" and "## What came into pandas" in cells[-4].source
