"""A PostgreSQL load sets up one ADBC database however many tables it copies
(zoomsync/destinations/postgres_copy.py), and the rows still arrive, each table whole."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

from tests.destinations import readers
from tests.services import POSTGRES_URL, service
from zoomsync.config import Settings
from zoomsync.destinations import postgres_copy, resolve


def test_one_adbc_database_for_every_table_of_a_load(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import dlt
    from adbc_driver_manager import dbapi

    url = service(POSTGRES_URL, "PostgreSQL")
    set_up: list[str] = []
    connect = dbapi.connect

    def counting(*args: Any, **kwargs: Any) -> Any:
        set_up.append(kwargs["db_kwargs"]["uri"])
        return connect(*args, **kwargs)

    monkeypatch.setattr(dbapi, "connect", counting)
    monkeypatch.setattr(postgres_copy, "_templates", {})  # none left from other tests
    target = resolve(Settings(_env_file=None, destination="postgres",  # type: ignore[call-arg]
                              postgres_url=url))
    dataset = f"copy_{secrets.token_hex(3)}"
    pipeline = dlt.pipeline(pipeline_name="copy_test", destination=target.destination,
                            dataset_name=dataset, pipelines_dir=str(tmp_path))
    tables = {f"t{i}": [{"id": n, "name": f"row {n}", "empty": ""} for n in range(50)]
              for i in range(6)}
    resources = [dlt.resource(rows, name=name, write_disposition="merge", primary_key="id")
                 for name, rows in tables.items()]
    try:
        pipeline.run(resources, loader_file_format="parquet")
    finally:
        postgres_copy.close_shared()
    assert len(set_up) == 1  # six tables, six Parquet files, one database
    reader = readers.postgres(url, dataset)
    for name, rows in tables.items():
        got = sorted((r["id"], r["name"], r["empty"]) for r in reader.rows(name))
        assert got == [(r["id"], r["name"], "") for r in rows]  # '' stays '', not NULL
