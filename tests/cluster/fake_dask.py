"""A stand-in for a Dask client where a test needs only its workers' threads and who holds
which future (``cluster.spread``, ``cluster.panels``)."""

from __future__ import annotations

from typing import Any


class FakeClient:
    def __init__(self, threads: dict[str, int], holders: dict[str, list[str]]) -> None:
        self.threads, self.holders = threads, holders

    def nthreads(self) -> dict[str, int]:
        return self.threads

    def who_has(self, futures: list[Any]) -> dict[str, list[str]]:
        return {f.key: self.holders.get(f.key, []) for f in futures}
