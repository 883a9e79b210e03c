"""Everything a Synapse load says to the server, as functions that return T-SQL text.

One import for the job client; the builders live in small modules by concern:

    ddl.py      CREATE SCHEMA / TABLE, ALTER TABLE ADD, staging tables, the ledger
    stage.py    COPY INTO from Blob Storage / ADLS Gen2, credentials, `redact`
    merge.py    the per-family transaction and the ledger check
    masking.py  dynamic data masking of personal columns
    retry.py    transient vs permanent error numbers

No statement here needs a driver or a server; golden files in
tests/destinations/synapse/golden/ pin their exact text.
"""

from __future__ import annotations

from zoomsync.destinations.synapse.ddl import (
    TableSpec,
    add_columns,
    create_ledger,
    create_schema,
    create_staging,
    create_table,
    drop_staging,
    existing_columns,
    schema_changes,
    schema_exists,
    table_spec,
)
from zoomsync.destinations.synapse.masking import grant_unmask, mask_column, mask_statements
from zoomsync.destinations.synapse.merge import ledger_check, publish
from zoomsync.destinations.synapse.retry import classify, classify_exception
from zoomsync.destinations.synapse.stage import copy_into, redact

__all__ = [
    "TableSpec",
    "add_columns",
    "classify",
    "classify_exception",
    "copy_into",
    "create_ledger",
    "create_schema",
    "create_staging",
    "create_table",
    "drop_staging",
    "existing_columns",
    "grant_unmask",
    "ledger_check",
    "mask_column",
    "mask_statements",
    "publish",
    "redact",
    "schema_changes",
    "schema_exists",
    "table_spec",
]
