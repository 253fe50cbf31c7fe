"""First-of-month dates read as months: what the evidence costs on a million-row column.

Prints seconds (best of --repeat) for ``hotspots.ingest.monthdates.month_dates`` on a
million parsed times in Europe/London: monthly data written as first-of-month dates (every
row looked at: the worst case), daily dates (a date that is no 1st among the first 1,000 rows
ends it), and first-of-month dates but one row (the whole column looked at, then no); then
UTC midnights of 1sts as epoch milliseconds and as ``...T00:00:00Z`` (01:00 in London in
summer: the wall clock they were written in decides, the whole column read back).
No target: it should cost little beside parsing the column, which it prints too.

    .venv/bin/python benchmarks/month_dates.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from hotspots.ingest.monthdates import MonthDates, month_dates
from hotspots.ingest.times import ParsedTimes, parse_time_column

TZ = "Europe/London"


def columns(rows: int) -> dict[str, tuple[pd.Series, str | None]]:
    rng = np.random.default_rng(0)
    months = np.sort(rng.integers(0, 60, rows)).astype("m8[M]") + np.datetime64("2016-01", "M")
    days = np.sort(rng.integers(0, 5 * 365, rows)).astype("m8[D]") + np.datetime64("2016-01-01")
    firsts = pd.Series(months.astype("M8[D]").astype(str), dtype="string")
    one_off = firsts.copy()
    one_off.iloc[rows // 2 + 1] = "2018-06-02"  # a row the first look does not reach
    daily = pd.Series(days.astype(str), dtype="string")
    epoch = pd.Series(months.astype("M8[ms]").astype(np.int64).astype(str), dtype="string")
    utc = pd.Series(np.char.add(months.astype("M8[D]").astype(str), "T00:00:00Z"), dtype="string")
    return {
        "first-of-month": (firsts, None),
        "daily": (daily, None),
        "1sts but one": (one_off, None),
        "epoch-ms 1sts": (epoch, "epoch-ms"),
        "Z 1sts": (utc, None),
    }


def best_of(repeat: int, run: Callable[[], object]) -> tuple[float, object]:
    best, out = float("inf"), object()
    for _ in range(repeat):
        t = time.perf_counter()
        out = run()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    for label, (values, fmt) in columns(args.rows).items():
        parse_s, parsed = best_of(
            args.repeat, lambda v=values, f=fmt: parse_time_column(v, TZ, TZ, f)
        )
        assert isinstance(parsed, ParsedTimes)
        times, precision, clock = parsed.times, parsed.precision, parsed.clock
        rows = np.ones(len(times), dtype=bool)
        seconds, found = best_of(
            args.repeat,
            lambda t=times, p=precision, r=rows, c=clock: month_dates(t, p, r, False, c),
        )
        verdict = "days"
        if isinstance(found, MonthDates):
            verdict = f"months: {found.events:,} over {found.months}"
        print(
            f"{label:>18}: evidence {seconds:6.3f} s, parsing {parse_s:6.3f} s for "
            f"{len(values):,} rows; {verdict}"
        )


if __name__ == "__main__":
    main()
