"""PostgreSQL: dlt's row ids (`_dlt_id`) are compared byte by byte (`COLLATE "C"`).

dlt keeps a UNIQUE index on every table's `_dlt_id`, a random ASCII id. With the
database's collation (en_US.UTF-8, C.UTF-8: libc's `strcoll`), PostgreSQL compares each
pair of ids through the locale, and without its abbreviated keys (PostgreSQL leaves them
off for libc collations): building that index on 116k participants took 69-71 ms of server
CPU here (C.UTF-8), 57 ms with ICU's en-US, 34-35 ms with "C" (measured, 14-character ids).
A first load builds one such index per table (direct.py), every later load keeps them up to
date row by row, and dlt's merges join on them.

Byte order changes nothing an id is used for: ids are only tested for equality (joins of
`_dlt_parent_id` / `_dlt_root_id` to `_dlt_id`), and equality is the same under every
deterministic collation; a comparison of a "C" column with a column of the database's
default collation takes "C" (PostgreSQL's collation rules), so users' joins work as before.
Tables made before this keep their collation; the two mix in joins the same way.

`compare_row_ids_bytewise()` wraps dlt's `PostgresClient._get_column_def_sql` (used for
CREATE TABLE and ADD COLUMN) so a text column marked as the row key gets `COLLATE "C"`
after its type; dlt has no option for it. Should dlt change that method's output, the
column is left as dlt writes it.
"""

from __future__ import annotations

from typing import Any

BYTEWISE = 'COLLATE "C"'


def compare_row_ids_bytewise() -> None:
    """Make dlt's PostgreSQL tables declare their row key `COLLATE "C"` (idempotent)."""
    try:
        from dlt.destinations.impl.postgres.postgres import PostgresClient
    except ImportError:  # no PostgreSQL driver installed: nothing to change
        return
    original = PostgresClient._get_column_def_sql
    if getattr(original, "_zoomsync_bytewise", False):
        return

    def _get_column_def_sql(self: Any, c: Any, table: Any = None) -> str:
        sql: str = original(self, c, table)
        if c.get("row_key") is not True or c.get("data_type") != "text":
            return sql
        start = (f"{self.sql_client.escape_column_name(c['name'])} "
                 f"{self.type_mapper.to_destination_type(c, table)}")
        if not sql.startswith(start):
            return sql  # dlt writes column definitions differently now: left as it is
        return f"{start} {BYTEWISE}{sql[len(start):]}"

    _get_column_def_sql._zoomsync_bytewise = True  # type: ignore[attr-defined]
    PostgresClient._get_column_def_sql = _get_column_def_sql  # type: ignore[method-assign]
