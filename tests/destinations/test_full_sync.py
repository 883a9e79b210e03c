"""A full sync of the emulator's default dataset into each destination we can run here —
PostgreSQL, Parquet files and Delta tables on local disk and on moto's S3 — equals the
ground truth table by table, and a second run with the same data changes nothing."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import UNLIMITED
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
from tests.sync.compare import PAIRS, comparable, differences, truth_rows
from zoomsync.config import Settings
from zoomsync.emulator.app import EmulatorConfig
from zoomsync.emulator.dataset import DatasetConfig
from zoomsync.emulator.oauth import DEFAULT_CREDENTIALS as CREDS
from zoomsync.emulator.server import RunningEmulator
from zoomsync.sync.report import RunReport
from zoomsync.sync.runner import run
from zoomsync.zoom import Pacer, ZoomClient, ZoomCredentials

FAST = {"LIGHT": 2000, "MEDIUM": 2000, "HEAVY": 2000, "RESOURCE_INTENSIVE": 2000}


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


@dataclass
class Loaded:
    emulator: RunningEmulator
    reports: tuple[RunReport, RunReport]
    counts: tuple[dict[str, int], dict[str, int]]  # rows per table after each run
    reader: readers.Reader


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    # A frozen clock: the account cannot change between the two runs (no meeting ends).
    config = EmulatorConfig(dataset=DatasetConfig(anchor=datetime.now(UTC).replace(microsecond=0)),
                            plan="business", limits=UNLIMITED, daily_cap=10_000_000,
                            frozen_clock=True)
    with RunningEmulator(config) as emu:
        yield emu


def sync(emu: RunningEmulator, settings: Settings) -> RunReport:
    client = ZoomClient(ZoomCredentials(CREDS.account_id, CREDS.client_id, CREDS.client_secret),
                        api_url=emu.api_url, oauth_url=emu.oauth_url,
                        pacer=Pacer(plan="business", budget=1.0, limits=FAST),
                        backoff=0.05, max_retries=8)
    with client:
        return run(settings, client=client)


@pytest.fixture(scope="module", params=sorted(CASES))
def loaded(request: pytest.FixtureRequest, emulator: RunningEmulator,
           tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    tmp = tmp_path_factory.mktemp(request.param)
    dataset = f"zoom_{secrets.token_hex(3)}"
    place = CASES[request.param](tmp, dataset)
    settings = Settings(account_id=CREDS.account_id, client_id=CREDS.client_id,
                        client_secret=CREDS.client_secret, api_url=emulator.api_url,
                        oauth_url=emulator.oauth_url, dataset_name=dataset,
                        pipelines_dir=tmp / "pipelines", plan="business", budget=1.0,
                        **place.settings)
    reports, counts = [], []
    for _ in range(2):
        reports.append(sync(emulator, settings))
        counts.append({t: len(place.reader.rows(t)) for t in place.reader.tables()})
    return Loaded(emulator, (reports[0], reports[1]), (counts[0], counts[1]), place.reader)


@pytest.mark.parametrize("table", sorted(PAIRS))
def test_table_equals_ground_truth(loaded: Loaded, table: str) -> None:
    truth_table, key = PAIRS[table]
    expected = truth_rows(loaded.emulator.emulator, truth_table, key)
    if table == "past_webinars":  # Zoom leaves out webinars with fewer than two people
        expected = [r for r in expected if r["participant_segments"] >= 2]
    actual = comparable(loaded.reader.rows(table))
    assert expected, f"the truth has no {truth_table} rows: the test would prove nothing"
    assert differences(expected, actual, key) == []


def test_second_run_changes_nothing(loaded: Loaded) -> None:
    first, second = loaded.reports
    assert first.ok and second.ok, first.reasons() + second.reasons()
    before, after = loaded.counts
    assert set(PAIRS) <= set(before)
    assert any("__" in t for t in before)  # child tables were loaded and compared too
    assert before == after
    assert second.rows == first.rows  # the second run did load everything again
    assert first.rows["meeting_participants"] == before["meeting_participants"] > 1000


def test_child_rows_point_to_their_parents(loaded: Loaded) -> None:
    recordings = {r["_dlt_id"]: r["uuid"] for r in loaded.reader.rows("recordings")}
    files = loaded.reader.rows("recordings__recording_files")
    assert len(files) > 20
    assert all(f["_dlt_parent_id"] in recordings for f in files)
    expected = {(r["recording_uuid"], r["id"])
                for r in truth_rows(loaded.emulator.emulator, "recording_files", ())}
    assert {(recordings[f["_dlt_parent_id"]], f["id"]) for f in files} == expected
