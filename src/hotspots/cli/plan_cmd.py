"""``hotspots plan``: patrol areas from the forecast ``hotspots forecast`` makes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from hotspots.atomic import check_distinct, check_output
from hotspots.cli.data_cmds import print_created
from hotspots.cli.forecast_cmd import (
    _CRS,
    _EVENTS,
    _MAP,
    _MAX_REJECT,
    _MODELS_DIR,
    _PRESET,
    _STATE_DIR,
    _TIME_FORMAT,
    posted_store,
)
from hotspots.cli.main import app, console
from hotspots.cli.plan_read import Readings, forecasts_of, load_models, one_date, plan_as_of
from hotspots.cli.render import plan_table
from hotspots.errors import ConfigError
from hotspots.plan_limits import MAX_AREA_CELLS, MAX_AREAS


@app.command(
    epilog=(
        "Examples:\n\n"
        "  hotspots plan --events demo/events.parquet --output plan.geojson\n\n"
        "  hotspots plan --model burglary --model robbery --weights burglary=1,robbery=3 "
        "--events crimes.parquet --areas 6 --max-area-km2 1 --output plan.json\n\n"
        "  hotspots plan --events demo/events.parquet --state-dir var --output plan.json\n\n"
    )
)
def plan(
    model: list[str] | None = typer.Option(
        None,
        "--model",
        help="Model name in the registry; repeat for several crime types [default: every "
        "model with a current version, as the API serves them].",
    ),
    models_dir: Path | None = _MODELS_DIR,
    events: Path | None = _EVENTS,
    state_dir: Path | None = _STATE_DIR,
    preset: str | None = _PRESET,
    map_: str | None = _MAP,
    crs: str | None = _CRS,
    tz: str | None = typer.Option(None, "--tz", help="Local timezone [default: the model's]."),
    time_format: str | None = _TIME_FORMAT,
    max_reject_fraction: float | None = _MAX_REJECT,
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="Forecast date (YYYY-MM-DD) of every type [default: each type's own, the end of "
        "the last whole period of the events as its model reads them, as the API publishes; a "
        "type whose as_of is not the first type's is left out, as the API's plan leaves it "
        "out, or refused if named by --model].",
    ),
    horizon: int = typer.Option(
        1, help="Period to plan for, 1 = next, up to HOTSPOTS_FORECAST_HORIZON or 4 (as the API)."
    ),
    areas: int | None = typer.Option(
        None, help=f"Number of patrol areas, 1 to {MAX_AREAS} [HOTSPOTS_PLAN_AREAS or 6]."
    ),
    max_area_km2: float | None = typer.Option(
        None,
        help="Largest area of one patrol area, km2: at most the area of "
        f"{MAX_AREA_CELLS} of the model's smallest cells and at most the whole study area (a "
        "larger one is refused with the limit in km2) [HOTSPOTS_PLAN_MAX_AREA_KM2 or 1.0 when "
        "--total-km2 is not given either; that default, and the default --areas, fitted to a "
        "study area too small for them, as the plan's budget.note says].",
    ),
    total_km2: float | None = typer.Option(
        None,
        help="Most all areas may cover together, km2 [each: total / areas by default]: at "
        f"most the whole study area; each area still at most {MAX_AREA_CELLS} of the model's "
        "smallest cells.",
    ),
    category: list[str] | None = typer.Option(
        None,
        "--category",
        help="Crime type to plan for: a --model name or a category its target counts; "
        "repeat for several [every --model].",
    ),
    weights: str | None = typer.Option(
        None,
        help="Severity weight per planned type, `name=w,...`: a --model name, or a category "
        "only one of them counts [default: 1 each].",
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
    shifts: str | None = typer.Option(
        None,
        help="The hours the blocks of the day start at, e.g. `7,15,23` (07-15, 15-23, 23-07: "
        "a block spanning midnight counts on the day it starts); each area names the blocks "
        "of the week and of the day that stand out [HOTSPOTS_PLAN_SHIFTS or 0,6,12,18].",
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Output .geojson, .json or .csv."),
) -> None:
    """Patrol plan: N contiguous, non-overlapping areas of H3 cells with the most forecast
    crime, each with its count per crime type, the blocks of the week (shifts) and hours that
    stand out, and reasons.

    The parameters and defaults are those of the API's /v1/plans/latest, so with the same
    models, events, as_of and horizon the .json / .geojson file is the bytes it serves. The
    forecast is the one `hotspots forecast` writes for the same model and as_of; with
    --state-dir, both add the events posted to that service as it adds them. Areas grow
    greedily over H3 neighbours; each is the best of the areas grown from the best free cells
    and the best disks of about one area.

    Example: `hotspots plan --model demo-burglary --model demo-robbery --weights
    demo-burglary=1,demo-robbery=3 --events demo/events.parquet --areas 6
    --max-area-km2 1 --output plan.geojson`
    """
    from hotspots.config import get_settings
    from hotspots.publishing import SEEDS, STOPS, build_plan, plan_suffix, reading_type, write_plan
    from hotspots.publishing.plan_shifts import SHIFTS_SETTING, parse_shifts
    from hotspots.registry import Registry

    settings = get_settings()
    if seed not in SEEDS:
        raise ConfigError(f"--seed {seed!r}: must be one of {', '.join(SEEDS)}")
    if stop not in STOPS:
        raise ConfigError(f"--stop {stop!r}: must be one of {', '.join(STOPS)}")
    if not 1 <= horizon <= settings.forecast_horizon:
        raise ConfigError(
            f"--horizon {horizon}: must be between 1 and {settings.forecast_horizon} "
            "(HOTSPOTS_FORECAST_HORIZON, the periods the API publishes)"
        )
    starts = (
        parse_shifts(settings.plan_shifts, SHIFTS_SETTING)
        if shifts is None
        else parse_shifts(shifts, "--shifts")
    )
    check_distinct({"--events": events, "--output": output})
    posted = posted_store(events, state_dir)
    plan_suffix(output)
    created = check_output(output, "--output")
    if model and len(set(model)) != len(model):
        raise ConfigError(f"--model given twice: {model}")
    loaded = load_models(Registry(models_dir or settings.models_dir), model)
    asked = _Asked(category or (), bool(model), weights, areas, max_area_km2, total_km2)
    # the flags checked before any reading; but types chosen by --category are told apart
    # only once a type of another as_of is left out, as the API's plan leaves it out first
    later = as_of is None and not model
    chosen = _choose(loaded, asked, settings, distinct=not later)
    flags = {"preset": preset, "map_": map_, "crs": crs, "tz": tz, "time_format": time_format}
    read = Readings(events, max_reject_fraction, flags, posted)
    if as_of is None:  # each type's as_of is its own forecast's, as the service publishes it
        pool = {name: loaded[name] for name in chosen.types} if model else loaded
        both = chosen.types if model or category else tuple(loaded)
        date, late = plan_as_of(pool, both, read, named=bool(model))
        if late or later:  # left out, as the API's plan leaves them out: chosen from the others
            loaded = {name: each for name, each in loaded.items() if name not in late}
            chosen = _choose(loaded, asked, settings, late)
    else:
        date = one_date(as_of, loaded[min(chosen.types)].forecaster.freq_)
    for name, kept in chosen.overlapping.items():
        console.print(
            f"warning: {name} left out: it forecasts crimes {kept} forecasts too (a plan "
            f"would count them twice); give --model {name} to plan it",
            soft_wrap=True,
        )
    planned = {name: loaded[name] for name in chosen.types}
    first = planned[min(planned)].forecaster
    forecasts = forecasts_of(planned, read, date, horizon)
    document = build_plan(
        forecasts,
        chosen.cells,
        first.resolution_,
        read(planned[reading_type(planned)]),  # the events as the API's plan of these reads
        as_of=date,
        freq=first.freq_,
        budget=chosen.budget,
        weights=chosen.weights,
        categories={name: each.forecaster.target_ for name, each in planned.items()},
        seed=seed,
        stop=stop,
        min_events_shown=settings.min_events_shown,
        budget_note=chosen.note,
        shifts=starts,
    )
    print_created(created)
    write_plan(document, output)
    console.print(plan_table(document))
    summary = document["summary"]
    asked_areas = document["budget"]["areas"]
    short = (
        f" of the {asked_areas} asked (no free study cell was left for more)"
        if summary["areas"] < asked_areas
        else ""
    )
    console.print(
        f"wrote {summary['areas']} areas{short} ({summary['area_km2']:.2f} km2, "
        f"{summary['share_of_forecast']:.1%} of the forecast; the top cells of the same area "
        f"hold {summary['top_cells_share_same_area']:.1%}) for {document['period_start']} "
        f"to {output}",
        soft_wrap=True,
    )
    if chosen.note is not None:
        console.print(f"note: {chosen.note}", soft_wrap=True)


@dataclass(frozen=True)
class _Asked:
    """What the flags ask of a plan's types and budget (None: the default)."""

    category: Sequence[str]
    named: bool
    weights: str | None
    areas: int | None
    max_area_km2: float | None
    total_km2: float | None


@dataclass(frozen=True)
class _Chosen:
    """The types a plan plans, its weights and budget (the note: how it was fitted), the
    study cells, and the types left out as overlapping (a plan of every type)."""

    types: tuple[str, ...]
    weights: dict[str, float]
    budget: Any
    note: str | None
    cells: Any
    overlapping: dict[str, str]


def _choose(
    loaded: dict[str, Any],
    asked: _Asked,
    settings: Any,
    left_out: tuple[str, ...] = (),
    distinct: bool = True,
) -> _Chosen:
    """The types, weights and budget of the plan of ``loaded`` (types ``left_out`` named in
    the error when a --category names one), as the API's plan book chooses them; with
    ``distinct`` two of them that count the same crimes are refused."""
    import numpy as np

    from hotspots.grid import cells_area_km2
    from hotspots.publishing import (
        PlanBudget,
        check_budget,
        check_distinct_types,
        distinct_types,
        fit_to_study_area,
        parse_weights,
        select_types,
    )

    targets = {name: each.forecaster.target_ for name, each in loaded.items()}
    types = select_types(targets, asked.category, flag="--category", left_out=left_out)
    overlapping: dict[str, str] = {}
    if not types and not asked.named:  # every current model: the API's plan of every type
        types, overlapping = distinct_types(targets)
    types = types or tuple(loaded)
    if distinct:
        check_distinct_types({name: targets[name] for name in types}, "--model")
    parsed = parse_weights(asked.weights, types, targets=targets)  # planned types only
    resolution = loaded[min(types)].forecaster.resolution_
    cells = np.unique(np.concatenate([loaded[name].forecaster.cells_ for name in types]))
    max_area_km2, total_km2 = asked.max_area_km2, asked.total_km2
    default_km2 = max_area_km2 is None and total_km2 is None
    if default_km2:
        max_area_km2 = settings.plan_max_area_km2
    count = settings.plan_areas if asked.areas is None else asked.areas
    cell_km2 = cells_area_km2(cells)
    # what was left to the defaults is fitted to a study area too small for them, as the API's
    budget = PlanBudget(count, max_area_km2, total_km2)
    budget, note = fit_to_study_area(
        budget, cell_km2, resolution, areas=asked.areas is None, km2=default_km2
    )
    check_budget(budget, cell_km2, resolution)
    if budget.areas > MAX_AREAS:
        raise ConfigError(f"--areas {budget.areas}: must be between 1 and {MAX_AREAS}")
    return _Chosen(types, parsed, budget, note, cells, overlapping)
