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
Parquet file, or, for dlt's state table (one insert job per package), by load id. A first
load copies its files straight into the tables (destinations/direct.py notes which): their
unnoted copies are deleted from the tables the same way. A job that had not committed
deletes nothing; either way dlt's rerun of it then adds its rows once. This reads dlt's
package folders (dlt has no hook for it), as dlt 1.31 writes them; without its notes every
started copy counts as unnoted, which is still safe. Only dlt's SQL warehouses with a
staging dataset are touched: our Synapse client keeps a load ledger.
"""

from __future__ import annotations

import logging
import os
from contextlib import nullcontext
from typing import Any

from zoomsync.destinations.direct import noted_roots
from zoomsync.destinations.last_row import delete_by_ids, sql_literal

log = logging.getLogger("zoomsync.sync")

_NOTES = ".pending_transitions"


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
        direct = noted_roots(pipeline.get_load_package_state(load_id))
        with client:
            for job in jobs:
                cleaned += _forget(client, load_id, job.job_file_info, job.file_path, direct)
    return cleaned


def _forget(client: Any, load_id: str, job: Any, path: str, direct: frozenset[str]) -> int:
    sql = client.sql_client
    table = job.table_name
    if table == client.schema.state_table_name:
        # dlt writes one state row per package, with the package's load id.
        load_id_column = sql.escape_column_name(client.schema.naming.normalize_identifier(
            "_dlt_load_id"))
        sql.execute_sql(f"DELETE FROM {sql.make_qualified_table_name(table)} "
                        f"WHERE {load_id_column} = {sql_literal(load_id)}")
        log.info("resuming load %s: removed its possibly written state row", load_id)
        return 1
    if job.file_format != "parquet":
        return 0  # other jobs are merges (idempotent) or not ours to second-guess
    from dlt.common.schema.utils import get_root_table

    into_table = get_root_table(client.schema.tables, table)["name"] in direct
    if not into_table and not client.should_load_data_to_staging_dataset(table):
        return 0  # appended tables: not ours to second-guess
    import pyarrow.parquet as pq

    id_column = client.schema.naming.normalize_identifier("_dlt_id")
    ids = pq.read_table(path, columns=[id_column]).column(0).to_pylist()
    with nullcontext() if into_table else sql.with_staging_dataset():
        name = sql.make_qualified_table_name(table)
        column = sql.escape_column_name(id_column)
        for statement in delete_by_ids(name, column, ids):
            sql.execute_sql(statement)
    log.info("resuming load %s: removed the %s rows of %s, which a killed run may have "
             "copied without noting it", load_id, "loaded" if into_table else "staged",
             os.path.basename(path))
    return 1

