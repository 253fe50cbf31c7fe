"""A store's ``generation()`` (the names of its batch files) listed again only when its
folder changed, for the probe and the scrape, which ask on every call.

A batch lands in its folder by a rename, which updates the folder's modification time; so
while the folder's ``stat`` is unchanged the listing is too. A folder changed within the last
``RACY_SECONDS`` is listed every time: a second batch renamed in the same clock tick as the
last listing would leave the stat unchanged (the "racy" case git's index guards against).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

RACY_SECONDS = 2.0


class GenerationCache:
    """``listing()`` of ``folder``, re-run only when the folder's stat changed."""

    def __init__(self, folder: str | Path, listing: Callable[[], tuple[str, ...]]) -> None:
        self.folder = folder
        self.listing = listing
        self._stamp: tuple[int, int, int] | None = None
        self._value: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def __call__(self) -> tuple[str, ...]:
        try:
            st = os.stat(self.folder)
        except FileNotFoundError:
            return self.listing()  # no folder: nothing to cache (and nothing to list)
        stamp = (st.st_mtime_ns, st.st_ino, st.st_dev)
        settled = time.time_ns() - st.st_mtime_ns > RACY_SECONDS * 1e9
        with self._lock:
            if settled and stamp == self._stamp:
                return self._value
        value = self.listing()
        with self._lock:
            self._stamp, self._value = (stamp, value) if settled else (None, ())
        return value


class TreeGenerations:
    """A ``GenerationCache`` per folder of a tree walked on every call, made as folders are
    first seen and dropped when ``prune`` finds them not asked about (folders come and go).
    Folders are plain strings: a walk asks about hundreds, and ``Path`` objects cost more
    than the stat."""

    def __init__(self) -> None:
        self._caches: dict[str, GenerationCache] = {}
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, folder: str, listing: Callable[[str], tuple[str, ...]]) -> tuple[str, ...]:
        """``listing(folder)``, re-run only when ``folder``'s stat changed."""
        with self._lock:
            cache = self._caches.get(folder)
            if cache is None:
                cache = self._caches[folder] = GenerationCache(folder, lambda: listing(folder))
            self._seen.add(folder)
        return cache()

    def prune(self) -> None:
        """Forget the folders not asked about since the last ``prune``."""
        with self._lock:
            self._caches = {f: c for f, c in self._caches.items() if f in self._seen}
            self._seen = set()


def subfolders(folder: str | Path) -> tuple[str, ...]:
    """The names of ``folder``'s folders, sorted (none when it is missing)."""
    try:
        return tuple(sorted(e.name for e in os.scandir(folder) if e.is_dir()))
    except (FileNotFoundError, NotADirectoryError):
        return ()
