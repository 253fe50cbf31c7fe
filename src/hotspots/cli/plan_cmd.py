"""``hotspots plan``: patrol areas from the forecast ``hotspots forecast`` makes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from hotspots.atomic import check_distinct, check_output
from hotspots.cli.data_cmds import print_created
from hotspots.cli.forecast_cmd import _CRS, _MAP, _MAX_REJECT, _MODELS_DIR, _PRESET, read_history
from hotspots.cli.main import app, console
from hotspots.cli.progress import stage
from hotspots.errors import ConfigError


@app.command()
def plan(
    model: list[str] = typer.Option(
        ..., "--model", help="Model name in the registry; repeat for several crime types."
    ),
    models_dir: Path | None = _MODELS_DIR,
    events: Path = typer.Option(..., "--events", help="Export or event table with the history."),
    preset: str | None = _PRESET,
    map_: str | None = _MAP,
    crs: str | None = _CRS,
    tz: str | None = typer.Option(None, "--tz", help="Local timezone [default: the model's]."),
    max_reject_fraction: float | None = _MAX_REJECT,
    as_of: str = typer.Option(..., "--as-of", help="Forecast date (YYYY-MM-DD)."),
    areas: int = typer.Option(..., "--areas", help="Number of patrol areas."),
    max_area_km2: float | None = typer.Option(None, help="Largest area of one patrol area, km2."),
    total_km2: float | None = typer.Option(
        None, help="Most all areas may cover together, km2 [each: total / areas by default]."
    ),
    weights: str | None = typer.Option(
        None, help="Severity weight per model, `name=w,...` [default: 1 each]."
    ),
    seed: str = typer.Option(
        "area",
        help="Where each area starts: `area` (the best of the areas grown from the best free "
        "cells and disks), `window` (the free cell whose surrounding disk of about one area "
        "holds the most forecast) or `cell` (the highest free cell).",
    ),
    stop: str = typer.Option(
        "cap",
        help="When an area stops growing: `cap` (when nothing more fits: the most forecast) or "
        "`top-cells` (also at a cell below the least of the top cells the whole budget would "
        "hold: smaller areas, no filler cells).",
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Output .geojson, .json or .csv."),
) -> None:
    """Patrol plan: N contiguous, non-overlapping areas of H3 cells with the most forecast
    crime, each with its count per crime type, riskiest hours of the week and reasons.

    The forecast is the one `hotspots forecast` writes for the same model and as_of (first
    period). Areas grow greedily over H3 neighbours; each is the best of the areas grown from
    the best free cells and the best disks of about one area.

    Example: `hotspots plan --model demo-burglary --model demo-robbery --weights
    demo-burglary=1,demo-robbery=3 --events demo/events.parquet --as-of 2024-12-30 --areas 6
    --max-area-km2 1 --output plan.geojson`
    """
    import numpy as np

    from hotspots.config import get_settings
    from hotspots.grid import cells_area_km2
    from hotspots.jobs.forecast import parse_as_of
    from hotspots.publishing import (
        SEEDS,
        STOPS,
        PlanBudget,
        build_plan,
        check_budget,
        parse_weights,
        plan_suffix,
        write_plan,
    )
    from hotspots.registry import Registry

    if seed not in SEEDS:
        raise ConfigError(f"--seed {seed!r}: must be one of {', '.join(SEEDS)}")
    if stop not in STOPS:
        raise ConfigError(f"--stop {stop!r}: must be one of {', '.join(STOPS)}")
    if max_area_km2 is None and total_km2 is None:
        raise ConfigError("give --max-area-km2 A (each area) or --total-km2 X (all areas)")
    check_distinct({"--events": events, "--output": output})
    plan_suffix(output)
    created = check_output(output, "--output")
    if len(set(model)) != len(model):
        raise ConfigError(f"--model given twice: {model}")
    parsed = parse_weights(weights, model)  # names must be --model names
    registry = Registry(models_dir or get_settings().models_dir)
    loaded = {name: registry.load(name) for name in model}
    first = next(iter(loaded.values())).forecaster
    for name, each in loaded.items():
        f = each.forecaster
        if (f.freq_, f.resolution_) != (first.freq_, first.resolution_):
            raise ConfigError(
                f"--model {name} is '{f.freq_}' at resolution {f.resolution_}; {model[0]} is "
                f"'{first.freq_}' at resolution {first.resolution_}: a plan needs one grid"
            )
    [date] = _one_date(as_of, first.freq_, parse_as_of)
    cells = np.unique(np.concatenate([e.forecaster.cells_ for e in loaded.values()]))
    budget = PlanBudget(areas, max_area_km2, total_km2)
    check_budget(budget, cells_area_km2(cells), first.resolution_)  # before any reading
    flags = {"preset": preset, "map_": map_, "crs": crs, "tz": tz}
    forecasts, history = _forecasts(loaded, events, date, max_reject_fraction, flags)
    document = build_plan(
        forecasts,
        cells,
        first.resolution_,
        history,
        as_of=date,
        freq=first.freq_,
        budget=budget,
        weights=parsed,
        categories={name: each.forecaster.target_ for name, each in loaded.items()},
        seed=seed,
        stop=stop,
        min_events_shown=get_settings().min_events_shown,
    )
    write_plan(document, output)
    summary = document["summary"]
    console.print(
        f"wrote {summary['areas']} areas ({summary['area_km2']:.2f} km2, "
        f"{summary['share_of_forecast']:.1%} of the forecast; the top cells of the same area "
        f"hold {summary['top_cells_share_same_area']:.1%}) for {document['period_start']} "
        f"to {output}",
        soft_wrap=True,
    )
    print_created(created)


def _forecasts(
    loaded: dict[str, Any], events: Path, date: Any, max_reject: float | None, flags: dict[str, Any]
) -> tuple[dict[str, Any], Any]:
    """Each model's forecast for ``date``, made as ``hotspots forecast`` makes it, and the
    events as the first model reads them (models that read events alike share one read)."""
    import json

    from hotspots.jobs.data import event_options
    from hotspots.jobs.forecast import forecast_events

    forecasts, read = {}, {}
    for name, each in loaded.items():
        how = json.dumps(event_options(each.manifest), sort_keys=True, default=str)
        if how not in read:
            read[how] = read_history(each.manifest, events, max_reject, **flags)
        with stage(f"forecasting {name} as_of {date.date()}"):
            frame, warnings = forecast_events(each.forecaster, read[how], [date], 1, each.manifest)
        for warning in warnings:
            console.print(f"warning: {name}: {warning}", soft_wrap=True)
        forecasts[name] = frame
    return forecasts, next(iter(read.values()))


def _one_date(value: str, freq: str, parse: Any) -> list[Any]:
    if ".." in value:
        raise ConfigError(f"--as-of {value!r}: a plan is for one date, not a range")
    return list(parse([value], freq))
