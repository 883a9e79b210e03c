"""DuckDB, the default: one file on local disk, loaded from Parquet.

`hold_database_during_loads()` keeps the DuckDB file open for the whole of a load. dlt's
connection pool closes the database whenever no job holds a connection, and reopens it
for the next: each close checkpoints the file (fsync), each open reads it back. A load
of the benchmark account closed and reopened it 5-6 times (75 times with one worker):
0.55 s of its 1.25 s (bench/load.py). The load now holds one connection of the pool
(taken like any job's, so with dlt's settings: time zone, checkpoint threshold) from the
first job to the last; the file is closed, and checkpointed, once at the end. dlt has no
option for this (an external connection would stay open after the load, locking the file
against other processes). Transactions are unchanged, so a kill -9 recovers as before.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from zoomsync.config import Settings
from zoomsync.destinations.target import Target
from zoomsync.errors import ConfigError

log = logging.getLogger("zoomsync.destinations")


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
    if not is_duckdb_file(path):
        # DuckDB opens a CSV, Parquet or JSON file as an in-memory database with the file as
        # a view: the run would load into memory and store nothing.
        raise ConfigError(f"--duckdb-path {path} is not a DuckDB database (it holds other "
                          "data): give a new file name or an existing DuckDB file")
    hold_database_during_loads()
    from zoomsync.destinations.direct import write_first_loads_directly

    write_first_loads_directly()  # a first load writes each row once (direct.py)
    return dlt.destinations.duckdb(str(path))


DUCKDB_MAGIC = b"DUCK"  # a DuckDB database file: bytes 8-11 of its header


def is_duckdb_file(path: Path) -> bool:
    """True for a DuckDB database file, or a path that does not exist yet or is empty (DuckDB
    creates the database there); False for any other file, whatever its name."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except FileNotFoundError:
        return True
    except OSError as exc:
        raise ConfigError(f"cannot read the DuckDB file {path}: {exc.strerror}") from None
    return not head or head[8:12] == DUCKDB_MAGIC


def hold_database_during_loads() -> None:
    """Make dlt's load step keep a DuckDB database open from its first job to its last."""
    try:
        from dlt.load.load import Load
    except ImportError:
        return
    if getattr(Load, "_zoomsync_holds_duckdb", False):
        return
    original = getattr(Load, "load_single_package", None)
    if not callable(original) or not callable(getattr(Load, "get_destination_client", None)):
        log.debug("dlt's Load has changed: DuckDB reopened per job, as dlt does")
        return

    def load_single_package(self: Any, load_id: str, schema: Any) -> Any:
        from dlt.destinations.impl.duckdb.sql_client import DuckDbSqlClient

        if not str(getattr(self.destination, "destination_type", "")).endswith(".duckdb"):
            return original(self, load_id, schema)
        sql = getattr(self.get_destination_client(schema), "sql_client", None)
        if type(sql) is not DuckDbSqlClient:  # MotherDuck, DuckLake, other destinations
            return original(self, load_id, schema)
        with sql:  # one connection borrowed from the pool every job of the load uses
            return original(self, load_id, schema)

    Load.load_single_package = load_single_package  # type: ignore[method-assign]
    Load._zoomsync_holds_duckdb = True  # type: ignore[attr-defined]


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
