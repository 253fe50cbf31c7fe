"""Patrol plans in the backtest, per dataset: the capture ratio of the plans against the top
cells of the same area (target >= 0.9x), as ``hotspots train`` / ``backtest`` report it.

For each case (the accuracy suite's cases, ``accuracy_cases.py``; real extracts read from
../shared/data, skipped with a reason when absent) the spec's rolling-origin backtest runs with
a baseline as the main model beside the spec's baselines (no LightGBM: minutes per case), and
``evaluation.score_plans`` grows the plans on each model's forecast of each fold. Printed per
case and model: the plan km2, hit rate and PAI of the plans and of the top cells of the same
km2, and the capture ratios (events: plan hits / top-cell hits summed over folds; forecast:
the same for the forecast the areas are grown on).

    .venv/bin/python benchmarks/plan_capture.py [--case NAME ...] [--folds N]
        [--areas 10 --max-area-km2 1] [--seed cell|window|area] [--stop cap|top-cells]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DEFAULT_CASES = (
    "synthetic-s0-burglary-residential",
    "chicago-r9-2018",
    "sf-burglary-2013",
    "houston-burglary",
    "vancouver-break-and-enter",
    "gmp-burglary",
)


def run_case(
    name: str, folds: int | None, areas: int, max_km2: float, seed: str, stop: str, work: Path
) -> None:
    from accuracy_cases import CASES, case_spec, missing_data
    from accuracy_data import event_table, synthetic_city
    from hotspots.evaluation import plan_summary, score_plans
    from hotspots.grid.regions import PlanBudget
    from hotspots.jobs.train import prepare, run_backtest

    case = CASES[name]
    if folds is not None:
        case = replace(case, folds=min(folds, case.folds), refit_every=None)
    why = missing_data(case)
    if why is not None:
        print(f"skipped {name}: {why}")
        return
    t0 = time.perf_counter()
    if case.synthetic:
        city = synthetic_city(case.seed or 0, work)
        events, data = city["events"], city["data"]
    else:
        events, _ = event_table(case.source, work)
        data = {}
    spec = case_spec(case, events, kind="historical_mean", params={}, data=data)
    spec = spec.model_copy(
        update={"backtest": spec.backtest.model_copy(update={"plan_areas": 0})}
    )  # scored below with this script's budget
    prepared = prepare(spec)
    result = score_plans(run_backtest(prepared), PlanBudget(areas, max_km2), seed, stop)
    table = plan_summary(result.plans)
    best = result.best("pai", result.cutoffs[0])
    print(
        f"\n== {name}: {result.n_cells:,} cells (res {result.resolution}, '{result.freq}'), "
        f"{len(result.folds)} folds, {areas} areas of at most {max_km2:g} km2 ({seed} seed, "
        f"{stop} stop); best PAI at "
        f"{result.cutoffs[0].label}: {best} ({time.perf_counter() - t0:.0f} s)"
    )
    print(
        f"{'model':<18}{'km2':>7}{'hit plan':>10}{'hit top':>9}{'PAI plan':>10}{'PAI top':>9}"
        f"{'capture':>9}{'forecast':>10}"
    )
    for model, row in table.iterrows():
        print(
            f"{model:<18}{row['area_km2']:>7.2f}{row['plan_hit_rate']:>10.3f}"
            f"{row['top_hit_rate']:>9.3f}{row['plan_pai']:>10.2f}{row['top_pai']:>9.2f}"
            f"{row['capture_ratio']:>9.3f}{row['forecast_ratio']:>10.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", help="a case of accuracy_cases.py")
    parser.add_argument("--folds", type=int, default=None, help="at most N folds, one fit")
    parser.add_argument("--areas", type=int, default=10)
    parser.add_argument("--max-area-km2", type=float, default=1.0)
    parser.add_argument("--seed", choices=["cell", "window", "area"], default="area")
    parser.add_argument("--stop", choices=["cap", "top-cells"], default="cap")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.case or DEFAULT_CASES:
            run_case(
                name, args.folds, args.areas, args.max_area_km2, args.seed, args.stop, Path(tmp)
            )


if __name__ == "__main__":
    main()
