"""Shift blocks in a patrol plan: the blocks of the week and of the day that stand out, with
the start hours given (a block past midnight on the day it starts), and their validation."""

from __future__ import annotations

from pathlib import Path

import h3
import numpy as np
import pandas as pd
import pytest

from hotspots.errors import ConfigError
from hotspots.grid import cells_area_km2
from hotspots.ingest import ColumnMap, IngestOptions, ingest_file
from hotspots.publishing import PlanBook, PlanBudget, PlanInput, build_plan
from hotspots.publishing.plan_shifts import Blocks, parse_shifts

TZ = "America/Chicago"
AS_OF = pd.Timestamp("2024-03-04")  # a Monday
MONDAY = pd.Timestamp("2023-01-02")  # the first week of the history
CENTRE = h3.latlng_to_cell(41.85, -87.65, 9)
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def disk(cell: str, k: int) -> np.ndarray:
    return np.sort(np.array([h3.str_to_int(c) for c in h3.grid_disk(cell, k)], dtype=np.uint64))


@pytest.fixture(scope="module")
def city() -> dict[str, np.ndarray]:
    """169 cells: a background and two clusters of 7 cells, A (hotter, rank 1) and B."""
    cells = disk(CENTRE, 7)
    ring = sorted(h3.grid_ring(CENTRE, 4))
    a, b = ring[0], max(ring, key=lambda c: h3.grid_distance(ring[0], c))
    score = np.full(cells.size, 0.01)
    score[np.isin(cells, disk(a, 1))] = 2.0
    score[np.isin(cells, disk(b, 1))] = 1.0
    centre = {k: np.array([h3.str_to_int(c)], np.uint64) for k, c in (("a", a), ("b", b))}
    return {"cells": cells, "score": score, "km2": _km2(disk(a, 1), disk(b, 1)), **centre}


def _km2(*groups: np.ndarray) -> np.ndarray:
    return np.array(max(float(cells_area_km2(g).sum()) for g in groups) * 1.001)


def at(cell: np.ndarray, times: list[pd.Timestamp]) -> pd.DataFrame:
    """One assault per time, at the centre of ``cell``, with minute precision."""
    lat, lng = h3.cell_to_latlng(h3.int_to_str(int(cell[0])))
    return pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(len(times))],
            "occurred_at": pd.DatetimeIndex(times).tz_localize(TZ),
            "time_precision": "minute",
            "lat": lat,
            "lng": lng,
            "category": "assault",
            "origin": None,
            "source_row": np.arange(1, len(times) + 1),
        }
    )


def when(week: int, day: int, hour: int, minute: int = 10) -> pd.Timestamp:
    return MONDAY + pd.Timedelta(days=7 * week + day, hours=hour, minutes=minute)


def every_block(starts: tuple[int, ...], per_block: int, offset: int = 1) -> list[pd.Timestamp]:
    """``per_block`` events in each block of the week, ``offset`` hours after its start."""
    return [when(w, d, h + offset) for w in range(per_block) for d in range(7) for h in starts]


def plan(city: dict[str, np.ndarray], events: pd.DataFrame, shifts: str) -> dict:
    frame = pd.DataFrame({"as_of": AS_OF, "period_start": AS_OF, "cell": city["cells"],
                          "expected_count": city["score"]})  # fmt: skip
    return build_plan({"all": frame}, city["cells"], 9, events, as_of=AS_OF, freq="W",
                      budget=PlanBudget(2, float(city["km2"])), shifts=shifts)  # fmt: skip


def test_a_block_that_stands_out_is_named_with_its_lift_and_events_and_an_even_one_is_not(
    city: dict[str, np.ndarray],
) -> None:
    quarters = (0, 6, 12, 18)
    # A: 2 events in each of the 28 blocks of the week, and 60 more on Thursdays 18-24
    thursdays = [when(1 + i, 3, 18 + i % 6) for i in range(60)]
    # B: the same even spread, and 3 more on Saturdays 06-12: its busiest block (5 of 59
    # events, 2.37x an even spread's) is what chance gives the busiest of 28 blocks
    saturdays = [when(1 + i, 5, 7) for i in range(3)]
    events = pd.concat(
        [
            at(city["a"], every_block(quarters, 2) + thursdays),
            at(city["b"], every_block(quarters, 2) + saturdays),
        ],
        ignore_index=True,
    )
    doc = plan(city, events, "0,6,12,18")
    assert doc["shifts"] == [0, 6, 12, 18]
    first, second = (area["when"] for area in doc["areas"])
    assert first["events_with_time"] == 116
    assert first["top_blocks"] == [
        {"day": "Thu", "start": 18, "end": 0, "hours": 6, "label": "Thu 18:00-00:00",
         "share": round(62 / 116, 4), "lift": round(62 / 116 * 28, 2), "events": 62},
    ]  # fmt: skip
    assert first["top_blocks"][0]["lift"] == 14.97
    # all days together: 18-24 holds 62 + 6 x 2 = 74 of 116, 2.55x a quarter of the day
    assert first["top_blocks_of_day"] == [
        {"start": 18, "end": 0, "hours": 6, "label": "18:00-00:00",
         "share": round(74 / 116, 4), "lift": 2.55, "events": 74},
    ]  # fmt: skip
    # B: 28 x P(X >= 5 | 59, 1/28) and 4 x P(X >= 17 | 59, 1/4) are far over 5%
    assert second["events_with_time"] == 59
    assert second["top_blocks"] == [] and second["top_blocks_of_day"] == []
    # the hours stay beside the blocks, as they were
    assert {"top_hours", "top_hours_of_day"} <= set(first)


def test_a_block_past_midnight_belongs_to_the_day_it_starts(city: dict[str, np.ndarray]) -> None:
    shifts = (7, 15, 23)
    # one event at each block's start in a week; then 20 on Mondays at 23:30 and 20 on
    # Tuesdays at 02:00 (the same night shift, which starts on Monday), and one on a Monday
    # at 06:00 (the night shift that started on Sunday)
    night = [when(1 + i, 0, 23, 30) for i in range(20)] + [when(1 + i, 1, 2) for i in range(20)]
    events = at(city["a"], [*every_block(shifts, 1, offset=0), *night, when(30, 0, 6)])
    doc = plan(city, events, "23,7,15")  # any order: the blocks are the same
    assert doc["shifts"] == [7, 15, 23]
    found = doc["areas"][0]["when"]
    assert found["events_with_time"] == 62
    [monday] = found["top_blocks"]  # 41 of 62 (Sun's night shift holds 2: not named)
    assert monday == {
        "day": "Mon", "start": 23, "end": 7, "hours": 8, "label": "Mon 23:00-07:00",
        "share": round(41 / 62, 4), "lift": round(41 / 62 / (8 / 168), 2), "events": 41,
    }  # fmt: skip
    assert monday["lift"] == 13.89
    # of the day: 41 + Sun's 2 + 5 other nights' 1 = 48 of 62, over 8/24 of the day
    [night_shift] = found["top_blocks_of_day"]
    assert night_shift["label"] == "23:00-07:00" and night_shift["events"] == 48
    assert night_shift["lift"] == round(48 / 62 * 3, 2) == 2.32


def test_each_hour_of_the_week_falls_in_one_block_of_the_day_it_starts() -> None:
    blocks = Blocks((7, 15, 23))
    matrix = blocks.week_matrix()
    assert matrix.shape == (168, 21) and (matrix.sum(axis=1) == 1).all()
    slot = matrix.argmax(axis=1)  # day x 3 + block
    assert slot[24 + 2] == 0 * 3 + 2  # Tue 02:00: Mon 23-07
    assert slot[0 + 6] == 6 * 3 + 2  # Mon 06:00: Sun 23-07
    assert slot[0 + 7] == 0 and slot[0 + 23] == 2  # Mon 07:00, Mon 23:00
    assert slot[6 * 24 + 23] == 6 * 3 + 2  # Sun 23:00: Sun 23-07
    assert (matrix.sum(axis=0) == 8).all()  # every block of the week holds 8 hours
    assert Blocks((0, 8, 20)).hours.tolist() == [8, 12, 4]
    assert [Blocks((0, 8, 20)).label(b) for b in range(3)] == [
        "00:00-08:00", "08:00-20:00", "20:00-00:00",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("7,15,25", "25 is not an hour of the day (0-23)"),
        ("7,15,99999", "99999 is not an hour of the day (0-23)"),
        ("7,7,15", "an hour is given twice"),
        ("12", "at least two blocks are needed"),
        ("7;15;23", "not hours 0-23 separated by commas"),
        ("-1,6", "not hours 0-23 separated by commas"),
        ("", "not hours 0-23 separated by commas"),
        ("6,12,", "not hours 0-23 separated by commas"),
        ("6.5,12", "not hours 0-23 separated by commas"),
    ],
)
def test_a_bad_value_is_one_error_naming_the_setting_and_the_value(value: str, why: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_shifts(value)
    message = str(err.value)
    assert message.startswith(f"HOTSPOTS_PLAN_SHIFTS {value!r}: {why}")
    assert "e.g. 0,6,12,18 or 7,15,23" in message
    with pytest.raises(ConfigError, match=r"^--shifts "):
        parse_shifts(value, "--shifts")


@pytest.mark.parametrize("name", ["HOTSPOTS_PLAN_SHIFTS", "--shifts", "shifts"])
def test_a_long_bad_value_is_cut_in_the_message(name: str) -> None:
    """A value of thousands of characters (past int()'s 4,300 digits) is named by its first
    40 characters and its length, not repeated whole (the API echoes its 422 detail)."""
    value = "9" * 5000 + ",6"
    with pytest.raises(ConfigError) as err:
        parse_shifts(value, name)
    message = str(err.value)
    assert message == (
        f"{name} {'9' * 40!r}... (5002 characters): "
        f"{'9' * 40}... (5000 characters) is not an hour of the day (0-23); "
        "give the hours the blocks of the day start at, e.g. 0,6,12,18 or 7,15,23"
    )
    long_text = ",".join(["x"] * 30)  # 59 characters, none an hour
    with pytest.raises(ConfigError) as err:
        parse_shifts(long_text, name)
    assert str(err.value).startswith(f"{name} {long_text[:40]!r}... (59 characters): not hours")


def test_start_hours_are_read_with_spaces_and_in_any_order() -> None:
    assert parse_shifts(" 18, 0,6 ,12") == (0, 6, 12, 18)
    assert parse_shifts("23,7,15") == (7, 15, 23)
    assert parse_shifts(list(range(24))) == tuple(range(24))


def test_the_plan_book_takes_the_setting_and_a_query_its_own_blocks(
    city: dict[str, np.ndarray],
) -> None:
    class Model:
        cells_, target_, freq_, resolution_ = city["cells"], ("assault",), "W", 9

    forecast = [(AS_OF, city["cells"], city["score"])]
    events = at(city["a"], every_block((0, 6, 12, 18), 2))
    inputs = {"all": PlanInput.of(Model(), AS_OF, forecast)}
    budget = PlanBudget(2, float(city["km2"]))
    with pytest.raises(ConfigError, match=r"^HOTSPOTS_PLAN_SHIFTS '7,7': an hour"):
        PlanBook(inputs, events, default=budget, pack=bytes, shifts="7,7")
    book = PlanBook(inputs, events, default=budget, pack=bytes, shifts="7,15,23")
    assert book.query().shifts == (7, 15, 23)
    assert book.query(shifts="0,12").shifts == (0, 12)
    assert book.document(book.query(shifts="12,0"))["shifts"] == [0, 12]
    with pytest.raises(ConfigError, match=r"^shifts '0,24': 24 is not an hour"):
        book.query(shifts="0,24")


def test_an_hour_or_block_standing_out_by_count_is_not_named_below_an_even_weighted_share() -> None:
    """30 burglaries (weight 1) on Fridays 22:00 stand out by count among 334 assaults
    (weight 100) two in every other hour; as weighted, Fri 22:00 holds 30 of 33,430, under an
    even spread's 1/168 (0.15x), and so do its blocks: none is named. Weighted as counted
    (every weight 1), the same hour and blocks are named with their lifts."""
    from hotspots.publishing.plan_context import WeekGrid, hours_of_week
    from hotspots.publishing.plan_shifts import shift_blocks

    friday_22 = 4 * 24 + 22
    raw = np.full((1, 168), 2, dtype=np.int64)
    raw[0, friday_22] = 30
    weighted = raw * 100.0
    weighted[0, friday_22] = 30.0
    counted = raw.sum(axis=1)
    assert int(counted[0]) == 364

    heavy = WeekGrid(weighted, raw, counted, np.zeros(1, np.int64))
    hours = hours_of_week(heavy)[0]
    assert isinstance(hours, dict)
    assert hours["top_hours"] == [] and hours["top_hours_of_day"] == []
    assert shift_blocks(heavy, (0, 6, 12, 18)) == [{"top_blocks": [], "top_blocks_of_day": []}]

    even = WeekGrid(raw.astype(np.float64), raw, counted, np.zeros(1, np.int64))
    hours = hours_of_week(even)[0]
    assert isinstance(hours, dict)
    assert [(h["label"], h["lift"], h["events"]) for h in hours["top_hours"]] == [
        ("Fri 22:00-23:00", round(30 / 364 * 168, 2), 30)
    ]
    blocks = shift_blocks(even, (0, 6, 12, 18))[0]
    assert blocks is not None
    assert [(b["label"], b["events"]) for b in blocks["top_blocks"]] == [("Fri 18:00-00:00", 40)]


def test_a_placeholder_clock_time_read_as_a_date_at_ingest_is_no_busy_hour(
    city: dict[str, np.ndarray], tmp_path: Path
) -> None:
    """An export that writes 00:01 for an unknown time of day: read as times, midnight is
    the area's busiest hour and 00-06 its busiest block; ingested, those rows are dates,
    named by neither and counted as left out."""
    rng = np.random.default_rng(4)
    # A: one event in every hour of 2 weeks (at random minutes past :01), and 120 at 00:01
    even = [when(w, d, h, int(rng.integers(2, 60))) for w in range(2) for d in range(7)
            for h in range(24)]  # fmt: skip
    placeholders = [MONDAY + pd.Timedelta(days=i, minutes=1) for i in range(120)]
    as_times = plan(city, at(city["a"], even + placeholders), "0,6,12,18")["areas"][0]["when"]
    assert as_times["events_with_time"] == 336 + 120
    assert as_times["top_hours_of_day"][0]["label"] == "00:00-01:00"
    assert as_times["top_blocks_of_day"][0]["label"] == "00:00-06:00"

    lat, lng = h3.cell_to_latlng(h3.int_to_str(int(city["a"][0])))
    rows = [f"{t:%Y-%m-%d %H:%M},{lat},{lng},assault" for t in even + placeholders]
    path = tmp_path / "export.csv"
    path.write_text("\n".join(["time,lat,lng,cat", *rows]) + "\n")
    cmap = ColumnMap.parse("time=time,lat=lat,lng=lng,category=cat")
    ingested = ingest_file(path, IngestOptions(column_map=cmap, timezone=TZ, now=AS_OF))
    assert ingested.report.placeholder_times == {"00:01": 120}
    found = plan(city, ingested.events, "0,6,12,18")["areas"][0]["when"]
    assert found["events_with_time"] == 336 and found["events_without_time"] == 120
    named = [h["label"] for key in ("top_hours", "top_hours_of_day") for h in found[key]]
    named += [b["label"] for key in ("top_blocks", "top_blocks_of_day") for b in found[key]]
    assert named == []  # one event an hour: nothing stands out
