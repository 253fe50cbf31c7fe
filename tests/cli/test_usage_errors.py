"""Usage errors (missing or malformed options) are click's message and exit 2, not a crash."""

from __future__ import annotations

from typing import Any

import pytest

RunCli = Any


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("ingest", "x.csv"), "Missing option '--out'"),
        (("forecast", "--model", "m"), "Missing option"),
        (("train", "--resolution", "nine"), "Invalid value for '--resolution'"),
        (("no-such-command",), "No such command"),
        # a typed date is named by the flag it was typed as, not by the spec key it sets
        (("train", "--events", "e.parquet", "--until", "03/08/2010"), "--until '03/08/2010' is"),
        (("backtest", "--events", "e.parquet", "--start", "1/2/2010"), "--start '1/2/2010' is"),
    ],
)
def test_usage_errors_exit_2(run_cli: RunCli, args: tuple[str, ...], fragment: str) -> None:
    res = run_cli(*args)
    assert res.code == 2
    assert fragment in res.err and "internal error" not in res.err


@pytest.mark.parametrize("command", ["ingest", "train", "backtest", "forecast", "plan", "retrain"])
def test_each_working_command_shows_examples(run_cli: RunCli, command: str) -> None:
    res = run_cli(command, "--help")
    assert res.code == 0
    assert "Examples:" in res.out and f"hotspots {command} " in res.out
