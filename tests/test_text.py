"""Free text is masked, escaped and export-safe; the sample's planted payloads are caught."""

from __future__ import annotations

import pandas as pd
import pytest

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
    with pytest.raises(ValueError, match="group must be one of"):
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
