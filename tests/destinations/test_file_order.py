"""dlt's data files are named in the order they were started (zoomsync/destinations/file_order.py),
and a repeated key keeps the row of the file named last, wherever dlt has filed it."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from zoomsync.destinations import last_row
from zoomsync.destinations.file_order import name_files_in_write_order, ordered_file_id


def test_ids_sort_as_they_were_made_and_parse_as_dlt_file_ids() -> None:
    from dlt.common.storages.load_package import ParsedLoadJobFileName

    ids = [ordered_file_id() for _ in range(2000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert {len(i) for i in ids} == {20}
    parsed = ParsedLoadJobFileName.parse(f"meetings.{ids[0]}.0.parquet")
    assert (parsed.table_name, parsed.file_id, parsed.file_format) == (
        "meetings", ids[0], "parquet")


def test_a_rotating_writer_names_its_files_in_order(tmp_path: Path) -> None:
    from dlt.common.data_writers import BufferedDataWriter, DataWriter
    from dlt.common.destination import DestinationCapabilitiesContext

    name_files_in_write_order()
    caps = DestinationCapabilitiesContext.generic_capabilities("parquet")
    spec = DataWriter.writer_spec_from_file_format("parquet", "object")
    columns: Any = {"n": {"name": "n", "data_type": "bigint"}}
    with BufferedDataWriter(spec, str(tmp_path / "meetings.%s"), file_max_items=1,
                            _caps=caps) as writer:
        for n in range(8):
            writer.write_data_item([{"n": n}], columns)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 8
    assert [pq.read_table(tmp_path / name)["n"][0].as_py() for name in names] == list(range(8))


def test_the_later_file_wins_even_when_filed_in_another_folder(tmp_path: Path) -> None:
    """The job that completed the chain is still under started_jobs, its sibling under
    completed_jobs: the folder names must not decide which row is last."""
    earlier, later = sorted(ordered_file_id() for _ in range(2))
    for folder, file_id, rows in (("started_jobs", earlier, ["a", "b"]),
                                  ("completed_jobs", later, ["c"])):
        (tmp_path / folder).mkdir()
        pq.write_table(pa.table({"id": [1] * len(rows), "_dlt_id": rows}),
                       tmp_path / folder / f"meetings.{file_id}.0.parquet")

    from dlt.common.normalizers.naming import snake_case

    client = SimpleNamespace(schema=SimpleNamespace(naming=snake_case.NamingConvention()))
    root = {"name": "meetings", "columns": {"id": {"primary_key": True}, "_dlt_id": {}}}
    files = [str(p) for p in tmp_path.glob("*/*.parquet")]
    assert sorted(last_row.losers(client, root, files)) == ["a", "b"]


def test_a_files_place_among_its_tables_files_in_the_package(tmp_path: Path) -> None:
    """Places count every job folder (dlt moves files between them, renaming the retry
    count), in write order, and leave follow-up jobs out."""
    from zoomsync.destinations.file_order import file_place, table_files

    ids = [ordered_file_id() for _ in range(3)]
    for folder, name in (("completed_jobs", f"users.{ids[0]}.0.parquet"),
                         ("started_jobs", f"users.{ids[2]}.1.parquet"),
                         ("new_jobs", f"users.{ids[1]}.0.parquet"),
                         ("new_jobs", f"meetings.{ids[1]}.0.parquet"),
                         ("new_jobs", "users.ab12.0.sql"),
                         ("new_jobs", "users.ab13.0.reference")):
        (tmp_path / folder).mkdir(exist_ok=True)
        (tmp_path / folder / name).touch()
    assert table_files(str(tmp_path)) == {"users": ids, "meetings": [ids[1]]}
    assert file_place(str(tmp_path / "started_jobs" / f"users.{ids[2]}.1.parquet")) == 2
    assert file_place(str(tmp_path / "new_jobs" / f"users.{ids[1]}.0.parquet")) == 1
