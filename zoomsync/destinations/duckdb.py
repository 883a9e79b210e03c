"""DuckDB, the default: one file on local disk, loaded from Parquet."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from zoomsync.config import Settings
from zoomsync.destinations.target import Target
from zoomsync.errors import ConfigError


def duckdb_destination(path: Path) -> Any:
    """dlt's DuckDB destination for `path`, after checking the file can be written."""
    import dlt

    path = path.expanduser().resolve()
    if path.is_dir():
        raise ConfigError(f"--duckdb-path {path} is a directory: give a file name such as "
                          f"{path / 'zoomsync.duckdb'}")
    parent = path.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise ConfigError(f"cannot write the DuckDB file {path}: {parent} is not a writable "
                          "directory")
    return dlt.destinations.duckdb(str(path))


def duckdb_target(settings: Settings) -> Target:
    destination = duckdb_destination(settings.duckdb_path)
    if settings.duckdb_path.stem == settings.dataset_name:
        # DuckDB names the catalog after the file; a schema of the same name confuses its
        # binder and dlt then cannot update the tables.
        raise ConfigError(f"the DuckDB file {settings.duckdb_path.name} has the same name as the "
                          f"dataset {settings.dataset_name!r}: rename the file or set "
                          "ZOOMSYNC_DATASET_NAME")
    # Parquet: the default insert-values format was measured 6x slower and 10 GB of memory
    # for 200k meetings (research/dlt-feasibility.md §3).
    return Target("duckdb", f"duckdb:{settings.duckdb_path.expanduser().resolve()}",
                  destination, "parquet")
