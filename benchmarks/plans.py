"""Patrol plans against the top cells at equal area, and how long a plan takes to build.

For each held-out week, a baseline forecaster (fitted on the weeks before the first one, never
refitted) forecasts the week; ``build_plan`` makes N contiguous areas of at most A km2; the
top-k cells are the highest-forecast cells whose areas add up to the plan's area. Printed per
dataset, budget and model, summed over the weeks:

- forecast share: the share of the city's forecast inside the plan, and inside the top cells;
- events share: the share of the week's real (target) events inside each;
- ratio plan / top cells (1.0 = contiguity costs nothing);
- median build time of ``grow_areas`` alone, of the whole ``build_plan`` document, of the
  document when the events' cells are given (``event_cells``), and of a budget on demand from
  the service's ``PlanBook`` (events trimmed and indexed, cell areas computed, once per book;
  always the default seed, ``area``, whatever the row's seed).

Cases: ``demo`` (Synthetica as ``make demo`` makes it: residential burglary, resolution 9,
weekly, its last 12 weeks) and ``chicago`` (aggravated assaults, resolution 9, weekly, the 26
weeks from 2019-07-01; read from ../shared/data, skipped with a reason when absent).

    .venv/bin/python benchmarks/plans.py [--case demo|chicago] [--weeks N]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
CHICAGO = DATA / "chicago_aggravated_assaults/chicago_aggravated_assaults_2010-2019.csv.gz"
BUDGETS = ((10, 1.0), (5, 2.0))
"""(areas, max km2 per area)."""
KINDS = ("historical_mean", "kde")
SEEDS = ("cell", "window", "area")


def load_case(case: str) -> dict[str, Any] | None:
    """Events, target category, resolution and held-out as_of weeks of a case."""
    from hotspots.jobs.data import ingest_options, load_events

    if case == "demo":
        from hotspots.synthetic import COLUMN_MAP, TIMEZONE, generate_city, write_city

        with tempfile.TemporaryDirectory() as tmp:
            write_city(generate_city(seed=0), tmp)  # as `hotspots demo-data` (seed 0, 730 days)
            options = ingest_options(map=COLUMN_MAP, timezone=TIMEZONE)
            events = load_events(Path(tmp) / "events.csv.gz", options).events
        weeks = pd.date_range("2024-10-07", periods=12, freq="7D")
        return {"events": events, "target": "Burglary Residential", "weeks": weeks}
    if not CHICAGO.is_file():
        print(f"skipped chicago: {CHICAGO} is absent (../shared/data beside the checkout)")
        return None
    options = ingest_options(
        map="time=date,lat=latitude,lng=longitude",
        category_name="aggravated assault",
        timezone="America/Chicago",
    )
    events = load_events(CHICAGO, options).events
    weeks = pd.date_range("2019-07-01", periods=26, freq="7D")
    return {"events": events, "target": "aggravated assault", "weeks": weeks}


def run_case(case: str, weeks: int | None) -> None:
    from hotspots.features import events_to_panel
    from hotspots.forecasters import make_forecaster
    from hotspots.grid import cells_area_km2, points_to_cells
    from hotspots.publishing import (
        PlanBook,
        PlanBudget,
        PlanInput,
        build_plan,
        grow_areas,
        top_cells_at_area,
    )

    loaded = load_case(case)
    if loaded is None:
        return
    events, target = loaded["events"], loaded["target"]
    as_ofs = list(loaded["weeks"])[: weeks or None]
    panel = events_to_panel(events, 9, "W", end=as_ofs[-1] + pd.Timedelta(days=7))
    cat = panel.categories.index(target)
    km2 = cells_area_km2(panel.cells)
    event_cells = points_to_cells(events["lat"].to_numpy(), events["lng"].to_numpy(), 9)
    print(
        f"\n== {case}: {panel.cells.size:,} cells (res 9, {km2.sum():.0f} km2), "
        f"{len(as_ofs)} held-out weeks from {as_ofs[0].date()}, target {target!r}"
    )
    print(
        f"{'model':<16}{'budget':<14}{'seed':<8}{'km2':>7}{'fcst plan':>11}{'fcst top':>10}"
        f"{'ratio':>7}{'events plan':>13}{'events top':>12}{'ratio':>7}{'grow ms':>9}{'plan ms':>9}"
        f"{'given ms':>10}{'book ms':>9}"
    )
    for kind in KINDS:
        model = make_forecaster(kind, target=(target,)).fit(panel, as_ofs[0])
        for (areas, limit), seed in itertools.product(BUDGETS, SEEDS):
            budget = PlanBudget(areas, limit)
            sums = np.zeros(5)  # forecast: city, plan, top; events: plan, top (city below)
            city_events, grow_ms, plan_ms, given_ms, area_km2 = 0.0, [], [], [], []
            book_ms = []
            for as_of in as_ofs:
                frame = model.predict(panel, as_of).assign(as_of=as_of)
                score = frame["expected_count"].to_numpy(np.float64)
                t0 = time.perf_counter()
                members = grow_areas(panel.cells, score, km2, budget, seed)
                t1 = time.perf_counter()
                build_plan({target: frame}, panel.cells, 9, events, as_of=as_of, freq="W",
                           budget=budget, categories={target: (target,)}, seed=seed)  # fmt: skip
                t2 = time.perf_counter()
                build_plan({target: frame}, panel.cells, 9, events, as_of=as_of, freq="W",
                           budget=budget, categories={target: (target,)}, seed=seed,
                           event_cells=event_cells)  # fmt: skip
                t3 = time.perf_counter()
                forecast = [(as_of, frame["cell"].to_numpy(), frame["expected_count"].to_numpy())]
                book = PlanBook({target: PlanInput.of(model, as_of, forecast)}, events,
                                default=PlanBudget(1, limit), pack=len)  # fmt: skip
                t4 = time.perf_counter()
                book.document(book.query(areas=areas, max_area_km2=limit))
                book_ms.append((time.perf_counter() - t4) * 1e3)
                grow_ms.append((t1 - t0) * 1e3)
                plan_ms.append((t2 - t1) * 1e3)
                given_ms.append((t3 - t2) * 1e3)
                plan = np.concatenate(members)
                top = top_cells_at_area(score, km2, float(km2[plan].sum()))
                period = int(np.searchsorted(panel.periods, as_of))
                truth = panel.counts[cat, period].astype(np.float64)
                sums += [score.sum(), score[plan].sum(), score[top].sum(),
                         truth[plan].sum(), truth[top].sum()]  # fmt: skip
                city_events += truth.sum()
                area_km2.append(km2[plan].sum())
            f_plan, f_top = sums[1] / sums[0], sums[2] / sums[0]
            e_plan, e_top = sums[3] / city_events, sums[4] / city_events
            print(
                f"{kind:<16}{f'{areas} x {limit:g} km2':<14}{seed:<8}{np.mean(area_km2):>7.2f}"
                f"{f_plan:>11.1%}{f_top:>10.1%}{f_plan / f_top:>7.3f}"
                f"{e_plan:>13.1%}{e_top:>12.1%}{e_plan / e_top if e_top else float('nan'):>7.3f}"
                f"{np.median(grow_ms):>9.1f}{np.median(plan_ms):>9.1f}{np.median(given_ms):>10.1f}"
                f"{np.median(book_ms):>9.1f}"
            )
    print(f"({int(city_events):,} target events in the held-out weeks)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=["demo", "chicago"], action="append")
    parser.add_argument("--weeks", type=int, default=None, help="Use only the first N weeks.")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    for case in args.case or ["demo", "chicago"]:
        run_case(case, args.weeks)


if __name__ == "__main__":
    main()
