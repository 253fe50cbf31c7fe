"""Heaped clock minutes in a plan's when: a minute of the day holding far more events than the
neighbouring hours predict for it counts in the areas' hours and blocks only as much as they
predict, so an export's stand-in for an unknown time of day names no busy hour.

Ingest reads a minute's rows as dates only when the heap is gross (``ingest.placeholders``:
SF's 00:01, 158x); below that, a count cannot tell which rows at the minute are real, so they
keep their times. A plan removes the excess instead of the rows: each event with minute
precision at a heaped minute weighs expected / observed (under 1) in the hour and block
tallies, their tests and their ``events``, and each area's when says about how many of its
events that leaves out (``placeholder_excess``). Found once over the events a plan reads
(every category, before as_of) on their local clock, where ``expected_counts`` predicts each
minute as at ingest.

A minute is heaped when its hour's other minutes and the hours around it each hold
``MIN_ROWS`` events (a share to predict it by: an export of whole hours has none), and it
holds at least ``MIN_RATIO`` times the prediction, ``MIN_ROWS`` events and an excess of
``MIN_SHARE`` of the timed events. Figures of the real extracts (every event with a time of
day, local clock; weight 1 = left alone):

=========== ====== ======= ======== ===== ====== ======================================
export      minute events  expected ratio excess weight
=========== ====== ======= ======== ===== ====== ======================================
SF          12:00  21,250  11,969   1.78  1.17%  0.56
Vancouver   00:00  1,688   594      2.84  3.24%  0.35
Vancouver   12:00  715     331      2.16  1.14%  0.46
SF          08:00  11,634  8,054    1.44  0.45%  1 (ratio, excess)
SF          18:00  18,681  16,858   1.11  0.23%  1
Houston     00:00  4,932   3,458    1.43  1.71%  1 (whole hours; and ratio)
Vancouver   22:00  977     773      1.26  0.60%  1 (ratio)
Chicago     00:01  496     38       13    0.31%  1 (excess)
Vancouver   00:01  128     13       9.7   0.34%  1 (excess)
synthetic   any                     <1.45 <0.06% 1
=========== ====== ======= ======== ===== ====== ======================================

``MIN_RATIO`` sits midway, on a log scale, between the busiest ordinary round hours measured
(1.43x, 1.44x: a force does log more at midnight or at 08:00) and the smallest heap (1.78x).
``MIN_SHARE`` is half ingest's bar, an eighth of an even hour's share (1/24): a smaller
excess, spread over the areas as their events are, adds under an eighth to its hour, and a
weight, unlike a date, keeps the predicted part counted, so a wrong one costs less.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.ingest.placeholders import NEAR_HOURS, expected_counts, minutes_of_day
from hotspots.jobs.data import local_times

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MIN_RATIO = 1.6
MIN_SHARE = 0.005
MIN_ROWS = 50


@dataclass(frozen=True)
class HeapedMinute:
    """One heaped minute of the day: its timed events and what the neighbouring hours
    predict for it."""

    minute: int  # of the day, 0-1439
    events: int
    expected: float

    @property
    def weight(self) -> float:
        """What each of its events counts for in the hours: the predicted share of them."""
        return min(self.expected / self.events, 1.0)

    @property
    def label(self) -> str:
        return f"{self.minute // 60:02d}:{self.minute % 60:02d}"


@dataclass(frozen=True)
class MinuteWeights:
    """The heaped minutes of an event table and, per row, which one it is at (-1: none, or no
    minute precision); ``slot`` is None when no minute is heaped (every weight 1)."""

    minutes: tuple[HeapedMinute, ...] = ()
    slot: npt.NDArray[np.int16] | None = None

    @property
    def weights(self) -> FloatArray:
        """Per heaped minute, its weight (in ``minutes`` order)."""
        return np.array([m.weight for m in self.minutes], dtype=np.float64)

    def take(self, rows: npt.NDArray[np.int64] | npt.NDArray[np.bool_]) -> MinuteWeights:
        """The same minutes, ``slot`` of the events at ``rows`` (positions or a mask)."""
        return self if self.slot is None else MinuteWeights(self.minutes, self.slot[rows])

    def weigh(self, area: IntArray, n_areas: int) -> tuple[FloatArray | None, FloatArray]:
        """Per event (of ``slot``, in ``area``), its weight in the hours (None: all 1), and
        per area x heaped minute, its events there beyond their weight (not counted)."""
        k = len(self.minutes)
        if self.slot is None:
            return None, np.zeros((n_areas, k))
        minute = self.slot.astype(np.int64)
        on = minute >= 0
        weight = np.where(on, self.weights[np.maximum(minute, 0)], 1.0)
        at = area[on] * k + minute[on]
        excess = np.bincount(at, weights=1.0 - weight[on], minlength=n_areas * k)
        return weight, excess.astype(np.float64).reshape(n_areas, k)

    def check(self, n_events: int) -> None:
        """ValueError when ``slot`` is not one per row of the ``n_events`` events."""
        if self.slot is not None and self.slot.size != n_events:
            raise ValueError(f"{self.slot.size} heaped-minute slots for {n_events} events")


NO_HEAPS = MinuteWeights()
"""Every event at weight 1 (the weights off)."""


def heaped_minutes(events: pd.DataFrame, as_of: pd.Timestamp | None = None) -> MinuteWeights:
    """The heaped minutes (module doc) among the events (before ``as_of``) with minute
    precision, on their local clock, and each row's (-1 for the others)."""
    times = local_times(events)
    timed = np.array(events["time_precision"] == "minute", dtype=bool)  # a writable copy
    if as_of is not None:
        timed &= np.asarray(times < as_of, dtype=bool)
    pos = np.flatnonzero(timed)
    if pos.size < MIN_ROWS:
        return NO_HEAPS
    minute = minutes_of_day(times.to_numpy(dtype="M8[ns]")[pos])
    counts = np.bincount(minute, minlength=1440)
    expected = expected_counts(counts)
    found = np.flatnonzero(
        _predicted(counts)
        & (counts >= MIN_ROWS)
        & (counts >= MIN_RATIO * expected)
        & (counts - expected >= MIN_SHARE * pos.size)
    )
    if found.size == 0:
        return NO_HEAPS
    lookup = np.full(1440, -1, dtype=np.int16)  # up to 1 / MIN_SHARE = 200 minutes
    lookup[found] = np.arange(found.size, dtype=np.int16)
    slot = np.full(len(events), -1, dtype=np.int16)
    slot[pos] = lookup[minute]
    minutes = tuple(HeapedMinute(int(m), int(counts[m]), float(expected[m])) for m in found)
    return MinuteWeights(minutes, slot)


def _predicted(counts: IntArray) -> npt.NDArray[np.bool_]:
    """Per minute of the day, whether the hours predict it from a share: its hour's other
    minutes and the hours around each hold ``MIN_ROWS`` events (an export of whole hours,
    or a history with empty hours, has no share to predict a heap by)."""
    hours = counts.reshape(24, 60)
    total = hours.sum(axis=1, keepdims=True)
    near = np.sum([np.roll(total, -d, axis=0) for d in NEAR_HOURS], axis=0)
    return ((total - hours >= MIN_ROWS) & (near >= MIN_ROWS)).ravel()
