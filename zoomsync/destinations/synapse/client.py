"""The dlt job client: dlt's SQL machinery with zoomsync's DDL and exactly-once family loads.

What dlt still does: its schema diff (new tables, new columns), `_dlt_version` / `_dlt_loads`
/ `_dlt_pipeline_state` (so a pipeline restores its state from the pool), load packages and
job retries. What changes for Synapse:
- on connecting, the pool must read committed snapshots (pool.require_snapshot_reads);
- DDL comes from ddl.py (types, binary-collated keys, distribution and index per table);
  new columns by one ALTER TABLE ADD (bounded types in a columnstore table); masks after
  any schema change under `--mask-pii`; dlt's stored-tables query and its bookkeeping
  inserts are rewritten for a case-sensitive catalog and for retries;
- each Parquet file is an `UploadJob`: checked against the pool's declared widths and
  rewritten for COPY (upload.py, limits.py) and put in storage;
- when every file of a table family (a root table and its children) is uploaded, dlt's
  table-chain follow-up becomes one `FamilyJob`, which runs plan.run_family: ledger check,
  staging + COPY, one transaction, cleanup — redone whole after a transient error — then
  deletes the family's staged files.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from dlt.common.destination.client import (
    FollowupJobRequest,
    HasFollowupJobs,
    LoadJob,
    PreparedTableSchema,
    RunnableLoadJob,
    WithStagingDataset,
)
from dlt.common.destination.exceptions import DestinationTerminalException
from dlt.common.schema import Schema, TColumnSchema
from dlt.common.schema.typing import TColumnType, TSchemaTables, TTableSchema
from dlt.common.schema.utils import get_dedup_sort_tuple, get_root_table
from dlt.common.storages.load_package import LoadJobInfo
from dlt.common.utils import uniq_id
from dlt.destinations.exceptions import DatabaseTransientException, DatabaseUndefinedRelation
from dlt.destinations.job_client_impl import SqlJobClientBase
from dlt.destinations.job_impl import FollowupJobRequestImpl

from zoomsync.destinations.synapse import ddl, masking, pool
from zoomsync.destinations.synapse.files import file_place
from zoomsync.destinations.synapse.limits import MAX_COLUMNS
from zoomsync.destinations.synapse.names import LEDGER
from zoomsync.destinations.synapse.plan import FamilyLoad, StagedTable, run_family
from zoomsync.destinations.synapse.pool import PoolSettings
from zoomsync.destinations.synapse.sql_client import SynapseSqlClient
from zoomsync.destinations.synapse.stage import Storage, insert_rows, redact
from zoomsync.destinations.synapse.storage import StagingArea
from zoomsync.destinations.synapse.types import sql_column
from zoomsync.destinations.synapse.upload import LARGE_ROWS, stage_file
from zoomsync.errors import ConfigError, ZoomSyncError

log = logging.getLogger("zoomsync.synapse")
# One family load at a time per process: Microsoft advises one load at a time, and
# concurrent DDL (staging tables) next to open transactions deadlocks dedicated pools.
_ONE_FAMILY_AT_A_TIME = threading.Lock()
FAMILY_ATTEMPTS = 5  # a family load, redone whole after a transient error (waits 2, 4, 8, 16 s)
FAMILY_BACKOFF = 2.0


@dataclass
class Loader:
    """What the job client needs beyond dlt's configuration; built from zoomsync Settings."""

    connect: Callable[[], Any]
    staging_area: Callable[[], StagingArea]
    layout: dict[str, dict[str, Any]] = field(default_factory=dict)
    mask_pii: bool = False
    _area: StagingArea | None = None
    # What the pool told us, shared by the job clients of one destination (one per job).
    pool_settings: PoolSettings | None = None
    widths: dict[str, pool.Widths] = field(default_factory=dict)  # dataset -> table widths
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def area(self) -> StagingArea:
        if self._area is None:
            self._area = self.staging_area()
        return self._area

    def check_pool(self, sql: SynapseSqlClient) -> PoolSettings:
        """The pool's settings, read once per destination; refuses a pool without snapshot
        reads (pool.require_snapshot_reads)."""
        with self._lock:
            if self.pool_settings is None:
                found = pool.settings(sql.execute(pool.SETTINGS))
                pool.require_snapshot_reads(found)
                self.pool_settings = found
            return self.pool_settings

    def remember_widths(self, dataset: str, widths: pool.Widths) -> None:
        """Every table's declared widths, as read when a load sets its tables up."""
        with self._lock:
            self.widths[dataset] = widths

    def widths_of(self, dataset: str, table: str,
                  read: Callable[[], pool.Widths]) -> dict[str, int]:
        """One table's declared widths (a copy), read with `read` if not known yet (a
        package resumed by a process that did not set its tables up)."""
        with self._lock:
            known = self.widths.get(dataset, {}).get(table)
        if known is None:
            found = read()
            with self._lock:
                self.widths.setdefault(dataset, {}).update(found)
            known = found.get(table, {})
        return dict(known)


def complete_columns(table: PreparedTableSchema) -> dict[str, TColumnSchema]:
    """The columns with a type, in table order: what files hold and tables are made of."""
    return {n: c for n, c in table["columns"].items() if c.get("data_type")}


class SynapseJobClient(SqlJobClientBase):
    def __init__(self, schema: Schema, config: Any, capabilities: Any, loader: Loader) -> None:
        dataset, staging = WithStagingDataset.create_dataset_names(schema, config)
        sql_client = SynapseSqlClient(dataset, staging, capabilities, loader.connect)
        super().__init__(schema, config, sql_client)
        self.sql_client: SynapseSqlClient = sql_client
        self.loader = loader
        self.type_mapper = capabilities.get_type_mapper()

    def __enter__(self) -> SynapseJobClient:
        super().__enter__()
        try:
            self.loader.check_pool(self.sql_client)
        except BaseException:
            self.sql_client.close_connection()
            raise
        return self

    # --- tables -------------------------------------------------------------------------
    def _spec(self, table_name: str, columns: dict[str, TColumnSchema]) -> ddl.TableSpec:
        root = get_root_table(self.schema.tables, table_name)["name"]
        return ddl.table_spec(table_name, columns, root=root, overrides=self.loader.layout)

    def _get_table_update_sql(self, table_name: str, new_columns: Sequence[TColumnSchema],
                              generate_alter: bool) -> list[str]:
        dataset = self.sql_client.dataset_name
        if not generate_alter:
            spec = self._spec(table_name, {c["name"]: c for c in new_columns})
            check_column_count(table_name, len(spec.columns))
            return [ddl.create_table(dataset, spec)]
        have = self.sql_client.execute(pool.columns(dataset, table_name))
        check_column_count(table_name, len(have) + len(new_columns))
        # Columnstore tables hold no (max) column: a new field gets a bounded type there
        # (the layout is the pool's, whatever the configuration says now).
        index = self.sql_client.execute(pool.index_kind(dataset, table_name))
        bounded = bool(index) and index[0][0] == pool.COLUMNSTORE
        lengths = ddl.table_lengths(self.loader.layout, table_name)
        columns = [sql_column(c, length=lengths.get(c["name"]), bounded=bounded)
                   for c in new_columns]
        if bounded:
            log.warning("synapse: %s is a columnstore table, which cannot hold (max) columns: "
                        "new columns %s", table_name,
                        ", ".join(f"{c.name} {c.sql_type}" for c in columns))
        return [ddl.add_columns(dataset, table_name, columns)]

    def _get_info_schema_columns_query(self, catalog_name: str | None, schema_name: str,
                                       folded_table_names: list[str]) -> tuple[str, list[Any]]:
        """dlt's query of stored tables, with INFORMATION_SCHEMA's column names in their own
        (upper) case: dlt writes them lower-case, which a pool with a case-sensitive
        collation refuses (its catalog identifiers compare case-sensitively).
        https://learn.microsoft.com/azure/synapse-analytics/sql/reference-collation-types
        """
        params: list[Any] = [schema_name]
        query = (f"SELECT {', '.join(self._get_storage_table_query_columns())} "
                 "FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = %s")
        if folded_table_names:
            query += f" AND TABLE_NAME IN ({', '.join(['%s'] * len(folded_table_names))})"
            params += folded_table_names
        return query + " ORDER BY TABLE_NAME, ORDINAL_POSITION", params

    def _get_storage_table_query_columns(self) -> list[str]:
        return ["TABLE_NAME", "COLUMN_NAME", "DATA_TYPE", "IS_NULLABLE", "NUMERIC_PRECISION",
                "NUMERIC_SCALE"]

    def _commit_schema_update(self, schema: Schema, schema_str: str) -> None:
        """dlt's `_dlt_version` row, written once (as dlt's, with _insert_once)."""
        self._insert_once(self.schema.version_table_name, self.version_table_schema_columns,
                          [schema.version, schema.ENGINE_VERSION, datetime.now(UTC),
                           schema.name, schema.stored_version_hash, schema_str],
                          "version_hash", schema.stored_version_hash)

    def _insert_once(self, table: str, columns: str, values: list[Any], key: str,
                     value: Any) -> None:
        """One of dlt's bookkeeping rows, unless a row with that key is there: such an insert
        is safe to retry after a connection lost with its outcome unknown (SqlClient
        retries it like a read), where dlt's plain INSERT would write the row twice."""
        name = self.sql_client.make_qualified_table_name(table)
        (column,) = self._norm_and_escape_columns(key)
        self.sql_client.execute_sql(
            f"INSERT INTO {name}({columns}) SELECT {', '.join(['%s'] * len(values))} "
            f"WHERE NOT EXISTS (SELECT 1 FROM {name} WHERE {column} = %s)",
            *values, value, repeatable=True)

    def update_stored_schema(self, only_tables: Iterable[str] | None = None,
                             expected_update: TSchemaTables | None = None,
                             force: bool = False) -> TSchemaTables | None:
        applied = super().update_stored_schema(only_tables, expected_update, force)
        existing = self._ensure_loader_objects()
        if self.loader.mask_pii:
            self._mask(existing)
        return applied

    def _ensure_loader_objects(self) -> dict[str, set[str]]:
        """The staging schema and the ledger, made once, outside any transaction; returns
        the dataset's tables and their columns."""
        sql = self.sql_client
        staging = sql.staging_dataset_name
        if not sql.execute(ddl.schema_exists(staging)):
            sql.execute(ddl.create_schema(staging))
        tables, widths = pool.widths(sql.execute(pool.columns(sql.dataset_name)))
        self.loader.remember_widths(sql.dataset_name, widths)
        if LEDGER not in {t.lower() for t in tables}:
            sql.execute(ddl.create_ledger(sql.dataset_name))
        return {t: set(c) for t, c in tables.items()}

    def declared_widths(self, table: str) -> dict[str, int]:
        """The bounded columns of a production table, as the pool declares them."""
        dataset = self.sql_client.dataset_name
        return self.loader.widths_of(dataset, table, lambda: pool.widths(
            self.sql_client.execute(pool.columns(dataset, table)))[1])

    def _mask(self, existing: dict[str, set[str]]) -> None:
        """Masks on every personal column that exists and has none yet: after a schema
        change, and also when --mask-pii is turned on for tables loaded without it."""
        dataset = self.sql_client.dataset_name
        try:
            masked = {(t.lower(), c.lower())
                      for t, c in self.sql_client.execute(masking.masked_columns(dataset))}
        except DatabaseUndefinedRelation:
            # sys.masked_columns is not among the views Synapse documents: without it, mask
            # every personal column again (ADD MASKED on a masked column only sets it anew).
            masked = set()
        tables: dict[str, dict[str, str]] = {}
        for table, columns in existing.items():
            declared = self.schema.tables.get(table, {}).get("columns", {})
            tables[table] = {c: declared.get(c, {}).get("data_type") or "text" for c in columns
                             if (table.lower(), c.lower()) not in masked}
        personal = masking.personal_columns(self.schema.tables)
        for statement in masking.mask_statements(dataset, tables, personal):
            self.sql_client.execute(statement)

    def _from_db_type(self, db_type: str, precision: int | None,
                      scale: int | None) -> TColumnType:
        # Only the names of stored columns matter to the schema diff; types are ours.
        return {"data_type": "text"}

    def should_truncate_table_before_load(self, table_name: str) -> bool:
        return False  # a replaced family is emptied inside its load transaction instead

    # --- jobs ---------------------------------------------------------------------------
    def create_load_job(self, table: PreparedTableSchema, file_path: str, load_id: str,
                        restore: bool = False) -> LoadJob:
        if file_path.endswith(".parquet"):
            return UploadJob(file_path)
        if file_path.endswith(".reference"):
            return FamilyJob(file_path)
        job = super().create_load_job(table, file_path, load_id, restore)
        if job is None:
            raise ValueError(f"the synapse destination cannot load {os.path.basename(file_path)}")
        return job

    def create_table_chain_completed_followup_jobs(
        self, table_chain: Sequence[PreparedTableSchema],
        completed_table_chain_jobs: Sequence[LoadJobInfo] | None = None,
    ) -> list[FollowupJobRequest]:
        staged = {j.job_file_info.table_name for j in completed_table_chain_jobs or ()
                  if j.job_file_info.file_format == "parquet"}
        root = table_chain[0]
        if root["name"] not in staged:
            return []  # only children staged: dlt sends the root's rows with them, always
        return [FamilyJobRequest(root["name"], root["write_disposition"],
                                 [t["name"] for t in table_chain if t["name"] in staged],
                                 [t["name"] for t in table_chain[1:]])]

    def load_family(self, load_id: str, description: dict[str, Any]) -> str:
        root = description["root"]
        key = tuple(n for n, c in complete_columns(self.prepare_load_table(root)).items()
                    if c.get("primary_key"))
        mode = description["disposition"]
        if mode == "merge" and not key:
            mode = "append"  # dlt merges without a key by appending
        dataset, staging = self.sql_client.dataset_name, self.sql_client.staging_dataset_name
        staged = tuple(
            StagedTable(name, ddl.table_columns(
                name, complete_columns(self.prepare_load_table(name)), self.loader.layout))
            for name in description["staged"])
        order = get_dedup_sort_tuple(cast(TTableSchema, self.prepare_load_table(root)))
        family = FamilyLoad(dataset, staging, load_id, root, key if mode == "merge" else (),
                            staged, tuple(description["children"]),
                            mode="replace" if mode == "replace" else mode, order=order)
        area = self.loader.area
        with _ONE_FAMILY_AT_A_TIME:
            family = dataclasses.replace(family, staged=tuple(
                dataclasses.replace(t, inserts=tuple(self._large_row_inserts(load_id, t)))
                for t in family.staged))
            outcome = self._run_family(family, area.storage(area.copy_credential()))
        for name in description["staged"]:
            area.delete(area.folder(dataset, name, load_id) + "/")
        log.info("synapse: family %s of load %s %s", root, load_id, outcome)
        return outcome

    def _run_family(self, family: FamilyLoad, storage: Storage) -> str:
        """run_family, redone whole after a transient error, on a new connection.

        Never a statement alone: a COPY that took effect before the connection dropped
        would stage its rows twice. The ledger check at the start of each attempt makes
        the family's load exactly once (a COMMIT that went through is found there).
        """
        for attempt in range(1, FAMILY_ATTEMPTS + 1):
            try:
                return run_family(family, self.sql_client.execute, storage=storage)
            except DatabaseTransientException as exc:
                if attempt == FAMILY_ATTEMPTS:
                    raise
                wait = FAMILY_BACKOFF * 2 ** (attempt - 1)
                log.warning("synapse: family %s of load %s failed (%s); loading it again in "
                            "%.0f s", family.root, family.load_id,
                            " ".join(str(exc).split())[:200], wait)
                time.sleep(wait)
                self.sql_client.reconnect()
        raise AssertionError("unreachable")

    def _large_row_inserts(self, load_id: str, table: StagedTable) -> list[str]:
        """INSERTs for the rows upload.py set aside (over COPY's 1 MB), after the COPY."""
        import pyarrow.parquet as pq

        area, dataset = self.loader.area, self.sql_client.dataset_name
        names = [n for n in area.list(area.folder(dataset, table.name, load_id) + "/")
                 if n.endswith(LARGE_ROWS)]
        inserts: list[str] = []
        for name in names:
            rows = pq.read_table(io.BytesIO(area.download(name))).to_pylist()
            inserts += insert_rows(self.sql_client.staging_dataset_name, table.name, load_id,
                                   rows)
        return inserts

    def complete_load(self, load_id: str) -> None:
        """dlt's `_dlt_loads` row, written once (_insert_once); then what a family left
        behind in storage (its job crashed after COMMIT)."""
        self._insert_once(self.schema.loads_table_name, self.loads_table_schema_columns,
                          [load_id, self.schema.name, 0, datetime.now(UTC),
                           self.schema.version_hash], "load_id", load_id)
        area = self.loader.area
        area.delete(area.load_prefix(self.sql_client.dataset_name, load_id))

    def check_staging(self) -> None:
        """The container exists and zoomsync may list it: checked before extracting."""
        area = self.loader.area
        area.list(area.load_prefix(self.sql_client.dataset_name, "0"))


def check_column_count(table: str, count: int) -> None:
    """Synapse's 1,024 columns per table, as one line before the DDL is sent.
    https://learn.microsoft.com/azure/synapse-analytics/sql-data-warehouse/sql-data-warehouse-service-capacity-limits
    """
    if count > MAX_COLUMNS:  # the same every run until fields are left out: exit code 2
        raise ConfigError(f"table {table} would have {count} columns; a Synapse table "
                               f"holds at most {MAX_COLUMNS}. Leave fields out of the stream "
                               "or load this table into another destination")


class _OneLine(RunnableLoadJob):
    """A failed job's message is one redacted line, not dlt's default of a traceback: it is
    what `zoomsync run` prints after "the load step failed"."""

    def run(self) -> None:
        try:
            self.work()
        except Exception as exc:
            text = " ".join(str(exc).split()) or type(exc).__name__
            self._failed_message = redact(text)[:400]
            if isinstance(exc, ZoomSyncError):
                # Ours (a value too long, a setting): the same again on a retry, so the job
                # fails at once; the run reports this error, found as the cause.
                raise DestinationTerminalException(self._failed_message) from exc
            raise

    def work(self) -> None:
        raise NotImplementedError


class UploadJob(_OneLine, HasFollowupJobs):
    """One dlt Parquet file -> prepared for COPY -> the table's folder of this load."""

    def work(self) -> None:
        client: SynapseJobClient = self._job_client  # type: ignore[assignment]
        from dlt.common.libs.pyarrow import get_py_arrow_datatype

        columns = complete_columns(self._load_table)
        types = {n: get_py_arrow_datatype(c, client.capabilities, "UTC")
                 for n, c in columns.items()}
        info = self._parsed_file_name
        # The narrower of the production column (as the pool declares it) and the staging
        # column: COPY into staging and the INSERT into production must both take a value.
        widths = client.declared_widths(info.table_name)
        for column in ddl.table_columns(info.table_name, columns, client.loader.layout):
            if column.data_type in ("text", "json", "binary") and not column.is_max:
                units = (column.nbytes or 0) // (1 if column.data_type == "binary" else 2)
                widths[column.name] = min(widths.get(column.name, units), units)
        stage_file(client.loader.area, client.sql_client.dataset_name, info.table_name,
                   self._load_id, self._file_path, list(columns), types, info.file_id,
                   file_place(self._file_path), widths)


class FamilyJobRequest(FollowupJobRequestImpl):
    """dlt's table-chain follow-up, as a small JSON job file naming the family."""

    def __init__(self, root: str, disposition: str, staged: list[str],
                 children: list[str]) -> None:
        super().__init__(f"{root}.{uniq_id()}.0.reference")
        self._save_text_file(json.dumps({"root": root, "disposition": disposition,
                                         "staged": staged, "children": children}))


class FamilyJob(_OneLine):
    def work(self) -> None:
        client: SynapseJobClient = self._job_client  # type: ignore[assignment]
        with open(self._file_path, encoding="utf-8") as f:
            description = json.load(f)
        client.load_family(self._load_id, description)
