"""Fixtures the Synapse tests share: one Zoom emulator and one strict pool stand-in for the
whole folder (each test loads into a dataset of its own), and the rows of an uninterrupted
sync, which every fault and crash test must end with."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.conftest import UNLIMITED
from tests.destinations.synapse.standin import PoolStandIn
from tests.destinations.synapse.syncs import SMALL, Pool, settings_for, sync
from tests.services import AZURITE_BLOB_URL, service
from tests.sync import contents
from tests.sync.compare import PAIRS, comparable, differences, truth_rows
from zoomsync.destinations.synapse import target as synapse_target
from zoomsync.emulator.app import EmulatorConfig
from zoomsync.emulator.dataset import DatasetConfig
from zoomsync.emulator.server import RunningEmulator


@pytest.fixture(scope="package")
def emulator() -> Iterator[RunningEmulator]:
    config = EmulatorConfig(dataset=DatasetConfig(anchor=datetime.now(UTC).replace(microsecond=0)),
                            plan="business", limits=UNLIMITED, daily_cap=10_000_000,
                            frozen_clock=True)
    with RunningEmulator(config) as emu:
        yield emu


@pytest.fixture(scope="package")
def standin() -> Iterator[PoolStandIn]:
    """The pool the `standin` driver (ZOOMSYNC_SYNAPSE_DRIVER=standin) connects to."""
    pool = PoolStandIn(service(AZURITE_BLOB_URL, "Azurite"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(synapse_target.CONNECTORS, "standin", pool.connector)
        yield pool


@pytest.fixture(scope="package")
def clean(emulator: RunningEmulator, standin: PoolStandIn,
          tmp_path_factory: pytest.TempPathFactory) -> contents.Contents:
    """Every row (child tables included) of an uninterrupted sync of SMALL, whose tables
    equal the emulator's ground truth."""
    settings = settings_for(emulator, tmp_path_factory.mktemp("clean"), "zoom_clean")
    report = sync(emulator, settings, SMALL)
    assert report.ok, report.reasons()
    pool = Pool(standin, "zoom_clean")
    for table in set(SMALL) & set(PAIRS):
        truth_table, key = PAIRS[table]
        expected = truth_rows(emulator.emulator, truth_table, key)
        assert differences(expected, comparable(pool.rows(table)), key) == [], table
    return contents.contents(pool)
