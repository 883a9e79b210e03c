"""Amazon Redshift and Panoply (Redshift underneath), through dlt's Redshift destination."""

from __future__ import annotations

from pydantic import SecretStr

from zoomsync.config import Settings
from zoomsync.destinations.target import Target, require_driver, required, server_url
from zoomsync.errors import ConfigError

REDSHIFT_EXAMPLE = ("redshift://loader:PASSWORD@"
                    "cluster.abc123.eu-west-1.redshift.amazonaws.com:5439/analytics")
PANOPLY_EXAMPLE = "redshift://you%40example.com:PASSWORD@db.panoply.io:5439/yourdb"


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
    from zoomsync.destinations.files.target import filesystem_destination

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
