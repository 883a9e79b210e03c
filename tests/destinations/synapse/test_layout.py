"""Distribution and index: defaults by table size, overrides, and configuration-time checks."""

from __future__ import annotations

import pytest

from tests.destinations.synapse.families import spec
from zoomsync.destinations.synapse.layout import (
    Distribution,
    Index,
    Layout,
    parse_distribution,
    parse_index,
)
from zoomsync.errors import ConfigError


def layout_sql(stream: str, table: str | None = None, **override: object) -> str:
    overrides = {table or stream: override} if override else None
    return spec(stream, table, overrides).layout.sql()


def test_dimensions_are_replicated_with_a_clustered_key() -> None:
    assert layout_sql("users") == "WITH (DISTRIBUTION = REPLICATE, CLUSTERED INDEX ([id]))"
    assert layout_sql("group_members") == \
        "WITH (DISTRIBUTION = REPLICATE, CLUSTERED INDEX ([group_id], [id]))"


def test_facts_hash_on_their_meeting_and_stay_heaps() -> None:
    assert layout_sql("meeting_participants") == \
        "WITH (DISTRIBUTION = HASH([meeting_uuid]), HEAP)"
    assert layout_sql("past_meetings") == "WITH (DISTRIBUTION = HASH([uuid]), HEAP)"
    assert layout_sql("webinar_qa") == "WITH (DISTRIBUTION = HASH([webinar_uuid]), HEAP)"


def test_children_follow_their_root_through_the_root_id() -> None:
    assert layout_sql("users", "users__phone_numbers") == \
        "WITH (DISTRIBUTION = REPLICATE, CLUSTERED INDEX ([_dlt_root_id]))"
    assert layout_sql("recordings", "recordings__recording_files") == \
        "WITH (DISTRIBUTION = HASH([_dlt_root_id]), HEAP)"


def test_unknown_tables_are_round_robin_heaps() -> None:
    from zoomsync.destinations.synapse.ddl import table_spec

    table = table_spec("something_new", {"id": {"data_type": "text", "primary_key": True}})
    assert table.layout.sql() == "WITH (DISTRIBUTION = ROUND_ROBIN, HEAP)"


def test_a_default_that_does_not_fit_falls_back() -> None:
    from zoomsync.destinations.synapse.ddl import table_spec

    # `meetings` hashes on `id`; a table without it gets the safe layout, not an error.
    table = table_spec("meetings", {"uuid": {"data_type": "text", "primary_key": True}})
    assert table.layout.sql() == "WITH (DISTRIBUTION = ROUND_ROBIN, HEAP)"


def test_overrides() -> None:
    assert layout_sql("users", distribution="ROUND_ROBIN", index="HEAP") == \
        "WITH (DISTRIBUTION = ROUND_ROBIN, HEAP)"
    assert layout_sql("meeting_participants", distribution="hash([user_id])") == \
        "WITH (DISTRIBUTION = HASH([user_id]), HEAP)"
    clustered = layout_sql("meeting_participants",
                           index="CLUSTERED INDEX (meeting_uuid, join_time)")
    assert clustered == ("WITH (DISTRIBUTION = HASH([meeting_uuid]), "
                         "CLUSTERED INDEX ([meeting_uuid], [join_time]))")


def test_columnstore_needs_every_string_bounded() -> None:
    with pytest.raises(ConfigError, match=r"CLUSTERED COLUMNSTORE INDEX cannot hold \(max\) "
                                          r"columns, and id, name, registrant_id, status"):
        layout_sql("meeting_participants", index="CLUSTERED COLUMNSTORE INDEX")
    bounded = {c: 256 for c in ("id", "name", "registrant_id", "status", "user_email")}
    assert layout_sql("meeting_participants", index="CLUSTERED COLUMNSTORE INDEX",
                      lengths=bounded).endswith("CLUSTERED COLUMNSTORE INDEX)")


@pytest.mark.parametrize(("override", "message"), [
    ({"distribution": "HASH(nope)"}, "distribution column nope is not one of its columns"),
    ({"distribution": "HASH(name)"}, r"cannot distribute on name \(nvarchar\(max\)\)"),
    ({"index": "CLUSTERED INDEX (name)"}, "unbounded: name"),
    ({"index": "CLUSTERED INDEX (nope)"}, "nope are not among its columns"),
    ({"distribution": "EVERYWHERE"}, "use ROUND_ROBIN, REPLICATE or HASH"),
    ({"index": "NONCLUSTERED INDEX (id)"}, "use HEAP, CLUSTERED INDEX"),
    ({"partition": "x"}, "unknown layout setting"),
])
def test_bad_overrides_fail_at_configuration_time(override: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        layout_sql("meeting_participants", **override)


def test_clustered_key_width_is_checked() -> None:
    lengths = {"id": 300, "name": 300}
    with pytest.raises(ConfigError, match="900 bytes"):
        layout_sql("meeting_participants", index="CLUSTERED INDEX (id, name)", lengths=lengths)


def test_parsers() -> None:
    assert parse_distribution(" round_robin ") == Distribution("ROUND_ROBIN")
    assert parse_distribution("HASH ( [meeting_uuid] )") == Distribution("HASH", "meeting_uuid")
    assert parse_index("clustered  columnstore index") == Index("CLUSTERED COLUMNSTORE INDEX")
    assert parse_index("CLUSTERED INDEX ([a], b)") == Index("CLUSTERED INDEX", ("a", "b"))
    assert Layout(Distribution("REPLICATE"), Index("HEAP")).sql() == \
        "WITH (DISTRIBUTION = REPLICATE, HEAP)"
