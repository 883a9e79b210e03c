"""Faults after a statement took effect, through the strict pool stand-in: a connection that
drops right after a COPY, a COMMIT or a CREATE TABLE went through (the client cannot know it
did), and a `kill -9` at the same points followed by a rerun. Every table, child tables and
dlt's own included, must then equal an uninterrupted run's, with no row twice.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.destinations.synapse.standin import PoolStandIn
from tests.destinations.synapse.syncs import (
    SMALL,
    Pool,
    contents_of,
    crash_args,
    rerun,
    settings_for,
    sync,
)
from tests.sync import contents
from zoomsync.emulator.server import RunningEmulator

# Where a fault strikes: the first statement starting with this text ({ds}: the dataset).
# At each, the statement went through and the client cannot tell it from "not done".
POINTS = {
    "after COPY": "COPY INTO [{ds}_staging].[users__group_ids__",
    "after COMMIT": "COMMIT TRANSACTION",
    "after DDL": "CREATE TABLE [{ds}].[meeting_participants]",
    "after COPY of dlt's state": "COPY INTO [{ds}_staging].[_dlt_pipeline_state__",
}
# dlt's bookkeeping tables and the ledger, by the key each row must be unique on.
BOOKKEEPING = {"_dlt_loads": "load_id", "_dlt_version": "version_hash",
               "_dlt_pipeline_state": "_dlt_load_id",
               "zoomsync_loads": "load_id, table_family"}


class FirstOf:
    """A fault hook matching the first statement of a point in POINTS; `.hit` tells if it
    struck."""

    def __init__(self, point: str, dataset: str) -> None:
        self.head = POINTS[point].format(ds=dataset)
        self.hit: str | None = None

    def __call__(self, sql: str) -> bool:
        if self.hit is None and sql.startswith(self.head):
            self.hit = sql
            return True
        return False


def repeated_bookkeeping(pool: PoolStandIn, dataset: str) -> dict[str, int]:
    """Per bookkeeping table, how many keys appear more than once (all should be 0)."""
    out = {}
    for table, key in BOOKKEEPING.items():
        rows = pool.rows(f'SELECT COUNT(*) FROM (SELECT {key} FROM "{dataset}"."{table}" '
                         f"GROUP BY {key} HAVING COUNT(*) > 1)")
        out[table] = rows[0][0]
    return out


def test_connections_dropped_after_statements_took_effect_load_exactly_once(
        emulator: RunningEmulator, standin: PoolStandIn, clean: contents.Contents,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every point of POINTS strikes once, in one run (each hits another family or step)."""
    monkeypatch.setattr("zoomsync.destinations.synapse.client.FAMILY_BACKOFF", 0.01,
                        raising=False)
    monkeypatch.setattr("zoomsync.destinations.synapse.driver.time.sleep", lambda _s: None)
    dataset = f"zoom_{secrets.token_hex(3)}"
    settings = settings_for(emulator, tmp_path, dataset)
    hooks = [FirstOf(point, dataset) for point in POINTS]
    standin.fail_after = lambda sql: any([hook(sql) for hook in hooks])
    try:
        report = sync(emulator, settings, SMALL)
    finally:
        standin.fail_after = None
    assert [h.head for h in hooks if not h.hit] == [] and report.ok, report.reasons()
    assert contents.differences(clean, contents.contents(Pool(standin, dataset))) == []
    assert repeated_bookkeeping(standin, dataset) == dict.fromkeys(BOOKKEEPING, 0)


# dlt says "will now load the pending load packages" through a deprecated logger method.
@pytest.mark.filterwarnings("ignore:The 'warn' method is deprecated:DeprecationWarning")
@pytest.mark.parametrize("head", ["COPY INTO [zoom_staging].[users__group_ids__",
                                  "COMMIT TRANSACTION", "CREATE TABLE [zoom].[users__group_ids]"],
                         ids=["after COPY", "after COMMIT", "after DDL"])
def test_kill_9_after_a_statement_took_effect_then_a_rerun_loads_exactly_once(
        emulator: RunningEmulator, clean: contents.Contents, tmp_path: Path,
        head: str) -> None:
    """The users family alone (a root and child tables), to keep each crash short."""
    crashed: dict[str, Any] = crash_args(emulator, tmp_path, "crashed")
    crashed["streams"] = ["users"]
    crashed["kill"] = {"when": "after", "head": head}
    child = subprocess.run([sys.executable, "-m", "tests.destinations.synapse.crash_child",
                            json.dumps(crashed)], capture_output=True, timeout=300)
    assert child.returncode == -9, child.stderr.decode()[-2000:]
    assert Path(crashed["marker"]).read_text().startswith(crashed["kill"]["head"])
    rerun(crashed)
    after_crash, ledger = contents_of(crashed)
    users = {t: rows for t, rows in clean.items() if t == "users" or t.startswith("users__")}
    assert contents.differences(users, after_crash) == []
    assert len(ledger) == len(set(ledger))
    pool = PoolStandIn(crashed["blob_url"], crashed["database"])
    try:
        assert repeated_bookkeeping(pool, "zoom") == dict.fromkeys(BOOKKEEPING, 0)
    finally:
        pool.db.close()
