"""`zoomsync check`: can this app read what we sync, on this plan, into this destination?

Zoom refuses a missing scope and a missing add-on in similar words (research §11.11), and a
connector that finds out mid-sync loses the run; so check up front, per stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from zoomsync.catalog import Stream
from zoomsync.errors import EntitlementError, ScopeError
from zoomsync.zoom import ZoomClient, path_for


@dataclass
class StreamCheck:
    stream: str
    ok: bool
    detail: str


def granted(stream: Stream, scopes: frozenset[str]) -> bool | None:
    """True if the token holds one of the stream's classic or granular scopes; None: unknown."""
    if not scopes:
        return None
    return bool(scopes & {*stream.scopes, *stream.granular_scopes})


def probe_webinars(client: ZoomClient, user_id: str) -> str | None:
    """None if the account has the Webinar add-on, else Zoom's refusal."""
    try:
        client.get(path_for("/users/{userId}/webinars", userId=user_id), {"page_size": 1},
                   label="MEDIUM")
    except EntitlementError as exc:
        return exc.message.split(". ")[0]
    return None


def probe_dashboards(client: ZoomClient) -> str | None:
    today = datetime.now(UTC).date()
    try:
        client.get("/metrics/meetings", {"type": "past", "page_size": 1,
                                         "from": (today - timedelta(days=1)).isoformat(),
                                         "to": today.isoformat()}, label="RESOURCE_INTENSIVE")
    except (EntitlementError, ScopeError) as exc:
        return exc.message.split(". ")[0]
    return None


def check_streams(client: ZoomClient, streams: list[Stream], plan: str) -> list[StreamCheck]:
    scopes = client.auth.scopes
    first_user = next(iter(client.paginate("/users", {"status": "active"}, label="MEDIUM",
                                           list_key="users", page_size=1)), None)
    webinar_refusal = None
    if first_user and any(s.name.startswith(("webinar", "past_webinar")) for s in streams):
        webinar_refusal = probe_webinars(client, first_user["id"])
    dashboard_refusal = None
    if any(s.plan == "business" for s in streams):
        dashboard_refusal = probe_dashboards(client)
    out = []
    for s in streams:
        has = granted(s, scopes)
        if has is False:
            out.append(StreamCheck(s.name, False, "missing scope: add one of "
                                   f"{', '.join(s.scopes + s.granular_scopes)} to the app"))
        elif webinar_refusal and s.name.startswith(("webinar", "past_webinar")):
            out.append(StreamCheck(s.name, False, f"account lacks the Webinar add-on: "
                                   f"{webinar_refusal}"))
        elif dashboard_refusal and s.plan == "business":
            out.append(StreamCheck(s.name, False, f"dashboards unavailable: {dashboard_refusal}"))
        else:
            note = "scope granted" if has else "scopes not listed by Zoom; not verified"
            out.append(StreamCheck(s.name, True, note))
    return out


def observed_limits(client: ZoomClient) -> dict[str, float]:
    """The per-second limits the pacer now believes, after Zoom's headers corrected them."""
    return {label: client.pacer.rate(label) for label in
            ("LIGHT", "MEDIUM", "HEAVY", "RESOURCE_INTENSIVE")}
