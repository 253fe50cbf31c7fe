"""``hotspots serve --retrain-every`` as deployed: the real server on 127.0.0.1 with a short
schedule, incidents posted to it over HTTP, and one retrain cycle after them.

The export stops at CUT and the champion v1 was fitted on all of it, so every cycle before
the post finds nothing to compare on; the posted six weeks give the next cycle its recent
folds. Both directions: a challenger that beats the champion and the baselines is served by
the running process at once, one that loses is published but not served. A retrain that
fails (a broken export) is one log line and the server goes on serving.

Only 127.0.0.1, one server process per test, bounded waits (about 10 s a test).
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from subprocess import Popen
from typing import Any

import httpx
import pandas as pd
import pytest
from live_server import free_port, start_server, stop_server
from served_env import key_store

from hotspots.synthetic import TIMEZONE
from retrain_env import NAME, RetrainEnv, make_env

pytestmark = pytest.mark.slow

CUT = "2023-06-05"
"""The export's end: the champion's last fitted week is the one before (2023-05-29)."""
POSTED_UNTIL = "2023-07-17"
"""The posted incidents are the six weeks from CUT to this (exclusive)."""
SKIPPED = f"retrain {NAME}: nothing published: no whole W period after 2023-05-29"
WAIT = 45.0
"""The longest any one step may take (a cycle takes a few seconds on a loaded machine)."""


def events_csv(events: pd.DataFrame) -> bytes:
    """``events`` as the synthetic export writes them (the column map the model reads)."""
    raw = pd.DataFrame(
        {
            "incident_id": events["event_id"],
            "occurred": events["occurred_at"].dt.strftime("%Y-%m-%d %H:%M:%S"),
            "latitude": events["lat"].round(6),
            "longitude": events["lng"].round(6),
            "offence": events["category"],
            "origin": events["origin"],
        }
    )
    out = io.StringIO()
    raw.to_csv(out, index=False)
    return out.getvalue().encode()


class Live:
    """A running server, a key with every scope it needs, and its log file."""

    def __init__(self, env: RetrainEnv, log: Path) -> None:
        self.env = env
        self.log = log
        scopes = ["forecasts:read", "events:write"]
        self.key = key_store(env.root).create("retrain test", scopes)[1]
        self.port = free_port()
        self.proc: Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("wb") as err:
            self.proc = start_server(
                self.env.root, self.port, "--retrain-every", "1s", log_level="info", stderr=err
            )

    def get(self, path: str, **params: Any) -> httpx.Response:
        url = f"http://127.0.0.1:{self.port}{path}"
        headers = {"Authorization": f"Bearer {self.key}"}
        return httpx.get(url, params=params, headers=headers, timeout=10)

    def served(self) -> dict[str, Any]:
        """The model block and as_of of the latest forecast served."""
        answer = self.get("/v1/forecasts/latest", model=NAME, top=3)
        assert answer.status_code == 200, answer.text
        body = json.loads(answer.content)
        return {"version": body["model"]["version"], "as_of": body["as_of"]}

    def retrain_line(self) -> str:
        body = self.get("/readyz").json()
        return str(body.get("retrain", {}).get(NAME, ""))

    def wait_for(self, what: str, done: Callable[[], Any]) -> Any:
        """``done()`` once it is truthy; fails after WAIT seconds, or if the server exits."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, "the server exited"
            if found := done():
                return found
            time.sleep(0.2)
        raise AssertionError(f"{what} not within {WAIT:.0f} s; /readyz: {self.retrain_line()}")

    def post(self, events: pd.DataFrame) -> None:
        answer = httpx.post(
            f"http://127.0.0.1:{self.port}/v1/events",
            params={"model": NAME},
            content=events_csv(events),
            headers={"Authorization": f"Bearer {self.key}", "Content-Type": "text/csv"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["stored"] == len(events)

    def log_records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]


@contextmanager
def serving(env: RetrainEnv, log: Path) -> Iterator[Live]:
    """The server on ``env``, stopped (killed) on the way out whatever happened."""
    live = Live(env, log)
    try:
        live.start()
        yield live
    finally:
        if live.proc is not None:
            stop_server(live.proc)


def posted_weeks(events: pd.DataFrame) -> pd.DataFrame:
    t = events["occurred_at"]
    return events[
        (t >= pd.Timestamp(CUT, tz=TIMEZONE)) & (t < pd.Timestamp(POSTED_UNTIL, tz=TIMEZONE))
    ]


def run_one_cycle(live: Live, posted: pd.DataFrame) -> str:
    """Wait for a cycle that finds nothing new, post the six weeks, and return the line of
    the cycle that retrained on them."""
    live.wait_for("a cycle before the post", lambda: live.retrain_line().startswith(SKIPPED))
    live.post(posted)
    done = f"retrain {NAME}: promoted", f"retrain {NAME}: published"
    return str(live.wait_for("a retrain on the posted weeks", lambda: _line_in(live, done)))


def _line_in(live: Live, heads: tuple[str, ...]) -> str | None:
    line = live.retrain_line()
    return line if line.startswith(heads) else None


def test_a_challenger_that_wins_is_served_by_the_running_server(
    tmp_path: Path, year_city_events: pd.DataFrame
) -> None:
    # the champion only remembers last week; the spec's historical mean beats it
    env = make_env(
        tmp_path, year_city_events, champion_kind="last_period", champion_until=CUT, cut=CUT,
        post=False,
    )  # fmt: skip
    posted = posted_weeks(year_city_events)
    with serving(env, tmp_path / "serve.log") as live:
        before = live.served()
        assert before["version"] == "v1"
        line = run_one_cycle(live, posted)
        assert line.startswith(f"retrain {NAME}: promoted v2 (historical_mean) over v1: "), line
        after = live.wait_for("v2 served", lambda: (s := live.served())["version"] == "v2" and s)
        # the next cycle's champion is v2, fitted on the posted weeks: nothing after it yet
        live.wait_for(
            "a cycle after the promotion",
            lambda: live.retrain_line().startswith(
                f"retrain {NAME}: nothing published: no whole W period after 2023-07-10"
            ),
        )  # wait_for fails if the one server process exited: it was never restarted
    # served without a restart, from the posted weeks too
    assert after["as_of"] > before["as_of"], (before, after)
    assert after["as_of"].startswith("2023-07-17")
    assert env.registry.current(NAME) == "v2"
    record = env.registry.manifest(NAME, "v2")["notes"]["retrain"]
    assert record["outcome"] == "promoted"
    assert record["champion"].startswith("v1 (last_period, last period fitted 2023-05-29)")
    assert record["challenger"] == "historical_mean"
    assert record["best_baseline"] == "last_period"
    # backtested against the champion and the baselines on the posted weeks only
    assert record["folds"] == 4 and record["fold_span"] == ["2023-06-19", "2023-07-10"]
    assert record["challenger_pai"] > record["champion_pai"] > 0
    assert record["challenger_pai"] > record["best_baseline_pai"] > 0
    assert record["posted_events"] == len(posted)
    assert record["reason"] in line and record["reason"].endswith(": promoted")
    assert "historical_mean PAI@5%" in record["reason"]
    assert "champion v1" in record["reason"] and "best baseline last_period" in record["reason"]


def test_a_challenger_that_loses_is_published_and_the_champion_stays_served(
    tmp_path: Path, year_city_events: pd.DataFrame
) -> None:
    # the champion is a historical mean; the spec's model only remembers last week
    env = make_env(
        tmp_path, year_city_events, kind="last_period", baselines=("historical_mean",),
        champion_until=CUT, cut=CUT, post=False,
    )  # fmt: skip
    posted = posted_weeks(year_city_events)
    with serving(env, tmp_path / "serve.log") as live:
        before = live.served()
        line = run_one_cycle(live, posted)
        assert line.startswith(f"retrain {NAME}: published v2 (last_period), not promoted: "), line
        # a later cycle finds the same data retrained: still v1, as it was served
        live.wait_for(
            "a cycle after the retrain",
            lambda: live.retrain_line().startswith(
                f"retrain {NAME}: nothing published: v2 was already retrained on these data"
            ),
        )
        after = live.served()
    assert after == before and after["version"] == "v1"
    assert env.registry.current(NAME) == "v1"
    assert env.registry.versions(NAME) == ["v1", "v2"]
    record = env.registry.manifest(NAME, "v2")["notes"]["retrain"]
    assert record["outcome"] == "published, not promoted"
    assert record["champion"].startswith("v1 (historical_mean, last period fitted 2023-05-29)")
    assert record["challenger"] == "last_period" and record["best_baseline"] == "historical_mean"
    assert record["folds"] == 4 and record["fold_span"] == ["2023-06-19", "2023-07-10"]
    assert record["challenger_pai"] < record["champion_pai"]
    assert record["challenger_pai"] < record["best_baseline_pai"]
    assert record["posted_events"] == len(posted)
    assert record["reason"].endswith("not promoted, champion v1 stays current")


def test_a_failed_retrain_is_one_log_line_and_the_server_keeps_serving(
    tmp_path: Path, year_city_events: pd.DataFrame
) -> None:
    env = make_env(tmp_path, year_city_events, champion_until=CUT, cut=CUT, post=False)
    with serving(env, tmp_path / "serve.log") as live:
        before = live.served()
        live.wait_for("a cycle", lambda: live.retrain_line().startswith(SKIPPED))
        export = env.root / "events.parquet"
        export.write_bytes(b"PAR1 not a parquet file any more")  # a copy that went wrong
        failed = live.wait_for("a failed cycle", lambda: _line_in(live, ("failed: ",)))
        after = live.served()
        assert live.get("/readyz").status_code == 200
    assert after == before  # what was served stays served
    assert env.registry.versions(NAME) == ["v1"]
    # /readyz names the file without the server's paths; the log has the path
    assert failed.startswith("failed: InputFileError: <events> is not a readable Parquet"), failed
    records = [r for r in live.log_records() if "retrain" in r["message"]]
    failures = [r for r in records if r["level"] == "ERROR"]
    assert failures, records
    for r in failures:  # one record, one line, no traceback; says what and which file
        assert "exception" not in r and "\n" not in r["message"], r
        assert r["message"].startswith(f"retrain of model '{NAME}' failed: InputFileError: ")
        assert str(export) in r["message"] and "Parquet" in r["message"], r["message"]
        assert "still serves v1" in r["message"], r["message"]
