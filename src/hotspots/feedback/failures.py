"""A part of one model's effectiveness figures that could not be computed, and why: the
report and ``GET /v1/effectiveness`` list it (one line naming the model, the part and the
reason) and go on with the other models, so one damaged record does not hide them all."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from hotspots.errors import HotspotsError

REGISTRY = "registry"
"""The model's current version could not be loaded from the registry."""
REALISED = "realised"
"""Its realised effectiveness (the served periods scored beside the baselines)."""
MONITOR = "monitor"
"""Its feedback-loop monitor."""
PLANS = "plans"
"""Served plans of a model, or of a combination of crime types (``model``: ``a+b``,
``plans_combined``): the forecast they were built from is unreadable, one of the
combination's models failed, or scoring a plan raised."""
PARTS = {
    REGISTRY: "its current version in the registry",
    REALISED: "realised effectiveness",
    MONITOR: "feedback-loop monitor",
    PLANS: "served plans",
}
FAILURE_COLUMNS = ["model", "part", "reason"]
RECORD_ERRORS: tuple[type[Exception], ...] = (HotspotsError, OSError)
"""What a model's stored records can raise (a damaged or missing file, data unfit for use):
caught at the model boundary; anything else is a defect and propagates."""


@dataclass(frozen=True)
class ModelFailure:
    """One model's part that could not be computed, and why."""

    model: str
    part: str
    reason: str

    def line(self) -> str:
        """The failure in one line: model, part and reason."""
        return f"{self.model}: {self.what()}"

    def what(self) -> str:
        """The part not computed and why, without the model."""
        return f"{PARTS.get(self.part, self.part)} not computed: {self.reason}"


def failure_of(model: str, part: str, err: BaseException) -> ModelFailure:
    """``err`` as a failure of ``model``'s ``part``, its message on one line."""
    return ModelFailure(model, part, one_line(err))


def one_line(err: BaseException) -> str:
    """The message of ``err`` on one line (its type's name when it has none)."""
    return " ".join(str(err).split()) or type(err).__name__


def failures_frame(failures: Iterable[ModelFailure] = ()) -> pd.DataFrame:
    """``failures.csv``: one row per failure (model, part, reason), by model and part."""
    rows = sorted((f.model, f.part, f.reason) for f in failures)
    return pd.DataFrame(rows, columns=FAILURE_COLUMNS).astype(object)


def frame_to_failures(frame: pd.DataFrame) -> list[ModelFailure]:
    """The rows of a ``failures_frame`` back as failures."""
    return [
        ModelFailure(str(r["model"]), str(r["part"]), str(r["reason"]))
        for r in frame.to_dict("records")
    ]
