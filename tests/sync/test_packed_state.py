"""Row hashes stored packed in the stream's state document: read back the same, old
documents still read, a stream that stops early still leaves a packed document."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from zoomsync.catalog import CATALOG
from zoomsync.sync.incremental import Policy, StreamRun
from zoomsync.sync.report import RunReport
from zoomsync.sync.state import Tracker, key_of, pack_hashes, row_hash, unpack_hashes

PK = ("meeting_uuid", "user_id", "join_time")


def participants(instances: int, people: int) -> dict[str, list[dict[str, Any]]]:
    """Rows shaped like meeting_participants: scope = instance UUID = the key's first value."""
    return {f"{i:04d}abcdefghijklmn+/A==": [
        {"meeting_uuid": f"{i:04d}abcdefghijklmn+/A==", "user_id": str(16_000_000 + 37 * j),
         "join_time": f"2026-06-{1 + i % 28:02d}T15:{j % 60:02d}:00Z", "name": f"P{j}"}
        for j in range(people)] for i in range(instances)}


def tracked(doc: dict[str, Any], rows: dict[str, list[dict[str, Any]]]) -> Tracker:
    t = Tracker(doc)
    for scope, records in rows.items():
        for r in records:
            assert t.changed(scope, key_of(r, PK), r) is True
    return t


def test_packed_hashes_read_back_the_same_at_a_fraction_of_the_size() -> None:
    rows = participants(200, 12)
    doc: dict[str, Any] = {"bookmark": "2026-06-01T00:00:00+00:00"}
    t = tracked(doc, rows)
    t.changed("*", "[7]", {"id": 7})  # a numeric key under the account-wide scope
    t.hashes("4711")  # a partition that holds no row (yet) is kept as one
    plain = copy.deepcopy(doc["hashes"])
    t.pack()
    assert set(doc) == {"bookmark", "hashes_packed", "rows_tracked"}
    assert doc["rows_tracked"] == 200 * 12 + 1 == Tracker(doc).rows_tracked
    assert "hashes" not in doc  # rows_tracked did not unpack
    # Measured: 12% of the JSON here; 30% on bench.load's 400-user account (250k rows).
    assert len(json.dumps(doc["hashes_packed"])) < 0.4 * len(json.dumps(plain))
    assert unpack_hashes(doc["hashes_packed"]) == plain
    again = Tracker(doc)  # the next run: same answers as with the plain dict
    first = next(iter(rows))
    assert again.hashes(first) == plain[first] and again.scopes() == list(plain)
    assert list(again.hashes(first)) == list(plain[first])  # order kept too
    assert not any(again.changed(first, key_of(r, PK), r) for r in rows[first][:-1])
    assert again.changed(first, key_of(rows[first][0], PK), {**rows[first][0], "name": "X"})
    assert again.vanished(first) == [key_of(rows[first][-1], PK)]
    assert again.drop_scope("4711") == [] and "4711" not in again.scopes()
    again.pack()
    assert Tracker(doc).rows_tracked == 200 * 12
    assert set(doc) == {"bookmark", "hashes_packed", "rows_tracked"}


def test_keys_and_digests_of_any_shape_round_trip() -> None:
    odd = {"": {"[]": row_hash({}), "a\nb": row_hash({"a": 1}), "v": row_hash({"b": 1})},
           "*": {}, "5": {"[5,1]": row_hash({"c": 1}), "[5]": row_hash({"d": 1}),
                         '["5",2]': row_hash({"e": 1})},
           "x\n": {'["x\\n",2]': row_hash({"f": 1})}}
    assert pack_hashes(odd)[0] == "b" and unpack_hashes(pack_hashes(odd)) == odd
    not_ours = {"u1": {"[1]": "x"}, "u2": {"[2]": "0123456789AB"}}
    assert pack_hashes(not_ours)[0] == "j" and unpack_hashes(pack_hashes(not_ours)) == not_ours
    assert unpack_hashes(pack_hashes({})) == {}


def test_an_old_plain_document_is_read_as_before_and_stored_packed() -> None:
    old = {"bookmark": "2026-06-01T00:00:00+00:00", "versions": {"9": "v"},
           "hashes": {"*": {"[1]": row_hash({"id": 1}), "[2]": row_hash({"id": 2})},
                      "9": {"[9,1]": row_hash({"id": 1})}}}
    assert Tracker(old).rows_tracked == 3
    t = Tracker(old)
    assert t.changed("*", "[1]", {"id": 1}) is False
    assert t.changed("*", "[3]", {"id": 3}) is True
    assert t.vanished("*") == ["[2]"]
    t.pack()
    assert "hashes" not in old and old["rows_tracked"] == 3
    assert Tracker(old).hashes("*") == {"[1]": row_hash({"id": 1}), "[3]": row_hash({"id": 3})}
    t = Tracker(old)
    t.keep_seen()  # nothing seen: every row forgotten, and nothing left to store
    t.pack()
    assert old == {"bookmark": "2026-06-01T00:00:00+00:00", "versions": {"9": "v"}}
    Tracker(old).pack()  # nothing unpacked: the document stays as it is
    assert "hashes_packed" not in old and Tracker(old).rows_tracked == 0


class _Users:
    """The least of a Discovery a `users` StreamRun asks for."""

    policy = Policy()
    now = datetime(2026, 6, 2, tzinfo=UTC)

    def since(self, stream: str, days: int) -> None:
        return None

    def due(self, stream: str, hours: float) -> bool:
        return True

    def users(self) -> list[dict[str, Any]]:
        return [{"id": f"u{i}", "_list_version": "v", "_profiled": True} for i in range(3)]

    def reading(self, stream: str, steps: Any) -> Any:
        return steps

    def incomplete(self, stream: str) -> list[str]:
        return []


def _run(doc: dict[str, Any], prepare: Any, report: Any = None) -> StreamRun:
    discovery: Any = _Users()
    report = report or SimpleNamespace(count=lambda *a: None)
    return StreamRun(CATALOG["users"], discovery, Tracker(doc), fanout=discovery, report=report,
                     prepare=prepare, fetch=lambda *a: [], account_id="acc")


def test_a_stream_that_ends_stops_early_or_fails_leaves_its_hashes_packed() -> None:
    doc: dict[str, Any] = {}
    assert [len(b) for b in _run(doc, lambda r, p, i: r).rows()] == [3]
    assert set(doc) == {"bookmark", "reconciled_at", "versions", "hashes_packed",
                        "rows_tracked"} and doc["rows_tracked"] == 3

    stopped: dict[str, Any] = {}
    rows = _run(stopped, lambda r, p, i: r).rows()
    next(rows)
    rows.close()  # dlt closes a resource it stops reading
    assert "hashes" not in stopped and stopped["rows_tracked"] == 3

    def prepare(row: dict[str, Any], parent: Any, i: int) -> dict[str, Any]:
        if i == 1:
            raise RuntimeError("boom")
        return row

    # A bug on one record fails that record only: reported by name, the others tracked.
    failed: dict[str, Any] = {}
    report = RunReport()
    assert [len(b) for b in _run(failed, prepare, report).rows()] == [2]
    assert "hashes" not in failed and failed["rows_tracked"] == 2
    assert set(Tracker(failed).hashes("*")) == {'["u0"]', '["u2"]'}
    assert "bookmark" not in failed  # read again next run
    [failure] = report.failures
    assert (failure.stream, failure.partition) == ("users", "u1")
    assert "record id=u1" in failure.answer and "RuntimeError: boom" in failure.answer


def test_a_key_sent_twice_loads_once_with_its_last_row_and_counts_once() -> None:
    """The report's rows are what the table holds after its merge (issue 13, part 8)."""
    from zoomsync.sync.fanout import FanOut

    pages = {(2026, 5): [{"date": "a", "n": 1}, {"date": "b", "n": 1}, {"date": "a", "n": 2}],
             (2026, 6): [{"date": "b", "n": 2}, {"date": "c", "n": 1}]}

    class Months(_Users):
        def months(self, since: Any) -> list[tuple[int, int]]:
            return list(pages)

    report = RunReport()
    fan = FanOut(1)
    try:
        run = StreamRun(CATALOG["daily_usage"], Months(), Tracker({}), fanout=fan,
                        report=report, prepare=lambda r, p, i: r, account_id="acc",
                        fetch=lambda month, since: pages[month])
        batches = list(run.rows())
    finally:
        fan.close()
    # Within a month the last row of a key wins; a key the month before loaded replaces
    # that row: extracted again, but not one row more in the table.
    assert sorted(map(str, batches)) == sorted(map(str, [
        [{"date": "a", "n": 2}, {"date": "b", "n": 1}],
        [{"date": "b", "n": 2}, {"date": "c", "n": 1}]]))
    assert report.extracted["daily_usage"] == 4 and report.replaced["daily_usage"] == 1
    report.loaded({"daily_usage": 4, "_dlt_loads": 1})
    assert report.rows == {"daily_usage": 3}
