"""Period codes an analyst types: one spelling rule for a training spec's ``[grid] period``
and the ``--period`` flags of ``hotspots ingest``, ``train`` and ``backtest``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator

PERIODS = ("D", "W", "M")
"""Days, weeks from Monday, calendar months."""


def period_code(value: Any) -> Any:
    """The code ``value`` spells in either case (``"w"`` is ``"W"``); anything else as given,
    for the caller's check to refuse by name and value as typed."""
    code = value.upper() if isinstance(value, str) else value
    return code if code in PERIODS else value


Period = Annotated[Literal["D", "W", "M"], BeforeValidator(period_code)]
"""A spec's period: D, W or M in either case, stored in capitals."""
