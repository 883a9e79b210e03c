"""Users, groups and settings: full refresh on every run (Zoom has no change filter)."""

from __future__ import annotations

from zoomsync.catalog.stream import Stream

STATUSES = ({"status": "active"}, {"status": "inactive"}, {"status": "pending"})

STREAMS = (
    Stream(
        name="users", path="/users", label="MEDIUM", primary_key=("id",), list_key="users",
        # Zoom's /users lists only active users unless asked; pending users come without an
        # id, which the engine resolves with GET /users/{email}.
        variants=STATUSES, page_size=2000,
        scopes=("user:read:admin",), granular_scopes=("user:read:list_users:admin",),
        personal=("email", "first_name", "last_name", "display_name", "phone_number"),
        drop=("host_key",),
        description="Every user of the account, all statuses (active, inactive, pending), "
                    "with their full profile; host keys are not landed.",
    ),
    Stream(
        name="groups", path="/groups", label="MEDIUM", primary_key=("id",), list_key="groups",
        page_size=300, scopes=("group:read:admin",),
        granular_scopes=("group:read:list_groups:admin",),
        description="User groups.",
    ),
    Stream(
        name="group_members", path="/groups/{groupId}/members", label="MEDIUM",
        primary_key=("group_id", "id"), partition="groups", list_key="members",
        parent_key="group_id", page_size=2000, scopes=("group:read:admin",),
        granular_scopes=("group:read:list_members:admin",),
        personal=("email", "first_name", "last_name"),
        description="Members of each group.",
    ),
    Stream(
        name="user_settings", path="/users/{userId}/settings", label="MEDIUM",
        primary_key=("user_id",), partition="users", parent_key="user_id",
        scopes=("user:read:admin",), granular_scopes=("user:read:settings:admin",),
        drop=("schedule_meeting__pmi_password",
              "schedule_meeting__default_password_for_scheduled_meetings"),
        description="Each user's settings, one row per user, nested sections as columns "
                    "(passcodes are not landed).",
    ),
    Stream(
        name="account_settings", path="/accounts/me/settings", label="MEDIUM",
        primary_key=("account_id",), parent_key="account_id",
        scopes=("account:read:admin",), granular_scopes=("account:read:settings:admin",),
        drop=("chat__send_data_to_third_party_archiving_service__passcode",
              "chat__send_data_to_third_party_archiving_service__authorized_channel_token"),
        description="The account's settings, one row (archiving credentials are not landed).",
    ),
    Stream(
        name="h323_devices", path="/h323/devices", label="MEDIUM", primary_key=("id",),
        list_key="devices", page_size=300, scopes=("h323:read:admin",),
        granular_scopes=("h323_device:read:list_devices:admin",),
        description="H.323/SIP room devices.",
    ),
)
