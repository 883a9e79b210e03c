"""Zoom-shaped identifiers, drawn from a seeded random generator."""

from __future__ import annotations

import base64
import random
import string

_URLSAFE = string.ascii_letters + string.digits + "-_"


def user_id(rng: random.Random) -> str:
    """A user id such as `KDcuGIm1QgePTO8WbOqwIQ` (22 characters, base64url)."""
    return "".join(rng.choice(_URLSAFE) for _ in range(22))


def meeting_uuid(rng: random.Random, trap: str = "") -> str:
    """An instance UUID such as `aDYlohsHRtCd4ii1uC2+hA==` (base64 of 16 bytes).

    `trap="slash"` gives one that begins with `/`, `trap="double"` one that contains `//`:
    Zoom answers those only when the path segment is double-encoded.
    https://developers.zoom.us/docs/api/meetings/#tag/meetings/GET/past_meetings/{meetingUUID}
    """
    while True:
        text = base64.b64encode(rng.randbytes(16)).decode()
        if trap == "slash":
            text = "/" + text[1:]
        elif trap == "double":
            text = text[:7] + "//" + text[9:]
        elif text.startswith("/") or "//" in text:
            continue  # keep the traps where the dataset puts them on purpose
        return text


def meeting_id(rng: random.Random) -> int:
    """An 11-digit meeting number: more than int32 holds, as Zoom warns."""
    return rng.randrange(81_000_000_000, 99_999_999_999)


def pmi(rng: random.Random) -> int:
    return rng.randrange(2_000_000_000, 9_999_999_999)


def join_id(rng: random.Random) -> str:
    """The per-join participant `user_id` (valid only inside one meeting)."""
    return str(rng.randrange(16_777_216, 34_000_000))


def opaque(rng: random.Random, n: int = 22) -> str:
    return "".join(rng.choice(_URLSAFE) for _ in range(n))
