"""The size Dask gives a spec's prepared data: the bytes of its events and panel.

Dask weighs a task's inputs by ``dask.sizeof.sizeof`` when it places the task (a worker that
lacks an input must fetch it) and when it steals one (moving a task costs its inputs'
transfer), and sums them for its workers' memory. An object it does not know is
``sys.getsizeof``: 56 bytes for a ``Prepared``, whose copy is ~26 MB at 5k cells x 156 weeks
and 3.4 GiB at 500k cells, so placement and stealing never weighed a copy of the panel.

Registered when this module is imported: by ``cluster.tasks``, which a worker imports to run
any of a spec's tasks (the preparation included) before it holds a ``Prepared``. Dask weighs
each task's value alone: specs sharing one panel (``jobs.prepare.for_spec``) count it once
each.
"""

from __future__ import annotations

from dask.sizeof import sizeof

from hotspots.jobs.prepare import Prepared


@sizeof.register(Prepared)
def sizeof_prepared(prepared: Prepared) -> int:
    """``Prepared.nbytes``: its events' and panel's arrays and frames."""
    return prepared.nbytes
