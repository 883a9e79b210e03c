"""Make the load a killed run left half done safe to resume.

dlt resumes a pending load package where it stopped: jobs filed under `completed_jobs` are
not run again, jobs under `started_jobs` are. dlt notes a job as done in the package's
`.pending_transitions` right after the job's destination transaction commits; a run killed
between the commit and that note has the job run a second time. For the merge SQL and the
Delta merges that is harmless (they replace by key), but a job that copies a file into the
staging dataset then adds its rows twice: PostgreSQL refuses every retry (`_dlt_id` is
unique there) so no later run ever loads again, and DuckDB merges the doubled rows into
the tables. Measured with dlt 1.31 by tests/sync/test_crash_recovery.py and
tests/destinations/test_crash_postgres_delta.py (`after-commit` kill points).

So before a run resumes such a package, `forget_unnoted_copies` deletes from the staging
tables the rows of every started, unnoted copy job: by `_dlt_id` read from the job's own
Parquet file, or, for dlt's state table (one insert job per package), by load id. A job
that had not committed deletes nothing; either way dlt's rerun of it then adds its rows
once. This reads dlt's package folders (dlt has no hook for it), as dlt 1.31 writes them;
without its notes every started copy counts as unnoted, which is still safe. Only dlt's
SQL warehouses with a staging dataset are touched: our Synapse client keeps a load ledger.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from typing import Any

log = logging.getLogger("zoomsync.sync")

_NOTES = ".pending_transitions"
_BATCH = 1000  # ids per DELETE statement


def forget_unnoted_copies(pipeline: Any) -> int:
    """Delete the staging rows of copy jobs a killed run may have committed unnoted.

    Returns how many jobs were cleaned (0 when no package is pending: the usual case).
    """
    from dlt.destinations.job_client_impl import SqlJobClientWithStagingDataset

    cleaned = 0
    for load_id in pipeline.list_normalized_load_packages():
        info = pipeline.get_load_package_info(load_id)
        notes = os.path.join(info.package_path, _NOTES)
        noted = set(os.listdir(notes)) if os.path.isdir(notes) else set()
        jobs = [j for j in info.jobs.get("started_jobs", [])
                if os.path.basename(j.file_path) not in noted]
        if not jobs:
            continue
        client = pipeline.destination_client(info.schema_name)  # not connected yet
        if not isinstance(client, SqlJobClientWithStagingDataset):
            # Files and Delta tables: rewriting a file is idempotent. Our Synapse client
            # keeps its own load ledger and per-load staging tables.
            continue
        with client:
            for job in jobs:
                cleaned += _forget(client, load_id, job.job_file_info, job.file_path)
    return cleaned


def _forget(client: Any, load_id: str, job: Any, path: str) -> int:
    sql = client.sql_client
    table = job.table_name
    if table == client.schema.state_table_name:
        # dlt writes one state row per package, with the package's load id.
        load_id_column = sql.escape_column_name(client.schema.naming.normalize_identifier(
            "_dlt_load_id"))
        sql.execute_sql(f"DELETE FROM {sql.make_qualified_table_name(table)} "
                        f"WHERE {load_id_column} = {_literal(load_id)}")
        log.info("resuming load %s: removed its possibly written state row", load_id)
        return 1
    if job.file_format != "parquet" or not client.should_load_data_to_staging_dataset(table):
        return 0  # other jobs are merges (idempotent) or not ours to second-guess
    import pyarrow.parquet as pq

    id_column = client.schema.naming.normalize_identifier("_dlt_id")
    ids = pq.read_table(path, columns=[id_column]).column(0).to_pylist()
    with sql.with_staging_dataset():
        name = sql.make_qualified_table_name(table)
        column = sql.escape_column_name(id_column)
        for chunk in _chunks(ids, _BATCH):
            sql.execute_sql(f"DELETE FROM {name} WHERE {column} IN "
                            f"({', '.join(_literal(i) for i in chunk)})")
    log.info("resuming load %s: removed the staged rows of %s, which a killed run may "
             "have copied without noting it", load_id, os.path.basename(path))
    return 1


def _literal(value: str) -> str:
    # dlt's ids are base64-like, but quote properly anyway: paramstyles differ per driver.
    return "'" + str(value).replace("'", "''") + "'"


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
