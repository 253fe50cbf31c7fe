"""The monitor's thresholds and its reference: what the figures were before the model was
in use (its backtest at training time, or the series' own first full window), which the
flags compare with (see ``feedback.monitor``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from hotspots.errors import ConfigError


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
    """What the figures were before the model was in use (see the module docstring);
    ``repeat_share`` None when it was not measured (a backtest of fewer folds than P)."""

    concentration: float
    repeat_share: float | None
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
        share = None if repeat is None else float(repeat)
        return cls(float(data["concentration"]), share, str(data.get("source")))


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
    them; a repeat share of None: no such period had one, fewer than P periods before it,
    which is not 0%). A flag needs that many events; a reference resting on fewer would be compared
    with periods it could not be told from (a small force's backtest: 11-19 events in four
    weeks, 4.55x from the few of them in one flagged cell)."""
    if not frame.empty:
        frame = frame.loc[frame["pooled_events"] >= min_events]
    conc = frame["pooled_concentration"].dropna() if not frame.empty else pd.Series(dtype=float)
    if conc.empty:
        return None
    repeat = frame["repeat_share"].dropna()
    return Reference(float(conc.mean()), float(repeat.mean()) if len(repeat) else None, source)
