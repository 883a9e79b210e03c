"""`kill -9` during a load into PostgreSQL and into Delta tables (local disk, moto's S3) —
with some tables merged and others not, and right after a job committed — then a rerun,
gives exactly the tables of an uninterrupted run; a second run of the same data changes
nothing, every row of every table compared (tests/sync/recovery.py; DuckDB, with kills
in extract, normalize and the copy to staging too, is in tests/sync/test_crash_recovery.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.destinations.places import CASES
from tests.sync import kill, recovery
from zoomsync.emulator.server import RunningEmulator

# The kill points per warehouse, few for the suite's time. Extract, normalize and the copies
# to staging are the same steps on DuckDB: its test covers them. `after-commit` kills the
# run between a job's commit and dlt's note of it (kill.py): on PostgreSQL every rerun then
# failed, on a unique `_dlt_id`, until zoomsync/destinations/resume.py. Delta merges by key and
# rewrites files, so a replayed job is harmless there; its point is a partly applied load.
POINTS = [
    ("postgres", kill.LOAD_PARTIAL),
    ("postgres", kill.after_commit("recordings__recording_files")),
    ("postgres", kill.after_commit("_dlt_pipeline_state")),
    ("delta-local", kill.LOAD_PARTIAL),
    ("delta-s3", kill.LOAD_PARTIAL),
]


@dataclass
class Case:
    name: str
    reference: recovery.Reference


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    with RunningEmulator(recovery.emulator_config()) as running:
        yield running


@pytest.fixture(scope="module")
def references() -> dict[str, recovery.Reference]:
    return {}  # one per warehouse, made on first use, shared by the tests below


@pytest.fixture
def case(request: pytest.FixtureRequest, emu: RunningEmulator,
         references: dict[str, recovery.Reference],
         tmp_path_factory: pytest.TempPathFactory) -> Case:
    # Function-scoped over a module-scoped cache: pytest would otherwise make a module
    # fixture again each time the two tests' parameters take turns.
    name = request.param
    if name not in references:
        home = tmp_path_factory.mktemp(f"reference-{name}")
        references[name] = recovery.reference(emu, home, CASES[name])
    return Case(name, references[name])


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", ["postgres", "delta-local", "delta-s3"], indirect=True)
def test_tables_equal_the_truth_and_a_second_run_changes_nothing(case: Case) -> None:
    assert recovery.reference_problems(case.reference) == []


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize(("case", "point"), POINTS, indirect=["case"],
                         ids=[f"{w}-{p.name}" for w, p in POINTS])
def test_kill_9_then_rerun_equals_an_uninterrupted_run(
        emu: RunningEmulator, case: Case, tmp_path: Path, point: kill.KillPoint) -> None:
    problems = recovery.kill_and_rerun(emu, tmp_path, CASES[case.name], point,
                                       case.reference.first)
    assert problems == []
