"""cxlib: customer-experience analytics behind the cx-workbench notebooks.

The public API is short; everything else lives in modules named after the domain
(``cxlib.schema``, ``cxlib.synth``, ``cxlib.metrics`` ...).
"""

from __future__ import annotations

from . import errors, metrics, plots, schema, synth, vocab
from .environment import environment_versions
from .errors import CxError, DataError, ReportError
from .io import load_latent, load_sample, load_tables, load_truth, read_table
from .metrics import nps
from .schema import validate, validate_company

__version__ = "0.1.0"

__all__ = [
    "CxError", "DataError", "ReportError",
    "errors", "metrics", "plots", "schema", "synth", "vocab",
    "load_latent", "load_sample", "load_tables", "load_truth", "read_table",
    "nps", "validate", "validate_company", "environment_versions",
]
