"""Pacing per Zoom rate-limit label: even spacing, header corrections, Retry-After, daily cap.

Zoom's limits are per account and shared by every app installed on it, per label
(Light, Medium, Heavy, Resource-intensive), with one daily cap shared by Heavy and
Resource-intensive calls: https://developers.zoom.us/docs/api/rate-limits/ (zoom-api.md §5).
We pace at a share (`budget`) of the plan's numbers so the customer's other apps keep theirs.

Written by hand rather than with a rate-limiting library: the libraries pace a fixed rate,
but none keys by Zoom's label, corrects itself from `X-RateLimit-*`, knows that the same
headers count a daily budget on Heavy/Resource-intensive 200s, or reads Zoom's ISO-8601
`Retry-After`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import httpx

from zoomsync.errors import DailyLimitError, RunStopped
from zoomsync.zoom.retry import jittered_backoff, next_utc_midnight, parse_retry_after

log = logging.getLogger("zoomsync.zoom")

LIGHT, MEDIUM, HEAVY, RESOURCE_INTENSIVE = "LIGHT", "MEDIUM", "HEAVY", "RESOURCE_INTENSIVE"
LABELS = (LIGHT, MEDIUM, HEAVY, RESOURCE_INTENSIVE)
# Requests per window; the window is a second, a minute for Resource-intensive.
PLAN_LIMITS: dict[str, dict[str, float]] = {
    "pro": {LIGHT: 30, MEDIUM: 20, HEAVY: 10, RESOURCE_INTENSIVE: 10},
    "business": {LIGHT: 80, MEDIUM: 60, HEAVY: 40, RESOURCE_INTENSIVE: 20},
}
WINDOW_S = {LIGHT: 1.0, MEDIUM: 1.0, HEAVY: 1.0, RESOURCE_INTENSIVE: 60.0}
# Heavy and Resource-intensive share one daily budget per account.
DAILY_LABELS = frozenset({HEAVY, RESOURCE_INTENSIVE})
# A header limit above this cannot be per second: it is a daily budget (a user saw
# `Light / 6000 / 5893` on a low plan, zoom-api.md §5).
PER_SECOND_MAX = 1000
# Burst allowance: up to this many seconds' worth of calls may leave back to back.
BURST_S = 0.05


def normalize_label(label: str) -> str:
    """`"Resource-intensive"`, `"heavy"` … → `"RESOURCE_INTENSIVE"`, `"HEAVY"`; the spec's case
    is inconsistent."""
    key = label.strip().upper().replace("-", "_").replace(" ", "_")
    if key not in LABELS:
        raise ValueError(f"unknown Zoom rate-limit label {label!r}; expected one of {LABELS}")
    return key


@dataclass
class LabelStats:
    """What one label cost. `daily_remaining` is Zoom's last word on the daily budget."""

    calls: int = 0
    throttled: int = 0
    retries: int = 0
    restarts: int = 0
    wait_seconds: float = 0.0
    bytes: int = 0
    daily_remaining: int | None = None


class _Slots:
    """Even spacing with a small burst, as a virtual schedule (GCRA): each call reserves the
    next slot, so threads queue in order and sleep without holding a lock."""

    def __init__(self, rate: float) -> None:
        self.tat = -math.inf  # when the next call would be due if no burst were allowed
        self.paused_until = -math.inf
        self.set_rate(rate)

    def set_rate(self, rate: float) -> None:
        self.rate = rate
        self.interval = 1.0 / rate
        burst = max(1.0, math.floor(rate * BURST_S))
        self.tolerance = (burst - 1) * self.interval

    def reserve(self, now: float) -> float:
        tat = max(self.tat, now)
        slot = max(now, tat - self.tolerance, self.paused_until)
        self.tat = max(tat, slot) + self.interval
        return slot

    def pause(self, until: float) -> None:
        # After a pause one call goes at `until`, then the rest are spaced: no burst.
        self.paused_until = max(self.paused_until, until)
        self.tat = max(self.tat, until + self.tolerance)


class Pacer:
    """One thread-safe limiter per Zoom rate-limit label, at `budget` × the plan's limits.

    Share one Pacer among every client of an account: the limits are the account's.

    Args:
        limits: per-label overrides of the plan's requests per window.
        clock, sleep: monotonic time and sleeping, injectable for tests. The default sleep
            ends at once, raising RunStopped, when `cancel()` is called.
        wall: Unix time, for `Retry-After` dates and the daily reset.
        max_pause: a `Retry-After` further away than this is treated like the daily cap
            (`DailyLimitError`) instead of parking a worker for hours.
    """

    def __init__(
        self,
        plan: str = "pro",
        budget: float = 0.8,
        limits: Mapping[str, float] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
        wall: Callable[[], float] = time.time,
        max_pause: float = 900.0,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
    ) -> None:
        if plan not in PLAN_LIMITS:
            raise ValueError(f"unknown Zoom plan {plan!r}; expected one of {sorted(PLAN_LIMITS)}")
        if not 0 < budget <= 1:
            raise ValueError(f"budget is a share of Zoom's limits in (0, 1], got {budget}")
        self.plan, self.budget = plan, budget
        self.limits = dict(PLAN_LIMITS[plan])
        # Limits set by hand are kept; the plan's are corrected from Zoom's headers.
        self._pinned = {normalize_label(label) for label in limits or {}}
        for label, value in (limits or {}).items():
            self.limits[normalize_label(label)] = float(value)
        self._cancelled = threading.Event()
        self.clock, self.wall = clock, wall
        self.sleep = sleep if sleep is not None else self._sleep
        self.max_pause, self.backoff, self.max_backoff = max_pause, backoff, max_backoff
        self._lock = threading.Lock()
        self._slots = {label: _Slots(self._rate(label)) for label in LABELS}
        self._stats = {label: LabelStats() for label in LABELS}
        self._streak = dict.fromkeys(LABELS, 0)  # 429s in a row, for backoff
        self._exhausted: dict[str, float] = {}  # label -> Unix time the daily cap resets
        self._warned: set[str] = set()

    def cancel(self) -> None:
        """End every wait now and refuse new ones (RunStopped), until `resume()`: a stopping
        run must not sit out a 429 pause or a backoff before its process can exit."""
        self._cancelled.set()

    def resume(self) -> None:
        self._cancelled.clear()

    def check(self, method: str = "GET", path: str = "") -> None:
        """Raise RunStopped if cancelled."""
        if self._cancelled.is_set():
            raise RunStopped(f"{method} {path}: not sent, the run is stopping".strip())

    def _sleep(self, seconds: float) -> None:
        if self._cancelled.wait(max(seconds, 0.0)):
            raise RunStopped("the run is stopping")

    def _rate(self, label: str) -> float:
        return self.budget * self.limits[label] / WINDOW_S[label]

    def acquire(self, label: str, *, method: str = "GET", path: str = "") -> float:
        """Block until `label` may send one call; returns the seconds waited.

        Raises DailyLimitError, without calling Zoom, while the label's daily cap is spent.
        """
        label = normalize_label(label)
        slots = self._slots[label]
        waited = 0.0
        while True:
            self.check(method, path)
            with self._lock:
                self._raise_if_exhausted(label, method, path)
                now = self.clock()
                slot = slots.reserve(now)
            if slot - now > 1e-9:  # not float dust from the burst arithmetic
                self.sleep(slot - now)
                waited += slot - now
            with self._lock:
                # A 429 elsewhere may have paused the label while we slept: queue again.
                if slots.paused_until <= self.clock():
                    self._stats[label].calls += 1
                    self._stats[label].wait_seconds += waited
                    return waited

    def observe(self, label: str, response: httpx.Response) -> None:
        """Learn from a successful response's `X-RateLimit-*` headers."""
        label = normalize_label(label)
        headers = response.headers
        limit = _number(headers.get("x-ratelimit-limit"))
        remaining = _number(headers.get("x-ratelimit-remaining"))
        category = headers.get("x-ratelimit-category")
        with self._lock:
            self._streak[label] = 0
            self._check_category(label, category)
            if limit is None or remaining is None:
                return
            if label in DAILY_LABELS:
                # On Heavy/RI 200s the headers count the daily budget both labels share.
                for daily in DAILY_LABELS:
                    self._stats[daily].daily_remaining = int(remaining)
                if remaining <= 0.05 * limit and "daily" not in self._warned:
                    self._warned.add("daily")
                    log.warning("only %d of Zoom's %d daily Heavy/Resource-intensive calls "
                                "are left on this account", remaining, limit)
                return
            if limit > PER_SECOND_MAX:
                return
            self._correct_limit(label, limit)
            if remaining < 1:
                # The bucket is empty though we keep below the limit: other apps on the
                # account are spending it too. Give Zoom one call's worth of time back.
                self._slots[label].pause(self.clock() + 1.0 / limit)

    def on_429(self, label: str, response: httpx.Response, *, path: str | None = None) -> float:
        """Pause `label` as a 429 asks; returns the pause in seconds.

        Raises DailyLimitError for the daily cap (`X-RateLimit-Type: Daily-limit`, or the
        daily message when Zoom omits the headers) and marks the label, and its daily
        partner, spent until `Retry-After` (default: next 00:00 UTC, when Zoom resets).
        """
        label = normalize_label(label)
        headers = response.headers
        message = _message(response)
        now = self.wall()
        retry_at = parse_retry_after(headers.get("retry-after"), now)
        daily = (headers.get("x-ratelimit-type", "").lower() == "daily-limit"
                 or "daily" in message.lower())
        long_wait = retry_at is not None and retry_at - now > self.max_pause
        until = wait = 0.0
        with self._lock:
            self._stats[label].throttled += 1
            if daily or long_wait:
                until = retry_at if retry_at is not None else next_utc_midnight(now)
                for spent in (DAILY_LABELS if label in DAILY_LABELS else {label}):
                    self._exhausted[spent] = max(self._exhausted.get(spent, 0.0), until)
                    if spent in DAILY_LABELS:
                        self._stats[spent].daily_remaining = 0
            else:
                # A per-second 429 names the real limit, the only place Heavy's is shown.
                limit = _number(headers.get("x-ratelimit-limit"))
                if limit is not None and limit <= PER_SECOND_MAX:
                    self._correct_limit(label, limit)
                self._streak[label] += 1
                if retry_at is None:
                    wait = jittered_backoff(self._streak[label], self.backoff, self.max_backoff)
                else:
                    wait = max(retry_at - now, 0.0)
                self._slots[label].pause(self.clock() + wait)
        method, sent = _request_line(response)
        path = sent if path is None else path
        if daily or long_wait:
            log.warning("Zoom's daily limit for %s calls is spent until %s", label,
                        _iso(until))
            raise _daily_error(label, until, message, method, path)
        log.info("Zoom throttled %s %s (%s); pausing %s calls for %.2f s", method, path,
                 headers.get("x-ratelimit-type", "no type"), label, wait)
        return wait

    def record(self, label: str, *, retries: int = 0, restarts: int = 0, bytes: int = 0,
               wait_seconds: float = 0.0) -> None:
        """Add the client's own counts to the label's stats."""
        with self._lock:
            stats = self._stats[normalize_label(label)]
            stats.retries += retries
            stats.restarts += restarts
            stats.bytes += bytes
            stats.wait_seconds += wait_seconds

    def stats(self) -> dict[str, LabelStats]:
        """A snapshot of every label's counters."""
        with self._lock:
            return {label: replace(stats) for label, stats in self._stats.items()}

    def rate(self, label: str) -> float:
        """The calls per second this pacer allows `label` now."""
        with self._lock:
            return self._slots[normalize_label(label)].rate

    def _correct_limit(self, label: str, limit: float) -> None:
        # The configured plan may be wrong; Zoom's headers are not. Hand-set limits stay.
        if limit == self.limits[label] or label in self._pinned or limit <= 0:
            return
        window = "min" if label == RESOURCE_INTENSIVE else "s"
        log.info("Zoom reports a %s limit of %g/%s (expected %g); pacing at %g/%s", label,
                 limit, window, self.limits[label], self.budget * limit, window)
        self.limits[label] = limit
        self._slots[label].set_rate(self._rate(label))

    def _raise_if_exhausted(self, label: str, method: str, path: str) -> None:
        until = self._exhausted.get(label)
        if until is None:
            return
        if self.wall() >= until:
            del self._exhausted[label]
            return
        raise _daily_error(label, until, "not sent: Zoom's daily cap was reached earlier",
                           method, path)

    def _check_category(self, label: str, category: str | None) -> None:
        # The label comes from the catalog, the category from Zoom: say so when they differ,
        # once, because the pacing of that endpoint is then wrong.
        try:
            actual = normalize_label(category) if category else label
        except ValueError:
            return
        if actual != label and f"{label}->{actual}" not in self._warned:
            self._warned.add(f"{label}->{actual}")
            log.warning("Zoom counts a call paced as %s against its %s limit", label, actual)


def _daily_error(label: str, until: float, message: str, method: str,
                 path: str) -> DailyLimitError:
    return DailyLimitError(429, 429, message, method, path,
                           retry_at=datetime.fromtimestamp(until, UTC), label=label)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _number(value: str | None) -> float | None:
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase
    message = body.get("message") if isinstance(body, dict) else None
    return str(message) if message else response.reason_phrase


def _request_line(response: httpx.Response) -> tuple[str, str]:
    try:
        request = response.request
    except RuntimeError:  # a Response built without a request
        return "GET", ""
    return request.method, request.url.raw_path.decode("ascii").split("?", 1)[0]
