"""Is Synthetica like a real city? The same statistics on the real extracts and on the generator.

Real extracts are read from ../shared/data with hotspots' own ingest (the README's maps); a
missing file is skipped with its reason. Synthetica is ``generate_city(seed)`` with the demo's
defaults (two years, ~150,000 events), its clean events measured exactly as the real ones.

Definitions, the same for every source (H3 resolution 9):
- study area: the cells holding any event of the source (every category, whole extract), grown
  by one ring, as ``events_to_panel(k=1)`` does; Synthetica's box is covered whole.
- years: up to two blocks of 365 days ending the day after the last event (12 whole months for
  month-only police.uk times); Vancouver's 2020 and Houston's eight months are one block.
- top1 / top5: share of a block's events in its top 1% / 5% of study cells, mean over blocks.
- hit1: out of sample, per week (month for police.uk): share of the period's events in the top
  1% of cells by the 52 weeks (12 months) before it, mean over the last block's periods; needs
  two blocks.
- drift: a year-old map against the same year's (``hotspots.synthetic.realism.drift_ratio``);
  1.0 = places as hot as a year before; needs two blocks.
- knox: pairs of events in the same or a neighbouring cell, the later 1-7 days after the
  earlier, over the same count with the days shuffled among the category's events (mean of
  three shuffles); 1.0 = no near repeats. Day-or-finer times only (not police.uk); same-day
  pairs are left out, so one incident's several rows do not count as a repeat.
- season: (max - min) / (2 * mean) of the monthly rate (events per day in each calendar month,
  so February is not low for its length; months with fewer than 15 days in a block dropped),
  mean over 12-month blocks; Houston has none.
- ev/cw: events per cell-week in the measured blocks (sparsity).
- orc1 (Synthetica only): hit1 of the map ranking cells by the true expected counts; orc1 / hit1
  is the room a model has over last year's map.

The summary holds top1 / top5 to the real rows of the same kind of crime (``KINDS``) and the
other statistics to every real row. The statistics themselves are in hotspots.synthetic.realism.

    .venv/bin/python benchmarks/realism.py [--seeds 0 1 2] [--no-real] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hotspots.synthetic.realism import (
    counts_grid,
    drift_ratio,
    hit_rate,
    knox_ratio,
    ring_adjacency,
    seasonal_amplitude,
    top_share,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RES = 9
MIN_PER_YEAR = 1_500  # categories with fewer events a year are left out of the table
SF_MAIN = (
    "LARCENY/THEFT", "ASSAULT", "BURGLARY", "VEHICLE THEFT", "VANDALISM", "ROBBERY",
    "DRUG/NARCOTIC",
)  # fmt: skip
KINDS = {  # Synthetica's category -> the real (source, category) rows of the same kind
    "Burglary Residential": (
        ("gmp", "Burglary"), ("london", "burglary"), ("houston", "burglary"),
        ("vancouver", "Break and Enter Residential/Other"), ("sf", "BURGLARY"),
    ),
    "Theft from Vehicle": (
        ("london", "vehicle crime"), ("vancouver", "Theft from Vehicle"), ("sf", "LARCENY/THEFT"),
    ),
    "Robbery": (("london", "robbery"), ("houston", "robbery"), ("sf", "ROBBERY")),
    "Assault": (
        ("chicago", "aggravated assault"), ("london", "violent or sexual"),
        ("houston", "aggravated assault"), ("sf", "ASSAULT"),
    ),
    "Criminal Damage": (
        ("london", "criminal damage or arson"), ("vancouver", "Mischief"), ("sf", "VANDALISM"),
    ),
    "Drugs": (("london", "drugs"), ("sf", "DRUG/NARCOTIC")),
}  # fmt: skip
STATS = ("top1", "top5", "hit1", "drift", "knox", "season", "ev/cw")
KIND_STATS = ("top1", "top5")  # held to the real rows of the same kind of crime
ORACLE = "orc1"  # Synthetica only: hit1 of the map that ranks cells by the true expected counts


@dataclass(frozen=True)
class Source:
    """A real extract and how hotspots ingest reads it (``hotspots.jobs.data.ingest_options``)."""

    path: str
    options: dict[str, Any]
    categories: tuple[str, ...] | None = None  # None: every category with MIN_PER_YEAR


SOURCES = {
    "chicago": Source(
        "chicago_aggravated_assaults/chicago_aggravated_assaults_2010-2019.csv.gz",
        {
            "map": "time=date,lat=latitude,lng=longitude",
            "category_name": "aggravated assault",
            "timezone": "America/Chicago",
        },
    ),
    "gmp": Source(
        "gmp_burglary_policeuk/gmp_burglary_2016-02_2019-01.csv.gz",
        {"preset": "police-uk", "map": "category=Crime.type"},
    ),
    "london": Source(
        "london_policeuk_2022/london_crimes_2022.csv.gz",
        {
            "preset": "police-uk",
            "map": "time=month,category=type,lat=latitude,lng=longitude",
            "include_discretionary": True,  # drugs, to compare with Synthetica's Drugs
        },
    ),
    "houston": Source(
        "houston_hpd_ggmap/houston_crime_2010-01_2010-08.csv.gz",
        {
            "map": "time=time,lat=lat,lng=lon,category=offense",
            "timezone": "America/Chicago",
            "source_timezone": "UTC",
        },
    ),
    "vancouver": Source(
        "vancouver_vpd_2020/vancouver_vpd_crimes_2020.csv.gz",
        {
            "map": "year=YEAR,month=MONTH,day=DAY,hour=HOUR,minute=MINUTE,x=X,y=Y,category=TYPE",
            "crs": "EPSG:26910",
            "timezone": "America/Vancouver",
            "max_reject_fraction": 0.15,
        },
    ),
    # no id column: one IncidntNum spans one row per offence, so ids repeat by design
    "sf": Source(
        "sf_sfpd_2007_2013/sfpd_incidents_2007_2013.csv.gz",
        {
            "map": "time=datetime,lat=Y,lng=X,category=Category",
            "timezone": "America/Los_Angeles",
            "include_discretionary": True,
        },
        SF_MAIN,
    ),
}


@dataclass(frozen=True)
class Prepared:
    """One source's events on its study grid: cell position, local day or month, category."""

    cell: np.ndarray  # position in ``cells``
    day: np.ndarray  # days since 1970-01-01 (local), or -1 for month-only times
    month: np.ndarray  # months since 1970-01
    category: pd.Categorical
    cells: np.ndarray
    monthly: bool  # month-only times (police.uk)
    truth: dict[str, np.ndarray] | None = None  # Synthetica: category -> (day, cell) expected
    truth_day: int = 0  # the day (since 1970-01-01) of the truth's first row


def prepare(events: pd.DataFrame, monthly: bool) -> Prepared:
    """Cells of the study area (cells with events grown by one ring) and integer times."""
    from hotspots.grid import StudyArea, points_to_cells

    lat, lng = events["lat"].to_numpy(np.float64), events["lng"].to_numpy(np.float64)
    area = StudyArea.from_points(lat, lng, RES, k=1)
    cell = area.index_of(points_to_cells(lat, lng, RES))
    times = events["occurred_at"]
    if getattr(times.dtype, "tz", None) is not None:
        times = times.dt.tz_localize(None)
    stamp = times.to_numpy().astype("datetime64[D]")
    day = stamp.astype(np.int64)
    month = stamp.astype("datetime64[M]").astype(np.int64)
    return Prepared(cell, day, month, pd.Categorical(events["category"]), area.cells, monthly)


def blocks(p: Prepared) -> list[tuple[int, int]]:
    """Up to two [lo, hi) year blocks ending at the data's end, latest first (days or months)."""
    if p.monthly:
        end, first, size = int(p.month.max()) + 1, int(p.month.min()), 12
    else:
        end, first, size = int(p.day.max()) + 1, int(p.day.min()), 365
    out = [(end - (k + 1) * size, end - k * size) for k in range(2)]
    out = [(lo, hi) for lo, hi in out if lo >= first]
    return out or [(first, end)]


def oracle_hit(cell: np.ndarray, day: np.ndarray, truth: np.ndarray, first: int, lo: int,
               hi: int) -> float:  # fmt: skip
    """Like ``hit1`` per week of [lo, hi), but ranking cells by the true expected counts."""
    n_weeks = (hi - lo) // 7
    k = max(1, int(np.ceil(0.01 * truth.shape[1])))
    expected = truth[lo - first : lo - first + 7 * n_weeks].reshape(n_weeks, 7, -1).sum(axis=1)
    grid = counts_grid(cell, (day - lo) // 7, n_weeks, truth.shape[1])
    top = np.argpartition(expected, -k, axis=1)[:, -k:]
    hits, total = np.take_along_axis(grid, top, axis=1).sum(axis=1), grid.sum(axis=1)
    return float(np.mean(hits[total > 0] / total[total > 0]))


def measure(p: Prepared, categories: list[str], seed: int = 0) -> list[dict[str, Any]]:
    """The statistics of each category of one prepared source."""
    rng = np.random.default_rng(seed)
    adjacency = ring_adjacency(p.cells)
    spans = blocks(p)
    time_of = p.month if p.monthly else p.day
    n_cells = p.cells.size
    rows = []
    for name in categories:
        mine = np.asarray(p.category == name)
        cell, t = p.cell[mine], time_of[mine]
        per_block = [np.bincount(cell[(t >= lo) & (t < hi)], minlength=n_cells) for lo, hi in spans]
        row: dict[str, Any] = {"category": name}
        row["n/yr"] = float(np.mean([c.sum() for c in per_block]))
        row["top1"] = float(np.mean([top_share(c, 0.01) for c in per_block]))
        row["top5"] = float(np.mean([top_share(c, 0.05) for c in per_block]))
        row["hit1"] = row["drift"] = np.nan
        if len(spans) == 2:  # periods: months for police.uk, else weeks from the block start
            (lo, hi), older = spans[0], spans[1][0]
            step, n = (1, 12) if p.monthly else (7, 52)
            row["hit1"] = hit_rate(cell, (t - lo) // step, n_cells, n, n)
            row["drift"] = drift_ratio(cell, (t - older) // step, n_cells, n)
            if p.truth is not None:
                row[ORACLE] = oracle_hit(cell, t, p.truth[name], p.truth_day, lo, hi)
        inw = (t >= spans[-1][0]) & (t < spans[0][1])
        row["knox"] = np.nan if p.monthly else knox_ratio(cell[inw], t[inw], adjacency, rng)
        seasons = [seasonal_amplitude(t, lo, hi, p.monthly) for lo, hi in spans]
        row["season"] = np.nan if np.isnan(seasons).all() else float(np.nanmean(seasons))
        weeks = (spans[0][1] - spans[-1][0]) * (52 / 12 if p.monthly else 1 / 7)
        row["ev/cw"] = float(inw.sum() / (n_cells * weeks))
        rows.append(row)
    return rows


def load_real(name: str, source: Source) -> tuple[Prepared, list[str]] | str:
    """A source ready to measure and its categories, or the reason it is skipped."""
    from hotspots.jobs.data import ingest_options, load_events

    path = DATA / source.path
    if not path.is_file():
        return f"{path} is absent"
    events = load_events(path, ingest_options(**source.options)).events
    monthly = bool((events["time_precision"] == "month").any())
    p = prepare(events, monthly)
    lo, hi = blocks(p)[0]
    t = p.month if monthly else p.day
    recent = pd.Series(np.asarray(p.category)[(t >= lo) & (t < hi)]).value_counts()
    scale = 12 / (hi - lo) if monthly else 365 / (hi - lo)
    cats = source.categories or tuple(recent.index[recent * scale >= MIN_PER_YEAR])
    return p, list(cats)


def load_synthetic(seed: int) -> tuple[Prepared, list[str]]:
    """Synthetica's clean events (demo defaults) as an event table."""
    from hotspots.synthetic import CATEGORIES, generate_city

    city = generate_city(seed=seed)
    ev = city.events
    events = pd.DataFrame(
        {
            "occurred_at": pd.to_datetime(ev["occurred"], format="%Y-%m-%d %H:%M:%S"),
            "lat": ev["latitude"],
            "lng": ev["longitude"],
            "category": ev["offence"],
        }
    )
    p = prepare(events, monthly=False)
    pos = np.searchsorted(p.cells, city.cells)  # the box's cells are all in the study area
    first = int(np.datetime64(city.start.date(), "D").astype(np.int64))
    truth = {}
    for i, name in enumerate(CATEGORIES):
        truth[name] = np.zeros((city.days, p.cells.size), dtype=np.float32)
        truth[name][:, pos] = city.truth[i]
    return replace(p, truth=truth, truth_day=first), list(CATEGORIES)


def fmt(v: float, stat: str) -> str:
    if v != v:  # nan
        return "-"
    if stat in ("top1", "top5", "hit1", ORACLE):
        return f"{100 * v:.1f}%"
    if stat == "ev/cw":
        return f"{v:.4f}"
    return f"{v:.2f}"


def print_table(title: str, rows: list[dict[str, Any]]) -> None:
    stats = STATS + ((ORACLE,) if rows and ORACLE in rows[0] else ())
    print(f"\n{title}")
    print(f"  {'category':<36}{'n/yr':>9}" + "".join(f"{s:>9}" for s in stats))
    for r in rows:
        cells = "".join(f"{fmt(r.get(s, np.nan), s):>9}" for s in stats)
        print(f"  {r['category'][:35]:<36}{r['n/yr']:>9,.0f}{cells}")


def span(values: list[float]) -> tuple[float, float]:
    """Min and max of the values that are not nan (nan, nan if none)."""
    vals = np.array(values, dtype=float)
    vals = vals[~np.isnan(vals)]
    return (float(vals.min()), float(vals.max())) if vals.size else (np.nan, np.nan)


def print_ranges(real: list[dict[str, Any]], synth: list[dict[str, Any]]) -> None:
    """Each statistic's real range against Synthetica's values, and how many fall inside.

    Concentration depends on the crime type, so top1 and top5 are held to the rows of the
    same kind (``KINDS``); the other statistics, measured on two to four rows per kind, to
    every real row.
    """
    print("\nreal range (min - max over real rows) against Synthetica (min - max over seeds);")
    print(f"top1 and top5 against the rows of the same kind ({', '.join(KIND_STATS)}), the rest")
    print("against every real row")
    print(f"  {'':<22}" + "".join(f"{s:>22}" for s in STATS))
    every = {s: span([r[s] for r in real]) for s in STATS}
    line = "".join(f"{fmt(every[s][0], s) + ' - ' + fmt(every[s][1], s):>22}" for s in STATS)
    print(f"  {'real, every row':<22}{line}")
    inside = dict.fromkeys(STATS, 0)
    total = dict.fromkeys(STATS, 0)
    for cat, kin in KINDS.items():
        same = [r for r in real if (r["source"], r["category"]) in kin]
        mine = [r for r in synth if r["category"] == cat]
        real_line, synth_line = "", ""
        for s in STATS:
            lo, hi = span([r[s] for r in same]) if s in KIND_STATS else every[s]
            slo, shi = span([r[s] for r in mine])
            ok = sum(lo <= r[s] <= hi for r in mine if r[s] == r[s])
            inside[s] += ok
            total[s] += sum(r[s] == r[s] for r in mine)
            real_line += f"{fmt(lo, s) + ' - ' + fmt(hi, s) if s in KIND_STATS else '':>22}"
            synth_line += f"{fmt(slo, s) + ' - ' + fmt(shi, s) + f' {ok}/{len(mine)}':>22}"
        print(f"  {('real ' + cat)[:21]:<22}{real_line}")
        print(f"  {'  synthetica':<22}{synth_line}")
    counts = "".join(f"{f'{inside[s]}/{total[s]}':>22}" for s in STATS)
    print(f"  {'synthetica inside':<22}{counts}")
    print("  oracle room: orc1 / hit1 (the true map's weekly hit rate over the last year's map's)")
    for cat in KINDS:
        gap = [r[ORACLE] / r["hit1"] for r in synth if r["category"] == cat and r.get(ORACLE)]
        if gap:
            print(f"    {cat:<22} mean {np.mean(gap):.2f} ({min(gap):.2f} - {max(gap):.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--no-real", action="store_true", help="measure Synthetica only")
    parser.add_argument("--json", type=Path, help="also write every row here")
    args = parser.parse_args()
    t0 = time.perf_counter()
    real: list[dict[str, Any]] = []
    for name, source in ({} if args.no_real else SOURCES).items():
        t = time.perf_counter()
        loaded = load_real(name, source)
        if isinstance(loaded, str):
            print(f"\n{name}: skipped ({loaded})")
            continue
        rows = measure(*loaded)
        print_table(f"{name} ({time.perf_counter() - t:.1f} s)", rows)
        real += [{"source": name, **r} for r in rows]
    synth: list[dict[str, Any]] = []
    for seed in args.seeds:
        t = time.perf_counter()
        rows = measure(*load_synthetic(seed), seed=seed)
        print_table(f"synthetica seed {seed} ({time.perf_counter() - t:.1f} s)", rows)
        synth += [{"source": f"synthetica-{seed}", **r} for r in rows]
    if real and synth:
        print_ranges(real, synth)
    print(f"\nwall time {time.perf_counter() - t0:.1f} s")
    if args.json:
        args.json.write_text(json.dumps(real + synth, indent=1))


if __name__ == "__main__":
    sys.exit(main())
