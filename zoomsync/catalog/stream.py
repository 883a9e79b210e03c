"""The Stream declaration: one frozen record per Zoom endpoint we replicate.

A stream is data, not a class: its Zoom path, where its records sit in the response, its
primary key, which partition set fans it out (every user, every meeting instance, ...),
its rate-limit label and scopes, and the column types taken from Zoom's spec. The sync
engine reads these; adding an endpoint means adding a declaration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

Label = Literal["LIGHT", "MEDIUM", "HEAVY", "RESOURCE_INTENSIVE"]

# What a stream is fanned out over; the engine knows how to list each.
Partition = Literal[
    "account",            # one call for the account
    "users",              # every user with an id (active and inactive)
    "groups",             # every group
    "meetings",           # every meeting definition we know of (numeric id)
    "meetings_with_registration",
    "meeting_instances",  # every ended meeting instance (UUID)
    "webinars",           # every webinar definition
    "webinars_with_registration",
    "webinar_instances",  # every ended webinar instance (UUID)
    "months",             # calendar months within the report window
    "windows",            # 30-day windows within the report window
]

# How a stream stays current from run to run (docs/incremental.md):
# - "reconciled": a list or definition with no change filter at Zoom; refreshed, compared
#   with the row hashes kept in state, only changed rows loaded, vanished rows marked deleted;
# - "children": rows of one ended meeting or webinar instance; fetched when the instance
#   first appears and again while it is inside the look-back (late-arriving data);
# - "windowed": date windows; from the bookmark minus the look-back to today.
SyncMode = Literal["reconciled", "children", "windowed"]
INSTANCE_PARTITIONS = ("meeting_instances", "webinar_instances")

EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class Stream:
    """One table zoomsync fills, and how to fetch it.

    `path` is Zoom's path template below /v2; its `{placeholder}` is filled from the
    partition (`{userId}`, `{meetingId}`: a definition id or an instance UUID, ...).
    `list_key` names the array of records, or is None when the response is one record.
    `parent_key` is the column that carries the partition's identity into each row
    (e.g. `meeting_uuid` on participants), so child rows point at their parent.
    """

    name: str
    path: str
    label: Label
    primary_key: tuple[str, ...]
    partition: Partition = "account"
    list_key: str | None = None
    parent_key: str | None = None
    params: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    variants: tuple[Mapping[str, str], ...] = ()  # one call per variant, e.g. each status
    page_size: int | None = None  # None: the endpoint is not paginated
    page_number: bool = False  # legacy page_number paging (no next_page_token)
    windowed: bool = False  # one call per 30-day window (from/to) within the report window
    reach_days: int | None = None  # how far back windows reach; None: Zoom's 6-month reports
    sync: SyncMode | None = None  # None: from the partition (instances: children, dates: windowed)
    lookback_days: int | None = None  # re-read this far back; None: ZOOMSYNC_LOOKBACK_DAYS
    reconcile_hours: float | None = None  # full compare this often; None: ZOOMSYNC_RECONCILE_HOURS
    row_index: bool = False  # no natural key: number rows within their partition
    scopes: tuple[str, ...] = ()
    granular_scopes: tuple[str, ...] = ()
    plan: Literal["pro", "business"] = "pro"  # the lowest plan that serves it
    default: bool = True  # selected when no --streams are given
    personal: tuple[str, ...] = ()  # columns holding personal data (masking)
    drop: tuple[str, ...] = ()  # fields never landed (secrets such as start_url)
    description: str = ""
    transform: Callable[[dict[str, Any]], dict[str, Any]] | None = field(default=None,
                                                                         compare=False)

    def __post_init__(self) -> None:
        if not self.primary_key:
            raise ValueError(f"stream {self.name}: a primary key is required")
        if self.partition not in ("account", "months", "windows") and "{" not in self.path:
            raise ValueError(f"stream {self.name}: partition {self.partition} needs a "
                             "{placeholder} in its path")
        if self.sync is None:
            derived: SyncMode = ("children" if self.partition in INSTANCE_PARTITIONS else
                                 "windowed" if self.windowed or self.partition in (
                                     "months", "windows") else "reconciled")
            object.__setattr__(self, "sync", derived)  # frozen: set once, here
        if self.sync == "children" and self.partition not in INSTANCE_PARTITIONS:
            raise ValueError(f"stream {self.name}: children streams fan out over instances")

    @property
    def mode(self) -> SyncMode:
        """`sync`, typed as always set (it is, after __post_init__)."""
        assert self.sync is not None
        return self.sync
