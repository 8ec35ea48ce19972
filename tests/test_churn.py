"""cxlib.churn against planted truth: a known logistic model, the sample company, hand cases."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from cxlib import churn
from cxlib.errors import ConvergenceWarning, DataError, ModelError, StatisticalWarning

# -- a customer table simulated from a known logistic model on observed columns -------------

TRUE = {"intercept": -1.6, "usage": -0.8, "charges": 0.02, "partner": -0.6,
        "contract[monthly]": 1.1, "contract[two_year]": -0.9, "charges[missing]": 0.0}


def simulated_customers(n: int = 4000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A Telco-like table; churn ~ Bernoulli(sigmoid(known linear predictor)).

    ``charges`` is missing for 10% of rows (at random); where missing, the true model has no
    charges term (effect of its mean, absorbed) - exactly what median imputation plus a
    missing indicator can represent, so the planted model is a model on observed data.
    """
    rng = np.random.default_rng(seed)
    usage = rng.standard_normal(n)
    charges = rng.normal(70, 25, n)
    missing = rng.random(n) < 0.10
    partner = rng.random(n) < 0.45
    contract = rng.choice(["one_year", "monthly", "two_year"], n, p=[0.45, 0.35, 0.20])
    mean_charges = 70.0
    eta = (TRUE["intercept"] + TRUE["usage"] * usage
           + TRUE["charges"] * np.where(missing, mean_charges, charges)
           + TRUE["partner"] * partner
           + TRUE["contract[monthly]"] * (contract == "monthly")
           + TRUE["contract[two_year]"] * (contract == "two_year"))
    p = 1 / (1 + np.exp(-eta))
    y = rng.random(n) < p
    frame = pd.DataFrame({
        "customerID": [f"{i:05d}-X" for i in range(n)],
        "usage": usage,
        "charges": np.where(missing, np.nan, charges),
        "Partner": np.where(partner, "Yes", "No"),
        "contract": contract,
        "country": "JP",                        # constant: left out
        "tenure": rng.integers(1, 72, n),       # unrelated to churn here
        "Churn": np.where(y, "Yes", "No"),
    })
    return frame, p


def test_logistic_recovers_planted_coefficients_and_true_auc():
    frame, p_true = simulated_customers()
    y = (frame["Churn"] == "Yes").astype(int)
    true_auc = roc_auc_score(y, p_true)
    res = churn.fit(frame, "Churn", model="logistic", seed=0, n_boot=100)
    assert abs(res.metrics["roc_auc"] - true_auc) < 0.02
    assert res.metrics["roc_auc_ci_low"] < res.metrics["roc_auc"] < res.metrics["roc_auc_ci_high"]
    d = res.drivers.set_index("term")
    planted = {"usage": TRUE["usage"], "charges": TRUE["charges"], "Partner": TRUE["partner"],
               "contract[monthly]": TRUE["contract[monthly]"],
               "contract[two_year]": TRUE["contract[two_year]"]}
    for term, beta in planted.items():
        row = d.loc[term]
        assert np.sign(row["coef"]) == np.sign(beta), term
        assert row["ci_low"] < np.exp(beta) < row["ci_high"], (term, row["odds_ratio"])
    assert d.loc["contract[monthly]", "per"] == "vs one_year"
    assert "customerID" not in res.features and "country" not in res.features
    # predictions on new rows are calibrated: mean predicted ~ observed rate (4 SE)
    new, p_new = simulated_customers(4000, seed=1)
    pred = res.predict(new)
    y_new = (new["Churn"] == "Yes").to_numpy()
    se = np.sqrt(p_new.mean() * (1 - p_new.mean()) / len(new))
    assert abs(pred.mean() - y_new.mean()) < 4 * se
    assert np.corrcoef(pred, p_new)[0, 1] > 0.97


def test_boosted_gets_close_to_the_true_auc_and_ranks_real_drivers_first():
    frame, p_true = simulated_customers()
    y = (frame["Churn"] == "Yes").astype(int)
    res = churn.fit(frame, "Churn", model="boosted", seed=0, n_boot=50)
    assert abs(res.metrics["roc_auc"] - roc_auc_score(y, p_true)) < 0.02
    imp = res.drivers.set_index("feature")["importance"]
    assert set(imp.index[:4]) == {"usage", "charges", "contract", "Partner"}
    assert imp["tenure"] < imp["Partner"]
    pred = res.predict(frame.head(50))
    assert pred.between(0, 1).all() and len(pred) == 50


def test_out_of_time_folds_never_score_the_first_block():
    frame, _ = simulated_customers(1200, seed=9)
    frame["signup"] = pd.date_range("2020-01-01", periods=len(frame), freq="D")
    res = churn.fit(frame, "Churn", time_column="signup", cv=3, n_boot=10)
    assert "out-of-time" in res.cv and "signup" not in res.features
    assert res.oof.iloc[:300].isna().all() and res.oof.iloc[300:].notna().all()
    assert res.metrics["n"] == 900


def test_figures_and_tables_are_consistent():
    frame, _ = simulated_customers(1500, seed=3)
    res = churn.fit(frame, "Churn", seed=0, n_boot=20)
    gains = res.gains_table()
    assert gains["n"].sum() == len(frame)
    assert gains["cum_share_of_churners"].iloc[-1] == pytest.approx(1.0)
    assert gains["churn_rate"].iloc[0] > gains["churn_rate"].iloc[-1]
    cal = res.calibration_table()
    assert (cal["ci_low"] <= cal["observed"]).all() and (cal["observed"] <= cal["ci_high"]).all()
    for fig in (res.plot(), res.plot_calibration(), res.plot_gains()):
        assert len(fig.data) >= 2
    assert "roc_auc" in res.summary()["metric"].tolist()
    drivers = res.plot_drivers(top=3)
    points = drivers.data[0]  # a forest plot: points with interval whiskers on a log axis
    top = res.drivers.dropna(subset=["odds_ratio"]).head(3)
    assert points.type == "scatter" and points.mode == "markers"
    assert drivers.layout.xaxis.type == "log"
    assert list(points.x) == list(top["odds_ratio"][::-1])  # strongest at the top
    assert list(points.error_x.array) == pytest.approx(list((top["ci_high"] - top["odds_ratio"])[::-1]))
    assert list(points.error_x.arrayminus) == pytest.approx(
        list((top["odds_ratio"] - top["ci_low"])[::-1]))


# -- bad input -------------------------------------------------------------------------------

def test_bad_targets_and_columns_are_named():
    frame, _ = simulated_customers(300, seed=4)
    with pytest.raises(ModelError, match="single class"):
        churn.fit(frame.assign(Churn="No"), "Churn")
    with pytest.raises(DataError, match="two classes.*rows 3"):
        churn.fit(frame.assign(Churn=lambda d: d["Churn"].mask(d.index == 2, "maybe")), "Churn")
    with pytest.raises(DataError, match="two classes coded 0/1"):
        churn.fit(frame.assign(Churn=np.arange(len(frame)) % 3), "Churn")
    with pytest.raises(DataError, match="empty in 1 rows"):
        churn.fit(frame.assign(Churn=lambda d: d["Churn"].mask(d.index == 5)), "Churn")
    with pytest.raises(ModelError, match="no usable feature columns"):
        churn.fit(frame[["customerID", "Churn"]], "Churn")
    with pytest.raises(DataError, match="target column 'churn' not found"):
        churn.fit(frame, "churn")


def test_numeric_text_with_blanks_errors_or_coerces_explicitly():
    frame, _ = simulated_customers(400, seed=5)
    total = (frame["charges"] * frame["tenure"]).round(2)
    text = total.astype(str).where(total.notna(), " ")
    frame = frame.assign(TotalCharges=text)
    blank_rows = np.flatnonzero(text.eq(" ").to_numpy()) + 1
    with pytest.raises(DataError, match=rf"'TotalCharges'.*rows {blank_rows[0]}"):
        churn.fit(frame, "Churn")
    with pytest.warns(StatisticalWarning, match="coerced to missing"):
        res = churn.fit(frame, "Churn", coerce="numeric", n_boot=10)
    assert res.kinds["TotalCharges"] == "numeric"
    assert any("TotalCharges" in n and "coerced" in n for n in res.notes)


def test_all_missing_constant_and_separating_columns():
    frame, _ = simulated_customers(600, seed=6)
    frame = frame.assign(empty=np.nan, blank_text="  ")
    with pytest.warns(StatisticalWarning, match="empty in every row"):
        res = churn.fit(frame, "Churn", n_boot=10)
    assert "empty" not in res.features and "blank_text" not in res.features
    assert "country" not in res.features
    leaky = frame.assign(cancel_requested=frame["Churn"])   # restates the target
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = churn.fit(leaky, "Churn", n_boot=10)
    assert any(issubclass(w.category, ConvergenceWarning) and "separation" in str(w.message)
               for w in caught)
    d = res.drivers.set_index("term")
    assert np.isfinite(d.loc["cancel_requested", "coef"]) and d.loc["cancel_requested", "coef"] > 3
    assert np.isfinite(res.predict(leaky)).all()


# -- features without leakage ----------------------------------------------------------------

SNAP = pd.Timestamp("2025-01-01")


def _perturb_after(tables: dict[str, pd.DataFrame], snap: pd.Timestamp, seed: int = 0
                   ) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    t = {k: v.copy() for k, v in tables.items()}
    tp = t["touchpoints"]
    late = tp["timestamp"] >= snap
    tp.loc[late, "event_type"] = rng.choice(["contact", "complaint", "repeat_contact"], late.sum())
    tp.loc[late, "resolved_first_contact"] = False
    extra = tp[late].sample(frac=0.5, random_state=1).assign(
        event_id=lambda d: d["event_id"] + "x", timestamp=lambda d: d["timestamp"]
        + pd.Timedelta(days=3))
    t["touchpoints"] = pd.concat([tp[~late | (rng.random(len(tp)) < 0.5)], extra])
    r = t["responses"]
    later = r["response_date"] >= snap
    for col in ("nps", "emo_trust", "rat_value", "expectation_met"):
        r.loc[later, col] = 1
    c = t["customers"]
    after = c["churned"] & (c["churn_date"] >= snap)
    c.loc[after, "churn_date"] = c.loc[after, "churn_date"] + pd.Timedelta(days=40)
    stay = c["churned"] & ~after
    keep_on = (~c["churned"]) & (c["signup_date"] < snap)
    flip = keep_on & (rng.random(len(c)) < 0.3)
    c.loc[flip, "churned"] = True
    c.loc[flip, "churn_date"] = snap + pd.Timedelta(days=10)
    c["revenue"] = c["revenue"] * 3
    c["share_of_wallet"] = 0.99
    assert stay.any()
    return t


def test_features_do_not_change_when_anything_after_the_snapshot_changes(small_company):
    tables = small_company.tables
    before = churn.build_features(tables, SNAP, horizon=6)
    after = churn.build_features(_perturb_after(tables, SNAP), SNAP, horizon=6)
    features = [c for c in before.columns if c != "churned_in_horizon"]
    pd.testing.assert_frame_equal(before[features], after[features])
    assert not before["churned_in_horizon"].equals(after["churned_in_horizon"])
    # the check can fail: one unresolved contact the day before the snapshot changes features
    tp = tables["touchpoints"]
    one = tp.iloc[[0]].assign(event_id="E-new", customer_id=before["customer_id"].iloc[0],
                              timestamp=SNAP - pd.Timedelta(days=1), event_type="contact",
                              resolved_first_contact=False)
    changed = churn.build_features(tables | {"touchpoints": pd.concat([tp, one])}, SNAP, 6)
    assert changed.loc[0, "unresolved_recent"] == before.loc[0, "unresolved_recent"] + 1


def test_features_hand_computed_case():
    day = pd.Timedelta(days=1)
    customers = pd.DataFrame({
        "customer_id": ["a", "b", "c"],
        "signup_date": [SNAP - 400 * day, SNAP - 100 * day, SNAP - 50 * day],
        "acquisition_channel": ["tv", "web", "tv"], "plan": ["basic"] * 3,
        "churned": [False, True, True],
        "churn_date": [pd.NaT, SNAP + 20 * day, SNAP - 5 * day],   # c left before the snapshot
        "monthly_revenue": [1000.0, 2000.0, 3000.0], "revenue": [1.0, 2.0, 3.0],
    })
    ev = [("a", -10, "contact", False), ("a", -5, "repeat_contact", None),
          ("a", -200, "complaint", None), ("a", -60, "contact", True),
          ("b", -95, "contact", False), ("b", 3, "complaint", None)]
    touchpoints = pd.DataFrame({
        "event_id": [f"e{i}" for i in range(len(ev))], "customer_id": [e[0] for e in ev],
        "timestamp": [SNAP + e[1] * day for e in ev], "event_type": [e[2] for e in ev],
        "resolved_first_contact": pd.array([e[3] for e in ev], dtype="boolean")})
    responses = pd.DataFrame({
        "response_id": ["r1", "r2", "r3"], "customer_id": ["a", "a", "b"],
        "response_date": [SNAP - 300 * day, SNAP - 30 * day, SNAP + 5 * day],
        "nps": [9, 3, 0], "expectation_met": [2, pd.NA, 1],
        **{c: [4, pd.NA, 1] for c in ("emo_trust", "emo_valued", "emo_pride", "emo_attachment")},
        **{c: [2, pd.NA, 5] for c in ("rat_value", "rat_quality", "rat_convenience")}})
    with pytest.warns(StatisticalWarning, match="after the data"):
        f = churn.build_features({"customers": customers, "touchpoints": touchpoints,
                                  "responses": responses}, SNAP, horizon=1)
    f = f.set_index("customer_id")
    assert list(f.index) == ["a", "b"]
    a, b = f.loc["a"], f.loc["b"]
    assert a["tenure_months"] == pytest.approx(400 / (365.25 / 12))
    assert (a["first_year"], b["first_year"]) == (0, 1)
    assert a["renewal_in_horizon"] == 0            # next anniversary at day 730.5
    assert (a["contacts_recent"], a["contacts_total"], a["unresolved_recent"]) == (2, 2, 1)
    assert a["repeat_contacts_30d"] == 1           # day -5 follows day -10
    assert (a["complaints_recent"], a["complaints_total"]) == (0, 1)
    assert a["days_since_contact"] == pytest.approx(5)
    assert a["latest_nps"] == 3 and a["emotional_score"] == 4 and a["rational_score"] == 2
    assert a["expectation_gap"] == 1 and a["expectation_gap_first_year"] == 0
    assert b["contacts_recent"] == 0 and b["contacts_total"] == 1   # day -95 is outside 90 days
    assert b["complaints_total"] == 0 and np.isnan(b["latest_nps"])  # both after the snapshot
    assert b["spend_to_date"] == pytest.approx(2000 * 100 / (365.25 / 12))
    assert (a["churned_in_horizon"], b["churned_in_horizon"]) == (0, 1)


# -- the sample company: planted drivers, the true model's AUC, timing, money -----------------

def _oracle(company, feats: pd.DataFrame, snapshot: pd.Timestamp, horizon: int) -> np.ndarray:
    """P(churn within the horizon) from the planted hazard and the latent truth.

    Future unresolved contacts are unknown at the snapshot and left out, so this is the best
    any model of information at the snapshot could do, up to that term.
    """
    p = company.truth["params"]
    start = pd.Timestamp(p["start"])

    def month(d: pd.Series) -> np.ndarray:
        return ((d.dt.year - start.year) * 12 + d.dt.month - start.month).to_numpy()

    ids = feats["customer_id"]
    c = company.customers.set_index("customer_id").loc[ids]
    lat = company.latent.set_index("customer_id").loc[ids]
    m0 = (snapshot.year - start.year) * 12 + snapshot.month - start.month
    signup = month(c["signup_date"])
    tp = company.touchpoints
    unres = tp[(tp["event_type"] == "contact") & tp["resolved_first_contact"].eq(False).fillna(False)
               & (tp["timestamp"] < snapshot)]
    um = pd.DataFrame({"id": unres["customer_id"].to_numpy(), "m": month(unres["timestamp"])})
    base = (p["churn_intercept"] + c["plan"].map(p["churn_plan"]).to_numpy()
            + p["churn_small_business"] * (c["segment"] == "small_business").to_numpy())
    d_cxi = sum(v * p["cxi_weights"][o] for o, v in p["pilot_quality_shift"].items())
    gap = np.clip(lat["expectation_gap"].to_numpy(), 0, None)
    survive = np.ones(len(ids))
    for m in range(m0, m0 + horizon):
        tenure = m - signup
        pilot = c["monitor_group"].to_numpy() & (m >= p["pilot_start_month"])
        e = lat["emotional"].to_numpy() + pilot * p["loading_emotional_on_cxi"] * d_cxi
        r = lat["rational"].to_numpy() + pilot * p["loading_rational_on_cxi"] * d_cxi
        u = (um[(um["m"] >= m - 2) & (um["m"] <= m)].groupby("id").size()
             .reindex(ids).fillna(0).to_numpy())
        logit = (base + p["churn_emotional"] * e + p["churn_rational"] * r
                 + p["churn_gap_first_year"] * gap * (tenure < 12) + p["churn_unresolved"] * u
                 + p["churn_renewal_month"] * ((tenure % 12 == 0) & (tenure > 0)))
        survive *= 1 - (tenure >= 1) / (1 + np.exp(-logit))
    return 1 - survive


@pytest.fixture(scope="module")
def sample_fit(company):
    data = churn.from_tables(company.tables, SNAP, horizon=6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = churn.fit(data.features, data.target, exclude=["monthly_revenue", "spend_to_date"],
                        n_boot=100)
    return data, res


def test_sample_planted_drivers_have_their_signs_and_order(sample_fit):
    _, res = sample_fit
    d = res.drivers.set_index("term")
    assert d.loc["acquisition_channel[tv_campaign]", "ci_low"] > 1.5      # the hyped channel
    assert d.loc["expectation_gap_first_year", "ci_low"] > 1              # churn_gap_first_year
    assert d.loc["unresolved_recent", "ci_low"] > 1                       # churn_unresolved
    assert d.loc["emotional_score", "ci_high"] < 1                        # churn_emotional < 0
    assert d.loc["rational_score", "odds_ratio"] > 1                      # churn_rational > 0
    assert d.loc["plan[premium]", "odds_ratio"] < d.loc["plan[standard]", "odds_ratio"] < 1


def test_sample_auc_is_below_the_planted_models(sample_fit, company):
    data, res = sample_fit
    oracle = _oracle(company, data.features, SNAP, 6)
    oracle_auc = roc_auc_score(data.features[data.target], oracle)
    # survey scores are noisy, partly missing proxies of the latent drivers: the model must
    # do clearly better than chance but cannot beat the truth (a leak would)
    assert 0.62 < res.metrics["roc_auc"] < oracle_auc + 0.005
    assert oracle_auc - res.metrics["roc_auc"] < 0.10


def test_first_year_churn_and_expectation_gap_on_the_sample(company):
    data = churn.from_tables(company.tables, SNAP, horizon=6)
    fy = churn.first_year_churn(data.survival, by="acquisition_channel").set_index(
        "acquisition_channel")
    assert fy.index[0] == "tv_campaign" and fy.loc["tv_campaign", "ci_low"] > 0.60
    realised = company.truth["realised"]["first_year_churn_by_channel"]
    for ch, share in realised.items():
        assert abs(fy.loc[ch, "churned_share"] - share) < 0.04, ch
    gap = churn.expectation_gap_effect(company.tables)
    assert gap.available
    hr = gap.hazard_ratios.set_index("model")
    assert (hr["ci_low"] > 1).all()          # planted churn_gap_first_year = 1.9 > 0
    shares = gap.by_answer.set_index("answer")["churned_share"]
    assert shares["below expectations"] > shares["as expected"] > shares["above expectations"]
    assert gap.logrank.p_value < 1e-6
    assert "not available" not in gap.plot().layout.title.text


# -- money -----------------------------------------------------------------------------------

def test_revenue_at_risk_hand_computed():
    frame = pd.DataFrame({"customer_id": ["a", "b", "c"], "monthly_revenue": [1000, 2000, 500],
                          "segment": ["x", "x", "y"]})
    per, grp = churn.revenue_at_risk(frame, [0.5, 0.1, 0.2], by="segment", months_at_stake=12)
    assert per["revenue_at_risk"].tolist() == [6000, 2400, 1200]
    x = grp.set_index("segment").loc["x"]
    half = 1.959964 * np.sqrt(0.25 * 12000**2 + 0.09 * 24000**2)
    assert x["revenue_at_risk"] == 8400 and x["expected_churners"] == pytest.approx(0.6)
    assert x["pi_high"] == pytest.approx(8400 + half, rel=1e-5)
    assert x["share_of_revenue_at_risk"] == pytest.approx(8400 / 36000)


def test_customer_value_recovers_a_planted_churn_rate_and_ranks_contacts():
    rng = np.random.default_rng(2)
    n, rate = 3000, {"loyal": 0.02, "fickle": 0.10}
    seg = rng.choice(list(rate), n)
    t = rng.exponential(1 / np.vectorize(rate.get)(seg))
    cens = rng.uniform(6, 36, n)
    surv = pd.DataFrame({"duration": np.minimum(t, cens), "event": (t <= cens).astype(int),
                         "segment": seg, "monthly_revenue": 1000.0})
    v = churn.customer_value(surv, by="segment", annual_discount=0.0).set_index("segment")
    for s, lam in rate.items():
        assert v.loc[s, "rate_ci_low"] < lam < v.loc[s, "rate_ci_high"], s
        true_clv = 1000 / (1 - np.exp(-lam))       # no discount: revenue x expected lifetime
        assert v.loc[s, "clv_ci_low"] < true_clv < v.loc[s, "clv_ci_high"], s
    risk = pd.DataFrame({"customer_id": ["p", "q", "r"], "churn_probability": [0.2, 0.6, 0.4],
                         "monthly_revenue": [1000.0, 1000.0, 5000.0],
                         "revenue_at_risk": [0.0, 0.0, 0.0], "segment": ["loyal", "fickle", "loyal"]})
    ranked = churn.contact_list(risk, v.reset_index(), by="segment", save_rate=0.5,
                                annual_discount=0.0)
    assert ranked["customer_id"].tolist() == ["r", "p", "q"]
    assert ranked["expected_value_saved"].is_monotonic_decreasing
    r = ranked.set_index("customer_id").loc["r"]
    assert r["expected_value_saved"] == pytest.approx(0.4 * 0.5 * 5000 / (
        1 - np.exp(-v.loc["loyal", "monthly_churn_rate"])))


def test_any_customer_table_through_a_column_map():
    frame, _ = simulated_customers(800, seed=8)
    data = churn.from_customer_table(frame, {"customerID": "customer_id", "Churn": "churned",
                                             "tenure": "tenure_months",
                                             "charges": "monthly_revenue"})
    assert data.target == "churned" and set(data.features["churned"]) == {0, 1}
    assert "contract" in data.groups and len(data.survival) == 800
    res = churn.fit(data.features, data.target, n_boot=10)
    assert "customer_id" not in res.features
    fy = churn.first_year_churn(data.survival, by="contract")
    assert len(fy) == 3 and fy["churned_share"].between(0, 1).all()
    with pytest.raises(DataError, match="not in the table"):
        churn.from_customer_table(frame, {"Churned": "churned"})
    with pytest.raises(DataError, match="no churn flag"):
        churn.from_customer_table(frame, {})
