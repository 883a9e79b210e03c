"""PostgreSQL's Parquet COPY jobs: one ADBC database per server, connections reused.

dlt loads each Parquet file into PostgreSQL with ADBC's binary COPY (`adbc_ingest`), and
for every file it:

- sets up a new ADBC *database*. The PostgreSQL driver reads the server's type catalog
  when it does — a row type per table, so it grows with every table in the database: 24 ms
  in an empty database, 0.33 s in one with 170 schemas (4,800 types), measured here;
- opens a new ADBC connection from it: a new server process, each paying its start-up
  and its first look at the table's catalog rows;
- and, around the job (`RunnableLoadJob.run_managed`), opens the job client's own
  psycopg2 connection, another server process, which the ADBC copy never uses.

A zoomsync load has one file per table, ~50 of them, up to 8 running at a time (sql.py)
on what is often a small machine shared with the server. `fast_parquet_copies()` replaces
three methods of dlt's `PostgresParquetCopyJob` and wraps `PostgresClient.complete_load`
(dlt has no option for any of this; should dlt rename them, its own behaviour stays):

- `_connect`: a connection from a pool kept per URL: one database per URL for the life of
  the process (`adbc_clone`: a new connection, the same database); a job takes an idle
  connection or makes one, and gives it back after its commit (closed instead if the job
  failed). `close_idle()` closes the idle ones when a load completes (so a long-running
  `zoomsync serve` holds none between loads) and at exit.
- `run_managed`: dlt's, with the job client left unconnected (`_Unconnected`).
- `run`: dlt's copy, then any statements `after_copy` holds, in the same transaction
  (direct.py builds a first load's `_dlt_id` index there).
- and as a load sets up the dataset (`PostgresClient.initialize_storage`, before its
  tables are made), `warm_up` opens the URL's database and one connection in a background
  thread, while the main thread waits on the server's DDL with a core idle. Else the first
  copy job sets them up, under the pool's lock, with every other job waiting: 0.1-0.13 s
  of a process's first load (bench/load.py's first run; a `zoomsync run` has only that).

Measured on the benchmark account (bench/load.py, 249k rows, 48 tables, 2 cores): one
connection per file and one for the whole load, the same COPYs, 0.53-0.59 s against
0.44-0.48 s, the server using 0.42-0.51 CPU-s against 0.24-0.26.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Any

log = logging.getLogger("zoomsync.destinations")

_lock = threading.Lock()
_templates: dict[str, Any] = {}  # URL -> an ADBC connection that keeps the database open
_idle: dict[str, list[Any]] = {}  # URL -> connections no job is using (last in, first out)
_warming: set[str] = set()  # URLs whose `warm_up` is running
_closings = [0]  # how many times `close_idle` ran: a warm-up started before must not pool


def fast_parquet_copies() -> None:
    """Make dlt's PostgreSQL Parquet jobs copy on pooled ADBC connections (idempotent)."""
    try:
        from dlt.common.destination.client import RunnableLoadJob
        from dlt.destinations.impl.postgres.postgres import PostgresClient, PostgresParquetCopyJob
    except ImportError:  # a dlt without this job: nothing to speed up
        return
    if getattr(PostgresParquetCopyJob, "_zoomsync_pooled", False):
        return
    if not all(callable(getattr(PostgresParquetCopyJob, name, None)) for name in (
            "_connect", "_set_catalog_and_schema", "run_managed")) or not callable(
            getattr(RunnableLoadJob, "run_managed", None)):
        log.debug("dlt's PostgresParquetCopyJob changed: its connections are not pooled")
        return
    managed = RunnableLoadJob.run_managed
    completed = PostgresClient.complete_load
    initialize = PostgresClient.initialize_storage

    def run_managed(self: Any, job_client: Any, done_event: Any, /) -> None:
        managed(self, _Unconnected(job_client), done_event)

    def initialize_storage(self: Any, *args: Any, **kwargs: Any) -> Any:
        warm_up(self.config.credentials.to_native_representation())
        return initialize(self, *args, **kwargs)

    def complete_load(self: Any, load_id: str) -> Any:
        result = completed(self, load_id)
        close_idle()  # every job of the package is done: their connections are idle
        return result

    PostgresParquetCopyJob._connect = _connect  # type: ignore[method-assign]
    PostgresParquetCopyJob.run = _run  # type: ignore[method-assign]
    PostgresParquetCopyJob.run_managed = run_managed  # type: ignore[method-assign]
    PostgresParquetCopyJob.after_copy = ()  # type: ignore[attr-defined]
    PostgresClient.complete_load = complete_load  # type: ignore[method-assign]
    PostgresClient.initialize_storage = initialize_storage  # type: ignore[method-assign]
    PostgresParquetCopyJob._zoomsync_pooled = True  # type: ignore[attr-defined]


class _Unconnected:
    """The job client as the copy job needs it: its configuration and naming, not its
    connection. dlt's `run_managed` enters the client around `run` (for psycopg2, a
    connect); entering this one does nothing; everything else is the client's."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def __enter__(self) -> _Unconnected:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _run(self: Any) -> None:
    """dlt's `AdbcParquetCopyJob.run` (1.31) on a pooled connection, then `after_copy`
    in the same transaction."""
    from dlt.common.libs.pyarrow import pq_stream_with_new_columns
    from dlt.common.utils import without_none

    catalog_name, schema_name = self._set_catalog_and_schema()
    where = without_none(dict(catalog_name=catalog_name, db_schema_name=schema_name))

    def batches() -> Iterator[Any]:
        for table in pq_stream_with_new_columns(self._file_path, ()):
            yield from table.to_batches()

    # The whole file in one `adbc_ingest`, as dlt does for PostgreSQL (its
    # `_ingest_per_rowgroup` is for other drivers).
    with self._connect() as conn, conn.cursor() as cur:
        rows = cur.adbc_ingest(self.load_table_name, batches(), mode="append", **where)
        for statement in self.after_copy:
            cur.execute(statement)
        conn.commit()
    log.debug("%s rows copied from %s to %s.%s", rows, self._file_name, schema_name,
              self.load_table_name)


@contextlib.contextmanager
def _connect(self: Any) -> Iterator[Any]:
    """A connection from the pool of the job client's URL; back to it if the job's work
    went through, else closed (it may be mid-transaction or broken)."""
    self._config = self._job_client.config
    uri = self._config.credentials.to_native_representation()
    conn = _lease(uri)
    try:
        yield conn
    except BaseException:
        with contextlib.suppress(Exception):
            conn.close()
        raise
    with _lock:
        _idle.setdefault(uri, []).append(conn)


def warm_up(uri: str) -> None:
    """Open `uri`'s shared database and one pooled connection in a background thread, if
    not open yet. A failure is left for the copy jobs to meet and report."""
    with _lock:
        if uri in _templates or uri in _warming:
            return
        _warming.add(uri)
        closed_before = _closings[0]

    def warm() -> None:
        try:
            with _lock:  # made and pooled at once: a copy job waits for it, not beside it
                # Not if the load ended first (hold none), nor if a copy job was quicker.
                if _closings[0] == closed_before and uri not in _templates:
                    conn = _connection(uri)
                    _idle.setdefault(uri, []).append(conn)
        except Exception as exc:  # the copy jobs connect again and fail in their own words
            log.debug("warming up the COPY connections failed: %s", type(exc).__name__)
        finally:
            with _lock:
                _warming.discard(uri)

    threading.Thread(target=warm, name="zoomsync-copy-warm-up", daemon=True).start()


def _lease(uri: str) -> Any:
    with _lock:  # one set-up per URL, and connections made one at a time from it
        if _idle.get(uri):
            return _idle[uri].pop()
        return _connection(uri)


def _connection(uri: str) -> Any:
    """A new connection to `uri`'s shared database, opened first if need be (hold `_lock`)."""
    from adbc_driver_manager import dbapi
    from dlt.destinations.impl.postgres.factory import get_adbc_driver_location

    template = _templates.get(uri)
    if template is None:
        template = dbapi.connect(driver=get_adbc_driver_location(), db_kwargs={"uri": uri})
        _templates[uri] = template
    return template.adbc_clone()


def close_idle() -> None:
    """Close the connections no job is using (a connection in use goes back to the pool
    when its job ends, to be closed at the next call)."""
    with _lock:
        idle = [conn for conns in _idle.values() for conn in conns]
        _idle.clear()
        _closings[0] += 1
    for conn in idle:
        with contextlib.suppress(Exception):  # the server may have closed it already
            conn.close()


@atexit.register
def close_shared() -> None:
    """Close the pooled connections and the shared databases (at exit; or earlier, the
    next load opens them again)."""
    close_idle()
    with _lock:
        for template in _templates.values():
            # The server may be gone already: nothing more to do at exit.
            with contextlib.suppress(Exception):
                template.close()
        _templates.clear()
