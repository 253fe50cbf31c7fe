"""How close to the oracle can any forecast of Synthetica get? Hindsight references.

The suite's synthetic cases score models by their share of the oracle's PAI@1% (ranking
cells by the true expected counts given each week's past). This script asks how much of
that share is within reach at all, by scoring references that know more than any model
can, on the same cases and test weeks (the last ``folds`` weeks of each case):

- ``hindsight map``: each cell's true mean intensity over the whole simulated run, future
  included: the best any fixed map can be;
- ``hindsight map x drift``: that map times each cell's recent all-crime counts against
  their long-run level, ``(S + 1) / (E + 1)`` (S: counts decayed with an 8-week half-life,
  E: what the 104-week decayed rate predicts for S): the best map, moved by what the
  counts say about the place's current drift;
- ``truth 4 weeks before``: the true intensity of the 4 weeks before the origin, a month
  stale;
- ``counts: long-run x drift``: the cell's own 104-week decayed rate times the same
  all-crime drift ratio (prior 3 events): an estimator from counts alone, no hindsight;
- ``historical mean``: the baseline.

Prints each reference's share of the oracle's PAI@1% per case. Run from the repository:

    .venv/bin/python benchmarks/oracle_room.py [--case NAME ...]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

from accuracy_cases import CASES, case_spec
from accuracy_data import synthetic_city
from ingest import machine

OUT = Path(__file__).resolve().parent / "out" / "oracle_room"
Array = npt.NDArray[np.float64]


def decayed_sum(series: Array, t: int, half_life: float) -> tuple[Array, float]:
    """``sum_s w_s series[s]`` over ``s < t``, ``w = 0.5 ** (age / half_life)``; and ``sum w``."""
    w = 0.5 ** (np.arange(t)[::-1] / half_life)
    return w @ series[:t], float(w.sum())


def drift_ratio(all_crime: Array, t: int, prior: float) -> Array:
    """Recent all-crime counts (8-week half-life) over what the long-run rate expects."""
    short, w_short = decayed_sum(all_crime, t, 8)
    long, w_long = decayed_sum(all_crime, t, 104)
    return (short + prior) / (long / w_long * w_short + prior)


def case_shares(name: str) -> dict[str, float]:
    from hotspots.evaluation.metrics import flagged_count, pai
    from hotspots.evaluation.references import read_truth, truth_to_reference
    from hotspots.jobs.train import prepare

    case = CASES[name]
    assert case.seed is not None
    city = synthetic_city(case.seed, OUT)
    spec = case_spec(case, city["events"], kind="historical_mean", params={}, data=city["data"])
    prepared = prepare(spec)
    panel = prepared.panel
    idx = [panel.categories.index(c) for c in prepared.target]
    y = panel.counts[idx].sum(axis=0).astype(np.float64)
    all_crime = panel.counts.sum(axis=0).astype(np.float64)
    truth = truth_to_reference(
        read_truth(city["truth"]), panel, list(panel.periods), prepared.target
    )
    hindsight = truth.mean(axis=0)
    refs = {
        "oracle": lambda t: truth[t],
        "hindsight map": lambda t: hindsight,
        "hindsight map x drift": lambda t: hindsight * drift_ratio(all_crime, t, 1.0),
        "truth 4 weeks before": lambda t: truth[t - 4 : t].mean(axis=0),
        "counts: long-run x drift": lambda t: (
            decayed_sum(y, t, 104)[0] * drift_ratio(all_crime, t, 3.0)
        ),
        "historical mean": lambda t: y[:t].mean(axis=0),
    }
    k = flagged_count(panel.cells.size, 0.01)
    weeks = range(len(panel.periods) - case.folds, len(panel.periods))
    mean_pai = {
        label: float(np.nanmean([pai(f(t), y[t], panel.cells, k) for t in weeks]))
        for label, f in refs.items()
    }
    return {label: v / mean_pai["oracle"] for label, v in mean_pai.items()} | {
        "oracle PAI@1%": mean_pai["oracle"]
    }


def main() -> None:
    synthetic = [n for n, c in CASES.items() if c.synthetic]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=synthetic, action="append", metavar="NAME")
    args = parser.parse_args()
    print(machine())
    t0 = time.perf_counter()
    rows = {name: case_shares(name) for name in args.case or synthetic}
    labels = [k for k in next(iter(rows.values())) if k not in ("oracle", "oracle PAI@1%")]
    print("\nshare of the oracle's PAI@1% (mean over each case's test weeks)\n")
    print(f"| case | oracle PAI@1% | {' | '.join(labels)} |")
    print(f"|---|---:|{'---:|' * len(labels)}")
    for name, r in rows.items():
        cells = " | ".join(f"{r[label]:.3f}" for label in labels)
        print(f"| {name} | {r['oracle PAI@1%']:.2f} | {cells} |")
    print(f"\nwall time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
