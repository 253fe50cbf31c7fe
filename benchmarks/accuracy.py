"""Accuracy suite: the main model against every baseline (and the oracle) on fixed cases.

Cases (benchmarks/accuracy_cases.py): San Francisco 2007-2013 by crime type and test year,
Chicago aggravated assaults over test years and H3 resolutions 8/9/10, Greater Manchester
burglary (monthly), London 2022 by crime type (monthly), Vancouver 2020 and Houston 2010 over
their last weeks, all read from ../shared/data (a case whose data is absent is skipped with
the reason); and Synthetica over three seeds and three crime types, where the true expected
counts rank the cells as the **oracle** reference. Each case is the training spec a user
would write, run through ``hotspots.jobs.train`` as ``hotspots train`` runs it: a selection
backtest on the periods just before the reported folds chooses the published model
(run_selection, select_model), then the reported rolling-origin backtest scores every model,
each period forecast from the data before it.

Per case: hit rate, PAI and PEI at 1% and 5% with 95% bootstrap intervals for every model;
the main model's PAI over the best baseline's at 1% and 5%; each model's share of the
oracle's PAI; the model ``hotspots train`` would publish and its PAI over the best
baseline's on the reported folds; and what the main model's top 1%
adds to the historical-mean map (events in cells only it flags against the reverse, summed
over folds, and the share of its flagged cells that change from one period to the next).
Reports land in benchmarks/out/accuracy/<case>/, the summary in summary.json and summary.md.

    .venv/bin/python benchmarks/accuracy.py [--quick] [--case NAME ...] [--model KIND]
        [--param key=value ...]          (make bench-accuracy runs the whole suite)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from accuracy_cases import CASES, SOURCES, Case, case_spec, missing_data, selected
from accuracy_data import event_table, synthetic_city
from accuracy_report import case_record, markdown, print_case, print_summary
from ingest import machine

OUT = Path(__file__).resolve().parent / "out" / "accuracy"


class Inputs:
    """Event tables and synthetic cities, made once per run and shared by the cases."""

    def __init__(self) -> None:
        self.tables: dict[str, Path] = {}
        self.cities: dict[int, dict[str, Any]] = {}

    def data_of(self, case: Case) -> tuple[Path, dict[str, Any], Path | None]:
        """``(events, extra [data] keys, truth file or None)`` for ``case``."""
        if case.synthetic:
            assert case.seed is not None
            if case.seed not in self.cities:
                t0 = time.perf_counter()
                self.cities[case.seed] = synthetic_city(case.seed, OUT)
                print(f"   synthetic city seed {case.seed}: {time.perf_counter() - t0:.1f} s")
            city = self.cities[case.seed]
            return city["events"], city["data"], city["truth"]
        if case.source not in self.tables:
            path, seconds = event_table(case.source, OUT)
            how = f"ingested in {seconds:.1f} s" if seconds else "cached"
            print(f"   {SOURCES[case.source].path.name}: {how} -> {path.name}")
            self.tables[case.source] = path
        return self.tables[case.source], {}, None


def run_case(
    case: Case,
    inputs: Inputs,
    kind: str,
    params: dict[str, Any],
    challengers: tuple[str, ...],
    resolutions: tuple[int, ...] = (),
) -> dict[str, Any]:
    """Backtest one case, print its tables and write its report; its record for the summary."""
    from hotspots.evaluation import write_report
    from hotspots.jobs.train import (
        feature_importances,
        prepare,
        report_meta,
        run_backtest,
        run_selection,
        select_model,
    )

    t0 = time.perf_counter()
    events, data, truth = inputs.data_of(case)
    spec = case_spec(
        case, events, kind=kind, params=params, data=data, truth=truth, challengers=challengers
    )
    if resolutions:  # the selection backtest chooses the resolution too, as train does
        from hotspots.jobs.geometry import choose_resolution

        grid = spec.grid.model_copy(update={"resolutions": resolutions})
        prepared, inner, choice = choose_resolution(spec.model_copy(update={"grid": grid}))
        print(f"   {choice.reason}")
        t1 = time.perf_counter()
    else:
        prepared = prepare(spec)
        t1 = time.perf_counter()
        inner = run_selection(prepared)  # the choice is made before the reported folds
    result = run_backtest(prepared)
    t2 = time.perf_counter()
    if inner is None:
        selection = select_model(result, spec, basis="reported")
    else:
        selection = select_model(inner, spec, basis="selection")
    p = prepared.panel
    fits = len({f.fit_until for f in result.folds})
    print(
        f"   {p.cells.size:,} cells (res {p.resolution}) x {len(p.periods)} periods ({p.freq}); "
        f"target {', '.join(prepared.target)}: {prepared.target_events:,} events; "
        f"{len(result.folds)} folds {result.folds[0].as_of.date()}..{result.folds[-1].as_of.date()}"
        f", {fits} fit(s); prepare {t1 - t0:.1f} s, selection and backtest {t2 - t1:.1f} s"
    )
    (OUT / case.name).mkdir(parents=True, exist_ok=True)  # per-fold PAI, for selection_rules.py
    result.per_fold.to_parquet(OUT / case.name / "reported_per_fold.parquet")
    if inner is not None:
        inner.per_fold.to_parquet(OUT / case.name / "selection_per_fold.parquet")
    record = case_record(result, selection, spec.model.kind, spec.model.challengers)
    print_case(case.name, record)
    write_report(
        result,
        OUT / case.name,
        title=f"accuracy: {case.name}",
        meta=report_meta(prepared, selection),
        feature_importance=feature_importances(result),
    )
    return {
        "case": case.name,
        "status": "ok",
        "source": case.source,
        "target": list(prepared.target),
        "resolution": p.resolution,
        "period": p.freq,
        "cells": int(p.cells.size),
        "target_events": prepared.target_events,
        "folds": len(result.folds),
        "fits": fits,
        "first_fold": result.folds[0].as_of.date().isoformat(),
        "last_fold": result.folds[-1].as_of.date().isoformat(),
        **record,
        "seconds": time.perf_counter() - t0,
    }


def _param(text: str) -> tuple[str, Any]:
    key, _, value = text.partition("=")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value  # a bare string such as tweedie


def _run_all(
    cases: list[Case],
    kind: str,
    params: dict[str, Any],
    challengers: tuple[str, ...],
    resolutions: tuple[int, ...],
) -> list[dict[str, Any]]:
    from hotspots.errors import HotspotsError

    inputs = Inputs()
    records = []
    for i, case in enumerate(cases, 1):
        print(f"\n== [{i}/{len(cases)}] {case.name}")
        if reason := missing_data(case):
            print(f"   skipped: {reason}")
            records.append({"case": case.name, "status": "skipped", "reason": reason})
            continue
        try:
            records.append(run_case(case, inputs, kind, params, challengers, resolutions))
        except (HotspotsError, ValueError, MemoryError) as err:  # the suite goes on
            print(f"   FAILED: {type(err).__name__}: {err}")
            records.append({"case": case.name, "status": "failed", "reason": str(err)})
    return records


def _write_summary(records: list[dict[str, Any]], run: dict[str, Any]) -> None:
    from hotspots.evaluation.result import jsonable

    OUT.mkdir(parents=True, exist_ok=True)
    payload = {**run, "cases": records}
    (OUT / "summary.json").write_text(json.dumps(jsonable(payload), indent=1) + "\n")
    header = (
        f"Accuracy suite{' (--quick)' if run['quick'] else ''}, main model `{run['model']}`"
        f"{' ' + json.dumps(run['params']) if run['params'] else ''}, {run['date']}, "
        f"wall time {run['wall_s'] / 60:.1f} min; {run['machine']}"
    )
    (OUT / "summary.md").write_text(markdown(records, header))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the development subset")
    parser.add_argument("--case", choices=list(CASES), action="append", metavar="NAME")
    parser.add_argument("--model", default="lightgbm", help="main model kind")
    parser.add_argument("--param", action="append", default=[], help="main model key=value")
    parser.add_argument(
        "--challenger", action="append", default=[], help="another learned kind weighed"
    )
    parser.add_argument(
        "--resolutions",
        type=lambda text: tuple(int(r) for r in text.split(",")),
        default=(),
        help="H3 resolutions the selection backtest chooses among, e.g. 8,9,10",
    )
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    args = parser.parse_args()
    cases = selected(args.case, args.quick)
    if args.list:
        for c in cases:
            print(f"{c.name:<36} {c.source:<10} res {c.resolution} {c.period} folds {c.folds}")
        return
    params = dict(_param(p) for p in args.param)
    run = {
        "machine": machine(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "quick": args.quick,
        "model": args.model,
        "params": params,
        "challengers": args.challenger,
        "resolutions": list(args.resolutions),
    }
    print(run["machine"])
    t0 = time.perf_counter()
    records = _run_all(cases, args.model, params, tuple(args.challenger), args.resolutions)
    run["wall_s"] = time.perf_counter() - t0
    print(f"\nsummary ({len(cases)} cases, main model {args.model}):")
    print_summary(records)
    _write_summary(records, run)
    print(f"suite wall time: {run['wall_s']:.0f} s ({run['wall_s'] / 60:.1f} min)")
    print(f"wrote {OUT / 'summary.json'} and {OUT / 'summary.md'}")


if __name__ == "__main__":
    main()
