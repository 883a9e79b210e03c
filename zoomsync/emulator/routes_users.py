"""Users, groups and group members.

https://developers.zoom.us/docs/api/users/
"""

from __future__ import annotations

from zoomsync.emulator.dataset import User
from zoomsync.emulator.routing import Ctx, ZoomHTTPError, paginate, route

# Fields of the full profile (`GET /users/{userId}`) that the list endpoint does not show.
_PROFILE_ONLY = {"account_id", "account_number", "role_name", "language", "job_title", "location",
                 "phone_number", "pic_url", "personal_meeting_url", "cluster", "login_types",
                 "use_pmi"}


def user_or_404(ctx: Ctx, key: str | None = None) -> User:
    user = ctx.emu.dataset.find_user(key or ctx.path["userId"])
    if user is None:
        raise ZoomHTTPError(404, 1001, "User does not exist: " + (key or ctx.path["userId"]) + ".")
    return user


def list_view(user: User) -> dict:
    row = {k: v for k, v in user.record.items() if k not in _PROFILE_ONLY}
    if user.status == "pending":
        # Zoom's list does not return an id for users who have not accepted their invitation.
        row.pop("id", None)
        row.pop("last_login_time", None)
        row.pop("last_client_version", None)
    return row


@route("/users")
def list_users(ctx: Ctx) -> dict:
    status = ctx.arg("status", "active")  # Zoom's default hides inactive and pending users
    if status not in ("active", "inactive", "pending"):
        raise ZoomHTTPError(400, 300, f"Invalid field: status={status}.")
    role = ctx.arg("role_id")
    users = [u for u in ctx.emu.dataset.live_users() if u.status == status
             and (role is None or u.record["role_id"] == role)]
    users.sort(key=lambda u: u.record["user_created_at"])
    return paginate(ctx, [list_view(u) for u in users])


@route("/users/{userId}")
def get_user(ctx: Ctx) -> dict:
    user = user_or_404(ctx)
    return dict(user.record)


@route("/groups")
def list_groups(ctx: Ctx) -> dict:
    ds = ctx.emu.dataset
    rows = [{"id": g["id"], "name": g["name"], "total_members": len(ds.group_members[g["id"]])}
            for g in ds.groups]
    body = paginate(ctx, rows)
    body["total_records"] = len(rows)
    return body


@route("/groups/{groupId}")
def get_group(ctx: Ctx) -> dict:
    ds = ctx.emu.dataset
    group = next((g for g in ds.groups if g["id"] == ctx.path["groupId"]), None)
    if group is None:
        raise ZoomHTTPError(404, 4130, "Group does not exist: " + ctx.path["groupId"] + ".")
    return {"id": group["id"], "name": group["name"],
            "total_members": len(ds.group_members[group["id"]])}


@route("/groups/{groupId}/members")
def list_group_members(ctx: Ctx) -> dict:
    ds = ctx.emu.dataset
    members = ds.group_members.get(ctx.path["groupId"])
    if members is None:
        raise ZoomHTTPError(404, 4130, "Group does not exist: " + ctx.path["groupId"] + ".")
    rows = []
    for uid in members:
        user = ds.find_user(uid)
        if user is not None:
            r = user.record
            rows.append({"id": r["id"], "email": r["email"], "first_name": r["first_name"],
                         "last_name": r["last_name"], "type": r["type"]})
    return paginate(ctx, rows)
