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
cluster), the one that says something on Synthetica.

    .venv/bin/python benchmarks/plan_scatter.py [--case NAME ...] [--model historical_mean]
        [--budget 10x1 --budget 20x0.5 ...] [--price 60]
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


def budget_row(cells, km2, forecasts, actual, budget, price: int) -> str:  # type: ignore[no-untyped-def]
    """Capture, forecast ratio and ceiling of one budget, summed over the folds."""
    from hotspots.evaluation.plan_bound import plan_ceiling
    from hotspots.grid.regions import grow_areas, top_cells_sum_at_area

    sums = np.zeros(7)  # plan and top events, plan and top forecast, ceiling, km2, priced
    inexact = 0
    t0 = time.perf_counter()
    for score, events in zip(forecasts, actual, strict=True):
        plan = np.concatenate(grow_areas(cells, score, km2, budget))
        area = float(km2[plan].sum())
        ceiling = plan_ceiling(cells, score, km2, budget)
        priced = plan_ceiling(cells, score, km2, budget, iterations=price) if price else ceiling
        inexact += ceiling.inexact + priced.inexact
        sums += [
            events[plan].sum(), top_cells_sum_at_area(events, score, km2, area),
            score[plan].sum(), top_cells_sum_at_area(score, score, km2, area),
            ceiling.total, area, priced.total,
        ]  # fmt: skip
    capture, forecast, ceiling = sums[0] / sums[1], sums[2] / sums[3], sums[4] / sums[3]
    note = f" ({inexact} roots inexact)" if inexact else ""
    if price:
        note = f", priced {sums[6] / sums[3]:.3f}{note}"
    return (
        f"  {budget.areas:>3} x {budget.max_area_km2:<5g} km2 (plans "
        f"{sums[5] / len(forecasts):5.2f} km2): capture {capture:.3f}, forecast {forecast:.3f}, "
        f"ceiling {ceiling:.3f}{note} ({time.perf_counter() - t0:.0f} s)"
    )


def run_case(name: str, model: str, budgets: list[str], price: int, work: Path) -> None:
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
    forecasts = result.forecasts[model]
    actual = [a.astype(np.float64) for a in result.actual]
    parsed = [PlanBudget(int(n), float(a)) for n, a in (b.split("x") for b in budgets)]
    first = parsed[0]
    print(f"{name} ({model}, {len(forecasts)} folds): "
          f"{scatter(cells, km2, forecasts, first.areas * first.per_area_km2())}")  # fmt: skip
    for budget in parsed:
        try:
            check_budget(budget, km2, result.resolution)
        except ConfigError as err:
            print(f"  {budget.areas:>3} x {budget.max_area_km2:<5g} km2: skipped, {err}")
            continue
        print(budget_row(cells, km2, forecasts, actual, budget, price), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", help="a case of accuracy_cases.py")
    parser.add_argument("--model", default="historical_mean", help="a baseline of the backtest")
    parser.add_argument("--budget", action="append", help="NxA: N areas of at most A km2")
    parser.add_argument("--price", type=int, default=0, help="Lagrangian steps (0: none)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.case or DEFAULT_CASES:
            run_case(name, args.model, args.budget or list(BUDGETS), args.price, Path(tmp))


if __name__ == "__main__":
    main()
