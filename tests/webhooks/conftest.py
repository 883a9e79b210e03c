"""An emulator that posts its webhook events to a served receiver, a DuckDB warehouse filled
by a full sync, and an applier draining the spool in a background thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from pydantic import SecretStr

from tests.conftest import UNLIMITED
from tests.webhooks.helpers import SECRET
from zoomsync.config import Settings
from zoomsync.emulator.app import EmulatorConfig
from zoomsync.emulator.dataset import DatasetConfig
from zoomsync.emulator.oauth import DEFAULT_CREDENTIALS as CREDS
from zoomsync.emulator.server import RunningEmulator
from zoomsync.webhooks.apply import Applier
from zoomsync.webhooks.receiver import ReceiverConfig
from zoomsync.webhooks.server import RunningReceiver
from zoomsync.zoom import Pacer, ZoomClient, ZoomCredentials

FAST = {"LIGHT": 2000, "MEDIUM": 2000, "HEAVY": 2000, "RESOURCE_INTENSIVE": 2000}


@dataclass
class Live:
    """Everything running for one end-to-end test."""

    emulator: RunningEmulator
    receiver: RunningReceiver
    applier: Applier
    admin: httpx.Client
    settings: Settings
    stop: threading.Event
    thread: threading.Thread

    def drain(self, timeout: float = 30.0) -> float:
        """Flush the sender, then wait until the applier has emptied the spool; seconds."""
        started = time.monotonic()
        assert self.admin.post("/webhooks/flush").status_code == 200
        deadline = started + timeout
        while self.receiver.spool.stats()["pending"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.receiver.spool.stats()["pending"] == 0, "the applier did not catch up"
        return time.monotonic() - started

    def halt(self) -> None:
        self.stop.set()
        self.thread.join(30)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        # The applier's thread is the only writer; read between its batches.
        with duckdb.connect(str(self.settings.duckdb_path)) as db:
            return db.execute(sql).fetchall()


def client_for(emu: RunningEmulator) -> ZoomClient:
    return ZoomClient(ZoomCredentials(CREDS.account_id, CREDS.client_id, CREDS.client_secret),
                      api_url=emu.api_url, oauth_url=emu.oauth_url,
                      pacer=Pacer(plan="business", budget=1.0, limits=FAST), backoff=0.05)


def settings_for(emu: RunningEmulator, tmp: Path) -> Settings:
    return Settings(account_id=CREDS.account_id, client_id=CREDS.client_id,
                    client_secret=CREDS.client_secret, api_url=emu.api_url,
                    oauth_url=emu.oauth_url, duckdb_path=tmp / "warehouse.duckdb",
                    pipelines_dir=tmp / "pipelines", plan="business", budget=1.0,
                    webhook_secret_token=SecretStr(SECRET), webhook_spool=tmp / "spool.sqlite")


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    # Signed timestamps must be fresh: the emulator's clock starts at the real now.
    now = datetime.now(UTC).replace(microsecond=0)
    wake, stop = threading.Event(), threading.Event()
    config = ReceiverConfig(secret_token=SecretStr(SECRET))
    with RunningReceiver(config, tmp_path / "spool.sqlite", on_spooled=wake.set) as receiver:
        emu_config = EmulatorConfig(
            dataset=DatasetConfig(anchor=now, users=4, meetings_per_user=5, months=2,
                                  large_meetings=0),
            plan="business", limits=UNLIMITED, daily_cap=10_000_000,
            webhook_url=receiver.url, webhook_secret=SECRET)
        with RunningEmulator(emu_config) as emu, client_for(emu) as client, httpx.Client(
                base_url=emu.base_url + "/_emulator", timeout=30) as admin:
            settings = settings_for(emu, tmp_path)
            applier = Applier(settings, receiver.spool, client=client)
            thread = threading.Thread(target=applier.run, args=(stop, wake),
                                      kwargs={"idle": 0.2, "linger": 0.1}, daemon=True)
            thread.start()
            state = Live(emu, receiver, applier, admin, settings, stop, thread)
            try:
                yield state
            finally:
                state.halt()
                applier.close()
