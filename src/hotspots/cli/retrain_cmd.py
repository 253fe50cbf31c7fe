"""``hotspots retrain SPEC``: refit on the export plus the events posted since, and promote
the new version only when it beats the current one and the baselines (cron-friendly)."""

from __future__ import annotations

from pathlib import Path

import typer

from hotspots.cli.main import app, out

_EXAMPLES = (
    "Examples:\n\n"
    "  hotspots retrain training/demo.toml --state-dir var\n\n"
    "  # every Monday at 03:00 (crontab):\n\n"
    "  0 3 * * 1  cd /srv/hotspots && hotspots retrain training/demo.toml >> retrain.log 2>&1\n\n"
)


@app.command(epilog=_EXAMPLES)
def retrain(
    spec_file: Path = typer.Argument(..., help="The training spec of the model (TOML)."),
    models_dir: Path | None = typer.Option(
        None, "--models-dir", help="Registry folder [default: HOTSPOTS_MODELS_DIR or ./models]."
    ),
    state_dir: Path | None = typer.Option(
        None,
        "--state-dir",
        help="The service's state folder, whose events/ holds the posted events "
        "[default: HOTSPOTS_STATE_DIR or ./var].",
    ),
    promote: bool = typer.Option(
        True, "--promote/--no-promote", help="Make the new version current when it wins."
    ),
) -> None:
    """Refit the spec's model on its export plus every event posted to the service, and
    backtest it against the current version (the champion, as deployed) and the baselines on
    the periods since the champion was fitted. The new version is published either way, with
    why in its manifest (notes.retrain) and model card; it is made current only when its PAI
    over the champion's and over the best baseline's, each averaged over the spec's selection
    coverages (1% and 5% by default), is at least 1.

    Prints one line: promoted, published but not promoted, or nothing published (the same
    data as the last retrain, or no whole period since the champion). Exit status 0 in all
    three cases; 2, with one error line, on a bad spec, registry or events.
    """
    from hotspots.config import get_settings
    from hotspots.ingest.event_store import EventStore
    from hotspots.jobs.retrain import retrain as run
    from hotspots.jobs.spec import read_spec
    from hotspots.registry import Registry

    settings = get_settings()
    spec = read_spec(spec_file)
    registry = Registry(models_dir if models_dir is not None else settings.models_dir)
    posted = EventStore((state_dir if state_dir is not None else settings.state_dir) / "events")
    outcome = run(spec, registry, posted, promote=promote)
    out.print(outcome.line(), soft_wrap=True)
