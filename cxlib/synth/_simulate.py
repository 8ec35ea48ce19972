"""Customers, their latent experience and a monthly journey simulation.

Discrete-time: each month every active customer may contact support, use
self-service, refer a friend, receive a renewal offer, and churn with a logit
hazard (see :class:`~cxlib.synth._params.Params`). Vectorised over customers,
looped over months.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from ._params import ORGANISATIONS, Params

# touchpoint -> (journey phase, organisation, default channel, event type)
CATALOGUE: dict[str, tuple[str, str, str, str]] = {
    "tv_ad": ("research", "advertising", "tv", "exposure"),
    "search_ad": ("research", "advertising", "online", "exposure"),
    "website_visit": ("research", "web", "online", "visit"),
    "store_consultation": ("selection", "stores", "store", "consultation"),
    "web_comparison": ("selection", "web", "online", "visit"),
    "store_purchase": ("purchase", "stores", "store", "purchase"),
    "online_checkout": ("purchase", "web", "online", "purchase"),
    "welcome_email": ("initial_use", "crm", "email", "communication"),
    "onboarding_call": ("initial_use", "contact_centre", "phone", "onboarding"),
    "app_setup": ("initial_use", "web", "app", "visit"),
    "setup_support": ("initial_use", "contact_centre", "phone", "contact"),
    "support_contact": ("use_support", "contact_centre", "phone", "contact"),
    "app_self_service": ("use_support", "web", "app", "visit"),
    "store_visit": ("use_support", "stores", "store", "visit"),
    "complaint": ("recommend_complain", "contact_centre", "phone", "complaint"),
    "referral": ("recommend_complain", "crm", "online", "referral"),
    "renewal_offer": ("renewal", "crm", "email", "communication"),
    "cancellation": ("renewal", "contact_centre", "phone", "cancellation"),
    "app_session": ("use_support", "web", "app", "visit"),  # only when app_sessions_per_month > 0
}
TOUCHPOINTS: tuple[str, ...] = tuple(CATALOGUE)
TP = {name: i for i, name in enumerate(TOUCHPOINTS)}
ORG_OF_TP = np.array([ORGANISATIONS.index(CATALOGUE[t][1]) for t in TOUCHPOINTS])
CHANNELS: tuple[str, ...] = ("tv", "online", "store", "email", "phone", "app", "chat")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _choice(rng: np.random.Generator, shares: dict[str, float], n: int) -> np.ndarray:
    keys = list(shares)
    p = np.array([shares[k] for k in keys], dtype=float)
    return np.array(keys, dtype=object)[rng.choice(len(keys), size=n, p=p / p.sum())]


@dataclass
class Population:
    """Customers' attributes and latent (unobserved) variables, one row each."""

    channel: np.ndarray
    plan: np.ndarray
    segment: np.ndarray
    region: np.ndarray
    monitor: np.ndarray          # in the pilot monitor group
    signup_month: np.ndarray     # 0-based month index
    signup_day: np.ndarray       # days since params.start
    quality: np.ndarray          # (n, 5) touchpoint quality per organisation
    cxi: np.ndarray              # integrated CX index (unit variance)
    emotional: np.ndarray
    rational: np.ndarray
    gap: np.ndarray              # expectation minus experience
    spend_noise: np.ndarray


def month_starts(p: Params) -> np.ndarray:
    """Day offset (from params.start) of each month start, months + 1 entries."""
    m0 = np.datetime64(p.start, "M")
    starts = (m0 + np.arange(p.months + 1)).astype("datetime64[D]")
    return (starts - np.datetime64(p.start, "D")).astype(int)


def draw_population(p: Params, n: int, rng: np.random.Generator) -> Population:
    channel = _choice(rng, p.channel_share, n)
    plan = _choice(rng, p.plan_share, n)
    segment = _choice(rng, p.segment_share, n)
    region = _choice(rng, p.region_share, n)
    monitor = (region == p.pilot_region) & (rng.random(n) < p.pilot_share_of_region)

    # signup month: uniform, the hyped channel bunched in its campaign months
    weights = np.ones(p.months)
    campaign = np.full(p.months, 0.15)
    campaign[list(p.campaign_months)] = 1.0
    hyped = channel == p.hyped_channel
    signup_month = np.where(
        hyped,
        rng.choice(p.months, size=n, p=campaign / campaign.sum()),
        rng.choice(p.months, size=n, p=weights / weights.sum()),
    )
    starts = month_starts(p)
    length = np.diff(starts)
    signup_day = starts[signup_month] + np.floor(rng.random(n) * length[signup_month]).astype(int)

    rho = p.quality_common
    common = rng.standard_normal((n, 1))
    quality = np.sqrt(rho) * common + np.sqrt(1 - rho) * rng.standard_normal((n, len(ORGANISATIONS)))
    unknown = set(p.quality_shift) - set(ORGANISATIONS)
    if unknown:
        raise ParameterError(f"quality_shift: unknown organisation(s) {sorted(unknown)}; the "
                             f"organisations are {', '.join(ORGANISATIONS)}")
    quality = quality + np.array([p.quality_shift.get(o, 0.0) for o in ORGANISATIONS])
    gamma = np.array([p.cxi_weights[o] for o in ORGANISATIONS])
    explained = (1 - rho) * (gamma**2).sum() + rho * gamma.sum() ** 2
    if explained >= 1:
        raise ParameterError("cxi_weights explain more than the unit variance of the CX index")
    cxi = quality @ gamma + np.sqrt(1 - explained) * rng.standard_normal(n)

    lam_e, lam_r = p.loading_emotional_on_cxi, p.loading_rational_on_cxi
    emotional = lam_e * cxi + np.sqrt(1 - lam_e**2) * rng.standard_normal(n)
    rational = lam_r * cxi + np.sqrt(1 - lam_r**2) * rng.standard_normal(n)
    promise = np.array([p.promise[c] for c in channel])
    gap = promise + 0.5 * rng.standard_normal(n) - 0.3 * cxi
    spend_noise = p.spend_noise_sd * rng.standard_normal(n)
    return Population(channel, plan, segment, region, monitor, signup_month, signup_day,
                      quality, cxi, emotional, rational, gap, spend_noise)


class _EventLog:
    """Columns of the touchpoint log, appended month by month."""

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {k: [] for k in (
            "customer", "day", "touchpoint", "channel", "resolved", "experience",
            "shift", "emotional", "rational", "shift_emotional", "shift_rational")}

    def add(self, customer: np.ndarray, day: np.ndarray, touchpoint: int | np.ndarray,
            state: dict[str, np.ndarray], rng: np.random.Generator,
            channel: np.ndarray | None = None, resolved: np.ndarray | None = None,
            bonus: np.ndarray | float = 0.0) -> None:
        k = len(customer)
        if k == 0:
            return
        tp = np.broadcast_to(np.asarray(touchpoint), (k,)).astype(int)
        org = ORG_OF_TP[tp]
        if channel is None:
            channel = np.array([CHANNELS.index(CATALOGUE[TOUCHPOINTS[t]][2]) for t in tp])
        shift = state["shift"][customer, org]
        experience = state["quality"][customer, org] + shift + 0.8 * rng.standard_normal(k) + bonus
        self.parts["customer"].append(customer)
        self.parts["day"].append(np.asarray(day, dtype=int))
        self.parts["touchpoint"].append(tp)
        self.parts["channel"].append(np.asarray(channel, dtype=int))
        self.parts["resolved"].append(np.full(k, -1) if resolved is None else resolved.astype(int))
        self.parts["experience"].append(experience)
        self.parts["shift"].append(shift)
        for name in ("emotional", "rational", "shift_emotional", "shift_rational"):
            self.parts[name].append(state[name][customer])

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v) for k, v in self.parts.items()}


@dataclass
class Journey:
    events: dict[str, np.ndarray]
    churn_day: np.ndarray          # -1 if still active at the end
    churn_month: np.ndarray        # -1 if still active
    revenue: np.ndarray            # JPY billed to date
    monthly_spend: np.ndarray      # JPY per month (last value)
    billed_months: np.ndarray
    monthly: dict[str, np.ndarray]  # company-level per month: active, new, churned, revenue
    pilot_fcr_att: float            # true effect of the pilot on P(first-contact resolution)


def _pre_purchase(pop: Population, new: np.ndarray, log: _EventLog, state: dict,
                  rng: np.random.Generator, hyped: str) -> None:
    day = pop.signup_day[new]
    ch = pop.channel[new]
    for tp, who in (("tv_ad", ch == hyped), ("search_ad", ch == "search_ads")):
        for rep in range(2):
            keep = who & (rng.random(len(new)) < (1.0 if rep == 0 else 0.5))
            log.add(new[keep], day[keep] - rng.integers(8, 40, keep.sum()), TP[tp], state, rng)
    for share in (0.8, 0.6):
        visit = rng.random(len(new)) < share
        log.add(new[visit], day[visit] - rng.integers(5, 25, visit.sum()), TP["website_visit"],
                state, rng)
    in_store = (ch == "store_walk_in") | (rng.random(len(new)) < 0.3)
    log.add(new[in_store], day[in_store] - rng.integers(0, 5, in_store.sum()),
            TP["store_consultation"], state, rng)
    web = ~in_store & (rng.random(len(new)) < 0.7)
    log.add(new[web], day[web] - rng.integers(0, 5, web.sum()), TP["web_comparison"], state, rng)
    log.add(new, day, np.where(in_store, TP["store_purchase"], TP["online_checkout"]), state, rng)
    log.add(new, day + 1, TP["welcome_email"], state, rng)
    onboard = rng.random(len(new)) < 0.5
    log.add(new[onboard], day[onboard] + rng.integers(3, 21, onboard.sum()),
            TP["onboarding_call"], state, rng)
    setup = rng.random(len(new)) < 0.6
    log.add(new[setup], day[setup] + rng.integers(1, 15, setup.sum()), TP["app_setup"], state, rng)


def simulate_journey(p: Params, pop: Population, rng: np.random.Generator) -> Journey:
    n = len(pop.channel)
    starts = month_starts(p)
    gamma = np.array([p.cxi_weights[o] for o in ORGANISATIONS])
    pilot_shift = np.array([p.pilot_quality_shift.get(o, 0.0) for o in ORGANISATIONS])
    price = np.array([p.plan_price_jpy[k] for k in pop.plan])
    price = price * np.where(pop.segment == "small_business", p.small_business_spend_factor, 1.0)
    plan_effect = np.array([p.churn_plan[k] for k in pop.plan])
    base_logit = plan_effect + p.churn_small_business * (pop.segment == "small_business")
    gap_pos = np.clip(pop.gap, 0, None)

    state = {
        "quality": pop.quality,
        "shift": np.zeros_like(pop.quality),
        "emotional": pop.emotional.copy(),
        "rational": pop.rational.copy(),
        "shift_emotional": np.zeros(n),
        "shift_rational": np.zeros(n),
    }
    log = _EventLog()
    alive = np.ones(n, dtype=bool)
    churn_day = np.full(n, -1)
    churn_month = np.full(n, -1)
    revenue = np.zeros(n)
    spend = np.zeros(n)
    billed = np.zeros(n, dtype=int)
    unresolved_hist = np.zeros((n, 3))
    monthly = {k: np.zeros(p.months) for k in ("active", "new", "churned", "revenue")}
    fcr_p1: list[np.ndarray] = []
    fcr_p0: list[np.ndarray] = []
    chat = CHANNELS.index("chat")
    phone = CHANNELS.index("phone")

    for m in range(p.months):
        if m == p.pilot_start_month:
            state["shift"][pop.monitor] = pilot_shift
            d_cxi = float(pilot_shift @ gamma)
            state["shift_emotional"][pop.monitor] = p.loading_emotional_on_cxi * d_cxi
            state["shift_rational"][pop.monitor] = p.loading_rational_on_cxi * d_cxi
            state["emotional"][pop.monitor] += p.loading_emotional_on_cxi * d_cxi
            state["rational"][pop.monitor] += p.loading_rational_on_cxi * d_cxi
        lo, length = starts[m], starts[m + 1] - starts[m]
        new = np.flatnonzero(pop.signup_month == m)
        _pre_purchase(pop, new, log, state, rng, p.hyped_channel)
        monthly["new"][m] = len(new)

        act = np.flatnonzero(alive & (pop.signup_month <= m))
        tenure = m - pop.signup_month[act]
        first_day = np.maximum(lo, pop.signup_day[act])
        span = np.maximum(lo + length - first_day, 1)

        def days(who: np.ndarray) -> np.ndarray:
            return first_day[who] + np.floor(rng.random(who.sum()) * span[who]).astype(int)

        # support contacts, first-contact resolution, repeats and complaints
        q_cc = pop.quality[act, 3] + state["shift"][act, 3]
        contact = rng.random(len(act)) < _sigmoid(
            p.contact_intercept + p.contact_initial_use * (tenure <= 3) + p.contact_quality * q_cc)
        c_idx = act[contact]
        u_fcr = rng.random(len(c_idx))
        p1 = _sigmoid(p.fcr_intercept + p.fcr_quality * q_cc[contact])
        resolved = u_fcr < p1
        if m >= p.pilot_start_month:
            mon = pop.monitor[c_idx]
            fcr_p1.append(p1[mon])
            fcr_p0.append(_sigmoid(p.fcr_intercept + p.fcr_quality * pop.quality[c_idx[mon], 3]))
        c_day = days(contact)
        c_tp = np.where(tenure[contact] <= 3, TP["setup_support"], TP["support_contact"])
        c_ch = np.where(rng.random(len(c_idx)) < 0.4, chat, phone)
        log.add(c_idx, c_day, c_tp, state, rng, channel=c_ch, resolved=resolved,
                bonus=np.where(resolved, 0.5, -0.8))
        rep = ~resolved
        log.add(c_idx[rep], c_day[rep] + rng.integers(1, 21, rep.sum()), TP["support_contact"],
                state, rng, channel=c_ch[rep], bonus=-1.0)
        compl = rep & (rng.random(len(c_idx)) < 0.25)
        log.add(c_idx[compl], c_day[compl] + rng.integers(5, 30, compl.sum()), TP["complaint"],
                state, rng, bonus=-1.2)
        unresolved_now = np.zeros(n)
        unresolved_now[c_idx[rep]] = 1.0
        unresolved_hist = np.column_stack([unresolved_hist[:, 1:], unresolved_now])

        for tp, prob in (("app_self_service", 0.12), ("store_visit", 0.05)):
            who = rng.random(len(act)) < prob
            log.add(act[who], days(who), TP[tp], state, rng)
        if p.app_sessions_per_month > 0:  # event volume of a real app; off in the sample
            k = rng.poisson(p.app_sessions_per_month, len(act))
            who = np.repeat(np.arange(len(act)), k)
            log.add(act[who], first_day[who] + np.floor(rng.random(len(who)) * span[who]).astype(int),
                    TP["app_session"], state, rng)
        refer = rng.random(len(act)) < _sigmoid(-4.2 + 1.0 * state["emotional"][act])
        log.add(act[refer], days(refer), TP["referral"], state, rng)
        offer = (tenure % 12 == 11)
        log.add(act[offer], days(offer), TP["renewal_offer"], state, rng)

        # billing for the month, then the churn decision (from the first full month on)
        cxi_now = pop.cxi[act] + state["shift"][act] @ gamma
        spend_now = price[act] * np.exp(p.spend_cxi * cxi_now + pop.spend_noise[act])
        revenue[act] += spend_now
        spend[act] = spend_now
        billed[act] += 1
        monthly["active"][m] = len(act)
        monthly["revenue"][m] = spend_now.sum()

        logit = (p.churn_intercept + base_logit[act]
                 + p.churn_emotional * state["emotional"][act]
                 + p.churn_rational * state["rational"][act]
                 + p.churn_gap_first_year * gap_pos[act] * (tenure < 12)
                 + p.churn_unresolved * unresolved_hist[act].sum(axis=1)
                 + p.churn_renewal_month * ((tenure % 12 == 0) & (tenure > 0)))
        leave = (tenure >= 1) & (rng.random(len(act)) < _sigmoid(logit))
        gone = act[leave]
        alive[gone] = False
        churn_month[gone] = m
        churn_day[gone] = days(leave)
        monthly["churned"][m] = len(gone)
        log.add(gone, churn_day[gone], TP["cancellation"], state, rng, bonus=-0.5)

    att = float(np.mean(np.concatenate(fcr_p1) - np.concatenate(fcr_p0))) if fcr_p1 else float("nan")
    return Journey(log.arrays(), churn_day, churn_month, revenue, spend, billed, monthly, att)
