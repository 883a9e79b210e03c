"""The scheduler's timing on a fake clock: schedules, backoff, stop requests, fatal errors."""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise

import pytest

from zoomsync.errors import AuthError, ConfigError
from zoomsync.scheduler import Backoff, Outcome, Schedule, loop, parse_every
from zoomsync.shutdown import PhaseCollector, Stopper, phase


@dataclass
class FakeClock:
    """Time moves only when the loop sleeps or a run 'takes' time; no real waiting."""

    now: float = 1_000_000.0
    sleeps: list[float] = field(default_factory=list)
    stop_after_sleeps: int = 10
    stopper: Stopper | None = None

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> bool:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds
        if len(self.sleeps) >= self.stop_after_sleeps and self.stopper is not None:
            self.stopper.request(signal.SIGTERM)
            return True
        return False


def runs(clock: FakeClock, results: list[bool], took: float = 10.0):
    """A `once` that takes `took` seconds and succeeds or fails as listed; records starts."""
    starts: list[float] = []
    it = iter(results)

    def once() -> Outcome:
        starts.append(clock.now)
        clock.now += took
        ok = next(it, True)
        return Outcome(ok, None if ok else "boom")

    return once, starts


@pytest.mark.parametrize(("text", "seconds"), [
    ("15m", 900), ("90s", 90), ("2h", 7200), ("1d", 86400), ("30", 30), ("1.5h", 5400),
    (" 5M ", 300),
])
def test_every_accepts_s_m_h_d(text: str, seconds: float) -> None:
    assert parse_every(text) == seconds


@pytest.mark.parametrize("text", ["", "15 minutes", "m", "-5m", "0s", "1w"])
def test_bad_every_is_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError, match="--every"):
        parse_every(text)


def test_options_exclude_each_other_and_cron_is_checked() -> None:
    with pytest.raises(ConfigError, match="--every and --cron exclude each other"):
        Schedule.parse(every="5m", cron="* * * * *")
    with pytest.raises(ConfigError, match="not a cron expression"):
        Schedule.parse(cron="every tuesday")
    assert Schedule.parse().kind == "once"
    assert Schedule.parse(continuous=True).kind == "continuous"


def test_every_is_a_fixed_rate_from_the_last_start() -> None:
    clock = FakeClock(stop_after_sleeps=3)
    stopper = Stopper()
    clock.stopper = stopper
    once, starts = runs(clock, [True] * 5, took=100)
    code = loop(Schedule.parse(every="15m"), once, stopper=stopper, clock=clock,
                backoff=Backoff())
    assert code == 0
    assert [s - starts[0] for s in starts] == [0, 900, 1800]
    assert clock.sleeps == [800, 800, 800]


def test_a_run_longer_than_the_interval_is_followed_at_once_without_a_burst() -> None:
    clock = FakeClock(stop_after_sleeps=2)
    stopper = Stopper()
    clock.stopper = stopper
    once, starts = runs(clock, [True] * 5, took=2000)
    loop(Schedule.parse(every="15m"), once, stopper=stopper, clock=clock, backoff=Backoff())
    assert clock.sleeps == [0, 0]
    assert starts[1] - starts[0] == 2000


def test_continuous_leaves_a_short_gap() -> None:
    clock = FakeClock(stop_after_sleeps=3)
    stopper = Stopper()
    clock.stopper = stopper
    once, _ = runs(clock, [True] * 5, took=42)
    loop(Schedule.parse(continuous=True), once, stopper=stopper, clock=clock, backoff=Backoff())
    assert clock.sleeps == [5, 5, 5]


def test_cron_starts_on_the_expression() -> None:
    start = datetime(2026, 11, 2, 10, 3, 0).astimezone().timestamp()
    clock = FakeClock(now=start, stop_after_sleeps=2)
    stopper = Stopper()
    clock.stopper = stopper
    once, starts = runs(clock, [True] * 5, took=60)
    loop(Schedule.parse(cron="*/15 * * * *"), once, stopper=stopper, clock=clock,
         backoff=Backoff())
    minutes = [datetime.fromtimestamp(s).astimezone().strftime("%H:%M") for s in starts]
    assert minutes == ["10:03", "10:15"]


def test_failures_back_off_exponentially_up_to_the_cap_and_reset_on_success() -> None:
    clock = FakeClock(stop_after_sleeps=8)
    stopper = Stopper()
    clock.stopper = stopper
    # Fail 6 times, then succeed, then fail again.
    once, starts = runs(clock, [False] * 6 + [True, False], took=0)
    loop(Schedule.parse(continuous=True), once, stopper=stopper, clock=clock,
         backoff=Backoff(initial=60, cap=300))
    gaps = [b - a for a, b in pairwise(starts)]
    # continuous: the backoff delay plus the 5 s gap; capped at 300; a success resets.
    assert gaps == [65, 125, 245, 305, 305, 305, 5]
    assert clock.sleeps[-1] == 65  # the first failure after a success waits the initial delay


def test_backoff_waits_longer_than_the_interval_only_when_it_exceeds_it() -> None:
    clock = FakeClock(stop_after_sleeps=4)
    stopper = Stopper()
    clock.stopper = stopper
    once, starts = runs(clock, [False] * 10, took=0)
    loop(Schedule.parse(every="2m"), once, stopper=stopper, clock=clock,
         backoff=Backoff(initial=60, cap=1000))
    gaps = [b - a for a, b in pairwise(starts)]
    assert gaps == [120, 120, 240]  # 60 and 120 fit in the interval; 240 does not


def test_a_config_error_stops_the_scheduler_at_once() -> None:
    clock = FakeClock()
    stopper = Stopper()
    calls = []

    def once() -> Outcome:
        calls.append(1)
        raise AuthError(401, 124, "Invalid access token", "POST", "/oauth/token")

    with pytest.raises(AuthError):
        loop(Schedule.parse(every="1m"), once, stopper=stopper, clock=clock, backoff=Backoff())
    assert calls == [1] and clock.sleeps == []


def test_a_single_run_exits_1_when_partial() -> None:
    clock, stopper = FakeClock(), Stopper()
    once, _ = runs(clock, [False])
    assert loop(Schedule(), once, stopper=stopper, clock=clock, backoff=Backoff()) == 1
    once, _ = runs(clock, [True])
    assert loop(Schedule(), once, stopper=stopper, clock=clock, backoff=Backoff()) == 0


def test_a_stop_during_a_run_lets_it_finish_and_starts_no_other() -> None:
    clock, stopper = FakeClock(), Stopper()
    starts = []

    def once() -> Outcome:
        starts.append(clock.now)
        stopper.request(signal.SIGTERM)  # arrives mid-run
        return Outcome(True)

    assert loop(Schedule.parse(every="1m"), once, stopper=stopper, clock=clock,
                backoff=Backoff()) == 0
    assert len(starts) == 1 and clock.sleeps == []


def test_second_signal_aborts_only_an_extraction() -> None:
    from dlt.common.runtime import signals as dlt_signals

    stopper = Stopper()
    collector = PhaseCollector()
    try:
        with collector("Load zoom in 123"):
            assert phase() == "load"
            stopper.request(signal.SIGTERM)
            stopper.request(signal.SIGTERM)
            stopper.request(signal.SIGTERM)
            assert not stopper.aborted and not dlt_signals.was_signal_received()
        assert phase() is None
        assert stopper.exit_code == 0
        stopper = Stopper()
        with collector("Extract zoom"):
            stopper.request(signal.SIGINT)
            assert not dlt_signals.was_signal_received()  # the first lets the run go on
            stopper.request(signal.SIGINT)
            assert stopper.aborted and dlt_signals.was_signal_received()
        assert stopper.exit_code == 130
    finally:
        stopper.clear()
    assert not dlt_signals.was_signal_received()


def test_serve_stops_on_a_first_config_error_but_retries_one_after_a_success(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from zoomsync import status
    from zoomsync.config import Settings
    from zoomsync.scheduler import serve
    from zoomsync.sync import runner
    from zoomsync.sync.report import RunReport

    settings = Settings(pipelines_dir=tmp_path / "p", duckdb_path=tmp_path / "w.duckdb")
    results: list[object] = [RunReport(rows={"users": 3}),
                             ConfigError("cannot reach Zoom's OAuth endpoint"),
                             RunReport(rows={"users": 1})]

    def fake_run(*_: object, **__: object) -> RunReport:
        result = results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result  # type: ignore[return-value]

    monkeypatch.setattr(runner, "run", fake_run)
    stopper = Stopper()
    clock = FakeClock(stop_after_sleeps=3, stopper=stopper)
    code = serve([settings], Schedule.parse(every="10m"), streams=None, start_date=None,
                 stopper=stopper, clock=clock)
    assert code == 0 and results == []
    assert clock.sleeps == [600, 600, 600]  # the failure's 60 s backoff fits the interval
    data = status.read(status.files(settings)[0])
    assert data["last_error"]["message"] == "cannot reach Zoom's OAuth endpoint"
    assert data["last_run"]["ok"] is True and data["next_run_at"] is None

    results[:] = [AuthError(401, 124, "Invalid client", "POST", "/oauth/token")]
    with pytest.raises(AuthError):
        serve([settings], Schedule.parse(every="10m"), streams=None, start_date=None,
              stopper=Stopper(), clock=FakeClock())
    assert status.read(status.files(settings)[0])["consecutive_failures"] == 1


def test_a_stop_during_one_accounts_run_starts_no_other_account(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from zoomsync.config import Settings
    from zoomsync.scheduler import serve
    from zoomsync.sync import runner
    from zoomsync.sync.report import RunReport

    accounts = [Settings(pipelines_dir=tmp_path / "p", duckdb_path=tmp_path / "w.duckdb",
                         account_name=name, account_id=name) for name in ("one", "two")]
    stopper = Stopper()
    ran: list[str | None] = []

    def fake_run(settings: Settings, **_: object) -> RunReport:
        ran.append(settings.account_name)
        stopper.request(signal.SIGTERM)
        return RunReport()

    monkeypatch.setattr(runner, "run", fake_run)
    code = serve(accounts, Schedule.parse(every="1m"), streams=None, start_date=None,
                 stopper=stopper, clock=FakeClock())
    assert code == 0 and ran == ["one"]
