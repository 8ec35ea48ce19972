"""Small folders shaped like real exports, for the dataset and profile tests."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

from cxlib import paths

QUESTIONS = {
    "Q1": "この会社を友人や同僚に薦める可能性はどのくらいありますか？",
    "Q2": "全体としてどの程度満足していますか？（1〜10）",
    "Q3": "手続きにどの程度の手間がかかりましたか？（1=ほとんどない 5=非常に大きい）",
    "Q4_1": "価格に見合う価値がある",
    "Q4_2": "品質が良い",
    "Q4_3": "この会社を信頼している",
    "Q4_4": "この会社は私を大切にしてくれる",
    "Q5": "ご意見・ご感想をお聞かせください",
}
META = ["StartDate", "EndDate", "Status", "ResponseId", "Progress", "Finished"]
EMBEDDED = ["store", "region"]


def qualtrics_folder(folder: Path, rows_per_wave: int = 70, seed: int = 5) -> dict[str, list]:
    """Two monthly Qualtrics waves in CP932: NPS, CSAT 1-10, CES 1-5 (5 = much effort),
    four items, a comment, store and region; no customer ids. Returns the raw answers."""
    rng = np.random.default_rng(seed)
    raw: dict[str, list] = {k: [] for k in ("Q1", "Q2", "Q3", "Q4_1")}
    for wave, month in enumerate(("2025-01", "2025-02"), start=1):
        header = [*META, *QUESTIONS, *EMBEDDED]
        texts = ["開始日", "終了日", "ステータス", "回答ID", "進捗", "完了",
                 *QUESTIONS.values(), "店舗", "地域"]
        imports = [json.dumps({"ImportId": h}) for h in header]
        lines = [header, texts, imports]
        for i in range(rows_per_wave):
            day = f"{month}-{1 + i % 28:02d} 10:{i % 60:02d}:00"
            nps, csat, ces = rng.integers(0, 11), rng.integers(1, 11), rng.integers(1, 6)
            items = rng.integers(1, 6, size=4)
            raw["Q1"].append(int(nps)); raw["Q2"].append(int(csat)); raw["Q3"].append(int(ces))
            raw["Q4_1"].append(int(items[0]))
            lines.append([day, day, "0", f"R_{wave}{i:04d}", "100", "1", str(nps), str(csat),
                          str(ces), *map(str, items), "対応が丁寧でした①" if i % 3 == 0 else "",
                          f"店舗{i % 4}", ("関東", "関西")[i % 2]])
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n").writerows(lines)
        (folder / f"wave_{month}.csv").write_bytes(buf.getvalue().encode("cp932"))
    return raw


def crm_folder(folder: Path, n: int = 120, seed: int = 7) -> None:
    """A CRM extract only (Japanese headers): customer id, signup, plan, churn flag and date,
    monthly fee, total revenue."""
    rng = np.random.default_rng(seed)
    lines = [["会員番号", "契約日", "プラン", "解約", "解約日", "月額料金", "累計売上"]]
    for i in range(n):
        churned = rng.random() < 0.3
        signup = f"2024-{1 + i % 12:02d}-{1 + i % 27:02d}"
        fee = int(rng.choice([1980, 2980, 4980]))
        lines.append([f"{i:06d}", signup, ("ライト", "スタンダード")[i % 2], "1" if churned else "0",
                      f"2025-{1 + i % 12:02d}-15" if churned else "", str(fee), str(fee * 10)])
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(lines)
    (folder / "crm_extract.csv").write_text(buf.getvalue(), encoding="utf-8")


def sample_folder(folder: Path) -> None:
    """The sample's contract files, linked (not copied) into ``folder``."""
    for f in paths.SAMPLE_DIR.glob("*.parquet"):
        (folder / f.name).symlink_to(f.resolve())
