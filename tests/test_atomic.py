"""Atomic writes, their leftovers after a killed write, and the file lock."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from hotspots.atomic import atomic_path, file_lock, prune_temp


def _aged(path: Path, seconds: float) -> Path:
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "keys.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys.json"]


def test_prune_temp_removes_old_leftovers_only(tmp_path: Path) -> None:
    deep = tmp_path / "events"
    deep.mkdir()
    old = deep / ".batch-x.parquet.ab12.tmp"
    young = deep / ".batch-y.parquet.cd34.tmp"  # another process may be writing it now
    kept = [deep / "batch-x.parquet", tmp_path / "audit.jsonl.tmp"]  # not hidden: not ours
    for path in (old, young, *kept):
        path.write_bytes(b"half a file")
    for path in (old, *kept):
        _aged(path, 7200)
    assert prune_temp(tmp_path) == 1
    assert not old.exists() and young.exists() and all(p.exists() for p in kept)
    scratch = tmp_path / ".incoming" / "tmpq1w2"
    scratch.mkdir(parents=True)
    (scratch / "request-body.csv").write_text("id\n1\n")
    _aged(scratch, 7200)
    assert prune_temp(tmp_path / ".incoming", pattern="tmp*") == 1
    assert not scratch.exists() and (tmp_path / ".incoming").is_dir()
    assert prune_temp(tmp_path / "missing") == 0


def test_file_lock_makes_a_second_holder_wait(tmp_path: Path) -> None:
    lock = tmp_path / "sub" / ".x.lock"
    order: list[str] = []

    def second() -> None:
        with file_lock(lock):
            order.append("second")

    with file_lock(lock):
        worker = threading.Thread(target=second)
        worker.start()
        worker.join(0.3)
        assert worker.is_alive()  # blocked while the first holds it
        order.append("first")
    worker.join(10)
    assert order == ["first", "second"]
