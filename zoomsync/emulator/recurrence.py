"""Meeting schedules as Zoom's create-meeting API takes them: start times and recurrence.

https://developers.zoom.us/docs/api/meetings/#tag/meetings/POST/users/{userId}/meetings
- `start_time` is `yyyy-MM-ddTHH:mm:ssZ` (UTC) or `yyyy-MM-ddTHH:mm:ss` in `timezone`.
- `recurrence.type`: 1 daily, 2 weekly (`weekly_days` "1,3" with 1 = Sunday), 3 monthly
  (`monthly_day`, or `monthly_week` -1/1-4 with `monthly_week_day` 1-7), every
  `repeat_interval` days, weeks or months.
- It ends after `end_times` occurrences (default 1, 0 = no end, at most 60) or on
  `end_date_time`, not both.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_OCCURRENCES = 60  # Zoom's cap, also used for "no end" (end_times = 0)
_MAX_INTERVAL = {1: 99, 2: 50, 3: 10}  # repeat_interval limits per recurrence type
_RECURRENCE_KEYS = {"type", "repeat_interval", "weekly_days", "monthly_day", "monthly_week",
                    "monthly_week_day", "end_times", "end_date_time"}


class ScheduleError(ValueError):
    """The schedule is not one Zoom would accept; the message says why."""


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"unknown timezone {name!r}") from None


def parse_time(value: Any, tz_name: str, field: str = "start_time") -> datetime:
    """An aware UTC datetime, whole seconds; a time without offset is local to `tz_name`."""
    if not isinstance(value, str):
        raise ScheduleError(f"{field} must be an ISO-8601 string")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ScheduleError(f"{field} is not an ISO-8601 date-time: {value!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone(tz_name))
    return when.astimezone(UTC).replace(microsecond=0)


def normalize(recurrence: Any) -> dict[str, Any]:
    """The recurrence as `GET /meetings/{id}` shows it, or ScheduleError."""
    if not isinstance(recurrence, Mapping):
        raise ScheduleError("recurrence must be an object")
    unknown = set(recurrence) - _RECURRENCE_KEYS
    if unknown:
        raise ScheduleError(f"unknown recurrence fields: {', '.join(sorted(unknown))}")
    kind = _int(recurrence, "type", None)
    if kind not in _MAX_INTERVAL:
        raise ScheduleError("recurrence.type must be 1 (daily), 2 (weekly) or 3 (monthly)")
    out: dict[str, Any] = {"type": kind, "repeat_interval": _int(recurrence, "repeat_interval", 1)}
    if not 1 <= out["repeat_interval"] <= _MAX_INTERVAL[kind]:
        raise ScheduleError(f"recurrence.repeat_interval must be 1-{_MAX_INTERVAL[kind]}")
    if kind == 2:
        out["weekly_days"] = _weekly_days(recurrence.get("weekly_days"))
    elif kind == 3:
        out.update(_monthly(recurrence))
    if "end_times" in recurrence and "end_date_time" in recurrence:
        raise ScheduleError("recurrence takes end_times or end_date_time, not both")
    if "end_date_time" in recurrence:
        end = parse_time(recurrence["end_date_time"], "UTC", "recurrence.end_date_time")
        out["end_date_time"] = end.strftime("%Y-%m-%dT%H:%M:%SZ")
    else:
        out["end_times"] = _int(recurrence, "end_times", 1)
        if not 0 <= out["end_times"] <= MAX_OCCURRENCES:
            raise ScheduleError(f"recurrence.end_times must be 0-{MAX_OCCURRENCES}")
    return out


def occurrences(start: datetime, tz_name: str, recurrence: Mapping[str, Any]) -> list[datetime]:
    """Every occurrence of a normalized recurrence from `start` (UTC), at `start`'s local time."""
    tz = zone(tz_name)
    local = start.astimezone(tz)
    limit = recurrence.get("end_times") or MAX_OCCURRENCES
    until = recurrence.get("end_date_time")
    end = datetime.fromisoformat(until) if until else None
    out: list[datetime] = []
    for day in _days(local.date(), recurrence):
        # Recomposing the local wall time keeps a 9:00 meeting at 9:00 across DST changes.
        when = datetime.combine(day, local.time().replace(tzinfo=None), tz).astimezone(UTC)
        if when < start:
            continue
        if (end is not None and when > end) or len(out) >= limit:
            break
        out.append(when)
    return out


def _days(first: date, rec: Mapping[str, Any]) -> Iterator[date]:
    """Candidate dates in order; bounded, because a monthly rule may match rarely."""
    step = rec["repeat_interval"]
    if rec["type"] == 1:
        for n in range(0, 366 * 3, step):
            yield first + timedelta(days=n)
    elif rec["type"] == 2:
        days = {int(d) for d in rec["weekly_days"].split(",")}
        sunday = first - timedelta(days=first.isoweekday() % 7)  # Zoom weeks start on Sunday
        for week in range(0, 52 * 3, step):
            for offset in range(7):
                day = sunday + timedelta(weeks=week, days=offset)
                if offset + 1 in days:
                    yield day
    else:
        for n in range(0, 12 * 10, step):
            year, month = divmod(first.month - 1 + n, 12)
            day = _monthly_date(first.year + year, month + 1, rec)
            if day is not None:
                yield day


def _monthly_date(year: int, month: int, rec: Mapping[str, Any]) -> date | None:
    last = calendar.monthrange(year, month)[1]
    if "monthly_day" in rec:
        # A month without that day (the 31st in April) has no occurrence.
        return date(year, month, rec["monthly_day"]) if rec["monthly_day"] <= last else None
    weekday = rec["monthly_week_day"]  # 1 = Sunday
    days = [d for d in range(1, last + 1) if date(year, month, d).isoweekday() % 7 + 1 == weekday]
    week = rec["monthly_week"]
    return date(year, month, days[-1] if week == -1 else days[week - 1])


def _weekly_days(value: Any) -> str:
    text = str(value or "")
    try:
        days = sorted({int(d) for d in text.split(",")})
    except ValueError:
        days = []
    if not days or not all(1 <= d <= 7 for d in days):
        raise ScheduleError("a weekly recurrence needs weekly_days such as \"2\" or \"1,3\"")
    return ",".join(str(d) for d in days)


def _monthly(rec: Mapping[str, Any]) -> dict[str, int]:
    if "monthly_day" in rec:
        day = _int(rec, "monthly_day", 1)
        if not 1 <= day <= 31:
            raise ScheduleError("recurrence.monthly_day must be 1-31")
        return {"monthly_day": day}
    week, weekday = _int(rec, "monthly_week", None), _int(rec, "monthly_week_day", None)
    if week not in (-1, 1, 2, 3, 4) or weekday not in range(1, 8):
        raise ScheduleError("a monthly recurrence needs monthly_day, or monthly_week (-1, 1-4) "
                            "with monthly_week_day (1-7)")
    return {"monthly_week": week, "monthly_week_day": weekday}  # type: ignore[dict-item]


def _int(source: Mapping[str, Any], key: str, default: int | None) -> Any:
    value = source.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScheduleError(f"recurrence.{key} must be an integer")
    return value
