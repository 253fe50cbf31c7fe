"""``hotspots retrain SPEC`` (and ``hotspots serve --retrain-every``) as a library call.

The spec's export plus every event posted to the service since (the service's event store)
-> the panel up to the last whole period (the spec's ``window.until`` is not used: retraining
is for the data that arrived after it) -> the challenger, the deployed champion and the
baselines on the same recent folds (``retrain_rule``) -> the challenger fitted on the whole
window, published as the next version with why in ``notes.retrain``, and made current only
when the rule says it wins.

Idempotent: the data a retrain read (the export's hash, the posted batches, the spec and the
champion) are recorded as ``data_key``; a second run on the same data publishes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd

from hotspots.atomic import file_lock
from hotspots.errors import ConfigError, HotspotsError, ModelNotFoundError
from hotspots.evaluation import BacktestResult, Fold, backtest, rolling_origin_folds
from hotspots.feedback.monitor_report import MANIFEST_KEY, kept_record
from hotspots.jobs.data import (
    event_options,
    file_sha256,
    ingest_options,
    load_events,
    with_posted,
)
from hotspots.jobs.publish import publish_trained
from hotspots.jobs.retrain_rule import CHAMPION, Verdict, champion_forecasts, decide, rule
from hotspots.jobs.spec import TrainingSpec, check_spec
from hotspots.jobs.train import (
    Prepared,
    Selection,
    candidate_models,
    fit_final,
    prepare,
    report_meta,
)
from hotspots.registry import LoadedModel, Registry

logger = logging.getLogger(__name__)

NOTES_KEY = "retrain"
"""Where a manifest's ``notes`` keep why ``retrain`` published it (``registry.card``)."""


class PostedEvents(Protocol):
    """The two calls of the service's event store (``ingest.event_store.EventStore``)."""

    def generation(self) -> tuple[str, ...]: ...

    def read(self, timezone: str) -> pd.DataFrame | None: ...


@dataclass(frozen=True)
class RetrainOutcome:
    """What a retrain did: ``status`` is ``promoted``, ``kept`` (published, not promoted)
    or ``skipped`` (nothing published); ``record`` is what the manifest keeps."""

    name: str
    status: str
    reason: str
    champion: str
    version: str | None = None
    challenger: str | None = None
    record: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        """The outcome in one line, for a cron mail or a log."""
        if self.status == "promoted":
            head = f"promoted {self.version} ({self.challenger}) over {self.champion}"
        elif self.status == "kept":
            head = f"published {self.version} ({self.challenger}), not promoted"
        else:
            head = "nothing published"
        return f"retrain {self.name}: {head}: {self.reason}"


def retrain(
    spec: TrainingSpec,
    registry: Registry,
    posted: PostedEvents | None = None,
    *,
    promote: bool = True,
) -> RetrainOutcome:
    """Retrain ``spec``'s model on its export plus ``posted`` and promote it if it wins.

    One retrain of a model at a time (a lock file in its registry folder): a second one, from
    cron or another service worker, waits and then finds nothing new to do."""
    check_spec(spec)
    _champion(registry, spec.name)  # a missing model fails before any lock file is made
    with file_lock(registry.root / spec.name / ".retrain.lock"):
        return _retrain(spec, registry, posted, promote)


def _retrain(
    spec: TrainingSpec, registry: Registry, posted: PostedEvents | None, promote: bool
) -> RetrainOutcome:
    champion = _champion(registry, spec.name)
    batches = posted.generation() if posted is not None else ()
    key = data_key(spec, file_sha256(spec.data.events), batches, champion.version)
    if (done := _retrained_on(registry, spec.name, key)) is not None:
        why = (
            f"{done} was already retrained on these data (the same export, "
            f"{len(batches)} posted batches and champion {champion.version})"
        )
        return RetrainOutcome(spec.name, "skipped", why, champion.version)
    prepared, n_posted = _prepare(spec, posted, event_options(champion.manifest))
    _check_like(champion, prepared)
    models = candidate_models(prepared)
    folds = recent_folds(prepared, champion, max(m.min_history for m in models.values()))
    if not folds:
        why = (
            f"no whole {prepared.panel.freq} period after {_date(champion.forecaster.fit_end_)}, "
            f"the last one champion {champion.version} was fitted on: nothing to compare on"
        )
        return RetrainOutcome(spec.name, "skipped", why, champion.version)
    result = backtest(
        models,
        prepared.panel,
        folds,
        coverages=spec.backtest.coverages,
        references={CHAMPION: champion_forecasts(champion.forecaster, prepared.panel, folds)},
        seed=spec.backtest.seed,
    )
    verdict = decide(result, spec, champion.version)
    record = retrain_record(verdict, prepared, champion, folds, key, n_posted, promote)
    kept = kept_record(champion.manifest, champion.version)
    notes = {NOTES_KEY: record, MANIFEST_KEY: kept}
    version = _publish(registry, prepared, result, verdict, notes, len(batches), promote)
    logger.info("retrained %s: %s", spec.name, verdict.reason)
    status = "promoted" if verdict.promote and promote else "kept"
    return RetrainOutcome(
        spec.name, status, verdict.reason, champion.version, version, verdict.challenger, record
    )


def _prepare(
    spec: TrainingSpec, posted: PostedEvents | None, read: Mapping[str, Any]
) -> tuple[Prepared, int]:
    """The panel of the export plus the posted events, to the last whole period (the spec's
    ``window.until`` left out), and how many posted events were read. ``read`` is how the
    champion's events were read (``event_options``): the day/month order, hour column form,
    months and placeholder clock minutes its export settled read an export grown since alike,
    where the new values do not tell."""
    given = spec.data.model_dump(exclude={"events"})
    keys = ("date_order", "hour_form", "months", "placeholders")
    known = {k: read[k] for k in keys if k in read}
    export = load_events(spec.data.events, ingest_options(**given, **known))
    extra = posted.read(export.timezone) if posted is not None else None
    open_spec = spec.model_copy(update={"window": spec.window.model_copy(update={"until": None})})
    prepared = prepare(open_spec, loaded=with_posted(export, extra))
    return prepared, 0 if extra is None else len(extra)


def _publish(
    registry: Registry,
    prepared: Prepared,
    result: BacktestResult,
    verdict: Verdict,
    notes: dict[str, Any],
    n_batches: int,
    promote: bool,
) -> str:
    """Fit the challenger on the whole window and publish it (current when it won), with
    ``notes`` (why, and the champion's training-time monitor record: ``kept_record``); the
    version written."""
    spec = prepared.spec
    folds = len(result.folds)
    selection = Selection(
        verdict.challenger, verdict.reason, verdict.cutoff, verdict.scores, "retrain", folds,
        verdict.win_vs_baseline, verdict.challenger,
    )  # fmt: skip
    info = publish_trained(
        registry,
        spec,
        result,
        selection,
        fit_final(prepared, result.fitted[verdict.challenger]),
        {**prepared.data_summary(), "posted_batches": n_batches},
        {**report_meta(prepared, selection), "folds": folds, "retrain": verdict.reason},
        promote=verdict.promote and promote,
        notes=notes,
    )
    return info.version


def _champion(registry: Registry, name: str) -> LoadedModel:
    """The current version of ``name``, checked; the error says to train one first."""
    try:
        return registry.load(name)
    except ModelNotFoundError as err:
        raise ModelNotFoundError(
            f"{err}: retrain compares with the current version, so publish one first with "
            "`hotspots train SPEC`"
        ) from err


def _check_like(champion: LoadedModel, prepared: Prepared) -> None:
    """The champion must forecast what the spec does, or the comparison means nothing."""
    theirs = tuple(champion.forecaster.target_)
    if set(theirs) != set(prepared.target):
        raise ConfigError(
            f"the current version {champion.version} of {prepared.spec.name!r} forecasts "
            f"{list(theirs)}; the spec's target is {list(prepared.target)}: retrain compares "
            "like with like, so train this spec with `hotspots train` instead"
        )


def recent_folds(prepared: Prepared, champion: LoadedModel, min_history: int) -> tuple[Fold, ...]:
    """One fold per whole period after the champion's fit (the last ``backtest.folds`` of
    them), fitted as the spec's backtest fits; empty when there is none."""
    periods = prepared.panel.periods
    fitted = champion.forecaster.fit_end_
    n_new = int((periods > fitted).sum()) if fitted is not None else len(periods)
    n = min(prepared.spec.backtest.folds, n_new, len(periods) - min_history)
    if n < 1:
        return ()
    return rolling_origin_folds(
        periods, n, refit_every=prepared.spec.backtest.refit_every, min_train_periods=min_history
    )


def retrain_record(
    verdict: Verdict,
    prepared: Prepared,
    champion: LoadedModel,
    folds: tuple[Fold, ...],
    key: str,
    posted_events: int,
    promote: bool,
) -> dict[str, Any]:
    """The flat record ``notes.retrain`` keeps (the model card lists it as it is)."""
    scores = verdict.scores
    if verdict.promote and promote:
        outcome = "promoted"
    elif verdict.promote:
        outcome = "won, not promoted (--no-promote)"
    else:
        outcome = "published, not promoted"
    fitted = champion.forecaster.fit_end_
    panel = prepared.panel
    after = panel.periods > fitted if fitted is not None else panel.periods == panel.periods
    target = [panel.categories.index(c) for c in prepared.target]
    return {
        "retrained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "outcome": outcome,
        "reason": verdict.reason,
        "rule": rule(verdict.labels),
        "coverages": ", ".join(verdict.labels),
        "champion": f"{champion.version} ({champion.forecaster.name}, last period fitted "
        f"{_date(fitted)})",
        "challenger": verdict.challenger,
        "folds": len(folds),
        "fold_span": [str(folds[0].as_of.date()), str(folds[-1].as_of.date())],
        "challenger_pai": _round(scores.get(verdict.challenger)),
        "champion_pai": _round(scores.get(CHAMPION)),
        "best_baseline": verdict.best_baseline,
        "best_baseline_pai": _round(scores.get(verdict.best_baseline or "")),
        **_at_other_coverages(verdict),
        "ratio_vs_champion": _round(verdict.ratio_vs_champion),
        "ratio_vs_baseline": _round(verdict.ratio_vs_baseline),
        "win_share_vs_champion": _round(verdict.win_vs_champion),
        "win_share_vs_baseline": _round(verdict.win_vs_baseline),
        "posted_events": posted_events,
        "target_events_since_champion": int(panel.counts[target][:, after].sum()),
        "data_key": key,
    }


def _at_other_coverages(verdict: Verdict) -> dict[str, Any]:
    """The record's PAI keys at each ``select_also`` coverage, suffixed ``@5%`` (the plain
    keys are at ``select_coverage``)."""
    out: dict[str, Any] = {}
    for label in verdict.labels[1:]:
        pai, best = verdict.pai[label], verdict.rivals.get(label)
        out[f"challenger_pai@{label}"] = _round(pai.get(verdict.challenger))
        out[f"champion_pai@{label}"] = _round(pai.get(CHAMPION))
        out[f"best_baseline@{label}"] = best
        out[f"best_baseline_pai@{label}"] = _round(pai.get(best or ""))
    return out


def data_key(
    spec: TrainingSpec, export_sha256: str, batches: tuple[str, ...], champion: str
) -> str:
    """A digest of what a retrain reads: the export, the posted batches, the spec (but its
    window, which retrain does not use) and the champion's version."""
    described = {
        "export": export_sha256,
        "batches": list(batches),
        "spec": {k: v for k, v in spec.to_dict().items() if k != "window"},
        "champion": champion,
    }
    text = json.dumps(described, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _retrained_on(registry: Registry, name: str, key: str) -> str | None:
    """The version a retrain with ``key`` already published, if any (latest first)."""
    for version in reversed(registry.versions(name)):
        try:
            notes = registry.manifest(name, version).get("notes") or {}
        except HotspotsError:  # an unreadable version is not a match
            continue
        record = notes.get(NOTES_KEY) if isinstance(notes, Mapping) else None
        if isinstance(record, Mapping) and record.get("data_key") == key:
            return version
    return None


def retrain_history(registry: Registry, name: str) -> pd.DataFrame:
    """Every version of ``name`` that ``retrain`` published, with why, oldest first (for
    the effectiveness report)."""
    rows = []
    current = registry.current(name)
    for version in registry.versions(name):
        try:
            notes = registry.manifest(name, version).get("notes") or {}
        except HotspotsError:
            continue
        record = notes.get(NOTES_KEY) if isinstance(notes, Mapping) else None
        if isinstance(record, Mapping):
            rows.append(
                {
                    "model": name,
                    "version": version,
                    "current": version == current,
                    **{k: record.get(k) for k in _HISTORY_KEYS},
                }
            )
    return pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))


_HISTORY_KEYS = (
    "retrained_at",
    "outcome",
    "champion",
    "challenger",
    "folds",
    "coverages",
    "ratio_vs_champion",
    "ratio_vs_baseline",
    "reason",
)
HISTORY_COLUMNS = ("model", "version", "current", *_HISTORY_KEYS)
"""The columns of ``retrain_history`` (and of the effectiveness report's retraining.csv)."""


def _date(ts: pd.Timestamp | None) -> str:
    return "?" if ts is None else str(pd.Timestamp(ts).date())


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)
