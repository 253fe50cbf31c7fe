"""The feedback-loop monitor: is a model sending patrols back to the same cells, and is the
recorded crime it learns from coming more and more from the cells it flagged?

Per monitored period ``t`` (the period a forecast was served for), with ``P`` = ``window``:

* **times flagged**: per cell, in how many of the last ``P`` periods (``t`` included) it was
  in the top ``coverage`` of the study area. ``repeat_share``: the share of the area flagged
  for ``t`` that was flagged in at least ``repeat`` of them. ``turnover``: distinct cells
  flagged in the window over the cells flagged per period (1: always the same cells).
* **prior cells**: cells flagged, or patrolled (dosage > 0), in any of the ``P`` periods
  before ``t``. ``prior_event_share``: the share of the events recorded in ``t`` (the next
  training data) that lie in them; ``prior_area_share``: their share of the area;
  ``concentration`` = event share / area share (1: no more than their area). ``pooled``:
  the same over the last ``pool`` periods together, which is what the flag reads.
  ``lookback``: how many periods before ``t`` the prior cells count back over (P, or fewer
  at the start of a series: then fewer, persistent, cells and a higher concentration);
  ``pooled_lookback``: that of the pooled window's first period. ``prior_events_C`` and
  ``pooled_concentration_C`` (C < P): the same counting back C periods alone. A pooled
  figure is compared with a reference counting back as many periods (``compared_with``).
* **patrolled** (with dosage): the same shares for the cells patrolled in ``t`` itself.

A figure on its own cannot tell a good model on stable hotspots from a runaway loop, so the
flags compare with a **reference**: the same figures on the model's backtest at training
time (recorded crime before the model was in use; ``reference_from_backtest``) or, without
one, the first full window of the series itself (``feedback.monitor_reference``, with the
``Thresholds`` that say when a flag is raised).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.errors import DataValidationError
from hotspots.feedback.monitor_groups import GroupLayer, group_flags, group_table
from hotspots.feedback.monitor_inputs import DOSAGE_COLUMNS as DOSAGE_COLUMNS  # re-exported
from hotspots.feedback.monitor_inputs import dosage_to_array as dosage_to_array
from hotspots.feedback.monitor_inputs import ranked_to_flags as ranked_to_flags
from hotspots.feedback.monitor_inputs import top_share_flags as top_share_flags
from hotspots.feedback.monitor_reference import (
    NO_CONCENTRATION_REFERENCE,
    Reference,
    Thresholds,
    compared_with,
    concentration_bar,
    self_reference,
)
from hotspots.grid import cells_area_km2, grid_disk_table

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Monitor:
    """The monitor's figures: one row per period, the times-flagged distribution of the
    last period, the per-group table (None without an area layer) and the raised flags."""

    periods: pd.DataFrame
    distribution: pd.DataFrame
    groups: pd.DataFrame | None
    flags: list[dict[str, Any]]
    reference: Reference | None
    thresholds: Thresholds
    notes: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        """Whether any flag is raised in the last period."""
        return any(f["period"] == self.last_period for f in self.flags)

    @property
    def last_period(self) -> str | None:
        """The last monitored period (ISO date), or None when there is none."""
        return None if self.periods.empty else str(self.periods["period"].iloc[-1])

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: what ``GET /v1/monitor`` and the model card show."""
        from hotspots.registry.manifest import jsonable

        return jsonable(
            {
                "thresholds": asdict(self.thresholds),
                "reference": None if self.reference is None else self.reference.to_dict(),
                "flagged": self.flagged,
                "flags": self.flags,
                "periods": self.periods.to_dict(orient="records"),
                "distribution": self.distribution.to_dict(orient="records"),
                "groups": None if self.groups is None else self.groups.to_dict(orient="records"),
                "notes": self.notes,
            },
            "monitor",
        )


def monitor(
    cells: npt.ArrayLike,
    periods: Sequence[Any] | pd.DatetimeIndex,
    flagged: BoolArray,
    recorded: npt.ArrayLike,
    *,
    dosage: FloatArray | None = None,
    groups: GroupLayer | None = None,
    reference: Reference | None = None,
    thresholds: Thresholds | None = None,
    history: int = 0,
    fallback: Reference | None = None,
) -> Monitor:
    """The monitor's figures and flags (see the module docstring).

    ``flagged[t, i]``: cell ``i`` was flagged for period ``t``; ``recorded[t, i]``: target
    events recorded there in ``t``; ``dosage[t, i]``: patrol minutes; all aligned to
    ``cells`` and ``periods`` (consecutive periods, oldest first). The first ``history``
    periods are only looked back on (prior cells, times flagged), not monitored.
    ``fallback``: the series' own first full window, whose repeat share stands in when
    ``reference`` measured none (the first full window of the periods monitored when None).
    """
    th = thresholds or Thresholds()
    ids = np.asarray(cells, dtype=np.uint64)
    flags_ = np.asarray(flagged, dtype=bool)
    counts = np.asarray(recorded, dtype=np.float64)
    starts = pd.DatetimeIndex(list(periods))
    if flags_.shape != counts.shape or flags_.shape != (len(starts), ids.size):
        raise DataValidationError(
            f"flags {flags_.shape} and recorded counts {counts.shape} must both be "
            f"(periods, cells) = ({len(starts)}, {ids.size})"
        )
    area = cells_area_km2(ids) if ids.size else np.zeros(0)
    frame = _period_frame(ids, starts, flags_, counts, dosage, area, th)
    frame = frame.iloc[history:].reset_index(drop=True)
    notes: list[str] = []
    if reference is None:
        reference = self_reference(frame, th)
        if reference is not None:
            notes.append(f"no training-time reference: compared with {reference.source}")
    elif reference.repeat_share is None:
        fallback = fallback or self_reference(frame, th)
        notes.append(_fallback_note(reference, fallback))
    if reference is not None and not reference.concentration > 0:
        notes.append(NO_CONCENTRATION_REFERENCE)
    flags = _flags(frame, reference, th, fallback)
    group_frame = None
    if groups is not None:
        lo = max(0, len(starts) - th.window)
        window_dose = None if dosage is None else dosage[lo:]
        group_frame = group_table(groups, flags_[lo:], counts[lo:], window_dose, area)
        last = None if frame.empty else str(frame["period"].iloc[-1])
        since = None if frame.empty else starts[lo].date().isoformat()
        flags += group_flags(group_frame, th.group_ratio, last, since)
    return Monitor(frame, _distribution(flags_, area, th), group_frame, flags, reference, th, notes)


def _ring_matrix(cells: npt.NDArray[np.uint64]) -> Any:
    """The study cells' ring-1 adjacency as a sparse (cells x cells) matrix, self excluded."""
    from scipy import sparse

    src, nbr = grid_disk_table(cells, 1)
    pos = np.searchsorted(cells, nbr)
    pos = np.minimum(pos, max(cells.size - 1, 0))
    ok = (cells[pos] == nbr) & (pos != src)
    ones = np.ones(int(ok.sum()))
    return sparse.csr_matrix((ones, (src[ok], pos[ok])), shape=(cells.size, cells.size))


def _period_frame(
    cells: npt.NDArray[np.uint64],
    starts: pd.DatetimeIndex,
    flagged: BoolArray,
    counts: FloatArray,
    dosage: FloatArray | None,
    area: FloatArray,
    th: Thresholds,
) -> pd.DataFrame:
    """One row of figures per period (vectorised over cells; one step per period)."""
    total_area = area.sum() if area.size else 1.0
    patrolled = dosage > 0 if dosage is not None else np.zeros_like(flagged)
    ring = _ring_matrix(cells)
    rows = []
    for t in range(len(starts)):
        lo = max(0, t - th.window + 1)  # `t` is also how many periods the series had before
        times = flagged[lo : t + 1].sum(axis=0)
        now = flagged[t]
        prior = (flagged[max(0, t - th.window) : t] | patrolled[max(0, t - th.window) : t]).any(
            axis=0
        )
        events = counts[t].sum()
        per_period = flagged[lo : t + 1].sum(axis=1)
        per_period = per_period[per_period > 0]  # the periods served something
        near = (ring @ prior.astype(np.float64) > 0) & ~prior
        shorter = _shorter_lookbacks(flagged | patrolled, counts[t], area, t, th.window)
        row: dict[str, Any] = {
            "period": starts[t].date().isoformat(),
            "lookback": min(t, th.window),
            "events": int(events),
            "flagged_cells": int(now.sum()),
            "flagged_area_share": area[now].sum() / total_area,
            "repeat_share": (  # none of no flagged area (a period served nothing)
                area[now & (times >= th.repeat)].sum() / area[now].sum()
                if t + 1 >= th.window and now.any()
                else np.nan
            ),
            "turnover": (times > 0).sum() / per_period.mean() if per_period.size else np.nan,
            "prior_area_share": area[prior].sum() / total_area,
            "prior_event_share": counts[t][prior].sum() / events if events else np.nan,
            "prior_events": int(counts[t][prior].sum()),
            "ring_area_share": area[near].sum() / total_area,
            "ring_events": int(counts[t][near].sum()),
            **shorter,
        }
        if dosage is not None:
            on = patrolled[t]
            row["patrol_minutes"] = float(dosage[t].sum())
            row["patrolled_area_share"] = area[on].sum() / total_area
            row["patrolled_event_share"] = counts[t][on].sum() / events if events else np.nan
            row["dosage_in_flagged_share"] = (
                dosage[t][now].sum() / dosage[t].sum() if dosage[t].sum() else np.nan
            )
        rows.append(row)
    frame = pd.DataFrame(rows)
    return frame if frame.empty else _pooled(frame, th)


def _shorter_lookbacks(
    marked: BoolArray, counts: FloatArray, area: FloatArray, t: int, window: int
) -> dict[str, float]:
    """Period ``t``'s events in the cells flagged or patrolled in the C periods before it,
    and their area share, for C = 1 .. P - 1 (NaN: fewer than C periods before it)."""
    out: dict[str, float] = {}
    prior = np.zeros(area.size, dtype=bool)
    total = area.sum() if area.size else 1.0
    for c in range(1, window):
        if c <= t:
            prior |= marked[t - c]
        out[f"prior_events_{c}"] = float(counts[prior].sum()) if c <= t else np.nan
        out[f"prior_area_share_{c}"] = area[prior].sum() / total if c <= t else np.nan
    return out


def _pooled(frame: pd.DataFrame, th: Thresholds) -> pd.DataFrame:
    """Add the ratios of each period and of the last ``pool`` periods together (what the
    flags read) to the per-period rows."""
    frame["concentration"] = frame["prior_event_share"] / frame["prior_area_share"].where(
        frame["prior_area_share"] > 0
    )
    # pooled: events in prior cells over the last `pool` periods / all their events, over
    # the mean prior area share of those periods
    pooled_in = frame["prior_events"].rolling(th.pool, min_periods=th.pool).sum()
    pooled_all = frame["events"].rolling(th.pool, min_periods=th.pool).sum()
    pooled_area = frame["prior_area_share"].rolling(th.pool, min_periods=th.pool).mean()
    frame["pooled_events"] = pooled_all
    frame["pooled_lookback"] = frame["lookback"].shift(th.pool - 1)
    frame["pooled_prior_events"] = pooled_in
    roll = frame[["prior_events", "prior_area_share", "ring_events", "ring_area_share"]].rolling(
        th.pool, min_periods=th.pool
    )
    sums = roll.sum()
    inner = sums["prior_events"] / sums["prior_area_share"].where(sums["prior_area_share"] > 0)
    outer = sums["ring_events"] / sums["ring_area_share"].where(sums["ring_area_share"] > 0)
    frame["contrast"] = (frame["prior_events"] / frame["prior_area_share"]) / (
        frame["ring_events"] / frame["ring_area_share"]
    ).where(frame["ring_events"] > 0)
    frame["pooled_contrast"] = inner / outer.where(outer > 0)
    frame["pooled_repeat_share"] = (
        frame["repeat_share"].rolling(th.pool, min_periods=th.pool).mean()
    )
    frame["pooled_concentration"] = (pooled_in / pooled_all.where(pooled_all > 0)) / (
        pooled_area.where(pooled_area > 0)
    )
    for c in range(1, th.window):
        inner_c = frame[f"prior_events_{c}"].rolling(th.pool, min_periods=th.pool).sum()
        area_c = frame.pop(f"prior_area_share_{c}").rolling(th.pool, min_periods=th.pool).mean()
        frame[f"pooled_concentration_{c}"] = (inner_c / pooled_all.where(pooled_all > 0)) / (
            area_c.where(area_c > 0)
        )
    return frame


def _fallback_note(reference: Reference, fallback: Reference | None) -> str:
    """What the series' own first full window stands in for (see ``monitor``)."""
    use = (
        "the series has no full window of its own yet"
        if fallback is None
        else f"compared with {fallback.source}"
    )
    return f"the reference ({reference.source}) has no repeat share: {use}"


def _flags(
    frame: pd.DataFrame,
    reference: Reference | None,
    th: Thresholds,
    fallback: Reference | None = None,
) -> list[dict[str, Any]]:
    """The concentration and repeat flags of every period (see ``Thresholds``): a pooled
    concentration against the reference counting back as many periods (``compared_with``)."""
    if reference is None or frame.empty:
        return []
    out = []
    bar = concentration_bar(frame, reference, th)
    cmp = compared_with(frame, reference, th)
    enough = frame["pooled_events"] >= th.min_events
    measurable = cmp["reference"] > 0  # see NO_CONCENTRATION_REFERENCE
    rising = enough & (cmp["value"] >= bar) & measurable
    rows = zip(
        frame.loc[rising, "period"], cmp.loc[rising].to_dict("records"), bar[rising], strict=True
    )
    for period, got, limit in rows:
        value, was, lookback = got["value"], got["reference"], got["lookback"]
        counting = "" if lookback == th.window else f", both counting back {lookback:.0f} periods"
        out.append(
            _flag(
                "concentration",
                str(period),
                float(value),
                float(limit),
                f"new events come from previously flagged or patrolled cells at {value:.2f}x "
                f"their area share, {value / was:.2f}x the reference {was:.2f} "
                f"({reference.source}{counting})",
            )
        )
    repeat_ref = reference.repeat_share
    if repeat_ref is None and fallback is not None:
        repeat_ref = fallback.repeat_share
    measured = repeat_ref is not None
    repeat_limit = max((repeat_ref or 0.0) + th.repeat_rise, th.repeat_floor)
    said = f"{repeat_ref:.0%}" if measured else "not measured"
    for row in frame.loc[frame["pooled_repeat_share"] >= repeat_limit].to_dict("records"):
        share = float(row["pooled_repeat_share"])
        out.append(
            _flag(
                "repeat",
                row["period"],
                share,
                repeat_limit,
                f"{share:.0%} of the flagged area (mean of the last {th.pool} periods) was "
                f"flagged in at least {th.repeat} of the last {th.window} periods; the "
                f"reference was {said}",
            )
        )
    return sorted(out, key=lambda f: (f["period"], f["figure"]))


def _flag(figure: str, period: str, value: float, threshold: float, message: str) -> dict[str, Any]:
    return {
        "figure": figure,
        "period": str(period),
        "value": value,
        "threshold": threshold,
        "message": message,
    }


def _distribution(flagged: BoolArray, area: FloatArray, th: Thresholds) -> pd.DataFrame:
    """Cells and area share by how many of the last ``window`` periods flagged them."""
    times = flagged[-th.window :].sum(axis=0) if len(flagged) else np.zeros(area.size, int)
    total = area.sum() if area.size else 1.0
    n = np.arange(min(th.window, len(flagged)) + 1)
    cells = np.bincount(times, minlength=n.size)[: n.size]
    share = np.bincount(times, weights=area, minlength=n.size)[: n.size] / total
    return pd.DataFrame({"times_flagged": n, "cells": cells, "area_share": share})
