"""Registry commands: ``hotspots models list | show | promote | rollback``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table
from rich.text import Text

from hotspots.cli.main import app, console, help_markup, out
from hotspots.registry.card import format_cell, last_period_fitted, table_columns

if TYPE_CHECKING:  # the store imports the forecasters: loaded when a command runs
    from hotspots.registry import Registry

models_app = typer.Typer(
    name="models",
    help="List, inspect, promote and roll back the published models.",
    no_args_is_help=True,
    rich_markup_mode=help_markup(),
)
app.add_typer(models_app, name="models")

MODELS_DIR_HELP = "Registry folder [default: HOTSPOTS_MODELS_DIR or ./models]."


def _registry(models_dir: Path | None) -> Registry:
    from hotspots.config import get_settings
    from hotspots.registry import Registry

    return Registry(models_dir if models_dir is not None else get_settings().models_dir)


@models_app.command("list")
def list_(
    models_dir: Path | None = typer.Option(None, "--models-dir", help=MODELS_DIR_HELP),
) -> None:
    """List every model: current version, all versions, kind, target and when published."""
    registry = _registry(models_dir)
    models = registry.list_models()
    if not models:
        console.print(f"no models in {registry.root}", soft_wrap=True)
        return
    table = Table(title=f"Models in {registry.root}", title_justify="left")
    for column in ("name", "current", "versions", "kind", "target", "created"):
        table.add_column(column, overflow="fold")  # wrapped when narrow, never cut
    for m in models:
        table.add_row(
            Text(m.name),
            Text(m.current or "none", style="" if m.current else "yellow"),
            Text(", ".join(m.versions)),
            Text(m.kind or "unreadable manifest", style="" if m.kind else "red"),
            Text(", ".join(m.target or ())),
            Text(m.created or ""),
        )
    out.print(table)


@models_app.command()
def show(
    name: str = typer.Argument(..., help="Model name."),
    version: str | None = typer.Option(
        None, "--version", "-V", help="Version like 3 or v3 [default: the current one]."
    ),
    models_dir: Path | None = typer.Option(None, "--models-dir", help=MODELS_DIR_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the whole manifest as JSON."),
) -> None:
    """Show a model version: what it forecasts, its data, backtest table and checksums.

    Every artifact is checked against the manifest first; a tampered or half-written
    version ends with one error line and exit status 2.
    """
    registry = _registry(models_dir)
    manifest = registry.verify(name, version)
    if as_json:
        typer.echo(json.dumps(manifest, indent=2))
        return
    current = registry.current(name)
    out.print(_summary_table(manifest, current))
    backtest = manifest.get("backtest") or {}
    rows = backtest.get("table")
    if isinstance(rows, list) and rows:
        selected = backtest.get("selected")
        out.print(backtest_table(rows, _backtest_title(backtest), selected))
        if selected is not None:  # which row is the published model, and why, as train said
            why = backtest.get("reason")
            out.print(f"* = published ({selected})" + (f": {why}" if why else ""), soft_wrap=True)
    else:
        out.print("no backtest table recorded")


def _summary_table(manifest: Mapping[str, Any], current: str | None) -> Table:
    version = manifest["version"]
    table = Table(
        title=f"{manifest['name']} {version}" + (" (current)" if version == current else ""),
        title_justify="left",
        show_header=False,
    )
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    data = manifest.get("data") or {}
    libraries = manifest.get("libraries") or {}
    fields = [
        ("kind", manifest.get("kind")),
        ("created", manifest.get("created")),
        ("target", ", ".join(manifest.get("target") or [])),
        (
            "grid",
            f"{_count(manifest.get('study_cells'))} cells at H3 resolution "
            f"{manifest.get('resolution')}, period {manifest.get('freq')}",
        ),
        ("last period fitted", last_period_fitted(manifest)),
        ("params", json.dumps(manifest.get("params"))),
        ("features", len(manifest.get("features") or [])),
        ("data", ", ".join(f"{k}={_count(v)}" for k, v in data.items()) or "-"),
        ("libraries", ", ".join(f"{k} {v}" for k, v in libraries.items())),
        ("checksums", f"ok ({len(manifest['artifacts'])} files)"),
        ("current", current or "none"),
    ]
    for key, value in fields:
        table.add_row(key, Text(_count(value)))
    return table


def _count(value: Any) -> str:
    """A whole number with thousands separators (``86,104``), as the rest of the output
    writes counts; anything else as a table cell (``format_cell``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return format_cell(value)


def _backtest_title(backtest: Mapping[str, Any]) -> str:
    """``Backtest: top 1% of cells flagged, means of 12 folds``: what the table's figures are."""
    cutoff, folds = backtest.get("select_cutoff"), backtest.get("folds")
    parts = [
        f"top {cutoff} of cells flagged" if cutoff else "",
        f"means of {folds} folds" * bool(folds),
    ]
    said = ", ".join(p for p in parts if p)
    return f"Backtest: {said}" if said else "Backtest"


def backtest_table(rows: Sequence[Any], title: str = "Backtest", selected: Any = None) -> Table:
    """The backtest's row dicts as a rich table, a figure and its ``_ci_low`` / ``_ci_high``
    in one cell (``11.85 [11.14, 12.63]``), wrapped when narrow, never cut; the ``selected``
    model's name marked ``*``, as ``hotspots train`` marks it."""
    table = Table(title=title, title_justify="left")
    columns = table_columns(rows)
    ci = {c for c in columns if f"{c}_ci_low" in columns and f"{c}_ci_high" in columns}
    shown = [c for c in columns if not any(c in (f"{m}_ci_low", f"{m}_ci_high") for m in ci)]
    for column in shown:
        table.add_column(Text(f"{column} [95% CI]" if column in ci else column), overflow="fold")
    for row in rows:
        if isinstance(row, Mapping):
            cells = {str(k): v for k, v in row.items()}
            if selected is not None and cells.get("model") == selected:
                cells["model"] = f"{selected} *"
            table.add_row(*(Text(_figure(cells, c, c in ci)) for c in shown))
    return table


def _figure(cells: Mapping[str, Any], column: str, with_ci: bool) -> str:
    text = format_cell(cells.get(column))
    if not with_ci:
        return text
    low, high = (format_cell(cells.get(f"{column}_ci_{end}")) for end in ("low", "high"))
    return f"{text} [{low}, {high}]"


@models_app.command()
def promote(
    name: str = typer.Argument(..., help="Model name."),
    version: str = typer.Argument(..., help="Version to make current, like 3 or v3."),
    models_dir: Path | None = typer.Option(None, "--models-dir", help=MODELS_DIR_HELP),
) -> None:
    """Make a version the current one (its checksums are checked first)."""
    registry = _registry(models_dir)
    before = registry.current(name)
    label = registry.promote(name, version)
    out.print(f"model {name!r}: current version is now {label} (was {before or 'none'})")


@models_app.command()
def rollback(
    name: str = typer.Argument(..., help="Model name."),
    models_dir: Path | None = typer.Option(None, "--models-dir", help=MODELS_DIR_HELP),
) -> None:
    """Make the previously promoted version current again."""
    registry = _registry(models_dir)
    before = registry.current(name)
    label = registry.rollback(name)
    out.print(f"model {name!r}: rolled back from {before} to {label}")
