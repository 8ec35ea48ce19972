"""Example datasets shaped like real exports, with planted truth (``data/examples/``).

``write_examples(out_dir, seed=0)`` writes three folders, each well under 1 MB:

- ``survey_only/``: a store survey exported from Qualtrics and saved by Japanese Excel
  (CP932, three header rows), two monthly waves, NPS, CSAT 1-10, CES 1-5 (5 = much effort),
  three rational and three emotional items, comments (two with a phone number or an e-mail
  address), embedded data ``store`` and ``region``, no customer ids;
- ``crm_only/``: a CRM extract (UTF-8, its own column names): signup, plan, lead source,
  monthly fee, cancellation flag and date;
- ``surveymonkey_crm/``: a SurveyMonkey export (two header rows, e-mail invitations) and a
  customer master keyed by customer id that also holds each customer's e-mail.

Each folder gets a ``truth.json``: the parameters planted and what this draw realised (the
numbers the tests check the library against). Same seed, same bytes:
``python -m cxlib.synth._examples --out data/examples`` rebuilds the committed files
(``cx.yml`` and ``README.md`` there are written by hand and left alone).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from .. import paths

__all__ = ["write_examples", "EXAMPLES", "generated_files"]

EXAMPLES = ("survey_only", "crm_only", "surveymonkey_crm")
LIKERT5 = np.array([-1.2, -0.4, 0.5, 1.3])

# -- (a) survey only ---------------------------------------------------------------------------

STORES = {  # code: (region, planted shift of the NPS and CSAT latent)
    "S01": ("関東", 0.0), "S02": ("関東", 0.25), "S03": ("関西", -0.35), "S04": ("関西", 0.1)}
WAVES = {  # file month: (first fieldwork day, days open, answers, planted shift)
    "2026-09": ("2026-09-15", 30, 310, 0.0), "2026-10": ("2026-10-15", 31, 330, 0.15)}
ITEMS_A = {  # field id: (construct, question, loading)
    "Q4_1": ("rational", "価格に見合う価値がある", 0.80),
    "Q4_2": ("rational", "商品の品質が良い", 0.75),
    "Q4_3": ("rational", "店舗の立地・営業時間が便利だ", 0.70),
    "Q4_4": ("emotional", "このお店を信頼している", 0.80),
    "Q4_5": ("emotional", "お客様として大切にされていると感じる", 0.75),
    "Q4_6": ("emotional", "このお店に愛着がある", 0.70),
}
BATTERY_A = "以下の点について、どの程度そう思いますか？"
QUESTIONS_A = {
    "Q1": "このお店を友人や知人に薦める可能性はどのくらいありますか？（0＝まったくない～10＝非常に高い）",
    "Q2": "今回のご来店について、全体としてどの程度満足されましたか？（1＝非常に不満～10＝非常に満足）",
    "Q3": "本日のお買い物・お手続きにどの程度の手間がかかりましたか？"
          "（1＝ほとんどかからなかった～5＝非常に手間がかかった）",
    **{k: f"{BATTERY_A} - {q}" for k, (_, q, _) in ITEMS_A.items()},
    "Q5": "このお店についてご意見・ご感想があればご自由にお書きください。",
}
META_A = {  # Qualtrics field: (Japanese label, ImportId)
    "StartDate": ("開始日", "startDate"), "EndDate": ("終了日", "endDate"),
    "Status": ("回答タイプ", "status"), "Progress": ("進捗状況", "progress"),
    "Duration (in seconds)": ("期間 (秒)", "duration"), "Finished": ("終了済み", "finished"),
    "RecordedDate": ("記録日", "recordedDate"), "ResponseId": ("回答 ID", "_recordId"),
    "DistributionChannel": ("配信チャネル", "distributionChannel"),
    "UserLanguage": ("ユーザー言語", "userLanguage"),
}
NPS_A = {"centre": 7.0, "per_unit": 2.0, "emotional": 0.55, "rational": 0.25, "noise": 0.5}
CSAT_A = {"rational": 0.5, "emotional": 0.35, "noise": 0.55,
          "cuts": [-2.4, -2.0, -1.6, -1.2, -0.8, -0.35, 0.15, 0.7, 1.3]}
CES_A = {"rational": -0.6, "emotional": -0.2, "noise": 0.7, "cuts": [-1.0, -0.2, 0.6, 1.4],
         "asked_share": 0.85}
COMMENTS_A = {
    "neg": ["レジの待ち時間が長すぎます。", "店員さんに声をかけても対応してもらえませんでした。",
            "価格の割に品質がいまひとつです。", "①駐車場が狭い ②レジが混んでいる、の二点が不満です。",
            "欲しい商品の在庫がありませんでした。"],
    "mid": ["普通でした。", "特に問題はありません。", "品揃えはまあまあです。",
            "もう少し営業時間が長いと助かります。"],
    "pos": ["スタッフの方がとても親切でした！", "いつも気持ちよく買い物ができます。",
            "商品の説明が分かりやすく、安心して購入できました。", "このお店が一番好きです。"],
}
PII_A = {  # planted personal data: must be masked wherever comments are shown
    "phone": "店員さんの対応がとても良かったです。お礼を伝えたいので電話番号090-2468-1357まで"
             "ご連絡ください。",
    "email": "返品について相談したいです。連絡先は hanako.suzuki@example.jp です。",
}

# -- (b) CRM only ------------------------------------------------------------------------------

PLANS_B = {"ライト": (1980, 0.030), "スタンダード": (3980, 0.020), "プレミアム": (6980, 0.012)}
"""plan: (monthly fee in JPY, planted monthly churn hazard)"""
LEADS_B = {"Web広告": 1.0, "紹介": 0.6, "テレビCM": 1.7, "店頭": 0.9}
"""lead source: planted hazard ratio"""
PREFECTURES = ("東京都", "神奈川県", "大阪府", "愛知県", "福岡県")
SNAPSHOT_B = "2026-10-31"

# -- (c) SurveyMonkey + customer master -------------------------------------------------------

ITEMS_C = {  # sub-question: (construct, loading)
    "料金に見合う価値がある": ("rational", 0.80), "サービスの品質が高い": ("rational", 0.75),
    "アプリが使いやすい": ("rational", 0.70), "この会社を信頼している": ("emotional", 0.80),
    "顧客として大切にされていると感じる": ("emotional", 0.75),
    "この会社のサービスに愛着がある": ("emotional", 0.70),
}
NPS_C_Q = "当社を友人や同僚に薦める可能性はどのくらいありますか？"
CSAT_C_Q = "当社のサービス全体にどの程度満足していますか？"
CSAT_C_LABELS = {1: "1 - 非常に不満", 2: "2 - 不満", 3: "3 - どちらともいえない", 4: "4 - 満足",
                 5: "5 - 非常に満足"}
BATTERY_C = "次の各項目について、どの程度そう思いますか？"
COMMENT_C_Q = "そのようにお答えになった理由をお聞かせください。"
COMMENTS_C = {
    "neg": ["料金が高いと感じます。", "問い合わせの返信が遅いです。", "アプリがよく落ちます。"],
    "mid": ["特に不満はありません。", "普通に使えています。"],
    "pos": ["サポートの対応が丁寧で安心できます。", "長く使い続けたいサービスです。",
            "家族にも勧めています。"],
}
CHURN_C = {"intercept": -1.6, "emotional": -0.8, "rational": -0.3}
"""planted logit of cancelling within the six months after the survey"""
FAMILY = ("sato", "suzuki", "takahashi", "tanaka", "ito", "watanabe", "yamamoto", "nakamura",
          "kobayashi", "kato")
GIVEN = ("taro", "hanako", "yuki", "ken", "aya", "shota", "mai", "daiki", "emi", "riku")


def _rngs(seed: int, n: int) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n)]


def _cut(z: np.ndarray, cuts: np.ndarray | list[float]) -> np.ndarray:
    return 1 + (z[:, None] > np.asarray(cuts)[None, :]).sum(axis=1)


def _constructs(rng: np.random.Generator, n: int, rho: float = 0.4) -> tuple[np.ndarray, ...]:
    z = rng.standard_normal((2, n))
    return z[0], rho * z[0] + np.sqrt(1 - rho**2) * z[1]  # rational, emotional


def _csv(rows: list[list[Any]], newline: str = "\r\n") -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator=newline).writerows(rows)
    return buf.getvalue()


def _nps_score(scores: np.ndarray) -> float:
    return round(100 * float((scores >= 9).mean() - (scores <= 6).mean()), 6)


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def _stamp(day: np.datetime64, seconds: int) -> str:
    t = np.datetime64(day, "s") + np.timedelta64(int(seconds), "s")
    return str(t).replace("T", " ")


# -- (a) ---------------------------------------------------------------------------------------

def _survey_only(rng: np.random.Generator) -> tuple[dict[str, bytes], dict[str, Any]]:
    files: dict[str, bytes] = {}
    fields = [*META_A, *QUESTIONS_A, "store", "region"]
    labels = [m[0] for m in META_A.values()] + list(QUESTIONS_A.values()) + ["store", "region"]
    imports = [{"ImportId": m[1], **({"timeZone": "Asia/Tokyo"} if "Date" in f else {})}
               for f, m in META_A.items()]
    imports += [{"ImportId": "QID" + q[1:] + ("_TEXT" if q == "Q5" else "")} for q in QUESTIONS_A]
    imports += [{"ImportId": "store"}, {"ImportId": "region"}]
    header = [fields, labels, [json.dumps(i, separators=(",", ":")) for i in imports]]
    codes = list(STORES)
    answers: dict[str, list] = {k: [] for k in ("wave", "store", "nps", "csat", "ces", "id")}
    pii_ids: dict[str, str] = {}
    alphabet = np.array(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
    for wave_no, (month, (first, days, n, wave_shift)) in enumerate(WAVES.items()):
        rat, emo = _constructs(rng, n)
        store = rng.choice(codes, size=n, p=[0.3, 0.25, 0.25, 0.2])
        shift = np.array([STORES[s][1] for s in store]) + wave_shift
        nps = np.clip(np.round(NPS_A["centre"] + NPS_A["per_unit"] * (
            NPS_A["emotional"] * emo + NPS_A["rational"] * rat + shift
            + NPS_A["noise"] * rng.standard_normal(n))), 0, 10).astype(int)
        csat = _cut(CSAT_A["rational"] * rat + CSAT_A["emotional"] * emo + 0.8 * shift
                    + CSAT_A["noise"] * rng.standard_normal(n), CSAT_A["cuts"])
        ces = _cut(CES_A["rational"] * rat + CES_A["emotional"] * emo
                   + CES_A["noise"] * rng.standard_normal(n), CES_A["cuts"])
        ces_asked = rng.random(n) < CES_A["asked_share"]
        items = {}
        for q, (construct, _, lam) in ITEMS_A.items():
            latent = rat if construct == "rational" else emo
            z = lam * latent + np.sqrt(1 - lam**2) * rng.standard_normal(n)
            items[q] = np.where(rng.random(n) < 0.02, 0, _cut(z, LIKERT5))  # 0: skipped
        mood = np.where(nps <= 6, "neg", np.where(nps >= 9, "pos", "mid"))
        has_comment = rng.random(n) < 0.35
        pick = rng.random(n)
        start = np.datetime64(first) + np.sort(rng.integers(0, days * 86400, n)).astype(
            "timedelta64[s]")
        duration = rng.integers(70, 900, n)
        ids = ["R_" + "".join(rng.choice(alphabet, 15)) for _ in range(n)]
        plant = {0: "phone", 1: "email"}.get(wave_no)
        plant_at = int(rng.choice(np.flatnonzero(has_comment))) if plant else -1
        rows = []
        for i in range(n):
            comment = ""
            if i == plant_at:
                comment = PII_A[plant]
                pii_ids[plant] = ids[i]
            elif has_comment[i]:
                options = COMMENTS_A[mood[i]]
                comment = options[int(pick[i] * len(options))]
            begin = str(start[i]).replace("T", " ")
            end = _stamp(start[i], duration[i])
            rows.append([begin, end, "IP Address", "100", str(duration[i]), "True", end, ids[i],
                         "anonymous", "JA", str(nps[i]), str(csat[i]),
                         str(ces[i]) if ces_asked[i] else "",
                         *[str(items[q][i]) if items[q][i] else "" for q in ITEMS_A],
                         comment, store[i], STORES[store[i]][0]])
        files[f"wave_{month}.csv"] = _csv(header + rows).encode("cp932")
        answers["wave"] += [month] * n
        answers["store"] += list(store)
        answers["nps"] += list(nps)
        answers["csat"] += list(csat)
        answers["ces"] += list(np.where(ces_asked, ces, 0))
        answers["id"] += ids
    nps_all, csat_all = np.array(answers["nps"]), np.array(answers["csat"])
    ces_all = np.array(answers["ces"])
    ces_all = ces_all[ces_all > 0]
    stores = np.array(answers["store"])
    waves = np.array(answers["wave"])
    by_store = {s: _nps_score(nps_all[stores == s]) for s in codes}
    truth = {
        "dataset": "survey_only",
        "description": "Qualtrics store survey, CP932, two monthly waves, no customer ids",
        "planted": {
            "nps": {**NPS_A, "formula": "clip(round(centre + per_unit * (emotional * E + "
                                        "rational * R + store + wave + noise * z)), 0, 10)"},
            "constructs": {"correlation": 0.4, "distribution": "standard normal"},
            "items": {q: {"construct": c, "question": t, "loading": lam}
                      for q, (c, t, lam) in ITEMS_A.items()},
            "store_shift": {s: v[1] for s, v in STORES.items()},
            "wave_shift": {m: w[3] for m, w in WAVES.items()},
            "csat": CSAT_A, "ces_effort": {**CES_A, "high_means": "hard"},
            "driver_order": "emotional items matter more for NPS than rational items",
        },
        "realised": {
            "n": int(len(nps_all)),
            "n_by_wave": {m: int((waves == m).sum()) for m in WAVES},
            "nps": _nps_score(nps_all),
            "nps_by_wave": {m: _nps_score(nps_all[waves == m]) for m in WAVES},
            "nps_by_store": by_store,
            "n_by_store": {s: int((stores == s).sum()) for s in codes},
            "nps_gap_S02_minus_S03": round(by_store["S02"] - by_store["S03"], 6),
            "csat_scale": [1, 10], "csat_top2_box_share": round(float((csat_all >= 9).mean()), 6),
            "csat_mean": round(float(csat_all.mean()), 6),
            "ces_scale": [1, 5], "ces_answered": int(len(ces_all)),
            "ces_raw_mean": round(float(ces_all.mean()), 6),
            "ces_raw_low_effort_share": round(float((ces_all <= 2).mean()), 6),
            "ces_loaded_mean": round(float((6 - ces_all).mean()), 6),
        },
        "pii": {"planted": PII_A, "response_ids": pii_ids,
                "values": {"phone": "090-2468-1357", "email": "hanako.suzuki@example.jp"}},
    }
    return files, truth


# -- (b) ---------------------------------------------------------------------------------------

def _months_between(a: np.datetime64, b: np.datetime64) -> int:
    return int((b.astype("datetime64[M]") - a.astype("datetime64[M]")).astype(int))


def _customers(rng: np.random.Generator, n: int, first: str, last: str, snapshot: str,
               hazard_extra: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Signup, plan, lead source and churn by monthly hazards (plan x lead source)."""
    span = int((np.datetime64(last) - np.datetime64(first)).astype(int))
    signup = np.datetime64(first) + np.sort(rng.integers(0, span + 1, n)).astype("timedelta64[D]")
    plans = list(PLANS_B)
    plan = rng.choice(plans, size=n, p=[0.45, 0.4, 0.15])
    lead = rng.choice(list(LEADS_B), size=n, p=[0.4, 0.2, 0.25, 0.15])
    hazard = np.array([PLANS_B[p][1] for p in plan]) * np.array([LEADS_B[x] for x in lead])
    if hazard_extra is not None:
        hazard = hazard * hazard_extra
    months = rng.geometric(np.clip(hazard, 1e-6, 0.99))  # month of cancellation, from 1
    offset = rng.integers(0, 28, n)
    churn_day = (signup.astype("datetime64[M]") + months).astype("datetime64[D]") + offset
    churned = churn_day <= np.datetime64(snapshot)
    return {"signup": signup, "plan": plan, "lead": lead, "churned": churned,
            "churn_day": churn_day, "hazard": hazard}


def _crm_only(rng: np.random.Generator) -> tuple[dict[str, bytes], dict[str, Any]]:
    n = 900
    c = _customers(rng, n, "2024-01-01", "2026-09-30", SNAPSHOT_B)
    pref = rng.choice(PREFECTURES, size=n, p=[0.35, 0.2, 0.2, 0.15, 0.1])
    ids = [f"CU-{i:05d}" for i in rng.permutation(np.arange(10001, 10001 + n))]
    rows = [["Customer No", "Start Date", "Plan Name", "Lead Source", "Prefecture",
             "Monthly Fee", "Cancelled", "Cancel Date"]]
    for i in range(n):
        rows.append([ids[i], str(c["signup"][i]), c["plan"][i], c["lead"][i], pref[i],
                     str(PLANS_B[c["plan"][i]][0]), "Y" if c["churned"][i] else "N",
                     str(c["churn_day"][i]) if c["churned"][i] else ""])
    files = {f"crm_extract_{SNAPSHOT_B}.csv": _csv(rows, "\n").encode("utf-8")}
    churned, plan, lead = c["churned"], c["plan"], c["lead"]
    truth = {
        "dataset": "crm_only",
        "description": "CRM extract, UTF-8, own column names, no surveys",
        "snapshot": SNAPSHOT_B,
        "planted": {"monthly_churn_hazard_by_plan": {p: v[1] for p, v in PLANS_B.items()},
                    "hazard_ratio_by_lead_source": LEADS_B,
                    "monthly_fee_by_plan": {p: v[0] for p, v in PLANS_B.items()}},
        "realised": {
            "n": n, "churned": int(churned.sum()),
            "churn_share_by_plan": {p: round(float(churned[plan == p].mean()), 6)
                                    for p in PLANS_B},
            "churn_share_by_lead_source": {x: round(float(churned[lead == x].mean()), 6)
                                           for x in LEADS_B},
            "monthly_revenue_active": int(sum(PLANS_B[p][0] for p in plan[~churned])),
        },
    }
    return files, truth


# -- (c) ---------------------------------------------------------------------------------------

def _surveymonkey_crm(rng: np.random.Generator) -> tuple[dict[str, bytes], dict[str, Any]]:
    n = 480
    survey_day = np.datetime64("2026-10-05")
    snapshot = "2027-04-30"
    rat, emo = _constructs(rng, n)
    c = _customers(rng, n, "2024-04-01", "2026-08-31", "2026-10-04")  # churn before the survey
    ids = [f"{i:07d}" for i in rng.permutation(np.arange(120001, 120001 + n))]
    fam, giv = rng.integers(0, len(FAMILY), n), rng.integers(0, len(GIVEN), n)
    emails = [f"{GIVEN[g]}.{FAMILY[f]}{k}@example.jp" for k, (g, f) in
              enumerate(zip(giv, fam), start=11)]
    active = ~c["churned"]
    # after the survey: cancellation within six months by the planted logit
    logit = CHURN_C["intercept"] + CHURN_C["emotional"] * emo + CHURN_C["rational"] * rat
    later = active & (rng.random(n) < 1 / (1 + np.exp(-logit)))
    later_day = np.datetime64("2026-10-06") + rng.integers(0, 206, n).astype("timedelta64[D]")
    churned = c["churned"] | later
    churn_day = np.where(c["churned"], c["churn_day"], later_day)
    cust_rows = [["顧客ID", "メールアドレス", "契約日", "プラン", "獲得経路", "月額料金",
                  "解約フラグ", "解約日"]]
    for i in range(n):
        cust_rows.append([ids[i], emails[i], str(c["signup"][i]), c["plan"][i], c["lead"][i],
                          str(PLANS_B[c["plan"][i]][0]), "1" if churned[i] else "0",
                          str(churn_day[i]) if churned[i] else ""])
    # the survey: e-mail invitations to active customers; about 55% answer
    answered = np.flatnonzero(active & (rng.random(n) < 0.55))
    m = len(answered)
    r, e = rat[answered], emo[answered]
    nps = np.clip(np.round(7.2 + 2.0 * (0.5 * e + 0.3 * r + 0.5 * rng.standard_normal(m))),
                  0, 10).astype(int)
    csat = _cut(0.45 * r + 0.45 * e + 0.5 * rng.standard_normal(m), LIKERT5)
    items = {}
    for q, (construct, lam) in ITEMS_C.items():
        latent = r if construct == "rational" else e
        items[q] = _cut(lam * latent + np.sqrt(1 - lam**2) * rng.standard_normal(m), LIKERT5)
    mood = np.where(nps <= 6, "neg", np.where(nps >= 9, "pos", "mid"))
    has_comment = rng.random(m) < 0.4
    pick = rng.random(m)
    start = survey_day + np.sort(rng.integers(0, 10 * 86400, m)).astype("timedelta64[s]")
    duration = rng.integers(60, 600, m)
    respondent = np.sort(rng.choice(np.arange(114_000_000_000, 114_000_900_000), m,
                                    replace=False))
    variant = rng.random(m)
    head = ["Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address",
            "Email Address", "First Name", "Last Name", NPS_C_Q, CSAT_C_Q, BATTERY_C,
            *[""] * (len(ITEMS_C) - 1), COMMENT_C_Q]
    sub = ["", "", "", "", "", "", "", "", "Response", "Response", *ITEMS_C,
           "Open-Ended Response"]
    rows = [head, sub]
    for k, i in enumerate(answered):
        email = emails[i]
        if variant[k] < 0.05:  # typed or stored differently: case and spaces
            email = email.upper()
        elif variant[k] < 0.08:
            email = f" {email} "
        comment = ""
        if has_comment[k]:
            options = COMMENTS_C[mood[k]]
            comment = options[int(pick[k] * len(options))]
        fmt = "%Y/%m/%d %H:%M:%S"
        begin = start[k].astype("datetime64[s]").item().strftime(fmt)
        end = (start[k] + np.timedelta64(int(duration[k]), "s")).astype(
            "datetime64[s]").item().strftime(fmt)
        rows.append([str(respondent[k]), "431234567", begin, end, "", email, "", "",
                     str(nps[k]), CSAT_C_LABELS[int(csat[k])],
                     *[str(items[q][k]) for q in ITEMS_C], comment])
    files = {
        "customer_master.csv": _csv(cust_rows, "\n").encode("utf-8"),
        "surveymonkey_export.csv": _csv(rows).encode("utf-8-sig"),
    }
    promoters, detractors = nps >= 9, nps <= 6
    later_a = later[answered]
    truth = {
        "dataset": "surveymonkey_crm",
        "description": "SurveyMonkey export (e-mail invitations) + customer master keyed by "
                       "customer id with e-mails",
        "survey_day": str(survey_day), "snapshot": snapshot,
        "planted": {"churn_after_survey_logit": CHURN_C,
                    "items": {q: {"construct": c_, "loading": lam}
                              for q, (c_, lam) in ITEMS_C.items()},
                    "email_variants": "5% upper case, 3% with surrounding spaces"},
        "realised": {
            "customers": n, "answers": m,
            "answers_matched_to_customers": m,
            "nps": _nps_score(nps),
            "csat_top2_box_share": round(float((csat >= 4).mean()), 6),
            "churned_after_survey_share_promoters": round(float(later_a[promoters].mean()), 6),
            "churned_after_survey_share_detractors": round(float(later_a[detractors].mean()), 6),
        },
        "pii": {"email_domain": "example.jp",
                "note": "every address in customer_master.csv and surveymonkey_export.csv "
                        "ends in @example.jp; none may appear in a loaded table or report"},
    }
    return files, truth


_BUILDERS = {"survey_only": _survey_only, "crm_only": _crm_only,
             "surveymonkey_crm": _surveymonkey_crm}


def _generate(seed: int) -> dict[str, dict[str, bytes]]:
    out: dict[str, dict[str, bytes]] = {}
    for name, rng in zip(EXAMPLES, _rngs(seed, len(EXAMPLES))):
        files, truth = _BUILDERS[name](rng)
        files["truth.json"] = _json({"seed": seed, **truth}).encode("utf-8")
        out[name] = files
    return out


def generated_files(seed: int = 0) -> dict[str, bytes]:
    """Relative path (``survey_only/wave_2026-09.csv``) -> bytes, without writing."""
    return {f"{name}/{file}": data for name, files in _generate(seed).items()
            for file, data in files.items()}


def write_examples(out_dir: Path | str, seed: int = 0) -> list[Path]:
    """Write the example datasets' files into ``out_dir/<example>/``; returns the paths.

    ``cx.yml`` and ``README.md`` there are the analyst's and are not touched.
    """
    out = Path(out_dir)
    written = []
    for rel, data in generated_files(seed).items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cxlib.synth._examples",
                                     description="Write the example datasets (data/examples).")
    parser.add_argument("--out", default=str(paths.DATA_DIR / "examples"),
                        help="folder to write into (default: data/examples)")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    args = parser.parse_args(argv)
    for path in write_examples(args.out, args.seed):
        print(f"{path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
