"""What ``hotspots train`` and ``hotspots backtest`` print: the prepared panel, the reported
folds' comparison table at each coverage, and why the published model was chosen."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rich.table import Table

from hotspots.cli.data_cmds import plural
from hotspots.cli.main import console, out
from hotspots.cli.render import print_report

if TYPE_CHECKING:  # the heavy modules load when a command runs, not for --help
    from hotspots.evaluation import BacktestResult
    from hotspots.ingest.validate import ValidationReport
    from hotspots.jobs.spec import TrainingSpec
    from hotspots.jobs.train import Selection


def panel_line(cells: int, resolution: int, periods: int, freq: str, first: Any, until: Any) -> str:
    """The panel's shape and window in one line (``first`` / ``until``: Timestamps)."""
    return (
        f"panel: {cells:,} cells (H3 res {resolution}) x {periods} periods "
        f"({freq}, {first.date()} to {until.date()} excl.)"
    )


def show_prepared(report: ValidationReport | None, notes: tuple[str, ...], panel: str) -> None:
    """What reading a spec's events found: the validation report, window notes, the panel."""
    if report is not None:
        print_report(console, report)
    for note in notes:
        console.print(f"note: {note}", soft_wrap=True)
    console.print(panel, soft_wrap=True)


def _comparison(result: BacktestResult, cutoff: str, selected: str | None) -> Table:
    from hotspots.evaluation import Cutoff

    frame = result.table(cutoff)
    folds = plural(len(result.folds), "fold", "folds")
    n_cells = result.last_fold.cells.size
    flagged = Cutoff.parse(cutoff).k(n_cells)  # on a small force 1% can be one cell
    table = Table(
        title=f"top {cutoff} of cells flagged ({flagged:,} of {n_cells:,}): means of {folds}",
        caption="* = selected: the model train publishes (backtest publishes none)",
    )
    for col in ("model", "hit rate", "PAI", "PAI 95% CI", "PEI", "deviance"):
        table.add_column(col, justify="left" if col == "model" else "right", no_wrap=True)
    for name, row in frame.iterrows():
        table.add_row(
            f"{name} *" if name == selected else str(name),
            _fmt(row["hit_rate"]),
            _fmt(row["pai"]),
            f"{_fmt(row['pai_ci_low'])}-{_fmt(row['pai_ci_high'])}",
            _fmt(row["pei"]),
            _fmt(row["deviance"]),
        )
    return table


def _fmt(value: Any) -> str:
    import pandas as pd

    return "-" if value is None or pd.isna(value) else f"{float(value):.3f}"


def show_skipped(skipped: Mapping[str, str]) -> None:
    """The spec's challengers the data cannot feed, each with its reason."""
    for kind, why in skipped.items():
        console.print(f"challenger {kind} left out: {why}", soft_wrap=True)


def show_selection(result: BacktestResult, selection: Selection, spec: TrainingSpec) -> None:
    """The reported folds' comparison at each coverage and why the published model won."""
    from hotspots.jobs.gain import measured_gain

    for c in spec.backtest.coverages:
        cutoff = f"{c * 100:g}%"
        out.print(_comparison(result, cutoff, selection.name))
    console.print(f"selected {selection.name}: {selection.reason}", soft_wrap=True)
    gain = measured_gain(result, spec, selection.cutoff, selection.learned or None)
    if gain:
        console.print(f"measured on the reported folds: {gain['measured_gain']}", soft_wrap=True)
