"""What ``hotspots plan`` reads, as the service's plan reads it: the models (one grid), the
events as each model reads them, each type's as_of, and each type's forecast."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hotspots.cli.forecast_cmd import read_history
from hotspots.cli.main import console
from hotspots.cli.progress import stage
from hotspots.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

    from hotspots.ingest.event_store import EventStore

_UNIT = {"D": "day", "W": "week", "M": "month"}


def load_models(registry: Any, names: list[str] | None) -> dict[str, Any]:
    """The named models (all on one grid), or by default every model with a current
    version, as the service serves them: those on another grid than the first are left out,
    as the API's plan leaves them out."""
    if names:
        loaded = {name: registry.load(name) for name in sorted(names)}
    else:
        current = [m.name for m in registry.list_models() if m.current]
        if not current:
            raise ConfigError(
                f"the registry {registry.root} holds no model with a current version: "
                "give --model, or promote one"
            )
        loaded = {name: registry.load(name) for name in current}
    name0 = min(loaded)
    first = loaded[name0].forecaster
    for name, each in list(loaded.items()):
        f = each.forecaster
        if (f.freq_, f.resolution_) == (first.freq_, first.resolution_):
            continue
        if not names:
            console.print(
                f"warning: {name} left out: it is '{f.freq_}' at H3 resolution {f.resolution_}, "
                f"{name0} '{first.freq_}' at resolution {first.resolution_}, and a plan needs "
                "one grid (--model chooses the models)",
                soft_wrap=True,
            )
            del loaded[name]
            continue
        raise ConfigError(
            f"--model {name} is '{f.freq_}' at resolution {f.resolution_}; {name0} is "
            f"'{first.freq_}' at resolution {first.resolution_}: a plan needs one grid"
        )
    return loaded


class Readings:
    """The events as each model reads them (``read_history``, the posted batches added when
    given), read once per reading: models that read events alike share one read."""

    def __init__(
        self,
        events: Path | None,
        max_reject: float | None,
        flags: dict[str, Any],
        posted: EventStore | None,
    ) -> None:
        self.events, self.max_reject, self.flags, self.posted = events, max_reject, flags, posted
        self._read: dict[str, pd.DataFrame] = {}

    def __call__(self, loaded: Any) -> pd.DataFrame:
        """The events as the model ``loaded`` reads them."""
        import json

        from hotspots.jobs.data import event_options

        how = json.dumps(event_options(loaded.manifest), sort_keys=True, default=str)
        if how not in self._read:
            self._read[how] = read_history(
                loaded.manifest, self.events, self.max_reject, posted=self.posted, **self.flags
            )
        return self._read[how]


def plan_as_of(
    loaded: dict[str, Any], types: Iterable[str], read: Readings, *, named: bool
) -> tuple[pd.Timestamp, tuple[str, ...]]:
    """The as_of of a plan given no --as-of, by the service's rule: each type's is its own
    forecast's (the end of the last whole period of the events as its model reads them), and
    a type whose as_of is not that of the first of ``loaded`` by name is left out of the plan
    (``PlanBook.excluded``). Returns the first's as_of and the ``types`` left out (with a
    warning each); ``named`` types (--model) are refused instead."""
    from hotspots.jobs.data import whole_periods_end

    def as_of(name: str) -> pd.Timestamp:
        return whole_periods_end(read(loaded[name]), loaded[name].forecaster.freq_)

    name0 = min(loaded)
    first = as_of(name0)
    unit = _UNIT.get(loaded[name0].forecaster.freq_, "period")
    left = []
    for name in sorted(types):
        date = as_of(name)
        if date == first:
            continue
        if named:
            raise ConfigError(
                f"--model {name} is as of {date.date()} and {name0} as of {first.date()} (the "
                f"end of the last whole {unit} of the events as each model reads them): a plan "
                f"is of one as_of, and the API leaves {name} out of its plan; give --as-of "
                f"{first.date()} or --as-of {date.date()} to plan both"
            )
        console.print(
            f"warning: {name} left out: it is as of {date.date()} and {name0} as of "
            f"{first.date()} (the end of the last whole {unit} of the events as each model "
            f"reads them), and a plan is of one as_of, as the API's; give --as-of to plan "
            f"every type at one date, or --model {name}",
            soft_wrap=True,
        )
        left.append(name)
    return first, tuple(left)


def forecasts_of(loaded: dict[str, Any], read: Readings, date: Any, horizon: int) -> dict[str, Any]:
    """Each model's forecast of period ``horizon`` from ``date``, made as ``hotspots
    forecast`` makes it."""
    import numpy as np

    from hotspots.errors import DataValidationError
    from hotspots.jobs.forecast import forecast_events

    forecasts = {}
    for name, each in loaded.items():
        try:
            with stage(f"forecasting {name} as_of {date.date()}"):
                frame, warnings = forecast_events(
                    each.forecaster, read(each), [date], horizon, each.manifest
                )
        except DataValidationError as err:  # of several models, say which one the events miss
            others = "" if len(loaded) == 1 else "; --model or --category plans for the others"
            raise DataValidationError(f"model {name!r}: {err}{others}") from err
        for warning in warnings:
            console.print(f"warning: {name}: {warning}", soft_wrap=True)
        starts = np.sort(frame["period_start"].unique())
        forecasts[name] = frame[frame["period_start"] == starts[horizon - 1]]
    return forecasts


def one_date(value: str, freq: str) -> pd.Timestamp:
    """The one date of ``--as-of`` (a plan is for one date, not a range)."""
    from hotspots.jobs.forecast import parse_as_of

    if ".." in value:
        raise ConfigError(f"--as-of {value!r}: a plan is for one date, not a range")
    [date] = parse_as_of([value], freq)
    return date
