"""Data files named in the order they were started, so a file's name tells which rows came later.

dlt names each extracted and normalized file `<table>.<file id>.<retry>.<format>` with a
random 10-hex-digit file id, and a table's rows rotate into a new file every
`file_max_items` rows or `file_max_bytes`. Nothing in a load package then says which of a
table's files holds the later rows, yet a repeated key must keep its last row
(last_row.py): sorted by name, two files came in the wrong order half of the time.

`name_files_in_write_order()` (installed by `zoomsync.destinations.resolve`) gives dlt an
id that starts with the time it is made, in fixed-width hex: names sort as the files were
started. dlt's normalize reads a package's extracted files sorted by name when it runs
several workers (`dlt/normalize/worker.py`), in directory order with one (its default):
`Normalize.spool_files` is given them sorted, so the order holds from extract to load
(a table rotates into several extracted files only if the user sets
EXTRACT__DATA_WRITER__FILE_MAX_ITEMS or _BYTES). The id stays free of
dots, as dlt's file-name parser needs. `table_files` lists a package's files per table in
that order, for the loaders that need a file's place or count: direct.py, last_row.py,
synapse/upload.py.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import threading
import time
from collections.abc import Sequence
from typing import Any

_LOCK = threading.Lock()
_last = 0  # the last time stamp handed out: ids strictly increase within a process
_FOLLOW_UPS = ("sql", "reference")  # formats of dlt's follow-up jobs: not data files


def ordered_file_id() -> str:
    """16 hex digits of nanoseconds since the epoch (strictly increasing in a process, even if
    the clock steps back), then 4 random ones: unique across processes too."""
    global _last
    with _LOCK:
        _last = max(_last + 1, time.time_ns())
        stamp = _last
    return f"{stamp:016x}{secrets.token_hex(2)}"


def name_files_in_write_order() -> None:
    """Make dlt's data writers name new files with `ordered_file_id`, and its normalize
    read extracted files in name order (idempotent)."""
    from dlt.common.data_writers import buffered
    from dlt.normalize.normalize import Normalize

    if getattr(buffered, "new_file_id", None) is not ordered_file_id:
        buffered.new_file_id = ordered_file_id
    spool = Normalize.spool_files
    if not getattr(spool, "_zoomsync_sorted", False):
        def spool_files(self: Any, load_id: str, schema: Any, map_f: Any,
                        files: Sequence[str]) -> Any:
            return spool(self, load_id, schema, map_f, sorted(files))

        spool_files._zoomsync_sorted = True  # type: ignore[attr-defined]
        Normalize.spool_files = spool_files  # type: ignore[method-assign]


def files_of(table: str, file_path: str) -> int:
    """How many files of `table` the package of `file_path` (a job file) holds."""
    return len(table_files(os.path.dirname(os.path.dirname(file_path))).get(table, ()))


def file_place(file_path: str) -> int:
    """The place (0, 1, ...) of a job file (`table.file_id.retry.format`, in one of its load
    package's job folders) among its table's files, in write order."""
    table, file_id = os.path.basename(file_path).split(".")[:2]
    return table_files(os.path.dirname(os.path.dirname(file_path)))[table].index(file_id)


@functools.lru_cache(maxsize=8)
def table_files(package: str) -> dict[str, list[str]]:
    """Table -> the ids of its data files in a load package's folder, in write order; listed
    once: dlt moves job files between these folders, renaming only their retry count, and a
    package gets no new data files once it is loading. Follow-up jobs are left out."""
    ids: set[tuple[str, str]] = set()
    for folder in ("new_jobs", "started_jobs", "completed_jobs", "failed_jobs"):
        with contextlib.suppress(FileNotFoundError):
            ids |= {(parts[0], parts[1]) for parts in (
                name.split(".") for name in os.listdir(os.path.join(package, folder)))
                if len(parts) == 4 and parts[-1] not in _FOLLOW_UPS}
    files: dict[str, list[str]] = {}
    for table, file_id in sorted(ids):
        files.setdefault(table, []).append(file_id)
    return files
