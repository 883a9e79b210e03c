"""A zoomsync sync of the emulator into DuckDB and PostgreSQL, for tests that run it in a
child process beside plain dlt (test_dlt_untouched.py, test_plain_dlt_pipeline.py).

Nothing of zoomsync is imported at the top: those children look at dlt before zoomsync is
imported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

STREAMS = ["users", "groups", "past_meetings"]


def sync_both(api_url: str, oauth_url: str, postgres_url: str, dataset: str,
              where: Path) -> list[str]:
    """Sync STREAMS into a DuckDB file in `where`, then into PostgreSQL; where it loaded.
    Exits the child with the reasons if a sync is not complete."""
    from pydantic import SecretStr

    from zoomsync.config import Settings
    from zoomsync.emulator.oauth import DEFAULT_CREDENTIALS as CREDS
    from zoomsync.sync.runner import run

    common: dict[str, Any] = {
        "account_id": CREDS.account_id, "client_id": CREDS.client_id,
        "client_secret": CREDS.client_secret, "api_url": api_url, "oauth_url": oauth_url,
        "plan": "business", "budget": 1.0, "dataset_name": dataset,
        "pipelines_dir": where / "pipelines"}
    places: dict[str, dict[str, Any]] = {
        "duckdb": {"destination": "duckdb", "duckdb_path": where / "warehouse.duckdb"},
        "postgres": {"destination": "postgres", "postgres_url": SecretStr(postgres_url)}}
    synced = []
    for name, place in places.items():
        report = run(Settings(**common, **place), streams=STREAMS)
        if not report.ok or not report.rows.get("users"):
            raise SystemExit(f"the {name} sync failed: {report.reasons()}")
        synced.append(name)
    return synced
