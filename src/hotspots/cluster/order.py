"""The order a batch's tasks run in on the cluster: Dask priorities (higher starts first among
ready tasks) and the order in which the specs start (``hotspots.cluster.specs``)."""

from __future__ import annotations

from collections.abc import Sequence

from hotspots.jobs.spec import BASELINES, TrainingSpec

CRITICAL = 1
"""Dask priority (higher starts first among ready tasks) of the tasks that unlock others: a
spec's preparation (or taking of another's: ``panels``) and outline, and the assembling,
summaries and report that wait for its last block; blocks run by spec, each final fit after
the next spec's blocks (``final_priority``)."""


def block_priority(i: int) -> int:
    """Blocks run by spec: earlier specs first, so that outcomes come in their order."""
    return -2 * i


def final_priority(then: int) -> int:
    """A spec's final fit runs after the blocks of the spec started after it (``then``),
    before those of any later spec: a worker fits the next spec's block while the other may
    still fit this spec's last one, and the last two final fits run side by side at the end
    rather than the last one alone."""
    return block_priority(then) - 1


def heaviest_first(specs: Sequence[TrainingSpec]) -> list[int]:
    """The specs' indices, those with more models that learn (not baselines) first.

    A spec's fit blocks run where its prepared panel is, and the workers take preparations in
    turn: started in the order given, the 8-spec batch (LightGBM and a baseline spec by turns)
    had 3 of its 4 LightGBM specs on one worker, the other idle for a quarter of the run.
    Only the order in which preparations start changes; outcomes still come in spec order.
    """

    def learners(spec: TrainingSpec) -> int:
        return sum(k not in BASELINES for k in {spec.model.kind, *spec.model.challengers})

    return sorted(range(len(specs)), key=lambda i: -learners(specs[i]))
