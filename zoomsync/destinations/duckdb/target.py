"""DuckDB, the default: one file on local disk, loaded from Parquet.

The file is checked before a run: a directory, an unwritable folder, or a file that is
not a DuckDB database (DuckDB would open a CSV or Parquet file as an in-memory database
and store nothing) is one line saying what to give instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from zoomsync.config import Settings
from zoomsync.destinations.target import Target
from zoomsync.errors import ConfigError


def duckdb_destination(path: Path) -> Any:
    """Our DuckDB destination (factory.py) for `path`, after checking the file can be
    written."""
    from zoomsync.destinations.duckdb.factory import duckdb

    path = path.expanduser().resolve()
    if path.is_dir():
        raise ConfigError(f"--duckdb-path {path} is a directory: give a file name such as "
                          f"{path / 'zoomsync.duckdb'}")
    parent = path.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise ConfigError(f"cannot write the DuckDB file {path}: {parent} is not a writable "
                          "directory")
    if path.is_file() and path.stat().st_size == 0:
        raise ConfigError(f"--duckdb-path {path} is an empty file, not a DuckDB database: "
                          "delete it (DuckDB then creates the database) or give another name")
    if not is_duckdb_file(path):
        # DuckDB opens a CSV, Parquet or JSON file as an in-memory database with the file as
        # a view: the run would load into memory and store nothing.
        raise ConfigError(f"--duckdb-path {path} is not a DuckDB database (it holds other "
                          "data): give a new file name or an existing DuckDB file")
    return duckdb(str(path))


DUCKDB_MAGIC = b"DUCK"  # a DuckDB database file: bytes 8-11 of its header


def is_duckdb_file(path: Path) -> bool:
    """True for a DuckDB database file, or a path that does not exist yet (DuckDB creates the
    database there); False for any other file, whatever its name, an empty one included
    (DuckDB refuses to open it: "not a valid DuckDB database file")."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except FileNotFoundError:
        return True
    except OSError as exc:
        raise ConfigError(f"cannot read the DuckDB file {path}: {exc.strerror}") from None
    return head[8:12] == DUCKDB_MAGIC


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
    path = settings.duckdb_path.expanduser().resolve()
    return Target("duckdb", f"duckdb:{path}", destination, "parquet", local_file=path)
