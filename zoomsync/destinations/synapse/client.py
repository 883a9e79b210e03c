"""The dlt job client: dlt's SQL machinery with zoomsync's DDL and exactly-once family loads.

What dlt still does: its schema diff (new tables, new columns), `_dlt_version` / `_dlt_loads`
/ `_dlt_pipeline_state` (so a pipeline restores its state from the pool), load packages and
job retries. What changes for Synapse:
- DDL comes from ddl.py (types, binary-collated keys, distribution and index per table);
  new columns by one ALTER TABLE ADD; masks after any schema change under `--mask-pii`.
- each Parquet file is an `UploadJob`: rewritten for COPY (upload.py) and put in storage;
- when every file of a table family (a root table and its children) is uploaded, dlt's
  table-chain follow-up becomes one `FamilyJob`, which runs plan.run_family: ledger check,
  staging + COPY, one transaction, cleanup — then deletes the family's staged files.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dlt.common.destination.client import (
    FollowupJobRequest,
    HasFollowupJobs,
    LoadJob,
    PreparedTableSchema,
    RunnableLoadJob,
    WithStagingDataset,
)
from dlt.common.schema import Schema, TColumnSchema
from dlt.common.schema.typing import TColumnType, TSchemaTables
from dlt.common.schema.utils import get_root_table
from dlt.common.storages.load_package import LoadJobInfo
from dlt.common.utils import uniq_id
from dlt.destinations.job_client_impl import SqlJobClientBase
from dlt.destinations.job_impl import FollowupJobRequestImpl

from zoomsync.destinations.file_order import file_place
from zoomsync.destinations.synapse import ddl, masking
from zoomsync.destinations.synapse.names import LEDGER
from zoomsync.destinations.synapse.plan import FamilyLoad, StagedTable, run_family
from zoomsync.destinations.synapse.sql_client import SynapseSqlClient
from zoomsync.destinations.synapse.stage import redact
from zoomsync.destinations.synapse.storage import StagingArea
from zoomsync.destinations.synapse.types import sql_column
from zoomsync.destinations.synapse.upload import stage_file

log = logging.getLogger("zoomsync.synapse")
# One family load at a time per process: Microsoft advises one load at a time, and
# concurrent DDL (staging tables) next to open transactions deadlocks dedicated pools.
_ONE_FAMILY_AT_A_TIME = threading.Lock()


@dataclass
class Loader:
    """What the job client needs beyond dlt's configuration; built from zoomsync Settings."""

    connect: Callable[[], Any]
    staging_area: Callable[[], StagingArea]
    layout: dict[str, dict[str, Any]] = field(default_factory=dict)
    mask_pii: bool = False
    personal: dict[str, dict[str, str | None]] = field(default_factory=dict)
    _area: StagingArea | None = None

    @property
    def area(self) -> StagingArea:
        if self._area is None:
            self._area = self.staging_area()
        return self._area


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

    # --- tables -------------------------------------------------------------------------
    def _spec(self, table_name: str, columns: dict[str, TColumnSchema]) -> ddl.TableSpec:
        root = get_root_table(self.schema.tables, table_name)["name"]
        return ddl.table_spec(table_name, columns, root=root, overrides=self.loader.layout)

    def _get_table_update_sql(self, table_name: str, new_columns: Sequence[TColumnSchema],
                              generate_alter: bool) -> list[str]:
        dataset = self.sql_client.dataset_name
        if not generate_alter:
            spec = self._spec(table_name, {c["name"]: c for c in new_columns})
            return [ddl.create_table(dataset, spec)]
        lengths = ddl.table_lengths(self.loader.layout, table_name)
        return [ddl.add_columns(dataset, table_name,
                                [sql_column(c, length=lengths.get(c["name"]))
                                 for c in new_columns])]

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
        existing: dict[str, set[str]] = {}
        for table, column in sql.execute(ddl.existing_columns(sql.dataset_name)):
            existing.setdefault(table, set()).add(column)
        if LEDGER not in {t.lower() for t in existing}:
            sql.execute(ddl.create_ledger(sql.dataset_name))
        return existing

    def _mask(self, existing: dict[str, set[str]]) -> None:
        """Masks on every personal column that exists and has none yet: after a schema
        change, and also when --mask-pii is turned on for tables loaded without it."""
        dataset = self.sql_client.dataset_name
        masked = {(t.lower(), c.lower())
                  for t, c in self.sql_client.execute(masking.masked_columns(dataset))}
        tables: dict[str, dict[str, str]] = {}
        for table, columns in existing.items():
            declared = self.schema.tables.get(table, {}).get("columns", {})
            tables[table] = {c: declared.get(c, {}).get("data_type") or "text" for c in columns
                             if (table.lower(), c.lower()) not in masked}
        for statement in masking.mask_statements(dataset, tables, self.loader.personal):
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
            StagedTable(name, self._spec(name, complete_columns(self.prepare_load_table(name)))
                        .columns)
            for name in description["staged"])
        family = FamilyLoad(dataset, staging, load_id, root, key if mode == "merge" else (),
                            staged, tuple(description["children"]),
                            mode="replace" if mode == "replace" else mode)
        area = self.loader.area
        with _ONE_FAMILY_AT_A_TIME:
            outcome = run_family(family, self.sql_client.execute,
                                 storage=area.storage(area.copy_credential()))
        for name in description["staged"]:
            area.delete(area.folder(dataset, name, load_id) + "/")
        log.info("synapse: family %s of load %s %s", root, load_id, outcome)
        return outcome

    def check_staging(self) -> None:
        """The container exists and zoomsync may list it: checked before extracting."""
        area = self.loader.area
        area.list(area.load_prefix(self.sql_client.dataset_name, "0"))

    def complete_load(self, load_id: str) -> None:
        super().complete_load(load_id)
        # Anything a family left behind (its job crashed after COMMIT, before the delete).
        area = self.loader.area
        area.delete(area.load_prefix(self.sql_client.dataset_name, load_id))


class _OneLine(RunnableLoadJob):
    """A failed job's message is one redacted line, not dlt's default of a traceback: it is
    what `zoomsync run` prints after "the load step failed"."""

    def run(self) -> None:
        try:
            self.work()
        except Exception as exc:
            text = " ".join(str(exc).split()) or type(exc).__name__
            self._failed_message = redact(text)[:400]
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
        stage_file(client.loader.area, client.sql_client.dataset_name, info.table_name,
                   self._load_id, self._file_path, list(columns), types, info.file_id,
                   file_place(self._file_path))


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
