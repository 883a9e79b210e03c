"""zoomsync's PostgreSQL destination: dlt's, with Parquet by default and copies safe to resume.

`postgres(...)` takes what `dlt.destinations.postgres(...)` takes. What it changes, only
for pipelines that use it:
- Parquet is the preferred loader file format when ADBC's PostgreSQL driver is installed
  (`pip install 'zoomsync[postgres]'` installs it): dlt loads it with ADBC's binary COPY.
  dlt's CSV COPY loads '' as NULL (it adds FORCE_NULL for every nullable column), and
  Zoom sends '' for guests' ids and many empty fields; INSERT statements are slowest;
- a Parquet copy job dlt runs again after a kill first deletes the rows of its file
  (resume.py); dlt's UNIQUE index on `_dlt_id` would otherwise refuse it on every retry.
- each table is prepared for loading once per client, not once per question (prepared.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dlt.common.destination import DestinationCapabilitiesContext
from dlt.destinations import postgres as dlt_postgres
from dlt.destinations.impl.postgres.postgres import PostgresClient, PostgresParquetCopyJob

from zoomsync.destinations.prepared import PreparesOnce
from zoomsync.destinations.resume import ResumesCopies, forgotten, row_id_column


class ResumableParquetCopyJob(PostgresParquetCopyJob):
    """dlt's ADBC copy; `restored` (run again after a kill), it first deletes the rows of
    its file from the table, on the job client's connection."""

    def __init__(self, file_path: str, restored: bool) -> None:
        super().__init__(file_path)
        self.restored = restored

    def run(self) -> None:
        client = self._job_client
        column = row_id_column(client, self._file_path) if self.restored else None
        if column is not None:
            import pyarrow.parquet as pq

            ids = pq.read_table(self._file_path, columns=[column]).column(0).to_pylist()
            sql = client.sql_client
            table = sql.make_qualified_table_name(self.load_table_name)
            with sql.begin_transaction():
                sql.execute_sql(f"DELETE FROM {table} WHERE {sql.escape_column_name(column)} "
                                "= ANY(%s)", ids)
            forgotten(self._file_path, table)
        super().run()


class ZoomsyncPostgresClient(PreparesOnce, ResumesCopies, PostgresClient):
    copy_job = PostgresParquetCopyJob
    resumable = ResumableParquetCopyJob


class postgres(dlt_postgres):  # named as dlt names its destination factories
    """dlt's PostgreSQL destination with zoomsync's client (see the module docstring)."""

    def _raw_capabilities(self) -> DestinationCapabilitiesContext:
        caps = super()._raw_capabilities()
        dlt_selects = caps.loader_file_format_selector

        def prefer_parquet(preferred: Any, supported: Sequence[Any], /, *,
                           table_schema: Any) -> tuple[Any, Sequence[Any]]:
            # dlt's selector drops Parquet when the ADBC driver is missing: then dlt's choice.
            if dlt_selects is not None:
                preferred, supported = dlt_selects(preferred, supported,
                                                   table_schema=table_schema)
            return ("parquet" if "parquet" in supported else preferred), supported

        caps.loader_file_format_selector = prefer_parquet
        return caps

    @property
    def client_class(self) -> type[ZoomsyncPostgresClient]:
        return ZoomsyncPostgresClient
