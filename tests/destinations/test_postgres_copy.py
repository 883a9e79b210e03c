"""A PostgreSQL load sets up one ADBC database however many tables it copies, reuses its
connections, opens no psycopg2 connection per copy and leaves none open when it is done
(zoomsync/destinations/postgres_copy.py); and the rows still arrive, each table whole."""

from __future__ import annotations

import secrets
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.destinations import readers
from tests.services import POSTGRES_URL, service
from zoomsync.config import Settings
from zoomsync.destinations import postgres_copy, resolve


def test_one_adbc_database_and_reused_connections_for_a_load(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dlt
    import psycopg2
    from adbc_driver_manager import dbapi

    url = service(POSTGRES_URL, "PostgreSQL")
    set_up: list[str] = []
    cloned: list[int] = []
    sessions: list[int] = []
    connect, clone, pg_connect = dbapi.connect, dbapi.Connection.adbc_clone, psycopg2.connect

    def counting(*args: Any, **kwargs: Any) -> Any:
        set_up.append(kwargs["db_kwargs"]["uri"])
        return connect(*args, **kwargs)

    def cloning(self: Any) -> Any:
        cloned.append(1)
        return clone(self)

    def session(*args: Any, **kwargs: Any) -> Any:
        sessions.append(1)
        return pg_connect(*args, **kwargs)

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
    pipeline.extract(resources, loader_file_format="parquet")
    pipeline.normalize()
    monkeypatch.setenv("LOAD__WORKERS", "2")  # two copies at a time: two connections
    monkeypatch.setattr(dbapi, "connect", counting)
    monkeypatch.setattr(dbapi.Connection, "adbc_clone", cloning)
    monkeypatch.setattr(psycopg2, "connect", session)
    try:
        info = pipeline.load()
    finally:
        postgres_copy.close_shared()  # this test's database (`_templates` is its own)
        monkeypatch.undo()
    copies = [j for j in info.load_packages[0].jobs["completed_jobs"]
              if j.job_file_info.file_format == "parquet"]
    assert len(copies) == 6 and len(set_up) == 1  # six Parquet files, one database
    assert 1 <= len(cloned) <= 2  # connections reused: as many as copies ran at once
    # dlt's own connections (set-up, state, completion), none per copy: dlt alone opens one
    # psycopg2 connection around each copy job too.
    assert len(sessions) < len(copies)
    assert postgres_copy._idle == {}  # closed when the load completed
    reader = readers.postgres(url, dataset)
    for name, rows in tables.items():
        got = sorted((r["id"], r["name"], r["empty"]) for r in reader.rows(name))
        assert got == [(r["id"], r["name"], "") for r in rows]  # '' stays '', not NULL


def test_a_failed_copy_closes_its_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """A job that failed mid-transaction never hands its connection to the next job."""
    url = service(POSTGRES_URL, "PostgreSQL")
    monkeypatch.setattr(postgres_copy, "_idle", {})

    credentials = SimpleNamespace(to_native_representation=lambda: url)
    job = SimpleNamespace(_job_client=SimpleNamespace(config=SimpleNamespace(
        credentials=credentials)))  # what `_connect` reads of dlt's job
    with postgres_copy._connect(job) as conn, conn.cursor() as cur:
        cur.execute("select 1")
    assert len(postgres_copy._idle[url]) == 1  # went through: back in the pool
    kept = postgres_copy._idle[url][0]
    with pytest.raises(RuntimeError), postgres_copy._connect(job) as conn:
        assert conn is kept  # the idle one is taken first
        raise RuntimeError("the COPY failed")
    assert postgres_copy._idle[url] == []
    with pytest.raises(Exception):  # noqa: B017 - closed: ADBC raises its own error type
        kept.cursor()
    postgres_copy.close_idle()


def test_the_database_is_opened_in_the_background_before_the_first_copy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`warm_up` is asked when the load sets up the dataset, before any copy job runs; the
    load's one ADBC database is made once (by the warm-up, unless a copy job got there
    first on a very busy machine)."""
    import threading

    import dlt
    from adbc_driver_manager import dbapi
    from dlt.destinations.impl.postgres.postgres import PostgresParquetCopyJob

    url = service(POSTGRES_URL, "PostgreSQL")
    events: list[tuple[str, str]] = []
    connect, run, warm_up = dbapi.connect, PostgresParquetCopyJob.run, postgres_copy.warm_up

    def recording_warm_up(uri: str) -> None:
        events.append(("warm-up", uri))
        warm_up(uri)

    def recording_connect(*args: Any, **kwargs: Any) -> Any:
        events.append(("database", threading.current_thread().name))
        return connect(*args, **kwargs)

    def recording_run(self: Any) -> None:
        events.append(("copy", threading.current_thread().name))
        run(self)

    monkeypatch.setattr(postgres_copy, "_templates", {})
    monkeypatch.setattr(postgres_copy, "_idle", {})
    target = resolve(Settings(_env_file=None, destination="postgres",  # type: ignore[call-arg]
                              postgres_url=url))
    dataset = f"warm_{secrets.token_hex(3)}"
    pipeline = dlt.pipeline(pipeline_name="warm_test", destination=target.destination,
                            dataset_name=dataset, pipelines_dir=str(tmp_path))
    pipeline.extract(dlt.resource([{"id": n} for n in range(20)], name="t",
                                  write_disposition="merge", primary_key="id"),
                     loader_file_format="parquet")
    pipeline.normalize()
    monkeypatch.setattr(dbapi, "connect", recording_connect)
    monkeypatch.setattr(PostgresParquetCopyJob, "run", recording_run)
    monkeypatch.setattr(postgres_copy, "warm_up", recording_warm_up)
    try:
        pipeline.load()
    finally:
        postgres_copy.close_shared()
        monkeypatch.undo()
    assert events[0][0] == "warm-up" and events[0][1].startswith(url)  # dlt adds a timeout
    assert sorted(kind for kind, _ in events[1:]) == ["copy", "database"]
    assert [r["id"] for r in readers.postgres(url, dataset).rows("t")] == list(range(20))


def test_a_warm_up_opens_the_database_and_pools_one_connection(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The warm-up thread itself makes the URL's database and leaves one connection idle
    for the first copy job, which then opens nothing."""
    import threading

    url = service(POSTGRES_URL, "PostgreSQL")
    monkeypatch.setattr(postgres_copy, "_templates", {})
    monkeypatch.setattr(postgres_copy, "_idle", {})
    try:
        postgres_copy.warm_up(url)
        for thread in threading.enumerate():
            if thread.name == "zoomsync-copy-warm-up":
                thread.join(10)
        assert list(postgres_copy._templates) == [url]
        (pooled,) = postgres_copy._idle[url]
        assert postgres_copy._lease(url) is pooled
        assert list(postgres_copy._templates) == [url] and postgres_copy._idle[url] == []
        pooled.close()
    finally:
        postgres_copy.close_shared()


def test_a_warm_up_the_load_outlived_opens_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A load without copies can end before its warm-up thread runs: it then opens no
    database and pools no connection (close_idle ran meanwhile)."""
    import threading

    url = service(POSTGRES_URL, "PostgreSQL")
    monkeypatch.setattr(postgres_copy, "_templates", {})
    monkeypatch.setattr(postgres_copy, "_idle", {})
    held: list[threading.Thread] = []

    class Held(threading.Thread):
        def start(self) -> None:  # started by the test, after the load has ended
            held.append(self)

    with monkeypatch.context() as patch:
        patch.setattr(threading, "Thread", Held)
        postgres_copy.warm_up(url)
        postgres_copy.warm_up(url)  # already warming: no second thread
    assert len(held) == 1
    postgres_copy.close_idle()  # the load completed
    threading.Thread.start(held[0])
    held[0].join(10)
    assert postgres_copy._idle == {} and postgres_copy._templates == {}
    assert postgres_copy._warming == set()


def test_a_warm_up_a_copy_job_beat_adds_no_connection(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """On a busy machine a copy job can open the database before the warm-up thread runs:
    the warm-up then opens nothing more."""
    import threading

    url = service(POSTGRES_URL, "PostgreSQL")
    monkeypatch.setattr(postgres_copy, "_templates", {})
    monkeypatch.setattr(postgres_copy, "_idle", {})
    held: list[threading.Thread] = []

    class Held(threading.Thread):
        def start(self) -> None:
            held.append(self)

    with monkeypatch.context() as patch:
        patch.setattr(threading, "Thread", Held)
        postgres_copy.warm_up(url)
    try:
        copying = postgres_copy._lease(url)  # the copy job, first
        threading.Thread.start(held[0])
        held[0].join(10)
        assert postgres_copy._idle.get(url, []) == []  # nothing made beside the copy's
        assert len(postgres_copy._templates) == 1
        copying.close()
    finally:
        postgres_copy.close_shared()


def test_a_failed_warm_up_leaves_the_error_to_the_copies(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """No server there: the warm-up ends quietly, pooling nothing; the copy jobs connect
    again and report the error themselves."""
    import threading

    monkeypatch.setattr(postgres_copy, "_templates", {})
    monkeypatch.setattr(postgres_copy, "_idle", {})
    url = "postgresql://nobody:not-a-secret@127.0.0.1:1/none"
    postgres_copy.warm_up(url)
    for thread in threading.enumerate():
        if thread.name == "zoomsync-copy-warm-up":
            thread.join(10)
    assert postgres_copy._idle == {} and postgres_copy._templates == {}
    assert postgres_copy._warming == set()
