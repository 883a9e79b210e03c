"""A key repeated within a load keeps its last row: in write order, the newest fetched.

A Zoom list can return one record twice in a run (a page that shifted under pagination, a
user listed under two statuses while changing), the later copy in its newer state. dlt's
merge keeps an arbitrary one per key (`ROW_NUMBER() ... ORDER BY (SELECT NULL)`). Here the
root's files are read for their keys (DuckDB in memory: `losers`), in the order dlt wrote
them (file_order.py), and every row but a key's last is deleted with its nested rows:

- on a direct first load (direct.py), by a SQL job of its own after the copies
  (`dedup_jobs`);
- on a merge through staging, from the staging tables, first in dlt's merge job and in its
  transaction (`keep_last_in_staging`).

The check itself runs in the copy job of a merge root's only file (`check_after_run`),
off dlt's main thread; `_repeated` asks again for a root with several files, or when that
check did not run or failed.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from typing import Any

from zoomsync.destinations.file_order import files_of

log = logging.getLogger("zoomsync.destinations")

_BATCH = 1000  # ids per DELETE statement
_LOCK = threading.Lock()
_DUCKDB: Any = None  # _cursor()
_CHECKED: dict[str, list[str]] = {}  # job file name -> its repeated keys' losers


def dedup_jobs(client: Any, table_chain: Sequence[Any], jobs: Sequence[Any]) -> list[Any]:
    """None when the root's keys are unique in its files; else one SQL job deleting all
    but the last row per key (in file order: within a file, the newest fetched), and their
    nested rows (dlt's merge would keep an arbitrary one)."""
    older = _repeated(client, table_chain[0], jobs)
    if not older:
        return []
    from dlt.common.storages.load_package import ParsedLoadJobFileName
    from dlt.destinations.job_impl import FollowupJobRequestImpl

    statements = _loser_deletes(client, table_chain, older)
    name = ParsedLoadJobFileName(table_chain[0]["name"], ParsedLoadJobFileName.new_file_id(), 0,
                                 "sql").file_name()
    job = FollowupJobRequestImpl(name)
    job._save_text_file("\n".join(statements))
    log.info("%s: %d rows repeated a key within the load; kept the last of each",
             table_chain[0]["name"], len(older))
    return [job]


def keep_last_in_staging(client: Any, table_chain: Sequence[Any], jobs: Sequence[Any],
                          followups: Sequence[Any]) -> None:
    """A merge through staging keeps the last row of a repeated key too: dlt's merge picks
    an arbitrary one (`ROW_NUMBER() ... ORDER BY (SELECT NULL)`), so its SQL job gets, first
    and in its transaction, the deletes of the other rows and their nested rows from the
    staging tables. Only for dlt's default merge strategy (delete-insert)."""
    root = table_chain[0]
    if not _keeps_last(root):
        return
    merges = [job for job in followups if job.new_file_path().endswith(".sql")]
    if len(merges) != 1:
        return  # not the one merge job dlt makes: left as dlt made it
    older = _repeated(client, root, jobs)
    if not older:
        return
    with client.with_staging_dataset():
        statements = _loser_deletes(client, table_chain, older)
    path = merges[0].new_file_path()
    with open(path, encoding="utf-8") as file:
        merge = file.read()
    with open(path, "w", encoding="utf-8") as file:
        file.write("\n".join([*statements, merge]))
    log.info("%s: %d rows repeated a key within the load; kept the last of each",
             root["name"], len(older))


def _keeps_last(root: Any) -> bool:
    """A root whose repeated keys this module settles: merged with dlt's default strategy
    (delete-insert), the only one whose staging rows it knows how to thin out. Its check
    result would otherwise wait in `_CHECKED` for no one."""
    return bool(root.get("write_disposition") == "merge"
                and root.get("x-merge-strategy", "delete-insert") == "delete-insert")


def _loser_deletes(client: Any, table_chain: Sequence[Any], older: Sequence[str]
                   ) -> list[str]:
    """DELETEs of the root rows `older` (their `_dlt_id`s) and of their nested rows, nested
    first, in the client's current dataset."""
    sql = client.sql_client
    naming = client.schema.naming
    root_id = sql.escape_column_name(naming.normalize_identifier("_dlt_root_id"))
    row_id = sql.escape_column_name(naming.normalize_identifier("_dlt_id"))
    statements = [s for t in table_chain[1:]  # nested rows first, then their roots
                  for s in delete_by_ids(sql.make_qualified_table_name(t["name"]), root_id,
                                         older)]
    return statements + delete_by_ids(sql.make_qualified_table_name(table_chain[0]["name"]),
                                      row_id, older)


def _repeated(client: Any, root: Any, jobs: Sequence[Any]) -> list[str]:
    """`_dlt_id`s of root rows whose key a later row in the root's files repeats: found
    by the root's copy job when it had the only file (`check_after_run`), else now."""
    files = sorted(_present(j.file_path) for j in jobs
                   if j.job_file_info.table_name == root["name"]
                   and j.job_file_info.file_format == "parquet")
    if len(files) == 1:
        with _LOCK:
            found = _CHECKED.pop(os.path.basename(files[0]), None)
        if found is not None:
            return found
    return losers(client, root, files)


def check_after_run(client: Any, job: Any, table: Any) -> None:
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
            or not path.endswith(".parquet") or not _keeps_last(table)
            or files_of(table["name"], job._file_path) != 1):
        return
    run = job.run

    def run_and_check() -> None:
        run()
        try:
            found = losers(client, table, [job._file_path])
        except Exception:  # the rows are in: never fail the job for its check
            log.debug("key check of %s failed; done again later", path, exc_info=True)
            return
        with _LOCK:
            _CHECKED[path] = found

    job.run = run_and_check


def losers(client: Any, root: Any, files: Sequence[str]) -> list[str]:
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
    columns = ", ".join(quoted(k) for k in key)
    with _cursor() as con:
        (repeats,) = con.execute(f"SELECT count(*) - count(DISTINCT ({columns})) "
                                 f"FROM read_parquet([{listed}])").fetchone() or (0,)
        if not repeats:
            return []  # the usual case: every key once
        row_id = quoted(client.schema.naming.normalize_identifier("_dlt_id"))
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


def quoted(name: str) -> str:
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
