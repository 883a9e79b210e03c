"""The golden scenarios: what zoomsync's Synapse client sends in each situation, recorded.

Each scenario runs real dlt pipelines with zoomsync's Synapse destination against the pool
stand-in and Azurite (recording.py) and keeps the statements from `world.begin()` on. The
streams are dlt resources built as zoomsync.sync.source builds them — the catalog's column
hints, nested hints and primary key, merge, the deletion column, one `zoom` source with root
keys — over fixed rows, so dlt's schema and DDL are those of a real sync (`users` with its
child tables, `meeting_participants`). Regenerate the files after an intended change with

    .venv/bin/python -m tests.destinations.synapse.golden

Not recorded as in production: extraction is not `parallelized` (rows are fixed, so it only
changes threading), and no Zoom API is called.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tests.destinations.synapse.recording import World, commit_lost

USERS = [
    {"id": "u-1", "email": "ann@example.com", "first_name": "Ann", "last_name": "Lee",
     "display_name": "Ann Lee", "type": 1, "status": "active", "use_pmi": False,
     "created_at": "2026-01-01T09:00:00Z", "group_ids": ["g-1", "g-2"],
     "phone_numbers": [{"code": "+1", "country": "US", "label": "Mobile",
                        "number": "5550100", "verified": True}]},
    {"id": "u-2", "email": "bo@example.com", "first_name": "Bo", "last_name": "Ng",
     "display_name": "Bo Ng", "type": 2, "status": "active", "use_pmi": True,
     "created_at": "2026-01-02T09:00:00Z", "group_ids": ["g-1"],
     "phone_numbers": [{"code": "+44", "country": "GB", "label": "Office",
                        "number": "2079460000", "verified": False}]},
]
PARTICIPANTS = [
    {"meeting_uuid": "mA/b+c==", "user_id": "16778240", "join_time": "2026-01-05T10:00:00Z",
     "leave_time": "2026-01-05T10:30:00Z", "duration": 1800, "id": "u-1", "name": "Ann Lee",
     "user_email": "ann@example.com", "status": "in_meeting", "internal_user": True},
    {"meeting_uuid": "mA/b+c==", "user_id": "16779264", "join_time": "2026-01-05T10:01:00Z",
     "leave_time": "2026-01-05T10:20:00Z", "duration": 1140, "id": "", "name": "Guest",
     "user_email": "", "status": "in_meeting", "internal_user": False},
]
# The second load: u-1 changed (one group left, a new phone), u-3 new; one participant's
# row again with a later leave time.
USERS_AGAIN = [
    {**USERS[0], "status": "inactive", "group_ids": ["g-2"],
     "phone_numbers": [{"code": "+1", "country": "US", "label": "Home", "number": "5550199",
                        "verified": True}]},
    {"id": "u-3", "email": "cy@example.com", "first_name": "Cy", "last_name": "Ito",
     "display_name": "Cy Ito", "type": 1, "status": "pending", "use_pmi": False,
     "created_at": "2026-01-03T09:00:00Z", "group_ids": [], "phone_numbers": []},
]
PARTICIPANTS_AGAIN = [{**PARTICIPANTS[0], "leave_time": "2026-01-05T10:45:00Z",
                       "duration": 2700}]
# Zoom starts sending a field the spec lacks and a list not seen before.
NEW_FIELD = "zoom_workplace_plan"
USERS_EVOLVED = [{**USERS[0], NEW_FIELD: "business_plus",
                  "custom_attributes": [{"key": "cbf_1", "name": "Cost centre",
                                         "value": "R&D"}]}]
PARTICIPANT_TEXT = ("id", "name", "registrant_id", "status", "user_email")
COLUMNSTORE = {"meeting_participants": {"index": "CLUSTERED COLUMNSTORE INDEX",
                                        "lengths": dict.fromkeys(PARTICIPANT_TEXT, 256)}}


def stream(name: str, rows: list[dict[str, Any]]) -> Any:
    """A stream's dlt resource with the hints zoomsync.sync.source._resource gives it."""
    import dlt

    from zoomsync.catalog import CATALOG
    from zoomsync.catalog.columns import columns, nested_hints
    from zoomsync.sync.deletes import DELETED_AT
    from zoomsync.sync.read_order import HINT, READ_ORDER, stamp
    from zoomsync.sync.source import key_columns

    deleted_at = {"name": DELETED_AT, "data_type": "timestamp", "nullable": True}
    hints: dict[str, Any] = {**columns(name), DELETED_AT: deleted_at, READ_ORDER: HINT.copy()}
    copies = [dict(r) for r in rows]
    stamp(copies)
    return dlt.resource(copies, name=name, table_name=name,
                        write_disposition="merge",
                        primary_key=key_columns(CATALOG[name], with_account=False),
                        columns=hints, nested_hints=nested_hints(name) or None)


@dataclass(frozen=True)
class Scenario:
    name: str
    doc: str  # the golden file's header
    run: Callable[[World], None]  # set-up, then world.begin(), then what is recorded


def _first_load(w: World) -> None:
    w.sync(w.settings(), stream("users", USERS), stream("meeting_participants", PARTICIPANTS))


def _merge(w: World) -> None:
    settings = w.settings()
    w.sync(settings, stream("users", USERS), stream("meeting_participants", PARTICIPANTS))
    w.begin()
    w.sync(settings, stream("users", USERS_AGAIN),
           stream("meeting_participants", PARTICIPANTS_AGAIN))


def _schema_change(w: World) -> None:
    settings = w.settings()
    w.sync(settings, stream("users", USERS), stream("meeting_participants", PARTICIPANTS))
    w.begin()
    w.sync(settings, stream("users", USERS_EVOLVED))


def _masking(w: World) -> None:
    w.sync(w.settings(mask_pii=True), stream("users", USERS),
           stream("meeting_participants", PARTICIPANTS))


def _retry_after_crash(w: World) -> None:
    settings = w.settings()
    with commit_lost(w, "users"):
        w.sync(settings, stream("users", USERS), stream("meeting_participants", PARTICIPANTS))


def _columnstore(w: World) -> None:
    w.sync(w.settings(synapse_layout=json.dumps(COLUMNSTORE)),
           stream("meeting_participants", PARTICIPANTS))


SCENARIOS = {s.name: s for s in (
    Scenario("first_load", "An empty pool: the users family (users, users__group_ids, "
             "users__phone_numbers) and meeting_participants, loaded once.", _first_load),
    Scenario("merge", "A second load into the pool first_load left: users and participants "
             "whose keys are there already are replaced, new keys added.", _merge),
    Scenario("schema_change", "After a first load, Zoom sends a new users field "
             f"({NEW_FIELD}) and a list never seen (custom_attributes -> a new child "
             "table).", _schema_change),
    Scenario("masking", "--mask-pii (ZOOMSYNC_MASK_PII): a first load, then masks on the "
             "personal columns of users and meeting_participants.", _masking),
    Scenario("retry_after_crash", "A first load where the connection drops right after "
             "the users family's COMMIT went through: the family is loaded again whole, its "
             "ledger check finds the COMMIT, so only its staging is dropped.",
             _retry_after_crash),
    Scenario("columnstore", "ZOOMSYNC_SYNAPSE_LAYOUT makes meeting_participants a "
             "CLUSTERED COLUMNSTORE INDEX with lengths for its text columns; a first load.",
             _columnstore),
)}

SEPARATOR = ";\n\n"


def render(name: str, statements: Sequence[str]) -> str:
    """A golden file: a header, then one statement per block, each ending with `;`."""
    for sql in statements:
        assert SEPARATOR not in sql, f"a statement holds the block separator: {sql[:80]}"
    about = textwrap.wrap(f"{name}: {SCENARIOS[name].doc}", 92)
    header = [*about,
              "Recorded from the real client (zoomsync's dlt destination run against the pool",
              "stand-in and Azurite), volatile text normalised: see recording.py. Regenerate",
              "with .venv/bin/python -m tests.destinations.synapse.golden; do not edit."]
    body = SEPARATOR.join(statements)
    return "\n".join(f"-- {line}" for line in header) + f"\n\n{body};\n"


def blocks(text: str) -> list[str]:
    """A golden file's statements (the header comment dropped)."""
    body = text.split("\n\n", 1)[1]
    return body.removesuffix(";\n").split(SEPARATOR)
