"""The limits of a patrol plan, as plain numbers: the grid code enforces them, the publishing
code and the API check them, and the CLI's help states them without loading the grid."""

MAX_AREA_CELLS = 100
"""The most cells one area may hold: its limit may be at most this many of the smallest cell.
Growing an area looks at its whole frontier at every step, for each seed candidate, so time
grows with the square of its cells: 6 areas of 80 km2 (720 cells at resolution 9) took 13 s
and a budget larger than the city minutes. 100 cells is about 11 km2 at resolution 9 (1.5 at
10, 73 at 8), ten times the default area, and keeps the worst plan allowed near a second."""

MAX_AREAS = 50
"""The most areas one plan may have (a tasking plan, not a city partition)."""
