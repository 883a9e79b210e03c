"""Compare warehouse tables with the emulator's ground truth, table by table."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import duckdb
from dlt.common.normalizers.naming.snake_case import NamingConvention

from zoomsync.emulator import truth
from zoomsync.emulator.app import Emulator
from zoomsync.sync.read_order import READ_ORDER

_naming = NamingConvention()

# warehouse table -> (truth table, key columns)
PAIRS: dict[str, tuple[str, tuple[str, ...]]] = {
    "users": ("users", ("id",)),
    "groups": ("groups", ("id",)),
    "group_members": ("group_members", ("group_id", "id")),
    "meetings": ("meetings", ("id",)),
    "meeting_registrants": ("meeting_registrants", ("meeting_id", "id")),
    "meeting_polls": ("meeting_polls", ("meeting_id", "id")),
    "past_meetings": ("past_meetings", ("uuid",)),
    "meeting_participants": ("meeting_participants", ("meeting_uuid", "user_id", "join_time")),
    "meeting_poll_results": ("meeting_poll_results", ("meeting_uuid", "row_index")),
    "meeting_qa": ("meeting_qa", ("meeting_uuid", "row_index")),
    "webinars": ("webinars", ("id",)),
    "webinar_panelists": ("webinar_panelists", ("webinar_id", "id")),
    "webinar_registrants": ("webinar_registrants", ("webinar_id", "id")),
    "webinar_polls": ("webinar_polls", ("webinar_id", "id")),
    "past_webinars": ("past_webinars", ("uuid",)),
    "webinar_participants": ("webinar_participants", ("webinar_uuid", "user_id", "join_time")),
    "webinar_absentees": ("webinar_absentees", ("webinar_uuid", "id")),
    "webinar_poll_results": ("webinar_poll_results", ("webinar_uuid", "row_index")),
    "webinar_qa": ("webinar_qa", ("webinar_uuid", "row_index")),
    "recordings": ("recordings", ("uuid",)),
    "h323_devices": ("h323_devices", ("id",)),
}


def scalar(value: Any) -> Any:
    """One comparable form for both sides: timestamps as Zoom's `...Z` strings."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def flatten(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects as dlt names their columns (`settings__host_video`); lists dropped."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        name = prefix + _naming.normalize_identifier(key)
        if isinstance(value, dict):
            out.update(flatten(value, name + "__"))
        elif not isinstance(value, list):
            out[name] = scalar(value)
    return out


def warehouse(db: duckdb.DuckDBPyConnection, dataset: str, table: str) -> list[dict[str, Any]]:
    cursor = db.execute(f'select * from "{dataset}"."{table}"')
    names = [c[0] for c in cursor.description]
    return comparable(dict(zip(names, row, strict=True)) for row in cursor.fetchall())


def comparable(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows read from any warehouse, in the truth's value forms, without dlt's columns and
    `_zoomsync_read_order` (when the row was read: two loads of the same data differ)."""
    return [{n: scalar(v) for n, v in row.items() if not n.startswith("_dlt") and n != READ_ORDER}
            for row in rows]


def truth_rows(emu: Emulator, table: str, key: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = [flatten(r) for r in truth.iter_table(emu.dataset, table, emu.clock.now())]
    if "row_index" in key:  # numbered per parent in Zoom's order, as the sync does
        seen: Counter[str] = Counter()
        for r in rows:
            parent = r[key[0]]
            r["row_index"] = seen[parent]
            seen[parent] += 1
    return rows


def differences(expected: Iterable[dict[str, Any]], actual: Iterable[dict[str, Any]],
                key: tuple[str, ...], *, limit: int = 5) -> list[str]:
    """Missing, extra and duplicated keys, and differing values in shared columns."""
    exp = list(expected)
    act = list(actual)
    problems: list[str] = []
    act_keys = Counter(tuple(r.get(k) for k in key) for r in act)
    dupes = [k for k, n in act_keys.items() if n > 1]
    if dupes:
        problems.append(f"{len(dupes)} duplicated keys, e.g. {dupes[:2]}")
    by_key = {tuple(r.get(k) for k in key): r for r in act}
    exp_keys = {tuple(r.get(k) for k in key): r for r in exp}
    missing = exp_keys.keys() - by_key.keys()
    extra = by_key.keys() - exp_keys.keys()
    if missing:
        problems.append(f"{len(missing)} rows missing, e.g. {sorted(missing, key=str)[:2]}")
    if extra:
        problems.append(f"{len(extra)} rows not in the truth, e.g. {sorted(extra, key=str)[:2]}")
    shared_columns: set[str] = set()
    if act and exp:
        shared_columns = set(act[0]) & set().union(*(r.keys() for r in exp))
    wrong: dict[str, list[str]] = defaultdict(list)
    for k in exp_keys.keys() & by_key.keys():
        e, a = exp_keys[k], by_key[k]
        for column in shared_columns:
            if column in e and e[column] != a.get(column):
                wrong[column].append(f"{k}: expected {e[column]!r}, got {a.get(column)!r}")
    for column, cases in sorted(wrong.items())[:limit]:
        problems.append(f"column {column}: {len(cases)} rows differ, e.g. {cases[0]}")
    return problems
