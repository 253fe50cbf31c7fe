"""Shared fixtures: a small seeded synthetic city."""

from __future__ import annotations

import pytest

from hotspots.synthetic import City, generate_city


@pytest.fixture(scope="session")
def small_city() -> City:
    """Synthetica over 60 days with about 4,000 events (well under a second to build)."""
    return generate_city(seed=7, start="2023-01-01", days=60, target_events=4_000)
