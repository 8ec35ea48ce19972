"""Raking declared in cx.yml (``weights:``): the opened answers carry raked weights that match
R's survey::rake (the references of tests/reference/raking, computed by rake.R), the profile
reports the design effect, and a bad declaration is a DataError naming the file and key."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import cxlib
from cxlib import metrics
from cxlib.dataset import open_dataset
from cxlib.errors import DataError

REF = Path(__file__).parent / "reference" / "raking"
POPULATION = 15_000  # rake.R's population counts sum to this in every margin


@pytest.fixture(scope="module")
def reference():
    weights = pd.read_csv(REF / "weights.csv", dtype={"id": str}).set_index("id")
    diag = pd.read_csv(REF / "diagnostics.csv").pivot(index="diagnostic", columns="case",
                                                      values="value")
    return weights, diag


def _folder(tmp_path: Path, weights: dict, columns: dict | None = None) -> Path:
    """rake.R's sample as a responses file with an NPS answer, and a cx.yml declaring
    ``weights``; the margins as shares in ``margins.csv`` beside it."""
    folder = tmp_path / "data"
    folder.mkdir()
    sample = pd.read_csv(REF / "input.csv")
    sample["nps"] = (np.arange(len(sample)) * 7) % 11  # every score, deterministically
    sample.to_csv(folder / "answers.csv", index=False)
    margins = pd.read_csv(REF / "margins.csv")
    margins["target"] = margins["target"] / POPULATION
    margins.to_csv(folder / "margins.csv", index=False, float_format="%.17g")
    description = {"tables": {"responses": {"path": "answers.csv", "columns": {
        "id": "response_id", **(columns or {})}}}, "weights": weights}
    (folder / "cx.yml").write_text(yaml.safe_dump(description, allow_unicode=True),
                                   encoding="utf-8")
    return folder


def _inline_shares() -> dict[str, dict[str, float]]:
    margins = pd.read_csv(REF / "margins.csv")
    return {v: (g.set_index("category")["target"] / POPULATION).to_dict()
            for v, g in margins.groupby("variable", sort=False)}


def test_raked_answers_match_r_survey_shares(tmp_path, reference):
    ref, diag = reference
    r = open_dataset(_folder(tmp_path, {"rake": "margins.csv"}))["responses"]
    ours = r.set_index("response_id")["weight"]
    np.testing.assert_allclose(ours, ref.loc[ours.index, "shares"], rtol=1e-8, atol=0)
    assert r.attrs["weights"]["headline"].startswith("Raked to 3 margins")
    for var, shares in _inline_shares().items():  # the margins are reached
        achieved = r.groupby(var)["weight"].sum() / r["weight"].sum()
        np.testing.assert_allclose(achieved[list(shares)], list(shares.values()), atol=1e-9)


def test_raked_from_design_weights_with_trimming_match_r(tmp_path, reference):
    # design weights raked to shares end with the design weights' total: R's count-raked
    # weights scaled by that total over the population's
    ref, diag = reference
    folder = _folder(tmp_path, {"rake": _inline_shares(), "trim": [0.3, 2.5]},
                     columns={"base_weight": "weight"})
    r = open_dataset(folder)["responses"]
    total = pd.read_csv(REF / "input.csv")["base_weight"].sum()
    ours = r.set_index("response_id")["weight"]
    np.testing.assert_allclose(ours, ref.loc[ours.index, "trimmed"] * total / POPULATION,
                               rtol=1e-8, atol=0)
    data = cxlib.open_data(folder)
    weights = data.profile.weights.set_index("diagnostic")["value"]
    assert weights["deff"] == pytest.approx(diag.loc["deff", "trimmed"], rel=1e-8)
    assert weights["n_eff"] == pytest.approx(diag.loc["n_eff", "trimmed"], rel=1e-8)
    assert weights["n_trimmed"] == diag.loc["n_trimmed", "trimmed"]
    assert "design effect" in data.profile.headline() and "Survey weights" in data.profile.to_html()
    # the estimates that take weights use them: NPS by hand with the raked weights
    w, score = data["responses"]["weight"], data["responses"]["nps"]
    by_hand = 100 * (w[score >= 9].sum() - w[score <= 6].sum()) / w.sum()
    nps = metrics.nps(data["responses"], weight="weight").iloc[0]
    assert nps["nps"] == pytest.approx(by_hand, rel=1e-12)
    assert nps["n_eff"] == pytest.approx(diag.loc["n_eff", "trimmed"], rel=1e-8)
    assert nps["nps"] != pytest.approx(metrics.nps(data["responses"]).iloc[0]["nps"], abs=0.1)


def test_a_margin_from_the_customer_table(tmp_path, reference):
    # region lives in the customers table: each answer takes its customer's
    ref, _ = reference
    folder = _folder(tmp_path, {"rake": "margins.csv"})
    answers = pd.read_csv(folder / "answers.csv")
    answers["customer_id"] = "C" + answers["id"]
    answers[["customer_id", "region"]].rename(columns={}).to_csv(folder / "crm.csv", index=False)
    answers.drop(columns="region").to_csv(folder / "answers.csv", index=False)
    description = yaml.safe_load((folder / "cx.yml").read_text(encoding="utf-8"))
    description["tables"]["customers"] = {"path": "crm.csv"}
    (folder / "cx.yml").write_text(yaml.safe_dump(description), encoding="utf-8")
    r = open_dataset(folder)["responses"]
    assert "region" not in r.columns
    ours = r.set_index("response_id")["weight"]
    np.testing.assert_allclose(ours, ref.loc[ours.index, "shares"], rtol=1e-8, atol=0)


@pytest.mark.parametrize("weights, words", [
    ({"rake": {"region": {"North": 0.5, "East": 0.3}}},
     "weights.rake: region: shares sum to 0.8; population shares must sum to 1"),
    ({"rake": "margins.csv", "trimm": [0.3, 3]}, "weights: unknown key 'trimm'; did you mean 'trim'?"),
    ({"rake": "margins.csv", "trim": [1.5, 3]}, "weights.trim: trim bounds"),
    ({"rake": "margin.csv"}, "cx.yml: weights.rake: margins file 'margin.csv' not found"),
    ({"rake": {**_inline_shares(), "regoin": {"North": 1.0}}},
     "cx.yml: weights.rake.regoin: column 'regoin' is in neither the responses nor the "
     "customers they name; did you mean 'region'?"),
    ({"rake": {"region": {"North": 0.2, "East": 0.3, "South": 0.3, "West": 0.1,
                          "Okinawa": 0.1}}},
     "cx.yml: weights.rake.region: category 'Okinawa' of the margins not in the data"),
    ({"rake": {"region": {"North": 0.25, "East": 0.35, "South": 0.4}}},
     "cx.yml: weights.rake: column 'region' has categories not in the margins: 'West'"),
])
def test_a_bad_declaration_names_the_file_and_key(tmp_path, weights, words):
    folder = _folder(tmp_path, weights)
    with pytest.raises(DataError) as err:
        open_dataset(folder)
    assert words in str(err.value)


def test_a_margins_file_not_summing_to_one_names_the_file(tmp_path):
    folder = _folder(tmp_path, {"rake": "margins.csv"})
    margins = pd.read_csv(folder / "margins.csv")
    margins.loc[0, "target"] += 0.05
    margins.to_csv(folder / "margins.csv", index=False)
    with pytest.raises(DataError, match=r"margins.csv \(weights.rake\): region: shares sum to 1.05"):
        open_dataset(folder)


def test_without_weights_nothing_is_raked(tmp_path):
    folder = _folder(tmp_path, {"rake": "margins.csv"})
    description = yaml.safe_load((folder / "cx.yml").read_text(encoding="utf-8"))
    del description["weights"]
    (folder / "cx.yml").write_text(yaml.safe_dump(description), encoding="utf-8")
    r = open_dataset(folder)["responses"]
    assert (r["weight"] == 1).all() and "weights" not in r.attrs
    assert cxlib.profile(folder).weighting == ""
    shutil.rmtree(folder)
