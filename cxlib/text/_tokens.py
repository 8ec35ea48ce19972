"""Tokens of Japanese and English comments, with stop words and negation marked.

Japanese sentences (any kana or kanji) are cut by SudachiPy with the SudachiDict core
dictionary shipped in its wheel (both Apache-2.0; nothing is downloaded at run time), in
mode C (longest units), and each token keeps its dictionary form: 良く -> 良い. English
sentences are cut by a regular expression; ``n't`` becomes ``not``. A comment mixing both
is cut sentence by sentence; Latin words inside a Japanese sentence stay words.

Negation: in Japanese the negator follows the predicate (良く*なかった*, 分かりやすく*ない*,
丁寧では*ありません*, 待た*ず*): the content word before it (over auxiliaries, light verbs
and the particles は, も, が, で, に) is marked. In English the negator comes first (*not*
helpful, *never* called, *no longer* works, did*n't*): up to three following words, up to
punctuation or ``but``, are marked.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from ._normalise import is_japanese, normalise, sentences

__all__ = ["Token", "tokenise", "terms", "STOP_WORDS", "NEGATORS_JA", "NEGATORS_EN"]


class Token(NamedTuple):
    """One word: its dictionary form, its kind, language, and whether a negator applies."""

    base: str
    kind: str          # noun, verb, adj, adv, aux, particle, suffix, punct, other
    lang: str          # ja or en
    negated: bool = False
    negator: bool = False

    @property
    def content(self) -> bool:
        return (self.kind in ("noun", "verb", "adj", "adv", "suffix") and not self.negator
                and self.base not in STOP_WORDS)


NEGATORS_JA = frozenset({"ない", "ぬ", "ず", "ん", "無い"})
NEGATORS_EN = frozenset({"not", "no", "never", "nothing", "none", "nobody", "neither", "nor",
                         "without", "hardly", "barely", "cannot"})
_LIGHT_VERBS_JA = frozenset({"ある", "いる", "おる", "する", "なる", "くれる", "もらう", "いただく",
                             "くださる", "しまう", "できる", "られる", "れる", "せる", "させる"})
_SKIP_PARTICLES_JA = frozenset({"は", "も", "が", "で", "に", "じゃ", "て", "でも", "には"})
_SCOPE_END_EN = frozenset({"but", "however", "although", "though", "and", "yet"})
_SCOPE_EN = 3

STOP_WORDS = frozenset("""
a an the and or but if then so to of in on at by for with from as is are was were be been being
am do does did done have has had having i me my we our you your he she it its they them their this
that these those there here what which who whom when where why how all any both each few more most
other some such only own same than too very can will just should would could also about into over
again further once s t just really quite still even get got one
する いる ある なる れる られる こと もの ため よう それ これ あれ どれ そう ここ そこ 私 自分 方 さん
です ます た だ て に は を が の と も で や か な ね よ から まで より へ など
いつも お世話 おる 今回 つく 今後 とも よろしく 願う くださる 下さる いただく 頂く 思う ござる 特に
overall say please
""".split())

_KIND_JA = {"名詞": "noun", "代名詞": "noun", "動詞": "verb", "形容詞": "adj", "形状詞": "adj",
            "副詞": "adv", "助動詞": "aux", "助詞": "particle", "接尾辞": "suffix",
            "補助記号": "punct", "記号": "punct", "空白": "punct", "連体詞": "other",
            "接頭辞": "other", "接続詞": "other", "感動詞": "other"}
_LATIN = re.compile("[a-z]")
_WORD_EN = re.compile(r"[a-z0-9]+(?:'[a-z]+)*|[.,!?;:()]")
_CONTRACTIONS = {"can't": ("can", "not"), "won't": ("will", "not"), "shan't": ("shall", "not"),
                 "cannot": ("can", "not")}


@lru_cache(maxsize=1)
def _sudachi():
    try:
        from sudachipy import dictionary, tokenizer
    except ImportError as exc:  # pragma: no cover - a dependency of cxlib
        raise ImportError("Japanese tokenisation needs sudachipy and sudachidict-core "
                          "(pip install sudachipy sudachidict-core)") from exc
    found = dictionary.Dictionary(dict="core")
    mode = tokenizer.Tokenizer.SplitMode.C
    # 0.7 renamed create() to tokenizer(); fields: only what we read (faster)
    if hasattr(found, "tokenizer"):
        return found.tokenizer(mode, fields={"pos", "dictionary_form"})
    return found.create(mode)  # pragma: no cover - sudachipy 0.6


_KIND_OF_ID: dict[int, str] = {}


def _kind(m) -> str:
    """Our kind of a Sudachi morpheme, cached by part-of-speech id (faster than the tuple)."""
    pid = m.part_of_speech_id()
    kind = _KIND_OF_ID.get(pid)
    if kind is None:
        kind = _KIND_OF_ID[pid] = _KIND_JA.get(m.part_of_speech()[0], "other")
    return kind


def _japanese(sentence: str) -> list[Token]:
    out: list[Token] = []
    negators = False
    for m in _sudachi().tokenize(sentence):
        kind = _kind(m)
        base = m.dictionary_form()
        if base.isascii():
            base = m.surface().casefold()            # Latin words keep their spelling
        negator = base in NEGATORS_JA and kind in ("aux", "adj") and bool(out)
        negators |= negator
        out.append(Token(base, kind, "ja", False, negator))
    return _mark_japanese(out) if negators else out


def _negated_target_ja(tokens: list[Token], k: int) -> list[int]:
    """Indexes of the content words that the negator at ``k`` negates (empty if none)."""
    i = k - 1
    while i >= 0 and (tokens[i].kind == "aux" or tokens[i].base in _LIGHT_VERBS_JA
                      or (tokens[i].kind == "particle" and tokens[i].base in _SKIP_PARTICLES_JA)):
        i -= 1
    marked = []
    while i >= 0 and tokens[i].kind == "suffix":
        marked.append(i)
        i -= 1
    if i >= 0 and tokens[i].kind in ("noun", "verb", "adj", "adv"):
        marked.append(i)
    return marked


def _mark_japanese(tokens: list[Token]) -> list[Token]:
    negated = set()
    for k, t in enumerate(tokens):
        if t.negator:
            negated.update(_negated_target_ja(tokens, k))
    return [t._replace(negated=True) if i in negated else t for i, t in enumerate(tokens)]


def _english(sentence: str) -> list[Token]:
    words: list[str] = []
    for w in _WORD_EN.findall(sentence.replace("’", "'")):
        if w in _CONTRACTIONS:
            words += _CONTRACTIONS[w]
        elif w.endswith("n't"):
            words += [w[:-3], "not"]
        else:
            words.append(w)
    out, scope = [], 0
    for w in words:
        punct = not w[0].isalnum()
        if punct or w in _SCOPE_END_EN:
            scope = 0
        negator = w in NEGATORS_EN or (w == "longer" and out and out[-1].base == "no")
        kind = "punct" if punct else "other" if negator else "noun"
        out.append(Token(w, kind, "en", negated=scope > 0 and not negator, negator=negator))
        if negator:
            scope = _SCOPE_EN
        elif not punct and w not in STOP_WORDS:
            scope = max(scope - 1, 0)
    return out


def tokenise(text: object) -> list[Token]:
    """Tokens of one comment (normalised first; see the module docstring for the rules)."""
    norm = normalise(text)
    if not _LATIN.search(norm):                     # Japanese only: one call for the comment
        return _japanese(norm) if norm else []
    out: list[Token] = []
    for sentence in sentences(norm):
        out += _japanese(sentence) if is_japanese(sentence) else _english(sentence)
    return out


def terms(text: object) -> list[str]:
    """Content words of a comment, stop words dropped, negated ones prefixed ``not_``."""
    return [("not_" if t.negated else "") + t.base for t in tokenise(text) if t.content]
