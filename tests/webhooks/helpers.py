"""Signed requests and a served receiver for the webhook tests."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from tests.emulator.webhook_receiver import expected_signature
from zoomsync.emulator.oauth import DEFAULT_CREDENTIALS as CREDS
from zoomsync.emulator.server import RunningEmulator
from zoomsync.webhooks.connections import ConnectionLimits
from zoomsync.webhooks.receiver import ReceiverConfig
from zoomsync.webhooks.server import RunningReceiver

SECRET = "whsec-test-token"


def event(name: str = "meeting.updated", **obj: Any) -> dict[str, Any]:
    return {"event": name, "event_ts": int(time.time() * 1000),
            "payload": {"account_id": "acct", "object": {"id": 1, **obj}}}


def signed(body: bytes, *, secret: str = SECRET, at: float | None = None) -> dict[str, str]:
    """Headers Zoom would send with `body` (signature per Zoom's docs, written out)."""
    timestamp = str(int(time.time() if at is None else at))
    return {"content-type": "application/json", "x-zm-request-timestamp": timestamp,
            "x-zm-signature": expected_signature(secret, timestamp, body)}


def encode(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


@contextmanager
def receiver(spool: Path, *, limits: ConnectionLimits | None = None,
             **config: Any) -> Iterator[RunningReceiver]:
    with RunningReceiver(ReceiverConfig(secret_token=SecretStr(SECRET), **config), spool,
                         limits=limits) as r:
        yield r


def env_for(emu: RunningEmulator, tmp: Path, **extra: str) -> dict[str, str]:
    """A `zoomsync` subprocess's environment: the emulator's credentials, files in `tmp`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZOOM_", "ZOOMSYNC_"))}
    env.update(HOME=str(tmp), ZOOM_ACCOUNT_ID=CREDS.account_id, ZOOM_CLIENT_ID=CREDS.client_id,
               ZOOM_CLIENT_SECRET=CREDS.client_secret, ZOOM_API_URL=emu.api_url,
               ZOOM_OAUTH_URL=emu.oauth_url, ZOOMSYNC_PLAN="business",
               ZOOMSYNC_WEBHOOK_SECRET_TOKEN=SECRET,
               ZOOMSYNC_WEBHOOK_SPOOL=str(tmp / "spool.sqlite"),
               ZOOMSYNC_DUCKDB_PATH=str(tmp / "warehouse.duckdb"),
               ZOOMSYNC_PIPELINES_DIR=str(tmp / "pipelines"))
    env.update(extra)
    return env
