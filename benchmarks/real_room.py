"""How much room is there on real data? Maps that know the reported periods, against the mean.

Issue 14 asks the published model for 1.10x the best baseline's PAI@1% on every real case.
The best baseline is mostly the whole-history mean. This script asks how far any *map of
rates* could get beyond it, by scoring maps that know what no forecast can: the reported
periods themselves (each scored period is always left out of its own map). On each case's
reported folds (the last ``folds`` periods, as the suite scores them):

- ``history``: the whole-history mean of the periods before the scored one (the baseline);
- ``year``: the mean of the other reported periods (the test year's own rates);
- ``all``: the mean of every period but the scored one (the history and the year, future
  included);
- ``year blend``, ``near blend``: ``(1 - w) history + w x`` where ``x`` is ``year`` or the
  mean of the 4 periods either side of the scored one (the local rates, future included),
  with the ``w`` in 0.1 steps that scores best on these same folds (hindsight twice over).

A map ahead of ``history`` by less than 10% says that 1.10x must come from what changes
period to period (near repeats, a cell's own bursts), not from better long-run rates. Scored
with ``hotspots.evaluation.metrics.score_ranking``, the suite's scoring. Run from the
repository (the suite's cached event tables are reused):

    .venv/bin/python benchmarks/real_room.py [--case NAME ...]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from accuracy import Inputs
from accuracy_cases import selected
from baseline_windows import case_target, fold_scores
from ingest import machine

FloatArray = npt.NDArray[np.float64]

DEFAULT_CASES = (
    "sf-burglary-2013",
    "sf-vehicle-theft-2013",
    "sf-robbery-2013",
    "sf-assault-2013",
    "chicago-r9-2018",
    "chicago-r8-2018",
    "chicago-r10-2018",
    "gmp-burglary",
    "london-burglary",
    "london-vehicle-crime",
    "london-robbery",
    "vancouver-theft-from-vehicle",
    "vancouver-break-and-enter",
    "houston-theft",
    "houston-burglary",
)
NEAR = 4
"""Periods either side of the scored one in the ``near`` map."""
WEIGHTS = np.round(np.arange(0.0, 1.01, 0.1), 1)


def room(target: npt.NDArray[np.int64], cells: npt.NDArray[np.uint64], folds: int) -> dict:
    """The maps' mean PAI at ``COVERAGES`` (and the blends' hindsight weights)."""
    counts = target.astype(np.float64)
    cum = np.vstack([np.zeros((1, counts.shape[1])), np.cumsum(counts, axis=0)])
    n, first = counts.shape[0], counts.shape[0] - folds

    def history(t: int) -> FloatArray:
        return np.asarray(cum[t] / t, dtype=np.float64)

    def year(t: int) -> FloatArray:
        return np.asarray((cum[n] - cum[first] - counts[t]) / (folds - 1), dtype=np.float64)

    def everything(t: int) -> FloatArray:
        return np.asarray((cum[n] - counts[t]) / (n - 1), dtype=np.float64)

    def near(t: int) -> FloatArray:
        lo, hi = max(0, t - NEAR), min(n, t + NEAR + 1)
        return np.asarray((cum[hi] - cum[lo] - counts[t]) / (hi - lo - 1), dtype=np.float64)

    out: dict = {
        name: fold_scores(target, cells, folds, make)
        for name, make in (("history", history), ("year", year), ("all", everything))
    }
    for name, other in (("year blend", year), ("near blend", near)):
        # each map scaled to mean 1 so that the weight mixes shapes, not levels
        def blend(t: int, w: float, other: Callable[[int], FloatArray] = other) -> FloatArray:
            h, x = history(t), other(t)
            return (1 - w) * h / max(h.mean(), 1e-12) + w * x / max(x.mean(), 1e-12)

        tried = [fold_scores(target, cells, folds, lambda t, w=w: blend(t, w)) for w in WEIGHTS]
        best = int(np.argmax([s[0] for s in tried]))
        out[name] = tried[best]
        out[f"{name} w"] = float(WEIGHTS[best])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", metavar="NAME", help="a suite case")
    args = parser.parse_args()
    t0 = time.perf_counter()
    print(machine())
    inputs = Inputs()
    print(
        "| case | folds | history PAI@1% / 5% | year | all | year blend (w) | near blend (w) |\n"
        "|---|---:|---:|---:|---:|---:|---:|"
    )
    for case in selected(list(args.case or DEFAULT_CASES), quick=False):
        target, cells, _, _ = case_target(inputs, case)
        r = room(target, cells, case.folds)
        h = r["history"]

        def x(name: str, r: dict = r, h: FloatArray = h) -> str:
            return f"{r[name][0] / h[0]:.3f} / {r[name][1] / h[1]:.3f}"

        print(
            f"| {case.name} | {case.folds} | {h[0]:.2f} / {h[1]:.2f} | {x('year')} | {x('all')} "
            f"| {x('year blend')} ({r['year blend w']:.1f}) "
            f"| {x('near blend')} ({r['near blend w']:.1f}) |",
            flush=True,
        )
    print(f"wall time: {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
