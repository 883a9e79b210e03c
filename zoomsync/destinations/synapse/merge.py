"""The merge: one transaction per table family that replaces keys and records the load.

A family is a root table (keyed by the stream's primary key) and its child tables, linked
by dlt's `_dlt_root_id` (the root row's `_dlt_id`). For one load, in one transaction:

1. delete the children of every root row whose key is in this load (by `_dlt_root_id`,
   before the roots, which are how they are found) — in every child table of the family,
   staged this load or not: a list that became empty must lose its old items;
2. delete those root rows;
3. insert the newest staged row per key (see `winners`);
4. insert the staged children of the winning root rows only;
5. insert the ledger row `(load_id, family, rows, committed_at)`;
then COMMIT. Readers never see the family half-replaced once READ_COMMITTED_SNAPSHOT is on.

Why DELETE + INSERT and not MERGE: MERGE's WHEN NOT MATCHED BY TARGET needs a HASH target,
older builds put rows in the wrong distribution, and Microsoft advises against columnstore
targets (synapse-loading.md §1.8, §7.7).
https://learn.microsoft.com/sql/t-sql/statements/merge-transact-sql
The statements are plain DML — `DELETE ... WHERE EXISTS`, `INSERT ... SELECT` — which
dedicated pools run inside a transaction (no temp tables, no SELECT INTO, no TRUNCATE).
https://learn.microsoft.com/azure/synapse-analytics/sql-data-warehouse/sql-data-warehouse-develop-transactions

Which row wins: the first by the root's `dedup_sort` column (dlt's hint: highest for "desc",
lowest for "asc"), then the one staged last (highest `_zoomsync_seq`: the uploader numbers
rows in file order, files in an arbitrary but fixed order, files.py). zoomsync's source
marks `_zoomsync_read_order` so, and a record it read twice (a page that shifted under
pagination, a user listed under two statuses while changing) keeps its later, newer copy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from zoomsync.destinations.synapse.names import (
    LEDGER,
    ROW_NUMBER,
    SEQ,
    literal,
    quote,
    staging_table,
    table_ref,
)

ROW_ID = "_dlt_id"
ROOT_ID = "_dlt_root_id"


def ledger_check(schema: str, load_id: str, family: str) -> str:
    """One row if this load's family already committed: then only the staging drop is left."""
    return (f"SELECT [rows] FROM {table_ref(schema, LEDGER)} "
            f"WHERE [load_id] = {literal(load_id)} AND [table_family] = {literal(family)}")


def winners(staging: str, key: Sequence[str], columns: Sequence[str],
            order: tuple[str, str] | None = None) -> str:
    """The winning staged row per key (the first by `order`, the root's dedup sort column
    and direction, then the last staged), as a derived table of `columns`."""
    keys = ", ".join(quote(k) for k in key)
    cols = ", ".join(quote(c) for c in columns)
    first = f"{quote(order[0])} {order[1].upper()}, " if order else ""
    return (f"(SELECT {cols}, ROW_NUMBER() OVER (PARTITION BY {keys} ORDER BY {first}"
            f"{quote(SEQ)} DESC) AS {quote(ROW_NUMBER)} FROM {staging}) AS w")


def publish(schema: str, staging_schema: str, load_id: str, *, root: str, key: Sequence[str],
            staged: Mapping[str, Sequence[str]], children: Sequence[str] = (),
            order: tuple[str, str] | None = None) -> list[str]:
    """The family's transaction, BEGIN to COMMIT.

    `staged` maps each table staged in this load (the root first among them) to the columns
    to copy — the staging table's data columns that the production table has. `children`
    lists every child table of the family that exists in the destination.
    """
    if root not in staged:
        raise ValueError(f"family {root}: the root table is not staged in load {load_id}")
    if not key:
        raise ValueError(f"family {root}: a root table needs a primary key to merge on")
    strays = set(staged) - {root, *children}
    if strays:
        raise ValueError(f"family {root}: staged {', '.join(sorted(strays))} not among its "
                         "children")
    target = table_ref(schema, root)
    stg_root = table_ref(staging_schema, staging_table(root, load_id))
    match = " AND ".join(f"s.{quote(k)} = t.{quote(k)}" for k in key)
    replaced = (f"SELECT t.{quote(ROW_ID)} FROM {target} AS t WHERE EXISTS "
                f"(SELECT 1 FROM {stg_root} AS s WHERE {match})")
    sql = ["BEGIN TRANSACTION"]
    # Children first: the root rows are how their old children are found.
    for child in children:
        sql.append(f"DELETE FROM {table_ref(schema, child)} "
                   f"WHERE {quote(ROOT_ID)} IN ({replaced})")
    # Synapse's DELETE takes no alias on its target: correlate on the full name.
    on_target = " AND ".join(f"s.{quote(k)} = {target}.{quote(k)}" for k in key)
    sql.append(f"DELETE FROM {target} WHERE EXISTS "
               f"(SELECT 1 FROM {stg_root} AS s WHERE {on_target})")
    root_cols = list(staged[root])
    cols = ", ".join(quote(c) for c in root_cols)
    sql.append(f"INSERT INTO {target} ({cols}) SELECT {cols} FROM "
               f"{winners(stg_root, key, root_cols, order)} WHERE w.{quote(ROW_NUMBER)} = 1")
    winning_ids = (f"SELECT w.{quote(ROW_ID)} FROM {winners(stg_root, key, [ROW_ID], order)} "
                   f"WHERE w.{quote(ROW_NUMBER)} = 1")
    for child in children:
        if child not in staged:
            continue
        child_cols = ", ".join(quote(c) for c in staged[child])
        stg_child = table_ref(staging_schema, staging_table(child, load_id))
        sql.append(f"INSERT INTO {table_ref(schema, child)} ({child_cols}) "
                   f"SELECT {child_cols} FROM {stg_child} AS c "
                   f"WHERE c.{quote(ROOT_ID)} IN ({winning_ids})")
    keys = ", ".join(quote(k) for k in key)
    sql.append(f"INSERT INTO {table_ref(schema, LEDGER)} "
               "([load_id], [table_family], [rows], [committed_at]) "
               f"SELECT {literal(load_id)}, {literal(root)}, COUNT(*), SYSUTCDATETIME() "
               f"FROM (SELECT {keys} FROM {stg_root} GROUP BY {keys}) AS k")
    sql.append("COMMIT TRANSACTION")
    return sql


def publish_all(schema: str, staging_schema: str, load_id: str, *, root: str,
                staged: Mapping[str, Sequence[str]], replace: Sequence[str] = ()) -> list[str]:
    """The transaction for a family without a key: append every staged row, or — for the
    tables in `replace` (a replaced family: the root and every child) — delete all their
    rows first. dlt's state table (`_dlt_pipeline_state`) is appended this way, so even
    dlt's bookkeeping is loaded exactly once."""
    if root not in staged:
        raise ValueError(f"family {root}: the root table is not staged in load {load_id}")
    sql = ["BEGIN TRANSACTION"]
    sql.extend(f"DELETE FROM {table_ref(schema, t)}" for t in replace)
    for table, columns in staged.items():
        cols = ", ".join(quote(c) for c in columns)
        stg = table_ref(staging_schema, staging_table(table, load_id))
        sql.append(f"INSERT INTO {table_ref(schema, table)} ({cols}) SELECT {cols} FROM {stg}")
    stg_root = table_ref(staging_schema, staging_table(root, load_id))
    sql.append(f"INSERT INTO {table_ref(schema, LEDGER)} "
               "([load_id], [table_family], [rows], [committed_at]) "
               f"SELECT {literal(load_id)}, {literal(root)}, COUNT(*), SYSUTCDATETIME() "
               f"FROM {stg_root}")
    sql.append("COMMIT TRANSACTION")
    return sql
