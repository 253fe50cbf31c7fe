"""HOTSPOTS_MODELS_DIR naming a file is one line and exit 2 in every command that reads the
registry (it used to say there was no model of that name), and the server does not start."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hotspots.config import get_settings

RunCli = Any


@pytest.fixture
def file_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A file where the registry should be, given by the environment, and inputs to read."""
    blocker = tmp_path / "models"
    blocker.write_text("a file, not the registry")
    monkeypatch.setenv("HOTSPOTS_MODELS_DIR", str(blocker))
    monkeypatch.setenv("HOTSPOTS_STATE_DIR", str(tmp_path / "state"))
    (tmp_path / "e.csv").write_text("time,lat,lng\n")
    (tmp_path / "s.toml").write_text(f'name = "m"\n[data]\nevents = "{tmp_path / "e.csv"}"\n')
    get_settings.cache_clear()
    yield blocker
    get_settings.cache_clear()


COMMANDS = [
    ("forecast", "--model", "m", "--events", "{t}/e.csv", "--output", "{t}/o.csv"),
    ("plan", "--events", "{t}/e.csv", "--output", "{t}/p.json"),
    ("retrain", "{t}/s.toml"),
    ("models", "list"),
    ("models", "show", "m"),
    ("models", "promote", "m", "v1"),
    ("models", "rollback", "m"),
    ("patrols", "import", "{t}/e.csv"),
    ("report", "effectiveness", "--out", "{t}/report"),
    ("serve",),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_file_as_the_models_folder_is_one_line(
    run_cli: RunCli,
    file_registry: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: tuple[str, ...],
) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("the server started"))
    res = run_cli(*(part.format(t=tmp_path) for part in command))
    assert res.code == 2, res.out + res.err
    assert res.err.strip().splitlines() == [
        f"error: the models folder {file_registry} is not a folder: give the registry's "
        "folder with --models-dir or HOTSPOTS_MODELS_DIR"
    ]
    assert not (tmp_path / "o.csv").exists() and not (tmp_path / "report").exists()
