"""The simulator is deterministic and every planted mechanism is visible in its tables.

Each check recomputes the effect from the public tables (not from the simulator's
own summaries) and compares it with the planted parameters in ``truth``.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import cxlib
from cxlib import synth
from cxlib.errors import ParameterError
from cxlib.vocab import EMOTIONAL_ITEMS, RATIONAL_ITEMS


def test_same_seed_same_tables_other_seed_other_tables():
    a = synth.make_company(n_customers=800, seed=11)
    b = synth.make_company(n_customers=800, seed=11)
    c = synth.make_company(n_customers=800, seed=12)
    for name in synth.TABLES:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    assert a.truth == b.truth
    assert not a.responses["nps"].equals(c.responses["nps"])


def test_write_sample_round_trips_and_truth_is_json(tmp_path):
    out = synth.write_sample(tmp_path / "s", n_customers=500, seed=3)
    truth = cxlib.load_truth(out)
    assert truth["seed"] == 3 and truth["params"]["churn_emotional"] < 0
    tables = cxlib.load_sample(out)
    direct = synth.make_company(n_customers=500, seed=3)
    pd.testing.assert_frame_equal(tables["responses"], direct.responses, check_dtype=False)
    assert not list(out.glob(".*tmp"))


def test_default_size_and_span(company):
    c = company.customers
    assert len(c) == 20_000 and c["customer_id"].is_unique
    assert c["signup_date"].min() >= pd.Timestamp("2023-01-01")
    assert c["signup_date"].max() < pd.Timestamp("2026-01-01")
    assert company.touchpoints["timestamp"].max() < pd.Timestamp("2026-01-01")


def _first_year_churn(customers: pd.DataFrame) -> pd.Series:
    end = pd.Timestamp("2026-01-01")
    full = customers[customers["signup_date"] <= end - pd.Timedelta(days=365)]
    gone = full["churned"] & (full["churn_date"] - full["signup_date"] <= pd.Timedelta(days=365))
    return gone.groupby(full["acquisition_channel"]).mean()


def test_hyped_channel_loses_most_customers_in_the_first_year(company):
    rate = _first_year_churn(company.customers)
    hyped = company.truth["params"]["hyped_channel"]
    assert rate[hyped] > 0.60
    assert rate.drop(hyped).max() < 0.30


def test_expectation_gap_is_reported_by_the_hyped_channel(company):
    r = company.responses
    first = r[(r["survey_type"] == "relationship") & (r["journey_phase"] == "initial_use")]
    channel = company.customers.set_index("customer_id").loc[first["customer_id"],
                                                            "acquisition_channel"]
    met = first["expectation_met"].astype(float).groupby(channel.to_numpy()).mean()
    assert met["tv_campaign"] < met.drop("tv_campaign").min() - 0.8


def _constructs(company: synth.Company) -> pd.DataFrame:
    """Construct means from each customer's first relationship survey, with churn."""
    r = company.responses
    rel = r[r["survey_type"] == "relationship"].sort_values("response_date", kind="stable")
    first = rel.groupby("customer_id").first()
    out = pd.DataFrame({
        "emotional": first[list(EMOTIONAL_ITEMS)].astype(float).mean(axis=1),
        "rational": first[list(RATIONAL_ITEMS)].astype(float).mean(axis=1),
    })
    return out.join(company.customers.set_index("customer_id")[["churned", "acquisition_channel",
                                                                "plan", "signup_date"]])


def test_constructs_are_correlated_but_distinct(company):
    k = _constructs(company)
    assert 0.15 < k["emotional"].corr(k["rational"]) < 0.6


def test_rationally_only_satisfied_churn_like_dissatisfied_emotional_stay(company):
    k = _constructs(company)
    seg = np.select(
        [k["emotional"] >= 4, (k["rational"] >= 4) & (k["emotional"] < 3.5),
         (k["rational"] < 3.5) & (k["emotional"] < 3.5)],
        ["emotional", "rational_only", "dissatisfied"], "other")
    rate = k["churned"].groupby(seg).mean()
    assert rate["rational_only"] >= rate["dissatisfied"] - 0.03
    assert rate["emotional"] < 0.75 * rate["rational_only"]


def test_emotional_not_rational_satisfaction_predicts_retention(company):
    k = _constructs(company).assign(churned=lambda d: d["churned"].astype(int),
                                    cohort=lambda d: d["signup_date"].dt.year.astype(str))
    fit = smf.logit("churned ~ emotional + rational + acquisition_channel + plan + cohort",
                    data=k).fit(disp=0)
    assert fit.params["emotional"] < 0 and fit.pvalues["emotional"] < 1e-6
    assert fit.params["rational"] > -0.05  # no protective effect of rational satisfaction


def test_unresolved_first_contacts_raise_churn(company):
    """Churn within 90 days of a first contact, by whether it was resolved on that contact."""
    tp = company.touchpoints
    first = tp[tp["event_type"] == "contact"]
    churn_date = company.customers.set_index("customer_id")["churn_date"]
    left = churn_date.loc[first["customer_id"]].to_numpy()
    within = (left > first["timestamp"].to_numpy()) & (
        left <= (first["timestamp"] + pd.Timedelta(days=90)).to_numpy())
    rate = pd.Series(within).groupby(first["resolved_first_contact"].to_numpy()).mean()
    assert rate[False] > 1.4 * rate[True]
    repeats = tp[tp["event_type"] == "repeat_contact"]
    assert repeats["resolved_first_contact"].isna().all() and len(repeats) > 1000
    assert first["resolved_first_contact"].notna().all()


def test_about_two_thirds_of_interactions_after_purchase(company):
    phase = company.touchpoints["journey_phase"]
    share = (~phase.isin(["research", "selection", "purchase"])).mean()
    assert 0.6 < share < 0.75
    assert set(phase) == set(cxlib.vocab.JOURNEY_PHASES)


def test_non_response_is_not_random(company):
    r, c = company.responses, company.customers
    answered = c["customer_id"].isin(r.loc[r["survey_type"] == "relationship", "customer_id"])
    assert c.loc[answered, "churned"].mean() < c.loc[~answered, "churned"].mean() - 0.05


def test_contact_centre_kpi_moves_with_retention_and_revenue(company):
    """Touchpoint KPI -> retention and revenue, in the planted direction."""
    r = company.responses
    cc = r[(r["organisation"] == "contact_centre") & (r["survey_type"] == "transactional")]
    csat = cc["csat"].astype(float).groupby(cc["customer_id"]).mean().rename("cc_csat")
    c = company.customers.set_index("customer_id").join(csat, how="inner")
    price = pd.Series(company.truth["params"]["plan_price_jpy"])
    c["log_spend"] = np.log(c["monthly_revenue"] / c["plan"].map(price))
    fit = smf.ols("log_spend ~ cc_csat + C(segment)", data=c).fit()
    assert fit.params["cc_csat"] > 0 and fit.pvalues["cc_csat"] < 1e-3
    assert c.loc[c["cc_csat"] >= 4, "churned"].mean() < c.loc[c["cc_csat"] <= 2, "churned"].mean()


def _did(frame: pd.DataFrame, y: str, when: str, monitor: pd.Series, start: pd.Timestamp):
    d = pd.DataFrame({"y": frame[y].astype(float).to_numpy(),
                      "post": (frame[when] >= start).astype(int).to_numpy(),
                      "treated": monitor.to_numpy().astype(int)})
    fit = smf.ols("y ~ post * treated", data=d).fit(cov_type="HC1")
    return fit.params["post:treated"], fit.bse["post:treated"]


def test_pilot_effect_is_recovered_by_difference_in_differences(company):
    t = company.truth["pilot"]
    start = pd.Timestamp(t["start"])
    monitor = company.customers.set_index("customer_id")["monitor_group"]
    r = company.responses
    cc = r[(r["organisation"] == "contact_centre") & (r["survey_type"] == "transactional")]
    est, se = _did(cc, "csat", "response_date", monitor.loc[cc["customer_id"]], start)
    truth = t["effects_on_answers"]["csat_contact_centre"]
    assert truth > 0.2 and abs(est - truth) < 3 * se
    tp = company.touchpoints
    first = tp[tp["event_type"] == "contact"]
    est, se = _did(first, "resolved_first_contact", "timestamp",
                   monitor.loc[first["customer_id"]], start)
    truth = t["effect_on_first_contact_resolution"]
    assert truth > 0.03 and abs(est - truth) < 3 * se


def test_planted_free_text_is_in_the_verbatims(company):
    r = company.responses.set_index("response_id")
    planted = company.truth["planted_text"]
    assert {"script", "onerror", "formula", "pii"} <= set(planted)
    for item in planted.values():
        assert r.loc[item["response_id"], "verbatim"] == item["text"]
    assert r["verbatim"].str.contains("<script>", regex=False).sum() == 1


def test_monthly_tables_add_up(company):
    f = company.financials
    assert len(f) == 36 and f["month"].is_monotonic_increasing
    assert f["churned_customers"].sum() == company.customers["churned"].sum()
    assert f["new_customers"].sum() == len(company.customers)
    assert f["revenue"].sum() == pytest.approx(company.customers["revenue"].sum(), rel=1e-3)
    fcr = company.kpis.query("kpi == 'first_contact_resolution'")
    assert fcr["value"].between(0.5, 0.85).all() and len(fcr) == 36


def test_truth_is_plain_json(company):
    text = json.dumps(company.truth)
    assert "churn_emotional" in text and "cxi_weights" in text


def test_too_small_a_company_is_refused():
    with pytest.raises(ParameterError, match="at least 100"):
        synth.make_company(n_customers=10)


def test_latent_truth_matches_the_tables_and_shifts_are_common_random_numbers(company):
    lat = company.latent
    assert list(lat["customer_id"]) == list(company.customers["customer_id"])
    assert abs(lat["cx_index"].std() - 1) < 0.03  # unit variance by construction
    from dataclasses import replace
    base = synth.make_company(n_customers=3_000, seed=5)
    shifted = synth.make_company(n_customers=3_000, seed=5, params=replace(
        synth.Params(), quality_shift={"contact_centre": 1.0}))
    diff = shifted.latent["quality_contact_centre"] - base.latent["quality_contact_centre"]
    assert np.allclose(diff, 1.0)
    gamma = base.truth["params"]["cxi_weights"]["contact_centre"]
    assert np.allclose(shifted.latent["cx_index"] - base.latent["cx_index"], gamma)
    assert shifted.customers["churned"].mean() < base.customers["churned"].mean()
    with pytest.raises(ParameterError, match="unknown organisation"):
        synth.make_company(n_customers=200, params=replace(synth.Params(),
                                                           quality_shift={"marketing": 1.0}))


def test_app_sessions_add_event_volume_only_when_asked():
    from dataclasses import replace
    base = synth.make_company(n_customers=600, seed=9)
    dense = synth.make_company(n_customers=600, seed=9,
                               params=replace(synth.Params(), app_sessions_per_month=6.0))
    assert "app_session" not in set(base.touchpoints["touchpoint"])
    sessions = dense.touchpoints[dense.touchpoints["touchpoint"] == "app_session"]
    active_months = dense.financials["active_customers"].sum()
    assert sessions.shape[0] / active_months == pytest.approx(6.0, rel=0.05)
    assert set(sessions["journey_phase"]) == {"use_support"}
    cxlib.validate_company(dense.tables)


def test_comments_come_from_their_own_stream(monkeypatch):
    # writing comments differently (one fixed text, drawing more from the comments' stream)
    # changes no other column
    from cxlib.synth import _surveys

    a = synth.make_company(n_customers=800, seed=11)

    def fixed(nps, churned, month, share, rng, topics=None):
        rng.random(1000)
        texts, planted, truth = real(nps, churned, month, share, rng)
        return np.full(len(nps), "same", dtype=object), planted, truth

    real = _surveys.company_comments
    monkeypatch.setattr(_surveys, "company_comments", fixed)
    b = synth.make_company(n_customers=800, seed=11)
    for name in synth.TABLES:
        cols = [c for c in a.tables[name].columns if c != "verbatim"]
        pd.testing.assert_frame_equal(a.tables[name][cols], b.tables[name][cols])
    assert (b.responses["verbatim"].isin(["same", *synth._surveys.PLANTED_TEXT.values()])).all()


def test_comment_topics_lean_on_nps_and_churn_as_planted(company):
    # the truth's expected differences agree with the differences on the planted topics
    topics = company.truth["comments"]["topics"]
    assert {"contract", "parking"} <= set(topics)
    for name, t in topics.items():
        assert abs(t["realised_nps_points"] - t["nps_points"]) < 10, name
        assert abs(t["realised_churn_points"] - t["churn_points"]) < 6, name
    assert topics["contract"]["nps_points"] < -40 and topics["contract"]["churn_points"] > 10
    assert topics["staff"]["nps_points"] > topics["waiting"]["nps_points"]
    text = company.responses["verbatim"].dropna()
    assert text.nunique() > 0.3 * len(text) and text.str.contains("[ぁ-ん]").mean() > 0.5
    assert text.str.contains("[A-Za-z]{4}").mean() > 0.15
