"""Notebook files stored as JupyterLab saves them, so opening and saving one changes nothing.

Lab keeps a notebook as JavaScript objects and its server writes what the browser sends
with ``nbformat.write``: keys sorted, indent 1, a trailing newline, the kernelspec of the
kernel it runs, and numbers as ``JSON.stringify`` writes them, so a stored ``1.0`` comes
back as ``1``. :func:`lab_text` writes the same bytes; :func:`write` stores a notebook
that way. Re-execute and store the committed notebooks on the sample with::

    PYTHONPATH=$PWD .venv/bin/python -m cxlib.notebookfile notebooks/[0-9]*.ipynb

(papermill in a ``python3`` kernel, cwd ``notebooks/``, progress bars off as in reports).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import nbformat

__all__ = ["KERNELSPEC", "js_numbers", "lab_text", "write", "execute"]

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
"""The kernelspec Lab writes for ipykernel's ``python3`` kernel (its kernel.json)."""

_JS_EXPONENT = 1e21  # JSON.stringify switches to exponent notation from here


def js_numbers(value):
    """``value`` with its numbers as a JSON text from JavaScript reads back in Python:
    integral floats below 1e21 become ints (``1.0`` -> ``1``, ``-0.0`` -> ``0``), ints too
    large for a double become the double's value."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < _JS_EXPONENT else value
    if isinstance(value, int):
        if abs(value) <= 2**53:
            return value
        return js_numbers(float(value))
    if isinstance(value, dict):
        return type(value)((k, js_numbers(v)) for k, v in value.items())
    if isinstance(value, list):
        return [js_numbers(v) for v in value]
    return value


def lab_text(nb: nbformat.NotebookNode) -> str:
    """The file text JupyterLab writes for ``nb`` (kernelspec included)."""
    nb = nbformat.from_dict(js_numbers(nb))
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    text = nbformat.writes(nb, version=nbformat.NO_CONVERT)
    return text if text.endswith("\n") else text + "\n"


def write(nb: nbformat.NotebookNode, path: str | Path) -> None:
    """Store ``nb`` at ``path`` as Lab would."""
    Path(path).write_text(lab_text(nb), encoding="utf-8")


def execute(path: str | Path, parameters: dict | None = None) -> nbformat.NotebookNode:
    """Run the notebook with papermill (kernel ``python3``, cwd its folder) and return it
    without papermill's bookkeeping metadata (run times and parameters stay out of git)."""
    import papermill

    path = Path(path).resolve()
    os.environ.setdefault("TQDM_DISABLE", "1")  # progress bars are for a screen
    nb = papermill.execute_notebook(str(path), None, parameters=parameters or {},
                                    kernel_name="python3", cwd=str(path.parent),
                                    progress_bar=False)
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
    return nb


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m cxlib.notebookfile", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="+", type=Path)
    ap.add_argument("--no-execute", action="store_true",
                    help="only rewrite the files as Lab saves them (no run)")
    args = ap.parse_args(argv)
    for path in args.notebooks:
        nb = (nbformat.read(path, as_version=4) if args.no_execute else execute(path))
        write(nb, path)
        print(f"stored {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
