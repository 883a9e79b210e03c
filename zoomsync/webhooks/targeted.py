"""A `Discovery` restricted to the ids named in webhook events: a targeted refresh.

The sync's source asks its Discovery for every partition list (users, meeting ids,
instances, windows). Answering those lists from a `Refresh` instead of from Zoom's
account-wide lists makes the same source fetch only what the events touched, through the
same endpoints, pacing, row preparation and column hints as a full sync, so a refreshed
row is exactly the row a sync would load. No HEAVY history report is read.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from zoomsync.errors import SkippableAPIError
from zoomsync.sync.discovery import Discovery
from zoomsync.sync.fanout import FanOut
from zoomsync.sync.report import RunReport
from zoomsync.sync.state import row_hash
from zoomsync.webhooks.events import Refresh
from zoomsync.zoom.client import ZoomClient, path_for


class EventDiscovery(Discovery):
    """Partition lists that hold only the refresh's ids.

    Use it with `zoom_source(..., incremental=False)`: the refresh is not a complete
    listing, so no row may be judged vanished or unchanged from it.
    """

    def __init__(self, client: ZoomClient, fanout: FanOut, report: RunReport,
                 refresh: Refresh) -> None:
        super().__init__(client, fanout, report, start=refresh.recordings_since)
        self.refresh = refresh

    def users(self) -> list[dict[str, Any]]:
        def profiles() -> list[dict[str, Any]]:
            found = self._details("users", "/users/{userId}", "LIGHT", sorted(self.refresh.users))
            # The markers the users stream reads: a full profile, fetched this run.
            return [{**p, "_profiled": True, "_list_version": row_hash(p)}
                    for p in found.values()]
        return self._memo("users", profiles)

    def user_ids(self) -> list[str]:
        # The `users` partition feeds recordings and user settings.
        return sorted(self.refresh.recording_hosts | self.refresh.user_settings)

    def groups(self) -> list[dict[str, Any]]:
        return [{"id": g} for g in sorted(self.refresh.groups)]

    def history(self) -> list[dict[str, Any]]:
        return []

    def history_since(self, since: date) -> list[dict[str, Any]]:
        return []

    def scheduled_meetings(self) -> list[dict[str, Any]]:
        return []

    def listed_webinars(self) -> list[dict[str, Any]]:
        return []

    def meeting_ids(self) -> list[int]:
        return sorted(self.refresh.meetings)

    def webinar_ids(self) -> list[int]:
        return sorted(self.refresh.webinars)

    def definition_ids(self, kind: str) -> list[str]:
        ids = self.refresh.meetings if kind == "meeting" else self.refresh.webinars
        return [str(i) for i in sorted(ids)]

    def meeting_instances(self, since: date | None = None) -> list[str]:
        return sorted(self.refresh.instances)

    def webinar_instances(self, since: date | None = None) -> list[str]:
        return sorted(self.refresh.webinar_instances)

    def gone_recordings(self) -> list[str]:
        """Recording UUIDs from recording.deleted/trashed events that Zoom answers 404 for."""
        gone = []
        for uuid in sorted(self.refresh.gone_recordings):
            try:
                self.client.get(path_for("/meetings/{meetingId}/recordings", meetingId=uuid),
                                label="LIGHT")
            except SkippableAPIError as exc:
                if exc.status == 404:
                    gone.append(uuid)
        return gone
