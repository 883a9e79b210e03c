"""The crash-recovery scenario the DuckDB, PostgreSQL and Delta tests share.

An uninterrupted `zoomsync run` is the reference, and a second one with `--full-refresh`
(reading and merging the very same data again) must change no row. Then for each kill
point a fresh dataset gets a run killed there (`kill.py`), the tables it left are checked
against what the kill point means (nothing applied yet, or some tables merged and others
not), and a rerun must give exactly the reference's rows, every table.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tests.conftest import UNLIMITED
from tests.destinations.places import Place, environment
from tests.sync import kill
from tests.sync.compare import PAIRS, comparable, differences, truth_rows
from tests.sync.contents import Contents, contents, filled
from tests.sync.contents import differences as content_differences
from tests.sync.test_run_cli import env_for
from zoomsync.emulator.app import EmulatorConfig
from zoomsync.emulator.dataset import DatasetConfig
from zoomsync.emulator.server import RunningEmulator

# Root tables with child tables (poll answers, recording files) and a parent-keyed stream.
STREAMS = ("users,meetings,past_meetings,meeting_participants,meeting_poll_results,"
           "recordings,webinar_registrants")
TABLES = [t for t in PAIRS if t in STREAMS.split(",")]
RUN_TIMEOUT_S = 120
ATTEMPTS = 3  # runs that may pass a kill point unseen before a test fails

PlaceFactory = Callable[[Path, str], Place]


def emulator_config() -> EmulatorConfig:
    """A small account (a run takes ~3 s) whose clock is frozen: every run, killed or
    not, sees the very same data."""
    dataset = DatasetConfig(anchor=datetime.now(UTC).replace(microsecond=0), users=4,
                            meetings_per_user=1, months=2)
    return EmulatorConfig(dataset=dataset, plan="business", limits=UNLIMITED,
                          daily_cap=10_000_000, latency_ms=5, frozen_clock=True)


def sync(emu: RunningEmulator, home: Path, place: Place, dataset: str,
         kill_at: kill.KillPoint | None = None, *options: str) -> kill.Outcome:
    pipelines = home / "pipelines"
    env = env_for(emu, home, ZOOMSYNC_PIPELINES_DIR=str(pipelines),
                  ZOOMSYNC_DATASET_NAME=dataset, **environment(place))
    return kill.run(env, home, STREAMS, pipelines=pipelines, kill_at=kill_at,
                    timeout=RUN_TIMEOUT_S, options=options)


@dataclass
class Reference:
    """An uninterrupted run's tables, the second run's, and when its steps began."""

    first: Contents
    second: Contents
    first_seen: dict[str, float]
    truth_problems: dict[str, list[str]]
    # Every root row was written again by the second run (its load id), not left alone.
    rewritten: bool
    took: float  # the first run's wall time, s

    def mid_extract(self) -> kill.KillPoint:
        """Halfway between extract's start and its end in the reference run."""
        began = self.first_seen["extracting"]
        ended = next(self.first_seen[s] for s in kill.STEPS[1:] if s in self.first_seen)
        return kill.mid_extract(began + (ended - began) / 2)


def _dataset() -> str:
    """A dataset of its own for every scenario: PostgreSQL schemas, bucket folders."""
    return f"zoom_{secrets.token_hex(3)}"


def reference(emu: RunningEmulator, home: Path, make: PlaceFactory) -> Reference:
    dataset = _dataset()
    place = make(home, dataset)
    first = sync(emu, home, place, dataset)
    assert first.returncode == 0, first.stderr
    before = contents(place.reader)
    loads = _load_ids(place)
    # Read everything again (runs after the first read only what changed): the same data
    # merged a second time must change nothing.
    second = sync(emu, home, place, dataset, None, "--full-refresh", STREAMS)
    assert second.returncode == 0, second.stderr
    truth = {}
    for table in TABLES:
        truth_table, key = PAIRS[table]
        expected = truth_rows(emu.emulator, truth_table, key)
        assert expected, f"the truth has no {truth_table} rows: the test would prove nothing"
        truth[table] = differences(expected, comparable(place.reader.rows(table)), key)
    again = _load_ids(place)
    rewritten = all(len(ids) == 1 for ids in (*loads.values(), *again.values())) and all(
        again[t] != loads[t] for t in TABLES)
    return Reference(before, contents(place.reader), first.first_seen, truth, rewritten,
                     first.elapsed)


def reference_problems(ref: Reference) -> list[str]:
    """What is wrong with the reference: truth, child tables, the second run."""
    problems = [f"{t}: {p}" for t, found in ref.truth_problems.items() for p in found]
    if not any("__" in t for t in ref.first):
        problems.append("no child table: they would go uncompared")
    if not ref.rewritten:
        problems.append("the second run did not merge every row again")
    return problems + [f"second run: {p}" for p in content_differences(ref.first, ref.second)]


def _load_ids(place: Place) -> dict[str, set[str]]:
    return {t: {r["_dlt_load_id"] for r in place.reader.rows(t)} for t in TABLES}


# What a kill at each point must have left in the final tables of a first load: files are
# copied to staging first, so none while copying; some once a family's merge committed.
APPLIED = {"extract": "none", "normalize": "none", "load-copying": "none",
           "load-partial": "some"}


@dataclass
class Trial:
    """A fresh dataset in `home` and a first load into it, killed at a point (`killed`;
    it may have ended before reaching it)."""

    home: Path
    dataset: str
    place: Place
    killed: kill.Outcome

    def rerun(self, emu: RunningEmulator) -> kill.Outcome:
        """Run again into the same dataset, without faults."""
        return sync(emu, self.home, self.place, self.dataset)

    def differences(self, expected: Contents) -> list[str]:
        """How the tables now differ from `expected`, every table compared."""
        return content_differences(expected, contents(self.place.reader))


def killed_run(emu: RunningEmulator, home: Path, make: PlaceFactory,
               point: kill.KillPoint) -> Trial:
    """A first load into a fresh dataset in `home`, killed at `point`."""
    dataset = _dataset()
    place = make(home, dataset)
    return Trial(home, dataset, place, sync(emu, home, place, dataset, kill_at=point))


def kill_and_rerun(emu: RunningEmulator, tmp: Path, make: PlaceFactory,
                   point: kill.KillPoint, expected: Contents) -> list[str]:
    """Kill a first load at `point`, rerun it; the differences from `expected`."""
    for attempt in range(ATTEMPTS):
        # A point a few tens of ms wide can slip past the watcher on a busy machine: then
        # that run ends normally, and a fresh dataset gets another try.
        home = tmp / f"attempt{attempt}"
        home.mkdir()
        trial = killed_run(emu, home, make, point)
        if trial.killed.killed_at is not None:
            break
    killed, place = trial.killed, trial.place
    at = killed.killed_at
    assert at is not None, (f"the run ended (exit {killed.returncode}) before reaching "
                            f"{point.name}, {ATTEMPTS} times; steps seen at "
                            f"{killed.first_seen}: {killed.stderr}")
    with_rows = {t for t, rows in expected.items() if rows}
    if point.after_commit_of:
        # Killed between the commit and dlt's note of it: dlt will run the job again.
        unnoted = [j for p in at.at("loading") for j in p.jobs["started_jobs"]
                   if j.startswith(point.after_commit_of + ".") and j not in p.noted]
        assert killed.returncode == -9 and unnoted, at.describe()
    else:
        assert point.reached(at), at.describe()
        left = filled(place.reader, sorted(with_rows))
        if APPLIED[point.name] == "none":
            assert left == set(), f"killed at {point.name} ({at.describe()}), yet {left} hold rows"
        elif APPLIED[point.name] == "not all":
            assert left < with_rows, f"killed at {point.name} ({at.describe()}): all hold rows"
        else:
            assert left, f"killed at {point.name} ({at.describe()}): no table holds rows"
    again = trial.rerun(emu)
    assert again.returncode == 0, again.stderr
    return trial.differences(expected)
