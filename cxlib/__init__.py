"""cxlib: customer-experience analytics behind the cx-workbench notebooks.

The public API is short; everything else lives in modules named after the domain
(``cxlib.schema``, ``cxlib.synth``, ``cxlib.metrics`` ...). Modules load on first
use (PEP 562), so ``import cxlib`` and the ``cx`` command start fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import CxError, DataError, ModelError, ParameterError, ReportError

__version__ = "0.1.0"

# public name -> module that defines it
_FUNCTIONS: dict[str, str] = {
    "load_latent": "io",
    "load_sample": "io",
    "load_tables": "io",
    "load_truth": "io",
    "read_table": "io",
    "read_survey": "io",
    "open_data": "data",
    "nps": "metrics",
    "compare_nps": "metrics",
    "nps_trend": "metrics",
    "nps_change": "metrics",
    "nps_sample_size": "metrics",
    "csat": "metrics",
    "ces": "metrics",
    "retention_rate": "metrics",
    "repeat_purchase_rate": "metrics",
    "key_drivers": "drivers",
    "SatisfactionSegmenter": "segments",
    "churn_test": "segments",
    "fit_pls": "kpimodel",
    "what_if": "kpimodel",
    "evaluate_pilot": "pilot",
    "validate": "schema",
    "validate_company": "schema",
    "environment_versions": "environment",
    "rake": "weights",
    "load_description": "dataset", "open_dataset": "dataset", "init_description": "dataset",
    "profile": "profiling",
    "finding": "findings",
}
_SUBMODULES: tuple[str, ...] = (
    "checks", "churn", "data", "dataset", "drivers", "engine", "environment", "errors", "findings",
    "io", "journey",
    "kpimodel", "measurement", "metrics", "paths", "pilot", "plots", "profiling", "schema",
    "sections", "segments", "surveyio", "survival", "synth", "text", "units", "vocab", "weights",
)

__all__ = ["CxError", "DataError", "ModelError", "ParameterError", "ReportError", *_FUNCTIONS,
           *_SUBMODULES]


def __getattr__(name: str) -> Any:
    if name in _FUNCTIONS:
        value = getattr(importlib.import_module(f".{_FUNCTIONS[name]}", __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'cxlib' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # for type checkers and IDEs
    from . import (  # noqa: F401
        churn, dataset, drivers, engine, environment, io, journey, kpimodel, measurement, metrics,
        paths, pilot, plots, profiling, schema, sections, segments, surveyio, survival, synth, text,
        vocab,
    )
    from .dataset import init_description, load_description, open_dataset  # noqa: F401
    from .drivers import key_drivers  # noqa: F401
    from .data import open_data  # noqa: F401
    from .environment import environment_versions  # noqa: F401
    from .findings import finding  # noqa: F401
    from .io import (  # noqa: F401
        load_latent, load_sample, load_tables, load_truth, read_survey, read_table,
    )
    from .kpimodel import fit_pls, what_if  # noqa: F401
    from .pilot import evaluate_pilot  # noqa: F401
    from .profiling import profile  # noqa: F401
    from .metrics import (  # noqa: F401
        ces, compare_nps, csat, nps, nps_change, nps_sample_size, nps_trend, repeat_purchase_rate,
        retention_rate,
    )
    from .schema import validate, validate_company  # noqa: F401
    from .segments import SatisfactionSegmenter, churn_test  # noqa: F401


# --- pages (issue 18): in IPython (Lab, report kernels) tables and warnings read as prose ---
from . import display as _display  # noqa: E402

_display.install()
# --- end pages ---
