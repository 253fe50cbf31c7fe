"""Closing the loop: ``hotspots patrols import FILE`` and ``hotspots report effectiveness``.

Both work on the service's state folder, as the API does: a patrol log imported here is the
same stored batch ``POST /v1/patrols`` makes (a retry stores nothing twice), and the report
scores the same records ``GET /v1/effectiveness`` serves and writes the monitor
``GET /v1/monitor`` serves.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import typer

from hotspots.cli.main import app, console, help_markup

if TYPE_CHECKING:
    from collections.abc import Iterable

    import pandas as pd

    from hotspots.config import Settings
    from hotspots.feedback.effectiveness import Realised
    from hotspots.feedback.monitor_served import ModelMonitor

patrols_app = typer.Typer(
    name="patrols",
    help="Log patrols (where, when, by which pseudonymous unit) for the effectiveness report.",
    no_args_is_help=True,
    rich_markup_mode=help_markup(),
)
app.add_typer(patrols_app, name="patrols")
report_app = typer.Typer(
    name="report",
    help="Reports on what was served: `hotspots report effectiveness`.",
    no_args_is_help=True,
    rich_markup_mode=help_markup(),
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
        "its areas as AS_OF/RANK, e.g. 2024-01-08/3, as it may the default plans the service "
        "served (recorded in --state-dir).",
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
    from hotspots.serving.patrols import patrol_options, recorded_plan_areas

    fmt = FORMATS.get(file.suffix.lower())
    if fmt is None:
        raise ConfigError(f"{file}: give a .csv or a JSON-lines file (.jsonl, .ndjson)")
    settings = _settings(state_dir=state_dir, models_dir=models_dir, areas_path=areas)
    registry = Registry(settings.models_dir)
    name = model or min(registry.names(), default=None)
    if name is None:
        raise ConfigError(f"no model in {settings.models_dir}: patrols are read on a model's grid")
    loaded = registry.load(name)
    served = recorded_plan_areas(settings.state_dir)  # the plans the service served
    options = patrol_options(loaded.forecaster, loaded.manifest, settings, max_reject, served)
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
    the figures `GET /v1/monitor` serves (HTML with plots, and CSV). Counts of events in the
    patrolled cells and around them under HOTSPOTS_MIN_EVENTS_SHOWN (3) are left empty, as
    the API withholds them (0 shows every count).

    A model whose records cannot be read (its registry version, a damaged snapshot, events
    unfit for it) does not stop the others: the report is written without that part, its
    section and `failures.csv` say which model, which part and why, and a warning line is
    printed. Exit status 0 when at least one model is reported in full, or in full but for
    some served plans (or none has published forecasts), 2 when every model failed in a
    whole part, its registry version, forecasts or monitor (the report is still written),
    or an option is wrong (nothing written)."""
    from hotspots.atomic import check_output
    from hotspots.errors import InputFileError
    from hotspots.feedback.realised_io import between, window_of
    from hotspots.feedback.realised_shown import suppress_realised

    check_output(out, "--out", folder=True)
    start, end = window_of(since, until, ("--since", "--until"))
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
    from hotspots.serving.realised import posted_alone_warning

    warning = posted_alone_warning(settings, model or ())
    if warning:
        console.print(f"[bold yellow]warning[/]: {warning}", soft_wrap=True)
    figures = _effectiveness(settings, model, category, monitor_window, monitor_repeat)
    # the report leaves the building (to an inspector, a council): the counts the API
    # withholds are withheld here too (HOTSPOTS_MIN_EVENTS_SHOWN=0 shows them all)
    realised = suppress_realised(between(figures.realised, start, end), settings.min_events_shown)
    _write_and_tell(settings, out, realised, figures, [warning] if warning else [])


class _Figures(NamedTuple):
    """What the report shows: every model's realised figures (with the failures of every
    part), the monitors computed, and the models asked for."""

    realised: Realised
    monitors: dict[str, ModelMonitor]
    names: list[str]
    loaded: list[str]
    """The models whose current version the registry gave."""


def _effectiveness(
    settings: Settings,
    model: list[str] | None,
    category: str | None,
    window: int | None,
    repeat: int | None,
) -> _Figures:
    """Each model's monitor and realised figures; a model whose records fail is a failure
    of that part (logged), not of the command."""
    from hotspots.errors import ConfigError
    from hotspots.feedback.failures import failures_frame, frame_to_failures
    from hotspots.feedback.served import ServedMemo
    from hotspots.publishing.snapshot_store import SnapshotStore
    from hotspots.serving.monitor import area_layer, check_thresholds, monitors_from_records
    from hotspots.serving.realised import current_models, model_infos, realised_from_records

    current = current_models(settings, SnapshotStore(settings.state_dir / "snapshots"))
    known = sorted({*current.loaded, *(f.model for f in current.failed)})
    if unknown := sorted(set(model or ()) - set(known)):
        raise ConfigError(
            f"--model {unknown[0]!r}: no published forecasts of it in "
            f"{settings.state_dir / 'snapshots'}; models with published forecasts: "
            f"{', '.join(known) or 'none'}"
        )
    names = [n for n in known if not model or n in set(model)]
    loaded = {n: m for n, m in current.loaded.items() if n in names}
    for found in loaded.values():  # a wrong threshold or area layer: said before any work
        check_thresholds(found.manifest, window, repeat)
    areas = area_layer(settings) if loaded else None  # once for every model
    served = ServedMemo(SnapshotStore(settings.state_dir / "snapshots"))  # parsed once
    monitors, failed = monitors_from_records(
        settings, loaded, window=window, repeat=repeat, areas=areas, snapshots=served
    )
    realised = realised_from_records(
        settings,
        models=model_infos(loaded),
        category=category,
        known_failures=current.failed,
        snapshots=served,
    )
    every = [
        *(f for f in current.failed if f.model in names),
        *failed,
        *frame_to_failures(realised.failures),
    ]
    failures = failures_frame(every)
    return _Figures(replace(realised, failures=failures), monitors, names, sorted(loaded))


def _served_baselines(settings: Settings, realised: Realised) -> dict[str, dict[str, str]]:
    """Per model, the versions scored whose kind is a baseline (their manifests read; one
    that cannot be read is left out: its failure is reported elsewhere)."""
    from hotspots.errors import HotspotsError
    from hotspots.jobs.spec import BASELINES
    from hotspots.registry import Registry

    registry = Registry(settings.models_dir)
    out: dict[str, dict[str, str]] = {}
    scored = realised.periods[["model", "version"]].drop_duplicates()
    for name, version in scored.itertuples(index=False):
        try:
            kind = str(registry.manifest(str(name), str(version))["kind"])
        except (HotspotsError, OSError, KeyError, ValueError):
            continue
        if kind in BASELINES:
            out.setdefault(str(name), {})[str(version)] = kind
    return out


def _write_and_tell(
    settings: Settings, out: Path, realised: Realised, figures: _Figures, warnings: list[str]
) -> None:
    """Write the report (``realised``: ``figures.realised`` in the window asked; the
    ``warnings`` at the top of its page), print its flags, failures and summary; exit 2 when
    models were asked for and none could be reported in full or but for some served plans."""
    monitors, names = figures.monitors, figures.names
    from rich.markup import escape

    from hotspots.feedback.failures import PLANS, frame_to_failures
    from hotspots.feedback.report import write_effectiveness_report
    from hotspots.feedback.report_monitor import verdict

    paths = write_effectiveness_report(
        realised,
        out,
        title="Realised effectiveness",
        retraining=_retraining(settings, figures.loaded),
        monitors=monitors,
        served_baselines=_served_baselines(settings, realised),
        warnings=warnings,
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
    failures = frame_to_failures(realised.failures)
    for failure in failures:
        console.print(f"[bold yellow]not reported[/]: {escape(failure.line())}", soft_wrap=True)
    scored = realised.periods[["model", "as_of", "horizon"]].drop_duplicates()
    ahead = int((scored["horizon"] > 1).sum())
    whole = sorted(set(names) - {f.model for f in failures})
    # some served plans not scored (their built-from snapshot damaged): the model's
    # forecasts and monitor are reported, so the report still says something true of it
    lost_plans = {f.model for f in failures if f.part == PLANS} & set(names)
    but_plans = sorted(lost_plans - {f.model for f in failures if f.part != PLANS})
    partly = f" ({', '.join(but_plans)}: all but some served plans)" if but_plans else ""
    console.print(
        f"scored {len(scored)} served periods ({len(scored) - ahead} next, {ahead} later; "
        f"{len(realised.pending)} pending); {len(whole)} of {len(names)} models reported in "
        f"full{partly}; wrote {paths['effectiveness.html']}",
        soft_wrap=True,
    )
    if failures and not whole and not but_plans:
        raise typer.Exit(2)


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
