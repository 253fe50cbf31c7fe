"""The hand-computed effectiveness case: four cells of a resolution-8 disk near London, three
weeks of burglaries, and the served forecasts and plan records the feedback tests score."""

from __future__ import annotations

import h3
import numpy as np
import pandas as pd
import pytest

from hotspots.feedback.plans_realised import ServedPlan
from hotspots.feedback.served import ServedForecast
from hotspots.grid import cells_to_latlng

TZ = "Europe/London"
CAT = "Burglary"
CENTRE = h3.latlng_to_cell(51.5, -0.1, 8)
RING1 = sorted(set(h3.grid_ring(CENTRE, 1)))
A = h3.str_to_int(CENTRE)
B, C, D = (h3.str_to_int(c) for c in RING1[:3])
STUDY = np.array(sorted(h3.str_to_int(c) for c in h3.grid_disk(CENTRE, 2)), dtype=np.uint64)
WEEK3 = pd.Timestamp("2024-01-15")


def events_at(rows: list[tuple[int, str]]) -> pd.DataFrame:
    """One target event per (cell, local time)."""
    cells = np.array([c for c, _ in rows], dtype=np.uint64)
    lat, lng = cells_to_latlng(cells)
    times = pd.to_datetime([t for _, t in rows]).tz_localize(TZ)
    return pd.DataFrame(
        {
            "event_id": pd.Series([f"e{i}" for i in range(len(rows))], dtype="string"),
            "occurred_at": times,
            "time_precision": pd.Categorical(["minute"] * len(rows), ["minute", "day", "month"]),
            "lat": lat,
            "lng": lng,
            "category": pd.Series([CAT] * len(rows), dtype="string"),
            "origin": pd.Series([None] * len(rows), dtype="string"),
            "source_row": np.arange(1, len(rows) + 1, dtype=np.int64),
        }
    )


# week 1 (Mon 1 Jan): A 3, B 1; week 2: B 2, C 1; week 3 (the served period): A 1, C 3, D 1
HAND_EVENTS = (
    [(A, "2024-01-01 09:00")] * 3
    + [(B, "2024-01-03 10:00")]
    + [(B, "2024-01-09 10:00")] * 2
    + [(C, "2024-01-10 10:00")]
    + [(A, "2024-01-16 10:00")]
    + [(C, "2024-01-17 10:00")] * 3
    + [(D, "2024-01-21 12:00")]
)


def served_ranking(first: list[int]) -> np.ndarray:
    rest = [c for c in STUDY.tolist() if c not in first]
    return np.array(first + rest, dtype=np.uint64)


def served(as_of: pd.Timestamp, ranked: np.ndarray, version: str = "v1") -> ServedForecast:
    return ServedForecast(
        "burglary", version, as_of, as_of + pd.Timedelta(days=7), as_of, (CAT,), ranked
    )


def served_with_counts() -> ServedForecast:
    """Week 3 served with expected counts C 3, A 2, B 1, D 0.5 (the rest 0)."""
    ranked = served_ranking([C, A, B, D])
    expected = np.zeros(ranked.size)
    expected[:4] = [3.0, 2.0, 1.0, 0.5]
    return ServedForecast(
        "burglary", "v1", WEEK3, WEEK3 + pd.Timedelta(days=7), WEEK3, (CAT,), ranked, expected
    )


def stored_plan(
    cells: list[int],
    *,
    types: tuple[str, ...] = ("burglary",),
    horizon: int = 1,
    stop: str = "cap",
    period: str = "2024-01-15",
    tag: str = "a",
    as_of: str | None = None,
) -> ServedPlan:
    """A recorded plan (``plan_store`` record) of one area of ``cells``."""
    record = {
        "etag": '"' + tag * 64 + '"',
        "period_start": period,
        "as_of": as_of or period,
        "params": {
            "areas": 1,
            "max_area_km2": 0.8,
            "total_km2": None,
            "types": list(types),
            "weights": {},
            "horizon": horizon,
            "stop": stop,
        },  # fmt: skip
        "areas": [{"rank": 1, "cells": [h3.int_to_str(c) for c in cells]}],
    }
    return ServedPlan.of(record)


def assert_figures(
    rows: pd.DataFrame, expected: dict[str, tuple[int, float, float, float]]
) -> None:
    """Each source's (row by source) hits, hit rate, PAI and PEI are the ones given."""
    for source, (hits, rate, pai, pei) in expected.items():
        got = rows.loc[source]
        assert got["hits"] == hits, source
        assert got[["hit_rate", "pai", "pei"]].to_numpy(float) == pytest.approx([rate, pai, pei])
