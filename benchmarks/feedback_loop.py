"""The runaway feedback loop on Synthetica and the same city without it: the monitor's
figures per week for both runs, and when it first flagged.

    .venv/bin/python benchmarks/feedback_loop.py [--seeds 16] [--discovery 0.3]
"""

from __future__ import annotations

import argparse
import statistics
import time

from hotspots.feedback.simulation import simulate_loop
from hotspots.forecasters import make_forecaster
from hotspots.synthetic import generate_city

COLUMNS = ["period", "events", "repeat_share", "prior_area_share", "pooled_concentration",
           "pooled_contrast"]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=16)
    parser.add_argument("--discovery", type=float, default=0.3)
    parser.add_argument("--model", default="rolling_mean")
    args = parser.parse_args()
    city = generate_city(
        seed=3, start="2023-01-02", days=7 * 42, target_events=60_000, resolution=8
    )
    model = make_forecaster(args.model, target=None)
    firsts, false_alarms = [], 0
    started = time.perf_counter()
    for seed in range(args.seeds):
        loop = simulate_loop(city, model, discovery=args.discovery, seed=seed)
        quiet = simulate_loop(city, model, discovery=0.0, seed=seed)
        if seed == 0:
            for label, run in (("with feedback", loop), ("without feedback", quiet)):
                ref = run.monitor.reference
                limit = ref.concentration * run.monitor.thresholds.concentration_rise
                print(f"seed 0, {label} (reference concentration {ref.concentration:.2f}, "
                      f"flag at {limit:.2f};"
                      f" patrols act from week {run.start + 1}):")  # fmt: skip
                print(run.monitor.periods[COLUMNS].round(3).to_string(index=False))
        first = loop.first_flag()
        firsts.append(first if first is not None else float("inf"))
        false_alarms += bool(quiet.monitor.flags)
        print(f"seed {seed}: flagged after {first} weeks of feedback; "
              f"without feedback {len(quiet.monitor.flags)} flags")  # fmt: skip
    caught = [f for f in firsts if f != float("inf")]
    print(
        f"{args.model}, discovery +{args.discovery:.0%}: flagged in {len(caught)}/{args.seeds} "
        f"runs after {min(caught, default=0)}-{max(caught, default=0)} weeks (median "
        f"{statistics.median(firsts)}); false alarms without feedback in {false_alarms}/"
        f"{args.seeds}; {time.perf_counter() - started:.1f} s"
    )


if __name__ == "__main__":
    main()
