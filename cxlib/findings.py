"""Findings of a notebook as formatted prose, not program output.

``finding("NPS is +12.3 points (95% CI ...), n = 5,000.", headline=True)`` shows the
sentence as a paragraph (HTML, escaped: data never becomes markup) with a plain-text
fallback, and marks the output in its metadata (``{"cx": {"finding": true, "headline":
true}}``). The report renderer (:mod:`cxlib.report.render`) collects the headline findings
into the "Summary" box at the top of the page; a notebook marks its three to five most
important findings as headline.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from urllib.parse import quote

from .results import p_text

__all__ = ["Finding", "finding", "p_text", "METADATA_KEY"]

METADATA_KEY = "cx"
"""Output metadata key: ``{"cx": {"finding": True, "headline": bool}}``."""


@dataclass(frozen=True)
class Finding:
    """One finding: ``text`` (plain text, as the reader reads it), ``headline`` when it
    belongs in the page's summary."""

    text: str
    headline: bool = False
    link: str = ""  # a file beside the page, by its name (shown as a link after the text)

    def __repr__(self) -> str:
        return f"{self.text} {self.link}" if self.link else self.text

    def _repr_html_(self) -> str:
        kind = "cx-finding cx-headline" if self.headline else "cx-finding"
        link = (f' <a href="{quote(self.link, safe="")}">{html.escape(self.link)}</a>'
                if self.link else "")
        return f'<p class="{kind}">{html.escape(self.text)}{link}</p>'

    def _repr_mimebundle_(self, include=None, exclude=None):  # noqa: ANN001, ANN202
        data = {"text/plain": repr(self), "text/html": self._repr_html_()}
        return data, {METADATA_KEY: {"finding": True, "headline": self.headline}}


def finding(*sentences: object, headline: bool = False, link: str = "") -> None:
    """Show ``sentences`` (joined by a space) as one finding; ``link``: the name of a file
    beside the page (no folder), shown after the sentences as a link to it.

    In a notebook the finding is displayed at once, as formatted prose; elsewhere
    (a script, a test) it is printed as plain text. Returns nothing, so a finding on the
    last line of a cell shows once.
    """
    text = " ".join(" ".join(str(s).split()) for s in sentences if str(s).strip())
    found = Finding(text, headline, link)
    shell = _shell()
    if shell is None:
        print(repr(found))
    else:
        from IPython.display import display

        display(found)


def _shell():  # noqa: ANN202
    import sys

    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    return get_ipython()
