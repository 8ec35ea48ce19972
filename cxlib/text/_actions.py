"""Closed loop: comments that ask for action, ranked for the CRM team, safe to export.

A comment asks for action when it matches a request pattern (cancellation: 解約, 退会,
cancel; refund: 返金, 払い戻し, refund; callback: 折り返し, 連絡ください, call me back;
complaint: 苦情, 責任者, complaint, manager). Where the customer is known, the list is ranked
by churn risk times monthly revenue (revenue at risk per month); the others follow, by kind of
request (cancellation, refund, complaint, callback) and date. Text is PII-masked and cut; the
CSV export neutralises spreadsheet formulas (cells starting with = + - @, tab or carriage
return, also after spaces, get a leading ``'``) and drops control characters.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..errors import DataError
from ..results import Result, ci_text
from ._normalise import normalise
from ._pii import mask_pii

__all__ = ["ActionList", "action_list", "REQUESTS", "csv_safe"]

REQUESTS: dict[str, str] = {   # kind -> pattern on normalised text, in order of urgency
    "cancellation": r"解約|退会|やめたい|辞めたい|乗り換え|(?<![a-z])(?:cancel\w*|terminat\w*|"
                    r"close my account|switch(?:ing)? to another)",
    "refund": r"返金|払い戻し|返して|(?<![a-z])(?:refund\w*|money back|reimburse\w*)",
    "complaint": r"苦情|クレーム|責任者|消費者センター|訴え|(?<![a-z])(?:complain\w*|manager|"
                 r"supervisor|escalat\w*|ombudsman|legal action)",
    "callback": r"折り返し|(?:電話|連絡)(?:を)?(?:ください|下さい|してください|してほしい|が欲しい|が"
                r"ほしい|をお願い)|(?<![a-z])(?:call me(?: back)?|contact me|get back to me|ring me)",
}
_PATTERNS = {k: re.compile(p) for k, p in REQUESTS.items()}
_URGENCY = {k: i for i, k in enumerate(REQUESTS)}
_FORMULA = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def csv_safe(value: object) -> object:
    """A cell safe for a spreadsheet: control characters (other than tab and newline) dropped,
    a leading ``'`` when it starts like a formula (also after spaces), carriage returns made
    newlines."""
    if not isinstance(value, str):
        return value
    out = _CONTROL.sub("", value)
    if out.startswith(_FORMULA) or out.lstrip(" \u3000").startswith(_FORMULA):
        out = "'" + out
    return out.replace("\r\n", "\n").replace("\r", "\n")   # a lone CR splits rows


@dataclass(repr=False)
class ActionList(Result):
    """Comments asking for action: ``table`` with rank, response_id, customer_id, request,
    churn_risk, revenue, revenue_at_risk, response_date (when given) and the masked text."""

    table: pd.DataFrame
    n_comments: int
    level: float = 0.95

    def summary(self) -> pd.DataFrame:
        return self.table

    def headline(self) -> str:
        from ..metrics import wilson_interval

        k, n = len(self.table), max(self.n_comments, 1)
        lo, hi = wilson_interval(k / n, n, self.level)
        known = self.table["revenue_at_risk"].notna()
        money = (f"; {int(known.sum())} customers known, revenue at risk "
                 f"{self.table.loc[known, 'revenue_at_risk'].sum():,.0f} a month"
                 if known.any() else "")
        return (f"{k:,} comments ask for action ({k / n:.1%} of comments, "
                f"{ci_text(float(lo), float(hi), self.level, '.1%')}; n = {self.n_comments:,})"
                f"{money}")

    def plot(self, title: str | None = None) -> go.Figure:
        """Requests by kind, customers known and unknown."""
        from ..plots import escape_label, style

        t = self.table.assign(known=self.table["revenue_at_risk"].notna())
        fig = go.Figure()
        for known, name in ((True, "customer known"), (False, "customer unknown")):
            counts = t[t["known"] == known]["request"].value_counts().reindex(REQUESTS,
                                                                             fill_value=0)
            fig.add_trace(go.Bar(x=list(counts.index), y=counts.to_numpy(), name=name))
        style(fig, barmode="stack",
              title=escape_label(title or "Comments that ask for action"),
              yaxis_title="comments", xaxis_title="request")
        return fig

    def to_csv(self, path: str | Path) -> Path:
        """Write the list for a spreadsheet (UTF-8 with BOM, formulas neutralised)."""
        out = self.table.copy()
        for col in out.columns:
            if not pd.api.types.is_numeric_dtype(out[col].dtype):
                out[col] = out[col].map(csv_safe, na_action="ignore")
        p = Path(path)
        out.to_csv(p, index=False, encoding="utf-8-sig", quoting=csv.QUOTE_ALL)
        return p


def _request(text: str) -> str | None:
    norm = normalise(text)
    return next((k for k, pat in _PATTERNS.items() if pat.search(norm)), None)


def action_list(frame: pd.DataFrame, text: str = "verbatim", risk: str | None = "churn_risk",
                revenue: str | None = "monthly_revenue", customer: str = "customer_id",
                date: str = "response_date", max_chars: int = 300,
                mask: bool = True) -> ActionList:
    """Comments that ask for action, most valuable first (module docstring).

    ``risk``: a churn probability (0-1) per answer, ``revenue``: monthly revenue; both are
    used only where the customer is known and the values present.
    """
    if text not in frame.columns:
        raise DataError(f"action_list: text column {text!r} not found")
    body = frame[text].astype("string")
    kinds = [(_request(v) if isinstance(v, str) else None) for v in body.tolist()]
    hit = np.array([k is not None for k in kinds])
    sel = frame.loc[hit].reset_index(drop=True)
    n = len(sel)
    cid = sel[customer].astype("string") if customer in sel else pd.Series(pd.NA, index=sel.index,
                                                                          dtype="string")
    known = cid.notna().to_numpy()

    def numbers(col: str | None) -> np.ndarray:
        if col is None or col not in sel:
            return np.full(n, np.nan)
        return pd.to_numeric(sel[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)

    p, money = numbers(risk), numbers(revenue)
    bad = np.flatnonzero((p < 0) | (p > 1))
    if len(bad):
        raise DataError(f"action_list: column {risk!r} must hold probabilities 0-1 "
                        f"({len(bad)} values outside)")
    at_risk = np.where(known, p * money, np.nan)
    shown = body[hit].reset_index(drop=True)
    if mask:
        shown = shown.map(mask_pii, na_action="ignore").astype("string")
    shown = shown.where(shown.str.len() <= max_chars, shown.str.slice(0, max_chars - 1) + "…")
    table = pd.DataFrame({
        "response_id": sel["response_id"].astype("string") if "response_id" in sel else
        pd.array(range(1, n + 1)).astype("string"),
        "customer_id": cid,
        "request": [k for k in kinds if k is not None],
        "churn_risk": np.where(known, p, np.nan), "revenue": np.where(known, money, np.nan),
        "revenue_at_risk": at_risk,
        **({"response_date": pd.to_datetime(sel[date], errors="coerce")} if date in sel else {}),
        text: shown.astype(object),
    })
    order = np.lexsort((
        table["response_date"].rank(ascending=False, method="first").to_numpy()
        if "response_date" in table else np.arange(n),
        table["request"].map(_URGENCY).to_numpy(),
        np.nan_to_num(-table["revenue_at_risk"].to_numpy(dtype=float), nan=np.inf),
    ))
    table = table.iloc[order].reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, n + 1))
    n_comments = int(body.notna().sum())
    return ActionList(table, n_comments)
