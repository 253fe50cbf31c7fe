"""The probe's and the scrape's view of the batch folders: listed again only when changed."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from hotspots.serving.generations import (
    RACY_SECONDS,
    GenerationCache,
    TreeGenerations,
    subfolders,
)


def test_a_folder_is_listed_again_only_when_it_changed(tmp_path: Path) -> None:
    folder = tmp_path / "events"
    calls: list[int] = []

    def listing() -> tuple[str, ...]:
        calls.append(1)
        return tuple(sorted(p.name for p in folder.glob("batch-*"))) if folder.is_dir() else ()

    cached = GenerationCache(folder, listing)
    assert cached() == () and len(calls) == 1  # no folder yet: listed, nothing kept
    folder.mkdir()
    (folder / "batch-1").write_text("x")
    assert cached() == ("batch-1",)  # changed just now: listed every time (racy)
    assert cached() == ("batch-1",) and len(calls) == 3
    settled = time.time() - 10 * RACY_SECONDS
    os.utime(folder, (settled, settled))
    assert cached() == ("batch-1",) and len(calls) == 4
    assert cached() == ("batch-1",) and cached() == ("batch-1",) and len(calls) == 4
    (folder / "batch-2").write_text("x")  # a new batch moves the folder's mtime
    assert cached() == ("batch-1", "batch-2") and len(calls) == 5
    os.utime(folder, (settled, settled + 1))
    assert cached() == ("batch-1", "batch-2") and len(calls) == 6
    assert cached() == ("batch-1", "batch-2") and len(calls) == 6


def test_a_tree_lists_each_folder_again_only_when_it_changed(tmp_path: Path) -> None:
    calls: list[str] = []

    def listing(folder: str) -> tuple[str, ...]:
        calls.append(os.path.basename(folder))
        return subfolders(folder)

    tree = TreeGenerations()
    settled = time.time() - 10 * RACY_SECONDS
    for name in ("a", "b"):
        (tmp_path / name / "x").mkdir(parents=True)
        os.utime(tmp_path / name, (settled, settled))
    os.utime(tmp_path, (settled, settled))

    def walk() -> tuple[tuple[str, ...], ...]:
        found = tuple(tree(str(tmp_path / n), listing) for n in tree(str(tmp_path), listing))
        tree.prune()
        return found

    assert walk() == (("x",), ("x",)) and len(calls) == 3
    assert walk() == (("x",), ("x",)) and len(calls) == 3  # settled: nothing listed
    (tmp_path / "b" / "y").mkdir()
    assert walk() == (("x",), ("x", "y")) and calls[3:] == ["b"]
    shutil.rmtree(tmp_path / "a")  # a folder gone: the tree's listing changes, its cache goes
    assert walk() == (("x", "y"),)
    assert str(tmp_path / "a") not in tree._caches
