"""The chunked large-data writer, at small size.

Truth: each chunk must be exactly `make_company` with its derived seed (ids renumbered);
the combined KPI table must equal KPIs recomputed from the written rows; the contract
schema (`cxlib.load_tables` validates every table and the references between them).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cxlib
from cxlib import engine, synth
from cxlib.errors import ParameterError
from cxlib.synth._large import chunk_sizes, main, relationship_tenures, write_large

N, CHUNK, SEED = 700, 250, 5


@pytest.fixture(scope="module")
def large_dir(tmp_path_factory) -> Path:
    return write_large(tmp_path_factory.mktemp("large"), N, seed=SEED, chunk_customers=CHUNK)


@pytest.fixture(scope="module")
def tables(large_dir) -> dict[str, pd.DataFrame]:
    return cxlib.load_tables(large_dir)  # validates the contract and the references


def test_chunk_sizes():
    assert chunk_sizes(700, 250) == [234, 233, 233]
    assert chunk_sizes(1_000_000, 20_000) == [20_000] * 50
    assert sum(chunk_sizes(123_457, 10_000)) == 123_457
    with pytest.raises(ParameterError, match="n_customers must be at least 100, got 99"):
        chunk_sizes(99, 50)


def test_ids_unique_and_fixed_width(tables):
    cust, resp, tp = tables["customers"], tables["responses"], tables["touchpoints"]
    assert len(cust) == N and cust["customer_id"].is_unique
    assert resp["response_id"].is_unique and tp["event_id"].is_unique
    for ids in (cust["customer_id"], resp["response_id"], tp["event_id"]):
        assert ids.str.len().nunique() == 1  # text order = number order
        assert ids.is_monotonic_increasing
    assert set(resp["customer_id"]) <= set(cust["customer_id"])
    assert set(tp["customer_id"]) <= set(cust["customer_id"])


def test_each_chunk_is_make_company_with_its_derived_seed(large_dir, tables):
    truth = cxlib.load_truth(large_dir)
    chunks = truth["chunks"]
    assert [c["customers"] for c in chunks] == chunk_sizes(N, CHUNK)
    assert len({c["seed"] for c in chunks}) == len(chunks)
    # the second chunk: customers 235..467, its own seed, ids shifted by the first chunk
    first, second = chunks[0]["customers"], chunks[1]
    company = synth.make_company(second["customers"], seed=second["seed"])
    got = tables["customers"].iloc[first:first + second["customers"]].reset_index(drop=True)
    expected = company.customers.copy()
    expected["customer_id"] = [f"C{i + first:03d}" for i in range(1, len(expected) + 1)]
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    # its events: same rows, customer ids renumbered the same way
    events = tables["touchpoints"]
    mine = events[events["customer_id"].isin(got["customer_id"])].reset_index(drop=True)
    assert len(mine) == len(company.touchpoints)
    np.testing.assert_array_equal(mine["timestamp"], company.touchpoints["timestamp"])
    assert truth["realised"]["churn_rate"] == pytest.approx(tables["customers"]["churned"].mean())


def test_deterministic(large_dir, tmp_path):
    again = write_large(tmp_path, N, seed=SEED, chunk_customers=CHUNK)
    for name in ("customers", "responses", "touchpoints", "kpis", "financials", "latent"):
        pd.testing.assert_frame_equal(pd.read_parquet(again / f"{name}.parquet"),
                                      pd.read_parquet(large_dir / f"{name}.parquet"))
    other = write_large(tmp_path / "other", N, seed=SEED + 1, chunk_customers=CHUNK)
    assert not pd.read_parquet(other / "customers.parquet").equals(
        pd.read_parquet(large_dir / "customers.parquet"))


def test_combined_kpis_and_financials_match_the_rows(tables):
    tp, kpis, fin = tables["touchpoints"], tables["kpis"], tables["financials"]
    contacts = tp[tp["event_type"] == "contact"]
    fcr = contacts.groupby(contacts["timestamp"].dt.to_period("M").dt.to_timestamp())[
        "resolved_first_contact"].agg(["mean", "count"])
    k = kpis[kpis["kpi"] == "first_contact_resolution"].set_index("month")
    np.testing.assert_allclose(k["value"], fcr.loc[k.index, "mean"].astype(float), rtol=1e-12)
    np.testing.assert_array_equal(k["n"], fcr.loc[k.index, "count"])
    signups = tables["customers"]["signup_date"].dt.to_period("M").dt.to_timestamp()
    new = signups.value_counts().reindex(fin["month"], fill_value=0)
    np.testing.assert_array_equal(fin["new_customers"], new.to_numpy())


def test_engine_reads_the_written_data(large_dir, tables):
    expected = cxlib.churn.build_features(tables, "2025-01-01")
    got = engine.build_features(large_dir, "2025-01-01")
    pd.testing.assert_frame_equal(got, expected.sort_values("customer_id", ignore_index=True),
                                  check_exact=False, rtol=1e-12, atol=1e-12)


def test_relationship_tenures():
    assert relationship_tenures(12) == synth.Params().relationship_tenures  # the planted waves
    assert relationship_tenures(2) == tuple(range(1, 36, 2))
    assert relationship_tenures(1) == tuple(range(36))
    assert relationship_tenures(6, months=24) == (3, 5, 11, 17, 23)
    with pytest.raises(ParameterError, match="at least 1 month apart, got 0"):
        relationship_tenures(0)


def test_survey_flags_raise_responses_and_defaults_keep_the_sample_params(tmp_path):
    n, seed = 2_000, 7
    default, dense = tmp_path / "default", tmp_path / "dense"
    main(["--out", str(default), "--customers", str(n), "--seed", str(seed)])
    main(["--out", str(dense), "--customers", str(n), "--seed", str(seed),
          "--transactional-invite", "1.0", "--relationship-every", "2"])
    # no flags: exactly the sample's parameters, so exactly write_large with Params()
    assert cxlib.load_truth(default)["params"] == cxlib.load_truth(
        write_large(tmp_path / "plain", n, seed=seed))["params"]
    pd.testing.assert_frame_equal(pd.read_parquet(default / "responses.parquet"),
                                  pd.read_parquet(tmp_path / "plain" / "responses.parquet"))
    per_customer = {name: len(pd.read_parquet(d / "responses.parquet")) / n
                    for name, d in (("default", default), ("dense", dense))}
    assert 1.1 < per_customer["default"] < 1.6       # ~1.36 in the sample
    assert 4.2 < per_customer["dense"] < 5.2         # ~4.7: what make data-large uses
    kinds = pd.read_parquet(dense / "responses.parquet")["survey_type"].value_counts() / n
    assert kinds["transactional"] > 2.0 and kinds["relationship"] > 2.0
    # the journey is the same draw: surveys do not change the events
    pd.testing.assert_frame_equal(pd.read_parquet(default / "touchpoints.parquet"),
                                  pd.read_parquet(dense / "touchpoints.parquet"))
    for bad in (["--transactional-invite", "1.5"], ["--relationship-every", "0"]):
        with pytest.raises(SystemExit):
            main(["--out", str(tmp_path / "bad"), "--customers", str(n), *bad])
