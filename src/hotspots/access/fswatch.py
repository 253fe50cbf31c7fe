"""Whether anything changed in a folder since last asked: Linux inotify, asked with one cheap
``ioctl`` instead of a ``stat`` of the file of interest.

The key store checks its file before every request, so a key revoked with ``hotspots keys
revoke`` is refused from the next request on. ``os.stat`` walks the path every time; under
load on the benchmark VM that was ~6 us of kernel time a request, the largest share of what
the service's dashboard poll cost beyond a bare route. Asking an inotify descriptor how many
bytes of events wait (``FIONREAD``) costs a fraction of that, and it is as exact: an event
is queued when the change is made, so a change made before a request starts is seen by it.

What inotify does not see (a change made by another host on a network filesystem, a file
linked from another folder, a folder above this one moved) is why a caller still checks by
``stat`` every few seconds (``KeyStore``: every ``RECHECK_SECONDS``). Where inotify is
unavailable (not Linux, out of inotify instances or watches) ``FolderWatch.start`` returns
None and the caller checks by ``stat`` every time, as before.
"""

from __future__ import annotations

import array
import ctypes
import fcntl
import logging
import os
import struct
import sys
import termios
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)

# <sys/inotify.h>
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_UNMOUNT = 0x00002000
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000

CHANGES = (
    IN_ATTRIB
    | IN_CLOSE_WRITE
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE
    | IN_DELETE_SELF
    | IN_MOVE_SELF
)
"""What is watched: a file written and closed, created, moved in or out, deleted, its mode
changed; the folder itself moved or deleted. Not ``IN_MODIFY``: the audit log beside the key
file is appended to on every request."""
LOST = IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT | IN_IGNORED
"""Events after which the watch no longer follows the folder's path."""
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len (of the name that follows)


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        init, add = libc.inotify_init1, libc.inotify_add_watch
    except (OSError, AttributeError):
        return None
    init.argtypes, init.restype = [ctypes.c_int], ctypes.c_int
    add.argtypes, add.restype = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32], ctypes.c_int
    return libc


def event_masks(data: bytes) -> Iterator[int]:
    """The mask of each ``struct inotify_event`` in bytes read from an inotify descriptor."""
    offset = 0
    while offset + _EVENT.size <= len(data):
        _wd, mask, _cookie, length = _EVENT.unpack_from(data, offset)
        offset += _EVENT.size + length
        yield mask


class FolderWatch:
    """Changes in one folder (not its subfolders), asked for with ``changed()``.

    Not thread-safe: the caller serialises calls (``KeyStore`` holds its lock).
    """

    def __init__(self, fd: int, folder: Path) -> None:
        self.folder = folder
        self._fd: int | None = fd
        self._waiting = array.array("i", [0])

    @classmethod
    def start(cls, folder: str | Path) -> FolderWatch | None:
        """A watch on ``folder``, or None where inotify is unavailable (logged)."""
        folder = Path(folder)
        libc = _libc()
        if libc is None:
            return None
        fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd >= 0 and libc.inotify_add_watch(fd, os.fsencode(folder), CHANGES | IN_ONLYDIR) >= 0:
            return cls(fd, folder)
        reason = os.strerror(ctypes.get_errno())
        if fd >= 0:
            os.close(fd)
        logger.warning("cannot watch %s (inotify: %s); checking it by stat", folder, reason)
        return None

    @property
    def active(self) -> bool:
        """Whether the folder is still watched (False once closed or lost)."""
        return self._fd is not None

    def changed(self) -> bool:
        """Whether anything happened in the folder since the last call; always True once the
        watch is closed or lost (the folder moved, deleted or unmounted)."""
        if self._fd is None:
            return True
        fcntl.ioctl(self._fd, termios.FIONREAD, self._waiting, True)
        if not self._waiting[0]:
            return False
        self._drain()
        return True

    def _drain(self) -> None:
        lost = False
        while self._fd is not None:
            try:
                data = os.read(self._fd, 64 * 1024)
            except BlockingIOError:
                break
            lost |= any(mask & LOST for mask in event_masks(data))
        if lost:
            logger.warning("%s moved, deleted or unmounted: checking it by stat", self.folder)
            self.close()

    def close(self) -> None:
        """Stop watching (``changed()`` is True from now on)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
