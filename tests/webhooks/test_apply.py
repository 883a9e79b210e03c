"""The applier's batch rules against the emulator: a failure Zoom will not get over is set
aside without blocking the others; a transient one leaves the batch pending."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.conftest import small_account
from tests.webhooks.conftest import client_for, settings_for
from tests.webhooks.helpers import encode
from zoomsync.emulator.server import RunningEmulator
from zoomsync.errors import DestinationError, FatalAPIError
from zoomsync.webhooks import targeted
from zoomsync.webhooks.apply import Applier
from zoomsync.webhooks.spool import Spool

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    with small_account(users=4) as running:
        yield running


@pytest.fixture
def applier(emu: RunningEmulator, tmp_path: Path) -> Iterator[Applier]:
    with Spool(tmp_path / "spool.sqlite") as spool, client_for(emu) as client, Applier(
            settings_for(emu, tmp_path), spool, client=client) as made:
        yield made


def spool_user_events(spool: Spool, *ids: str) -> None:
    for i, uid in enumerate(ids):
        body = encode({"event": "user.updated", "event_ts": 1,
                       "payload": {"account_id": "a", "object": {"id": uid}}})
        spool.accept(body, event="user.updated", event_ts=1, signature=f"v0={uid}/{i}",
                     signature_expires=time.time() + 60)


def users_in(applier: Applier) -> set[str]:
    with duckdb.connect(str(applier.settings.duckdb_path), read_only=True) as db:
        return {r[0] for r in db.execute("select id from zoom.users").fetchall()}


def active(emu: RunningEmulator) -> list[str]:
    """Users GET /users/{id} answers for: not pending ones."""
    return [u.id for u in emu.emulator.dataset.users.values() if u.status != "pending"]


def test_an_event_zoom_refuses_for_good_is_set_aside_and_the_rest_applied(
        applier: Applier, emu: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    good = active(emu)[0]
    real = targeted.EventDiscovery.users

    def users(self: targeted.EventDiscovery) -> list[dict[str, Any]]:
        if "POISON" in self.refresh.users:
            raise FatalAPIError(400, 300, "Invalid user id", "GET", "/users/POISON")
        return real(self)

    monkeypatch.setattr(targeted.EventDiscovery, "users", users)
    spool_user_events(applier.spool, good, "POISON")
    result = applier.apply_batch()
    assert result is not None and (result.events, result.failed) == (2, 1)
    stats = applier.spool.stats()
    assert (stats["applied"], stats["failed"], stats["pending"]) == (1, 1, 0)
    assert users_in(applier) == {good}
    assert applier.apply_batch() is None


def test_a_transient_failure_leaves_the_batch_pending(
        applier: Applier, emu: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    uid = active(emu)[0]
    spool_user_events(applier.spool, uid)
    real = Applier._load
    calls = []

    def flaky(self: Applier, *args: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise DestinationError("the warehouse is down")
        return real(self, *args)

    monkeypatch.setattr(Applier, "_load", flaky)
    with pytest.raises(DestinationError):
        applier.apply_batch()
    assert applier.spool.stats()["pending"] == 1
    result = applier.apply_batch()
    assert result is not None and result.events == 1
    assert applier.spool.stats()["pending"] == 0
    assert users_in(applier) == {uid}


def test_duplicated_and_reordered_events_converge_to_zoom(
        applier: Applier, emu: RunningEmulator) -> None:
    uid = active(emu)[0]
    expected = emu.emulator.dataset.users[uid].record["email"]
    other = active(emu)[1]
    # Zoom re-sends an event (same body, new signature): stored once.
    spool_user_events(applier.spool, uid, other, uid)
    assert (applier.spool.stats()["spooled"], applier.spool.stats()["duplicate"]) == (2, 1)
    emu.emulator.dataset.users[uid].record["dept"] = "Changed after the event"
    applier.apply_batch()
    with duckdb.connect(str(applier.settings.duckdb_path), read_only=True) as db:
        got = db.execute("select id, email, dept from zoom.users order by id").fetchall()
    assert (uid, expected, "Changed after the event") in got and len(got) == 2
    # Applying it again (as after a crash before the spool's commit) changes nothing.
    body = encode({"event": "user.updated", "event_ts": 2,
                   "payload": {"account_id": "a", "object": {"id": uid}}})
    applier.spool.accept(body, event="user.updated", event_ts=2, signature="v0=again",
                         signature_expires=time.time() + 60)
    applier.apply_batch()
    with duckdb.connect(str(applier.settings.duckdb_path), read_only=True) as db:
        assert db.execute("select id, email, dept from zoom.users order by id").fetchall() == got
