"""When to try again: Zoom's `Retry-After` in its three forms, jittered backoff, the daily reset."""

from __future__ import annotations

import email.utils
import logging
import math
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

log = logging.getLogger("zoomsync.zoom")


def jittered_backoff(attempt: int, base: float, cap: float,
                     rng: Callable[[], float] = random.random) -> float:
    """`base·2^(attempt-1)` capped at `cap`, drawn from its upper half ("equal jitter")."""
    delay = min(cap, base * 2 ** max(0, attempt - 1))
    return delay / 2 + rng() * delay / 2


def parse_retry_after(value: str | None, now: float) -> float | None:
    """When to retry, as a Unix time, from delta-seconds, an HTTP-date or ISO-8601.

    Zoom documents `Retry-After: 2020-05-31T00:00:00Z` for the daily cap, not the
    delta-seconds or HTTP-date of RFC 9110: https://developers.zoom.us/docs/api/rate-limits/
    """
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return now + max(0.0, seconds) if math.isfinite(seconds) else None
    when: datetime
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            log.debug("ignoring unparseable Retry-After %r", text)
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def next_utc_midnight(now: float) -> float:
    """When Zoom's daily limits reset: 00:00 UTC after `now` (the documented Retry-After
    example is a midnight, zoom-api.md §5)."""
    today = datetime.fromtimestamp(now, UTC).date()
    return datetime.combine(today + timedelta(days=1), datetime.min.time(), UTC).timestamp()
