"""``cx init``: a commented starter ``cx.yml`` from the files in a folder.

The files are only read (never modified). For each file: the export platform and encoding
(``surveyio`` detection), its columns, the contract table it most likely is, a guessed
mapping of columns to contract names (by name and question text, English and Japanese),
score scales from the observed answers, and the item battery; what cannot be guessed is
marked ``# TODO: could not guess``. The analyst confirms it; every value written is valid,
so the description loads as it is.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataError
from ..schema import CONTRACT
from ..surveyio import KNOWN_COLUMNS, NA_ANSWERS, SCORE_SCALES, is_personal, read_export
from ._description import DESCRIPTION_FILE, TABLES, sample_items

__all__ = ["inspect_folder", "init_description", "write_description", "FileFinding"]

SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".parquet", ".xlsx", ".xlsm", ".xls")
SKIP = frozenset({"latent.parquet"})  # the sample's hidden truth, not a contract table
SURVEY_PLATFORMS = ("qualtrics", "surveymonkey", "google_forms")

# contract column <- words in a column name or question text (first match wins; order matters)
RESPONSE_WORDS: dict[str, tuple[str, ...]] = {
    "nps": ("nps", "recommend", "薦め", "すすめ", "勧め", "推奨"),
    "ces": ("ces", "effort", "easy to", "手間", "簡単", "容易", "苦労"),
    "csat": ("csat", "satisf", "満足"),
    "expectation_met": ("expectation", "期待"),
    "verbatim": ("comment", "verbatim", "reason", "feedback", "自由", "コメント", "理由",
                 "ご意見", "感想"),
    "response_date": ("response date", "recorded", "回答日", "回答日時"),
    "customer_id": ("customer id", "customerid", "member id", "顧客id", "顧客番号", "会員番号",
                    "会員id"),
    "weight": ("weight", "ウェイト", "重み"),
    "journey_phase": ("journey phase", "phase", "フェーズ"),
    "touchpoint": ("touchpoint", "タッチポイント", "接点"),
    "organisation": ("organisation", "organization", "department", "部門", "部署"),
    "channel": ("channel", "チャネル", "チャネル"),
    "survey_type": ("survey type", "調査種別"),
}
NOT_GUESSED = frozenset({"distributionchannel"})
"""Export metadata whose names look like a contract column but are not: Qualtrics'
``DistributionChannel`` is how the survey was sent (``anonymous``, ``email``), not the
touchpoint's channel. Keys as :data:`KNOWN_COLUMNS` (no spaces or underscores, lower case)."""
CUSTOMER_WORDS: dict[str, tuple[str, ...]] = {
    "customer_id": ("customer id", "customerid", "customer", "member", "顧客id", "顧客番号",
                    "会員番号", "会員id", "顧客"),
    "churn_date": ("churn date", "cancel date", "cancellation date", "end date", "解約日",
                   "退会日"),
    "churned": ("churn", "cancel", "解約", "退会"),
    "signup_date": ("signup", "sign up", "join", "start date", "registration", "契約日",
                    "入会日", "開始日", "登録日"),
    "monthly_revenue": ("monthly revenue", "mrr", "monthly fee", "月額"),
    "revenue": ("revenue", "total", "売上", "ltv"),
    "acquisition_channel": ("acquisition", "channel", "獲得", "流入"),
    "plan": ("plan", "プラン", "コース"),
    "segment": ("segment", "セグメント"),
    "region": ("region", "area", "地域", "エリア"),
    "monitor_group": ("monitor", "pilot", "モニター"),
    "share_of_wallet": ("share of wallet", "wallet"),
}
RATIONAL_WORDS = ("price", "value", "quality", "convenien", "cost", "speed", "価格", "値段",
                  "品質", "便利", "使いやす", "コスト", "価値", "早さ", "速さ")
EMOTIONAL_WORDS = ("trust", "valued", "proud", "pride", "attach", "miss", "love", "care",
                   "信頼", "大切", "誇り", "愛着", "好き", "安心", "親しみ")
HARD_WORDS = ("effort", "hard", "difficult", "手間", "苦労", "大変", "面倒")
EASY_WORDS = ("easy", "簡単", "容易", "スムーズ")
SCORES = ("nps", "csat", "ces", "expectation_met")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class FileFinding:
    """What ``cx init`` learnt about one file."""

    path: Path
    platform: str | None = None
    encoding: str | None = None
    rows: int = 0
    columns: list[str] = field(default_factory=list)
    questions: dict[str, str] = field(default_factory=dict)
    table: str | None = None
    kind: str = "table"
    mapping: dict[str, str] = field(default_factory=dict)  # file column -> contract name
    scales: dict[str, tuple[int, int]] = field(default_factory=dict)  # contract name -> scale
    items: dict[str, dict[str, Any]] = field(default_factory=dict)  # item -> construct, ...
    notes: list[str] = field(default_factory=list)
    todo: list[str] = field(default_factory=list)
    error: str | None = None
    emails: list[str] = field(default_factory=list)  # columns holding e-mail addresses


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", unicodedata.normalize("NFKC", str(text))).strip().lower()


def _has(text: str, words: tuple[str, ...]) -> bool:
    """A word in ``text``: English words at a word start ("ces" not in "services"),
    Japanese anywhere."""
    return any((w in text) if not w.isascii() else
               re.search(r"(?<![a-z0-9])" + re.escape(w), text) is not None for w in words)


def _guess(name: str, question: str, words: dict[str, tuple[str, ...]], taken: set[str]
           ) -> str | None:
    key, q = _norm(name), _norm(question)
    if key.replace(" ", "_") in words and key.replace(" ", "_") not in taken:
        return key.replace(" ", "_")
    for target, keys in words.items():
        if target not in taken and (_has(key, keys) or _has(q, keys)):
            return target
    return None


def _numbers(values: pd.Series) -> pd.Series:
    """Leading whole numbers of answers ("10 - 非常に満足" -> 10); NaN where none."""
    text = values.dropna().map(lambda v: unicodedata.normalize("NFKC", str(v)).strip())
    text = text[~text.str.lower().isin(NA_ANSWERS)]
    return pd.to_numeric(text.str.extract(r"^([+-]?\d+)(?:\D.*)?$", expand=False),
                         errors="coerce")


def _observed_scale(values: pd.Series) -> tuple[int, int] | None:
    """Scale guessed from observed answers: lowest 0 or 1, highest 5, 7 or 10."""
    nums = _numbers(values)
    if nums.empty or nums.isna().mean() > 0.05:
        return None
    lo, hi = nums.min(), nums.max()
    top = next((h for h in (5, 7, 10) if hi <= h), None)
    if top is None or lo < 0:
        return None
    return (0 if lo == 0 else 1, top)


def _item_name(column: str, used: set[str]) -> str:
    base = re.sub(r"\W+", "_", _norm(column)).strip("_").lower()
    if not base.isascii() or not base or not base[0].isalpha():
        base = "item_" + base if base.isascii() and base else "item"
    name, i = base, 1
    while name in used or not name.isidentifier():
        i += 1
        name = f"{base}_{i}"
    used.add(name)
    return name


def _classify(finding: FileFinding, frame: pd.DataFrame) -> None:
    columns = list(frame.columns)
    stem = finding.path.stem.lower()
    contract = {t: set(CONTRACT[t].columns) for t in TABLES}
    exact = {t: len(contract[t] & set(columns)) / len(contract[t]) for t in TABLES}
    best = max(exact, key=exact.get)  # type: ignore[arg-type]
    if exact[best] >= 0.6 and (stem == best or exact[best] == 1 or best != "responses"):
        finding.table = best  # a contract file: names are already the contract's
        optional = {"responses": {"survey_type", "expectation_met"},
                    "customers": {"share_of_wallet", "monitor_group"}}.get(best, set())
        finding.mapping = {c: c for c in columns if c in contract[best] | optional}
        finding.notes.append("contract file")
        if best == "responses":  # the sample's battery and the contract's scales
            finding.scales = {c: SCORE_SCALES[c] for c in SCORES if c in columns}
            for name, item in sample_items().items():
                if name in columns:
                    finding.mapping[name] = name
                    finding.items[name] = {"construct": item.construct, "scale": item.scale,
                                           "question": item.question, "guessed": True}
        return
    if finding.platform in SURVEY_PLATFORMS:
        finding.table, finding.kind = "responses", "survey"
    taken: set[str] = set()
    response_guess: dict[str, str] = {}
    for col in columns:
        key = re.sub(r"[\s_]+", "", _norm(col))
        if key in NOT_GUESSED or is_personal(col):
            continue
        known = KNOWN_COLUMNS.get(key)
        target = known if known and known not in taken else _guess(
            col, finding.questions.get(col, ""), RESPONSE_WORDS, taken)
        if target:
            response_guess[col] = target
            taken.add(target)
    customer_guess: dict[str, str] = {}
    taken = set()
    for col in columns:
        target = _guess(col, "", CUSTOMER_WORDS, taken)
        if target:
            customer_guess[col] = target
            taken.add(target)
    if finding.table is None:
        is_survey = any(v in SCORES for v in response_guess.values())
        is_crm = "churned" in customer_guess.values()
        if is_survey and not is_crm:
            finding.table, finding.kind = "responses", "survey"
        elif is_crm:
            finding.table = "customers"
        else:
            finding.notes.append("no contract table recognised (no scores, no churn flag)")
            return
    finding.mapping = response_guess if finding.table == "responses" else customer_guess
    if finding.table == "responses":
        _survey_scores(finding, frame)


def _survey_scores(finding: FileFinding, frame: pd.DataFrame) -> None:
    mapped = set(finding.mapping)
    for col, target in list(finding.mapping.items()):
        if target not in SCORES:
            continue
        scale = _observed_scale(frame[col])
        if scale is None:
            finding.todo.append(f"{target}: could not guess the scale of {col!r}")
        if target == "nps":
            scale = (0, 10)  # by definition; answers outside it are errors at load
        if scale is not None:
            finding.scales[target] = scale
    used: set[str] = set()
    for col in frame.columns:
        if col in mapped:
            continue
        scale = _observed_scale(frame[col])
        if scale is None or _numbers(frame[col]).nunique() < 3:
            continue  # text, ids, or a flag: kept as an extra column
        question = finding.questions.get(col, "")
        q = _norm(question) + " " + _norm(col)
        construct = ("rational" if _has(q, RATIONAL_WORDS) else
                     "emotional" if _has(q, EMOTIONAL_WORDS) else None)
        name = _item_name(col, used)
        finding.mapping[col] = name
        finding.items[name] = {"construct": construct or "other", "scale": scale,
                               "question": question if question and question != col else None,
                               "guessed": construct is not None}


def _email_columns(frame: pd.DataFrame) -> list[str]:
    """Text columns whose answers are (at least 90% of the first 1,000) e-mail addresses."""
    out = []
    for col in frame.columns:
        if not (frame[col].dtype == object or pd.api.types.is_string_dtype(frame[col].dtype)):
            continue
        text = frame[col].dropna().head(1000).map(
            lambda v: unicodedata.normalize("NFKC", str(v)).strip())
        text = text[text != ""]
        if len(text) and text.str.match(_EMAIL).mean() >= 0.9:
            out.append(col)
    return out


def inspect_file(path: Path) -> FileFinding:
    """Platform, encoding, columns and guessed role of one file (read only)."""
    finding = FileFinding(path)
    try:
        frame = read_export(path)
    except DataError as exc:
        finding.error = str(exc)
        return finding
    finding.platform = frame.attrs.get("platform")
    finding.encoding = frame.attrs.get("encoding")
    finding.questions = {k: v for k, v in frame.attrs.get("questions", {}).items() if v != k}
    finding.rows, finding.columns = len(frame), list(frame.columns)
    _classify(finding, frame)
    finding.emails = [c for c in _email_columns(frame) if c not in finding.mapping]
    return finding


def inspect_folder(folder: Path | str) -> list[FileFinding]:
    """One finding per data file in ``folder`` (not its subfolders), in name order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder")
    files = sorted(p for p in folder.iterdir() if p.is_file()
                   and p.suffix.lower() in SUFFIXES and p.name not in SKIP)
    return [inspect_file(p) for p in files]


# -- writing YAML with comments ---------------------------------------------------------------

def _q(value: Any) -> str:
    """A YAML scalar: JSON strings are valid YAML double-quoted strings."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    return text if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-/*]*", text) and text.lower() not in (
        "yes", "no", "on", "off", "true", "false", "null", "y", "n") else json.dumps(
        text, ensure_ascii=False)


def _scale(scale: tuple[int, int]) -> str:
    return f"[{scale[0]}, {scale[1]}]"


def _group(findings: list[FileFinding]) -> dict[str, list[FileFinding]]:
    """Table -> its files; files of one survey with the same columns are concatenated."""
    out: dict[str, list[FileFinding]] = {}
    for f in findings:
        if f.table is None:
            continue
        if f.table in out and out[f.table][0].columns != f.columns:
            f.notes.append(f"a second {f.table} file with other columns than "
                           f"{out[f.table][0].path.name}: not used")
            f.table = None
            continue
        out.setdefault(f.table, []).append(f)
    return out


def init_description(folder: Path | str) -> str:
    """A commented starter ``cx.yml`` for the files in ``folder`` (YAML text, not written)."""
    folder = Path(folder)
    findings = inspect_folder(folder)
    groups = _group(findings)
    lines = ["# cx.yml: how cx-workbench reads the data in this folder (docs/own-data.md).",
             "# Written by `cx init` from what it found; check every line, especially TODOs.",
             "# The files themselves are never modified.", "version: 1",
             f"name: {_q(folder.resolve().name)}",
             "currency: JPY  # TODO: could not guess; the currency of money columns",
             "timezone: Asia/Tokyo  # TODO: could not guess; the time zone of dates", ""]
    if not findings:
        lines.append("# no data files (.csv, .tsv, .parquet, .xlsx) found in this folder")
    for f in findings:
        if f.error:
            lines.append(f"# {f.path.name}: could not read ({f.error.splitlines()[0]})")
        elif f.table is None:
            lines.append(f"# {f.path.name}: not used ({'; '.join(f.notes) or 'unknown'})")
    lines.append("tables:" if groups else "tables: {}  # TODO: no contract table recognised")
    scales: dict[str, tuple[int, int]] = {}
    items: dict[str, dict[str, Any]] = {}
    todo: list[str] = []
    for table, files in groups.items():
        first = files[0]
        lines.append(f"  {table}:")
        where = f"{first.rows:,} rows" if len(files) == 1 else \
            f"{sum(f.rows for f in files):,} rows in {len(files)} files"
        what = f"{first.platform} export" if first.platform in SURVEY_PLATFORMS else \
            f"{first.path.suffix.lstrip('.')} file"
        detail = ", ".join(x for x in (what, first.encoding, where) if x)
        if len(files) == 1:
            lines.append(f"    path: {_q(first.path.name)}  # {detail}")
        else:
            lines.append(f"    path:  # {detail}, concatenated")
            lines.extend(f"      - {_q(f.path.name)}" for f in files)
        lines.append(f"    kind: {first.kind}")
        if first.kind == "survey" and first.platform:
            lines.append(f"    platform: {first.platform}")
        if first.encoding and first.encoding not in ("utf-8-sig", "utf-8"):
            lines.append(f"    encoding: {first.encoding}")
        renamed = {k: v for k, v in first.mapping.items()
                   if k != v or (v in SCORES and first.kind == "survey")}
        if renamed:
            lines.append("    columns:  # file column -> contract name")
            for col, target in renamed.items():
                q = first.questions.get(col)
                note = f"  # {q}" if q and q != col else ""
                lines.append(f"      {_q(col)}: {_q(target)}{note.replace(chr(10), ' ')}")
        have = set(first.mapping.values()) | set(first.columns)
        linked = groups.get("customers", [None])[0]
        joined = (table == "responses" and first.emails and linked is not None
                  and linked.emails and "customer_id" not in have)
        kept = [c for c in first.columns if c not in first.mapping]
        personal = [c for c in kept if first.kind == "survey" and is_personal(c)
                    and not (joined and c == first.emails[0])]  # dropped at load
        kept = [c for c in kept if c not in personal]
        if kept:
            lines.append(f"    # kept as they are: {', '.join(kept)}")
        if personal:
            lines.append(f"    # personal data, not loaded (map one to load it): "
                         f"{', '.join(personal)}")
        if table == "responses":
            if "response_date" not in have:
                todo.append("responses: could not guess the answer date column "
                            "(map one to response_date)")
            if joined:
                lines.append(f"    join: {{survey_column: {_q(first.emails[0])}, "
                             f"customers_column: {_q(linked.emails[0])}}}  # e-mails -> "
                             "customer ids at load; both e-mail columns dropped")
            elif "customer_id" not in have:
                lines.append("    # no customer id: sections that follow customers "
                             "(churn, KPI model) will be skipped")
            emails = [c for c in first.emails if c not in personal]
            if emails and not joined:
                lines.append(f"    # personal data: {', '.join(map(repr, emails))} "
                             "hold e-mail addresses (kept as they are; mask before showing)")
            if "survey_type" not in have:
                lines.append("    # fill: {survey_type: relationship}  # uncomment for a "
                             "periodic (relationship) survey")
        elif table == "customers" and "churned" not in set(first.mapping.values()):
            todo.append("customers: could not guess the churn flag (map one to churned)")
        scales.update(first.scales)
        items.update(first.items)
        todo.extend(first.todo)
    lines += ["", "scores:"]
    for name in SCORES:
        if name not in scales:
            continue
        sc = scales[name]
        if name == "nps":
            lines.append(f"  nps: {{scale: {_scale(sc)}}}")
        elif name == "csat":
            lines.append(f"  csat: {{scale: {_scale(sc)}, top_box: 2}}  "
                         f"# top-2-box: {sc[1] - 1}-{sc[1]}")
        elif name == "ces":
            groups_q = " ".join(f.questions.get(c, "") + " " + c for fs in groups.values()
                                for f in fs for c, t in f.mapping.items() if t == "ces")
            q = _norm(groups_q)
            hard, easy = _has(q, HARD_WORDS), _has(q, EASY_WORDS)
            means = "hard" if hard and not easy else "easy"
            contract = any("contract file" in f.notes for f in groups["responses"])
            note = "" if hard != easy or contract else \
                "  # TODO: could not guess which end means easy"
            lines.append(f"  ces: {{scale: {_scale(sc)}, high_means: {means}}}{note}")
        else:
            lines.append(f"  {name}: {{scale: {_scale(sc)}}}")
    if lines[-1] == "scores:":
        lines[-1] = "scores: {}  # no NPS, CSAT or CES found"
    if groups.get("responses"):
        lines += ["", "items:  # the rated items; construct: rational, emotional or other"
                  if items else "items: {}  # no rated items found"]
        for name, item in items.items():
            todo_note = "" if item["guessed"] else \
                "  # TODO: could not guess: rational or emotional?"
            lines.append(f"  {name}:{todo_note}")
            lines.append(f"    construct: {item['construct']}")
            lines.append(f"    scale: {_scale(item['scale'])}")
            if item["question"]:
                lines.append(f"    question: {_q(item['question'])}")
    lines += ["", "labels:  # display names in reports, e.g. organisations: {web: ウェブ}",
              "  organisations: {}", "  touchpoints: {}", "  phases: {}"]
    if todo:
        lines += [""] + [f"# TODO: {t}" for t in todo]
    return "\n".join(lines) + "\n"


def write_description(folder: Path | str, force: bool = False) -> Path:
    """Write :func:`init_description`'s text to ``folder/cx.yml``; refuses to overwrite an
    existing one unless ``force``. Returns the path written."""
    folder = Path(folder)
    target = folder / DESCRIPTION_FILE
    if target.exists() and not force:
        raise DataError(f"{target}: already exists; edit it, or pass force to replace it")
    text = init_description(folder)
    tmp = target.with_suffix(".yml.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)
    return target
