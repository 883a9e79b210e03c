"""zoomsync's table-chain helper (zoomsync/destinations/fastload.py) gives dlt's answers.

Compared with dlt's own `_extend_tables_with_table_chain` on a schema normalized from
nested rows (merge and append roots, nested tables two levels deep, a table that never saw
data), for every filter dlt passes it; then a DuckDB load with the helper installed still
merges: duplicates collapse to the newest row and nested rows follow their parent.
`clone_table` (dlt's table clone without deepcopy) on the real zoomsync schema of a small
emulated account: equal to dlt's for every table, sharing no dict or list with the schema,
and a two-load DuckDB run makes the same followup jobs and the same tables as dlt alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from zoomsync.destinations.fastload import (
    clone_table,
    dlt_clone_table,
    dlt_nested_tables,
    dlt_table_chains,
    extend_tables_with_table_chain,
    faster_load_step,
    json_copy,
    nested_tables,
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
    faster_load_step()
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
    # In-memory databases (direct.py checks first loads' keys in one) are not the file.
    assert [o for o in opened if o not in ("", ":memory:")] == [str(path)]
    with duckdb.connect(str(path)) as con:  # closed after the load: another open works
        counts = [con.execute(f"select count(*), sum(v) from data.t{n}").fetchone()
                  for n in range(8)]
    assert counts == [(5, 5 * n) for n in range(8)]


# --- dlt's table clone (`clone_table`) on zoomsync's own schema, and a load with and without

PIPELINE = "fastload_zoom"
CLONE_MODULES = ("dlt.common.schema.utils", "dlt.common.destination.utils", "dlt.load.utils")
NESTED_MODULES = ("dlt.common.schema.utils", "dlt.load.utils",
                  "dlt.common.normalizers.json.helpers")


@pytest.fixture(scope="module")
def zoom_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Pipelines dir holding one normalized package of a small emulated account (4 users)."""
    import dlt

    from tests.conftest import small_account
    from zoomsync.config import Settings
    from zoomsync.destinations import resolve
    from zoomsync.emulator.oauth import DEFAULT_CREDENTIALS as CREDS
    from zoomsync.sync.source import zoom_source
    from zoomsync.zoom import Pacer, ZoomClient, ZoomCredentials

    where = tmp_path_factory.mktemp("zoom_package")
    with small_account(users=4) as emu:
        settings = Settings(_env_file=None, account_id=CREDS.account_id,  # type: ignore[call-arg]
                            client_id=CREDS.client_id, client_secret=CREDS.client_secret,
                            api_url=emu.api_url, oauth_url=emu.oauth_url, plan="business",
                            budget=1.0, duckdb_path=where / "unused.duckdb")
        target = resolve(settings)
        client = ZoomClient(ZoomCredentials(CREDS.account_id, CREDS.client_id,
                                            CREDS.client_secret),
                            api_url=emu.api_url, oauth_url=emu.oauth_url,
                            pacer=Pacer(plan="business", budget=1.0))
        with client:
            pipeline = dlt.pipeline(pipeline_name=PIPELINE, destination=target.destination,
                                    dataset_name="zoom", pipelines_dir=str(where / "pipelines"))
            pipeline.extract(zoom_source(settings, client=client),
                             loader_file_format=target.loader_file_format)
    pipeline.normalize()
    return where / "pipelines"


def _attached(package: Path, where: Path, copy: str = "pipelines") -> Any:
    """A pipeline on a copy of `package` (same files, same load id) loading into `where`."""
    import shutil

    import dlt

    from zoomsync.config import Settings
    from zoomsync.destinations import resolve

    shutil.copytree(package, where / copy)
    target = resolve(Settings(_env_file=None, destination="duckdb",  # type: ignore[call-arg]
                              duckdb_path=where / "warehouse.duckdb"))
    return dlt.pipeline(pipeline_name=PIPELINE, destination=target.destination,
                        dataset_name="zoom", pipelines_dir=str(where / copy))


def _containers(value: Any) -> list[Any]:
    """Every dict and list inside `value` (itself included)."""
    if isinstance(value, dict):
        children = list(value.values())
    elif isinstance(value, list):
        children = value
    else:
        return []
    return [value] + [c for child in children for c in _containers(child)]


def _dlt_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Put dlt's own functions back (until the test ends) where `faster_load_step` puts ours."""
    import importlib

    faster_load_step()
    for name in CLONE_MODULES:
        monkeypatch.setattr(importlib.import_module(name),
                            "fill_hints_from_parent_and_clone_table", dlt_clone_table())
    for name in ("dlt.load.utils", "dlt.load.load"):
        monkeypatch.setattr(importlib.import_module(name), "_extend_tables_with_table_chain",
                            dlt_table_chains())
    for name in NESTED_MODULES:
        monkeypatch.setattr(importlib.import_module(name), "get_nested_tables",
                            dlt_nested_tables())


def test_clone_equals_dlts_on_the_zoomsync_schema(zoom_package: Path, tmp_path: Path) -> None:
    schema = _attached(zoom_package, tmp_path).default_schema
    tables = schema.tables
    original = dlt_clone_table()
    assert original is not clone_table
    inherited = 0
    for table in tables.values():
        ours = clone_table(tables, table)
        assert ours == original(tables, table)
        assert ours is not table
        source_ids = {id(c) for c in _containers(table)}
        assert not [c for c in _containers(ours) if id(c) in source_ids], table["name"]
        inherited += "write_disposition" not in table
    assert len(tables) > 40 and inherited > 20  # nested tables took their parents' hints
    odd = {"name": "t", "write_disposition": "append", "x": ({"y": [1]},)}
    copied = json_copy(odd)  # a tuple: not JSON, so copied by deepcopy
    assert copied == odd and copied["x"][0] is not odd["x"][0]


def test_nested_tables_equal_dlts_on_the_zoomsync_schema(zoom_package: Path,
                                                         tmp_path: Path) -> None:
    tables = _attached(zoom_package, tmp_path).default_schema.tables
    original = dlt_nested_tables()
    assert original is not nested_tables
    deepest = 0
    for name in [*tables, "no_such_table"]:
        for options in ({}, {"include_self": False}, {"max_nesting": 0}, {"max_nesting": 1}):
            ours = nested_tables(tables, name, **options)
            assert [t["name"] for t in ours] == [
                t["name"] for t in original(tables, name, **options)], (name, options)
            assert all(a is b for a, b in zip(ours, original(tables, name, **options),
                                              strict=True))  # the schema's own tables
        deepest = max(deepest, len(nested_tables(tables, name)))
    assert deepest >= 3  # a root with nested tables below nested tables


def test_load_lineage_names_the_schema_version(zoom_package: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """dlt's lineage in the load's trace (`outputs`), with the schema hashed once for it."""
    from dlt.common.schema import Schema

    faster_load_step()
    pipeline = _attached(zoom_package, tmp_path)
    hashed: list[int] = []
    version_hash = Schema.version_hash

    def counting(schema: Any) -> str:
        hashed.append(1)
        return str(version_hash.fget(schema))

    monkeypatch.setattr(Schema, "version_hash", property(counting))
    info = pipeline.load()
    monkeypatch.undo()
    outputs = [o for step in info.metrics.values() for m in step for o in m["outputs"]]
    assert len(outputs) > 10  # one per resource that wrote tables
    assert len(hashed) < len(outputs)  # dlt alone hashes once per output, and elsewhere
    assert {s["version_hash"] for o in outputs for s in o["schemas"]} == {
        pipeline.default_schema.version_hash}


def test_prepare_load_table_same_as_dlts(zoom_package: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    pipeline = _attached(zoom_package, tmp_path)
    schema = pipeline.default_schema
    faster_load_step()
    with pipeline.destination_client() as client:
        ours = {t: client.prepare_load_table(t) for t in schema.tables}
        again = {t: client.prepare_load_table(t) for t in schema.tables}
        _dlt_only(monkeypatch)
        theirs = {t: client.prepare_load_table(t) for t in schema.tables}
    assert ours == theirs == again
    version, before = schema.version_hash, json_copy(dict(schema.tables))
    for name, table in ours.items():  # each call's table is the caller's own to change
        for column in table["columns"].values():
            column["nullable"] = "changed"
        table["columns"].clear()
        table["write_disposition"] = "skip"
        assert again[name] == theirs[name]
    assert schema.tables == before and schema.version_hash == version


def _loaded(package: Path, where: Path) -> tuple[list[Any], dict[str, Any]]:
    """Load `package` twice into one DuckDB file (the first load writes the tables directly,
    the second merges: followup jobs); the second load's completed jobs (table, format) and
    every data table's columns and rows after it."""
    _attached(package, where, "first").load()
    info = _attached(package, where, "second").load()
    jobs = sorted((j.job_file_info.table_name, j.job_file_info.file_format)
                  for j in info.load_packages[0].jobs["completed_jobs"])
    data: dict[str, Any] = {}
    with duckdb.connect(str(where / "warehouse.duckdb"), read_only=True) as con:
        names = [n for (n,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'zoom' "
            "and table_name not like '_dlt%' order by 1").fetchall()]
        for name in names:
            columns = con.execute(
                "select column_name, data_type from information_schema.columns where "
                "table_schema = 'zoom' and table_name = ? order by ordinal_position",
                [name]).fetchall()
            rows = con.execute(f'select * from zoom."{name}" order by all').fetchall()
            data[name] = (columns, rows)
    return jobs, data


def test_zoomsync_load_same_tables_and_followups_as_dlt_alone(
        zoom_package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    faster_load_step()
    fast_jobs, fast = _loaded(zoom_package, tmp_path / "fast")
    _dlt_only(monkeypatch)
    plain_jobs, plain = _loaded(zoom_package, tmp_path / "plain")
    assert fast_jobs == plain_jobs
    assert sum(fmt == "sql" for _, fmt in fast_jobs) >= 5  # followup jobs made and compared
    assert fast == plain
    assert len(fast) > 10 and sum(len(rows) for _, rows in fast.values()) > 100


# --- the pipeline state's copy left out of a SQL load's package state


def test_package_state_without_pipeline_state_still_restores_from_the_warehouse(
        tmp_path: Path) -> None:
    import dlt

    faster_load_step()
    database = str(tmp_path / "state.duckdb")

    @dlt.resource(name="rows", write_disposition="merge", primary_key="id")
    def rows() -> Any:
        dlt.current.resource_state()["bookmark"] = "2026-11-27"
        yield [{"id": 1}]

    pipeline = dlt.pipeline(pipeline_name="lean", pipelines_dir=str(tmp_path / "a"),
                            destination=dlt.destinations.duckdb(database), dataset_name="data")
    (load_id,) = pipeline.run(rows(), loader_file_format="parquet").loads_ids
    assert "pipeline_state" not in pipeline.get_load_package_state(load_id)
    # A new machine (empty pipelines dir) gets the state back from `_dlt_pipeline_state`.
    again = dlt.pipeline(pipeline_name="lean", pipelines_dir=str(tmp_path / "b"),
                         destination=dlt.destinations.duckdb(database), dataset_name="data")
    again.sync_destination()
    assert again.state["sources"]["lean"]["resources"]["rows"]["bookmark"] == "2026-11-27"


def test_filesystem_loads_keep_the_pipeline_state_they_write_as_a_file(tmp_path: Path) -> None:
    """dlt's filesystem destination writes its state file from the package's copy."""
    import dlt

    faster_load_step()
    pipeline = dlt.pipeline(pipeline_name="files", pipelines_dir=str(tmp_path / "a"),
                            destination=dlt.destinations.filesystem(str(tmp_path / "bucket")),
                            dataset_name="data")

    @dlt.resource(name="rows")
    def rows() -> Any:
        dlt.current.resource_state()["bookmark"] = "2026-11-27"
        yield [{"id": 1}]

    (load_id,) = pipeline.run(rows(), loader_file_format="parquet").loads_ids
    assert "pipeline_state" in pipeline.get_load_package_state(load_id)
    assert list((tmp_path / "bucket" / "data" / "_dlt_pipeline_state").iterdir())
