"""How many patrol areas name a shift block (and an hour) that stands out, on real data.

A historical-mean forecaster (resolution 9, weekly) fitted on the events before ``as_of``
forecasts the next week; ``build_plan`` makes 6 areas of at most 1 km2 and says, per area,
which blocks of the week and of the day (``plan_shifts``) and which hours stand out from an
even spread, for each set of start hours given. Prints one line per area and a count per set.

Cases: ``chicago`` (aggravated assaults as of 2019-07-01, read from ../shared/data; skipped
with a reason when absent) and ``demo`` (Synthetica's residential burglary as of 2024-10-07).

    .venv/bin/python benchmarks/plan_shifts.py [--case chicago|demo] [--shifts 0,6,12,18]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
AS_OF = {"chicago": "2019-07-01", "demo": "2024-10-07"}
SHIFTS = ("0,6,12,18", "7,15,23")


def shown(items: list[dict[str, Any]], top: int = 2) -> str:
    return ", ".join(f"{h['label']} {h['lift']}x/{h['events']}" for h in items[:top]) or "-"


def run_case(case: str, shifts: list[str]) -> None:
    from hotspots.features import events_to_panel
    from hotspots.forecasters import make_forecaster
    from hotspots.publishing import PlanBudget, build_plan
    from plans import load_case

    loaded = load_case(case)
    if loaded is None:
        return
    events, target = loaded["events"], loaded["target"]
    as_of = pd.Timestamp(AS_OF[case])
    panel = events_to_panel(events, 9, "W", end=as_of)
    model = make_forecaster("historical_mean", target=(target,)).fit(panel, as_of)
    frame = model.predict(panel, as_of).assign(as_of=as_of)
    print(f"\n== {case}: {target!r} as of {as_of.date()}, 6 areas of at most 1 km2")
    for text in shifts:
        t0 = time.perf_counter()
        plan = build_plan({target: frame}, panel.cells, 9, events, as_of=as_of, freq="W",
                          budget=PlanBudget(6, 1.0), categories={target: (target,)},
                          shifts=text)  # fmt: skip
        ms = (time.perf_counter() - t0) * 1e3
        print(f"-- shifts {text} (plan built in {ms:.0f} ms)")
        print(f"{'area':>4} {'timed':>6}  {'blocks of the week':<52} {'blocks of the day':<42} "
              f"{'hours of the week':<46} hours of the day")  # fmt: skip
        counts = np.zeros(4, dtype=int)
        for area in plan["areas"]:
            when = area["when"]
            if isinstance(when, str):
                print(f"{area['rank']:>4} {when}")
                continue
            keys = ("top_blocks", "top_blocks_of_day", "top_hours", "top_hours_of_day")
            counts += [bool(when[k]) for k in keys]
            print(
                f"{area['rank']:>4} {when['events_with_time']:>6}  {shown(when['top_blocks']):<52} "
                f"{shown(when['top_blocks_of_day']):<42} {shown(when['top_hours']):<46} "
                f"{shown(when['top_hours_of_day'])}"
            )
        n = len(plan["areas"])
        print(
            f"areas naming a block of the week {counts[0]}/{n}, of the day {counts[1]}/{n}; "
            f"an hour of the week {counts[2]}/{n}, of the day {counts[3]}/{n}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=["chicago", "demo"], action="append")
    parser.add_argument("--shifts", action="append", help="Start hours, e.g. 7,15,23.")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    for case in args.case or ["chicago", "demo"]:
        run_case(case, args.shifts or list(SHIFTS))


if __name__ == "__main__":
    main()
