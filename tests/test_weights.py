"""Raking (cxlib.weights) against R's survey::rake / trimWeights, hand-computed cases and
planted errors. The R reference is computed once by tests/reference/raking/rake.R."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

import cxlib
from cxlib.errors import ConvergenceWarning, DataError, ModelError
from cxlib.weights import Raking, rake, trim_weights

REF = Path(__file__).parent / "reference" / "raking"
BOUNDS = (0.3, 2.5)  # as in rake.R


@pytest.fixture(scope="module")
def reference():
    sample = pd.read_csv(REF / "input.csv")
    margins = pd.read_csv(REF / "margins.csv")
    weights = pd.read_csv(REF / "weights.csv", dtype={"id": str}).set_index("id")
    diag = pd.read_csv(REF / "diagnostics.csv").pivot(index="diagnostic", columns="case",
                                                      values="value")
    return sample, margins, weights, diag


def _shares(margins: pd.DataFrame) -> dict[str, dict[str, float]]:
    return {v: (g.set_index("category")["target"] / g["target"].sum()).to_dict()
            for v, g in margins.groupby("variable", sort=False)}


def _cases(sample, margins):
    return {"counts": rake(sample, margins, weight="base_weight"),
            "shares": rake(sample, _shares(margins)),
            "trimmed": rake(sample, margins, weight="base_weight", trim=BOUNDS)}


# -- against R --------------------------------------------------------------------------------

@pytest.mark.parametrize("case", ["counts", "shares", "trimmed"])
def test_weights_match_r_survey(reference, case):
    sample, margins, ref, diag = reference
    result = _cases(sample, margins)[case]
    ours = pd.Series(result.weights.to_numpy(), index=sample["id"])
    np.testing.assert_allclose(ours, ref.loc[sample["id"], case], rtol=1e-8, atol=0)
    assert result.converged
    np.testing.assert_allclose(result.deff, diag.loc["deff", case], rtol=1e-8)
    np.testing.assert_allclose(result.n_eff, diag.loc["n_eff", case], rtol=1e-8)
    np.testing.assert_allclose(result.weights.min(), diag.loc["weight_min", case], rtol=1e-8)
    np.testing.assert_allclose(result.weights.max(), diag.loc["weight_max", case], rtol=1e-8)
    if case == "trimmed":  # same loop: same number of weights trimmed and of rounds
        assert result.n_trimmed == diag.loc["n_trimmed", case] > 0
        assert result.trim_rounds == diag.loc["trim_rounds", case] > 1


@pytest.mark.parametrize("case", ["counts", "shares", "trimmed"])
def test_margins_are_reached(reference, case):
    sample, margins, _, _ = reference
    result = _cases(sample, margins)[case]
    w = result.weights
    population = margins.groupby("variable").target.sum().iloc[0]
    scale = len(sample) / population if case == "shares" else 1.0  # shares: total = n
    for var, group in margins.groupby("variable"):
        achieved = w.groupby(sample[var]).sum()
        target = group.set_index("category")["target"] * scale
        np.testing.assert_allclose(achieved[target.index], target, rtol=1e-9)
    assert result.max_margin_error < 1e-9
    if case == "trimmed":
        rel = w / w.mean()
        assert rel.min() >= BOUNDS[0] * (1 - 1e-9) and rel.max() <= BOUNDS[1] * (1 + 1e-9)
        untrimmed = _cases(sample, margins)["counts"].weights
        assert (untrimmed / untrimmed.mean()).max() > BOUNDS[1] * 1.5  # trimming had work


# -- hand-computed cases ----------------------------------------------------------------------

def test_two_by_two_keeps_the_sample_odds_ratio():
    # cell counts A/x 2, A/y 1, B/x 1, B/y 4 (odds ratio 8). Raking keeps the odds ratio, so
    # the raked table is [[a, 30 - a], [40 - a, 30 + a]] with a(30 + a) = 8(30 - a)(40 - a):
    # 7a^2 - 590a + 9600 = 0, a = (590 - sqrt(79300)) / 14
    frame = pd.DataFrame({"a": ["A", "A", "A", "B", "B", "B", "B", "B"],
                          "b": ["x", "x", "y", "x", "y", "y", "y", "y"]})
    result = rake(frame, {"a": {"A": 30, "B": 70}, "b": {"x": 40, "y": 60}})
    a = (590 - np.sqrt(79300)) / 14
    cell = {("A", "x"): a / 2, ("A", "y"): 30 - a, ("B", "x"): 40 - a, ("B", "y"): (30 + a) / 4}
    expected = [cell[(a_, b_)] for a_, b_ in zip(frame.a, frame.b)]
    np.testing.assert_allclose(result.weights, expected, rtol=1e-9)
    # one respondent per cell (odds ratio 1): the independence table 30 x 40 / 100 ...
    square = pd.DataFrame({"a": ["A", "A", "B", "B"], "b": ["x", "y", "x", "y"]})
    np.testing.assert_allclose(
        rake(square, {"a": {"A": 30, "B": 70}, "b": {"x": 40, "y": 60}}).weights,
        [12, 18, 28, 42], rtol=1e-9)


def test_trim_weights_spreads_the_cut_equally_until_none_is_outside():
    np.testing.assert_allclose(trim_weights(np.array([1, 1, 1, 1, 6.0]), 0, 4),
                               [1.5, 1.5, 1.5, 1.5, 4])
    # 8.5 is cut to 4; the 4.5 spread pushes 3.5 over 4, so it is cut too: the three left
    # share 8 - 4 = 4 more, 4/3 each
    np.testing.assert_allclose(trim_weights(np.array([1, 1, 2, 3.5, 8.5]), 0, 4),
                               [1 + 4 / 3, 1 + 4 / 3, 2 + 4 / 3, 4, 4], rtol=1e-12)
    # a lower bound raises and takes the deficit from the others
    np.testing.assert_allclose(trim_weights(np.array([0.2, 1.9, 1.9]), 0.5, 10),
                               [0.5, 1.75, 1.75])


def test_design_effect_is_kish():
    frame = pd.DataFrame({"g": ["a", "b", "b", "b"]})
    result = rake(frame, {"g": {"a": 0.5, "b": 0.5}})
    np.testing.assert_allclose(result.weights, [2, 2 / 3, 2 / 3, 2 / 3])
    w = np.array([2, 2 / 3, 2 / 3, 2 / 3])
    assert result.deff == pytest.approx(1 + (w.std() / w.mean()) ** 2)  # 1 + CV^2 = 4/3
    assert result.deff == pytest.approx(4 / 3) and result.n_eff == pytest.approx(3)


# -- the sample: responses weighted to the customer table -------------------------------------

def test_sample_responses_raked_to_customer_region_and_plan(sample_dir):
    tables = cxlib.load_sample(sample_dir)
    customers = tables["customers"]
    answers = tables["responses"].merge(customers[["customer_id", "region", "plan"]],
                                        on="customer_id", how="left", validate="many_to_one")
    margins = {v: customers[v].value_counts().to_dict() for v in ("region", "plan")}
    result = cxlib.rake(answers, margins, weight="weight", trim=(0.2, 5))
    assert result.converged and result.n_trimmed == 0
    assert result.weights.sum() == pytest.approx(len(customers))
    for v in ("region", "plan"):
        shares = result.weights.groupby(answers[v]).sum() / len(customers)
        pd.testing.assert_series_equal(shares.sort_index(), customers[v].value_counts(
            normalize=True).sort_index(), check_names=False, rtol=1e-9)
    assert 1 < result.deff < 1.05  # the sample is nearly balanced on region and plan
    assert result.n_eff == pytest.approx(len(answers) / result.deff)


# -- planted errors ---------------------------------------------------------------------------

@pytest.fixture
def small():
    return pd.DataFrame({"region": ["N", "S", "S", "E", "N", "E"],
                         "plan": ["a", "b", "a", "b", "b", "a"],
                         "w": [1.0, 2.0, 1.0, 1.0, 1.0, 1.5]})


GOOD = {"region": {"N": 0.3, "S": 0.3, "E": 0.4}, "plan": {"a": 0.5, "b": 0.5}}


def _with(var, cells):
    return {**GOOD, var: cells}


@pytest.mark.parametrize("margins, frame_edit, pattern", [
    (_with("region", {"N": 0.2, "S": 0.3, "E": 0.3, "W": 0.2}), None,
     r"margin 'region' has no respondents in 'W' \(target 0.2\)"),
    (_with("region", {"N": 0.5, "S": 0.5}), None,
     r"column 'region' has categories not in the margins: 'E' \(rows 4, 6\)"),
    ({"region": {"N": 300, "S": 300, "E": 400}, "plan": {"a": 500, "b": 400}}, None,
     r"count margins disagree in total \('region' sums to 1,000, 'plan' sums to 900\)"),
    ({**GOOD, "age": {"young": 1.0}}, None, r"rake: column\(s\) 'age' not found"),
    (GOOD, lambda f: f.assign(plan=f.plan.where(f.index != 2)),
     r"column 'plan' has 1 missing values \(rows 3\)"),
    ({"region": {"N": 300, "S": 300, "E": 400}, "plan": {"a": 0.5, "b": 0.5}}, None,
     r"margins mix shares \('plan'\) and counts \('region'\)"),
    (_with("region", {"N": 0.6, "S": 0.4, "E": 0}), None,
     r"margin 'region' has target 0 for 'E' but respondents have it \(rows 4, 6\)"),
    (_with("region", {"N": 0.3, "S": -0.3, "E": 1.0}), None,
     r"margins for 'region' need numbers >= 0 \('S': -0.3\)"),
    (_with("plan", {1: 0.5, 2: 0.5}), lambda f: f.assign(plan=f.plan.map({"a": "1", "b": "2"})),
     r"categories not in the margins: '1', '2' \(the margins spell them differently"),
    (_with("plan", {"1": 0.5, "2": 0.5}), lambda f: f.assign(plan=f.plan.map({"a": 1, "b": 2})),
     r"categories not in the margins: 1, 2 \(the margins spell them differently"),
])
def test_bad_margins_and_data_are_named(small, margins, frame_edit, pattern):
    frame = frame_edit(small) if frame_edit else small
    with pytest.raises(DataError, match=pattern):
        rake(frame, margins)


def test_bad_base_weights_and_options_are_named(small):
    with pytest.raises(DataError, match=r"base weight column 'w' has 2 values .* \(rows 2, 5\)"):
        rake(small.assign(w=[1, 0, 1, 1, -1, 1]), GOOD, weight="w")
    with pytest.raises(DataError, match=r"column\(s\) 'wt' not found"):
        rake(small, GOOD, weight="wt")
    with pytest.raises(ModelError, match=r"0 <= low < 1 < high"):
        rake(small, GOOD, trim=(0.5, 0.9))
    with pytest.raises(DataError, match="non-empty"):
        rake(small, {})


def test_margins_as_long_frame_or_series_give_the_same_weights(small):
    long = pd.DataFrame([(v, c, t) for v, cells in GOOD.items() for c, t in cells.items()],
                        columns=["variable", "category", "target"])
    as_series = {v: pd.Series(cells) for v, cells in GOOD.items()}
    a, b, c = rake(small, GOOD), rake(small, long), rake(small, as_series)
    pd.testing.assert_series_equal(a.weights, b.weights)
    pd.testing.assert_series_equal(a.weights, c.weights)


def test_contradictory_margins_warn_with_diagnostics():
    # a and b always agree in the sample, so their margins cannot both hold
    frame = pd.DataFrame({"a": list("uuvv"), "b": list("uuvv")})
    with pytest.warns(ConvergenceWarning, match=r"did not converge after 50 sweeps: largest "
                                                r"margin error .* worst in 'a'"):
        result = rake(frame, {"a": {"u": 0.5, "v": 0.5}, "b": {"u": 0.3, "v": 0.7}}, max_iter=50)
    assert not result.converged and result.max_margin_error > 0.1
    assert "NOT converged" in result.headline()
    assert not result.summary().loc["converged", "value"]


def test_bounds_that_contradict_the_margins_warn_and_keep_the_margins():
    # one respondent of ten must carry half the total: 5 x the mean, above a cap of 2
    frame = pd.DataFrame({"g": ["rare"] + ["common"] * 9})
    with pytest.warns(ConvergenceWarning, match=r"cannot hold with weights within 0.5-2 x the "
                                                r"mean: after \d+ trim rounds 1 weights stay"):
        result = rake(frame, {"g": {"rare": 0.5, "common": 0.5}}, trim=(0.5, 2))
    assert result.weights.iloc[0] == pytest.approx(5) and result.max_margin_error < 1e-9


# -- determinism, alignment, contract ---------------------------------------------------------

def test_deterministic_aligned_and_the_frame_untouched(reference):
    sample, margins, _, _ = reference
    before = sample.copy()
    a = rake(sample, margins, weight="base_weight", trim=BOUNDS)
    b = rake(sample, margins, weight="base_weight", trim=BOUNDS)
    pd.testing.assert_series_equal(a.weights, b.weights, check_exact=True)
    pd.testing.assert_frame_equal(sample, before)
    shuffled = sample.sample(frac=1, random_state=1).set_index("id")
    c = rake(shuffled, margins, weight="base_weight", trim=BOUNDS)
    assert c.weights.index.equals(shuffled.index) and c.weights.name == "weight"
    np.testing.assert_allclose(c.weights[sample.id], a.weights, rtol=1e-9)


def test_result_contract(reference):
    sample, margins, _, _ = reference
    result = rake(sample, margins, weight="base_weight", trim=BOUNDS)
    assert isinstance(result, Raking)
    summary = result.summary()
    assert {"converged", "iterations", "max_margin_error", "deff", "n_eff", "weight_min",
            "weight_max", "weight_ratio", "n_trimmed"} <= set(summary.index)
    assert summary.loc["n_eff", "value"] == pytest.approx(result.n_eff)
    headline = result.headline()
    assert f"effective n = {result.n_eff:,.0f} of n = 400" in headline
    assert f"design effect {result.deff:.2f}" in headline
    assert "\n" not in repr(result) and repr(result).startswith("<Raking: Raked to")
    fig = result.plot()
    assert isinstance(fig, go.Figure) and len(fig.data) == 3
    assert list(fig.data[1].y) == pytest.approx(list(100 * result.margins.target_share))
    assert isinstance(result.plot_weights(), go.Figure)
    assert list(result.margins.columns) == ["variable", "category", "target", "target_share",
                                            "sample_n", "sample_share", "weighted",
                                            "weighted_share", "error"]


def test_category_labels_are_not_markup_in_the_plot():
    frame = pd.DataFrame({"g": ['<a href="http://x">x</a>', "b"]})
    fig = rake(frame, {"g": {'<a href="http://x">x</a>': 0.5, "b": 0.5}}).plot()
    assert all("<a" not in str(x) for trace in fig.data for x in trace.x)


def test_public_api():
    assert cxlib.rake is rake and cxlib.weights.Raking is Raking
