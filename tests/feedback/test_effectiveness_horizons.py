"""Forecasts and plans served for a later period (horizon 2), scored by hand on the period
they were made for, beside the baselines forecasting as far ahead from the same as_of; and a
plan compared with the forecast of the model version it was built from."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from effectiveness_case import (
    CAT,
    HAND_EVENTS,
    STUDY,
    WEEK3,
    A,
    B,
    C,
    D,
    assert_figures,
    events_at,
    served_ranking,
    stored_plan,
)
from hotspots.errors import IntegrityError
from hotspots.feedback.effectiveness import SERVED, realised_effectiveness
from hotspots.feedback.failures import ModelFailure
from hotspots.feedback.monitor_served import served_rankings
from hotspots.feedback.plans_realised import plans_built_from
from hotspots.feedback.realised_io import realised_to_dict
from hotspots.feedback.served import (
    ServedForecast,
    ServedMemo,
    served_forecast,
    snapshots_to_served,
)
from hotspots.grid import cells_area_km2
from hotspots.grid.regions import PlanBudget

WEEK2 = pd.Timestamp("2024-01-08")
WEEK4 = pd.Timestamp("2024-01-22")
DAYS7 = pd.Timedelta(days=7)


def forecast(
    as_of: pd.Timestamp, horizon: int, first: list[int], counts: list[float], version: str = "v1"
) -> ServedForecast:
    """The forecast served as of ``as_of`` for its period ``horizon``: ``first`` ranked
    first, with ``counts`` expected (the rest 0)."""
    ranked = served_ranking(first)
    expected = np.zeros(ranked.size)
    expected[: len(counts)] = counts
    start = as_of + (horizon - 1) * DAYS7
    return ServedForecast(
        "burglary", version, as_of, start + DAYS7, as_of, (CAT,), ranked, expected,
        horizon=horizon, start=start if horizon > 1 else None,
    )  # fmt: skip


def km2_of(cell: int) -> float:
    km2 = cells_area_km2(STUDY)
    return float(km2[np.searchsorted(STUDY, cell)])


def share_of(cell: int) -> float:
    return km2_of(cell) / float(cells_area_km2(STUDY).sum())


def test_a_forecast_and_a_plan_two_periods_ahead_are_scored_on_their_period() -> None:
    # as of week 2 (8 Jan) the service served week 2 (B, A first) and, 2 periods ahead,
    # week 3 (C 3, D 2 first); a plan of one cell, A, was served for week 3 as of week 2.
    # Week 3 held A 1, C 3, D 1. 10% of 19 cells = 2 flagged. From 8 Jan, last_period and
    # historical_mean know week 1 alone (A 3, B 1): both flag A, B for week 3 = 1 event, where
    # from 15 Jan (the next period's view) last_period would flag B, C = 3 events.
    events = events_at(HAND_EVENTS)
    served = [
        forecast(WEEK2, 1, [B, A], [2.0, 1.0]),
        forecast(WEEK2, 2, [C, D], [3.0, 2.0]),
        forecast(WEEK3, 1, [C, A], [3.0, 1.0]),
        forecast(WEEK3, 2, [A], [1.0]),  # week 4: its events have not arrived
    ]
    ahead = stored_plan([A], horizon=2, period="2024-01-15", as_of="2024-01-08", tag="b")
    waiting = stored_plan([C], horizon=2, period="2024-01-22", as_of="2024-01-15", tag="c")
    result = realised_effectiveness(
        served, events, freq="W", baselines=("last_period", "historical_mean"),
        coverages=(0.1,), served_plans=[ahead, waiting],
    )  # fmt: skip
    periods = result.periods.set_index(["horizon", "as_of", "source"]).sort_index()
    later = periods.loc[(2, WEEK2)]
    assert (later["period_start"] == WEEK3).all() and (later["period_end"] == WEEK4).all()
    assert (later["n_events"] == 5).all() and (later["flagged"] == 2).all()
    expected = {  # hits, hit rate, PAI = hit rate / (2 / 19), PEI = hits / 4 (the best 2 cells)
        SERVED: (4, 0.8, 7.6, 1.0),
        "last_period": (1, 0.2, 1.9, 0.25),
        "historical_mean": (1, 0.2, 1.9, 0.25),
    }
    assert_figures(later, expected)
    # the same week 3 seen one period ahead (as of 15 Jan): last_period flags B, C
    assert periods.loc[(1, WEEK3, "last_period"), "hits"] == 3
    assert periods.loc[(1, WEEK2, SERVED), "hits"] == 2  # week 2: B 2 of B 2, C 1
    # the flag reads the next period's forecasts only
    assert result.flags.iloc[0]["last_as_of"] == WEEK3
    # the plan served 2 periods ahead, on week 3's events: A held 1 of 5
    rows = result.plans.set_index("source")
    assert set(rows.index) == {SERVED, "last_period", "historical_mean"}
    assert (rows["etag"] == ahead.etag).all() and (rows["horizon"] == 2).all()
    assert (rows["as_of"] == WEEK2).all() and (rows["period_start"] == WEEK3).all()
    mine = rows.loc[SERVED]
    assert (mine["plan_hits"], mine["n_events"], mine["areas"]) == (1, 5, 1)
    assert mine["plan_pai"] == pytest.approx(0.2 / share_of(A))
    # the top cells of A's km2 on the forecast it was built from (C 3, D 2): C, as much as fits
    assert mine["top_hits"] == pytest.approx(3.0 * min(1.0, km2_of(A) / km2_of(C)))
    # each baseline's plan grown from its forecast 2 periods ahead (A 3, B 1): A, 1 event
    assert rows.loc["last_period", "plan_hits"] == 1
    assert rows.loc["historical_mean", "plan_hits"] == 1
    # the plan for week 4 is not scored yet, and says why
    [unscored] = result.unscored_plans.to_dict("records")
    assert unscored["etag"] == waiting.etag and unscored["horizon"] == 2
    assert unscored["why"] == (
        "its period from 2024-01-22 (period 2 of the forecast as of 2024-01-15) is not "
        "scored yet: its events have not all arrived (whole periods before 2024-01-22 only)"
    )
    pending = result.pending.iloc[0]
    assert (pending["as_of"], pending["horizon"], pending["period_start"]) == (WEEK3, 2, WEEK4)
    # the document: horizon 1 in periods, horizon 2 in later_periods, and means per horizon
    doc = realised_to_dict(result)
    [model] = doc["models"]
    assert [(p["as_of"], p["horizon"]) for p in model["periods"]] == [
        ("2024-01-08", 1), ("2024-01-15", 1)
    ]  # fmt: skip
    [two] = model["later_periods"]
    assert (two["as_of"], two["horizon"], two["period_start"]) == ("2024-01-08", 2, "2024-01-15")
    assert two["cutoffs"]["10%"]["served"]["hits"] == 4
    assert two["cutoffs"]["10%"]["baselines"]["last_period"]["hits"] == 1
    assert [p["etag"] for p in two["plans"]] == [ahead.etag] and two["dosage"] is None
    by = {h["horizon"]: h for h in model["by_horizon"]}
    assert by[2]["periods"] == 1 and by[2]["served"]["pai"] == pytest.approx(7.6)
    assert by[2]["baselines"]["last_period"]["hit_rate"] == pytest.approx(0.2)
    assert by[1]["periods"] == 2
    [evaluated] = model["plans_evaluated"]
    assert (evaluated["horizon"], evaluated["plans"], evaluated["periods"]) == (2, 1, 1)
    assert evaluated["served_mean"]["plan_hit_rate"] == pytest.approx(0.2)
    [not_scored] = doc["plans_not_scored"]
    assert (not_scored["as_of"], not_scored["period_start"]) == ("2024-01-15", "2024-01-22")


def test_a_later_period_with_no_plan_recorded_is_grown_again_like_the_next() -> None:
    # as in the test above; no plan recorded for week 3 two periods ahead, so it is grown
    # again at the default budget (one area of at most 0.8 km2: one cell) from the forecast
    # served 2 periods ahead (C 3, D 2: C), as week 2's is from the next period's (B: B)
    events = events_at(HAND_EVENTS)
    served = [
        forecast(WEEK2, 1, [B, A], [2.0, 1.0]),
        forecast(WEEK2, 2, [C, D], [3.0, 2.0]),
        forecast(WEEK3, 2, [A], [1.0]),  # week 4: its events have not arrived
    ]
    budget = PlanBudget(1, 0.8)
    result = realised_effectiveness(
        served, events, freq="W", baselines=("last_period", "historical_mean"),
        coverages=(0.1,), plan_budget=budget,
    )  # fmt: skip
    plans = result.plans
    assert (plans["plan"] == "rebuilt").all() and plans["etag"].isna().all()
    keys = zip(plans["horizon"], plans["as_of"], plans["period_start"], strict=True)
    assert sorted(set(keys)) == [
        (1, WEEK2, WEEK2), (2, WEEK2, WEEK3),
    ]  # fmt: skip
    later = plans.loc[plans["horizon"] == 2].set_index("source")
    assert (later["budget_areas"] == 1).all() and (later["stop"] == "cap").all()
    got = later.loc[SERVED]  # C held 3 of week 3's 5
    assert (got["plan_hits"], got["n_events"], got["areas"]) == (3, 5, 1)
    assert got["plan_pai"] == pytest.approx(0.6 / share_of(C))
    # each baseline grown from its forecast 2 periods ahead (week 1 alone: A 3): A, 1 event
    assert later.loc["last_period", "plan_hits"] == 1
    assert later.loc["historical_mean", "plan_hits"] == 1
    assert plans.loc[(plans["horizon"] == 1) & (plans["source"] == SERVED), "plan_hits"].item() == 2
    assert result.unscored_plans.empty
    doc = realised_to_dict(result)["models"][0]
    kinds = {(e["horizon"], e["plan"], e["plans"]) for e in doc["plans_evaluated"]}
    assert kinds == {(1, "rebuilt", 1), (2, "rebuilt", 1)}
    # a plan recorded for that period and horizon is scored instead, and none is grown
    ahead = stored_plan([A], horizon=2, period="2024-01-15", as_of="2024-01-08", tag="b")
    recorded = realised_effectiveness(
        served, events, freq="W", baselines=("last_period", "historical_mean"),
        coverages=(0.1,), plan_budget=budget, served_plans=[ahead],
    ).plans  # fmt: skip
    two = recorded.loc[recorded["horizon"] == 2]
    assert (two["plan"] == "stored").all() and (two["etag"] == ahead.etag).all()
    assert (recorded.loc[recorded["horizon"] == 1, "plan"] == "rebuilt").all()


class Store:
    """A snapshot store stand-in: the snapshots of one model for one as_of."""

    def __init__(self, snapshots: list[tuple[str, str, ServedForecast]]) -> None:
        self.metas = [
            {"as_of": f.as_of.strftime("%Y-%m-%d"), "issued_at": issued, "version": version,
             "periods": [[f.as_of.isoformat(), (f.as_of + DAYS7).isoformat()]],
             "target": [CAT]}
            for issued, version, f in snapshots
        ]  # fmt: skip
        self.docs = {issued: f for issued, _, f in snapshots}

    def list(self, name: str) -> list[dict[str, Any]]:
        return self.metas

    def load(self, name: str, as_of: Any, issued_before: Any = None, period: int = 0) -> Any:
        f = self.docs[issued_before]
        assert f.expected is not None
        rows = [
            {"rank": i + 1, "cell": f"{int(c):x}", "expected_count": float(e)}
            for i, (c, e) in enumerate(zip(f.ranked, f.expected, strict=True))
        ]
        return type("Stored", (), {"bytes": json.dumps({"hotspots": rows}).encode()})


def test_a_plan_is_compared_with_the_forecast_of_its_model_version() -> None:
    # week 3: v1 served C 3, A 2 first and a plan of A was built from it; on Wednesday a
    # retrain promoted v2, which served D 3, B 2 first for the same week. The plan's top
    # cells of its km2 are v1's (C, 3 of the week's 5 events), not v2's (D, 1 event); the
    # forecast scored for the week stays the last issued (v2's)
    events = events_at(HAND_EVENTS)
    v1 = forecast(WEEK3, 1, [C, A], [3.0, 2.0], version="v1")
    v2 = forecast(WEEK3, 1, [D, B], [3.0, 2.0], version="v2")
    store = Store([("2024-01-15T06:00:00Z", "v1", v1), ("2024-01-17T06:00:00Z", "v2", v2)])
    plan = stored_plan([A], tag="d")
    plan = type(plan)(**{**plan.__dict__, "versions": {"burglary": "v1"},
                         "recorded_at": pd.Timestamp("2024-01-15T08:00:00Z")})  # fmt: skip
    last = forecast(WEEK3, 1, [D, B], [3.0, 2.0], version="v2")
    last = type(last)(**{**last.__dict__, "issued_at": pd.Timestamp("2024-01-17T06:00:00Z")})
    built = plans_built_from(store, [plan], [last])
    assert list(built) == [(plan.etag, "burglary")]
    assert built[(plan.etag, "burglary")].version == "v1"
    scored = {}
    for given in ({}, built):
        result = realised_effectiveness(
            [last], events, freq="W", baselines=("last_period",), coverages=(0.1,),
            served_plans=[plan], plan_forecasts=given,
        )  # fmt: skip
        scored[bool(given)] = result.plans.set_index("source").loc[SERVED]
        assert result.periods.query("source == @SERVED")["version"].tolist() == ["v2"]
    fits = min(1.0, km2_of(A) / km2_of(C))
    assert scored[True]["top_hits"] == pytest.approx(3.0 * fits)  # C: v1's top cell
    assert scored[False]["top_hits"] == pytest.approx(1.0 * min(1.0, km2_of(A) / km2_of(D)))
    assert scored[True]["plan_hits"] == scored[False]["plan_hits"] == 1  # its own cells: A
    # a plan of the version last issued needs no other forecast
    same = type(plan)(**{**plan.__dict__, "versions": {"burglary": "v2"}, "recorded_at": None})
    assert plans_built_from(store, [same], [last]) == {}


class DamagedStore(Store):
    """The stand-in with v1's snapshot file damaged, as ``SnapshotStore.load`` says it."""

    def load(self, name: str, as_of: Any, issued_before: Any = None, period: int = 0) -> Any:
        if issued_before == "2024-01-15T06:00:00Z":
            raise IntegrityError("snapshot file v1.json.gz does not match its ETag")
        return super().load(name, as_of, issued_before, period)


def test_a_plan_whose_forecast_is_unreadable_fails_alone() -> None:
    # two plans built from v1 (one of burglary, one of burglary and robbery) and one from
    # v2's earlier snapshot: v1's file is damaged, so its plans are lost, each to its own
    # combination, and the other is read
    v1 = forecast(WEEK3, 1, [C, A], [3.0, 2.0], version="v1")
    v2 = forecast(WEEK3, 1, [D, B], [3.0, 2.0], version="v2")
    issued = ["2024-01-15T06:00:00Z", "2024-01-16T06:00:00Z", "2024-01-17T06:00:00Z"]
    store = DamagedStore([(issued[0], "v1", v1), (issued[1], "v2", v2), (issued[2], "v2", v2)])
    last = type(v2)(**{**v2.__dict__, "issued_at": pd.Timestamp(issued[2])})

    def made(tag: str, version: str, types: tuple[str, ...], at: str) -> Any:
        plan = stored_plan([A], tag=tag, types=types)
        return type(plan)(**{**plan.__dict__, "versions": dict.fromkeys(types, version),
                             "recorded_at": pd.Timestamp(at)})  # fmt: skip

    alone = made("a", "v1", ("burglary",), "2024-01-15T08:00:00Z")
    both = made("b", "v1", ("burglary", "robbery"), "2024-01-15T09:00:00Z")
    other = made("c", "v2", ("burglary",), "2024-01-16T08:00:00Z")
    lost: dict[str, ModelFailure] = {}
    built = plans_built_from(store, [alone, both, other], [last], lost)
    assert list(built) == [(other.etag, "burglary")]
    assert {e: (f.model, f.part) for e, f in lost.items()} == {
        alone.etag: ("burglary", "plans"), both.etag: ("burglary+robbery", "plans")
    }  # fmt: skip
    assert lost[alone.etag].reason == (
        "1 served plan for 2024-01-15 (horizon 1) not scored: the forecast of 'burglary' v1 "
        "it was built from: snapshot file v1.json.gz does not match its ETag"
    )
    events = events_at(HAND_EVENTS)
    result = realised_effectiveness(
        [last], events, freq="W", baselines=("last_period",), coverages=(0.1,),
        served_plans=[alone, other], plan_forecasts=built, lost_plans=lost,
        plan_budget=PlanBudget(1, 0.8),
    )  # fmt: skip
    assert set(result.plans["etag"]) == {other.etag}  # not scored, and nothing grown again
    assert set(result.plans["plan"]) == {"stored"}


def test_a_plan_of_two_crime_types_two_periods_ahead() -> None:
    # robbery: week 1 two at C, week 3 two at A. As of week 2, 2 periods ahead (week 3), the
    # plan of one cell weighs robbery 2 and took A: 1 burglary + 2 robberies of week 3's 7
    # events. last_period from 8 Jan knows week 1 alone: burglary A 3, B 1, robbery C 2 x 2,
    # so its plan takes C: 3 burglaries. The served forecasts weighed alike (burglary C 3,
    # D 2; robbery A 1 x 2) put C first: the top cells of A's km2 hold C's 3 events, in part
    import dataclasses

    from hotspots.feedback.plans_combined import ModelFolds, realised_combined_plans

    robbery = events_at([(C, "2024-01-02 11:00"), (C, "2024-01-03 11:00"),
                         (A, "2024-01-16 11:00"), (A, "2024-01-18 11:00")])  # fmt: skip
    robbery["category"] = pd.Series(["Robbery"] * 4, dtype="string")
    events = pd.concat([events_at(HAND_EVENTS), robbery], ignore_index=True)
    other = dataclasses.replace(forecast(WEEK2, 2, [A], [1.0]), name="robbery", target=("Robbery",))
    plan = stored_plan([A], types=("burglary", "robbery"), horizon=2, period="2024-01-15",
                       as_of="2024-01-08", tag="e")  # fmt: skip
    plan = dataclasses.replace(plan, weights={"robbery": 2.0})
    folds: dict[tuple[str, int], ModelFolds] = {}
    realised_effectiveness(
        [forecast(WEEK2, 2, [C, D], [3.0, 2.0]), other], events, freq="W",
        baselines=("last_period",), coverages=(0.1,), served_plans=[plan], folds=folds,
    )  # fmt: skip
    assert set(folds) == {("burglary", 2), ("robbery", 2)}
    rows = realised_combined_plans([plan], folds, SERVED).set_index("source")
    assert set(rows.index) == {SERVED, "last_period"}
    assert (rows["model"] == "burglary+robbery").all() and (rows["horizon"] == 2).all()
    assert (rows["as_of"] == WEEK2).all() and (rows["period_start"] == WEEK3).all()
    got = rows.loc[SERVED]
    assert (got["plan_hits"], got["n_events"]) == (3, 7)
    assert got["plan_pai"] == pytest.approx((3 / 7) / share_of(A))
    assert got["top_hits"] == pytest.approx(3.0 * min(1.0, km2_of(A) / km2_of(C)))
    assert rows.loc["last_period", "plan_hits"] == 3  # C


def test_a_served_memo_reads_each_document_once_with_the_same_forecast() -> None:
    """The report's parts share one reading of each served document (``ServedMemo``):
    the monitor's and the realised figures' reads of one period parse it once, and what
    they get is what a plain read gives, value for value."""
    week3 = forecast(WEEK3, 1, [C, A], [3.0, 2.0], version="v1")
    store = Store([("2024-01-15T06:00:00Z", "v1", week3)])
    loads: list[Any] = []
    real = store.load

    def counted(name: str, as_of: Any, issued_before: Any = None, period: int = 0) -> Any:
        loads.append((as_of, issued_before, period))
        return real(name, as_of, issued_before, period)

    store.load = counted  # type: ignore[method-assign]
    memo = ServedMemo(store)
    [meta] = store.list("burglary")
    plain = served_forecast(store, "burglary", meta)
    assert len(loads) == 1
    first = served_forecast(memo, "burglary", meta)
    again = served_rankings(memo, "burglary", pd.DatetimeIndex([WEEK3]))
    [whole] = snapshots_to_served(memo, "burglary")
    assert len(loads) == 2  # the plain read, then one for the memo's three
    assert first is whole
    np.testing.assert_array_equal(again[WEEK3], plain.ranked)
    for got in (first, whole):
        np.testing.assert_array_equal(got.ranked, plain.ranked)
        np.testing.assert_array_equal(got.expected, plain.expected)
        assert (got.as_of, got.version, got.horizon) == (plain.as_of, plain.version, 1)
