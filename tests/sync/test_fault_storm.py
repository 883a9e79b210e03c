"""The fault storm of issue 13, against the real `zoomsync run` process: 20% 5xx, 15% 429,
5% connection resets, 5% answers 2 s late, a token revoked before 1% of calls, and no
rate-limit headers at all. The run completes, and every table equals a clean run's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.conftest import small_account
from tests.sync.compare import warehouse
from tests.sync.test_misbehaving_lists import sync
from zoomsync.emulator.faults import FaultConfig
from zoomsync.emulator.server import RunningEmulator

STORM = FaultConfig(error_5xx=0.20, rate_429=0.15, reset=0.05, slow=0.05, slow_ms=2000,
                    revoke_token=0.01, omit_ratelimit_headers=True)


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    with small_account(users=5) as running:
        yield running


def tables(db: Path) -> dict[str, list[str]]:
    """Every table of the dataset, child tables too, as sorted rows without dlt's columns."""
    with duckdb.connect(str(db), read_only=True) as con:
        names = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'zoom' "
            "and table_name not like '\\_dlt%' escape '\\'").fetchall()]
        return {n: sorted(json.dumps(r, sort_keys=True, default=str)
                          for r in warehouse(con, "zoom", n)) for n in names}


def test_a_fault_storm_run_equals_a_clean_run(emu: RunningEmulator, tmp_path: Path) -> None:
    (tmp_path / "clean").mkdir()
    (tmp_path / "storm").mkdir()
    # Account lists, per-user lists, per-instance lists and date windows; a call may fail up
    # to 8 times before its partition does.
    clean = sync(emu, tmp_path / "clean", tmp_path / "clean.duckdb")
    assert clean.code == 0, clean.stderr[-3000:]
    emu.emulator.faults.configure(STORM, seed=13)
    before = emu.emulator.faults.counters()
    try:
        storm = sync(emu, tmp_path / "storm", tmp_path / "storm.duckdb", retries="8",
                     backoff="0.1")
    finally:
        emu.emulator.faults.configure(FaultConfig())
    assert storm.code == 0 and storm.report["ok"], storm.stderr[-3000:]
    assert "Traceback" not in storm.stderr
    counts: dict[str, Any] = {k: v - before[k] for k, v in emu.emulator.faults.counters().items()}
    # The storm really blew: every kind of fault.
    assert counts["requests"] > 100, counts
    for name in ("error_5xx", "rate_429", "reset", "slow", "revoke_token"):
        assert counts[name] > 0, counts

    expected, got = tables(tmp_path / "clean.duckdb"), tables(tmp_path / "storm.duckdb")
    assert len(expected) >= 6 and sum(map(len, expected.values())) > 300
    assert got.keys() == expected.keys()
    for name, rows in expected.items():
        assert got[name] == rows, name
