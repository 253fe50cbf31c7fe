"""H3 grid: points -> cells, study area, neighbours, boundaries."""

from hotspots.grid.cells import (
    cell_area_km2,
    cell_to_boundary,
    cell_to_polygon,
    cells_area_km2,
    cells_resolution,
    cells_to_geojson,
    cells_to_latlng,
    cells_to_parents,
    cells_to_strings,
    check_resolution,
    grid_disk_cells,
    grid_disk_table,
    is_valid_cell,
    points_to_cells,
    strings_to_cells,
    text_to_cell,
)
from hotspots.grid.study_area import StudyArea, cells_to_bbox

__all__ = [
    "StudyArea",
    "cell_area_km2",
    "cell_to_boundary",
    "cell_to_polygon",
    "cells_area_km2",
    "cells_resolution",
    "cells_to_bbox",
    "cells_to_geojson",
    "cells_to_latlng",
    "cells_to_parents",
    "cells_to_strings",
    "check_resolution",
    "grid_disk_cells",
    "grid_disk_table",
    "is_valid_cell",
    "points_to_cells",
    "strings_to_cells",
    "text_to_cell",
]
