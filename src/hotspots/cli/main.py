"""The typer app, shared console and the one place library errors become exit status 2."""

from __future__ import annotations

import logging
import os
import shutil
import sys
from typing import Literal

import typer
from rich.console import Console
from rich.text import Text

from hotspots import __version__
from hotspots.errors import HotspotsError

console = Console(stderr=True, highlight=False)
out = Console(highlight=False)

RICH_HELP_COLUMNS = 100
"""Narrower than this (or not a terminal), ``--help`` is click's plain text: rich's option
table keeps the flag names' column as wide as the longest and cut names and words to fit
(``--include-discret…`` at 80 columns), where plain text wraps and shows every one."""


def help_markup() -> Literal["markdown"] | None:
    """The ``rich_markup_mode`` of every command group: rich panels on a wide terminal."""
    width = os.environ.get("COLUMNS", "")
    if width.isdigit():
        return "markdown" if int(width) >= RICH_HELP_COLUMNS else None
    if not sys.stdout.isatty():
        return None
    return "markdown" if shutil.get_terminal_size().columns >= RICH_HELP_COLUMNS else None


app = typer.Typer(
    name="hotspots",
    help=(
        "Forecast where crime is likely next period, on a grid of H3 cells, from a force's own "
        "incident history.\n\nStart with `hotspots demo-data --out demo` and "
        "`hotspots ingest --help`."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=help_markup(),
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        out.print(f"hotspots {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress details."),
) -> None:
    for each in (console, out):
        fit_width(each)
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


LOG_WIDTH = 10_000
"""Width of output that is not a terminal (a log, a pipe): wide enough never to wrap a table."""


def fit_width(target: Console) -> None:
    """``COLUMNS`` when set, else the terminal's own width, else (a log or a pipe, where rich
    would wrap at 80 columns) no wrapping: tables keep their natural width."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        target.width = int(columns)
    elif not target.is_terminal:
        target.width = LOG_WIDTH


def main() -> None:
    """Entry point: run the app; a HotspotsError becomes one line and exit status 2."""
    if sys.argv[1:] == ["--version"]:  # answered before the command modules load
        out.print(f"hotspots {__version__}")
        sys.exit(0)
    # importing the command modules registers their commands
    from hotspots.cli import (  # noqa: F401
        data_cmds,
        feedback_cmds,
        forecast_cmd,
        model_cmds,
        plan_cmd,
        retrain_cmd,
        serve_cmd,
        service_cmds,
        train_cmds,
    )

    try:
        code = app(standalone_mode=False)  # a command's typer.Exit(n) comes back as n
    except HotspotsError as err:
        console.print(Text.assemble(("error: ", "bold red"), str(err)), soft_wrap=True)
        sys.exit(2)
    except OSError as err:  # a path the system refused: the user's to fix, not a bug
        where = f"{err.filename}: " if err.filename else ""
        console.print(
            Text.assemble(("error: ", "bold red"), f"{where}{err.strerror or err}"),
            soft_wrap=True,
        )
        sys.exit(2)
    except typer.Exit as exit_:
        sys.exit(exit_.exit_code)
    except typer.Abort:
        console.print("aborted")
        sys.exit(130)
    except Exception as err:  # click usage errors arrive here in non-standalone mode
        if _is_usage_error(err):
            line = _bad_value_line(err, sys.argv[1:])
            if line is None:
                err.show()  # type: ignore[attr-defined]
            else:  # one line naming the option and the value, as a HotspotsError is told
                console.print(Text.assemble(("error: ", "bold red"), line), soft_wrap=True)
            sys.exit(err.exit_code)  # type: ignore[attr-defined]
        if os.environ.get("HOTSPOTS_DEBUG"):
            raise
        console.print(
            Text.assemble(
                ("internal error: ", "bold red"),
                f"{type(err).__name__}: {err} (set HOTSPOTS_DEBUG=1 for the traceback, "
                "and please report it)",
            ),
            soft_wrap=True,
        )
        sys.exit(1)
    if isinstance(code, int) and code:
        sys.exit(code)


def _bad_value_line(err: Exception, args: list[str]) -> str | None:
    """A bad option value as one line naming the option and the value given (click's message
    names the option only), or None for any other usage error (shown with the usage)."""
    if type(err).__name__ != "BadParameter":
        return None
    opts = list(getattr(getattr(err, "param", None), "opts", None) or [])
    given = None
    for i, arg in enumerate(args):
        name, eq, value = arg.partition("=")
        if name in opts:
            given = value if eq else (args[i + 1] if i + 1 < len(args) else None)
    message = err.format_message()  # type: ignore[attr-defined]
    if given is None or repr(given) in message:
        return message
    return f"{message} (got {given!r})"


def _is_usage_error(err: Exception) -> bool:
    """A click usage error (missing option, bad value), from click or typer's vendored copy.

    Recent typer ships its own click (``typer._click``), whose exceptions are not
    ``click.ClickException``; both have the same name, ``show`` and ``exit_code``.
    """
    return any(k.__name__ == "ClickException" for k in type(err).__mro__) and hasattr(err, "show")
