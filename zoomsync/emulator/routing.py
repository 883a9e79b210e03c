"""Matching Zoom paths on the raw request path, and the context a route handler gets.

Routing works on the *raw* path because ASGI servers percent-decode `scope["path"]`,
which would turn a double-encoded meeting UUID such as `%252Fabc%253D%253D` into a path
with extra `/`s. Zoom's rule, from the spec text on past_meetings and report endpoints:
"If you provide a meeting UUID that begins with a `/` character or contains the `//`
characters, you must double-encode the meeting UUID before making an API request."
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

if TYPE_CHECKING:
    from zoomsync.emulator.app import Emulator

Handler = Callable[["Ctx"], Any]
ROUTES: dict[str, Handler] = {}


class ZoomHTTPError(Exception):
    """Raised by a handler to answer with Zoom's error envelope."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def route(template: str) -> Callable[[Handler], Handler]:
    """Register a GET handler for a Zoom path template such as `/users/{userId}`."""

    def register(fn: Handler) -> Handler:
        ROUTES[template] = fn
        return fn

    return register


def match(raw_path: str, templates: Mapping[str, object]) -> tuple[str, dict[str, str]] | None:
    """Find the template for a raw (still percent-encoded) path below `/v2`."""
    parts = raw_path.strip("/").split("/")
    best: tuple[int, str, dict[str, str]] | None = None
    for template in templates:
        tparts = template.strip("/").split("/")
        if len(tparts) != len(parts):
            continue
        params: dict[str, str] = {}
        literal = 0
        for t, p in zip(tparts, parts, strict=True):
            if t.startswith("{"):
                params[t[1:-1]] = p
            elif t == unquote(p):
                literal += 1
            else:
                break
        else:
            # Prefer literal segments: /users/summary over /users/{userId}.
            if best is None or literal > best[0]:
                best = (literal, template, params)
    return (best[1], best[2]) if best else None


def decode_meeting_key(raw: str) -> str | None:
    """Turn a raw `{meetingId}` path segment into a meeting id or UUID the way Zoom does.

    Returns None for a UUID that needed double encoding but arrived encoded once: Zoom
    answers those with 404 code 3001.
    """
    once = unquote(raw)
    if "%" in once:
        return unquote(once)
    if once.startswith("/") or "//" in once:
        return None
    return once


@dataclass
class Ctx:
    """What a handler sees: the emulator, the decoded path parameters and the query."""

    emu: Emulator
    template: str
    raw_params: dict[str, str]
    query: dict[str, str]
    account_id: str
    now: datetime
    path: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.path = {k: unquote(v) for k, v in self.raw_params.items()}

    def arg(self, name: str, default: str | None = None) -> str | None:
        value = self.query.get(name)
        return default if value in (None, "") else value


def paginate(
    ctx: Ctx, items: list[Any], *, extra: dict[str, Any] | None = None, list_key: str | None = None
) -> dict[str, Any]:
    """One page of `items` with Zoom's envelope, honouring `next_page_token` and `page_number`."""
    from zoomsync.emulator import paging
    from zoomsync.emulator.endpoints import ENDPOINTS

    ep = ENDPOINTS[ctx.template]
    size = paging.page_size(ctx.query.get("page_size"), ep.page_size_default or 30,
                            ep.page_size_max or 300)
    digest = paging.query_digest(ctx.template + repr(sorted(ctx.path.items())), ctx.query)
    now = ctx.now.timestamp()
    token = ctx.query.get("next_page_token")
    offset = 0
    if token:
        try:
            offset = ctx.emu.page_tokens.read(token, digest, now)
        except paging.PageTokenError:
            raise ZoomHTTPError(400, 300, "The next page token is invalid or expired.") from None
    elif ep.page_number and ctx.arg("page_number"):
        try:
            offset = (max(1, int(ctx.query["page_number"])) - 1) * size
        except ValueError:
            raise ZoomHTTPError(400, 300, "Invalid field: page_number.") from None
    end = offset + size
    next_token = ctx.emu.page_tokens.issue(digest, end, now) if end < len(items) else ""
    body = dict(extra or {})
    body.update(paging.envelope(items, offset=offset, size=size, next_token=next_token,
                                legacy=ep.page_number))
    body[list_key or ep.list_key or "items"] = items[offset:end]
    return body
