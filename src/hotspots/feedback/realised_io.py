"""Realised effectiveness as data: several models' results joined, cut to a time window, and
turned into the JSON document ``GET /v1/effectiveness`` serves (the report writes the same)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import fields, replace
from typing import Any

import pandas as pd

from hotspots.errors import ConfigError
from hotspots.feedback.effectiveness import SERVED, Realised
from hotspots.feedback.failures import frame_to_failures
from hotspots.feedback.plans_realised import STORED
from hotspots.feedback.realised_horizons import horizon_table, horizons_to_dict, plan_means

DEFINITIONS = (
    "Per served forecast whose period has passed: cells ranked as served; hit rate = share of "
    "the period's target events in the flagged cells; PAI = hit rate / share of the area "
    "flagged (1 = random); PEI = events caught / the most any equally many cells caught. "
    "Each baseline is fitted on the periods before the forecast's as_of and scored alike. "
    "Dosage: patrol minutes (a patrol's minutes spread evenly over its cells) beside the "
    "target events in the patrolled cells, in the ring of cells around them and elsewhere, "
    "and the mean per period of the periods_before periods before. Suppression "
    "(HOTSPOTS_MIN_EVENTS_SHOWN): a count of fewer events than that in the patrolled cells, "
    "the ring or the rest (a mean: over its periods), or in one patrolled cell, is null and "
    "its row suppressed, as is a count beside it that would give it away by subtraction "
    "from a total shown; n_events, hits and the ratios are from the counts as they were. "
    "A model is flagged when its PAI at the "
    "first cutoff was below the best baseline's in each of its last k periods with events. "
    "Plans: each plan the service served, as it recorded it (its areas and the parameters "
    "it was asked with: areas, max_area_km2 or total_km2, stop), for one crime type and the "
    "period it was made for; each baseline's plan is grown from its forecast with the same "
    "parameters. Where no plan was recorded for a period and horizon (a deployment from "
    "before plans were recorded, or a later period no one asked a plan for) the plan is "
    "grown again from the served forecast of that period and horizon at the service's "
    "default budget, labelled 'rebuilt'. A plan of several crime types is scored on the "
    "events of all of them, beside the top cells of the weighted served forecasts and each "
    "baseline's plan weighted alike (combined_plans). Hit rate and PAI of the areas, beside "
    "the top cells of the same km2 on the forecast the plan was built from (its model "
    "version's). Horizon: a forecast or plan served h periods ahead of its as_of is scored "
    "on that period (period_start), beside each baseline fitted on the periods before the "
    "as_of and forecasting h periods ahead; periods holds the next period's (horizon 1), "
    "later_periods the others, and by_horizon and plans_evaluated give the means per "
    "horizon. The flag and the dosage read horizon 1. Patrol time (patrol_time, horizon 1): "
    "the period's patrol minutes by place as the log named it (a plan area AS_OF/RANK or a "
    "named area; patrols given by cells or a polygon pooled per kind, place null) and tactic "
    "(null: none given), with the patrols and the share of the period's minutes; never per "
    "unit, which would be one crew's hours."
)


def combine(parts: Sequence[Realised]) -> Realised:
    """Several models' results as one."""
    joined = {
        f.name: pd.concat(
            [frame for p in parts if not (frame := getattr(p, f.name)).empty], ignore_index=True
        )
        if any(not getattr(p, f.name).empty for p in parts)
        else getattr(parts[0], f.name)
        for f in fields(Realised)
    }
    return Realised(**joined)


def day_of(text: str | None, name: str) -> dt.date | None:
    """A ``YYYY-MM-DD`` window bound (``since`` / ``until``) as a date; None stays None.
    A text that is no day raises ``ConfigError`` naming ``name`` and the value."""
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as err:
        raise ConfigError(f"{name} {text!r} is not a date (YYYY-MM-DD): {err}") from err


def window_of(
    since: str | None, until: str | None, names: tuple[str, str] = ("since", "until")
) -> tuple[dt.date | None, dt.date | None]:
    """The ``[since, until)`` window (``day_of`` each, ``names`` naming them). ``since`` on
    or after ``until`` raises ``ConfigError`` naming both: no period can be in it, and an
    answer without periods would read as nothing served."""
    start, end = day_of(since, names[0]), day_of(until, names[1])
    if start is not None and end is not None and start >= end:
        raise ConfigError(
            f"{names[0]} {since} is not before {names[1]} {until}: the window holds the "
            f"periods starting on or after {names[0]} and before {names[1]}"
        )
    return start, end


def between(realised: Realised, since: Any = None, until: Any = None) -> Realised:
    """The periods with ``since <= period_start < until`` (naive local dates; None: no
    bound; the period scored, which is the as_of at horizon 1). The flags are kept as they
    are: they judge each model's latest periods, whatever the window."""

    def cut(frame: pd.DataFrame, column: str = "period_start") -> pd.DataFrame:
        if frame.empty or (since is None and until is None):
            return frame
        as_of = pd.DatetimeIndex(frame[column])
        keep = pd.Series(True, index=frame.index)
        if since is not None:
            keep &= as_of >= pd.Timestamp(since)
        if until is not None:
            keep &= as_of < pd.Timestamp(until)
        return frame.loc[keep.to_numpy()].reset_index(drop=True)

    return replace(
        realised,
        periods=cut(realised.periods),
        dosage=cut(realised.dosage, "as_of"),
        cells=cut(realised.cells, "as_of"),
        patrol_time=cut(realised.patrol_time, "as_of"),
        pending=cut(realised.pending),
        plans=cut(realised.plans),
        unscored_plans=cut(realised.unscored_plans),
    )


def realised_to_dict(realised: Realised) -> dict[str, Any]:
    """Per model: its flag, the plans evaluated, and per period each cutoff's served and
    baseline figures beside the dosage and the plans; then the recorded plans not scored,
    the models that could not be scored and why (``failed``), and the definitions. NaN
    becomes null."""
    models = sorted(
        set(realised.periods.get("model", []))
        | set(realised.pending.get("model", []))
        | set(realised.flags.get("model", []))
    )
    unscored = realised.unscored_plans
    combined = sorted({str(m) for m in realised.plans.get("model", [])} - set(models))
    return {
        "models": [_model(realised, name) for name in models],
        "combined_plans": [_combined(realised.plans, name) for name in combined],
        "plans_not_scored": [
            {
                "etag": str(r["etag"]),
                "as_of": None if pd.isna(r["as_of"]) else _date(r["as_of"]),
                "period_start": _date(r["period_start"]),
                "types": str(r["types"]).split(","),
                "horizon": int(r["horizon"]),
                "why": str(r["why"]),
            }
            for _, r in unscored.iterrows()
        ],
        "failed": [
            {"model": f.model, "part": f.part, "reason": f.reason}
            for f in frame_to_failures(realised.failures)
        ],
        "definitions": DEFINITIONS,
    }


def _model(realised: Realised, name: str) -> dict[str, Any]:
    periods = realised.periods.loc[realised.periods["model"] == name]
    dosage = (
        realised.dosage.loc[realised.dosage["model"] == name].set_index("as_of")
        if len(realised.dosage)
        else pd.DataFrame()
    )
    flags = realised.flags.loc[realised.flags["model"] == name]
    plans = realised.plans.loc[realised.plans["model"] == name]
    pending = realised.pending.loc[realised.pending["model"] == name]
    time = realised.patrol_time.loc[realised.patrol_time["model"] == name]
    out: dict[int, list[dict[str, Any]]] = {}
    for _, rows in periods.groupby(["horizon", "as_of"], sort=True):
        horizon, as_of = int(rows["horizon"].iloc[0]), rows["as_of"].iloc[0]
        dose = dosage.loc[as_of] if horizon == 1 and as_of in dosage.index else None
        mine = plans.loc[(plans["as_of"] == as_of) & (plans["horizon"] == horizon)]
        where = _patrol_time(time, as_of) if horizon == 1 else None
        out.setdefault(horizon, []).append(_period(rows, dose, where, mine))
    flag = None
    cutoff = None
    if len(flags):
        row = flags.iloc[0]
        flag = {k: _plain(row[k]) for k in flags.columns if k != "model"}
        cutoff = str(row["cutoff"])
    return {
        "name": name,
        "flag": flag,
        "plans_evaluated": plans_evaluated(plans),
        "by_horizon": horizons_to_dict(horizon_table(periods, cutoff)),
        "periods": out.pop(1, []),
        "later_periods": [p for h in sorted(out) for p in out[h]],
        "pending": [
            {
                "as_of": _date(r["as_of"]),
                "horizon": int(r["horizon"]),
                "period_start": _date(r["period_start"]),
                "version": str(r["version"]),
                "why": str(r["why"]),
            }
            for _, r in pending.iterrows()
        ],  # fmt: skip
    }


def _period(
    rows: pd.DataFrame,
    dose: pd.Series | None,
    where: list[dict[str, Any]] | None,
    plans: pd.DataFrame,
) -> dict[str, Any]:
    """One served forecast's period: each cutoff's served and baseline figures, the dosage,
    where the patrol time went (``where``) and the plans served for it."""
    first = rows.iloc[0]
    cutoffs: dict[str, Any] = {}
    for cutoff, part in rows.groupby("cutoff", sort=False):
        figures = {str(r["source"]): _figures(r) for _, r in part.iterrows()}
        cutoffs[str(cutoff)] = {"served": figures.pop(SERVED, None), "baselines": figures}
    return {
        "as_of": _date(first["as_of"]),
        "horizon": int(first["horizon"]),
        "period_start": _date(first["period_start"]),
        "period_end": _date(first["period_end"]),
        "version": str(first["version"]),
        "cutoffs": cutoffs,
        "dosage": None if dose is None else _dosage(dose),
        "patrol_time": where,
        "plans": _plans(plans) if len(plans) else [],
    }


def _dosage(dose: pd.Series) -> dict[str, Any]:
    """One period's dosage row; ``suppressed`` (``realised_shown``) a boolean."""
    items = ((str(k), v) for k, v in dose.items() if k != "model")
    return {k: bool(v) if k == "suppressed" else _num(v) for k, v in items}


def _patrol_time(time: pd.DataFrame, as_of: Any) -> list[dict[str, Any]]:
    """The rows of ``patrol_time.csv`` for one period (``Realised.patrol_time``, the same
    frame, so the API and the report give the same figures): by place and tactic, no unit."""
    rows = time.loc[pd.DatetimeIndex(time["as_of"]) == pd.Timestamp(as_of)] if len(time) else time
    return [
        {
            "place_kind": str(r["place_kind"]),
            "place": str(r["place"]) or None,
            "tactic": str(r["tactic"]) or None,
            "patrols": int(r["patrols"]),
            "minutes": _num(r["minutes"]),
            "share": _num(r["share"]),
        }
        for _, r in rows.iterrows()
    ]


_PLAN_FIGURES = (
    "areas",
    "area_km2",
    "plan_hits",
    "plan_hit_rate",
    "plan_pai",
    "top_hits",
    "top_pai",
)


def _combined(plans: pd.DataFrame, name: str) -> dict[str, Any]:
    """The plans of several crime types ``name`` (``a+b``) served, period by period."""
    mine = plans.loc[plans["model"] == name]
    return {
        "types": name.split("+"),
        "plans_evaluated": plans_evaluated(mine),
        "periods": [
            {
                "as_of": _date(rows["as_of"].iloc[0]),
                "horizon": int(rows["horizon"].iloc[0]),
                "period_start": _date(rows["period_start"].iloc[0]),
                "plans": _plans(rows),
            }
            for _, rows in mine.groupby(["horizon", "as_of"], sort=True)
        ],  # fmt: skip
    }


def _plans(rows: pd.DataFrame) -> list[dict[str, Any]]:
    """One period's plans: each served one with its parameters, beside each baseline's
    plan with the same parameters."""
    out = []
    for _, part in rows.groupby(["plan", "etag"], sort=False, dropna=False):
        first = part.iloc[0]
        figures = {
            str(r["source"]): {k: _num(r[k]) for k in _PLAN_FIGURES} for _, r in part.iterrows()
        }
        out.append(
            {
                "plan": str(first["plan"]),
                "etag": None if pd.isna(first["etag"]) else str(first["etag"]),
                **_params(first),
                "served": figures.pop(SERVED, None),
                "baselines": figures,
            }
        )
    return out


def _params(row: pd.Series) -> dict[str, Any]:
    return {
        "areas": int(row["budget_areas"]),
        "max_area_km2": _num(row["max_area_km2"]),
        "total_km2": _num(row["total_km2"]),
        "stop": str(row["stop"]),
    }


def plans_evaluated(plans: pd.DataFrame) -> list[dict[str, Any]]:
    """The served plans a model's figures score, by horizon, kind (``stored`` or
    ``rebuilt``) and parameters: how many plans and periods each, and the mean figures of
    the served plans and of each baseline's (``realised_horizons.plan_means``)."""
    if plans.empty or not (plans["source"] == SERVED).any():
        return []
    keys = ["horizon", "plan", "budget_areas", "max_area_km2", "total_km2", "stop"]
    out = []
    for _, group in plans.groupby(keys, sort=True, dropna=False):
        part = group.loc[group["source"] == SERVED]
        if part.empty:
            continue
        first = part.iloc[0]
        out.append(
            {
                "horizon": int(first["horizon"]),
                "plan": str(first["plan"]),
                **_params(first),
                "plans": int(part["etag"].nunique()) if first["plan"] == STORED else len(part),
                "periods": int(part["period_start"].nunique()),
                **plan_means(group),
            }
        )
    return out


def _figures(row: pd.Series) -> dict[str, Any]:
    return {k: _num(row[k]) for k in ("n_events", "hits", "flagged", "hit_rate", "pai", "pei")}


def _num(value: Any) -> float | int | None:
    if value is None:
        return None
    number = float(value)
    if math.isnan(number):
        return None
    return int(number) if number.is_integer() and abs(number) < 2**53 else round(number, 6)


def _date(value: Any) -> str:
    ts = pd.Timestamp(value)
    return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.isoformat()


def _plain(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return _date(value)
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    return value
