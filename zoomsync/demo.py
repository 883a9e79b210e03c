"""`zoomsync demo`: the whole product in one command, against the emulator, into DuckDB."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from zoomsync.config import Settings
from zoomsync.progress import Progress
from zoomsync.render import render_report
from zoomsync.sync.report import RunReport

EXAMPLES = {
    "Meeting minutes per host (past meetings)": """
        select u.email as host, count(*) as meetings, sum(p.duration) as minutes
        from {ds}.past_meetings p join {ds}.users u on u.id = p.host_id
        group by 1 order by minutes desc limit 5""",
    "Top meetings by attendance (distinct people, join segments)": """
        select p.topic, p.start_time, p.participants_count as people,
               count(mp.user_id) as join_segments
        from {ds}.past_meetings p
        join {ds}.meeting_participants mp on mp.meeting_uuid = p.uuid
        group by 1, 2, 3 order by people desc, join_segments desc limit 5""",
}


def run_demo(console: Console, *, duckdb_path: Path, plan: str = "business",
             budget: float = 0.8, seed: int = 42) -> RunReport:
    """Serve the emulator on a free loopback port, sync everything, show the result."""
    from zoomsync.emulator.app import EmulatorConfig
    from zoomsync.emulator.dataset import DatasetConfig
    from zoomsync.emulator.oauth import DEFAULT_CREDENTIALS as creds
    from zoomsync.emulator.server import RunningEmulator
    from zoomsync.sync.runner import run

    anchor = datetime.now(UTC).replace(microsecond=0)
    config = EmulatorConfig(dataset=DatasetConfig(seed=seed, anchor=anchor), plan=plan)
    with RunningEmulator(config) as emu:
        console.print(f"Zoom emulator on {emu.base_url} ({plan} plan, seed {seed}); "
                      f"syncing into {duckdb_path} with {budget:.0%} of the rate limits…")
        settings = Settings(account_id=creds.account_id, client_id=creds.client_id,
                            client_secret=creds.client_secret, api_url=emu.api_url,
                            oauth_url=emu.oauth_url, plan=plan, budget=budget,
                            destination="duckdb", duckdb_path=duckdb_path)
        started = time.monotonic()
        report = run(settings, observe=lambda r, c: Progress(r, c, console,
                                                             interactive=console.is_terminal))
        console.print(f"Synced in {time.monotonic() - started:.1f} s.")
    render_report(report, console, plan=plan, budget=budget)
    show_examples(console, duckdb_path, settings.dataset_name)
    return report


def show_examples(console: Console, duckdb_path: Path, dataset: str) -> None:
    import duckdb

    with duckdb.connect(str(duckdb_path), read_only=True) as db:
        for title, sql in EXAMPLES.items():
            query = sql.format(ds=dataset)
            cursor = db.execute(query)
            table = Table(title=title, title_justify="left")
            for column in cursor.description:
                table.add_column(column[0])
            for row in cursor.fetchall():
                table.add_row(*(str(v) for v in row))
            console.print(table)
            console.print(f"[dim]{' '.join(query.split())}[/dim]")
