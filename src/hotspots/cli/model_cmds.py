"""Registry commands: ``hotspots models list | show | promote | rollback``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table
from rich.text import Text

from hotspots.cli.main import app, console, out
from hotspots.registry.card import format_cell, table_columns

if TYPE_CHECKING:  # the store imports the forecasters: loaded when a command runs
    from hotspots.registry import Registry

models_app = typer.Typer(
    name="models",
    help="List, inspect, promote and roll back the published models.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
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
    rows = (manifest.get("backtest") or {}).get("table")
    if isinstance(rows, list) and rows:
        out.print(backtest_table(rows))
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
            f"{manifest.get('study_cells')} cells at H3 resolution "
            f"{manifest.get('resolution')}, period {manifest.get('freq')}",
        ),
        ("fitted up to", (manifest.get("meta") or {}).get("fit_end")),
        ("params", json.dumps(manifest.get("params"))),
        ("features", len(manifest.get("features") or [])),
        ("data", ", ".join(f"{k}={format_cell(v)}" for k, v in data.items()) or "-"),
        ("libraries", ", ".join(f"{k} {v}" for k, v in libraries.items())),
        ("checksums", f"ok ({len(manifest['artifacts'])} files)"),
        ("current", current or "none"),
    ]
    for key, value in fields:
        table.add_row(key, Text(format_cell(value)))
    return table


def backtest_table(rows: Sequence[Any]) -> Table:
    """The backtest's row dicts as a rich table."""
    table = Table(title="Backtest", title_justify="left")
    columns = table_columns(rows)
    for column in columns:
        table.add_column(Text(column))
    for row in rows:
        if isinstance(row, Mapping):
            cells = {str(k): v for k, v in row.items()}
            table.add_row(*(Text(format_cell(cells.get(c))) for c in columns))
    return table


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
