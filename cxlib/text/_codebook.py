"""A codebook of topics the analyst edits (YAML), applied the same way on every run.

Each topic has a label, an optional parent, keywords and regular-expression patterns per
language (``ja``, ``en``) and exclusions. Matching is on normalised text (NFKC, case-folded,
:func:`cxlib.text.normalise`): Japanese keywords match anywhere in the text, English ones as
whole words (``explain*`` also matches explained, explanation). A comment is coded with a
topic when any keyword or pattern matches and no exclusion does; a comment can have several
topics. Nothing is learnt from the data, so a topic means the same thing from run to run.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ..errors import DataError
from ._normalise import normalise

__all__ = ["Codebook", "Topic", "load_codebook", "default_codebook", "DEFAULT_CODEBOOK"]

DEFAULT_CODEBOOK = "codebook_default.yml"
LANGUAGES = ("ja", "en")
_TOP_KEYS = ("version", "topics")
_TOPIC_KEYS = ("label", "parent", "keywords", "patterns", "exclude")


@dataclass(frozen=True)
class Topic:
    """One topic: its name, label, parent and compiled matchers."""

    name: str
    label: str
    parent: str | None
    keywords: dict[str, tuple[str, ...]]
    patterns: dict[str, tuple[str, ...]]
    exclude: dict[str, tuple[str, ...]]
    match: re.Pattern
    excluded: re.Pattern | None
    needles: tuple[str, ...] | None = None
    """Literal text every keyword match contains (a fast pre-check); None with patterns."""

    def matches(self, text: str) -> bool:
        """The topic codes this normalised text (a keyword or pattern, and no exclusion)."""
        if not text or (self.needles is not None and not any(n in text for n in self.needles)):
            return False
        return self.match.search(text) is not None and (
            self.excluded is None or self.excluded.search(text) is None)


def _did_you_mean(value: str, allowed: Iterable[str]) -> str:
    close = difflib.get_close_matches(value, list(allowed), n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


def _keyword_regex(word: str, lang: str) -> str:
    word = normalise(word)
    star = word.endswith("*")
    body = re.escape(word.rstrip("*")).replace(r"\ ", r"\s+")
    if lang == "ja":
        return body + (r"\w*" if star else "")
    return rf"(?<![a-z0-9]){body}{r'[a-z]*' if star else ''}(?![a-z0-9])"


def _terms(where: str, value: object, key: str) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise DataError(f"{where}.{key}: expected languages ({', '.join(LANGUAGES)}) each with "
                        f"a list, got {type(value).__name__}")
    out = {}
    for lang, items in value.items():
        if lang not in LANGUAGES:
            raise DataError(f"{where}.{key}: unknown language {lang!r} (use "
                            f"{', '.join(LANGUAGES)}){_did_you_mean(str(lang), LANGUAGES)}")
        if items is None:
            items = []
        if isinstance(items, str) or not isinstance(items, list):
            raise DataError(f"{where}.{key}.{lang}: expected a list of strings")
        bad = [i for i in items if not isinstance(i, str) or not i.strip()]
        if bad:
            raise DataError(f"{where}.{key}.{lang}: entries must be non-empty text, got {bad[:3]}")
        out[lang] = tuple(items)
    return out


def _compile(where: str, keywords: dict, patterns: dict) -> re.Pattern | None:
    parts = [_keyword_regex(w, lang) for lang, words in keywords.items() for w in words]
    for lang, pats in patterns.items():
        for i, p in enumerate(pats):
            try:
                re.compile(p)
            except re.error as exc:
                raise DataError(f"{where}.patterns.{lang}[{i}]: invalid regular expression "
                                f"{p!r} ({exc})") from None
            parts.append(f"(?:{p})")
    return re.compile("|".join(parts)) if parts else None


def _topic(name: str, spec: object, source: str) -> Topic:
    where = f"{source}: topics.{name}"
    if not isinstance(spec, Mapping):
        raise DataError(f"{where}: expected keys {', '.join(_TOPIC_KEYS)}, got "
                        f"{type(spec).__name__}")
    for key in spec:
        if key not in _TOPIC_KEYS:
            raise DataError(f"{where}: unknown key {key!r}{_did_you_mean(str(key), _TOPIC_KEYS)}")
    keywords = _terms(where, spec.get("keywords"), "keywords")
    patterns = _terms(where, spec.get("patterns"), "patterns")
    exclude = _terms(where, spec.get("exclude"), "exclude")
    match = _compile(where, keywords, patterns)
    if match is None:
        raise DataError(f"{where}: no keywords or patterns")
    parent = spec.get("parent")
    needles = None if patterns else tuple(
        " ".join(normalise(w).rstrip("*").split()) for words in keywords.values() for w in words)
    return Topic(name, str(spec.get("label") or name), str(parent) if parent else None,
                 keywords, patterns, exclude, match, _compile(where, exclude, {}), needles)


@dataclass(frozen=True)
class Codebook:
    """Topics in the order written; :meth:`code` applies them to comments."""

    topics: tuple[Topic, ...]
    source: str = "codebook"

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.topics]

    def topic(self, name: str) -> Topic:
        for t in self.topics:
            if t.name == name:
                return t
        raise DataError(f"{self.source}: no topic {name!r}{_did_you_mean(name, self.names)}")

    def without(self, *names: str) -> Codebook:
        """A copy without the named topics (to test what suggestions find)."""
        for n in names:
            self.topic(n)
        return Codebook(tuple(t for t in self.topics if t.name not in names), self.source)

    def table(self) -> pd.DataFrame:
        """One row per topic: name, label, parent, number of keywords and patterns."""
        return pd.DataFrame({
            "topic": self.names, "label": [t.label for t in self.topics],
            "parent": [t.parent for t in self.topics],
            "keywords": [sum(map(len, t.keywords.values())) for t in self.topics],
            "patterns": [sum(map(len, t.patterns.values())) for t in self.topics]})

    def code(self, texts: Iterable[object], level: str = "topic") -> pd.DataFrame:
        """One boolean column per topic (``level="parent"``: per parent, a topic without a
        parent standing for itself), one row per comment; missing comments have no topic."""
        if level not in ("topic", "parent"):
            raise DataError(f"{self.source}: level must be 'topic' or 'parent', got {level!r}"
                            f"{_did_you_mean(str(level), ('topic', 'parent'))}")
        index = texts.index if isinstance(texts, pd.Series) else None
        norm = [normalise(v) for v in texts]
        cols = {}
        for t in self.topics:
            cols[t.name] = np.fromiter((t.matches(s) for s in norm), bool, len(norm))
        codes = pd.DataFrame(cols, index=index)
        if level == "parent":
            groups: dict[str, list[str]] = {}
            for t in self.topics:
                groups.setdefault(t.parent or t.name, []).append(t.name)
            codes = pd.DataFrame({p: codes[m].any(axis=1) for p, m in groups.items()},
                                 index=codes.index)
        return codes


def _parse(data: object, source: str) -> Codebook:
    if not isinstance(data, Mapping) or "topics" not in data:
        raise DataError(f"{source}: a codebook is a mapping with a 'topics' key")
    for key in data:
        if key not in _TOP_KEYS:
            raise DataError(f"{source}: unknown key {key!r}{_did_you_mean(str(key), _TOP_KEYS)}")
    topics = data["topics"]
    if not isinstance(topics, Mapping) or not topics:
        raise DataError(f"{source}: 'topics' must map topic names to their keywords")
    return Codebook(tuple(_topic(str(name), spec, source) for name, spec in topics.items()),
                    source)


def load_codebook(path: str | Path | None = None) -> Codebook:
    """The codebook at ``path`` (YAML), or the shipped default when None.

    Errors name the file and the key (``codebook.yml: topics.staff: unknown key 'keyword';
    did you mean 'keywords'?``).
    """
    if path is None:
        return default_codebook()
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: codebook file not found")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DataError(f"{p.name}: not valid YAML ({' '.join(str(exc).split())})") from None
    return _parse(data, p.name)


def default_codebook() -> Codebook:
    """The shipped codebook: staff, waiting, explanation, price, billing, contract and
    cancellation, app and web, delivery, quality (Japanese and English)."""
    text = resources.files(__package__).joinpath(DEFAULT_CODEBOOK).read_text("utf-8")
    return _parse(yaml.safe_load(text), DEFAULT_CODEBOOK)
