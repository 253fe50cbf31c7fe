"""`--cluster`: local, local:N, or a scheduler address (anything else is refused), and what
local:N starts."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import psutil
import pytest

from hotspots.cluster import parse_address
from hotspots.cluster.connect import Address
from hotspots.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("local", Address(workers=2)),
        ("local:3", Address(workers=3)),
        (" tcp://scheduler:8786 ", Address(url="tcp://scheduler:8786")),
        ("tls://10.0.0.5:8786", Address(url="tls://10.0.0.5:8786")),
    ],
)
def test_addresses_parse(text: str, want: Address) -> None:
    assert parse_address(text) == want


@pytest.mark.parametrize("text", ["local:0", "localhost", "http://x:8786", "tcp://", ""])
def test_other_addresses_are_refused_with_the_forms_allowed(text: str) -> None:
    with pytest.raises(ConfigError, match="local:N"):
        parse_address(text)


def test_local_starts_that_many_worker_processes_of_one_thread_and_stops_them() -> None:
    """``--cluster local:N``: N worker processes (not threads of this one), one thread
    each, gone when the command ends."""
    pytest.importorskip("distributed")
    from hotspots.cluster import connect

    with connect("local:2") as client:
        workers = client.scheduler_info(n_workers=-1)["workers"].values()
        pids = client.run(os.getpid)
        assert [w["nthreads"] for w in workers] == [1, 1]
        assert len(set(pids.values())) == 2 and os.getpid() not in pids.values()
        cluster = client.cluster
    assert cluster is not None and client.status == "closed"
    assert cluster.status.name == "closed" and not cluster.workers
    assert not any(psutil.pid_exists(pid) for pid in pids.values())


@pytest.mark.parametrize(("root", "chatty"), [(logging.WARNING, False), (logging.INFO, True)])
def test_a_local_cluster_logs_at_the_level_the_command_asked(root: int, chatty: bool) -> None:
    """Dask sets its loggers to INFO on import, so every ``--cluster local`` run printed
    ~40 lines of scheduler and nanny chatter under the CLI's handler without ``--verbose``;
    they follow the root logger's level (``--verbose``: INFO) instead."""
    pytest.importorskip("distributed")
    from hotspots.cluster import connect

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    top = logging.getLogger()
    level = top.level
    top.addHandler(handler)
    top.setLevel(root)
    try:
        with connect("local:1"):
            pass
    finally:
        top.removeHandler(handler)
        top.setLevel(level)
    chatter = [r for r in records if r.name.startswith("distributed") and r.levelno < 30]
    assert bool(chatter) is chatty, [r.getMessage() for r in chatter[:5]]


def _worker_state() -> tuple[bool, str | None, str | None, int]:
    return ("hotspots.cluster.specs" in sys.modules, os.environ.get("OMP_NUM_THREADS"),
            os.environ.get("PYTHONHASHSEED"), hash("hotspots"))  # fmt: skip


def _monitors() -> tuple[str, str, str, bool]:
    import dask

    get = dask.config.get
    return (get("distributed.admin.tick.interval"),
            get("distributed.admin.system-monitor.interval"),
            get("distributed.worker.memory.monitor-interval"),
            get("distributed.worker.profile.enabled"))  # fmt: skip


def test_local_workers_start_with_the_library_imported_and_dasks_worker_environment() -> None:
    """Forked from a server that imported what the tasks run, the workers have it before any
    task, and Dask's pre-spawn environment as spawned workers have it: one OpenMP / BLAS
    thread, one hash seed for all."""
    pytest.importorskip("distributed")
    from hotspots.cluster import connect

    with connect("local:2") as client:
        states = list(client.run(_worker_state).values())
        monitors = [*client.run(_monitors).values(), client.run_on_scheduler(_monitors)]
    assert states[0][:3] == (True, "1", "6640") and states[0] == states[1]
    # Dask's monitoring at the Dask tests' quieter intervals, in the workers and the scheduler
    assert monitors == [("1s", "2s", "500ms", False)] * 3


@pytest.mark.parametrize(("flag", "env"), [("0", None), (None, "-5")])
def test_a_no_workers_timeout_not_above_0_is_refused_before_anything_is_written(
    run_cli: Any, small_city_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    flag: str | None, env: str | None,
) -> None:  # fmt: skip
    from hotspots.config import get_settings
    from hotspots.synthetic import COLUMN_MAP, TIMEZONE

    if env is not None:
        monkeypatch.setenv("HOTSPOTS_DASK_NO_WORKERS_TIMEOUT", env)
    get_settings.cache_clear()
    root = tmp_path / "models"
    args = ["--events", small_city_dir / "events.csv.gz", "--map", COLUMN_MAP, "--tz", TIMEZONE]
    args += ["--name", "x", "--models-dir", root, "--cluster", "local:1"]
    try:
        done = run_cli("train", *args, *(["--no-workers-timeout", flag] if flag else []))
    finally:
        get_settings.cache_clear()
    assert done.code == 2
    value = float(flag or env or "nan")
    assert done.err.strip() == (
        "error: --no-workers-timeout (HOTSPOTS_DASK_NO_WORKERS_TIMEOUT) must be more than 0 "
        f"seconds, got {value!r}"
    )
    assert not root.exists()


_EARLY = """
import os, sys
from multiprocessing import forkserver
import psutil
from hotspots.cluster import connect
from hotspots.cluster.connect import start_early
for address in sys.argv[1:]:
    start_early(address)
    print(address, forkserver._forkserver._forkserver_pid is not None)
with connect(sys.argv[-1]) as client:
    parents = {psutil.Process(pid).ppid() for pid in client.run(os.getpid).values()}
print("forked from it", parents == {forkserver._forkserver._forkserver_pid})
"""


def test_only_a_local_cluster_starts_its_fork_server_before_the_specs_are_read() -> None:
    """``start_early`` (called as a command begins) starts the fork server local workers come
    from, so it imports while the specs are read, and ``connect`` forks the workers from it;
    a scheduler's address, or one refused later with its own message, starts nothing and
    raises nothing here."""
    pytest.importorskip("distributed")
    import subprocess

    addresses = ["tcp://127.0.0.1:1", "bogus", "local:2"]
    done = subprocess.run(
        [sys.executable, "-c", _EARLY, *addresses], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == [
        "tcp://127.0.0.1:1 False",
        "bogus False",
        "local:2 True",
        "forked from it True",
    ]
