"""Pacing per rate-limit label: spacing, header corrections, Retry-After and the daily cap."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from tests.zoom.conftest import client_for
from zoomsync.emulator.server import RunningEmulator
from zoomsync.errors import DailyLimitError
from zoomsync.zoom import Pacer, path_for
from zoomsync.zoom.pacing import normalize_label
from zoomsync.zoom.retry import jittered_backoff, parse_retry_after

NOW = datetime(2026, 5, 30, 18, 0, tzinfo=UTC).timestamp()
DAILY = "You have reached the maximum daily rate limit for this API. Refer to the response header."


class FakeClock:
    """Monotonic and wall time that move only when something sleeps."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.wall_t = NOW
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.t

    def wall(self) -> float:
        return self.wall_t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds
        self.wall_t += seconds


def pacer(clock: FakeClock, plan: str = "pro", budget: float = 1.0, **kw: object) -> Pacer:
    return Pacer(plan, budget, clock=clock.monotonic, sleep=clock.sleep, wall=clock.wall,
                 **kw)  # type: ignore[arg-type]


def response(status: int = 200, headers: dict[str, str] | None = None,
             json: object = None) -> httpx.Response:
    return httpx.Response(status, headers=headers, json=json,
                          request=httpx.Request("GET", "https://api.zoom.us/v2/report/x"))


def test_labels_are_normalised() -> None:
    assert normalize_label("Resource-intensive") == "RESOURCE_INTENSIVE"
    assert normalize_label("heavy") == "HEAVY"
    with pytest.raises(ValueError, match="unknown"):
        normalize_label("Extreme")


@pytest.mark.parametrize(("plan", "budget", "label", "rate"), [
    ("pro", 1.0, "MEDIUM", 20), ("pro", 0.8, "LIGHT", 24), ("business", 0.5, "HEAVY", 20),
    ("pro", 1.0, "RESOURCE_INTENSIVE", 10 / 60), ("business", 0.8, "RESOURCE_INTENSIVE", 16 / 60),
])
def test_rate_is_budget_times_plan_limit(plan: str, budget: float, label: str,
                                         rate: float) -> None:
    assert Pacer(plan, budget).rate(label) == pytest.approx(rate)


def test_calls_are_evenly_spaced() -> None:
    clock = FakeClock()
    p = pacer(clock)
    for _ in range(5):
        p.acquire("MEDIUM")
    assert clock.slept == pytest.approx([0.05] * 4)
    assert p.stats()["MEDIUM"].calls == 5
    assert p.stats()["MEDIUM"].wait_seconds == pytest.approx(0.2)
    p.acquire("LIGHT")  # another label has its own limiter
    assert len(clock.slept) == 4


def test_small_burst_then_spacing_at_high_rates() -> None:
    clock = FakeClock()
    p = pacer(clock, plan="business")  # Light: 80/s, so 50 ms of burst is 4 calls
    for _ in range(6):
        p.acquire("LIGHT")
    assert clock.slept == pytest.approx([1 / 80, 1 / 80])


@pytest.mark.parametrize(("value", "expected"), [
    ("2", NOW + 2),
    ("0", NOW),
    ("2026-05-31T00:00:00Z", datetime(2026, 5, 31, tzinfo=UTC).timestamp()),
    ("2026-05-30T18:00:30+00:00", NOW + 30),
    ("2026-05-30T18:00:30", NOW + 30),
    (format_datetime(datetime(2026, 5, 30, 18, 1, tzinfo=UTC), usegmt=True), NOW + 60),
    ("soon", None), ("", None), (None, None), ("inf", None),
])
def test_retry_after_forms(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_iso_retry_after_pauses_the_label_until_then() -> None:
    clock = FakeClock()
    p = pacer(clock)
    p.acquire("MEDIUM")
    wait = p.on_429("MEDIUM", response(429, {"Retry-After": "2026-05-30T18:00:30Z"}))
    assert wait == pytest.approx(30)
    p.acquire("MEDIUM")
    assert clock.slept == pytest.approx([30])
    assert clock.wall() == NOW + 30
    p.acquire("LIGHT")  # other labels were not paused
    assert clock.slept == pytest.approx([30])
    assert p.stats()["MEDIUM"].throttled == 1


def test_a_pause_holds_threads_already_queued() -> None:
    clock = FakeClock()
    p = pacer(clock)
    p.acquire("MEDIUM")
    slept_into_a_pause = []

    def sleep(seconds: float) -> None:
        # While the first sleeper waits for its slot, a 429 arrives for another call.
        if not slept_into_a_pause:
            slept_into_a_pause.append(seconds)
            p.on_429("MEDIUM", response(429, {"Retry-After": "5"}))
        clock.sleep(seconds)

    p.sleep = sleep
    p.acquire("MEDIUM")
    assert clock.t == pytest.approx(1000 + 5)


def test_no_retry_after_backs_off_with_jitter() -> None:
    clock = FakeClock()
    p = pacer(clock, backoff=1.0, max_backoff=8.0)
    waits = [p.on_429("LIGHT", response(429)) for _ in range(6)]
    for n, wait in enumerate(waits, start=1):
        cap = min(8.0, 2 ** (n - 1))
        assert cap / 2 <= wait <= cap
    p.observe("LIGHT", response(200))  # a success resets the streak
    assert p.on_429("LIGHT", response(429)) <= 1.0
    assert jittered_backoff(3, 1.0, 60, rng=lambda: 1.0) == 4.0


def test_daily_limit_raises_and_spends_both_daily_labels() -> None:
    clock = FakeClock()
    p = pacer(clock)
    headers = {"X-RateLimit-Category": "Heavy", "X-RateLimit-Type": "Daily-limit",
               "X-RateLimit-Limit": "30000", "X-RateLimit-Remaining": "0",
               "Retry-After": "2026-05-31T00:00:00Z"}
    with pytest.raises(DailyLimitError) as caught:
        p.on_429("HEAVY", response(429, headers, {"code": 429, "message": DAILY}))
    assert caught.value.retry_at == datetime(2026, 5, 31, tzinfo=UTC)
    assert caught.value.label == "HEAVY"
    assert "2026-05-31T00:00:00Z" in str(caught.value)
    # Heavy and Resource-intensive share the cap: both now fail fast without a call.
    for label in ("HEAVY", "RESOURCE_INTENSIVE"):
        with pytest.raises(DailyLimitError, match="not sent"):
            p.acquire(label, path="/metrics/meetings")
    p.acquire("MEDIUM")
    clock.wall_t = datetime(2026, 5, 31, 0, 0, 1, tzinfo=UTC).timestamp()
    p.acquire("HEAVY")  # after the reset


def test_daily_message_without_headers_waits_for_utc_midnight() -> None:
    clock = FakeClock()
    p = pacer(clock)
    with pytest.raises(DailyLimitError) as caught:
        p.on_429("RESOURCE_INTENSIVE", response(429, json={"code": 429, "message": DAILY}))
    assert caught.value.retry_at == datetime(2026, 5, 31, tzinfo=UTC)


def test_retry_after_hours_away_is_treated_as_a_cap() -> None:
    clock = FakeClock()
    p = pacer(clock, max_pause=900)
    with pytest.raises(DailyLimitError):
        p.on_429("LIGHT", response(429, {"Retry-After": str(3 * 3600)}))
    with pytest.raises(DailyLimitError):
        p.acquire("LIGHT")
    p.acquire("MEDIUM")


def test_per_second_headers_correct_the_rate() -> None:
    clock = FakeClock()
    p = pacer(clock, budget=0.8)  # configured as Pro, but Zoom says Business
    p.observe("MEDIUM", response(200, {"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "55"}))
    assert p.rate("MEDIUM") == pytest.approx(48)
    pinned = pacer(clock, limits={"MEDIUM": 5})
    pinned.observe("MEDIUM", response(200, {"X-RateLimit-Limit": "60",
                                            "X-RateLimit-Remaining": "55"}))
    assert pinned.rate("MEDIUM") == pytest.approx(5)


def test_a_per_second_429_corrects_the_rate() -> None:
    clock = FakeClock()
    p = pacer(clock, plan="business")  # configured as Business, but the account is Pro
    p.on_429("HEAVY", response(429, {"X-RateLimit-Type": "QPS", "X-RateLimit-Limit": "10",
                                     "X-RateLimit-Remaining": "0", "Retry-After": "1"}))
    assert p.rate("HEAVY") == pytest.approx(10)


def test_an_empty_bucket_gives_zoom_a_call_back() -> None:
    clock = FakeClock()
    p = pacer(clock)
    p.acquire("MEDIUM")
    clock.sleep(1)
    clock.slept.clear()
    p.observe("MEDIUM", response(200, {"X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "0"}))
    p.acquire("MEDIUM")
    assert clock.slept == pytest.approx([1 / 20])


def test_heavy_headers_on_success_count_the_daily_budget() -> None:
    clock = FakeClock()
    p = pacer(clock)
    p.observe("HEAVY", response(200, {"X-RateLimit-Limit": "30000",
                                      "X-RateLimit-Remaining": "29000"}))
    assert p.rate("HEAVY") == pytest.approx(10)  # not mistaken for 30000/s
    stats = p.stats()
    assert stats["HEAVY"].daily_remaining == stats["RESOURCE_INTENSIVE"].daily_remaining == 29000
    # A large limit on Light is a daily budget too (low plans), not a per-second limit.
    p.observe("LIGHT", response(200, {"X-RateLimit-Limit": "6000",
                                      "X-RateLimit-Remaining": "5893"}))
    assert p.rate("LIGHT") == pytest.approx(30)


def test_budget_and_plan_are_checked() -> None:
    with pytest.raises(ValueError, match="budget"):
        Pacer("pro", 1.5)
    with pytest.raises(ValueError, match="plan"):
        Pacer("enterprise-plus")


def test_a_burst_at_full_budget_is_never_throttled(
    start_emulator: Callable[..., RunningEmulator]
) -> None:
    emu = start_emulator(plan="pro", limits=None)  # Zoom's Pro table: Medium 20/s
    calls, threads = 45, 3
    with client_for(emu, pacer=Pacer("pro", budget=1.0)) as zoom:
        zoom.get("/users", label="MEDIUM")  # fetch the token outside the timing
        emu.emulator.limiter.reset()
        started = time.monotonic()
        workers = [threading.Thread(target=lambda: [zoom.get("/users", label="MEDIUM")
                                                    for _ in range(calls // threads)])
                   for _ in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        elapsed = time.monotonic() - started
    counters = emu.emulator.limiter.counters()["labels"]["MEDIUM"]
    assert counters == {"calls": calls, "throttled": 0, "throttled_daily": 0}
    # 45 calls are 44 intervals of 50 ms: about 2.2 s, i.e. 20/s.
    assert 0.80 * 20 <= (calls - 1) / elapsed <= 1.05 * 20


def test_daily_cap_surfaces_as_daily_limit_error(
    start_emulator: Callable[..., RunningEmulator]
) -> None:
    emu = start_emulator(daily_cap=3)
    clock = emu.emulator.clock
    uuid = max(emu.emulator.dataset.ended_instances(clock.now()), key=lambda i: i.people).uuid
    report = path_for("/report/meetings/{meetingId}", meetingId=uuid)
    with client_for(emu) as zoom:
        for _ in range(3):
            zoom.get(report, label="HEAVY")
        assert zoom.stats()["HEAVY"].daily_remaining == 0
        with pytest.raises(DailyLimitError) as caught:
            zoom.get(report, label="HEAVY")
        sent = emu.emulator.limiter.counters()
        # Resource-intensive shares the cap: refused here, without a call to Zoom.
        with pytest.raises(DailyLimitError, match="not sent"):
            zoom.get("/metrics/meetings", {"type": "past"}, label="RESOURCE_INTENSIVE")
        assert emu.emulator.limiter.counters() == sent
        stats = zoom.stats()
    assert caught.value.retry_at == datetime(2026, 11, 2, tzinfo=UTC)  # next 00:00 UTC
    assert caught.value.label == "HEAVY" and caught.value.status == 429
    assert stats["HEAVY"].throttled == 1 and stats["HEAVY"].retries == 0
