"""Settings read from the environment (prefix ``HOTSPOTS_``), one cached instance."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process-wide defaults; every CLI flag of the same name overrides them."""

    model_config = SettingsConfigDict(env_prefix="HOTSPOTS_", env_file=".env", extra="ignore")

    timezone: str = "UTC"
    """Local timezone that event times are converted to (an IANA name)."""
    max_reject_fraction: float = 0.05
    """Share of rejected rows above which an ingest fails instead of thinning the data."""
    models_dir: Path = Path("models")
    """Home of the model registry."""
    state_dir: Path = Path("var")
    """The forecast service's state: its API keys (keys.json) and audit log (audit.jsonl)."""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once from the environment."""
    return Settings()
