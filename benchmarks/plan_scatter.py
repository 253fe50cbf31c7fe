"""Why contiguity costs more on some cities: how scattered the top cells of a forecast are.

For each case (as ``plan_capture.py``: the accuracy suite's cases, baselines only) and each
fold's historical-mean forecast: the study cells with fewer than 6 (and with no) study cells
next to them, the share of the top cells of the budget's km2 with no top cell next to them, the
forecast their neighbours hold relative to theirs, and a ceiling on what contiguous areas that
fill the budget can hold: each of N areas of k cells lies within k // 2 steps of one of its
cells, so N areas hold at most the N best sums of the k best cells within k // 2 steps of a
cell (disks may overlap: an over-estimate), over the top cells of the km2 such areas cover.

    .venv/bin/python benchmarks/plan_scatter.py [--case NAME ...] [--areas 10 --max-area-km2 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from plan_capture import DEFAULT_CASES  # noqa: E402


def ceiling(cells, score, km2, areas: int, per_area: float) -> float:  # type: ignore[no-untyped-def]
    """The most N areas of at most ``per_area`` km2 could hold (an over-estimate)."""
    from hotspots.grid.cells import grid_disk_table

    k = int(per_area / float(km2.mean()) * (1 + 1e-9))
    rows, nbrs = grid_disk_table(cells, k // 2)
    pos = np.minimum(np.searchsorted(cells, nbrs), cells.size - 1)
    ok = cells[pos] == nbrs
    rows, values = rows[ok], score[pos[ok]]
    order = np.lexsort((-values, rows))
    rows, values = rows[order], values[order]
    rank = np.arange(rows.size) - np.searchsorted(rows, rows)
    best = np.bincount(rows[rank < k], weights=values[rank < k], minlength=cells.size)
    return float(np.sort(best)[::-1][:areas].sum())


def run_case(name: str, areas: int, per_area: float, work: Path) -> None:
    from accuracy_cases import CASES, case_spec, missing_data
    from accuracy_data import event_table, synthetic_city
    from hotspots.grid import cells_area_km2
    from hotspots.grid.regions import _neighbour_table, top_cells_at_area, top_cells_sum_at_area
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
    table = _neighbour_table(cells)
    degree = (table >= 0).sum(axis=1)
    alone, around, bound = [], [], []
    for score in result.forecasts["historical_mean"]:
        top = top_cells_at_area(score, km2, areas * per_area)
        hot = np.zeros(cells.size, dtype=bool)
        hot[top] = True
        nbr = table[top]
        real = nbr >= 0
        safe = np.where(real, nbr, 0)
        alone.append(float(((hot[safe] & real).sum(axis=1) == 0).mean()))
        around.append(float(np.nanmean(np.where(real, score[safe], np.nan)) / score[top].mean()))
        cells_per_area = int(per_area / float(km2.mean()) * (1 + 1e-9))
        filled = areas * cells_per_area * float(km2.mean())  # the km2 of filled areas
        held = top_cells_sum_at_area(score, score, km2, filled)
        bound.append(ceiling(cells, score, km2, areas, per_area) / held)
    print(
        f"{name}: {cells.size:,} cells, {(degree < 6).mean():.0%} with fewer than 6 study "
        f"neighbours ({(degree == 0).sum()} with none); top cells of {areas * per_area:g} km2 "
        f"with no top neighbour: {np.mean(alone):.2f}; their neighbours' forecast / theirs: "
        f"{np.mean(around):.2f}; ceiling of filled areas / top cells: {np.median(bound):.2f} "
        f"(median over {len(bound)} folds)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", help="a case of accuracy_cases.py")
    parser.add_argument("--areas", type=int, default=10)
    parser.add_argument("--max-area-km2", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.case or DEFAULT_CASES:
            run_case(name, args.areas, args.max_area_km2, Path(tmp))


if __name__ == "__main__":
    main()
