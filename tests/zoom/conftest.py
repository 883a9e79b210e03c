"""Fixtures for the Zoom client: a fresh emulator per test and a client pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from tests.conftest import ANCHOR, UNLIMITED
from zoomsync.emulator.app import EmulatorConfig
from zoomsync.emulator.dataset import DatasetConfig
from zoomsync.emulator.oauth import DEFAULT_CREDENTIALS
from zoomsync.emulator.server import RunningEmulator
from zoomsync.zoom import Pacer, ZoomClient, ZoomCredentials

CREDS = ZoomCredentials(DEFAULT_CREDENTIALS.account_id, DEFAULT_CREDENTIALS.client_id,
                        DEFAULT_CREDENTIALS.client_secret)
BASE = EmulatorConfig(dataset=DatasetConfig(anchor=ANCHOR), plan="business", limits=UNLIMITED,
                      daily_cap=10_000_000)


@pytest.fixture
def start_emulator() -> Iterator[Callable[..., RunningEmulator]]:
    """Start an emulator (stopped after the test); keywords override `BASE`'s fields."""
    running: list[RunningEmulator] = []

    def start(**overrides: Any) -> RunningEmulator:
        emu = RunningEmulator(replace(BASE, **overrides)).start()
        running.append(emu)
        return emu

    yield start
    for emu in running:
        emu.stop()


@pytest.fixture
def emu(start_emulator: Callable[..., RunningEmulator]) -> RunningEmulator:
    """A fresh emulator with rate limits out of the way; tests may mutate it."""
    return start_emulator()


def fast_pacer(emu: RunningEmulator, **kwargs: Any) -> Pacer:
    """A pacer that does not slow tests down, on the emulator's clock for dates."""
    kwargs.setdefault("limits", UNLIMITED)
    return Pacer("business", 1.0, wall=emu.emulator.clock.timestamp, **kwargs)


def client_for(emu: RunningEmulator, **kwargs: Any) -> ZoomClient:
    """A ZoomClient for `emu`, with short backoff; keywords go to ZoomClient."""
    kwargs.setdefault("pacer", fast_pacer(emu))
    kwargs.setdefault("backoff", 0.01)
    return ZoomClient(kwargs.pop("credentials", CREDS), api_url=emu.api_url,
                      oauth_url=emu.oauth_url, **kwargs)
