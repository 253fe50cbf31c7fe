"""The monitor's thresholds and its reference: what the figures were before the model was
in use (its backtest at training time, or the series' own first full window), which the
flags compare with (see ``feedback.monitor``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from hotspots.errors import ConfigError


@dataclass(frozen=True)
class Thresholds:
    """When the monitor raises a flag (the defaults are documented in the README).

    ``concentration_rise``: the pooled concentration of new events in prior cells is at least
    this many times the reference's (1.15: a seventh more of the recorded crime than before
    comes from where the model sent patrols, beyond what their area and the past explain),
    and beyond what chance moves it by: ``concentration_z`` standard errors of the log ratio
    of the two, from the events each rests on (``concentration_bar``; 0: the rise alone).
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
    concentration_z: float = 3.0
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
    """What the figures were before the model was in use (see the module docstring);
    ``repeat_share`` None when it was not measured (a backtest of fewer folds than P).
    ``prior_events`` of ``events``: the recorded events of the periods the concentration was
    measured on that fell in prior cells, and all of them (what its noise is judged from;
    None: not recorded, a reference from before 2026-12-07, taken as exact)."""

    concentration: float
    repeat_share: float | None
    source: str
    prior_events: int | None = None
    events: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (the manifest keeps it)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Reference | None:
        """The reference a manifest recorded, or None."""
        if not data or data.get("concentration") is None:
            return None
        repeat = data.get("repeat_share")
        share = None if repeat is None else float(repeat)
        prior, events = data.get("prior_events"), data.get("events")
        if prior is None or events is None:
            return cls(float(data["concentration"]), share, str(data.get("source")))
        return cls(
            float(data["concentration"]), share, str(data.get("source")), int(prior), int(events)
        )

    def log_variance(self) -> float:
        """The variance of the log of ``concentration`` from the events it rests on (see
        ``concentration_bar``; 0 when they were not recorded)."""
        if not self.prior_events or not self.events:
            return 0.0
        return float((1 - self.prior_events / self.events) / self.prior_events)


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
        int(first["pooled_prior_events"]),
        int(first["pooled_events"]),
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


def reference_from_frame(
    frame: pd.DataFrame, source: str, min_events: int = 0, pool: int = 1
) -> Reference | None:
    """A reference from a series' figures: the means of its pooled concentration and repeat
    share over the periods whose pooled events reach ``min_events`` (None: no period had
    them; a repeat share of None: no such period had one, fewer than P periods before it,
    which is not 0%). A flag needs that many events; a reference resting on fewer would be compared
    with periods it could not be told from (a small force's backtest: 11-19 events in four
    weeks, 4.55x from the few of them in one flagged cell). The events it rests on are those
    of the periods its windows of ``pool`` periods cover, each counted once (not recorded
    when ``frame`` has no per-period counts)."""
    used = frame.index[
        (frame["pooled_events"] >= min_events) & frame["pooled_concentration"].notna()
    ] if not frame.empty else frame.index  # fmt: skip
    if not len(used):
        return None
    kept = frame.loc[used]
    repeat = kept["repeat_share"].dropna()
    ref = Reference(
        float(kept["pooled_concentration"].mean()),
        float(repeat.mean()) if len(repeat) else None,
        source,
    )
    if not {"prior_events", "events"} <= set(frame.columns):
        return ref
    at = frame.index.get_indexer(used)
    covered = np.zeros(len(frame), dtype=bool)
    for i in at:
        covered[max(0, i - pool + 1) : i + 1] = True
    prior = int(frame["prior_events"].to_numpy()[covered].sum())
    return replace(ref, prior_events=prior, events=int(frame["events"].to_numpy()[covered].sum()))


def concentration_bar(frame: pd.DataFrame, reference: Reference, th: Thresholds) -> pd.Series:
    """Per period, the pooled concentration that raises the flag: the reference times
    ``concentration_rise`` or, when chance alone moves the ratio of the two more, times
    ``exp(concentration_z * se)``. ``se``: the standard error of log(pooled / reference)
    when each period's recorded events fall in prior cells independently (binomial counts:
    ``(1 - s) / n`` for ``n`` events in prior cells, a share ``s`` of all, for the pooled
    periods and for the reference's, added). A reference measured on a few folds, or a
    force with few events, gets a wider bar; a city with many, the rise alone."""
    prior = frame["pooled_prior_events"].astype(float)
    share = prior / frame["pooled_events"].where(frame["pooled_events"] > 0)
    var = (1 - share) / prior.where(prior > 0) + reference.log_variance()
    noise = np.exp(th.concentration_z * np.sqrt(var))
    return reference.concentration * np.maximum(noise, th.concentration_rise)
