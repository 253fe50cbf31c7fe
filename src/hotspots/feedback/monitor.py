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
* **patrolled** (with dosage): the same shares for the cells patrolled in ``t`` itself.

A figure on its own cannot tell a good model on stable hotspots from a runaway loop, so the
flags compare with a **reference**: the same figures on the model's backtest at training
time (recorded crime before the model was in use; ``reference_from_backtest``) or, without
one, the first full window of the series itself. See ``Thresholds`` for when a flag is raised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.errors import ConfigError, DataValidationError
from hotspots.feedback.monitor_groups import GroupLayer, group_flags, group_table
from hotspots.feedback.monitor_inputs import DOSAGE_COLUMNS as DOSAGE_COLUMNS  # re-exported
from hotspots.feedback.monitor_inputs import dosage_to_array as dosage_to_array
from hotspots.feedback.monitor_inputs import ranked_to_flags as ranked_to_flags
from hotspots.feedback.monitor_inputs import top_share_flags as top_share_flags
from hotspots.grid import cells_area_km2, grid_disk_table

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Thresholds:
    """When the monitor raises a flag (the defaults are documented in the README).

    ``concentration_rise``: the pooled concentration of new events in prior cells is at least
    this many times the reference's (1.2: a fifth more of the recorded crime than before comes
    from where the model sent patrols, beyond what their area and the past explain).
    ``repeat_rise``: the repeat share (mean of the last ``pool`` periods) is at least the
    reference's plus this, and at least ``repeat_floor`` (0.9: nine tenths of the flagged area
    flagged again and again; with a few flagged cells a share moves in big steps).
    ``group_ratio``: a group's share of the flagged area is at least this many times its
    share of reported crime. A flag needs at
    least ``min_events`` events in the pooled periods, so a quiet week raises none.
    """

    window: int = 8
    repeat: int = 6
    coverage: float = 0.01
    pool: int = 4
    concentration_rise: float = 1.15
    repeat_rise: float = 0.25
    repeat_floor: float = 0.9
    group_ratio: float = 2.0
    min_events: int = 30

    def __post_init__(self) -> None:
        if not 1 <= self.repeat <= self.window:
            raise ConfigError(
                f"monitor repeat {self.repeat} must be between 1 and window {self.window}"
            )
        if not 0 < self.coverage <= 1 or self.pool < 1:
            raise ConfigError(
                f"monitor coverage {self.coverage} must be in (0, 1] and pool {self.pool} >= 1"
            )


@dataclass(frozen=True)
class Reference:
    """What the figures were before the model was in use (see the module docstring)."""

    concentration: float
    repeat_share: float
    source: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (the manifest keeps it)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Reference | None:
        """The reference a manifest recorded, or None."""
        if not data or data.get("concentration") is None:
            return None
        repeat = data.get("repeat_share")
        return cls(float(data["concentration"]), float(repeat or 0.0), str(data.get("source")))


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
) -> Monitor:
    """The monitor's figures and flags (see the module docstring).

    ``flagged[t, i]``: cell ``i`` was flagged for period ``t``; ``recorded[t, i]``: target
    events recorded there in ``t``; ``dosage[t, i]``: patrol minutes; all aligned to
    ``cells`` and ``periods`` (consecutive periods, oldest first).
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
    notes: list[str] = []
    if reference is None:
        reference = self_reference(frame, th)
        if reference is not None:
            notes.append(f"no training-time reference: compared with {reference.source}")
    if reference is not None and not reference.concentration > 0:
        notes.append(NO_CONCENTRATION_REFERENCE)
    flags = _flags(frame, reference, th)
    group_frame = None
    if groups is not None:
        lo = max(0, len(starts) - th.window)
        window_dose = None if dosage is None else dosage[lo:]
        group_frame = group_table(groups, flags_[lo:], counts[lo:], window_dose, area)
        last = None if frame.empty else str(frame["period"].iloc[-1])
        since = None if frame.empty else str(frame["period"].iloc[lo])
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
        lo = max(0, t - th.window + 1)
        times = flagged[lo : t + 1].sum(axis=0)
        now = flagged[t]
        prior = (flagged[max(0, t - th.window) : t] | patrolled[max(0, t - th.window) : t]).any(
            axis=0
        )
        events = counts[t].sum()
        per_period = flagged[lo : t + 1].sum(axis=1)
        per_period = per_period[per_period > 0]  # the periods served something
        near = (ring @ prior.astype(np.float64) > 0) & ~prior
        row: dict[str, Any] = {
            "period": starts[t].date().isoformat(),
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
    if frame.empty:
        return frame
    frame["concentration"] = frame["prior_event_share"] / frame["prior_area_share"].where(
        frame["prior_area_share"] > 0
    )
    # pooled: events in prior cells over the last `pool` periods / all their events, over
    # the mean prior area share of those periods
    pooled_in = frame["prior_events"].rolling(th.pool, min_periods=th.pool).sum()
    pooled_all = frame["events"].rolling(th.pool, min_periods=th.pool).sum()
    pooled_area = frame["prior_area_share"].rolling(th.pool, min_periods=th.pool).mean()
    frame["pooled_events"] = pooled_all
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
    return frame


NO_CONCENTRATION_REFERENCE = (
    "the reference concentration is 0: no recorded event fell in the cells flagged before, "
    "so a rise cannot be measured as a multiple of it; the concentration flag is off until "
    "a reference with such events (retrain on more periods)"
)
"""The note when the reference has no concentration: a bar of 1.15 x 0 is 0, which every
period reaches, and the message divided by it (a small force's backtest: one cell flagged,
no event in it)."""


def self_reference(frame: pd.DataFrame, th: Thresholds) -> Reference | None:
    """The first full window of the series as the reference (None: the series is shorter):
    its pooled concentration and pooled repeat share, the figures the flags compare. One
    period's repeat share swings: on the served loop without feedback
    (``tests/feedback/test_runaway_served.py``) it was 0.57 against 0.79 pooled, and two
    ordinary weeks (pooled 0.93) raised the repeat flag against it. A window pooling a
    period served nothing has no pooled repeat share: the first window that has both
    figures, and as many events as a flag needs (``min_events``), is the reference (None: no
    window has)."""
    if len(frame) < th.window + th.pool:
        return None
    pooled = frame.iloc[th.window + th.pool - 1 :]
    whole = pooled.loc[
        pooled["pooled_concentration"].notna()
        & pooled["pooled_repeat_share"].notna()
        & (pooled["pooled_events"] >= th.min_events)
    ]
    if whole.empty:
        return None
    first = whole.iloc[0]
    return Reference(
        float(first["pooled_concentration"]),
        float(first["pooled_repeat_share"]),
        f"the first full window (period {first['period']})",
    )


def why_no_reference(frame: pd.DataFrame, th: Thresholds) -> str:
    """Why ``self_reference`` found none, in words: too few periods, a period served nothing
    in every full window, or too few events in every window for a flag."""
    need = th.window + th.pool
    if len(frame) < need:
        return (
            f"{len(frame)} periods are monitored, fewer than the {need} the series needs to be "
            f"its own reference (P = {th.window} plus {th.pool} pooled)"
        )
    pooled = frame.iloc[need - 1 :]
    if not pooled["pooled_repeat_share"].notna().any():
        return (
            f"every window of {th.pool} periods after the first {th.window} holds a period "
            "the model served nothing for"
        )
    return (
        f"no full window held the {th.min_events} events a flag needs (most were "
        f"{int(pooled['pooled_events'].max())})"
    )


def reference_from_frame(frame: pd.DataFrame, source: str, min_events: int = 0) -> Reference | None:
    """A reference from a series' figures: the means of its pooled concentration and repeat
    share over the periods whose pooled events reach ``min_events`` (None: no period had
    them). A flag needs that many events; a reference resting on fewer would be compared
    with periods it could not be told from (a small force's backtest: 11-19 events in four
    weeks, 4.55x from the few of them in one flagged cell)."""
    if not frame.empty:
        frame = frame.loc[frame["pooled_events"] >= min_events]
    conc = frame["pooled_concentration"].dropna() if not frame.empty else pd.Series(dtype=float)
    if conc.empty:
        return None
    repeat = frame["repeat_share"].dropna()
    return Reference(float(conc.mean()), float(repeat.mean()) if len(repeat) else 0.0, source)


def _flags(
    frame: pd.DataFrame, reference: Reference | None, th: Thresholds
) -> list[dict[str, Any]]:
    """The concentration and repeat flags of every period (see ``Thresholds``)."""
    if reference is None or frame.empty:
        return []
    out = []
    limit = reference.concentration * th.concentration_rise
    enough = frame["pooled_events"] >= th.min_events
    measurable = reference.concentration > 0  # see NO_CONCENTRATION_REFERENCE
    rising = frame.loc[enough & (frame["pooled_concentration"] >= limit) & measurable]
    for row in rising.to_dict("records"):
        value = float(row["pooled_concentration"])
        out.append(
            _flag(
                "concentration",
                row["period"],
                value,
                limit,
                f"new events come from previously flagged or patrolled cells at {value:.2f}x "
                f"their area share, {value / reference.concentration:.2f}x the reference "
                f"{reference.concentration:.2f} ({reference.source})",
            )
        )
    repeat_limit = max(reference.repeat_share + th.repeat_rise, th.repeat_floor)
    for row in frame.loc[frame["pooled_repeat_share"] >= repeat_limit].to_dict("records"):
        value = float(row["pooled_repeat_share"])
        out.append(
            _flag(
                "repeat",
                row["period"],
                value,
                repeat_limit,
                f"{value:.0%} of the flagged area (mean of the last {th.pool} periods) was "
                f"flagged in at least {th.repeat} of the last {th.window} periods; the "
                f"reference was {reference.repeat_share:.0%}",
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
