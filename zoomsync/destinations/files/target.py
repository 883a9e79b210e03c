"""Parquet files and Delta tables in a bucket (S3, Azure Blob) or a local folder.

Plain files cannot be merged into (dlt falls back to appending, which duplicates every row
on the next run), so the filesystem destination rewrites each synced table whole. Delta
tables are merged by primary key (dlt's `upsert`), on S3, Azure or local disk alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from zoomsync.config import Settings
from zoomsync.destinations.target import Target, require_driver, required
from zoomsync.errors import ConfigError

BUCKET_EXAMPLE = "s3://my-bucket/zoom (or az://container/zoom, file:///srv/zoom)"
SCHEMES = ("s3", "az", "abfss", "file")


def filesystem_target(settings: Settings) -> Target:
    url = bucket_url(settings)
    require_driver("filesystem", "pyarrow", *_fsspec_driver(url))
    return Target("filesystem", f"filesystem:{url}",
                  filesystem_destination(settings, url, "filesystem"), "parquet",
                  replaces_tables=True)


def delta_target(settings: Settings) -> Target:
    url = bucket_url(settings)
    require_driver("delta", "deltalake", "pyarrow", *_fsspec_driver(url))
    if url.startswith("s3://") and not (settings.aws_region or settings.aws_endpoint_url):
        # delta-rs (object_store) will not guess the region of an AWS bucket.
        raise ConfigError("Delta tables on S3 need the bucket's region: set AWS_REGION")
    # Delta tables take only Parquet; dlt merges them with `upsert` on the primary key.
    return Target("delta", f"delta:{url}", filesystem_destination(settings, url, "delta"),
                  "parquet", table_format="delta")


def bucket_url(settings: Settings) -> str:
    """ZOOMSYNC_BUCKET_URL checked, with a local folder given as an absolute file:// URL."""
    url = required(settings.bucket_url, "ZOOMSYNC_BUCKET_URL", BUCKET_EXAMPLE)
    scheme = urlsplit(url).scheme
    if scheme == "" or (len(scheme) == 1 and url[1:3] == ":\\"):  # a path, maybe C:\...
        return Path(url).expanduser().resolve().as_uri()
    if scheme not in SCHEMES:
        raise ConfigError(f"ZOOMSYNC_BUCKET_URL {url!r}: use an s3://, az://, abfss:// or "
                          "file:// URL, or a local folder")
    if scheme != "file" and not urlsplit(url).netloc:
        raise ConfigError(f"ZOOMSYNC_BUCKET_URL {url!r} names no bucket or container")
    return url.rstrip("/")


def filesystem_destination(settings: Settings, url: str, name: str) -> Any:
    """dlt's filesystem destination for `url`, with the cloud's credentials from settings."""
    import dlt

    scheme = urlsplit(url).scheme
    kwargs: dict[str, Any] = {}
    credentials: Any = None
    if scheme == "s3":
        credentials = aws_credentials(settings)
    elif scheme in ("az", "abfss"):
        credentials, kwargs = azure_credentials(settings)
    return dlt.destinations.filesystem(bucket_url=url, credentials=credentials,
                                       destination_name=name, **kwargs)


def aws_credentials(settings: Settings) -> Any:
    """Keys from AWS_* when set; otherwise AWS's own chain (profile, SSO, instance role).

    The endpoint and region go into the credentials rather than the environment, so both
    s3fs and delta-rs (which ignores fsspec's options) reach an S3-compatible server.
    """
    from dlt.common.configuration.specs import AwsCredentials

    credentials = AwsCredentials()
    credentials.aws_access_key_id = settings.aws_access_key_id  # type: ignore[assignment]
    if settings.aws_secret_access_key is not None:
        credentials.aws_secret_access_key = settings.aws_secret_access_key.get_secret_value()
    if settings.aws_session_token is not None:
        credentials.aws_session_token = settings.aws_session_token.get_secret_value()
    credentials.region_name = settings.aws_region
    credentials.endpoint_url = settings.aws_endpoint_url
    if bool(settings.aws_access_key_id) != bool(settings.aws_secret_access_key):
        raise ConfigError("set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither "
                          "(to use an AWS profile or instance role)")
    return credentials


def azure_credentials(settings: Settings) -> tuple[Any, dict[str, Any]]:
    """Account key or SAS token; a connection string for custom endpoints such as Azurite."""
    from dlt.common.configuration.specs import AzureCredentials

    credentials = AzureCredentials()
    kwargs: dict[str, Any] = {}
    fields = _connection_string(settings)
    credentials.azure_storage_account_name = (settings.azure_storage_account_name
                                              or fields.get("AccountName"))  # type: ignore[assignment]
    key = settings.azure_storage_account_key
    credentials.azure_storage_account_key = (key.get_secret_value() if key
                                             else fields.get("AccountKey"))
    sas = settings.azure_storage_sas_token
    credentials.azure_storage_sas_token = (sas.get_secret_value() if sas
                                           else fields.get("SharedAccessSignature"))
    if not credentials.azure_storage_account_name:
        raise ConfigError("az:// needs the storage account: set AZURE_STORAGE_ACCOUNT_NAME "
                          "(with AZURE_STORAGE_ACCOUNT_KEY or AZURE_STORAGE_SAS_TOKEN) or "
                          "AZURE_STORAGE_CONNECTION_STRING")
    if "BlobEndpoint" in fields and settings.azure_storage_connection_string is not None:
        # adlfs reaches a custom endpoint only through the connection string, and delta-rs
        # through its own options (research/dlt-feasibility.md §2).
        connection = settings.azure_storage_connection_string.get_secret_value()
        kwargs["kwargs"] = {"connection_string": connection}
        endpoint = fields["BlobEndpoint"]
        options = {"azure_storage_endpoint": endpoint.rstrip("/")}
        if endpoint.startswith("http://"):
            options["allow_http"] = "true"
        kwargs["deltalake_storage_options"] = options
    return credentials, kwargs


def _connection_string(settings: Settings) -> dict[str, str]:
    if settings.azure_storage_connection_string is None:
        return {}
    text = settings.azure_storage_connection_string.get_secret_value()
    pairs = (part.partition("=") for part in text.split(";") if "=" in part)
    return {k.strip(): v.strip() for k, _, v in pairs}


def _fsspec_driver(url: str) -> tuple[str, ...]:
    scheme = urlsplit(url).scheme
    return {"s3": ("s3fs",), "az": ("adlfs",), "abfss": ("adlfs",)}.get(scheme, ())
