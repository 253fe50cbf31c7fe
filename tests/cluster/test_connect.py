"""Parsing ``--cluster``: local, local:N, or a scheduler address; anything else is refused."""

from __future__ import annotations

import pytest

from hotspots.cluster import parse_address
from hotspots.cluster.connect import Address
from hotspots.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("local", Address(workers=2)),
        ("local:3", Address(workers=3)),
        (" tcp://scheduler:8786 ", Address(url="tcp://scheduler:8786")),
        ("tls://10.0.0.5:8786", Address(url="tls://10.0.0.5:8786")),
    ],
)
def test_addresses_parse(text: str, want: Address) -> None:
    assert parse_address(text) == want


@pytest.mark.parametrize("text", ["local:0", "localhost", "http://x:8786", "tcp://", ""])
def test_other_addresses_are_refused_with_the_forms_allowed(text: str) -> None:
    with pytest.raises(ConfigError, match="local:N"):
        parse_address(text)
