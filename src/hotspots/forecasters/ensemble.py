"""A blend of forecasters of different families: their errors differ, so the blend's is smaller.

Each member is fitted on the same history and forecasts every cell; the blend is the weighted
geometric mean of the members' expected counts (a cell must look high to every member to rank
high; a cell any weighted member gives nothing gets nothing), rescaled so that each period's
total is the weighted arithmetic mean of the members' totals (the geometric mean alone would
understate the count).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any

import numpy as np
import numpy.typing as npt
from pydantic import Field

from hotspots.errors import ConfigError
from hotspots.features.panel import Panel
from hotspots.forecasters.base import (
    FloatArray,
    Forecaster,
    ForecasterState,
    History,
    Origin,
    forecaster_from_state,
    forecaster_kinds,
)
from hotspots.forecasters.explain import Reasons, merge_reasons

_FLOOR = 1e-6  # expected counts below this are taken as this in the geometric mean


class EnsembleForecaster(Forecaster):
    """The weighted geometric mean of several forecasters' expected counts.

    Parameters
    ----------
    target
        Categories forecast (summed); ``None`` = every category.
    members
        Forecaster kinds to blend, e.g. ``("lightgbm", "hawkes")``.
    weights
        One weight per member (normalised to sum 1); ``None`` = equal weights.
    member_params
        Hyper-parameters per member kind, e.g. ``{"lightgbm": {"num_leaves": 31}}``.
    """

    name = "ensemble"
    min_history = 4  # the largest of the built-in kinds'

    def __init__(
        self,
        *,
        target: Any = None,
        members: tuple[str, ...] = ("lightgbm", "hawkes"),
        weights: tuple[Annotated[float, Field(ge=0, allow_inf_nan=False)], ...] | None = None,
        member_params: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.target = target
        self.members = members
        self.weights = weights
        self.member_params = member_params

    @classmethod
    def nested_params(
        cls, params: Mapping[str, Any]
    ) -> list[tuple[type[Forecaster], str, Mapping[str, Any], str]]:
        """Each member's ``member_params``, checked against that kind's own declarations."""
        kinds = forecaster_kinds()
        given = dict(params.get("member_params") or {})
        unknown = sorted(k for k in given if k not in kinds or k == cls.name)
        if unknown:
            known = sorted(set(kinds) - {cls.name})
            raise ConfigError(f"member_params {unknown} are not member kinds; kinds are: {known}")
        return [(kinds[k], k, p, f"member_params.{k}.") for k, p in given.items()]

    def unusable_reason(self, panel: Panel) -> str | None:
        """The first member's reason, if any member cannot use the panel."""
        kinds = forecaster_kinds()
        params = dict(self.member_params or {})
        for kind in self.members:
            if kind in kinds and kind != self.name:
                reason = kinds[kind](**params.get(kind, {})).unusable_reason(panel)
                if reason is not None:
                    return f"ensemble member {kind}: {reason}"
        return None

    @property
    def spans_workers(self) -> bool:
        """True when a member's fit spreads over the cluster's workers."""
        kinds = forecaster_kinds()
        params = dict(self.member_params or {})
        return any(
            kinds[kind](**params.get(kind, {})).spans_workers
            for kind in self.members
            if kind in kinds and kind != self.name
        )

    def _fit(self, history: History) -> None:
        kinds = forecaster_kinds()
        names = tuple(self.members)
        params = dict(self.member_params or {})
        unknown = [m for m in (*names, *params) if m not in kinds or m == self.name]
        if len(names) < 2 or unknown:
            known = sorted(set(kinds) - {self.name})
            raise ConfigError(
                f"an ensemble needs two or more member kinds from {known}; got members "
                f"{list(names)}" + (f" ({unknown} unknown)" if unknown else "")
            )
        self.weights_ = _weights(self.weights, len(names))
        self.members_ = []  # members are fitted by _fit: their parameters were checked by fit
        for kind in names:
            member = kinds[kind](target=self.target_, **params.get(kind, {}))
            _adopt(member, self)
            member._fit(history)
            self.members_.append(member)

    def _predict(self, history: History, origin: Origin) -> FloatArray:
        means = np.stack([m._predict(history, origin) for m in self.members_])
        w = self.weights_[:, None, None]
        blend = np.exp((w * np.log(np.maximum(means, _FLOOR))).sum(axis=0))
        blend[((means <= _FLOOR) & (w > 0)).any(axis=0)] = 0.0  # nothing where a member sees none
        total = (w * means).sum(axis=0).sum(axis=1, keepdims=True)
        scale = total / np.maximum(blend.sum(axis=1, keepdims=True), _FLOOR)
        return np.asarray(blend * scale, dtype=np.float64)

    def _explain(
        self, panel: Panel, as_of: Any, horizon: int, hidden: npt.NDArray[np.bool_]
    ) -> Reasons:
        """The members' reasons taken in turn, the heaviest member's first."""
        order = np.argsort(-self.weights_, kind="stable").tolist()
        parts = [self.members_[i]._explain(panel, as_of, horizon, hidden) for i in order]
        return merge_reasons(parts)

    def _extra_state(self) -> tuple[dict[str, npt.NDArray[Any]], dict[str, str]]:
        arrays: dict[str, npt.NDArray[Any]] = {"weights": self.weights_}
        texts: dict[str, str] = {}
        for i, member in enumerate(self.members_):
            state = member.get_state()
            arrays.update({f"m{i}.{k}": v for k, v in state.arrays.items()})
            texts.update({f"m{i}.{k}": v for k, v in state.texts.items()})
            texts[f"m{i}"] = json.dumps(
                {"kind": state.kind, "params": state.params, "meta": state.meta}
            )
        return arrays, texts

    def _set_extra_state(self, state: ForecasterState) -> None:
        self.weights_ = np.asarray(state.arrays["weights"], dtype=np.float64)
        self.members_ = []
        for i in range(self.weights_.size):
            head = json.loads(state.texts[f"m{i}"])
            prefix = f"m{i}."
            member = ForecasterState(
                head["kind"],
                head["params"],
                head["meta"],
                {k[len(prefix) :]: v for k, v in state.arrays.items() if k.startswith(prefix)},
                {k[len(prefix) :]: v for k, v in state.texts.items() if k.startswith(prefix)},
            )
            self.members_.append(forecaster_from_state(member))


def _weights(weights: tuple[float, ...] | None, n: int) -> FloatArray:
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (n,) or not np.all(w >= 0) or w.sum() <= 0:
        raise ConfigError(f"weights must be {n} non-negative numbers, not all 0; got {weights!r}")
    return np.asarray(w / w.sum(), dtype=np.float64)


def _adopt(member: Forecaster, owner: Forecaster) -> None:
    """Give ``member`` the fitted cells, categories and period of ``owner``."""
    for name in ("cells_", "categories_", "target_", "freq_", "resolution_", "fit_end_"):
        setattr(member, name, getattr(owner, name))
