"""Rich renderings of library results for the terminal."""

from __future__ import annotations

from collections.abc import Callable, Sequence
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

    def why(reason: str) -> str:
        rows = ", ".join(str(e["source_row"]) for e in report.examples.get(reason, []))
        return f"{REASONS[reason]}; e.g. rows {rows}"

    policy = []
    if report.excluded_by_policy:
        cats = ", ".join(f"{k} ({v:,})" for k, v in report.excluded_by_policy.items())
        policy.append(
            (
                "[yellow]left out by policy[/]",
                report.n_excluded,
                f"officer-initiated types, not targets (--include-discretionary keeps them): "
                f"{cats}",
            )
        )
    return _validation_table(report, "why / example source rows", why, policy)


def print_report(console: Console, report: ValidationReport) -> None:
    """Print the table and the notes (formats, timezone, area, time range)."""
    console.print(report_table(report))
    for note in report.notes:
        console.print(f"  [dim]{escape(note)}[/]", soft_wrap=True)  # a note's [lng, lat] is text


def patrol_report_table(report: PatrolReport) -> Table:
    """A patrol log's validation as a table: one row per reject reason with a few example
    rows and the values that failed (never a unit or tactic), then the totals."""
    from hotspots.feedback.patrols import REASONS

    def why(reason: str) -> str:
        shown = (_patrol_example(e, reason) for e in report.examples.get(reason, []))
        return escape(f"{REASONS[reason]}; e.g. {', '.join(shown)}")

    return _validation_table(report, "why / example rows", why)


def _validation_table(
    report: ValidationReport | PatrolReport,
    header: str,
    why: Callable[[str], str],
    more: Sequence[tuple[str, int, str]] = (),
) -> Table:
    """Rows read, one row per reject reason (``why`` says it), ``more`` rows, the totals."""
    table = Table(title=f"Validation of {report.source}", title_justify="left", show_lines=False)
    table.add_column("outcome")
    table.add_column("rows", justify="right")
    table.add_column("share", justify="right")
    table.add_column(header, overflow="fold")
    n = max(report.rows_read, 1)
    table.add_row("read", f"{report.rows_read:,}", "", "")
    rejected = [(f"[red]rejected: {r}[/]", c, why(r)) for r, c in report.rejected.items()]
    for outcome, count, text in [*rejected, *more]:
        table.add_row(outcome, f"{count:,}", f"{count / n:.2%}", text)
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
