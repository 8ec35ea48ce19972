"""The dataset description (``cx.yml``): one schema, validated, with errors that name the key.

Every model forbids unknown keys; a misspelt key is reported with its path and the nearest
valid key (``tables.responses: unknown key 'colums'; did you mean 'columns'?``). The schema
is documented in ``docs/own-data.md``.
"""

from __future__ import annotations

import difflib
import types
import typing
import warnings
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import pandas as pd
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator
from pydantic import model_validator

from ..errors import DataError
from ..surveyio import PLATFORMS, SCORE_SCALES
from ..vocab import EMOTIONAL_ITEMS, JOURNEY_PHASES, RATIONAL_ITEMS

DESCRIPTION_FILE = "cx.yml"
TABLES: tuple[str, ...] = ("customers", "responses", "touchpoints", "kpis", "financials")

SAMPLE_QUESTIONS: dict[str, str] = {
    "rat_value": "value for money", "rat_quality": "quality / performance",
    "rat_convenience": "convenience", "emo_trust": "I trust them",
    "emo_valued": "they make me feel valued", "emo_pride": "I am proud to be their customer",
    "emo_attachment": "I would miss them if they were gone",
}
"""The sample's item wording (our own; data/README.md)."""


LABELLED_COLUMNS: dict[str, str] = {"organisation": "organisations", "touchpoint": "touchpoints",
                                    "journey_phase": "phases"}
"""Result column -> the ``labels`` key of its display names."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check_scale(scale: tuple[int, int]) -> tuple[int, int]:
    lo, hi = scale
    if lo >= hi:
        raise ValueError(f"a scale goes from its lowest to its highest answer, got [{lo}, {hi}]")
    return scale


Scale = Annotated[tuple[int, int], AfterValidator(_check_scale)]
"""[lowest, highest] whole-number answer."""


class Join(_Model):
    """Answers linked to customers by another key than ``customer_id`` (e.g. an e-mail).

    At load each answer's ``survey_column`` is looked up in the customers'
    ``customers_column`` (spaces, width and case ignored) and replaced by that customer's
    ``customer_id``; both key columns are then dropped, so the key (often personal data)
    never reaches a report. Column names are those after ``columns`` mapping.
    """

    survey_column: str
    customers_column: str


class TableSource(_Model):
    """Where one contract table comes from."""

    path: str | list[str]
    """A file, a glob (``exports/wave_*.csv``) or a list of them, relative to ``cx.yml``;
    several files are read one by one and concatenated in name order."""
    kind: Literal["table", "survey"] = "table"
    """``table``: a file with one row per record (CSV, TSV, Parquet, Excel);
    ``survey``: a survey platform export read by ``cxlib.read_survey``."""
    platform: Literal[PLATFORMS] | None = None  # type: ignore[valid-type]
    """Survey platform (``survey`` only); empty: detected from the file."""
    encoding: str | None = None
    """Text encoding; empty: UTF-8 (with or without BOM), UTF-16, then CP932."""
    sheet: str | int | None = None
    """Excel sheet name or 0-based position (``table`` only); empty: the first sheet."""
    columns: dict[str, str] = Field(default_factory=dict)
    """File column (or, for surveys, question text) -> contract name; others kept as they are."""
    fill: dict[str, str | int | float | bool] = Field(default_factory=dict)
    """Contract column -> one value for every row, for columns the file lacks
    (e.g. ``survey_type: relationship``)."""
    join: Join | None = None
    """Responses only: link answers to customers by another key (see :class:`Join`)."""

    @field_validator("columns")
    @classmethod
    def _one_target_each(cls, columns: dict[str, str]) -> dict[str, str]:
        seen: dict[str, str] = {}
        for src, dst in columns.items():
            if dst in seen:
                raise ValueError(f"{seen[dst]!r} and {src!r} are both mapped to {dst!r}")
            seen[dst] = src
        return columns

    @model_validator(mode="after")
    def _options_fit_kind(self) -> TableSource:
        if self.kind == "table" and self.platform is not None:
            raise ValueError("'platform' applies to kind: survey only")
        if self.kind == "survey" and self.sheet is not None:
            raise ValueError("'sheet' applies to kind: table only (surveys are read from the "
                             "first sheet)")
        return self

    def paths(self) -> list[str]:
        return [self.path] if isinstance(self.path, str) else list(self.path)


class Tables(_Model):
    """Contract table -> its source; tables not named are absent."""

    customers: TableSource | None = None
    responses: TableSource | None = None
    touchpoints: TableSource | None = None
    kpis: TableSource | None = None
    financials: TableSource | None = None

    @model_validator(mode="after")
    def _surveys_are_responses(self) -> Tables:
        for name in TABLES:
            src = getattr(self, name)
            if name != "responses" and src is not None and src.kind == "survey":
                raise ValueError(f"{name}: kind 'survey' is for the responses table only")
        problem = self._join_problem()
        if problem:
            raise ValueError(problem)
        return self

    def _join_problem(self) -> str | None:
        """Why ``join`` cannot apply as written, or None."""
        for name in TABLES:
            src = getattr(self, name)
            if name != "responses" and src is not None and src.join is not None:
                return f"{name}: 'join' is for the responses table only"
        if self.responses is None or self.responses.join is None:
            return None
        if self.customers is None:
            return ("responses.join links answers to the customers table; name one under "
                    "tables.customers")
        if "customer_id" in self.responses.columns.values():
            return "responses: map a customer_id column or use 'join', not both"
        return None

    def named(self) -> dict[str, TableSource]:
        return {n: getattr(self, n) for n in TABLES if getattr(self, n) is not None}


class NpsScore(_Model):
    """Likelihood to recommend, 0-10: promoters 9-10, detractors 0-6."""

    scale: Scale = (0, 10)
    question: str | None = None

    @field_validator("scale")
    @classmethod
    def _zero_to_ten(cls, scale: Scale) -> Scale:
        if tuple(scale) != (0, 10):
            raise ValueError("NPS is defined on 0-10; map a different recommend scale to "
                             "an item instead")
        return scale


class CsatScore(_Model):
    """Satisfaction; high = satisfied. ``top_box``: how many top answers count as satisfied."""

    scale: Scale = (1, 5)
    top_box: int = Field(2, ge=1)
    question: str | None = None

    @model_validator(mode="after")
    def _box_inside(self) -> CsatScore:
        if self.top_box >= self.scale[1] - self.scale[0] + 1:
            raise ValueError(f"top_box {self.top_box} covers the whole scale {list(self.scale)}")
        return self

    def top_from(self) -> int:
        """Lowest answer in the top box."""
        return self.scale[1] - self.top_box + 1


class CesScore(_Model):
    """Customer effort. ``high_means``: what the highest answer means, ``easy`` (agree: "they
    made it easy") or ``hard`` (much effort); a ``hard`` scale is flipped when the tables are
    loaded, so loaded CES always has high = easy. ``easy_box``: how many answers at the easy
    end count as easy (empty: those above the middle of the scale)."""

    scale: Scale = (1, 7)
    high_means: Literal["easy", "hard"] = "easy"
    easy_box: int | None = Field(None, ge=1)
    question: str | None = None

    def easy_from(self) -> int:
        """Lowest answer counted as easy, on the loaded (high = easy) scale."""
        lo, hi = self.scale
        box = self.easy_box if self.easy_box is not None else (hi - lo + 1) // 2
        return hi - box + 1


class RatingScore(_Model):
    """A rating with a fixed meaning (``expectation_met``: 1 far below, middle as expected)."""

    scale: Scale = (1, 5)
    question: str | None = None


class Scores(_Model):
    """The headline scores' scales and directions."""

    nps: NpsScore = Field(default_factory=NpsScore)
    csat: CsatScore = Field(default_factory=CsatScore)
    ces: CesScore = Field(default_factory=CesScore)
    expectation_met: RatingScore = Field(default_factory=RatingScore)


with warnings.catch_warnings():  # the key 'construct' shadows BaseModel.construct (deprecated)
    warnings.filterwarnings("ignore", message='Field name "construct"', category=UserWarning)

    class Item(_Model):
        """One rated item of the battery (a column of responses)."""

        construct: Literal["rational", "emotional", "other"]
        question: str | None = None
        scale: Scale = (1, 5)
        reversed: bool = False
        """True when the highest answer is the worst (negatively worded); flipped at load."""


SHARE_TOLERANCE = 0.001
"""Population shares of one variable must sum to 1 within this (rounded census figures);
they are then scaled to sum to exactly 1."""


def check_shares(where: str, shares: dict[str, float]) -> None:
    """ValueError unless ``shares`` (category -> population share) are >= 0 and sum to 1."""
    if not shares:
        raise ValueError(f"{where}: no categories")
    negative = [c for c, v in shares.items() if not v >= 0]
    if negative:
        raise ValueError(f"{where}: shares must be >= 0 (got {', '.join(map(repr, negative))})")
    total = sum(shares.values())
    if abs(total - 1) > SHARE_TOLERANCE:
        raise ValueError(f"{where}: shares sum to {total:.4g}; population shares must sum to 1 "
                         f"(within {SHARE_TOLERANCE:g})")


class Weights(_Model):
    """Survey weights raked to population margins (``cxlib.weights.rake``) when the data are
    opened; the responses' ``weight`` (their design weight, or 1) is the starting weight and
    becomes the raked one.

    ``rake``: ``{column: {category: population share}}``, or the path (relative to
    ``cx.yml``) of a CSV with columns ``variable``, ``category``, ``target`` (shares). A
    column is looked up in the responses, else in the customers they name. Each variable's
    shares sum to 1; every category in the data needs one, and each needs respondents.
    ``trim``: ``[low, high]`` bounds of the weights relative to their mean (e.g. [0.3, 3]).
    """

    rake: dict[str, dict[str, float]] | str
    trim: tuple[float, float] | None = None

    @field_validator("rake", mode="before")
    @classmethod
    def _categories_are_text(cls, rake: Any) -> Any:
        if isinstance(rake, dict):  # YAML reads 1: 0.2 with a number as key
            return {str(v): ({str(c): t for c, t in cells.items()} if isinstance(cells, dict)
                             else cells) for v, cells in rake.items()}
        return rake

    @field_validator("rake")
    @classmethod
    def _shares(cls, rake: dict[str, dict[str, float]] | str) -> Any:
        if isinstance(rake, str):
            if not rake.strip():
                raise ValueError("give the margins, or the path of a margins CSV")
            return rake
        if not rake:
            raise ValueError("no margins: give {column: {category: share}}")
        for var, cells in rake.items():
            check_shares(var, cells)
        return rake

    @field_validator("trim")
    @classmethod
    def _bounds(cls, trim: tuple[float, float] | None) -> tuple[float, float] | None:
        if trim is not None and not (0 <= trim[0] < 1 < trim[1]):
            raise ValueError(f"trim bounds are relative to the mean weight and need 0 <= low "
                             f"< 1 < high, got {list(trim)}")
        return trim


class Labels(_Model):
    """Display names shown in reports (any language); values in the data stay as they are."""

    organisations: dict[str, str] = Field(default_factory=dict)
    touchpoints: dict[str, str] = Field(default_factory=dict)
    phases: dict[str, str] = Field(default_factory=dict)
    units: dict[str, str] = Field(default_factory=dict)
    """Display names of units (stores, regions): value in the data -> name in the reports."""

    @field_validator("phases")
    @classmethod
    def _known_phases(cls, phases: dict[str, str]) -> dict[str, str]:
        for name in phases:
            if name not in JOURNEY_PHASES:
                raise ValueError(f"unknown journey phase {name!r}{_nearest(name, JOURNEY_PHASES)}"
                                 f" (phases: {', '.join(JOURNEY_PHASES)})")
        return phases


def sample_items() -> dict[str, Item]:
    """The sample company's battery: ``vocab.RATIONAL_ITEMS`` and ``vocab.EMOTIONAL_ITEMS``."""
    return {**{n: Item(construct="rational", question=SAMPLE_QUESTIONS[n],
                       scale=SCORE_SCALES[n]) for n in RATIONAL_ITEMS},
            **{n: Item(construct="emotional", question=SAMPLE_QUESTIONS[n],
                       scale=SCORE_SCALES[n]) for n in EMOTIONAL_ITEMS}}


class Dataset(_Model):
    """A dataset: where its tables come from and how to read its scores (``cx.yml``).

    ``tables`` left out: each contract table is ``<table>.parquet`` or ``<table>.csv`` beside
    the description, when present (the sample's layout). ``items`` left out: the sample's
    battery. Relative paths are relative to the folder of ``cx.yml``.
    """

    version: Literal[1] = 1
    name: str | None = None
    currency: str = Field("JPY", pattern=r"^[A-Z]{3}$")
    timezone: str = "Asia/Tokyo"
    tables: Tables | None = None
    scores: Scores = Field(default_factory=Scores)
    items: dict[str, Item] = Field(default_factory=sample_items)
    labels: Labels = Field(default_factory=Labels)
    weights: Weights | None = None
    hierarchy: list[str] = Field(default_factory=list)
    """Unit levels from the top, e.g. [region, store]: ``cx report --per store`` groups the
    store pages by region (levels that are no column of the data are left out)."""
    _folder: Path = PrivateAttr(default_factory=Path.cwd)
    _file: Path | None = PrivateAttr(default=None)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {zone!r}"
                             f"{_nearest(zone, sorted(available_timezones()))}") from None
        return zone

    @field_validator("hierarchy")
    @classmethod
    def _levels(cls, levels: list[str]) -> list[str]:
        for name in levels:
            if not name.isidentifier():
                raise ValueError(f"hierarchy level {name!r} must be a column name")
        if len(set(levels)) != len(levels):
            raise ValueError(f"hierarchy {levels} names a level twice")
        return levels

    @field_validator("items")
    @classmethod
    def _item_names(cls, items: dict[str, Item]) -> dict[str, Item]:
        for name in items:
            if not name.isidentifier():
                raise ValueError(f"item name {name!r} must be a column name (letters, digits, _)")
            if name in ("nps", "csat", "ces", "expectation_met"):
                raise ValueError(f"{name!r} is a score (set it under 'scores'), not an item")
        return items

    # -- what the analyses read ---------------------------------------------------------------

    @classmethod
    def default(cls, folder: Path | str | None = None) -> Dataset:
        """The description that holds without a ``cx.yml``: the sample's layout and scales."""
        from .. import paths

        dataset = cls(hierarchy=["region", "store"])  # the sample's stores nest in regions
        dataset._folder = Path(paths.SAMPLE_DIR if folder is None else folder)
        return dataset

    @property
    def folder(self) -> Path:
        """Folder that relative paths start from (that of ``cx.yml``)."""
        return self._folder

    @property
    def file(self) -> Path | None:
        """The ``cx.yml`` read, or None for the defaults."""
        return self._file

    def scales(self) -> dict[str, tuple[int, int]]:
        """Score column -> (lowest, highest) answer: the scores, then the items."""
        out = {name: tuple(getattr(self.scores, name).scale) for name in Scores.model_fields}
        out.update({name: tuple(item.scale) for name, item in self.items.items()})
        return out  # type: ignore[return-value]

    def construct_items(self, construct: str) -> tuple[str, ...]:
        """Item columns of one construct (``rational``, ``emotional`` or ``other``)."""
        return tuple(n for n, item in self.items.items() if item.construct == construct)

    @property
    def rational_items(self) -> tuple[str, ...]:
        return self.construct_items("rational")

    @property
    def emotional_items(self) -> tuple[str, ...]:
        return self.construct_items("emotional")

    def csat_args(self) -> dict[str, Any]:
        """Keyword arguments of ``cxlib.metrics.csat`` for this dataset's CSAT."""
        return {"scale": tuple(self.scores.csat.scale), "top": self.scores.csat.top_box}

    def ces_args(self) -> dict[str, Any]:
        """Keyword arguments of ``cxlib.metrics.ces`` for this dataset's (loaded) CES."""
        return {"scale": tuple(self.scores.ces.scale), "easy_from": self.scores.ces.easy_from()}

    def reversed_columns(self) -> tuple[str, ...]:
        """Score columns whose raw answers run the other way and are flipped at load."""
        flipped = ["ces"] if self.scores.ces.high_means == "hard" else []
        return tuple(flipped + [n for n, item in self.items.items() if item.reversed])

    def questions(self) -> dict[str, str]:
        """Score or item column -> question text, where the description gives one."""
        out = {n: getattr(self.scores, n).question for n in Scores.model_fields}
        out.update({n: item.question for n, item in self.items.items()})
        return {k: v for k, v in out.items() if v}

    def label(self, kind: Literal["organisations", "touchpoints", "phases", "units"],
              value: str) -> str:
        """Display name of an organisation, touchpoint, phase or unit (the value if none)."""
        return getattr(self.labels, kind).get(value, value)

    def relabel(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A copy of a result ``frame`` to display, with its ``organisation``, ``touchpoint``
        and ``journey_phase`` values replaced by their display names (``labels``). For
        figures and tables only: the data keep their values, which join answers with events
        (relabel after ordering phases with ``vocab.in_journey_order``)."""
        out = frame.copy()
        for column, kind in LABELLED_COLUMNS.items():
            names = getattr(self.labels, kind)
            if column in out.columns and names:
                out[column] = out[column].map(lambda v: names.get(v, v) if isinstance(v, str)
                                              else v).astype(object)
        return out


# -- reading and errors ---------------------------------------------------------------------

def _nearest(word: str, choices: typing.Iterable[str]) -> str:
    match = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ""


def _unwrap(annotation: Any) -> Any:
    """The model or dict type inside Optional[...] / X | None."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        for arg in typing.get_args(annotation):
            inner = _unwrap(arg)
            if isinstance(inner, type) and issubclass(inner, BaseModel) or \
                    typing.get_origin(inner) is dict:
                return inner
    return annotation


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class at ``loc`` (a pydantic error location) inside a Dataset."""
    current: Any = Dataset
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = _unwrap(field.annotation)
        elif typing.get_origin(current) is dict:
            current = _unwrap(typing.get_args(current)[1])
        else:
            return None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _problem(error: Any) -> str:
    loc = tuple(error["loc"])
    where = ".".join(map(str, loc[:-1] if error["type"] == "extra_forbidden" else loc))
    if error["type"] == "extra_forbidden":
        key = str(loc[-1])
        model = _model_at(loc[:-1])
        valid = list(model.model_fields) if model else []
        hint = _nearest(key, valid)
        return (f"{where or 'top level'}: unknown key {key!r}{hint}"
                + (f" (valid keys: {', '.join(valid)})" if valid else ""))
    msg = error["msg"].removeprefix("Value error, ")
    if error["type"] == "literal_error":
        expected = str(error.get("ctx", {}).get("expected", ""))
        options = [o.strip(" '") for o in expected.replace(" or ", ",").split(",")]
        msg += _nearest(error.get("input"), options)
    elif error["type"] == "missing":
        msg = "required key is missing"
    return f"{where or 'top level'}: {msg} (got {error['input']!r})" \
        if error["type"] not in ("missing", "model_type") and not isinstance(
            error.get("input"), dict) else f"{where or 'top level'}: {msg}"


def parse_description(data: Any, source: str = DESCRIPTION_FILE,
                      folder: Path | str | None = None) -> Dataset:
    """A Dataset from parsed YAML (a dict), or one DataError listing every problem."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise DataError(f"{source}: expected keys such as 'tables:' and 'scores:' at the top, "
                        f"got {type(data).__name__}")
    try:
        description = Dataset.model_validate(data)
    except ValidationError as exc:
        lines = [_problem(e) for e in exc.errors()]
        raise DataError(f"{source}: {len(lines)} problem(s) in the dataset description:\n  - "
                        + "\n  - ".join(lines)) from None
    description._folder = Path(folder) if folder is not None else Path.cwd()
    return description


def load_description(path: Path | str | None = None) -> Dataset:
    """The description at ``path``: a ``cx.yml`` file, or a folder (its ``cx.yml`` if there,
    else the defaults, which describe the sample's layout); None: the sample folder."""
    import yaml

    from .. import paths

    target = Path(paths.SAMPLE_DIR if path is None else path)
    if target.is_dir():
        file = target / DESCRIPTION_FILE
        if not file.exists():
            return Dataset.default(target)
    else:
        file = target
        if not file.exists():
            raise DataError(f"{file}: dataset description not found")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise DataError(f"{file.name}: a dataset description must be UTF-8 text") from None
    except yaml.YAMLError as exc:
        raise DataError(f"{file.name}: not valid YAML ({exc})") from None
    description = parse_description(data, file.name, file.parent)
    description._file = file
    return description
