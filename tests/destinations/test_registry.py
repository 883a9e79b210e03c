"""Each destination name builds the right dlt destination, loader format and credentials from
the settings, and a bad name, a bad credential or a missing driver is one clear line."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from zoomsync import destinations
from zoomsync.config import Settings
from zoomsync.destinations import NAMES, Target, resolve, target
from zoomsync.errors import ConfigError

PG = "postgresql://loader:s3cret-pw@db.example.com:5433/analytics"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No developer's cloud variables leak into these settings."""
    for name in list(os.environ):
        if name.startswith(("ZOOMSYNC_", "AWS_", "AZURE_", "GOOGLE_")) and not name.startswith(
                "ZOOMSYNC_TEST_"):
            monkeypatch.delenv(name)
    yield


@pytest.fixture
def drivers(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if every warehouse's driver were installed (they are not, here)."""
    monkeypatch.setattr(target, "_installed", lambda module: True)


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def resolved(t: Target) -> Any:
    """The dlt configuration the destination will run with (no connection is made)."""
    return t.destination.configuration(t.destination.spec(), accept_partial=True)


def test_every_name_has_a_builder_and_duckdb_is_the_default(tmp_path: Path) -> None:
    assert set(NAMES) == set(destinations.BUILDERS) and NAMES[0] == "duckdb"
    t = resolve(settings(duckdb_path=tmp_path / "w.duckdb"))
    assert (t.name, t.loader_file_format, t.label) == ("duckdb", "parquet",
                                                       str(tmp_path / "w.duckdb"))
    assert t.destination.destination_type.endswith("duckdb")


@pytest.mark.parametrize(("values", "expected"), [
    ({"destination": "oracle"}, "unknown destination 'oracle': use one of duckdb, postgres"),
    ({"destination": "synapse"}, "ZOOMSYNC_SYNAPSE_SERVER is not set: give it, e.g."),
    ({"destination": "postgres"}, "ZOOMSYNC_POSTGRES_URL is not set: give it, e.g."),
    ({"destination": "postgres", "postgres_url": "postgresql://loader@db/analytics"},
     "ZOOMSYNC_POSTGRES_URL has no password"),
    ({"destination": "postgres", "postgres_url": "mysql://a:b@db/x"},
     "ZOOMSYNC_POSTGRES_URL must start with postgresql://"),
    ({"destination": "postgres", "postgres_url": "postgresql://a:b@db:99999/x"},
     "ZOOMSYNC_POSTGRES_URL is not a valid URL"),
    ({"destination": "postgres", "postgres_url": "postgresql://a:b@db"},
     "ZOOMSYNC_POSTGRES_URL names no database"),
    ({"destination": "filesystem"}, "ZOOMSYNC_BUCKET_URL is not set"),
    ({"destination": "filesystem", "bucket_url": "gs://bucket"}, "use an s3://, az://"),
    ({"destination": "filesystem", "bucket_url": "s3://"}, "names no bucket"),
    ({"destination": "filesystem", "bucket_url": "s3://b", "aws_access_key_id": "AKIA1"},
     "set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
    ({"destination": "filesystem", "bucket_url": "az://container"},
     "az:// needs the storage account"),
    ({"destination": "delta", "bucket_url": "s3://b"}, "need the bucket's region: set AWS_REGION"),
    ({"destination": "snowflake"}, "ZOOMSYNC_SNOWFLAKE_URL is not set"),
    ({"destination": "snowflake", "snowflake_url": "snowflake://u@acct/DB"},
     "has no password, private_key or authenticator"),
    ({"destination": "bigquery"}, "ZOOMSYNC_BIGQUERY_PROJECT is not set"),
    ({"destination": "bigquery", "google_credentials": "/nonexistent/key.json"},
     "cannot read GOOGLE_APPLICATION_CREDENTIALS /nonexistent/key.json"),
    ({"destination": "redshift"}, "ZOOMSYNC_REDSHIFT_URL is not set"),
    ({"destination": "redshift", "redshift_url": "redshift://u:p@h/db",
      "bucket_url": "az://c"}, "Redshift stages its files on S3"),
    ({"destination": "panoply"}, "ZOOMSYNC_PANOPLY_URL is not set"),
])
def test_bad_settings_are_one_line(drivers: None, values: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        resolve(settings(**values))
    message = str(info.value)
    assert expected in message and "\n" not in message
    for secret in ("s3cret", ":b@", ":p@"):
        assert secret not in message


@pytest.mark.parametrize(("name", "values", "extra"), [
    ("snowflake", {"snowflake_url": "snowflake://u:p@acct/DB"}, "snowflake"),
    ("bigquery", {"bigquery_project": "p"}, "bigquery"),
    ("postgres", {"postgres_url": PG}, "postgres"),
    ("redshift", {"redshift_url": "redshift://u:p@h/db"}, "redshift"),
    ("panoply", {"panoply_url": "redshift://u:p@db.panoply.io/db"}, "panoply"),
    ("delta", {"bucket_url": "file:///tmp/lake"}, "delta"),
])
def test_a_missing_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch, name: str,
                                          values: dict[str, Any], extra: str) -> None:
    monkeypatch.setattr(target, "_installed", lambda module: False)
    with pytest.raises(ConfigError, match=rf"pip install 'zoomsync\[{extra}\]'"):
        resolve(settings(destination=name, **values))


def test_postgres_loads_parquet_and_keeps_the_password_out_of_sight() -> None:
    t = resolve(settings(destination="postgres", postgres_url=PG.replace("postgresql", "postgres")))
    assert (t.name, t.loader_file_format, t.label) == ("postgres", "parquet",
                                                       "loader@db.example.com:5433/analytics")
    c = resolved(t)
    assert (c.credentials.host, c.credentials.port, c.credentials.database,
            c.credentials.username, c.credentials.password) == (
        "db.example.com", 5433, "analytics", "loader", "s3cret-pw")
    assert "s3cret" not in t.where
    assert t.destination.capabilities().max_parallel_load_jobs == 8  # connections it holds


def test_filesystem_on_s3_passes_keys_region_and_endpoint() -> None:
    t = resolve(settings(destination="filesystem", bucket_url="s3://bucket/zoom/",
                         aws_access_key_id="AKIA1", aws_secret_access_key="sk",
                         aws_region="eu-west-1", aws_endpoint_url="http://127.0.0.1:9000"))
    assert (t.loader_file_format, t.replaces_tables, t.table_format) == ("parquet", True, None)
    c = resolved(t)
    assert c.bucket_url == "s3://bucket/zoom"
    creds = c.credentials
    assert (creds.aws_access_key_id, creds.aws_secret_access_key, creds.region_name,
            creds.endpoint_url) == ("AKIA1", "sk", "eu-west-1", "http://127.0.0.1:9000")
    # delta-rs gets the endpoint too, not only s3fs: no environment variables needed.
    assert creds.to_object_store_rs_credentials()["endpoint_url"] == "http://127.0.0.1:9000"


def test_a_local_folder_becomes_a_file_url(tmp_path: Path) -> None:
    t = resolve(settings(destination="delta", bucket_url=str(tmp_path / "lake")))
    assert t.table_format == "delta" and not t.replaces_tables
    assert resolved(t).bucket_url == (tmp_path / "lake").as_uri()


def test_azure_connection_string_reaches_adlfs_and_delta_rs() -> None:
    cs = ("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
          "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;")
    t = resolve(settings(destination="filesystem", bucket_url="az://zoom",
                         azure_storage_connection_string=cs))
    c = resolved(t)
    assert c.credentials.azure_storage_account_name == "devstoreaccount1"
    assert c.credentials.azure_storage_account_key == "a2V5"
    assert c.kwargs == {"connection_string": cs}
    assert c.deltalake_storage_options == {
        "azure_storage_endpoint": "http://127.0.0.1:10000/devstoreaccount1", "allow_http": "true"}


def test_snowflake_from_its_url(drivers: None) -> None:
    t = resolve(settings(destination="snowflake", snowflake_url=(
        "snowflake://loader:pw@myorg-acct/ANALYTICS?warehouse=LOADING&role=LOADER")))
    assert (t.loader_file_format, t.label) == ("jsonl", "loader@myorg-acct/ANALYTICS")
    assert t.destination.destination_type.endswith("snowflake")
    c = resolved(t).credentials
    assert (c.host, c.database, c.warehouse, c.role, c.username, c.password) == (
        "myorg-acct", "ANALYTICS", "LOADING", "LOADER", "loader", "pw")


def test_bigquery_from_a_service_account_key(drivers: None, tmp_path: Path) -> None:
    key = tmp_path / "key.json"
    key.write_text(json.dumps({
        "type": "service_account", "project_id": "key-project",
        "private_key": "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n",
        "client_email": "loader@key-project.iam.gserviceaccount.com"}))
    t = resolve(settings(destination="bigquery", google_credentials=key,
                         bigquery_location="EU"))
    assert (t.loader_file_format, t.label) == ("jsonl", "key-project")
    c = resolved(t)
    assert (c.credentials.client_email, c.location, c.project_id) == (
        "loader@key-project.iam.gserviceaccount.com", "EU", "key-project")
    other = resolve(settings(destination="bigquery", google_credentials=key,
                             bigquery_project="data-project"))
    assert resolved(other).project_id == "data-project"  # datasets live in another project


def test_bigquery_refuses_a_key_that_is_not_a_service_account(drivers: None,
                                                              tmp_path: Path) -> None:
    key = tmp_path / "user.json"
    key.write_text(json.dumps({"type": "authorized_user"}))
    with pytest.raises(ConfigError, match="not a service-account key"):
        resolve(settings(destination="bigquery", google_credentials=key))


def test_redshift_inserts_without_a_bucket_and_stages_on_s3_with_one(drivers: None) -> None:
    url = "postgresql://loader:pw@cluster.abc.eu-west-1.redshift.amazonaws.com:5439/dw"
    plain = resolve(settings(destination="redshift", redshift_url=url))
    assert (plain.loader_file_format, plain.staging) == ("insert_values", None)
    assert plain.destination.destination_type.endswith("redshift")
    assert resolved(plain).credentials.host == "cluster.abc.eu-west-1.redshift.amazonaws.com"
    staged = resolve(settings(destination="redshift", redshift_url=url,
                              bucket_url="s3://stage/zoom", redshift_iam_role="arn:aws:iam::1:r"))
    assert staged.loader_file_format == "jsonl"
    assert staged.staging.destination_type.endswith("filesystem")
    assert resolved(staged).staging_iam_role == "arn:aws:iam::1:r"


def test_panoply_is_redshift_under_its_own_name(drivers: None) -> None:
    t = resolve(settings(destination="panoply",
                         panoply_url="postgres://me%40example.com:pw@db.panoply.io:5439/mydb"))
    assert t.destination.destination_type.endswith("redshift")
    assert t.destination.destination_name == "panoply"
    assert (t.loader_file_format, t.label) == ("insert_values",
                                               "me%40example.com@db.panoply.io:5439/mydb")
    c = resolved(t).credentials
    assert (c.host, c.port, c.database, c.username) == ("db.panoply.io", 5439, "mydb",
                                                        "me@example.com")


def test_settings_read_the_clouds_own_variable_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZOOMSYNC_DESTINATION", "filesystem")
    monkeypatch.setenv("ZOOMSYNC_BUCKET_URL", "s3://b")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA2")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "sk2")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    s = settings()
    assert (s.destination, s.bucket_url, s.aws_access_key_id, s.aws_region,
            s.aws_endpoint_url) == ("filesystem", "s3://b", "AKIA2", "ap-south-1",
                                    "http://127.0.0.1:9")
    assert "sk2" not in repr(s)
