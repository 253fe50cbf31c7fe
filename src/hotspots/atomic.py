"""Atomic file writes: write to a temporary name beside the target, then rename over it.

A crash or an error mid-write leaves the old file (or none), never half a file.
``file_lock`` makes processes on one machine take turns at a read-modify-write.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from hotspots.errors import ConfigError

TEMP_SUFFIX = ".tmp"
"""Temporary files are named ``.<target name>.<random>.tmp``."""


@contextlib.contextmanager
def atomic_path(target: str | Path, durable: bool = False) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success rename it to ``target``.

    ``durable`` also flushes the file and then its folder to disk (fsync), so once the
    block returns the file survives a crash or power loss, not only a killed process.
    """
    dest = Path(target)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=TEMP_SUFFIX, dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual mode
    try:
        yield tmp
        if durable:
            _fsync(tmp)
        os.replace(tmp, dest)
        if durable:
            _fsync(dest.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    """Flush a file's or a folder's data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_text(target: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


@contextlib.contextmanager
def file_lock(path: str | Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created, mode 0600), blocking until it is
    free; processes and threads that open the file themselves take turns. The lock goes
    with the descriptor, so a crashed holder never leaves it held. No lock where ``fcntl``
    is missing (Windows)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX
        yield
        return
    lock = Path(path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def prune_temp(folder: str | Path, max_age: float = 3600.0, pattern: str = "") -> int:
    """Remove what writes killed mid-way left in ``folder``: the files or folders matching
    ``pattern`` (a ``Path.glob`` pattern; default ``atomic_path``'s hidden ``.*.tmp`` files
    at any depth) older than ``max_age`` seconds, as a younger one may be another process's
    write under way. Best effort: one that cannot be removed is left. Returns how many were
    removed."""
    root = Path(folder)
    if not root.is_dir():
        return 0
    cutoff = time.time() - max_age
    removed = 0
    for path in list(root.glob(pattern or f"**/.*{TEMP_SUFFIX}")):
        try:
            if path.lstat().st_mtime >= cutoff:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed += 1
        except OSError:  # removed by another process first, or not ours to remove
            continue
    return removed


def check_output(target: str | Path, flag: str, folder: bool = False) -> list[Path]:
    """Refuse, before any work, an output path that cannot be written (``ConfigError``
    naming the flag and the path); return the missing folders a write will create.

    ``folder``: the output is a folder (a report folder), not a file. Writability is probed
    by creating and removing a temporary file in the nearest existing folder, which also
    holds for root and for read-only filesystems, where permission bits say nothing.
    """
    path = Path(target)
    if not folder and path.is_dir():
        raise ConfigError(f"{flag} {path} is a folder: give a file name, e.g. {path / 'out'}")
    if folder and path.exists() and not path.is_dir():
        raise ConfigError(f"{flag} {path} is a file, not a folder")
    missing: list[Path] = []
    nearest = path if folder else path.parent
    while not nearest.exists() and nearest != nearest.parent:
        if nearest.is_symlink():
            raise ConfigError(f"{flag} {path}: {nearest} is a broken or looping symbolic link")
        missing.append(nearest)
        nearest = nearest.parent
    if not nearest.is_dir():
        raise ConfigError(f"{flag} {path}: {nearest} is a file, not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".hotspots-probe.", suffix=TEMP_SUFFIX, dir=nearest)
    except OSError as err:
        raise ConfigError(
            f"{flag} {path}: cannot write in folder {nearest} ({err.strerror or err})"
        ) from err
    os.close(fd)
    os.unlink(probe)
    return missing[::-1]


def check_distinct(paths: dict[str, str | Path | None]) -> None:
    """Refuse (``ConfigError``) two flags naming the same file, e.g. ``--out`` the input."""
    seen: dict[str, str] = {}
    for flag, value in paths.items():
        if value is None:
            continue
        key = os.path.realpath(value)
        if key in seen:
            raise ConfigError(
                f"{flag} {value} is the same file as {seen[key]}: it would be overwritten; "
                "give another name"
            )
        seen[key] = f"{flag} {value}" if flag != "FILE" else f"the input {value}"


BATCH_GLOB = "batch-*.parquet"
"""Stored batch files of a posted-data folder (events, patrols); temporary ones start with '.'."""


class BatchFolder:
    """A folder of stored batch files, listed oldest first (the shared part of the posted
    events', the patrols' and the served plans' stores; the last names its records by
    content, so they list by name)."""

    folder: Path
    pattern: str = BATCH_GLOB

    def batches(self) -> list[Path]:
        """Stored batch files, oldest first (hidden temporary files are never listed)."""
        if not self.folder.is_dir():
            return []
        return sorted(self.folder.glob(self.pattern))

    def generation(self) -> tuple[str, ...]:
        """Names of the stored batches: changes whenever a batch is added."""
        return tuple(p.name for p in self.batches())
