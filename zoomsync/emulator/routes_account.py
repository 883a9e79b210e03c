"""Account-level objects: account and user settings, H.323/SIP devices and roles.

https://developers.zoom.us/docs/api/accounts/#tag/accounts/GET/accounts/{accountId}/settings
https://developers.zoom.us/docs/api/users/#tag/users/GET/users/{userId}/settings

Settings are not tabular: a warehouse keeps each response as one JSON document per snapshot
(research note §7.2). The emulator's are nested like Zoom's and use the spec's field names,
which differ between the two endpoints in places (the account's `participant_video` is the
user's `participants_video`). They are drawn from the seed, so every run of one dataset
answers the same, and a user's settings follow the account's with a few personal choices.
"""

from __future__ import annotations

import random
from typing import Any

from zoomsync.emulator import ids
from zoomsync.emulator.dataset import ROLE_NAMES, Dataset, User
from zoomsync.emulator.routes_reports import choice
from zoomsync.emulator.routes_users import user_or_404
from zoomsync.emulator.routing import Ctx, ZoomHTTPError, paginate, route

ACCOUNT_OPTIONS = ("meeting_authentication", "recording_authentication", "security",
                   "meeting_security")
USER_OPTIONS = ("meeting_authentication", "recording_authentication", "meeting_security")
LOGIN_TYPES = ("0", "1", "11", "21", "23", "24", "27", "97", "98", "99", "100", "101")
ROLE_DESCRIPTIONS = {
    "0": "Account owner has full privileges to access and manage a Zoom account.",
    "1": "Admins have wide-ranging privileges to access and manage a Zoom account.",
    "2": "Members have access to basic Zoom video meetings functions but no account "
         "management privileges.",
}


def _rng(ds: Dataset, *key: object) -> random.Random:
    return random.Random("/".join(str(k) for k in (ds.config.seed, *key)))


def _pick(settings: dict[str, Any], custom_query_fields: str | None) -> dict[str, Any]:
    """Only the named fields of each section, as `custom_query_fields` asks.

    The spec's example: `host_video` gives `{"schedule_meeting": {"host_video": false}}`.
    """
    if custom_query_fields is None:
        return settings
    wanted = {f.strip() for f in custom_query_fields.split(",") if f.strip()}
    out = {}
    for section, values in settings.items():
        if isinstance(values, dict):
            kept = {k: v for k, v in values.items() if k in wanted}
            if kept:
                out[section] = kept
        elif section in wanted:
            out[section] = values
    return out


# -- the account ----------------------------------------------------------------------------


def _password_rules(rng: random.Random) -> dict[str, Any]:
    return {"length": rng.choice([6, 8, 10]), "have_letter": rng.random() < 0.5,
            "have_number": True, "have_special_character": False, "only_allow_numeric": False,
            "have_upper_and_lower_characters": False, "consecutive_characters_length": 0,
            "weak_enhance_detection": rng.random() < 0.3}


def _auth_options(ds: Dataset, kind: str) -> list[dict[str, Any]]:
    rng = _rng(ds, "auth-options", kind)
    domain = ds.config.domain
    if kind == "meeting":
        return [
            {"id": ids.opaque(rng, 22), "name": "Sign in to Zoom", "type": "enforce_login",
             "default_option": True, "visible": True, "domains": ""},
            {"id": ids.opaque(rng, 22), "name": "Sign in to Zoom with specified domains",
             "type": "enforce_login_with_domains", "default_option": False, "visible": True,
             "domains": domain},
        ]
    return [
        {"id": ids.opaque(rng, 22), "name": "Signed-in users in my account",
         "type": "internally", "default_option": True, "visible": True, "domains": ""},
        {"id": ids.opaque(rng, 22), "name": "Sign in to Zoom with specified domains",
         "type": "enforce_login_with_domains", "default_option": False, "visible": True,
         "domains": domain},
    ]


def meeting_security(ds: Dataset) -> dict[str, Any]:
    """`option=meeting_security`: the account's meeting and webinar security settings."""
    rng = _rng(ds, "meeting-security")
    return {
        "auto_security": True,
        "block_user_domain": False,
        "block_user_domain_list": [],
        "embed_password_in_join_link": True,
        "encryption_type": "enhanced_encryption",
        "end_to_end_encrypted_meetings": False,
        "meeting_password": True,
        "meeting_password_requirement": _password_rules(rng),
        "only_authenticated_can_join_from_webclient": False,
        "phone_password": True,
        "pmi_password": True,
        "require_password_for_scheduled_meeting": True,
        "require_password_for_scheduled_webinar": False,
        "waiting_room": rng.random() < 0.5,
        "waiting_room_settings": {"participants_to_place_in_waiting_room": 1,
                                  "users_who_can_admit_participants_from_waiting_room": 0,
                                  "whitelisted_domains_for_waiting_room": ds.config.domain},
        "webinar_password": False,
    }


def account_settings(ds: Dataset) -> dict[str, Any]:
    """The main sections of `GET /accounts/{accountId}/settings`, drawn from the seed."""
    rng = _rng(ds, "account-settings")
    cloud = rng.random() < 0.8
    return {
        "schedule_meeting": {
            "audio_type": "both", "host_video": rng.random() < 0.5,
            "participant_video": rng.random() < 0.5, "join_before_host": rng.random() < 0.4,
            "jbh_time": rng.choice([0, 5, 10, 15]), "enforce_login": False,
            "enforce_login_domains": "", "enforce_login_with_domains": False,
            "force_pmi_jbh_password": False, "enable_dedicated_group_chat": False,
            "not_store_meeting_topic": False, "allow_host_to_disable_participant_video": True,
            "personal_meeting": True, "require_password_for_instant_meetings": True,
            "require_password_for_pmi_meetings": "jbh_only",
            "require_password_for_scheduled_meetings": True,
            "require_password_for_scheduling_new_meetings": True,
            "use_pmi_for_instant_meetings": False, "use_pmi_for_scheduled_meetings": False,
            "meeting_password_requirement": _password_rules(rng),
            "continuous_meeting_chat": {"enable": True, "can_add_external_users": False,
                                        "auto_add_invited_external_users": False},
        },
        "in_meeting": {
            "chat": True, "private_chat": True, "auto_saving_chat": rng.random() < 0.3,
            "allow_participants_chat_with": rng.choice([1, 2, 3, 4]),
            "allow_users_save_chats": rng.choice([1, 2, 3]), "file_transfer": True,
            "feedback": False, "post_meeting_feedback": False, "co_host": True,
            "polling": True, "meeting_question_answer": False, "annotation": True,
            "whiteboard": True, "remote_control": True, "non_verbal_feedback": True,
            "meeting_reactions": True, "meeting_reactions_emojis": "all",
            "breakout_room": rng.random() < 0.7, "breakout_room_schedule": False,
            "closed_caption": True, "group_hd": False, "webinar_group_hd": False,
            "screen_sharing": True, "who_can_share_screen": "host",
            "who_can_share_screen_when_someone_is_sharing": "host",
            "participants_share_simultaneously": "one", "virtual_background": True,
            "watermark": False, "e2e_encryption": False, "entry_exit_chime": "none",
            "attendee_on_hold": False, "allow_live_streaming": False,
            "allow_participants_to_rename": True,
            "request_permission_to_unmute_participants": False,
            "show_meeting_control_toolbar": False,
            "show_a_join_from_your_browser_link": False, "join_from_desktop": True,
            "join_from_mobile": True, "custom_data_center_regions": False,
            "data_center_regions": [], "webinar_question_answer": True,
            "webinar_survey": False, "meeting_survey": False,
            "meeting_polling": {"enable": True, "advanced_polls": True,
                                "allow_alternative_host_to_add_edit": False,
                                "require_answers_to_be_anonymous": False,
                                "allow_host_to_upload_image": True},
            "webinar_polling": {"enable": True, "advanced_polls": True,
                                "allow_alternative_host_to_add_edit": False,
                                "require_answers_to_be_anonymous": False,
                                "allow_host_to_upload_image": True},
        },
        "email_notification": {
            "alternative_host_reminder": True, "cancel_meeting_reminder": True,
            "cloud_recording_available_reminder": cloud, "jbh_reminder": True,
            "low_host_count_reminder": False,
            "recording_available_reminder_alternative_hosts": False,
            "recording_available_reminder_schedulers": cloud, "schedule_for_reminder": True,
        },
        "zoom_rooms": {
            "auto_start_stop_scheduled_meetings": False, "cmr_for_instant_meeting": False,
            "force_private_meeting": False, "hide_host_information": False,
            "list_meetings_with_calendar": True, "start_airplay_manually": False,
            "ultrasonic": True, "upcoming_meeting_alert": True, "weekly_system_restart": True,
            "zr_post_meeting_feedback": False,
        },
        "security": security(ds),
        "recording": {
            "local_recording": True, "cloud_recording": cloud,
            "auto_recording": "cloud" if cloud and rng.random() < 0.3 else "none",
            "record_speaker_view": True, "record_gallery_view": False,
            "record_audio_file": True, "record_audio_file_each_participant": False,
            "save_chat_text": True, "show_timestamp": True,
            "recording_audio_transcript": cloud, "cloud_recording_download": True,
            "cloud_recording_download_host": True, "account_user_access_recording": False,
            "host_delete_cloud_recording": True, "auto_delete_cmr": False,
            "auto_delete_cmr_days": rng.choice([30, 60, 90, 120]),
            "allow_recovery_deleted_cloud_recordings": True, "recording_disclaimer": True,
            "display_participant_name": True, "recording_thumbnails": True,
            "optimize_recording_for_3rd_party_video_editor": False,
            "prevent_host_access_recording": False, "save_poll_results": True,
            "save_close_caption": False, "save_panelist_chat": True,
            "required_password_for_existing_cloud_recordings": False,
            "required_password_for_shared_cloud_recordings": True,
            "recording_password_requirement": {"length": 8, "have_letter": True,
                                               "have_number": True,
                                               "have_special_character": False,
                                               "only_allow_numeric": False},
            "ip_address_access_control": {"enable": False, "ip_addresses_or_ranges": ""},
        },
        "telephony": {"third_party_audio": False, "audio_conference_info": "",
                      "telephony_regions": {"allowed_values": ["US"],
                                            "selection_values": "US"}},
        "integration": {"box": False, "dropbox": False, "google_calendar": True,
                        "google_drive": False, "kubi": False, "microsoft_one_drive": True},
        "feature": {"meeting_capacity": 300},
        "tsp": {"call_out": False, "call_out_countries": [],
                "allow_webinar_attendees_call_me": False, "display_toll_free_numbers": False,
                "allow_webinar_attendees_toll_free_dial": False,
                "show_international_numbers_link": True},
        "other_options": {"allow_auto_active_users": False,
                          "allow_users_contact_support_via_chat": True,
                          "allow_users_enter_and_share_pronouns": True, "blur_snapshot": False,
                          "display_meetings_scheduled_for_others": True,
                          "meeting_qos_and_mos": 0, "show_one_user_meeting_on_dashboard": False,
                          "use_cdn": "default"},
        "profile": {"recording_storage_location": {"allowed_values": ["US"], "value": "US"}},
    }


def security(ds: Dataset) -> dict[str, Any]:
    """`option=security`: sign-in and password rules for the account's users."""
    rng = _rng(ds, "security")
    two_factor = rng.choice(["all", "role", "none"])
    body: dict[str, Any] = {
        "admin_change_name_pic": False, "admin_change_user_info": False,
        "hide_billing_info": False, "import_photos_from_devices": True,
        "password_requirement": {"minimum_password_length": 10, "have_special_character": True,
                                 "consecutive_characters_length": 0,
                                 "weak_enhance_detection": True},
        "sign_again_period_for_inactivity_on_client": 0,
        "sign_again_period_for_inactivity_on_web": 120,
        "sign_in_with_two_factor_auth": two_factor,
        "signin_with_sso": {"enable": False, "require_sso_for_domains": False, "domains": [],
                            "sso_bypass_users": []},
    }
    if two_factor == "role":  # "only returned if" two-factor is set per role
        body["sign_in_with_two_factor_auth_roles"] = ["0", "1"]
    return body


@route("/accounts/{accountId}/settings")
def get_account_settings(ctx: Ctx) -> dict:
    ds = ctx.emu.dataset
    account = ctx.path["accountId"]
    if account not in ("me", ctx.account_id, ds.config.account_id):
        raise ZoomHTTPError(404, 2001, f"Account does not exist: {account}.")
    option = choice(ctx, "option", ACCOUNT_OPTIONS, None)
    if option == "meeting_authentication":
        return {"meeting_authentication": False, "allow_authentication_exception": True,
                "authentication_options": _auth_options(ds, "meeting")}
    if option == "recording_authentication":
        return {"recording_authentication": False,
                "authentication_options": _auth_options(ds, "recording")}
    if option == "security":
        return {"security": security(ds)}
    if option == "meeting_security":
        return {"meeting_security": meeting_security(ds)}
    return _pick(account_settings(ds), ctx.arg("custom_query_fields"))


# -- a user ---------------------------------------------------------------------------------


def hosts_webinars(ds: Dataset, user: User) -> bool:
    return any(d.kind == "webinar" and d.host_id == user.id and not d.deleted
               for d in ds.definitions.values())


def user_settings(ds: Dataset, user: User, *, webinar_plan: bool = True) -> dict[str, Any]:
    """`GET /users/{userId}/settings`: the account's settings with this user's own choices."""
    acct = account_settings(ds)
    rng = _rng(ds, "user-settings", user.id)
    licensed = user.record["type"] == 2
    webinar = webinar_plan and hosts_webinars(ds, user)
    schedule = acct["schedule_meeting"]
    return {
        "schedule_meeting": {
            "audio_type": rng.choice(["both", "voip", "telephony"]),
            "host_video": rng.random() < 0.5, "participants_video": rng.random() < 0.5,
            "join_before_host": schedule["join_before_host"] and rng.random() < 0.7,
            "force_pmi_jbh_password": False, "personal_meeting": True,
            "embed_password_in_join_link": True, "pstn_password_protected": True,
            "default_password_for_scheduled_meetings": "", "pmi_password": "",
            "require_password_for_instant_meetings": True,
            "require_password_for_pmi_meetings": "jbh_only",
            "require_password_for_scheduled_meetings": True,
            "require_password_for_scheduling_new_meetings": True,
            "use_pmi_for_instant_meetings": user.record["use_pmi"],
            "use_pmi_for_scheduled_meetings": False,
            "meeting_password_requirement": schedule["meeting_password_requirement"],
        },
        "in_meeting": {
            **{k: v for k, v in acct["in_meeting"].items() if k in _USER_IN_MEETING},
            "waiting_room": rng.random() < 0.5,
            "share_dual_camera": False,
            "virtual_background": rng.random() < 0.8,
        },
        "email_notification": {k: v for k, v in acct["email_notification"].items()
                               if k in _USER_EMAIL_NOTIFICATION},
        "recording": {
            "local_recording": True,
            "cloud_recording": licensed and acct["recording"]["cloud_recording"],
            "auto_recording": rng.choice(["local", "cloud", "none", "none"])
            if licensed else "none",
            "record_speaker_view": True, "record_gallery_view": False,
            "record_audio_file": True, "save_chat_text": True, "show_timestamp": True,
            "recording_audio_transcript": licensed, "auto_delete_cmr": False,
            "auto_delete_cmr_days": acct["recording"]["auto_delete_cmr_days"],
            "host_pause_stop_recording": True, "recording_disclaimer": True,
            "display_participant_name": True, "recording_thumbnails": True,
            "save_poll_results": True, "save_panelist_chat": True, "save_close_caption": False,
            "optimize_recording_for_3rd_party_video_editor": False,
            "ip_address_access_control": {"enable": False, "ip_addresses_or_ranges": ""},
        },
        "telephony": {"third_party_audio": False, "audio_conference_info": "",
                      "show_international_numbers_link": True,
                      "telephony_regions": {"allowed_values": ["US"],
                                            "selection_values": "US"}},
        "feature": {
            "meeting_capacity": 300 if licensed else 100, "large_meeting": False,
            "webinar": webinar, "webinar_capacity": 500 if webinar else 0, "cn_meeting": False,
            "in_meeting": False, "zoom_phone": False, "zoom_events": False,
            "concurrent_meeting": "Basic" if licensed else "None",
            "zoom_whiteboard": True, "zoom_docs": False, "zoom_huddles": False,
        },
        "tsp": {"call_out": False, "call_out_countries": [],
                "show_international_numbers_link": True},
        "profile": {"recording_storage_location": {"allowed_values": ["US"], "value": "US"}},
        "whiteboard": {"out_meeting_advanced_whiteboard": False,
                       "in_meeting_advanced_whiteboard": False},
    }


# The account's in_meeting and email_notification fields that the user schema also has.
_USER_IN_MEETING = frozenset({
    "chat", "private_chat", "auto_saving_chat", "allow_participants_chat_with",
    "allow_users_save_chats", "file_transfer", "feedback", "post_meeting_feedback", "co_host",
    "polling", "meeting_question_answer", "annotation", "whiteboard", "remote_control",
    "non_verbal_feedback", "meeting_reactions", "meeting_reactions_emojis", "breakout_room",
    "breakout_room_schedule", "closed_caption", "group_hd", "webinar_group_hd",
    "screen_sharing", "who_can_share_screen", "who_can_share_screen_when_someone_is_sharing",
    "participants_share_simultaneously", "e2e_encryption", "entry_exit_chime",
    "attendee_on_hold", "allow_live_streaming", "request_permission_to_unmute_participants",
    "show_meeting_control_toolbar", "show_a_join_from_your_browser_link", "join_from_desktop",
    "join_from_mobile", "custom_data_center_regions", "data_center_regions", "webinar_survey",
    "meeting_survey", "meeting_polling", "webinar_polling",
})
_USER_EMAIL_NOTIFICATION = frozenset({
    "alternative_host_reminder", "cancel_meeting_reminder", "cloud_recording_available_reminder",
    "jbh_reminder", "recording_available_reminder_alternative_hosts",
    "recording_available_reminder_schedulers", "schedule_for_reminder",
})


@route("/users/{userId}/settings")
def get_user_settings(ctx: Ctx) -> dict:
    user = user_or_404(ctx)
    if user.status == "pending":
        # The spec's 400 code 1120: the invitation expired (the emulated ones are long past
        # Zoom's 30 days), so there is no user to read settings for.
        raise ZoomHTTPError(400, 1120, "A valid invitation to join the Zoom account was not "
                            "found for this user.")
    choice(ctx, "login_type", LOGIN_TYPES, None)
    option = choice(ctx, "option", USER_OPTIONS, None)
    ds = ctx.emu.dataset
    rng = _rng(ds, "user-auth", user.id)
    if option == "meeting_authentication":
        return {"meeting_authentication": rng.random() < 0.2,
                "allow_authentication_exception": True,
                "authentication_options": _auth_options(ds, "meeting")}
    if option == "recording_authentication":
        return {"recording_authentication": rng.random() < 0.2,
                "authentication_options": _auth_options(ds, "recording")}
    if option == "meeting_security":
        mine = meeting_security(ds)
        mine["waiting_room"] = rng.random() < 0.5
        return {"meeting_security": mine}
    settings = user_settings(ds, user, webinar_plan=getattr(ctx.emu.config, "webinar_plan", True))
    return _pick(settings, ctx.arg("custom_query_fields"))


# -- devices and roles ----------------------------------------------------------------------


@route("/h323/devices")
def list_devices(ctx: Ctx) -> dict:
    return paginate(ctx, [dict(d) for d in ctx.emu.dataset.devices])


@route("/roles")
def list_roles(ctx: Ctx) -> dict:
    kind = choice(ctx, "type", ("common", "iq"), "common")
    if kind == "iq":  # Zoom IQ (Revenue Accelerator) roles: the emulated account has none
        return {"total_records": 0, "roles": []}
    users = ctx.emu.dataset.live_users()
    roles = [{"id": rid, "name": name, "description": ROLE_DESCRIPTIONS[rid], "type": "common",
              "total_members": sum(1 for u in users if u.record["role_id"] == rid)}
             for rid, name in ROLE_NAMES.items()]
    return {"total_records": len(roles), "roles": roles}  # not paginated
