"""``hotspots train`` / ``backtest`` with ``--cluster``: the specs' tasks run on Dask, and
each spec is shown and written here, in the order given, as the serial path writes it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from hotspots.cli.main import console
from hotspots.cli.train_cmds import publish_model, write_backtest_report
from hotspots.cli.train_view import panel_line, show_prepared, show_selection, show_skipped

if TYPE_CHECKING:
    from hotspots.cluster import Outline, SpecOutcome
    from hotspots.jobs.spec import TrainingSpec


def train_on_cluster(
    specs: Sequence[TrainingSpec],
    address: str,
    root: Path,
    promote: bool,
    wait: float,
    created: list[Path],
) -> None:
    """Train every spec on the cluster at ``address`` and publish each in turn (a task
    that cannot run for ``wait`` seconds ends the run: ``cluster.watch``)."""
    for outcome in _outcomes(specs, address, fit=True, wait=wait):
        assert outcome.final is not None
        publish_model(
            outcome.spec,
            outcome.result,
            outcome.selection,
            outcome.final,
            outcome.data,
            outcome.meta,
            root,
            promote,
            created,
            outcome.report,
        )


def backtest_on_cluster(
    specs: Sequence[TrainingSpec],
    address: str,
    targets: list[Path],
    wait: float,
    created: list[list[Path]],
) -> None:
    """Backtest every spec on the cluster at ``address``; reports go to ``targets``, creating
    the folders ``created`` (one list per target)."""
    outcomes = _outcomes(specs, address, fit=False, wait=wait)
    for outcome, target, made in zip(outcomes, targets, created, strict=True):
        write_backtest_report(
            outcome.spec, outcome.result, outcome.meta, target, made, outcome.report
        )


def _outcomes(
    specs: Sequence[TrainingSpec], address: str, fit: bool, wait: float
) -> Iterator[SpecOutcome]:
    """Each spec's outcome, shown, as soon as it and every spec before it are done."""
    from hotspots.cluster import connect, run_specs

    with connect(address, wait) as client:
        console.print(f"running {len(specs)} spec(s) as tasks on {address}", soft_wrap=True)
        run = run_specs(client, specs, fit=fit, on_task=_task_line, no_workers_timeout=wait)
        for outcome in run:
            console.print(f"== {outcome.spec.name}", soft_wrap=True)
            show_prepared(outcome.outline.report, outcome.outline.notes, _panel(outcome.outline))
            show_skipped(outcome.outline.skipped)
            show_selection(outcome.result, outcome.selection, outcome.spec)
            yield outcome


def _task_line(label: str, done: int, submitted: int, seconds: float) -> None:
    console.print(f"task {done}/{submitted} done: {label} ({seconds:.1f} s)", soft_wrap=True)


def _panel(o: Outline) -> str:
    line = panel_line(o.cells, o.resolution, o.periods, o.freq, o.first, o.until)
    return f"{line}; target {', '.join(o.target)}: {o.target_events:,} events"
