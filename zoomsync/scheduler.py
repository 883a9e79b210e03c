"""`zoomsync run --every 15m | --cron "*/15 * * * *" | --continuous`: runs, one at a time.

    serve(accounts, Schedule.parse(every="15m"), streams=None, start_date=None)

One process syncs every configured account in turn, then waits for the next run. It holds
the run lock of each account's destination (lock.py) for its whole life, so a second
scheduler or a manual `zoomsync run` into the same destination says who is running and
exits 75 (or waits with --wait). After a failed or
partial run it backs off (doubling from `backoff_initial` to `backoff_max`, reset by a
success); a configuration or credential error stops it at once until a run has succeeded,
and is retried like any failure after that. SIGTERM and Ctrl-C stop it between runs or
after the current one (shutdown.py); each run's outcome goes to the account's status file
(status.py).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from zoomsync.accounts import label
from zoomsync.config import Settings
from zoomsync.errors import AuthError, ConfigError, ZoomSyncError
from zoomsync.lock import RunLock, destination_lock
from zoomsync.shutdown import Stopper
from zoomsync.sync.report import RunReport

log = logging.getLogger("zoomsync.scheduler")

CONTINUOUS_GAP = 5.0  # seconds between the end of a run and the next, with --continuous
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_every(text: str) -> float:
    """`90s`, `15m`, `2h`, `1d` (or a number of seconds) to seconds; at least 1 s."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text.lower())
    if not match:
        raise ConfigError(f"--every {text!r} is not a duration: use a number and s, m, h or d, "
                          "such as 15m")
    seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if seconds < 1:
        raise ConfigError(f"--every {text!r} is too short: at least 1s")
    return seconds


@dataclass(frozen=True)
class Schedule:
    """When runs start: once, every N seconds, on a cron expression, or back to back."""

    kind: Literal["once", "every", "cron", "continuous"] = "once"
    interval: float = 0.0
    cron: str | None = None
    gap: float = CONTINUOUS_GAP

    @classmethod
    def parse(cls, *, every: str | None = None, cron: str | None = None,
              continuous: bool = False) -> Schedule:
        given = [name for name, v in (("--every", every), ("--cron", cron),
                                      ("--continuous", continuous)) if v]
        if len(given) > 1:
            raise ConfigError(f"{' and '.join(given)} exclude each other: give one")
        if every:
            return cls("every", interval=parse_every(every))
        if cron:
            from croniter import croniter

            if not croniter.is_valid(cron):
                raise ConfigError(f"--cron {cron!r} is not a cron expression: use five fields, "
                                  "such as '*/15 * * * *'")
            return cls("cron", cron=cron)
        return cls("continuous") if continuous else cls()

    def next_run(self, started: float, earliest: float) -> float:
        """The next start, no sooner than `earliest`; `started` is the last run's start."""
        if self.kind == "every":
            # Fixed rate from the last start; a run longer than the interval is followed
            # at once, never by a burst of missed runs.
            return max(started + self.interval, earliest)
        if self.kind == "cron":
            from croniter import croniter

            # In the machine's time zone, as cron reads it.
            base = datetime.fromtimestamp(earliest).astimezone()
            return float(croniter(self.cron, base).get_next(float))
        return earliest + self.gap  # continuous: right after the last run, a short gap

    def describe(self) -> str:
        if self.kind == "every":
            return f"every {self.interval:g}s"
        if self.kind == "cron":
            return f"on cron '{self.cron}'"
        return "continuously" if self.kind == "continuous" else "once"


@dataclass
class Backoff:
    """Waits after failures: `initial`, doubling, at most `cap`; a success resets it."""

    initial: float = 60.0
    cap: float = 3600.0
    failures: int = 0

    def failed(self) -> None:
        self.failures += 1

    def succeeded(self) -> None:
        self.failures = 0

    @property
    def delay(self) -> float:
        if not self.failures:
            return 0.0
        return min(self.cap, self.initial * 2 ** min(self.failures - 1, 30))


class Clock(Protocol):
    def time(self) -> float: ...

    def sleep(self, seconds: float) -> bool:
        """Wait; True if woken by a stop request."""
        ...


@dataclass
class RealClock:
    stopper: Stopper

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> bool:
        return self.stopper.wait(seconds)


@dataclass
class Outcome:
    ok: bool
    error: str | None = None


def loop(schedule: Schedule, once: Callable[[], Outcome], *, stopper: Stopper, clock: Clock,
         backoff: Backoff, on_next: Callable[[float, Outcome], None] | None = None) -> int:
    """Run `once` on the schedule until stopped; the process's exit code.

    `once` raises for errors that must stop the scheduler (configuration, credentials).
    """
    while True:
        started = clock.time()
        outcome = once()
        if stopper.aborted:
            return stopper.exit_code
        if schedule.kind == "once":
            return 0 if outcome.ok else 1
        if outcome.ok:
            backoff.succeeded()
        else:
            backoff.failed()
        if stopper.stopping:
            return stopper.exit_code
        now = clock.time()
        at = schedule.next_run(started, now + backoff.delay)
        if on_next is not None:
            on_next(at, outcome)
        if clock.sleep(at - now) or stopper.stopping:
            return stopper.exit_code


Observe = Callable[[RunReport, Any], AbstractContextManager[Any]]


def serve(accounts: list[Settings], schedule: Schedule, *, streams: list[str] | None,
          start_date: date | None, wait: bool = False, observe: Observe | None = None,
          show: Callable[[Settings, RunReport], None] | None = None,
          announce: Callable[[str], None] | None = None, stopper: Stopper | None = None,
          clock: Clock | None = None,
          locked: Callable[[Settings], None] | None = None) -> int:
    """Lock every account, then run them all in turn on `schedule`; the exit code.

    `show` renders each run's report; `announce` prints one line between runs; `locked`
    runs once per account when every lock is held, before the first run (`--full-refresh`:
    under `--wait` it must wait for the running zoomsync too, not reset under it).
    """
    from zoomsync import status

    stopper = stopper or Stopper().install()
    # Resolving every account's destination first fails a bad setting before any run.
    files = [status.files(s) for s in accounts]
    # Accounts loading into one destination share its lock: taken once (a second flock of
    # this process on the same file would be refused like another process's).
    locks: dict[Path, RunLock] = {}
    for settings in accounts:
        lock = destination_lock(settings)
        locks.setdefault(lock.path, lock)
    try:
        # In one order, so two schedulers waiting for overlapping sets never deadlock.
        for _, lock in sorted(locks.items()):
            if not lock.acquire(wait=wait, should_stop=lambda: stopper.stopping):
                return stopper.exit_code
        if locked:
            for settings in accounts:
                locked(settings)

        backoff = Backoff(accounts[0].backoff_initial, accounts[0].backoff_max)

        succeeded = False  # a later config or auth error is more likely the network or a
        # rotated secret than a typo: retried with backoff instead of stopping

        def once() -> Outcome:
            nonlocal succeeded
            problems = []
            for settings, (status_file, _) in zip(accounts, files, strict=True):
                if stopper.stopping:
                    break  # asked to stop: no further account's run starts
                error = run_account(settings, status_file, streams=streams,
                                    start_date=start_date, observe=observe, show=show,
                                    stopper=stopper, reraise=schedule.kind == "once",
                                    config_fatal=not succeeded)
                if error:
                    problems.append(f"{label(settings)}: {error}")
            succeeded = succeeded or not problems
            return Outcome(not problems, "; ".join(problems) or None)

        def on_next(at: float, outcome: Outcome) -> None:
            for status_file, _ in files:
                _noting(status_file, status.record_next, status_file, at)
            when = datetime.fromtimestamp(at).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
            wait_s = max(0, round(at - time.time()))
            line = f"next run {when} (in {wait_s}s)"
            if not outcome.ok:
                line += f", after failure {backoff.failures}: {outcome.error}"
            log.info(line)
            if announce is not None:
                announce(line)

        if schedule.kind != "once":
            log.info("scheduler started: %s, %d account(s)", schedule.describe(),
                     len(accounts))
        return loop(schedule, once, stopper=stopper, clock=clock or RealClock(stopper),
                    backoff=backoff, on_next=on_next)
    finally:
        for status_file, lock_file in files:
            if locks[lock_file].held:  # this process ran the account: no run is planned now
                _noting(status_file, status.record_next, status_file, None)
        for lock in locks.values():
            lock.release()
        stopper.clear()


def run_account(settings: Settings, status_file: Any, *, streams: list[str] | None,
                start_date: date | None, observe: Observe | None,
                show: Callable[[Settings, RunReport], None] | None, stopper: Stopper,
                reraise: bool, config_fatal: bool = True) -> str | None:
    """One sync of one account, its outcome recorded; None if it was complete, else why not.

    Configuration and credential errors raise while `config_fatal` (they stop a scheduler
    that never succeeded); other errors raise only when `reraise` (a single run), and are
    otherwise retried later.
    """
    from zoomsync import status
    from zoomsync.sync.runner import run

    started = time.time()
    try:
        report = run(settings, streams=streams, start_date=start_date, observe=observe)
    except Exception as exc:
        if stopper.aborted:
            why = "aborted by a signal during extraction; nothing of it was loaded"
        elif isinstance(exc, ZoomSyncError):
            why = str(exc)
        else:
            why = f"{type(exc).__name__}: {exc}"
        _noting(status_file, status.record_run, settings, status_file, started=started,
                finished=time.time(), report=None, error=why)
        if stopper.aborted:
            return why
        if reraise or (config_fatal and isinstance(exc, (ConfigError, AuthError))):
            raise
        log.warning("account %s: run failed: %s", label(settings),
                    status.one_line(why, settings))
        return status.one_line(why, settings)
    _noting(status_file, status.record_run, settings, status_file, started=started,
            finished=time.time(), report=report, error=None)
    if show is not None:
        show(settings, report)
    return None if report.ok else "partial run: " + "; ".join(report.reasons())


def _noting(status_file: Any, record: Callable[..., object], *args: Any, **kwargs: Any) -> None:
    """`record(*args, **kwargs)` writes the status file; if the disk refuses (full,
    read-only), say so in one warning and go on: the run's own outcome — often that very
    full disk — is what must be shown."""
    try:
        record(*args, **kwargs)
    except OSError as exc:
        log.warning("could not update the status file %s: %s", status_file,
                    exc.strerror or exc)
