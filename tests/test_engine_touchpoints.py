"""Touchpoint reductions: pandas and the engine give the same tables; hand-computed cases.

Truth: (a) each reduction computed by pandas on the in-memory events of the sample, the
path the analyses were validated on; (b) a hand-made event table where every value is
counted by hand (windows, unknown outcomes, excluded types). The analyses that use the
reductions (journey, KPI table, pilot observations) give the same results on
``cxlib.open_data`` as on the dict of tables from ``cxlib.load_tables``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cxlib
from cxlib import journey, kpimodel, pilot
from cxlib.engine import touchpoints as T
from cxlib.errors import DataError


@pytest.fixture(scope="module")
def tables(sample_dir: Path) -> dict[str, pd.DataFrame]:
    return cxlib.load_tables(sample_dir)


@pytest.fixture(scope="module")
def data(sample_dir: Path):
    with cxlib.open_data(sample_dir) as d:
        yield d


def test_event_counts_equal(tables, data):
    for by in ("touchpoint", "journey_phase", "event_type"):
        pd.testing.assert_series_equal(T.event_counts(tables["touchpoints"], by),
                                       T.event_counts(data, by), check_names=False)


@pytest.mark.parametrize("by", [None, "journey_phase", "channel"])
def test_post_purchase_share_equal(tables, data, by):
    a = journey.post_purchase_share(tables["touchpoints"], by=by)
    b = journey.post_purchase_share(data, by=by)
    if by and by != "journey_phase":
        a, b = (x.sort_values(by, ignore_index=True) for x in (a, b))
    pd.testing.assert_frame_equal(a, b, rtol=1e-12)


def test_contact_effects_response_rate_pain_points_equal(tables, data):
    r = tables["responses"]
    a, b = (journey.contact_effects(r, ev) for ev in (tables["touchpoints"], data))
    pd.testing.assert_frame_equal(a.by_resolution, b.by_resolution)
    pd.testing.assert_frame_equal(a.by_repeats, b.by_repeats)
    pd.testing.assert_frame_equal(a.differences, b.differences)
    pd.testing.assert_frame_equal(journey.response_rate(r, tables["touchpoints"]),
                                  journey.response_rate(r, data))
    tr = r[r.survey_type != "relationship"]
    pd.testing.assert_frame_equal(journey.pain_points(tr, tables["touchpoints"]),
                                  journey.pain_points(tr, data))


def test_customer_kpis_and_pilot_observations_equal(tables, data):
    pd.testing.assert_frame_equal(kpimodel.customer_kpis(tables), kpimodel.customer_kpis(data))
    a = pilot.kpi_observations(tables, "first_contact_resolution")
    b = pilot.kpi_observations(data, "first_contact_resolution")
    a = a.sort_values(["customer_id", "when"], kind="stable", ignore_index=True)
    pd.testing.assert_frame_equal(a, b)


def test_events_never_load(sample_dir):
    with cxlib.open_data(sample_dir) as fresh:
        with pytest.raises(DataError, match="stays in the engine"):
            fresh["touchpoints"]
        n_events = fresh.sizes()["touchpoints"]
        assert "touchpoints" in fresh and n_events > 0
        journey.post_purchase_share(fresh, by="journey_phase")
        kpimodel.customer_kpis(fresh)
        crossed = fresh.crossed()
    # everything that came into pandas: tables read and reductions, none event-sized
    assert "table customers" in set(crossed["what"]) and len(crossed) > 5
    assert crossed["rows"].max() < n_events / 10


# -- hand-computed -----------------------------------------------------------------------------

def _hand_events() -> pd.DataFrame:
    rows = [  # customer, timestamp, type, resolved, phase
        ("C1", "2024-01-01 10:00", "exposure", None, "research"),
        ("C1", "2024-01-05 10:00", "purchase", None, "purchase"),
        ("C1", "2024-01-03 10:00", "visit", None, "research"),
        ("C1", "2024-02-01 10:00", "contact", False, "use_and_support"),
        ("C1", "2024-02-03 10:00", "repeat_contact", None, "use_and_support"),
        ("C1", "2024-03-01 10:00", "contact", None, "use_and_support"),   # unknown outcome
        ("C2", "2024-01-10 09:00", "purchase", None, "purchase"),
        ("C2", "2024-01-10 08:00", "visit", None, "selection"),
        ("C2", "2024-01-20 09:00", "contact", True, "use_and_support"),
        ("C2", "2024-05-01 09:00", "contact", True, "use_and_support"),
        ("C3", "2024-01-01 09:00", "visit", None, "research"),             # never buys
    ]
    ev = pd.DataFrame(rows, columns=["customer_id", "timestamp", "event_type",
                                     "resolved_first_contact", "journey_phase"])
    ev["timestamp"] = pd.to_datetime(ev["timestamp"])
    ev["resolved_first_contact"] = ev["resolved_first_contact"].astype("boolean")
    ev.insert(0, "event_id", [f"E{i}" for i in range(len(ev))])
    ev["touchpoint"] = ev["event_type"]
    return ev


def _hand_source(tmp_path: Path) -> tuple[pd.DataFrame, pd.DataFrame, cxlib.engine.Source]:
    ev = _hand_events()
    ev.to_parquet(tmp_path / "touchpoints.parquet")
    resp = pd.DataFrame({"response_id": ["R1", "R2", "R3", "R4"],
                         "customer_id": ["C1", "C1", "C2", "C3"],
                         "response_date": pd.to_datetime(["2024-02-03", "2024-06-15",
                                                          "2024-01-20", "2024-02-01"]),
                         "nps": [3.0, 8.0, 10.0, 9.0]})
    resp.to_parquet(tmp_path / "responses.parquet")
    return ev, resp, cxlib.engine.Source(tmp_path)


def test_reductions_hand_computed(tmp_path):
    ev, resp, src = _hand_source(tmp_path)
    with src:
        for events in (ev, src):
            # interactions without exposures and purchases: C1 visit (before), contact,
            # repeat, contact (after) -> 3 of 4; C2 visit (before), 2 contacts -> 2 of 3
            s = T.purchase_split(events, None, ["purchase"], ["exposure"])
            assert s[["k", "sa", "sm"]].iloc[0].tolist() == [2, 5.0, 7.0]
            assert s[["saa", "sam", "smm"]].iloc[0].tolist() == [9 + 4, 12 + 6, 16 + 9]
            # R1 (2024-02-03): window up to 02-04 00:00 holds C1's unresolved contact and its
            # repeat; R2 (06-15): 90 days back to 03-18: nothing -> absent; R3 (01-20): C2's
            # resolved contact at 09:00 that day counts (answers are dated to the day)
            h = T.contact_history(events, resp, 90).set_index("response_id")
            assert h.index.tolist() == ["R1", "R3"]
            assert h.loc["R1"].tolist() == [1.0, 1] and h.loc["R3"].tolist() == [0.0, 0]
            # 120 days (from 02-17): R2 sees only C1's contact of unknown outcome (resolved)
            h = T.contact_history(events, resp, 120).set_index("response_id")
            assert h.loc["R2"].tolist() == [0.0, 0]
            fcr = T.contact_resolution(events)
            assert fcr.loc["C1"].tolist() == [0.0, 1] and fcr.loc["C2"].tolist() == [1.0, 2]
            obs = T.contact_observations(events)
            assert sorted(obs["y"].tolist()) == [0.0, 1.0, 1.0]
            assert T.event_counts(events, "event_type")["contact"] == 4
            assert T.last_event(events) == pd.Timestamp("2024-05-01 09:00")
        share = journey.post_purchase_share(src).iloc[0]
        assert share["share"] == pytest.approx(5 / 7)
        # clustered ratio SE by hand: sum((a - r m)^2) / (k (k - 1)), over mean m
        r = 5 / 7
        se = np.sqrt(((3 - r * 4) ** 2 + (2 - r * 3) ** 2) / 2) / 3.5
        assert share["ci_high"] == pytest.approx(min(r + 1.959963984540054 * se, 1.0))


def test_event_checks_name_table_and_examples(tmp_path):
    ev = _hand_events()
    ev.loc[1, "timestamp"] = pd.NaT
    ev.to_parquet(tmp_path / "touchpoints.parquet")
    pd.DataFrame({"customer_id": ["C1", "C2"], "signup_date": pd.to_datetime(["2023-01-01"] * 2)}
                 ).to_parquet(tmp_path / "customers.parquet")
    with pytest.raises(DataError) as err:
        cxlib.open_data(tmp_path)
    text = str(err.value)
    assert ("touchpoints.parquet): 3 problem(s) with table 'touchpoints':" in text
            and "column 'timestamp' must not be empty (1 row, e.g. event_id E1)" in text)
    assert "not in the customers table (1 events; e.g. C3)" in text


def test_bad_event_type_literal_is_refused(data):
    with pytest.raises(DataError, match="not a plain word"):
        journey.post_purchase_share(data, purchase_types=["purchase'); DROP TABLE x; --"])


def test_engine_parameter_is_checked(sample_dir):
    with pytest.raises(DataError, match="engine 'postgres'"):
        cxlib.open_data(sample_dir, engine="postgres")
