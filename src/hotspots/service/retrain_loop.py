"""``hotspots serve --retrain-every``: the app's lifespan task that runs the retrain schedule
(``serving.retrain.RetrainSchedule``) every interval, in a worker thread, so requests are
answered meanwhile from what is served."""

from __future__ import annotations

import asyncio
import logging

from starlette.concurrency import run_in_threadpool

from hotspots.serving.retrain import RetrainSchedule

logger = logging.getLogger(__name__)


async def retrain_loop(schedule: RetrainSchedule, seconds: float) -> None:
    """Every ``seconds``, ``schedule.run_once`` in a worker thread (run as a task by the
    app's lifespan when ``retrain_seconds`` is set; cancelled at shutdown)."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await run_in_threadpool(schedule.run_once)
        except Exception:  # keep the schedule alive; the error is in the log
            logger.exception("scheduled retrain failed")
