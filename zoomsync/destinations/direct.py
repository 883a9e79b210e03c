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
those files (made by the root's copy job when the root has one file: `_check_after_run`).
Should a key occur more than once (dlt's merge keeps one row per key), a SQL job deletes
all but its last row, and their nested rows. On PostgreSQL the UNIQUE `_dlt_id`
constraints of those tables are dropped first and built again as indexes of the same
names (`_unique_indexes`): by the table's COPY job, after its rows and in its transaction,
when the table has one file; else when the jobs are done. Every other family merges as
dlt does, except that a key repeated within the load keeps its last row there too: the
other rows leave the staging tables first, in the merge's transaction
(`_keep_last_in_staging`). Which tables exist is asked of INFORMATION_SCHEMA.TABLES
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
import os
import threading
from collections.abc import Sequence
from typing import Any

from zoomsync.destinations.file_order import table_files
from zoomsync.destinations.storage_tables import existing_tables, read_columns_of_existing

log = logging.getLogger("zoomsync.destinations")

NOTE = "zoomsync_direct"  # key in the package's destination state: the direct roots
INDEXES = "zoomsync_deferred_indexes"  # and there: {table: its `_dlt_id` index, rebuilt}
_BATCH = 1000  # ids per DELETE statement
_LOCK = threading.Lock()
_DUCKDB: Any = None  # _cursor()
_CHECKED: dict[str, list[str]] = {}  # job file name -> its repeated keys' losers
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
            _keep_last_in_staging(self, table_chain, completed_table_chain_jobs or (), jobs)
            return jobs
        return _dedup_jobs(self, table_chain, completed_table_chain_jobs or ())

    def complete_load(self: Any, load_id: str) -> None:
        _finish_package(self)
        completed(self, load_id)

    def create_load_job(self: Any, table: Any, file_path: str, load_id: str,
                        restore: bool = False) -> Any:
        job = created(self, table, file_path, load_id, restore)
        if hasattr(job, "after_copy"):  # postgres_copy.py's COPY job
            job.after_copy = _index_after_copy(self, table["name"], file_path)
        _check_after_run(self, job, table)
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
                                    f"DROP CONSTRAINT IF EXISTS {_quoted(index)}"
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
    if not index or _files_of(table, file_path) != 1:
        return []
    return [_create_index(client, table, index)]


def _files_of(table: str, file_path: str) -> int:
    """How many files of `table` the package of `file_path` (a job file) holds."""
    return len(table_files(os.path.dirname(os.path.dirname(file_path))).get(table, ()))


def _create_index(client: Any, table: str, index: str) -> str:
    sql = client.sql_client
    return (f"CREATE UNIQUE INDEX IF NOT EXISTS {_quoted(index)} ON "
            f"{sql.make_qualified_table_name(table)} ({_quoted('_dlt_id')})")


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


def _dedup_jobs(client: Any, table_chain: Sequence[Any], jobs: Sequence[Any]) -> list[Any]:
    """None when the root's keys are unique in its files; else one SQL job deleting all
    but the last row per key (in file order: within a file, the newest fetched), and their
    nested rows (dlt's merge would keep an arbitrary one)."""
    losers = _repeated(client, table_chain[0], jobs)
    if not losers:
        return []
    from dlt.common.storages.load_package import ParsedLoadJobFileName
    from dlt.destinations.job_impl import FollowupJobRequestImpl

    statements = _loser_deletes(client, table_chain, losers)
    name = ParsedLoadJobFileName(table_chain[0]["name"], ParsedLoadJobFileName.new_file_id(), 0,
                                 "sql").file_name()
    job = FollowupJobRequestImpl(name)
    job._save_text_file("\n".join(statements))
    log.info("%s: %d rows repeated a key within the load; kept the last of each",
             table_chain[0]["name"], len(losers))
    return [job]


def _keep_last_in_staging(client: Any, table_chain: Sequence[Any], jobs: Sequence[Any],
                          followups: Sequence[Any]) -> None:
    """A merge through staging keeps the last row of a repeated key too: dlt's merge picks
    an arbitrary one (`ROW_NUMBER() ... ORDER BY (SELECT NULL)`), so its SQL job gets, first
    and in its transaction, the deletes of the other rows and their nested rows from the
    staging tables. Only for dlt's default merge strategy (delete-insert)."""
    root = table_chain[0]
    if root.get("write_disposition") != "merge" or root.get("x-merge-strategy", "delete-insert"
                                                              ) != "delete-insert":
        return
    merges = [job for job in followups if job.new_file_path().endswith(".sql")]
    if len(merges) != 1:
        return  # not the one merge job dlt makes: left as dlt made it
    losers = _repeated(client, root, jobs)
    if not losers:
        return
    with client.with_staging_dataset():
        statements = _loser_deletes(client, table_chain, losers)
    path = merges[0].new_file_path()
    with open(path, encoding="utf-8") as file:
        merge = file.read()
    with open(path, "w", encoding="utf-8") as file:
        file.write("\n".join([*statements, merge]))
    log.info("%s: %d rows repeated a key within the load; kept the last of each",
             root["name"], len(losers))


def _loser_deletes(client: Any, table_chain: Sequence[Any], losers: Sequence[str]
                   ) -> list[str]:
    """DELETEs of the root rows `losers` (their `_dlt_id`s) and of their nested rows, nested
    first, in the client's current dataset."""
    sql = client.sql_client
    naming = client.schema.naming
    root_id = sql.escape_column_name(naming.normalize_identifier("_dlt_root_id"))
    row_id = sql.escape_column_name(naming.normalize_identifier("_dlt_id"))
    statements = [s for t in table_chain[1:]  # nested rows first, then their roots
                  for s in delete_by_ids(sql.make_qualified_table_name(t["name"]), root_id,
                                         losers)]
    return statements + delete_by_ids(sql.make_qualified_table_name(table_chain[0]["name"]),
                                      row_id, losers)


def _repeated(client: Any, root: Any, jobs: Sequence[Any]) -> list[str]:
    """`_dlt_id`s of root rows whose key a later row in the root's files repeats: found
    by the root's copy job when it had the only file (`_check_after_run`), else now."""
    files = sorted(_present(j.file_path) for j in jobs
                   if j.job_file_info.table_name == root["name"]
                   and j.job_file_info.file_format == "parquet")
    if len(files) == 1:
        with _LOCK:
            found = _CHECKED.pop(os.path.basename(files[0]), None)
        if found is not None:
            return found
    return _losers(client, root, files)


def _check_after_run(client: Any, job: Any, table: Any) -> None:
    """Have the copy job of a merge root's only file check its keys once its rows are in,
    in dlt's worker thread, while dlt's main thread goes on starting and finishing jobs.

    Asked in the main thread when the root's chain completes, as before, the check held up
    every job waiting to start: 0.19 s of a 1.0 s PostgreSQL load (bench/load.py). The
    result waits in `_CHECKED` under the file's name; should the check fail, or the job
    have run in an earlier process, `_repeated` asks again.
    """
    from dlt.common.destination.client import RunnableLoadJob

    path = job.file_name()
    if (not isinstance(job, RunnableLoadJob) or table.get("parent")
            or not path.endswith(".parquet") or table.get("write_disposition") != "merge"
            or _files_of(table["name"], job._file_path) != 1):
        return
    run = job.run

    def run_and_check() -> None:
        run()
        try:
            found = _losers(client, table, [job._file_path])
        except Exception:  # the rows are in: never fail the job for its check
            log.debug("key check of %s failed; done again later", path, exc_info=True)
            return
        with _LOCK:
            _CHECKED[path] = found

    job.run = run_and_check


def _losers(client: Any, root: Any, files: Sequence[str]) -> list[str]:
    """`_dlt_id`s of rows in `files` (the root's) whose key a later row repeats: later in
    its file, or in a file named later (file_order.py; the folder is not compared, as
    `_present` may find one file still filed as started).

    Asked of DuckDB (in memory, whatever the destination): it reads the key columns of the
    Parquet files and counts distinct keys in ~15 ms for 100k participants, against ~90 ms
    for reading them with pyarrow and grouping there (measured); and it runs off the GIL.
    """
    key = [n for n, c in root["columns"].items() if c.get("primary_key")]
    if not key or not files:
        return []
    listed = ", ".join(sql_literal(f) for f in files)
    columns = ", ".join(_quoted(k) for k in key)
    with _cursor() as con:
        (repeats,) = con.execute(f"SELECT count(*) - count(DISTINCT ({columns})) "
                                 f"FROM read_parquet([{listed}])").fetchone() or (0,)
        if not repeats:
            return []  # the usual case: every key once
        row_id = _quoted(client.schema.naming.normalize_identifier("_dlt_id"))
        return [str(r[0]) for r in con.execute(
            f"SELECT {row_id} FROM (SELECT {row_id}, row_number() OVER (PARTITION BY {columns}"
            " ORDER BY parse_filename(filename) DESC, file_row_number DESC) AS n FROM read_parquet("
            f"[{listed}], filename = true, file_row_number = true)) WHERE n > 1").fetchall()]


def _cursor() -> Any:
    """A cursor of the one in-memory DuckDB of the process (opening one costs ~17 ms,
    measured): a cursor per caller, as DuckDB asks of threads, made one at a time."""
    global _DUCKDB
    with _LOCK:
        if _DUCKDB is None:
            import duckdb

            _DUCKDB = duckdb.connect()
        return _DUCKDB.cursor()


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _present(path: str) -> str:
    # dlt names the chain's jobs by their completed path; the job that completed the chain
    # is still filed as started while its follow-ups are made.
    if os.path.exists(path):
        return path
    folder, name = os.path.split(path)
    return os.path.join(os.path.dirname(folder), "started_jobs", name)


def delete_by_ids(table: str, column: str, ids: Sequence[str]) -> list[str]:
    """DELETE statements for the rows of `table` whose `column` is one of `ids` (quoted
    names), 1,000 ids per statement."""
    return [f"DELETE FROM {table} WHERE {column} IN "
            f"({', '.join(sql_literal(i) for i in ids[start:start + _BATCH])})"
            for start in range(0, len(ids), _BATCH)]


def sql_literal(value: str) -> str:
    # dlt's ids are base64-like, but quote properly anyway: paramstyles differ per driver.
    return "'" + str(value).replace("'", "''") + "'"
