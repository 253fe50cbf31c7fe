"""How many patrol areas name a shift block (and an hour) that stands out, on real data.

A historical-mean forecaster (resolution 9, weekly) fitted on the events before ``as_of``
forecasts the next week; ``build_plan`` makes 6 areas of at most 1 km2 and says, per area,
which blocks of the week and of the day (``plan_shifts``) and which hours stand out from an
even spread, for each set of start hours given. Prints one line per area and a count per set.

Cases: ``chicago`` (aggravated assaults as of 2019-07-01, read from ../shared/data; skipped
with a reason when absent) and ``demo`` (Synthetica's residential burglary as of 2024-10-07).

``--cost`` instead prints what the blocks add to a budget on demand from the ``PlanBook`` (10
areas of 1 km2): its CPU time with the blocks and with them stubbed out, built in turn (60
each by default) in one process, so both see the same load.

    .venv/bin/python benchmarks/plan_shifts.py [--case chicago|demo] [--shifts 0,6,12,18]
    .venv/bin/python benchmarks/plan_shifts.py --case demo --cost [--repeat 60]
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


def run_cost(case: str, repeat: int) -> None:
    import hotspots.publishing.plan_document as document
    from hotspots.features import events_to_panel
    from hotspots.forecasters import make_forecaster
    from hotspots.publishing import PlanBook, PlanBudget, PlanInput
    from plans import load_case

    loaded = load_case(case)
    if loaded is None:
        return
    events, target = loaded["events"], loaded["target"]
    as_of = pd.Timestamp(AS_OF[case])
    panel = events_to_panel(events, 9, "W", end=as_of)
    model = make_forecaster("historical_mean", target=(target,)).fit(panel, as_of)
    frame = model.predict(panel, as_of)
    forecast = [(as_of, frame["cell"].to_numpy(), frame["expected_count"].to_numpy())]
    book = PlanBook({target: PlanInput.of(model, as_of, forecast)}, events,
                    default=PlanBudget(1, 1.0), pack=len)  # fmt: skip
    real = document.shift_blocks
    ways = {"with the blocks": real, "without": lambda grid, starts: [None] * grid.counted.size}
    ms: dict[str, list[float]] = {k: [] for k in ways}
    for i in range(2 * repeat):
        name = list(ways)[i % 2]
        document.shift_blocks = ways[name]  # type: ignore[assignment]
        t0 = time.thread_time()
        book.document(book.query(areas=10, max_area_km2=1.0))
        ms[name].append((time.thread_time() - t0) * 1e3)
    document.shift_blocks = real
    print(f"\n== {case}: a budget on demand (10 x 1 km2) from the PlanBook, CPU ms, {repeat} each")
    for name, got in ms.items():
        q1, q2, q3 = np.percentile(got, [25, 50, 75])
        print(f"{name:<16} median {q2:.1f} (quartiles {q1:.1f}-{q3:.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=["chicago", "demo"], action="append")
    parser.add_argument("--shifts", action="append", help="Start hours, e.g. 7,15,23.")
    parser.add_argument("--cost", action="store_true", help="Time the blocks' cost instead.")
    parser.add_argument("--repeat", type=int, default=60, help="Builds each way (--cost).")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    for case in args.case or (["demo"] if args.cost else ["chicago", "demo"]):
        if args.cost:
            run_cost(case, args.repeat)
        else:
            run_case(case, args.shifts or list(SHIFTS))


if __name__ == "__main__":
    main()
