"""From Zoom webhook events to what must be fetched again: a `Refresh` plan.

An event is only a hint that something changed. The applier never loads the event's own
payload: it fetches the object's current state through the same API calls as a sync, so
duplicated, reordered or partial events all converge to what Zoom holds now, and an
object Zoom answers 404 for is marked deleted whatever the events said before.

Event names and payload shapes: Zoom's meetings/users webhook specs (`zoom-openapi/`),
summarised in research/zoom-api.md §9. Quirk handled here: `payload.object.id` is an
integer in meeting.created/updated/deleted but a string in meeting.started/ended and the
participant events; it is normalised to an int.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

log = logging.getLogger("zoomsync.webhooks")

INSTANT = 1  # meeting type: Zoom forgets instant meetings once they end, so does the sync

# Events that change a meeting or webinar definition (GET /meetings/{id}).
_DEFINITION = {"created", "updated", "deleted", "permanently_deleted", "recovered", "started",
               "ended"}
# Events that change what an instance's past-meeting endpoints answer.
_INSTANCE = {"ended", "participant_joined", "participant_left"}
_USER = {"created", "updated", "deleted", "disassociated", "activated", "deactivated",
         "settings_updated", "personal_notes_updated", "presence_status_updated"}
_RECORDING_GONE = {"recording.deleted", "recording.trashed"}


@dataclass
class Refresh:
    """The ids a batch of events names, by what must be fetched for them."""

    users: set[str] = field(default_factory=set)
    user_settings: set[str] = field(default_factory=set)
    meetings: set[int] = field(default_factory=set)
    instances: set[str] = field(default_factory=set)
    webinars: set[int] = field(default_factory=set)
    webinar_instances: set[str] = field(default_factory=set)
    # Zoom finalises an instance's polls, Q&A and absentees when it ends: read them then.
    ended: bool = False
    webinar_ended: bool = False
    # Definitions whose registrants changed (the *.registration_* events).
    registrations: set[int] = field(default_factory=set)
    webinar_registrations: set[int] = field(default_factory=set)
    recording_hosts: set[str] = field(default_factory=set)
    recordings_since: date | None = None
    gone_recordings: set[str] = field(default_factory=set)  # uuids to check for a 404
    groups: set[str] = field(default_factory=set)
    ignored: int = 0  # events that change nothing zoomsync syncs

    def streams(self) -> list[str]:
        """The catalog streams this refresh loads, in catalog order."""
        wanted = {
            "users": self.users, "user_settings": self.user_settings,
            "groups": self.groups, "group_members": self.groups,
            "meetings": self.meetings, "meeting_registrants": self.registrations,
            "past_meetings": self.instances, "meeting_participants": self.instances,
            "meeting_poll_results": self.ended, "meeting_qa": self.ended,
            "webinars": self.webinars, "webinar_registrants": self.webinar_registrations,
            "past_webinars": self.webinar_instances,
            "webinar_participants": self.webinar_instances,
            "webinar_absentees": self.webinar_ended,
            "webinar_poll_results": self.webinar_ended, "webinar_qa": self.webinar_ended,
            "recordings": self.recording_hosts,
        }
        from zoomsync.catalog import CATALOG

        return [name for name in CATALOG if wanted.get(name)]


def plan(events: Iterable[Mapping[str, Any]]) -> Refresh:
    """What to fetch again for these event bodies."""
    refresh = Refresh()
    for body in events:
        try:
            if not _add(refresh, str(body.get("event", "")), body.get("payload") or {}):
                refresh.ignored += 1
        except (KeyError, TypeError, ValueError) as exc:
            # A signed event Zoom shaped differently than its spec: the scheduled
            # reconciliation still covers it; one bad event must not block the others.
            log.warning("webhook event %s not understood (%s): left to the next sync",
                        body.get("event"), exc)
            refresh.ignored += 1
    return refresh


def _add(refresh: Refresh, name: str, payload: Mapping[str, Any]) -> bool:
    kind, _, action = name.partition(".")
    obj: Mapping[str, Any] = payload.get("object") or {}
    if kind in ("meeting", "webinar"):
        return _meeting(refresh, kind, action, obj)
    if kind == "user" and action in _USER:
        refresh.users.add(str(obj["id"]))
        if action == "settings_updated":
            refresh.user_settings.add(str(obj["id"]))
        return True
    if kind == "recording":
        return _recording(refresh, name, obj)
    if kind == "group":
        refresh.groups.add(str(obj["id"]))
        return True
    return False


def _meeting(refresh: Refresh, kind: str, action: str, obj: Mapping[str, Any]) -> bool:
    touched = False
    definitions, instances = ((refresh.meetings, refresh.instances) if kind == "meeting"
                              else (refresh.webinars, refresh.webinar_instances))
    if action in _DEFINITION and obj.get("type") != INSTANT:
        definitions.add(int(str(obj["id"]).replace(" ", "")))
        touched = True
    if action in _INSTANCE and obj.get("uuid"):
        instances.add(str(obj["uuid"]))
        touched = True
        if action == "ended":
            if kind == "meeting":
                refresh.ended = True
            else:
                refresh.webinar_ended = True
    if action.startswith("registration_"):
        # The registrant stream lists a definition's registrants of every status; its
        # partition is the definitions with registration, so the definition is read too.
        meeting_id = int(str(obj["id"]).replace(" ", ""))
        definitions.add(meeting_id)
        (refresh.registrations if kind == "meeting" else refresh.webinar_registrations).add(
            meeting_id)
        touched = True
    return touched


def _recording(refresh: Refresh, name: str, obj: Mapping[str, Any]) -> bool:
    if not obj.get("host_id"):
        return False
    refresh.recording_hosts.add(str(obj["host_id"]))
    # Recordings are listed per host in date windows: one window around the recording.
    if obj.get("start_time"):
        day = datetime.fromisoformat(str(obj["start_time"]).replace("Z", "+00:00")).date()
        day -= timedelta(days=1)
        if refresh.recordings_since is None or day < refresh.recordings_since:
            refresh.recordings_since = day
    if name in _RECORDING_GONE and obj.get("uuid"):
        refresh.gone_recordings.add(str(obj["uuid"]))
    return True
