"""Themes the codebook misses, for the analyst to add: TF-IDF and NMF on what is left.

Sentences that a codebook topic already matches are set aside, the rest of each comment is
cut into content words (:func:`cxlib.text.terms`, negated words kept as ``not_`` terms),
weighted by TF-IDF and factorised by non-negative matrix factorisation (scikit-learn's
``NMF``, NNDSVDA start, seeded). Each theme comes with its top terms and the comments that
load most on it (PII-masked). Suggestions are prompts for reading, not codes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..checks import check_at_least
from ..results import Result, ci_text
from ._codebook import Codebook
from ._normalise import normalise, sentences
from ._pii import mask_pii
from ._tokens import terms

__all__ = ["TopicSuggestions", "suggest_topics"]


@dataclass(repr=False)
class TopicSuggestions(Result):
    """Suggested themes: ``themes`` has theme, terms (top terms), n (comments whose strongest
    theme it is), share (of the comments left over) with ci_low/ci_high (Wilson), examples."""

    themes: pd.DataFrame
    n_left: int
    n_comments: int
    level: float

    def summary(self) -> pd.DataFrame:
        out = self.themes.copy()
        out["examples"] = out["examples"].map(lambda e: " / ".join(e))
        return out

    def headline(self) -> str:
        if self.themes.empty:
            return (f"Nothing left to suggest: the codebook covers every comment (no interval: "
                    f"no themes; n = {self.n_comments:,})")
        top = self.themes.iloc[0]
        return (f"Largest theme the codebook misses: {top['terms']} "
                f"({top['share']:.0%} of {self.n_left:,} uncoded comments, "
                f"{ci_text(top['ci_low'], top['ci_high'], self.level, '.0%')}; "
                f"n = {self.n_comments:,})")

    def plot(self, title: str | None = None) -> go.Figure:
        """Comments per suggested theme, labelled by its top terms."""
        from ..plots import escape_label, escape_labels, style

        t = self.themes.iloc[::-1]
        labels = escape_labels(t["terms"])
        fig = go.Figure(go.Bar(x=t["n"], y=labels, orientation="h",
                               hovertemplate="%{y}: %{x} comments<extra></extra>"))
        style(fig, title=escape_label(title or "Themes the codebook "
                                                   "misses"),
              xaxis_title="comments (strongest theme)", yaxis_title="",
              height=max(300, 32 * len(t) + 140))
        return fig


def _leftover(text: str, codebook: Codebook | None) -> str:
    if codebook is None:
        return text
    keep = [s for s in sentences(normalise(text))
            if not any(t.match.search(s) for t in codebook.topics)]
    return " ".join(keep)


def suggest_topics(texts: Iterable[object], codebook: Codebook | None = None,
                   n_themes: int = 8, n_terms: int = 6, n_examples: int = 3,
                   min_df: int = 3, seed: int = 0, level: float = 0.95) -> TopicSuggestions:
    """Up to ``n_themes`` themes in the text that ``codebook`` does not code (all text when
    None): top ``n_terms`` terms, share of the leftover comments, ``n_examples`` examples."""
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer

    from ..metrics import wilson_interval

    check_at_least("n_themes", n_themes, 1, where="suggest_topics")
    raw = [v for v in texts if isinstance(v, str) and v.strip()]
    left = [(v, _leftover(v, codebook)) for v in raw]
    left = [(v, rest) for v, rest in left if rest]
    docs = [terms(rest) for _, rest in left]
    keep = [i for i, d in enumerate(docs) if d]
    empty = pd.DataFrame(columns=["theme", "terms", "n", "share", "ci_low", "ci_high", "examples"])
    if len(keep) < max(min_df, 2 * n_themes):
        return TopicSuggestions(empty, len(keep), len(raw), level)
    vec = TfidfVectorizer(analyzer=lambda d: d, min_df=min_df, sublinear_tf=True)
    try:
        m = vec.fit_transform([docs[i] for i in keep])
    except ValueError:  # no term in min_df comments
        return TopicSuggestions(empty, len(keep), len(raw), level)
    k = min(n_themes, m.shape[1], m.shape[0])
    model = NMF(n_components=k, init="nndsvda", random_state=seed, max_iter=400)
    w = model.fit_transform(m)
    vocab = np.array(vec.get_feature_names_out())
    strongest = np.where(w.max(axis=1) > 0, w.argmax(axis=1), -1)
    rows = []
    for j in range(k):
        top = vocab[np.argsort(-model.components_[j], kind="stable")[:n_terms]]
        members = np.flatnonzero(strongest == j)
        order = members[np.argsort(-w[members, j], kind="stable")][:n_examples]
        examples = [str(mask_pii(left[keep[i]][0]))[:160] for i in order]
        rows.append((", ".join(top), len(members), examples))
    n_left = len(keep)
    themes = pd.DataFrame(rows, columns=["terms", "n", "examples"])
    themes["share"] = themes["n"] / n_left
    lo, hi = wilson_interval(themes["share"].to_numpy(), n_left, level)
    themes["ci_low"], themes["ci_high"] = lo, hi
    themes = themes.sort_values("n", ascending=False, kind="stable", ignore_index=True)
    themes.insert(0, "theme", np.arange(1, len(themes) + 1))
    return TopicSuggestions(themes[["theme", "terms", "n", "share", "ci_low", "ci_high",
                                    "examples"]], n_left, len(raw), level)
