"""How long the largest plan a request may ask for takes, and how fast a larger one is refused.

A plan's time grows with the square of its areas' cells (each growth step scans the area's
frontier, for each of the 16 seed candidates), so ``check_budget`` refuses an area larger than
``MAX_AREA_CELLS`` cells. On the demo city (Synthetica as ``make demo`` makes it, residential
burglary, resolution 9, weekly) this times, for a baseline's forecast of one week, with the
service's ``PlanBook`` (events trimmed and indexed, cell areas computed, once per book):

- ``grow ms``: ``grow_areas`` alone (the default seed ``area``, ``stop=cap``);
- ``plan ms``: the document and its JSON bytes, as a request for a new budget builds them;

for the default budget, the largest area allowed with 6 and with 50 areas (the most
``areas=`` takes), and the refusal of 80 km2 and 1e308 km2 (the time to the 422's ConfigError).

    nice -n 10 .venv/bin/python benchmarks/plan_limits.py [--repeat N]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("historical_mean", "kde")


def plan_bytes(book: Any, areas: int, limit: float) -> bytes:
    """A new budget's plan as a request builds it: the document and its JSON bytes."""
    from hotspots.publishing import plan_to_bytes

    return plan_to_bytes(book.document(book.query(areas=areas, max_area_km2=limit)), "json")


def timed(call: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """The median wall time of ``call()`` in ms over ``repeat`` runs, and its last result."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        try:
            out = call()
        except Exception as err:  # a refusal is the result being timed
            out = err
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="Runs per budget (median).")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from hotspots.features import events_to_panel
    from hotspots.forecasters import make_forecaster
    from hotspots.grid import cells_area_km2
    from hotspots.publishing import (
        MAX_AREA_CELLS,
        PlanBook,
        PlanBudget,
        PlanInput,
        grow_areas,
    )
    from ingest import machine
    from plans import load_case

    print(f"load average before: {os.getloadavg()[0]:.2f}")
    loaded = load_case("demo")
    assert loaded is not None
    events, target, as_of = loaded["events"], loaded["target"], loaded["weeks"][0]
    panel = events_to_panel(events, 9, "W", end=as_of + pd.Timedelta(days=7))
    km2 = cells_area_km2(panel.cells)
    largest = math.floor(MAX_AREA_CELLS * float(km2.min()) * 100) / 100
    print(
        f"demo city: {panel.cells.size:,} cells (res 9, {km2.sum():.0f} km2), as_of "
        f"{as_of.date()}; the largest area allowed: {MAX_AREA_CELLS} cells = {largest} km2"
    )
    budgets = [(6, 1.0), (6, largest), (50, largest), (6, 80.0), (6, 1e308)]
    print(f"{'model':<16}{'budget':<18}{'cells per area':>16}{'grow ms':>9}{'plan ms':>9}")
    for kind in KINDS:
        model = make_forecaster(kind, target=(target,)).fit(panel, as_of)
        frame = model.predict(panel, as_of)
        score = frame["expected_count"].to_numpy(np.float64)
        forecast = [(as_of, frame["cell"].to_numpy(), score)]
        book = PlanBook({target: PlanInput.of(model, as_of, forecast)}, events,
                        default=PlanBudget(6, 1.0), pack=len)  # fmt: skip
        for areas, limit in budgets:
            refused = limit > largest
            grow_ms, members = (
                (math.nan, None)
                if refused
                else timed(
                    partial(grow_areas, panel.cells, score, km2, PlanBudget(areas, limit)),
                    args.repeat,
                )
            )
            plan_ms, out = timed(partial(plan_bytes, book, areas, limit), args.repeat)
            if isinstance(out, Exception):
                sizes = f"refused: {type(out).__name__}"
            else:
                assert isinstance(members, list)
                sizes = f"{min(m.size for m in members)}-{max(m.size for m in members)}"
            print(
                f"{kind:<16}{f'{areas} x {limit:g} km2':<18}{sizes:>16}{grow_ms:>9.1f}"
                f"{plan_ms:>9.1f}"
            )
            if isinstance(out, Exception):
                print(f"    {out}")
    print(f"load average after: {os.getloadavg()[0]:.2f}\nmachine: {machine()}")


if __name__ == "__main__":
    main()
