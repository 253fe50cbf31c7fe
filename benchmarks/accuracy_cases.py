"""The accuracy suite's fixed cases: which data, target, grid, window and folds each one uses.

Real sources are read from ../shared/data (skipped with a reason when absent) with the ingest
maps of the README's "Ingesting your own export"; synthetic cases use Synthetica
(``hotspots.synthetic``), whose true expected counts give the oracle. ``case_spec`` turns a
case into the training spec ``hotspots train`` would read, so the suite measures exactly
what a user's spec gets.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
COVERAGES = (0.01, 0.05)


@dataclass(frozen=True)
class Source:
    """A real export and how to read it (the keys of a spec's ``[data]`` section)."""

    path: Path
    data: dict[str, Any]


SOURCES: dict[str, Source] = {
    "chicago": Source(
        DATA / "chicago_aggravated_assaults/chicago_aggravated_assaults_2010-2019.csv.gz",
        {
            "map": "time=date,lat=latitude,lng=longitude",
            "category_name": "aggravated assault",
            "timezone": "America/Chicago",
        },
    ),
    "gmp": Source(
        DATA / "gmp_burglary_policeuk/gmp_burglary_2016-02_2019-01.csv.gz",
        {"preset": "police-uk", "map": "category=Crime.type"},
    ),
    "london": Source(
        DATA / "london_policeuk_2022/london_crimes_2022.csv.gz",
        {"preset": "police-uk", "map": "time=month,category=type,lat=latitude,lng=longitude"},
    ),
    "houston": Source(
        DATA / "houston_hpd_ggmap/houston_crime_2010-01_2010-08.csv.gz",
        {
            "map": "time=time,lat=lat,lng=lon,category=offense",
            "timezone": "America/Chicago",
            "source_timezone": "UTC",
        },
    ),
    "vancouver": Source(
        DATA / "vancouver_vpd_2020/vancouver_vpd_crimes_2020.csv.gz",
        {
            "map": "year=YEAR,month=MONTH,day=DAY,hour=HOUR,minute=MINUTE,x=X,y=Y,category=TYPE",
            "crs": "EPSG:26910",
            "timezone": "America/Vancouver",
            "max_reject_fraction": 0.15,
        },
    ),
    # `datetime` is the export's Date + Time (local, no zone); no id column: one IncidntNum
    # spans several offence rows, which the ingest would reject as duplicates
    "sf": Source(
        DATA / "sf_sfpd_2007_2013/sfpd_incidents_2007_2013.csv.gz",
        {"map": "time=datetime,lat=Y,lng=X,category=Category", "timezone": "America/Los_Angeles"},
    ),
}


@dataclass(frozen=True)
class Case:
    """One backtest: a source (or a synthetic seed), target, grid, window and folds."""

    name: str
    source: str  # a key of SOURCES, or "synthetic"
    categories: tuple[str, ...] = ()
    resolution: int = 9
    period: str = "W"
    until: str | None = None  # exclusive; None: the last whole period of the data
    start: str | None = None
    folds: int = 52
    refit_every: int | None = 13
    seed: int | None = None  # synthetic cases only

    @property
    def synthetic(self) -> bool:
        return self.source == "synthetic"


def iso_year_end(year: int) -> str:
    """The Monday after ISO week 52 of ``year``: 52 Monday weeks of the year end before it."""
    return (pd.Timestamp.fromisocalendar(year, 1, 1) + pd.Timedelta(weeks=52)).date().isoformat()


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")


def _cases() -> list[Case]:
    cases: list[Case] = []
    for kind in ("BURGLARY", "VEHICLE THEFT", "ROBBERY", "ASSAULT"):
        for year in (2011, 2012, 2013):
            cases.append(Case(f"sf-{_slug(kind)}-{year}", "sf", (kind,), until=iso_year_end(year)))
    for year in (2017, 2018, 2019):
        cases.append(Case(f"chicago-r9-{year}", "chicago", until=iso_year_end(year)))
    cases.append(Case("chicago-r8-2018", "chicago", resolution=8, until=iso_year_end(2018)))
    # resolution 10 has ~10x the cells: three years of history and two fits keep it sane
    cases.append(
        Case(
            "chicago-r10-2018",
            "chicago",
            resolution=10,
            start="2016-01-04",
            until=iso_year_end(2018),
            refit_every=26,
        )
    )
    cases.append(Case("gmp-burglary", "gmp", (), 8, "M", "2019-02-01", folds=12, refit_every=None))
    for kind in ("burglary", "vehicle crime", "robbery"):
        # one year only: the last 6 months are the folds, fitted on the first 6
        cases.append(
            Case(f"london-{_slug(kind)}", "london", (kind,), 8, "M", "2023-01-01", folds=6)
        )
    for kind, cats in (
        ("theft-from-vehicle", ("Theft from Vehicle",)),
        ("break-and-enter", ("Break and Enter",)),
    ):
        cases.append(
            Case(
                f"vancouver-{kind}", "vancouver", cats, until="2020-12-28", folds=16, refit_every=8
            )
        )
    for kind in ("theft", "burglary"):
        cases.append(Case(f"houston-{kind}", "houston", (kind,), folds=16, refit_every=8))
    for seed in (0, 1, 2):
        for kind in ("Burglary Residential", "Theft from Vehicle", "Assault"):
            cases.append(
                Case(f"synthetic-s{seed}-{_slug(kind)}", "synthetic", (kind,), folds=26, seed=seed)
            )
    # a seed no one tuned the city or the models on (seeds 0-4 were looked at)
    cases.append(Case("synthetic-s7-burglary-residential", "synthetic", ("Burglary Residential",),
                      folds=26, seed=7))  # fmt: skip
    return cases


CASES: dict[str, Case] = {c.name: c for c in _cases()}

QUICK: dict[str, dict[str, Any]] = {
    "chicago-r9-2018": {"folds": 13, "refit_every": None},
    "gmp-burglary": {},
    "sf-burglary-2013": {"folds": 26},
    "synthetic-s0-burglary-residential": {"folds": 12, "refit_every": None},
    "synthetic-s1-burglary-residential": {"folds": 12, "refit_every": None},
}
"""The ``--quick`` subset for development, with the fold settings it runs with."""


def selected(names: list[str] | None, quick: bool) -> list[Case]:
    """The cases to run: those named, else the quick subset, else all (in table order)."""
    if names:
        unknown = [n for n in names if n not in CASES]
        if unknown:
            raise SystemExit(f"unknown cases {unknown}; cases are: {', '.join(CASES)}")
        chosen = [CASES[n] for n in names]
    elif quick:
        chosen = [CASES[n] for n in QUICK]
    else:
        chosen = list(CASES.values())
    return [replace(c, **QUICK.get(c.name, {})) if quick else c for c in chosen]


def missing_data(case: Case) -> str | None:
    """Why a case cannot run here (its data folder is absent), or None."""
    if case.synthetic:
        return None
    path = SOURCES[case.source].path
    if not path.parent.is_dir():
        return f"{path.parent} is absent (the real extracts live beside the checkout)"
    if not path.is_file():
        return f"{path} is absent"
    return None


def case_spec(
    case: Case,
    events: Path,
    *,
    kind: str,
    params: dict[str, Any],
    data: dict[str, Any] | None = None,
    truth: Path | None = None,
    challengers: tuple[str, ...] = (),
) -> Any:
    """The ``TrainingSpec`` of ``case`` reading ``events`` (an export or an event table).

    ``data`` adds ``[data]`` keys (how to read an export, a boundary); ``truth`` adds the
    oracle (``[backtest] truth``); ``challengers`` other learned kinds the selection weighs.
    """
    from hotspots.jobs.spec import spec_from_dict

    backtest: dict[str, Any] = {
        "folds": case.folds,
        "refit_every": case.refit_every,
        "coverages": list(COVERAGES),
    }
    if truth is not None:
        backtest["truth"] = str(truth)
    raw = {
        "name": case.name,
        "data": {"events": str(events), **(data or {})},
        "target": {"categories": list(case.categories)},
        "grid": {"resolution": case.resolution, "period": case.period},
        "window": {"start": case.start, "until": case.until},
        "model": {"kind": kind, "params": params, "challengers": list(challengers)},
        "backtest": backtest,
    }
    return spec_from_dict(raw, source=f"case {case.name}")


def source_columns(source: Source) -> list[str]:
    """The columns the ingest needs from the source (preset and map resolved as the ingest
    resolves them), checked against the file's header: fast, no row is read.

    Raises ConfigError when the map, CRS or timezone does not parse and KeyError naming the
    columns the file lacks.
    """
    from hotspots.ingest.pipeline import make_plan
    from hotspots.jobs.data import ingest_options

    plan = make_plan(ingest_options(**source.data), "csv")
    header = {c.lower() for c in pd.read_csv(source.path, nrows=0).columns}
    wanted = [col for key, col in plan.cmap.items() if key not in plan.optional]
    absent = [c for c in wanted if c.lower() not in header]
    if absent:
        raise KeyError(f"{source.path.name} lacks mapped columns {absent}")
    return wanted
