"""Rich renderings of library results for the terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from hotspots.feedback.patrols import PatrolReport
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


def patrol_report_table(report: PatrolReport) -> Table:
    """A patrol log's validation as a table: one row per reject reason with a few example
    rows and the values that failed (never a unit or tactic), then the totals."""
    from hotspots.feedback.patrols import REASONS

    table = Table(title=f"Validation of {report.source}", title_justify="left", show_lines=False)
    table.add_column("outcome")
    table.add_column("rows", justify="right")
    table.add_column("share", justify="right")
    table.add_column("why / example rows", overflow="fold")
    n = max(report.rows_read, 1)
    table.add_row("read", f"{report.rows_read:,}", "", "")
    for reason, count in report.rejected.items():
        examples = ", ".join(_patrol_example(e, reason) for e in report.examples.get(reason, []))
        table.add_row(
            f"[red]rejected: {reason}[/]",
            f"{count:,}",
            f"{count / n:.2%}",
            escape(f"{REASONS[reason]}; e.g. {examples}"),
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


def _patrol_example(example: dict[str, object], reason: str) -> str:
    """``row 3 (start='...', end='...')``: the row and the values the reason is about."""
    from hotspots.feedback.patrols import REASON_FIELDS

    values = []
    for field in REASON_FIELDS.get(reason, ()):
        text = str(example.get(field) or "")
        if text and text.lower() not in ("nan", "none", "<na>"):
            short = text if len(text) <= 40 else text[:39] + "..."
            values.append(f"{field}={short!r}")
    return f"row {example['row']}" + (f" ({', '.join(values)})" if values else "")
