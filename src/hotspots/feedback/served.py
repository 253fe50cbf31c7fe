"""What was served: the published snapshots, read back as ranked cells per model and period.

The snapshot store keeps the very bytes each forecast was served as, with the version and
the time it was issued, so it is the record of what officers were shown; re-forecasting a
registered version at each ``as_of`` would give the same ranking only while no late event
before ``as_of`` arrived since, and would not say which version was current then. Per model
and ``as_of`` the last snapshot issued is taken (what the service served when it stopped
serving that period), and each of its periods: the first (lead 1, as the backtest scores)
and, for a service forecasting several periods ahead, each later one (``horizon`` 2, ...),
scored on the period it was made for.

A served plan is compared with the forecast it was built from (``plan_forecast``): the last
snapshot of the plan's model version issued for its ``as_of`` by the time the plan was
recorded, which differs from the last snapshot issued when a retrain was promoted mid-period.

The store is any object with ``list(name)`` and ``load(name, as_of, issued_before, period)``
(``publishing.snapshot_store.SnapshotStore``), so tests can give a stand-in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.grid import strings_to_cells
from hotspots.publishing.snapshot import iso_local

CellArray = npt.NDArray[np.uint64]


class SnapshotReader(Protocol):
    """The two calls of a snapshot store this module makes."""

    def list(self, name: str) -> list[dict[str, Any]]: ...

    def load(self, name: str, as_of: Any, issued_before: Any = None, period: int = 0) -> Any: ...


@dataclass(frozen=True, eq=False)
class ServedForecast:
    """One served forecast: its period (naive local) and its study cells, rank 1 first."""

    name: str
    version: str
    as_of: pd.Timestamp
    period_end: pd.Timestamp
    issued_at: pd.Timestamp
    target: tuple[str, ...]
    ranked: CellArray
    expected: npt.NDArray[np.float64] | None = None
    """The expected count of each of ``ranked``, as served (None: not recorded)."""
    horizon: int = 1
    """Which period of the forecast from ``as_of`` this is (1: the next period)."""
    start: pd.Timestamp | None = None
    """The start of the period forecast (None: ``as_of``, the next period)."""

    @property
    def period_start(self) -> pd.Timestamp:
        """The start of the period this forecast is for (``as_of`` at horizon 1)."""
        return self.as_of if self.start is None else self.start


class ServedMemo:
    """A snapshot store whose served forecasts are read back once: ``served_forecast`` on it
    parses each snapshot period's document the first time and keeps what it read (ranked
    cells and counts, small beside the document), so the parts of one report (the realised
    figures, the plans, the monitor) share the parsing, the report's largest avoidable cost.
    For one computation over a fixed state: a later publish is not seen by the kept ones."""

    def __init__(self, store: SnapshotReader) -> None:
        self.store = store
        self.read: dict[tuple[str, str, str, int], ServedForecast] = {}

    def list(self, name: str) -> list[dict[str, Any]]:
        return self.store.list(name)

    def load(self, name: str, as_of: Any, issued_before: Any = None, period: int = 0) -> Any:
        return self.store.load(name, as_of, issued_before, period=period)


def snapshots_to_served(store: SnapshotReader, name: str) -> list[ServedForecast]:
    """Every ``as_of`` of ``name`` the store holds, from its last issued snapshot, each of its
    periods (horizon 1, 2, ...), by as_of then horizon."""
    return [
        served_forecast(store, name, meta, period)
        for meta in last_issued(store, name).values()
        for period in range(len(meta["periods"]))
    ]


def last_issued(store: SnapshotReader, name: str) -> dict[str, dict[str, Any]]:
    """The metadata of the last snapshot issued for each ``as_of`` of ``name`` (the local ISO
    text the store lists), by as_of."""
    last: dict[str, dict[str, Any]] = {}
    for meta in store.list(name):  # sorted by as_of, then issued_at
        last[meta["as_of"]] = meta
    return dict(sorted(last.items()))


def served_forecast(
    store: SnapshotReader, name: str, meta: dict[str, Any], period: int = 0
) -> ServedForecast:
    """The snapshot ``meta`` describes, read back: the cells of its ``period`` (0: the
    first, horizon 1), rank 1 first (kept by a ``ServedMemo`` store)."""
    memo = store.read if isinstance(store, ServedMemo) else None
    key = (name, str(meta["as_of"]), str(meta["issued_at"]), period)
    if memo is not None and key in memo:
        return memo[key]
    found = _read_served(store, name, meta, period)
    if memo is not None:
        memo[key] = found
    return found


def _read_served(
    store: SnapshotReader, name: str, meta: dict[str, Any], period: int
) -> ServedForecast:
    stored = store.load(name, meta["as_of"], meta["issued_at"], period=period)
    document = json.loads(stored.bytes)
    rows = sorted(document["hotspots"], key=lambda h: int(h["rank"]))
    start, end = meta["periods"][period]
    return ServedForecast(
        name=name,
        version=str(meta["version"]),
        as_of=pd.Timestamp(meta["periods"][0][0]),
        period_end=pd.Timestamp(end),
        issued_at=pd.Timestamp(meta["issued_at"]),
        target=tuple(meta["target"]),
        ranked=strings_to_cells(str(h["cell"]) for h in rows),
        expected=np.array([float(h.get("expected_count", np.nan)) for h in rows]),
        horizon=period + 1,
        start=pd.Timestamp(start) if period else None,
    )


def built_from(
    metas: list[dict[str, Any]],
    *,
    as_of: pd.Timestamp,
    version: str,
    recorded_at: pd.Timestamp | None,
) -> dict[str, Any] | None:
    """Of a model's snapshots (``metas``, the store's ``list``), the one a plan of ``version``
    for ``as_of`` recorded at ``recorded_at`` was built from: the last of that version for
    that ``as_of`` issued by then (None: the last; none by then: the first); None when the
    store holds no snapshot of that version for it."""
    key = iso_local(pd.Timestamp(as_of))
    mine = [m for m in metas if m["as_of"] == key and str(m["version"]) == version]
    if not mine:
        return None
    if recorded_at is None:
        return mine[-1]
    limit = _utc(recorded_at)
    before = [m for m in mine if _utc(pd.Timestamp(m["issued_at"])) <= limit]
    return before[-1] if before else mine[0]


def _utc(ts: pd.Timestamp) -> pd.Timestamp:
    ts = pd.Timestamp(ts)
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")
