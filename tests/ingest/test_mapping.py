"""Column maps (``--map``) and the named presets."""

from __future__ import annotations

import pytest

from hotspots.errors import ConfigError
from hotspots.ingest.mapping import KEYS, PRESETS, ColumnMap, get_preset

POLICE_UK_HEADER = [
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
]
CHICAGO_HEADER = [
    "ID",
    "Case Number",
    "Date",
    "Block",
    "IUCR",
    "Primary Type",
    "Description",
    "Location Description",
    "Arrest",
    "Domestic",
    "Beat",
    "District",
    "Ward",
    "Community Area",
    "FBI Code",
    "X Coordinate",
    "Y Coordinate",
    "Year",
    "Updated On",
    "Latitude",
    "Longitude",
    "Location",
]


# --- parse -------------------------------------------------------------------------------


def test_parse_sets_each_named_field_and_leaves_the_rest_none() -> None:
    cmap = ColumnMap.parse("time=Date,lat=Latitude,lng=Longitude,category=Primary Type")
    assert cmap == ColumnMap(time="Date", lat="Latitude", lng="Longitude", category="Primary Type")
    assert cmap.date is None
    assert cmap.id is None


def test_parse_every_key() -> None:
    text = ",".join(f"{key}=col_{key}" for key in KEYS)
    cmap = ColumnMap.parse(text)
    assert cmap.items() == [(key, f"col_{key}") for key in KEYS]


def test_parse_strips_whitespace_around_parts_keys_and_columns_but_not_inside() -> None:
    cmap = ColumnMap.parse("  time = Date ,  LAT=Latitude,lng=  Longitude  , category=Crime type ")
    assert cmap == ColumnMap(time="Date", lat="Latitude", lng="Longitude", category="Crime type")


def test_parse_skips_empty_parts() -> None:
    assert ColumnMap.parse(",time=Date,,lat=a,lng=b,") == ColumnMap(time="Date", lat="a", lng="b")
    assert ColumnMap.parse("") == ColumnMap()


def test_parse_keeps_an_equals_sign_inside_the_column_name() -> None:
    assert ColumnMap.parse("category=a=b").category == "a=b"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("time=Date,when=Other", "'when'"),
        ("latitude=Lat", "'latitude'"),
        ("=Date", "''"),
    ],
)
def test_parse_unknown_key_names_it_and_lists_the_keys(text: str, named: str) -> None:
    with pytest.raises(ConfigError, match="unknown") as info:
        ColumnMap.parse(text)
    message = str(info.value)
    assert f"key {named}" in message
    assert "time, date, year, month, day, hour, minute, tz, lat, lng" in message


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("time", "'time'"),
        ("time=Date,lat", "'lat'"),
        ("time=", "'time='"),
        ("time=Date,lat=   ", "'lat='"),
    ],
)
def test_parse_part_without_a_column_names_the_part(text: str, part: str) -> None:
    with pytest.raises(ConfigError, match="is not key=COLUMN") as info:
        ColumnMap.parse(text)
    assert f"part {part}" in str(info.value)


@pytest.mark.parametrize("text", ["time=Date,time=Other", "lat=a,LAT=b", "lat=a, lat =a"])
def test_parse_duplicate_key_names_it(text: str) -> None:
    with pytest.raises(ConfigError, match="given twice") as info:
        ColumnMap.parse(text)
    duplicated = "time" if text.startswith("time") else "lat"
    assert f"key {duplicated!r}" in str(info.value)


def test_config_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown"):
        ColumnMap.parse("nope=x")


# --- merged, items, str --------------------------------------------------------------------


def test_merged_replaces_only_the_fields_the_other_map_sets() -> None:
    preset = ColumnMap(time="Month", lat="Latitude", lng="Longitude", category="Crime type")
    override = ColumnMap(category="type", lat="latitude")
    merged = preset.merged(override)
    assert merged == ColumnMap(time="Month", lat="latitude", lng="Longitude", category="type")
    # neither input changes
    assert preset.category == "Crime type"
    assert override.time is None


def test_merged_with_an_empty_map_is_unchanged() -> None:
    cmap = ColumnMap(time="t", lat="a", lng="b")
    assert cmap.merged(ColumnMap()) == cmap
    assert ColumnMap().merged(cmap) == cmap


def test_items_lists_set_fields_in_field_order() -> None:
    cmap = ColumnMap(category="c", lng="x", time="t", lat="y")
    assert cmap.items() == [("time", "t"), ("lat", "y"), ("lng", "x"), ("category", "c")]
    assert ColumnMap().items() == []


def test_str_writes_the_map_in_parse_syntax() -> None:
    cmap = ColumnMap(category="Primary Type", lng="Longitude", time="Date", lat="Latitude")
    assert str(cmap) == "time=Date,lat=Latitude,lng=Longitude,category=Primary Type"


@pytest.mark.parametrize(
    "cmap",
    [
        ColumnMap(),
        ColumnMap(time="Date", lat="Latitude", lng="Longitude", category="Primary Type", id="ID"),
        ColumnMap(date="d", hour="h", x="X", y="Y", origin="src"),
        ColumnMap(year="YEAR", month="MONTH", day="DAY", hour="HOUR", minute="MINUTE"),
    ],
)
def test_str_parse_round_trip(cmap: ColumnMap) -> None:
    assert ColumnMap.parse(str(cmap)) == cmap


def test_projected_is_true_with_x_or_y() -> None:
    assert ColumnMap(x="X").projected
    assert ColumnMap(y="Y").projected
    assert not ColumnMap(lat="a", lng="b").projected


# --- check ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "time=t,lat=a,lng=b",
        "time=t,x=X,y=Y",
        "date=d,lat=a,lng=b",
        "date=d,hour=h,lat=a,lng=b",
        "date=d,hour=h,minute=m,lat=a,lng=b",
        "year=Y,month=M,lat=a,lng=b",
        "year=Y,month=M,day=D,lat=a,lng=b",
        "year=Y,month=M,day=D,hour=H,minute=MI,x=X,y=Y",
        "time=t,lat=a,lng=b,category=c,id=i,origin=o",
    ],
)
def test_check_accepts_complete_maps(text: str) -> None:
    ColumnMap.parse(text).check()  # raises on failure


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # coordinates
        ("time=t", "needs lat=COL and lng=COL"),
        ("time=t,lat=a", "needs lat=COL and lng=COL"),
        ("time=t,lng=b", "needs lat=COL and lng=COL"),
        ("time=t,x=X", "needs both x= and y="),
        ("time=t,y=Y", "needs both x= and y="),
        ("time=t,x=X,y=Y,lat=a", "needs both x= and y="),
        ("time=t,x=X,y=Y,lng=b", "needs both x= and y="),
        ("time=t,x=X,lat=a,lng=b", "needs both x= and y="),
        # time
        ("lat=a,lng=b", "needs a time"),
        ("year=Y,lat=a,lng=b", "needs a time"),
        ("month=M,day=D,lat=a,lng=b", "needs a time"),
        ("hour=H,lat=a,lng=b", "needs a time"),
        ("time=t,year=Y,lat=a,lng=b", "time= together with year"),
        ("time=t,date=d,lat=a,lng=b", "time= together with date"),
        ("time=t,hour=H,minute=M,lat=a,lng=b", "time= together with hour, minute"),
        ("date=d,day=D,lat=a,lng=b", "date= together with year/month/day"),
        ("date=d,year=Y,lat=a,lng=b", "date= together with year/month/day"),
        ("date=d,month=M,lat=a,lng=b", "date= together with year/month/day"),
        ("date=d,minute=M,lat=a,lng=b", "minute= without hour="),
        ("year=Y,month=M,day=D,minute=MI,lat=a,lng=b", "minute= without hour="),
    ],
)
def test_check_rejects_incomplete_or_conflicting_maps(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ColumnMap.parse(text).check()


# --- presets -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "header"), [("police-uk", POLICE_UK_HEADER), ("chicago", CHICAGO_HEADER)]
)
def test_preset_columns_are_in_the_real_export_header(name: str, header: list[str]) -> None:
    preset = get_preset(name)
    named = [column for _, column in preset.columns.items()]
    assert named, "a source preset must name its columns"
    assert set(named) <= set(header)
    preset.columns.check()


def test_police_uk_preset() -> None:
    preset = get_preset("police-uk")
    assert preset.columns == ColumnMap(
        time="Month", lat="Latitude", lng="Longitude", category="Crime type", id="Crime ID"
    )
    assert preset.time_format == "%Y-%m"
    assert preset.timezone == "Europe/London"


def test_chicago_preset() -> None:
    preset = get_preset("chicago")
    assert preset.columns == ColumnMap(
        time="Date", lat="Latitude", lng="Longitude", category="Primary Type", id="ID"
    )
    assert preset.time_format == "%m/%d/%Y %I:%M:%S %p"
    assert preset.timezone == "America/Chicago"


def test_generic_preset_names_no_columns_and_needs_a_map() -> None:
    preset = get_preset("generic")
    assert preset.columns.items() == []
    assert preset.time_format is None
    with pytest.raises(ConfigError):
        preset.columns.check()


def test_preset_overridden_by_a_map_for_renamed_columns() -> None:
    # the shared London extract carries police.uk data under lower-case names
    cmap = get_preset("police-uk").columns.merged(
        ColumnMap.parse("time=month,category=type,lat=latitude,lng=longitude")
    )
    assert cmap == ColumnMap(
        time="month", lat="latitude", lng="longitude", category="type", id="Crime ID"
    )


def test_preset_names_match_their_keys() -> None:
    assert {name: preset.name for name, preset in PRESETS.items()} == {n: n for n in PRESETS}


@pytest.mark.parametrize("name", ["nope", "Chicago", "police_uk", ""])
def test_get_preset_unknown_lists_the_known_ones(name: str) -> None:
    with pytest.raises(ConfigError) as info:
        get_preset(name)
    message = str(info.value)
    assert f"unknown preset {name!r}" in message
    assert "presets are: police-uk, chicago, generic" in message


def test_hour_without_a_day_is_refused() -> None:
    cmap = ColumnMap.parse("year=Y,month=M,hour=H,lat=a,lng=b")
    with pytest.raises(ConfigError, match="hour= without day="):
        cmap.check()
