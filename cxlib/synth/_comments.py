"""Simulated survey comments in Japanese and English with planted topics and effects.

``simulate_comments(n, seed)`` draws, for each respondent, which topics the comment is about
(independent Bernoulli draws, one topic's share rising from ``emerging_from`` on), an NPS
answer from an ordered logit whose linear predictor adds each present topic's ``beta``, a
churn flag from a logit adding each topic's ``gamma``, and a comment written from phrasings
per topic x language x sentiment (negations, intensifiers, typos, half-width katakana,
full-width letters, mixed Japanese and English). The truth holds each topic's effect in the
units an analysis reports: NPS points with vs without the topic, and churn percentage points,
computed exactly by enumerating the other topics (their draws are independent).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

from ..checks import check_at_least

__all__ = ["simulate_comments", "COMMENT_TOPICS"]

# name: prevalence, beta (log-odds per NPS step), gamma (churn log-odds), in default codebook
COMMENT_TOPICS: dict[str, dict[str, Any]] = {
    "staff": dict(share=0.16, beta=0.6, gamma=-0.3, coded=True),
    "waiting": dict(share=0.14, beta=-0.8, gamma=0.3, coded=True),
    "explanation": dict(share=0.10, beta=0.3, gamma=0.0, coded=True),
    "price": dict(share=0.14, beta=-0.4, gamma=0.4, coded=True),
    "billing": dict(share=0.07, beta=-0.7, gamma=0.5, coded=True),
    "contract": dict(share=0.07, beta=-1.0, gamma=1.0, coded=True),
    "app_web": dict(share=0.10, beta=-0.4, gamma=0.2, coded=True),
    "delivery": dict(share=0.10, beta=0.0, gamma=0.0, coded=True),
    "quality": dict(share=0.10, beta=0.5, gamma=-0.2, coded=True),
    "parking": dict(share=0.08, beta=-0.3, gamma=0.0, coded=False),
}

# probabilities of each answer 0..10 with no topic: 25% detractors, 35% promoters
_BASE = np.array([0.02, 0.01, 0.02, 0.03, 0.03, 0.06, 0.08, 0.17, 0.23, 0.17, 0.18])
_CUTS = np.log(np.cumsum(_BASE)[:-1] / (1 - np.cumsum(_BASE)[:-1]))
_CHURN_BASE = -2.0

_P = {  # topic: {(lang, sentiment): phrasings}
    "staff": {
        ("ja", "+"): ["スタッフの方がとても親切でした。", "店員さんの対応が丁寧で{int}良かったです。",
                      "担当者の方が親身になってくれました。", "スタッフの態度は悪くなかったです。",
                      "ｽﾀｯﾌの笑顔が素敵でした。", "supportのスタッフが{int}親切でした。"],
        ("ja", "-"): ["スタッフの態度が悪かったです。", "店員が無愛想でした。",
                      "担当者の方が親切ではありませんでした。", "オペレーターの言葉遣いが失礼でした。",
                      "スタッフが{int}不親切で残念です。"],
        ("en", "+"): ["The staff were {int}friendly.", "The agent was patient and helpful.",
                      "Staff were not rude at all.", "The representative was lovely.",
                      "Ｔｈｅ ｓｔａｆｆ were great."],
        ("en", "-"): ["The staff were rude.", "The agent was not helpful at all.",
                      "Staff ignored me.", "The representative was {int}unfriendly.",
                      "Teh staff were rude."],
    },
    "waiting": {
        ("ja", "+"): ["ほとんど待たずに済みました。", "待ち時間は長くなかったです。",
                      "待ち時間が短くて助かりました。"],
        ("ja", "-"): ["待ち時間が{int}長すぎます。", "電話がなかなかつながらない。",
                      "一時間も待たされました。", "行列に並んで疲れました。"],
        ("en", "+"): ["I didn't have to wait long.", "No queue at all.",
                      "The wait was short."],
        ("en", "-"): ["I waited {int}too long.", "I was on hold for an hour.",
                      "The queue was ridiculous.", "Waiting time was awful."],
    },
    "explanation": {
        ("ja", "+"): ["説明が{int}分かりやすかったです。", "丁寧な説明で安心しました。",
                      "案内が分かりやすくて助かりました。"],
        ("ja", "-"): ["説明が分かりにくかったです。", "説明が足りなかった。",
                      "案内が不十分でした。"],
        ("en", "+"): ["Everything was explained clearly.", "The instructions were {int}clear.",
                      "The explanation was easy to follow."],
        ("en", "-"): ["Nobody explained anything.", "The instructions were confusing.",
                      "The explanation was not clear."],
    },
    "price": {
        ("ja", "+"): ["料金が安くて満足です。", "値段の割に良いと思います。", "料金は高くないと思う。"],
        ("ja", "-"): ["料金が{int}高すぎる。", "値上げにがっかりしました。", "価格が割高だと思います。"],
        ("en", "+"): ["The price is reasonable.", "Great value for money.",
                      "Not expensive at all."],
        ("en", "-"): ["It is {int}too expensive.", "The price went up again.", "Overpriced."],
    },
    "billing": {
        ("ja", "+"): ["請求書が分かりやすいです。", "引き落としがスムーズでした。"],
        ("ja", "-"): ["請求額が間違っていました。", "二重に請求されました。", "明細が分かりにくい。"],
        ("en", "+"): ["The invoice is clear.", "Billing is accurate."],
        ("en", "-"): ["I was charged twice.", "My bill was wrong again.",
                      "The invoice made no sense."],
    },
    "contract": {
        ("ja", "+"): ["契約の手続きが簡単でした。", "プラン変更がスムーズにできました。"],
        ("ja", "-"): ["解約の手続きが面倒すぎる。", "契約内容が分かりにくい。", "違約金に納得できません。",
                      "解約したいです。"],
        ("en", "+"): ["Switching my contract was simple.", "The renewal was painless."],
        ("en", "-"): ["Cancelling was a nightmare.", "The contract terms are unfair.",
                      "I want to cancel my subscription."],
    },
    "app_web": {
        ("ja", "+"): ["アプリが使いやすいです。", "ホームページが見やすくなりました。",
                      "appの操作が{int}簡単でした。"],
        ("ja", "-"): ["アプリがすぐ落ちる。", "ログインできない。", "サイトが{int}重いです。",
                      "アプリは使いやすくない。"],
        ("en", "+"): ["The app is easy to use.", "The website works well."],
        ("en", "-"): ["The app keeps crashing.", "I can't log in.", "The website is {int}slow."],
    },
    "delivery": {
        ("ja", "+"): ["配送が早かったです。", "梱包が丁寧でした。", "予定通りに届きました。"],
        ("ja", "-"): ["配達が遅れました。", "荷物が届かない。", "配送が{int}遅すぎる。"],
        ("en", "+"): ["Delivery was fast.", "The parcel arrived on time."],
        ("en", "-"): ["The delivery was late.", "My package never arrived."],
    },
    "quality": {
        ("ja", "+"): ["品質が{int}良いです。", "品質に不安はありません。", "性能に満足しています。"],
        ("ja", "-"): ["すぐに壊れました。", "品質が悪い。", "初期不良でした。"],
        ("en", "+"): ["The quality is {int}good.", "Durable and well made."],
        ("en", "-"): ["It broke after a week.", "Poor quality.", "The product was defective."],
    },
    "parking": {
        ("ja", "+"): ["駐車場が広くて停めやすい。", "駐車場が無料で助かります。"],
        ("ja", "-"): ["駐車場が狭すぎる。", "駐車場がいつも満車です。", "駐車場が{int}停めにくい。"],
        ("en", "+"): ["Parking was easy.", "Free parking is great."],
        ("en", "-"): ["Parking is a nightmare.", "The parking lot is always full."],
    },
}
_INTENSIFIERS = {"ja": ["", "", "とても", "本当に"], "en": ["", "", "really ", "very "]}
_OPENING = {"ja": ["", "", "いつもお世話になっております。", "今回の利用について。"],
            "en": ["", "", "Overall, ", "Just to say: "]}
_NO_TOPIC = {"ja": ["特にありません。", "普通です。", "今後ともよろしくお願いします。", "また利用します。"],
             "en": ["Nothing to add.", "It was fine.", "OK.", "No comment."]}
_ACTIONS = {"refund": {"ja": "返金してください。", "en": "Please refund me."},
            "callback": {"ja": "折り返し電話をお願いします。", "en": "Please call me back."}}
_HALF = str.maketrans("アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲンャュョッー",
                      "ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜｦﾝｬｭｮｯｰ")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _nps_of(eta: np.ndarray) -> np.ndarray:
    """NPS (points) of an ordered logit with linear predictor ``eta``."""
    det = _sigmoid(_CUTS[6] - eta)
    prom = 1 - _sigmoid(_CUTS[8] - eta)
    return 100 * (prom - det)


def _effects(topics: dict[str, dict], share: dict[str, float]) -> dict[str, dict[str, float]]:
    """Each topic's NPS-point and churn-point difference with vs without it, exactly."""
    names = list(topics)
    beta = np.array([topics[t]["beta"] for t in names])
    gamma = np.array([topics[t]["gamma"] for t in names])
    p = np.array([share[t] for t in names])
    out = {}
    for k, name in enumerate(names):
        others = [j for j in range(len(names)) if j != k]
        combos = np.array(list(itertools.product((0, 1), repeat=len(others))), dtype=float)
        weight = np.prod(np.where(combos == 1, p[others], 1 - p[others]), axis=1)
        eta = combos @ beta[others]
        lin = _CHURN_BASE + combos @ gamma[others]
        nps = weight @ (_nps_of(eta + beta[k]) - _nps_of(eta))
        churn = weight @ (_sigmoid(lin + gamma[k]) - _sigmoid(lin))
        out[name] = {"nps_points": float(nps), "churn_points": float(100 * churn)}
    return out


def _typo(text: str, rng: np.random.Generator) -> str:
    """One letter of a Latin word doubled (a typo that leaves keywords and words readable)."""
    letters = [i for i, c in enumerate(text) if c.isascii() and c.isalpha()]
    if not letters:
        return text
    i = letters[int(rng.integers(len(letters)))]
    return text[:i] + text[i] + text[i:]


def _phrase(topic: str, lang: str, positive: bool, rng: np.random.Generator) -> str:
    options = _P[topic][(lang, "+" if positive else "-")]
    text = options[int(rng.integers(len(options)))]
    return text.replace("{int}", _INTENSIFIERS[lang][int(rng.integers(4))])


def compose(present: list[str], lang: str, nps: int, rng: np.random.Generator,
            spec: dict[str, dict] | None = None) -> tuple[str, str | None]:
    """One comment about the ``present`` topics (in random order) in ``lang`` (ja, en or
    mixed), each phrased positively with a probability rising with the ``nps`` answer, and the
    action it asks for (refund, callback, cancel; None). A comment with no topic is a filler
    ("特に問題ありません", "OK."); typos and half-width katakana in a few."""
    spec = spec or COMMENT_TOPICS
    present = list(present)
    rng.shuffle(present)
    base = _OPENING["ja" if lang == "mixed" else lang][int(rng.integers(4))]
    parts = []
    for j, topic in enumerate(present):
        l_ = lang if lang != "mixed" else ("ja" if j % 2 == 0 else "en")
        positive = rng.random() < _sigmoid(0.8 * (nps - 7) + 0.5 * spec[topic]["beta"])
        parts.append(_phrase(topic, l_, bool(positive), rng))
    if not parts:
        pool = _NO_TOPIC["ja" if lang == "mixed" else lang]
        parts.append(pool[int(rng.integers(len(pool)))])
    action = None
    if nps <= 4 and rng.random() < 0.25:
        action = "refund" if rng.random() < 0.5 else "callback"
        parts.append(_ACTIONS[action]["ja" if lang != "en" else "en"])
    if action is None and ("解約したい" in "".join(parts) or "cancel my" in "".join(parts)):
        action = "cancel"
    text = base + (" " if lang != "ja" else "").join(parts)
    u = rng.random()
    if u < 0.05:
        text = _typo(text, rng)
    elif u < 0.10 and lang != "en":
        text = text.translate(_HALF)
    return text, action


def simulate_comments(n: int = 4000, seed: int = 0, months: int = 12,
                      start: str = "2025-01-01", comment_share: float = 0.8,
                      known_share: float = 0.8, emerging: str = "app_web",
                      emerging_from: int = 9, emerging_factor: float = 2.5,
                      topics: dict[str, dict] | None = None
                      ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``n`` survey answers with comments, and the truth they were drawn from.

    Columns: response_id, customer_id (None for ``1 - known_share`` anonymous answers),
    response_date, nps (0-10), churned (NA when anonymous), monthly_revenue, lang (ja, en,
    mixed), verbatim (None for ``1 - comment_share`` who wrote nothing). Topic ``emerging``
    is ``emerging_factor`` times as frequent from month ``emerging_from`` (0-based) on.
    Truth: per topic its share, beta, gamma, whether the default codebook covers it, its NPS
    and churn effects (points, with vs without), the planted topics and action requests of
    each response, and the emerging topic. Same seed, same comments.
    """
    check_at_least("n", n, 1, where="simulate_comments")
    spec = topics or COMMENT_TOPICS
    rng = np.random.default_rng(seed)
    names = list(spec)
    month = rng.integers(0, months, n)
    share = np.tile([spec[t]["share"] for t in names], (n, 1))
    if emerging in names:
        k = names.index(emerging)
        late = month >= emerging_from
        early_share = spec[emerging]["share"]
        share[:, k] = np.where(late, min(early_share * emerging_factor, 0.9), early_share)
    x = rng.random((n, len(names))) < share
    writes = rng.random(n) < comment_share
    x &= writes[:, None]                       # silent respondents mention nothing
    beta = np.array([spec[t]["beta"] for t in names])
    gamma = np.array([spec[t]["gamma"] for t in names])
    eta = x @ beta
    cum = _sigmoid(_CUTS[None, :] - eta[:, None])
    nps = (rng.random(n)[:, None] > cum).sum(axis=1)
    churn_p = _sigmoid(_CHURN_BASE + x @ gamma)
    churned = rng.random(n) < churn_p
    known = rng.random(n) < known_share
    revenue = np.round(np.exp(rng.normal(np.log(5000), 0.6, n)), -1)

    texts: list[str | None] = []
    langs: list[str] = []
    actions: dict[str, str] = {}
    ids = [f"V{i:06d}" for i in range(1, n + 1)]
    for i in range(n):
        r = rng.random()
        lang = "ja" if r < 0.65 else "en" if r < 0.92 else "mixed"
        langs.append(lang)
        if not writes[i]:
            texts.append(None)
            continue
        text, action = compose([names[j] for j in np.flatnonzero(x[i])], lang, int(nps[i]),
                               rng, spec)
        texts.append(text)
        if action:
            actions[ids[i]] = action

    frame = pd.DataFrame({
        "response_id": ids,
        "customer_id": [f"K{i:06d}" if k else None for i, k in enumerate(known, 1)],
        "response_date": (pd.Timestamp(start) + pd.to_timedelta(
            month * 30 + rng.integers(0, 28, n), unit="D")).astype("datetime64[ns]"),
        "nps": nps.astype("int64"),
        "churned": pd.array(np.where(known, churned, None), dtype="boolean"),
        "monthly_revenue": revenue,
        "lang": langs,
        "verbatim": pd.array(texts, dtype="string"),
    })
    mean_share = {t: float(share[:, k].mean()) for k, t in enumerate(names)}
    effects = _effects(spec, mean_share)
    truth = {
        "seed": seed, "n": n,
        "scales": {"beta": "log-odds per step of the ordered-logit NPS answer",
                   "gamma": "log-odds of churn", "nps_points": "NPS with minus without (points)",
                   "churn_points": "churn rate with minus without (percentage points)"},
        "topics": {t: {"share": mean_share[t], "beta": spec[t]["beta"], "gamma": spec[t]["gamma"],
                       "in_default_codebook": bool(spec[t].get("coded", True)), **effects[t]}
                   for t in names},
        "emerging": {"topic": emerging, "from_month": emerging_from, "factor": emerging_factor},
        "planted": {ids[i]: [names[j] for j in np.flatnonzero(x[i])] for i in range(n)},
        "actions": actions,
    }
    return frame, truth


# The sample company's comments (make_company): who writes and what about, given the answers
# already simulated. Topic presence leans on the score (beta: a topic with a negative beta is
# mentioned more the lower the score) and on the customer's churn (gamma), so each topic has
# a known association with NPS and churn while every other column stays as it was drawn.
COMPANY_LANGUAGES = {"ja": 0.75, "en": 0.17, "mixed": 0.08}
COMPANY_WRITE = {"detractor": 1.5, "passive": 1.0, "promoter": 0.8}  # x verbatim_share
COMPANY_SCORE_SLOPE = 0.35    # log-odds of a mention per NPS step, times the topic's beta
COMPANY_EMERGING = {"topic": "app_web", "from_month": 33, "factor": 2.5}  # odds x factor


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def company_comments(nps: np.ndarray, churned: np.ndarray, month: np.ndarray,
                     verbatim_share: float, rng: np.random.Generator,
                     topics: dict[str, dict] | None = None
                     ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Comments for answers already simulated: ``nps`` (0-10), the customer's ``churned``
    flag and the answer's ``month`` (0-based) per answer.

    An answer carries a comment with probability ``verbatim_share`` x
    :data:`COMPANY_WRITE` of its NPS group; a comment mentions topic k with probability
    ``sigmoid(logit(share_k) + COMPANY_SCORE_SLOPE * beta_k * (nps - 7) + gamma_k * churned)``
    (odds x ``factor`` for the emerging topic from its month on), independently across
    topics. Returns the texts (None: no comment), the planted topics (answers x topics,
    boolean) and the truth: per topic the expected NPS points and churn percentage points
    with minus without the topic, over all answers (those without a comment count as
    "without"), unweighted, as :func:`cxlib.text.topic_impact` estimates them, computed
    exactly from the mention probabilities q given each answer's score, churn and month:
    ``sum q v / sum q - sum (1 - q) v / sum (1 - q)``.
    """
    spec = topics or COMMENT_TOPICS
    names = list(spec)
    n = len(nps)
    nps = np.asarray(nps, dtype=int)
    churn = np.asarray(churned, dtype=float)
    group = np.where(nps >= 9, "promoter", np.where(nps <= 6, "detractor", "passive"))
    p_write = np.clip(verbatim_share * np.vectorize(COMPANY_WRITE.get)(group), 0, 1)
    beta = np.array([spec[t]["beta"] for t in names])
    gamma = np.array([spec[t]["gamma"] for t in names])
    base = np.array([_logit(spec[t]["share"]) for t in names])
    lin = (base[None, :] + COMPANY_SCORE_SLOPE * beta[None, :] * (nps[:, None] - 7)
           + gamma[None, :] * churn[:, None])
    em = COMPANY_EMERGING
    if em["topic"] in names:
        k = names.index(em["topic"])
        lin[:, k] += np.log(em["factor"]) * (np.asarray(month) >= em["from_month"])
    p_topic = _sigmoid(lin)
    writes = rng.random(n) < p_write
    planted = (rng.random((n, len(names))) < p_topic) & writes[:, None]
    lang_names, lang_p = list(COMPANY_LANGUAGES), np.array(list(COMPANY_LANGUAGES.values()))
    langs = np.array(lang_names)[rng.choice(len(lang_names), size=n, p=lang_p)]
    texts = np.full(n, None, dtype=object)
    actions = {"refund": 0, "callback": 0, "cancel": 0}
    for i in np.flatnonzero(writes):
        texts[i], action = compose([names[j] for j in np.flatnonzero(planted[i])], langs[i],
                                   int(nps[i]), rng, spec)
        if action:
            actions[action] += 1

    v = np.where(nps >= 9, 100.0, np.where(nps <= 6, -100.0, 0.0))
    q = p_write[:, None] * p_topic                       # P(the answer mentions topic k)

    def with_without(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return (weights.T @ values / weights.sum(0)
                - (1 - weights).T @ values / (1 - weights).sum(0))

    def realised(values: np.ndarray) -> np.ndarray:
        x = planted.astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            return x.T @ values / x.sum(0) - (1 - x).T @ values / (1 - x).sum(0)

    nps_points, churn_points = with_without(v, q), with_without(100 * churn, q)
    nps_real, churn_real = realised(v), realised(100 * churn)
    truth = {
        "scales": {
            "nps_points": "NPS of answers whose comment mentions the topic minus NPS of all "
                          "other answers (no comment counts as without), unweighted, as "
                          "cxlib.text.topic_impact estimates it; expected over the topic "
                          "draws given each answer's score, churn flag and month",
            "churn_points": "churn rate (customers.churned, per answer) with minus without "
                            "the topic, percentage points, same expectation",
            "beta": "log-odds of a mention per NPS step is COMPANY_SCORE_SLOPE x beta",
            "gamma": "log-odds of a mention when the customer churned",
            "realised": "the same differences on the topics actually planted in this draw",
        },
        "comment_share": float(writes.mean()),
        "write_factor_by_nps_group": COMPANY_WRITE,
        "score_slope": COMPANY_SCORE_SLOPE,
        "languages": COMPANY_LANGUAGES,
        "emerging": dict(em),
        "topics": {t: {"share_of_comments": float(planted[writes, k].mean()) if writes.any()
                       else 0.0,
                       "n_planted": int(planted[:, k].sum()),
                       "beta": spec[t]["beta"], "gamma": spec[t]["gamma"],
                       "in_default_codebook": bool(spec[t].get("coded", True)),
                       "nps_points": float(nps_points[k]),
                       "churn_points": float(churn_points[k]),
                       "realised_nps_points": float(nps_real[k]),
                       "realised_churn_points": float(churn_real[k])}
                   for k, t in enumerate(names)},
        "actions": actions,
    }
    return texts, planted, truth
