"""Journey view: hand-computed tables, a planted contact effect, and the sample's journey."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cxlib
from cxlib import journey
from cxlib.dataset import load_description, open_dataset, parse_description
from cxlib.errors import DataError
from cxlib.vocab import JOURNEY_PHASES
from cxlib.vocab import in_journey_order as vocab_order

T0 = pd.Timestamp("2024-01-01")


def _tp(rows):
    return pd.DataFrame(rows, columns=["customer_id", "timestamp", "journey_phase", "touchpoint",
                                       "event_type", "resolved_first_contact"])


def test_post_purchase_share_hand_computed():
    d = pd.Timedelta(days=1)
    tp = _tp([
        ("a", T0, "research", "tv_ad", "exposure", None),           # excluded (exposure)
        ("a", T0 + d, "selection", "web_comparison", "visit", None),  # before purchase
        ("a", T0 + 2 * d, "purchase", "online_checkout", "purchase", None),
        ("a", T0 + 3 * d, "use_support", "support_contact", "contact", True),
        ("a", T0 + 4 * d, "use_support", "app", "visit", None),
        ("b", T0, "purchase", "store_purchase", "purchase", None),
        ("b", T0 + d, "renewal", "renewal_offer", "communication", None),
        ("c", T0, "research", "website_visit", "visit", None),          # no purchase: left out
    ])
    out = journey.post_purchase_share(tp).iloc[0]
    assert (out.interactions, out.after_purchase, out.customers) == (4, 3, 2)
    assert out.share == pytest.approx(0.75)
    assert out.ci_low <= 0.75 <= out.ci_high
    by = journey.post_purchase_share(tp, by="journey_phase").set_index("journey_phase")
    assert by.loc["selection", "share"] == 0 and by.loc["use_support", "share"] == 1


def test_pain_points_hand_computed_ranking():
    responses = pd.DataFrame({
        "touchpoint": ["x"] * 4 + ["y"] * 4 + ["z"] * 2,
        "organisation": ["o1"] * 4 + ["o2"] * 4 + ["o2"] * 2,
        "nps": [0, 0, 10, 10, 0, 9, 9, 9, 0, 0],
    })
    tp = pd.DataFrame({"touchpoint": ["x"] * 10 + ["y"] * 30 + ["z"] * 10})
    out = journey.pain_points(responses, tp, min_n=1).set_index("touchpoint")
    # low shares .5, .25, 1; volume shares .2, .6, .2 -> raw .10, .15, .20 (sum .45)
    assert out.loc[["x", "y", "z"], "pain"].tolist() == pytest.approx([100 * .10 / .45, 100 * .15 / .45,
                                                                       100 * .20 / .45])
    assert out["rank"].to_dict() == {"z": 1, "y": 2, "x": 3}
    # importance 3:1 for o1:o2 (mean-rescaled: 1.5, .5 -> ratios kept) moves x to the top
    weighted = journey.pain_points(responses, tp, importance={"o1": 3, "o2": 1}, min_n=1)
    assert weighted["touchpoint"].iat[0] == "x"
    with pytest.raises(DataError, match=r"no importance given for organisation \['o2'\]"):
        journey.pain_points(responses, tp, importance={"o1": 1.0})


def test_contact_effects_recover_a_planted_drop():
    # 3,000 customers; 30% had an unresolved first contact 10 days before answering, 30% a
    # resolved one, the rest none. Planted: unresolved answers are drawn with detractor share
    # .5 vs .2 otherwise (promoters .3 both): true difference -30 NPS points.
    rng = np.random.default_rng(4)
    n = 3000
    ids = [f"c{i}" for i in range(n)]
    kind = rng.choice(["none", "resolved", "unresolved"], n, p=[0.4, 0.3, 0.3])
    det = np.where(kind == "unresolved", 0.5, 0.2)
    u = rng.random(n)
    scores = np.where(u < det, 3, np.where(u < det + 0.3, 10, 8))
    responses = pd.DataFrame({"response_id": [f"r{i}" for i in range(n)], "customer_id": ids,
                              "response_date": T0 + pd.Timedelta(days=30), "nps": scores})
    contacted = kind != "none"
    tp = _tp([(c, T0 + pd.Timedelta(days=20), "use_support", "support_contact", "contact", k == "resolved")
              for c, k in zip(np.array(ids)[contacted], kind[contacted])])
    # repeat contacts for half the unresolved ones, and one contact long before the window
    unresolved = np.array(ids)[kind == "unresolved"]
    tp = pd.concat([tp, _tp([(c, T0 + pd.Timedelta(days=25), "use_support", "support_contact",
                              "repeat_contact", None) for c in unresolved[::2]]),
                    _tp([("c0", T0 - pd.Timedelta(days=200), "use_support", "support_contact",
                          "contact", False)])], ignore_index=True)
    effects = journey.contact_effects(responses, tp, window_days=90)
    counts = effects.by_resolution.set_index("contact_history")["n"]
    assert counts.to_dict() == {k: int((kind == v).sum()) for k, v in
                                (("no contact", "none"), ("resolved", "resolved"), ("unresolved", "unresolved"))}
    row = effects.differences.set_index("comparison").loc["unresolved vs resolved"]
    assert row.ci_low <= -30 <= row.ci_high and row.p_value < 0.001
    assert effects.by_repeats.set_index("repeat_contacts").loc["1", "n"] == len(unresolved[::2])
    assert "unresolved first contact" in effects.headline()
    assert len(effects.plot().data) == 1


def test_journey_metrics_order_and_agreement_with_nps(company):
    out = journey.journey_metrics(company.responses)
    phases = [p for p in JOURNEY_PHASES if p in set(out["journey_phase"])]
    assert list(dict.fromkeys(out["journey_phase"])) == phases
    one = out[(out.touchpoint == "support_contact")].iloc[0]
    direct = cxlib.nps(company.responses[company.responses.touchpoint == "support_contact"]).iloc[0]
    assert (one.nps, one.nps_low, one.n) == pytest.approx((direct.nps, direct.ci_low, direct.n))
    assert {"csat_top_box", "csat_low", "ces_mean"} <= set(out.columns)
    top2 = company.responses.query("touchpoint == 'support_contact'")["csat"].dropna()
    assert one.csat_top_box == pytest.approx((top2 >= 4).mean())  # 1-5, top-2: 4-5


def test_journey_metrics_read_csat_on_the_described_scale():
    # the survey example: CSAT on 1-10 with top-2-box 9-10, CES on 1-5 (high = hard, flipped)
    folder = Path(cxlib.paths.SAMPLE_DIR).parent / "examples" / "survey_only"
    dataset = load_description(folder)
    r = open_dataset(folder)["responses"]
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))["realised"]
    out = journey.journey_metrics(r, by="organisation", min_n=5, dataset=dataset)
    csat = r["csat"].astype(float)
    for row in out.itertuples():
        mine = csat[r["organisation"] == row.organisation].dropna()
        assert row.csat_top_box == pytest.approx((mine >= 9).mean())
    overall = journey.journey_metrics(r.assign(everyone="all"), by="everyone", dataset=dataset)
    assert overall["csat_top_box"].iat[0] == pytest.approx(truth["csat_top2_box_share"], abs=1e-6)
    assert overall["ces_mean"].iat[0] == pytest.approx(truth["ces_loaded_mean"], abs=1e-6)
    with pytest.raises(cxlib.DataError, match="outside 1-5"):  # read as the sample's 1-5
        journey.journey_metrics(r, by="organisation")


def test_sample_journey_most_interactions_after_purchase_and_unresolved_contacts_hurt(company):
    share = journey.post_purchase_share(company.touchpoints).iloc[0]
    assert share.share > 0.6 and share.ci_high - share.ci_low < 0.02
    rel = company.responses[company.responses["survey_type"] == "relationship"]
    effects = journey.contact_effects(rel, company.touchpoints)
    row = effects.differences.set_index("comparison").loc["unresolved vs resolved"]
    assert row.ci_high < 0  # unresolved contacts go with lower relationship NPS


def test_response_rate_hand_computed():
    responses = pd.DataFrame({"touchpoint": ["a", "a", "b", "rel"],
                              "survey_type": ["transactional"] * 3 + ["relationship"]})
    tp = pd.DataFrame({"touchpoint": ["a"] * 10 + ["b"] * 4 + ["c"] * 3})
    out = journey.response_rate(responses, tp, min_n=5).set_index("touchpoint")
    assert out.loc["a", "rate"] == pytest.approx(0.2) and out.loc["b", "rate"] == pytest.approx(0.25)
    assert "rel" not in out.index and "c" not in out.index and bool(out.loc["b", "small_sample"])


def test_touchpoint_and_phase_labels_are_for_display_only(company):
    dataset = parse_description({"labels": {"touchpoints": {"support_contact": "サポート窓口"},
                                            "phases": {"use_support": "利用・サポート"}}})
    rates = journey.response_rate(company.responses, company.touchpoints)
    shown = dataset.relabel(rates)
    assert "サポート窓口" in set(shown.touchpoint) and "support_contact" not in set(shown.touchpoint)
    assert shown.drop(columns="touchpoint").equals(rates.drop(columns="touchpoint"))
    assert "support_contact" in set(rates.touchpoint)  # the result itself keeps its values
    by_phase = vocab_order(cxlib.nps(company.responses, by="journey_phase"))
    labelled = dataset.relabel(by_phase)
    assert list(labelled.journey_phase) == [dataset.label("phases", p) for p in by_phase.journey_phase]
    assert "利用・サポート" in list(labelled.journey_phase)
    # relabelled answers would no longer meet their events: the join keys stay as they are
    moved = dataset.relabel(company.responses)
    assert "support_contact" not in set(journey.response_rate(moved, company.touchpoints).touchpoint)
