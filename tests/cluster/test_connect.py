"""`--cluster`: local, local:N, or a scheduler address (anything else is refused), and what
local:N starts."""

from __future__ import annotations

import os

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


def test_local_starts_that_many_worker_processes_of_one_thread_and_stops_them() -> None:
    """``--cluster local:N``: N worker processes (not threads of this one), one thread
    each, gone when the command ends."""
    pytest.importorskip("distributed")
    from hotspots.cluster import connect

    with connect("local:2") as client:
        workers = client.scheduler_info(n_workers=-1)["workers"].values()
        pids = client.run(os.getpid)
        assert [w["nthreads"] for w in workers] == [1, 1]
        assert len(set(pids.values())) == 2 and os.getpid() not in pids.values()
        cluster = client.cluster
    assert cluster is not None and client.status == "closed"
    assert cluster.status.name == "closed" and not cluster.workers
