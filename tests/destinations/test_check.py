"""`zoomsync check` writes, reads back and drops a probe in each destination we can run;
`zoomsync run --destination` fails in one line on a bad credential; a run into plain files
that could not finish a stream loads nothing rather than emptying a table."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import UNLIMITED
from tests.services import (
    AZURITE_CONNECTION_STRING,
    POSTGRES_URL,
    S3_ENDPOINT,
    S3_KEY,
    S3_REGION,
    S3_SECRET,
    service,
)
from tests.sync.test_run_cli import env_for, zoomsync
from zoomsync.config import Settings
from zoomsync.destinations import resolve
from zoomsync.destinations.probe import check_target
from zoomsync.emulator.app import EmulatorConfig
from zoomsync.emulator.dataset import DatasetConfig
from zoomsync.emulator.server import RunningEmulator


def _s3_bucket() -> dict[str, Any]:
    endpoint = service(S3_ENDPOINT, "moto's S3 server")
    bucket = f"zoomsync-check-{secrets.token_hex(4)}"
    boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=S3_KEY,
                 aws_secret_access_key=S3_SECRET, region_name=S3_REGION
                 ).create_bucket(Bucket=bucket)
    return {"bucket_url": f"s3://{bucket}", "aws_access_key_id": S3_KEY,
            "aws_secret_access_key": S3_SECRET, "aws_region": S3_REGION,
            "aws_endpoint_url": endpoint}


def _azure_container() -> dict[str, Any]:
    from azure.storage.blob import BlobServiceClient

    connection = service(AZURITE_CONNECTION_STRING, "Azurite")
    container = f"zoomsync-check-{secrets.token_hex(4)}"
    BlobServiceClient.from_connection_string(connection).create_container(container)
    return {"bucket_url": f"az://{container}", "azure_storage_connection_string": connection}


@pytest.mark.parametrize("case", ["duckdb", "postgres", "filesystem-local", "filesystem-s3",
                                  "filesystem-azurite", "delta-local", "delta-s3",
                                  "delta-azurite"])
def test_check_writes_reads_back_and_drops(case: str, tmp_path: Path) -> None:
    name, _, where = case.partition("-")
    values: dict[str, Any] = {"destination": name, "duckdb_path": tmp_path / "w.duckdb"}
    if name == "postgres":
        values["postgres_url"] = service(POSTGRES_URL, "PostgreSQL")
    elif where == "local":
        values["bucket_url"] = str(tmp_path / "lake")
    elif where == "s3":
        values.update(_s3_bucket())
    elif where == "azurite":
        values.update(_azure_container())
    t = resolve(Settings(_env_file=None, **values))  # type: ignore[call-arg]
    assert check_target(t) == "ok"
    if where == "local":  # the probe's dataset is gone again
        assert not [p for p in (tmp_path / "lake").glob("zoomsync_check_*") if any(p.iterdir())]


def test_check_names_the_failure_in_one_line() -> None:
    url = service(POSTGRES_URL, "PostgreSQL")
    bad = url.rsplit("/", 1)[0] + "/no_such_database"
    t = resolve(Settings(_env_file=None, destination="postgres",  # type: ignore[call-arg]
                         postgres_url=bad))
    status = check_target(t)
    assert status.startswith("failed: ") and "no_such_database" in status
    assert "\n" not in status


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    config = EmulatorConfig(dataset=DatasetConfig(anchor=datetime.now(UTC), users=5),
                            limits=UNLIMITED, webinar_plan=False)
    with RunningEmulator(config) as running:
        yield running


def test_check_cli_checks_the_chosen_destination(emu: RunningEmulator, tmp_path: Path) -> None:
    url = service(POSTGRES_URL, "PostgreSQL")
    env = env_for(emu, tmp_path, ZOOMSYNC_POSTGRES_URL=url)
    r = zoomsync(env, "check", "--streams", "users", "--destination", "postgres", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    where = url.split("://zoomsync:zoomsync@")[1]
    assert f"destination postgres zoomsync@{where}: ok" in r.stdout
    assert ":zoomsync@" not in r.stdout + r.stderr  # the password stays out


@pytest.mark.parametrize(("env", "expected", "code"), [
    ({"ZOOMSYNC_DESTINATION": "postgres"}, "ZOOMSYNC_POSTGRES_URL is not set", 2),
    ({"ZOOMSYNC_DESTINATION": "nosuch"}, "unknown destination 'nosuch'", 2),
    # A server that does not answer may come back: "run again later", not "fix a setting".
    ({"ZOOMSYNC_DESTINATION": "postgres",
      "ZOOMSYNC_POSTGRES_URL": "postgresql://zoomsync:pw-9f3c@127.0.0.1:1/zoomsync"},
     "cannot reach the postgres destination", 1),
])
def test_run_with_a_bad_destination_is_one_line(emu: RunningEmulator, tmp_path: Path,
                                                env: dict[str, str], expected: str,
                                                code: int) -> None:
    r = zoomsync(env_for(emu, tmp_path, **env), "run", "--streams", "users", cwd=tmp_path)
    assert r.returncode == code, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], r.stderr
    assert "pw-9f3c" not in r.stderr


def test_files_are_not_emptied_by_a_run_that_could_not_finish(emu: RunningEmulator,
                                                              tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    lake = tmp_path / "lake"
    env = env_for(emu, tmp_path, ZOOMSYNC_DESTINATION="filesystem", ZOOMSYNC_BUCKET_URL=str(lake))
    first = zoomsync(env, "run", "--streams", "users", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    before = sorted(p.name for p in (lake / "zoom" / "users").glob("*.parquet"))
    # Without the Webinar add-on the webinars stream stops: replacing the tables of this
    # run would lose rows, so nothing at all is loaded and the run says so.
    second = zoomsync(env, "run", "--streams", "users,webinars", cwd=tmp_path)
    assert second.returncode == 1
    assert "nothing loaded: the filesystem destination rewrites whole tables" in second.stderr
    assert sorted(p.name for p in (lake / "zoom" / "users").glob("*.parquet")) == before
    assert pq.read_table(lake / "zoom" / "users" / before[0]).num_rows == 5
