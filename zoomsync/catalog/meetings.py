"""Meetings: scheduled definitions and, per instance that happened, its details and children."""

from __future__ import annotations

from zoomsync.catalog.stream import Stream

REGISTRANT_STATUSES = ({"status": "approved"}, {"status": "pending"}, {"status": "denied"})
# The host's start link carries a ZAK token; passcodes and host keys let anyone in.
SECRETS = ("start_url", "password", "h323_password", "pstn_password", "encrypted_password",
           "dynamic_host_key")
ATTENDEES = ("name", "user_email")  # participant rows
RESPONDENTS = ("name", "email")  # poll and Q&A rows

STREAMS = (
    Stream(
        name="meetings", path="/meetings/{meetingId}", label="LIGHT", primary_key=("id",),
        partition="meetings", scopes=("meeting:read:admin",),
        granular_scopes=("meeting:read:meeting:admin",), drop=SECRETS,
        personal=("host_email",),
        description="Meeting definitions (scheduled, recurring, PMI), one row per meeting id. "
                    "The host's start_url and the passcodes are never landed.",
    ),
    Stream(
        name="meeting_registrants", path="/meetings/{meetingId}/registrants", label="MEDIUM",
        primary_key=("meeting_id", "id"), partition="meetings_with_registration",
        list_key="registrants", parent_key="meeting_id", variants=REGISTRANT_STATUSES,
        page_size=300, scopes=("meeting:read:admin",),
        granular_scopes=("meeting:read:list_registrants:admin",),
        personal=("email", "first_name", "last_name", "phone", "address"),
        drop=("participant_pin_code",),
        description="Registrants of meetings with registration, every status (their phone "
                    "PINs are not landed).",
    ),
    Stream(
        name="meeting_polls", path="/meetings/{meetingId}/polls", label="LIGHT",
        primary_key=("meeting_id", "id"), partition="meetings", list_key="polls",
        parent_key="meeting_id", scopes=("meeting:read:admin",),
        granular_scopes=("meeting:read:list_polls:admin",),
        description="Poll definitions of each meeting.",
    ),
    Stream(
        name="past_meetings", path="/past_meetings/{meetingId}", label="LIGHT",
        primary_key=("uuid",), partition="meeting_instances", scopes=("meeting:read:admin",),
        granular_scopes=("meeting:read:past_meeting:admin",),
        personal=("user_name", "user_email"),
        description="Every meeting instance that happened: each occurrence of a recurring "
                    "meeting or PMI, instant meetings included. Key: the instance UUID.",
    ),
    Stream(
        name="meeting_participants", path="/past_meetings/{meetingId}/participants",
        label="MEDIUM", primary_key=("meeting_uuid", "user_id", "join_time"),
        partition="meeting_instances", list_key="participants", parent_key="meeting_uuid",
        page_size=300, scopes=("meeting:read:admin",),
        granular_scopes=("meeting:read:list_past_participants:admin",), personal=ATTENDEES,
        description="One row per join segment: a rejoin is a new row with a new per-join "
                    "user_id; guests who were not signed in have a blank id.",
    ),
    Stream(
        name="meeting_poll_results", path="/past_meetings/{meetingId}/polls", label="MEDIUM",
        primary_key=("meeting_uuid", "row_index"), partition="meeting_instances",
        list_key="questions", parent_key="meeting_uuid", row_index=True,
        scopes=("meeting:read:admin",),
        granular_scopes=("meeting:read:list_poll_results:admin",), personal=RESPONDENTS,
        description="Poll answers per respondent in each instance (no natural key: "
                    "numbered in Zoom's order).",
    ),
    Stream(
        name="meeting_qa", path="/past_meetings/{meetingId}/qa", label="MEDIUM",
        primary_key=("meeting_uuid", "row_index"), partition="meeting_instances",
        list_key="questions", parent_key="meeting_uuid", row_index=True,
        scopes=("meeting:read:admin",), granular_scopes=("meeting:read:past_qa:admin",),
        personal=RESPONDENTS,
        description="Q&A per asker in each instance.",
    ),
)
