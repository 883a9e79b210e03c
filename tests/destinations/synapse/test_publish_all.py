"""Families without a key (dlt's state table, append resources) and replaced families: one
transaction that appends, or empties the family first, plus the ledger row — run on DuckDB."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.destinations.synapse.tsql import DuckSynapse, parse_tsql
from zoomsync.destinations.synapse.ddl import table_spec
from zoomsync.destinations.synapse.names import LEDGER, SEQ, staging_table
from zoomsync.destinations.synapse.plan import FamilyLoad, StagedTable, run_family

ROOT, CHILD = "events", "events__tags"
SPECS = {
    ROOT: table_spec(ROOT, {"name": {"data_type": "text"},
                            "_dlt_id": {"data_type": "text", "row_key": True}}),
    CHILD: table_spec(CHILD, {"tag": {"data_type": "text"},
                              "_dlt_root_id": {"data_type": "text", "root_key": True}},
                      root=ROOT),
}


@pytest.fixture
def pool() -> Iterator[DuckSynapse]:
    duck = DuckSynapse()
    duck.db.execute("CREATE SCHEMA zoom; CREATE SCHEMA zoom_staging")
    duck.db.execute(f"CREATE TABLE zoom.{ROOT} (name VARCHAR, _dlt_id VARCHAR)")
    duck.db.execute(f"CREATE TABLE zoom.{CHILD} (tag VARCHAR, _dlt_root_id VARCHAR)")
    duck.db.execute(f'CREATE TABLE zoom.{LEDGER} (load_id VARCHAR, table_family VARCHAR, '
                    '"rows" BIGINT, committed_at TIMESTAMP)')
    yield duck
    duck.db.close()


def load(pool: DuckSynapse, load_id: str, mode: str, names: list[str]) -> str:
    def stage(family: FamilyLoad) -> None:
        for table in family.staged:
            ref = f"zoom_staging.{staging_table(table.name, load_id)}"
            cols = ", ".join(f'"{c.name}" VARCHAR' for c in table.columns)
            pool.db.execute(f"DROP TABLE IF EXISTS {ref}")
            pool.db.execute(f'CREATE TABLE {ref} ({cols}, "{SEQ}" BIGINT)')
            for i, name in enumerate(names):
                pool.db.execute(f"INSERT INTO {ref} VALUES (?, ?, ?)",
                                [name if table.name == ROOT else f"#{name}", f"{load_id}/{i}", i])

    family = FamilyLoad("zoom", "zoom_staging", load_id, ROOT, (),
                        tuple(StagedTable(t, SPECS[t].columns) for t in (ROOT, CHILD)),
                        (CHILD,), mode=mode)  # type: ignore[arg-type]
    for sql in family.publish():
        parse_tsql(sql)  # every statement is T-SQL sqlglot reads
    return run_family(family, pool.execute, stage=stage)


def test_append_adds_rows_once_per_load(pool: DuckSynapse) -> None:
    assert load(pool, "1", "append", ["a", "b"]) == "loaded"
    assert load(pool, "2", "append", ["c"]) == "loaded"
    assert load(pool, "2", "append", ["c"]) == "skipped"  # a replayed load
    assert pool.rows(f"zoom.{ROOT}", "name") == [("a",), ("b",), ("c",)]
    assert pool.rows(f"zoom.{LEDGER}", "load_id, table_family, \"rows\"") == [
        ("1", ROOT, 2), ("2", ROOT, 1)]


def test_replace_empties_the_whole_family_in_the_same_transaction(pool: DuckSynapse) -> None:
    load(pool, "1", "append", ["a", "b"])
    assert load(pool, "2", "replace", ["c"]) == "loaded"
    assert pool.rows(f"zoom.{ROOT}", "name") == [("c",)]
    assert pool.rows(f"zoom.{CHILD}", "tag") == [("#c",)]
    begin = max(i for i, sql in enumerate(pool.log) if sql == "BEGIN TRANSACTION")
    assert pool.log[begin + 1:begin + 3] == ["DELETE FROM [zoom].[events]",
                                             "DELETE FROM [zoom].[events__tags]"]
