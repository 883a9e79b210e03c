"""Generate `zoomsync/emulator/endpoints.json` from Zoom's published OpenAPI specs.

    .venv/bin/python scripts/gen_emulator_endpoints.py [--spec-dir DIR] [--output FILE]

The emulator reads per-endpoint facts (rate-limit label, list key, page sizes, query
parameters, scopes) from the generated table instead of restating them by hand, so they
cannot drift from the spec; `tests/test_endpoints_table.py` regenerates the table and
compares it with the committed file. The specs are data files outside the repo: by
default `../shared/zoom-openapi` beside the repo, or `$ZOOMSYNC_OPENAPI_DIR`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

if str(Path(__file__).parent) not in sys.path:  # loaded by path (the tests), not run
    sys.path.insert(0, str(Path(__file__).parent))

from _spec import REPO, GenerationError, load_specs, run
from _spec import render as render  # re-exported: the tests render through this script

DEFAULT_OUTPUT = REPO / "zoomsync" / "emulator" / "endpoints.json"

# The ordinary endpoint documents, searched in this order.
SPEC_FILES = ("meetings.endpoints.json", "users.endpoints.json", "accounts.endpoints.json")
# The master-account document is consulted only for paths none of the files above has, so a
# master variant never shadows the ordinary endpoint. It is the only current file with
# GET /accounts/{accountId}/recordings (zoom-api.md §7.9).
MASTER_FILE = "meetings.master.json"

IN_SCOPE: tuple[str, ...] = (
    # users, groups, account
    "/users", "/users/{userId}", "/users/{userId}/settings",
    "/groups", "/groups/{groupId}", "/groups/{groupId}/members",
    "/accounts/{accountId}/settings", "/roles",
    # meetings
    "/users/{userId}/meetings", "/meetings/{meetingId}",
    "/meetings/{meetingId}/registrants", "/meetings/{meetingId}/registrants/questions",
    "/meetings/{meetingId}/polls",
    "/past_meetings/{meetingId}", "/past_meetings/{meetingId}/instances",
    "/past_meetings/{meetingId}/participants", "/past_meetings/{meetingId}/polls",
    "/past_meetings/{meetingId}/qa",
    # reports
    "/report/users/{userId}/meetings", "/report/history_meetings",
    "/report/meetings/{meetingId}", "/report/meetings/{meetingId}/participants",
    "/report/meetings/{meetingId}/polls", "/report/meetings/{meetingId}/qa",
    "/report/daily", "/report/users",
    "/report/webinars/{webinarId}", "/report/webinars/{webinarId}/participants",
    "/report/webinars/{webinarId}/polls", "/report/webinars/{webinarId}/qa",
    # webinars
    "/users/{userId}/webinars", "/webinars/{webinarId}", "/webinars/{webinarId}/panelists",
    "/webinars/{webinarId}/registrants", "/webinars/{webinarId}/polls",
    "/past_webinars/{webinarId}/instances", "/past_webinars/{webinarId}/participants",
    "/past_webinars/{webinarId}/absentees", "/past_webinars/{webinarId}/polls",
    "/past_webinars/{webinarId}/qa",
    # recordings
    "/users/{userId}/recordings", "/meetings/{meetingId}/recordings",
    "/accounts/{accountId}/recordings",
    # dashboards
    "/metrics/meetings", "/metrics/meetings/{meetingId}",
    "/metrics/meetings/{meetingId}/participants",
    "/metrics/webinars", "/metrics/webinars/{webinarId}",
    "/metrics/webinars/{webinarId}/participants",
    # devices
    "/h323/devices",
)

# Paths that do not end in a `{param}` yet answer with one object whose arrays are
# attributes, not records. Every other path not ending in a `{param}` must have exactly
# one top-level array property, and that is its list key; anything else fails the run.
SINGLE_OBJECT = frozenset({
    "/users/{userId}/settings",
    "/accounts/{accountId}/settings",
    "/meetings/{meetingId}/recordings",  # recording_files[] + participant_audio_files[]
    "/meetings/{meetingId}/registrants/questions",  # questions[] + custom_questions[]
})

LABELS = ("LIGHT", "MEDIUM", "HEAVY", "RESOURCE_INTENSIVE")
# "**[Rate Limit Label](https://…):** `MEDIUM`"; the link text is sometimes absent.
_LABEL_RE = re.compile(r"Rate Limit Label[^`\n]*`([^`]+)`")


def normalise_label(raw: str) -> str:
    """`Heavy`, `RESOURCE-INTENSIVE`, `Resource-intensive` → `HEAVY`, `RESOURCE_INTENSIVE`."""
    key = re.sub(r"[\s-]+", "_", raw.strip()).upper()
    if key not in LABELS:
        raise GenerationError(f"unknown rate limit label {raw!r}")
    return key


def rate_label(op: Mapping[str, Any], where: str) -> str:
    found = {normalise_label(m) for m in _LABEL_RE.findall(op.get("description", ""))}
    if len(found) != 1:
        raise GenerationError(f"{where}: expected one rate limit label, found {sorted(found)}")
    return found.pop()


def _top_level_properties(schema: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    # Zoom nests the envelope in allOf (paging fields in one branch, the list in another).
    for keyword in ("allOf", "oneOf", "anyOf"):
        for sub in schema.get(keyword, []):
            yield from _top_level_properties(sub)
    yield from schema.get("properties", {}).items()


def list_key(path: str, op: Mapping[str, Any]) -> str | None:
    if path.endswith("}") or path in SINGLE_OBJECT:
        return None
    schema = op["responses"]["200"]["content"]["application/json"]["schema"]
    arrays = sorted({name for name, sub in _top_level_properties(schema)
                     if sub.get("type") == "array"})
    if len(arrays) != 1:
        raise GenerationError(
            f"GET {path}: cannot tell the list key from top-level arrays {arrays}; "
            "add the path to SINGLE_OBJECT or teach list_key() about it"
        )
    return arrays[0]


def query_params(op: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    params: dict[str, dict[str, Any]] = {}
    for param in op.get("parameters", []):
        if param.get("in") != "query":
            continue
        schema = param.get("schema", {})
        params[param["name"]] = {
            "default": schema.get("default"),
            "enum": schema.get("enum"),
            "format": schema.get("format"),
            "required": bool(param.get("required", False)),
            "type": schema.get("type"),
        }
    return params


def describe(path: str, spec_file: str, op: Mapping[str, Any]) -> dict[str, Any]:
    where = f"GET {path} ({spec_file})"
    params = query_params(op)
    page_size = next((p.get("schema", {}) for p in op.get("parameters", [])
                      if p.get("in") == "query" and p["name"] == "page_size"), None)
    extensions = op.get("x-extensions", {})
    return {
        "operation_id": op["operationId"],
        "spec": spec_file,
        "label": rate_label(op, where),
        "list_key": list_key(path, op),
        "page_size_default": page_size.get("default") if page_size is not None else None,
        "page_size_max": page_size.get("maximum") if page_size is not None else None,
        "next_page_token": "next_page_token" in params,
        "page_number": "page_number" in params,
        "scopes": list(extensions.get("x-macro-scopes", [])),
        "granular_scopes": list(extensions.get("x-granular-scopes", [])),
        "params": params,
    }


def build_table(
    spec_dir: Path, warn: Callable[[str], None] = lambda m: print(m, file=sys.stderr)
) -> dict[str, dict[str, Any]]:
    """Describe every in-scope GET that the specs in `spec_dir` have; warn about the rest."""
    specs = load_specs(spec_dir, (*SPEC_FILES, MASTER_FILE))
    table: dict[str, dict[str, Any]] = {}
    for path in IN_SCOPE:
        hits = [name for name in SPEC_FILES if "get" in specs[name]["paths"].get(path, {})]
        if not hits and "get" in specs[MASTER_FILE]["paths"].get(path, {}):
            hits = [MASTER_FILE]
        if len(hits) > 1:
            raise GenerationError(f"GET {path} is in more than one spec: {hits}")
        if not hits:
            warn(f"warning: GET {path} is not in any spec in {spec_dir}; left out")
            continue
        table[path] = describe(path, hits[0], specs[hits[0]]["paths"][path]["get"])
    return table


if __name__ == "__main__":
    sys.exit(run(doc=__doc__, default_output=DEFAULT_OUTPUT, build=build_table,
                 summary=lambda table, output: f"wrote {len(table)} endpoints to {output}"))
