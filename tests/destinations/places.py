"""The destinations the suite can load into here, each as a fresh dataset: the Settings
overrides that point a run at it, and a reader that gets the rows back with the
destination's own tools (readers.py). `CASES[name](tmp_path, dataset)` makes one.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.destinations import readers
from tests.services import (
    AZURITE_CONNECTION_STRING,
    POSTGRES_URL,
    S3_ENDPOINT,
    S3_KEY,
    S3_REGION,
    S3_SECRET,
    service,
)


@dataclass
class Place:
    """Where one case loads: Settings overrides, and how to read the result back."""

    settings: dict[str, Any]
    reader: readers.Reader


def _postgres(tmp: Path, dataset: str) -> Place:
    url = service(POSTGRES_URL, "PostgreSQL")
    return Place({"destination": "postgres", "postgres_url": url},
                 readers.postgres(url, dataset))


def _local(kind: str) -> Callable[[Path, str], Place]:
    def place(tmp: Path, dataset: str) -> Place:
        import fsspec

        root = tmp / "lake"
        fs = fsspec.filesystem("file")
        reader = (readers.delta(fs, f"{root}/{dataset}", str(root / dataset), None)
                  if kind == "delta" else readers.parquet(fs, f"{root}/{dataset}"))
        return Place({"destination": kind, "bucket_url": root.as_uri()}, reader)
    return place


def _s3(kind: str) -> Callable[[Path, str], Place]:
    def place(tmp: Path, dataset: str) -> Place:
        import boto3
        import s3fs

        endpoint = service(S3_ENDPOINT, "moto's S3 server")
        bucket = f"zoomsync-{kind}-{secrets.token_hex(4)}"
        fs = s3fs.S3FileSystem(key=S3_KEY, secret=S3_SECRET, endpoint_url=endpoint,
                               client_kwargs={"region_name": S3_REGION},
                               use_listings_cache=False)  # runs replace files
        boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=S3_KEY,
                     aws_secret_access_key=S3_SECRET, region_name=S3_REGION
                     ).create_bucket(Bucket=bucket)
        root = f"{bucket}/{dataset}"
        options = {"aws_access_key_id": S3_KEY, "aws_secret_access_key": S3_SECRET,
                   "aws_region": S3_REGION, "aws_endpoint_url": endpoint,
                   "aws_allow_http": "true"}
        reader = (readers.delta(fs, root, f"s3://{root}", options) if kind == "delta"
                  else readers.parquet(fs, root))
        return Place({"destination": kind, "bucket_url": f"s3://{bucket}",
                      "aws_access_key_id": S3_KEY, "aws_secret_access_key": S3_SECRET,
                      "aws_region": S3_REGION, "aws_endpoint_url": endpoint}, reader)
    return place


def _azure(kind: str) -> Callable[[Path, str], Place]:
    def place(tmp: Path, dataset: str) -> Place:
        import adlfs
        from azure.storage.blob import BlobServiceClient

        connection = service(AZURITE_CONNECTION_STRING, "Azurite")
        container = f"zoomsync-{kind}-{secrets.token_hex(4)}"
        BlobServiceClient.from_connection_string(connection).create_container(container)
        fs = adlfs.AzureBlobFileSystem(connection_string=connection)
        root = f"{container}/{dataset}"
        fields = dict(p.split("=", 1) for p in connection.split(";") if "=" in p)
        options = {"account_name": fields["AccountName"], "account_key": fields["AccountKey"],
                   "azure_storage_endpoint": fields["BlobEndpoint"], "allow_http": "true"}
        reader = (readers.delta(fs, root, f"az://{root}", options) if kind == "delta"
                  else readers.parquet(fs, root))
        return Place({"destination": kind, "bucket_url": f"az://{container}",
                      "azure_storage_connection_string": connection}, reader)
    return place


CASES: dict[str, Callable[[Path, str], Place]] = {
    "postgres": _postgres,
    "filesystem-local": _local("filesystem"),
    "filesystem-s3": _s3("filesystem"),
    "delta-local": _local("delta"),
    "delta-s3": _s3("delta"),
    "filesystem-azurite": _azure("filesystem"),
    "delta-azurite": _azure("delta"),
}


# Settings that the clouds' tools read under their own names (zoomsync/config.py).
_CLOUD_PREFIXES = ("aws_", "azure_")


def environment(place: Place) -> dict[str, str]:
    """`place.settings` as the environment variables `zoomsync run` reads them from."""
    return {(k.upper() if k.startswith(_CLOUD_PREFIXES) else f"ZOOMSYNC_{k.upper()}"): str(v)
            for k, v in place.settings.items()}


def duckdb_place(tmp: Path, dataset: str) -> Place:
    """A DuckDB file in `tmp` (not in CASES: tests/sync covers DuckDB on its own)."""
    path = tmp / "warehouse.duckdb"
    return Place({"destination": "duckdb", "duckdb_path": str(path)},
                 readers.duckdb(str(path), dataset))
