"""Suggestions surface a planted topic the codebook leaves out."""

from __future__ import annotations

import pytest

from cxlib.synth._comments import simulate_comments
from cxlib.text import default_codebook, suggest_topics


@pytest.fixture(scope="module")
def frame():
    return simulate_comments(2500, seed=21)[0]


def _themes_with(result, words):
    return [t for t in result.themes["terms"].head(8)
            if any(w in t.split(", ") for w in words)]


def test_a_topic_missing_from_the_default_codebook_is_suggested(frame):
    # parking is planted but not in the default codebook
    result = suggest_topics(frame["verbatim"], default_codebook(), n_themes=8, seed=0)
    assert _themes_with(result, {"駐車場", "parking"})
    examples = result.themes.loc[result.themes["terms"].str.contains("駐車場"), "examples"].iat[0]
    assert any("駐車場" in e for e in examples)


def test_a_topic_removed_from_the_codebook_comes_back(frame):
    book = default_codebook().without("delivery")
    assert _themes_with(suggest_topics(frame["verbatim"], book, seed=0), {"配送", "届く", "配達"})
    assert not _themes_with(suggest_topics(frame["verbatim"], default_codebook(), seed=0),
                            {"配送", "配達"})


def test_suggestions_are_seeded_and_handle_little_text():
    texts = ["駐車場が狭い"] * 3
    assert suggest_topics(texts).themes.empty
    frame = simulate_comments(600, seed=1)[0]
    a = suggest_topics(frame["verbatim"], default_codebook(), seed=3)
    b = suggest_topics(frame["verbatim"], default_codebook(), seed=3)
    assert a.summary().equals(b.summary())
