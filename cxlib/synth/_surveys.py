"""Survey answers generated from the simulated journey.

Transactional surveys follow touchpoint events (CSAT, CES, NPS, verbatim);
relationship surveys go out at fixed tenures (NPS, rational and emotional
items, expectation met, overall CSAT). Non-response is not random: attached
customers and extreme experiences answer more, the hyped channel less.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._comments import company_comments
from ._params import EMOTIONAL_ITEMS, ORGANISATIONS, RATIONAL_ITEMS, Params
from ._simulate import CATALOGUE, TOUCHPOINTS, TP, Journey, Population, _sigmoid, month_starts

TRANSACTIONAL = ("store_consultation", "store_purchase", "online_checkout", "onboarding_call",
                 "setup_support", "support_contact", "app_self_service", "store_visit", "complaint")
CES_ORGS = ("contact_centre", "web")
LIKERT5 = np.array([-1.2, -0.4, 0.5, 1.3])
CSAT_CUTS = np.array([-1.3, -0.5, 0.4, 1.3])
CES_CUTS = np.array([-1.6, -1.0, -0.4, 0.3, 0.9, 1.5])
EXPERIENCE_SD = 1.3

# planted free text a report must render harmlessly (tests look them up in truth.json)
PLANTED_TEXT = {
    "script": "<script>alert('cx')</script> 対応が遅すぎます",
    "onerror": '<img src=x onerror="alert(1)"> 返金してください',
    "formula": '=HYPERLINK("http://example.com","詳細") support was fine',
    "pii": "折り返しは taro.yamada@example.jp か 090-1234-5678 までお願いします",
}


def _cut(z: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    return 1 + (z[:, None] > cuts[None, :]).sum(axis=1)


def _nps(latent: np.ndarray, centre: float) -> np.ndarray:
    return np.clip(np.round(centre + 2.1 * latent), 0, 10).astype(int)


def _transactional(p: Params, pop: Population, j: Journey, rng: np.random.Generator) -> pd.DataFrame:
    ev = j.events
    eligible = np.isin(ev["touchpoint"], [TP[t] for t in TRANSACTIONAL]) & (ev["day"] >= 0)
    idx = np.flatnonzero(eligible)
    cust = ev["customer"][idx]
    x = ev["experience"][idx] / EXPERIENCE_SD
    e, r = ev["emotional"][idx], ev["rational"][idx]
    hyped = pop.channel[cust] == p.hyped_channel
    invited = rng.random(len(idx)) < p.transactional_invite
    answer = rng.random(len(idx)) < _sigmoid(-0.9 + 0.35 * np.abs(x) + 0.3 * e - 0.3 * hyped)
    keep = invited & answer
    idx, cust, x, e, r = idx[keep], cust[keep], x[keep], e[keep], r[keep]
    k = len(idx)
    z_csat, z_ces, z_nps = rng.standard_normal((3, k))
    x0 = x - ev["shift"][idx] / EXPERIENCE_SD
    e0, r0 = e - ev["shift_emotional"][idx], r - ev["shift_rational"][idx]
    csat = _cut(0.9 * x + 0.45 * z_csat, CSAT_CUTS)
    ces = _cut(0.8 * x + 0.5 * z_ces, CES_CUTS)
    nps = _nps(0.45 * e + 0.15 * r + 0.35 * x + 0.6 * z_nps, 7.3)
    tp = ev["touchpoint"][idx]
    org = np.array([CATALOGUE[TOUCHPOINTS[t]][1] for t in tp])
    return pd.DataFrame({
        "customer": cust, "day": ev["day"][idx] + rng.integers(0, 4, k), "touchpoint_code": tp,
        "channel_code": ev["channel"][idx], "survey_type": "transactional",
        "nps": nps, "csat": csat, "ces": np.where(np.isin(org, CES_ORGS), ces, -1),
        # counterfactual answers without the pilot, same noise (for the planted pilot effect)
        "csat_no_pilot": _cut(0.9 * x0 + 0.45 * z_csat, CSAT_CUTS),
        "nps_no_pilot": _nps(0.45 * e0 + 0.15 * r0 + 0.35 * x0 + 0.6 * z_nps, 7.3),
        "organisation": org,
    })


def _relationship(p: Params, pop: Population, j: Journey, rng: np.random.Generator) -> pd.DataFrame:
    starts = month_starts(p)
    frames = []
    d_cxi = sum(p.pilot_quality_shift.get(o, 0.0) * p.cxi_weights[o] for o in ORGANISATIONS)
    for t in p.relationship_tenures:
        m = pop.signup_month + t
        active = (m < p.months) & ((j.churn_month == -1) | (j.churn_month > m))
        cust = np.flatnonzero(active)
        mm = m[cust]
        post = pop.monitor[cust] & (mm >= p.pilot_start_month)
        e_shift = post * p.loading_emotional_on_cxi * d_cxi
        r_shift = post * p.loading_rational_on_cxi * d_cxi
        e, r = pop.emotional[cust] + e_shift, pop.rational[cust] + r_shift
        hyped = pop.channel[cust] == p.hyped_channel
        answer = rng.random(len(cust)) < _sigmoid(-0.7 + 0.35 * e - 0.2 * hyped)
        cust, mm, e, r = cust[answer], mm[answer], e[answer], r[answer]
        e_shift, r_shift = e_shift[answer], r_shift[answer]
        k = len(cust)
        frame = {"customer": cust,
                 "day": starts[mm] + rng.integers(0, 20, k),
                 "touchpoint_code": -1, "channel_code": -1, "survey_type": "relationship",
                 "tenure_months": t}
        z_nps = rng.standard_normal(k)
        frame["nps"] = _nps(0.6 * e + 0.25 * r + 0.5 * z_nps, 7.0)
        frame["nps_no_pilot"] = _nps(0.6 * (e - e_shift) + 0.25 * (r - r_shift) + 0.5 * z_nps, 7.0)
        frame["csat"] = _cut(0.45 * e + 0.45 * r + 0.5 * rng.standard_normal(k), CSAT_CUTS)
        frame["csat_no_pilot"] = frame["csat"]
        frame["ces"] = -1
        for items, construct in ((RATIONAL_ITEMS, r), (EMOTIONAL_ITEMS, e)):
            for item in items:
                lam = p.item_loadings[item]
                z = lam * construct + np.sqrt(1 - lam**2) * rng.standard_normal(k)
                frame[item] = _cut(z, LIKERT5)
        frame["expectation_met"] = _cut(-0.9 * pop.gap[cust] + 0.5 * rng.standard_normal(k),
                                        np.array([-1.5, -0.5, 0.5, 1.5]))
        frame["organisation"] = "crm"
        frames.append(pd.DataFrame(frame))
    return pd.concat(frames, ignore_index=True)


def make_responses(p: Params, pop: Population, j: Journey, rng: np.random.Generator,
                   text_rng: np.random.Generator) -> tuple[pd.DataFrame, dict]:
    """All survey responses (internal codes still attached) and the pilot's planted effects.

    Comments come last, from their own stream ``text_rng``, given the scores and the
    customers' churn (:func:`._comments.company_comments`), so changing how comments are
    written changes no other column."""
    frame = pd.concat([_transactional(p, pop, j, rng), _relationship(p, pop, j, rng)],
                      ignore_index=True)
    tp_code = frame["touchpoint_code"].to_numpy()
    frame["touchpoint"] = np.where(tp_code >= 0, np.array(TOUCHPOINTS, dtype=object)[tp_code],
                                   "relationship_survey")
    phase = {t: CATALOGUE[t][0] for t in TOUCHPOINTS}
    tenure = frame.get("tenure_months")
    frame["journey_phase"] = frame["touchpoint"].map(phase)
    rel = frame["survey_type"] == "relationship"
    frame.loc[rel, "journey_phase"] = np.where(tenure[rel] <= 3, "initial_use", "renewal")
    frame = frame[frame["day"] < month_starts(p)[-1]].sort_values(["day", "customer"], kind="stable")
    frame = frame.reset_index(drop=True)
    starts = month_starts(p)
    month = np.searchsorted(starts, frame["day"].to_numpy(), side="right") - 1
    texts, _, comments = company_comments(
        frame["nps"].to_numpy(), j.churn_day[frame["customer"].to_numpy()] >= 0, month,
        p.verbatim_share, text_rng)
    comments["emerging"]["from"] = str(
        (pd.Timestamp(p.start) + pd.DateOffset(months=comments["emerging"]["from_month"])).date())
    frame["verbatim"] = texts
    with_text = np.flatnonzero(frame["verbatim"].notna().to_numpy())
    planted = {}
    for key, pos in zip(PLANTED_TEXT, text_rng.choice(with_text, size=len(PLANTED_TEXT),
                                                      replace=False)):
        frame.at[pos, "verbatim"] = PLANTED_TEXT[key]
        planted[key] = int(pos)

    # pilot: monitor group, after the start, in answers that exist in both worlds
    start_day = month_starts(p)[p.pilot_start_month]
    post = pop.monitor[frame["customer"].to_numpy()] & (frame["day"].to_numpy() >= start_day)
    cc = post & (frame["organisation"] == "contact_centre").to_numpy()
    nps1, nps0 = frame.loc[post, "nps"], frame.loc[post, "nps_no_pilot"]
    effects = {
        "csat_contact_centre": float((frame.loc[cc, "csat"] - frame.loc[cc, "csat_no_pilot"]).mean()),
        "nps_points_0_10": float((nps1 - nps0).mean()),
        "nps_score": float(100 * (((nps1 >= 9).mean() - (nps1 <= 6).mean())
                                  - ((nps0 >= 9).mean() - (nps0 <= 6).mean()))),
        "n_post_responses": int(post.sum()),
    }
    return frame, {"planted_text_rows": planted, "pilot_effects": effects, "comments": comments}
