"""Zone names in times: parsing a million-row time column with and without them.

Prints seconds (best of --repeat) for ``parse_time_column`` on the same minute stamps over
five years in Europe/London: plain ISO text; with BST / GMT after each time (read, vectorised
over the column); with a tenth of them named EST (rejected). No target: the named column
should stay within a small factor of the plain one, and the plain one pay next to nothing.
The ~110 wrong_time_zone rows of the named column are times in the hours the clocks skip
(generated at random), which no name fits.

    .venv/bin/python benchmarks/zone_names.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from hotspots.ingest.times import parse_time_column

TZ = "Europe/London"


def columns(rows: int) -> dict[str, pd.Series]:
    rng = np.random.default_rng(0)
    minutes = np.sort(rng.integers(0, 5 * 365 * 1440, rows))
    wall = pd.DatetimeIndex(np.datetime64("2016-01-01") + minutes.astype("m8[m]"))
    local = wall.tz_localize(TZ, ambiguous=False, nonexistent="shift_forward")
    summer = (local.tz_localize(None) - local.tz_convert(None)) > pd.Timedelta(0)
    plain = pd.Series(wall.strftime("%Y-%m-%d %H:%M"), dtype="string")
    named = plain + np.where(summer, " BST", " GMT")
    wrong = named.copy()
    wrong.iloc[::10] = plain.iloc[::10] + " EST"
    return {"plain": plain, "named": named, "named, 10% EST": wrong}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    for label, values in columns(args.rows).items():
        best, parsed = float("inf"), None
        for _ in range(args.repeat):
            t = time.perf_counter()
            parsed = parse_time_column(values, TZ, TZ)
            best = min(best, time.perf_counter() - t)
        assert parsed is not None
        wrong = int(parsed.wrong_zone.sum()) if parsed.wrong_zone is not None else 0
        unread = int(parsed.times.isna().sum()) - wrong
        print(
            f"{label:>16}: {best:6.3f} s for {len(values):,} rows "
            f"({len(values) / best / 1e6:.2f} M rows/s); wrong_time_zone {wrong:,}, "
            f"unreadable {unread:,}"
        )


if __name__ == "__main__":
    main()
