"""dlt's load step starts a package's largest files first.

dlt starts new jobs in the order the package's `new_jobs` folder lists them (the file
system's, in effect random) as worker slots free up. A load is as long as its slowest
chain of work, and the largest table's file is most of the load: on the benchmark account
(bench/load.py, 48 tables) `meeting_participants` holds 116k of 250k rows and its COPY
took 0.35 s; started as the 37th of 49 jobs, it began at 0.66 s and ended the load's
jobs alone at 1.0 s, with the other worker slots idle. Started first, it runs while the
small tables share the other slots (longest-first scheduling).

`start_largest_files_first()` wraps dlt's `LoadStorage.list_new_jobs` (used by the load
step only; normalize lists its own storage) to return the same files, largest first. dlt
promises no order there; a table's follow-up jobs are still made only when its files are
in. If dlt renames the method, its order stays.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from typing import Any


def start_largest_files_first() -> None:
    """Make dlt's load step list new jobs largest first (idempotent)."""
    try:
        from dlt.common.storages.load_storage import LoadStorage
    except ImportError:
        return
    listed = getattr(LoadStorage, "list_new_jobs", None)
    if not callable(listed) or getattr(listed, "_zoomsync_largest_first", False):
        return

    def list_new_jobs(self: Any, load_id: str) -> Sequence[str]:
        jobs = listed(self, load_id)
        full_path: Callable[[str], str] = self.normalized_packages.storage.make_full_path
        return sorted(jobs, key=lambda job: -_size(full_path(job)))

    list_new_jobs._zoomsync_largest_first = True  # type: ignore[attr-defined]
    LoadStorage.list_new_jobs = list_new_jobs  # type: ignore[method-assign]


@functools.lru_cache(maxsize=4096)
def _size(path: str) -> int:
    # A job file never changes once written (a retry renames it: a new path).
    try:
        return os.path.getsize(path)
    except OSError:
        return 0  # gone meanwhile: dlt finds that out itself
