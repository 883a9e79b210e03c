"""A key repeated within a load keeps its newest row, by `_zoomsync_read_order` (dlt's
`dedup_sort` hint, zoomsync/sync/read_order.py), with only that row's nested rows: on our
DuckDB and PostgreSQL destinations, on a first load and on a merge into rows already
there, however dlt splits the rows into files."""

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
from zoomsync.sync.read_order import HINT, READ_ORDER, stamp


@dataclass
class Place:
    destination: Any
    reader: Callable[[str], readers.Reader]  # dataset -> reader


@pytest.fixture(params=["duckdb", "postgres"])
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Place]:
    if request.param == "duckdb":
        path = tmp_path / "last.duckdb"
        target = resolve(Settings(_env_file=None, destination="duckdb",  # type: ignore[call-arg]
                                  duckdb_path=path))
        yield Place(target.destination, lambda d: readers.duckdb(str(path), d))
        return
    import psycopg2

    url = service(POSTGRES_URL, "PostgreSQL")
    target = resolve(Settings(_env_file=None, destination="postgres",  # type: ignore[call-arg]
                              postgres_url=url))
    datasets: list[str] = []

    def reader(dataset: str) -> readers.Reader:
        datasets.append(dataset)
        return readers.postgres(url, dataset)

    yield Place(target.destination, reader)
    with psycopg2.connect(url) as con, con.cursor() as cur:
        for dataset in set(datasets):
            cur.execute(f'drop schema if exists "{dataset}" cascade')
            cur.execute(f'drop schema if exists "{dataset}_staging" cascade')


def _meetings(rows: list[dict[str, Any]]) -> Any:
    """A merged resource as zoomsync's source makes one: rows stamped in the order given."""
    import dlt

    def read() -> Iterator[dict[str, Any]]:
        for row in rows:  # one at a time: each may land in a file of its own
            stamp([row])
            yield row

    return dlt.resource(read, name="meetings", write_disposition="merge", primary_key="id",
                        columns={READ_ORDER: HINT.copy()})


def _pipeline(place: Place, tmp_path: Path) -> tuple[Any, str]:
    import dlt

    dataset = f"last_{secrets.token_hex(3)}"
    return dlt.pipeline(pipeline_name="last_row", destination=place.destination,
                        dataset_name=dataset,
                        pipelines_dir=str(tmp_path / "pipelines")), dataset


def _meeting_files(pipeline: Any) -> int:
    load_id = pipeline.list_completed_load_packages()[-1]
    return sum(1 for j in pipeline.get_load_package_info(load_id).jobs["completed_jobs"]
               if j.job_file_info.table_name == "meetings"
               and j.job_file_info.file_format == "parquet")


@pytest.mark.parametrize("step", ["NORMALIZE", "EXTRACT"])
def test_the_newest_row_of_a_key_wins_across_many_files(
        place: Place, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    """Two rows per file, written by normalize (6 load files) or by extract (6 extracted
    files): dlt names files at random, so the file order says nothing; the read order does."""
    if step == "NORMALIZE":
        monkeypatch.setenv("NORMALIZE__DATA_WRITER__FILE_MAX_ITEMS", "2")
    else:  # dlt's extract takes the writer settings without a section; normalize keeps one
        monkeypatch.setenv("DATA_WRITER__FILE_MAX_ITEMS", "2")
        monkeypatch.setenv("DATA_WRITER__BUFFER_MAX_ITEMS", "2")
        monkeypatch.setenv("NORMALIZE__DATA_WRITER__FILE_MAX_ITEMS", "1000")
    pipeline, dataset = _pipeline(place, tmp_path)
    rows = [{"id": i % 3, "topic": f"v{i}", "tags": [{"t": f"t{i}"}]} for i in range(12)]
    pipeline.run(_meetings(rows))
    assert _meeting_files(pipeline) == (6 if step == "NORMALIZE" else 1)
    reader = place.reader(dataset)
    meetings = {r["id"]: r for r in reader.rows("meetings")}
    assert {k: r["topic"] for k, r in meetings.items()} == {0: "v9", 1: "v10", 2: "v11"}
    assert sorted((r["_dlt_root_id"], r["t"]) for r in reader.rows("meetings__tags")) == sorted(
        (meetings[i % 3]["_dlt_id"], f"t{i}") for i in (9, 10, 11))


def test_a_merge_into_existing_rows_keeps_the_newest_too(
        place: Place, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pipeline, dataset = _pipeline(place, tmp_path)
    pipeline.run(_meetings([{"id": 9, "topic": "nine", "tags": [{"t": "n"}]},
                            {"id": 0, "topic": "old", "tags": [{"t": "o"}]}]))
    monkeypatch.setenv("NORMALIZE__DATA_WRITER__FILE_MAX_ITEMS", "2")
    rows = [{"id": i % 3, "topic": f"v{i}", "tags": [{"t": f"t{i}"}, {"t": f"u{i}"}]}
            for i in range(12)]
    pipeline.run(_meetings(rows))
    reader = place.reader(dataset)
    meetings = {r["id"]: r for r in reader.rows("meetings")}
    assert {k: r["topic"] for k, r in meetings.items()} == {
        0: "v9", 1: "v10", 2: "v11", 9: "nine"}
    assert sorted((r["_dlt_root_id"], r["t"]) for r in reader.rows("meetings__tags")) == sorted(
        [*((meetings[i % 3]["_dlt_id"], f"{p}{i}") for i in (9, 10, 11) for p in "tu"),
         (meetings[9]["_dlt_id"], "n")])
    orders = [r[READ_ORDER] for r in reader.rows("meetings")]
    assert len(set(orders)) == 4 and all(isinstance(o, int) for o in orders)
