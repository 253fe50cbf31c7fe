"""Replay choosing a parameter variant of the main model per case on the selection folds.

Two runs of ``benchmarks/accuracy.py`` over the same cases, one with the default parameters
(``--default``) and one with a variant (``--variant``, e.g. ``--param related=false``), each
keep the per-fold PAI of every model on the selection and the reported folds. Per case, each
rule picks the default or the variant from the selection folds only (the selection quantity:
the main model's PAI over the best baseline's, mean of the 1% and 5% ratios, each cutoff
against its own best baseline), and the pick is scored on the reported folds. Per rule: the
mean and least ratio at 1% and 5%, the cases below 1, and how often the pick is the setting
that did better on the reported folds (by the same quantity). ``--holdout`` names cases
(regex) reported apart, to check a rule chosen on the others.

    .venv/bin/python benchmarks/variant_rules.py --default DIR --variant DIR [--holdout RE]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from hotspots.evaluation import mean_ratio_win_share
from selection_rules import CUTOFFS, Case


def _quantity(case: Case, tables: str) -> float:
    return sum(case.ratio(getattr(case, tables), case.main, c) for c in CUTOFFS) / 2


def _sure(a: Case, b: Case) -> float:
    """Share of selection-fold resamples in which the variant's PAI is ahead of the default's
    (mean of the 1% and 5% ratios)."""
    pairs = [(b.selection[c][b.main], a.selection[c][a.main]) for c in CUTOFFS]
    return mean_ratio_win_share(pairs)


Rule = Callable[[Case, Case], bool]  # True: the variant
RULES: dict[str, Rule] = {
    "always default": lambda a, b: False,
    "always variant": lambda a, b: True,
    "selection picks": lambda a, b: _quantity(b, "selection") > _quantity(a, "selection"),
    "selection, margin 1%": lambda a, b: (
        _quantity(b, "selection") > _quantity(a, "selection") + 0.01
    ),
    "selection, sure >= 0.8": lambda a, b: _sure(a, b) >= 0.8,
}


def _summary(table: pd.DataFrame, label: str) -> None:
    print(f"\n{label}: {len(table)} cases; the main model's PAI over the best baseline's, reported")
    for rule in RULES:
        x1, x5 = table[(rule, "1%")], table[(rule, "5%")]
        print(
            f"  {rule:<24} variant in {int(table[rule].sum()):>2}, right in "
            f"{int((table[rule] == table['variant won']).sum()):>2}: mean {x1.mean():.4f} / "
            f"{x5.mean():.4f}, least {x1.min():.3f} / {x5.min():.3f}, below 1 in "
            f"{int((x1 < 0.9995).sum())} / {int((x5 < 0.9995).sum())} (1% / 5%)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--default", type=Path, required=True, help="the default's suite folder")
    parser.add_argument("--variant", type=Path, required=True, help="the variant's suite folder")
    parser.add_argument("--main", default="lightgbm", help="the learned model weighed")
    parser.add_argument("--holdout", default="", help="regex of cases reported apart")
    args = parser.parse_args()
    names = sorted(
        d.name
        for d in args.variant.iterdir()
        if all(
            (root / d.name / f).exists()
            for root in (args.default, args.variant)
            for f in ("selection_per_fold.parquet", "reported_per_fold.parquet")
        )
    )
    if not names:
        sys.exit(f"error: no case in both {args.default} and {args.variant} kept its per-fold PAI")
    rows = []
    for name in names:
        a, b = Case(args.default / name, args.main), Case(args.variant / name, args.main)
        row: dict[object, object] = {
            "case": name,
            "sel default": _quantity(a, "selection"),
            "sel variant": _quantity(b, "selection"),
            "sure": _sure(a, b),
            "rep default x@1%": a.ratio(a.reported, a.main, "1%"),
            "rep variant x@1%": b.ratio(b.reported, b.main, "1%"),
            "rep default x@5%": a.ratio(a.reported, a.main, "5%"),
            "rep variant x@5%": b.ratio(b.reported, b.main, "5%"),
            "variant won": _quantity(b, "reported") > _quantity(a, "reported"),
        }
        for rule, picks_variant in RULES.items():
            row[rule] = picks_variant(a, b)
            pick = b if row[rule] else a
            for c in CUTOFFS:
                row[(rule, c)] = pick.ratio(pick.reported, pick.main, c)
        rows.append(row)
    table = pd.DataFrame(rows).set_index("case")
    shown = [c for c in table.columns if isinstance(c, str) and c not in RULES]
    with pd.option_context("display.width", 200):
        print(table[shown].round(3).to_string())
    held = table.index.str.contains(args.holdout) if args.holdout else table.index != table.index
    d_sel = table["sel variant"] - table["sel default"]
    d_rep = (
        table["rep variant x@1%"]
        + table["rep variant x@5%"]
        - table["rep default x@1%"]
        - table["rep default x@5%"]
    ) / 2
    print(f"\ncorrelation of the variant's gain, selection vs reported: {d_sel.corr(d_rep):.3f}")
    _summary(table, "all")
    if held.any():
        _summary(table[~held], "tuned on")
        _summary(table[held], f"held out ({args.holdout})")


if __name__ == "__main__":
    main()
