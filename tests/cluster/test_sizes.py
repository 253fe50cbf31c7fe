"""Dask weighs a spec's prepared data at their real size (``cluster.sizes``), not as the
56 bytes of ``sys.getsizeof``: on the client and as the workers report it to the scheduler."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from hotspots.jobs.prepare import Prepared, prepare
from hotspots.jobs.spec import TrainingSpec, spec_from_dict
from hotspots.synthetic import COLUMN_MAP, TIMEZONE

pytest.importorskip("distributed")


def _spec(events: Path) -> TrainingSpec:
    data = {"events": str(events), "map": COLUMN_MAP, "timezone": TIMEZONE}
    return spec_from_dict(
        {"name": "sized", "data": data, "target": {"categories": ["burglary"]}, "grid": {}}
    )


@pytest.fixture(scope="module")
def prepared(city_events: Path) -> Prepared:
    return prepare(_spec(city_events))


def test_a_prepared_panel_weighs_its_arrays_and_frames(prepared: Prepared) -> None:
    from dask.sizeof import sizeof

    import hotspots.cluster.sizes  # noqa: F401

    p, ev = prepared.panel, prepared.panel.events
    assert ev is not None and len(ev) > 3_000
    arrays = (p.counts, p.cells, ev.time_ns, ev.cell, ev.category, ev.lat, ev.lng, ev.precision)
    want = sum(a.nbytes for a in arrays) + p.periods.nbytes
    want += int(prepared.loaded.events.memory_usage(index=True, deep=False).sum())
    assert sizeof(prepared) == prepared.nbytes == want
    assert want > 1_000_000  # ~4,000 events and a res-9 panel, not 56 bytes
    # about what a copy sent to another worker takes
    assert 0.9 < want / len(pickle.dumps(prepared, protocol=5)) < 1.1


def test_workers_report_a_prepared_panels_size_to_the_scheduler(
    prepared: Prepared, city_events: Path, scheduler: str
) -> None:
    from distributed import Client, wait

    from hotspots.cluster import tasks

    with Client(scheduler, timeout="30s") as client:
        future = client.submit(tasks.prepare, _spec(city_events), pure=False)
        wait(future, timeout=60)

        def nbytes(dask_scheduler: object, key: str = str(future.key)) -> int:
            return int(dask_scheduler.tasks[key].nbytes)  # type: ignore[attr-defined]

        assert client.run_on_scheduler(nbytes) == prepared.nbytes
