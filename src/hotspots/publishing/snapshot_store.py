"""Every published snapshot on disk, so a past forecast is replayed byte for byte.

Layout (one folder per model name and ``as_of``; times in the file names sort as text)::

    root/<name>/<as_of>/<issued_at>.json.gz       full JSON document of the first period
    root/<name>/<as_of>/<issued_at>.p2.json.gz    ... of the second period (horizon > 1)
    root/<name>/<as_of>/<issued_at>.meta.json     metadata, written last: it marks the save
                                                   complete
    root/<name>/.publish.lock                      held while one process publishes ``name``

``as_of`` is ``YYYY-MM-DD`` (``YYYY-MM-DDTHH-MM-SS`` off midnight) and ``issued_at`` is UTC
``YYYYMMDDTHHMMSSffffffZ``. The gzip files are the very bytes served at publish time, so a
replay has the same bytes and the same ETag.
"""

from __future__ import annotations

import builtins
import contextlib
import gzip
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from hotspots.atomic import atomic_path, file_lock, write_text
from hotspots.errors import ConfigError, IntegrityError, ModelNotFoundError
from hotspots.features.panel import to_timestamp
from hotspots.publishing.snapshot import Snapshot, iso_local, iso_utc, strong_etag

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_META = ".meta.json"


@dataclass(frozen=True)
class StoredSnapshot:
    """A replayed document: the JSON bytes, the gzip bytes served, the ETag and metadata."""

    bytes: builtins.bytes
    gzip_bytes: builtins.bytes
    etag: str
    metadata: dict[str, Any]


def as_of_key(as_of: Any) -> str:
    """The folder name of an ``as_of`` time (naive local)."""
    ts = to_timestamp(as_of, "as_of")
    if ts.tz is not None:
        raise ConfigError(f"as_of must be naive local time, got {as_of!r}")
    return iso_local(ts).replace(":", "-")


def issued_key(issued_at: Any) -> str:
    """The file stem of an ``issued_at`` time (naive = UTC)."""
    ts = to_timestamp(issued_at, "issued_at")
    ts = ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")
    return ts.strftime("%Y%m%dT%H%M%S%fZ")


class SnapshotStore:
    """Published snapshots under ``root``: ``save``, ``load`` (replay) and ``list``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _folder(self, name: str, as_of: Any) -> Path:
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ConfigError(
                f"snapshot name must be letters, digits, '.', '_' or '-', got {name!r}"
            )
        return self.root / name / as_of_key(as_of)

    def publishing(self, name: str) -> contextlib.AbstractContextManager[None]:
        """Hold ``name``'s publish lock, so sibling worker processes publishing one version
        in the same moment take turns, and the second finds the first's snapshot and serves
        the same bytes."""
        self._folder(name, "2000-01-01")  # checks the name
        return file_lock(self.root / name / ".publish.lock")

    def save(self, snapshot: Snapshot) -> dict[str, Any]:
        """Write the snapshot's JSON documents (gzipped, as served) and metadata atomically.

        Saving the same snapshot twice is a no-op; a different one with the same name,
        ``as_of`` and ``issued_at`` raises ConfigError.
        """
        folder = self._folder(snapshot.name, snapshot.as_of)
        stem = issued_key(snapshot.issued_at)
        meta_path = folder / f"{stem}{_META}"
        meta = _metadata(snapshot, stem)
        if meta_path.exists():
            old = json.loads(meta_path.read_text(encoding="utf-8"))
            if old.get("etag") != meta["etag"] or old.get("documents") != meta["documents"]:
                raise ConfigError(
                    f"a different snapshot {snapshot.name!r} as of {iso_local(snapshot.as_of)} "
                    f"issued at {iso_utc(snapshot.issued_at)} is already saved in {folder}"
                )
            return dict(old)
        for doc, view in zip(meta["documents"], snapshot.documents, strict=True):
            with atomic_path(folder / doc["file"]) as tmp:
                tmp.write_bytes(view.gzip_bytes)
        write_text(meta_path, json.dumps(meta, indent=1))
        return meta

    def load(
        self, name: str, as_of: Any, issued_before: Any = None, period: int = 0
    ) -> StoredSnapshot:
        """The snapshot of ``name`` and ``as_of`` issued last at or before ``issued_before``.

        ``issued_before=None`` means the latest. Raises ModelNotFoundError when there is none
        and IntegrityError when the stored bytes do not match their ETag.
        """
        folder = self._folder(name, as_of)
        stems = sorted(p.name[: -len(_META)] for p in folder.glob(f"*{_META}"))
        if issued_before is not None:
            limit = issued_key(issued_before)
            stems = [s for s in stems if s <= limit]
        if not stems:
            when = "" if issued_before is None else f" issued at or before {issued_before}"
            raise ModelNotFoundError(
                f"no snapshot of {name!r} as of {as_of_key(as_of)}{when} in {self.root}"
            )
        meta = _read_meta(folder / f"{stems[-1]}{_META}")
        docs = meta["documents"]
        if not isinstance(period, int) or not 0 <= period < len(docs):
            raise ConfigError(f"period must be between 0 and {len(docs) - 1}, got {period!r}")
        path = folder / docs[period]["file"]
        try:
            packed = path.read_bytes()
            data = gzip.decompress(packed)
        except (OSError, EOFError) as err:
            raise IntegrityError(f"snapshot file {path} is missing or damaged: {err}") from err
        if strong_etag(data) != docs[period]["etag"]:
            raise IntegrityError(f"snapshot file {path} does not match its ETag")
        return StoredSnapshot(data, packed, docs[period]["etag"], meta)

    def list(self, name: str) -> builtins.list[dict[str, Any]]:
        """Metadata of every saved snapshot of ``name``, by ``as_of`` then ``issued_at``."""
        self._folder(name, "2000-01-01")  # checks the name
        metas = [_read_meta(p) for p in (self.root / name).glob(f"*/*{_META}")]
        return sorted(metas, key=lambda m: (m["as_of"], pd.Timestamp(m["issued_at"])))


def saves_in(folder: str | Path) -> tuple[str, ...]:
    """The metadata files in an ``as_of`` folder, sorted: one per complete save (written
    last), so a new save, or one removed, changes them (none when there is no folder)."""
    try:
        return tuple(sorted(e.name for e in os.scandir(folder) if e.name.endswith(_META)))
    except (FileNotFoundError, NotADirectoryError):
        return ()


def _read_meta(path: Path) -> dict[str, Any]:
    """A snapshot's metadata; a damaged one raises ``IntegrityError`` naming the file."""
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise IntegrityError(f"snapshot metadata {path} is missing or damaged: {err}") from err
    if not isinstance(meta, dict) or not {"as_of", "issued_at", "documents"} <= meta.keys():
        raise IntegrityError(f"snapshot metadata {path} is damaged: not a snapshot's record")
    return meta


def _metadata(snapshot: Snapshot, stem: str) -> dict[str, Any]:
    files = [f"{stem}.json.gz"] + [
        f"{stem}.p{h + 1}.json.gz" for h in range(1, len(snapshot.documents))
    ]
    return {
        "name": snapshot.name,
        "version": snapshot.version,
        "as_of": iso_local(snapshot.as_of),
        "issued_at": iso_utc(snapshot.issued_at),
        "data_through": iso_local(snapshot.data_through),
        "periods": [[iso_local(s), iso_local(e)] for s, e in snapshot.periods],
        "target": list(snapshot.target),
        "n_cells": snapshot.n_cells,
        "etag": snapshot.etag,
        "documents": [
            {"file": f, "etag": v.etag} for f, v in zip(files, snapshot.documents, strict=True)
        ],
    }
