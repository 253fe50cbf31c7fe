"""API keys: create, list, revoke and authenticate, with only a hash of each secret stored.

A key reads ``hs_<id>_<secret>``: the id is in the key, so authenticating is one dict lookup
and one constant-time hash comparison. The store is a JSON file (mode 0600) written
atomically; a running server picks up changes (``hotspots keys revoke``, an edit) from the
next request on. It reloads the file when its stat signature changed, and stats it at each
call, or, in a server (``KeyStore.watch``), only when an inotify watch on its folder saw
something happen there, and at least every ``RECHECK_SECONDS`` for what inotify cannot see
(``hotspots.access.fswatch``).
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hotspots.access.fswatch import FolderWatch
from hotspots.atomic import atomic_path
from hotspots.errors import ConfigError, IntegrityError

logger = logging.getLogger(__name__)

SCOPES: tuple[str, ...] = ("forecasts:read", "events:write", "models:admin", "metrics:read")
"""Every scope a key can hold; none implies another (``models:admin`` reads no forecast, and
``metrics:read``, a Prometheus scraper's key, reads nothing but ``/metrics``)."""
KEY_PREFIX = "hs_"
KEYS_FILE = "keys.json"
"""Name of the key store inside the service's state folder."""
RECHECK_SECONDS = 2.0
"""A watched key file is still checked by stat this often: inotify does not see a change
made by another host of a network filesystem (whose attribute cache delays a stat by ~3 s
anyway), or a key file linked from another folder."""

_FORMAT_VERSION = 1
# Compared against when the id is unknown or the key malformed, so a miss costs the same
# hash and comparison as a hit and timing does not reveal which ids exist.
_DUMMY_HASH = hashlib.sha256(b"hotspots: no such key").hexdigest()


@dataclass(frozen=True)
class KeyRecord:
    """One stored API key: never the secret, only its SHA-256 hex digest."""

    id: str
    name: str
    scopes: tuple[str, ...]
    hash: str
    created: str
    revoked_at: str | None = None

    @property
    def revoked(self) -> bool:
        """Whether the key has been revoked."""
        return self.revoked_at is not None

    def has(self, scope: str) -> bool:
        """Whether the key holds ``scope`` (exactly; no scope implies another)."""
        return scope in self.scopes


def hash_secret(secret: str) -> str:
    """SHA-256 hex digest of a key's secret part, as stored."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def split_key(key: str) -> tuple[str, str] | None:
    """``(id, secret)`` of a key shaped ``hs_<id>_<secret>``, else None."""
    if not key.startswith(KEY_PREFIX):
        return None
    key_id, sep, secret = key[len(KEY_PREFIX) :].partition("_")
    if not sep or not key_id or not secret:
        return None
    return key_id, secret


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    given = [scopes] if isinstance(scopes, str) else list(scopes)
    for scope in given:
        if scope not in SCOPES:
            raise ConfigError(f"unknown scope {scope!r}; scopes are: {', '.join(SCOPES)}")
    if not given:
        raise ConfigError(f"an API key needs at least one scope; scopes are: {', '.join(SCOPES)}")
    return tuple(s for s in SCOPES if s in given)


class KeyStore:
    """API keys kept in a JSON file; safe to share between threads of one process."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._signature: tuple[int, int, int] | None = None
        self._records: dict[str, KeyRecord] = {}
        self._watch: FolderWatch | None = None
        self._trusted_until = 0.0
        """While watched: until when (monotonic) no event means no change."""

    def watch(self) -> bool:
        """Check the file by a watch on its folder instead of a stat per call (a server's
        store; ``close`` ends it). False where that is unavailable, or for a key file that
        is a symbolic link: those are checked by stat at each call."""
        with self._lock:
            if self._watch is None and not self.path.is_symlink():
                self._watch = FolderWatch.start(self.path.parent)
            self._trusted_until = 0.0
            return self._watch is not None

    def close(self) -> None:
        """End the watch, if any (the store goes on, checking by stat)."""
        with self._lock:
            if self._watch is not None:
                self._watch.close()
                self._watch = None

    def create(self, name: str, scopes: Iterable[str]) -> tuple[KeyRecord, str]:
        """Store a new key and return its record and the plaintext key (shown only now)."""
        clean = name.strip()
        if not clean:
            raise ConfigError(f"an API key needs a non-empty name, got {name!r}")
        checked = _check_scopes(scopes)
        with self._lock:
            records = self._load()
            key_id = "k" + secrets.token_hex(4)
            while key_id in records:  # 2**32 ids: a clash is rare but would be fatal
                key_id = "k" + secrets.token_hex(4)
            secret = secrets.token_urlsafe(32)
            record = KeyRecord(key_id, clean, checked, hash_secret(secret), _utc_now())
            records[key_id] = record
            self._save(records)
        return record, f"{KEY_PREFIX}{key_id}_{secret}"

    def revoke(self, key_id: str) -> KeyRecord:
        """Revoke a key by id; revoking it again keeps the first revocation time."""
        with self._lock:
            records = self._load()
            record = records.get(key_id)
            if record is None:
                known = ", ".join(records) or "none"
                raise ConfigError(f"no API key with id {key_id!r} in {self.path}; ids: {known}")
            if not record.revoked:
                record = replace(record, revoked_at=_utc_now())
                records[key_id] = record
                self._save(records)
        return record

    def authenticate(self, presented_key: str) -> KeyRecord | None:
        """The record of a valid, unrevoked key, else None (constant time in the secret)."""
        with self._lock:
            self._refresh()
            records = self._records
        parts = split_key(presented_key)
        key_id, secret = parts if parts is not None else ("", presented_key)
        record = records.get(key_id)
        expected = record.hash if record is not None else _DUMMY_HASH
        matches = hmac.compare_digest(hash_secret(secret), expected)
        if not matches or record is None or record.revoked:
            return None
        return record

    def list(self) -> builtins.list[KeyRecord]:
        """Every key, revoked ones included, oldest first."""
        with self._lock:
            self._refresh()
            return builtins.list(self._records.values())

    def _refresh(self, force: bool = False) -> None:
        """Reload when the file's (inode, mtime, size) changed since the last read; while
        watched, look only when the folder changed or the recheck is due (or ``force``)."""
        trusted_until = 0.0
        if self._watch is not None:
            changed = self._watch.changed()  # drains the events queued so far
            now = time.monotonic()
            if not (changed or force or now >= self._trusted_until):
                return
            trusted_until = now + RECHECK_SECONDS  # a change from here on is an event
        self._trusted_until = 0.0  # a look that fails (a file being edited) is not trusted
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self._signature, self._records = None, {}
        else:
            signature = (st.st_ino, st.st_mtime_ns, st.st_size)
            if signature != self._signature:
                self._records = self._read()
                self._signature = signature
        self._trusted_until = trusted_until

    def _load(self) -> dict[str, KeyRecord]:
        """The records on disk now (writers start from the file, not the cache)."""
        self._signature = None
        self._refresh(force=True)
        return dict(self._records)

    def _read(self) -> dict[str, KeyRecord]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            rows = data["keys"]
            records = [_record_from_dict(row) for row in rows]
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise IntegrityError(f"API key store {self.path} is unreadable: {err}") from err
        return {r.id: r for r in records}

    def _save(self, records: dict[str, KeyRecord]) -> None:
        rows = [{**asdict(r), "scopes": builtins.list(r.scopes)} for r in records.values()]
        text = json.dumps({"version": _FORMAT_VERSION, "keys": rows}, indent=2) + "\n"
        with atomic_path(self.path) as tmp:
            os.chmod(tmp, 0o600)  # before the hashes go in, not after
            tmp.write_text(text, encoding="utf-8")
        self._signature = None
        self._refresh(force=True)
        logger.info("wrote %d API key(s) to %s", len(records), self.path)


def _record_from_dict(row: dict[str, Any]) -> KeyRecord:
    return KeyRecord(
        id=str(row["id"]),
        name=str(row["name"]),
        scopes=tuple(str(s) for s in row["scopes"]),
        hash=str(row["hash"]),
        created=str(row["created"]),
        revoked_at=None if row.get("revoked_at") is None else str(row["revoked_at"]),
    )
