"""Patrol plans: greedy region growing, the area document (what, when, why) and its files."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import h3
import numpy as np
import pandas as pd
import pytest

from hotspots.errors import ConfigError
from hotspots.grid import cells_area_km2, cells_to_latlng, points_to_cells, strings_to_cells
from hotspots.publishing import (
    MAX_AREA_CELLS,
    AreaHistory,
    PlanBudget,
    build_plan,
    check_budget,
    combine_scores,
    grow_areas,
    history_reasons,
    is_contiguous,
    parse_weights,
    plan_to_bytes,
    top_cells_at_area,
    top_cells_sum_at_area,
    write_plan,
)

TZ = "America/Chicago"
AS_OF = pd.Timestamp("2024-03-04")  # a Monday
CENTRE = h3.latlng_to_cell(41.85, -87.65, 9)


def disk(cell: str, k: int) -> np.ndarray:
    return np.sort(np.array([h3.str_to_int(c) for c in h3.grid_disk(cell, k)], dtype=np.uint64))


def far_cells() -> tuple[str, str]:
    """Two cell centres 6 steps either side of CENTRE (their 1-disks do not touch)."""
    ring = sorted(h3.grid_ring(CENTRE, 6))
    a = ring[0]
    b = max(ring, key=lambda c: h3.grid_distance(a, c))
    return a, b


@pytest.fixture(scope="module")
def city() -> dict[str, np.ndarray]:
    """A study area of 331 cells: low background, two clusters of 7 cells (A hotter than B)."""
    cells = disk(CENTRE, 10)
    a, b = far_cells()
    rng = np.random.default_rng(3)
    score = rng.uniform(0.01, 0.05, cells.size)
    in_a, in_b = np.isin(cells, disk(a, 1)), np.isin(cells, disk(b, 1))
    score[in_a] = 2.0
    score[cells == h3.str_to_int(a)] = 4.0
    score[in_b] = 1.0
    return {"cells": cells, "score": score, "a": disk(a, 1), "b": disk(b, 1)}


def seven_cells_km2(*groups: np.ndarray) -> float:
    return max(float(cells_area_km2(g).sum()) for g in groups) * 1.001


def test_two_clear_clusters_become_the_two_areas(city: dict[str, np.ndarray]) -> None:
    cells, score = city["cells"], city["score"]
    km2 = cells_area_km2(cells)
    budget = PlanBudget(areas=2, max_area_km2=seven_cells_km2(city["a"], city["b"]))
    first, second = grow_areas(cells, score, km2, budget)
    assert np.array_equal(cells[first], city["a"])  # the hotter cluster first
    assert np.array_equal(cells[second], city["b"])
    top = top_cells_at_area(score, km2, float(km2[first].sum() + km2[second].sum()))
    assert score[np.concatenate([first, second])].sum() == pytest.approx(score[top].sum())


def test_window_seed_skips_a_lone_spike_for_a_cluster(city: dict[str, np.ndarray]) -> None:
    cells = city["cells"]
    score = np.full(cells.size, 0.01)
    score[np.isin(cells, city["a"])] = 3.0  # seven cells of 3: 21 in one area
    score[cells == h3.str_to_int(CENTRE)] = 5.0  # a lone spike, far from A
    km2 = cells_area_km2(cells)
    budget = PlanBudget(areas=1, max_area_km2=seven_cells_km2(city["a"]))
    [by_cell] = grow_areas(cells, score, km2, budget, seed="cell")
    [by_window] = grow_areas(cells, score, km2, budget, seed="window")
    assert score[by_cell].sum() == pytest.approx(5.0 + 6 * 0.01)
    assert np.array_equal(cells[by_window], city["a"])
    assert score[by_window].sum() == pytest.approx(21.0)
    with pytest.raises(ConfigError, match="seed 'best'"):
        grow_areas(cells, score, km2, budget, seed="best")


@pytest.mark.parametrize("seed", ["cell", "window", "area"])
def test_areas_are_contiguous_disjoint_and_within_the_limit(seed: str) -> None:
    cells = disk(CENTRE, 12)
    lat = np.array([h3.cell_to_latlng(h3.int_to_str(int(c)))[0] for c in cells])
    rng = np.random.default_rng(5)
    score = rng.gamma(0.5, 1.0, cells.size) * (1 + 5 * np.sin(lat * 400) ** 2)
    km2 = cells_area_km2(cells)
    budget = PlanBudget(areas=6, max_area_km2=1.0)
    areas = grow_areas(cells, score, km2, budget, seed)
    assert len(areas) == 6
    together = np.concatenate(areas)
    assert np.unique(together).size == together.size  # disjoint
    for members in areas:
        assert km2[members].sum() <= 1.0
        assert members.size == 9  # 0.105 km2 cells: nine fit under 1 km2, ten do not
        assert is_contiguous(cells[members])
        for c in cells[members]:  # every cell touches another of its area
            ring = {h3.str_to_int(n) for n in h3.grid_ring(h3.int_to_str(int(c)), 1)}
            assert ring & set(cells[members].tolist())
    if seed == "cell":  # the first area starts at the best cell of the city
        assert int(np.argmax(score)) in areas[0].tolist()


def test_the_largest_area_allowed_builds_and_a_larger_one_is_refused() -> None:
    """An area may hold at most MAX_AREA_CELLS cells (its limit: that many of the smallest
    cell): the largest limit allowed builds areas that respect it; past it, check_budget
    names the parameter, the value and the limit."""
    cells = disk(CENTRE, 14)  # 631 cells: room for three areas of 100
    rng = np.random.default_rng(8)
    score = rng.gamma(0.5, 1.0, cells.size)
    km2 = cells_area_km2(cells)
    largest = MAX_AREA_CELLS * float(km2.min())
    budget = PlanBudget(areas=3, max_area_km2=largest)
    check_budget(budget, km2, 9)
    areas = grow_areas(cells, score, km2, budget)
    assert len(areas) == 3
    for members in areas:
        assert members.size <= MAX_AREA_CELLS
        assert km2[members].sum() <= largest * (1 + 1e-9)
        assert is_contiguous(cells[members])
    assert max(m.size for m in areas) >= MAX_AREA_CELLS - 1  # the limit is reached, not shy of it
    for over, given in (
        (PlanBudget(3, largest * 1.001), "max_area_km2 "),
        (PlanBudget(3, 1e308), "max_area_km2 1e+308"),
        (PlanBudget(3, total_km2=1e308), "total_km2 1e+308 over 3 areas"),
    ):
        with pytest.raises(ConfigError) as err:
            check_budget(over, km2, 9)
        assert str(err.value).startswith(given)
        assert f"larger than a plan allows ({MAX_AREA_CELLS} cells, " in str(err.value)
        shown = float(re.search(r"cells, ([0-9.]+) km2 at H3 resolution 9", str(err.value))[1])
        assert largest * 0.999 < shown <= largest  # the limit, rounded down: asking it builds
        check_budget(PlanBudget(3, shown), km2, 9)
    # a total beyond what the areas can hold does not bind: the areas' own limit does (up to
    # the whole study area; a total past it is refused, tests/grid/test_budget.py)
    check_budget(PlanBudget(3, 1.0, total_km2=float(km2.sum())), km2, 9)


def test_total_km2_budget_caps_the_sum() -> None:
    cells = disk(CENTRE, 8)
    score = np.linspace(1, 2, cells.size)
    km2 = cells_area_km2(cells)
    areas = grow_areas(cells, score, km2, PlanBudget(areas=3, total_km2=1.5))
    assert len(areas) == 3
    assert sum(float(km2[m].sum()) for m in areas) <= 1.5
    assert all(float(km2[m].sum()) <= 0.5 for m in areas)  # total / areas each


def test_a_total_smaller_than_every_area_at_its_max_still_gives_every_area() -> None:
    cells = disk(CENTRE, 12)
    lat, _ = cells_to_latlng(cells)
    km2 = cells_area_km2(cells)
    budget = PlanBudget(areas=5, max_area_km2=2.0, total_km2=5.0)
    areas = grow_areas(cells, lat - lat.min(), km2, budget)  # risk rises to the north
    # without keeping a cell for each area to come, 18 + 18 + 11 cells would leave none
    assert [m.size for m in areas] == [18, 18, 9, 1, 1]
    assert sum(float(km2[m].sum()) for m in areas) <= 5.0


def test_a_weak_cell_is_taken_to_reach_a_strong_one_beyond_it() -> None:
    cells = disk(CENTRE, 6)
    ring = set(h3.grid_ring(CENTRE, 1))
    # a corner of the 2-ring: one cell only lies between it and the centre
    beyond = next(
        c for c in sorted(h3.grid_ring(CENTRE, 2)) if len(ring & set(h3.grid_ring(c, 1))) == 1
    )
    [bridge] = ring & set(h3.grid_ring(beyond, 1))
    score = np.full(cells.size, 0.01)
    at = {c: int(np.searchsorted(cells, h3.str_to_int(c))) for c in (CENTRE, bridge, beyond)}
    score[np.isin(cells, disk(CENTRE, 1))] = 1.0  # the centre's other neighbours: 1 each
    score[at[CENTRE]], score[at[bridge]], score[at[beyond]] = 5.0, 0.1, 4.0
    km2 = np.full(cells.size, 0.1)  # three cells fit an area of 0.3 km2
    for seed in ("cell", "window", "area"):
        [area] = grow_areas(cells, score, km2, PlanBudget(1, 0.3), seed)
        # best single steps would give 5 + 1 + 1 = 7; the bridge to the 4 gives 9.1
        assert area.tolist() == sorted(at.values()), seed
        assert score[area].sum() == pytest.approx(9.1)


def test_top_cells_stop_leaves_filler_cells_out() -> None:
    """Two lone spikes and two flat clusters: filling the cap takes the clusters (the most
    forecast); the top-cells stop takes the spikes alone (no cell below the budget's top cells)."""
    cells = disk(CENTRE, 10)
    a, b = far_cells()
    away = [  # more than 7 steps (an area's reach) from both clusters
        c for c in sorted(h3.grid_disk(CENTRE, 9))
        if min(h3.grid_distance(c, a), h3.grid_distance(c, b)) > 8
    ]  # fmt: skip
    first = away[0]
    second = next(c for c in away if h3.grid_distance(c, first) > 8)
    spikes = [h3.str_to_int(first), h3.str_to_int(second)]
    score = np.full(cells.size, 0.01)
    score[np.isin(cells, disk(a, 1)) | np.isin(cells, disk(b, 1))] = 1.0
    score[np.isin(cells, spikes)] = [5.0, 4.0] if spikes[0] < spikes[1] else [4.0, 5.0]
    km2 = np.full(cells.size, 0.1)
    budget = PlanBudget(2, 0.7)  # seven cells an area: 14 top cells, the least of them 1.0
    filled = grow_areas(cells, score, km2, budget)
    assert sorted(score[m].sum() for m in filled) == [7.0, 7.0]
    compact = grow_areas(cells, score, km2, budget, stop="top-cells")
    assert sorted(cells[np.concatenate(compact)].tolist()) == sorted(spikes)
    # at equal area the compact plan holds all the top cells do; the filled one two thirds
    assert top_cells_sum_at_area(score, score, km2, 0.2) == pytest.approx(9.0)
    assert top_cells_sum_at_area(score, score, km2, 1.4) == pytest.approx(21.0)
    with pytest.raises(ConfigError, match="stop 'full'"):
        grow_areas(cells, score, km2, budget, stop="full")


def test_top_cells_sum_covers_exactly_the_km2() -> None:
    score = np.array([3.0, 2.0, 1.0, 0.5])
    km2 = np.array([1.0, 1.0, 2.0, 1.0])
    values = np.array([10.0, 20.0, 40.0, 80.0])
    assert top_cells_sum_at_area(score, score, km2, 2.0) == pytest.approx(5.0)
    assert top_cells_sum_at_area(score, score, km2, 2.5) == pytest.approx(5.25)  # a quarter of 1.0
    assert top_cells_sum_at_area(values, score, km2, 2.5) == pytest.approx(40.0)
    assert top_cells_sum_at_area(values, score, km2, 0.5) == pytest.approx(5.0)
    assert top_cells_sum_at_area(score, score, km2, 99.0) == pytest.approx(6.5)


def test_is_contiguous_rejects_two_islands() -> None:
    a, b = far_cells()
    assert is_contiguous(disk(a, 1))
    assert not is_contiguous(np.concatenate([disk(a, 1), disk(b, 1)]))


def test_combine_scores_weights_types() -> None:
    got = combine_scores({"x": np.array([1.0, 0.0]), "y": np.array([0.0, 2.0])}, {"y": 3.0})
    assert got.tolist() == [1.0, 6.0]
    with pytest.raises(ConfigError, match="weights for \\['z'\\]"):
        combine_scores({"x": np.ones(2)}, {"z": 1.0})


def test_weights_name_each_type_once_and_leave_one_above_zero() -> None:
    types = ["burglary", "robbery"]
    assert parse_weights("robbery=3", types) == {"robbery": 3.0}
    assert parse_weights("burglary=0", types) == {"burglary": 0.0}  # robbery still counts
    with pytest.raises(ConfigError, match="'robbery' is given twice"):
        parse_weights("robbery=3,robbery=1", types)  # was {"robbery": 1.0}, the last
    with pytest.raises(ConfigError, match="every crime type of the plan weighs 0"):
        parse_weights("burglary=0,robbery=0", types)  # was a plan of 6 areas holding 0%
    with pytest.raises(ConfigError, match="weighs 0"):
        parse_weights("robbery=0", ["robbery"])


def test_weights_name_a_type_by_a_category_it_alone_counts_as_category_does() -> None:
    """As ``category=`` takes a category, so does ``weights=``: until 2026-12-07
    ``weights=Robbery=3`` was refused as 'not a crime type of this plan'."""
    types = ["burglary", "robbery", "street"]
    targets = {"burglary": ("Burglary",), "robbery": ("Robbery",), "street": ("Robbery", "Theft")}
    got = parse_weights("Burglary=2,Theft=0.5", types, targets=targets)
    assert got == {"burglary": 2.0, "street": 0.5}
    with pytest.raises(
        ConfigError, match=r"'Robbery', a category \['robbery', 'street'\] all count"
    ):
        parse_weights("Robbery=3", types, targets=targets)  # two types count it: which one?
    with pytest.raises(ConfigError, match=r"'burglary' \(as 'Burglary'\) is given twice"):
        parse_weights("burglary=1,Burglary=2", types, targets=targets)
    with pytest.raises(ConfigError, match="'Arson', which is not a --model"):
        parse_weights("Arson=1", types, targets=targets)
    with pytest.raises(ConfigError, match="'Burglary', which is not a --model"):
        parse_weights("Burglary=1", types)  # without targets, names only


def forecast_frame(cells: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "as_of": AS_OF,
            "period_start": AS_OF,
            "cell": cells,
            "expected_count": values,
            "rank": np.arange(1, cells.size + 1),
        }
    )


def events_at(cells: np.ndarray, times: list[str], category: str, precision: str) -> pd.DataFrame:
    """One event per time, at the centre of the cell cycling through ``cells``."""
    where = [
        h3.cell_to_latlng(h3.int_to_str(int(cells[i % cells.size]))) for i in range(len(times))
    ]
    return pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(len(times))],
            "occurred_at": pd.to_datetime(times).tz_localize(TZ),
            "time_precision": precision,
            "lat": [p[0] for p in where],
            "lng": [p[1] for p in where],
            "category": category,
            "origin": None,
            "source_row": np.arange(1, len(times) + 1),
        }
    )


def history(city: dict[str, np.ndarray]) -> pd.DataFrame:
    """Cluster A: Friday 22:xx burglaries every week for a year, plus a rise in the last
    4 weeks; cluster B: Monday 08:xx robberies until December; one event after as_of (not read)."""
    fridays = pd.date_range("2023-03-03 22:15", "2024-03-01 22:15", freq="7D")
    extra = pd.date_range("2024-02-06 13:05", "2024-03-02 13:05", freq="2D")
    a = events_at(city["a"], [str(t) for t in [*fridays, *fridays, *extra]], "burglary", "minute")
    mondays = pd.date_range("2023-06-05 08:30", periods=14, freq="14D")  # to 2023-12-04
    b = events_at(city["b"], [str(t) for t in mondays], "robbery", "minute")
    late = events_at(city["a"], ["2024-03-05 03:00"] * 50, "burglary", "minute")
    return pd.concat([a, b, late], ignore_index=True)


def plan_for(city: dict[str, np.ndarray], events: pd.DataFrame) -> dict:
    cells, score = city["cells"], city["score"]
    burglary = np.where(np.isin(cells, city["a"]), score, score / 2)
    robbery = score - burglary
    return build_plan(
        {"burglary": forecast_frame(cells, burglary), "robbery": forecast_frame(cells, robbery)},
        cells,
        9,
        events,
        as_of=AS_OF,
        freq="W",
        budget=PlanBudget(areas=2, max_area_km2=seven_cells_km2(city["a"], city["b"])),
        weights={"robbery": 2.0},
        categories={"burglary": ("burglary",), "robbery": ("robbery",)},
    )


def test_plan_document_where_what_when_why(city: dict[str, np.ndarray]) -> None:
    plan = plan_for(city, history(city))
    first, second = plan["areas"]
    assert [first["rank"], second["rank"]] == [1, 2]
    assert np.array_equal(np.sort(strings_to_cells(first["cells"])), city["a"])
    assert np.array_equal(np.sort(strings_to_cells(second["cells"])), city["b"])
    for area in plan["areas"]:  # per-type counts add up to the area's count
        assert sum(area["expected_by_type"].values()) == pytest.approx(
            area["expected_count"], abs=1e-3
        )
        low, high = area["interval"]["low"], area["interval"]["high"]
        assert low <= area["expected_count"] <= high and area["interval"]["level"] == 0.8
        assert area["boundary"]["type"] == "Polygon"
    assert first["expected_count"] == pytest.approx(2.0 * 6 + 4.0, abs=1e-3)
    assert first["expected_by_type"]["robbery"] == pytest.approx(0.0, abs=1e-6)
    # when: Friday 22:00 carries 106 of the 119 events before as_of (13 extras at 13:05)
    hours = first["when"]["top_hours"]
    assert hours[0]["label"] == "Fri 22:00-23:00"
    assert hours[0]["share"] == pytest.approx(106 / 119, abs=1e-3)
    assert hours[0]["lift"] == pytest.approx(168 * 106 / 119, abs=0.01)
    assert hours[0]["events"] == 106  # one type, weight 1: the share's own count
    assert first["when"]["events_with_time"] == 119
    # of the day: 22:00 (106), then 13:00 (all 13 extras, whatever their weekday)
    of_day = first["when"]["top_hours_of_day"]
    assert [h["label"] for h in of_day] == ["22:00-23:00", "13:00-14:00"]
    assert of_day[1]["share"] == pytest.approx(13 / 119, abs=1e-3)
    assert [h["events"] for h in of_day] == [106, 13]
    assert second["when"]["top_hours"][0]["label"] == "Mon 08:00-09:00"
    assert second["when"]["top_hours"][0]["share"] == 1.0
    # why: A is a long-run hotspot with a recent rise; B only a long-run hotspot
    assert first["reasons"][0].startswith("long-run hotspot")
    assert any(r.startswith("recent rise") for r in first["reasons"])
    assert not any(r.startswith("recent rise") for r in second["reasons"])
    # the plan holds exactly what the top 14 cells hold (the clusters are the top cells)
    summary = plan["summary"]
    assert summary["share_of_forecast"] == pytest.approx(summary["top_cells_share_same_area"])
    assert plan["types"]["robbery"] == {"weight": 2.0, "categories": ["robbery"]}


def histories(found: Any, events: pd.DataFrame, freq: str) -> list[Any]:
    """One area's histories from the start the training panels use."""
    from hotspots.jobs.data import whole_periods_start
    from hotspots.publishing.plan_context import area_histories

    start = whole_periods_start(events, freq)
    return area_histories(
        found, 1, AS_OF, freq, np.array([0.7]), 70.0, np.array([7.0]), start=start
    )


def test_a_history_counts_whole_periods_only(city: dict[str, np.ndarray]) -> None:
    from hotspots.publishing.plan_context import events_in_areas

    # one burglary a day in cluster A from Friday 2022-03-04 to Sunday 2024-03-03: 104 whole
    # weeks (from Monday 2022-03-07) and 3 days, which counted as a 105th week of 3 events
    days = pd.date_range("2022-03-04 10:00", "2024-03-03 10:00", freq="D")
    events = events_at(city["a"], [str(t) for t in days], "burglary", "minute")
    assert len(days) == 104 * 7 + 3
    cells = city["cells"]
    cell_area = np.where(np.isin(cells, city["a"]), 0, -1)
    found = events_in_areas(events, cells, 9, cell_area, AS_OF, None)
    (got,) = histories(found, events, "W")
    assert got.counts.tolist() == [7.0] * 104
    assert got.city_rate == pytest.approx(104 * 7 / 104 / 70.0)
    # from a Monday, the first week is whole and counts
    monday = events_at(city["a"], [str(t) for t in days[3:]], "burglary", "minute")
    found = events_in_areas(monday, cells, 9, cell_area, AS_OF, None)
    (got,) = histories(found, monday, "W")
    assert got.counts.size == 104 and got.counts.sum() == 728
    # months: from 4 March 2022 the first whole month is April, 23 of them to March 2024
    (got,) = histories(found, monday, "M")
    assert got.counts.size == 23 and got.counts[0] == 30 and got.counts[-1] == 29
    # the plan's reason says so
    plan = plan_for(city, events)
    assert plan["areas"][0]["reasons"][0].endswith("over 104 weeks")


def test_a_stray_early_event_does_not_lengthen_a_history(city: dict[str, np.ndarray]) -> None:
    from hotspots.publishing.plan_context import events_in_areas

    # 52 whole weeks (from Monday 2023-03-06): 6 a week for 48 weeks, then 14 a week for the
    # last 4, a recent rise; about 26 a month, so a month of one event is no dense month
    quiet = pd.date_range("2023-03-06 10:00", periods=48 * 6, freq="28h")
    busy = pd.date_range("2024-02-05 10:00", periods=4 * 14, freq="12h")
    assert quiet[-1] < busy[0] and busy[-1] < AS_OF
    times = [str(t) for t in (*quiet, *busy)]
    events = events_at(city["a"], times, "burglary", "minute")
    # one stray event ten months before the bulk (ingest keeps those up to a year before)
    stray = events_at(city["a"], ["2022-05-02 10:00"], "burglary", "minute")
    with_stray = pd.concat([stray, events], ignore_index=True)
    cells = city["cells"]
    cell_area = np.where(np.isin(cells, city["a"]), 0, -1)
    got = {}
    for name, frame in (("clean", events), ("stray", with_stray)):
        found = events_in_areas(frame, cells, 9, cell_area, AS_OF, None)
        (got[name],) = histories(found, frame, "W")
    assert got["clean"].counts.size == got["stray"].counts.size == 52
    assert got["stray"].counts.tolist() == got["clean"].counts.tolist()
    assert got["clean"].counts.sum() == 48 * 6 + 4 * 14
    assert history_reasons(got["stray"]) == history_reasons(got["clean"])
    assert "recent rise: 14.0 a week in the last 4 weeks against 6.6 long-run" in (
        history_reasons(got["stray"])
    )
    # the plan's reasons alike: the long run is the 52 weeks, not 96 with 44 empty
    reasons = [plan_for(city, f)["areas"][0]["reasons"] for f in (events, with_stray)]
    assert reasons[0] == reasons[1]
    assert any(r.endswith("over 52 weeks") for r in reasons[1])


def test_an_hour_is_named_only_when_chance_would_rarely_make_it_that_busy() -> None:
    from hotspots.publishing.plan_context import standing_out

    week = np.zeros(168, dtype=np.int64)
    week[:8] = 1  # 8 events in 8 hours: each "21x" an average hour's, by chance alone
    assert not standing_out(week, 8).any()
    # 3 of 8 in one hour: 168 x P(X >= 3 | 8, 1/168) = 168 x 1.15e-5 = 0.0019
    week[:8] = [3, 1, 1, 1, 1, 1, 0, 0]
    assert standing_out(week, 8).tolist() == [True] + [False] * 167
    # hours of the day, 242 events (about 10 an hour): 20 in one hour has a chance of
    # 24 x P(X >= 20 | 242, 1/24) = 0.074 (not named), 22 of 0.014 (named)
    day = np.full(24, 10, dtype=np.int64)
    day[0], day[1] = 20, 22
    day[2:4] = [0, 0]
    assert standing_out(day, int(day.sum())).tolist() == [False, True] + [False] * 22


def test_precomputed_event_cells_give_the_same_plan(city: dict[str, np.ndarray]) -> None:
    events = history(city)
    given = points_to_cells(events["lat"].to_numpy(), events["lng"].to_numpy(), 9)
    cells, score = city["cells"], city["score"]
    kwargs = {
        "as_of": AS_OF,
        "freq": "W",
        "budget": PlanBudget(areas=3, max_area_km2=1.0),
    }
    forecasts = {"all": forecast_frame(cells, score)}
    plain = build_plan(forecasts, cells, 9, events, **kwargs)  # type: ignore[arg-type]
    fast = build_plan(forecasts, cells, 9, events, event_cells=given, **kwargs)  # type: ignore[arg-type]
    assert fast == plain and len(plain["areas"]) == 3
    with pytest.raises(ValueError, match=f"2 event cells for {len(events)} events"):
        build_plan(forecasts, cells, 9, events, event_cells=given[:2], **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["json", "geojson"])
def test_written_file_is_the_bytes_a_service_would_serve(
    city: dict[str, np.ndarray], tmp_path: Path, fmt: str
) -> None:
    plan = plan_for(city, history(city))
    out = tmp_path / f"plan.{fmt}"
    write_plan(plan, out)
    assert out.read_bytes() == plan_to_bytes(plan, fmt)
    doc = json.loads(out.read_bytes())
    if fmt == "json":
        assert doc == plan
    else:
        assert [f["properties"]["rank"] for f in doc["features"]] == [1, 2]
        assert doc["features"][0]["geometry"] == plan["areas"][0]["boundary"]
        assert doc["plan"]["summary"] == plan["summary"]


def test_month_only_history_gives_unknown_hours(city: dict[str, np.ndarray]) -> None:
    months = [str(t) for t in pd.date_range("2023-01-01", "2024-02-01", freq="MS")] * 3
    events = pd.concat(
        [
            events_at(city["a"], months, "burglary", "month"),
            events_at(city["b"], months, "robbery", "month"),
        ],
        ignore_index=True,
    )
    plan = plan_for(city, events)
    assert [a["when"] for a in plan["areas"]] == ["unknown", "unknown"]
    assert plan["areas"][0]["reasons"][0].startswith("long-run hotspot")


def test_reasons_from_history_values() -> None:
    flat = AreaHistory(np.full(52, 2.0), 1.0, 0.1, 2.5, "W")
    assert history_reasons(flat) == [
        "long-run hotspot: 20.0x the city's rate per km2 over 52 weeks"
    ]
    rise = AreaHistory(np.r_[np.full(48, 0.05), [3.0, 3.0, 4.0, 6.0]], 1.0, 1.0, 4.0, "W")
    got = history_reasons(rise)
    assert got[0].startswith("near repeats: 6 events in the last week")
    assert "recent rise: 4.0 a week in the last 4 weeks" in got[1]
    quiet = AreaHistory(np.zeros(10), 1.0, 1.0, 0.3, "M")
    assert history_reasons(quiet) == ["forecast: 0.3 expected next month"]


def test_reasons_need_counts_beyond_chance() -> None:
    from hotspots.publishing.plan_context import beyond_chance

    # Vancouver, two neighbourhoods' break-ins: 6 in the last 4 weeks against 0.8 a week
    # long-run read "recent rise" (a Poisson count of mean 3.2 reaches 6 with chance 0.11)
    thin = np.r_[np.tile([1.0, 1.0, 0.0, 1.0, 1.0], 7), np.zeros(12), [2.0, 1.0, 2.0, 1.0]]
    assert thin.size == 51 and thin.sum() == 34 and thin[-4:].sum() == 6
    history = AreaHistory(thin, 1.0, 0.5, 0.8, "W")
    assert history_reasons(history) == ["forecast: 0.8 expected next week"]
    # ... while 9 in those 4 weeks is beyond chance (0.009)
    busier = AreaHistory(np.r_[thin[:-4], [2.0, 3.0, 2.0, 2.0]], 1.0, 0.5, 0.8, "W")
    assert history_reasons(busier) == [
        "recent rise: 2.2 a week in the last 4 weeks against 0.7 long-run"
    ]
    # 3 events in the last week against 1 a week: "near repeats" (chance 0.08) no longer
    steady = AreaHistory(np.r_[np.ones(51), [3.0]], 10.0, 1.0, 1.0, "W")
    assert history_reasons(steady) == ["forecast: 1.0 expected next week"]
    # 4 events in a year on 0.27 km2 is 2.7x the city's rate, but 1.5 are expected there
    # (and one of them in the last 4 weeks was a "recent rise" of 3.2x)
    sparse = np.zeros(52)
    sparse[[5, 20, 35, 49]] = 1.0
    small = AreaHistory(sparse, 0.27, 1.5 / 0.27 / 52, 0.1, "W")
    assert history_reasons(small) == ["forecast: 0.1 expected next week"]
    assert beyond_chance(6, 3.2) is False and beyond_chance(9, 3.2) is True
    # a month's count cannot show near repeats (police.uk, Greater Manchester: "near
    # repeats: 16 events in the last month" in a 0.94 km2 area)
    month = AreaHistory(np.r_[np.full(35, 5.0), [16.0]], 0.94, 5.0, 16.0, "M")
    got = history_reasons(month)
    assert got[0] == "busy last month: 16 events against 5.3 long-run"
    assert not any(r.startswith("near repeats") for r in got)


@pytest.mark.parametrize(
    ("budget", "message"),
    [
        (PlanBudget(areas=2, max_area_km2=0.05), "smaller than one cell"),
        (PlanBudget(areas=400, max_area_km2=1.0), "more areas than the model's 331 cells"),
        (PlanBudget(areas=0, max_area_km2=1.0), "at least one area"),
        (PlanBudget(areas=5, max_area_km2=1.0, total_km2=0.2), "cannot hold 5 areas"),
    ],
)
def test_impossible_budgets_are_refused(
    city: dict[str, np.ndarray], budget: PlanBudget, message: str
) -> None:
    cells = city["cells"]
    with pytest.raises(ConfigError, match=message):
        build_plan(
            {"all": forecast_frame(cells, city["score"])},
            cells,
            9,
            history(city),
            as_of=AS_OF,
            freq="W",
            budget=budget,
        )


def test_shared_categories_names_the_types_that_count_the_same_crimes() -> None:
    from hotspots.publishing.plan_document import shared_categories

    targets = {"a": ("x", "y"), "b": ("y", "z"), "c": ("w",), "all": None}
    assert shared_categories(targets) == [
        ("a", "all", None),  # a model of every category overlaps each other type
        ("a", "b", ("y",)),
        ("all", "b", None),
        ("all", "c", None),
    ]
    assert shared_categories({"a": ("x",), "c": ("w",)}) == []
