"""Model commands: ``hotspots train`` and ``hotspots backtest``."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from hotspots.atomic import check_output
from hotspots.cli import spec_flags as F
from hotspots.cli.data_cmds import print_created
from hotspots.cli.main import app, console
from hotspots.cli.progress import counted, stage
from hotspots.cli.train_view import panel_line, show_prepared, show_selection, show_skipped
from hotspots.errors import ConfigError

if TYPE_CHECKING:  # the heavy modules load when a command runs, not for --help
    from hotspots.evaluation import BacktestResult, ReportText
    from hotspots.forecasters import Forecaster
    from hotspots.jobs.prepare import SharedPanels
    from hotspots.jobs.spec import TrainingSpec
    from hotspots.jobs.train import Prepared, Selection

_EXAMPLES = (
    "Examples:\n\n"
    "  hotspots train training/demo.toml\n\n"
    "  hotspots train --events crimes.csv.gz --preset chicago --category 'ASSAULT' "
    "--resolution 9 --period W --until 2018-01-01 --name chicago-assault\n\n"
)


def _prepare(spec: TrainingSpec, panels: SharedPanels) -> Prepared:
    # no read when an earlier spec had the same [data], [grid] and [window]: its panel
    reading = stage(f"reading {spec.data.events.name}") if panels.reads(spec) else nullcontext()
    with reading:
        prepared = panels.prepare(spec)
    _show_panel(prepared)
    return prepared


def _show_panel(prepared: Prepared) -> None:
    p = prepared.panel
    line = panel_line(
        p.cells.size, p.resolution, len(p.periods), p.freq, p.periods[0], prepared.until
    )
    target = f"; target {', '.join(prepared.target)}: {prepared.target_events:,} events"
    show_prepared(prepared.loaded.report, prepared.notes, line + target)


def _prepare_and_select(
    spec: TrainingSpec, panels: SharedPanels
) -> tuple[Prepared, BacktestResult, Selection]:
    """Prepare the spec's panel (once for the specs of one panel: ``panels``; at each
    candidate resolution, keeping the one the selection backtest chooses, when
    ``grid.resolutions`` is set), then backtest and select."""
    if not spec.grid.resolutions:
        prepared = _prepare(spec, panels)
        return (prepared, *_backtest_and_select(prepared))
    from hotspots.jobs.geometry import Candidate, choose_resolution

    def told(c: Candidate) -> None:
        s = c.selection
        console.print(
            f"resolution {c.resolution} ({c.cells:,} cells): the selection would publish "
            f"{s.name}, PAI@{s.cutoff} {c.score:.2f} on {s.n_folds} folds",
            soft_wrap=True,
        )

    names = ", ".join(str(r) for r in spec.grid.resolutions)
    with stage(f"choosing among H3 resolutions {names}"):
        prepared, inner, choice = choose_resolution(spec, on_candidate=told)
    console.print(choice.reason, soft_wrap=True)
    _show_panel(prepared)
    return (prepared, *_backtest_and_select(prepared, inner))


def _backtest_and_select(
    prepared: Prepared, inner: BacktestResult | None = None
) -> tuple[BacktestResult, Selection]:
    """The selection backtest (unless ``inner`` is its result already), the reported
    backtest and the published model, printed."""
    from hotspots.jobs.train import (
        candidate_models,
        run_backtest,
        run_selection,
        select_model,
        skipped_challengers,
    )

    models = candidate_models(prepared)
    show_skipped(skipped_challengers(prepared))
    if inner is None:
        with counted("selection backtest") as update:
            inner = run_selection(prepared, models, progress=update)
    with counted("backtest") as update:
        result = run_backtest(prepared, models, progress=update)
    if inner is None:
        selection = select_model(result, prepared.spec, basis="reported")
    else:
        selection = select_model(inner, prepared.spec, basis="selection")
    show_selection(result, selection, prepared.spec)
    return result, selection


_MODELS_DIR = typer.Option(None, help="Registry folder [default: HOTSPOTS_MODELS_DIR or models].")


@app.command(epilog=_EXAMPLES)
def train(
    spec_files: list[Path] | None = F.SPECS_ARG,
    events: Path | None = F.EVENTS,
    preset: str | None = F.PRESET,
    map_: str | None = F.MAP,
    crs: str | None = F.CRS,
    tz: str | None = F.TZ,
    source_tz: str | None = F.SOURCE_TZ,
    time_format: str | None = F.TIME_FORMAT,
    boundary: Path | None = F.BOUNDARY,
    bbox: str | None = F.BBOX,
    max_distance_km: float | None = F.MAX_DISTANCE,
    max_reject_fraction: float | None = F.MAX_REJECT,
    include_discretionary: bool | None = F.DISCRETIONARY,
    category_map: Path | None = F.CATEGORY_MAP,
    category_name: str | None = F.CATEGORY_NAME,
    category: list[str] | None = F.CATEGORY,
    resolution: str | None = F.RESOLUTION,
    period: str | None = F.PERIOD,
    k_ring: int | None = F.K_RING,
    start: str | None = F.START,
    until: str | None = F.UNTIL,
    model: str | None = F.MODEL,
    challenger: list[str] | None = F.CHALLENGER,
    folds: int | None = F.FOLDS,
    refit_every: int | None = F.REFIT_EVERY,
    select_folds: int | None = F.SELECT_FOLDS,
    name: str | None = F.NAME,
    models_dir: Path | None = _MODELS_DIR,
    promote: bool = typer.Option(
        True, "--promote/--no-promote", help="Make the new version current (the default)."
    ),
    cluster: str | None = F.CLUSTER,
    no_workers_timeout: float | None = F.NO_WORKERS_TIMEOUT,
) -> None:
    """Backtest a model against every baseline, then publish the one to use (for each spec).

    The published model is the main model (or a challenger that beats it) when its PAI over
    the best baseline's, averaged over the spec's selection coverages (1% and 5% by default,
    each against its own best baseline), is at least 1 on a selection backtest of the periods
    just before the reported folds, else that baseline; the reported folds then score every
    model. It is refitted on the whole training window and written to the registry with its
    manifest, model card and report. Without a spec, the flags alone make one (at least
    --events and --name). Several specs are trained one after the other, or as tasks on a Dask
    cluster with --cluster; the registry is the same.
    """
    given = dict(locals())  # outside the comprehension: its locals() are its own
    flags = {k: v for k, v in given.items() if k in F.KEYS}
    address = _start_cluster_early(cluster)
    from hotspots.jobs.spec import check_spec

    specs = F.specs_from_flags(spec_files, flags, default_name=False)
    from hotspots.config import get_settings

    for spec in specs:
        check_spec(spec)
    root = models_dir or get_settings().models_dir
    wait = F.no_workers_timeout(no_workers_timeout) if address else 0.0
    created = check_output(root, "--models-dir", folder=True)  # before minutes of training
    if address:
        _no_resolution_choice_on_cluster(specs)
        from hotspots.cli.cluster_cmds import train_on_cluster

        train_on_cluster(specs, address, root, promote, wait, created)
    else:
        from hotspots.jobs.prepare import SharedPanels

        panels = SharedPanels(specs)
        for spec in specs:
            _train_one(spec, root, promote, panels, created)


def _start_cluster_early(flag: str | None) -> str | None:
    """The cluster's address (None: the serial path); a local cluster's worker processes
    begin to start now, while the specs are read (``cluster.connect.start_early``)."""
    address = F.cluster_address(flag)
    if address:
        from hotspots.cluster.connect import start_early

        start_early(address)
    return address


def _no_resolution_choice_on_cluster(specs: list[TrainingSpec]) -> None:
    if choosing := [s.name for s in specs if s.grid.resolutions]:
        raise ConfigError(
            f"specs {choosing} choose among grid.resolutions, which runs here only, not on "
            "--cluster yet: run them without --cluster, or give one --resolution"
        )


def _train_one(
    spec: TrainingSpec, root: Path, promote: bool, panels: SharedPanels, created: list[Path]
) -> None:
    from hotspots.jobs.train import fit_final, report_meta

    prepared, result, selection = _prepare_and_select(spec, panels)
    chosen = result.fitted[selection.name]
    with stage(f"fitting {selection.name} on the whole training window"):
        final = fit_final(prepared, chosen)
    data, meta = prepared.data_summary(), report_meta(prepared, selection)
    # prepared.spec: the spec at the resolution the selection chose, when it chose one
    publish_model(prepared.spec, result, selection, final, data, meta, root, promote, created)


def publish_model(
    spec: TrainingSpec,
    result: BacktestResult,
    selection: Selection,
    final: Forecaster,
    data: dict[str, Any],
    meta: dict[str, Any],
    root: Path,
    promote: bool,
    created: list[Path],
    report: ReportText | None = None,
) -> None:
    """Write the fitted model, its manifest, card and report (``report`` as rendered on a
    cluster's worker, else rendered here) as the next version of the spec, saying first
    which missing folders of the registry this creates (``print_created``)."""
    from hotspots.jobs.publish import publish_trained
    from hotspots.registry import Registry

    print_created(created)
    info = publish_trained(
        Registry(root), spec, result, selection, final, data, meta, promote=promote, report=report
    )
    console.print(
        f"published {spec.name} {info.version} ({selection.name}) to {info.path}"
        + ("; it is now current" if promote else " (not promoted)"),
        soft_wrap=True,
    )
    console.print(f"  report: {info.path / 'report.html'}", soft_wrap=True)


@app.command(
    epilog=(
        "Examples:\n\n"
        "  hotspots backtest training/demo.toml --out reports/demo\n\n"
        "  hotspots backtest --events events.parquet --category burglary --period W "
        "--folds 12 --name burglary-trial\n\n"
    )
)
def backtest(
    spec_files: list[Path] | None = F.SPECS_ARG,
    out_dir: Path | None = typer.Option(None, "--out", help="Report folder [reports/NAME]."),
    events: Path | None = F.EVENTS,
    preset: str | None = F.PRESET,
    map_: str | None = F.MAP,
    crs: str | None = F.CRS,
    tz: str | None = F.TZ,
    source_tz: str | None = F.SOURCE_TZ,
    time_format: str | None = F.TIME_FORMAT,
    boundary: Path | None = F.BOUNDARY,
    bbox: str | None = F.BBOX,
    max_distance_km: float | None = F.MAX_DISTANCE,
    max_reject_fraction: float | None = F.MAX_REJECT,
    include_discretionary: bool | None = F.DISCRETIONARY,
    category_map: Path | None = F.CATEGORY_MAP,
    category_name: str | None = F.CATEGORY_NAME,
    category: list[str] | None = F.CATEGORY,
    resolution: str | None = F.RESOLUTION,
    period: str | None = F.PERIOD,
    k_ring: int | None = F.K_RING,
    start: str | None = F.START,
    until: str | None = F.UNTIL,
    model: str | None = F.MODEL,
    challenger: list[str] | None = F.CHALLENGER,
    folds: int | None = F.FOLDS,
    refit_every: int | None = F.REFIT_EVERY,
    select_folds: int | None = F.SELECT_FOLDS,
    name: str | None = typer.Option(
        None, help="Name of the run [spec: name; default: the events file's]."
    ),
    cluster: str | None = F.CLUSTER,
    no_workers_timeout: float | None = F.NO_WORKERS_TIMEOUT,
) -> None:
    """Backtest the spec's model beside every baseline and write report.json / report.html.

    Nothing is published: use `hotspots train` for that. Without a spec, the flags alone
    make one (at least --events). Several specs write to --out/NAME each (default
    reports/NAME); --cluster runs them as tasks on a Dask cluster, with the same reports.
    """
    given = dict(locals())  # outside the comprehension: its locals() are its own
    flags = {k: v for k, v in given.items() if k in F.KEYS}
    address = _start_cluster_early(cluster)
    from hotspots.jobs.spec import check_spec

    specs = F.specs_from_flags(spec_files, flags, default_name=True)
    for spec in specs:
        check_spec(spec)
    from hotspots.jobs.train import default_report_dir

    # one spec: --out is its folder; several: each gets --out/NAME
    targets = [
        (out_dir / spec.name if len(specs) > 1 else out_dir)
        if out_dir
        else default_report_dir(spec)
        for spec in specs
    ]
    wait = F.no_workers_timeout(no_workers_timeout) if address else 0.0
    created = [check_output(t, "--out", folder=True) for t in targets]
    if address:
        _no_resolution_choice_on_cluster(specs)
        from hotspots.cli.cluster_cmds import backtest_on_cluster

        backtest_on_cluster(specs, address, targets, wait, created)
    else:
        from hotspots.jobs.prepare import SharedPanels
        from hotspots.jobs.train import report_meta

        panels = SharedPanels(specs)
        for spec, target, made in zip(specs, targets, created, strict=True):
            prepared, result, selection = _prepare_and_select(spec, panels)
            meta = report_meta(prepared, selection)
            write_backtest_report(prepared.spec, result, meta, target, made)


def write_backtest_report(
    spec: TrainingSpec,
    result: BacktestResult,
    meta: dict[str, Any],
    target: Path,
    created: list[Path],
    report: ReportText | None = None,
) -> None:
    """report.json / report.html of a spec's backtest in ``target`` (``report`` as rendered
    on a cluster's worker, else rendered here), creating the folders ``created``."""
    from hotspots.evaluation import write_report_text
    from hotspots.jobs.train import backtest_report

    text = report if report is not None else backtest_report(spec, result, meta)
    print_created(created)
    paths = write_report_text(text, target)
    console.print(f"wrote {', '.join(str(p) for p in paths.values())}", soft_wrap=True)
