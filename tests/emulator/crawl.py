"""Walk every emulated endpoint over every object of a dataset, following every page.

The walk is driven by the dataset itself (not by what the API lists) so that it reaches
the traps too: pending users, ended instant meetings, UUIDs with `/`, live meetings.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from zoomsync.emulator.app import Emulator
from zoomsync.emulator.routing import ROUTES, match


def encode_uuid(uuid: str) -> str:
    """Zoom's rule: encode once, and twice when the UUID begins with `/` or contains `//`."""
    once = quote(uuid, safe="")
    return quote(once, safe="") if uuid.startswith("/") or "//" in uuid else once


@dataclass
class Call:
    template: str
    url: str
    status: int
    body: Any


def months_back(today: date, n: int) -> Iterator[tuple[str, str]]:
    """`n` consecutive windows of 30 days ending today, newest first."""
    end = today
    for _ in range(n):
        start = end - timedelta(days=29)
        yield start.isoformat(), end.isoformat()
        end = start - timedelta(days=1)


def requests_for(emu: Emulator) -> Iterator[str]:
    """Every request path (below /v2) the walk makes before following pages."""
    ds = emu.dataset
    today = emu.clock.now().date()
    windows = list(months_back(today, 7))
    yield "/accounts/me/settings"
    yield "/h323/devices"
    yield "/roles"
    for status in ("active", "inactive", "pending"):
        yield f"/users?status={status}&page_size=3"
    yield "/users?page_size=2&page_number=2"
    yield "/groups"
    for g in ds.groups:
        yield f"/groups/{g['id']}"
        yield f"/groups/{g['id']}/members?page_size=2"
    for user in ds.users.values():
        key = user.id if user.status != "pending" else quote(user.email, safe="")
        yield f"/users/{key}"
        yield f"/users/{key}/settings"
        for kind in ("scheduled", "live", "upcoming", "previous_meetings"):
            yield f"/users/{key}/meetings?type={kind}&page_size=2"
        yield f"/users/{key}/webinars"
        for start, end in windows[:2]:
            yield f"/users/{key}/recordings?from={start}&to={end}"
            yield f"/report/users/{key}/meetings?from={start}&to={end}&page_size=5"
            yield f"/report/users/{key}/meetings?from={start}&to={end}&type=pastOne"
    for start, end in windows:
        yield f"/report/history_meetings?from={start}&to={end}&page_size=20"
        yield f"/metrics/meetings?type=past&from={start}&to={end}&page_size=20"
        yield f"/metrics/webinars?type=past&from={start}&to={end}"
    yield f"/metrics/meetings?from={windows[0][0]}&to={windows[0][1]}"
    for start, end in windows[:2]:
        yield f"/report/users?type=active&from={start}&to={end}"
        yield f"/accounts/me/recordings?from={start}&to={end}"
    for m in range(6):
        first = (today.replace(day=1) - timedelta(days=31 * m)).replace(day=1)
        yield f"/report/daily?year={first.year}&month={first.month}"
    for d in ds.definitions.values():
        kind = "meetings" if d.kind == "meeting" else "webinars"
        yield f"/{kind}/{d.id}"
        yield f"/{kind}/{d.id}/polls"
        yield f"/past_{kind}/{d.id}/instances"
        for status in ("approved", "pending", "denied"):
            yield f"/{kind}/{d.id}/registrants?status={status}&page_size=4"
        if d.kind == "meeting":
            yield f"/meetings/{d.id}/registrants/questions"
            yield f"/meetings/{d.id}/recordings"
        else:
            yield f"/webinars/{d.id}/panelists"
    for inst in ds.instances.values():
        u = encode_uuid(inst.uuid)
        if inst.kind == "meeting":
            yield f"/past_meetings/{u}"
            yield f"/past_meetings/{u}/participants?page_size=100"
            yield f"/past_meetings/{u}/polls"
            yield f"/past_meetings/{u}/qa"
            yield f"/report/meetings/{u}"
            yield f"/report/meetings/{u}/participants?page_size=100"
            yield f"/report/meetings/{u}/polls"
            yield f"/report/meetings/{u}/qa"
            yield f"/metrics/meetings/{u}?type=past"
            yield f"/metrics/meetings/{u}/participants?type=past&page_size=100"
            yield f"/meetings/{u}/recordings"
        else:
            yield f"/past_webinars/{u}/participants?page_size=100"
            yield f"/past_webinars/{u}/absentees"
            yield f"/past_webinars/{u}/polls"
            yield f"/past_webinars/{u}/qa"
            yield f"/report/webinars/{u}"
            yield f"/report/webinars/{u}/participants?page_size=100"
            yield f"/report/webinars/{u}/polls"
            yield f"/report/webinars/{u}/qa"
            yield f"/metrics/webinars/{u}?type=past"
            yield f"/metrics/webinars/{u}/participants?type=past"


def crawl(emu: Emulator, client: httpx.Client) -> Iterator[Call]:
    """Make every request and follow `next_page_token` to the end of every list."""
    for path in requests_for(emu):
        found = match(path.split("?", 1)[0], ROUTES)
        template = found[0] if found else "?"
        url = path
        while True:
            r = client.get(url)
            body = r.json()
            yield Call(template, url, r.status_code, body)
            token = body.get("next_page_token") if r.status_code == 200 else None
            if not token:
                break
            base = path.split("&page_number=")[0]
            url = f"{base}{'&' if '?' in base else '?'}next_page_token={quote(token)}"
