"""Rich renderings of library results for the terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from hotspots.ingest.validate import ValidationReport


def report_table(report: ValidationReport) -> Table:
    """The validation report as a table: one row per reject reason, then the totals."""
    from hotspots.ingest.validate import REASONS

    table = Table(title=f"Validation of {report.source}", title_justify="left", show_lines=False)
    table.add_column("outcome")
    table.add_column("rows", justify="right")
    table.add_column("share", justify="right")
    table.add_column("why / example source rows", overflow="fold")
    n = max(report.rows_read, 1)
    table.add_row("read", f"{report.rows_read:,}", "", "")
    for reason, count in report.rejected.items():
        rows = ", ".join(str(e["source_row"]) for e in report.examples.get(reason, []))
        table.add_row(
            f"[red]rejected: {reason}[/]",
            f"{count:,}",
            f"{count / n:.2%}",
            f"{REASONS[reason]}; e.g. rows {rows}",
        )
    if report.excluded_by_policy:
        cats = ", ".join(f"{k} ({v:,})" for k, v in report.excluded_by_policy.items())
        table.add_row(
            "[yellow]left out by policy[/]",
            f"{report.n_excluded:,}",
            f"{report.n_excluded / n:.2%}",
            f"officer-initiated types, not targets (--include-discretionary keeps them): {cats}",
        )
    verdict = "[green]ok[/]" if report.passed else "[bold red]over the ceiling[/]"
    table.add_row(
        "[bold]accepted[/]",
        f"[bold]{report.rows_accepted:,}[/]",
        f"{report.rows_accepted / n:.2%}",
        f"rejects {report.reject_fraction:.2%} of rows, ceiling "
        f"{report.max_reject_fraction:.0%}: {verdict}",
    )
    return table


def print_report(console: Console, report: ValidationReport) -> None:
    """Print the table and the notes (formats, timezone, area, time range)."""
    console.print(report_table(report))
    for note in report.notes:
        console.print(f"  [dim]{note}[/]", soft_wrap=True)
