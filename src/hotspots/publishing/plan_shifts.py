"""Shift blocks: when a patrol area carries its risk, in the blocks of the day officers are
tasked by (``HOTSPOTS_PLAN_SHIFTS``, e.g. ``0,6,12,18`` or ``7,15,23``).

An area's single hours rarely stand out on a history of a few hundred events (chance alone
makes the busiest of 168 hours look 2x busy), while 6-hour blocks of the week do. The blocks
read the same hour-of-week grid the hours do (``plan_context.WeekGrid``: one ``bincount`` per
plan), summed by a 0/1 matrix, and are tested like the hours (by ``plan_context.standing_out``,
with each block's share of the hours as its even spread) in one scipy call for every area,
the blocks of the week and of the day together.

A block that spans midnight (``23`` of ``7,15,23``: 23:00-07:00) belongs to the day it starts:
Tuesday 02:00 is in "Mon 23:00-07:00", as a night shift is the one that starts on Monday.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from hotspots.errors import ConfigError, shown
from hotspots.publishing.plan_context import DAYS, WeekGrid, standing_out

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DEFAULT_SHIFTS = "0,6,12,18"
"""Four 6-hour blocks from midnight: no force's shift pattern, so none is favoured, and the
evening (18-24) and the small hours (0-6) stay apart."""
SHIFTS_SETTING = "HOTSPOTS_PLAN_SHIFTS"
TOP_BLOCKS = 3
"""Blocks of the week (and of the day) reported per area."""


def parse_shifts(text: str | Sequence[int], name: str = SHIFTS_SETTING) -> tuple[int, ...]:
    """The start hours of the blocks of the day, sorted: ``"7,15,23"`` -> ``(7, 15, 23)``.

    Each an hour 0-23, all distinct, at least two (one block would be the whole day); any
    other value is a ConfigError naming ``name`` (the setting, flag or parameter) and it.
    """
    given = text if isinstance(text, str) else ",".join(str(h) for h in text)
    parts = [p.strip() for p in given.split(",")]
    why = None
    if not all(p.isascii() and p.isdigit() for p in parts):
        why = "not hours 0-23 separated by commas"
    elif over := [p for p in parts if len(p.lstrip("0")) > 2 or int(p) > 23]:
        # length first: int() refuses over 4,300 digits (a ValueError, a 500 on the API)
        why = f"{shown(over[0], quote=False)} is not an hour of the day (0-23)"
    elif len(set(map(int, parts))) != len(parts):
        why = "an hour is given twice"
    elif len(parts) < 2:
        why = "at least two blocks are needed (one would be the whole day)"
    if why is not None:
        raise ConfigError(
            f"{name} {shown(given)}: {why}; give the hours the blocks of the day start at, "
            f"e.g. {DEFAULT_SHIFTS} or 7,15,23"
        )
    return tuple(sorted(int(p) for p in parts))


@dataclass(frozen=True)
class Blocks:
    """The blocks of the day from their start hours (sorted), and where each hour falls."""

    starts: tuple[int, ...]

    @property
    def hours(self) -> IntArray:
        """Hours in each block (the last one wraps to the first start)."""
        ends = np.array([*self.starts[1:], self.starts[0] + 24])
        return (ends - np.array(self.starts)).astype(np.int64)

    def week_matrix(self) -> FloatArray:
        """168 hours of the week x (7 x blocks): 1 where the hour falls in the block of the
        week; an hour before the first start falls in the previous day's last block."""
        hour = np.arange(168) % 24
        day = np.arange(168) // 24
        block = np.searchsorted(np.array(self.starts), hour, side="right") - 1  # -1: wraps
        day = np.where(block < 0, (day - 1) % 7, day)
        slot = day * len(self.starts) + block % len(self.starts)
        out = np.zeros((168, 7 * len(self.starts)))
        out[np.arange(168), slot] = 1.0
        return out

    def label(self, block: int) -> str:
        end = self.starts[(block + 1) % len(self.starts)]
        return f"{self.starts[block]:02d}:00-{end:02d}:00"


def shift_blocks(grid: WeekGrid, starts: tuple[int, ...]) -> list[dict[str, Any] | None]:
    """Per area, the ``TOP_BLOCKS`` blocks of the week (day x block) and of the day (all days
    together) with the most severity-weighted events that stand out from an even spread, as
    ``{"top_blocks": [...], "top_blocks_of_day": [...]}``; None for an area without timed
    events (its ``when`` is "unknown").

    The even spread puts a block's share of the hours in it (6/168 of the week for a 6-hour
    block, 6/24 of the day), so blocks of unequal length are tested fairly; a block stands
    out when the binomial chance of at least its events, times the number of blocks (7 x
    blocks, or blocks), is under ``HOUR_ALPHA``. ``lift`` is its share over that even share;
    ``events`` its own past events (unweighted). ``starts`` as ``parse_shifts`` gives them.
    """
    n_week = 7 * len(starts)
    matrix, even, tests, fields = _layout(tuple(starts))
    week, raw_week = grid.weighted @ matrix, np.rint(grid.raw @ matrix).astype(np.int64)
    values = np.concatenate([week, week.reshape(-1, 7, len(starts)).sum(axis=1)], axis=1)
    raw = np.concatenate([raw_week, raw_week.reshape(-1, 7, len(starts)).sum(axis=1)], axis=1)
    total = grid.weighted.sum(axis=1)
    # standing out by count (one scipy call, every area), and above an even share as
    # weighted (as the hours)
    named = standing_out(raw, grid.counted[:, None], even, tests) & (values > even * total[:, None])
    ranked = np.where(named, values, -np.inf)
    # the top of every area at once, ties to the earlier block (a stable sort)
    top_week = np.argsort(-ranked[:, :n_week], axis=1, kind="stable")[:, :TOP_BLOCKS]
    top_day = np.argsort(-ranked[:, n_week:], axis=1, kind="stable")[:, :TOP_BLOCKS] + n_week
    out: list[dict[str, Any] | None] = []
    for i in range(total.size):
        if grid.with_time[i] == 0 or total[i] <= 0:
            out.append(None)
            continue
        of_week, of_day = (
            [
                fields[s] | _lift(values[i, s], total[i], even[s]) | {"events": int(raw[i, s])}
                for s in top[i].tolist()
                if ranked[i, s] > -np.inf
            ]
            for top in (top_week, top_day)
        )
        out.append({"top_blocks": of_week, "top_blocks_of_day": of_day})
    return out


@lru_cache(maxsize=16)
def _layout(
    starts: tuple[int, ...],
) -> tuple[FloatArray, FloatArray, FloatArray, list[dict[str, Any]]]:
    """Per set of blocks, once: the hour -> block-of-the-week matrix, and per block of the
    week then of the day, its even share, its number of tests and its fixed fields."""
    blocks = Blocks(starts)
    n = len(starts)
    even = np.concatenate([np.tile(blocks.hours, 7) / 168, blocks.hours / 24])
    tests = np.concatenate([np.full(7 * n, 7.0 * n), np.full(n, float(n))])
    fields = [
        {"day": DAYS[s // n]} | _block(blocks, s % n, f"{DAYS[s // n]} ") for s in range(7 * n)
    ]
    fields += [_block(blocks, b, "") for b in range(n)]
    return blocks.week_matrix(), even, tests, fields


def _block(blocks: Blocks, b: int, prefix: str) -> dict[str, Any]:
    end = blocks.starts[(b + 1) % len(blocks.starts)]
    return {
        "start": blocks.starts[b],
        "end": end,
        "hours": int(blocks.hours[b]),
        "label": prefix + blocks.label(b),
    }


def _lift(value: float, total: float, even: float) -> dict[str, float]:
    share = float(value) / total
    return {"share": round(share, 4), "lift": round(share / even, 2)}
