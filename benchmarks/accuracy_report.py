"""What the accuracy suite records per case and prints: tables, ratios, the summary.

A case's record is plain JSON: every model's (and the oracle's) hit rate, PAI and PEI at 1%
and 5% with 95% intervals, the main model's ratio to the best baseline at each cutoff, its
share of the oracle's PAI, the model ``select_model`` would publish, and what the main
model's top 1% adds to the historical-mean map.
"""

from __future__ import annotations

import math
from typing import Any

CUTOFFS = ("1%", "5%")
METRICS = ("hit_rate", "pai", "pei")
GOAL = 1.10
MAP_BASELINE = "historical_mean"  # the map a force already has


def _ratio(value: float, of: float) -> float:
    return value / of if of > 0 else math.nan


def case_record(
    result: Any, selection: Any, main: str, challengers: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The JSON-able measures of one backtest (``result``) whose main model is ``main``
    (``challengers``: the other learned models, not baselines)."""
    from hotspots.evaluation import flag_changes

    scores: dict[str, dict[str, Any]] = {}
    for cutoff in CUTOFFS:
        table = result.table(cutoff, references=True)
        for name, row in table.iterrows():
            entry = scores.setdefault(str(name), {})
            for m in METRICS:
                entry[f"{m}@{cutoff}"] = [row[m], row[f"{m}_ci_low"], row[f"{m}_ci_high"]]
    baselines = [m for m in result.models if m != main and m not in challengers]
    record: dict[str, Any] = {
        "main": main,
        "references": list(result.references),
        "scores": scores,
        "published": selection.name,
        "published_reason": selection.reason,
    }
    for cutoff in CUTOFFS:
        pai = {m: scores[m][f"pai@{cutoff}"][0] for m in baselines}
        best = max(pai, key=lambda m: (pai[m], m)) if pai else None
        record[f"best_baseline@{cutoff}"] = best
        main_pai = scores[main][f"pai@{cutoff}"][0]
        record[f"ratio@{cutoff}"] = _ratio(main_pai, pai[best]) if best else math.nan
        published_pai = scores[selection.name][f"pai@{cutoff}"][0]
        record[f"published_ratio@{cutoff}"] = _ratio(published_pai, pai[best]) if best else math.nan
        for ref in result.references:
            oracle = scores[ref][f"pai@{cutoff}"][0]
            record[f"share_of_{ref}@{cutoff}"] = {
                m: _ratio(scores[m][f"pai@{cutoff}"][0], oracle) for m in result.models
            }
    if MAP_BASELINE in result.models and main != MAP_BASELINE:
        mine = flag_changes(result, main, MAP_BASELINE, "1%")
        theirs = flag_changes(result, MAP_BASELINE, main, "1%")
        record["adds@1%"] = {
            "cells_flagged": mine.k,
            "events_main_only": mine.events_model_only,
            "events_map_only": mine.events_other_only,
            "cells_main_only_per_fold": mine.cells_model_only,
            "churn_main": mine.churn,
            "churn_map": theirs.churn,
        }
    return record


def _ci(triple: list[float], digits: int) -> str:
    mean, low, high = triple
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "-"
    return f"{mean:.{digits}f} [{low:.{digits}f},{high:.{digits}f}]"


def print_case(name: str, record: dict[str, Any]) -> None:
    """The case's model table, ratios, oracle shares, published model and what it adds."""
    header = f"{'model':<18}" + "".join(
        f"{m.replace('hit_rate', 'hit') + '@' + c:>22}" for c in CUTOFFS for m in METRICS
    )
    refs = record["references"]
    if refs:
        header += "".join(f"{'/' + r + '@1%':>12}" for r in refs)
    print(header)
    for model, entry in record["scores"].items():
        cells = [_ci(entry[f"{m}@{c}"], 2 if m == "pai" else 3) for c in CUTOFFS for m in METRICS]
        line = f"{model + (' (ref)' if model in refs else ''):<18}" + "".join(
            f"{x:>22}" for x in cells
        )
        for r in refs:
            share = record["share_of_" + r + "@1%"].get(model)
            line += f"{share:>12.3f}" if share is not None else f"{'':>12}"
        print(line)
    main = record["main"]
    for c in CUTOFFS:
        best = record[f"best_baseline@{c}"]
        print(f"  {main} PAI@{c} / best baseline ({best}): {record[f'ratio@{c}']:.3f}x")
    print(f"  published: {record['published']} ({record['published_reason']})")
    print(
        f"  published model's PAI / best baseline's on the reported folds: "
        f"{record['published_ratio@1%']:.3f}x at 1%, {record['published_ratio@5%']:.3f}x at 5%"
    )
    if adds := record.get("adds@1%"):
        print(
            f"  top 1% ({adds['cells_flagged']} cells) vs {MAP_BASELINE}: "
            f"{adds['events_main_only']} events in cells only {main} flags, "
            f"{adds['events_map_only']} in cells only the map flags "
            f"({adds['cells_main_only_per_fold']:.1f} cells differ per fold); "
            f"flags changing fold to fold: {main} {adds['churn_main']:.1%}, "
            f"map {adds['churn_map']:.1%}"
        )


def summary_rows(records: list[dict[str, Any]]) -> list[dict[str, str]]:
    """One row of text per case for the summary table (failed and skipped cases too)."""
    rows = []
    for r in records:
        if r.get("status") != "ok":
            rows.append({"case": r["case"], "note": f"{r['status']}: {r.get('reason', '')}"})
            continue
        main = r["main"]
        pai = r["scores"][main]["pai@1%"]
        share = r.get("share_of_oracle@1%", {}).get(main)
        adds = r.get("adds@1%")
        rows.append(
            {
                "case": r["case"],
                "folds": str(r["folds"]),
                "cells": f"{r['cells']:,}",
                "main PAI@1% [95% CI]": _ci(pai, 2),
                "best baseline@1%": f"{r['best_baseline@1%']} "
                f"{r['scores'][r['best_baseline@1%']]['pai@1%'][0]:.2f}",
                "x@1%": f"{r['ratio@1%']:.3f}",
                "x@5%": f"{r['ratio@5%']:.3f}",
                "oracle share@1%": "-" if share is None else f"{share:.3f}",
                "published": r["published"],
                "pub x@1%": f"{r['published_ratio@1%']:.3f}",
                "events +main/+map": "-"
                if not adds
                else f"{adds['events_main_only']}/{adds['events_map_only']}",
                "churn": "-" if not adds else f"{adds['churn_main']:.0%}",
                "time s": f"{r['seconds']:.0f}",
            }
        )
    return rows


_COLUMNS = (
    "case",
    "folds",
    "cells",
    "main PAI@1% [95% CI]",
    "best baseline@1%",
    "x@1%",
    "x@5%",
    "oracle share@1%",
    "published",
    "pub x@1%",
    "events +main/+map",
    "churn",
    "time s",
)


def print_summary(records: list[dict[str, Any]]) -> None:
    """The summary table, one row per case, and how many cases meet the 1.10x goal."""
    rows = summary_rows(records)
    widths = {c: max([len(c)] + [len(r.get(c, "")) for r in rows]) for c in _COLUMNS}
    print("  ".join(f"{c:<{widths[c]}}" for c in _COLUMNS))
    for r in rows:
        if "note" in r:
            print(f"{r['case']:<{widths['case']}}  {r['note']}")
        else:
            print("  ".join(f"{r[c]:<{widths[c]}}" for c in _COLUMNS))
    ok = [r for r in records if r.get("status") == "ok"]
    met = sum(r["ratio@1%"] >= GOAL for r in ok)
    below = sum(r["ratio@1%"] < 1 or r["ratio@5%"] < 1 for r in ok)
    pub_below = sum(r["published_ratio@1%"] < 1 for r in ok)
    print(
        f"main model: {met} of {len(ok)} cases at >= {GOAL}x the best baseline at 1%; "
        f"{below} below the best baseline at 1% or 5%; published model below the best "
        f"baseline at 1% in {pub_below}"
    )


def markdown(records: list[dict[str, Any]], header: str) -> str:
    """The summary as a markdown table the README can paste (``header``: a line above it)."""
    rows = [r for r in summary_rows(records) if "note" not in r]
    lines = [header, "", "| " + " | ".join(_COLUMNS) + " |"]
    lines.append(
        "|" + "|".join("---" if c in ("case", "published") else "---:" for c in _COLUMNS) + "|"
    )
    lines += ["| " + " | ".join(r[c] for c in _COLUMNS) + " |" for r in rows]
    skipped = [r for r in records if r.get("status") != "ok"]
    if skipped:
        lines += [
            "",
            "Not run: "
            + "; ".join(f"{r['case']} ({r['status']}: {r.get('reason', '')})" for r in skipped),
        ]
    return "\n".join(lines) + "\n"
