"""Drive an emulator in-process through its ASGI app (token from its own OAuth endpoint), the
config the tests start from, and the dataset-side helpers the report and dashboard tests
share."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, timedelta
from typing import Any

import httpx

from tests.conftest import ANCHOR, UNLIMITED
from zoomsync.emulator.app import Emulator, EmulatorConfig
from zoomsync.emulator.dataset import Dataset, DatasetConfig, Instance
from zoomsync.emulator.oauth import DEFAULT_CREDENTIALS

BASE = "http://emu"
TODAY = ANCHOR.date()
# Consecutive 30-day windows ending today, newest first; the emulator allows up to 31 days.
WINDOWS = [(TODAY - timedelta(days=30 * k + 29), TODAY - timedelta(days=30 * k)) for k in range(6)]


def config(**overrides: Any) -> EmulatorConfig:
    """The default dataset on the Business plan, limits out of the way, clock frozen at ANCHOR."""
    base: dict[str, Any] = {"dataset": DatasetConfig(anchor=ANCHOR), "plan": "business",
                            "limits": UNLIMITED, "daily_cap": 10_000_000, "frozen_clock": True}
    return EmulatorConfig(**{**base, **overrides})


def ended(ds: Dataset) -> Iterator[Instance]:
    return ds.ended_instances(ANCHOR)


def in_window(inst: Instance, start: date, end: date, *, by_end: bool = False) -> bool:
    when = inst.end if by_end else inst.start
    assert when is not None
    return start <= when.astimezone(UTC).date() <= end


def window_params(start: date, end: date) -> dict[str, str]:
    return {"from": start.isoformat(), "to": end.isoformat()}


def asgi_client(emulator: Emulator) -> httpx.AsyncClient:
    """An httpx client whose requests go straight to the emulator's ASGI app."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator.app), base_url=BASE)


async def fetch_token(client: httpx.AsyncClient) -> str:
    """An access token from the emulator's own OAuth endpoint, for the default credentials."""
    creds = DEFAULT_CREDENTIALS
    r = await client.post("/oauth/token", auth=(creds.client_id, creds.client_secret),
                          data={"grant_type": "account_credentials",
                                "account_id": creds.account_id})
    r.raise_for_status()
    return str(r.json()["access_token"])


class AsgiApi:
    """A synchronous facade: each call runs one request on the app under `asyncio.run`."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.emulator = Emulator(config)
        self.token = asyncio.run(self._token())

    async def _token(self) -> str:
        async with asgi_client(self.emulator) as client:
            return await fetch_token(client)

    async def _get(self, path: str, params: dict[str, Any]) -> httpx.Response:
        async with asgi_client(self.emulator) as client:
            r = await client.get("/v2" + path, params=params,
                                 headers={"Authorization": f"Bearer {self.token}"})
            await r.aread()
            return r

    def get(self, path: str, **params: Any) -> httpx.Response:
        """GET `path` (below /v2, already percent-encoded) with query `params`."""
        return asyncio.run(self._get(path, params))

    def ok(self, path: str, **params: Any) -> dict[str, Any]:
        r = self.get(path, **params)
        assert r.status_code == 200, f"{path}: {r.status_code} {r.text}"
        body: dict[str, Any] = r.json()
        return body

    def error(self, path: str, **params: Any) -> tuple[int, int, str]:
        r = self.get(path, **params)
        assert r.status_code >= 400, f"{path}: expected an error, got {r.status_code} {r.text}"
        body = r.json()
        return r.status_code, body["code"], body["message"]

    def all_pages(self, path: str, key: str, **params: Any) -> list[dict[str, Any]]:
        """Follow `next_page_token` to the end; every page must answer 200."""
        rows: list[dict[str, Any]] = []
        token = ""
        while True:
            body = self.ok(path, **({**params, "next_page_token": token} if token else params))
            rows.extend(body[key])
            token = body["next_page_token"]
            if not token:
                return rows
