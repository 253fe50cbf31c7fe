"""``hotspots keys create | list | revoke`` and ``hotspots audit``."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hotspots.access import audit
from hotspots.access.audit import AuditLog, AuditRecord
from hotspots.access.keys import KeyStore
from hotspots.config import get_settings

RunCli = Callable[..., Any]  # tests/conftest.py run_cli: returns .code .out .err


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_keys_create_list_revoke(run_cli: RunCli, tmp_path: Path) -> None:
    state = tmp_path / "var"
    res = run_cli(
        "keys", "create", "--name", "dashboard", "--scope", "forecasts:read",
        "--scope", "events:write", "--state-dir", state,
    )  # fmt: skip
    assert res.code == 0, res.err
    key = res.out.strip()
    assert res.out == key + "\n"  # stdout holds the key alone, for scripts
    assert "cannot be shown again" in res.err
    store = KeyStore(state / "keys.json")
    record = store.authenticate(key)
    assert record is not None and record.name == "dashboard"
    assert record.scopes == ("forecasts:read", "events:write")
    assert record.id in res.err

    res = run_cli("keys", "list", "--state-dir", state)
    assert res.code == 0
    assert record.id in res.out and "dashboard" in res.out
    assert "forecasts:read, events:write" in res.out
    assert record.hash not in res.out and key not in res.out

    res = run_cli("keys", "revoke", record.id, "--state-dir", state)
    assert res.code == 0 and f"key {record.id} ('dashboard') revoked at" in res.out
    assert store.authenticate(key) is None
    (revoked,) = store.list()
    res = run_cli("keys", "list", "--state-dir", state)
    assert revoked.revoked_at is not None and revoked.revoked_at in res.out


def test_keys_errors_exit_2(run_cli: RunCli, tmp_path: Path) -> None:
    res = run_cli("keys", "create", "--name", "x", "--scope", "admin", "--state-dir", tmp_path)
    assert res.code == 2 and "unknown scope 'admin'" in res.err
    res = run_cli("keys", "revoke", "k123", "--state-dir", tmp_path)
    assert res.code == 2 and "'k123'" in res.err
    res = run_cli("keys", "create", "--name", "x", "--state-dir", tmp_path)
    assert res.code == 2 and "at least one scope" in res.err
    res = run_cli("keys", "create", "--scope", "models:admin", "--state-dir", tmp_path)
    assert res.code == 2 and "non-empty name" in res.err
    assert not (tmp_path / "keys.json").exists()


def test_keys_list_empty(run_cli: RunCli, tmp_path: Path) -> None:
    res = run_cli("keys", "list", "--state-dir", tmp_path)
    assert res.code == 0 and res.out == "" and "no API keys in" in res.err


def test_state_dir_from_environment(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_settings: None
) -> None:
    monkeypatch.setenv("HOTSPOTS_STATE_DIR", str(tmp_path / "env-state"))
    res = run_cli("keys", "create", "--name", "a", "--scope", "models:admin")
    assert res.code == 0
    record = KeyStore(tmp_path / "env-state" / "keys.json").authenticate(res.out.strip())
    assert record is not None and record.has("models:admin")


@pytest.fixture
def state_with_audit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Four records written on 2024-05-01, as the writer's clock says (its day's file)."""
    written = datetime(2024, 5, 1, 12, 0, 5, tzinfo=UTC).timestamp()
    monkeypatch.setattr(audit.time, "time", lambda: written)
    with AuditLog(tmp_path / "audit.jsonl") as log:
        for i, (key_id, route, status) in enumerate(
            [
                ("ka", "/v1/forecasts", 200),
                ("kb", "/v1/cells/{cell}", 200),
                ("ka", "/v1/cells/{cell}", 404),
                (None, "/v1/forecasts", 401),
            ]
        ):
            log.write(
                AuditRecord(
                    time=f"2024-05-01T12:00:0{i}.000Z",
                    request_id=f"req{i}",
                    key_id=key_id,
                    method="GET",
                    route=route,
                    params={"h": str(i)},
                    status=status,
                    duration_ms=2.25,
                    model="burglary/v3" if status == 200 else None,
                )
            )
    return tmp_path


def _json_ids(out: str) -> list[str]:
    return [json.loads(line)["request_id"] for line in out.splitlines()]


def test_audit_json_and_filters(run_cli: RunCli, state_with_audit: Path) -> None:
    state = ("--state-dir", state_with_audit)
    res = run_cli("audit", "--json", *state)
    assert res.code == 0 and _json_ids(res.out) == ["req0", "req1", "req2", "req3"]
    first = json.loads(res.out.splitlines()[0])
    assert first["params"] == {"h": "0"} and first["model"] == "burglary/v3"
    assert _json_ids(run_cli("audit", "--json", "--key-id", "ka", *state).out) == [
        "req0",
        "req2",
    ]
    assert _json_ids(run_cli("audit", "--json", "--route", "/v1/cells/{cell}", *state).out) == [
        "req1",
        "req2",
    ]
    assert _json_ids(run_cli("audit", "--json", "--status", "401", *state).out) == ["req3"]
    res = run_cli(
        "audit", "--json", "--since", "2024-05-01T12:00:01", "--until", "2024-05-01T12:00:03",
        *state,
    )  # fmt: skip
    assert _json_ids(res.out) == ["req1", "req2"]
    assert _json_ids(run_cli("audit", "--json", "--limit", "1", *state).out) == ["req0"]


def test_audit_table(run_cli: RunCli, state_with_audit: Path) -> None:
    res = run_cli("audit", "--status", "404", "--state-dir", state_with_audit)
    assert res.code == 0
    assert "req2" in res.out and "/v1/cells/{cell}" in res.out and "404" in res.out
    assert "2024-05-01T12:00:02.000Z" in res.out and "2.2" in res.out
    assert "req0" not in res.out and "req1" not in res.out


def test_audit_empty_bad_time_and_torn_line(run_cli: RunCli, state_with_audit: Path) -> None:
    state = ("--state-dir", state_with_audit)
    res = run_cli("audit", "--key-id", "nobody", *state)
    assert res.code == 0 and res.out == "" and "no matching audit records" in res.err
    res = run_cli("audit", "--since", "last tuesday", *state)
    assert res.code == 2 and "since 'last tuesday'" in res.err
    with (state_with_audit / "audit.jsonl").open("a") as f:
        f.write('{"time": "2024-05-01T12:00:09.0')
    res = run_cli("audit", "--json", *state)
    assert res.code == 0 and len(_json_ids(res.out)) == 4
    assert "skipped 1 unreadable line" in res.err


@pytest.fixture
def serve_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """`hotspots serve` exports its flags to os.environ: restore them after the test."""
    for name in ("MODELS_DIR", "STATE_DIR", "EVENTS_PATH", "AREAS_PATH"):
        monkeypatch.setenv(f"HOTSPOTS_{name}", "unset-by-test")
        monkeypatch.delenv(f"HOTSPOTS_{name}")


def test_serve_on_a_missing_models_folder_is_an_error(
    run_cli: RunCli,
    tmp_path: Path,
    fresh_settings: None,
    serve_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("the server started"))
    res = run_cli("serve", "--models-dir", tmp_path / "nowhere", "--state-dir", tmp_path / "v")
    assert res.code == 2
    [line] = res.err.strip().splitlines()
    assert f"the models folder {tmp_path / 'nowhere'} does not exist" in line


def test_serve_on_an_empty_models_folder_says_so_loudly(
    run_cli: RunCli,
    tmp_path: Path,
    fresh_settings: None,
    serve_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import uvicorn

    started: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: started.append(a))
    (tmp_path / "models").mkdir()
    res = run_cli(
        "serve", "--models-dir", tmp_path / "models", "--state-dir", tmp_path / "v",
        "--port", str(free_port()),
    )  # fmt: skip
    assert res.code == 0 and started
    assert "holds no model: NOTHING WILL BE SERVED" in res.err


def free_port() -> int:
    """A port nothing listens on now (the OS's pick), so a test never meets a running demo."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_on_a_port_in_use_is_one_line_before_the_models_load(
    run_cli: RunCli,
    tmp_path: Path,
    fresh_settings: None,
    serve_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a second `hotspots serve` on the port of a running one published every model first,
    # then ended with uvicorn's JSON log line "[Errno 98] error while attempting to bind"
    # and exit status 3
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("the server started"))
    (tmp_path / "models").mkdir()
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        res = run_cli(
            "serve", "--models-dir", tmp_path / "models", "--state-dir", tmp_path / "v",
            "--host", "127.0.0.1", "--port", str(port),
        )  # fmt: skip
    assert res.code == 2
    assert res.err.strip().splitlines()[-1] == (
        f"error: --port {port}: another program listens on 127.0.0.1:{port} already (a "
        "hotspots serve still running?); stop it or give another --port"
    )


@pytest.mark.parametrize(
    ("flag", "env"), [(["--horizon", "400"], None), ([], "400"), (["--horizon", "0"], None)]
)
def test_serve_refuses_a_horizon_beyond_a_year_in_one_line(
    run_cli: RunCli,
    tmp_path: Path,
    fresh_settings: None,
    serve_env: None,
    monkeypatch: pytest.MonkeyPatch,
    flag: list[str],
    env: str | None,
) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("the server started"))
    monkeypatch.setenv("HOTSPOTS_FORECAST_HORIZON", env or "4")
    (tmp_path / "models").mkdir()
    res = run_cli(
        "serve", "--models-dir", tmp_path / "models", "--state-dir", tmp_path / "v", *flag
    )
    assert res.code == 2
    value = flag[1] if flag else env
    assert res.err.strip().splitlines() == [
        f"error: --horizon (HOTSPOTS_FORECAST_HORIZON) {value}: must be between 1 and 365, a "
        "year ahead (at most 52 for weekly, 12 for monthly models)"
    ]


def test_serve_refuses_bad_plan_shifts_in_one_line(
    run_cli: RunCli,
    tmp_path: Path,
    fresh_settings: None,
    serve_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bad HOTSPOTS_PLAN_SHIFTS is said before the server starts, not as a missing plan."""
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("the server started"))
    monkeypatch.setenv("HOTSPOTS_PLAN_SHIFTS", "7,15,24")
    (tmp_path / "models").mkdir()
    res = run_cli("serve", "--models-dir", tmp_path / "models", "--state-dir", tmp_path / "v")
    assert res.code == 2
    assert res.err.strip().splitlines() == [
        "error: HOTSPOTS_PLAN_SHIFTS '7,15,24': 24 is not an hour of the day (0-23); give the "
        "hours the blocks of the day start at, e.g. 0,6,12,18 or 7,15,23"
    ]
