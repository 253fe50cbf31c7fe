"""Heaped clock minutes in a plan's when: a minute holding more events than the neighbouring
hours predict counts only what they predict, in the hours, the blocks and their events."""

from __future__ import annotations

from typing import Any

import h3
import numpy as np
import pandas as pd
import pytest

from hotspots.errors import ConfigError
from hotspots.publishing import PlanBook, PlanBudget, PlanInput, build_plan
from hotspots.publishing.plan_heaps import NO_HEAPS, heaped_minutes

TZ = "America/Los_Angeles"
AS_OF = pd.Timestamp("2024-03-04")  # a Monday
START = pd.Timestamp("2024-01-08")  # 8 weeks before it
CENTRE = h3.latlng_to_cell(37.77, -122.42, 9)
CELLS = np.sort(np.array([h3.str_to_int(c) for c in h3.grid_disk(CENTRE, 2)], dtype=np.uint64))
SCORE = np.where(np.asarray(CELLS) == np.uint64(h3.str_to_int(CENTRE)), 5.0, 0.1)
"""The centre cell forecast, the ring around it barely."""


def events_at(times: pd.DatetimeIndex) -> pd.DataFrame:
    """One theft per time at the centre cell, minute precision."""
    lat, lng = h3.cell_to_latlng(CENTRE)
    return pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(len(times))],
            "occurred_at": times.tz_localize(TZ),
            "time_precision": pd.Categorical(["minute"] * len(times), ["minute", "day", "month"]),
            "lat": lat,
            "lng": lng,
            "category": "theft",
            "origin": None,
            "source_row": np.arange(1, len(times) + 1),
        }
    )


def history(noon_extra: int) -> pd.DataFrame:
    """56 days, every hour one event at :00, :15 and :40 (a force rounding some times to the
    hour, as every force does), and ``noon_extra`` more at 12:00 on each of the first days."""
    days = pd.date_range(START, periods=56, freq="D")
    times = [d + pd.Timedelta(hours=h, minutes=m) for d in days for h in range(24)
             for m in (0, 15, 40)]  # fmt: skip
    times += [d + pd.Timedelta(hours=12) for d in days[:noon_extra]]
    return events_at(pd.DatetimeIndex(times))


def plan(events: pd.DataFrame, **kw: Any) -> dict[str, Any]:
    """The when of one area holding the centre cell (the only one forecast)."""
    frame = pd.DataFrame({"as_of": AS_OF, "period_start": AS_OF, "cell": CELLS,
                          "expected_count": SCORE})  # fmt: skip
    document = build_plan({"theft": frame}, CELLS, 9, events, as_of=AS_OF, freq="W",
                          budget=PlanBudget(1, 0.2), **kw)  # fmt: skip
    when = document["areas"][0]["when"]
    assert isinstance(when, dict)
    return when


def named(when: dict[str, Any]) -> list[str]:
    keys = ("top_hours", "top_hours_of_day", "top_blocks", "top_blocks_of_day")
    return [h["label"] for key in keys for h in when[key]]


def test_a_minute_at_twice_its_prediction_counts_half_and_names_no_busy_hour() -> None:
    events = history(noon_extra=56)  # 12:00 holds 112 where the hours around predict 56
    heaps = heaped_minutes(events)
    assert [(m.label, m.events, m.expected) for m in heaps.minutes] == [("12:00", 112, 56.0)]
    assert heaps.minutes[0].weight == pytest.approx(0.5)
    assert heaps.slot is not None
    at_noon = (events["occurred_at"].dt.hour == 12) & (events["occurred_at"].dt.minute == 0)
    assert ((heaps.slot == 0) == at_noon.to_numpy()).all()

    # counted whole, noon is the busiest hour of the day: 224 of 4,088 events (1.32x)
    whole = plan(events, heaps=NO_HEAPS)
    assert whole["top_hours_of_day"][0]["label"] == "12:00-13:00"
    assert whole["top_hours_of_day"][0]["events"] == 224
    assert whole["placeholder_excess"] == {}
    # at weight 0.5, 12:00 counts its predicted 56: noon holds 168 like every hour
    weighed = plan(events)
    assert not [label for label in named(weighed) if "12:00-13:00" in label]
    assert weighed["events_with_time"] == 4_088
    assert weighed["placeholder_excess"] == {"12:00": 56}
    assert weighed == plan(events, heaps=heaps)  # build_plan finds the same by itself


def test_without_a_heap_every_weight_is_one_and_the_plan_is_unchanged() -> None:
    events = history(noon_extra=30)  # 12:00 at 86 of 56 predicted: 1.54x, under 1.6x
    heaps = heaped_minutes(events)
    assert heaps.minutes == () and heaps.slot is None
    assert plan(events) == plan(events, heaps=NO_HEAPS)
    # the same 30 extra, read by a plan as_of their last day, are 30 over 30 predicted: 2x
    early = heaped_minutes(events, START + pd.Timedelta(days=30))
    assert [(m.label, m.events, m.weight) for m in early.minutes] == [("12:00", 60, 0.5)]


def test_a_history_too_thin_or_in_whole_hours_has_nothing_to_predict_a_heap_by() -> None:
    days = pd.date_range(START, periods=56, freq="D")
    # whole hours only: an hour against its neighbours is the day's shape, not a heap
    hours = [d + pd.Timedelta(hours=h) for d in days for h in range(24)]
    hours += [d + pd.Timedelta(hours=12) for d in days]
    assert heaped_minutes(events_at(pd.DatetimeIndex(hours))).minutes == ()
    # 60 events at Fri 22:00 and 10 at 13:05, nothing around them
    fridays = [START + pd.Timedelta(days=4 + 7 * (i % 8), hours=22) for i in range(60)]
    thin = events_at(pd.DatetimeIndex(fridays + [START + pd.Timedelta(hours=13, minutes=5)] * 10))
    assert heaped_minutes(thin).minutes == ()


def test_slots_for_other_events_are_refused() -> None:
    events = history(noon_extra=56)
    with pytest.raises(ValueError, match=r"^4088 heaped-minute slots for 4087 events"):
        plan(events.iloc[1:], heaps=heaped_minutes(events))


def test_the_plan_book_finds_the_heaps_once_and_serves_the_same_when() -> None:
    class Model:
        cells_, target_, freq_, resolution_ = CELLS, ("theft",), "W", 9

    events = history(noon_extra=56)
    inputs = {"theft": PlanInput.of(Model(), AS_OF, [(AS_OF, CELLS, SCORE)])}
    book = PlanBook(inputs, events, default=PlanBudget(1, 0.2), pack=bytes)
    assert [m.label for m in book.heaps.minutes] == ["12:00"]
    when = book.document(book.query())["areas"][0]["when"]
    assert when["placeholder_excess"] == {"12:00": 56}
    assert when == plan(events)


def test_a_plan_of_some_types_reads_the_events_as_its_first_type_does() -> None:
    """Two models reading one export differently (b's reads the extra noon rows as dates, a
    placeholder its training data held): a plan of b alone reads b's reading, of every type a's."""

    class Model:
        cells_, target_, freq_, resolution_ = CELLS, ("theft",), "W", 9

    events = history(noon_extra=56)
    extra = events.index[-56:]  # the extra noon events (history() adds them last)
    dated = events.copy()
    dated.loc[extra, "occurred_at"] = dated.loc[extra, "occurred_at"].dt.normalize()
    dated.loc[extra, "time_precision"] = "day"
    inputs = {k: PlanInput.of(Model(), AS_OF, [(AS_OF, CELLS, SCORE)]) for k in ("a", "b")}
    book = PlanBook(inputs, {"a": events, "b": dated}, default=PlanBudget(1, 0.2), pack=bytes)
    assert [m.label for m in book.heaps.minutes] == ["12:00"]  # a's, the first's
    of_b = book.document(book.query(categories=["b"]))["areas"][0]["when"]
    assert of_b == plan(dated)
    assert (of_b["events_without_time"], of_b["placeholder_excess"]) == (56, {})
    every = book.document(book.query())["areas"][0]["when"]  # a (b counts a's crimes too)
    assert every == plan(events)
    assert every["placeholder_excess"] == {"12:00": 56} and every["events_without_time"] == 0
    shared = PlanBook(inputs, {"a": events, "b": events}, default=PlanBudget(1, 0.2), pack=bytes)
    assert shared._histories["a"] is shared._histories["b"]  # one frame is read once
    with pytest.raises(ConfigError, match=r"no events for the crime type\(s\) \['b'\]"):
        PlanBook(inputs, {"a": events}, default=PlanBudget(1, 0.2), pack=bytes)
