"""The spool's bookkeeping: what purge forgets and what it keeps."""

from __future__ import annotations

from pathlib import Path

from tests.webhooks.helpers import encode, event
from zoomsync.webhooks.spool import Outcome, Spool


def test_purge_forgets_old_applied_events_and_expired_signatures_only(tmp_path: Path) -> None:
    with Spool(tmp_path / "spool.sqlite") as spool:
        old, pending = encode(event(topic="old")), encode(event(topic="pending"))
        assert spool.accept(old, event="meeting.updated", event_ts=1, signature="v0=a",
                            signature_expires=1_000.0, now=900.0) is Outcome.SPOOLED
        spool.accept(pending, event="meeting.updated", event_ts=2, signature="v0=b",
                     signature_expires=1_000.0, now=900.0)
        [first, _] = spool.pending()
        spool.mark_applied([first.seq], at=950.0)
        assert spool.purge(keep=7200.0, now=900.0 + 7201.0) == 1
        # The pending event stays whatever its age; the applied one is forgotten, so a very
        # late re-delivery would be stored again (and applied again, harmlessly).
        assert [e.body["payload"]["object"]["topic"] for e in spool.pending()] == ["pending"]
        assert spool.accept(old, event="meeting.updated", event_ts=1, signature="v0=a",
                            signature_expires=99_999.0, now=9_000.0) is Outcome.SPOOLED
        assert spool.stats(now=9_000.0)["pending"] == 2
