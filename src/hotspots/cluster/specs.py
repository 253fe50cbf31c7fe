"""Many specs on a cluster: each spec's preparation, each backtest fit block, its report and
its final fit are tasks; the client chooses the model (as the serial path does) and hands back each
spec's outcome in the order of the specs, so registry writes happen in the serial order."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sklearn.base import clone

from hotspots.cluster import tasks
from hotspots.cluster.order import CRITICAL, block_priority, final_priority, heaviest_first
from hotspots.cluster.panels import Panels
from hotspots.cluster.spread import Spread, spreads
from hotspots.cluster.tasks import Outline
from hotspots.cluster.watch import NO_WORKERS_TIMEOUT, POLL, Waiting, Watch, dask_failure
from hotspots.errors import ClusterError
from hotspots.evaluation import BacktestResult, ReportText, fit_blocks
from hotspots.forecasters import Forecaster
from hotspots.jobs.spec import BASELINES, TrainingSpec
from hotspots.jobs.train import Selection, select_model

if TYPE_CHECKING:
    from distributed import Client, Future

logger = logging.getLogger(__name__)

PREPARED = ("prepare", "shared panel")
"""The tasks whose value (a spec's ``Prepared``) stays on the workers."""

TaskDone = Callable[[str, int, int, float], None]
"""``on_task(label, done, submitted, seconds)`` as each task ends."""


@dataclass
class SpecOutcome:
    """One spec's results as the serial path has them before it writes anything."""

    spec: TrainingSpec
    outline: Outline
    result: BacktestResult
    selection: Selection
    data: dict[str, Any]
    meta: dict[str, Any]
    report: ReportText
    final: Forecaster | None = None


@dataclass
class _Spec:
    """The client's bookkeeping of one spec in flight."""

    spec: TrainingSpec
    prepared: Future | None  # None until it takes an earlier spec's panel (``panels``)
    then: int  # the spec started after it (``heaviest_first``), or the number of specs
    outline: Outline | None = None
    inner: BacktestResult | None = None
    result: BacktestResult | None = None
    reported: Future | None = None  # the reported backtest, kept for its report
    waiting: set[str] = field(default_factory=set)
    selection: Selection | None = None
    summaries: dict[str, Any] | None = None
    report: ReportText | None = None
    final: Forecaster | None = None
    home: list[str] | None = None

    @property
    def panel(self) -> Future:
        """The future of its prepared data (once it has been submitted)."""
        assert self.prepared is not None
        return self.prepared


def run_specs(
    client: Client,
    specs: Sequence[TrainingSpec],
    *,
    fit: bool = True,
    on_task: TaskDone | None = None,
    no_workers_timeout: float = NO_WORKERS_TIMEOUT,
) -> Iterator[SpecOutcome]:
    """Prepare, backtest, select and (``fit``) refit every spec on ``client``'s cluster.

    Outcomes come in the order of ``specs``, each as soon as it and all before it are done;
    meanwhile the other specs' tasks go on. A failing task raises its error here and the
    tasks still pending are cancelled; Dask's own failures, and tasks that cannot run for
    ``no_workers_timeout`` seconds (their worker lost, or none left: ``watch``), raise
    ``ClusterError`` naming the specs given up.
    """
    from distributed import as_completed

    watch = Watch(client, no_workers_timeout)
    run = _Run(client, fit, on_task, as_completed(), watch)
    order = heaviest_first(specs)
    for i, then in zip(order, [*order[1:], len(specs)], strict=True):
        run.start(i, specs[i], then)
    try:
        yield from run.drive(len(specs))
    finally:
        run.cancel()


class _Run:
    """The submit-and-react loop of ``run_specs``."""

    def __init__(
        self, client: Client, fit: bool, on_task: TaskDone | None, pending: Any, watch: Watch
    ):
        self.client, self.fit, self.on_task, self.pending = client, fit, on_task, pending
        self.watch = watch
        self.spread = Spread(client)
        self.panels = Panels(client)
        self.specs: dict[int, _Spec] = {}
        self.tags: dict[str, tuple[int, str]] = {}
        self.held: dict[str, list[str] | None] = {}  # each task's workers= (None: any)
        self.next = 0  # the first spec not yet handed back
        self.started: dict[str, float] = {}
        self.done = 0

    def submit(
        self,
        i: int,
        what: str,
        func: Callable[..., Any],
        *args: Any,
        priority: int = 0,
        learns: bool = False,
        near: str | None = None,
    ) -> Future:
        """Submit ``func(*args)`` as the task ``what`` of spec ``i``; pure=False: every
        task runs, even two that look alike. Among tasks ready to run, a higher ``priority``
        starts first; a spec with a ``home`` runs there, else a fit that ``learns`` goes
        where ``spread`` sends it, else a task given a worker it is ``near`` there (a
        preference, as the spread's). Only where and in which order change, never a result."""
        key = f"{what}-{i}-{time.time_ns()}"
        home = self.specs[i].home if i in self.specs else None
        where: dict[str, Any] = {"allow_other_workers": False}
        if home is not None:
            where["workers"] = home
        elif learns and (worker := self.spread.choose(key, self.specs[i].panel)):
            where = {"workers": [worker], "allow_other_workers": True}
        elif near is not None:
            where = {"workers": [near], "allow_other_workers": True}
        future = self.client.submit(func, *args, pure=False, key=key, priority=priority, **where)
        self.tags[key] = (i, what)
        self.held[key] = home
        self.started[key] = time.monotonic()
        self.pending.add(future)
        return future

    def start(self, i: int, spec: TrainingSpec, then: int) -> None:
        """Prepare spec ``i`` and outline it; or, when an earlier spec prepares the same
        panel, wait for that one's outline (``_take_panels``)."""
        self.specs[i] = _Spec(spec, None, then)
        if self.panels.start(i, spec) is None:
            prepared = self.submit(i, "prepare", tasks.prepare, spec, priority=CRITICAL)
            self.specs[i].prepared = prepared
            self.submit(i, "outline", tasks.outline, prepared, priority=CRITICAL)

    def _take_panels(self, i: int, s: _Spec, outline: Outline) -> None:
        """The specs waiting for spec ``i``'s panel take it (``tasks.share``), each on the
        worker ``panels`` chooses, and are outlined (from spec ``i``'s panel: at once).
        Submitted before spec ``i``'s blocks: the worker holding the panel starts what is
        ready as it comes, and its first block (LightGBM: ~5-8 s) held up the takings and
        outlines sent after it."""
        for j, worker in self.panels.outlined(i, s.panel, spreads(outline)):
            t = self.specs[j]
            t.prepared = self.submit(
                j, "shared panel", tasks.share, s.panel, t.spec, priority=CRITICAL, near=worker
            )
            # held near too: else Dask queues these outlines, all of one input, as root
            # tasks, sent only to a worker with a free thread (~30 s in the batch)
            self.submit(
                j, "outline", tasks.outline_shared, s.panel, t.spec, priority=CRITICAL, near=worker
            )

    def drive(self, n: int) -> Iterator[SpecOutcome]:
        for future in self._ended():
            key = str(future.key)
            i, what = self.tags.pop(key)
            held = self.held.pop(key)
            self.spread.ended(key)
            label = f"{self.specs[i].spec.name}: {what}"
            # the prepared data stay on the workers: only an error comes back
            value = self._result(future, (label, held), keep=what in PREPARED)
            self._log(label, key)
            self._react(i, what, value)
            while self.next < n and self._complete(self.next):
                yield self._outcome(self.next)
                del self.specs[self.next]  # its prepared data may leave the workers
                self.next += 1

    def _ended(self) -> Iterator[Future]:
        """The tasks as they end; while none does, the watch looks at the workers and ends
        the run once its tasks cannot run (``watch.Watch``)."""
        while not self.pending.is_empty():
            if self.pending.has_ready():
                yield next(self.pending)
            elif why := self.watch.stuck(self._waiting()):
                raise ClusterError(self._given_up(why))
            else:
                time.sleep(0.02)

    def _waiting(self) -> Iterator[Waiting]:
        for future in list(self.pending.futures):
            key = str(future.key)
            if key in self.tags:
                i, what = self.tags[key]
                yield f"{self.specs[i].spec.name}: {what}", self.held[key]

    def _result(self, future: Future, task: Waiting, keep: bool) -> Any:
        """The task's value (None when it is to ``keep`` on the workers); its own error as
        it is, Dask's failure as a ClusterError.

        A task that has ended may have to run again before its value can be had: its worker
        was lost before the value was fetched (the scheduler then runs it anew, or, held to
        that worker, never). So the wait is in steps of ``POLL`` s, with the watch looking at
        the workers between them, as while no task ends (``_ended``)."""
        if keep and future.status == "finished":
            return None
        label = task[0]
        try:
            while True:
                try:
                    return future.result(timeout=POLL)
                except TimeoutError:
                    if future.status == "error":  # the task's own TimeoutError
                        raise
                    if why := self.watch.stuck([task, *self._waiting()]):
                        raise ClusterError(self._given_up(why)) from None
        except ClusterError:
            raise
        except Exception as err:
            if (failure := dask_failure(err, label)) is None:
                raise
            raise ClusterError(self._given_up(str(failure))) from err

    def _given_up(self, why: str) -> str:
        names = ", ".join(repr(self.specs[i].spec.name) for i in sorted(self.specs))
        return f"{why}; nothing written for {names}"

    def _log(self, label: str, key: str) -> None:
        self.done += 1
        seconds = time.monotonic() - self.started.pop(key)
        total = self.done + self.pending.count()
        logger.info("task %d/%d done: %s (%.1f s)", self.done, total, label, seconds)
        if self.on_task is not None:
            self.on_task(label, self.done, total, seconds)

    def _react(self, i: int, what: str, value: Any) -> None:
        s = self.specs[i]
        if what in PREPARED:
            return
        if what == "outline":
            s.outline = value
            s.home = self._home(s, value)
            # before its blocks: a worker runs tasks in the order they come until it is busy
            self._take_panels(i, s, value)
            self._submit_backtests(i, s, value)
        elif what == "selection":
            s.inner = value
        elif what == "reported":
            s.result = value
        elif what == "summaries":
            s.summaries = value
        elif what == "report":
            s.report = value
        elif what == "final":
            s.final = value
        s.waiting.discard(what)
        if what == "selection" and s.inner is not None:
            self._choose(i, s)  # the final fit need not wait for the reported folds
        if what in ("selection", "reported") and not s.waiting & {"selection", "reported"}:
            if s.selection is None:  # no selection folds: chosen on the reported ones
                self._choose(i, s)
            self._describe(i, s)

    def _home(self, s: _Spec, outline: Outline) -> list[str] | None:
        """The worker holding the spec's prepared data when one of its models spreads its
        fit over every worker (``spans_workers``), else None (anywhere). That spec's tasks
        all run there: the distributed fit sends each worker its own slices only, and no
        other worker takes a copy of the whole panel (at 500k cells ~2 GiB) for a baseline's
        block. Should that worker be lost, the run ends after ``no_workers_timeout``
        (``watch``)."""
        if not any(m.spans_workers for m in outline.models.values()):
            return None
        held = self.client.who_has([s.panel]).get(s.panel.key, ())
        return sorted(held)[:1] or None

    def _submit_backtests(self, i: int, s: _Spec, outline: Outline) -> None:
        """One task per fit block of both backtests, then one that assembles each.

        Blocks go by spec (earlier first, ``block_priority``); what waits for a spec's last
        block (its assembling, then its summaries and report) outranks every block
        (``CRITICAL``); its final fit comes after the next spec's blocks. A learning model's
        blocks go where ``spread`` sends them."""
        for what, folds, assemble in (
            ("selection", outline.selection, tasks.assemble_selection),
            ("reported", outline.reported, tasks.assemble_reported),
        ):
            if not folds:  # no room for a selection backtest: run_selection gives None
                s.inner = None
                continue
            blocks = [
                self.submit(
                    i,
                    f"{what} fit {b.name} to {b.fit_until.date()}",
                    tasks.fit_block,
                    s.panel,
                    b,
                    outline.models[b.name],
                    folds,
                    priority=block_priority(i),
                    learns=b.name not in BASELINES and spreads(outline),
                )
                for b in fit_blocks(outline.models, folds)
            ]
            assembled = self.submit(
                i, what, assemble, s.panel, outline.models, blocks, priority=CRITICAL
            )
            if what == "reported":
                s.reported = assembled
            s.waiting.add(what)

    def _choose(self, i: int, s: _Spec) -> None:
        """Choose the published model as the serial path does (on the selection folds once
        they are done, else on the reported ones), and submit its final fit at once: it runs
        beside the spec's reported blocks rather than alone after them at the end of a run."""
        if s.inner is not None:
            s.selection = select_model(s.inner, s.spec, basis="selection")
            fitted = s.inner.fitted
        else:
            assert s.result is not None
            s.selection = select_model(s.result, s.spec, basis="reported")
            fitted = s.result.fitted
        if self.fit:
            assert s.outline is not None
            chosen = clone(fitted[s.selection.name])  # unfitted: the parameters alone
            learns = s.selection.name not in BASELINES and spreads(s.outline)
            self.submit(
                i,
                "final",
                tasks.final_fit,
                s.panel,
                chosen,
                priority=final_priority(s.then),
                learns=learns,
            )
            s.waiting.add("final")

    def _describe(self, i: int, s: _Spec) -> None:
        """Once both backtests are done, the spec's summaries and report."""
        summaries = self.submit(
            i, "summaries", tasks.summaries, s.panel, s.selection, priority=CRITICAL
        )
        self.submit(i, "report", tasks.report, s.spec, s.reported, summaries, priority=CRITICAL)
        s.reported = None  # the report holds it now
        s.waiting.update(("summaries", "report"))

    def _complete(self, i: int) -> bool:
        s = self.specs[i]
        return s.selection is not None and not s.waiting

    def _outcome(self, i: int) -> SpecOutcome:
        s = self.specs[i]
        assert s.outline and s.result and s.selection and s.summaries and s.report
        return SpecOutcome(
            s.spec,
            s.outline,
            s.result,
            s.selection,
            s.summaries["data"],
            s.summaries["meta"],
            s.report,
            s.final,
        )

    def cancel(self) -> None:
        futures = list(self.pending.futures)
        if futures:
            self.client.cancel(futures)
