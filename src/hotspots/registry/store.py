"""The model registry: versioned, checksummed model folders and a promotable current pointer.

Layout under ``root``::

    <NAME>/v<N>/manifest.json, MODEL_CARD.md, arrays/<name>.npy, texts/<name>.txt
    <NAME>/current.json   {"version": "v3", "history": ["v1", "v3"]}
    <NAME>/.current.lock  held while a promote or rollback rewrites current.json

A version is written in full into ``<NAME>/.tmp-<random>`` and renamed to ``v<N>`` in one step,
so readers never see half a version; ``.tmp-*`` folders are invisible to everything else.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotspots.atomic import file_lock, prune_temp, write_text
from hotspots.errors import ConfigError, IntegrityError, ModelNotFoundError
from hotspots.forecasters import Forecaster, forecaster_from_state
from hotspots.registry.artifacts import copy_files, read_state, write_state
from hotspots.registry.card import model_card
from hotspots.registry.manifest import (
    CARD,
    VERSION_DIR,
    build_manifest,
    check_artifacts,
    check_name,
    manifest_text,
    read_manifest,
    sha256_bytes,
    version_label,
)

logger = logging.getLogger(__name__)

CURRENT = "current.json"
TMP_PREFIX = ".tmp-"
STALE_SECONDS = 3600.0


@dataclass(frozen=True)
class VersionInfo:
    """What ``publish`` wrote: the version, its folder, and whether it is now current."""

    name: str
    version: str
    path: Path
    created: str
    current: bool


@dataclass(frozen=True)
class LoadedModel:
    """A checked, rebuilt forecaster with its manifest."""

    forecaster: Forecaster
    manifest: dict[str, Any]
    version: str
    path: Path


@dataclass(frozen=True)
class ModelSummary:
    """One line of ``list_models``; created, kind and target describe the current version
    (the latest when none is current, ``None`` when its manifest cannot be read)."""

    name: str
    current: str | None
    versions: tuple[str, ...]
    created: str | None
    kind: str | None
    target: tuple[str, ...] | None


class Registry:
    """Versioned model folders under ``root`` (see the module docstring for the layout)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    # -- writing ---------------------------------------------------------------------------
    def publish(
        self,
        name: str,
        model: Forecaster,
        *,
        spec: Mapping[str, Any],
        data: Mapping[str, Any],
        backtest: Mapping[str, Any],
        promote: bool = True,
        notes: Mapping[str, Any] | None = None,
        extra_files: Mapping[str, str | Path] | None = None,
    ) -> VersionInfo:
        """Store a fitted ``model`` as the next version of ``name``, with its manifest and
        card; ``promote`` makes it current. Nothing is left behind if any step fails.

        ``extra_files`` (e.g. the backtest report) are copied into the version folder under
        their file names and checksummed with the rest.
        """
        check_name(name)
        self.check_root()
        state = model.get_state()
        features = getattr(model, "feature_names_", None)
        created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        base = build_manifest(
            name,
            state,
            features=[] if features is None else [str(f) for f in features],
            spec=spec,
            data=data,
            backtest=backtest,
            notes=notes,
            created=created,
        )  # checks that everything is JSON-able before anything is written
        if promote:
            self._pointer(name)  # a broken current.json fails here, before anything is written
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        self.prune_temp(name)
        tmp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=folder))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes 0700; a service may read as another user
        try:
            hashes = write_state(tmp, state)
            hashes |= copy_files(tmp, (extra_files or {}).values())
            version = self._commit(folder, tmp, base, hashes)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        logger.info("published model %r %s", name, version)
        if promote:
            self._push(name, version)
        return VersionInfo(name, version, folder / version, created, promote)

    def _commit(self, folder: Path, tmp: Path, base: dict[str, Any], hashes: dict[str, str]) -> str:
        """Rename ``tmp`` to the next free ``v<N>``, rewriting the manifest and card for N."""
        number = self._next_number(folder)
        while True:
            version = f"v{number}"
            manifest = {**base, "version": version}
            card = model_card(manifest).encode("utf-8")
            (tmp / CARD).write_bytes(card)
            manifest["artifacts"] = {**hashes, CARD: sha256_bytes(card)}
            (tmp / "manifest.json").write_text(manifest_text(manifest), encoding="utf-8")
            try:
                os.rename(tmp, folder / version)  # fails if another publisher took v<N>
                return version
            except OSError as err:
                if err.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
            number += 1

    def _next_number(self, folder: Path) -> int:
        numbers = [int(v[1:]) for v in _version_dirs(folder)]
        return max(numbers, default=0) + 1

    def promote(self, name: str, version: str | int) -> str:
        """Make ``version`` (checked first) the current one of ``name``; returns it."""
        label = self._resolve(name, version)
        self.verify(name, label)
        self._push(name, label)
        return label

    def rollback(self, name: str) -> str:
        """Make the previously promoted version current again; returns it."""
        self.versions(name)
        with self._pointer_lock(name):
            history = self._pointer(name)["history"]
            if len(history) < 2:
                raise ConfigError(
                    f"model {name!r} has no earlier promoted version to roll back to "
                    f"(promotion history: {', '.join(history) or 'none'})"
                )
            previous = self._resolve(name, history[-2])
            self.verify(name, previous)
            self._write_pointer(name, {"version": previous, "history": history[:-1]})
        logger.info("model %r rolled back from %s to %s", name, history[-1], previous)
        return previous

    def _push(self, name: str, version: str) -> None:
        with self._pointer_lock(name):
            history = self._pointer(name)["history"]
            if not history or history[-1] != version:
                history.append(version)
            self._write_pointer(name, {"version": version, "history": history})

    def _pointer_lock(self, name: str) -> contextlib.AbstractContextManager[None]:
        """Taken around each read-modify-write of ``current.json``, so two promotes at once
        (the CLI and an API worker, say) both land in the history."""
        return file_lock(self.root / name / ".current.lock")

    def prune_temp(self, name: str, max_age: float = STALE_SECONDS) -> int:
        """Remove ``.tmp-*`` folders of ``name`` older than ``max_age`` seconds (left by a
        crashed publish); returns how many were removed."""
        return prune_temp(self.root / check_name(name), max_age, pattern=TMP_PREFIX + "*")

    # -- reading ---------------------------------------------------------------------------
    def load(self, name: str, version: str | int | None = None) -> LoadedModel:
        """The forecaster of ``name`` ``version`` (default: current), after checking every
        file against the manifest."""
        label = self._resolve(name, version)
        path = self.root / name / label
        manifest = read_manifest(path, name, label)
        contents = check_artifacts(path, manifest)
        forecaster = forecaster_from_state(read_state(manifest, contents))
        return LoadedModel(forecaster, manifest, label, path)

    def verify(self, name: str, version: str | int | None = None) -> dict[str, Any]:
        """The manifest of ``name`` ``version`` once every artifact matches its checksum."""
        label = self._resolve(name, version)
        manifest = read_manifest(self.root / name / label, name, label)
        check_artifacts(self.root / name / label, manifest)
        return manifest

    def manifest(self, name: str, version: str | int | None = None) -> dict[str, Any]:
        """The manifest of ``name`` ``version`` (default: current); artifacts not re-hashed."""
        label = self._resolve(name, version)
        return read_manifest(self.root / name / label, name, label)

    def check_root(self) -> None:
        """``ConfigError`` when the registry's folder, or the nearest one above it that
        exists, is a file: a read would otherwise say there is no such model in it."""
        nearest = self.root
        while not nearest.exists() and nearest != nearest.parent:
            nearest = nearest.parent
        if nearest.exists() and not nearest.is_dir():
            where = "" if nearest == self.root else f" ({nearest} is a file)"
            raise ConfigError(
                f"the models folder {self.root} is not a folder{where}: give the registry's "
                "folder with --models-dir or HOTSPOTS_MODELS_DIR"
            )

    def names(self) -> list[str]:
        """Names of the models with at least one version, sorted (none: no folder yet)."""
        self.check_root()
        if not self.root.is_dir():
            return []
        return sorted(
            p.name
            for p in self.root.iterdir()
            if p.is_dir() and _is_name(p.name) and _version_dirs(p)
        )

    def versions(self, name: str) -> list[str]:
        """Versions of ``name`` in publish order; ModelNotFoundError for an unknown name."""
        self.check_root()
        found = _version_dirs(self.root / check_name(name))
        if not found:
            models = ", ".join(self.names()) or "none"
            raise ModelNotFoundError(f"no model named {name!r} in {self.root}; models: {models}")
        return found

    def current(self, name: str) -> str | None:
        """The current version of ``name``, or None when none was promoted."""
        self.versions(name)
        version: str | None = self._pointer(name)["version"]
        return version

    def generation(self, name: str) -> tuple[str, ...]:
        """The version folders of ``name`` and the text of its ``current.json``: what a
        publish, promote, rollback or removal changes, read without a manifest (each lands
        in ``name``'s folder by a rename, so its stat says when to read it again)."""
        folder = self.root / name
        try:
            pointer = (folder / CURRENT).read_text(encoding="utf-8", errors="replace")
        except OSError:  # none yet, or no such model: the versions say which
            pointer = ""
        return (*_version_dirs(folder), pointer)

    def list_models(self) -> list[ModelSummary]:
        """A summary of every model, sorted by name."""
        return [self._summary(name) for name in self.names()]

    def _summary(self, name: str) -> ModelSummary:
        versions = self.versions(name)
        try:
            current = self.current(name)
        except IntegrityError:
            current = None
        shown = current if current in versions else versions[-1]
        try:
            manifest = read_manifest(self.root / name / shown, name, shown)
        except IntegrityError:
            return ModelSummary(name, current, tuple(versions), None, None, None)
        target = manifest.get("target")
        return ModelSummary(
            name,
            current,
            tuple(versions),
            manifest.get("created"),
            manifest.get("kind"),
            None if target is None else tuple(target),
        )

    # -- helpers ---------------------------------------------------------------------------
    def _resolve(self, name: str, version: str | int | None) -> str:
        """``v<N>`` of an existing version (None: the current one) or ModelNotFoundError."""
        versions = self.versions(name)
        label = self._pointer(name)["version"] if version is None else version_label(version)
        if label is None:
            raise ModelNotFoundError(
                f"model {name!r} has no current version; versions: {', '.join(versions)} "
                f"(promote one with `hotspots models promote {name} VERSION`)"
            )
        if label not in versions:
            raise ModelNotFoundError(
                f"model {name!r} has no version {label}; versions: {', '.join(versions)}"
            )
        return str(label)

    def _pointer(self, name: str) -> dict[str, Any]:
        path = self.root / name / CURRENT
        try:
            pointer = json.loads(path.read_bytes())
        except FileNotFoundError:
            return {"version": None, "history": []}
        except ValueError as err:
            raise IntegrityError(f"model {name!r}: {CURRENT} is not valid JSON") from err
        history = pointer.get("history") if isinstance(pointer, dict) else None
        if not isinstance(history, list) or pointer.get("version") not in (history or [None]):
            raise IntegrityError(
                f"model {name!r}: {CURRENT} is not a version and its history: {pointer!r}"
            )
        return {"version": pointer.get("version"), "history": [str(v) for v in history]}

    def _write_pointer(self, name: str, pointer: dict[str, Any]) -> None:
        write_text(self.root / name / CURRENT, json.dumps(pointer, indent=2) + "\n")


def _is_name(name: str) -> bool:
    """True if ``name`` is a valid model name (hidden and temporary folders are not)."""
    try:
        check_name(name)
    except ConfigError:
        return False
    return True


def _version_dirs(folder: Path) -> list[str]:
    """``v<N>`` folder names in ``folder`` by N; temporary and other folders are skipped."""
    if not folder.is_dir():
        return []
    numbers = sorted(
        int(m.group(1))
        for p in folder.iterdir()
        if (m := VERSION_DIR.fullmatch(p.name)) is not None and p.is_dir()
    )
    return [f"v{n}" for n in numbers]
