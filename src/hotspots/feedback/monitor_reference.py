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
    ``min_lookback``: a pooled concentration is compared with the reference counting back
    as many periods as both have, at least this many (1: last period's flags alone, a
    noisy few cells; see ``compared_with``).
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
    min_lookback: int = 2

    def __post_init__(self) -> None:
        if not 1 <= self.repeat <= self.window:
            raise ConfigError(
                f"monitor repeat {self.repeat} must be between 1 and window {self.window}"
            )
        if not 1 <= self.min_lookback <= self.window:
            raise ConfigError(
                f"monitor min_lookback {self.min_lookback} must be between 1 and window "
                f"{self.window}"
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
    None: not recorded, a reference from before 2026-12-07, taken as exact).

    A period's prior cells are those flagged in the P periods before it, and the first
    periods of a series have fewer before them: fewer prior cells, the persistent ones, so
    a higher concentration (demo city: 6.6 in its 4th week against 5.3 by its 9th). So the
    figures are compared like with like, both counting back the same ``lookback`` periods:
    ``concentration`` is the mean over the pooled windows whose every period has
    ``lookback`` periods before it (P when the series had P + pool periods; fewer for a
    shorter backtest; None: recorded before 2026-12-07, taken as P), and ``by_lookback``
    holds ``(C, concentration, prior_events, events)`` counting back C < ``lookback``
    periods, for the first windows of a series that has fewer (``compared_with``)."""

    concentration: float
    repeat_share: float | None
    source: str
    prior_events: int | None = None
    events: int | None = None
    lookback: int | None = None
    by_lookback: tuple[tuple[int, float, int, int], ...] = ()

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
        by = tuple(
            (int(c), float(v), int(p), int(n)) for c, v, p, n in data.get("by_lookback") or ()
        )
        found = cls(float(data["concentration"]), share, str(data.get("source")))
        if prior is not None and events is not None:
            found = replace(found, prior_events=int(prior), events=int(events))
        lookback = data.get("lookback")
        return replace(found, lookback=None if lookback is None else int(lookback), by_lookback=by)

    def log_variance(self) -> float:
        """The variance of the log of ``concentration`` from the events it rests on (see
        ``concentration_bar``; 0 when they were not recorded)."""
        return _log_variance(self.prior_events, self.events)

    def at_lookback(self, lookback: int, window: int) -> tuple[float, float] | None:
        """The concentration counting back ``lookback`` periods and the variance of its log
        (``window``: P, what a reference without a ``lookback`` counts back); None: not
        measured."""
        if lookback == (self.lookback or window):
            return self.concentration, self.log_variance()
        for c, conc, prior, events in self.by_lookback:
            if c == lookback:
                return conc, _log_variance(prior, events)
        return None


def _log_variance(prior: int | None, events: int | None) -> float:
    if not prior or not events:
        return 0.0
    return float((1 - prior / events) / prior)


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
    its pooled concentration and pooled repeat share, the figures the flags compare. Full:
    every pooled period counts back P periods for its prior cells (``pooled_lookback``; a
    frame without it, the window at period P + pool). One
    period's repeat share swings: on the served loop without feedback
    (``tests/feedback/test_runaway_served.py``) it was 0.57 against 0.79 pooled, and two
    ordinary weeks (pooled 0.93) raised the repeat flag against it. A window pooling a
    period served nothing has no pooled repeat share: the first window that has both
    figures, and as many events as a flag needs (``min_events``), is the reference (None: no
    window has)."""
    if frame.empty:
        return None
    pooled = frame.loc[full_windows(frame, th)]
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


def full_windows(frame: pd.DataFrame, th: Thresholds) -> pd.Series:
    """Per period, whether its pooled window counts back P periods in every period it pools
    (see ``Reference``)."""
    if "pooled_lookback" in frame:
        return frame["pooled_lookback"] >= th.window
    return pd.Series(np.arange(len(frame)) >= th.window + th.pool - 1, index=frame.index)


def why_no_reference(frame: pd.DataFrame, th: Thresholds) -> str:
    """Why ``self_reference`` found none, in words: too few periods, a period served nothing
    in every full window, or too few events in every window for a flag."""
    need = th.window + th.pool
    pooled = frame.loc[full_windows(frame, th)]
    if pooled.empty:
        return (
            f"{len(frame)} periods are monitored, fewer than the {need} the series needs to be "
            f"its own reference (P = {th.window} plus {th.pool} pooled)"
        )
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
    frame: pd.DataFrame,
    source: str,
    min_events: int = 0,
    pool: int = 1,
    window: int | None = None,
) -> Reference | None:
    """A reference from a series' figures: the means of its pooled concentration and repeat
    share over the periods whose pooled events reach ``min_events`` (None: no period had
    them; a repeat share of None: no such period had one, fewer than P periods before it,
    which is not 0%). A flag needs that many events; a reference resting on fewer would be compared
    with periods it could not be told from (a small force's backtest: 11-19 events in four
    weeks, 4.55x from the few of them in one flagged cell). The events it rests on are those
    of the periods its windows of ``pool`` periods cover, each counted once (not recorded
    when ``frame`` has no per-period counts). With ``window`` (P) and a frame with
    ``pooled_lookback``, the concentration counts back the most periods C <= P that some
    window has before every period it pools, over those windows, and ``by_lookback`` the
    same for each shorter look-back (see ``Reference``)."""
    if window is None or "pooled_lookback" not in frame:
        return _reference_at(frame, source, min_events, pool, None)
    found = [(c, _reference_at(frame, source, min_events, pool, c)) for c in range(window, 0, -1)]
    kept = [(c, ref) for c, ref in found if ref is not None]
    if not kept:
        return None
    (lookback, main), shorter = kept[0], kept[1:]
    by = tuple((c, ref.concentration, ref.prior_events or 0, ref.events or 0) for c, ref in shorter)
    repeat = frame.loc[frame["pooled_events"] >= min_events, "repeat_share"].dropna()
    share = float(repeat.mean()) if len(repeat) else None
    return replace(main, repeat_share=share, lookback=lookback, by_lookback=by[::-1])


def _reference_at(
    frame: pd.DataFrame, source: str, min_events: int, pool: int, lookback: int | None
) -> Reference | None:
    """The reference over the windows counting back ``lookback`` periods in every period
    they pool (None: every window, of the frame's ``pooled_concentration``)."""
    conc = "pooled_concentration" if lookback is None else lookback_column(frame, lookback)
    if frame.empty or conc not in frame:
        return None
    ok = (frame["pooled_events"] >= min_events) & frame[conc].notna()
    if lookback is not None:
        ok &= frame["pooled_lookback"] >= lookback
    used = frame.index[ok]
    if not len(used):
        return None
    kept = frame.loc[used]
    repeat = kept["repeat_share"].dropna()
    ref = Reference(float(kept[conc].mean()), float(repeat.mean()) if len(repeat) else None, source)
    prior, events = _events_of(frame, used, pool, lookback)
    return ref if prior is None else replace(ref, prior_events=prior, events=events)


def lookback_column(frame: pd.DataFrame, lookback: int) -> str:
    """The column of the pooled concentration counting back ``lookback`` periods: the
    frame's own (P) or ``pooled_concentration_C``."""
    own = f"pooled_concentration_{lookback}"
    return own if own in frame else "pooled_concentration"


def _events_of(
    frame: pd.DataFrame, used: Any, pool: int, lookback: int | None = None
) -> tuple[int | None, int | None]:
    """The events in prior cells (counting back ``lookback`` periods; None: P) and all
    events of the periods the windows ending at ``used`` cover, each counted once (None:
    ``frame`` has no per-period counts)."""
    column = "prior_events"
    if lookback is not None and f"prior_events_{lookback}" in frame:
        column = f"prior_events_{lookback}"
    if not {column, "events"} <= set(frame.columns):
        return None, None
    at = frame.index.get_indexer(used)
    covered = np.zeros(len(frame), dtype=bool)
    for i in at:
        covered[max(0, i - pool + 1) : i + 1] = True
    prior = int(frame[column].to_numpy()[covered].sum())
    return prior, int(frame["events"].to_numpy()[covered].sum())


def compared_with(frame: pd.DataFrame, reference: Reference, th: Thresholds) -> pd.DataFrame:
    """Per period, what its pooled window is compared with: ``lookback`` C, the most periods
    both the window (before every period it pools) and the reference count back, the
    window's pooled concentration and events in prior cells counting back C, and the
    reference's concentration at C and the variance of its log; NaN: not compared (C under
    ``min_lookback``, or the reference measured none at C). A frame without
    ``pooled_lookback`` compares every period's pooled concentration with ``reference``."""
    out = pd.DataFrame(index=frame.index)
    out["value"] = frame["pooled_concentration"]
    out["prior_events"] = frame["pooled_prior_events"]
    if "pooled_lookback" not in frame:
        out["lookback"] = th.window
        out["reference"] = reference.concentration
        out["reference_var"] = reference.log_variance()
        return out
    most = reference.lookback or th.window
    caps = np.minimum(frame["pooled_lookback"].to_numpy(dtype=float), most)
    out["lookback"] = caps
    ref = np.full(len(frame), np.nan)
    var = np.full(len(frame), np.nan)
    for c in np.unique(caps[np.isfinite(caps) & (caps >= th.min_lookback)]).astype(int):
        at = caps == c
        found = reference.at_lookback(int(c), th.window)
        if found is not None:
            ref[at], var[at] = found
        if c < th.window:
            pooled = frame[f"prior_events_{c}"].rolling(th.pool, min_periods=th.pool).sum()
            out.loc[at, "value"] = frame.loc[at, f"pooled_concentration_{c}"]
            out.loc[at, "prior_events"] = pooled[at]
    out["reference"] = ref
    out["reference_var"] = var
    return out


def concentration_bar(frame: pd.DataFrame, reference: Reference, th: Thresholds) -> pd.Series:
    """Per period, the pooled concentration that raises the flag: the reference (at the
    look-back both count back, ``compared_with``; NaN: not compared) times
    ``concentration_rise`` or, when chance alone moves the ratio of the two more, times
    ``exp(concentration_z * se)``. ``se``: the standard error of log(pooled / reference)
    when each period's recorded events fall in prior cells independently (binomial counts:
    ``(1 - s) / n`` for ``n`` events in prior cells, a share ``s`` of all, for the pooled
    periods and for the reference's, added). A reference measured on a few folds, or a
    force with few events, gets a wider bar; a city with many, the rise alone."""
    cmp = compared_with(frame, reference, th)
    prior = cmp["prior_events"].astype(float)
    share = prior / frame["pooled_events"].where(frame["pooled_events"] > 0)
    var = (1 - share) / prior.where(prior > 0) + cmp["reference_var"]
    noise = np.exp(th.concentration_z * np.sqrt(var))
    return cmp["reference"] * np.maximum(noise, th.concentration_rise)
