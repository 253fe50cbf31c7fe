"""The normalised event table every later layer reads.

One row per accepted incident:

=============== ===================== =====================================================
column          dtype                 meaning
=============== ===================== =====================================================
event_id        string                the source id, or ``r<source_row>`` where none is mapped
occurred_at     datetime64[ns, tz]    local time in the configured timezone; for coarser
                                      precisions the start of the day / month
time_precision  category              ``minute`` (any time of day), ``day`` or ``month``
lat, lng        float64               WGS84 degrees
category        string                canonical crime category
origin          string (nullable)     how the incident came to police, where the source says
source_row      int64                 1-based record number in the source file (1 = first
                                      data row after the header)
=============== ===================== =====================================================
"""

from __future__ import annotations

import pandas as pd

EVENT_COLUMNS: tuple[str, ...] = (
    "event_id",
    "occurred_at",
    "time_precision",
    "lat",
    "lng",
    "category",
    "origin",
    "source_row",
)
PRECISIONS: tuple[str, ...] = ("minute", "day", "month")
"""Time precisions, finest first."""

PRECISION_DTYPE = pd.CategoricalDtype(list(PRECISIONS), ordered=True)


def empty_events(tz: str = "UTC") -> pd.DataFrame:
    """An event table with no rows and the right dtypes."""
    return pd.DataFrame(
        {
            "event_id": pd.Series([], dtype="string"),
            "occurred_at": pd.Series([], dtype=f"datetime64[ns, {tz}]"),
            "time_precision": pd.Series([], dtype=PRECISION_DTYPE),
            "lat": pd.Series([], dtype="float64"),
            "lng": pd.Series([], dtype="float64"),
            "category": pd.Series([], dtype="string"),
            "origin": pd.Series([], dtype="string"),
            "source_row": pd.Series([], dtype="int64"),
        }
    )
