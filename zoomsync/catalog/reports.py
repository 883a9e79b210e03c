"""Reports, recordings and dashboards: windows of at most a month within Zoom's retention."""

from __future__ import annotations

from zoomsync.catalog.stream import Stream

STREAMS = (
    Stream(
        name="recordings", path="/users/{userId}/recordings", label="MEDIUM",
        primary_key=("uuid",), partition="users", list_key="meetings", page_size=300,
        # Recordings outlive the 6-month report window (they stay until deleted), and the
        # list takes one month per call: walk back 13 months. Transcripts and summaries
        # arrive days late: re-read 29 days, one window (simstudioai/sim uses 30 days).
        windowed=True, reach_days=395, lookback_days=29, scopes=("recording:read:admin",),
        granular_scopes=("cloud_recording:read:list_user_recordings:admin",),
        drop=("recording_play_passcode", "password"),
        description="Cloud recordings per meeting instance; their files land in the child "
                    "table recordings__recording_files. Fetched per user in 30-day windows "
                    "over the last 13 months.",
    ),
    Stream(
        name="daily_usage", path="/report/daily", label="HEAVY", primary_key=("date",),
        partition="months", list_key="dates", scopes=("report:read:admin",),
        description="Account usage per day (new users, meetings, participants, minutes).",
    ),
    Stream(
        name="dashboard_meetings", path="/metrics/meetings", label="RESOURCE_INTENSIVE",
        primary_key=("uuid",), partition="windows", list_key="meetings", page_size=300,
        params={"type": "past"}, scopes=("dashboard:read:admin",),
        granular_scopes=("dashboard:read:list_meetings:admin",), plan="business",
        default=False, personal=("host", "email"),
        description="Dashboard view of past meetings (Business plan; Resource-intensive: "
                    "10-20 calls a minute). Opt in with --streams.",
    ),
    Stream(
        name="dashboard_meeting_participants", label="HEAVY",
        path="/metrics/meetings/{meetingId}/participants",
        primary_key=("meeting_uuid", "user_id", "join_time"), partition="meeting_instances",
        list_key="participants", parent_key="meeting_uuid", page_size=300,
        params={"type": "past"}, scopes=("dashboard:read:admin",),
        granular_scopes=("dashboard:read:list_meeting_participants:admin",), plan="business",
        default=False, personal=("user_name", "email", "ip_address", "pc_name", "mac_addr"),
        description="Per join segment with device, network and quality detail (Business "
                    "plan; one Heavy call per instance). Opt in with --streams.",
    ),
)
