"""Shared fixtures: an emulator served on 127.0.0.1 and an authenticated client for it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from zoomsync.emulator.app import EmulatorConfig
from zoomsync.emulator.dataset import DatasetConfig
from zoomsync.emulator.oauth import DEFAULT_CREDENTIALS
from zoomsync.emulator.server import RunningEmulator

# The suite, like the `zoomsync` command, sends nothing anywhere: no dlt telemetry.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

ANCHOR = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
# Limits far above what a test sends, for tests that are not about rate limiting.
UNLIMITED = {"LIGHT": 100_000, "MEDIUM": 100_000, "HEAVY": 100_000, "RESOURCE_INTENSIVE": 100_000}


def small_account(users: int = 5, **config: object) -> RunningEmulator:
    """An unstarted emulator of a small account (one meeting per user, none over 300 people)
    on the Business plan with limits out of the way: what the CLI-level tests sync.

        with small_account(users=4, webhook_secret=SECRET) as emu: ...
    """
    dataset = DatasetConfig(anchor=datetime.now(UTC).replace(microsecond=0), users=users,
                            meetings_per_user=1, large_meetings=0)
    return RunningEmulator(EmulatorConfig(dataset=dataset, plan="business", limits=UNLIMITED,
                                          daily_cap=10_000_000, **config))  # type: ignore[arg-type]


def token_for(base_url: str) -> str:
    creds = DEFAULT_CREDENTIALS
    r = httpx.post(f"{base_url}/oauth/token", auth=(creds.client_id, creds.client_secret),
                   data={"grant_type": "account_credentials", "account_id": creds.account_id})
    r.raise_for_status()
    return r.json()["access_token"]


def api_client(emu: RunningEmulator) -> httpx.Client:
    return httpx.Client(base_url=emu.api_url, timeout=30,
                        headers={"Authorization": f"Bearer {token_for(emu.base_url)}"})


@pytest.fixture(scope="session")
def emulator() -> Iterator[RunningEmulator]:
    """The default dataset on the Business plan with limits out of the way."""
    config = EmulatorConfig(dataset=DatasetConfig(anchor=ANCHOR), plan="business",
                            limits=UNLIMITED, daily_cap=10_000_000)
    with RunningEmulator(config) as emu:
        yield emu


@pytest.fixture(scope="session")
def api(emulator: RunningEmulator) -> Iterator[httpx.Client]:
    with api_client(emulator) as client:
        yield client
