"""Run `zoomsync run` in its own process and `kill -9` it at a chosen step of dlt's pipeline.

dlt keeps every load package on disk and moves it from folder to folder as the steps go
on, so the folders under `<pipelines_dir>/<pipeline>/` say exactly where a run is:

    normalize/<extract id>/<load id>/    extract is writing the package
    normalize/extracted/<load id>/       extracted, waiting for normalize
    load/new/<load id>/                  normalize is writing the load jobs
    load/normalized/<load id>/           the load step is applying it: its jobs sit in
                                         new_jobs/, started_jobs/ or completed_jobs/
    load/loaded/<load id>/               loaded

A `KillPoint` is a predicate over those folders. `run` polls them every few milliseconds;
when the predicate holds it stops the run's process group (SIGSTOP), reads the folders
again — so the state at the kill is known exactly, not guessed from a time — and only
then sends SIGKILL. Killing at a fraction of a reference run's wall time, as this test
once did, mostly lands in extract: normalize and load take a few hundred ms of a run
(`after(seconds)` still does that, for bench/kills.py, and `phase` says where it landed).
One point no watcher can time — just after a job's commit, before dlt notes it — is hit
from inside the run instead (`after_commit`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

STEPS = ("extracting", "extracted", "normalizing", "loading", "loaded")
JOB_STATES = ("new_jobs", "started_jobs", "completed_jobs", "failed_jobs")
# Load jobs that change the final tables: dlt's merge SQL on SQL warehouses and the job
# that merges a table's files into its Delta table. Other jobs only copy files to staging.
APPLYING = (".sql", ".reference")
POLL_S = 0.002


@dataclass(frozen=True)
class Package:
    """One load package where the run left it; `jobs` by state, for loading packages."""

    load_id: str
    step: str
    jobs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Jobs whose destination commit dlt has noted but not yet filed under completed_jobs.
    noted: tuple[str, ...] = ()

    def applying(self, *states: str) -> list[str]:
        return [j for s in states for j in self.jobs.get(s, ()) if j.endswith(APPLYING)]


@dataclass(frozen=True)
class Snapshot:
    """All packages of all pipelines under a pipelines dir, `elapsed` s after the start."""

    packages: tuple[Package, ...]
    elapsed: float

    def at(self, step: str) -> list[Package]:
        return [p for p in self.packages if p.step == step]

    def describe(self) -> str:
        return "; ".join(f"{p.step} {p.load_id} "
                         + " ".join(f"{s}={len(j)}" for s, j in p.jobs.items() if j)
                         for p in self.packages) or "no packages"


# The phases of a run as a user sees them, in order, and the steps of a package in each:
# before the first package (imports, the credential check), dlt's three steps, and after
# the last package is loaded (zoomsync's deletes and report, the process exiting).
PHASES: dict[str, tuple[str, ...]] = {
    "start": (), "extract": ("extracting",), "normalize": ("extracted", "normalizing"),
    "load": ("loading",), "finish": ("loaded",)}


def phase(state: Snapshot) -> str:
    """The phase a run is in: that of its least advanced package not yet loaded."""
    steps = {p.step for p in state.packages}
    for name, of in PHASES.items():
        if name != "finish" and steps & set(of):
            return name
    return "finish" if steps else "start"


def phase_spans(first_seen: dict[str, float], took: float) -> dict[str, tuple[float, float]]:
    """When each phase began and ended in a run that took `took` s, from the steps'
    `first_seen`; a phase the run went through unseen gets no time."""
    starts = {"start": 0.0}
    for name, steps in list(PHASES.items())[1:]:
        seen = [first_seen[s] for s in steps if s in first_seen]
        starts[name] = min(seen) if seen else took
    names = list(starts)
    # A later phase seen first (a step too short for the poll) closes the earlier ones.
    ends = [min([*(starts[n] for n in names[i + 1:]), took]) for i in range(len(names))]
    return {n: (min(starts[n], end), end) for n, end in zip(names, ends, strict=True)}


def snapshot(pipelines: Path, started: float) -> Snapshot:
    """The packages as the folders show them; read again if dlt moves one meanwhile."""
    for _ in range(50):
        try:
            return Snapshot(tuple(_packages(pipelines)), time.monotonic() - started)
        except FileNotFoundError:
            continue
    raise RuntimeError(f"dlt's folders under {pipelines} kept moving while being read")


def _packages(pipelines: Path) -> list[Package]:
    found: list[Package] = []
    for pipeline in sorted(p for p in pipelines.glob("*") if p.is_dir()):
        for folder in sorted(f for f in (pipeline / "normalize").glob("*") if f.is_dir()):
            step = "extracted" if folder.name == "extracted" else "extracting"
            found += [Package(p.name, step) for p in sorted(folder.iterdir()) if p.is_dir()]
        for sub, step in (("new", "normalizing"), ("normalized", "loading"),
                          ("loaded", "loaded")):
            for package in sorted((pipeline / "load" / sub).glob("*")):
                if not (package / "new_jobs").is_dir():
                    continue  # dlt's own bookkeeping beside the packages
                if step != "loading":
                    found.append(Package(package.name, step))
                    continue
                jobs = {s: tuple(sorted(os.listdir(package / s))) for s in JOB_STATES}
                noted = package / ".pending_transitions"
                found.append(Package(package.name, step, jobs, tuple(
                    sorted(os.listdir(noted))) if noted.is_dir() else ()))
    return found


def _never(snapshot: Snapshot) -> bool:
    return False


@dataclass(frozen=True)
class KillPoint:
    """Where to kill: `reached(snapshot)` says the run is there now; or, with
    `after_commit_of`, the run kills itself at that table's first commit (see below)."""

    name: str
    reached: Callable[[Snapshot], bool] = _never
    after_commit_of: str | None = None


def after(seconds: float) -> KillPoint:
    """The run has been going for `seconds`, whatever step it is in."""
    return KillPoint(f"at {seconds:.2f} s", lambda s: s.elapsed >= seconds)


def mid_extract(after_s: float) -> KillPoint:
    """Extract has been writing a package for at least `after_s` seconds of the run."""
    return KillPoint("extract", lambda s: bool(s.at("extracting")) and s.elapsed >= after_s
                     and not s.at("extracted") and not s.at("loading"))


NORMALIZE = KillPoint("normalize", lambda s: bool(s.at("normalizing")))
# Files are being copied to staging (or the bucket); no final table has changed yet.
LOAD_COPYING = KillPoint("load-copying", lambda s: any(
    p.jobs["started_jobs"] and not p.applying("completed_jobs") for p in s.at("loading")))
# Some tables' merges are committed and others are not: the package is partly applied.
LOAD_PARTIAL = KillPoint("load-partial", lambda s: any(
    p.applying("completed_jobs") and p.applying("new_jobs", "started_jobs")
    for p in s.at("loading")))


# The one crash a watcher outside the process cannot time: a load job's destination
# transaction has committed, and dlt has not yet written the marker that says so (its
# "pending transition"). Code run in a child after this prelude has dlt's marker writer
# replaced by a SIGKILL of the process itself, for the first job of table
# $ZOOMSYNC_TEST_KILL_TABLE (test children only: never in zoomsync).
KILL_AFTER_COMMIT = """
import os, signal
from dlt.common.storages.load_package import PackageStorage

def save_pending_transition(self, load_id, file_name, state, failed_message=None):
    if file_name.startswith(os.environ["ZOOMSYNC_TEST_KILL_TABLE"] + "."):
        os.kill(os.getpid(), signal.SIGKILL)
    return original(self, load_id, file_name, state, failed_message)

original = PackageStorage.save_pending_transition
PackageStorage.save_pending_transition = save_pending_transition
"""
_RUN_CLI = """
import sys
sys.argv = ["zoomsync", *sys.argv[1:]]
from zoomsync.cli import main
main()
"""


def after_commit(table: str) -> KillPoint:
    """Right after the first load job of `table` committed, before dlt records it."""
    return KillPoint(f"after-commit:{table}", after_commit_of=table)


@dataclass
class Outcome:
    """How a run ended: its exit code (-9 when killed), stderr, and the state at the kill."""

    returncode: int
    stderr: str
    killed_at: Snapshot | None
    # When each step was first seen, in seconds from the start (a reference run's profile).
    first_seen: dict[str, float]
    elapsed: float  # seconds from the start to the exit or the kill


def run(env: dict[str, str], cwd: Path, streams: str, *, pipelines: Path,
        kill_at: KillPoint | None = None, timeout: float = 120,
        options: tuple[str, ...] = ()) -> Outcome:
    """`zoomsync run --streams STREAMS [OPTIONS]` to its end, or until `kill_at` holds,
    then kill -9."""
    started = time.monotonic()
    command = [sys.executable, "-m", "zoomsync"]
    if kill_at is not None and kill_at.after_commit_of:
        command = [sys.executable, "-c", KILL_AFTER_COMMIT + _RUN_CLI]
        env = {**env, "ZOOMSYNC_TEST_KILL_TABLE": kill_at.after_commit_of}
    proc = subprocess.Popen([*command, "run", "--streams", streams, *options], env=env, cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    first_seen: dict[str, float] = {}
    killed_at: Snapshot | None = None
    err = ""
    try:
        while proc.poll() is None:
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"zoomsync run took more than {timeout:.0f} s")
            state = snapshot(pipelines, started)
            for package in state.packages:
                first_seen.setdefault(package.step, state.elapsed)
            if kill_at is not None and kill_at.reached(state):
                killed_at = _kill(proc, pipelines, started, kill_at)
                if killed_at is not None:
                    break
            time.sleep(POLL_S if kill_at is not None else 5 * POLL_S)
        ended = time.monotonic()
        _, err = proc.communicate(timeout=30)
        if killed_at is None and proc.returncode == -signal.SIGKILL:  # it killed itself
            killed_at = snapshot(pipelines, started)
    finally:
        if proc.poll() is None:  # only ever the process group this call started
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=30)
    return Outcome(proc.returncode, err, killed_at, first_seen,
                   killed_at.elapsed if killed_at is not None else ended - started)


def _kill(proc: subprocess.Popen[str], pipelines: Path, started: float,
          point: KillPoint) -> Snapshot | None:
    """Freeze the run, confirm it is still at `point`, and kill it; None if it moved on."""
    try:
        os.killpg(proc.pid, signal.SIGSTOP)
    except ProcessLookupError:
        return None  # it has just exited
    state = snapshot(pipelines, started)
    if point.reached(state):
        os.killpg(proc.pid, signal.SIGKILL)
        return state
    os.killpg(proc.pid, signal.SIGCONT)
    return None
