"""Dates an analyst types (``--as-of``, ``--until``, ``--start``, ``--now``, a spec's window):
year first only, so ``03/08/2010`` is never read as 8 March when 3 August was meant."""

from __future__ import annotations

import re
from typing import Any

from hotspots.errors import ConfigError

_YEAR_FIRST = re.compile(r"\s*\d{4}-\d{1,2}(-\d{1,2})?\b")


def check_year_first(value: Any, name: str) -> None:
    """ConfigError naming ``name`` unless ``value`` (a string; other types pass) starts
    ``YYYY-MM`` (``YYYY-MM-DD``, optionally with a time and offset)."""
    if isinstance(value, str) and not _YEAR_FIRST.match(value):
        raise ConfigError(
            f"{name} {value!r} is not a date in YYYY-MM-DD (a day/month order such as "
            "03/08/2010 reads as 8 March in one place and 3 August in another)"
        )
