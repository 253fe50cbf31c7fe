"""How often the feedback-loop monitor flags a city WITHOUT feedback (a false alarm), and how
soon it flags the runaway loop on the same draws, per seed and reference length, for several
``concentration_z`` (0: the bar is the reference x 1.15 alone, the rule before 2026-12-07).

Two cities: ``demo``, the demo city (``hotspots demo-data``: 730 days, 150,000 events, H3 9)
per city seed, residential burglary alone as ``training/demo.toml`` (~250 a week over 5,170
cells), its own weekly truth (seasons included), the loop from week 84; ``loop``, the city of
``tests/feedback/test_runaway_loop.py`` (42 weeks, 60,000 events, H3 8, every category,
stationary) per draw seed. Each run's reference is its first ``--refs`` periods before the
loop (6: as a model trained with ``--folds 6``; 12: the default backtest).

    .venv/bin/python benchmarks/feedback_quiet.py [--city demo] [--seeds 10] [--refs 6 12]
        [--zs 3.0] [--lookbacks 1 2 3]

``--lookbacks``: ``min_lookback`` values (the fewest periods before every period of a pooled
window that a compared figure and its reference count back; ``feedback.monitor_reference``).
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

from hotspots.feedback.monitor_reference import Thresholds
from hotspots.feedback.simulation import LoopRun, loop_monitor, simulate_loop
from hotspots.forecasters import make_forecaster
from hotspots.synthetic import City, generate_city


def _runs(city_kind: str, seed: int, ref: int, discovery: float) -> tuple[City, LoopRun, LoopRun]:
    model = make_forecaster("rolling_mean", target=None)
    if city_kind == "demo":
        city = generate_city(seed=seed, days=730, target_events=150_000, resolution=9)
        kw = {"history": 84, "stationary": False, "category": "Burglary Residential", "seed": 0}
    else:
        city = generate_city(
            seed=3, start="2023-01-02", days=7 * 42, target_events=60_000, resolution=8
        )
        kw = {"history": 20, "seed": seed}
    runs = [
        simulate_loop(city, model, discovery=d, reference_periods=ref, **kw)  # type: ignore[arg-type]
        for d in (discovery, 0.0)
    ]
    return city, runs[0], runs[1]


def _first(city: City, run: LoopRun, th: Thresholds, served: bool) -> int | None:
    """Weeks from the loop's start to the first flag of any figure (1: its first week;
    0 or less: during the reference periods); None: never."""
    cells, periods = city.cells, run.periods
    found = loop_monitor(cells, periods, run.flagged, run.recorded, run.start, th, served=served)
    at = sorted({str(f["period"]) for f in found.flags})
    if not at:
        return None
    return int(periods.get_loc(at[0])) - run.start + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--city", choices=["demo", "loop"], default="demo")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--refs", type=int, nargs="+", default=[6, 12])
    parser.add_argument("--zs", type=float, nargs="+", default=[0.0, 2.0, 2.5, 3.0, 3.5])
    parser.add_argument("--discovery", type=float, default=0.3)
    parser.add_argument(
        "--lookbacks",
        type=int,
        nargs="+",
        default=[Thresholds().min_lookback],
        help="min_lookback values: the fewest periods a compared figure counts back",
    )
    parser.add_argument(
        "--served",
        action="store_true",
        help="monitor the loop's weeks alone, as a model served"
        " after training on the reference periods (else the reference periods and the loop's)",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    rows = []
    for seed in args.seeds:
        for ref in args.refs:
            city, loop, quiet = _runs(args.city, seed, ref, args.discovery)
            weeks = len(loop.periods) - loop.start
            for z, low in ((z, low) for z in args.zs for low in args.lookbacks):
                th = replace(Thresholds(), concentration_z=z, min_lookback=low)
                rows.append(
                    (
                        (z, low),
                        seed,
                        ref,
                        weeks,
                        _first(city, quiet, th, args.served),
                        _first(city, loop, th, args.served),
                    )
                )
    mode = "the loop's weeks alone (served)" if args.served else "reference and loop weeks"
    print(f"{args.city} city, {mode}, discovery +{args.discovery:.0%}; first flag in weeks "
          "from the loop's start (<= 0: during the reference periods; - never)")  # fmt: skip
    print(f"{'z':>4} {'low':>3} {'seed':>4} {'ref':>3} {'weeks':>5} {'quiet':>6} {'loop':>5}")
    for (z, low), seed, ref, weeks, q, f in rows:
        print(f"{z:4.1f} {low:3d} {seed:4d} {ref:3d} {weeks:5d} {_w(q):>6} {_w(f):>5}")
    for key in dict.fromkeys(r[0] for r in rows):
        for ref in args.refs:
            mine = [r for r in rows if r[0] == key and r[2] == ref]
            alarms = sum(r[4] is not None for r in mine)
            found = [r[5] for r in mine if r[5] is not None and r[5] > 0]
            print(
                f"z {key[0]:.1f}, min_lookback {key[1]}, {ref:2d} reference periods: false "
                f"alarms {alarms}/{len(mine)}; loop caught {len(found)}/{len(mine)} after "
                f"{_span(found)} weeks"
            )
    print(f"{time.perf_counter() - started:.0f} s")


def _w(week: int | None) -> str:
    return "-" if week is None else str(week)


def _span(weeks: list[int]) -> str:
    if not weeks:
        return "-"
    return f"{min(weeks)}-{max(weeks)} (median {statistics.median(weeks)})"


if __name__ == "__main__":
    main()
