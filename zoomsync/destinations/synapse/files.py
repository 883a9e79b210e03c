"""A load package's data files per table, as the uploader numbers them (upload.py).

Each staged row gets `_zoomsync_seq`: its place in its file, above the file's place among
its table's files in the package. A table's files are listed from the package's job
folders, sorted by dlt's file id: dlt names them at random, so the places order the files
arbitrarily but the same way every time (a retried upload numbers its rows as before).
Which of a repeated key's rows wins is told by the table's `dedup_sort` column where it has
one (zoomsync's source sets `_zoomsync_read_order`); without one, by this number, as
arbitrary across files as dlt's own merge.
"""

from __future__ import annotations

import contextlib
import functools
import os

_FOLLOW_UPS = ("sql", "reference")  # formats of dlt's follow-up jobs: not data files
_FOLDERS = ("new_jobs", "started_jobs", "completed_jobs", "failed_jobs")  # dlt's job folders


def file_place(file_path: str) -> int:
    """The place (0, 1, ...) of a job file (`table.file_id.retry.format`, in one of its load
    package's job folders) among its table's files."""
    table, file_id = os.path.basename(file_path).split(".")[:2]
    return table_files(os.path.dirname(os.path.dirname(file_path)))[table].index(file_id)


@functools.lru_cache(maxsize=8)
def table_files(package: str) -> dict[str, list[str]]:
    """Table -> the ids of its data files in a load package's folder, sorted; listed once:
    dlt moves job files between these folders, renaming only their retry count, and a
    package gets no new data files once it is loading. Follow-up jobs are left out."""
    ids: set[tuple[str, str]] = set()
    for folder in _FOLDERS:
        with contextlib.suppress(FileNotFoundError):
            ids |= {(parts[0], parts[1]) for parts in (
                name.split(".") for name in os.listdir(os.path.join(package, folder)))
                if len(parts) == 4 and parts[-1] not in _FOLLOW_UPS}
    files: dict[str, list[str]] = {}
    for table, file_id in sorted(ids):
        files.setdefault(table, []).append(file_id)
    return files
