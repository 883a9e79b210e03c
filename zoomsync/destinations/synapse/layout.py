"""Where each table's rows live (distribution) and how they are stored (index).

Defaults, by the size a Zoom table reaches:
- dimensions (users, groups, settings, definitions of polls and panelists...): REPLICATE +
  CLUSTERED INDEX on the primary key. A full copy on every compute node makes joins local;
  Microsoft advises it below 2 GB compressed, which these tables stay far under.
- facts that grow with meeting activity (instances, participants, registrants, Q&A, polls
  results, recordings): HASH on the meeting (or webinar) they belong to + HEAP. Hashing every
  per-instance table on the instance UUID co-locates `past_meetings.uuid` with
  `meeting_participants.meeting_uuid`, so their joins move no data. HEAP, not columnstore:
  Microsoft puts columnstore's pay-off above 60 million rows and forbids `(max)` columns in
  it, and a load must never fail on a long string; heaps also load fastest.
  https://learn.microsoft.com/azure/synapse-analytics/sql-data-warehouse/sql-data-warehouse-tables-index
  https://learn.microsoft.com/azure/synapse-analytics/sql-data-warehouse/sql-data-warehouse-tables-distribute
- child tables (`parent__child`) share no column with their root but dlt's root id, so they
  follow the root's distribution through it: HASH(_dlt_root_id) under a hashed root (the
  merge's child delete then stays on one distribution), REPLICATE under a replicated root.
- anything else (a stream not listed here, dlt's own tables): ROUND_ROBIN + HEAP, Synapse's
  safe default.

Any table can be overridden: `{"meeting_participants": {"distribution": "HASH(meeting_uuid)",
"index": "CLUSTERED COLUMNSTORE INDEX", "lengths": {"name": 256, ...}}}`. Every choice is
checked against the table's columns here, at configuration time, so a bad one is a clear
ConfigError and never a failed load.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from zoomsync.destinations.synapse.names import quote
from zoomsync.destinations.synapse.types import SqlColumn
from zoomsync.errors import ConfigError

DistributionKind = Literal["ROUND_ROBIN", "REPLICATE", "HASH"]
IndexKind = Literal["HEAP", "CLUSTERED INDEX", "CLUSTERED COLUMNSTORE INDEX"]

# A clustered index key may declare at most 900 bytes and 16 columns.
# https://learn.microsoft.com/sql/sql-server/maximum-capacity-specifications-for-sql-server
MAX_CLUSTERED_KEY_BYTES = 900
MAX_CLUSTERED_KEY_COLUMNS = 16


@dataclass(frozen=True)
class Distribution:
    kind: DistributionKind
    column: str | None = None

    def sql(self) -> str:
        if self.kind == "HASH":
            return f"DISTRIBUTION = HASH({quote(self.column or '')})"
        return f"DISTRIBUTION = {self.kind}"


@dataclass(frozen=True)
class Index:
    kind: IndexKind
    columns: tuple[str, ...] = ()

    def sql(self) -> str:
        if self.kind == "CLUSTERED INDEX":
            return f"CLUSTERED INDEX ({', '.join(quote(c) for c in self.columns)})"
        return self.kind


@dataclass(frozen=True)
class Layout:
    distribution: Distribution
    index: Index

    def sql(self) -> str:
        return f"WITH ({self.distribution.sql()}, {self.index.sql()})"


# Staging tables: round robin and heap load fastest; the merge reads them once.
# https://learn.microsoft.com/azure/synapse-analytics/sql-data-warehouse/guidance-for-loading-data
STAGING = Layout(Distribution("ROUND_ROBIN"), Index("HEAP"))
FALLBACK = STAGING

DIMENSIONS = frozenset({
    "users", "groups", "group_members", "user_settings", "account_settings", "h323_devices",
    "daily_usage", "meeting_polls", "webinars", "webinar_panelists", "webinar_polls",
})
# fact table -> the column naming the meeting/webinar (instance) each row belongs to
FACTS = {
    "meetings": "id", "meeting_registrants": "meeting_id",
    "past_meetings": "uuid", "meeting_participants": "meeting_uuid",
    "meeting_poll_results": "meeting_uuid", "meeting_qa": "meeting_uuid",
    "recordings": "uuid", "dashboard_meetings": "uuid",
    "dashboard_meeting_participants": "meeting_uuid", "webinar_registrants": "webinar_id",
    "past_webinars": "uuid", "webinar_participants": "webinar_uuid",
    "webinar_absentees": "webinar_uuid", "webinar_poll_results": "webinar_uuid",
    "webinar_qa": "webinar_uuid",
}
ROOT_ID = "_dlt_root_id"

_HASH = re.compile(r"^HASH\s*\(\s*\[?([^\]\s()]+)\]?\s*\)$", re.IGNORECASE)
_CLUSTERED = re.compile(r"^CLUSTERED\s+INDEX\s*\((.+)\)$", re.IGNORECASE)


def parse_distribution(text: str) -> Distribution:
    spec = " ".join(text.split()).upper()
    if spec in ("ROUND_ROBIN", "REPLICATE"):
        return Distribution(spec)  # type: ignore[arg-type]
    if match := _HASH.match(text.strip()):
        return Distribution("HASH", match.group(1))
    raise ConfigError(f"distribution {text!r}: use ROUND_ROBIN, REPLICATE or HASH(column)")


def parse_index(text: str) -> Index:
    spec = " ".join(text.split()).upper()
    if spec in ("HEAP", "CLUSTERED COLUMNSTORE INDEX"):
        return Index(spec)  # type: ignore[arg-type]
    if match := _CLUSTERED.match(text.strip()):
        columns = tuple(c.strip().strip("[]") for c in match.group(1).split(","))
        if all(columns):
            return Index("CLUSTERED INDEX", columns)
    raise ConfigError(f"index {text!r}: use HEAP, CLUSTERED INDEX (col, ...) or "
                      "CLUSTERED COLUMNSTORE INDEX")


def default_layout(table: str, root: str, primary_key: Sequence[str]) -> Layout:
    """The layout a table gets unless configured otherwise (see the module docstring)."""
    if table != root:
        if root in DIMENSIONS:
            return Layout(Distribution("REPLICATE"), Index("CLUSTERED INDEX", (ROOT_ID,)))
        if root in FACTS:
            return Layout(Distribution("HASH", ROOT_ID), Index("HEAP"))
        return FALLBACK
    if table in DIMENSIONS and primary_key:
        return Layout(Distribution("REPLICATE"), Index("CLUSTERED INDEX", tuple(primary_key)))
    if table in FACTS:
        return Layout(Distribution("HASH", FACTS[table]), Index("HEAP"))
    return FALLBACK


# dlt's own tables: the text columns it sorts and joins on (load ids, names, hashes), bounded
# instead of nvarchar(max), which Synapse can neither index nor hold in columnstore.
SYSTEM_LENGTHS = {
    "_dlt_loads": {"load_id": 64, "schema_name": 128, "schema_version_hash": 64},
    "_dlt_version": {"schema_name": 128, "version_hash": 64},
    "_dlt_pipeline_state": {"pipeline_name": 128, "version_hash": 64},
}


def table_lengths(overrides: Mapping[str, Mapping[str, Any]], table: str) -> dict[str, int]:
    """The text lengths of one table for types.py: dlt's bookkeeping columns, then the
    configured ones (`lengths` in its override)."""
    lengths = (overrides.get(table) or {}).get("lengths") or {}
    return {**SYSTEM_LENGTHS.get(table, {}), **{str(k): int(v) for k, v in lengths.items()}}


def resolve_layout(table: str, columns: Sequence[SqlColumn], *, root: str,
                   primary_key: Sequence[str] = (),
                   overrides: Mapping[str, Mapping[str, Any]] | None = None) -> Layout:
    """The table's layout: its override or default, checked against its columns."""
    default = default_layout(table, root, primary_key)
    override = (overrides or {}).get(table) or {}
    unknown = set(override) - {"distribution", "index", "lengths"}
    if unknown:
        raise ConfigError(f"table {table}: unknown layout setting(s) {', '.join(sorted(unknown))}"
                          " (use distribution, index, lengths)")
    if not override.keys() & {"distribution", "index"}:
        try:
            check_layout(table, default, columns)
        except ConfigError:
            # A default that does not fit this table's columns (say the hash column never
            # arrived) is our guess being wrong, not the user's: fall back to the safe one.
            return FALLBACK
        return default
    layout = Layout(
        parse_distribution(override["distribution"]) if "distribution" in override
        else default.distribution,
        parse_index(override["index"]) if "index" in override else default.index,
    )
    check_layout(table, layout, columns)
    return layout


def check_layout(table: str, layout: Layout, columns: Sequence[SqlColumn]) -> None:
    """Refuse, with a fix in the message, what Synapse would refuse at CREATE or at load."""
    by_name = {c.name: c for c in columns}
    dist = layout.distribution
    if dist.kind == "HASH":
        col = by_name.get(dist.column or "")
        if col is None:
            raise ConfigError(f"table {table}: distribution column {dist.column} is not one of "
                              "its columns")
        if col.is_max:
            raise ConfigError(f"table {table}: cannot distribute on {col.name} ({col.sql_type}); "
                              "give it a length or pick another column")
    index = layout.index
    if index.kind == "CLUSTERED INDEX":
        missing = [c for c in index.columns if c not in by_name]
        if missing:
            raise ConfigError(f"table {table}: clustered index column(s) {', '.join(missing)} "
                              "are not among its columns")
        keyed = [by_name[c] for c in index.columns]
        too_wide = [c.name for c in keyed if c.is_max]
        width = sum(c.nbytes or 0 for c in keyed)
        if too_wide or width > MAX_CLUSTERED_KEY_BYTES or len(keyed) > MAX_CLUSTERED_KEY_COLUMNS:
            raise ConfigError(
                f"table {table}: a clustered index key is limited to "
                f"{MAX_CLUSTERED_KEY_COLUMNS} columns and {MAX_CLUSTERED_KEY_BYTES} bytes "
                f"(here {width} bytes{', unbounded: ' + ', '.join(too_wide) if too_wide else ''})"
                "; use HEAP or fewer/shorter columns")
    if index.kind == "CLUSTERED COLUMNSTORE INDEX":
        unbounded = [c.name for c in columns if c.is_max]
        if unbounded:
            # Columnstore tables don't support varchar(max), nvarchar(max), varbinary(max).
            raise ConfigError(
                f"table {table}: CLUSTERED COLUMNSTORE INDEX cannot hold (max) columns, and "
                f"{', '.join(unbounded)} have no length. Give each a length under 'lengths' "
                "(longer values are then refused before upload) or use HEAP / CLUSTERED INDEX")
