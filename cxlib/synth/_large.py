"""A large simulated company written chunk by chunk straight to Parquet.

``write_large(out_dir, n_customers, seed)`` simulates the customers in chunks of
``chunk_customers`` with :func:`make_company`, each chunk with its own seed derived by
``numpy.random.SeedSequence(seed).spawn``, renumbers the ids so they are unique across chunks
(fixed width, so text order = number order), and appends each chunk to one Parquet file per
table (one row group per chunk). Memory holds one chunk at a time, whatever ``n_customers``.

The chunks are independent companies with the same planted parameters over the same months:
``kpis`` and ``financials`` are combined across chunks (monthly counts and revenue added,
KPI values averaged with their ``n`` as weights); survey weights are post-stratified within
each chunk; each chunk carries the four planted verbatims. ``truth.json`` holds the planted
parameters, the chunk seeds and the realised churn rate; ``latent.parquet`` the per-customer
latent truth. Files are written under temporary names and renamed at the end;
``truth.json`` is written last and marks the data as complete.

Command line: ``python -m cxlib.synth._large --out data/large --customers 1000000``.
The defaults are the bundled sample's parameters; ``--app-sessions`` (app sessions per
active customer-month), ``--transactional-invite`` (share of transactional touchpoints
followed by a survey invitation) and ``--relationship-every`` (months between relationship
waves, see :func:`relationship_tenures`) make the data denser. ``make data-large`` uses
6, 1.0 and 2: about 100 events and 4.7 responses per customer (half transactional, half
relationship).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..checks import check_at_least
from ..errors import ParameterError
from ._company import make_company
from ._params import Params

__all__ = ["write_large", "chunk_sizes", "relationship_tenures"]

ROW_TABLES = ("customers", "responses", "touchpoints", "latent")
MIN_CHUNK = 100  # make_company's smallest company


def chunk_sizes(n_customers: int, chunk_customers: int) -> list[int]:
    """Near-equal chunk sizes summing to ``n_customers``, none above ``chunk_customers``."""
    check_at_least("n_customers", n_customers, MIN_CHUNK)
    check_at_least("chunk_customers", chunk_customers, MIN_CHUNK)
    k = -(-n_customers // chunk_customers)
    base, extra = divmod(n_customers, k)
    return [base + (i < extra) for i in range(k)]


def relationship_tenures(every: int, months: int = Params.months) -> tuple[int, ...]:
    """Tenures (months since signup) of the relationship survey waves, one every ``every`` months.

    A wave in the month before every ``every``-month mark (tenure ``every - 1``,
    ``2 * every - 1``, ...) plus the initial-use wave at tenure 3, below ``months``. ``every=12``
    gives the planted waves ``(3, 11, 23, 35)`` (initial use, then before each renewal); 2
    gives every odd tenure, 1 every month.
    """
    if every < 1:
        raise ParameterError(f"relationship waves must be at least 1 month apart, got {every}")
    return tuple(sorted({t for t in (3, *range(every - 1, months, every)) if t < months}))


def _format_ids(prefix: str, numbers: pa.Array, width: int) -> pa.Array:
    text = pc.utf8_lpad(pc.cast(numbers, pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(pa.scalar(prefix), text, "")


def _renumber(ids: pa.Array, prefix: str, offset: int, width: int) -> pa.Array:
    """``"C000123"`` -> ``prefix`` + zero-padded (123 + offset), vectorised in Arrow."""
    number = pc.cast(pc.utf8_slice_codeunits(ids, 1), pa.int64())
    return _format_ids(prefix, pc.add(number, offset), width)


class _Appender:
    """One Parquet file per table, one row group per chunk, the first chunk's schema."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.writers: dict[str, pq.ParquetWriter] = {}

    def tmp(self, name: str) -> Path:
        return self.out / f".{name}.parquet.tmp"

    def append(self, name: str, frame: pd.DataFrame) -> None:
        writer = self.writers.get(name)
        table = pa.Table.from_pandas(frame, schema=writer.schema if writer else None,
                                     preserve_index=False)
        if writer is None:
            writer = self.writers[name] = pq.ParquetWriter(self.tmp(name), table.schema)
        writer.write_table(table)

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()


def _chunk_seeds(seed: int, n: int) -> list[int]:
    return [int(s.generate_state(1, dtype=np.uint64)[0])
            for s in np.random.SeedSequence(seed).spawn(n)]


def write_large(out_dir: Path | str, n_customers: int = 1_000_000, seed: int = 20261122,
                chunk_customers: int = 20_000, params: Params | None = None,
                progress: bool = False) -> Path:
    """Simulate ``n_customers`` in chunks and write the contract tables as Parquet.

    Writes ``customers``, ``responses``, ``touchpoints``, ``kpis``, ``financials``
    (``.parquet``), ``latent.parquet`` and ``truth.json`` into ``out_dir``. Same arguments,
    same files. Ids: ``C`` + customer number, ``R``/``E`` + response/event number, zero-padded
    to a width fixed by ``n_customers``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sizes = chunk_sizes(n_customers, chunk_customers)
    seeds = _chunk_seeds(seed, len(sizes))
    width = {"C": len(str(n_customers)), "R": len(str(n_customers * 100)),
             "E": len(str(n_customers * 1000))}
    offsets = {"C": 0, "R": 0, "E": 0}
    appender = _Appender(out)
    fin: pd.DataFrame | None = None
    kpi_parts: list[pd.DataFrame] = []
    churned = 0
    p = params or Params()
    try:
        for i, (size, chunk_seed) in enumerate(zip(sizes, seeds, strict=True)):
            company = make_company(size, seed=chunk_seed, params=p)
            cust = company.customers.copy()
            cust["customer_id"] = _renumber(pa.array(cust["customer_id"]), "C", offsets["C"],
                                            width["C"]).to_pandas()
            latent = company.latent.assign(customer_id=cust["customer_id"].to_numpy())
            tables = {"customers": cust, "latent": latent}
            for name, prefix, key in (("responses", "R", "response_id"),
                                      ("touchpoints", "E", "event_id")):
                frame = getattr(company, name).copy()
                frame[key] = _format_ids(prefix, pa.array(np.arange(1, len(frame) + 1)
                                                          + offsets[prefix]),
                                         width[prefix]).to_pandas()
                frame["customer_id"] = _renumber(pa.array(frame["customer_id"]), "C",
                                                 offsets["C"], width["C"]).to_pandas()
                offsets[prefix] += len(frame)
                tables[name] = frame
            offsets["C"] += size
            for name in ROW_TABLES:
                appender.append(name, tables[name])
            churned += int(cust["churned"].sum())
            f = company.financials.set_index("month")
            fin = f if fin is None else fin.add(f, fill_value=0)
            k = company.kpis.assign(value_n=company.kpis["value"].fillna(0) * company.kpis["n"])
            kpi_parts.append(k.groupby(["month", "organisation", "kpi"])[["value_n", "n"]].sum())
            if len(kpi_parts) > 8:  # keep the running KPI sums small
                kpi_parts = [pd.concat(kpi_parts).groupby(level=[0, 1, 2]).sum()]
            if progress:
                print(f"chunk {i + 1}/{len(sizes)}: {offsets['C']:,} customers, "
                      f"{offsets['E']:,} events, {offsets['R']:,} responses", flush=True)
    except BaseException:
        appender.close()
        for name in ROW_TABLES:
            appender.tmp(name).unlink(missing_ok=True)
        raise
    appender.close()

    kp = pd.concat(kpi_parts).groupby(level=[0, 1, 2]).sum().reset_index()
    with np.errstate(invalid="ignore", divide="ignore"):
        kp["value"] = np.where(kp["n"] > 0, kp["value_n"] / kp["n"], np.nan)
    kpis = kp[["month", "organisation", "kpi", "value", "n"]].astype({"n": "int64"})
    financials = fin.reset_index()
    for col in ("active_customers", "new_customers", "churned_customers"):
        financials[col] = financials[col].astype("int64")
    for name, frame in (("kpis", kpis), ("financials", financials)):
        frame.to_parquet(appender.tmp(name), index=False)
    for name in (*ROW_TABLES, "kpis", "financials"):
        shutil.move(appender.tmp(name), out / f"{name}.parquet")

    truth: dict[str, Any] = {
        "seed": seed, "n_customers": n_customers, "chunk_customers": chunk_customers,
        "chunks": [{"customers": s, "seed": cs} for s, cs in zip(sizes, seeds, strict=True)],
        "params": p.to_dict(),
        "realised": {"churn_rate": churned / n_customers, "responses": offsets["R"],
                     "touchpoints": offsets["E"]},
        "note": "independent chunks simulated with make_company and the same parameters; "
                "realised effects other than the churn rate are not combined",
    }
    tmp = out / ".truth.json.tmp"
    tmp.write_text(json.dumps(truth, indent=2, default=str), encoding="utf-8")
    tmp.replace(out / "truth.json")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write a large simulated company to Parquet.")
    parser.add_argument("--out", default="data/large")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--chunk", type=int, default=20_000)
    parser.add_argument("--app-sessions", type=float, default=0.0,
                        help="app sessions per active customer-month (6 gives ~100M events "
                             "for 1M customers)")
    parser.add_argument("--transactional-invite", type=float, default=Params.transactional_invite,
                        help="share of transactional touchpoints (purchases, support contacts, "
                             "store visits, ...) followed by a survey invitation; about a third "
                             "of the invited answer (default %(default)s, the sample's)")
    parser.add_argument("--relationship-every", type=int, default=12,
                        help="months between relationship survey waves, plus a wave at tenure "
                             "3; 12 (default) gives the sample's waves at tenures 3, 11, 23, 35")
    args = parser.parse_args(argv)
    if not 0.0 <= args.transactional_invite <= 1.0:
        parser.error(f"--transactional-invite must be in [0, 1], got {args.transactional_invite}")
    if args.relationship_every < 1:
        parser.error(f"--relationship-every must be at least 1, got {args.relationship_every}")
    base = Params()
    params = replace(base, app_sessions_per_month=args.app_sessions,
                     transactional_invite=args.transactional_invite,
                     relationship_tenures=relationship_tenures(args.relationship_every,
                                                               base.months))
    write_large(args.out, args.customers, args.seed, args.chunk, params=params, progress=True)
    print(f"wrote {args.out}: customers, responses, touchpoints, kpis, financials, latent, "
          "truth.json")


if __name__ == "__main__":
    main()
