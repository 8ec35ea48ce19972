"""Polarity of comments: a lexicon of our own, matched on dictionary forms, negation handled.

The lexicon (``polarity_lexicon.csv`` in this package, written for cx-workbench, MIT like
the code; docs/verbatims.md) lists Japanese and English words and phrases with a score
(+ positive, - negative, about -2 to 2). Each entry is cut by the same tokeniser as the
comments, so 分かりやすく / わかりやすかった / 分かりやすい all match 分かりやすい, and
phrases that carry their own negation (問題ない, no complaints, can't fault) match as a whole.
A negated entry (良くなかった, not helpful) counts -0.8 times its score if positive and
-0.6 times if negative (not bad is milder than good). After a contrast (でも, けど, しかし,
が after a predicate, but, however) what came before counts half. A comment's polarity is
``tanh`` of the sum: in (-1, 1), above zero positive, 0 when nothing matched.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from ._normalise import normalise
from ._tokens import Token, _english, _japanese, is_japanese, tokenise

__all__ = ["polarity", "mention_polarity", "topic_sentiment", "lexicon"]

_CONTRAST = frozenset({"でも", "しかし", "けど", "けれど", "けれども", "ただ", "ところが", "のに",
                       "but", "however", "though", "although", "yet"})
_PREDICATE = frozenset({"aux", "adj", "verb"})


@lru_cache(maxsize=1)
def lexicon() -> pd.DataFrame:
    """The shipped lexicon: ``term``, ``lang`` (ja, en), ``score``."""
    text = resources.files(__package__).joinpath("polarity_lexicon.csv").read_text("utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    return pd.DataFrame({"term": [r["term"] for r in rows], "lang": [r["lang"] for r in rows],
                         "score": [float(r["score"]) for r in rows]})


@lru_cache(maxsize=1)
def _entries() -> dict[str, list[tuple[tuple[str, ...], float]]]:
    """Lexicon entries as sequences of dictionary forms, by first form, longest first."""
    table: dict[str, list[tuple[tuple[str, ...], float]]] = {}
    for term, lang, score in lexicon().itertuples(index=False):
        text = normalise(term)
        toks = _japanese(text) if lang == "ja" or is_japanese(text) else _english(text)
        key = tuple(t.base for t in toks if t.kind != "punct")
        if key:
            table.setdefault(key[0], []).append((key, score))
    for options in table.values():
        options.sort(key=lambda e: -len(e[0]))
    return table


def _score(tokens: list[Token]) -> float:
    table = _entries()
    total, i = 0.0, 0
    bases = [t.base for t in tokens]
    while i < len(tokens):
        t = tokens[i]
        if t.base in _CONTRAST or (t.base == "が" and i > 0 and t.lang == "ja"
                                   and tokens[i - 1].kind in _PREDICATE):
            total *= 0.5
            i += 1
            continue
        for key, score in table.get(t.base, ()):
            if tuple(bases[i:i + len(key)]) == key:
                span = tokens[i:i + len(key)]
                own_negator = any(s.negator for s in span)
                if not own_negator and any(s.negated for s in span):
                    score *= -0.8 if score > 0 else -0.6
                elif own_negator and _negated_after(tokens, i + len(key)):
                    score *= -0.6
                total += score
                i += len(key)
                break
        else:
            i += 1
    return total


def _negated_after(tokens: list[Token], j: int) -> bool:
    """A Japanese negator follows position ``j`` (問題なく*ない*): the phrase is negated."""
    return any(t.negator for t in tokens[j:j + 3] if t.lang == "ja")


def polarity(texts: Iterable[object]) -> pd.Series:
    """One polarity per comment in (-1, 1): above zero positive, below negative, 0 neutral.

    Lexicon-based with negation (module docstring); missing comments give NaN.
    """
    values = list(texts.tolist() if isinstance(texts, pd.Series) else texts)
    out = [math.tanh(_score(tokenise(v))) if isinstance(v, str) else float("nan")
           for v in values]
    index = texts.index if isinstance(texts, pd.Series) else None
    return pd.Series(out, index=index, dtype=float, name="polarity")


_CLAUSE = re.compile(r"(?<=[。!?、,;])|(?=(?:でも|しかし|けど|けれど|\bbut\b|\bhowever\b))")


def _clauses(text: str) -> list[str]:
    return [c for c in _CLAUSE.split(normalise(text)) if c.strip()]


def mention_polarity(text: object, pattern: re.Pattern) -> float:
    """Polarity of the clauses of ``text`` that mention a topic (``pattern`` on normalised
    text); the whole comment's polarity when no single clause holds the mention."""
    if not isinstance(text, str):
        return float("nan")
    hits = [c for c in _clauses(text) if pattern.search(c)]
    body = " ".join(hits) if hits else text
    return math.tanh(_score(tokenise(body)))


def topic_sentiment(texts, codebook, level: float = 0.95) -> pd.DataFrame:
    """Polarity of each topic's mentions: topic, label, mentions, mean polarity with a
    t interval, share of mentions negative (below zero) and positive."""
    from scipy import stats

    values = list(texts.tolist() if isinstance(texts, pd.Series) else texts)
    codes = codebook.code(values)
    rows = []
    for t in codebook.topics:
        scores = np.array([mention_polarity(values[i], t.match)
                           for i in np.flatnonzero(codes[t.name].to_numpy())], dtype=float)
        n = len(scores)
        mean = float(scores.mean()) if n else np.nan
        half = (float(stats.t.ppf(0.5 + level / 2, n - 1) * scores.std(ddof=1) / np.sqrt(n))
                if n > 1 else np.nan)
        rows.append((t.name, t.label, n, mean, mean - half, mean + half,
                     float((scores < 0).mean()) if n else np.nan,
                     float((scores > 0).mean()) if n else np.nan))
    return pd.DataFrame(rows, columns=["topic", "label", "mentions", "polarity", "ci_low",
                                       "ci_high", "share_negative", "share_positive"])
