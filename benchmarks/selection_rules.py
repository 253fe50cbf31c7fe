"""Replay publication rules on the accuracy suite's folds: which model each rule would have
published from the selection folds, and how that model did on the reported folds.

Reads the per-fold PAI that ``benchmarks/accuracy.py`` keeps for each case
(``selection_per_fold.parquet``, scored at 1% and 5% by the selection backtest, and
``reported_per_fold.parquet``). A case without selection folds is left out (its choice was
made on the reported folds). Per case: the main model's PAI over the best baseline's on the
reported folds at 1% and 5%, and each rule's pick; then per rule the mean and the least of
the published model's ratios and how many cases fall below 1.

    .venv/bin/python benchmarks/selection_rules.py [--main lightgbm] [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from hotspots.evaluation import mean_ratio_win_share, paired_win_share

OUT = Path(__file__).resolve().parent / "out" / "accuracy"
CUTOFFS = ("1%", "5%")
REFERENCES = ("oracle",)


class Case:
    """One case's per-fold PAI, wide (fold x model) per cutoff, for the selection and the
    reported folds."""

    def __init__(self, folder: Path, main: str) -> None:
        self.name, self.main = folder.name, main
        self.selection = _wide(pd.read_parquet(folder / "selection_per_fold.parquet"))
        self.reported = _wide(pd.read_parquet(folder / "reported_per_fold.parquet"))

    def baselines(self, tables: dict[str, pd.DataFrame]) -> list[str]:
        return [m for m in tables["1%"].columns if m not in (self.main, *REFERENCES)]

    def best(self, tables: dict[str, pd.DataFrame], cutoff: str) -> str:
        means = tables[cutoff][self.baselines(tables)].mean()
        return str(means.idxmax())

    def ratio(self, tables: dict[str, pd.DataFrame], model: str, cutoff: str) -> float:
        means = tables[cutoff].mean()
        return float(means[model] / means[self.best(tables, cutoff)])


def _wide(rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {
        c: rows[rows["cutoff"] == c].pivot(index="as_of", columns="model", values="pai")
        for c in CUTOFFS
    }


def _at_1(case: Case) -> bool:
    return case.ratio(case.selection, case.main, "1%") >= 1


def _mean_of_both(case: Case) -> bool:
    return sum(case.ratio(case.selection, case.main, c) for c in CUTOFFS) / 2 >= 1


def _sure_at_1(case: Case, least: float = 0.7) -> bool:
    t, rival = case.selection["1%"], case.best(case.selection, "1%")
    return _at_1(case) and paired_win_share(t[case.main], t[rival]) >= least


def _each(case: Case) -> bool:
    return all(case.ratio(case.selection, case.main, c) >= 1 for c in CUTOFFS)


RULES: dict[str, Callable[[Case], bool]] = {
    "PAI@1% (select_also = [])": _at_1,
    "mean of 1% and 5% ratios (default)": _mean_of_both,
    "PAI@1%, ahead in >= 70% of resamples": _sure_at_1,
    "ahead at 1% and at 5%": _each,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--main", default="lightgbm", help="the learned model weighed")
    parser.add_argument("--out", type=Path, default=OUT, help="the accuracy suite's folder")
    args = parser.parse_args()
    cases = [
        Case(d, args.main)
        for d in sorted(args.out.iterdir())
        if (d / "selection_per_fold.parquet").exists()
        and (d / "reported_per_fold.parquet").exists()
    ]
    if not cases:
        sys.exit(f"error: no case in {args.out} kept its per-fold PAI; run benchmarks/accuracy.py")
    rows = []
    for case in cases:
        pairs = [
            (case.selection[c][case.main], case.selection[c][case.best(case.selection, c)])
            for c in CUTOFFS
        ]
        row: dict[str, object] = {
            "case": case.name,
            "main x@1%": case.ratio(case.reported, case.main, "1%"),
            "main x@5%": case.ratio(case.reported, case.main, "5%"),
            "sure (both)": mean_ratio_win_share(pairs),
        }
        for rule, publishes_main in RULES.items():
            pick = case.main if publishes_main(case) else case.best(case.selection, "1%")
            row[rule] = pick
            for c in CUTOFFS:
                row[(rule, c)] = case.ratio(case.reported, pick, c)
        rows.append(row)
    table = pd.DataFrame(rows).set_index("case")
    shown = ["main x@1%", "main x@5%", "sure (both)", *RULES]
    print(table[shown].round(3).to_string())
    print(
        f"\n{len(cases)} cases; the published model's PAI over the best baseline's, reported folds"
    )
    for rule in RULES:
        x1, x5 = table[(rule, "1%")], table[(rule, "5%")]
        print(
            f"{rule:<38} main in {int((table[rule] == args.main).sum()):>2}: mean {x1.mean():.4f} "
            f"/ {x5.mean():.4f}, least {x1.min():.3f} / {x5.min():.3f}, below 1 in "
            f"{int((x1 < 0.9995).sum())} / {int((x5 < 0.9995).sum())} (at 1% / 5%)"
        )


if __name__ == "__main__":
    main()
