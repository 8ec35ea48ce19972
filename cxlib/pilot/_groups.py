"""Who is in the pilot and who is the comparison: definitions, assignment, balance."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..checks import check_between
from ..errors import DataError, SmallSampleWarning
from ..plots import style
from ..results import Result

__all__ = ["define_groups", "assign_monitor_group", "match_controls", "balance", "Balance",
           "add_tenure_band", "PILOT", "CONTROL"]

PILOT, CONTROL = "pilot", "control"
BALANCE_LIMIT = 0.1
"""|standardised mean difference| above this flags an imbalance (Austin 2009)."""


def _ids(ids: pd.Index, k: int = 5) -> str:
    shown = ", ".join(map(str, ids[:k]))
    return shown + (f" ... (+{len(ids) - k})" if len(ids) > k else "")


def _select(customers: pd.DataFrame, rule: str | pd.Series, name: str) -> pd.Series:
    """Boolean mask over ``customers`` rows from a column name, a query string or a mask."""
    if isinstance(rule, pd.Series):
        mask = rule.reindex(customers.index) if rule.index.equals(customers.index) else (
            customers["customer_id"].map(rule))
    elif rule in customers.columns:
        mask = customers[rule]
    else:
        try:
            mask = customers.eval(rule)
        except Exception as exc:  # pandas raises many kinds here; the analyst needs one message
            raise DataError(f"{name} definition {rule!r} is neither a customers column nor a "
                            f"valid query ({type(exc).__name__}: {exc})") from None
    if not isinstance(mask, pd.Series) or len(mask) != len(customers):
        raise DataError(f"{name} definition {rule!r} does not give one true/false per customer")
    if mask.isna().any():
        raise DataError(f"{name} definition {rule!r} is empty for {int(mask.isna().sum())} "
                        f"customers (e.g. {_ids(customers.loc[mask.isna(), 'customer_id'])})")
    return mask.astype(bool)


def define_groups(customers: pd.DataFrame, pilot: str | pd.Series = "monitor_group",
                  control: str | pd.Series | None = None) -> pd.Series:
    """Pilot / control label per ``customer_id`` (customers in neither are left out).

    ``pilot`` and ``control`` are a true/false column of ``customers``, a query on it
    (``"region == 'Chubu' and not monitor_group"``) or a boolean Series by customer_id.
    Raises :class:`DataError` when a group is empty or the two overlap.
    """
    if "customer_id" not in customers.columns:
        raise DataError("customers: column 'customer_id' not found")
    is_pilot = _select(customers, pilot, "pilot")
    is_control = ~is_pilot if control is None else _select(customers, control, "control")
    label = f"pilot ({pilot if isinstance(pilot, str) else 'given mask'})"
    if not is_pilot.any():
        raise DataError(f"{label} selects no customers out of {len(customers):,}")
    if not is_control.any():
        raise DataError(f"control ({control if isinstance(control, str) else 'given mask'}) "
                        f"selects no customers out of {len(customers):,}")
    both = is_pilot & is_control
    if both.any():
        raise DataError(f"pilot and control overlap: {int(both.sum()):,} customers are in both "
                        f"({_ids(pd.Index(customers.loc[both, 'customer_id']))})")
    keep = is_pilot | is_control
    out = pd.Series(np.where(is_pilot[keep], PILOT, CONTROL),
                    index=pd.Index(customers.loc[keep, "customer_id"], name="customer_id"),
                    name="group")
    if not out.index.is_unique:
        raise DataError("customers: column 'customer_id' has duplicate ids "
                        f"({_ids(out.index[out.index.duplicated()])})")
    return out


def add_tenure_band(customers: pd.DataFrame, at: str | pd.Timestamp,
                    bands: tuple[int, ...] = (0, 6, 12, 24)) -> pd.DataFrame:
    """Copy of ``customers`` with ``tenure_months`` at date ``at`` and a ``tenure_band`` label."""
    at = pd.Timestamp(at)
    months = ((at - customers["signup_date"]).dt.days / 30.4375).clip(lower=0)
    edges = [*bands, np.inf]
    labels = [f"{a}-{b}m" if np.isfinite(b) else f"{a}m+" for a, b in zip(edges[:-1], edges[1:])]
    band = pd.cut(months, edges, right=False, labels=labels)
    return customers.assign(tenure_months=months.round(1),
                            tenure_band=band.astype("string").fillna("not yet signed up"))


def _strata_key(customers: pd.DataFrame, strata: list[str]) -> np.ndarray:
    """Integer stratum code per row (missing values form their own stratum)."""
    missing = [s for s in strata if s not in customers.columns]
    if missing:
        raise DataError(f"customers: strata column(s) {missing} not found")
    if not strata:
        return np.zeros(len(customers), dtype=int)
    return customers.groupby(list(strata), dropna=False, sort=True).ngroup().to_numpy()


def assign_monitor_group(customers: pd.DataFrame, share: float,
                         strata: list[str] | tuple[str, ...] = ("segment", "acquisition_channel"),
                         seed: int = 0) -> pd.Series:
    """Stratified random assignment: in each stratum, round(share x size) customers at random.

    Returns a boolean Series by ``customer_id`` (True = monitor group). ``strata=()`` gives
    plain complete randomisation. Stratifying balances the named columns by design.
    """
    check_between("share", share, 0, 1, where="assign_monitor_group")
    if len(customers) == 0:
        raise DataError("customers: no customers to assign")
    rng = np.random.default_rng(seed)
    key = _strata_key(customers, list(strata))
    chosen = np.zeros(len(customers), dtype=bool)
    for k in np.unique(key):
        pos = np.flatnonzero(key == k)
        take = int(np.floor(share * len(pos) + rng.random()))  # randomised rounding keeps share
        chosen[rng.choice(pos, size=min(take, len(pos)), replace=False)] = True
    return pd.Series(chosen, index=pd.Index(customers["customer_id"], name="customer_id"),
                     name="monitor_group")


def match_controls(customers: pd.DataFrame, pilot: pd.Series,
                   strata: list[str] | tuple[str, ...] = ("segment", "acquisition_channel",
                                                          "plan"),
                   ratio: int = 1, seed: int = 0) -> pd.Series:
    """Stratified matching: for a given pilot group, draw ``ratio`` controls per pilot customer
    from non-pilot customers in the same stratum (coarsened exact matching, Iacus et al. 2012).

    ``pilot`` is boolean by customer_id. Returns the pilot/control labels as
    :func:`define_groups` does; strata without any candidate are reported in a warning.
    """
    is_pilot = customers["customer_id"].map(pilot).fillna(False).astype(bool).to_numpy()
    if not is_pilot.any():
        raise DataError("match_controls: the pilot group has no customers")
    rng = np.random.default_rng(seed)
    key = _strata_key(customers, list(strata))
    chosen = np.zeros(len(customers), dtype=bool)
    short = []
    for k in pd.unique(key[is_pilot]):
        pool = np.flatnonzero((key == k) & ~is_pilot)
        need = ratio * int(((key == k) & is_pilot).sum())
        if len(pool) < need:
            first = np.flatnonzero(key == k)[0]
            short.append(" | ".join(str(customers[c].iat[first]) for c in strata))
        chosen[rng.choice(pool, size=min(need, len(pool)), replace=False)] = True
    if short:
        warnings.warn(f"match_controls: too few candidate controls in {len(short)} strata "
                      f"({', '.join(short[:3])}); those are under-matched", SmallSampleWarning,
                      stacklevel=2)
    return define_groups(customers, pd.Series(is_pilot, index=customers.index),
                         pd.Series(chosen, index=customers.index))


@dataclass(repr=False)
class Balance(Result):
    """Standardised mean differences (SMD) of covariates between pilot and control."""

    table: pd.DataFrame
    """One row per covariate (or category level): means, SMD, ``imbalanced`` (|SMD| > limit)."""
    n_pilot: int
    n_control: int
    limit: float = BALANCE_LIMIT

    @property
    def max_abs_smd(self) -> float:
        return float(self.table["smd"].abs().max())

    def summary(self) -> pd.DataFrame:
        """The SMD table (one row per covariate or category level)."""
        return self.table.copy()

    def headline(self) -> str:
        bad = self.table.loc[self.table["imbalanced"], "covariate"].tolist()
        head = (f"Balance of {len(self.table)} covariates (levels) between pilot "
                f"(n = {self.n_pilot:,}) and control (n = {self.n_control:,}): max |SMD| "
                f"{self.max_abs_smd:.3f} (no interval: SMDs describe the two groups)")
        return head + (f"; above {self.limit}: {', '.join(bad)}" if bad else
                       f"; all within {self.limit}")

    def plot(self) -> go.Figure:
        t = self.table.sort_values("smd", key=abs)
        fig = go.Figure(go.Scatter(
            x=t["smd"], y=t["covariate"], mode="markers",
            marker=dict(size=9, color=np.where(t["imbalanced"], "#c23b3b", "#1f5fa8")),
            hovertemplate="%{y}: SMD %{x:.3f}<extra></extra>"))
        for x in (-self.limit, self.limit):
            fig.add_vline(x=x, line_dash="dot", line_color="#888")
        fig.add_vline(x=0, line_color="#888")
        n_bad = int(t["imbalanced"].sum())
        title = ("Pilot and control are balanced on every covariate" if n_bad == 0 else
                 f"{n_bad} covariate level(s) differ by more than {self.limit} SD")
        style(fig, title=title, height=max(300, 22 * len(t) + 120),
              xaxis_title=f"standardised mean difference (pilot - control; "
                          f"n={self.n_pilot:,} vs {self.n_control:,})",
              yaxis_title="")
        return fig


def balance(customers: pd.DataFrame, groups: pd.Series, covariates: list[str] | tuple[str, ...],
            limit: float = BALANCE_LIMIT) -> Balance:
    """Standardised mean differences between pilot and control (Austin 2009).

    Numeric covariates: (mean_p - mean_c) / sqrt((var_p + var_c) / 2); categorical ones
    are expanded into one 0/1 indicator per level. Missing values are left out per covariate.
    """
    missing = [c for c in covariates if c not in customers.columns]
    if missing:
        raise DataError(f"balance: covariate column(s) {missing} not found in customers")
    g = customers["customer_id"].map(groups)
    data = customers.loc[g.notna()]
    g = g[g.notna()]
    is_p = (g == PILOT).to_numpy()
    if is_p.sum() == 0 or (~is_p).sum() == 0:
        raise DataError("balance: need customers in both the pilot and the control group")
    rows = []
    for col in covariates:
        x = data[col]
        if pd.api.types.is_bool_dtype(x) or not pd.api.types.is_numeric_dtype(x):
            levels = sorted(x.dropna().astype(str).unique())
            parts = {f"{col}={lv}": (x.astype("string") == lv).astype(float).where(x.notna())
                     for lv in levels}
        else:
            parts = {col: x.astype(float)}
        for name, v in parts.items():
            v = v.to_numpy(dtype=float, na_value=np.nan)
            a, b = v[is_p], v[~is_p]
            a, b = a[~np.isnan(a)], b[~np.isnan(b)]
            pooled = (np.sqrt((np.var(a, ddof=1) + np.var(b, ddof=1)) / 2)
                      if min(len(a), len(b)) > 1 else np.nan)
            diff = a.mean() - b.mean() if len(a) and len(b) else np.nan
            smd = diff / pooled if pooled and pooled > 0 else 0.0 if diff == 0 else np.nan
            rows.append({"covariate": name, "mean_pilot": a.mean() if len(a) else np.nan,
                         "mean_control": b.mean() if len(b) else np.nan, "smd": smd,
                         "n_pilot": len(a), "n_control": len(b)})
    table = pd.DataFrame(rows)
    table["imbalanced"] = table["smd"].abs() > limit
    return Balance(table, int(is_p.sum()), int((~is_p).sum()), limit)
