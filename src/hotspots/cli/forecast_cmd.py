"""``hotspots forecast``: ranked forecasts from a registered model, never refitted."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from hotspots.atomic import check_distinct, check_output
from hotspots.cli.data_cmds import PRESET_HELP, print_created
from hotspots.cli.main import app, console
from hotspots.cli.progress import stage
from hotspots.cli.render import print_report

if TYPE_CHECKING:
    import pandas as pd

    from hotspots.ingest.event_store import EventStore

_MODELS_DIR = typer.Option(None, help="Registry folder [default: HOTSPOTS_MODELS_DIR or models].")
_PRESET = typer.Option(None, help=f"Source format. {PRESET_HELP}.")
_MAP = typer.Option(None, "--map", help="Column map `key=COLUMN,...`.")
_CRS = typer.Option(None, help="CRS of x/y columns, e.g. EPSG:27700.")
_MAX_REJECT = typer.Option(None, help="Reject-share ceiling [default: the model's, or 0.05].")
_EVENTS = typer.Option(
    None,
    "--events",
    help="Export or event table with the history [required unless --state-dir is given].",
)
_STATE_DIR = typer.Option(
    None,
    "--state-dir",
    help="Add the events posted to the service whose state folder this is (its events/ "
    "batches), read as the API reads them: with the --events the service reads "
    "(HOTSPOTS_EVENTS_PATH), what the API serves [default: no posted events].",
)
_TIME_FORMAT = typer.Option(
    None,
    "--time-format",
    help="strftime format of the time column, or epoch-s / epoch-ms [default: the model's, "
    "or inferred for an export given --preset or --map].",
)


@app.command(
    epilog=(
        "Examples:\n\n"
        "  hotspots forecast --model demo-burglary --events demo/events.parquet "
        "--output forecast.json\n\n"
        "  hotspots forecast --model demo-burglary --events demo/events.parquet "
        "--as-of 2024-12-02..2024-12-30 --horizon 4 --output forecast.csv\n\n"
        "  hotspots forecast --model demo-burglary --events demo/events.parquet "
        "--state-dir var --output forecast.json\n\n"
    )
)
def forecast(
    model: str = typer.Option(..., "--model", help="Model name in the registry."),
    version: str | None = typer.Option(None, help="Version, e.g. v3 [default: current]."),
    models_dir: Path | None = _MODELS_DIR,
    events: Path | None = _EVENTS,
    state_dir: Path | None = _STATE_DIR,
    preset: str | None = _PRESET,
    map_: str | None = _MAP,
    crs: str | None = _CRS,
    tz: str | None = typer.Option(None, "--tz", help="Local timezone [default: the model's]."),
    time_format: str | None = _TIME_FORMAT,
    max_reject_fraction: float | None = _MAX_REJECT,
    as_of: list[str] | None = typer.Option(
        None,
        "--as-of",
        help="Forecast date; repeat, or START..END for every period start [default: the end "
        "of the events' last whole period, the forecast the API publishes].",
    ),
    horizon: int = typer.Option(
        1, help="Periods to forecast from each as_of (at most a year: 365 D, 52 W, 12 M)."
    ),
    output: Path = typer.Option(
        ..., "--output", "-o", help="Output .json or .geojson (the API's document), .csv, .parquet."
    ),
) -> None:
    """Forecast expected counts per study cell from a registered model (no refitting).

    Each as_of reads only whole periods before it; horizon 1 is the period that starts at
    as_of, or the first one after it. A .json or .geojson output is the forecast document the
    API serves (ranks, intervals, relative risk, reasons; counts under
    HOTSPOTS_MIN_EVENTS_SHOWN suppressed), one file per period: out.json, out-2.json...
    A .csv or .parquet output has one row per as_of, period and cell: as_of, period_start,
    cell, expected_count, rank. With --state-dir, the events posted to that service
    (POST /v1/events) are added as the API adds them; without it, none are.
    """
    from hotspots.config import get_settings
    from hotspots.errors import ConfigError
    from hotspots.jobs.data import whole_periods_end
    from hotspots.jobs.forecast import forecast_events, output_suffix, parse_as_of, write_forecast
    from hotspots.publishing.served import DOCUMENT_SUFFIXES
    from hotspots.registry import Registry

    check_distinct({"--events": events, "--output": output})
    posted = posted_store(events, state_dir)
    suffix = output_suffix(output)
    created = check_output(output, "--output")
    loaded = Registry(models_dir or get_settings().models_dir).load(model, version)
    freq = loaded.forecaster.freq_
    _check_horizon_flag(horizon, freq)  # before minutes of reading events
    dates = parse_as_of(as_of, freq) if as_of else []
    if suffix in DOCUMENT_SUFFIXES and len(dates) > 1:
        raise ConfigError(f"--output {output.name} holds the document of one as_of: give one")
    history = read_history(
        loaded.manifest,
        events,
        max_reject_fraction,
        preset=preset,
        map_=map_,
        crs=crs,
        tz=tz,
        time_format=time_format,
        posted=posted,
    )
    dates = dates or [whole_periods_end(history, freq)]
    if suffix in DOCUMENT_SUFFIXES:
        _write_document(model, loaded, history, dates[0], horizon, output, created)
    else:
        with stage(f"forecasting {len(dates)} as_of date(s)"):
            frame, warnings = forecast_events(
                loaded.forecaster, history, dates, horizon, loaded.manifest
            )
        _print_warnings(warnings)
        print_created(created)
        write_forecast(frame, output)
        console.print(
            f"wrote {len(frame):,} rows ({len(dates)} as_of x {horizon} period(s) x "
            f"{loaded.forecaster.cells_.size:,} cells) from {model} {loaded.version} to {output}",
            soft_wrap=True,
        )


def _check_horizon_flag(horizon: int, freq: str) -> None:
    """The forecasters' horizon rule (``check_horizon``), its refusal naming the flag and the
    value typed, as ``hotspots plan`` and ``serve`` name theirs."""
    from hotspots.errors import ConfigError
    from hotspots.forecasters import MAX_HORIZON, check_horizon

    try:
        check_horizon(horizon, freq)
    except ConfigError:
        limit = MAX_HORIZON.get(freq)
        why = f" (a '{freq}' model forecasts at most {limit} periods, a year, ahead)"
        within = f"between 1 and {limit}{why}" if limit else "1 or more"
        raise ConfigError(f"--horizon {horizon}: must be {within}") from None


def _write_document(
    name: str,
    loaded: Any,
    history: pd.DataFrame,
    as_of: pd.Timestamp,
    horizon: int,
    out: Path,
    created: list[Path],
) -> None:
    """The forecast document the API serves, made by the same library call, to ``out``
    (creating the folders ``created``)."""
    from hotspots.config import get_settings
    from hotspots.jobs.forecast import forecast_warnings
    from hotspots.publishing.served import publish_events, write_document

    warnings = forecast_warnings(loaded.forecaster, history, [as_of], loaded.manifest)
    with stage(f"publishing the forecast as of {as_of.date()}"):
        snapshot, _ = publish_events(
            loaded.forecaster,
            history,
            name=name,
            version=loaded.version,
            as_of=as_of,
            horizon=horizon,
            min_events_shown=get_settings().min_events_shown,
        )
    _print_warnings(warnings)
    print_created(created)
    paths = write_document(snapshot, out)
    console.print(
        f"wrote the forecast document of {name} {loaded.version} as of {as_of.date()} "
        f"({snapshot.n_cells:,} cells) to " + ", ".join(str(p) for p in paths),
        soft_wrap=True,
    )


def _print_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        console.print(f"warning: {warning}", soft_wrap=True)


def posted_store(events: Path | None, state_dir: Path | None) -> EventStore | None:
    """The posted batches of the service state folder ``state_dir`` (None: none); refuses
    a folder without them, and no events at all."""
    from hotspots.errors import ConfigError
    from hotspots.ingest.event_store import EventStore

    if state_dir is None:
        if events is None:
            raise ConfigError(
                "no events: give --events (an export or event table), or --state-dir with "
                "the service's posted events"
            )
        return None
    folder = state_dir / "events"
    if not folder.is_dir():
        raise ConfigError(
            f"--state-dir {state_dir}: no events folder {folder} (the service's state folder, "
            "HOTSPOTS_STATE_DIR, holds one once events are posted to it)"
        )
    store = EventStore(folder)
    if events is None and not store.batches():
        raise ConfigError(f"--state-dir {state_dir}: no posted batch in {folder}; give --events")
    return store


def read_history(
    manifest: Mapping[str, Any],
    events: Path | None,
    max_reject_fraction: float | None,
    *,
    preset: str | None,
    map_: str | None,
    crs: str | None,
    tz: str | None,
    time_format: str | None = None,
    posted: EventStore | None = None,
) -> pd.DataFrame:
    """The events of ``events`` read as the model's own were (its manifest), the flags on top,
    plus the batches ``posted`` to a service as it reads them (``jobs.event_cache``); the
    validation report is printed. Shared by ``forecast`` and ``plan``."""
    from hotspots.jobs.data import event_options, ingest_options
    from hotspots.jobs.event_cache import read_with_posted

    kwargs = event_options(manifest)  # how the model's own events were read
    if preset is not None:
        kwargs.update(preset=preset, map=map_)  # another preset brings its own columns
    if preset is not None or map_ is not None:  # another export: its values tell its forms
        for key in ("date_order", "hour_form", "time_format", "months", "placeholders"):
            kwargs.pop(key, None)
    flags = {
        "map": map_,
        "crs": crs,
        "timezone": tz,
        "time_format": time_format,
        "max_reject_fraction": max_reject_fraction,
    }
    kwargs.update({k: v for k, v in flags.items() if v is not None})
    options = ingest_options(**kwargs)
    label = events.name if events is not None else "the posted events"
    with stage(f"reading {label}"):
        history, added = read_with_posted(events, options, posted)
    if history.report is not None:
        print_report(console, history.report)
    if posted is not None:
        n = len(posted.batches())
        console.print(
            f"added {added:,} posted event(s) from {n} batch(es) in {posted.folder}, as the "
            "API's forecast reads them",
            soft_wrap=True,
        )
    return history.events
