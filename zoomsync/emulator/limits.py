"""Per-account, per-label rate limits with Zoom's plan tables.

https://developers.zoom.us/docs/api/rate-limits/ (zoom-api.md §5)

Algorithm: one token bucket per (account, label) on the emulator clock, whose capacity is
the label's limit and which refills at limit/window (window: 1 s, or 60 s for
Resource-intensive). Zoom does not publish its algorithm; a bucket lets a client burst up
to the stated limit and then holds it to the stated rate, without the double burst a fixed
window allows at its boundary, so a client that paces itself to the documented numbers is
never throttled and one that does not is. Heavy and Resource-intensive calls also draw on
one daily counter per account that resets at 00:00 UTC. Rejected calls consume nothing.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from starlette.responses import JSONResponse

from zoomsync.emulator.clock import Clock, iso
from zoomsync.emulator.responses import zoom_error

LIGHT, MEDIUM, HEAVY, RESOURCE_INTENSIVE = "LIGHT", "MEDIUM", "HEAVY", "RESOURCE_INTENSIVE"
LABELS = (LIGHT, MEDIUM, HEAVY, RESOURCE_INTENSIVE)

# How Zoom spells the label in `X-RateLimit-Category`.
CATEGORY = {
    LIGHT: "Light",
    MEDIUM: "Medium",
    HEAVY: "Heavy",
    RESOURCE_INTENSIVE: "Resource-intensive",
}

# Requests per window; the window is one second except for Resource-intensive (a minute).
PLAN_LIMITS: dict[str, dict[str, float]] = {
    "pro": {LIGHT: 30, MEDIUM: 20, HEAVY: 10, RESOURCE_INTENSIVE: 10},
    "business": {LIGHT: 80, MEDIUM: 60, HEAVY: 40, RESOURCE_INTENSIVE: 20},
}
WINDOW_SECONDS = {LIGHT: 1.0, MEDIUM: 1.0, HEAVY: 1.0, RESOURCE_INTENSIVE: 60.0}
# One daily budget per account shared by Heavy and Resource-intensive calls.
DAILY_CAP = {"pro": 30_000, "business": 60_000}
DAILY_LABELS = frozenset({HEAVY, RESOURCE_INTENSIVE})

QPS_MESSAGE = "You have reached the maximum per-second rate limit for this API. Try again later."
DAILY_MESSAGE = (
    "You have reached the maximum daily rate limit for this API. Refer to the response "
    "header for details on when you can make another request."
)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def normalize_label(label: str) -> str:
    """`"Resource-intensive"`, `"heavy"` … → the constant; the spec's case is inconsistent."""
    key = label.strip().upper().replace("-", "_").replace(" ", "_")
    if key not in LABELS:
        raise ValueError(f"unknown rate limit label {label!r}; expected one of {LABELS}")
    return key


@dataclass(frozen=True)
class Decision:
    """The verdict on one call: headers go on the response whether or not it is allowed."""

    allowed: bool
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None

    def response(self) -> JSONResponse:
        """The 429 response for a rejected call."""
        if self.allowed or self.body is None:
            raise ValueError("response() is only for rejected calls")
        return zoom_error(429, self.body["code"], self.body["message"], self.headers)


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class _Daily:
    day: date
    used: int = 0


class RateLimiter:
    """Zoom's per-account rate limits. Thread-safe; time comes from the emulator clock."""

    def __init__(
        self,
        clock: Clock,
        plan: str = "pro",
        *,
        limits: Mapping[str, float] | None = None,
        daily_cap: int | None = None,
        emit_headers: bool = True,
    ) -> None:
        if plan not in PLAN_LIMITS:
            raise ValueError(f"unknown plan {plan!r}; expected one of {sorted(PLAN_LIMITS)}")
        self.clock = clock
        self.plan = plan
        # Overrides merge onto the plan's table, so a test can shrink one label only.
        self.limits = dict(PLAN_LIMITS[plan])
        for label, value in (limits or {}).items():
            self.limits[normalize_label(label)] = value
        self.daily_cap = DAILY_CAP[plan] if daily_cap is None else daily_cap
        # Zoom does not always send the headers (zoom-api.md §5, devforum #18928).
        self.emit_headers = emit_headers
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Full buckets, empty daily counters, zeroed statistics."""
        with self._lock:
            self._buckets: dict[tuple[str, str], _Bucket] = {}
            self._daily: dict[str, _Daily] = {}
            self._calls = dict.fromkeys(LABELS, 0)
            self._throttled = dict.fromkeys(LABELS, 0)
            self._throttled_daily = dict.fromkeys(LABELS, 0)

    def check(self, account_id: str, label: str) -> Decision:
        """Admit or reject one call to an endpoint with `label`, spending budget if admitted."""
        label = normalize_label(label)
        now_dt = self.clock.now()
        now = now_dt.timestamp()
        limit = self.limits[label]
        rate = limit / WINDOW_SECONDS[label]
        category = CATEGORY[label]
        with self._lock:
            daily = self._daily_for(account_id, now_dt.date())
            if label in DAILY_LABELS and daily.used >= self.daily_cap:
                self._throttled[label] += 1
                self._throttled_daily[label] += 1
                # Retry-After is an ISO date-time here, not seconds: the documented
                # example is "Retry-After: 2020-05-31T00:00:00Z" (next midnight UTC).
                midnight = datetime.combine(now_dt.date() + timedelta(days=1), time(), UTC)
                return self._reject(
                    DAILY_MESSAGE,
                    {
                        "X-RateLimit-Category": category,
                        "X-RateLimit-Type": "Daily-limit",
                        "X-RateLimit-Limit": str(self.daily_cap),
                        "X-RateLimit-Remaining": "0",
                        "Retry-After": iso(midnight),
                    },
                )
            bucket = self._bucket_for(account_id, label, limit, rate, now)
            if bucket.tokens < 1:
                self._throttled[label] += 1
                # Whole seconds until one token is back, rounded against float dust.
                wait = max(1, math.ceil(round((1 - bucket.tokens) / rate, 6))) if rate else 86_400
                return self._reject(
                    QPS_MESSAGE,
                    {
                        "X-RateLimit-Category": category,
                        "X-RateLimit-Type": "QPS",
                        "X-RateLimit-Limit": _number(limit),
                        "X-RateLimit-Remaining": "0",
                        "Retry-After": str(wait),
                    },
                )
            bucket.tokens -= 1
            self._calls[label] += 1
            if label in DAILY_LABELS:
                daily.used += 1
                # For labels with a daily budget the success headers report that budget,
                # as in the documented 429 example (Heavy, limit 30000) and the
                # `Light / 6000 / 5893` headers a user saw on a 200 (zoom-api.md §5).
                limit_h, remaining = self.daily_cap, self.daily_cap - daily.used
            else:
                limit_h, remaining = limit, int(bucket.tokens)
        if not self.emit_headers:
            return Decision(True)
        return Decision(
            True,
            {
                "X-RateLimit-Category": category,
                "X-RateLimit-Limit": _number(limit_h),
                "X-RateLimit-Remaining": str(remaining),
            },
        )

    def _reject(self, message: str, headers: dict[str, str]) -> Decision:
        return Decision(
            False,
            headers if self.emit_headers else {},
            {"code": 429, "message": message},
        )

    def _daily_for(self, account_id: str, today: date) -> _Daily:
        daily = self._daily.get(account_id)
        if daily is None or daily.day != today:
            # Daily limits reset at 00:00 UTC; the emulator clock is UTC.
            daily = self._daily[account_id] = _Daily(today)
        return daily

    def _bucket_for(
        self, account_id: str, label: str, limit: float, rate: float, now: float
    ) -> _Bucket:
        # A fractional limit (say 0.5/s) still admits one call at a time; 0 admits none.
        capacity = max(float(limit), 1.0) if limit > 0 else 0.0
        bucket = self._buckets.get((account_id, label))
        if bucket is None:
            bucket = self._buckets[(account_id, label)] = _Bucket(capacity, now)
        elif now > bucket.updated:
            # Rounded so float dust (5/6 + 1/6 = 0.999…) does not withhold a due token.
            refilled = round(bucket.tokens + (now - bucket.updated) * rate, 9)
            bucket.tokens = min(capacity, refilled)
            bucket.updated = now
        else:
            # The clock was set backwards: refill nothing, restart from here.
            bucket.updated = now
        return bucket

    def counters(self) -> dict[str, Any]:
        """Statistics for the admin API."""
        today = self.clock.now().date()
        with self._lock:
            labels = {
                label: {
                    "calls": self._calls[label],
                    "throttled": self._throttled[label],
                    "throttled_daily": self._throttled_daily[label],
                }
                for label in LABELS
            }
            daily_used = {a: d.used for a, d in self._daily.items() if d.day == today}
            return {
                "plan": self.plan,
                "labels": labels,
                "daily_used": daily_used,
                "daily_cap": self.daily_cap,
                "calls": sum(self._calls.values()),
                "throttled": sum(self._throttled.values()),
            }
