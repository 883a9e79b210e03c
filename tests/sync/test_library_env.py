"""The library changes no process-wide setting (issue 14): a sync run from Python leaves
`os.environ` exactly as it found it, so another pipeline in the same process sees none of
zoomsync's choices (extract workers, telemetry, signal handling)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import small_account
from zoomsync.config import Settings
from zoomsync.emulator.oauth import DEFAULT_CREDENTIALS as CREDS
from zoomsync.sync.runner import run


def test_a_library_sync_writes_nothing_into_the_environment(tmp_path: Path) -> None:
    before = dict(os.environ)
    with small_account(users=4) as emu:
        settings = Settings(account_id=CREDS.account_id, client_id=CREDS.client_id,
                            client_secret=CREDS.client_secret, api_url=emu.api_url,
                            oauth_url=emu.oauth_url, duckdb_path=tmp_path / "w.duckdb",
                            pipelines_dir=tmp_path / "pipelines", plan="business", budget=1.0)
        report = run(settings, streams=["users", "groups", "past_meetings"])
    assert report.ok, report.reasons()
    assert report.rows["users"] > 0
    assert dict(os.environ) == before
