"""zoomsync's table-chain helper (zoomsync/destinations/fastload.py) gives dlt's answers.

Compared with dlt's own `_extend_tables_with_table_chain` on a schema normalized from
nested rows (merge and append roots, nested tables two levels deep, a table that never saw
data), for every filter dlt passes it; then a DuckDB load with the helper installed still
merges: duplicates collapse to the newest row and nested rows follow their parent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from zoomsync.destinations.fastload import (
    dlt_table_chains,
    extend_tables_with_table_chain,
    faster_table_chains,
)


def _rows(version: int) -> list[dict[str, Any]]:
    return [{"id": i, "v": version, "files": [{"name": f"f{i}-{version}-{k}",
                                               "tags": [{"t": k}]} for k in range(2)]}
            for i in range(3)]


def _pipeline(tmp_path: Path, name: str) -> Any:
    import dlt

    return dlt.pipeline(pipeline_name=name, pipelines_dir=str(tmp_path / "pipelines"),
                        destination=dlt.destinations.duckdb(str(tmp_path / f"{name}.duckdb")),
                        dataset_name="data")


def _resources(version: int) -> list[Any]:
    import dlt

    merged = dlt.resource(_rows(version), name="meetings", write_disposition="merge",
                          primary_key="id")
    appended = dlt.resource([{"id": 1, "items": [{"x": 1}]}], name="events",
                            write_disposition="append")
    empty = dlt.resource([], name="nothing", write_disposition="merge", primary_key="id",
                         columns={"id": {"data_type": "bigint"}})
    return [merged, appended, empty]


def test_same_tables_as_dlt_for_every_filter(tmp_path: Path) -> None:
    original = dlt_table_chains()
    assert original is not extend_tables_with_table_chain
    pipeline = _pipeline(tmp_path, "chains")
    pipeline.extract(_resources(1))
    pipeline.normalize()
    schema = pipeline.default_schema
    data_tables = schema.data_table_names()
    assert {"meetings__files__tags", "events__items"} <= set(schema.tables)
    filters = [lambda t: True, lambda t: t.startswith("meetings"), lambda t: "__" not in t]
    cases = [(data_tables, data_tables), (["meetings__files"], ["meetings__files"]),
             (["events", "meetings"], ["meetings"]), (["events"], [])]
    for tables, with_jobs in cases:
        for keep in filters:
            expected = set(original(schema, tables, with_jobs, keep))
            assert set(extend_tables_with_table_chain(schema, tables, with_jobs, keep)) == expected
    # The cases are not vacuous: the nested chain of a merge root comes in without jobs.
    assert set(extend_tables_with_table_chain(schema, ["meetings"], ["meetings"])) == {
        "meetings", "meetings__files", "meetings__files__tags"}


def test_merge_still_correct_with_the_helper_installed(tmp_path: Path) -> None:
    faster_table_chains()
    from dlt.load import load as dlt_load
    from dlt.load import utils as dlt_utils

    assert dlt_utils._extend_tables_with_table_chain is extend_tables_with_table_chain
    assert dlt_load._extend_tables_with_table_chain is extend_tables_with_table_chain
    pipeline = _pipeline(tmp_path, "merged")
    pipeline.run(_resources(1))
    pipeline.run(_resources(2))
    with duckdb.connect(str(tmp_path / "merged.duckdb")) as con:
        roots = con.execute("select id, v from data.meetings order by id").fetchall()
        files = con.execute("select name from data.meetings__files order by name").fetchall()
        tags = con.execute("select count(*) from data.meetings__files__tags").fetchone()
        events = con.execute("select count(*) from data.events").fetchone()
    assert roots == [(0, 2), (1, 2), (2, 2)]
    assert [f for (f,) in files] == [f"f{i}-2-{k}" for i in range(3) for k in range(2)]
    assert tags == (6,)
    assert events == (2,)  # appended twice, as dlt appends


def test_duckdb_load_opens_the_file_once(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """zoomsync/destinations/duckdb.py: one open and one close per load, not one per job."""
    import dlt

    from zoomsync.destinations.duckdb import duckdb_destination

    opened: list[str] = []
    connect = duckdb.connect

    def counting(*args: Any, **kwargs: Any) -> Any:
        opened.append(str(kwargs.get("database", args[0] if args else "")))
        return connect(*args, **kwargs)

    path = tmp_path / "held.duckdb"
    pipeline = dlt.pipeline(pipeline_name="held", pipelines_dir=str(tmp_path / "pipelines"),
                            destination=duckdb_destination(path), dataset_name="data")
    tables = [dlt.resource([{"id": i, "v": n} for i in range(5)], name=f"t{n}",
                           write_disposition="merge", primary_key="id") for n in range(8)]
    pipeline.extract(tables, loader_file_format="parquet")
    pipeline.normalize()
    monkeypatch.setenv("LOAD__WORKERS", "1")  # dlt alone would reopen the file per job
    monkeypatch.setattr(duckdb, "connect", counting)
    pipeline.load()
    monkeypatch.undo()
    assert opened == [str(path)]
    with duckdb.connect(str(path)) as con:  # closed after the load: another open works
        counts = [con.execute(f"select count(*), sum(v) from data.t{n}").fetchone()
                  for n in range(8)]
    assert counts == [(5, 5 * n) for n in range(8)]
