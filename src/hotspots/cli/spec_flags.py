"""The flags of ``hotspots train`` and ``hotspots backtest``: each overrides one key of a
training spec, and without a spec the flags alone make one (every ``hotspots ingest`` flag
that says how to read the events is here too)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from hotspots.cli.data_cmds import PRESET_HELP
from hotspots.errors import ConfigError

if TYPE_CHECKING:  # pydantic builds the spec models at import: 0.2 s that --help must not pay
    from hotspots.jobs.spec import TrainingSpec

SPEC_ARG = typer.Argument(None, help="Training spec (TOML); flags override its keys.")
SPECS_ARG = typer.Argument(
    None, help="Training specs (TOML), e.g. training/*.toml; flags override their keys."
)
CLUSTER = typer.Option(
    None,
    help="Run the specs as tasks on Dask: local, local:N (N worker processes) or "
    "tcp://HOST:8786 [default: HOTSPOTS_DASK_SCHEDULER; unset: here, one after another].",
)
NO_WORKERS_TIMEOUT = typer.Option(
    None,
    help="With --cluster: seconds a task may wait for a worker that has left (or for any, "
    "when none is left) before the run ends with an error "
    "[default: HOTSPOTS_DASK_NO_WORKERS_TIMEOUT, else 300].",
)
EVENTS = typer.Option(None, "--events", help="Export or event table [spec: data.events].")
PRESET = typer.Option(None, help=f"Source format [spec: data.preset]. {PRESET_HELP}.")
MAP = typer.Option(None, "--map", help="Column map `key=COLUMN,...` [spec: data.map].")
CRS = typer.Option(None, help="CRS of x/y columns, e.g. EPSG:27700 [spec: data.crs].")
TZ = typer.Option(None, "--tz", help="Local timezone of the events [spec: data.timezone].")
SOURCE_TZ = typer.Option(
    None, help="Timezone of naive times of day in the file [spec: data.source_timezone]."
)
TIME_FORMAT = typer.Option(
    None, help="strftime format of the time column [spec: data.time_format]."
)
BOUNDARY = typer.Option(
    None, help="Study-area polygons (GeoJSON/GeoPackage) [spec: data.boundary]."
)
BBOX = typer.Option(None, help="Keep points inside `south,west,north,east` [spec: data.bbox].")
MAX_DISTANCE = typer.Option(
    None, help="Distance screen in km [spec: data.max_distance_km; default: 100]."
)
MAX_REJECT = typer.Option(None, help="Reject-share ceiling [spec: data.max_reject_fraction].")
DISCRETIONARY = typer.Option(
    None,
    "--include-discretionary/--no-include-discretionary",
    help="Keep officer-initiated types as targets [spec: data.include_discretionary; default: no].",
)
CATEGORY_MAP = typer.Option(None, help="CSV or TOML renaming categories [spec: data.category_map].")
CATEGORY_NAME = typer.Option(
    None, help="Category of every row, for a file without one [spec: data.category_name]."
)
CATEGORY = typer.Option(
    None, help="Target category; repeat, or a regular expression [spec: target.categories]."
)


def _resolution_text(value: str | None) -> str | None:
    """Refuse a malformed --resolution as click refuses any bad value (exit 2)."""
    if value is not None and not re.fullmatch(r"\s*\d{1,2}\s*(,\s*\d{1,2}\s*)*", value):
        raise typer.BadParameter(f"give a resolution or a list like 8,9,10, not {value!r}")
    return value


RESOLUTION = typer.Option(
    None,
    callback=_resolution_text,
    help="H3 resolution, or several (8,9,10) for the selection backtest to choose among "
    "[spec: grid.resolution / grid.resolutions; default: 9].",
)
PERIOD = typer.Option(None, help="D, W or M [spec: grid.period; default: W].")
K_RING = typer.Option(None, help="Grow the study area by K rings [spec: grid.k_ring; default: 0].")
START = typer.Option(None, help="First date used [spec: window.start].")
UNTIL = typer.Option(
    None, help="Exclusive training cut-off [spec: window.until; default: last whole period]."
)
MODEL = typer.Option(None, help="Main model kind [spec: model.kind; default: lightgbm].")
CHALLENGER = typer.Option(
    None,
    help="Another learned kind backtested beside the main one; the selection publishes the "
    "better; repeat [spec: model.challengers].",
)
FOLDS = typer.Option(None, help="Backtest folds [spec: backtest.folds; default: 12].")
REFIT_EVERY = typer.Option(
    None, help="Refit every K folds [spec: backtest.refit_every; default: fit once]."
)
SELECT_FOLDS = typer.Option(
    None,
    help="Periods just before the reported folds that choose the published model; 0 chooses "
    "on the reported folds [spec: backtest.select_folds; default: as many as --folds].",
)
NAME = typer.Option(None, help="Model name [spec: name].")

KEYS = {
    "events": "data.events",
    "preset": "data.preset",
    "map_": "data.map",
    "crs": "data.crs",
    "tz": "data.timezone",
    "source_tz": "data.source_timezone",
    "time_format": "data.time_format",
    "boundary": "data.boundary",
    "bbox": "data.bbox",
    "max_distance_km": "data.max_distance_km",
    "max_reject_fraction": "data.max_reject_fraction",
    "include_discretionary": "data.include_discretionary",
    "category_map": "data.category_map",
    "category_name": "data.category_name",
    "category": "target.categories",
    "resolution": "grid.resolution",
    "period": "grid.period",
    "k_ring": "grid.k_ring",
    "start": "window.start",
    "until": "window.until",
    "model": "model.kind",
    "challenger": "model.challengers",
    "folds": "backtest.folds",
    "refit_every": "backtest.refit_every",
    "select_folds": "backtest.select_folds",
    "name": "name",
}


def spec_from_flags(
    spec_file: Path | None, flags: dict[str, Any], default_name: bool
) -> TrainingSpec:
    """The spec ``spec_file`` with ``flags`` (named as the command's parameters) over its
    keys, or the flags alone. ``default_name``: without a name, use the events file's."""
    from hotspots.jobs.spec import read_spec, spec_from_dict

    overrides = {KEYS[k]: v for k, v in flags.items()}
    for key in ("target.categories", "model.challengers"):
        if overrides.get(key) == []:
            overrides[key] = None
    if overrides.get("grid.resolution") is not None:
        overrides.update(_resolution_keys(str(overrides.pop("grid.resolution"))))
    if spec_file is not None:
        return read_spec(spec_file, overrides)
    events = overrides.get("data.events")
    if events is None:
        raise ConfigError("give a training spec (SPEC.toml), or the events with --events")
    if overrides.get("name") is None:
        if not default_name:
            raise ConfigError("give a training spec (SPEC.toml), or name the model with --name")
        overrides["name"] = _name_of(Path(events))
    return spec_from_dict({"data": {}}, overrides)


def _resolution_keys(text: str) -> dict[str, Any]:
    """``--resolution 9`` sets ``grid.resolution`` (and no candidates); ``8,9,10`` sets the
    candidates ``grid.resolutions``."""
    values = [int(p) for p in text.split(",")]  # its form checked by _resolution_text
    if len(values) == 1:
        return {"grid.resolution": values[0], "grid.resolutions": []}
    return {"grid.resolutions": values}


def specs_from_flags(
    spec_files: list[Path] | None, flags: dict[str, Any], default_name: bool
) -> list[TrainingSpec]:
    """``spec_from_flags`` for each spec file (or the flags alone); one name per spec."""
    from hotspots.jobs.dates import check_year_first

    for key in ("start", "until"):  # named as typed, not as the spec key they set
        check_year_first(flags.get(key), f"--{key}")
    if spec_files and len(spec_files) > 1 and flags.get("name"):
        raise ConfigError(f"--name names one model; {len(spec_files)} specs were given")
    files: list[Path | None] = [*spec_files] if spec_files else [None]
    specs = [spec_from_flags(f, flags, default_name) for f in files]
    names = [s.name for s in specs]
    if len(set(names)) < len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise ConfigError(f"two specs have the same name {twice[0]!r}: names must differ")
    return specs


def cluster_address(flag: str | None) -> str | None:
    """``--cluster``, else ``HOTSPOTS_DASK_SCHEDULER``; None: the serial path."""
    if flag:
        return flag
    from hotspots.config import get_settings

    return get_settings().dask_scheduler or None


def no_workers_timeout(flag: float | None) -> float:
    """``--no-workers-timeout``, else ``HOTSPOTS_DASK_NO_WORKERS_TIMEOUT``; more than 0."""
    from hotspots.cluster.watch import check_timeout
    from hotspots.config import get_settings

    return check_timeout(flag if flag is not None else get_settings().dask_no_workers_timeout)


def _name_of(path: Path) -> str:
    from hotspots.jobs.spec import NAME_PATTERN

    stem = path.name.split(".")[0]
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-._")[:64] or "backtest"
    return name if re.match(NAME_PATTERN, name) else "backtest"
