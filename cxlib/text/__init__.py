"""Free text: made safe to show and export, prepared, coded into topics, scored, tied to NPS.

Survey verbatims are untrusted: they may hold HTML (``<script>``), spreadsheet formulas and
personal data. We never build HTML or Markdown from them; we show them as plain DataFrames
(pandas escapes cells in ``_repr_html_``), with personal data masked (:func:`mask_pii`,
docs/privacy.md), labels escaped before they reach plotly, and formula-like cells prefixed
with ``'`` before writing spreadsheets (:func:`excel_safe`, :meth:`ActionList.to_csv`).

Text analytics (docs/verbatims.md): :func:`normalise` and :func:`tokenise` / :func:`terms`
(SudachiPy for Japanese, negation marked); a YAML :class:`Codebook` of topics
(:func:`load_codebook`, :func:`default_codebook`); :func:`suggest_topics` for themes it
misses; :func:`polarity` per comment and :func:`topic_sentiment` per topic mention;
:func:`topic_impact`, :func:`topic_drivers` and :func:`topic_trend` tie topics to NPS, churn
and time; :func:`action_list` ranks comments that ask for action; :func:`analyse` does all of it for
notebook 06 (with :func:`churn_risk` from the churn model to rank the actions).
"""

from __future__ import annotations

from ._actions import ActionList, action_list, csv_safe
from ._analyse import LANGUAGES, VerbatimAnalysis, analyse, churn_risk
from ._codebook import Codebook, Topic, default_codebook, load_codebook
from ._impact import (TopicImpact, TopicTrend, benjamini_hochberg, topic_drivers, topic_impact,
                      topic_trend)
from ._normalise import normalise, sentences
from ._pii import (ADDRESS_MASK, EMAIL_MASK, PHONE_MASK, POSTCODE_MASK, excel_safe,
                   flagged_verbatims, mask_pii, verbatims)
from ._polarity import lexicon, mention_polarity, polarity, topic_sentiment
from ._suggest import TopicSuggestions, suggest_topics
from ._tokens import STOP_WORDS, Token, terms, tokenise

__all__ = ["mask_pii", "verbatims", "flagged_verbatims", "excel_safe", "EMAIL_MASK", "PHONE_MASK",
           "POSTCODE_MASK", "ADDRESS_MASK",
           "normalise", "sentences", "tokenise", "terms", "Token", "STOP_WORDS",
           "Codebook", "Topic", "load_codebook", "default_codebook",
           "suggest_topics", "TopicSuggestions",
           "polarity", "mention_polarity", "topic_sentiment", "lexicon",
           "topic_impact", "topic_trend", "topic_drivers", "TopicImpact", "TopicTrend",
           "benjamini_hochberg",
           "action_list", "ActionList", "csv_safe",
           "analyse", "VerbatimAnalysis", "churn_risk", "LANGUAGES"]
