"""What the service tests that change state share (fixtures in conftest.py build it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hotspots.config import Settings

TARGET = "Burglary Residential"


@dataclass(frozen=True)
class Env:
    root: Path
    read: str
    write: str
    cell: str
    lat: float
    lng: float


def settings_of(root: Path, **extra: object) -> Settings:
    return Settings(
        models_dir=root / "models",
        state_dir=root / "state",
        events_path=root / "events.parquet",
        **extra,  # type: ignore[arg-type]
    )
