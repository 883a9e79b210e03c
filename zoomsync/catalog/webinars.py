"""Webinars (the Webinar add-on): definitions, panelists, registrants, instances and children."""

from __future__ import annotations

from zoomsync.catalog.meetings import ATTENDEES, REGISTRANT_STATUSES, RESPONDENTS
from zoomsync.catalog.stream import Stream

SCOPES = ("webinar:read:admin",)

STREAMS = (
    Stream(
        name="webinars", path="/webinars/{webinarId}", label="LIGHT", primary_key=("id",),
        partition="webinars", scopes=SCOPES, granular_scopes=("webinar:read:webinar:admin",),
        drop=("start_url", "password", "h323_passcode", "pstn_passcode", "encrypted_passcode"),
        personal=("host_email",),
        description="Webinar definitions, one row per webinar id.",
    ),
    Stream(
        name="webinar_panelists", path="/webinars/{webinarId}/panelists", label="MEDIUM",
        primary_key=("webinar_id", "id"), partition="webinars", list_key="panelists",
        parent_key="webinar_id", scopes=SCOPES,
        granular_scopes=("webinar:read:list_panelists:admin",), personal=("email", "name"),
        drop=("join_url",),
        description="Panelists of each webinar (their personal join links are not landed).",
    ),
    Stream(
        name="webinar_registrants", path="/webinars/{webinarId}/registrants", label="MEDIUM",
        primary_key=("webinar_id", "id"), partition="webinars_with_registration",
        list_key="registrants", parent_key="webinar_id", variants=REGISTRANT_STATUSES,
        page_size=300, scopes=SCOPES,
        granular_scopes=("webinar:read:list_registrants:admin",),
        personal=("email", "first_name", "last_name", "phone", "address"),
        description="Registrants of each webinar, every status.",
    ),
    Stream(
        name="webinar_polls", path="/webinars/{webinarId}/polls", label="LIGHT",
        primary_key=("webinar_id", "id"), partition="webinars", list_key="polls",
        parent_key="webinar_id", scopes=SCOPES,
        granular_scopes=("webinar:read:list_polls:admin",),
        description="Poll definitions of each webinar.",
    ),
    Stream(
        name="past_webinars", path="/report/webinars/{webinarId}", label="HEAVY",
        primary_key=("uuid",), partition="webinar_instances", scopes=("report:read:admin",),
        granular_scopes=("report:read:webinar:admin",), personal=("user_name", "user_email"),
        description="Every webinar instance that happened (from the webinar report).",
    ),
    Stream(
        name="webinar_participants", path="/past_webinars/{webinarId}/participants",
        label="MEDIUM", primary_key=("webinar_uuid", "user_id", "join_time"),
        partition="webinar_instances", list_key="participants", parent_key="webinar_uuid",
        page_size=300, scopes=SCOPES,
        granular_scopes=("webinar:read:list_past_participants:admin",), personal=ATTENDEES,
        description="One row per join segment of each webinar instance.",
    ),
    Stream(
        name="webinar_absentees", path="/past_webinars/{webinarId}/absentees", label="HEAVY",
        primary_key=("webinar_uuid", "id"), partition="webinar_instances",
        list_key="registrants", parent_key="webinar_uuid", page_size=300, scopes=SCOPES,
        granular_scopes=("webinar:read:list_absentees:admin",),
        personal=("email", "first_name", "last_name", "phone", "address"),
        description="Registrants who did not attend each webinar instance.",
    ),
    Stream(
        name="webinar_poll_results", path="/past_webinars/{webinarId}/polls", label="MEDIUM",
        primary_key=("webinar_uuid", "row_index"), partition="webinar_instances",
        list_key="questions", parent_key="webinar_uuid", row_index=True, scopes=SCOPES,
        granular_scopes=("webinar:read:list_past_polls:admin",), personal=RESPONDENTS,
        description="Poll answers per respondent in each webinar instance.",
    ),
    Stream(
        name="webinar_qa", path="/past_webinars/{webinarId}/qa", label="MEDIUM",
        primary_key=("webinar_uuid", "row_index"), partition="webinar_instances",
        list_key="questions", parent_key="webinar_uuid", row_index=True, scopes=SCOPES,
        granular_scopes=("webinar:read:past_qa:admin",), personal=RESPONDENTS,
        description="Q&A per asker in each webinar instance.",
    ),
)
