"""zoomsync's DuckDB destination: dlt's, with Parquet by default and copies safe to resume.

`duckdb(...)` takes what `dlt.destinations.duckdb(...)` takes. What it changes, only for
pipelines that use it:
- the preferred loader file format is Parquet (dlt's is INSERT statements: 6x slower and
  10 GB of memory for 200k meetings, research/dlt-feasibility.md §3);
- a copy job dlt runs again after a kill first deletes the rows of its file, in the
  copy's transaction (resume.py).
- each table is prepared for loading once per client, not once per question (prepared.py).
"""

from __future__ import annotations

from dlt.common.destination import DestinationCapabilitiesContext
from dlt.destinations import duckdb as dlt_duckdb
from dlt.destinations.impl.duckdb.duck import DuckDbClient, DuckDbCopyJob

from zoomsync.destinations.prepared import PreparesOnce
from zoomsync.destinations.resume import ResumesCopies, forgotten, row_id_column


class ResumableCopyJob(DuckDbCopyJob):
    """dlt's Parquet copy; `restored` (run again after a kill), it first deletes the rows of
    its file from the table, in one transaction with the copy."""

    def __init__(self, file_path: str, restored: bool) -> None:
        super().__init__(file_path)
        self.restored = restored

    def run(self) -> None:
        client = self._job_client
        column = row_id_column(client, self._file_path) if self.restored else None
        if column is None:
            super().run()
            return
        sql = client.sql_client
        table = sql.make_qualified_table_name(self.load_table_name)
        path = self._file_path.replace("'", "''")
        key = sql.escape_column_name(column)
        with sql.begin_transaction():
            sql.execute_sql(f"DELETE FROM {table} WHERE {key} IN "
                            f"(SELECT {key} FROM read_parquet('{path}'))")
            super().run()
        forgotten(self._file_path, table)


class ZoomsyncDuckDbClient(PreparesOnce, ResumesCopies, DuckDbClient):
    copy_job = DuckDbCopyJob
    resumable = ResumableCopyJob


class duckdb(dlt_duckdb):  # named as dlt names its destination factories
    """dlt's DuckDB destination with zoomsync's client (see the module docstring)."""

    def _raw_capabilities(self) -> DestinationCapabilitiesContext:
        caps = super()._raw_capabilities()
        caps.preferred_loader_file_format = "parquet"
        return caps

    @property
    def client_class(self) -> type[ZoomsyncDuckDbClient]:
        return ZoomsyncDuckDbClient
