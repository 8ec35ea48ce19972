"""Polarity agrees with comments we labelled by hand, in both languages, negations included."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib import paths
from cxlib.text import default_codebook, lexicon, polarity, topic_sentiment

LABELLED = paths.PROJECT_ROOT / "tests" / "reference" / "polarity_labelled.csv"


@pytest.fixture(scope="module")
def labelled():
    table = pd.read_csv(LABELLED)
    table["score"] = polarity(table["text"]).to_numpy()
    table["agree"] = np.where(table["label"] == "positive", table["score"] > 0,
                              table["score"] < 0)
    return table


def test_the_labelled_set_is_big_enough_and_balanced(labelled):
    assert len(labelled) >= 200 and labelled["id"].is_unique
    assert set(labelled["label"]) == {"positive", "negative"}
    counts = labelled.groupby(["lang", "label"]).size()
    assert (counts >= 50).all(), counts
    assert (labelled["negation"] == "yes").sum() >= 50


def test_polarity_agrees_with_hand_labels(labelled):
    assert labelled["agree"].mean() >= 0.85
    for lang, group in labelled.groupby("lang"):
        assert group["agree"].mean() >= 0.85, lang
    assert labelled.loc[labelled["negation"] == "yes", "agree"].mean() >= 0.75


@pytest.mark.parametrize("good, bad", [
    ("説明が分かりやすかった", "説明が分かりやすくなかった"),
    ("親切でした", "親切ではありませんでした"),
    ("満足しています", "満足していません"),
    ("The staff were helpful", "The staff were not helpful"),
    ("I am satisfied", "I am not satisfied"),
])
def test_negation_flips_the_sign(good, bad):
    score = polarity([good, bad])
    assert score.iat[0] > 0 > score.iat[1]


def test_negated_negatives_and_set_phrases():
    score = polarity(["悪くはなかった", "Not bad at all", "問題なく使えています", "No complaints",
                      "Could not be happier", "最悪", None, "普通"])
    assert (score.iloc[:5] > 0).all() and score.iat[5] < 0
    assert np.isnan(score.iat[6]) and score.iat[7] == 0


def test_polarity_range_and_index():
    texts = pd.Series(["最高！とても親切", "ひどい"], index=["a", "b"])
    score = polarity(texts)
    assert list(score.index) == ["a", "b"] and score.between(-1, 1).all()


def test_mention_polarity_follows_the_clause():
    table = topic_sentiment(["スタッフは親切でしたが、料金が高すぎる。"], default_codebook())
    by = table.set_index("topic")["polarity"]
    assert by["staff"] > 0 > by["price"]


def test_lexicon_is_shipped_with_both_languages():
    lex = lexicon()
    assert set(lex["lang"]) == {"ja", "en"} and lex["score"].abs().max() <= 2
    assert not lex.duplicated(["term", "lang"]).any()
