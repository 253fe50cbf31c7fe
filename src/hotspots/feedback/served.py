"""What was served: the published snapshots, read back as ranked cells per model and period.

The snapshot store keeps the very bytes each forecast was served as, with the version and
the time it was issued, so it is the record of what officers were shown; re-forecasting a
registered version at each ``as_of`` would give the same ranking only while no late event
before ``as_of`` arrived since, and would not say which version was current then. Per model
and ``as_of`` the last snapshot issued is taken (what the service served when it stopped
serving that period), and only its first period (lead 1, as the backtest scores).

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


def snapshots_to_served(store: SnapshotReader, name: str) -> list[ServedForecast]:
    """Every ``as_of`` of ``name`` the store holds, from its last issued snapshot, by as_of."""
    return [served_forecast(store, name, meta) for meta in last_issued(store, name).values()]


def last_issued(store: SnapshotReader, name: str) -> dict[str, dict[str, Any]]:
    """The metadata of the last snapshot issued for each ``as_of`` of ``name`` (the local ISO
    text the store lists), by as_of."""
    last: dict[str, dict[str, Any]] = {}
    for meta in store.list(name):  # sorted by as_of, then issued_at
        last[meta["as_of"]] = meta
    return dict(sorted(last.items()))


def served_forecast(store: SnapshotReader, name: str, meta: dict[str, Any]) -> ServedForecast:
    """The snapshot ``meta`` describes, read back: its first period's cells, rank 1 first."""
    stored = store.load(name, meta["as_of"], meta["issued_at"], period=0)
    document = json.loads(stored.bytes)
    rows = sorted(document["hotspots"], key=lambda h: int(h["rank"]))
    start, end = meta["periods"][0]
    return ServedForecast(
        name=name,
        version=str(meta["version"]),
        as_of=pd.Timestamp(start),
        period_end=pd.Timestamp(end),
        issued_at=pd.Timestamp(meta["issued_at"]),
        target=tuple(meta["target"]),
        ranked=strings_to_cells(str(h["cell"]) for h in rows),
        expected=np.array([float(h.get("expected_count", np.nan)) for h in rows]),
    )
