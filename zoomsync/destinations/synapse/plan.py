"""One family's load, start to finish, and the order its statements run in.

    check    SELECT the ledger row            -> present: cleanup only, done ("skipped")
    stage    drop + create staging, COPY INTO  (DDL and COPY: outside any transaction)
    publish  BEGIN ... deletes, inserts, ledger row ... COMMIT   (merge.py)
    cleanup  drop the staging tables           (DDL again: after COMMIT)

Exactly once: the ledger row commits with the merge, so after any crash — before COMMIT,
during it (connection lost, outcome unknown), or after it — a rerun asks the ledger first.
Committed: only the staging drop remains. Not committed: the transaction rolled back
entirely, staging is rebuilt from the files still in storage, and the merge runs again
(its deletes make it idempotent). Loads must not run concurrently; Microsoft also
recommends one load at a time, and the job client serialises them.

`run_family` needs only an `execute(sql) -> rows` callable, so a dlt job client can drive it
with a DB-API cursor and tests can drive it with DuckDB.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from zoomsync.destinations.synapse.ddl import create_staging, drop_staging
from zoomsync.destinations.synapse.merge import ledger_check, publish, publish_all
from zoomsync.destinations.synapse.stage import Storage, copy_into
from zoomsync.destinations.synapse.types import SqlColumn

Execute = Callable[[str], Sequence[Sequence[Any]]]
Outcome = Literal["loaded", "skipped"]
Mode = Literal["merge", "append", "replace"]


@dataclass(frozen=True)
class StagedTable:
    """A table with files in this load: its columns in the files' order, the file names
    under the load's folder (empty: every *.parquet there), and the INSERTs of the rows
    COPY cannot take (stage.insert_rows), run after the COPY."""

    name: str
    columns: tuple[SqlColumn, ...]
    files: tuple[str, ...] = ()
    inserts: tuple[str, ...] = ()


@dataclass(frozen=True)
class FamilyLoad:
    """A root table and its children, for one load.

    `children`: every child table of the family that exists in the destination (staged or
    not: their rows under replaced roots must go). `staged`: the tables with files in this
    load, the root among them. `mode`: merge on `key` (dlt's merge), or — for a family
    without a key — append, or replace the whole family.
    """

    schema: str
    staging_schema: str
    load_id: str
    root: str
    key: tuple[str, ...]
    staged: tuple[StagedTable, ...]
    children: tuple[str, ...] = ()
    mode: Mode = "merge"
    order: tuple[str, str] | None = None  # the root's dedup sort: (column, "asc" | "desc")

    def check(self) -> str:
        return ledger_check(self.schema, self.load_id, self.root)

    def stage(self, storage: Storage) -> list[str]:
        sql: list[str] = []
        for table in self.staged:
            sql.append(drop_staging(self.staging_schema, table.name, self.load_id))
            sql.append(create_staging(self.staging_schema, table.name, self.load_id,
                                      table.columns))
            sql.append(copy_into(self.staging_schema, table.name, self.load_id, storage,
                                 self.schema, table.files))
            sql.extend(table.inserts)
        return sql

    def publish(self) -> list[str]:
        if self.mode != "merge":
            replace = (self.root, *self.children) if self.mode == "replace" else ()
            return publish_all(self.schema, self.staging_schema, self.load_id, root=self.root,
                               staged={t.name: [c.name for c in t.columns] for t in self.staged},
                               replace=replace)
        return publish(self.schema, self.staging_schema, self.load_id, root=self.root,
                       key=self.key, children=self.children, order=self.order,
                       staged={t.name: [c.name for c in t.columns] for t in self.staged})

    def cleanup(self) -> list[str]:
        return [drop_staging(self.staging_schema, t.name, self.load_id) for t in self.staged]


def run_family(load: FamilyLoad, execute: Execute, *, storage: Storage | None = None,
               stage: Callable[[FamilyLoad], None] | None = None) -> Outcome:
    """Load one family exactly once. `stage` replaces the staging step (tests, or a client
    that stages differently); otherwise `storage` says where COPY reads from."""
    if execute(load.check()):
        for sql in load.cleanup():
            execute(sql)
        return "skipped"
    if stage is not None:
        stage(load)
    elif storage is not None:
        for sql in load.stage(storage):
            execute(sql)
    else:
        raise ValueError("run_family needs storage (for COPY) or a stage callable")
    try:
        for sql in load.publish():
            execute(sql)
    except BaseException:
        # A failed statement dooms a Synapse transaction (XACT_STATE() = -2): roll it back
        # before anything else can run. If the connection is gone, so is the transaction,
        # and the original error is the one worth raising.
        with contextlib.suppress(Exception):
            execute("ROLLBACK TRANSACTION")
        raise
    for sql in load.cleanup():
        execute(sql)
    return "loaded"
