"""The Zoom webhook events that admin-API changes cause, built from the REST shapes.

The builders in `webhook_events.py` take what Zoom's REST API returns for the object; this
module makes those shapes from the dataset and chooses the events: one per change, with the
event time of the moment it stands for (a participant's join, an instance's end), so a
receiver that orders by `event_ts` sees them in the order they happened.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from zoomsync.emulator import people, webhook_events
from zoomsync.emulator.clock import iso
from zoomsync.emulator.dataset import Dataset, Definition, Instance, User
from zoomsync.emulator.mutations import owner
from zoomsync.emulator.routes_meetings import full_view
from zoomsync.emulator.routes_recordings import DEFAULT_TTL, _download_token
from zoomsync.emulator.routing import Ctx

if TYPE_CHECKING:
    from zoomsync.emulator.app import Emulator

Event = dict[str, Any]

# A status change is its own event, not part of `user.updated`.
_STATUS_EVENTS = {"inactive": webhook_events.user_deactivated,
                  "active": webhook_events.user_activated}


def instance_view(ds: Dataset, inst: Instance) -> dict[str, Any]:
    """An instance as `GET /past_meetings/{uuid}` shapes it (`end_time` null while live)."""
    d = ds.definitions.get(inst.meeting_id)
    return {
        "id": inst.meeting_id, "uuid": inst.uuid, "host_id": inst.host_id, "topic": inst.topic,
        "type": inst.type, "start_time": iso(inst.start),
        "end_time": iso(inst.end) if inst.end is not None else None,
        # The scheduled duration, as in Zoom's started/ended events.
        "duration": d.duration if d else 0, "timezone": d.timezone if d else "",
    }


class Events:
    """Builds the events for one emulator; `emit` sends them through its webhook sender."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu

    def emit(self, events: list[Event]) -> None:
        for event in events:
            self.emu.webhooks.emit(event)

    # -- users ------------------------------------------------------------------------------

    def user_created(self, user: User, now: datetime) -> list[Event]:
        return [webhook_events.user_created(user.record, **self._by_owner(now))]

    def user_changed(self, old: Mapping[str, Any], user: User, now: datetime) -> list[Event]:
        """`user.updated` for profile changes, `user.(de)activated` for a status change."""
        new = user.record
        events = []
        # `verified` follows the status; neither is a field `user.updated` reports.
        if any(old.get(k) != new.get(k) for k in new if k not in ("status", "verified")):
            events.append(webhook_events.user_updated(old, new, **self._by_owner(now)))
        if old.get("status") != new["status"] and new["status"] in _STATUS_EVENTS:
            events.append(_STATUS_EVENTS[new["status"]](new, **self._by_owner(now)))
        return events

    def user_deleted(self, record: Mapping[str, Any], now: datetime) -> list[Event]:
        return [webhook_events.user_deleted(record, **self._by_owner(now))]

    # -- meetings ---------------------------------------------------------------------------

    def meeting_view(self, d: Definition, now: datetime) -> dict[str, Any]:
        return full_view(self.emu.dataset, d, now)

    def meeting_created(self, d: Definition, now: datetime) -> list[Event]:
        view = self.meeting_view(d, now)
        return [webhook_events.meeting_created(view, **self._by_host(d, now))]

    def meeting_updated(
        self, old: Mapping[str, Any], d: Definition, now: datetime
    ) -> list[Event]:
        new = self.meeting_view(d, now)
        return [webhook_events.meeting_updated(old, new, **self._by_host(d, now))]

    def meeting_deleted(self, view: Mapping[str, Any], d: Definition, now: datetime) -> list[Event]:
        return [webhook_events.meeting_deleted(view, **self._by_host(d, now))]

    # -- instances --------------------------------------------------------------------------

    def started(self, inst: Instance) -> list[Event]:
        view = instance_view(self.emu.dataset, inst)
        return [webhook_events.meeting_started(view, account_id=self.emu.account_id,
                                               now=inst.start)]

    def ended(self, inst: Instance, closed: list[dict]) -> list[Event]:
        """`participant_left` for segments closed by the end, `meeting.ended`, then
        `recording.completed` when the instance was recorded."""
        assert inst.end is not None
        view = instance_view(self.emu.dataset, inst)
        events = [self._left(view, seg) for seg in closed]
        events.append(webhook_events.meeting_ended(view, account_id=self.emu.account_id,
                                                   now=inst.end))
        recording = people.recording(self.emu.dataset, inst)
        if recording is not None:
            events.append(self._recording(inst, recording))
        return events

    def participants(self, inst: Instance, segments: list[dict]) -> list[Event]:
        """A `participant_joined` per segment and a `participant_left` per finished one.

        Webinar instances get none: `webhook_events.py` has no webinar participant events.
        """
        if inst.kind != "meeting":
            return []
        view = instance_view(self.emu.dataset, inst)
        events = []
        for seg in segments:
            joined = datetime.fromisoformat(seg["join_time"])
            events.append(webhook_events.participant_joined(
                view, seg, account_id=self.emu.account_id, now=joined))
            if seg["leave_time"] is not None:
                events.append(self._left(view, seg))
        return events

    # -- helpers ----------------------------------------------------------------------------

    def _left(self, view: Mapping[str, Any], seg: Mapping[str, Any]) -> Event:
        left = datetime.fromisoformat(seg["leave_time"])
        return webhook_events.participant_left(view, seg, account_id=self.emu.account_id, now=left)

    def _recording(self, inst: Instance, recording: Mapping[str, Any]) -> Event:
        assert inst.end is not None
        host = self.emu.dataset.users.get(inst.host_id)
        return webhook_events.recording_completed(
            recording, account_id=self.emu.account_id, host_email=host.email if host else "",
            download_token=self._download_token(inst), now=inst.end)

    def _download_token(self, inst: Instance) -> str:
        # The token `GET /meetings/{id}/recordings?include_fields=download_access_token`
        # gives, so a receiver may use either; it needs a request context to sign with.
        ctx = Ctx(emu=self.emu, template="/meetings/{meetingId}/recordings",
                  raw_params={"meetingId": str(inst.meeting_id)}, query={},
                  account_id=self.emu.account_id, now=self.emu.clock.now())
        return _download_token(ctx, inst, DEFAULT_TTL)

    def _by_owner(self, now: datetime) -> dict[str, Any]:
        operator = owner(self.emu.dataset).record
        return {"account_id": self.emu.account_id, "operator": operator, "now": now}

    def _by_host(self, d: Definition, now: datetime) -> dict[str, Any]:
        # Meetings are changed as their host would change them.
        host = self.emu.dataset.users.get(d.host_id)
        operator = host.record if host else owner(self.emu.dataset).record
        return {"account_id": self.emu.account_id, "operator": operator, "now": now}
