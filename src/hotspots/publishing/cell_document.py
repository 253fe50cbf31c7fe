"""One cell's document (``GET /v1/cells/{cell}``): its forecast in every published period of
a served model and, unless suppressed, its recent counts."""

from __future__ import annotations

from typing import Any

from hotspots.publishing.served import Served
from hotspots.publishing.snapshot import iso_local


def cell_document(served: Served, cell: str, pos: int) -> dict[str, Any]:
    """The cell's forecast per published period and its recent counts (None if suppressed);
    ``cell`` is its hexadecimal id, ``pos`` its position in the model's sorted cells."""
    snapshot = served.snapshot
    first = snapshot.tables[0]
    suppressed = bool(first.suppressed[served.positions[0][pos]])
    forecasts = []
    for h, table in enumerate(snapshot.tables):
        r = int(served.positions[h][pos])
        start, end = snapshot.periods[h]
        forecasts.append(
            {
                "period": {"start": iso_local(start), "end": iso_local(end)},
                "rank": int(table.rank[r]),
                "of": len(table),
                "expected_count": round(float(table.expected_count[r]), 4),
                "interval": {"low": int(table.low[r]), "high": int(table.high[r]), "level": 0.8},
                "relative_risk": round(float(table.relative_risk[r]), 4),
                "drivers": list(table.drivers[r]),
            }
        )
    history = None
    if not suppressed:
        history = {
            "periods": [iso_local(p) for p in served.history_periods],
            "counts": served.history[pos].tolist(),
        }
    return {
        "cell": cell,
        "model": {"name": served.name, "version": served.version},
        "as_of": iso_local(snapshot.as_of),
        "data_through": iso_local(snapshot.data_through),
        "target": list(snapshot.target),
        "suppressed": suppressed,
        "forecast": forecasts,
        "history": history,
    }
