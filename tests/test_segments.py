"""cxlib.segments against planted truth: the sample company, a flipped company, and a
small simulation of our own with known segment hazard ratios."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from cxlib import segments as sg
from cxlib import synth
from cxlib.errors import DataError, ModelError, ParameterError
from cxlib.vocab import EMOTIONAL_ITEMS, RATIONAL_ITEMS


def _pipeline(company: synth.Company, method: str = "rule"):
    scored = sg.score_responses(company.responses)
    panel = sg.survey_panel(scored, company.customers, horizon_months=12)
    seg = sg.SatisfactionSegmenter(method=method, seed=1).fit(panel)
    panel["segment"] = seg.predict(panel)
    scored["segment"] = seg.predict(scored)
    return scored, panel, seg


@pytest.fixture(scope="module")
def sample(company):
    return _pipeline(company)


@pytest.fixture(scope="module")
def flipped():
    """The claim is false here: emotion does nothing, rational satisfaction retains."""
    params = dataclasses.replace(synth.Params(), churn_emotional=0.0, churn_rational=-0.6)
    return _pipeline(synth.make_company(n_customers=12_000, seed=5, params=params))


# -- constructs and their quality ---------------------------------------------------------

def test_reliability_reflects_planted_loadings(company, sample):
    scored, _, _ = sample
    table = sg.reliability(scored).set_index("block")
    lam = company.truth["params"]["item_loadings"]
    for block, items in (("emotional", EMOTIONAL_ITEMS), ("rational", RATIONAL_ITEMS)):
        # population standardised alpha of the latent-normal items (before 5-point coarsening,
        # which lowers it a little): p * mean r / (1 + (p - 1) * mean r), r_ij = l_i l_j
        loads = np.array([lam[i] for i in items])
        r = np.outer(loads, loads)[np.triu_indices(len(items), 1)].mean()
        target = len(items) * r / (1 + (len(items) - 1) * r)
        row = table.loc[block]
        assert target - 0.08 < row["alpha"] < target + 0.01
        assert row["alpha_ci_low"] < row["alpha"] < row["alpha_ci_high"]
        assert row["eig_1st"] > 1 > row["eig_2nd"] and row["unidimensional"]
        assert row["rho_dg"] > row["alpha"]  # PC loadings are upward-biased: rho > alpha
    assert table.loc["emotional", "n"] == len(scored)


def test_discriminant_validity_and_factor_structure(sample):
    scored, _, _ = sample
    dv = sg.discriminant_validity(scored)
    pair = dv.pairs.iloc[0]
    # latent correlation of the constructs is about 0.4: HTMT near it, far below 0.85
    assert 0.25 < pair["htmt"] < 0.55 and pair["htmt_ok"] and pair["fl_ok"]
    fs = sg.factor_structure(scored, seed=0)
    assert fs.n_factors_suggested == 2 and fs.matches
    assert (fs.items["loading"] > 0.5).all()


def test_factor_structure_flags_an_item_in_the_wrong_block(sample):
    scored, _, _ = sample
    blocks = {"emotional": ["emo_trust", "emo_valued", "rat_quality"],
              "rational": ["rat_value", "rat_convenience", "emo_pride", "emo_attachment"]}
    fs = sg.factor_structure(scored, blocks)
    assert not fs.matches
    assert set(fs.items.loc[~fs.items["matches"], "item"]) >= {"rat_quality"}


def test_clear_errors_for_unknown_constant_and_single_items(sample):
    scored, _, _ = sample
    with pytest.raises(DataError, match="unknown item.*emo_love"):
        sg.reliability(scored, {"emotional": ["emo_trust", "emo_love"]})
    with pytest.raises(DataError, match="unknown item.*emo_love"):
        sg.score_responses(scored, {"emotional": ["emo_trust", "emo_love"]})
    with pytest.raises(DataError, match="block 'emotional'.*constant"):
        sg.reliability(scored.assign(emo_pride=3), {"emotional": list(EMOTIONAL_ITEMS)})
    with pytest.raises(DataError, match="block 'rational' has 1 item.*at least 2"):
        sg.reliability(scored, {"rational": ["rat_value"]})
    # a single-item construct can still be scored
    one = sg.construct_scores(scored, {"rational": ["rat_value"]})
    assert one["rational"].std() == pytest.approx(1.0)


def test_missing_items_need_an_explicit_policy(sample):
    scored, _, _ = sample
    gappy = scored.head(300).copy()
    gappy.loc[gappy.index[:10], "emo_pride"] = pd.NA
    with pytest.raises(DataError, match="10 rows miss"):
        sg.construct_scores(gappy)
    dropped = sg.construct_scores(gappy, missing="drop", standardize=False)
    assert dropped["emotional"].isna().sum() == 10
    kept = sg.construct_scores(gappy, missing="pairwise", standardize=False)
    row = gappy.iloc[0]
    expected = np.mean([row[c] for c in EMOTIONAL_ITEMS if c != "emo_pride"])
    assert kept["emotional"].iloc[0] == pytest.approx(expected)
    with pytest.raises(DataError, match="missing answers"):
        sg.reliability(gappy)
    assert sg.reliability(gappy, missing="drop").set_index("block").loc["emotional", "n"] == 290


# -- segments ------------------------------------------------------------------------------

def test_rule_segments_hand_cases():
    e = [1.0, -0.5, -0.5, 0.2, -0.1]
    r = [-2.0, 0.8, -0.3, 2.0, 0.2]
    assert list(sg.rule_segments(e, r)) == ["emotionally_satisfied", "rationally_only",
                                            "dissatisfied", "other", "other"]
    seg = sg.SatisfactionSegmenter(emotional_high=0.1).fit(pd.DataFrame({"emotional": e,
                                                                         "rational": r}))
    assert seg.predict(np.column_stack([e, r]))[3] == "emotionally_satisfied"


def test_mixture_recovers_planted_profiles_and_is_deterministic():
    # two well-separated profiles of our own: (E, R) = (+1.5, +1) and (-1, +1.2)
    rng = np.random.default_rng(0)
    a = rng.normal([1.5, 1.0], 0.3, size=(600, 2))
    b = rng.normal([-1.0, 1.2], 0.3, size=(400, 2))
    X = pd.DataFrame(np.vstack([a, b]), columns=["emotional", "rational"])
    seg = sg.SatisfactionSegmenter(method="mixture", max_profiles=4, seed=3).fit(X)
    assert seg.n_profiles_ == 2
    labels = seg.predict(X)
    assert (labels[:600] == "emotionally_satisfied").mean() > 0.98
    assert (labels[600:] == "rationally_only").mean() > 0.98
    again = sg.SatisfactionSegmenter(method="mixture", max_profiles=4, seed=3).fit(X)
    np.testing.assert_array_equal(again.predict(X), labels)
    agree = sg.agreement(sg.rule_segments(X["emotional"], X["rational"]), labels, seed=2)
    assert agree.adjusted_rand > 0.9 and agree.ci_low <= agree.adjusted_rand <= agree.ci_high
    assert agree.crosstab.to_numpy().sum() == 1000
    assert sg.agreement(labels, labels, n_boot=10).adjusted_rand == 1.0


def test_segmenter_input_errors():
    with pytest.raises(DataError, match="column.*emotional"):
        sg.SatisfactionSegmenter().fit(pd.DataFrame({"rational": [0.1, 0.2]}))
    with pytest.raises(DataError, match="1 rows have empty"):
        sg.SatisfactionSegmenter().fit(pd.DataFrame({"emotional": [0.1, np.nan],
                                                     "rational": [0.1, 0.2]}))
    with pytest.raises(ParameterError, match="method must be one of rule, mixture, got 'kmeans'"):
        sg.SatisfactionSegmenter(method="kmeans").fit(np.zeros((5, 2)))


# -- the churn test against planted truth -------------------------------------------------

def _own_panel(n: int, hr: dict[str, float], seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Constant monthly hazards: base x segment HR x channel HR; 24 months of follow-up
    for everyone (administrative censoring), tenure unrelated to churn."""
    rng = np.random.default_rng(seed)
    cov = [[1, 0.4], [0.4, 1]]
    er = rng.multivariate_normal([0, 0], cov, size=n)
    segment = sg.rule_segments(er[:, 0], er[:, 1])
    channel = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    plan = rng.choice(["basic", "premium"], n)
    rate = (0.02 * np.array([hr[s] for s in segment])
            * np.where(channel == "c", 1.8, 1.0) * np.where(plan == "premium", 0.7, 1.0))
    t = np.ceil(rng.exponential(1 / rate) * 30.4375) / 30.4375  # whole days, as in real data
    event = t <= 24
    panel = pd.DataFrame({
        "emotional": er[:, 0], "rational": er[:, 1], "segment": segment,
        "tenure_months": rng.uniform(2, 30, n), "acquisition_channel": channel, "plan": plan,
        "followup_months": np.minimum(t, 24), "event": event.astype(int),
        "churn_in_horizon": t <= 12})
    return panel, 1 - np.exp(-12 * rate)


@pytest.mark.parametrize("hr,supported", [
    ({"dissatisfied": 1.0, "rationally_only": 1.0, "emotionally_satisfied": 0.6, "other": 0.8},
     True),
    ({"dissatisfied": 1.0, "rationally_only": 0.45, "emotionally_satisfied": 0.65, "other": 0.8},
     False),
])
def test_churn_test_recovers_planted_ratios(hr, supported):
    panel, p12 = _own_panel(12_000, hr, seed=11)
    result = sg.churn_test(panel, horizon_months=12)
    c = result.contrasts.set_index(["model", "comparison"])
    planted_hr = {"rationally_only vs dissatisfied": hr["rationally_only"] / hr["dissatisfied"],
                  "emotionally_satisfied vs rationally_only":
                      hr["emotionally_satisfied"] / hr["rationally_only"]}
    for comparison, truth in planted_hr.items():
        row = c.loc[("hazard ratio", comparison)]
        assert row["ci_low"] < truth < row["ci_high"], (comparison, row.to_dict(), truth)
    # odds ratios: the population value of the same logistic model, found by fitting it to
    # the planted 12-month churn probabilities (fractional response, same design)
    X = sm.add_constant(sg._churn._design(panel, "segment", "dissatisfied", sg.CONTROLS))
    pseudo = sm.GLM(p12, X, family=sm.families.Binomial()).fit().params
    true_or = {"rationally_only vs dissatisfied": np.exp(pseudo["segment[rationally_only]"]),
               "emotionally_satisfied vs rationally_only":
                   np.exp(pseudo["segment[emotionally_satisfied]"]
                          - pseudo["segment[rationally_only]"])}
    for comparison, truth in true_or.items():
        row = c.loc[("odds ratio", comparison)]
        assert row["ci_low"] < truth < row["ci_high"], (comparison, row.to_dict(), truth)
    assert result.claim_supported is supported
    if supported:
        assert result.rational_vs_dissatisfied == "about as often"
        assert result.emotional_vs_rational == "lower"
        assert result.verdict.startswith("The data support the claim")
    else:
        assert result.rational_vs_dissatisfied == "less often"
        assert "do not support" in result.verdict
        assert result.headline().startswith("Rationally-only satisfied churn less often than")


def test_sample_company_supports_the_planted_claim(company, sample):
    _, panel, _ = sample
    result = sg.churn_test(panel)
    assert result.claim_supported
    assert result.rational_vs_dissatisfied == "about as often"
    assert result.emotional_vs_rational == "lower"
    # the ordering of realised churn by latent segment is the same by observed segment
    realised = company.truth["realised"]["latent_segment_churn_rate"]
    assert realised["emotionally_satisfied"] < min(realised["rationally_only"],
                                                   realised["dissatisfied"])
    out = sg.outcomes_by_segment(panel).set_index(["outcome", "segment"])
    churn = out.loc["churn_in_horizon"]
    assert churn.loc["emotionally_satisfied", "ci_high"] < churn.loc["rationally_only", "ci_low"]
    assert churn.loc["emotionally_satisfied", "ci_high"] < churn.loc["dissatisfied", "ci_low"]
    # per SD: emotional attachment lowers the hazard, rational satisfaction slightly raises it
    effects = sg.construct_effects(panel).set_index("term")
    assert effects.loc["emotional", "ci_high"] < 1
    assert effects.loc["rational", "ci_low"] > 1
    assert np.exp(company.truth["params"]["churn_rational"]) > effects.loc["rational",
                                                                           "hazard_ratio"]


def test_flipped_company_yields_the_opposite_verdict(flipped):
    _, panel, _ = flipped
    result = sg.churn_test(panel)
    assert not result.claim_supported
    assert result.rational_vs_dissatisfied == "less often"
    assert result.emotional_vs_rational != "lower"
    assert result.verdict.startswith("The data do not support the claim")
    effects = sg.construct_effects(panel).set_index("term")
    assert effects.loc["rational", "ci_high"] < 1


def test_panel_follow_up_and_outcomes(company, sample):
    scored, panel, _ = sample
    assert panel["customer_id"].is_unique and (panel["wave"] == 1).all()
    assert (panel["followup_months"] >= 0).all()
    c = company.customers.set_index("customer_id").loc[panel["customer_id"]]
    assert (panel["event"].to_numpy() == c["churned"].to_numpy()).all()
    # churned within 12 months exactly when the churn date is within ~365 days of the survey
    gap = (c["churn_date"].to_numpy() - panel["response_date"].to_numpy()) / np.timedelta64(1, "D")
    known = panel["churn_in_horizon"].notna().to_numpy()
    assert (panel["churn_in_horizon"][known].to_numpy(dtype=bool)
            == (gap[known] <= 365.25)).all()
    move = sg.segment_movement(scored)
    assert move.groupby("from")["share"].sum().round(9).eq(1).all()
    out = sg.outcomes_by_segment(panel)
    assert {"churn_in_horizon", "renewed", "nps", "monthly_revenue", "share_of_wallet"} <= set(
        out["outcome"])
    assert ((out["ci_low"] <= out["estimate"]) & (out["estimate"] <= out["ci_high"])).all()


def test_churn_test_errors(sample):
    _, panel, _ = sample
    with pytest.raises(DataError, match="plan_typo"):
        sg.churn_test(panel, controls=("tenure_months", "plan_typo"))
    with pytest.raises(ModelError, match="no customers in segment 'rationally_only'"):
        sg.churn_test(panel.assign(segment=panel["segment"].replace("rationally_only", "other")))


def test_deterministic_for_a_seed(sample):
    scored, panel, _ = sample
    a = sg.reliability(scored.head(2000), n_boot=20, seed=4)
    b = sg.reliability(scored.head(2000), n_boot=20, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert a["rho_dg_ci_low"].notna().all() and (a["rho_dg_ci_low"] <= a["rho_dg"]).all()
    x = sg.agreement(panel["segment"], panel["segment"].replace("other", "dissatisfied"), seed=9)
    y = sg.agreement(panel["segment"], panel["segment"].replace("other", "dissatisfied"), seed=9)
    assert (x.ci_low, x.ci_high) == (y.ci_low, y.ci_high) and x.ci_low < x.adjusted_rand
    pts = sg.plane_points(panel, max_points=500, seed=2)
    pd.testing.assert_frame_equal(pts, sg.plane_points(panel, max_points=500, seed=2))
    assert len(pts) == 500


def test_ari_from_table_equals_sklearn():
    """The bootstrap's ARI from a cross-table of counts = sklearn's on the rows."""
    from sklearn.metrics import adjusted_rand_score

    from cxlib.segments._segmenter import ari_from_table

    rng = np.random.default_rng(3)
    for _ in range(5):
        a = rng.integers(0, 4, 2000)
        b = (a + (rng.random(2000) < 0.3) * rng.integers(0, 3, 2000)) % 5
        table = np.zeros((4, 5))
        np.add.at(table, (a, b), 1)
        assert ari_from_table(table) == pytest.approx(adjusted_rand_score(a, b), abs=1e-12)
    assert ari_from_table(np.array([[7.0]])) == 1.0


def test_mixture_fits_on_a_subsample_above_max_fit_rows():
    """Planted profiles: fitted on 3,000 of 30,000 rows, the means land within 0.1 SD of
    the truth and every row is labelled; the same seed gives the same fit."""
    rng = np.random.default_rng(11)
    centres = np.array([[1.2, 1.0], [-1.0, 1.0], [-1.0, -1.2]])
    X = np.vstack([c + 0.3 * rng.standard_normal((10_000, 2)) for c in centres])
    seg = sg.SatisfactionSegmenter(method="mixture", max_profiles=4, seed=5, max_fit_rows=3_000)
    seg.fit(X)
    assert seg.fit_rows_ == 3_000 and seg.n_profiles_ == 3
    means = seg.profiles_[["emotional_mean", "rational_mean"]].to_numpy()
    for c in centres:
        assert np.abs(means - c).sum(axis=1).min() < 0.1
    labels = seg.predict(X)
    assert len(labels) == len(X) and set(labels) == {"emotionally_satisfied", "rationally_only",
                                                     "dissatisfied"}
    again = sg.SatisfactionSegmenter(method="mixture", max_profiles=4, seed=5, max_fit_rows=3_000)
    np.testing.assert_array_equal(again.fit(X).profiles_["emotional_mean"],
                                  seg.profiles_["emotional_mean"])


def test_factor_analysis_from_the_correlation_matrix_equals_the_full_data():
    """The 2p-row surrogate with the data's correlation matrix: sklearn's ML factor analysis
    on all n rows gives the same loadings (to 1e-10) after the same number of iterations."""
    from sklearn.decomposition import FactorAnalysis

    from cxlib.segments._constructs import _factor_analysis

    rng = np.random.default_rng(0)
    f = rng.standard_normal((20_000, 2))
    load = np.array([[.8, 0], [.7, 0], [.6, .1], [.75, 0], [0, .8], [.1, .7], [0, .65]])
    x = f @ load.T + 0.5 * rng.standard_normal((20_000, 7))
    z = (x - x.mean(0)) / x.std(0)
    full = FactorAnalysis(2, rotation="varimax", svd_method="lapack", random_state=1).fit(z)
    fast = _factor_analysis(np.corrcoef(z, rowvar=False), len(z), 2, 1)
    np.testing.assert_allclose(np.abs(fast.components_), np.abs(full.components_), atol=1e-10)
    assert fast.n_iter_ == full.n_iter_


def test_parallel_analysis_benchmark_matches_random_data():
    """Wishart draws give the eigenvalues of random-data correlation matrices: the mean
    largest eigenvalue agrees with simulated data sets within Monte Carlo error."""
    from scipy import stats

    from cxlib.measurement import cov_to_corr

    rng = np.random.default_rng(1)
    n, p, draws = 300, 5, 400
    wish = [np.linalg.eigvalsh(cov_to_corr(stats.wishart.rvs(df=n - 1, scale=np.eye(p),
                                                          random_state=rng)))[-1]
            for _ in range(draws)]
    data = [np.linalg.eigvalsh(np.corrcoef(rng.standard_normal((n, p)), rowvar=False))[-1]
            for _ in range(draws)]
    se = np.sqrt(np.var(wish) / draws + np.var(data) / draws)
    assert abs(np.mean(wish) - np.mean(data)) < 4 * se
