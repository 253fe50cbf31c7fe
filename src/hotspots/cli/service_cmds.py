"""Service commands: ``hotspots keys create | list | revoke`` and ``hotspots audit``."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from hotspots.access.audit import AUDIT_FILE, day_file, read
from hotspots.access.keys import KEYS_FILE, SCOPES, KeyStore
from hotspots.cli.main import app, console, help_markup, out

keys_app = typer.Typer(
    name="keys",
    help="Create, list and revoke the API keys of the forecast service.",
    no_args_is_help=True,
    rich_markup_mode=help_markup(),
)
app.add_typer(keys_app, name="keys")

STATE_DIR_HELP = "Service state folder [default: HOTSPOTS_STATE_DIR or ./var]."


def _state_dir(state_dir: Path | None) -> Path:
    from hotspots.config import get_settings

    return state_dir if state_dir is not None else get_settings().state_dir


def _store(state_dir: Path | None) -> KeyStore:
    return KeyStore(_state_dir(state_dir) / KEYS_FILE)


@keys_app.command()
def create(
    # Checked by the library, not typer, so a missing flag is one clear error line.
    name: str = typer.Option("", "--name", help="Who or what the key is for (required)."),
    scope: list[str] | None = typer.Option(
        None, "--scope", help=f"Scope to grant, one or more (repeat): {', '.join(SCOPES)}."
    ),
    state_dir: Path | None = typer.Option(None, "--state-dir", help=STATE_DIR_HELP),
) -> None:
    """Create a key and print it once (on stdout); only its hash is stored."""
    record, key = _store(state_dir).create(name, scope or [])
    console.print(
        f"created key {record.id} ({record.name!r}) with scopes {', '.join(record.scopes)}",
        soft_wrap=True,
    )
    console.print(
        Text(
            "warning: this is the only time the key is shown; it cannot be shown again.",
            "bold yellow",
        ),
        soft_wrap=True,
    )
    typer.echo(key)


@keys_app.command("list")
def list_(
    state_dir: Path | None = typer.Option(None, "--state-dir", help=STATE_DIR_HELP),
) -> None:
    """List every key: id, name, scopes, when created and when revoked."""
    store = _store(state_dir)
    records = store.list()
    if not records:
        console.print(f"no API keys in {store.path}", soft_wrap=True)
        return
    table = Table(title=f"API keys in {store.path}", title_justify="left")
    for column in ("id", "name", "scopes", "created", "revoked"):
        table.add_column(column, overflow="fold")  # wrapped when narrow, never cut
    for r in records:
        table.add_row(
            Text(r.id),
            Text(r.name),
            Text(", ".join(r.scopes)),
            Text(r.created),
            Text(r.revoked_at or "-", style="red" if r.revoked else ""),
        )
    out.print(table)


@keys_app.command()
def revoke(
    key_id: str = typer.Argument(..., help="Id of the key, e.g. k3f9a2c1 (see `keys list`)."),
    state_dir: Path | None = typer.Option(None, "--state-dir", help=STATE_DIR_HELP),
) -> None:
    """Revoke a key; a running server refuses it from its next request."""
    record = _store(state_dir).revoke(key_id)
    out.print(f"key {record.id} ({record.name!r}) revoked at {record.revoked_at}")


@app.command()
def audit(
    since: str | None = typer.Option(None, "--since", help="From this ISO time (inclusive)."),
    until: str | None = typer.Option(None, "--until", help="Up to this ISO time (exclusive)."),
    key_id: str | None = typer.Option(None, "--key-id", help="Only requests with this key id."),
    route: str | None = typer.Option(
        None, "--route", help="Only this route template, e.g. `/v1/cells/{cell}`."
    ),
    status: int | None = typer.Option(None, "--status", help="Only this HTTP status."),
    limit: int | None = typer.Option(None, "--limit", help="At most this many (the oldest)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines, as stored."),
    state_dir: Path | None = typer.Option(None, "--state-dir", help=STATE_DIR_HELP),
) -> None:
    """Show the service's audit log: who asked what, when, and the answer's status.

    Times are UTC; naive --since/--until values are read as UTC.
    """
    path = _state_dir(state_dir) / AUDIT_FILE
    shown = day_file(path, "*")  # one file per UTC day
    reader = read(
        path, since=since, until=until, key_id=key_id, route=route, status=status, limit=limit
    )
    records = list(reader)
    if as_json:
        for record in records:
            typer.echo(json.dumps(record.to_dict(), ensure_ascii=False))
    elif records:
        table = Table(title=f"Audit log {shown}", title_justify="left")
        columns = ("time", "request_id", "key_id", "method", "route", "params", "status")
        for column in (*columns, "model", "etag", "ms"):
            right = column in ("status", "ms")
            table.add_column(column, justify="right" if right else "left", overflow="fold")
        for r in records:
            params = json.dumps(dict(r.params), ensure_ascii=False) if r.params else ""
            values = (r.time, r.request_id, r.key_id or "-", r.method, r.route, params)
            table.add_row(
                *(Text(v) for v in values),
                Text(str(r.status), style="red" if r.status >= 400 else ""),
                Text(r.model or "-"),
                Text(r.etag or "-"),
                Text(f"{r.duration_ms:.1f}"),
            )
        out.print(table)
    else:
        console.print(f"no matching audit records in {shown}", soft_wrap=True)
    if reader.skipped:
        console.print(f"warning: skipped {reader.skipped} unreadable line(s) in {shown}")
