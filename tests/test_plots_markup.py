"""Labels from data never become markup in charts (plotly renders <a>, <b>, <span> in text).

Three layers: the factories of ``cxlib.plots`` escape data labels at the source; the
notebook renderer installed by ``cxlib.plots`` and every report page (``render.figure_html``)
pass figures through ``sanitize_figure``. The browser test (tests/test_browser.py) checks a page.
"""

from __future__ import annotations

import dataclasses
import re
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from cxlib import plots, synth
from cxlib.report.render import figure_html

LINK = '<a href="http://evil.example/t7">t7</a>'
BOLD = '<b onmouseover="alert(7)">sb</b>'
STYLE = '<span style="font-size:90px">big</span>'
HOSTILE = [LINK, BOLD, STYLE]
LIVE = re.compile(r"<(?!/?(?:br|b|i|em|sup|sub)\s*/?>)[A-Za-z/!]")


def live_tags(node: Any, key: str = "") -> list[str]:
    """Every string in a figure dict (templates aside) that still holds a tag plotly renders."""
    if "template" in key:
        return []
    if isinstance(node, str):
        return [node] if LIVE.search(node) else []
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in live_tags(v, k)]
    if isinstance(node, (list, tuple, np.ndarray)):
        return [s for v in (node.tolist() if isinstance(node, np.ndarray) else node)
                for s in live_tags(v)]
    return []


@pytest.mark.parametrize("text, shown", [
    (LINK, '&lt;a href="http://evil.example/t7"&gt;t7&lt;/a&gt;'),
    (BOLD, '&lt;b onmouseover="alert(7)"&gt;sb&lt;/b&gt;'),
    (STYLE, '&lt;span style="font-size:90px"&gt;big&lt;/span&gt;'),
    ("n=3<br>touchpoint", "n=3<br>touchpoint"),  # cxlib's own line break stays
    ("<b>act first</b> on price", "<b>act first</b> on price"),
    ("stray</b>", "stray&lt;/b&gt;"),
    ("1 < 2 > 0 & R&amp;D", "1 &lt; 2 &gt; 0 &amp; R&amp;D"),
    ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("お客様<満足>", "お客様&lt;満足&gt;"),
    ("plain", "plain"),
])
def test_neutralise_markup(text: str, shown: str) -> None:
    assert plots.neutralise_markup(text) == shown
    assert plots.neutralise_markup(shown) == shown  # idempotent: a second pass changes nothing


def test_neutralise_markup_stays_fast_on_long_hostile_text() -> None:
    # linear: well under a second for 200,000 characters; a backtracking pattern takes hours, so
    # a generous absolute bound catches it and still holds on a loaded machine
    for unit in ("<a", "<" + "x" * 150, "&", "<b>"):
        text = (unit * (200_000 // len(unit) + 1))[:200_000]
        start = time.perf_counter()
        plots.neutralise_markup(text)
        assert time.perf_counter() - start < 20, unit


def test_factories_escape_labels_at_the_source() -> None:
    t = pd.DataFrame({"label": HOSTILE, "estimate": [1.0, 2.0, 3.0], "ci_low": [0.5, 1.5, 2.5],
                      "ci_high": [1.5, 2.5, 3.5], "n": [10, 20, 30], "share": [0.2, 0.3, 0.5],
                      "importance": [0.2, 0.3, 0.5], "performance": [3.0, 4.0, 2.0]})
    figures = [
        plots.interval_bars(t, x="label", y="estimate"),
        plots.importance_performance(t, label="label"),
        plots.ranked_bars(t, x="estimate", label="label", low="ci_low", high="ci_high"),
        plots.forest(t, label="label"),
        plots.heatmap(pd.DataFrame([[1, 2], [3, 4]], index=HOSTILE[:2], columns=HOSTILE[1:]),
                      text=[["a", "b"], ["c", "d"]], title="t", x_title="x", y_title="y",
                      colorbar="c"),
    ]
    for fig in figures:
        spec = fig.to_dict()
        assert live_tags(spec) == [], spec
        assert "evil.example" in str(spec) or "onmouseover" in str(spec)  # shown, as text


def test_report_pages_and_the_notebook_renderer_sanitise_any_figure() -> None:
    fig = go.Figure(go.Bar(x=pd.Series(HOSTILE), y=[1, 2, 3], name=LINK, text=HOSTILE,
                           hovertext=np.array(HOSTILE, dtype=object),
                           hovertemplate="%{x}<extra></extra>"))
    fig.update_layout(title_text=LINK, xaxis_title=BOLD, legend_title_text=STYLE,
                      annotations=[dict(text=LINK, x=0, y=0)],
                      yaxis=dict(tickvals=[1], ticktext=[BOLD]))
    assert len(live_tags(fig.to_dict())) > 5  # the planted labels are live without the sanitiser
    clean = plots.sanitize_figure(fig)
    assert isinstance(clean, go.Figure) and live_tags(clean.to_dict()) == []
    assert clean.data[0].hovertemplate == "%{x}<extra></extra>"  # cxlib's own code untouched
    page = figure_html(fig.to_dict(), "cx-plot-0")
    assert "evil.example" in page and 'href="http://evil' not in page and "<b onmouseover" not in page
    renderers = [pio.renderers[n] for n in (pio.renderers.default or "").split("+") if n]
    bundle = plots._Sanitising(pio.renderers["plotly_mimetype"]).to_mimebundle(fig.to_dict())
    assert live_tags(bundle) == [] and "evil.example" in str(bundle)
    assert all(isinstance(r, plots._Sanitising) or not isinstance(
        r, pio._base_renderers.MimetypeRenderer) for r in renderers)


def _hostile(company: synth.Company) -> synth.Company:
    """The company with markup planted in every free label column (same categories)."""
    def plant(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
        out = frame.copy()
        for i, col in enumerate(c for c in columns if c in out):
            out[col] = HOSTILE[i % 3].replace("t7", "t7-") + out[col].astype(str)
        return out

    return dataclasses.replace(
        company,
        customers=plant(company.customers, ("region", "segment", "plan", "acquisition_channel")),
        responses=plant(company.responses, ("touchpoint", "channel")),
        touchpoints=plant(company.touchpoints, ("touchpoint", "channel")))


def test_every_result_figure_is_shown_without_live_markup(small_company: synth.Company) -> None:
    from test_results_contract import BUILDERS

    company = _hostile(small_company)
    shown = plots._Sanitising(pio.renderers["plotly_mimetype"])
    reached = 0
    for cls, build in BUILDERS.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = build(company)
        for method in ["plot"] + [m for m in dir(result) if m.startswith("plot_")]:
            spec = getattr(result, method)().to_dict()
            reached += "evil.example" in str(spec) or "onmouseover" in str(spec)
            bundle = shown.to_mimebundle(spec)
            assert live_tags(bundle) == [], f"{cls.__name__}.{method}: {live_tags(bundle)[:3]}"
    assert reached >= 1  # the planted labels do reach figures (segment and region plots)
