"""Free text is masked, escaped and export-safe; the sample's planted payloads are caught."""

from __future__ import annotations

import time

import pandas as pd
import pytest

import cxlib.errors

from cxlib.text import excel_safe, flagged_verbatims, mask_pii, verbatims


@pytest.mark.parametrize("text", [
    "090-1234-5678", "０９０－１２３４－５６７８", "03-1234-5678", "(03) 1234-5678",
    "09012345678", "+81 90-1234-5678", "＋８１ ９０ １２３４ ５６７８", "0120-123-456",
    "電話 ０３（１２３４）５６７８", "090ー1234ー5678", "+1 (555) 123-4567",
])
def test_phone_numbers_are_masked(text):
    out = mask_pii(f"連絡先 {text} まで")
    assert "[phone]" in out
    assert not any(ch.isdigit() for ch in out), out


@pytest.mark.parametrize("text", [
    "taro.yamada@example.jp", "first+tag@mail.example.co.uk", "ＴＡＲＯ＠ＥＸＡＭＰＬＥ．ＪＰ",
])
def test_email_addresses_are_masked(text):
    assert mask_pii(f"返信は{text}へ") == "返信は[email]へ"


@pytest.mark.parametrize("text", [
    "2024-03-01 に購入", "12,000円でした", "order 1234567890", "NPS 10 / CSAT 5", "v1.2.3",
    "3-4 days", "",
])
def test_dates_prices_and_ids_are_not_masked(text):
    assert mask_pii(text) == text


# Each case found in a report by the hostile-input battery (issue 14), with the text it must become.
ISSUE_14_CASES = {
    "電話番号は090-2234-5678です": "電話番号は[phone]です",
    "携帯09032345678まで": "携帯[phone]まで",
    "TEL090-7234-5678": "TEL[phone]",
    "折り返し080.9234.5678で": "折り返し[phone]で",
    "連絡は090\u00a08234\u00a05678まで": "連絡は[phone]まで",
    "〒530-0001": "〒[postcode]",
    "東京都千代田区千代田1-1-1": "[address]",
    "大阪府大阪市北区梅田3丁目1番1号": "[address]",
}


@pytest.mark.parametrize("text", list(ISSUE_14_CASES))
def test_issue_14_personal_data_is_masked(text):
    assert mask_pii(text) == ISSUE_14_CASES[text]


@pytest.mark.parametrize("prefix", ["電話番号は", "TEL", "tel:", "携帯", "Tel.", "x", "→", "、", ""])
@pytest.mark.parametrize("number", [
    "090-1234-5678", "09012345678", "070 1234 5678", "080.1234.5678", "03-1234-5678",
    "0312345678", "03(1234)5678", "06－1234－5678", "045ー123ー4567", "090‐1234‐5678",
    "０９０１２３４５６７８", "０３\u3000１２３４\u3000５６７８", "0120-123-456", "0120123456",
    "0800-123-4567", "+81 90-1234-5678", "+81-3-1234-5678", "+81 (0)90 1234 5678",
    "+819012345678", "＋８１－９０－１２３４－５６７８", "+44 20 7946 0958", "+1 555 123 4567",
    "(555) 123-4567", "090 - 1234 - 5678", "090\u202f1234\u202f5678",
])
def test_phone_after_any_character_with_any_separator(prefix, number):
    assert mask_pii(f"{prefix}{number}まで") == f"{prefix}[phone]まで"


@pytest.mark.parametrize("text, masked", [
    ("電話 090-1234-5678 10時以降", "電話 [phone] 10時以降"),    # a number beside stays
    ("03-1234-5678 1個", "[phone] 1個"),                          # landline: 10 digits
    ("No.1 090-1234-5678", "No.1 [phone]"),
    ("自宅03-1234-5678、携帯090-1234-5678", "自宅[phone]、携帯[phone]"),
    ("1.090-1234-5678", "1.[phone]"),
    ("(03) 1234-5678にお願いします", "[phone]にお願いします"),
])
def test_phone_boundaries(text, masked):
    assert mask_pii(text) == masked


@pytest.mark.parametrize("text, masked", [
    ("〒530-0001", "〒[postcode]"), ("〒 530-0001 大阪", "〒 [postcode] 大阪"),
    ("〒5300001", "〒[postcode]"), ("郵便番号：530-0001", "郵便番号：[postcode]"),
    ("郵便番号 １００－０００１", "郵便番号 [postcode]"), ("〒１００ー０００１", "〒[postcode]"),
])
def test_postcodes_are_masked(text, masked):
    assert mask_pii(text) == masked


@pytest.mark.parametrize("text, masked", [
    ("住所は北海道札幌市中央区北1条西2丁目です", "住所は[address]です"),
    ("東京都千代田区丸の内一丁目9番1号に届けて", "[address]に届けて"),
    ("神奈川県横浜市西区高島２－１９－１２", "[address]"),
    ("京都府京都市下京区東塩小路町721-1", "[address]"),
    ("愛知県名古屋市中村区名駅四丁目7番1号", "[address]"),
    ("埼玉県さいたま市浦和区高砂3-15-1 まで", "[address] まで"),
    ("沖縄県那覇市泉崎1-2-2", "[address]"),
    ("鹿児島県鹿屋市共栄町20番1号", "[address]"),
    ("新宿区西新宿2-8-1の店舗", "[address]の店舗"),
    ("私は港区六本木6丁目10番1号に住んでいます", "私は[address]に住んでいます"),
    ("〒100-0001 東京都千代田区千代田1-1 まで", "〒[postcode] [address] まで"),
])
def test_addresses_are_masked(text, masked):
    assert mask_pii(text) == masked


@pytest.mark.parametrize("text, masked", [
    ("返信はtaro＠example.jpへ", "返信は[email]へ"),
    ("taro090@example.jp", "[email]"),                              # not "taro[phone]"
    ("連絡:hanako_1980@mail.example.co.jp、よろしく", "連絡:[email]、よろしく"),
])
def test_email_addresses_with_neighbours(text, masked):
    assert mask_pii(text) == masked


@pytest.mark.parametrize("text", [
    "2024-01-05", "2024/1/5", "2024年1月5日", "2024.01.05 10:30", "20240105", "¥12,800",
    "1,280円", "￥１２，８００でした", "3,000,000円", "12.5%", "８５％", "1.5倍", "v1.2.3",
    "iOS 17.0.1", "注文番号 A-12345", "order #123456", "10:30-12:00", "0.5点", "0.0312345678",
    "東京都の区役所で1-2時間待った", "東京都に住んでいます、3-4回", "大阪府の店で2回",
    "北海道産の牛乳を3本", "3丁目の夕日", "渋谷区の店舗", "第3条", "090-1234", "1234-5678",
    "123-4567", "+81", "電話は10時から18時", "IP 192.168.0.1",
])
def test_dates_prices_versions_and_short_numbers_are_not_masked(text):
    assert mask_pii(text) == text


def _adversarial(n: int) -> str:
    """``n`` characters built to make a backtracking pattern try many ways per position."""
    blocks = ["a." * 5000, "1" * 10000, "00 " * 3333, "0." * 5000, "<" + " " * 9999,
              "<a" * 5000, ("東京都" + "区" * 12 + "一" * 12) * 370, ("新" * 6 + "区" + "1-" * 6) * 500,
              "taro" * 2500]
    text = "".join(b[: n // len(blocks)] for b in blocks)
    return text + "x" * (n - 1 - len(text)) + "@"   # one @, so the e-mail pattern is tried


def _fastest(text: str, limit: float, repeats: int = 5) -> float:
    """Least time of ``repeats`` runs (load only ever adds time); fails as soon as one run
    takes more than ``limit`` seconds, so a quadratic pattern fails in seconds, not minutes."""
    frame = pd.DataFrame({"verbatim": [text]})
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        mask_pii(text)
        flagged_verbatims(frame)
        times.append(time.perf_counter() - start)
        assert times[-1] < limit, f"{times[-1]:.1f} s for {len(text):,} characters"
    return min(times)


def test_masking_time_grows_linearly_with_text_length():
    # the old e-mail pattern took 8 s on 40,000 characters and grew with the square;
    # now about 0.3 s for 50,000 on an idle machine
    # (four times the text: linear 4x, quadratic 16x; the margin absorbs a loaded machine)
    small = _fastest(_adversarial(50_000), limit=10)
    large = _fastest(_adversarial(200_000), limit=40)
    assert large / small < 8, f"four times the text took {large / small:.1f} times as long"


def test_verbatims_and_flags_mask_every_issue_14_case():
    frame = pd.DataFrame({"response_id": [f"r{i}" for i in range(len(ISSUE_14_CASES))],
                          "nps": 0, "verbatim": list(ISSUE_14_CASES)})
    shown = verbatims(frame, n=100)
    assert shown["verbatim"].tolist() == list(ISSUE_14_CASES.values())
    flagged = flagged_verbatims(frame)
    assert flagged["flag"].tolist() == ["pii"] * len(ISSUE_14_CASES)
    assert flagged["verbatim"].tolist() == list(ISSUE_14_CASES.values())
    html = shown._repr_html_() + flagged._repr_html_()
    for digits in ("2234", "32345678", "7234", "9234", "8234", "530", "千代田1", "梅田3"):
        assert digits not in html


def test_non_text_passes_through():
    assert mask_pii(None) is None and mask_pii(pd.NA) is pd.NA


def test_planted_pii_and_verbatims_masked_by_default(company):
    planted = company.truth["planted_text"]["pii"]
    frame = company.responses
    row = frame[frame["response_id"] == planted["response_id"]]
    shown = verbatims(row, n=5)
    assert shown["verbatim"].iat[0] == "折り返しは [email] か [phone] までお願いします"
    raw = verbatims(row, n=5, mask=False)
    assert raw["verbatim"].iat[0] == planted["text"]


def test_verbatims_by_group_sample_and_seed():
    frame = pd.DataFrame({"response_id": [f"r{i}" for i in range(40)],
                          "nps": [10, 9, 8, 0] * 10,
                          "verbatim": [f"comment {i}" if i % 5 else None for i in range(40)]})
    det = verbatims(frame, group="detractors", n=100)
    assert set(det["nps"]) == {0} and len(det) == 8  # rows 3, 7, ... with text
    pro = verbatims(frame, group="promoters", n=5, seed=1)
    assert len(pro) == 5 and set(pro["nps"]) <= {9, 10}
    assert pro.equals(verbatims(frame, group="promoters", n=5, seed=1))
    assert list(pro.columns) == ["response_id", "nps", "verbatim"]
    with pytest.raises(cxlib.errors.ParameterError, match="verbatims: group must be one of"):
        verbatims(frame, group="fans")


def test_flagged_verbatims_find_every_planted_payload_and_render_escaped(company):
    planted = company.truth["planted_text"]
    flagged = flagged_verbatims(company.responses)
    by_id = flagged.set_index("response_id")["flag"]
    assert by_id[planted["script"]["response_id"]] == "markup"
    assert by_id[planted["onerror"]["response_id"]] == "markup"
    assert by_id[planted["formula"]["response_id"]] == "formula"
    assert by_id[planted["pii"]["response_id"]] == "pii"
    html = flagged._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img" not in html and "taro.yamada" not in html and "090-1234-5678" not in html


def test_excel_safe_prefixes_formulas_only():
    frame = pd.DataFrame({"text": ["=HYPERLINK(\"x\")", "+1 call", "-minus", "@SUM(A1)", "\tx",
                                   "＝全角", "plain", None],
                          "score": [-1, 2, 3, 4, 5, 6, 7, 8]})
    safe = excel_safe(frame)
    assert safe["text"].tolist()[:7] == ["'=HYPERLINK(\"x\")", "'+1 call", "'-minus", "'@SUM(A1)",
                                         "'\tx", "'＝全角", "plain"]
    assert pd.isna(safe["text"].iat[7])
    assert safe["score"].tolist() == frame["score"].tolist()  # numbers untouched
    assert frame["text"].iat[0] == "=HYPERLINK(\"x\")"  # caller's frame not mutated
    assert excel_safe("=1+1") == "'=1+1" and excel_safe(3) == 3
