"""A first load into empty tables writes each row once: straight into the tables.

dlt merges a `merge` table by copying every file into a staging table, then deleting the
keys being replaced from the table and inserting the newest row per key from staging: each
row is written twice, and on a first load (empty tables, the largest load a user runs) the
delete finds nothing. bench/load.py measured that path at 0.27 (DuckDB) and 0.18
(PostgreSQL) of the engine's own bulk copy per row.

`write_first_loads_directly()` changes that for dlt's DuckDB and PostgreSQL clients. When a
load package is set up, each root table whose family (the root and its nested tables) is
empty or not there yet is noted in the package's state as *direct*: its files are copied
into the tables themselves, and its merge job is replaced by a check of the root's keys in
those files (last_row.py). Should a key occur more than once (dlt's merge keeps one row per
key), a SQL job deletes all but its last row, and their nested rows. On PostgreSQL the
UNIQUE `_dlt_id` constraints of those tables are dropped first and built again as indexes
of the same names (`_unique_indexes`): by the table's COPY job, after its rows and in its
transaction, when the table has one file; else when the jobs are done. Every other family
merges as dlt does, except that a key repeated within the load keeps its last row there
too (last_row.py). Which tables exist is asked of INFORMATION_SCHEMA.TABLES
(storage_tables.py).

The note is written once per package, before any job runs, so a resumed package keeps
its choice even though its tables now hold rows of its own; without a note (a package
from before this module) dlt's path is taken. A direct copy that committed but was not
noted by dlt when the run was killed is undone by resume.py, as for staging copies.
dlt has no option for any of this; if it renames the methods replaced here, its own
behaviour stays.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from typing import Any

from zoomsync.destinations.file_order import files_of
from zoomsync.destinations.last_row import (
    check_after_run,
    dedup_jobs,
    keep_last_in_staging,
    quoted,
    sql_literal,
)
from zoomsync.destinations.storage_tables import existing_tables, read_columns_of_existing

log = logging.getLogger("zoomsync.destinations")

NOTE = "zoomsync_direct"  # key in the package's destination state: the direct roots
INDEXES = "zoomsync_deferred_indexes"  # and there: {table: its `_dlt_id` index, rebuilt}
_KNOWN = "_zoomsync_direct_roots"  # attribute of a job client: its package's direct roots


def write_first_loads_directly() -> None:
    """Install the direct first load on dlt's DuckDB and PostgreSQL job clients (idempotent)."""
    from dlt.destinations.job_client_impl import SqlJobClientWithStagingDataset

    for module, name in (("dlt.destinations.impl.duckdb.duck", "DuckDbClient"),
                         ("dlt.destinations.impl.postgres.postgres", "PostgresClient")):
        try:
            cls = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue  # driver extra not installed, or dlt changed: dlt's own path
        if getattr(cls, "_zoomsync_direct", False) or not issubclass(
                cls, SqlJobClientWithStagingDataset):
            continue
        _install(cls)


def _install(cls: Any) -> None:
    staged = cls.should_load_data_to_staging_dataset
    followups = cls.create_table_chain_completed_followup_jobs
    completed = cls.complete_load
    created = cls.create_load_job

    def should_load_data_to_staging_dataset(self: Any, table_name: str) -> bool:
        if _root(self.schema, table_name) in _direct_roots(self):
            return False
        return bool(staged(self, table_name))

    def create_table_chain_completed_followup_jobs(
            self: Any, table_chain: Sequence[Any],
            completed_table_chain_jobs: Sequence[Any] | None = None) -> list[Any]:
        root = table_chain[0]
        if root["name"] not in _direct_roots(self):
            jobs = followups(self, table_chain, completed_table_chain_jobs)
            keep_last_in_staging(self, table_chain, completed_table_chain_jobs or (), jobs)
            return jobs
        return dedup_jobs(self, table_chain, completed_table_chain_jobs or ())

    def complete_load(self: Any, load_id: str) -> None:
        _finish_package(self)
        completed(self, load_id)

    def create_load_job(self: Any, table: Any, file_path: str, load_id: str,
                        restore: bool = False) -> Any:
        job = created(self, table, file_path, load_id, restore)
        if hasattr(job, "after_copy"):  # postgres_copy.py's COPY job
            job.after_copy = _index_after_copy(self, table["name"], file_path)
        check_after_run(self, job, table)
        return job

    read_columns_of_existing(cls)  # a first load's tables: none there, none read
    cls.create_load_job = create_load_job
    cls.should_load_data_to_staging_dataset = should_load_data_to_staging_dataset
    cls.complete_load = complete_load
    cls.create_table_chain_completed_followup_jobs = create_table_chain_completed_followup_jobs
    cls._zoomsync_direct = True


def noted_roots(package_state: dict[str, Any]) -> frozenset[str]:
    """The roots a package loads directly, from its state as dlt stores it (resume.py)."""
    return frozenset(package_state.get("destination_state", {}).get(NOTE, ()))


def _root(schema: Any, table_name: str) -> str:
    from dlt.common.schema.utils import get_root_table

    return str(get_root_table(schema.tables, table_name)["name"])


def _direct_roots(client: Any) -> frozenset[str]:
    """The package's direct roots: noted in its state, or decided now while dlt sets the
    package up (the only time the client is connected and no job has run).

    Kept on the client once known (dlt makes a client per package, job and follow-up):
    dlt asks ~200 times per load, and reaching the package state costs ~0.25 ms a time."""
    known = client.__dict__.get(_KNOWN)
    if known is not None:
        return known
    roots = _package_roots(client)
    if roots is not None:
        client.__dict__[_KNOWN] = roots
    return roots or frozenset()


def _package_roots(client: Any) -> frozenset[str] | None:
    """`_direct_roots`, or None where there is no package or it predates this module."""
    from dlt.common.storages.load_package import (
        CurrentLoadPackageStateNotAvailable,
        commit_load_package_state,
        destination_state,
    )

    try:
        state = destination_state()
    except CurrentLoadPackageStateNotAvailable:
        return None
    if NOTE in state:
        return frozenset(state[NOTE])
    if not _connected(client):
        return None  # a package set up before this module: dlt's path
    roots = sorted(_empty_families(client))
    deferred = _unique_indexes(client, roots)
    state[NOTE], state[INDEXES] = roots, deferred
    commit_load_package_state()  # before the drop: a rerun then rebuilds what was dropped
    sql = client.sql_client
    if deferred:  # one round trip for all
        sql.execute_sql(";\n".join(f"ALTER TABLE {sql.make_qualified_table_name(table)} "
                                    f"DROP CONSTRAINT IF EXISTS {quoted(index)}"
                                    for table, index in deferred.items()))
    if roots:
        log.info("first load of %d table families: written straight into the tables",
                 len(roots))
    return frozenset(roots)


def _connected(client: Any) -> bool:
    try:
        return client.sql_client.native_connection is not None
    except Exception:  # dlt's clients raise when not connected
        return False


def _empty_families(client: Any) -> set[str]:
    """Merge roots whose tables all are missing or empty in the destination."""
    from dlt.common.schema.utils import get_nested_tables

    schema, sql = client.schema, client.sql_client
    roots = [t["name"] for t in schema.data_tables()
             if not t.get("parent") and t.get("write_disposition") == "merge"]
    families = {r: [t["name"] for t in get_nested_tables(schema.tables, r)] for r in roots}
    names = {n for family in families.values() for n in family}
    existing = existing_tables(client, names)
    filled: set[str] = set()
    checks = [f"SELECT {sql_literal(n)} FROM (SELECT 1 AS x FROM "
              f"{sql.make_qualified_table_name(n)} LIMIT 1) AS t{i}"
              for i, n in enumerate(sorted(existing))]
    for start in range(0, len(checks), 100):  # one statement per 100 tables
        filled |= {row[0] for row in sql.execute_sql(" UNION ALL ".join(
            checks[start:start + 100])) or ()}
    return {r for r, family in families.items() if not filled & set(family)}


def _unique_indexes(client: Any, roots: Sequence[str]) -> dict[str, str]:
    """PostgreSQL: the UNIQUE constraints on `_dlt_id` of the direct families' tables.

    Kept row by row during a COPY such an index more than doubled the copy of our largest
    table (116k participants: 0.26 s against 0.12 s, measured); built after the rows it is
    one sort. So a first load drops them and builds the same-named unique indexes when its
    jobs are done (`_finish_package`), which also fails the load should a file
    have been copied twice.
    """
    from dlt.common.schema.utils import get_nested_tables

    try:
        from dlt.destinations.impl.postgres.postgres import PostgresClient
    except ImportError:  # no PostgreSQL driver: not a PostgreSQL load
        return {}
    if not isinstance(client, PostgresClient) or not client.active_hints or not roots:
        return {}  # not PostgreSQL, or its indexes are turned off

    tables = {t["name"] for r in roots for t in get_nested_tables(client.schema.tables, r)}
    sql = client.sql_client
    rows = sql.execute_sql(
        "SELECT t.relname, c.conname FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
        "JOIN pg_namespace n ON n.oid = t.relnamespace WHERE c.contype = 'u' AND n.nspname = "
        f"{sql_literal(sql.dataset_name)} AND pg_get_constraintdef(c.oid) = 'UNIQUE (_dlt_id)'")
    return {table: index for table, index in rows or () if table in tables}


def _index_after_copy(client: Any, table: str, file_path: str) -> list[str]:
    """The statement building `table`'s put-off `_dlt_id` index, for the COPY job of
    `file_path` to run after its rows in its transaction, when that file is the table's
    only one in the package (the usual case: one file per table); else none, and
    `_finish_package` builds it when every file is in."""
    from dlt.common.storages.load_package import (
        CurrentLoadPackageStateNotAvailable,
        destination_state,
    )

    try:
        index = destination_state().get(INDEXES, {}).get(table)
    except CurrentLoadPackageStateNotAvailable:
        return []
    if not index or files_of(table, file_path) != 1:
        return []
    return [_create_index(client, table, index)]


def _create_index(client: Any, table: str, index: str) -> str:
    sql = client.sql_client
    return (f"CREATE UNIQUE INDEX IF NOT EXISTS {quoted(index)} ON "
            f"{sql.make_qualified_table_name(table)} ({quoted('_dlt_id')})")


def _finish_package(client: Any) -> None:
    """When every job of the package is done, before dlt records the load: build the
    indexes `_unique_indexes` put off that no COPY job built (`_index_after_copy`; all
    of them when a killed run's package resumes and its jobs had not), and note "no
    direct roots" for a package set up before this module, or dlt's staging clean-up right
    after would decide for it with its tables already loaded."""
    from dlt.common.storages.load_package import (
        CurrentLoadPackageStateNotAvailable,
        destination_state,
    )

    try:
        state = destination_state()
    except CurrentLoadPackageStateNotAvailable:
        return
    state.setdefault(NOTE, [])
    deferred = state.get(INDEXES, {})
    if not deferred:
        return
    sql = client.sql_client
    built = {row[0] for row in sql.execute_sql(
        "SELECT indexname FROM pg_indexes WHERE schemaname = "
        f"{sql_literal(sql.dataset_name)}") or ()}
    for table, index in deferred.items():
        if index not in built:
            sql.execute_sql(_create_index(client, table, index))
