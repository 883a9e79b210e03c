"""`kill -9` during a DuckDB sync — in extract, in normalize, while the load copies its
files, with some tables merged and others not, and right after a load job committed — then
a rerun, gives exactly the tables of an uninterrupted run; a second uninterrupted run
changes nothing (tests/sync/recovery.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.destinations.places import duckdb_place
from tests.sync import kill, recovery
from zoomsync.emulator.server import RunningEmulator


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    with RunningEmulator(recovery.emulator_config()) as running:
        yield running


@pytest.fixture(scope="module")
def reference(emu: RunningEmulator, tmp_path_factory: pytest.TempPathFactory
              ) -> recovery.Reference:
    return recovery.reference(emu, tmp_path_factory.mktemp("reference"), duckdb_place)


def test_tables_equal_the_truth_and_a_second_run_changes_nothing(
        reference: recovery.Reference) -> None:
    assert recovery.reference_problems(reference) == []


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize("point", ["extract", "normalize", "load-copying", "load-partial",
                                   "after-commit"])
def test_kill_9_then_rerun_equals_an_uninterrupted_run(
        emu: RunningEmulator, reference: recovery.Reference, tmp_path: Path,
        point: str) -> None:
    at = {"extract": reference.mid_extract(), "normalize": kill.NORMALIZE,
          "load-copying": kill.LOAD_COPYING, "load-partial": kill.LOAD_PARTIAL,
          # Between the commit of the meetings' copy to staging and dlt's note of it: the
          # rerun copied them again and DuckDB merged every meeting twice, until
          # destinations/resume.py.
          "after-commit": kill.after_commit("meetings")}[point]
    assert recovery.kill_and_rerun(emu, tmp_path, duckdb_place, at, reference.first) == []
