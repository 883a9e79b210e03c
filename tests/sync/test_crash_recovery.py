"""`kill -9` during a sync, then a rerun, gives exactly the tables of an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from tests.conftest import UNLIMITED
from tests.sync.compare import PAIRS, differences, warehouse
from tests.sync.test_run_cli import env_for
from zoomsync.emulator.app import EmulatorConfig
from zoomsync.emulator.dataset import DatasetConfig
from zoomsync.emulator.server import RunningEmulator

STREAMS = ("users,meetings,past_meetings,meeting_participants,meeting_poll_results,"
           "recordings,webinar_registrants")
TABLES = [t for t in PAIRS if t in STREAMS.split(",")]


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    # The clock is frozen so that every run, killed or not, sees the very same account.
    config = EmulatorConfig(dataset=DatasetConfig(anchor=datetime.now(UTC).replace(
        microsecond=0)), plan="business", limits=UNLIMITED, daily_cap=10_000_000,
        latency_ms=5, frozen_clock=True)
    with RunningEmulator(config) as running:
        yield running


def start(emu: RunningEmulator, home: Path, db: Path) -> subprocess.Popen[str]:
    env = env_for(emu, home, ZOOMSYNC_PIPELINES_DIR=str(home / "pipelines"),
                  ZOOMSYNC_DUCKDB_PATH=str(db))
    return subprocess.Popen([sys.executable, "-m", "zoomsync", "run", "--streams", STREAMS],
                            env=env, cwd=home, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def tables(db: Path) -> dict[str, list[dict]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {t: warehouse(con, "zoom", t) for t in TABLES}


@pytest.fixture(scope="module")
def reference(emu: RunningEmulator, tmp_path_factory: pytest.TempPathFactory
              ) -> tuple[dict[str, list[dict]], float]:
    home = tmp_path_factory.mktemp("reference")
    began = time.monotonic()
    proc = start(emu, home, home / "w.duckdb")
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return tables(home / "w.duckdb"), time.monotonic() - began


@pytest.mark.parametrize("fraction", [0.15, 0.5, 0.8, 0.97])
def test_kill_9_then_rerun_equals_an_uninterrupted_run(
        emu: RunningEmulator, reference: tuple[dict[str, list[dict]], float], tmp_path: Path,
        fraction: float) -> None:
    expected, took = reference
    db = tmp_path / "w.duckdb"
    proc = start(emu, tmp_path, db)
    time.sleep(took * fraction)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    again = start(emu, tmp_path, db)
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    actual = tables(db)
    for table in TABLES:
        key = PAIRS[table][1]
        assert differences(expected[table], actual[table], key) == [], table
        assert len(actual[table]) == len(expected[table]), table
