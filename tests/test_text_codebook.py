"""The codebook codes planted topics, is deterministic, and explains its own mistakes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib.errors import DataError
from cxlib.synth._comments import simulate_comments
from cxlib.text import default_codebook, load_codebook


@pytest.fixture(scope="module")
def simulated():
    return simulate_comments(3000, seed=11)


def test_default_codebook_finds_planted_topics(simulated):
    frame, truth = simulated
    book = default_codebook()
    codes = book.code(frame["verbatim"])
    assert set(book.names) == {t for t, v in truth["topics"].items() if v["in_default_codebook"]}
    for topic in book.names:
        planted = np.array([topic in truth["planted"][r] for r in frame["response_id"]])
        found = codes[topic].to_numpy()
        precision = (found & planted).sum() / found.sum()
        recall = (found & planted).sum() / planted.sum()
        assert precision >= 0.9 and recall >= 0.9, (topic, precision, recall)


def test_coding_is_deterministic_and_rolls_up_to_parents(simulated):
    frame, _ = simulated
    book = default_codebook()
    assert book.code(frame["verbatim"]).equals(default_codebook().code(frame["verbatim"]))
    parents = book.code(frame["verbatim"], level="parent")
    topics = book.code(frame["verbatim"])
    assert list(parents.columns) == ["service", "money", "channels", "product"]
    assert parents["money"].equals(topics[["price", "billing", "contract"]].any(axis=1))


def test_keywords_exclusions_and_word_boundaries(tmp_path):
    path = tmp_path / "book.yml"
    path.write_text("""
topics:
  app:
    keywords: {en: [app], ja: [アプリ]}
    exclude: {en: [apple]}
  wait:
    parent: service
    keywords: {en: [wait*]}
    patterns: {ja: ["待(た|ち|っ)"]}
""", encoding="utf-8")
    book = load_codebook(path)
    codes = book.code(["Happy with the APP", "happy", "app and apple pie", "waited ages",
                       "ｱﾌﾟﾘが重い", "長く待たされた", None])
    assert codes["app"].tolist() == [True, False, False, False, True, False, False]
    assert codes["wait"].tolist() == [False, False, False, True, False, True, False]


@pytest.mark.parametrize("text, message", [
    ("topics:\n  staff:\n    keyword: {en: [staff]}\n",
     r"book.yml: topics.staff: unknown key 'keyword'; did you mean 'keywords'\?"),
    ("topics:\n  staff:\n    keywords: {jp: [スタッフ]}\n",
     r"topics.staff.keywords: unknown language 'jp' .*did you mean 'ja'\?"),
    ("topics:\n  staff:\n    patterns: {en: ['(staff']}\n",
     r"topics.staff.patterns.en\[0\]: invalid regular expression"),
    ("topics:\n  staff:\n    label: Staff\n", r"topics.staff: no keywords or patterns"),
    ("topic:\n  staff: {}\n", r"book.yml: a codebook is a mapping with a 'topics' key"),
    ("topics: [\n", r"book.yml: not valid YAML"),
    ("topics:\n  staff:\n    keywords: {en: staff}\n",
     r"topics.staff.keywords.en: expected a list"),
])
def test_errors_name_the_key(tmp_path, text, message):
    path = tmp_path / "book.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        load_codebook(path)


def test_missing_file_and_unknown_topic():
    with pytest.raises(DataError, match="codebook file not found"):
        load_codebook("nope.yml")
    with pytest.raises(DataError, match="no topic 'staf'; did you mean 'staff'"):
        default_codebook().without("staf")
    with pytest.raises(DataError, match="did you mean 'parent'"):
        default_codebook().code(["x"], level="parents")


def test_table_lists_topics():
    table = default_codebook().table()
    assert len(table) == 9 and (table["keywords"] > 0).all()
    assert isinstance(table, pd.DataFrame)
