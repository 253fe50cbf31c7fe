"""Served patrol plans, scored once their period has passed.

The plans scored are the ones the service served, as it recorded them
(``publishing.plan_store``: each plan's areas and the parameters it was asked with, once per
distinct plan). A recorded plan of one crime type for the next period is scored on its own
cells; each baseline's plan is grown from the baseline's forecast with the same parameters
(budget and stop rule) and the algorithm the service and ``hotspots plan`` use. All are scored
as the backtest scores plans (``evaluation.plans``): hit rate and PAI of the areas, beside
the top cells of the same km2 on the forecast the plan was built from (its model version's,
``served.plan_forecast``; the capture ratio). A plan for a later period (``horizon`` > 1) is
scored on that period, beside the baselines' forecasts as many periods ahead from the same
``as_of`` (``effectiveness``), and its rows say so (``horizon``, ``period_start``).

A served period with no plan recorded for its type, alone or with others, at that horizon (a
deployment from before plans were recorded, or a later period no one asked a plan for) falls
back to a plan grown again from the served forecast of that period and horizon (its expected
counts as published) at the service's default budget, labelled ``rebuilt``: at every horizon
by the same rule, so a later period is scored like the next one. Plans
of several crime types are scored by ``plans_combined``; recorded plans whose period is not
scored (not passed yet, say) are listed as not scored (``unscored_plans``) with why.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.errors import ConfigError
from hotspots.evaluation import BacktestResult, score_plans
from hotspots.evaluation.plans import PLAN_COLUMNS, GrownAreas, score_areas
from hotspots.feedback.failures import PLANS, RECORD_ERRORS, ModelFailure, one_line
from hotspots.feedback.served import ServedForecast, SnapshotReader, built_from, served_forecast
from hotspots.grid import cells_area_km2, strings_to_cells
from hotspots.grid.regions import PlanBudget, fit_to_study_area

logger = logging.getLogger(__name__)

STORED, REBUILT = "stored", "rebuilt"
"""The ``plan`` of a row: a recorded served plan, or one grown again (no record)."""
PLAN_PARAMS = ("plan", "etag", "budget_areas", "max_area_km2", "total_km2", "stop")
REALISED_PLAN_COLUMNS = (
    "model", "source", *PLAN_PARAMS, "as_of", "horizon", "period_start",
    *(c for c in PLAN_COLUMNS if c not in ("model", "as_of")),
)  # fmt: skip
"""The ``plans`` table of ``Realised``: one row per served plan, period and source (the
served plan, or a baseline's plan grown with its parameters); ``as_of`` is the plan's (when
it was made for), ``period_start`` the period scored, ``horizon`` periods ahead."""
UNSCORED_COLUMNS = ("etag", "as_of", "period_start", "types", "horizon", "why")
PlanForecasts = Mapping[tuple[str, str], ServedForecast]
"""The forecast a recorded plan was built from, by (plan ETag, model name)."""


@dataclass(frozen=True, eq=False)
class ServedPlan:
    """One recorded served plan: the period it is for (naive local), its parameters and the
    cells of its areas (sorted)."""

    etag: str
    period: pd.Timestamp
    horizon: int
    types: tuple[str, ...]
    budget: PlanBudget
    stop: str
    cells: npt.NDArray[np.uint64]
    n_areas: int
    weights: Mapping[str, float]
    """Severity weight per type other than 1."""
    versions: Mapping[str, str] = field(default_factory=dict)
    """The model version of each type that made the forecast the plan was built from."""
    recorded_at: pd.Timestamp | None = None
    """When the service recorded it (UTC; None: not said)."""
    as_of: pd.Timestamp | None = None
    """The as_of of the forecast it was built from (None: not said)."""

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> ServedPlan:
        """From a ``plan_store`` record."""
        params = record["params"]
        cells = [c for area in record["areas"] for c in area["cells"]]
        return cls(
            etag=str(record["etag"]),
            period=pd.Timestamp(record["period_start"]),
            horizon=int(params["horizon"]),
            types=tuple(params["types"]),
            budget=PlanBudget(
                int(params["areas"]), params.get("max_area_km2"), params.get("total_km2")
            ),
            stop=str(params.get("stop", "cap")),
            cells=np.sort(strings_to_cells(cells)),
            n_areas=len(record["areas"]),
            weights={str(k): float(v) for k, v in (params.get("weights") or {}).items()},
            versions={str(k): str(v) for k, v in (record.get("models") or {}).items() if v},
            recorded_at=pd.Timestamp(record["recorded_at"]) if record.get("recorded_at") else None,
            as_of=pd.Timestamp(record["as_of"]) if record.get("as_of") else None,
        )


def records_to_plans(records: Iterable[Mapping[str, Any]]) -> list[ServedPlan]:
    """The recorded plans, each read as a ``ServedPlan`` (an unreadable one is logged)."""
    out = []
    for record in records:
        try:
            out.append(ServedPlan.of(record))
        except (KeyError, TypeError, ValueError) as err:
            logger.error("served plan record %s not read: %s", record.get("etag"), err)
    return out


def realised_plans(
    name: str,
    result: BacktestResult,
    due: Sequence[ServedForecast],
    budget: PlanBudget | None,
    served_label: str,
    stored: Sequence[ServedPlan] = (),
    plan_forecasts: PlanForecasts | None = None,
    grown: GrownAreas | None = None,
    lost: Collection[str] = (),
) -> pd.DataFrame:
    """The plans served in ``due``'s periods (forecasts of one horizon, the folds of
    ``result`` in order) and each baseline's plan with the same parameters, scored on each
    period's events: the recorded plans of ``name`` alone for that horizon, else one grown
    again at ``budget`` (None: none grown). ``plan_forecasts``: the forecast each plan was built
    from where it is not ``due``'s (see ``PlanForecasts``); ``grown``: areas grown for
    ``name``'s other horizons (``score_plans``); ``lost``: the ETags of plans not to score
    (the forecast they were built from is unreadable: ``plans_built_from``), and not to grow
    again either, since a plan was recorded. Empty (logged) when the served forecasts hold
    no expected counts or no plan meets a budget."""
    if any(f.expected is None for f in due):
        logger.warning("model %r: a served forecast holds no expected counts: no plan", name)
        return empty_plans()
    cells = result.last_fold.cells
    served = np.stack([expected_on(f, cells) for f in due])
    horizon = due[0].horizon
    mine = [p for p in stored if name in p.types and p.horizon == horizon]
    frames = []
    rebuild = []
    for i, forecast in enumerate(due):
        served_then = [p for p in mine if p.period == forecast.period_start]
        if not served_then:  # nothing recorded (an older deployment): grow it again
            rebuild.append(i)
        for plan in (p for p in served_then if p.types == (name,) and p.etag not in lost):
            own = (plan_forecasts or {}).get((plan.etag, name))
            expected = served[i] if own is None else expected_on(own, cells)
            frames.append(_stored_rows(name, result, i, expected, plan, served_label, grown))
    if rebuild and budget is not None:
        frames.append(_rebuilt_rows(name, result, rebuild, served, budget, served_label, grown))
    frames = [f for f in frames if not f.empty]
    if not frames:
        return empty_plans()
    out = at_horizon(pd.concat(frames, ignore_index=True), due)
    return out.sort_values(["as_of", "plan", "etag"], kind="stable", na_position="last")[
        list(REALISED_PLAN_COLUMNS)
    ].reset_index(drop=True)


def at_horizon(rows: pd.DataFrame, due: Sequence[ServedForecast]) -> pd.DataFrame:
    """Plan rows whose ``as_of`` is the period scored, as ``REALISED_PLAN_COLUMNS`` say:
    ``as_of`` the forecasts' (``due``, of one horizon), ``period_start`` the period."""
    origin = {f.period_start: f.as_of for f in due}
    starts = pd.DatetimeIndex(rows["as_of"])
    return rows.assign(
        as_of=pd.DatetimeIndex([origin[t] for t in starts]),
        horizon=due[0].horizon,
        period_start=starts,
    )


def _fold(result: BacktestResult, folds: Sequence[int], forecasts: dict[str, Any]) -> Any:
    """``result`` cut to ``folds`` (positions), with ``forecasts`` cut alike."""
    return replace(
        result,
        folds=tuple(result.folds[i] for i in folds),
        forecasts={k: v[list(folds)] for k, v in forecasts.items()},
        actual=result.actual[list(folds)],
    )


def _rebuilt_rows(
    name: str,
    result: BacktestResult,
    folds: list[int],
    served: npt.NDArray[np.float64],
    budget: PlanBudget,
    served_label: str,
    grown: GrownAreas | None = None,
) -> pd.DataFrame:
    """The plans of ``folds`` grown again from the served forecasts at ``budget``, the
    service's default, fitted to the model's study area as the service fits it."""
    cut = _fold(result, folds, {**result.forecasts, served_label: served})
    km2 = cells_area_km2(result.last_fold.cells)
    budget, _ = fit_to_study_area(budget, km2, result.resolution)
    try:
        scored = score_plans(cut, budget, grown=grown)
    except ConfigError as err:  # e.g. cells larger than the area limit: the rankings stand
        logger.warning("model %r: served plans not scored: %s", name, err)
        return empty_plans()
    return labelled(name, scored.plans, REBUILT, None, budget, "cap")


def _stored_rows(
    name: str,
    result: BacktestResult,
    i: int,
    served: npt.NDArray[np.float64],
    plan: ServedPlan,
    served_label: str,
    grown: GrownAreas | None = None,
) -> pd.DataFrame:
    """One recorded plan scored on fold ``i``, beside each baseline's plan grown with the
    same budget and stop rule, and the top cells of its km2 on the served forecast."""
    cells = result.last_fold.cells
    km2 = cells_area_km2(cells)
    pos = np.searchsorted(cells, plan.cells)
    inside = (pos < cells.size) & (cells[np.minimum(pos, cells.size - 1)] == plan.cells)
    if not inside.all():
        logger.warning(
            "model %r: served plan %s has %d cells outside the model's study area (not scored)",
            name, plan.etag, int((~inside).sum()),
        )  # fmt: skip
    actual = result.actual[i].astype(np.float64)
    row = score_areas(served_label, result.folds[i].as_of, plan.n_areas, pos[inside], km2,
                      actual, served)  # fmt: skip
    frames = [pd.DataFrame([row], columns=list(PLAN_COLUMNS))]
    baselines = {k: v for k, v in result.forecasts.items() if k != served_label}
    try:
        frames.append(score_plans(_fold(result, [i], baselines), plan.budget,
                                  stop=plan.stop, grown=grown).plans)  # fmt: skip
    except ConfigError as err:
        logger.warning("model %r: baselines' plans for %s not grown: %s", name, plan.etag, err)
    scored = pd.concat(frames, ignore_index=True)
    return labelled(name, scored, STORED, plan.etag, plan.budget, plan.stop)


def labelled(
    name: str,
    plans: pd.DataFrame,
    kind: str,
    etag: str | None,
    budget: PlanBudget,
    stop: str,
) -> pd.DataFrame:
    """``plans`` (``PLAN_COLUMNS``) as rows of the realised plans table of ``name``."""
    out = plans.rename(columns={"model": "source"})
    out.insert(0, "model", name)
    for column, value in zip(
        PLAN_PARAMS,
        (kind, etag, budget.areas, budget.max_area_km2, budget.total_km2, stop),
        strict=True,
    ):
        out[column] = value
    return out


def unscored_plans(
    stored: Sequence[ServedPlan],
    scored: pd.DataFrame,
    models: Iterable[str],
    pending: pd.DataFrame | None = None,
    failed: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The recorded plans no row of ``scored`` scores, and why (``pending``: the served
    periods not scored, whose reason a plan for that period shares; ``failed``: why, by
    ETag, for plans whose scoring failed)."""
    done = set(scored["etag"].dropna()) if len(scored) else set()
    served = set(models)
    rows = []
    for plan in stored:
        if plan.etag in done:
            continue
        missing = [t for t in plan.types if t not in served]
        waiting = _pending_why(plan, pending)
        if plan.etag in (failed or {}):
            why = (failed or {})[plan.etag]
        elif missing:
            why = f"no served forecast of {missing[0]!r} is scored"
        elif waiting is not None:
            why = f"its period from {plan.period.date()} ({_ahead(plan)}) {waiting}"
        elif len(plan.types) > 1:
            why = "its period is not scored for each of its crime types (see pending)"
        elif plan.horizon > 1:
            why = f"no forecast made {plan.horizon} periods ahead for its period is scored"
        else:
            why = "its period is not scored (see pending)"
        rows.append(
            {"etag": plan.etag, "as_of": plan.as_of, "period_start": plan.period,
             "types": ",".join(plan.types), "horizon": plan.horizon, "why": why}
        )  # fmt: skip
    if not rows:
        return empty_unscored()
    return pd.DataFrame(rows, columns=list(UNSCORED_COLUMNS))


def _ahead(plan: ServedPlan) -> str:
    if plan.horizon == 1:
        return "the next period"
    since = f" as of {plan.as_of.date()}" if plan.as_of is not None else ""
    return f"period {plan.horizon} of the forecast{since}"


def _pending_why(plan: ServedPlan, pending: pd.DataFrame | None) -> str | None:
    """Why the served forecast of the plan's period and horizon is pending, if it is."""
    if pending is None or pending.empty:
        return None
    rows = pending.loc[
        pending["model"].isin(plan.types)
        & (pending["horizon"] == plan.horizon)
        & (pd.DatetimeIndex(pending["period_start"]) == plan.period)
    ]
    if rows.empty:
        return None
    return f"is not scored yet: {rows.iloc[0]['why']}"


def expected_on(forecast: ServedForecast, cells: npt.NDArray[np.uint64]) -> npt.NDArray[np.float64]:
    """The served expected counts on ``cells`` (sorted; cells it lacks: 0)."""
    out = np.zeros(cells.size, dtype=np.float64)
    pos = np.searchsorted(cells, forecast.ranked)
    ok = (pos < cells.size) & (cells[np.minimum(pos, cells.size - 1)] == forecast.ranked)
    assert forecast.expected is not None
    out[pos[ok]] = forecast.expected[ok]
    return out


def empty_plans() -> pd.DataFrame:
    """The plans table with no row."""
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in REALISED_PLAN_COLUMNS})


def empty_unscored() -> pd.DataFrame:
    """The unscored plans table with no row."""
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in UNSCORED_COLUMNS})


def plans_built_from(
    store: SnapshotReader,
    plans: Sequence[ServedPlan],
    served: Sequence[ServedForecast],
    lost: dict[str, ModelFailure] | None = None,
) -> dict[tuple[str, str], ServedForecast]:
    """The forecast each recorded plan was built from (its model version's snapshot for its
    as_of, by the time it was recorded), by (ETag, model), where it is not the one scored
    for its period (``served``: the last issued, which a retrain promoted mid-period
    replaces).

    A plan whose snapshot cannot be read (a damaged or missing file) fails alone: it is
    added to ``lost`` by ETag with its failure (part ``plans`` of its model, or of its
    combination ``a+b``: which plans, the file and why; logged), and the other plans and
    the model's forecasts are read as before."""
    scored = {(f.name, f.as_of, f.horizon): f for f in served}
    metas: dict[str, list[dict[str, Any]]] = {}
    out: dict[tuple[str, str], ServedForecast] = {}
    failing: dict[tuple[str, str], list[ServedPlan]] = {}
    for plan in plans:
        if plan.as_of is None:
            continue
        for name in plan.types:
            last = scored.get((name, plan.as_of, plan.horizon))
            version = plan.versions.get(name)
            if last is None or version is None:
                continue
            if name not in metas:
                metas[name] = store.list(name)
            meta = built_from(
                metas[name], as_of=plan.as_of, version=version, recorded_at=plan.recorded_at
            )
            if meta is None or pd.Timestamp(meta["issued_at"]) == last.issued_at:
                continue
            if plan.horizon <= len(meta["periods"]):
                try:
                    out[(plan.etag, name)] = served_forecast(store, name, meta, plan.horizon - 1)
                except RECORD_ERRORS as err:
                    why = f"the forecast of {name!r} {version} it was built from: {one_line(err)}"
                    failing.setdefault((combined_name(plan.types), why), []).append(plan)
    for (who, why), some in sorted(failing.items()):
        found = ModelFailure(who, PLANS, f"{which_plans(some)} not scored: {why}")
        logger.error("plans %s", found.line())
        if lost is not None:
            lost |= {plan.etag: found for plan in some}
    return out


def combined_name(types: Sequence[str]) -> str:
    """The ``model`` of a plan's rows in the plans table: its type, or ``a+b`` for several."""
    return "+".join(types)


def which_plans(plans: Sequence[ServedPlan]) -> str:
    """``the served plan(s) for 2024-01-01, ... (horizon h)``: which plans, in words."""
    periods = sorted({(p.horizon, p.period) for p in plans})
    said = ", ".join(f"{t.date()} (horizon {h})" for h, t in periods)
    return f"{len(plans)} served plan{'s' if len(plans) > 1 else ''} for {said}"
