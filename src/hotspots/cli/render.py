"""Rich renderings of library results for the terminal."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

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


def plan_table(document: Mapping[str, Any]) -> Table:
    """A patrol plan's areas as the officer reads them: size, expected crimes with the
    interval, the count per crime type, when (``plan_when``) and the first reason."""
    types = document["types"]

    def what(area: Mapping[str, Any]) -> str:
        counts = sorted(area["expected_by_type"].items(), key=lambda kv: -kv[1])
        named = (", ".join(types[name]["categories"]) or name for name, _ in counts)
        return "; ".join(f"{label} {v:.2f}" for label, (_, v) in zip(named, counts, strict=True))

    table = Table(title=f"patrol areas for the period from {document['period_start']}")
    for header in ("area", "km2", "expected (80%)", "for what", "when", "why"):
        table.add_column(header, justify="right" if header in ("area", "km2") else "left")
    for area in document["areas"]:
        interval = area["interval"]
        table.add_row(
            str(area["rank"]),
            f"{area['area_km2']:.2f}",
            f"{area['expected_count']:.2f} ({interval['low']}-{interval['high']})",
            escape(what(area)),
            escape(plan_when(area["when"])),
            escape(area["reasons"][0] if area["reasons"] else "-"),
        )
    return table


def plan_when(found: Mapping[str, Any] | str) -> str:
    """What an officer reads first of an area's when: the two busiest blocks of the week that
    stand out (shifts are what officers are tasked by), else of the day ("daily"), else the
    hours of the week, else of the day, else that none stands out; "unknown" / "withheld";
    and how many past events were left out for want of a time of day, or at a heaped clock
    minute beyond what the hours around predict, if any."""
    if isinstance(found, str):
        return found
    untimed = found.get("events_without_time", 0)  # absent from plans made before it
    left = f"; {untimed} without a time of day" if untimed else ""
    if heaped := found.get("placeholder_excess", {}):  # absent from plans made before it
        at = ", ".join(f"{excess} at {minute}" for minute, excess in heaped.items())
        left += f"; about {at} not counted (beyond what the hours around predict)"
    for key, daily in (
        ("top_blocks", False),
        ("top_blocks_of_day", True),
        ("top_hours", False),
        ("top_hours_of_day", True),
    ):
        if listed := found.get(key, [])[:2]:
            prefix = "daily " if daily else ""
            named = (f"{prefix}{h['label']} ({h['lift']}x: {h['events']} events)" for h in listed)
            return ", ".join(named) + left
    return f"none stands out ({found['events_with_time']} timed events{left})"


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
        table.add_row(outcome, f"{count:,}", share(count, n), text)
    verdict = "[green]ok[/]" if report.passed else "[bold red]over the ceiling[/]"
    table.add_row(
        "[bold]accepted[/]",
        f"[bold]{report.rows_accepted:,}[/]",
        share(report.rows_accepted, n),
        f"rejects {share(report.n_rejected, n)} of rows, ceiling "
        f"{report.max_reject_fraction:.0%}: {verdict}",
    )
    return table


def share(count: int, n: int) -> str:
    """``count`` of ``n`` as a percentage to two decimals that never reads as none or all
    when it is neither: 1 row of 37,512 is "<0.01%", not "0.00%"."""
    if 0 < count < n * 0.00005:
        return "<0.01%"
    if count < n and count > n * 0.99995:
        return ">99.99%"
    return f"{count / n:.2%}"


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
