"""Data commands: ``hotspots ingest`` and ``hotspots demo-data``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from hotspots.atomic import check_distinct, check_output, write_text
from hotspots.cli.main import app, console, help_markup
from hotspots.cli.progress import counted, stage
from hotspots.cli.render import print_report
from hotspots.errors import ConfigError, DataValidationError, TooManyRejectsError
from hotspots.ingest.mapping import PRESETS

if TYPE_CHECKING:  # the heavy modules load when a command runs, not for --help
    import pandas as pd

    from hotspots.features import Panel
    from hotspots.ingest import IngestOptions, IngestResult

_BOLD = "**" if help_markup() == "markdown" else ""  # plain help would print the asterisks
PRESET_HELP = "; ".join(f"{_BOLD}{p.name}{_BOLD}: {p.description}" for p in PRESETS.values())


def build_options(
    preset: str,
    map_: str | None,
    crs: str | None,
    tz: str | None,
    source_tz: str | None,
    time_format: str | None,
    bbox: str | None,
    boundary: Path | None,
    max_distance_km: float,
    max_reject_fraction: float | None,
    include_discretionary: bool,
    category_map: Path | None,
    category_name: str | None,
    encoding: str,
    delimiter: str | None,
    now: str | None,
    start: str | None = None,
) -> IngestOptions:
    """IngestOptions from CLI flag values (shared by every command that reads events)."""
    from hotspots.jobs.data import ingest_options

    return ingest_options(
        preset=preset,
        map=map_,
        crs=crs,
        timezone=tz,
        source_timezone=source_tz,
        time_format=time_format,
        boundary=boundary,
        bbox=bbox,
        max_distance_km=max_distance_km,
        max_reject_fraction=max_reject_fraction,
        include_discretionary=include_discretionary,
        category_map=category_map,
        category_name=category_name,
        encoding=encoding,
        delimiter=delimiter,
        now=now,
        start=start,
    )


def _read_with_progress(path: Path, options: IngestOptions) -> IngestResult:
    from hotspots.ingest import ingest_file

    with counted(f"reading {path.name}") as update:
        return ingest_file(path, options, lambda done, total: update("bytes", done, total))


@app.command(
    epilog=(
        "Examples:\n\n"
        "  hotspots ingest street.csv --preset police-uk --out events.parquet\n\n"
        "  hotspots ingest crimes.csv.gz --map time=date,lat=latitude,lng=longitude "
        "--category-name 'aggravated assault' --tz America/Chicago --out events.parquet\n\n"
        "  hotspots ingest vpd.csv --map year=YEAR,month=MONTH,day=DAY,hour=HOUR,minute=MINUTE,"
        "x=X,y=Y,category=TYPE --crs EPSG:26910 --tz America/Vancouver --out events.parquet"
    )
)
def ingest(
    file: Path = typer.Argument(
        ...,
        help="CSV (plain or .gz), a .zip of CSVs, Parquet, GeoJSON, GeoPackage, or JSON "
        "records (.jsonl / .ndjson lines, or a .json array of objects).",
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Event table to write (Parquet)."),
    preset: str = typer.Option("generic", help=f"Source format. {PRESET_HELP}."),
    map_: str | None = typer.Option(
        None,
        "--map",
        help="Column map `key=COLUMN,...`; keys: time | date | year,month,day,hour,minute; "
        "tz (a time zone per row: +01:00, UTC, EST or America/Chicago); "
        "lat,lng | x,y | point (one column: `(lat, lng)`, WKT `POINT (lng lat)` or GeoJSON); "
        "category; id; origin; offence (a finer type than category, which tells another "
        "offence of an incident from a duplicate). Overrides the preset's columns.",
    ),
    crs: str | None = typer.Option(None, help="CRS of x/y columns, e.g. EPSG:27700."),
    tz: str | None = typer.Option(
        None,
        "--tz",
        help="Local timezone for event times [default: the preset's, else "
        "HOTSPOTS_TIMEZONE or UTC].",
    ),
    source_tz: str | None = typer.Option(
        None, help="Timezone of naive times of day in the file, if not --tz (e.g. UTC)."
    ),
    time_format: str | None = typer.Option(
        None,
        help="strftime format of the time column, or epoch-s / epoch-ms for Unix epoch numbers "
        "[default: the preset's, else inferred].",
    ),
    bbox: str | None = typer.Option(
        None, help="Keep points inside `south,west,north,east` (lat,lng order)."
    ),
    boundary: Path | None = typer.Option(
        None, help="Keep points inside this GeoJSON/GeoPackage polygon layer."
    ),
    max_distance_km: float = typer.Option(
        100.0,
        help="Without --bbox/--boundary: reject points this far from the median event "
        "(geocoding failures). 0 turns it off.",
    ),
    max_reject_fraction: float | None = typer.Option(
        None,
        help="Fail if more than this share of rows is rejected [default: "
        "HOTSPOTS_MAX_REJECT_FRACTION or 0.05].",
    ),
    include_discretionary: bool = typer.Option(
        False,
        "--include-discretionary",  # one name: a --no- twin would widen the help's name column
        help="Keep officer-initiated types (drugs, weapons possession, public order, "
        "...) as targets. Off by default: their counts follow where police looked.",
    ),
    category_map: Path | None = typer.Option(
        None, help="CSV `source,canonical` or TOML [categories] table renaming categories."
    ),
    category_name: str | None = typer.Option(
        None, help="Category of every row, for a file without a category column."
    ),
    encoding: str = typer.Option("utf-8", help="Text encoding of a CSV."),
    delimiter: str | None = typer.Option(None, help="CSV delimiter [default: sniffed]; 'tab'."),
    now: str | None = typer.Option(None, help="Treat times after this as future [default: now]."),
    start: str | None = typer.Option(
        None,
        help="Reject times before this date as outside_period [default: times over a year "
        "before the first month holding 5% of a typical month's events].",
    ),
    report: Path | None = typer.Option(
        None, help="Where to save the report JSON [default: beside --out, .report.json]."
    ),
    panel: Path | None = typer.Option(
        None, help="Also write the cell x period count panel (Parquet) here."
    ),
    resolution: int = typer.Option(9, help="H3 resolution of the panel (9: ~0.1 km2 cells)."),
    period: str = typer.Option("W", help="Panel period: D, W (weeks start Monday) or M."),
    k_ring: int = typer.Option(
        0, help="Grow the study area (cells with events, or --boundary) by this many rings."
    ),
) -> None:
    """Read an incident export, validate every row, and write the normalised event table.

    Rejected rows are counted by reason with example source rows; the report is printed and
    saved as JSON. A file that cannot be read ends with one error line and exit status 2,
    and nothing is written.
    """
    options = build_options(
        preset,
        map_,
        crs,
        tz,
        source_tz,
        time_format,
        bbox,
        boundary,
        max_distance_km,
        max_reject_fraction,
        include_discretionary,
        category_map,
        category_name,
        encoding,
        delimiter,
        now,
        start,
    )
    if panel is not None:  # before the file is read: a mistake here costs no wait
        period = _check_panel_flags(period, resolution, k_ring)
    _refuse_event_table(file)
    report_path = report or out.with_name(out.name.removesuffix(".parquet") + ".report.json")
    check_distinct({"FILE": file, "--out": out, "--report": report_path, "--panel": panel})
    created = check_output(out, "--out") + check_output(report_path, "--report")
    panel_created = check_output(panel, "--panel") if panel is not None else []
    try:
        result = _read_with_progress(file, options)
    except TooManyRejectsError as err:
        print_report(console, err.report)  # type: ignore[arg-type]
        raise
    print_report(console, result.report)
    if result.events.empty:  # a ceiling of 1 lets every row go: an empty table is no result
        r = result.report
        raise DataValidationError(
            f"no row of {r.source} was accepted ({r.n_rejected:,} rejected, {r.n_excluded:,} "
            "left out by policy); nothing written"
            + (f"; {result.area_miss}" if result.area_miss else "")
        )
    counts = (
        _panel(result, boundary, resolution, period, k_ring) if panel else None
    )  # built before anything is written: a panel that cannot be made leaves no files
    meta = {
        "source": str(file),
        "preset": preset,
        "timezone": result.timezone,
        "report": result.report.to_dict(),
    }
    from hotspots.ingest import write_events

    print_created(created)
    write_events(result.events, out, meta)
    write_text(report_path, result.report.to_json())
    console.print(
        f"wrote {len(result.events):,} events to {out} and the report to {report_path}",
        soft_wrap=True,
    )
    if counts is not None and panel is not None:
        print_created(panel_created)
        counts.to_parquet(panel)
        console.print(_panel_summary(counts, panel), soft_wrap=True)
        partial = _partial_periods(result.events, counts)
        if partial:
            console.print(f"note: {partial}", soft_wrap=True)


def _check_panel_flags(period: str, resolution: int, k_ring: int) -> str:
    """Refuse a --period, --resolution or --k-ring no panel can have, naming the flag; the
    period's code (``period_code``: ``w`` is ``W``, as in a training spec)."""
    from hotspots.jobs.periods import PERIODS, period_code

    if period_code(period) not in PERIODS:
        raise ConfigError(f"--period {period!r} must be D, W (weeks from Monday) or M")
    if not 0 <= resolution <= 15:
        raise ConfigError(f"--resolution {resolution} must be an H3 resolution from 0 to 15")
    if k_ring < 0:
        raise ConfigError(f"--k-ring {k_ring} must be 0 (the cells alone) or more rings")
    return str(period_code(period))


def print_created(folders: list[Path]) -> None:
    """Say which missing output folders a command creates, just before the write that makes
    them (so before its "wrote ..." line), once: the list is emptied."""
    for folder in dict.fromkeys(folders):
        console.print(f"created folder {folder} (it did not exist)", soft_wrap=True)
    folders.clear()


def _panel(
    result: IngestResult, boundary: Path | None, resolution: int, period: str, k: int
) -> Panel:
    from hotspots.features import events_to_panel, period_floor
    from hotspots.grid import StudyArea
    from hotspots.jobs.data import data_start

    area = StudyArea.from_boundary(boundary, resolution) if boundary else None
    # the panel starts where the data do: stray events before the dense months are not counted
    start = period_floor([data_start(result.events)], period)[0]
    with stage("building the panel"):
        return events_to_panel(
            result.events, resolution=resolution, freq=period, study_area=area, k=k, start=start
        )


def _refuse_event_table(file: Path) -> None:
    """An event table (this command's output) given back: say what it is and where it goes.
    Without a map it was refused as ``--map needs lat=COL``; with one it was read again as an
    export, and without ``--tz`` its local times became UTC times, which moves every hour
    of the week a plan's "when" reads."""
    if file.suffix.lower() != ".parquet" or not file.is_file():
        return
    from hotspots.ingest import is_event_table

    if is_event_table(file):
        raise ConfigError(
            f"{file.name} is an event table already (written by hotspots ingest): train, "
            "backtest, forecast and plan read it as --events as it is; its validation report "
            "is beside it"
        )


def _partial_periods(events: pd.DataFrame, p: Panel) -> str | None:
    """Which end periods of the panel the data cover only in part (their counts look low),
    and the whole periods ``hotspots train`` and ``forecast`` use instead."""
    import pandas as pd

    from hotspots.forecasters import next_period_start
    from hotspots.jobs.data import whole_periods_end, whole_periods_start

    start, until = whole_periods_start(events, p.freq), whole_periods_end(events, p.freq)
    end = next_period_start(p.periods[-1] + pd.Timedelta(days=1), p.freq)
    parts = [
        f"the first period ({p.periods[0].date()})" if p.periods[0] < start else "",
        f"the last period ({p.periods[-1].date()})" if end > until else "",
    ]
    said = [part for part in parts if part]
    if not said:
        return None
    verb = "hold only part of their days" if len(said) == 2 else "holds only part of its days"
    return (
        f"{' and '.join(said)} of the panel {verb} in the data, so counts there look low; "
        f"hotspots train and forecast use the whole periods from {start.date()} to "
        f"{until.date()} (excl.)"
    )


def _panel_summary(p: Panel, path: Path) -> str:
    first, last = p.periods[0].date(), p.periods[-1].date()
    return (
        f"wrote the panel to {path}: {len(p.cells):,} cells (H3 res {p.resolution}, "
        f"{p.study_area.area_km2:,.1f} km2) x {len(p.periods):,} periods ({p.freq}, "
        f"{first} to "
        f"{last}) x {plural(len(p.categories), 'category', 'categories')}; "
        f"{int(p.counts.sum()):,} events counted"
        + (f", {p.n_outside:,} outside the study area" if p.n_outside else "")
        + (f", {p.n_out_of_range:,} before the data's dense months" if p.n_out_of_range else "")
    )


def plural(n: int, one: str, many: str) -> str:
    """``1 category``, ``2 categories``."""
    return f"{n:,} {one if n == 1 else many}"


@app.command("demo-data")
def demo_data(
    out: Path = typer.Option(Path("demo"), "--out", "-o", help="Folder to write into."),
    seed: int = typer.Option(0, help="Random seed (same seed, same city)."),
    days: int = typer.Option(730, help="Length of the history in days."),
    events: int = typer.Option(150_000, help="Expected number of events."),
) -> None:
    """Generate the synthetic demo city: events with realistic defects, and the true risk.

    Writes events.csv.gz (generic schema), truth_W.parquet (true expected counts per cell
    and week), truth_origin_W.parquet (the same given only the weeks before each: the
    oracle training/demo.toml backtests against), boundary.geojson, and city.json with the
    --map and timezone to ingest it (also as column_map.txt and timezone.txt, for a shell).
    """
    from hotspots.synthetic import generate_city, write_city

    created = check_output(out, "--out", folder=True)
    with stage(f"simulating {events:,} events over {days} days"):
        city = generate_city(seed=seed, days=days, target_events=events)
    print_created(created)  # just before the write that makes it
    with stage(f"writing the demo city to {out}"):
        paths = write_city(city, out)
    info = json.loads(paths["city.json"].read_text()) if "city.json" in paths else {}
    console.print(f"wrote the demo city to {out}/: " + ", ".join(p.name for p in paths.values()))
    if info:
        console.print(
            f"  ingest it with: hotspots ingest {paths['events.csv.gz']} "
            f"--map {info.get('column_map')} --tz {info.get('timezone')} --out ..."
        )
