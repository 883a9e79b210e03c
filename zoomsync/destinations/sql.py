"""SQL servers reached by one connection URL: PostgreSQL, Amazon Redshift and Panoply."""

from __future__ import annotations

from pydantic import SecretStr

from zoomsync.config import Settings
from zoomsync.destinations.target import Target, require_driver, required, server_url
from zoomsync.errors import ConfigError

POSTGRES_EXAMPLE = "postgresql://loader:PASSWORD@db.example.com:5432/analytics"
REDSHIFT_EXAMPLE = ("redshift://loader:PASSWORD@"
                    "cluster.abc123.eu-west-1.redshift.amazonaws.com:5439/analytics")
PANOPLY_EXAMPLE = "redshift://you%40example.com:PASSWORD@db.panoply.io:5439/yourdb"
POSTGRES_COPIES = 8  # load jobs at once into PostgreSQL (postgres_target)


def postgres_target(settings: Settings) -> Target:
    import dlt

    url = required(settings.postgres_url, "ZOOMSYNC_POSTGRES_URL", POSTGRES_EXAMPLE)
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    where = server_url(url, "ZOOMSYNC_POSTGRES_URL", ("postgresql",), POSTGRES_EXAMPLE)
    require_driver("postgres", "psycopg2", "adbc_driver_postgresql", "pyarrow")
    # Parquet, loaded by ADBC's binary COPY. dlt's CSV COPY was faster than INSERTs
    # (research/dlt-feasibility.md §5) but loads '' as NULL (it adds FORCE_NULL for every
    # nullable column), and Zoom sends '' for guests' ids and many empty fields. dlt flattens
    # our rows before writing Parquet, so ADBC's lack of nested types does not bite here.
    from zoomsync.destinations.postgres_copy import fast_parquet_copies

    fast_parquet_copies()  # one ADBC database per server, connections reused (postgres_copy.py)
    from zoomsync.destinations.direct import write_first_loads_directly

    write_first_loads_directly()  # a first load writes each row once (direct.py)
    from zoomsync.destinations.postgres_ids import compare_row_ids_bytewise

    compare_row_ids_bytewise()  # `_dlt_id` COLLATE "C": its index is half the work
    # dlt's UNIQUE index on every table's `_dlt_id` stays (a first load builds it after its
    # rows, direct.py): for a root table with nested tables dlt's merge copies every
    # staging row carrying a kept `_dlt_id`, so a file copied twice into staging (or, on a
    # first load, into the table) would reach the table twice; resume.py prevents that,
    # and the index turns any miss into an error.
    # At most POSTGRES_COPIES copies at once (dlt would run 20): each holds a connection on
    # the user's server for the load (postgres_copy.py), and more only contend for its
    # cores and our GIL. On the benchmark account (bench/load.py, 5 loads each, 2 cores):
    # median 0.88 s with 20, 0.91 with 8, 0.81 with 6 — as fast, with fewer connections.
    # dlt's LOAD__WORKERS still lowers it.
    destination = dlt.destinations.postgres(credentials=url,
                                            max_parallel_load_jobs=POSTGRES_COPIES)
    return Target("postgres", f"postgres:{where}", destination, "parquet")


def redshift_target(settings: Settings) -> Target:
    """Redshift loads fastest by COPY from S3: staged through ZOOMSYNC_BUCKET_URL if set."""
    import dlt

    url = _redshift_url(settings.redshift_url, "ZOOMSYNC_REDSHIFT_URL", REDSHIFT_EXAMPLE)
    where = server_url(url, "ZOOMSYNC_REDSHIFT_URL", ("redshift",), REDSHIFT_EXAMPLE)
    require_driver("redshift", "psycopg2")
    if not settings.bucket_url:
        # Without a bucket dlt can only send INSERT statements: correct, but slow.
        return Target("redshift", f"redshift:{where}", dlt.destinations.redshift(
            credentials=url, destination_name="redshift"), "insert_values")
    if not settings.bucket_url.startswith("s3://"):
        raise ConfigError("Redshift stages its files on S3: ZOOMSYNC_BUCKET_URL must start with "
                          "s3:// (or leave it unset to load with INSERT statements)")
    from zoomsync.destinations.files import filesystem_destination

    require_driver("redshift", "s3fs", extra="redshift")
    staging = filesystem_destination(settings, settings.bucket_url, "redshift")
    destination = dlt.destinations.redshift(credentials=url, destination_name="redshift",
                                            staging_iam_role=settings.redshift_iam_role)
    # JSONL, dlt's choice for Redshift: Parquet cannot carry Zoom's JSON columns (SUPER).
    return Target("redshift", f"redshift:{where}", destination, "jsonl", staging=staging)


def panoply_target(settings: Settings) -> Target:
    """Panoply's warehouse is Redshift underneath, so dlt's Redshift dialect fits it.

    Panoply gives no S3 bucket of its own to COPY from, so rows go as INSERT statements.
    """
    import dlt

    url = _redshift_url(settings.panoply_url, "ZOOMSYNC_PANOPLY_URL", PANOPLY_EXAMPLE)
    where = server_url(url, "ZOOMSYNC_PANOPLY_URL", ("redshift",), PANOPLY_EXAMPLE)
    require_driver("panoply", "psycopg2")
    return Target("panoply", f"panoply:{where}", dlt.destinations.redshift(
        credentials=url, destination_name="panoply"), "insert_values")


def _redshift_url(value: SecretStr | None, variable: str, example: str) -> str:
    url = required(value, variable, example)
    # Redshift and Panoply speak PostgreSQL's protocol; accept the URL either way.
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "redshift://" + url.removeprefix(scheme)
    return url
