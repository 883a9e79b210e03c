"""Merge semantics, run: the family transaction transpiled from T-SQL and executed on DuckDB.

What this proves: which rows end up in root and child tables after first loads, duplicate
keys, updates, emptied lists, replays and crashes; that the statements are plain DML that
transpiles. What it cannot: Synapse's collation (DuckDB compares strings binary anyway, so
the case test guards the SQL, not the collation — test_golden checks the COLLATE clauses),
distributions, and Synapse's transaction behaviour.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.destinations.synapse.tsql import DuckSynapse
from zoomsync.destinations.synapse.ddl import TableSpec, table_spec
from zoomsync.destinations.synapse.names import LEDGER, SEQ, staging_table
from zoomsync.destinations.synapse.plan import FamilyLoad, StagedTable, run_family

ROOT, ITEMS, TAGS = "sessions", "sessions__items", "sessions__items__tags"
CHILD_DLT: dict[str, dict[str, Any]] = {
    "_dlt_parent_id": {"data_type": "text", "parent_key": True},
    "_dlt_list_idx": {"data_type": "bigint"},
    "_dlt_id": {"data_type": "text", "row_key": True},
    "_dlt_root_id": {"data_type": "text", "root_key": True},
}
SPECS = {
    ROOT: table_spec(ROOT, {"uuid": {"data_type": "text", "primary_key": True},
                            "topic": {"data_type": "text"}, "duration": {"data_type": "bigint"},
                            "_dlt_load_id": {"data_type": "text"},
                            "_dlt_id": {"data_type": "text", "row_key": True}}),
    ITEMS: table_spec(ITEMS, {"value": {"data_type": "text"}, **CHILD_DLT}, root=ROOT),
    TAGS: table_spec(TAGS, {"tag": {"data_type": "text"}, **CHILD_DLT}, root=ROOT),
}
DUCK_TYPES = {"text": "VARCHAR", "bigint": "BIGINT", "timestamp": "TIMESTAMP"}


def _ddl(ref: str, spec: TableSpec, extra: str = "") -> str:
    cols = ", ".join(f'"{c.name}" {DUCK_TYPES[c.data_type]}' for c in spec.columns)
    return f"CREATE TABLE {ref} ({cols}{extra})"


@pytest.fixture
def pool() -> Iterator[DuckSynapse]:
    duck = DuckSynapse()
    duck.db.execute("CREATE SCHEMA zoom; CREATE SCHEMA zoom_staging")
    for name, spec in SPECS.items():
        duck.db.execute(_ddl(f"zoom.{name}", spec))
    duck.db.execute(f"CREATE TABLE zoom.{LEDGER} (load_id VARCHAR, table_family VARCHAR, "
                    "\"rows\" BIGINT, committed_at TIMESTAMP)")
    yield duck
    duck.db.close()


Meeting = tuple[str, str, list[list[str]]]  # uuid, topic, items (each a list of tags)


def load(pool: DuckSynapse, load_id: str, meetings: list[Meeting], **kwargs: Any) -> str:
    """Stage `meetings` as dlt would normalise them (ids per row, children by list index)
    and run the family's load; returns run_family's outcome."""
    rows: dict[str, list[tuple[Any, ...]]] = {ROOT: [], ITEMS: [], TAGS: []}
    for seq, (uuid, topic, items) in enumerate(meetings):
        root_id = f"{load_id}/{seq}"  # dlt's root ids are random per row: unique per row
        rows[ROOT].append((uuid, topic, len(items), load_id, root_id, seq))
        for i, tags in enumerate(items):
            item_id = f"{root_id}/{i}"
            rows[ITEMS].append((f"{uuid}#{i}", root_id, i, item_id, root_id, seq))
            for j, tag in enumerate(tags):
                rows[TAGS].append((tag, item_id, j, f"{item_id}/{j}", root_id, seq))
    staged = tuple(StagedTable(t, SPECS[t].columns) for t in (ROOT, ITEMS, TAGS)
                   if kwargs.get("stage_children", True) or t == ROOT)

    def stage(family: FamilyLoad) -> None:
        for table in family.staged:
            ref = f"zoom_staging.{staging_table(table.name, load_id)}"
            pool.db.execute(f"DROP TABLE IF EXISTS {ref}")
            pool.db.execute(_ddl(ref, SPECS[table.name], f', "{SEQ}" BIGINT'))
            if rows[table.name]:
                marks = ", ".join("?" * len(rows[table.name][0]))
                pool.db.executemany(f"INSERT INTO {ref} VALUES ({marks})", rows[table.name])

    family = FamilyLoad("zoom", "zoom_staging", load_id, ROOT, ("uuid",), staged, (ITEMS, TAGS))
    return run_family(family, kwargs.get("execute", pool.execute), stage=stage)


def content(pool: DuckSynapse) -> dict[str, Any]:
    """The tables as a reader sees them, ids left out (they are per-load by design)."""
    meetings = pool.rows("zoom.sessions", "uuid, topic, duration")
    items = pool.rows("zoom.sessions__items i JOIN zoom.sessions m ON i._dlt_root_id = m._dlt_id",
                      "m.uuid, i.value")
    tags = pool.rows("zoom.sessions__items__tags t JOIN zoom.sessions__items i "
                     "ON t._dlt_parent_id = i._dlt_id", "i.value, t.tag")
    return {"meetings": meetings, "items": items, "tags": tags}


def assert_no_orphans(pool: DuckSynapse) -> None:
    orphans = pool.rows("zoom.sessions__items WHERE _dlt_root_id NOT IN "
                        "(SELECT _dlt_id FROM zoom.sessions)")
    orphans += pool.rows("zoom.sessions__items__tags WHERE _dlt_parent_id NOT IN "
                         "(SELECT _dlt_id FROM zoom.sessions__items)")
    assert orphans == []


def staging_tables(pool: DuckSynapse) -> list[tuple[Any, ...]]:
    return pool.rows("information_schema.tables WHERE table_schema = 'zoom_staging'",
                     "table_name")


def test_first_load_writes_roots_children_and_ledger(pool: DuckSynapse) -> None:
    outcome = load(pool, "1.1", [("m1", "Standup", [["a", "b"], []]), ("m2", "Review", [])])
    assert outcome == "loaded"
    assert content(pool) == {
        "meetings": [("m1", "Standup", 2), ("m2", "Review", 0)],
        "items": [("m1", "m1#0"), ("m1", "m1#1")],
        "tags": [("m1#0", "a"), ("m1#0", "b")],
    }
    assert pool.rows(f"zoom.{LEDGER}", "load_id, table_family, \"rows\"") == [("1.1", ROOT, 2)]
    assert staging_tables(pool) == []
    assert_no_orphans(pool)


def test_duplicate_keys_in_one_load_newest_wins_with_its_children(pool: DuckSynapse) -> None:
    load(pool, "1.1", [("m1", "old", [["x"]]), ("m2", "other", []), ("m1", "new", [["y", "z"]])])
    assert content(pool) == {
        "meetings": [("m1", "new", 1), ("m2", "other", 0)],
        "items": [("m1", "m1#0")],
        "tags": [("m1#0", "y"), ("m1#0", "z")],  # not the losing row's "x"
    }
    assert pool.rows(f"zoom.{LEDGER}", "\"rows\"") == [(2,)]
    assert_no_orphans(pool)


def test_second_load_replaces_keys_and_their_children_only(pool: DuckSynapse) -> None:
    load(pool, "1.1", [("m1", "v1", [["a"], ["b"]]), ("m2", "kept", [["k"]])])
    load(pool, "1.2", [("m1", "v2", [["c"]]), ("m3", "added", [])])
    assert content(pool) == {
        "meetings": [("m1", "v2", 1), ("m2", "kept", 1), ("m3", "added", 0)],
        "items": [("m1", "m1#0"), ("m2", "m2#0")],
        "tags": [("m1#0", "c"), ("m2#0", "k")],  # m1's old a/b are gone, m2's k untouched
    }
    assert_no_orphans(pool)


def test_a_list_that_became_empty_loses_its_old_items(pool: DuckSynapse) -> None:
    load(pool, "1.1", [("m1", "v1", [["a"], ["b"]])])
    # No child rows at all in this load: the child tables are not even staged.
    load(pool, "1.2", [("m1", "v2", [])], stage_children=False)
    assert content(pool) == {"meetings": [("m1", "v2", 0)], "items": [], "tags": []}


def test_replayed_load_changes_nothing(pool: DuckSynapse) -> None:
    load(pool, "1.1", [("m1", "v1", [["a"]])])
    load(pool, "1.2", [("m1", "v2", [["b"]])])
    before = content(pool), pool.rows(f"zoom.{LEDGER}", "load_id, \"rows\"")
    # dlt retries load 1.2 (say the process died after COMMIT, before it recorded success).
    assert load(pool, "1.2", [("m1", "v2", [["b"]])]) == "skipped"
    # Even an *older* package replayed with other content is refused by the ledger.
    assert load(pool, "1.1", [("m1", "stale", [])]) == "skipped"
    assert (content(pool), pool.rows(f"zoom.{LEDGER}", "load_id, \"rows\"")) == before
    assert staging_tables(pool) == []


def test_keys_differing_only_by_case_stay_two_rows(pool: DuckSynapse) -> None:
    load(pool, "1.1", [("aDYlxY9aQ1Ww==", "upper", [["u"]]), ("adylxy9aq1ww==", "lower", [])])
    load(pool, "1.2", [("adylxy9aq1ww==", "lower v2", [["l"]])])
    assert content(pool)["meetings"] == [("aDYlxY9aQ1Ww==", "upper", 1),
                                         ("adylxy9aq1ww==", "lower v2", 1)]
    assert content(pool)["tags"] == [("aDYlxY9aQ1Ww==#0", "u"), ("adylxy9aq1ww==#0", "l")]


def test_crash_inside_the_transaction_rolls_back_and_a_rerun_loads(pool: DuckSynapse) -> None:
    load(pool, "1.1", [("m1", "v1", [["a"]])])
    before = content(pool)

    def crash_on_insert(sql: str) -> Any:
        if sql.startswith("INSERT INTO [zoom].[sessions] "):  # after the deletes ran
            raise ConnectionError("communication link failure")
        return pool.execute(sql)

    with pytest.raises(ConnectionError):
        load(pool, "1.2", [("m1", "v2", [["b"]])], execute=crash_on_insert)
    assert content(pool) == before  # the deletes were rolled back with it
    assert pool.rows(f"zoom.{LEDGER}", "load_id") == [("1.1",)]
    assert load(pool, "1.2", [("m1", "v2", [["b"]])]) == "loaded"
    assert content(pool)["tags"] == [("m1#0", "b")]


def test_crash_after_commit_leaves_only_the_staging_drop(pool: DuckSynapse) -> None:
    def crash_on_drop(sql: str) -> Any:
        if sql.startswith("IF OBJECT_ID"):
            raise ConnectionError("process killed")
        return pool.execute(sql)

    with pytest.raises(ConnectionError):
        load(pool, "1.1", [("m1", "v1", [["a"]])], execute=crash_on_drop)
    assert staging_tables(pool) != []  # committed, staging still there
    after_commit = content(pool)
    pool.log.clear()
    assert load(pool, "1.1", [("m1", "v1", [["a"]])]) == "skipped"
    assert content(pool) == after_commit
    assert staging_tables(pool) == []
    assert [s.split(" ")[0] for s in pool.log] == ["SELECT", "IF", "IF", "IF"]


# The golden families themselves (catalog tables, composite keys), run on DuckDB.
CATALOG_TYPES = {**DUCK_TYPES, "bool": "BOOLEAN", "double": "DOUBLE", "date": "DATE",
                 "json": "VARCHAR"}


def test_golden_participants_merge_on_composite_key(pool: DuckSynapse) -> None:
    from tests.destinations.synapse.families import participants_family, spec

    table = spec("meeting_participants")
    names = [c.name for c in table.columns]

    def create(ref: str, extra: str = "") -> None:
        cols = ", ".join(f'"{c.name}" {CATALOG_TYPES[c.data_type]}' for c in table.columns)
        pool.db.execute(f"CREATE TABLE {ref} ({cols}{extra})")

    def row(seq: int, load_id: str, **values: Any) -> tuple[Any, ...]:
        values.update(_dlt_load_id=load_id, _dlt_id=f"{load_id}/{seq}")
        return (*(values.get(n) for n in names), seq)

    def run(load_id: str, rows: list[tuple[Any, ...]]) -> str:
        family = participants_family(load_id)

        def stage(f: FamilyLoad) -> None:
            ref = f"zoom_staging.{staging_table('meeting_participants', load_id)}"
            create(ref, f', "{SEQ}" BIGINT')
            pool.db.executemany(f"INSERT INTO {ref} VALUES ({', '.join('?' * len(rows[0]))})",
                                rows)

        return run_family(family, pool.execute, stage=stage)

    create("zoom.meeting_participants")
    t1, t2 = "2026-01-01 10:00:00", "2026-01-01 10:30:00"
    assert run("2.1", [row(0, "2.1", meeting_uuid="M==", user_id="u1", join_time=t1, name="Ann"),
                       row(1, "2.1", meeting_uuid="M==", user_id="u1", join_time=t2, name="Ann"),
                       row(2, "2.1", meeting_uuid="m==", user_id="u1", join_time=t1, name="Bo"),
                       row(3, "2.1", meeting_uuid="M==", user_id="u1", join_time=t1,
                           name="Ann B.")]) == "loaded"
    assert run("2.2", [row(0, "2.2", meeting_uuid="m==", user_id="u1", join_time=t1,
                           name="Bob")]) == "loaded"
    got = pool.rows("zoom.meeting_participants", "meeting_uuid, user_id, join_time::VARCHAR, name")
    assert got == [("M==", "u1", t1, "Ann B."), ("M==", "u1", t2, "Ann"),
                   ("m==", "u1", t1, "Bob")]
    assert pool.rows(f"zoom.{LEDGER}", "load_id, \"rows\"") == [("2.1", 3), ("2.2", 1)]
