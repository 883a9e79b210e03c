"""Cloud recordings: a user's (or the account's) recordings by date, and one meeting's.

https://developers.zoom.us/docs/api/meetings/#tag/cloud-recording

Zoom's rules kept here (research note §7.9, §10–11):
- `GET /users/{userId}/recordings` filters on the recording's start date (UTC). Without
  `from` Zoom uses today, and `to` defaults to the day after ("if you make the API request on
  June 30, 2020, without providing the from and to parameters, by default the value of 'from'
  field will be 2020-06-30 and the value of the 'to' field will be 2020-07-01"). A client
  that leaves the dates out therefore sees only today's recordings. Both dates are echoed.
- The range is at most one month, else 400 code 300, counted as in `routes_reports`:
  `to - from` of at most 30 days.
- `GET /meetings/{meetingId}/recordings` takes an id (the latest instance) or a UUID
  (double-encoded when it starts with `/` or contains `//`), and answers 404 code 3301
  when there is no recording.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import date, datetime, timedelta

from zoomsync.emulator import people
from zoomsync.emulator.dataset import Instance
from zoomsync.emulator.routes_reports import MAX_SPAN, choice
from zoomsync.emulator.routes_users import user_or_404
from zoomsync.emulator.routing import Ctx, ZoomHTTPError, decode_meeting_key, paginate, route

# The spec says "There is no recording for this meeting."; the message Zoom sends, as public
# clients compare it, is this one (`{"code":3301,"message":"This recording does not exist."}`).
NO_RECORDING = "This recording does not exist."
MAX_TTL = 604_800  # the spec's maximum for `ttl`, in seconds
# The spec gives no default lifetime for the download token. [unconfirmed]
DEFAULT_TTL = 86_400


def _date(ctx: Ctx, name: str) -> date | None:
    raw = ctx.arg(name)
    if raw is None:
        return None
    try:
        return datetime.strptime(raw.strip(), "%Y-%m-%d").date()
    except ValueError:
        raise ZoomHTTPError(400, 300, f"Invalid parameter: {name}.") from None


def _int(ctx: Ctx, name: str, low: int | None = None, high: int | None = None) -> int | None:
    raw = ctx.arg(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ZoomHTTPError(400, 300, f"Invalid parameter: {name}.") from None
    if (low is not None and value < low) or (high is not None and value > high):
        raise ZoomHTTPError(400, 300, f"Invalid parameter: {name}.")
    return value


def _flag(ctx: Ctx, name: str) -> bool:
    value = choice(ctx, name, ("true", "false"), "false")
    return value == "true"


def _window(ctx: Ctx) -> tuple[date, date]:
    """`from`/`to`: today and tomorrow by default, at most a month apart."""
    today = ctx.now.date()
    start = _date(ctx, "from") or today
    end = _date(ctx, "to") or today + timedelta(days=1)
    if end < start:
        raise ZoomHTTPError(400, 300, "The 'to' date must not be earlier than the 'from' date.")
    if end - start > MAX_SPAN:
        raise ZoomHTTPError(400, 300, "The date range defined by the from and to parameters "
                            "should only be one month.")
    return start, end


def _recordings(ctx: Ctx, start: date, end: date, host_id: str | None,
                meeting_id: int | None = None) -> list[dict]:
    """Recordings of ended instances that started (UTC) from `start` to `end`, newest first."""
    ds = ctx.emu.dataset
    rows: list[dict] = []
    for inst in ds.ended_instances(ctx.now):
        if ((host_id is not None and inst.host_id != host_id)
                or not start <= inst.start.date() <= end
                or (meeting_id is not None and inst.meeting_id != meeting_id)):
            continue
        rec = people.recording(ds, inst)
        if rec is not None:
            rows.append(rec)
    rows.sort(key=lambda r: (r["start_time"], r["uuid"]), reverse=True)  # [unconfirmed] order
    return rows


@route("/users/{userId}/recordings")
def list_user_recordings(ctx: Ctx) -> dict:
    user = user_or_404(ctx)
    start, end = _window(ctx)
    meeting_id = _int(ctx, "meeting_id")
    _flag(ctx, "mc")  # on-premise meeting connector metadata: nothing to add here
    trash = _flag(ctx, "trash")
    choice(ctx, "trash_type", ("meeting_recordings", "recording_file"), "meeting_recordings")
    # Nothing in the emulated account is ever moved to the trash.
    rows = [] if trash else _recordings(ctx, start, end, user.id, meeting_id)
    return paginate(ctx, rows, extra={"from": start.isoformat(), "to": end.isoformat()})


@route("/accounts/{accountId}/recordings")
def list_account_recordings(ctx: Ctx) -> dict:
    """The Master Account API's listing (scope `recording:master`), every host at once.

    https://developers.zoom.us/docs/api/meetings-ma/#tag/cloud-recording/GET/accounts/{accountId}/recordings
    """
    account = ctx.path["accountId"]
    if account not in ("me", ctx.account_id, ctx.emu.dataset.config.account_id):
        raise ZoomHTTPError(404, 2001, f"Account does not exist: {account}.")
    start, end = _window(ctx)
    _flag(ctx, "mc")
    # Here `type` is an integer, where the user listing sends a string ("2").
    rows = [{**rec, "type": int(rec["type"])} for rec in _recordings(ctx, start, end, None)]
    return paginate(ctx, rows, extra={"from": start.isoformat(), "to": end.isoformat()})


def _instance(ctx: Ctx) -> Instance | None:
    """The instance a `{meetingId}` names: a UUID, or an id meaning its latest ended instance."""
    ds = ctx.emu.dataset
    key = decode_meeting_key(ctx.raw_params["meetingId"])
    if key is None:  # a `/…` or `…//…` UUID that was encoded only once
        return None
    digits = key.replace(" ", "")
    if digits.isdigit():
        return ds.latest_instance(int(digits), ctx.now)
    inst = ds.instances.get(key)
    return inst if inst is not None and inst.ended(ctx.now) else None


def _download_token(ctx: Ctx, inst: Instance, ttl: int) -> str:
    """A JWT-shaped token for the recording's download URLs, signed with a seeded key."""
    now = int(ctx.now.timestamp())

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    claims = {"iss": ctx.account_id, "aud": "https://zoom.us", "meeting_uuid": inst.uuid,
              "iat": now, "exp": now + ttl}
    payload = b64(json.dumps(claims, separators=(",", ":")).encode())
    key = hashlib.sha256(f"download/{ctx.emu.dataset.config.seed}".encode()).digest()
    signature = b64(hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    return f"{header}.{payload}.{signature}"


@route("/meetings/{meetingId}/recordings")
def get_recording(ctx: Ctx) -> dict:
    ttl = _int(ctx, "ttl", 0, MAX_TTL)
    inst = _instance(ctx)
    rec = people.recording(ctx.emu.dataset, inst) if inst is not None else None
    if inst is None or rec is None:
        # Also for a meeting that does not exist: the spec lists no 3001 here.
        raise ZoomHTTPError(404, 3301, NO_RECORDING)
    body = dict(rec)
    include = {f.strip() for f in (ctx.arg("include_fields") or "").split(",")}
    if "download_access_token" in include:
        body["download_access_token"] = _download_token(
            ctx, inst, DEFAULT_TTL if ttl is None else ttl)
    return body
