"""Realised effectiveness against a small case computed by hand, and the K-period flag."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import h3
import numpy as np
import pandas as pd
import pytest

from effectiveness_case import (
    HAND_EVENTS,
    STUDY,
    TZ,
    WEEK3,
    A,
    B,
    C,
    D,
    assert_figures,
    events_at,
    served,
    served_ranking,
    served_with_counts,
    stored_plan,
)
from hotspots.feedback.effectiveness import SERVED, model_flag, realised_effectiveness
from hotspots.feedback.report import write_effectiveness_report
from hotspots.feedback.served import ServedForecast
from hotspots.ingest.schema import empty_events


def test_realised_figures_match_the_hand_computed_case() -> None:
    # 19 study cells, 10% flags round(1.9) = 2 cells. Served top 2 = C, A: 4 of the 5
    # events; the best 2 cells (C 3 + A or D 1) hold 4. last_period (week 2: B 2, C 1)
    # flags B, C: 3 events. historical_mean (A 1.5, B 1.5, C 0.5) flags A, B: 1 event.
    events = events_at(HAND_EVENTS)
    one = served(WEEK3, served_ranking([C, A, B, D]))
    result = realised_effectiveness(
        [one], events, freq="W", baselines=("last_period", "historical_mean"), coverages=(0.1,)
    )
    rows = result.periods.set_index("source")
    assert set(rows.index) == {SERVED, "last_period", "historical_mean"}
    assert (rows["n_events"] == 5).all() and (rows["flagged"] == 2).all()
    expected = {  # hits, hit rate, PAI = hit rate / (2 / 19), PEI = hits / 4
        SERVED: (4, 0.8, 7.6, 1.0),
        "last_period": (3, 0.6, 5.7, 0.75),
        "historical_mean": (1, 0.2, 1.9, 0.25),
    }
    assert_figures(rows, expected)
    assert rows.loc[SERVED, "version"] == "v1"
    assert rows.loc[SERVED, "as_of"] == WEEK3
    flag = result.flags.iloc[0]
    assert (flag["periods_below"], bool(flag["flagged"])) == (0, False)
    assert flag["best_baseline"] == "last_period"
    assert result.pending.empty


def test_dosage_beside_the_crime_that_followed_and_around() -> None:
    # an hour on A and B (30 minutes each), and two hours on C from Sunday 23:00 of week 3:
    # one hour in week 3, one in week 4 (not scored: its events have not arrived)
    events = events_at(HAND_EVENTS)
    patrols = pd.DataFrame(
        {
            "patrol_id": ["p1", "p2"],
            "start": pd.to_datetime(["2024-01-16 10:00", "2024-01-21 23:00"]).tz_localize(TZ),
            "end": pd.to_datetime(["2024-01-16 11:00", "2024-01-22 01:00"]).tz_localize(TZ),
            "cells": [np.array([A, B], np.uint64), np.array([C], np.uint64)],
            "resolution": [8, 8],
        }
    )
    patrols["start"] = patrols["start"].dt.tz_convert("UTC")
    patrols["end"] = patrols["end"].dt.tz_convert("UTC")
    result = realised_effectiveness(
        [served(WEEK3, served_ranking([C, A]))],
        events,
        freq="W",
        baselines=("last_period",),
        coverages=(0.1,),
        patrols=patrols,
    )
    dose = result.dosage.iloc[0]
    assert dose["patrolled_cells"] == 3 and dose["patrol_minutes"] == pytest.approx(120.0)
    # week 3: A 1 + C 3 patrolled; D (a neighbour of A) 1 in the ring; nothing elsewhere.
    # before: the mean of weeks 1-2 (4 and 3 events in A, B, C), none around
    assert (dose["events_patrolled"], dose["events_ring"], dose["events_rest"]) == (4, 1, 0)
    assert (dose["before_patrolled"], dose["before_ring"], dose["before_rest"]) == (3.5, 0, 0)
    cells = result.cells.set_index("cell")
    by_cell = {h3.str_to_int(c): row for c, row in cells.iterrows()}
    assert by_cell[A]["minutes"] == pytest.approx(30.0)
    assert by_cell[C]["minutes"] == pytest.approx(60.0)
    assert (by_cell[C]["events"], by_cell[C]["events_before"]) == (3, 0.5)
    assert bool(by_cell[C]["in_served_top"]) and not bool(by_cell[B]["in_served_top"])


def test_patrol_time_by_place_as_logged_and_tactic() -> None:
    # plan area 2024-01-15/1 (A, B): 60 foot minutes on Tuesday of week 3 and 120 from Sunday
    # 23:00 (60 in week 3, 60 in week 4, not scored); cells C: 30 minutes, no tactic
    events = events_at(HAND_EVENTS)
    times = [("2024-01-16 10:00", "2024-01-16 11:00"), ("2024-01-21 23:00", "2024-01-22 01:00"),
             ("2024-01-17 09:00", "2024-01-17 09:30")]  # fmt: skip
    patrols = pd.DataFrame(
        {
            "patrol_id": ["p1", "p2", "p3"],
            "start": pd.to_datetime([s for s, _ in times]).tz_localize(TZ).tz_convert("UTC"),
            "end": pd.to_datetime([e for _, e in times]).tz_localize(TZ).tz_convert("UTC"),
            "place_kind": ["area", "area", "cells"],
            "place": ["2024-01-15/1", "2024-01-15/1", h3.int_to_str(C)],
            "tactic": ["foot", "foot", None],
            "unit": ["U7", "U7", "U8"],  # a crew's hours are never shown on their own
            "cells": [np.array([A, B], np.uint64)] * 2 + [np.array([C], np.uint64)],
            "resolution": [8, 8, 8],
        }
    )
    result = realised_effectiveness(
        [served(WEEK3, served_ranking([C, A]))],
        events,
        freq="W",
        baselines=("last_period",),
        coverages=(0.1,),
        patrols=patrols,
    )
    rows = result.patrol_time.drop(columns=["model", "as_of"]).to_dict("records")
    assert rows == [
        {"place_kind": "area", "place": "2024-01-15/1", "tactic": "foot", "patrols": 2,
         "minutes": 120.0, "share": 0.8},
        {"place_kind": "cells", "place": "", "tactic": "", "patrols": 1, "minutes": 30.0,
         "share": pytest.approx(0.2)},
    ]  # fmt: skip
    assert set(result.patrol_time["as_of"]) == {WEEK3}  # week 4's hour is not scored
    assert result.patrol_time["minutes"].sum() == result.dosage["patrol_minutes"].sum()
    # the API's document gives the same rows for the period, and no unit: the log had one
    from hotspots.feedback.realised_io import realised_to_dict

    [model] = realised_to_dict(result)["models"]
    [period] = model["periods"]
    assert period["patrol_time"] == [
        {"place_kind": "area", "place": "2024-01-15/1", "tactic": "foot", "patrols": 2,
         "minutes": 120, "share": 0.8},
        {"place_kind": "cells", "place": None, "tactic": None, "patrols": 1, "minutes": 30,
         "share": 0.2},
    ]  # fmt: skip
    said = repr(realised_to_dict(result))
    assert "U7" not in said and "U8" not in said and "unit" not in repr(period)


def test_a_period_whose_events_have_not_arrived_is_pending() -> None:
    events = events_at(HAND_EVENTS)
    later = served(WEEK3 + pd.Timedelta(days=7), served_ranking([A]))
    result = realised_effectiveness(
        [served(WEEK3, served_ranking([A])), later],
        events,
        freq="W",
        baselines=("last_period",),
        coverages=(0.1,),
    )
    assert set(result.periods["as_of"]) == {WEEK3}
    assert result.pending["as_of"].tolist() == [later.as_of]
    assert "not all arrived" in result.pending["why"].iloc[0]


def flag_frame(served_pai: list[float], baseline_pai: list[float]) -> pd.DataFrame:
    as_of = pd.date_range("2024-01-01", periods=len(served_pai), freq="W-MON")
    rows = [
        {"as_of": t, "cutoff": "1%", "source": s, "pai": v}
        for t, a, b in zip(as_of, served_pai, baseline_pai, strict=True)
        for s, v in ((SERVED, a), ("kde", b))
    ]
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    ("served_pai", "baseline_pai", "run", "flagged"),
    [
        ([5, 1, 1, 1, 1], [2, 2, 2, 2, 2], 4, True),  # the last 4 below: flagged
        ([1, 1, 1, 5, 1], [2, 2, 2, 2, 2], 1, False),  # a win breaks the run
        ([1, 1, 1, np.nan, 1], [2, 2, 2, 2, 2], 4, True),  # a period without events skipped
        ([3, 3, 3, 3, 3], [2, 2, 2, 2, 2], 0, False),
    ],
)
def test_k_period_flag(
    served_pai: list[float], baseline_pai: list[float], run: int, flagged: bool
) -> None:
    flag = model_flag(flag_frame(served_pai, baseline_pai), "1%", k_periods=4)
    assert (flag["periods_below"], flag["flagged"]) == (run, flagged)


def test_the_flag_compares_with_one_baseline_not_the_best_of_each_period() -> None:
    # two baselines taking turns above the served model: the best of each period beat it in
    # all 4 and flagged it, though neither baseline is better than it
    as_of = pd.date_range("2024-01-01", periods=4, freq="W-MON")
    pais = {SERVED: [2, 2, 2, 2], "kde": [3, 1, 3, 1], "last_period": [1, 3, 1, 3.5]}
    frame = pd.DataFrame(
        [
            {"as_of": t, "cutoff": "1%", "source": source, "pai": float(v)}
            for source, values in pais.items()
            for t, v in zip(as_of, values, strict=True)
        ]
    )
    flag = model_flag(frame, "1%", k_periods=4)
    # last_period has the higher mean (2.125 against 2.0): below it in 2 of 4, the last 1
    assert (flag["best_baseline"], flag["best_baseline_pai"]) == ("last_period", 3.5)
    assert (flag["periods_below"], flag["flagged"]) == (1, False)


def oracle_and_reversed(events: pd.DataFrame, weeks: pd.DatetimeIndex) -> tuple[list, list]:
    """Per week, the ranking by that week's own counts (a hindsight oracle) and its reverse."""
    from hotspots.features import events_to_panel

    panel = events_to_panel(events, 8, "W")
    target = panel.of("Burglary Residential")
    good, bad = [], []
    for week in weeks:
        counts = target[panel.periods.get_loc(week)]
        order = np.lexsort((panel.cells, -counts))
        good.append(served_one(week, panel.cells[order], "good"))
        bad.append(served_one(week, panel.cells[order[::-1]], "bad"))
    return good, bad


def served_one(week: pd.Timestamp, ranked: np.ndarray, name: str) -> ServedForecast:
    return ServedForecast(
        name, "1", week, week + pd.Timedelta(days=7), week, ("Burglary Residential",), ranked
    )


def test_the_k_period_flag_on_the_synthetic_city(year_city_events: pd.DataFrame) -> None:
    weeks = pd.date_range("2023-11-06", periods=6, freq="W-MON")
    good, bad = oracle_and_reversed(year_city_events, weeks)
    result = realised_effectiveness(
        good + bad,
        year_city_events,
        freq="W",
        baselines=("historical_mean", "last_period"),
        coverages=(0.10,),  # at 1% (8 cells) a baseline may catch nothing either: a tie
        k_periods=4,
    )
    flags = result.flags.set_index("model")
    assert bool(flags.loc["bad", "flagged"]) and flags.loc["bad", "periods_below"] == 6
    assert not bool(flags.loc["good", "flagged"]) and flags.loc["good", "periods_below"] == 0
    served_pai = result.periods.query("source == @SERVED")
    assert (served_pai.loc[served_pai["model"] == "good", "pei"] == 1.0).all()


def test_the_served_plan_beside_each_baselines_plan() -> None:
    # one area of at most 0.8 km2 (one resolution-8 cell): the served plan grows on the
    # served expected counts (C 3, A 2, B 1, D 0.5) and takes C, which held 3 of week 3's 5
    # events; last_period's plan takes B (2 events in week 2), which held none
    from hotspots.grid import cells_area_km2
    from hotspots.grid.regions import PlanBudget

    events = events_at(HAND_EVENTS)
    one = served_with_counts()
    result = realised_effectiveness(
        [one], events, freq="W", baselines=("last_period",), coverages=(0.1,),
        plan_budget=PlanBudget(1, 0.8),
    )  # fmt: skip
    plans = result.plans.set_index("source")
    assert set(plans.index) == {SERVED, "last_period"}
    km2 = cells_area_km2(STUDY)
    share = km2[np.searchsorted(STUDY, C)] / km2.sum()
    got = plans.loc[SERVED]
    assert (got["model"], got["as_of"], got["areas"], got["n_events"]) == ("burglary", WEEK3, 1, 5)
    assert (got["plan_hits"], got["plan_hit_rate"]) == (3, pytest.approx(0.6))
    assert got["plan_pai"] == pytest.approx(0.6 / share)
    assert got["area_share"] == pytest.approx(share)
    assert plans.loc["last_period", "plan_hits"] == 0
    # a forecast served without its expected counts: the rankings are scored, no plan
    bare = served(WEEK3, one.ranked)
    without = realised_effectiveness(
        [bare], events, freq="W", baselines=("last_period",), coverages=(0.1,),
        plan_budget=PlanBudget(1, 0.8),
    )  # fmt: skip
    assert without.plans.empty and not without.periods.empty


def test_a_plan_rebuilt_at_a_default_too_large_for_the_study_area_is_fitted_as_served() -> None:
    # 25 areas of 0.8 km2 on 19 resolution-8 cells (~0.74 km2 each): the service would have
    # served the default fitted to them (19 areas of one cell each: the whole study area), so
    # that is the plan grown again: it holds all 5 of week 3's events, PAI 1
    from hotspots.grid.regions import PlanBudget

    result = realised_effectiveness(
        [served_with_counts()], events_at(HAND_EVENTS), freq="W", baselines=("last_period",),
        coverages=(0.1,), plan_budget=PlanBudget(25, 0.8),
    )  # fmt: skip
    got = result.plans.set_index("source").loc[SERVED]
    assert (got["plan"], got["budget_areas"], got["areas"]) == ("rebuilt", 19, 19)
    assert (got["plan_hits"], got["area_share"]) == (5, pytest.approx(1.0))
    assert got["plan_pai"] == pytest.approx(1.0) and got["max_area_km2"] < 0.8


def test_the_plan_served_is_scored_as_recorded_not_grown_again() -> None:
    # the same week as above; grown again, the plan would take C (3 of the 5 events), but
    # the plan recorded as served took A (1 event): the figures are A's
    from hotspots.grid import cells_area_km2
    from hotspots.grid.regions import PlanBudget

    events = events_at(HAND_EVENTS)
    one = served_with_counts()
    plan = stored_plan([A], stop="top-cells")
    result = realised_effectiveness(
        [one], events, freq="W", baselines=("last_period",), coverages=(0.1,),
        plan_budget=PlanBudget(1, 0.8), served_plans=[plan],
    )  # fmt: skip
    rows = result.plans.set_index("source")
    assert set(rows.index) == {SERVED, "last_period"}
    assert (rows["plan"] == "stored").all() and (rows["etag"] == plan.etag).all()
    assert (rows["stop"] == "top-cells").all() and (rows["budget_areas"] == 1).all()
    km2 = cells_area_km2(STUDY)
    share = km2[np.searchsorted(STUDY, A)] / km2.sum()
    got = rows.loc[SERVED]
    assert (got["plan_hits"], got["n_events"], got["areas"]) == (1, 5, 1)
    assert got["plan_pai"] == pytest.approx(0.2 / share)
    # the top cells of A's km2 on the served forecast: C (3 events), as much of it as fits
    km2_a, km2_c = (km2[np.searchsorted(STUDY, x)] for x in (A, C))
    assert got["top_hits"] == pytest.approx(3.0 * min(1.0, km2_a / km2_c))
    assert rows.loc["last_period", "plan_hits"] == 0  # B, grown with the same budget
    assert result.unscored_plans.empty
    # no record for the week (an older deployment): grown again, and labelled so
    rebuilt = realised_effectiveness(
        [one], events, freq="W", baselines=("last_period",), coverages=(0.1,),
        plan_budget=PlanBudget(1, 0.8),
    ).plans.set_index("source")  # fmt: skip
    assert (rebuilt["plan"] == "rebuilt").all() and rebuilt["etag"].isna().all()
    assert rebuilt.loc[SERVED, "plan_hits"] == 3 and (rebuilt["stop"] == "cap").all()
    # a record of another week leaves this one grown again, and is listed as not scored
    other = stored_plan([A], period="2024-01-22", tag="b")
    several = stored_plan([A, B], types=("burglary", "robbery"), tag="c")
    later = stored_plan([A], horizon=2, tag="d")
    mixed = realised_effectiveness(
        [one], events, freq="W", baselines=("last_period",), coverages=(0.1,),
        plan_budget=PlanBudget(1, 0.8), served_plans=[other, several, later],
    )  # fmt: skip
    assert (mixed.plans["plan"] == "rebuilt").all()
    why = mixed.unscored_plans.set_index("etag")["why"]
    assert why[other.etag] == "its period is not scored (see pending)"
    assert why[several.etag] == "no served forecast of 'robbery' is scored"
    # a plan 2 periods ahead for week 3, with no forecast served 2 periods ahead for it
    assert why[later.etag] == "no forecast made 2 periods ahead for its period is scored"


def test_two_plans_served_in_one_week_are_both_scored() -> None:
    from hotspots.feedback.realised_io import realised_to_dict

    events = events_at(HAND_EVENTS)
    one = served_with_counts()
    plans = [stored_plan([A], tag="a"), stored_plan([C], tag="e")]
    result = realised_effectiveness(
        [one], events, freq="W", baselines=("last_period",), coverages=(0.1,),
        served_plans=plans,
    )  # fmt: skip
    served_rows = result.plans.loc[result.plans["source"] == SERVED].set_index("etag")
    assert served_rows["plan_hits"].to_dict() == {plans[0].etag: 1, plans[1].etag: 3}
    doc = realised_to_dict(result)["models"][0]
    [evaluated] = doc["plans_evaluated"]
    means = evaluated.pop("served_mean"), evaluated.pop("baselines_mean")
    assert evaluated == {
        "horizon": 1, "plan": "stored", "areas": 1, "max_area_km2": 0.8, "total_km2": None,
        "stop": "cap", "plans": 2, "periods": 1,
    }  # fmt: skip
    # the mean over the two plans: A caught 1 of the 5 events, C 3; last_period's B none
    assert means[0]["plan_hit_rate"] == pytest.approx(0.4)
    assert means[1]["last_period"]["plan_hit_rate"] == 0.0
    [week] = doc["periods"]
    assert [(p["etag"], p["served"]["plan_hits"]) for p in week["plans"]] == [
        (plans[0].etag, 1), (plans[1].etag, 3)
    ]  # fmt: skip
    assert all(set(p["baselines"]) == {"last_period"} for p in week["plans"])


def test_a_plan_of_two_crime_types_is_scored_on_both_and_beside_the_baselines() -> None:
    # robbery: week 2 one at C, week 3 two at A; served robbery forecast A 1. The plan of one
    # cell weighs robbery 2: served scores C 3, A 2 + 2, B 1, D 0.5, and the plan served took
    # A, which held 1 burglary and 2 robberies of week 3's 7 events. last_period weighed
    # alike: B 2, C 1 + 2 -> C, which held 3.
    from hotspots.feedback.plans_combined import ModelFolds, realised_combined_plans
    from hotspots.grid import cells_area_km2
    from hotspots.grid.regions import PlanBudget

    robbery = events_at([(C, "2024-01-10 11:00"), (A, "2024-01-16 11:00"),
                         (A, "2024-01-18 11:00")])  # fmt: skip
    robbery["category"] = pd.Series(["Robbery"] * 3, dtype="string")
    events = pd.concat([events_at(HAND_EVENTS), robbery], ignore_index=True)
    ranked = served_ranking([A, B, C, D])
    expected = np.zeros(ranked.size)
    expected[0] = 1.0
    other = ServedForecast(
        "robbery", "v3", WEEK3, WEEK3 + pd.Timedelta(days=7), WEEK3, ("Robbery",), ranked, expected
    )
    plan = stored_plan([A], types=("burglary", "robbery"), tag="f")
    plan = dataclasses.replace(plan, weights={"robbery": 2.0})
    folds: dict[tuple[str, int], ModelFolds] = {}
    result = realised_effectiveness(
        [served_with_counts(), other], events, freq="W", baselines=("last_period",),
        coverages=(0.1,), served_plans=[plan], folds=folds, plan_budget=PlanBudget(1, 0.8),
    )  # fmt: skip
    assert set(folds) == {("burglary", 1), ("robbery", 1)}  # by model and horizon
    # the week's plan served was the combined one: no plan of one type is grown again
    assert result.plans.empty
    rows = realised_combined_plans([plan], folds, SERVED).set_index("source")
    assert set(rows.index) == {SERVED, "last_period"}
    assert (rows["model"] == "burglary+robbery").all() and (rows["etag"] == plan.etag).all()
    got = rows.loc[SERVED]
    assert (got["plan_hits"], got["n_events"], got["areas"]) == (3, 7, 1)
    km2 = cells_area_km2(STUDY)
    share = km2[np.searchsorted(STUDY, A)] / km2.sum()
    assert got["plan_pai"] == pytest.approx((3 / 7) / share)
    assert got["top_hits"] == pytest.approx(3.0)  # the top cell of the weighted forecast: A
    assert rows.loc["last_period", "plan_hits"] == 3  # C


def test_a_report_written_again_into_its_folder_leaves_none_of_the_last_runs_tables(
    tmp_path: Path,
) -> None:
    """A table this run does not write (no retraining given, no area layer) is not left
    from an earlier report in the same --out, where it would read as this run's; any other
    file in the folder is left alone."""
    nothing = realised_effectiveness([], empty_events(), freq="W", baselines=())
    retrained = pd.DataFrame({"model": ["m"], "version": ["v2"], "outcome": ["promoted"]})
    first = write_effectiveness_report(nothing, tmp_path, title="t", retraining=retrained)
    assert "retraining.csv" in first
    (tmp_path / "monitor_groups.csv").write_text("model,group\nm,A\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    again = write_effectiveness_report(nothing, tmp_path, title="t")
    assert "retraining.csv" not in again
    assert not (tmp_path / "retraining.csv").exists()
    assert not (tmp_path / "monitor_groups.csv").exists()
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*again, "notes.txt"])
