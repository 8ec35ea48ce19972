"""Everything notebook 06 shows about comments, from one call: :func:`analyse`.

How much people write (by NPS group, with Wilson intervals and comment lengths), the topics
of the codebook with their sentiment, what each topic is worth in NPS and churn
(:func:`topic_impact`), topics as key drivers next to the rated items, shares by month with
emerging topics (:func:`topic_trend`), themes the codebook misses (:func:`suggest_topics`) and
the comments that ask for action (:func:`action_list`). With no comment to code every part is
empty and the headline says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..checks import check_at_least, check_option
from ..errors import DataError
from ..results import Result, ci_text
from ._actions import ActionList, action_list
from ._codebook import Codebook, default_codebook
from ._impact import TopicImpact, TopicTrend, topic_drivers, topic_impact, topic_trend
from ._normalise import is_japanese
from ._polarity import topic_sentiment
from ._suggest import TopicSuggestions, suggest_topics

__all__ = ["VerbatimAnalysis", "analyse", "LANGUAGES"]

LANGUAGES = ("auto", "ja", "en")
"""``auto``: every comment; ``ja``: comments with kana or kanji; ``en``: the others."""

_GROUPS = ("detractors", "passives", "promoters")


@dataclass(repr=False)
class VerbatimAnalysis(Result):
    """Comments coded, scored and tied to NPS, churn and money (module docstring).

    ``writing``: group (NPS group and ``all``), answers, comments, share with ci_low/ci_high
    (Wilson), median_chars. ``topics``: topic, label, parent, mentions, share of comments,
    polarity (mean, t interval), share_negative, and the impact columns of
    :class:`TopicImpact` where estimated. ``codes``: one boolean column per topic (or
    parent), rows as the answers. ``impact``, ``drivers``, ``trend``, ``suggestions``,
    ``actions``: the parts (None when there is nothing to code or a part's inputs are
    absent; ``notes`` say why).
    """

    writing: pd.DataFrame
    topics: pd.DataFrame
    codes: pd.DataFrame
    impact: TopicImpact | None
    drivers: object | None
    trend: TopicTrend | None
    suggestions: TopicSuggestions | None
    actions: ActionList | None
    n_answers: int
    n_comments: int
    level: float = 0.95
    language: str = "auto"
    notes: list[str] = field(default_factory=list)

    @property
    def has_comments(self) -> bool:
        return self.n_comments > 0

    def summary(self) -> pd.DataFrame:
        return self.topics.round(3)

    def headline(self) -> str:
        if not self.has_comments:
            return (f"No comments to code (no interval: nothing written; "
                    f"n = {self.n_answers:,} answers)")
        return self.impact.headline() if self.impact is not None else self.writing_headline()

    def writing_headline(self) -> str:
        """How many answers carry a comment, and which NPS group writes most."""
        row = self.writing.set_index("group").loc["all"]
        text = (f"{int(row['comments']):,} of {self.n_answers:,} answers carry a comment "
                f"({row['share']:.1%}, {ci_text(row['ci_low'], row['ci_high'], self.level, '.1%')}"
                f"; median {row['median_chars']:.0f} characters)")
        groups = self.writing[self.writing["group"].isin(_GROUPS) & (self.writing["answers"] > 0)]
        if len(groups) > 1:
            top = groups.loc[groups["share"].idxmax()]
            text += (f"; {top['group']} write most: {top['share']:.1%} "
                     f"({ci_text(top['ci_low'], top['ci_high'], self.level, '.1%')}; "
                     f"n = {int(top['answers']):,})")
        return text

    def sentiment_headline(self) -> str:
        """The topic mentioned most negatively, with its interval and n."""
        t = self.topics.dropna(subset=["polarity"])
        t = t[t["mentions"] > 1]
        if t.empty:
            return f"No topic mentioned (no interval; n = {self.n_comments:,} comments)"
        low = t.loc[t["polarity"].idxmin()]
        high = t.loc[t["polarity"].idxmax()]
        return (f"Most negative: {low['label']} (polarity {low['polarity']:+.2f}, "
                f"{ci_text(low['polarity_low'], low['polarity_high'], self.level, '+.2f')}; "
                f"{low['share_negative']:.0%} of {int(low['mentions']):,} mentions negative); "
                f"most positive: {high['label']} ({high['polarity']:+.2f}, "
                f"{ci_text(high['polarity_low'], high['polarity_high'], self.level, '+.2f')}; "
                f"n = {int(high['mentions']):,})")

    def churn_headline(self) -> str:
        """The topic whose mentions go with the largest churn difference (customers known)."""
        t = (self.impact.table.dropna(subset=["churn_impact"])
             if self.impact is not None and "churn_impact" in self.impact.table else None)
        if t is None or t.empty:
            return f"Churn is not known for these answers (no interval; n = {self.n_answers:,})"
        top = t.loc[t["churn_impact"].abs().idxmax()]
        return (f"Customers whose comments mention {top['label']} churned "
                f"{top['churn_with']:.1f}% against {top['churn_without']:.1f}% for the others: "
                f"{top['churn_impact']:+.1f} points "
                f"({ci_text(top['churn_low'], top['churn_high'], self.level, '+.1f')}; "
                f"n = {int(top['n_known']):,} answers with the topic)")

    def drivers_headline(self) -> str:
        """Where the strongest topic ranks among the rated items as a driver of NPS."""
        if self.drivers is None:
            return f"No rated items to compare the topics with (no interval; n = {self.n_answers:,})"
        imp = self.drivers.importance.reset_index(drop=True)
        topics = imp[imp["driver"].isin(self.codes.columns)]
        if topics.empty:
            return self.drivers.headline()
        top = topics.iloc[0]
        label = self.topics.set_index("topic")["label"].get(top["driver"], top["driver"])
        r2 = self.drivers.r2
        return (f"The strongest topic, {label}, ranks {int(top['rank'])} of {len(imp)} drivers "
                f"of {self.drivers.outcome.upper()} ({top['share']:.1%} of R² = {r2:.2f}, "
                f"{ci_text(top['ci_low'] / r2, top['ci_high'] / r2, self.level, '.1%')}); "
                f"all topics together {topics['share'].sum():.0%}, the rated items "
                f"{1 - topics['share'].sum():.0%} (n = {self.drivers.n:,} answers)")

    def plot(self, title: str | None = None) -> go.Figure:
        """Frequency x impact (:meth:`TopicImpact.plot`); an empty figure without comments."""
        from ..plots import escape_label, style

        if self.impact is not None:
            return self.impact.plot(title)
        return style(go.Figure(), title=escape_label(title or self.headline()))

    def plot_writing(self, title: str | None = None) -> go.Figure:
        """Share of answers with a comment per NPS group, with Wilson intervals."""
        from ..plots import escape_label, style

        t = self.writing[self.writing["answers"] > 0]
        fig = go.Figure(go.Bar(
            x=t["group"], y=100 * t["share"],
            error_y=dict(type="data", symmetric=False, array=100 * (t["ci_high"] - t["share"]),
                         arrayminus=100 * (t["share"] - t["ci_low"])),
            customdata=t[["answers"]].to_numpy(),
            hovertemplate="%{x}: %{y:.1f}% (n=%{customdata[0]})<extra></extra>"))
        return style(fig, title=escape_label(title or self.writing_headline()),
                     yaxis_title=f"answers with a comment (%, {self.level:.0%} Wilson CI)",
                     xaxis_title="")

    def plot_sentiment(self, title: str | None = None) -> go.Figure:
        """Mean polarity of each topic's mentions with its t interval."""
        from ..plots import escape_label, forest

        t = self.topics.dropna(subset=["polarity"]).sort_values("polarity")
        # plots.forest escapes the labels itself
        return forest(t.assign(label=t["label"].astype(str)), label="label", x="polarity",
                      low="polarity_low", high="polarity_high",
                      title=escape_label(title or self.sentiment_headline()),
                      x_title=f"polarity (-1 negative to +1 positive, {self.level:.0%} CI)")


def _writing(frame: pd.DataFrame, has: np.ndarray, text: pd.Series, score: str,
             level: float) -> pd.DataFrame:
    from ..metrics import wilson_interval

    chars = text.str.len().to_numpy(dtype=float, na_value=np.nan)
    groups = {"all": np.ones(len(frame), bool)}
    if score in frame.columns:
        s = pd.to_numeric(frame[score], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        groups.update(detractors=s <= 6, passives=(s >= 7) & (s <= 8), promoters=s >= 9)
    rows = []
    for name, sel in groups.items():
        n, k = int(sel.sum()), int((has & sel).sum())
        share = k / n if n else np.nan
        lo, hi = wilson_interval(share, n, level) if n else (np.nan, np.nan)
        rows.append((name, n, k, share, float(lo), float(hi),
                     float(np.nanmedian(chars[has & sel])) if k else np.nan))
    return pd.DataFrame(rows, columns=["group", "answers", "comments", "share", "ci_low",
                                       "ci_high", "median_chars"])


def _in_language(text: pd.Series, language: str) -> pd.Series:
    if language == "auto":
        return text
    ja = text.map(lambda v: is_japanese(v) if isinstance(v, str) else False, na_action="ignore")
    keep = ja.fillna(False).astype(bool) if language == "ja" else ~ja.fillna(True).astype(bool)
    return text.where(keep)


def analyse(responses: pd.DataFrame, codebook: Codebook | None = None,
            customers: pd.DataFrame | None = None, churn_risk: pd.Series | None = None,
            items: Sequence[str] = (), level: str = "topic", language: str = "auto",
            min_mentions: int = 30, n_boot: int = 500, ci: float = 0.95, seed: int = 0,
            recent: int = 3, fdr: float = 0.05, n_themes: int = 6,
            text: str = "verbatim", score: str = "nps") -> VerbatimAnalysis:
    """Comments of ``responses`` coded with ``codebook`` (the default when None) at ``level``
    (``topic`` or ``parent``), in ``language`` (:data:`LANGUAGES`).

    ``customers`` (``customer_id``, ``churned``, ``monthly_revenue``) adds churn to the
    impact and revenue to the action list; ``churn_risk`` (0-1 by customer id) ranks the
    action list by revenue at risk. ``items``: rated items answered next to NPS; topics
    become key drivers beside them (relative weights, answers with every item). Topics with
    fewer than ``min_mentions`` mentions get no impact estimate. Bootstrap: ``n_boot``
    resamples from ``seed`` at confidence ``ci``; emerging topics: the last ``recent``
    months against the earlier ones, Benjamini-Hochberg at ``fdr``. Sentiment stays per
    topic at either level.
    """
    where = "text.analyse"
    check_option("level", level, ("topic", "parent"), where=where)
    check_option("language", language, LANGUAGES, where=where)
    check_at_least("min_mentions", min_mentions, 1, where=where)
    book = codebook or default_codebook()
    frame = responses.reset_index(drop=True)
    notes: list[str] = []
    body = (frame[text].astype("string") if text in frame.columns
            else pd.Series(pd.NA, index=frame.index, dtype="string"))
    body = body.where(body.str.strip().str.len() > 0)
    body = _in_language(body, language)
    if language != "auto":
        notes.append(f"only comments in {language} are coded ({int(body.notna().sum()):,})")
    frame = frame.assign(**{text: body})
    has = body.notna().to_numpy()
    writing = _writing(frame, has, body, score, ci)
    n_comments = int(has.sum())
    empty_codes = pd.DataFrame(index=frame.index)
    if not n_comments:
        notes.append(f"no comments in column {text!r}: nothing to code")
        return VerbatimAnalysis(writing, pd.DataFrame(columns=["topic", "label", "mentions"]),
                                empty_codes, None, None, None, None, None, len(frame), 0, ci,
                                language, notes)

    if customers is not None and "customer_id" in frame.columns:
        cols = [c for c in ("churned", "monthly_revenue") if c in customers.columns
                and c not in frame.columns]
        if cols:
            keyed = customers.drop_duplicates("customer_id").set_index("customer_id")[cols]
            frame = frame.join(keyed, on="customer_id")
    codes = book.code(body, level=level)
    labels = ({t.name: t.label for t in book.topics} if level == "topic"
              else {c: c for c in codes.columns})
    mentions = codes[has].sum(axis=0)
    topics = pd.DataFrame({"topic": codes.columns, "label": [labels[c] for c in codes.columns],
                           "mentions": mentions.to_numpy(),
                           "share": mentions.to_numpy() / n_comments})
    if level == "topic":
        sent = topic_sentiment(body[has], book, level=ci).rename(
            columns={"ci_low": "polarity_low", "ci_high": "polarity_high"})
        topics = topics.merge(sent.drop(columns=["label", "mentions"]), on="topic", how="left")
        topics.insert(2, "parent", [book.topic(t).parent for t in topics["topic"]])
    else:
        notes.append("sentiment is per topic; at level 'parent' it is not shown")
        topics = topics.assign(polarity=np.nan, polarity_low=np.nan, polarity_high=np.nan,
                               share_negative=np.nan, share_positive=np.nan)

    impact = drivers = None
    if score in frame.columns and frame[score].notna().any():
        churn = "churned" if "churned" in frame.columns else None
        impact = topic_impact(frame, codes, score=score, churn=churn, text=text, labels=labels,
                              n_boot=n_boot, level=ci, seed=seed, min_mentions=min_mentions)
        notes += impact.notes
        est = impact.table.drop(columns=["label", "share"])
        topics = topics.merge(est, on="topic", how="left")
        items = [c for c in items if c in frame.columns]
        coded = [c for c in codes.columns if codes.loc[has, c].sum() >= min_mentions]
        if items and coded:
            rated = frame[[score, *items]].notna().all(axis=1).to_numpy()
            if rated.sum() >= 100:
                drivers = topic_drivers(frame[rated], codes.loc[rated, coded], items,
                                        outcome=score, n_boot=min(n_boot, 100), seed=seed,
                                        level=ci)
            else:
                notes.append(f"topics as key drivers need 100 answers with every rated item "
                             f"({int(rated.sum())} here)")
    else:
        notes.append(f"no {score!r} answers: topic impact is not estimated")

    trend = None
    if "response_date" in frame.columns:
        trend = topic_trend(frame, codes, text=text, recent=recent, fdr=fdr, level=ci,
                            labels=labels)
    suggestions = suggest_topics(body[has], book, n_themes=n_themes, seed=seed, level=ci)
    acting = frame
    if churn_risk is not None and "customer_id" in frame.columns:
        acting = frame.assign(churn_risk=frame["customer_id"].map(churn_risk))
    actions = action_list(acting, text=text,
                          risk="churn_risk" if "churn_risk" in acting.columns else None)
    topics = topics.sort_values("mentions", ascending=False, kind="stable", ignore_index=True)
    return VerbatimAnalysis(writing, topics, codes, impact, drivers, trend, suggestions, actions,
                            len(frame), n_comments, ci, language, notes)


def churn_risk(tables, horizon: int = 6, seed: int = 0, n_boot: int = 20,
               exclude: Sequence[str] = ("monthly_revenue", "spend_to_date")) -> pd.Series:
    """Each customer's probability of churning within ``horizon`` months, from the churn
    model of notebook 03 (:func:`cxlib.churn.fit`, logistic, out-of-fold validated) at the
    last snapshot whose outcome is known (``horizon`` months before the end of the data):
    a Series by customer id, for customers active at that snapshot."""
    from .. import churn

    if "customers" not in tables:
        raise DataError("churn_risk: needs the customers table")
    ends = [tables["customers"]["signup_date"].max()]
    if "responses" in tables:
        ends.append(tables["responses"]["response_date"].max())
    snapshot = (max(ends) - pd.DateOffset(months=horizon)).normalize()
    data = churn.from_tables(tables, snapshot, horizon=horizon)
    fit = churn.fit(data.features, data.target, exclude=list(exclude), seed=seed, n_boot=n_boot)
    risk = pd.Series(np.asarray(fit.predict(data.features), dtype=float),
                     index=data.features["customer_id"].astype(str), name="churn_risk")
    risk.attrs.update(snapshot=str(snapshot.date()), horizon=horizon,
                      roc_auc=float(fit.metrics["roc_auc"]))
    return risk
