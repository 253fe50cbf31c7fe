"""The key store's folder watch: a watched store (the running app's) sees every change from
the next call on, with no stat while nothing happened; it falls back to a stat per call where
it cannot watch."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from hotspots.access import fswatch, keys
from hotspots.access.fswatch import FolderWatch, event_masks
from hotspots.access.keys import KeyRecord, KeyStore
from hotspots.errors import IntegrityError

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="inotify is Linux's; elsewhere keys are stat'd"
)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    out = tmp_path / "state"
    out.mkdir()
    return out


@pytest.fixture
def stats(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every ``os.stat`` the keys module makes, by path."""
    seen: list[str] = []
    real_stat = os.stat

    def counting_stat(path: os.PathLike[str] | str, *args: object, **kwargs: object) -> object:
        seen.append(str(path))
        return real_stat(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(keys.os, "stat", counting_stat)
    return seen


class Watched(NamedTuple):
    server: KeyStore
    """A server's store, watched."""
    cli: KeyStore
    """Another process's store on the same file (`hotspots keys ...`)."""
    record: KeyRecord
    key: str
    """A read key the server has authenticated once."""


@pytest.fixture
def watched(folder: Path) -> Iterator[Watched]:
    server, cli = KeyStore(folder / "keys.json"), KeyStore(folder / "keys.json")
    assert server.watch()
    record, key = cli.create("app", ["forecasts:read"])
    assert server.authenticate(key) == record
    yield Watched(server, cli, record, key)
    server.close()


@linux_only
def test_changed_says_whether_anything_happened_in_the_folder(folder: Path) -> None:
    watch = FolderWatch.start(folder)
    assert watch is not None and watch.active
    assert not watch.changed()
    (folder / "a.tmp").write_text("x")  # created, written and closed
    assert watch.changed() and not watch.changed()  # the events are drained once seen
    (folder / "a.tmp").rename(folder / "a.json")
    assert watch.changed() and not watch.changed()
    (folder / "sub").mkdir()
    watch.changed()
    (folder / "sub" / "b").write_text("x")  # a subfolder's file: not watched
    assert not watch.changed()
    with (folder / "a.json").open("a") as log:  # appended to and kept open, as the audit log
        log.write("y")
        log.flush()
        assert not watch.changed()
    assert watch.changed()  # closed after writing
    watch.close()
    assert not watch.active and watch.changed()


@linux_only
def test_a_folder_moved_away_is_no_longer_trusted(folder: Path) -> None:
    watch = FolderWatch.start(folder)
    assert watch is not None
    folder.rename(folder.with_name("elsewhere"))
    assert watch.changed() and not watch.active  # lost: True from now on
    assert watch.changed()


def test_start_is_none_where_the_folder_cannot_be_watched(tmp_path: Path) -> None:
    assert FolderWatch.start(tmp_path / "missing") is None
    (tmp_path / "file").write_text("x")
    assert FolderWatch.start(tmp_path / "file") is None  # IN_ONLYDIR


def test_event_masks_reads_each_event_of_a_buffer() -> None:
    event = fswatch._EVENT
    data = event.pack(1, fswatch.IN_MOVED_TO, 7, 16) + b"keys.json".ljust(16, b"\0")
    data += event.pack(1, fswatch.IN_IGNORED, 0, 0)
    assert list(event_masks(data)) == [fswatch.IN_MOVED_TO, fswatch.IN_IGNORED]


@linux_only
def test_a_watched_store_stats_only_after_a_change(watched: Watched, stats: list[str]) -> None:
    server, cli, record, key = watched
    stats.clear()
    for _ in range(50):
        assert server.authenticate(key) == record
    assert stats == []  # nothing happened in the folder: no stat
    cli.revoke(record.id)  # another process, atomically (a rename into the folder)
    stats.clear()  # the other store's own
    assert server.authenticate(key) is None  # the very next call
    assert len(stats) == 1
    server.authenticate(key)
    assert len(stats) == 1


@linux_only
def test_a_watched_store_sees_an_edit_in_place(watched: Watched) -> None:
    server, cli, record, key = watched
    text = server.path.read_text()
    server.path.write_text(text.replace('"revoked_at": null', '"revoked_at": "2026-11-21"'))
    assert server.authenticate(key) is None


@linux_only
def test_a_watched_store_still_stats_when_the_recheck_is_due(
    watched: Watched, stats: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, cli, record, key = watched
    stats.clear()
    clock = [keys.time.monotonic()]
    monkeypatch.setattr(keys.time, "monotonic", lambda: clock[0])
    server.authenticate(key)
    assert stats == []
    clock[0] += keys.RECHECK_SECONDS  # e.g. changed by another host of a network filesystem
    server.authenticate(key)
    assert len(stats) == 1


def test_an_unwatched_store_stats_at_each_call(
    folder: Path, stats: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(FolderWatch, "start", classmethod(lambda cls, f: None))
    server = KeyStore(folder / "keys.json")
    assert not server.watch()
    record, key = KeyStore(server.path).create("app", ["forecasts:read"])
    stats.clear()
    for _ in range(3):
        assert server.authenticate(key) == record
    assert len(stats) == 3


@linux_only
def test_a_linked_key_file_is_not_watched(folder: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "secrets"
    elsewhere.mkdir()
    KeyStore(elsewhere / "keys.json").create("app", ["forecasts:read"])
    (folder / "keys.json").symlink_to(elsewhere / "keys.json")
    assert not KeyStore(folder / "keys.json").watch()


@linux_only
def test_a_store_whose_folder_moved_goes_back_to_stat(watched: Watched, stats: list[str]) -> None:
    server, cli, record, key = watched
    folder = server.path.parent
    folder.rename(folder.with_name("moved"))
    folder.mkdir()  # an empty folder where the keys were: no keys
    stats.clear()
    assert server.authenticate(key) is None
    assert server.authenticate(key) is None
    assert len(stats) == 2  # a stat per call again


@linux_only
def test_a_watched_store_writes_from_the_file_even_without_an_event(
    watched: Watched, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, cli, first, _ = watched
    monkeypatch.setattr(FolderWatch, "changed", lambda self: False)  # as another host's write
    other, _ = cli.create("other host", ["forecasts:read"])
    mine, _ = server.create("here", ["events:write"])
    assert {r.id for r in KeyStore(server.path).list()} == {first.id, other.id, mine.id}


@linux_only
def test_a_watched_store_keeps_failing_while_the_file_is_broken(
    watched: Watched,
) -> None:
    server, cli, record, key = watched
    good = server.path.read_text()
    server.path.write_text("{broken")  # an edit half done
    for _ in range(2):  # not served from the keys it had, not even once more
        with pytest.raises(IntegrityError):
            server.authenticate(key)
    server.path.write_text(good)
    assert server.authenticate(key) == record
