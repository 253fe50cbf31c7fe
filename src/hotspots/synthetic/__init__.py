"""Synthetica: a seeded synthetic city with known true crime intensity.

The city is a 24 km x 24 km box around (40.0, -100.0). Each category has its own places (a
low base, a downtown, dense areas, road corridors and a few spots of its own), a weekly and a
yearly rhythm, and a self-exciting near-repeat part: every event raises the risk in its cell
and the neighbouring cells for days. The simulation runs per day, vectorised over cells; its
conditional intensity (the compensator) is the oracle a model can be compared with.

Modules: ``profiles`` (constants and category profiles), ``simulate`` (intensity and
self-excitation), ``events`` (event rows and their defects), ``city`` (``City``,
``generate_city``) and ``files`` (``write_city``).
"""

from hotspots.synthetic.city import City, generate_city, study_area
from hotspots.synthetic.files import write_city
from hotspots.synthetic.profiles import (
    BBOX,
    BURN_IN_DAYS,
    CATEGORIES,
    CENTER,
    COLUMN_MAP,
    DECAY,
    DEFECT_RATES,
    DISCRETIONARY,
    FREQS,
    GZIP,
    HALF_SIDE_KM,
    KM_PER_DEGREE,
    NAME,
    ODD_TIMES,
    ORIGINS,
    PROFILES,
    RAW_COLUMNS,
    SELF_SHARE,
    TIMEZONE,
    CategoryProfile,
)
from hotspots.synthetic.simulate import IntArray

__all__ = [
    "BBOX",
    "BURN_IN_DAYS",
    "CATEGORIES",
    "CENTER",
    "COLUMN_MAP",
    "DECAY",
    "DEFECT_RATES",
    "DISCRETIONARY",
    "FREQS",
    "GZIP",
    "HALF_SIDE_KM",
    "KM_PER_DEGREE",
    "NAME",
    "ODD_TIMES",
    "ORIGINS",
    "PROFILES",
    "RAW_COLUMNS",
    "SELF_SHARE",
    "TIMEZONE",
    "CategoryProfile",
    "City",
    "IntArray",
    "generate_city",
    "study_area",
    "write_city",
]
