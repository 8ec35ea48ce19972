"""How cxlib's notebooks show things to a reader, installed in IPython when cxlib is imported.

- every DataFrame's HTML is :func:`cxlib.tables.to_html` (readable formats, no index
  column, escaped);
- values of the organisation, touchpoint and journey-phase columns show with the display
  names of the dataset description (``labels`` in ``cx.yml``; :func:`use_labels`, called by
  :func:`cxlib.open_data`); the data keep their values (join keys are never renamed);
- a warning reads ``Warning: <message>``, without the file path and code line Python
  prints by default (the reader never called that code).

Outside IPython (scripts, tests) nothing changes.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

__all__ = ["install", "plain_warning", "dataframe_html", "use_labels", "LABELS"]

#: Column -> value -> display name, used for every table shown (:func:`use_labels`).
LABELS: dict[str, dict[str, str]] = {}


def use_labels(labels: Mapping[str, Mapping[str, str]]) -> None:
    """Show table values with these display names (a description's ``labels``: organisations,
    touchpoints, phases -> {value: name}); replaces what an earlier dataset set."""
    from cxlib.dataset import LABELLED_COLUMNS  # the columns Dataset.relabel renames too

    LABELS.clear()
    for column, kind in LABELLED_COLUMNS.items():
        if labels.get(kind):
            LABELS[column] = {str(k): str(v) for k, v in labels[kind].items()}


def plain_warning(message: Any, category: type[Warning], filename: str, lineno: int,
                  line: str | None = None) -> str:
    """A warning as the reader reads it: ``Warning: <message>`` and a newline."""
    return f"Warning: {message}\n"


def dataframe_html(frame: Any) -> str | None:
    """The HTML of a DataFrame in a notebook: :func:`cxlib.tables.to_html`; pandas' own
    when formatting fails (the table is shown either way)."""
    from cxlib.tables import to_html

    try:
        return to_html(frame, labels=LABELS)
    except Exception:  # noqa: BLE001 - never lose a table to a format
        return frame._repr_html_()


def install(shell: Any = None) -> bool:
    """Install the table formatter and the plain warnings in ``shell`` (default: the
    running IPython); False when there is none."""
    if shell is None:
        import sys

        if "IPython" not in sys.modules:
            return False
        from IPython import get_ipython

        shell = get_ipython()
    if shell is None:
        return False
    formatter = shell.display_formatter.formatters["text/html"]
    for module in ("pandas", "pandas.core.frame"):
        formatter.for_type_by_name(module, "DataFrame", dataframe_html)
    warnings.formatwarning = plain_warning
    return True
