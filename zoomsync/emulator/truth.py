"""The emulator's ground truth: every table as Zoom holds it at a moment, streamed as rows.

Tests compare a warehouse against these tables, one by one. The format is documented in
`docs/emulator.md`: a directory with `manifest.json` and one `<table>.jsonl` per table,
each line one JSON object. Rows are produced lazily, so exporting a dataset with a million
participant rows never holds them all in memory.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from zoomsync.emulator import people
from zoomsync.emulator.clock import iso
from zoomsync.emulator.dataset import Dataset, Definition, Instance
from zoomsync.emulator.routes_meetings import ended_instant, full_view
from zoomsync.emulator.routes_webinars import webinar_view

Rows = Iterator[dict]


def _users(ds: Dataset, now: datetime) -> Rows:
    for user in ds.live_users():
        yield dict(user.record)


def _groups(ds: Dataset, now: datetime) -> Rows:
    for g in ds.groups:
        yield {"id": g["id"], "name": g["name"], "total_members": len(ds.group_members[g["id"]])}


def _group_members(ds: Dataset, now: datetime) -> Rows:
    for g in ds.groups:
        for uid in ds.group_members[g["id"]]:
            user = ds.find_user(uid)
            if user is not None:
                yield {"group_id": g["id"], "id": uid, "email": user.email}


def _readable(ds: Dataset, kind: str, now: datetime) -> Iterator[Definition]:
    """Definitions Zoom still answers for: not deleted, and not instant meetings that ended."""
    for d in ds.definitions.values():
        if d.kind == kind and not d.deleted and not ended_instant(ds, d, now):
            yield d


def _definitions(kind: str) -> Callable[[Dataset, datetime], Rows]:
    view = full_view if kind == "meeting" else webinar_view

    def rows(ds: Dataset, now: datetime) -> Rows:
        for d in _readable(ds, kind, now):
            yield view(ds, d, now)
    return rows


def _per_definition(kind: str, fn: Callable[[Dataset, Definition], list[dict]]) -> Callable[
        [Dataset, datetime], Rows]:
    key = f"{kind}_id"

    def rows(ds: Dataset, now: datetime) -> Rows:
        for d in _readable(ds, kind, now):
            for row in fn(ds, d):
                yield {key: d.id, **row}
    return rows


def _ended(ds: Dataset, now: datetime, kind: str) -> Iterator[Instance]:
    for inst in ds.ended_instances(now):
        if inst.kind == kind:
            yield inst


def _instances(kind: str) -> Callable[[Dataset, datetime], Rows]:
    def rows(ds: Dataset, now: datetime) -> Rows:
        for inst in _ended(ds, now, kind):
            segments = people.participants(ds, inst)
            yield {
                "uuid": inst.uuid, "id": inst.meeting_id, "host_id": inst.host_id,
                "type": inst.type, "topic": inst.topic, "start_time": iso(inst.start),
                "end_time": iso(inst.end),  # type: ignore[arg-type]
                "participants_count": len({s["participant_uuid"] for s in segments}) or inst.people,
                "participant_segments": len(segments),
            }
    return rows


def _per_instance(kind: str, fn: Callable[[Dataset, Instance], list[dict]]) -> Callable[
        [Dataset, datetime], Rows]:
    key = f"{kind}_uuid"

    def rows(ds: Dataset, now: datetime) -> Rows:
        for inst in _ended(ds, now, kind):
            for row in fn(ds, inst):
                yield {key: inst.uuid, **row}
    return rows


def _recordings(ds: Dataset, now: datetime) -> Rows:
    for inst in ds.ended_instances(now):
        rec = people.recording(ds, inst)
        if rec is not None:
            yield {k: v for k, v in rec.items() if k != "recording_files"}


def _recording_files(ds: Dataset, now: datetime) -> Rows:
    for inst in ds.ended_instances(now):
        rec = people.recording(ds, inst)
        for f in (rec or {}).get("recording_files", []):
            yield {"recording_uuid": inst.uuid, **f}


def _devices(ds: Dataset, now: datetime) -> Rows:
    yield from (dict(d) for d in ds.devices)


TABLES: dict[str, Callable[[Dataset, datetime], Rows]] = {
    "users": _users,
    "groups": _groups,
    "group_members": _group_members,
    "meetings": _definitions("meeting"),
    "meeting_registrants": _per_definition("meeting", people.registrants),
    "meeting_polls": _per_definition("meeting", people.poll_definitions),
    "past_meetings": _instances("meeting"),
    "meeting_participants": _per_instance("meeting", people.participants),
    "meeting_poll_results": _per_instance("meeting", people.poll_answers),
    "meeting_qa": _per_instance("meeting", people.qa),
    "webinars": _definitions("webinar"),
    "webinar_registrants": _per_definition("webinar", people.registrants),
    "webinar_panelists": _per_definition("webinar", people.panelists),
    "webinar_polls": _per_definition("webinar", people.poll_definitions),
    "past_webinars": _instances("webinar"),
    "webinar_participants": _per_instance("webinar", people.participants),
    "webinar_absentees": _per_instance("webinar", people.absentees),
    "webinar_poll_results": _per_instance("webinar", people.poll_answers),
    "webinar_qa": _per_instance("webinar", people.qa),
    "recordings": _recordings,
    "recording_files": _recording_files,
    "h323_devices": _devices,
}


def iter_table(ds: Dataset, table: str, now: datetime) -> Rows:
    """Rows of one ground-truth table; KeyError names the tables there are."""
    if table not in TABLES:
        raise KeyError(f"unknown table {table!r}; tables: {', '.join(TABLES)}")
    with ds.lock:
        yield from TABLES[table](ds, now)


def manifest(ds: Dataset, now: datetime) -> dict:
    cfg = ds.config
    return {"format": "zoomsync-emulator-truth/1", "seed": cfg.seed, "anchor": iso(cfg.anchor),
            "now": iso(now), "account_id": cfg.account_id, "tables": list(TABLES)}


def export(ds: Dataset, now: datetime, directory: Path) -> dict[str, int]:
    """Write `manifest.json` and one JSONL file per table; returns the row count per table."""
    directory.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for table in TABLES:
        n = 0
        with (directory / f"{table}.jsonl").open("w", encoding="utf-8") as out:
            for row in iter_table(ds, table, now):
                out.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
                n += 1
        counts[table] = n
    (directory / "manifest.json").write_text(
        json.dumps({**manifest(ds, now), "counts": counts}, indent=2) + "\n", encoding="utf-8")
    return counts
