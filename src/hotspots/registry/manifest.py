"""The manifest of one model version: what it is, what made it, and a checksum of every file.

``manifest.json`` cannot hold its own checksum, so it carries ``manifest_sha256``: the sha256
of its canonical JSON without that key. Any edit to a field (or a half-written file) shows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import json
import math
import platform
import re
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import pandas as pd

from hotspots import __version__
from hotspots.errors import ConfigError, IntegrityError
from hotspots.forecasters import ForecasterState

MANIFEST = "manifest.json"
CARD = "MODEL_CARD.md"
FORMAT = 1
"""Version of the folder layout and manifest fields; bumped on an incompatible change."""

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
VERSION_DIR = re.compile(r"v([1-9][0-9]*)")
_VERSION_ARG = re.compile(r"[vV]?([1-9][0-9]{0,8})")
_LIBRARIES = ("numpy", "pandas", "lightgbm", "scikit-learn", "h3")
_SELF = "manifest_sha256"


def check_name(name: object, what: str = "model name") -> str:
    """``name`` if it is a safe registry name (also a safe file name), else ConfigError."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise ConfigError(
            f"{what} {name!r} is not valid: use 1 to 64 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return name


def version_label(version: object) -> str:
    """``"v3"`` from ``3``, ``"3"`` or ``"v3"``; ConfigError for anything else."""
    match = None if isinstance(version, bool) else _VERSION_ARG.fullmatch(str(version).strip())
    if match is None:
        raise ConfigError(f"version {version!r} is not valid: use a number like 3 or v3")
    return f"v{int(match.group(1))}"


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def jsonable(value: Any, where: str) -> Any:
    """``value`` as plain JSON data: numpy scalars and arrays, tuples, dates and paths
    converted, NaN and infinities as ``None``; ConfigError naming ``where`` otherwise."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, np.generic | np.ndarray):
        return jsonable(value.tolist(), where)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, pd.Timestamp | dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    raise ConfigError(
        f"{where} holds a {type(value).__name__} ({str(value)[:60]!r}), which cannot be "
        "stored in a JSON manifest"
    )


def library_versions() -> dict[str, str | None]:
    """Versions of Python and the libraries a loaded model depends on (None: not installed)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for dist in _LIBRARIES:
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = None
    out["hotspots"] = __version__
    return out


def build_manifest(
    name: str,
    state: ForecasterState,
    *,
    features: list[str],
    spec: Mapping[str, Any],
    data: Mapping[str, Any],
    backtest: Mapping[str, Any],
    notes: Mapping[str, Any] | None,
    created: str,
) -> dict[str, Any]:
    """Every manifest field but ``artifacts`` and the self-checksum (``version`` is None)."""
    meta = jsonable(state.meta, "meta")
    return {
        "format": FORMAT,
        "name": name,
        "version": None,  # set when the version number is taken
        "created": created,
        "kind": state.kind,
        "params": jsonable(state.params, "params"),
        "meta": meta,
        "resolution": meta.get("resolution"),
        "freq": meta.get("freq"),
        "target": meta.get("target"),
        "study_cells": int(np.asarray(state.arrays["cells"]).size),
        "features": features,
        "spec": jsonable(spec, "spec"),
        "data": jsonable(data, "data"),
        "backtest": jsonable(backtest, "backtest"),
        "notes": jsonable(notes or {}, "notes"),
        "libraries": library_versions(),
    }


def _digest(manifest: Mapping[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != _SELF}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return sha256_bytes(text.encode("utf-8"))


def manifest_text(manifest: Mapping[str, Any]) -> str:
    """The manifest as written to disk, with its self-checksum added."""
    sealed = {**manifest, _SELF: _digest(manifest)}
    return json.dumps(sealed, indent=2, allow_nan=False) + "\n"


def read_manifest(folder: Path, name: str, version: str) -> dict[str, Any]:
    """The checked manifest of ``name`` ``version`` stored in ``folder``; IntegrityError if it
    is missing, not JSON, edited, or describes another model."""
    label = f"model {name!r} {version}"
    try:
        manifest = json.loads((folder / MANIFEST).read_bytes())
    except FileNotFoundError as err:
        raise IntegrityError(f"{label}: {MANIFEST} is missing; re-publish it") from err
    except (ValueError, UnicodeDecodeError) as err:
        raise IntegrityError(
            f"{label}: {MANIFEST} is not valid JSON (tampered or half-written); re-publish it"
        ) from err
    if not isinstance(manifest, dict) or not isinstance(manifest.get("artifacts"), dict):
        raise IntegrityError(f"{label}: {MANIFEST} has no artifacts table; re-publish it")
    if manifest.get(_SELF) != _digest(manifest):
        raise IntegrityError(
            f"{label}: {MANIFEST} sha256 mismatch (tampered or half-written); re-publish it"
        )
    if (manifest.get("name"), manifest.get("version")) != (name, version):
        raise IntegrityError(
            f"{label}: {MANIFEST} describes model {manifest.get('name')!r} "
            f"{manifest.get('version')}; it was moved or copied by hand"
        )
    return manifest


def check_artifacts(folder: Path, manifest: Mapping[str, Any]) -> dict[str, bytes]:
    """The bytes of every artifact, after checking that the files are exactly those listed
    and that each matches its sha256; IntegrityError naming the first file that does not."""
    label = f"model {manifest['name']!r} {manifest['version']}"
    listed: dict[str, str] = manifest["artifacts"]
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    present.discard(MANIFEST)
    missing = sorted(set(listed) - present)
    if missing:
        raise IntegrityError(f"{label}: {missing[0]} is missing; re-publish it")
    extra = sorted(present - set(listed))
    if extra:
        raise IntegrityError(
            f"{label}: {extra[0]} is not listed in the manifest (added by hand?); remove it "
            "or re-publish"
        )
    contents = {}
    for rel in sorted(listed):
        data = (folder / rel).read_bytes()
        if sha256_bytes(data) != listed[rel]:
            raise IntegrityError(
                f"{label}: {rel} sha256 mismatch (tampered or half-written); re-publish it"
            )
        contents[rel] = data
    return contents
