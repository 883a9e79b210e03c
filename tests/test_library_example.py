"""The README's library example, run as written (its code block, in a child process, against
the emulator), gives the tables `zoomsync run` gives for the same streams: while Zoom
repeats records across pages, and after a `kill -9` between a copy's commit and dlt's note
of it, followed by a rerun of the example."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from tests.conftest import small_account
from tests.destinations import readers
from tests.sync.compare import PAIRS, differences, truth_rows, warehouse
from tests.sync.contents import contents
from tests.sync.contents import differences as content_differences
from tests.sync.kill import KILL_AFTER_COMMIT
from tests.sync.test_run_cli import env_for, zoomsync
from zoomsync.emulator.faults import FaultConfig, FaultTarget
from zoomsync.emulator.server import RunningEmulator

ROOT = Path(__file__).resolve().parents[1]
STREAMS = ("users", "past_meetings")  # the example's


def example() -> str:
    """The README's library example, as written."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("```python\n", text.index("Use it as a library")) + len("```python\n")
    return text[start:text.index("```", start)]


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    with small_account(users=4, frozen_clock=True) as running:
        # A list read while records are added at its head: records again on later pages.
        running.emulator.faults.configure(FaultConfig(targets=(
            FaultTarget("/users", "repeat_rows"), FaultTarget("/users/*/meetings", "repeat_rows"),
            FaultTarget("/past_meetings/*/instances", "repeat_rows"))))
        yield running


@pytest.fixture(scope="module")
def by_cli(emu: RunningEmulator, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`zoomsync run` of the example's streams: its DuckDB file, checked against the truth."""
    home = tmp_path_factory.mktemp("cli")
    db = home / "cli.duckdb"
    ran = zoomsync(env_for(emu, home), "run", "--streams", ",".join(STREAMS),
                   "--duckdb-path", str(db), cwd=home)
    assert ran.returncode == 0, ran.stderr
    assert emu.emulator.faults.counters()["targeted"] > 0  # records were repeated
    with duckdb.connect(str(db), read_only=True) as con:
        for stream in STREAMS:
            table, key = PAIRS[stream]
            assert differences(truth_rows(emu.emulator, table, key),
                               warehouse(con, "zoom", table), key) == [], table
    return db


def run_example(emu: RunningEmulator, home: Path, *, kill_table: str | None = None
                ) -> subprocess.CompletedProcess[str]:
    code = (KILL_AFTER_COMMIT if kill_table else "") + example()  # kill.py's prelude
    # dlt keeps the example's pipeline in its data folder (/var/dlt as root): one per test.
    env = env_for(emu, home, DLT_DATA_DIR=str(home / "dlt"),
                  **({"ZOOMSYNC_TEST_KILL_TABLE": kill_table} if kill_table else {}))
    return subprocess.run([sys.executable, "-c", code], cwd=home, env=env, capture_output=True,
                          text=True, timeout=300)


def same_tables(example_db: Path, cli_db: Path) -> list[str]:
    ours = contents(readers.duckdb(str(example_db), "zoom"))
    theirs = contents(readers.duckdb(str(cli_db), "zoom"))
    assert set(theirs) >= set(STREAMS) and any("__" in t for t in theirs)
    return content_differences(theirs, ours)


def test_the_example_gives_the_tables_of_zoomsync_run(
        emu: RunningEmulator, by_cli: Path, tmp_path: Path) -> None:
    ran = run_example(emu, tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert same_tables(tmp_path / "zoomsync.duckdb", by_cli) == []


def test_killed_after_a_commit_then_run_again_gives_them_too(
        emu: RunningEmulator, by_cli: Path, tmp_path: Path) -> None:
    """`users` has child tables: a root row copied to staging twice would merge twice."""
    killed = run_example(emu, tmp_path, kill_table="users")
    assert killed.returncode == -9, killed.stderr
    again = run_example(emu, tmp_path)  # dlt's run() loads the pending package first
    assert again.returncode == 0, again.stderr
    assert same_tables(tmp_path / "zoomsync.duckdb", by_cli) == []
