"""A fitted forecaster's state as files, with no pickle: ``arrays/<name>.npy`` and
``texts/<name>.txt`` (kind, params and meta live in the manifest)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hotspots.errors import ConfigError, IntegrityError
from hotspots.forecasters import ForecasterState
from hotspots.registry.manifest import CARD, MANIFEST, check_name, sha256_bytes

ARRAYS = "arrays"
TEXTS = "texts"
RESERVED = (ARRAYS, TEXTS, CARD, MANIFEST)


def write_state(folder: Path, state: ForecasterState) -> dict[str, str]:
    """Write the state's arrays and texts under ``folder``; return {relative path: sha256}."""
    written: dict[str, str] = {}
    for name, array in state.arrays.items():
        check_name(name, "array name")
        arr = np.asarray(array)
        if arr.dtype.hasobject:
            raise ConfigError(
                f"{state.kind} state array {name!r} holds Python objects ({arr.dtype}); only "
                "numeric, boolean or fixed-width string arrays can be stored without pickle"
            )
        buffer = io.BytesIO()
        np.save(buffer, arr, allow_pickle=False)
        written[f"{ARRAYS}/{name}.npy"] = _write(folder / ARRAYS / f"{name}.npy", buffer.getvalue())
    for name, text in state.texts.items():
        check_name(name, "text name")
        data = str(text).encode("utf-8")
        written[f"{TEXTS}/{name}.txt"] = _write(folder / TEXTS / f"{name}.txt", data)
    return written


def copy_files(folder: Path, files: Iterable[str | Path]) -> dict[str, str]:
    """Copy ``files`` (e.g. a backtest report) into ``folder`` by file name; return
    {file name: sha256}."""
    written: dict[str, str] = {}
    for file in map(Path, files):
        name = check_name(file.name, "extra file name")
        if name in RESERVED or name in written:
            raise ConfigError(f"extra file name {name!r} is taken; rename {file}")
        try:
            data = file.read_bytes()
        except OSError as err:
            raise ConfigError(f"cannot read extra file {file}: {err.strerror or err}") from err
        written[name] = _write(folder / name, data)
    return written


def _write(path: Path, data: bytes) -> str:
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return sha256_bytes(data)


def read_state(manifest: Mapping[str, Any], contents: Mapping[str, bytes]) -> ForecasterState:
    """The ForecasterState from a checked manifest and its artifact bytes."""
    arrays, texts = {}, {}
    for rel, data in contents.items():
        folder, _, file = rel.partition("/")
        if folder == ARRAYS and file.endswith(".npy"):
            try:
                arrays[file.removesuffix(".npy")] = np.load(io.BytesIO(data), allow_pickle=False)
            except ValueError as err:
                raise IntegrityError(
                    f"model {manifest['name']!r} {manifest['version']}: {rel} is not a "
                    f"readable array ({err}); re-publish it"
                ) from err
        elif folder == TEXTS and file.endswith(".txt"):
            texts[file.removesuffix(".txt")] = data.decode("utf-8")
    return ForecasterState(
        kind=str(manifest["kind"]),
        params=dict(manifest["params"]),
        meta=dict(manifest["meta"]),
        arrays=arrays,
        texts=texts,
    )
