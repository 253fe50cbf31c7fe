"""docker-compose.yml: a scheduler, two workers, the API and a trainer from one image; and its
commands, run as they are outside Docker, train on the cluster they make."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[2]


def test_one_image_runs_a_scheduler_two_workers_the_api_and_the_trainer(
    compose: dict[str, Any],
) -> None:
    assert set(compose) == {"scheduler", "worker", "api", "train"}
    assert {s["image"] for s in compose.values()} == {"hotspots"}
    assert compose["scheduler"]["entrypoint"] == ["dask", "scheduler"]
    assert "8786:8786" in compose["scheduler"]["ports"]
    assert compose["worker"]["command"][0] == "tcp://scheduler:8786"
    assert compose["worker"]["deploy"]["replicas"] == 2
    assert compose["train"]["environment"]["HOTSPOTS_DASK_SCHEDULER"] == "tcp://scheduler:8786"
    assert compose["api"]["command"][0] == "serve" and "8000:8000" in compose["api"]["ports"]
    # the workers read the events at the paths the trainer's specs name
    for name in ("worker", "train"):
        assert "./data:/data:ro" in compose[name]["volumes"]
    assert "./models:/app/models" in compose["train"]["volumes"]
    assert "dask" in (ROOT / "Dockerfile").read_text()  # the image can run dask


def test_the_compose_commands_run_the_cluster_the_dask_tests_use(
    scheduler: str, compose: dict[str, Any]
) -> None:
    """conftest.py starts docker-compose.yml's scheduler and workers with their own commands
    outside Docker; the other tests of this folder train and backtest on that cluster."""
    from distributed import Client

    with Client(scheduler, timeout="30s") as client:
        workers = client.scheduler_info(n_workers=-1)["workers"].values()
    assert len(workers) == compose["worker"]["deploy"]["replicas"] == 2
    assert all(w["nthreads"] == 1 for w in workers)
