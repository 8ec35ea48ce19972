"""The action list: requests found, ranked by revenue at risk, masked, safe in a spreadsheet."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest

from cxlib.errors import DataError
from cxlib.synth._comments import simulate_comments
from cxlib.text import action_list, csv_safe, default_codebook, topic_impact

HOSTILE = [
    "=HYPERLINK(\"http://evil.example\",\"x\") 返金してください",
    "+1+1 refund please",
    "-2+3 解約したい",
    "@SUM(A1:A9) call me back",
    "\t=1+1 解約します",
    "\r=1+1 cancel",
    "   =cmd|' /C calc'!A0 refund",
    "<script>alert('x')</script> 返金してください",
    "<img src=x onerror=alert(1)> 折り返し電話をください",
    "解約" + "あ" * 20_000,
    "refund\x00\x07\x1b[31m now\u202e",
    "返金は taro.yamada@example.jp か 090-1234-5678 まで",
]


def test_requests_are_found_with_their_kind():
    frame = pd.DataFrame({"verbatim": ["解約したいです", "返金をお願いします", "折り返し連絡ください",
                                       "責任者を出してください", "Please call me back",
                                       "I want a refund", "I will cancel", "とても良かった",
                                       "I have no complaints", None]})
    kinds = action_list(frame).table.sort_values("request")["request"].tolist()
    assert sorted(kinds) == sorted(["cancellation", "refund", "callback", "complaint",
                                    "callback", "refund", "cancellation", "complaint"])


def test_ranked_by_churn_risk_times_revenue():
    frame = pd.DataFrame({
        "response_id": ["a", "b", "c", "d"], "customer_id": ["k1", "k2", None, "k4"],
        "churn_risk": [0.1, 0.5, 0.9, 0.2], "monthly_revenue": [10_000, 3_000, 99_999, 9_000],
        "verbatim": ["返金して", "解約したい", "cancel now", "call me back"]})
    table = action_list(frame).table
    # revenue at risk: a 1000, b 1500, d 1800; c anonymous goes last
    assert table["response_id"].tolist() == ["d", "b", "a", "c"]
    assert table["revenue_at_risk"].tolist()[:3] == [1800, 1500, 1000]
    assert np.isnan(table["revenue_at_risk"].iat[3])


def test_planted_requests_are_found_in_simulated_comments():
    frame, truth = simulate_comments(3000, seed=9)
    found = set(action_list(frame).table["response_id"])
    planted = set(truth["actions"])
    assert len(found & planted) / len(planted) >= 0.95


def test_hostile_comments_stay_text_in_the_csv(tmp_path):
    frame = pd.DataFrame({"response_id": [f"r{i}" for i in range(len(HOSTILE))],
                          "customer_id": [f"=c{i}" for i in range(len(HOSTILE))],
                          "churn_risk": 0.5, "monthly_revenue": 1000.0, "verbatim": HOSTILE})
    result = action_list(frame)
    assert len(result.table) == len(HOSTILE)
    path = result.to_csv(tmp_path / "actions.csv")
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(HOSTILE)
    for row in rows:
        for value in row.values():
            assert not value.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r")), value
            assert not any(ord(c) < 32 and c not in "\n\t" for c in value), repr(value)
        assert row["customer_id"].startswith("'=")
    text = path.read_text(encoding="utf-8-sig")
    assert "taro.yamada" not in text and "090-1234-5678" not in text
    assert "<script>alert('x')</script>" in text        # shown as text, never executed
    assert max(len(r["verbatim"]) for r in rows) <= 300


def test_hostile_comments_stay_text_in_figures_and_summaries():
    frame = pd.DataFrame({"nps": np.arange(len(HOSTILE)) % 11, "verbatim": HOSTILE})
    result = action_list(frame)
    assert "<script>" not in result.plot().to_json()
    html = result.summary()._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html
    codes = default_codebook().code(frame["verbatim"])
    assert codes.shape == (len(HOSTILE), 9)


@pytest.mark.parametrize("value, safe", [
    ("=1+1", "'=1+1"), ("  =1", "'  =1"), ("＝1", "'＝1"), ("-x", "'-x"), ("ok", "ok"),
    ("a\x00b", "ab"), (3, 3), (None, None),
])
def test_csv_safe(value, safe):
    assert csv_safe(value) == safe


def test_bad_input_is_named():
    with pytest.raises(DataError, match="text column 'comment' not found"):
        action_list(pd.DataFrame({"verbatim": ["x"]}), text="comment")
    with pytest.raises(DataError, match="'churn_risk' must hold probabilities"):
        action_list(pd.DataFrame({"customer_id": ["k"], "churn_risk": [3.0],
                                  "verbatim": ["解約"]}))


def test_no_comments_is_not_an_error():
    frame = pd.DataFrame({"nps": [1, 9], "verbatim": [None, None]})
    assert action_list(frame).table.empty
    r = topic_impact(frame, default_codebook().code(frame["verbatim"]), n_boot=20)
    assert r.table["impact"].isna().all() and "no interval" in r.headline()
