"""PostgreSQL's Parquet COPY jobs, connected from one ADBC database per server.

dlt loads each Parquet file into PostgreSQL with ADBC's binary COPY (`adbc_ingest`) and
sets up a new ADBC *database* for every file. The PostgreSQL driver reads the server's
type catalog when it does — a row type per table, so it grows with every table in the
database: 24 ms in an empty database, 0.33 s in one with 170 schemas (4,800 types),
measured here — while a connection from an existing database takes 3 ms. A zoomsync load
has one file per table, ~50 of them: on the benchmark account the load step took 11.2 s
before this and 1.3 s after (bench/load.py, in that second database).

`share_adbc_database()` makes dlt's job take its connection from one database kept per
URL for the life of the process (`adbc_clone`: a new connection, the same database). Each
job still has its own connection and transaction. This replaces one method of a dlt class
because dlt has no option for it; should dlt rename them, dlt's own behaviour stays.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
from typing import Any

log = logging.getLogger("zoomsync.destinations")

_lock = threading.Lock()
_templates: dict[str, Any] = {}  # URL -> an ADBC connection that keeps the database open


def share_adbc_database() -> None:
    """Make dlt's PostgreSQL Parquet jobs connect through a shared ADBC database."""
    try:
        from dlt.destinations.impl.postgres.postgres import PostgresParquetCopyJob
    except ImportError:  # a dlt without this job: nothing to speed up
        return
    if getattr(PostgresParquetCopyJob, "_zoomsync_shared", False):
        return
    if not callable(getattr(PostgresParquetCopyJob, "_connect", None)):
        log.debug("dlt's PostgresParquetCopyJob has no _connect: ADBC databases not shared")
        return
    PostgresParquetCopyJob._connect = _connect  # type: ignore[method-assign]
    PostgresParquetCopyJob._zoomsync_shared = True  # type: ignore[attr-defined]


def _connect(self: Any) -> Any:
    """dlt's `_connect`, with the database made once per URL."""
    from adbc_driver_manager import dbapi
    from dlt.destinations.impl.postgres.factory import get_adbc_driver_location

    self._config = self._job_client.config
    uri = self._config.credentials.to_native_representation()
    with _lock:  # one set-up per URL, and connections made one at a time from it
        template = _templates.get(uri)
        if template is None:
            template = dbapi.connect(driver=get_adbc_driver_location(), db_kwargs={"uri": uri})
            _templates[uri] = template
        return template.adbc_clone()


@atexit.register
def close_shared() -> None:
    """Close the shared databases (at exit; or earlier, the next load opens them again)."""
    with _lock:
        for template in _templates.values():
            # The server may be gone already: nothing more to do at exit.
            with contextlib.suppress(Exception):
                template.close()
        _templates.clear()
