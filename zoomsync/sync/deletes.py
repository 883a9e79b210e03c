"""Soft deletes: rows Zoom no longer lists get `_zoomsync_deleted_at`, never vanish.

Why not through dlt: a merge replaces a root row together with its child-table rows
(`meetings__occurrences`, ...), so re-yielding a partial "deleted" row would drop them.
Instead the column is set in place: an UPDATE through the destination's own SQL client
for SQL warehouses, deltalake's update for Delta tables. Destinations that rewrite whole
tables (filesystem: Parquet/JSONL files) are read in full on every run, so a row Zoom
forgot is simply absent from the next copy; nothing is marked there.

A row that comes back (Zoom lists it again) is loaded again by merge, without the mark.
Deleting a definition marks the rows of its per-parent streams too (a meeting's
registrants and polls, a user's settings, a group's members).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zoomsync.destinations import Target

log = logging.getLogger("zoomsync.sync")

DELETED_AT = "_zoomsync_deleted_at"
BATCH = 200  # keys per statement: well below every warehouse's parameter limit
# A stream's partition -> the stream that owns those parents (for the cascade).
OWNERS = {"users": "users", "groups": "groups", "meetings": "meetings",
          "meetings_with_registration": "meetings", "webinars": "webinars",
          "webinars_with_registration": "webinars"}


def cascade(stream: str) -> list[tuple[str, str]]:
    """(child stream, its column naming the parent) for the reconciled children of `stream`."""
    from zoomsync.catalog import CATALOG

    return [(s.name, s.parent_key) for s in CATALOG.values()
            if s.mode == "reconciled" and s.parent_key and OWNERS.get(s.partition) == stream]


def mark_deleted(pipeline: Any, target: Target, stream: str, keys: list[dict[str, Any]],
                 at: datetime) -> int:
    """Mark the rows of `stream` with these primary keys deleted at `at`; returns rows marked.

    Rows already marked keep their first mark. Child streams of a deleted definition are
    marked too (not counted). Filesystem destinations: 0, see the module docstring.
    """
    if not keys or target.replaces_tables:
        return 0
    marked = _mark(pipeline, target, stream, keys, at)
    for child, column in cascade(stream):
        parents = [{column: k["id"], **_account(k)} for k in keys if "id" in k]
        if parents:
            _mark(pipeline, target, child, parents, at)
    return marked


def apply_pending(pipeline: Any, target: Target, account_id: str | None = None) -> dict[str, int]:
    """Mark what the last extraction found vanished (kept in state until the next run)."""
    from zoomsync.catalog import CATALOG
    from zoomsync.sync.state import Tracker, resource_states

    done: dict[str, int] = {}
    for name, doc in resource_states(pipeline).items():
        if name not in CATALOG:
            continue
        pk = CATALOG[name].primary_key
        for at, values in Tracker(doc).pending():
            keys = [{**dict(zip(pk, v, strict=True)),
                     **({"account_id": account_id} if account_id else {})} for v in values]
            done[name] = done.get(name, 0) + mark_deleted(pipeline, target, name, keys, at)
    return done


def _account(key: dict[str, Any]) -> dict[str, Any]:
    return {"account_id": key["account_id"]} if "account_id" in key else {}


def _mark(pipeline: Any, target: Target, table: str, keys: list[dict[str, Any]],
          at: datetime) -> int:
    if target.table_format == "delta":
        return _mark_delta(pipeline, table, keys, at)
    return _mark_sql(pipeline, table, keys, at)


def _chunks(keys: list[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    for i in range(0, len(keys), BATCH):
        yield keys[i:i + BATCH]


def _mark_sql(pipeline: Any, table: str, keys: list[dict[str, Any]], at: datetime) -> int:
    """One UPDATE per batch, in one transaction; counted first, as drivers differ on rowcount."""
    marked = 0
    with pipeline.sql_client() as client:
        if not _has_table(client, table):
            return 0
        name = client.make_qualified_table_name(table)
        column = client.escape_column_name(DELETED_AT)
        with client.begin_transaction():
            for chunk in _chunks(keys):
                where, args = _where(client, chunk)
                rows = client.execute_sql(
                    f"SELECT COUNT(*) FROM {name} WHERE {column} IS NULL AND ({where})", *args)
                marked += int(rows[0][0]) if rows else 0
                client.execute_sql(
                    f"UPDATE {name} SET {column} = %s WHERE {column} IS NULL AND ({where})",
                    at, *args)
    return marked


def _where(client: Any, chunk: list[dict[str, Any]]) -> tuple[str, list[Any]]:
    columns = list(chunk[0])
    one = " AND ".join(f"{client.escape_column_name(c)} = %s" for c in columns)
    return " OR ".join(f"({one})" for _ in chunk), [k[c] for k in chunk for c in columns]


def _has_table(client: Any, table: str) -> bool:
    try:
        client.execute_sql(f"SELECT 1 FROM {client.make_qualified_table_name(table)} WHERE 1 = 0")
    except Exception:
        return False
    return True


def _mark_delta(pipeline: Any, table: str, keys: list[dict[str, Any]], at: datetime) -> int:
    """deltalake's UPDATE with a SQL predicate (datafusion dialect)."""
    from dlt.common.libs.deltalake import get_delta_tables

    try:
        delta = get_delta_tables(pipeline, table)[table]
    except (ValueError, KeyError):  # no such Delta table (the stream never loaded)
        return 0
    marked = 0
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    for chunk in _chunks(keys):
        match = " OR ".join("(" + " AND ".join(f"{c} = {_literal(v)}" for c, v in k.items())
                            + ")" for k in chunk)
        metrics = delta.update(predicate=f"{DELETED_AT} IS NULL AND ({match})",
                               updates={DELETED_AT: f"CAST('{stamp}' AS TIMESTAMP)"})
        marked += int(metrics.get("num_updated_rows", 0))
    return marked


def _literal(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not a key value: {value!r}")
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"
