"""Closing the loop: ``hotspots patrols import FILE`` and ``hotspots report effectiveness``.

Both work on the service's state folder, as the API does: a patrol log imported here is the
same stored batch ``POST /v1/patrols`` makes (a retry stores nothing twice), and the report
scores the same records ``GET /v1/effectiveness`` serves and writes the monitor
``GET /v1/monitor`` serves.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from hotspots.cli.main import app, console

if TYPE_CHECKING:
    from collections.abc import Iterable

    import pandas as pd

    from hotspots.config import Settings

patrols_app = typer.Typer(
    name="patrols",
    help="Log patrols (where, when, by which pseudonymous unit) for the effectiveness report.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
app.add_typer(patrols_app, name="patrols")
report_app = typer.Typer(
    name="report",
    help="Reports on what was served: `hotspots report effectiveness`.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
app.add_typer(report_app, name="report")

STATE_DIR_HELP = "Service state folder [default: HOTSPOTS_STATE_DIR or ./var]."
MODELS_DIR_HELP = "Model registry [default: HOTSPOTS_MODELS_DIR or ./models]."
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


def _settings(**given: object) -> Settings:
    from hotspots.config import get_settings

    overrides = {k: v for k, v in given.items() if v is not None}
    return get_settings().model_copy(update=overrides)


@patrols_app.command("import")
def import_patrols(
    file: Path = typer.Argument(..., help="Patrol log: .csv, or JSON lines (.jsonl / .ndjson)."),
    model: str | None = typer.Option(
        None, "--model", help="Read places on this model's grid [the first registered]."
    ),
    state_dir: Path | None = typer.Option(None, "--state-dir", help=STATE_DIR_HELP),
    models_dir: Path | None = typer.Option(None, "--models-dir", help=MODELS_DIR_HELP),
    areas: Path | None = typer.Option(
        None,
        "--areas",
        help="Named areas (polygons) the `area` column names [HOTSPOTS_AREAS_PATH].",
    ),
    plan: list[Path] | None = typer.Option(
        None,
        "--plan",
        help="A plan `hotspots plan` wrote (.json or .geojson; repeat): `area` may then name "
        "its areas as AS_OF/RANK, e.g. 2024-01-08/3.",
    ),
    max_reject: float | None = typer.Option(
        None,
        "--max-reject",
        help="Share of rejected rows above which nothing is stored "
        "[HOTSPOTS_MAX_REJECT_FRACTION or 0.05].",
    ),
) -> None:
    """Validate a patrol log and store its patrols (a patrol id already stored is skipped).

    Columns: id, one of area / cells / polygon, start, end, and optionally unit and tactic.
    No column may hold a person's name: a name-like column refuses the whole file.
    """
    import dataclasses
    import json

    from hotspots.cli.render import patrol_report_table
    from hotspots.errors import ConfigError, InputFileError, TooManyRejectsError
    from hotspots.feedback.patrol_store import PATROLS_DIR, PatrolStore
    from hotspots.feedback.patrols import read_patrols
    from hotspots.feedback.places import plan_areas
    from hotspots.registry import Registry
    from hotspots.serving.patrols import patrol_options

    fmt = FORMATS.get(file.suffix.lower())
    if fmt is None:
        raise ConfigError(f"{file}: give a .csv or a JSON-lines file (.jsonl, .ndjson)")
    settings = _settings(state_dir=state_dir, models_dir=models_dir, areas_path=areas)
    registry = Registry(settings.models_dir)
    name = model or min(registry.names(), default=None)
    if name is None:
        raise ConfigError(f"no model in {settings.models_dir}: patrols are read on a model's grid")
    loaded = registry.load(name)
    options = patrol_options(loaded.forecaster, loaded.manifest, settings, max_reject)
    for path in plan or []:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as err:
            raise InputFileError(f"--plan {path}: not a JSON plan: {err}") from err
        named = plan_areas(document)
        options = dataclasses.replace(options, areas={**options.areas, **named})
    try:
        result = read_patrols(file.read_bytes(), fmt, options, file.name)
    except TooManyRejectsError as err:
        console.print(patrol_report_table(err.report))  # type: ignore[arg-type]
        raise
    meta = {
        "source": "hotspots patrols import",
        "file": file.name,
        "model": f"{name}/{loaded.version}",
    }
    stored = PatrolStore(settings.state_dir / PATROLS_DIR).append(result.patrols, meta)
    report = result.report.to_dict()
    if report["n_rejected"]:
        console.print(patrol_report_table(result.report))
    console.print(
        f"read {report['rows_read']} rows of {file.name}: stored {stored.stored} patrols, "
        f"{stored.already_stored} already stored, {report['n_rejected']} rejected",
        soft_wrap=True,
    )


@report_app.command("effectiveness")
def report_effectiveness(
    out: Path = typer.Option(..., "--out", help="Folder for effectiveness.html and the CSVs."),
    model: list[str] | None = typer.Option(
        None, "--model", help="Only this model (repeat) [every model with published forecasts]."
    ),
    since: str | None = typer.Option(
        None, "--since", help="Periods scored starting on or after this date (YYYY-MM-DD)."
    ),
    until: str | None = typer.Option(
        None, "--until", help="Periods scored starting before this date (YYYY-MM-DD)."
    ),
    category: str | None = typer.Option(
        None, "--category", help="Score against this category alone [each model's target]."
    ),
    k_periods: int | None = typer.Option(
        None, "--k", help="Flag after this many periods below the best baseline [4]."
    ),
    state_dir: Path | None = typer.Option(None, "--state-dir", help=STATE_DIR_HELP),
    models_dir: Path | None = typer.Option(None, "--models-dir", help=MODELS_DIR_HELP),
    events: Path | None = typer.Option(
        None, "--events", help="The export the service forecasts from [HOTSPOTS_EVENTS_PATH]."
    ),
    monitor_areas: Path | None = typer.Option(
        None,
        "--monitor-areas",
        help="Feedback-loop monitor: polygons (census areas, districts; any file GDAL reads) "
        "whose groups get their share of the flagged area and of patrol time beside their "
        "share of population and of reported crime; with --monitor-group-field, "
        "--monitor-population-field or both [HOTSPOTS_MONITOR_AREAS_PATH; none: no group "
        "table].",
    ),
    monitor_group_field: str | None = typer.Option(
        None,
        "--monitor-group-field",
        help="The field of --monitor-areas naming each polygon's group "
        "[HOTSPOTS_MONITOR_GROUP_FIELD; none: each polygon is a group].",
    ),
    monitor_population_field: str | None = typer.Option(
        None,
        "--monitor-population-field",
        help="The field of --monitor-areas holding each polygon's population "
        "[HOTSPOTS_MONITOR_POPULATION_FIELD].",
    ),
    monitor_periods: int | None = typer.Option(
        None,
        "--monitor-periods",
        min=1,
        help="Past periods the monitor reads [HOTSPOTS_MONITOR_PERIODS or 26], as /v1/monitor.",
    ),
    monitor_window: int | None = typer.Option(
        None,
        "--monitor-window",
        min=1,
        max=104,
        help="P: periods counted back for how often each cell was flagged [the model's "
        "training-time setting, 8]; another P drops the training-time reference.",
    ),
    monitor_repeat: int | None = typer.Option(
        None,
        "--monitor-repeat",
        min=1,
        max=104,
        help="X: the share of the flagged area flagged in at least X of the last P periods "
        "is the repeat share [the model's training-time setting, 6, or P when P is smaller].",
    ),
) -> None:
    """Realised hit rate, PAI and PEI of each published forecast beside the baselines, the
    patrol dosage beside the crime that followed, and each model's feedback-loop monitor,
    the figures `GET /v1/monitor` serves (HTML with plots, and CSV)."""
    from hotspots.atomic import check_output
    from hotspots.errors import ConfigError, InputFileError
    from hotspots.feedback.realised_io import between, day_of
    from hotspots.feedback.report import write_effectiveness_report
    from hotspots.feedback.report_monitor import verdict
    from hotspots.publishing.snapshot_store import SnapshotStore
    from hotspots.serving.monitor import monitors_from_records
    from hotspots.serving.realised import current_models, realised_from_records

    check_output(out, "--out", folder=True)
    start, end = day_of(since, "--since"), day_of(until, "--until")
    for flag, path in (("--events", events), ("--monitor-areas", monitor_areas)):
        if path is not None and not path.is_file():
            raise InputFileError(f"{flag} {str(path)!r}: no such file")
    settings = _settings(
        state_dir=state_dir,
        models_dir=models_dir,
        events_path=events,
        effectiveness_k_periods=k_periods,
        monitor_areas_path=monitor_areas,
        monitor_group_field=monitor_group_field,
        monitor_population_field=monitor_population_field,
        monitor_periods=monitor_periods,
    )
    models = current_models(settings, SnapshotStore(settings.state_dir / "snapshots"))
    if unknown := sorted(set(model or ()) - set(models)):
        raise ConfigError(
            f"--model {unknown[0]!r}: no published forecasts of it in "
            f"{settings.state_dir / 'snapshots'}; models with published forecasts: "
            f"{', '.join(sorted(models)) or 'none'}"
        )
    if model:
        models = {k: v for k, v in models.items() if k in set(model)}
    # the monitor first: a wrong area layer or threshold is said before the long part
    monitors = monitors_from_records(settings, models, window=monitor_window, repeat=monitor_repeat)
    realised = between(
        realised_from_records(settings, models=models, category=category), start, end
    )
    paths = write_effectiveness_report(
        realised,
        out,
        title="Realised effectiveness",
        retraining=_retraining(settings, models),
        monitors=monitors,
    )
    for row in realised.flags.to_dict("records"):
        if bool(row["flagged"]):
            console.print(
                f"[bold red]flagged[/]: {row['model']}: realised PAI@{row['cutoff']} below the "
                f"best baseline's ({row['best_baseline']}) in the last {row['periods_below']} "
                "periods",
                soft_wrap=True,
            )
    for found in monitors.values():
        flagged, words = verdict(found)
        if flagged:
            console.print(f"[bold red]feedback loop flagged[/]: {words}", soft_wrap=True)
    scored = realised.periods[["model", "as_of", "horizon"]].drop_duplicates()
    ahead = int((scored["horizon"] > 1).sum())
    console.print(
        f"scored {len(scored)} served periods ({len(scored) - ahead} next, {ahead} later; "
        f"{len(realised.pending)} pending); wrote {paths['effectiveness.html']}",
        soft_wrap=True,
    )


def _retraining(settings: Settings, names: Iterable[str]) -> pd.DataFrame:
    """The versions ``hotspots retrain`` published of each model, and why."""
    import pandas as pd

    from hotspots.jobs.retrain import HISTORY_COLUMNS, retrain_history
    from hotspots.registry import Registry

    registry = Registry(settings.models_dir)
    frames = [retrain_history(registry, name) for name in sorted(names)]
    if not frames:
        return pd.DataFrame(columns=list(HISTORY_COLUMNS))
    return pd.concat(frames, ignore_index=True)
