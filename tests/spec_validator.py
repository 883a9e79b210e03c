"""Check emulator responses against Zoom's published OpenAPI specs (a test helper).

    v = SpecValidator()
    v.validate("GET", "/users", 200, body)              # raises AssertionError if invalid
    v.match("/past_meetings/abc%2Fdef/participants")    # "/past_meetings/{meetingId}/participants"

The specs are Zoom's data files, not ours: `$ZOOMSYNC_OPENAPI_DIR`, or else
`shared/zoom-openapi` beside the repo (where CI puts it). Every `*.endpoints.json` and
`*.master.json` there is loaded; see `shared/zoom-openapi/SOURCE.md`.

Formats are checked, because a timestamp such as `2024-01-02 03:04:05` or
`2024-01-02T03:04:05+00:00` breaks clients that parse Zoom's own `...Z` form.

Where the spec contradicts itself so that data Zoom really sends would fail, a named
entry in `PATCHES` changes that one schema node. Each entry says why, and each checks that
the node still looks as expected, so a patch that no longer fits the spec fails loudly
instead of quietly loosening something else.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jsonschema import FormatChecker, ValidationError
from openapi_schema_validator import OAS30Validator

REPO = Path(__file__).resolve().parent.parent
SPEC_GLOBS = ("*.endpoints.json", "*.master.json")
METHODS = ("get", "post", "put", "patch", "delete")
MAX_ERRORS = 5

# Zoom's error envelope (https://developers.zoom.us/docs/api/errors/). The spec documents
# error statuses with prose only, so this is what a 4xx/5xx without a schema must match.
ERROR_ENVELOPE: dict[str, Any] = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "integer"},
        "message": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}


def spec_dir() -> Path:
    """`$ZOOMSYNC_OPENAPI_DIR`, else `shared/zoom-openapi` beside the repo."""
    env = os.environ.get("ZOOMSYNC_OPENAPI_DIR")
    return Path(env) if env else REPO.parent / "shared" / "zoom-openapi"


# --- formats ------------------------------------------------------------------------------

_ZOOM_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _is_datetime(value: str, strict: bool) -> bool:
    if not (_ZOOM_DATETIME if strict else _RFC3339).fullmatch(value):
        return False
    try:  # the regexes accept 2024-02-30 and 25:00
        datetime.fromisoformat(value[:19])
    except ValueError:
        return False
    return True


def _is_date(value: str) -> bool:
    if not _DATE.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def format_checker(*, strict_timestamps: bool = True) -> FormatChecker:
    """`date-time`, `date` and `email` only; other formats (int64, …) are not asserted.

    Strict timestamps are Zoom's canonical form, whole seconds in UTC with `Z`
    (`2024-01-02T03:04:05Z`), which is what the emulator must emit. Non-strict accepts any
    RFC 3339 date-time, for data captured from elsewhere (some spec examples carry
    fractions, e.g. `2019-02-01T12:34:12.66Z`).
    """
    checker = FormatChecker(formats=())

    def strings_only(test: Callable[[str], bool]) -> Callable[[object], bool]:
        return lambda value: not isinstance(value, str) or test(value)

    checker.checks("date-time")(strings_only(lambda v: _is_datetime(v, strict_timestamps)))
    checker.checks("date")(strings_only(_is_date))
    checker.checks("email")(strings_only(lambda v: _EMAIL.fullmatch(v) is not None))
    return checker


# --- spec patches -------------------------------------------------------------------------


@dataclass(frozen=True)
class SpecPatch:
    """One reviewed change to one node of one response schema."""

    name: str
    method: str
    path: str
    status: str
    pointer: str  # JSON pointer into the response schema
    expect: Mapping[str, Any]  # keys the node must still have, or the patch is stale
    change: Callable[[dict[str, Any]], dict[str, Any]]
    why: str


def _allow_empty_string(node: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [node, {"type": "string", "maxLength": 0}]}


def _add_enum(*values: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda node: {**node, "enum": [*node["enum"], *values]}


def _drop_enum(node: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in node.items() if k != "enum"}


def _also(alternative: dict[str, Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda node: {"anyOf": [node, alternative]}


def _resolve(node: Any, pointer: str) -> Any:
    for part in _pointer_parts(pointer):
        node = node[int(part) if isinstance(node, list) else part]
    return node


def _exclusive_options(options: Mapping[str, str]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Make the settings `oneOf` branches exclusive, as `?option=` makes them on Zoom.

    `options` maps the pointer of each option-specific branch to the key only its body
    has. That branch becomes closed (`additionalProperties: false`) and requires the key;
    the full-settings branch (`oneOf/0`) must not carry any of those keys.
    """

    def change(node: dict[str, Any]) -> dict[str, Any]:
        full = node["oneOf"][0].setdefault("properties", {})
        for pointer, key in options.items():
            branch = _resolve(node, pointer)
            if key not in branch.get("properties", {}) or key in full:
                raise KeyError(f"{pointer}: {key!r} no longer tells this branch apart")
            branch["additionalProperties"] = False
            branch["required"] = [key]
            full[key] = {"not": {}}
        return node

    return change


_MP = "/allOf/1/properties/participants/items/properties"  # metrics participants
_UREC = "/allOf/2/properties/meetings/items/allOf/0"  # /users/{userId}/recordings meeting
_MREC = "/allOf/0"  # /meetings/{meetingId}/recordings meeting
_FILE = "/allOf/1/allOf/0/properties/recording_files/items/allOf/0/properties"
_INT_MEETING_TYPE = {"type": "integer", "enum": [1, 2, 3, 4, 5, 6, 7, 8, 9, 99]}
_WHY_GUEST_EMAIL = (
    "format email, yet the field's own description says it is an empty string for "
    "participants outside the host's account (Zoom's email display rules)"
)
_WHY_POLL_EMAIL = (
    "format email, but since 2022-03-01 Zoom blanks guests' emails in API responses "
    "(changelog 'Zoom API email address display rules'); the participant endpoints document "
    "this blank as an empty string"
)
_WHY_DEVICE = "the description says external users get an empty string, but '' is not in enum"
_WHY_LEAVE = (
    "the enum lists templates such as '$name left the meeting.' where $name is the "
    "participant's name, so no real value can equal a member"
)
_WHY_ECHO = (
    "format date, but the description says the field echoes the request's from/to, which "
    "may be 'yyyy-MM-dd HH:mm:ss'"
)
_WHY_FILE_TYPE = (
    "the description documents TIMELINE files, and the same recording object in "
    "meetings.master.json and the recording.completed webhook lists TIMELINE"
)
_WHY_FILE_STATUS = (
    "only 'completed'; the same recording file object in meetings.master.json and the "
    "recording.completed webhook also has 'processing'"
)
_WHY_REC_TYPE = (
    "a string enum here, but an integer in meetings.master.json, in the recording.completed "
    "webhook (example \"type\": 4) and in the 2023 spec's enum values; accept both"
)
_WHY_SETTINGS = (
    "oneOf over the full settings and the ?option= bodies, none of which has required keys "
    "or additionalProperties: false, so every body matches several branches and oneOf "
    "('exactly one') always fails; anyOf instead would let any body pass through an "
    "option branch unchecked, so the branches are made exclusive by their own keys"
)


def _patches() -> tuple[SpecPatch, ...]:
    out: list[SpecPatch] = []

    def add(name: str, path: str, pointer: str, expect: Mapping[str, Any],
            change: Callable[[dict[str, Any]], dict[str, Any]], why: str) -> None:
        out.append(SpecPatch(name, "get", path, "200", pointer, expect, change, why))

    add("past-webinar-participant-blank-email", "/past_webinars/{webinarId}/participants",
        "/properties/participants/items/properties/user_email", {"format": "email"},
        _allow_empty_string, _WHY_GUEST_EMAIL)
    add("metrics-participant-blank-email", "/metrics/meetings/{meetingId}/participants",
        f"{_MP}/email", {"format": "email"}, _allow_empty_string, _WHY_GUEST_EMAIL)
    for kind, var in (("meetings", "{meetingId}"), ("webinars", "{webinarId}")):
        add(f"report-{kind}-poll-blank-email", f"/report/{kind}/{var}/polls",
            "/properties/questions/items/properties/email", {"format": "email"},
            _allow_empty_string, _WHY_POLL_EMAIL)
        participants = f"/metrics/{kind}/{var}/participants"
        add(f"metrics-{kind}-participant-blank-device", participants, f"{_MP}/device",
            {"type": "string"}, _add_enum(""), _WHY_DEVICE)
        add(f"metrics-{kind}-participant-leave-reason-text", participants,
            f"{_MP}/leave_reason", {"type": "string"}, _drop_enum, _WHY_LEAVE)
        for bound in ("from", "to"):
            add(f"metrics-{kind}-{bound}-echo", f"/metrics/{kind}",
                f"/allOf/0/properties/{bound}", {"format": "date"},
                _also({"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"}),
                _WHY_ECHO)
    for which, path, base in (("user", "/users/{userId}/recordings", _UREC),
                              ("meeting", "/meetings/{meetingId}/recordings", _MREC)):
        add(f"{which}-recordings-timeline-file", path, f"{base}{_FILE}/file_type",
            {"type": "string"}, _add_enum("TIMELINE"), _WHY_FILE_TYPE)
        add(f"{which}-recordings-processing-file", path, f"{base}{_FILE}/status",
            {"enum": ["completed"]}, _add_enum("processing"), _WHY_FILE_STATUS)
        add(f"{which}-recordings-integer-type", path, f"{base}/allOf/0/properties/type",
            {"type": "string"}, _also(_INT_MEETING_TYPE), _WHY_REC_TYPE)
    add("user-settings-exclusive-options", "/users/{userId}/settings", "", {"oneOf": ...},
        _exclusive_options({
            "/oneOf/1": "authentication_options",  # {authentication_options: {…}}
            "/oneOf/2/oneOf/0": "meeting_authentication",
            "/oneOf/2/oneOf/1": "recording_authentication",
            "/oneOf/3": "meeting_security",
        }), _WHY_SETTINGS)
    add("account-settings-exclusive-options", "/accounts/{accountId}/settings", "",
        {"oneOf": ...}, _exclusive_options({
            "/oneOf/1/oneOf/0": "meeting_authentication",
            "/oneOf/1/oneOf/1": "recording_authentication",
            "/oneOf/2": "meeting_security",
            "/oneOf/3": "in_session",  # Video SDK accounts
        }), _WHY_SETTINGS)
    return tuple(out)


PATCHES = _patches()


def _pointer_parts(pointer: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]


def _apply(schema: dict[str, Any], patch: SpecPatch) -> dict[str, Any]:
    """Return `schema` with `patch` applied (the root itself may be replaced)."""
    parent: Any = None
    key: Any = None
    node: Any = schema
    try:
        for part in _pointer_parts(patch.pointer):
            parent, key = node, int(part) if isinstance(node, list) else part
            node = node[key]
    except (KeyError, IndexError, ValueError, TypeError):
        raise AssertionError(f"spec patch {patch.name!r}: {patch.pointer} not found") from None
    for k, v in patch.expect.items():
        if k not in node or (v is not ... and node[k] != v):
            raise AssertionError(
                f"spec patch {patch.name!r} is stale: expected {k}={v!r} at {patch.pointer}; "
                "re-check the spec and update or drop the patch"
            )
    try:
        new = patch.change(node)
    except (KeyError, IndexError, TypeError) as exc:
        raise AssertionError(f"spec patch {patch.name!r} is stale: {exc}") from None
    if parent is None:
        return new
    parent[key] = new
    return schema


# --- errors -------------------------------------------------------------------------------


def _short(value: Any, limit: int = 80) -> str:
    """A JSON value, clipped."""
    return _clip(json.dumps(value, ensure_ascii=False, default=str), limit)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _sort_key(error: ValidationError) -> tuple[tuple[int, str], ...]:
    return tuple((0, f"{p:09d}") if isinstance(p, int) else (1, p) for p in error.absolute_path)


def _without_noise(errors: list[ValidationError]) -> list[ValidationError]:
    """Where a value has the wrong type, its enum/format/length errors say nothing more."""
    mistyped = {tuple(e.absolute_path) for e in errors if e.validator == "type"}
    return [e for e in errors
            if e.validator == "type" or tuple(e.absolute_path) not in mistyped]


def _describe(error: ValidationError) -> str:
    """`<json path>: <keyword>: <value and what was expected>` on one line."""
    where = error.json_path
    if error.validator in ("oneOf", "anyOf") and error.context:
        inner = error
        while inner.validator in ("oneOf", "anyOf") and inner.context:
            # The branch whose error lies deepest got furthest: its error is the useful one.
            inner = max(inner.context, key=lambda e: len(e.absolute_path))
        return f"{where}: {error.validator}: no branch fits; closest: {_describe(inner)}"
    if error.validator == "format":
        detail = f"{_short(error.instance)} is not a valid {error.validator_value!r}"
    elif error.validator == "not" and error.validator_value == {}:
        detail = "must be absent here"
    elif error.validator in ("type", "enum", "maxLength", "minLength", "pattern", "maximum",
                             "minimum", "maxItems", "minItems"):
        detail = f"{_short(error.instance)} ({error.validator}={_short(error.validator_value)})"
    else:
        detail = error.message
    return f"{where}: {error.validator}: {_clip(detail, 160)}"


# --- the validator ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Template:
    path: str
    segments: tuple[re.Pattern[str] | str, ...]
    rank: tuple[int, ...]  # 0 for a literal segment, 1 for a parameter: literals win


def _template(path: str) -> _Template:
    segments: list[re.Pattern[str] | str] = []
    for seg in path.strip("/").split("/"):
        if "{" in seg:
            parts = re.split(r"(\{[^}]+\})", seg)
            segments.append(re.compile("".join(
                "[^/]+" if p.startswith("{") else re.escape(p) for p in parts)))
        else:
            segments.append(seg)
    return _Template(path, tuple(segments),
                     tuple(0 if isinstance(s, str) else 1 for s in segments))


class SpecValidator:
    """Validates response bodies against the response schemas in Zoom's specs."""

    def __init__(self, directory: Path | None = None, *, strict_timestamps: bool = True) -> None:
        self.directory = directory or spec_dir()
        files = sorted({f for g in SPEC_GLOBS for f in self.directory.glob(g)})
        if not files:
            raise FileNotFoundError(f"no Zoom OpenAPI specs in {self.directory}")
        self._ops: dict[tuple[str, str], dict[str, Any]] = {}
        for file in files:
            spec = json.loads(file.read_text("utf-8"))
            for path, item in spec["paths"].items():
                for method in METHODS:
                    if method in item and (method, path) not in self._ops:
                        self._ops[(method, path)] = item[method]
        self._templates = [_template(p) for p in sorted({p for _, p in self._ops})]
        self._checker = format_checker(strict_timestamps=strict_timestamps)
        self._validators: dict[tuple[str, str, int], Any] = {}
        # Patched schemas are built up front so that a stale patch fails at once, not only
        # in the one test that happens to hit its endpoint.
        grouped: dict[tuple[str, str, str], list[SpecPatch]] = {}
        for patch in PATCHES:
            grouped.setdefault((patch.method, patch.path, patch.status), []).append(patch)
        self._patched: dict[tuple[str, str, str], dict[str, Any]] = {}
        for (method, path, key), patches in grouped.items():
            try:
                schema = self._ops[(method, path)]["responses"][key]["content"][
                    "application/json"]["schema"]
            except KeyError:
                raise AssertionError(f"spec patches {[p.name for p in patches]}: "
                                     f"{method.upper()} {path} {key} is not in the spec") from None
            schema = copy.deepcopy(schema)
            for patch in patches:
                schema = _apply(schema, patch)
            self._patched[(method, path, key)] = schema

    def match(self, path: str) -> str:
        """The template for a concrete, still percent-encoded path (query and /v2 ignored)."""
        raw = path.split("?", 1)[0].split("#", 1)[0]
        raw = raw.removeprefix("/v2") if raw.startswith("/v2/") else raw
        parts = raw.strip("/").split("/")
        found = [t for t in self._templates if len(t.segments) == len(parts) and all(
            s == p if isinstance(s, str) else s.fullmatch(p)
            for s, p in zip(t.segments, parts, strict=True))]
        if not found:
            raise AssertionError(f"no Zoom endpoint in the spec matches {path!r}")
        return min(found, key=lambda t: t.rank).path

    def validate(self, method: str, path_template: str, status: int, body: object) -> None:
        """Raise AssertionError if `body` is not what the spec allows for this response."""
        method = method.lower()
        template = path_template
        if (method, template) not in self._ops:
            template = self.match(path_template)
        if (method, template) not in self._ops:
            raise AssertionError(f"the spec has no {method.upper()} {template}")
        where = f"{method.upper()} {template} {status}"
        if (method, template, status) not in self._validators:
            schema = self._schema(method, template, status)
            self._validators[(method, template, status)] = (
                None if schema is None else OAS30Validator(schema, format_checker=self._checker))
        validator = self._validators[(method, template, status)]
        if isinstance(body, (str, bytes)):
            body = json.loads(body) if body else None
        if validator is None:
            if body is not None:
                raise AssertionError(f"{where}: the spec documents no body, got {_short(body)}")
            return
        errors = _without_noise(sorted(validator.iter_errors(body), key=_sort_key))
        if errors:
            lines = [_describe(e) for e in errors[:MAX_ERRORS]]
            if len(errors) > MAX_ERRORS:
                lines.append(f"… and {len(errors) - MAX_ERRORS} more")
            raise AssertionError(f"{where}: {len(errors)} schema error(s)\n  " + "\n  ".join(lines))

    def _schema(self, method: str, template: str, status: int) -> dict[str, Any] | None:
        """The response schema, None for a documented empty body."""
        responses = self._ops[(method, template)].get("responses", {})
        code = str(status)
        family = f"{code[0]}XX"
        if 200 <= status < 300:
            keys = [code, family, "200", *sorted(k for k in responses if k.startswith("2"))]
        else:
            keys = [code, family, "default"]
        for key in keys:
            if key in responses:
                content = responses[key].get("content", {}).get("application/json", {})
                if "schema" in content:
                    return self._patched.get((method, template, key), content["schema"])
                if 200 <= status < 300 and key == code:
                    return None
        if status >= 400:
            return ERROR_ENVELOPE
        raise AssertionError(f"{method.upper()} {template}: the spec documents no {status} "
                             f"response (documented: {sorted(responses)})")

    def operations(self) -> Iterator[tuple[str, str]]:
        """Every (method, path template) in the loaded specs."""
        yield from self._ops


@functools.cache
def default_validator() -> SpecValidator:
    """One shared validator: loading the specs takes a moment."""
    return SpecValidator()
