"""The stream catalog: every table zoomsync fills, in the order they are fetched."""

from __future__ import annotations

from zoomsync.catalog import meetings, reports, users, webinars
from zoomsync.catalog.stream import Label, Partition, Stream

CATALOG: dict[str, Stream] = {
    s.name: s for s in (*users.STREAMS, *meetings.STREAMS, *webinars.STREAMS, *reports.STREAMS)
}

__all__ = ["CATALOG", "Label", "Partition", "Stream", "select"]


def select(names: list[str] | None = None) -> list[Stream]:
    """The streams to sync: the named ones, or every default stream."""
    from zoomsync.errors import ConfigError

    if not names:
        return [s for s in CATALOG.values() if s.default]
    unknown = [n for n in names if n not in CATALOG]
    if unknown:
        raise ConfigError(f"unknown stream {', '.join(unknown)}: run `zoomsync streams` "
                          "to list them")
    return [CATALOG[n] for n in names]
