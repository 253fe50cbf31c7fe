"""``hotspots plan``: patrol areas from the forecast ``hotspots forecast`` makes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from hotspots.atomic import check_distinct, check_output
from hotspots.cli.data_cmds import print_created
from hotspots.cli.forecast_cmd import (
    _CRS,
    _MAP,
    _MAX_REJECT,
    _MODELS_DIR,
    _PRESET,
    _TIME_FORMAT,
    read_history,
)
from hotspots.cli.main import app, console
from hotspots.cli.progress import stage
from hotspots.cli.render import plan_table
from hotspots.errors import ConfigError
from hotspots.plan_limits import MAX_AREA_CELLS, MAX_AREAS


@app.command(
    epilog=(
        "Examples:\n\n"
        "  hotspots plan --events demo/events.parquet --output plan.geojson\n\n"
        "  hotspots plan --model burglary --model robbery --weights burglary=1,robbery=3 "
        "--events crimes.parquet --areas 6 --max-area-km2 1 --output plan.json\n\n"
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
    events: Path = typer.Option(..., "--events", help="Export or event table with the history."),
    preset: str | None = _PRESET,
    map_: str | None = _MAP,
    crs: str | None = _CRS,
    tz: str | None = typer.Option(None, "--tz", help="Local timezone [default: the model's]."),
    time_format: str | None = _TIME_FORMAT,
    max_reject_fraction: float | None = _MAX_REJECT,
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="Forecast date (YYYY-MM-DD) [default: the end of the events' last whole period, "
        "the plan the API publishes].",
    ),
    horizon: int = typer.Option(
        1, help="Period to plan for, 1 = next, up to HOTSPOTS_FORECAST_HORIZON (as the API)."
    ),
    areas: int | None = typer.Option(
        None, help=f"Number of patrol areas, 1 to {MAX_AREAS} [HOTSPOTS_PLAN_AREAS]."
    ),
    max_area_km2: float | None = typer.Option(
        None,
        help="Largest area of one patrol area, km2: at most the area of "
        f"{MAX_AREA_CELLS} of the model's smallest cells and at most the whole study area (a "
        "larger one is refused with the limit in km2) [HOTSPOTS_PLAN_MAX_AREA_KM2 when "
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
    forecast is the one `hotspots forecast` writes for the same model and as_of. Areas grow
    greedily over H3 neighbours; each is the best of the areas grown from the best free cells
    and the best disks of about one area.

    Example: `hotspots plan --model demo-burglary --model demo-robbery --weights
    demo-burglary=1,demo-robbery=3 --events demo/events.parquet --areas 6
    --max-area-km2 1 --output plan.geojson`
    """
    import numpy as np

    from hotspots.config import get_settings
    from hotspots.grid import cells_area_km2
    from hotspots.jobs.data import whole_periods_end
    from hotspots.jobs.forecast import parse_as_of
    from hotspots.publishing import (
        SEEDS,
        STOPS,
        PlanBudget,
        build_plan,
        check_budget,
        check_distinct_types,
        distinct_types,
        fit_to_study_area,
        parse_weights,
        plan_suffix,
        reading_type,
        select_types,
        write_plan,
    )
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
    plan_suffix(output)
    created = check_output(output, "--output")
    if model and len(set(model)) != len(model):
        raise ConfigError(f"--model given twice: {model}")
    registry = Registry(models_dir or settings.models_dir)
    loaded = _load(registry, model)
    targets = {name: each.forecaster.target_ for name, each in loaded.items()}
    types = select_types(targets, category or (), flag="--category")
    if not types and not model:  # every current model: the API's plan of every type
        types, left = distinct_types(targets)
        for name, kept in left.items():
            console.print(
                f"warning: {name} left out: it forecasts crimes {kept} forecasts too (a plan "
                f"would count them twice); give --model {name} to plan it",
                soft_wrap=True,
            )
    types = types or tuple(loaded)
    loaded = {name: loaded[name] for name in types}
    check_distinct_types({name: targets[name] for name in types}, "--model")  # before reading
    parsed = parse_weights(weights, types)  # names must be planned --model names
    first = loaded[min(loaded)].forecaster
    cells = np.unique(np.concatenate([e.forecaster.cells_ for e in loaded.values()]))
    default_km2 = max_area_km2 is None and total_km2 is None
    if default_km2:
        max_area_km2 = settings.plan_max_area_km2
    budget = PlanBudget(settings.plan_areas if areas is None else areas, max_area_km2, total_km2)
    cell_km2 = cells_area_km2(cells)
    # what was left to the defaults is fitted to a study area too small for them, as the API's
    budget, note = fit_to_study_area(budget, cell_km2, first.resolution_,
                                     areas=areas is None, km2=default_km2)  # fmt: skip
    check_budget(budget, cell_km2, first.resolution_)  # before any reading
    if budget.areas > MAX_AREAS:
        raise ConfigError(f"--areas {budget.areas}: must be between 1 and {MAX_AREAS}")
    flags = {"preset": preset, "map_": map_, "crs": crs, "tz": tz, "time_format": time_format}
    history = _history(loaded, events, max_reject_fraction, flags)
    read = history[reading_type(loaded)]  # the events as the API's plan of these types reads
    if as_of is None:  # the as_of the service publishes, from the same events
        date = whole_periods_end(read, first.freq_)
    else:
        [date] = _one_date(as_of, first.freq_, parse_as_of)
    forecasts = _forecasts(loaded, history, date, horizon)
    document = build_plan(
        forecasts,
        cells,
        first.resolution_,
        read,
        as_of=date,
        freq=first.freq_,
        budget=budget,
        weights=parsed,
        categories={name: targets[name] for name in loaded},
        seed=seed,
        stop=stop,
        min_events_shown=settings.min_events_shown,
        budget_note=note,
        shifts=starts,
    )
    write_plan(document, output)
    console.print(plan_table(document))
    summary = document["summary"]
    asked = document["budget"]["areas"]
    short = (
        f" of the {asked} asked (no free study cell was left for more)"
        if summary["areas"] < asked
        else ""
    )
    console.print(
        f"wrote {summary['areas']} areas{short} ({summary['area_km2']:.2f} km2, "
        f"{summary['share_of_forecast']:.1%} of the forecast; the top cells of the same area "
        f"hold {summary['top_cells_share_same_area']:.1%}) for {document['period_start']} "
        f"to {output}",
        soft_wrap=True,
    )
    if note is not None:
        console.print(f"note: {note}", soft_wrap=True)
    print_created(created)


def _load(registry: Any, names: list[str] | None) -> dict[str, Any]:
    """The named models (all on one grid), or by default every model with a current
    version, as the service serves them: those on another grid than the first are left out,
    as the API's plan leaves them out."""
    if names:
        loaded = {name: registry.load(name) for name in sorted(names)}
    else:
        current = [m.name for m in registry.list_models() if m.current]
        if not current:
            raise ConfigError(
                f"the registry {registry.root} holds no model with a current version: "
                "give --model, or promote one"
            )
        loaded = {name: registry.load(name) for name in current}
    name0 = min(loaded)
    first = loaded[name0].forecaster
    for name, each in list(loaded.items()):
        f = each.forecaster
        if (f.freq_, f.resolution_) == (first.freq_, first.resolution_):
            continue
        if not names:
            console.print(f"warning: {name} left out: another grid than {name0}", soft_wrap=True)
            del loaded[name]
            continue
        raise ConfigError(
            f"--model {name} is '{f.freq_}' at resolution {f.resolution_}; {name0} is "
            f"'{first.freq_}' at resolution {first.resolution_}: a plan needs one grid"
        )
    return loaded


def _history(
    loaded: dict[str, Any], events: Path, max_reject: float | None, flags: dict[str, Any]
) -> dict[str, Any]:
    """The events as each model reads them (models that read events alike share one read)."""
    import json

    from hotspots.jobs.data import event_options

    out, read = {}, {}
    for name, each in loaded.items():
        how = json.dumps(event_options(each.manifest), sort_keys=True, default=str)
        if how not in read:
            read[how] = read_history(each.manifest, events, max_reject, **flags)
        out[name] = read[how]
    return out


def _forecasts(
    loaded: dict[str, Any], history: dict[str, Any], date: Any, horizon: int
) -> dict[str, Any]:
    """Each model's forecast of period ``horizon`` from ``date``, made as ``hotspots
    forecast`` makes it."""
    import numpy as np

    from hotspots.errors import DataValidationError
    from hotspots.jobs.forecast import forecast_events

    forecasts = {}
    for name, each in loaded.items():
        try:
            with stage(f"forecasting {name} as_of {date.date()}"):
                frame, warnings = forecast_events(
                    each.forecaster, history[name], [date], horizon, each.manifest
                )
        except DataValidationError as err:  # of several models, say which one the events miss
            others = "" if len(loaded) == 1 else "; --model or --category plans for the others"
            raise DataValidationError(f"model {name!r}: {err}{others}") from err
        for warning in warnings:
            console.print(f"warning: {name}: {warning}", soft_wrap=True)
        starts = np.sort(frame["period_start"].unique())
        forecasts[name] = frame[frame["period_start"] == starts[horizon - 1]]
    return forecasts


def _one_date(value: str, freq: str, parse: Any) -> list[Any]:
    if ".." in value:
        raise ConfigError(f"--as-of {value!r}: a plan is for one date, not a range")
    return list(parse([value], freq))
