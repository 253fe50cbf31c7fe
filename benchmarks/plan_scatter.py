"""Why contiguity costs more on some cities: how scattered the top cells of a forecast are, and
the most any contiguous plan could hold.

For each case (as ``plan_capture.py``: the accuracy suite's cases, baselines only) and each
fold's historical-mean forecast: the study cells with fewer than 6 (and with no) study cells
next to them, the share of the top cells of the budget's km2 with no top cell next to them, and
the forecast their neighbours hold relative to theirs. Then, per budget (``--budget NxA``: N
areas of at most A km2), summed over the folds: the capture ratio of the plans grown with
``grow_areas`` (events in the plans / events in the top cells of the same km2), their forecast
ratio, and the ceiling: ``evaluation.plan_bound.plan_ceiling`` (a proven upper bound on the
forecast any N contiguous, non-overlapping areas of at most A km2 hold; exact per area, loose
where hot cells cluster) over the forecast of the top cells of the plans' km2. A plan that
fills its areas cannot pass that ceiling in forecast; where it is below 0.9 the target cannot be
met with that budget by any growth rule. ``--price N`` also prints the ceiling tightened by N
Lagrangian steps (``plan_ceiling(..., iterations=N)``; seconds per fold where hot cells
cluster). ``--priced-plan`` also builds the plan of those steps' priced areas
(``evaluation.plan_priced.priced_plan``: disjoint ones as they are, overlapping ones repaired,
never less than ``grow_areas``) and prints its capture and forecast ratios (over the top cells
of its own km2) and the time per plan of both.

    .venv/bin/python benchmarks/plan_scatter.py [--case NAME ...] [--model historical_mean]
        [--budget 10x1 --budget 20x0.5 ...] [--price 60 [--priced-plan]] [--folds N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from plan_capture import DEFAULT_CASES  # noqa: E402

BUDGETS = ("10x1", "20x1", "10x0.5", "20x0.5", "40x0.25")
"""The default budgets; 5x2 (16-cell areas) also works but takes minutes per case on Houston,
where many roots pass the node budget (a looser ceiling)."""


def scatter(cells, km2, forecasts, total_km2: float) -> str:  # type: ignore[no-untyped-def]
    """The holes of the study area and how isolated the top cells of ``total_km2`` are."""
    from hotspots.grid.regions import neighbour_table, top_cells_at_area

    table = neighbour_table(cells)
    degree = (table >= 0).sum(axis=1)
    alone, around = [], []
    for score in forecasts:
        top = top_cells_at_area(score, km2, total_km2)
        hot = np.zeros(cells.size, dtype=bool)
        hot[top] = True
        nbr = table[top]
        real = nbr >= 0
        safe = np.where(real, nbr, 0)
        alone.append(float(((hot[safe] & real).sum(axis=1) == 0).mean()))
        around.append(float(np.nanmean(np.where(real, score[safe], np.nan)) / score[top].mean()))
    return (
        f"{cells.size:,} cells, {(degree < 6).mean():.0%} with fewer than 6 study neighbours "
        f"({(degree == 0).sum()} with none); top cells of {total_km2:g} km2 with no top "
        f"neighbour: {np.mean(alone):.2f}; their neighbours' forecast / theirs: "
        f"{np.mean(around):.2f}"
    )


def held(plan, score, events, km2) -> list[float]:  # type: ignore[no-untyped-def]
    """Events and forecast in ``plan`` and in the top cells of its km2."""
    from hotspots.grid.regions import top_cells_sum_at_area

    area = float(km2[plan].sum())
    return [
        events[plan].sum(), top_cells_sum_at_area(events, score, km2, area),
        score[plan].sum(), top_cells_sum_at_area(score, score, km2, area),
    ]  # fmt: skip


def budget_row(cells, km2, forecasts, actual, budget, price: int, plan_too: bool) -> str:  # type: ignore[no-untyped-def]
    """Capture, forecast ratio and ceiling of one budget, summed over the folds (and of the
    priced plan, ``plan_too``)."""
    from hotspots.evaluation.plan_bound import plan_ceiling
    from hotspots.evaluation.plan_priced import priced_plan
    from hotspots.grid.regions import grow_areas

    sums = np.zeros(11)  # grown (4), ceiling, km2, priced ceiling, priced plan (4)
    inexact, disjoint, grow_s, priced_s, t0 = 0, 0, 0.0, 0.0, time.perf_counter()
    for score, events in zip(forecasts, actual, strict=True):
        start = time.perf_counter()
        plan = np.concatenate(grow_areas(cells, score, km2, budget))
        grow_s += time.perf_counter() - start
        ceiling = plan_ceiling(cells, score, km2, budget)
        inexact += ceiling.inexact
        sums[:6] += [*held(plan, score, events, km2), ceiling.total, float(km2[plan].sum())]
        if plan_too:
            start = time.perf_counter()
            made = priced_plan(cells, score, km2, budget, iterations=price)
            priced_s += time.perf_counter() - start
            sums[6:] += [made.ceiling, *held(np.concatenate(made.areas), score, events, km2)]
            inexact, disjoint = inexact + made.inexact, disjoint + made.disjoint
        elif price:
            priced = plan_ceiling(cells, score, km2, budget, iterations=price)
            sums[6] += priced.total
            inexact += priced.inexact
    capture, forecast, ceiling = sums[0] / sums[1], sums[2] / sums[3], sums[4] / sums[3]
    note = f" ({inexact} roots inexact)" if inexact else ""
    if price:
        note = f", priced {sums[6] / sums[3]:.3f}{note}"
    n = len(forecasts)
    if plan_too:
        note += (
            f"; grown {grow_s / n * 1e3:.0f} ms per plan; priced plan: capture "
            f"{sums[7] / sums[8]:.3f}, forecast {sums[9] / sums[10]:.3f} (priced areas disjoint "
            f"in {disjoint} of {n} folds), {priced_s / n:.1f} s"
        )
    return (
        f"  {budget.areas:>3} x {budget.max_area_km2:<5g} km2 (plans "
        f"{sums[5] / n:5.2f} km2): capture {capture:.3f}, forecast {forecast:.3f}, "
        f"ceiling {ceiling:.3f}{note} ({time.perf_counter() - t0:.0f} s)"
    )


def run_case(name: str, args: argparse.Namespace, work: Path) -> None:
    from accuracy_cases import CASES, case_spec, missing_data
    from accuracy_data import event_table, synthetic_city
    from hotspots.errors import ConfigError
    from hotspots.grid import cells_area_km2
    from hotspots.grid.regions import PlanBudget, check_budget
    from hotspots.jobs.train import prepare, run_backtest

    case = CASES[name]
    why = missing_data(case)
    if why is not None:
        print(f"skipped {name}: {why}")
        return
    if case.synthetic:
        city = synthetic_city(case.seed or 0, work)
        events, data = city["events"], city["data"]
    else:
        events, _ = event_table(case.source, work)
        data = {}
    spec = case_spec(case, events, kind="historical_mean", params={}, data=data)
    spec = spec.model_copy(update={"backtest": spec.backtest.model_copy(update={"plan_areas": 0})})
    result = run_backtest(prepare(spec))
    cells = result.last_fold.cells
    km2 = cells_area_km2(cells)
    last = slice(-args.folds if args.folds else None, None)  # the last N folds, as in all
    forecasts = result.forecasts[args.model][last]
    actual = [a.astype(np.float64) for a in result.actual[last]]
    budgets = args.budget or list(BUDGETS)
    parsed = [PlanBudget(int(n), float(a)) for n, a in (b.split("x") for b in budgets)]
    first = parsed[0]
    print(f"{name} ({args.model}, {len(forecasts)} folds): "
          f"{scatter(cells, km2, forecasts, first.areas * first.per_area_km2())}")  # fmt: skip
    for budget in parsed:
        try:
            check_budget(budget, km2, result.resolution)
        except ConfigError as err:
            print(f"  {budget.areas:>3} x {budget.max_area_km2:<5g} km2: skipped, {err}")
            continue
        row = budget_row(cells, km2, forecasts, actual, budget, args.price, args.priced_plan)
        print(row, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", help="a case of accuracy_cases.py")
    parser.add_argument("--model", default="historical_mean", help="a baseline of the backtest")
    parser.add_argument("--budget", action="append", help="NxA: N areas of at most A km2")
    parser.add_argument("--price", type=int, default=0, help="Lagrangian steps (0: none)")
    parser.add_argument("--folds", type=int, default=0, help="only the last N folds (0: all)")
    parser.add_argument(
        "--priced-plan",
        action="store_true",
        help="also build the plan of the priced areas (plan_priced.priced_plan, --price steps)",
    )
    args = parser.parse_args()
    if args.priced_plan and not args.price:
        parser.error("--priced-plan needs --price N (the Lagrangian steps its areas come from)")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.case or DEFAULT_CASES:
            run_case(name, args, Path(tmp))


if __name__ == "__main__":
    main()
