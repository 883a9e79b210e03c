"""What the source does to each record before dlt sees it."""

from __future__ import annotations

from zoomsync.catalog import CATALOG
from zoomsync.catalog.columns import columns
from zoomsync.sync.source import _preparer


def prepare(stream: str, record: dict, parent: object = None, index: int = 0) -> dict:
    s = CATALOG[stream]
    return _preparer(s, columns(stream))(record, parent, index)


def test_secrets_are_dropped_even_inside_nested_objects() -> None:
    row = prepare("user_settings", {"schedule_meeting": {"pmi_password": "123456",
                                                          "host_video": True}}, "u1")
    assert row == {"schedule_meeting": {"host_video": True}, "user_id": "u1"}
    meeting = prepare("meetings", {"id": 1, "start_url": "https://zoom.us/s/1?zak=x",
                                   "password": "p", "dynamic_host_key": "9"})
    assert meeting == {"id": 1}


def test_passcodes_are_cut_from_join_links() -> None:
    row = prepare("meetings", {"id": 1, "join_url": "https://zoom.us/j/1?pwd=abc&from=addon"})
    assert row["join_url"] == "https://zoom.us/j/1?from=addon"


def test_blank_times_become_null_and_parents_are_typed() -> None:
    row = prepare("meeting_participants", {"user_id": "7", "join_time": "", "leave_time": ""},
                  "uuid==", 3)
    assert row["join_time"] is None and row["leave_time"] is None
    assert row["meeting_uuid"] == "uuid=="
    polls = prepare("meeting_polls", {"id": "p"}, "81234567890")
    assert polls["meeting_id"] == 81234567890
    qa = prepare("meeting_qa", {"name": "x"}, "u==", 4)
    assert qa["row_index"] == 4


def test_a_failed_record_is_named_by_two_distinct_fields() -> None:
    """A key field that is also `id` is named once, and the next field fills its place."""
    from zoomsync.sync.incremental import _record_id

    record = {"id": 7, "uuid": "aB/c==", "email": "a@example.com"}
    assert _record_id(record, ("id",)) == "id=7, uuid=aB/c=="
    assert _record_id({"email": "a@example.com"}, ("id",)) == "email=a@example.com"
    assert _record_id(["not", "a", "record"], ("id",)) == ""
