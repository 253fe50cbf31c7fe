"""Settings read from the environment (prefix ``HOTSPOTS_``), one cached instance."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process-wide defaults; every CLI flag of the same name overrides them."""

    model_config = SettingsConfigDict(
        env_prefix="HOTSPOTS_",
        env_file=".env",
        extra="ignore",
        use_attribute_docstrings=True,  # the docstrings below are the settings' help
    )

    timezone: str = "UTC"
    """Local timezone that event times are converted to (an IANA name)."""
    max_reject_fraction: float = 0.05
    """Share of rejected rows above which an ingest fails instead of thinning the data."""
    models_dir: Path = Path("models")
    """Home of the model registry."""
    dask_scheduler: str | None = None
    """Where ``hotspots train`` / ``backtest`` run their tasks when no ``--cluster`` is given:
    ``local``, ``local:N`` or ``tcp://HOST:8786`` (unset: in the command's own process)."""
    dask_no_workers_timeout: float = 300.0
    """Seconds a task on the cluster may wait for a worker that has left (the one holding its
    spec's panel) or for any worker when none is left, before the run ends with an error."""
    state_dir: Path = Path("var")
    """The forecast service's state: its API keys (keys.json), audit log (a file a day,
    audit-YYYY-MM-DD.jsonl), posted events and published snapshots."""
    events_path: Path | None = None
    """Events the service forecasts from: an export or an event table ``hotspots ingest``
    wrote, read with each model's own ingest settings."""
    forecast_horizon: int = 4
    """Periods the service publishes ahead of ``as_of`` (``horizon=1..H`` on the API): at
    most a year of a model's periods (52 weekly), as ``hotspots forecast --horizon``."""
    min_events_shown: int = 3
    """Cells (and plan areas) with fewer target events in the history are ranked but their
    counts withheld: the threshold rule of statistical disclosure control, whose usual
    minimum is 3 (a count of 1 or 2 in a 0.1 km2 cell can point at one household or victim);
    0 shows every count."""
    history_periods: int = 8
    """Recent periods of target counts ``/v1/cells/{cell}`` shows."""
    cache_max_age: int = 5
    """Seconds a client may reuse a forecast response (``Cache-Control: private``)."""
    areas_path: Path | None = None
    """Polygons of named areas (GeoJSON, GPKG, ...) that ``within=`` on the API selects."""
    areas_field: str = "name"
    """The field of ``areas_path`` that names each area."""
    refresh_seconds: int = 0
    """Republish forecasts this often when events were posted or the registry's current
    version of a model changed (0: only on request)."""
    retrain_seconds: float = 0
    """Retrain every served model this often, from the training spec in its manifest, on
    the events file and the posted events (``hotspots retrain``); the new version is served
    when it beats the current one (0: never; ``hotspots serve --retrain-every 7d``)."""
    # -- closing the loop (feedback/patrols.py, feedback/effectiveness.py) --
    patrol_max_hours: float = 12.0
    """The longest a logged patrol may last (longer rows are rejected as ``too_long``)."""
    effectiveness_k_periods: int = 4
    """A model whose realised PAI fell below the best baseline's in this many consecutive
    periods is flagged (``/readyz``, the effectiveness report and the log)."""
    monitor_areas_path: Path | None = None
    """Polygons with a group and / or population attribute (census areas, districts) for
    the feedback-loop monitor's per-group table at ``/v1/monitor`` (none: no group table)."""
    monitor_group_field: str | None = None
    """The field of ``monitor_areas_path`` naming each polygon's group (none: each polygon)."""
    monitor_population_field: str | None = None
    """The field of ``monitor_areas_path`` holding each polygon's population."""
    monitor_periods: int = 26
    """Past periods ``/v1/monitor`` reads (the served forecasts and the events of each)."""
    plan_areas: int = 6
    """Patrol areas in the plan built at publish time (``/v1/plans/latest`` without
    ``areas=``); other budgets are built on request and kept."""
    plan_max_area_km2: float = 1.0
    """Largest patrol area, km2, of the plan built at publish time (without ``max_area_km2=``
    or ``total_km2=``)."""
    plan_shifts: str = "0,6,12,18"
    """The hours the blocks of the day start at, as officers are tasked by shift (``7,15,23``:
    07-15, 15-23 and 23-07, a block spanning midnight counted on the day it starts): each plan
    area names the blocks of the week and of the day that stand out (``shifts=`` on the API,
    ``hotspots plan --shifts``). Hours 0-23, distinct, at least two; the default, four 6-hour
    blocks from midnight, favours no force's shift pattern."""
    map_tiles: str | None = None
    """A raster tile URL template (``https://tiles.example/{z}/{x}/{y}.png``) drawn under
    ``/map``'s cells; none: a blank background, and the page calls nothing but this API."""
    # -- limits and metrics (service/limits.py, service/metrics.py) --
    rate_limit_per_minute: int = 600
    """Requests per minute each API key may make on average (0: no limit); over it is 429."""
    rate_limit_burst: int = 60
    """Requests an API key may make at once before ``rate_limit_per_minute`` paces it."""
    max_upload_bytes: int = 32 * 1024 * 1024
    """Largest request body the service reads, in bytes (0: no limit); over it is 413."""
    opentelemetry: bool = False
    """Let FastAPI report each request to the process's OpenTelemetry providers (traces,
    metrics, logs), if any are configured. Off by default: nothing about a request leaves the
    service but ``/metrics`` and the audit log, and FastAPI's per-request check for providers
    (~3 us, a sixth of a dashboard poll's work in the app) is skipped."""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once from the environment."""
    return Settings()
