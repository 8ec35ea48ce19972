"""Report runs: parameterized notebooks executed with papermill, published as offline HTML.

``run_report(notebooks, out, **options)`` is the entry point; ``cx report``
(:mod:`cxlib.cli`) is a thin face over it. The modules, in the order a run uses them:

- :mod:`~cxlib.report.options` the run options, declared once (CLI, run files, keywords)
- :mod:`~cxlib.report.params` a notebook's ``parameters`` cell and checking given values
- :mod:`~cxlib.report.inputs` fingerprints of input files, the code version
- :mod:`~cxlib.report.store` the report folder: pre-flight, lock, publishing, pruning
- :mod:`~cxlib.report.data_page` the data profile page of a run, the data check first
- :mod:`~cxlib.report.per_unit` one report per unit (``--per``): units, batches, index
- :mod:`~cxlib.report.job` what a worker process is given and gives back
- :mod:`~cxlib.report.pool` worker processes: start, watch, time out, retry, stop
- :mod:`~cxlib.report.worker` one notebook: execute, classify, render
- :mod:`~cxlib.report.render` HTML pages and the run index
- :mod:`~cxlib.report.run` a whole run, its result and manifest

Knows nothing about CX but in ``data_page``. Names load on first use, so ``cx`` starts fast.
"""

from __future__ import annotations

import importlib
from typing import Any

_NAMES: dict[str, str] = {
    "run_report": "run",
    "run_with": "run",
    "preflight": "run",
    "manifest": "run",
    "available_cores": "run",
    "RunResult": "run",
    "NotebookResult": "run",
    "RunOptions": "options",
    "load_run_file": "options",
    "PARAMETERS_TAG": "params",
    "parse_value": "params",
    "CliText": "params",
    "ReportLocked": "store",
    "ReportWriteError": "store",
    "latest_run": "store",
    "DataCheck": "data_page",
    "not_executed": "worker",
    "FAILURES": "job",
}

__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module 'cxlib.report' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
