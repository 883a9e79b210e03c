"""Does a rerun after `kill -9` at any moment give the tables of an uninterrupted run?

The emulator (clock frozen: every run sees the very same data) serves the small account of
tests/sync/recovery.py. An uninterrupted `zoomsync run` into DuckDB is the reference: its
tables, and when each step began (extract, normalize, load); two more uninterrupted runs
make the timing a median. Then, N times, a fresh DuckDB file and pipelines folder get a run
killed with SIGKILL at a time drawn uniformly over that median run's whole duration, then
one rerun (no faults), and every table is compared with the reference's, child tables
included (tests/sync/contents.py). The phase a kill landed in is read from dlt's package
folders at the moment of the kill (tests/sync/kill.py), not guessed from the time.
Target: N of N reruns equal an uninterrupted run.

Drawn uniformly, a kill lands in normalize or load by their share of the run, a few
percent each; `--min-per-phase K` adds kills until extract, normalize and load have had K
each, at a random moment inside the phase: the drawn offset counts from when the killed run
is seen entering it, not from its start, so a run a little slower than the median still
gets hit there.

    .venv/bin/python -m bench.kills                  # 20 kills, a random seed; ~2.5 min
    .venv/bin/python -m bench.kills --seed 1234      # replay the same draws
    .venv/bin/python -m bench.kills --kills 5 --keep # keep each kill's folder to look at
    .venv/bin/python -m bench.kills --min-per-phase 2 # + kills until each step had 2
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench._harness import render_table
from tests.destinations.places import duckdb_place
from tests.sync import kill, recovery
from zoomsync.emulator.server import RunningEmulator

AFTER_THE_END = "after the end"  # the run finished before its kill time
STEPS = ("extract", "normalize", "load")  # the phases --min-per-phase tops up
SHORT = 90  # characters of the first difference shown in the table


@dataclass
class Kill:
    """One kill and its rerun."""

    number: int
    at: float  # the drawn time, s from the start of the killed run (or of `within`)
    within: str = ""  # a top-up kill: `at` counts from when the run entered this phase
    phase: str = ""
    jobs: str = ""  # killed in load: its jobs done / started / not started
    killed_exit: int | None = None
    rerun_exit: int | None = None
    differences: list[str] = field(default_factory=list)
    error: str = ""  # the kill or rerun could not be carried out (a timeout, a crash)
    stderr: str = ""  # the rerun's, when it failed

    @property
    def equal(self) -> bool:
        return not self.error and self.rerun_exit == 0 and not self.differences


@dataclass
class Timing:
    """When an uninterrupted run's steps begin and how long it takes: the medians of a few
    runs (one run varies by ±20% here, which would skew where uniform kills land)."""

    took: float
    first_seen: dict[str, float]
    runs: list[float]

    @classmethod
    def of(cls, runs: list[tuple[dict[str, float], float]]) -> Timing:
        steps = {s for seen, _ in runs for s in seen}
        return cls(statistics.median(t for _, t in runs),
                   {s: statistics.median(seen[s] for seen, _ in runs if s in seen)
                    for s in steps}, [t for _, t in runs])

    def spans(self) -> dict[str, tuple[float, float]]:
        return kill.phase_spans(self.first_seen, self.took)


def timing(emu: RunningEmulator, ref: recovery.Reference, tmp: Path, runs: int) -> Timing:
    """The reference's timing and that of `runs - 1` more uninterrupted first loads, whose
    tables are compared with the reference's too."""
    timed = [(ref.first_seen, ref.took)]
    for i in range(1, runs):
        home = tmp / f"timing{i}"
        home.mkdir()
        # A point never reached: the run is watched (and so slowed) as a killed one is.
        trial = recovery.killed_run(emu, home, duckdb_place, kill.KillPoint("none"))
        outcome = trial.killed
        if outcome.returncode == 0:
            timed.append((outcome.first_seen, outcome.elapsed))
            # Another uninterrupted run must equal the reference, or nothing below means much.
            for difference in trial.differences(ref.first):
                print(f"  uninterrupted run {i + 1} differs from the reference: {difference}")
        else:
            print(f"  an uninterrupted run failed (exit {outcome.returncode}), left out of "
                  f"the timing: {outcome.stderr.strip()[-500:]}")
    return Timing.of(timed)


def within(name: str, offset: float) -> kill.KillPoint:
    """`offset` s after the run was first seen in phase `name`, while it still is."""
    entered: list[float] = []

    def reached(state: kill.Snapshot) -> bool:
        if kill.phase(state) != name:
            return False
        if not entered:
            entered.append(state.elapsed)
        return state.elapsed - entered[0] >= offset

    return kill.KillPoint(f"{name} +{offset:.2f} s", reached)


def one_kill(emu: RunningEmulator, ref: recovery.Reference, home: Path, number: int,
             at: float, in_phase: str = "") -> Kill:
    """A fresh dataset in `home`, a run killed `at` s after its start (or after it entered
    `in_phase`), one rerun."""
    result = Kill(number, at, within=in_phase)
    home.mkdir()
    point = within(in_phase, at) if in_phase else kill.after(at)
    try:
        trial = recovery.killed_run(emu, home, duckdb_place, point)
        killed = trial.killed
        result.killed_exit = killed.returncode
        if killed.killed_at is not None:
            result.phase = kill.phase(killed.killed_at)
            result.jobs = jobs(killed.killed_at) if result.phase == "load" else ""
        elif killed.returncode == 0:
            result.phase = AFTER_THE_END  # a top-up kill's run left the phase too soon
        else:
            result.phase = f"run failed (exit {killed.returncode})"
        again = trial.rerun(emu)
        result.rerun_exit = again.returncode
        if again.returncode != 0:
            result.stderr = again.stderr
        result.differences = trial.differences(ref.first)
    except Exception as exc:  # a timeout or a crash is this kill's result, not the bench's
        result.error = f"{type(exc).__name__}: {exc}"
    return result


def jobs(state: kill.Snapshot) -> str:
    """The load jobs of the packages being loaded: done / started / not started."""
    count = Counter(s for p in state.at("loading") for s, names in p.jobs.items()
                    for _ in names)
    return (f"{count['completed_jobs']}/{count['started_jobs']}/{count['new_jobs']}"
            + (f", {count['failed_jobs']} failed" if count["failed_jobs"] else ""))


def progress(k: Kill, uniform: int) -> None:
    where = f"{k.within} +{k.at:.2f} s" if k.within else f"{k.at:.2f} s"
    print(f"  kill {k.number}/{uniform}{'+' if k.within else ''} at {where}: "
          f"{k.phase or '?'}, {'equal' if k.equal else 'NOT EQUAL'}", flush=True)


def equal_cell(k: Kill) -> str:
    if k.error:
        text = f"NO: {k.error}"
    elif k.differences:
        text = f"NO: {k.differences[0]}"
    elif k.rerun_exit != 0:
        text = "NO: the rerun failed"
    else:
        return "yes"
    return text if len(text) <= SHORT else text[:SHORT - 1] + "…"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20, help="how many kills (20)")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of the kill times (default: a random one, printed)")
    parser.add_argument("--timing-runs", type=int, default=3, metavar="R",
                        help="uninterrupted runs whose median timing the kill times are "
                             "drawn over, the reference included (3)")
    parser.add_argument("--min-per-phase", type=int, default=1, metavar="K",
                        help="add kills inside extract, normalize and load until each had K "
                             "(default 1, so every step is hit; 0: the uniform kills only)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the reference's and each kill's folder, and print where")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    rng = random.Random(seed)
    began = time.monotonic()
    print(f"seed {seed} (replay: --seed {seed}); per-run timeout {recovery.RUN_TIMEOUT_S} s")

    tmp = Path(tempfile.mkdtemp(prefix="zoomsync-kills-"))
    try:
        with RunningEmulator(recovery.emulator_config()) as emu:
            home = tmp / "reference"
            home.mkdir()
            try:
                ref = recovery.reference(emu, home, duckdb_place)
            except Exception as exc:  # AssertionError: the run failed, or found no rows
                print(f"\nno reference, nothing to compare with: {type(exc).__name__}: {exc}")
                print(f"0 of {args.kills} reruns equal an uninterrupted run: FAIL")
                return
            timed = timing(emu, ref, tmp, max(1, args.timing_runs))
            report_reference(ref, timed)
            # All drawn up front, as shares of the median run: a seed replays the same shares.
            times = [rng.random() * timed.took for _ in range(args.kills)]
            kills: list[Kill] = []
            for number, at in enumerate(times, 1):
                kills.append(one_kill(emu, ref, tmp / f"kill{number:02d}", number, at))
                progress(kills[-1], args.kills)
            spans = timed.spans()
            for name in STEPS:
                # Each top-up is its own draw, after the uniform ones: a seed replays both.
                while sum(k.phase == name for k in kills) < args.min_per_phase:
                    tries = sum(k.within == name for k in kills)
                    if tries >= 3 * args.min_per_phase:  # the phase keeps slipping by
                        break
                    a, b = spans[name]
                    number = len(kills) + 1
                    kills.append(one_kill(emu, ref, tmp / f"kill{number:02d}", number,
                                          rng.random() * (b - a), name))
                    progress(kills[-1], args.kills)
    finally:
        if args.keep:
            print(f"folders kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    print()
    print(render_table(
        ["kill #", "at (s)", "phase", "load jobs", "killed run exit", "rerun exit",
         "tables equal"],
        [(str(k.number), f"{k.within} +{k.at:.2f}" if k.within else f"{k.at:.2f}",
          k.phase or "?", k.jobs,
          "" if k.killed_exit is None else str(k.killed_exit),
          "" if k.rerun_exit is None else str(k.rerun_exit), equal_cell(k)) for k in kills],
        right=[True, True, False, True, True, True, False]))
    print("load jobs: of a run killed in load, its jobs done / started / not started")
    print()
    report_phases(timed, kills, args.kills)
    report_failures(kills)
    equal = sum(k.equal for k in kills)
    verdict = "PASS" if equal == len(kills) else "FAIL"
    print(f"\n{equal} of {len(kills)} reruns equal an uninterrupted run "
          f"(target: {len(kills)} of {len(kills)}): {verdict}")
    print(f"elapsed {time.monotonic() - began:.0f} s")


def report_reference(ref: recovery.Reference, timed: Timing) -> None:
    runs = ", ".join(f"{t:.2f}" for t in timed.runs)
    print(f"uninterrupted runs: {runs} s (the first is the reference); median {timed.took:.2f} s: "
          + ", ".join(f"{name} {a:.2f}–{b:.2f}" for name, (a, b) in timed.spans().items()))
    problems = recovery.reference_problems(ref)
    for problem in problems:
        print(f"  reference problem: {problem}")
    if problems:
        print("  (the comparisons below are against a reference that is itself off)")


def report_phases(timed: Timing, kills: list[Kill], uniform: int) -> None:
    """Per phase: its share of an uninterrupted run, the uniform kills expected there, and
    the kills that landed there (top-ups apart)."""
    spans = timed.spans()
    landed = Counter(k.phase for k in kills if not k.within)
    topped = Counter(k.phase for k in kills if k.within)
    equal = Counter(k.phase for k in kills if k.equal)
    seen = set(landed) | set(topped)
    names = [*spans, AFTER_THE_END, *sorted(seen - set(spans) - {AFTER_THE_END})]
    rows: list[list[str]] = []
    for name in names:
        a, b = spans.get(name, (0.0, 0.0))
        share = (b - a) / timed.took if name in spans else None
        row = [name, f"{a:.2f}–{b:.2f}" if name in spans else "",
               "" if share is None else f"{share:.0%}",
               "" if share is None else f"{share * uniform:.1f}", str(landed[name])]
        if topped:
            row.append(str(topped[name]))
        rows.append([*row, f"{equal[name]} of {landed[name] + topped[name]}"])
    header = ["phase", "median run (s)", "of run", f"expected of {uniform}", "landed",
              *(["+ top-ups"] if topped else []), "reruns equal"]
    print(render_table(header, rows))
    missed = [n for n in STEPS if not landed[n] + topped[n]]
    if missed:
        print(f"no kill landed in {', '.join(missed)}: try another --seed, more --kills, "
              "or --min-per-phase")


def report_failures(kills: list[Kill]) -> None:
    for k in kills:
        if k.equal:
            continue
        print(f"\nkill {k.number} at {k.at:.2f} s ({k.phase}):")
        if k.error:
            print(f"  {k.error}")
        if k.rerun_exit not in (None, 0):
            print(f"  rerun exit {k.rerun_exit}: {k.stderr.strip()[-2000:]}")
        for difference in k.differences:
            print(f"  {difference}")


if __name__ == "__main__":
    main()
