"""Figures read at their size: titles wrapped and clear of the plot, hover numbers with few
decimals, ratios as a forest on a log axis, log ticks and point labels that do not collide,
titles that say what the figure shows. The browser half is in test_browser.py."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from cxlib import pilot, plots
from cxlib.errors import StatisticalWarning
from figure_checks import figure_problems, hover_texts

RNG = np.random.default_rng(7)


def _ratios(n: int = 12) -> pd.DataFrame:
    est = np.exp(RNG.normal(0, 0.5, n))
    return pd.DataFrame({"term": [f"term_{i}" + "_long" * (i % 3) for i in range(n)],
                         "estimate": est, "ci_low": est * 0.8, "ci_high": est * 1.3})


def test_long_titles_wrap_at_words_and_get_the_room_they_need():
    title = ("Answers after an unresolved first contact score -39.7 NPS points against resolved "
             "ones (95% CI -42.5 to -36.8, p = 1.22e-164, significant; n = 4,884 vs 5,951)")
    fig = plots.style(go.Figure(go.Bar(x=["a", "b"], y=[1, 2])), title=title)
    lines = fig.layout.title.text.split("<br>")
    assert len(lines) == 3 and " ".join(lines) == title  # words kept whole, none lost
    assert all(len(line) <= plots.TITLE_CHARS for line in lines)
    assert fig.layout.margin.t >= plots.title_margin(3) > plots.title_margin(1)
    assert fig.layout.title.yref == "paper" and fig.layout.title.yanchor == "bottom"
    assert plots.wrap_title("a &lt;b&gt; c", width=5) == "a &lt;b&gt;<br>c"  # entity = 1 char
    assert plots.wrap_title("a &lt;b&gt; c", width=4) == "a<br>&lt;b&gt;<br>c"
    assert figure_problems(fig) == []


def test_default_hover_is_formatted_and_the_checker_catches_raw_floats():
    raw = go.Figure(go.Bar(x=["alpha", "omega"], y=[0.8806756, 0.91234567],
                           error_y=dict(type="data", array=[0.003011479, 0.002])))
    assert any("default hover" in p for p in figure_problems(raw))
    raw.data[0].hovertemplate = "%{x}: %{y}"  # a template without a format is caught too
    assert any("decimals" in p for p in figure_problems(raw))
    fig = plots.style(go.Figure(go.Bar(x=["alpha", "omega"], y=[0.8806756, 0.91234567],
                                       error_y=dict(type="data", array=[0.003011479, 0.002]))))
    assert hover_texts(fig) == ["alpha: 0.881 [0.878, 0.884]", "omega: 0.912 [0.910, 0.914]"]
    assert figure_problems(fig) == []


@pytest.mark.parametrize(("values", "fmt"), [
    ([0.8806756, 0.91], ",.3f"), ([912153.4975], ",.0f"), ([-39.7, 6.1], ",.1f"),
    ([0.00258, -0.00294, 0.0081], ",.4f"), ([3, 4000], ",.0f"), ([np.nan], ",.0f")])
def test_number_format_keeps_three_significant_digits_and_at_most_four_decimals(values, fmt):
    assert plots.number_format(values) == fmt


def test_every_factory_figure_reads_at_its_size():
    t = _ratios()
    table = t.assign(n=100, label=t["term"], share=t["estimate"] / 10, performance=t["estimate"],
                     importance=t["estimate"])
    trend = pd.DataFrame({"period": pd.date_range("2024-01-01", periods=6, freq="MS"),
                          "nps": RNG.normal(5, 3, 6), "ci_low": 0.0, "ci_high": 10.0,
                          "band_low": -1.0, "band_high": 11.0, "centre": 5.0, "n": 300})
    figures = [
        plots.interval_bars(table.head(4), x="label", y="estimate", title="a long title " * 12),
        plots.interval_bars(table, x="label", y="estimate"),
        plots.ranked_bars(table, x="estimate", label="label", low="ci_low", high="ci_high"),
        plots.forest(t, "term", log=True, reference=1),
        plots.importance_performance(table, label="label"),
        plots.trend_band(trend),
        plots.score_distribution(pd.Series(RNG.integers(0, 11, 500))),
        plots.heatmap(pd.DataFrame(RNG.random((3, 3)), index=list("abc"), columns=list("xyz")),
                      text=None, title="h", x_title="x", y_title="y", colorbar="c"),
    ]
    for fig in figures:
        assert figure_problems(fig) == [], fig.layout.title.text


def test_more_than_eight_categories_are_drawn_as_rows_not_turned_labels():
    t = _ratios(12).assign(n=50)
    wide = plots.interval_bars(t, x="term", y="estimate")
    assert wide.data[0].orientation == "h"
    assert list(wide.data[0].y)[-1].startswith("term_0")  # the first row on top
    assert list(wide.data[0].x) == list(t["estimate"][::-1])
    short = t.head(plots.MAX_COLUMNS).assign(term=list("abcdefgh"))
    assert plots.interval_bars(short, x="term", y="estimate").data[0].orientation == "v"
    long = t.head(3).assign(term=["acquisition_channel[tv_campaign]"] * 3)  # 3 x 32 characters
    assert plots.interval_bars(long, x="term", y="estimate").data[0].orientation == "h"


def test_forest_on_a_log_axis_with_ticks_that_fit():
    t = _ratios()
    t.loc[0, "term"] = "emotional_score+rational_score+expectation_gap+expectation_gap_first"
    fig = plots.forest(t, "term", reference=1.0, log=True, title="Odds ratios")
    trace = fig.data[0]
    assert trace.type == "scatter" and trace.mode == "markers" and fig.layout.xaxis.type == "log"
    assert list(trace.error_x.array) == pytest.approx(list((t.ci_high - t.estimate)[::-1]))
    ticks = list(fig.layout.xaxis.tickvals)
    low, high = t.ci_low.min(), t.ci_high.max()
    assert ticks == sorted(ticks) and low <= ticks[0] and ticks[-1] <= high
    assert len(ticks) * 40 <= plots.PLOT_AREA[0]  # labels of ~4 characters never overlap
    assert max(len(str(v)) for v in trace.y) <= 40  # shortened on the axis ...
    assert any("expectation_gap_first" in h for h in hover_texts(fig))  # ... whole in the hover


def test_log_ticks_follow_the_range_and_the_room():
    assert plots.log_ticks(200, 4000, width=135) == [200, 1000, 4000]  # the ends and 10^k
    assert plots.log_ticks(200, 4000, width=250) == [200, 500, 1000, 2000]
    assert plots.log_ticks(200, 4000) == [200, 300, 500, 700, 1000, 1500, 2000, 3000]
    assert plots.log_ticks(0.36, 1.3) == [0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.2]
    assert plots.log_ticks(0.5, 3.0) == [0.5, 0.7, 1, 1.5, 2, 3]  # at most 8


def _boxes(x, y, labels, positions, ranges, size=plots.PLOT_AREA, font=13.0):
    px, py = ((np.asarray(v, float) - r[0]) / (r[1] - r[0]) * n
              for v, r, n in zip((x, y), ranges, size))
    out = []
    for a, b, label, pos in zip(px, py, labels, positions):
        if not pos:
            continue
        w, h = 0.6 * font * len(label), 1.3 * font
        vertical, horizontal = pos.split()
        y0 = {"top": b + 9, "bottom": b - 9 - h, "middle": b - h / 2}[vertical]
        x0 = {"center": a - w / 2, "right": a + 9, "left": a - 9 - w}[horizontal]
        out.append((x0, y0, x0 + w, y0 + h))
    return out


def test_point_labels_are_placed_apart_or_left_to_the_hover():
    # the importance-performance map of notebook 01: three drivers close together on the right
    x = [3.02, 3.035, 3.036, 3.187, 3.209, 3.219, 3.228]
    y = [0.062, 0.099, 0.074, 0.141, 0.195, 0.211, 0.218]
    labels = ["rat_convenience", "rat_quality", "rat_value", "emo_pride", "emo_valued",
              "emo_trust", "emo_attachment"]
    positions = plots.place_labels(x, y, labels, priority=y)
    boxes = _boxes(x, y, labels, positions, ranges=(plots.labelled_range(x), plots.labelled_range(y)))
    assert all(not plots._overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    assert all(0 <= b[0] and b[2] <= plots.PLOT_AREA[0] for b in boxes)  # none past the edge
    assert positions[-1] != ""  # the most important is always labelled
    assert sum(bool(p) for p in positions) >= 5
    fig = plots.importance_performance(pd.DataFrame({"driver": labels, "performance": x,
                                                     "share": y}))
    assert [t for t in fig.data[0].text if t] == [lab for lab, p in zip(labels, positions) if p]
    assert sorted(h.split(":")[0] for h in hover_texts(fig)) == sorted(labels)  # all hover


def _baseline(churn: float = 0.02) -> pilot.Baseline:
    return pilot.Baseline(promoters=0.3, detractors=0.3, nps_answers_per_customer_month=0.2,
                          nps_icc=0.3, monthly_churn=churn, revenue_mean=5000.0,
                          revenue_sd=3000.0, n_customers=10_000, months=12, n_answers=3000,
                          nps_se=1.0)


def test_pilot_design_title_says_what_its_panels_show():
    design = pilot.pilot_design(_baseline(), [200, 500, 921, 1000, 2000, 4000],
                                months=[3, 6, 9, 12])
    mde = design.table.assign(mde=design.table["mde"].abs()).pivot_table(
        index=["kpi", "n_pilot"], columns="months", values="mde")
    # read from the table, not from the code: churn's MDE grows with the duration (a share
    # churned over a longer window), NPS's shrinks, revenue's does not move
    assert (mde.loc["churn"].diff(axis=1).iloc[:, 1:] > 0).all().all()
    assert (mde.loc["nps"].diff(axis=1).iloc[:, 1:] < 0).all().all()
    title = design.plot().layout.title.text.replace("<br>", " ")
    assert "longer pilots: smaller MDE for nps, larger for churn, unchanged for revenue" in title
    assert title.startswith("Larger pilots: smaller MDE for every KPI")
    assert "Larger and longer pilots detect smaller effects" not in title
    fig = design.plot()
    for axis in ("xaxis", "xaxis2", "xaxis3"):  # log ticks chosen, not plotly's 2 3 4 5 ...
        assert list(fig.layout[axis].ticktext) == ["200", "1,000", "4,000"]
    assert figure_problems(fig) == []


def test_pilot_design_title_follows_a_different_design():
    # churn above one half over the window: its variance, and MDE, shrink with the duration
    design = pilot.pilot_design(_baseline(churn=0.2), [250, 1000], months=[3, 12])
    mde = design.table.set_index(["kpi", "n_pilot", "months"])["mde"].abs()
    assert mde[("churn", 250, 12)] < mde[("churn", 250, 3)]
    assert "smaller MDE for nps, churn, unchanged for revenue" in design.finding()
    single = pilot.pilot_design(_baseline(), [250, 1000], months=[6])  # one duration only
    assert single.finding() == "Larger pilots: smaller MDE for every KPI"


def test_kpi_model_gaps_are_said_in_words_where_the_analyst_called(company):
    tables = company.tables
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pilot.rollout_value(tables, "first_contact_resolution", 0.05, before="2025-04-01",
                            customers=10_000, bootstrap=0, seed=1)
    said = [w for w in caught if issubclass(w.category, StatisticalWarning)
            and "column means" in str(w.message)]
    assert said, [str(w.message) for w in caught]
    message = str(said[0].message)
    assert said[0].filename == __file__  # where the analyst called rollout_value
    assert message.startswith("rollout_value: the money value of the roll-out comes from the "
                              "KPI model fitted on")
    assert re.search(r"\b\w+ for [\d,]+ \(\d+%\)", message)  # which KPI, how many, what share
    assert "/" not in message and ".py" not in message
