"""A first load writes straight into empty tables; later loads merge through staging
(zoomsync/destinations/direct.py). On DuckDB and PostgreSQL: which path each table family
took (the package's note, the staging dataset), and the rows: one per key, the last one
when a key repeats within a load, with only its nested rows; updates merged afterwards."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.destinations import readers
from tests.services import POSTGRES_URL, service
from zoomsync.config import Settings
from zoomsync.destinations import resolve
from zoomsync.destinations.direct import INDEXES, NOTE, noted_roots


@dataclass
class Place:
    destination: Any
    reader: Callable[[str], readers.Reader]  # dataset -> reader
    schemas: Callable[[], set[str]]  # the database's schemas


@pytest.fixture(params=["duckdb", "postgres"])
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Place]:
    if request.param == "duckdb":
        import duckdb

        path = tmp_path / "direct.duckdb"
        target = resolve(Settings(_env_file=None, destination="duckdb",  # type: ignore[call-arg]
                                  duckdb_path=path))

        def duck_schemas() -> set[str]:
            with duckdb.connect(str(path), read_only=True) as con:
                return {r[0] for r in con.execute(
                    "select schema_name from information_schema.schemata").fetchall()}

        yield Place(target.destination, lambda d: readers.duckdb(str(path), d), duck_schemas)
        return
    import psycopg2

    url = service(POSTGRES_URL, "PostgreSQL")
    target = resolve(Settings(_env_file=None, destination="postgres",  # type: ignore[call-arg]
                              postgres_url=url))

    def pg_schemas() -> set[str]:
        with psycopg2.connect(url) as con, con.cursor() as cur:
            cur.execute("select schema_name from information_schema.schemata")
            return {r[0] for r in cur.fetchall()}

    made = set(pg_schemas())
    yield Place(target.destination, lambda d: readers.postgres(url, d), pg_schemas)
    with psycopg2.connect(url) as con, con.cursor() as cur:
        for schema in pg_schemas() - made:
            cur.execute(f'drop schema "{schema}" cascade')


def _meetings(rows: list[dict[str, Any]]) -> Any:
    import dlt

    return dlt.resource(rows, name="meetings", write_disposition="merge", primary_key="id")


def _hosts(rows: list[dict[str, Any]]) -> Any:
    import dlt

    return dlt.resource(rows, name="hosts", write_disposition="merge", primary_key="id")


def _run(pipeline: Any, *resources: Any) -> frozenset[str]:
    """Load; the roots the package loaded directly, from its stored state."""
    info = pipeline.run(list(resources), loader_file_format="parquet")
    (load_id,) = info.loads_ids
    return noted_roots(pipeline.get_load_package_state(load_id))


def _by_id(reader: readers.Reader, table: str) -> dict[Any, dict[str, Any]]:
    return {r["id"]: r for r in reader.rows(table)}


def test_first_load_is_direct_and_keeps_the_last_row_of_a_repeated_key(
        place: Place, tmp_path: Path) -> None:
    import dlt

    dataset = f"direct_{secrets.token_hex(3)}"
    pipeline = dlt.pipeline(pipeline_name="direct_test", destination=place.destination,
                            dataset_name=dataset, pipelines_dir=str(tmp_path / "pipelines"))
    first = [{"id": 1, "topic": "old", "tags": [{"t": "a"}, {"t": "b"}]},
             {"id": 2, "topic": "two", "tags": [{"t": "c"}]},
             {"id": 1, "topic": "new", "tags": [{"t": "z"}]}]  # the same key again
    assert _run(pipeline, _meetings(first), _hosts([{"id": 7, "name": "h"}])) == {
        "meetings", "hosts"}
    reader = place.reader(dataset)
    meetings = _by_id(reader, "meetings")
    assert {k: r["topic"] for k, r in meetings.items()} == {1: "new", 2: "two"}
    tags = reader.rows("meetings__tags")
    assert sorted((r["_dlt_root_id"], r["t"]) for r in tags) == sorted(
        [(meetings[1]["_dlt_id"], "z"), (meetings[2]["_dlt_id"], "c")])
    # Nothing went through staging: dlt never made the staging dataset.
    assert f"{dataset}_staging" not in place.schemas()

    # Tables that hold rows merge as dlt does: by key, nested rows replaced.
    second = [{"id": 2, "topic": "two, edited", "tags": [{"t": "d"}, {"t": "e"}]},
              {"id": 3, "topic": "three", "tags": []}]
    assert _run(pipeline, _meetings(second)) == frozenset()
    meetings = _by_id(reader, "meetings")
    assert {k: r["topic"] for k, r in meetings.items()} == {
        1: "new", 2: "two, edited", 3: "three"}
    assert sorted((r["_dlt_root_id"], r["t"]) for r in reader.rows("meetings__tags")) == sorted(
        [(meetings[1]["_dlt_id"], "z"), (meetings[2]["_dlt_id"], "d"),
         (meetings[2]["_dlt_id"], "e")])
    assert f"{dataset}_staging" in place.schemas()


@pytest.mark.parametrize("step", ["NORMALIZE", "EXTRACT"])
def test_the_last_row_of_a_key_wins_across_many_files(
        place: Place, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    """Two rows per file, written by normalize (6 load files) or by extract (6 extracted
    files, normalized in their order): which of a key's rows is last is told by the files'
    names (file_order.py); dlt's own random file ids put them in the wrong order half the
    time."""
    import dlt

    if step == "NORMALIZE":
        monkeypatch.setenv("NORMALIZE__DATA_WRITER__FILE_MAX_ITEMS", "2")
    else:  # dlt's extract takes the writer settings without a section; normalize keeps one
        monkeypatch.setenv("DATA_WRITER__FILE_MAX_ITEMS", "2")
        monkeypatch.setenv("DATA_WRITER__BUFFER_MAX_ITEMS", "2")
        monkeypatch.setenv("NORMALIZE__DATA_WRITER__FILE_MAX_ITEMS", "1000")
    dataset = f"direct_{secrets.token_hex(3)}"
    pipeline = dlt.pipeline(pipeline_name="direct_files", destination=place.destination,
                            dataset_name=dataset, pipelines_dir=str(tmp_path / "pipelines"))
    rows = [{"id": i % 3, "topic": f"v{i}", "tags": [{"t": f"t{i}"}]} for i in range(12)]
    assert _run(pipeline, _meetings(iter(rows))) == {"meetings"}  # one item at a time
    (load_id,) = pipeline.list_completed_load_packages()
    files = [j.job_file_info.file_id for j in pipeline.get_load_package_info(
        load_id).jobs["completed_jobs"] if j.job_file_info.table_name == "meetings"
             and j.job_file_info.file_format == "parquet"]
    assert len(files) == (6 if step == "NORMALIZE" else 1)
    reader = place.reader(dataset)
    meetings = _by_id(reader, "meetings")
    assert {k: r["topic"] for k, r in meetings.items()} == {0: "v9", 1: "v10", 2: "v11"}
    assert sorted(r["t"] for r in reader.rows("meetings__tags")) == ["t10", "t11", "t9"]


def test_a_merge_keeps_the_last_row_of_a_repeated_key_too(
        place: Place, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A later load merges through staging; a key repeated in it, across files, keeps its
    last row and only that row's nested rows, as a first load does (dlt alone keeps an
    arbitrary one)."""
    import dlt

    dataset = f"direct_{secrets.token_hex(3)}"
    pipeline = dlt.pipeline(pipeline_name="direct_merge_last", destination=place.destination,
                            dataset_name=dataset, pipelines_dir=str(tmp_path / "pipelines"))
    assert _run(pipeline, _meetings([{"id": 9, "topic": "nine", "tags": [{"t": "n"}]}])) == {
        "meetings"}
    monkeypatch.setenv("NORMALIZE__DATA_WRITER__FILE_MAX_ITEMS", "2")
    rows = [{"id": i % 3, "topic": f"v{i}", "tags": [{"t": f"t{i}"}, {"t": f"u{i}"}]}
            for i in range(12)]
    assert _run(pipeline, _meetings(rows)) == frozenset()  # merged, not direct
    reader = place.reader(dataset)
    meetings = _by_id(reader, "meetings")
    assert {k: r["topic"] for k, r in meetings.items()} == {
        0: "v9", 1: "v10", 2: "v11", 9: "nine"}
    assert sorted((r["_dlt_root_id"], r["t"]) for r in reader.rows("meetings__tags")) == sorted(
        [(meetings[0]["_dlt_id"], "t9"), (meetings[0]["_dlt_id"], "u9"),
         (meetings[1]["_dlt_id"], "t10"), (meetings[1]["_dlt_id"], "u10"),
         (meetings[2]["_dlt_id"], "t11"), (meetings[2]["_dlt_id"], "u11"),
         (meetings[9]["_dlt_id"], "n")])


def test_only_empty_families_go_direct(place: Place, tmp_path: Path) -> None:
    import dlt

    dataset = f"direct_{secrets.token_hex(3)}"
    pipeline = dlt.pipeline(pipeline_name="direct_mixed", destination=place.destination,
                            dataset_name=dataset, pipelines_dir=str(tmp_path / "pipelines"))
    assert _run(pipeline, _hosts([{"id": 7, "name": "h"}])) == {"hosts"}
    # A new stream later on: its tables are new, so they load directly; hosts merge.
    noted = _run(pipeline, _hosts([{"id": 7, "name": "h2"}, {"id": 8, "name": "i"}]),
                 _meetings([{"id": 1, "topic": "t", "tags": [{"t": "a"}]}]))
    assert noted == {"meetings"}
    reader = place.reader(dataset)
    assert {k: r["name"] for k, r in _by_id(reader, "hosts").items()} == {7: "h2", 8: "i"}
    assert [r["topic"] for r in reader.rows("meetings")] == ["t"]
    assert [r["t"] for r in reader.rows("meetings__tags")] == ["a"]


def test_postgres_builds_the_dlt_id_indexes_after_a_first_load(tmp_path: Path) -> None:
    """The UNIQUE `_dlt_id` index, put off during the copy, is there afterwards, under the
    name dlt gives it; later loads keep it."""
    import dlt
    import psycopg2

    url = service(POSTGRES_URL, "PostgreSQL")
    target = resolve(Settings(_env_file=None, destination="postgres",  # type: ignore[call-arg]
                              postgres_url=url))
    dataset = f"direct_{secrets.token_hex(3)}"
    pipeline = dlt.pipeline(pipeline_name="direct_index", destination=target.destination,
                            dataset_name=dataset, pipelines_dir=str(tmp_path / "pipelines"))

    def unique_indexes() -> dict[str, str]:
        with psycopg2.connect(url) as con, con.cursor() as cur:
            cur.execute("select tablename, indexname from pg_indexes where schemaname = %s "
                        "and indexdef like 'CREATE UNIQUE INDEX %% (_dlt_id)'", [dataset])
            return dict(cur.fetchall())

    try:
        assert _run(pipeline, _meetings([{"id": 1, "topic": "t", "tags": [{"t": "a"}]}])) == {
            "meetings"}
        expected = {"meetings": "meetings__dlt_id_key",
                    "meetings__tags": "meetings__tags__dlt_id_key"}
        (load_id,) = pipeline.list_completed_load_packages()
        assert pipeline.get_load_package_state(load_id)["destination_state"][INDEXES] == expected
        assert {t: i for t, i in unique_indexes().items() if t in expected} == expected
        _run(pipeline, _meetings([{"id": 1, "topic": "u", "tags": [{"t": "b"}]}]))
        assert {t: i for t, i in unique_indexes().items() if t in expected} == expected
    finally:
        with psycopg2.connect(url) as con, con.cursor() as cur:
            cur.execute(f'drop schema if exists "{dataset}" cascade')
            cur.execute(f'drop schema if exists "{dataset}_staging" cascade')


def test_package_state_names_the_note() -> None:
    assert noted_roots({"destination_state": {NOTE: ["a", "b"]}}) == {"a", "b"}
    assert noted_roots({}) == frozenset()


def test_postgres_copy_jobs_build_the_index_and_check_the_keys(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A table in one file gets its `_dlt_id` index from its own COPY job, in the COPY's
    transaction, and a root's keys are checked off dlt's main thread; a table in several
    files gets its index when every file is in, and its keys checked across them all."""
    import threading

    import dlt
    import psycopg2
    from dlt.destinations.impl.postgres.postgres import PostgresParquetCopyJob

    from zoomsync.destinations import direct, last_row

    url = service(POSTGRES_URL, "PostgreSQL")
    target = resolve(Settings(_env_file=None, destination="postgres",  # type: ignore[call-arg]
                              postgres_url=url))
    after_copy: dict[str, list[tuple[str, ...]]] = {}
    checked_in: list[str] = []
    indexes_made: list[str] = []  # each index statement, wherever it is made
    run, losers, create_index = PostgresParquetCopyJob.run, last_row.losers, direct._create_index

    def recording_run(self: Any) -> None:
        after_copy.setdefault(self.load_table_name, []).append(tuple(self.after_copy))
        run(self)

    def recording_losers(*args: Any) -> list[str]:
        checked_in.append(threading.current_thread().name)
        return losers(*args)

    def recording_create_index(client: Any, table: str, index: str) -> str:
        indexes_made.append(table)
        return create_index(client, table, index)

    monkeypatch.setattr(PostgresParquetCopyJob, "run", recording_run)
    monkeypatch.setattr(direct, "_create_index", recording_create_index)
    monkeypatch.setattr(last_row, "losers", recording_losers)
    datasets = []
    try:
        for split in (False, True):
            dataset = f"direct_{secrets.token_hex(3)}"
            datasets.append(dataset)
            pipeline = dlt.pipeline(pipeline_name=f"direct_jobs_{split}",
                                    destination=target.destination, dataset_name=dataset,
                                    pipelines_dir=str(tmp_path / str(split)))
            rows = [{"id": 1, "topic": "old", "tags": [{"t": "a"}]},
                    {"id": 2, "topic": "two", "tags": [{"t": "b"}]},
                    {"id": 1, "topic": "new", "tags": [{"t": "c"}]}]
            if split:  # two rows per file: the repeated key spans two files
                monkeypatch.setenv("NORMALIZE__DATA_WRITER__FILE_MAX_ITEMS", "2")
            after_copy.clear()
            checked_in.clear()
            indexes_made.clear()
            assert _run(pipeline, _meetings(rows)) == {"meetings"}
            reader = readers.postgres(url, dataset)
            assert {k: r["topic"] for k, r in _by_id(reader, "meetings").items()} == {
                1: "new", 2: "two"}
            assert sorted(r["t"] for r in reader.rows("meetings__tags")) == ["b", "c"]
            with psycopg2.connect(url) as con, con.cursor() as cur:
                cur.execute("select tablename from pg_indexes where schemaname = %s and "
                            "indexdef like 'CREATE UNIQUE INDEX %% (_dlt_id)'", [dataset])
                assert {r[0] for r in cur.fetchall()} >= {"meetings", "meetings__tags"}
            if not split:
                assert after_copy["meetings"] == [(
                    f'CREATE UNIQUE INDEX IF NOT EXISTS "meetings__dlt_id_key" ON '
                    f'"{dataset}"."meetings" ("_dlt_id")',)]
                assert len(after_copy["meetings__tags"]) == 1
                # Each made once, for its COPY: the end of the package found both built.
                assert sorted(indexes_made) == ["meetings", "meetings__tags"]
                assert checked_in and threading.main_thread().name not in checked_in
            else:
                assert len(after_copy["meetings"]) == 2  # two files: built at the end
                assert set(after_copy["meetings"]) == {()}
                assert "meetings" in indexes_made  # by the end of the package
                assert checked_in == [threading.main_thread().name]
    finally:
        with psycopg2.connect(url) as con, con.cursor() as cur:
            for dataset in datasets:
                cur.execute(f'drop schema if exists "{dataset}" cascade')
                cur.execute(f'drop schema if exists "{dataset}_staging" cascade')


def test_tables_are_looked_up_before_their_columns(place: Place, tmp_path: Path) -> None:
    """storage_tables.py: which tables exist comes from INFORMATION_SCHEMA.TABLES; dlt's
    `get_storage_tables` answers as dlt's own before and after the tables exist, and skips
    the columns view while none does."""
    import dlt
    from dlt.destinations.job_client_impl import SqlJobClientBase

    from zoomsync.destinations.storage_tables import existing_tables

    dataset = f"direct_{secrets.token_hex(3)}"
    pipeline = dlt.pipeline(pipeline_name="direct_exists", destination=place.destination,
                            dataset_name=dataset, pipelines_dir=str(tmp_path / "pipelines"))
    names = ["meetings", "meetings__tags", "hosts"]
    pipeline.extract(_meetings([{"id": 1, "topic": "t", "tags": [{"t": "a"}]}]),
                     loader_file_format="parquet")
    pipeline.normalize()
    with pipeline.destination_client() as client:
        asked: list[str] = []
        execute = client.sql_client.execute_sql

        def recording(sql: str, *args: Any, **kwargs: Any) -> Any:
            asked.append(sql)
            return execute(sql, *args, **kwargs)

        client.sql_client.execute_sql = recording
        before = list(client.get_storage_tables(names))  # no dataset yet
        assert before == [(n, {}) for n in names]
        assert not any("COLUMNS" in sql.upper() for sql in asked)
        assert before == list(SqlJobClientBase.get_storage_tables(client, names))
    pipeline.load()
    with pipeline.destination_client() as client:
        assert existing_tables(client, names) == {"meetings", "meetings__tags"}
        assert existing_tables(client, []) == set()
        after = list(client.get_storage_tables(names))
        assert after == list(SqlJobClientBase.get_storage_tables(client, names))
        assert {n for n, columns in after if columns} == {"meetings", "meetings__tags"}
