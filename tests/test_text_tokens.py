"""Normalisation and tokens: NFKC, Japanese and English words, stop words, negation."""

from __future__ import annotations

import pytest

from cxlib.text import normalise, sentences, terms, tokenise


def test_nfkc_folds_widths_case_and_punctuation():
    assert normalise("ＡＢＣ１２３ ｽﾀｯﾌ！？") == "abc123 スタッフ!?"
    assert normalise("待ち時間。説明、") == "待ち時間。説明、"       # 。、 stay
    assert normalise("a\x00b\u200bc\u202e  d\n") == "a b c d"          # controls and spaces
    assert normalise(None) == "" and normalise(3) == ""


def test_sentences_split_japanese_and_english():
    assert sentences(normalise("遅い。でも丁寧！ The app is slow. 3.5 stars")) == [
        "遅い。", "でも丁寧!", "the app is slow.", "3.5 stars"]


@pytest.mark.parametrize("text, negated", [
    ("説明が分かりやすくなかった", {"分かる", "やすい"}),
    ("丁寧ではありませんでした", {"丁寧"}),
    ("ほとんど待たずに済んだ", {"待つ"}),
    ("満足していません", {"満足"}),
    ("スタッフは親切でした", set()),
    ("The staff were not helpful", {"helpful"}),
    ("I didn't wait", {"wait"}),
    ("It no longer works", {"works"}),
    ("Never called back, but friendly", {"called", "back"}),
])
def test_negation_is_marked_on_the_negated_words(text, negated):
    assert {t.base for t in tokenise(text) if t.negated} == negated


def test_japanese_words_take_their_dictionary_form_and_stop_words_drop():
    assert terms("スタッフの対応が良くなかったです") == ["スタッフ", "対応", "not_良い"]
    assert terms("The staff were very friendly") == ["staff", "friendly"]


def test_mixed_comments_keep_both_languages():
    words = terms("アプリのloginができない。 Support was great!")
    assert "アプリ" in words and "not_login" in words and "great" in words


def test_tokenising_needs_no_download(monkeypatch):
    import socket

    def refuse(*args, **kwargs):
        raise OSError("network used")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    assert terms("配送が早かった") == ["配送", "早い"]
