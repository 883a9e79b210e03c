"""PostgreSQL tables declare dlt's row id `COLLATE "C"` (zoomsync/destinations/postgres_ids.py):
the column, its UNIQUE index, dlt's merges and a user's joins all work on it."""

from __future__ import annotations

import secrets
from pathlib import Path

from tests.destinations import readers
from tests.services import POSTGRES_URL, service
from zoomsync.config import Settings
from zoomsync.destinations import resolve


def test_row_ids_are_bytewise_and_everything_joins_on_them(tmp_path: Path) -> None:
    import dlt
    import psycopg2

    url = service(POSTGRES_URL, "PostgreSQL")
    target = resolve(Settings(_env_file=None, destination="postgres",  # type: ignore[call-arg]
                              postgres_url=url))
    dataset = f"ids_{secrets.token_hex(3)}"
    pipeline = dlt.pipeline(pipeline_name="ids_test", destination=target.destination,
                            dataset_name=dataset, pipelines_dir=str(tmp_path))

    def meetings(rows: list[dict[str, object]]) -> object:
        return dlt.resource(rows, name="meetings", write_disposition="merge", primary_key="id")

    try:
        pipeline.run(meetings([{"id": 1, "topic": "a", "tags": [{"t": "x"}, {"t": "y"}]}]),
                     loader_file_format="parquet")
        # A later load merges through staging, on tables declared the same way.
        pipeline.run(meetings([{"id": 1, "topic": "b", "tags": [{"t": "z"}]},
                               {"id": 2, "topic": "c", "tags": []}]),
                     loader_file_format="parquet")
        with psycopg2.connect(url) as con, con.cursor() as cur:
            cur.execute("select table_schema, table_name, column_name, collation_name "
                        "from information_schema.columns where table_schema in (%s, %s) "
                        "and column_name like '\\_dlt\\_%%id'",
                        [dataset, f"{dataset}_staging"])
            collations = {(s == dataset, t, c): n for s, t, c, n in cur.fetchall()}
            assert collations[(True, "meetings", "_dlt_id")] == "C"
            assert collations[(True, "meetings__tags", "_dlt_id")] == "C"
            assert collations[(False, "meetings", "_dlt_id")] == "C"  # staging too
            assert collations[(True, "meetings__tags", "_dlt_parent_id")] is None  # as dlt
            cur.execute("select indexdef from pg_indexes where schemaname = %s and "
                        "tablename = 'meetings' and indexdef like '%%UNIQUE%%_dlt_id%%'",
                        [dataset])
            assert len(cur.fetchall()) == 1
            # A user's join of the id with a column of the default collation, and dlt's.
            cur.execute(f'create table "{dataset}".notes (row_id text, note text)')
            cur.execute(f'insert into "{dataset}".notes select _dlt_id, topic '
                        f'from "{dataset}".meetings')
            cur.execute(f'select m.id, n.note, count(t.t) from "{dataset}".meetings m '
                        f'join "{dataset}".notes n on n.row_id = m._dlt_id '
                        f'left join "{dataset}".meetings__tags t on t._dlt_parent_id = m._dlt_id '
                        "group by m.id, n.note order by m.id")
            assert cur.fetchall() == [(1, "b", 1), (2, "c", 0)]
        reader = readers.postgres(url, dataset)
        assert sorted(r["t"] for r in reader.rows("meetings__tags")) == ["z"]
    finally:
        with psycopg2.connect(url) as con, con.cursor() as cur:
            cur.execute(f'drop schema if exists "{dataset}" cascade')
            cur.execute(f'drop schema if exists "{dataset}_staging" cascade')
