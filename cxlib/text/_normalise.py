"""Unicode normalisation and sentence splitting for Japanese and English comments."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalise", "sentences", "is_japanese"]

# C0/C1 control characters other than tab and newline; zero-width and bidi controls
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_SPACE = re.compile(r"\s+")
_JAPANESE = re.compile("[\u3041-\u3096\u30a1-\u30fa\u30fc\u4e00-\u9fff\u3005]")
# a sentence ends at 。！？!? or a newline, or at a full stop followed by a space or the end
_SENTENCE = re.compile(r"[^。!?\n]+?(?:[。!?\n]+|\.(?=\s|$)|$)")


def normalise(text: object) -> str:
    """``text`` NFKC-normalised, case-folded, control characters removed, spaces collapsed.

    NFKC turns full-width letters and digits into ASCII (``ＡＢＣ１２３`` -> ``abc123``),
    half-width katakana into full-width (``ｽﾀｯﾌ`` -> ``スタッフ``) and ``！？`` into ``!?``;
    ``。、`` stay. Non-text (None, NA) gives "".
    """
    if not isinstance(text, str):
        return ""
    out = unicodedata.normalize("NFKC", text).casefold()
    out = _CONTROL.sub(" ", out)
    return _SPACE.sub(" ", out).strip()


def is_japanese(text: str) -> bool:
    """True when ``text`` holds kana or kanji (then it is tokenised as Japanese)."""
    return _JAPANESE.search(text) is not None


def sentences(text: str) -> list[str]:
    """Normalised ``text`` cut into sentences (at 。!? newlines, and full stops before a space)."""
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]
