"""Date windows for report, history and recording endpoints, and the look-back.

Zoom takes at most a month per request (`from`/`to`, both days inclusive) and has no
"modified since" filter, so an incremental run reads the days from its bookmark minus a
look-back up to today: data Zoom finalises late (participants of large meetings,
transcripts) is read again while it is inside the look-back.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

WINDOW_DAYS = 30  # Zoom: "the time range ... is limited to a month"


def since(bookmark: datetime | None, lookback_days: int) -> date | None:
    """The first day an incremental run reads; None: no bookmark, read everything."""
    if bookmark is None:
        return None
    return (bookmark - timedelta(days=lookback_days)).date()


def windows(first: date, today: date) -> list[tuple[str, str]]:
    """Windows of at most WINDOW_DAYS covering [first, today], oldest first."""
    out = []
    day = first
    while day <= today:
        end = min(day + timedelta(days=WINDOW_DAYS - 1), today)
        out.append((day.isoformat(), end.isoformat()))
        day = end + timedelta(days=1)
    return out


def months(first: date, today: date) -> list[tuple[int, int]]:
    """(year, month) of every month touching [first, today], oldest first."""
    out: list[tuple[int, int]] = []
    day = first.replace(day=1)
    while day <= today:
        out.append((day.year, day.month))
        day = (day + timedelta(days=32)).replace(day=1)
    return out
