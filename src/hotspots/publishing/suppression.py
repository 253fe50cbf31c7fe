"""The one suppression rule (``HOTSPOTS_MIN_EVENTS_SHOWN``): a count of events under the
threshold is not shown. The forecast document, the plans and the realised effectiveness all
decide with ``withheld``; what they show instead is the ``suppressed`` flag (and null,
``"withheld"`` or no reason in place of the count)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from hotspots.errors import ConfigError


def checked_min_events(min_events_shown: Any) -> int:
    """``min_events_shown`` as an int; ``ConfigError`` naming it when it is no whole number."""
    if isinstance(min_events_shown, bool) or not isinstance(min_events_shown, int | np.integer):
        raise ConfigError(f"min_events_shown must be a whole number, got {min_events_shown!r}")
    return int(min_events_shown)


def withheld(counts: npt.ArrayLike, min_events_shown: Any) -> npt.NDArray[np.bool_]:
    """Which ``counts`` are under the threshold, so not shown (0: every count shown). A
    missing count (NaN) is not withheld: there is nothing to show."""
    threshold = checked_min_events(min_events_shown)
    return np.asarray(counts, dtype=np.float64) < threshold
