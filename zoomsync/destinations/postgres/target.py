"""PostgreSQL, reached by one connection URL, loaded through our destination (factory.py)."""

from __future__ import annotations

from zoomsync.config import Settings
from zoomsync.destinations.target import Target, require_driver, required, server_url

POSTGRES_EXAMPLE = "postgresql://loader:PASSWORD@db.example.com:5432/analytics"
POSTGRES_COPIES = 8  # load jobs at once into PostgreSQL (postgres_target)


def postgres_target(settings: Settings) -> Target:
    from zoomsync.destinations.postgres.factory import postgres

    url = required(settings.postgres_url, "ZOOMSYNC_POSTGRES_URL", POSTGRES_EXAMPLE)
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    where = server_url(url, "ZOOMSYNC_POSTGRES_URL", ("postgresql",), POSTGRES_EXAMPLE)
    require_driver("postgres", "psycopg2", "adbc_driver_postgresql", "pyarrow")
    # Parquet, loaded by ADBC's binary COPY (factory.py says why not CSV). dlt flattens our
    # rows before writing Parquet, so ADBC's lack of nested types does not bite here.
    # At most POSTGRES_COPIES copies at once (dlt would run 20): each holds a connection on
    # the user's server, and more only contend for its cores and our GIL. On the benchmark
    # account (bench/load.py, 5 loads each, 2 cores): median 0.88 s with 20, 0.91 with 8,
    # 0.81 with 6 — as fast, with fewer connections. dlt's LOAD__WORKERS still lowers it.
    destination = postgres(credentials=url, max_parallel_load_jobs=POSTGRES_COPIES)
    return Target("postgres", f"postgres:{where}", destination, "parquet")
