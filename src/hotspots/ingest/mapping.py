"""Column maps and presets: which source column holds which event field.

A column map is written ``key=COLUMN,key=COLUMN``; keys are the event fields below. Time is
either one ``time`` column, a ``date`` column (optionally with ``hour``/``minute``), or split
``year``/``month``/``day``/``hour``/``minute`` columns. A ``tz`` column may give each row's time
zone (``ingest.zonecolumn``). Coordinates are ``lat``/``lng`` in WGS84,
projected ``x``/``y`` together with a CRS, or one ``point`` column holding both (``(lat, lng)``
as open-data portals write it, WKT ``POINT (lng lat)`` or a GeoJSON point; see
``coords.split_points``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from hotspots.errors import ConfigError

TIME_KEYS = ("time", "date", "year", "month", "day", "hour", "minute")
COORD_KEYS = ("lat", "lng", "x", "y", "point")
_COORD_FORMS = (("lat", "lng"), ("x", "y"), ("point",))
KEYS = (*TIME_KEYS, "tz", *COORD_KEYS, "category", "id", "origin", "offence")


@dataclass(frozen=True)
class ColumnMap:
    """Source column name for each event field (None where the source has none)."""

    time: str | None = None
    date: str | None = None
    year: str | None = None
    month: str | None = None
    day: str | None = None
    hour: str | None = None
    minute: str | None = None
    tz: str | None = None  # each row's time zone (ingest.zonecolumn)
    lat: str | None = None
    lng: str | None = None
    x: str | None = None
    y: str | None = None
    point: str | None = None  # one column with both coordinates
    category: str | None = None
    id: str | None = None
    origin: str | None = None
    offence: str | None = None  # a finer type than category, to tell offences of one incident

    @classmethod
    def parse(cls, text: str) -> ColumnMap:
        """Parse ``time=Date,lat=Latitude,...``; raise ConfigError naming a bad part."""
        values: dict[str, str] = {}
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            key, sep, column = part.partition("=")
            key = key.strip().lower()
            if not sep or not column.strip():
                raise ConfigError(f"--map part {part!r} is not key=COLUMN")
            if key not in KEYS:
                raise ConfigError(f"--map key {key!r} is unknown; keys are: {', '.join(KEYS)}")
            if key in values:
                raise ConfigError(f"--map key {key!r} is given twice")
            values[key] = column.strip()
        return cls(**values)

    def merged(self, other: ColumnMap) -> ColumnMap:
        """This map with every field that ``other`` sets replaced by other's column; where
        ``other`` gives coordinates of one form (lat/lng, x/y or point), this map's of the
        other forms are dropped (a preset's lat/lng give way to a point column)."""
        changes = {f.name: getattr(other, f.name) for f in fields(other) if getattr(other, f.name)}
        given = [form for form in _COORD_FORMS if any(k in changes for k in form)]
        if given:
            changes = {k: None for k in COORD_KEYS if k not in given[0]} | changes
        return replace(self, **changes)

    def items(self) -> list[tuple[str, str]]:
        """(field, column) pairs that are set, in field order."""
        return [(f.name, getattr(self, f.name)) for f in fields(self) if getattr(self, f.name)]

    @property
    def projected(self) -> bool:
        """True when coordinates come as projected x/y rather than lat/lng."""
        return bool(self.x or self.y)

    def check(self) -> None:
        """Raise ConfigError unless the map names a complete time and coordinate source."""
        if self.point:
            others = [k for k in COORD_KEYS[:-1] if getattr(self, k)]
            if others:
                raise ConfigError(f"--map gives point= together with {', '.join(others)}=: use one")
        elif self.projected:
            if not (self.x and self.y) or self.lat or self.lng:
                raise ConfigError(
                    "--map needs both x= and y= (and no lat=/lng=) for projected data"
                )
        elif not (self.lat and self.lng):
            raise ConfigError(
                "--map needs lat=COL and lng=COL (or x=COL,y=COL with --crs, or point=COL)"
            )
        if self.time:
            extra = [k for k in TIME_KEYS[1:] if getattr(self, k)]
            if extra:
                raise ConfigError(f"--map gives time= together with {', '.join(extra)}: use one")
        elif self.date:
            if self.year or self.month or self.day:
                raise ConfigError("--map gives date= together with year/month/day: use one")
        elif not (self.year and self.month):
            raise ConfigError(
                "--map needs a time: time=COL, date=COL[,hour=COL], or year=COL,month=COL[,day=...]"
            )
        if self.tz and not (self.time or self.hour):
            raise ConfigError("--map gives tz= without time= or hour=: a zone needs a time of day")
        if self.minute and not self.hour:
            raise ConfigError("--map gives minute= without hour=")
        if self.hour and not (self.day or self.date):
            raise ConfigError("--map gives hour= without day= (or date=): the day is unknown")

    def __str__(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.items())


@dataclass(frozen=True)
class Preset:
    """A named source format: its column map, time format and usual timezone.

    A preset's ``id`` and ``origin`` columns are used where the file has them; every other
    column it names must be there.
    """

    name: str
    columns: ColumnMap
    description: str
    time_format: str | None = None
    timezone: str | None = None
    zip_members: str = "*"
    """Which CSVs of a zip hold the export (an ``fnmatch`` pattern of the member's name)."""


PRESETS: dict[str, Preset] = {
    "police-uk": Preset(
        name="police-uk",
        columns=ColumnMap(
            time="Month", lat="Latitude", lng="Longitude", category="Crime type", id="Crime ID"
        ),
        description="data.police.uk street-level CSV (month-only times, anonymised points)",
        time_format="%Y-%m",
        timezone="Europe/London",
        zip_members="*-street.csv",  # a download's outcomes and stop-and-search are others
    ),
    "chicago": Preset(
        name="chicago",
        columns=ColumnMap(
            time="Date", lat="Latitude", lng="Longitude", category="Primary Type", id="ID"
        ),
        description="City of Chicago data portal crimes export",
        time_format="%m/%d/%Y %I:%M:%S %p",
        timezone="America/Chicago",
    ),
    "generic": Preset(
        name="generic",
        columns=ColumnMap(),
        description="any CSV / Parquet / GeoJSON with a --map of its columns",
    ),
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``; ConfigError listing the known ones otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown preset {name!r}; presets are: {', '.join(PRESETS)}") from None
