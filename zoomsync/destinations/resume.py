"""A copy job dlt runs again after a kill adds its rows once (our DuckDB and PostgreSQL).

dlt resumes a pending load package where it stopped: a job it noted as done (the
package's pending transitions, written right after the job's transaction commits) is not
run again; a job that was started but not noted is created again with `restore=True`
(`JobClientBase.create_load_job`) and run again. A run killed between the commit and the
note thus copies that file twice. dlt 1.31's merge keeps one row per `_dlt_id` for nested
tables, but a root table with nested tables takes every staging row whose `_dlt_id` it
keeps (twice, then), PostgreSQL's UNIQUE index on `_dlt_id` refuses the second copy on
every retry (no later run ever loads), and an appended table simply holds the rows twice.
Measured by tests/sync/test_crash_recovery.py and
tests/destinations/test_crash_postgres_delta.py (`after-commit` kill points).

So our destinations' copy jobs, when restored, first delete from the table they copy
into (staging or final: dlt points the job client at it) the rows whose `_dlt_id` their
file holds; a copy that had not committed deletes nothing. Parquet only (our destinations'
default format): another format's restored job runs as dlt's, with a warning. Upstream:
docs/upstream/dlt-restored-copy-jobs.md describes the fix dlt would need.
"""

from __future__ import annotations

import logging
import os
from typing import Any, ClassVar

log = logging.getLogger("zoomsync.destinations")

ROW_ID = "_dlt_id"  # dlt's row key column (dlt.common.schema.typing.C_DLT_ID)
_FOLLOW_UPS = (".sql", ".reference")  # dlt's merge and reference jobs: not copies


def row_id_column(client: Any, file_path: str) -> str | None:
    """The row id column's name in the job's Parquet file, or None (with a warning) when the
    file is not Parquet or has no row ids: then the job's rows cannot be told apart."""
    if not file_path.endswith(".parquet"):
        log.warning("resuming %s: a %s file copied again may add its rows twice; load with "
                    "parquet to avoid it", os.path.basename(file_path),
                    file_path.rsplit(".", 1)[-1])
        return None
    import pyarrow.parquet as pq

    name = client.schema.naming.normalize_identifier(ROW_ID)
    return name if name in pq.read_schema(file_path).names else None


def forgotten(file_path: str, table: str) -> None:
    log.info("resuming a killed load: removed the rows of %s from %s first, which the killed "
             "run may have copied already", os.path.basename(file_path), table)


class ResumesCopies:
    """Job client mixin: dlt's copy job (`copy_job`) becomes `resumable`, told whether dlt
    restored it. Put it before dlt's client class in the bases."""

    copy_job: ClassVar[type]
    resumable: ClassVar[Any]  # (file_path, restored) -> the job

    def create_load_job(self, table: Any, file_path: str, load_id: str,
                        restore: bool = False) -> Any:
        job = super().create_load_job(table, file_path, load_id, restore)  # type: ignore[misc]
        if type(job) is self.copy_job:
            return self.resumable(file_path, restore)
        if restore and not file_path.endswith(_FOLLOW_UPS):
            row_id_column(self, file_path)  # INSERT statements, CSV: only the warning
        return job
