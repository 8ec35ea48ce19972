"""Planted parameters of the simulated company (the ground truth tests read).

All effects are on stated scales: latent constructs are standard normal, churn
effects are log-odds of the *monthly* churn probability (discrete-time logit
hazard), revenue effects are log-points of monthly spend.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..vocab import EMOTIONAL_ITEMS, JOURNEY_PHASES, ORGANISATIONS, RATIONAL_ITEMS

__all__ = ["Params", "EMOTIONAL_ITEMS", "JOURNEY_PHASES", "ORGANISATIONS", "RATIONAL_ITEMS"]


@dataclass(frozen=True)
class Params:
    """Every knob of the simulator; the defaults are the planted truth."""

    start: str = "2023-01-01"
    months: int = 36
    # acquisition mix and the expectation each channel's advertising sets
    channel_share: dict[str, float] = field(default_factory=lambda: {
        "search_ads": 0.24, "web_organic": 0.20, "store_walk_in": 0.24,
        "referral": 0.12, "tv_campaign": 0.20,
    })
    hyped_channel: str = "tv_campaign"
    campaign_months: tuple[int, ...] = (3, 4, 5, 15, 16, 17, 27, 28, 29)
    promise: dict[str, float] = field(default_factory=lambda: {
        "search_ads": 0.2, "web_organic": 0.0, "store_walk_in": -0.1,
        "referral": -0.3, "tv_campaign": 1.4,
    })
    plan_share: dict[str, float] = field(default_factory=lambda: {
        "basic": 0.50, "standard": 0.35, "premium": 0.15,
    })
    plan_price_jpy: dict[str, float] = field(default_factory=lambda: {
        "basic": 2980.0, "standard": 4980.0, "premium": 9800.0,
    })
    segment_share: dict[str, float] = field(default_factory=lambda: {
        "consumer": 0.8, "small_business": 0.2,
    })
    region_share: dict[str, float] = field(default_factory=lambda: {
        "Kanto": 0.35, "Kansai": 0.20, "Chubu": 0.15, "Kyushu": 0.12,
        "Tohoku": 0.08, "Hokkaido": 0.05, "Chugoku": 0.05,
    })
    # touchpoint quality per organisation: q_k = sqrt(rho) f + sqrt(1-rho) e_k
    quality_common: float = 0.3
    # what-if: shift added to an organisation's latent quality (SD units) after drawing it,
    # so two companies with the same seed differ only by the shift (common random numbers)
    quality_shift: dict[str, float] = field(default_factory=dict)
    # integrated CX index: CXI = sum_k gamma_k q_k + residual, unit variance
    cxi_weights: dict[str, float] = field(default_factory=lambda: {
        "advertising": 0.10, "web": 0.25, "stores": 0.25, "contact_centre": 0.35, "crm": 0.20,
    })
    # constructs: E = lam_E CXI + ..., R = lam_R CXI + ... (unit variance)
    loading_emotional_on_cxi: float = 0.65
    loading_rational_on_cxi: float = 0.60
    item_loadings: dict[str, float] = field(default_factory=lambda: {
        "rat_value": 0.72, "rat_quality": 0.80, "rat_convenience": 0.65,
        "emo_trust": 0.80, "emo_valued": 0.78, "emo_pride": 0.70, "emo_attachment": 0.82,
    })
    # churn: logit of monthly churn probability
    churn_intercept: float = -4.9
    churn_emotional: float = -0.40      # per SD of emotional attachment
    churn_rational: float = 0.20        # per SD of rational satisfaction: deal-seekers shop around
    churn_gap_first_year: float = 1.9   # per unit of positive expectation gap, tenure < 12 months
    churn_unresolved: float = 0.6       # per unresolved first contact in the last 3 months
    churn_renewal_month: float = 0.9    # extra at each 12-month anniversary (renewal)
    churn_plan: dict[str, float] = field(default_factory=lambda: {
        "basic": 0.1, "standard": 0.0, "premium": -0.3,
    })
    churn_small_business: float = -0.2
    # contact centre
    contact_intercept: float = -2.4     # logit of a support contact in a month
    contact_initial_use: float = 0.8    # extra in the first 4 months (tenure 0-3)
    contact_quality: float = -0.3       # per SD of contact-centre quality
    fcr_intercept: float = 1.0          # logit of resolving on first contact
    fcr_quality: float = 0.8            # per SD of contact-centre quality
    # revenue: log monthly spend = log price + spend_cxi * CXI + noise
    spend_cxi: float = 0.08
    spend_noise_sd: float = 0.10
    small_business_spend_factor: float = 1.6
    # pilot ("monitor group"): a share of one region's customers, integrated touchpoints
    pilot_region: str = "Chubu"
    pilot_share_of_region: float = 0.30
    pilot_start_month: int = 27         # 2025-04
    pilot_quality_shift: dict[str, float] = field(default_factory=lambda: {
        "contact_centre": 0.6, "crm": 0.4,
    })
    # surveys
    transactional_invite: float = 0.35
    relationship_tenures: tuple[int, ...] = (3, 11, 23, 35)
    verbatim_share: float = 0.3
    # event volume: app sessions per active customer and month (Poisson); 0 in the sample,
    # about 6 gives warehouse-scale touchpoint tables (~100 events per customer)
    app_sessions_per_month: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
