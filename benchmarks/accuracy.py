"""Accuracy benchmark on real data: LightGBM against every baseline, rolling origin.

Cases (issue "Forecasting"), read from ../shared/data (skipped with a reason if absent):
- chicago: aggravated assaults, weekly, H3 resolution 9, fitted on data before 2018-01-01,
  then each week of 2018 forecast from the data before it (52 folds, no refit).
- gmp: Greater Manchester burglary (data.police.uk), monthly, resolution 8, fitted before
  2018-02-01, then each month from 2018-02 to 2019-01 forecast (12 folds, no refit).

Prints hit rate, PAI and PEI at 1% and 5% of the study cells for every model (mean over
folds, bootstrap 95% interval), and LightGBM's PAI@1% over the best baseline's.
Goal: >= 1.10x on both, never below the best baseline. Reports land in
benchmarks/out/accuracy/<case>/.

    .venv/bin/python benchmarks/accuracy.py [--case chicago|gmp] [--param key=value ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
OUT = Path(__file__).resolve().parent / "out" / "accuracy"
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import machine  # noqa: E402  (benchmarks/ingest.py: one machine line for all)

CASES: dict[str, dict[str, Any]] = {
    "chicago": {
        "name": "chicago-aggravated-assault",
        "data": {
            "events": str(
                DATA / "chicago_aggravated_assaults/chicago_aggravated_assaults_2010-2019.csv.gz"
            ),
            "map": "time=date,lat=latitude,lng=longitude",
            "category_name": "aggravated assault",
            "timezone": "America/Chicago",
        },
        "grid": {"resolution": 9, "period": "W"},
        "window": {"until": "2018-12-31"},  # the 52 Monday weeks of 2018 end here
        "backtest": {"folds": 52, "coverages": [0.01, 0.05]},
    },
    "gmp": {
        "name": "gmp-burglary",
        "data": {
            "events": str(DATA / "gmp_burglary_policeuk/gmp_burglary_2016-02_2019-01.csv.gz"),
            "preset": "police-uk",
            "map": "category=Crime.type",
        },
        "grid": {"resolution": 8, "period": "M"},
        "window": {"until": "2019-02-01"},
        "backtest": {"folds": 12, "coverages": [0.01, 0.05]},
    },
}
GOAL = 1.10
MAIN = "lightgbm"


def run_case(case: str, params: dict[str, Any]) -> dict[str, Any]:
    from hotspots.evaluation import write_report
    from hotspots.jobs.spec import spec_from_dict
    from hotspots.jobs.train import feature_importances, prepare, report_meta, run_backtest

    raw = json.loads(json.dumps(CASES[case]))
    raw["model"] = {"kind": MAIN, "params": params}
    spec = spec_from_dict(raw)
    t0 = time.perf_counter()
    prepared = prepare(spec)
    t1 = time.perf_counter()
    result = run_backtest(prepared)
    t2 = time.perf_counter()
    p = prepared.panel
    print(
        f"\n== {case}: {p.cells.size:,} cells (res {p.resolution}) x {len(p.periods)} periods "
        f"({p.freq}); {prepared.target_events:,} target events; {len(result.folds)} folds; "
        f"prepare {t1 - t0:.1f} s, backtest {t2 - t1:.1f} s"
    )
    print_table(result.summary)
    write_report(
        result,
        OUT / case,
        title=f"accuracy: {case}",
        meta=report_meta(prepared, None),
        feature_importance=feature_importances(result),
    )
    return verdict(case, result.summary)


def print_table(summary: Any) -> None:
    cutoffs = ["1%", "5%"]
    metrics = ["hit_rate", "pai", "pei"]
    header = f"{'model':<16}" + "".join(f"{m + '@' + c:>24}" for c in cutoffs for m in metrics)
    print(header)
    for model in summary["model"].unique():
        cells = []
        for c in cutoffs:
            for m in metrics:
                row = summary[
                    (summary.model == model) & (summary.cutoff == c) & (summary.metric == m)
                ]
                r = row.iloc[0]
                cells.append(f"{r['mean']:.3f} [{r.ci_low:.3f},{r.ci_high:.3f}]")
        print(f"{model:<16}" + "".join(f"{x:>24}" for x in cells))


def verdict(case: str, summary: Any) -> dict[str, Any]:
    pai = summary[(summary.cutoff == "1%") & (summary.metric == "pai")].set_index("model")["mean"]
    baselines = pai.drop(MAIN)
    best = str(baselines.idxmax())
    ratio = float(pai[MAIN] / baselines[best])
    met = (
        "met" if ratio >= GOAL else ("NOT met (but not below)" if ratio >= 1 else "NOT met: BELOW")
    )
    print(
        f"{case}: {MAIN} PAI@1% {pai[MAIN]:.2f} / best baseline {best} "
        f"{baselines[best]:.2f} = {ratio:.3f}x (goal >= {GOAL}x: {met})"
    )
    return {
        "case": case,
        "lightgbm_pai1": float(pai[MAIN]),
        "best": best,
        "best_pai1": float(baselines[best]),
        "ratio": ratio,
    }


def _param(text: str) -> tuple[str, Any]:
    key, _, value = text.partition("=")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value  # a bare string such as tweedie


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=sorted(CASES), action="append")
    parser.add_argument("--param", action="append", default=[], help="LightGBM key=value")
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent (the real extracts live beside the checkout)")
        return
    params = dict(_param(p) for p in args.param)
    print(machine())
    results = [run_case(case, params) for case in args.case or sorted(CASES)]
    print("\nsummary:")
    for r in results:
        print(
            f"  {r['case']}: {r['ratio']:.3f}x ({MAIN} {r['lightgbm_pai1']:.2f} vs "
            f"{r['best']} {r['best_pai1']:.2f})"
        )


if __name__ == "__main__":
    main()
