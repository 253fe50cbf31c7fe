"""Training and backtesting many specs as tasks on a Dask cluster (``pip install
hotspots[dask]``). Nothing here is imported unless ``--cluster`` or
``HOTSPOTS_DASK_SCHEDULER`` asks for a cluster: the serial path needs no Dask."""

from hotspots.cluster.connect import connect, parse_address
from hotspots.cluster.specs import SpecOutcome, run_specs
from hotspots.cluster.tasks import Outline

__all__ = ["Outline", "SpecOutcome", "connect", "parse_address", "run_specs"]
