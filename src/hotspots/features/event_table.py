"""The events behind a panel's counts, for models that need more than counts per period.

A panel counts events per period; a self-exciting model or a near-repeat feature needs
*when* within the period and *where* within the cell they happened. ``EventTable`` keeps
the counted events (time, cell, category, point, time precision) as plain arrays sorted by
time, and ``EventTable.realign`` gives a forecaster the part of it that lies before its
origin, on its own fitted cells and categories, as ``History.events``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hotspots.errors import DataValidationError

PRECISIONS: tuple[str, ...] = ("minute", "day", "month")
"""``EventTable.precision`` codes: 0 = a time of day is known, 1 = the day, 2 = the month."""

NS_PER_DAY = 86_400 * 10**9


@dataclass(frozen=True, eq=False)
class EventTable:
    """Events as arrays, sorted by ``time_ns``.

    ``time_ns`` is naive local wall-clock time in ns; ``cell`` is the position of the
    event's cell in the owner's cells (a panel's or a fitted model's) and ``category`` the
    position of its category in the owner's categories; ``lat``/``lng`` are the reported
    point; ``precision`` codes index ``PRECISIONS``.
    """

    time_ns: npt.NDArray[np.int64]
    cell: npt.NDArray[np.int64]
    category: npt.NDArray[np.int16]
    lat: npt.NDArray[np.float64]
    lng: npt.NDArray[np.float64]
    precision: npt.NDArray[np.int8]

    def __post_init__(self) -> None:
        n = np.shape(self.time_ns)[0] if np.ndim(self.time_ns) == 1 else -1
        arrays = (self.cell, self.category, self.lat, self.lng, self.precision)
        if n < 0 or any(np.shape(a) != (n,) for a in arrays):
            raise DataValidationError(
                "event table arrays must be 1-d and of one length; got shapes "
                f"{[np.shape(a) for a in (self.time_ns, *arrays)]}"
            )
        if n > 1 and np.any(np.diff(self.time_ns) < 0):
            raise DataValidationError("event table times must be sorted")

    def __len__(self) -> int:
        return int(self.time_ns.size)

    @classmethod
    def from_arrays(
        cls,
        time_ns: npt.ArrayLike,
        cell: npt.ArrayLike,
        category: npt.ArrayLike,
        lat: npt.ArrayLike,
        lng: npt.ArrayLike,
        precision: npt.ArrayLike | None = None,
    ) -> EventTable:
        """A table from unsorted arrays (sorted here, stably, by time)."""
        t = np.asarray(time_ns, dtype=np.int64)
        order = np.argsort(t, kind="stable")
        prec = np.zeros(t.size, np.int8) if precision is None else np.asarray(precision, np.int8)
        return cls(
            t[order],
            np.asarray(cell, dtype=np.int64)[order],
            np.asarray(category, dtype=np.int16)[order],
            np.asarray(lat, dtype=np.float64)[order],
            np.asarray(lng, dtype=np.float64)[order],
            prec[order],
        )

    @property
    def has_day_times(self) -> bool:
        """True when every event is known to the day or finer (not month-only)."""
        return bool(self.time_ns.size) and bool((self.precision < 2).all())

    def realign(
        self,
        cells: npt.NDArray[np.uint64],
        categories: tuple[str, ...],
        to_cells: npt.NDArray[np.uint64],
        to_categories: tuple[str, ...],
        before_ns: int,
    ) -> EventTable:
        """The events before ``before_ns`` re-coded from (``cells``, ``categories``) to
        (``to_cells``, ``to_categories``); events in cells or categories the target lacks
        are dropped, as the panel's counts drop them."""
        stop = int(np.searchsorted(self.time_ns, before_ns, side="left"))
        if to_categories == categories and np.array_equal(to_cells, cells):  # views, no copy
            return EventTable(
                self.time_ns[:stop],
                self.cell[:stop],
                self.category[:stop],
                self.lat[:stop],
                self.lng[:stop],
                self.precision[:stop],
            )
        cell_ids = cells[self.cell[:stop]]
        pos = np.searchsorted(to_cells, cell_ids)
        pos_c = np.minimum(pos, max(to_cells.size - 1, 0))
        found = (pos < to_cells.size) & (to_cells[pos_c] == cell_ids) if to_cells.size else None
        index = {name: j for j, name in enumerate(to_categories)}
        lookup = np.array([index.get(name, -1) for name in categories], dtype=np.int64)
        cat = lookup[self.category[:stop]] if lookup.size else np.empty(0, np.int64)
        keep = np.zeros(stop, bool) if found is None else found & (cat >= 0)
        return EventTable(
            self.time_ns[:stop][keep],
            pos_c[keep].astype(np.int64),
            cat[keep].astype(np.int16),
            self.lat[:stop][keep],
            self.lng[:stop][keep],
            self.precision[:stop][keep],
        )

    def of_categories(self, positions: npt.ArrayLike) -> EventTable:
        """The events whose category is one of ``positions``."""
        keep = np.isin(self.category, np.asarray(positions, dtype=np.int16))
        return EventTable(
            self.time_ns[keep],
            self.cell[keep],
            self.category[keep],
            self.lat[keep],
            self.lng[keep],
            self.precision[keep],
        )


def precision_codes(values: npt.ArrayLike | None, n: int) -> npt.NDArray[np.int8]:
    """``PRECISIONS`` codes of an event table's ``time_precision`` column (absent: minute)."""
    if values is None:
        return np.zeros(n, dtype=np.int8)
    text = np.asarray(values)
    codes = np.zeros(n, dtype=np.int8)
    codes[text == "day"] = 1
    codes[text == "month"] = 2
    return codes
