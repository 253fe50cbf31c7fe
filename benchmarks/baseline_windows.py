"""Is the whole-history mean the map to beat? The historical-mean map over shorter windows.

The suite's ``historical_mean`` baseline averages each cell over its whole history. A force's
own map may average the last year or two instead. This script scores, on each case's reported
folds (the last ``folds`` periods, each forecast from the periods before it), the
historical-mean map over several windows, and prints each one's PAI at 1% and 5% and its
ratio to the whole-history mean's. Scored with ``hotspots.evaluation.metrics.score_ranking``,
the suite's scoring. Run from the repository:

    .venv/bin/python benchmarks/baseline_windows.py [--case NAME ...]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from accuracy import Inputs
from accuracy_cases import COVERAGES, Case, case_spec, selected
from ingest import machine

WINDOWS: dict[str, tuple[int | None, ...]] = {
    "W": (13, 26, 52, 104, 156, None),
    "M": (6, 12, 24, None),
    "D": (91, 182, 365, 730, None),
}
"""Windows (in periods) scored per frequency; ``None`` = the whole history."""

DEFAULT_CASES = (
    "chicago-r9-2018",
    "chicago-r8-2018",
    "sf-burglary-2013",
    "sf-vehicle-theft-2013",
    "sf-robbery-2013",
    "sf-assault-2013",
    "gmp-burglary",
    "synthetic-s0-burglary-residential",
    "synthetic-s1-assault",
)


def fold_scores(
    target: npt.NDArray[np.int64],
    cells: npt.NDArray[np.uint64],
    folds: int,
    make: Callable[[int], npt.NDArray[np.float64]],
) -> npt.NDArray[np.float64]:
    """Mean PAI at each of ``COVERAGES`` over the last ``folds`` periods of ``target``
    (periods x cells), period ``t`` ranked by the map ``make(t)``."""
    from hotspots.evaluation.metrics import flagged_count, score_ranking

    ks = [flagged_count(cells.size, c) for c in COVERAGES]
    n = target.shape[0]
    rows = [score_ranking(make(t), target[t], cells, ks).pai for t in range(n - folds, n)]
    return np.asarray(np.nanmean(np.vstack(rows), axis=0), dtype=np.float64)


def window_scores(
    target: npt.NDArray[np.int64], cells: npt.NDArray[np.uint64], folds: int, window: int | None
) -> npt.NDArray[np.float64]:
    """``fold_scores`` of the ``window`` mean map (the periods before each scored one)."""
    cum = np.vstack([np.zeros((1, target.shape[1])), np.cumsum(target, axis=0, dtype=np.float64)])

    def mean(t: int) -> npt.NDArray[np.float64]:
        start = 0 if window is None else max(0, t - window)
        return np.asarray((cum[t] - cum[start]) / (t - start), dtype=np.float64)

    return fold_scores(target, cells, folds, mean)


def case_target(
    inputs: Inputs, case: Case
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64], str, int]:
    """A case's target counts (periods x cells, the panel ``hotspots train`` would build),
    its cells, its frequency and its number of periods."""
    from hotspots.jobs.train import prepare

    events, data, truth = inputs.data_of(case)
    spec = case_spec(case, events, kind="lightgbm", params={}, data=data, truth=truth)
    prepared = prepare(spec)
    p = prepared.panel
    idx = [p.categories.index(c) for c in prepared.target]
    return p.counts[idx].sum(axis=0).astype(np.int64), p.cells, p.freq, len(p.periods)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", metavar="NAME", help="a suite case")
    args = parser.parse_args()
    t0 = time.perf_counter()
    print(machine())
    inputs = Inputs()
    for case in selected(list(args.case or DEFAULT_CASES), quick=False):
        target, cells, freq, n_periods = case_target(inputs, case)
        whole = window_scores(target, cells, case.folds, None)
        parts = []
        for w in WINDOWS[freq][:-1]:
            s = window_scores(target, cells, case.folds, w)
            ratio = s / whole
            parts.append(f"{w}: {s[0]:.2f} ({ratio[0]:.3f}) / {s[1]:.2f} ({ratio[1]:.3f})")
        print(f"{case.name} ({n_periods} {freq} periods, {case.folds} folds)")
        print(f"   whole history: PAI@1% {whole[0]:.2f}, PAI@5% {whole[1]:.2f}")
        print("   window: PAI@1% (x whole) / PAI@5% (x whole)")
        for part in parts:
            print(f"   {part}")
    print(f"wall time: {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
