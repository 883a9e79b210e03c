"""Commands that sync and look at syncs: run, status, check, streams, demo."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from zoomsync.cli.common import app, console, parse_date, parse_streams
from zoomsync.errors import ConfigError

if TYPE_CHECKING:
    from zoomsync.config import Settings


@app.command()
def run(
    streams: Annotated[str | None, typer.Option(
        help="Comma-separated streams (default: every default stream; see `zoomsync streams`).",
    )] = None,
    start_date: Annotated[str | None, typer.Option(
        help="Earliest date for reports and recordings, YYYY-MM-DD (Zoom keeps 6 months).",
    )] = None,
    destination: Annotated[str | None, typer.Option(
        help="Where to load: duckdb, postgres, filesystem, delta, snowflake, bigquery, "
             "redshift, panoply or synapse [env ZOOMSYNC_DESTINATION; default duckdb]; "
             "credentials: docs/destinations.md.",
    )] = None,
    duckdb_path: Annotated[Path | None, typer.Option(
        help="DuckDB file to load into [env ZOOMSYNC_DUCKDB_PATH; default zoomsync.duckdb].",
    )] = None,
    plan: Annotated[str | None, typer.Option(
        help="Your Zoom plan's rate limits: pro or business [env ZOOMSYNC_PLAN].")] = None,
    budget: Annotated[float | None, typer.Option(
        help="Share of the rate limits to use, 0-1 [env ZOOMSYNC_BUDGET; default 0.8].",
    )] = None,
    json_report: Annotated[bool, typer.Option(
        "--json", help="Print the run report as JSON on stdout.")] = False,
    every: Annotated[str | None, typer.Option(
        help="Keep running: start a run every interval, e.g. 90s, 15m, 2h, 1d.")] = None,
    cron: Annotated[str | None, typer.Option(
        help="Keep running: start runs on a cron expression (local time), "
             "e.g. '*/15 * * * *'.")] = None,
    continuous: Annotated[bool, typer.Option(
        "--continuous", help="Keep running: each run starts 5 s after the previous ends.",
    )] = False,
    wait: Annotated[bool, typer.Option(
        "--wait", help="If another zoomsync is running, wait for it instead of exiting 75.",
    )] = False,
    config: Annotated[Path | None, typer.Option(
        help="TOML config file with settings and a list of accounts (env ZOOMSYNC_CONFIG; "
             "default ./zoomsync.toml if present).")] = None,
    account: Annotated[str | None, typer.Option(
        help="Sync only this account of the config file.")] = None,
    full_refresh: Annotated[str | None, typer.Option(
        help="Comma-separated streams to read in full again: their state is cleared "
             "first; tables keep their rows (docs/incremental.md).")] = None,
    mask_pii: Annotated[bool, typer.Option(
        "--mask-pii", help="Synapse only: dynamic data masking on the columns the catalog "
                           "marks personal [env ZOOMSYNC_MASK_PII].")] = False,
) -> None:
    """Sync your Zoom account(s) into the warehouse (DuckDB by default), once or on a schedule.

    Credentials come from ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET, or from
    the config file's list of accounts (docs/accounts.md). One run at a time: a second zoomsync
    exits 75 naming the one running. SIGTERM or Ctrl-C stops after the current run; a second
    one aborts an extraction but never a load (docs/scheduling.md).
    Example: zoomsync run --streams users,past_meetings,meeting_participants --start-date 2026-06-01
    Example: zoomsync run --every 15m
    Example: zoomsync run --config zoomsync.toml --account emea --cron '*/30 * * * *'
    """
    from zoomsync.accounts import load_accounts
    from zoomsync.scheduler import Schedule, serve

    schedule = Schedule.parse(every=every, cron=cron, continuous=continuous)
    accounts = load_accounts(config, only=account, destination=destination,
                             duckdb_path=duckdb_path, plan=plan, budget=budget,
                             mask_pii=mask_pii or None)
    if any(s.mask_pii and s.destination.strip().lower() != "synapse" for s in accounts):
        raise ConfigError("--mask-pii (ZOOMSYNC_MASK_PII) applies to the synapse destination "
                          "only: masking is a Synapse feature")
    chosen, start = parse_streams(streams), parse_date(start_date, "--start-date")
    refresh = parse_streams(full_refresh) if full_refresh else None

    def reset_state(settings: Settings) -> None:
        from zoomsync.sync.state import reset

        reset(settings, refresh, locked=True)  # serve() holds the lock: --wait waits first

    # Several reports (accounts, scheduled runs): JSON as one line each, named.
    lines = len(accounts) > 1 or schedule.kind != "once"

    def show(settings: object, report: object) -> None:
        _show(settings, report, json_report, lines)

    # A held lock (LockHeld) exits 75 in main() (errors.exit_code).
    code = serve(accounts, schedule, streams=chosen, start_date=start, wait=wait,
                 observe=_progress, show=show, locked=reset_state if refresh else None,
                 # Logs say it already when no one watches a terminal.
                 announce=(lambda line: console.print(line, markup=False))
                 if console.is_terminal else None)
    if code:
        raise typer.Exit(code)


def _show(settings: object, report: object, as_json: bool, lines: bool) -> None:
    """One run's report; a partial run's reasons as one error line (the exit code is 1)."""
    import json

    from zoomsync.config import Settings
    from zoomsync.render import render_report
    from zoomsync.sync.report import RunReport

    assert isinstance(report, RunReport) and isinstance(settings, Settings)
    if as_json:
        data = report.as_dict()
        if lines:
            data["account"] = settings.account_name or settings.account_id
            typer.echo(json.dumps(data, default=str))
        else:
            typer.echo(json.dumps(data, indent=2, default=str))
    else:
        if settings.account_name:
            console.print(f"account {settings.account_name}", markup=False)
        render_report(report, console, plan=settings.plan, budget=settings.budget)
    if not report.ok:
        console.print("error: partial run: " + "; ".join(report.reasons()), markup=False)


@app.command()
def status(
    config: Annotated[Path | None, typer.Option(
        help="TOML config file (env ZOOMSYNC_CONFIG; default ./zoomsync.toml if present).",
    )] = None,
    account: Annotated[str | None, typer.Option(help="Only this account.")] = None,
    destination: Annotated[str | None, typer.Option(
        help="The destination the runs load into (env ZOOMSYNC_DESTINATION).")] = None,
    duckdb_path: Annotated[Path | None, typer.Option(
        help="The DuckDB file the runs load into (env ZOOMSYNC_DUCKDB_PATH).")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Show the last success, the last error, and each stream's bookmark and lag.

    Reads local files only (the status file and dlt's state); calls neither Zoom nor the
    warehouse. Exits 1 if an account's last run failed.
    Example: zoomsync status --json
    """
    import json

    from zoomsync import status as run_status
    from zoomsync.accounts import load_accounts

    accounts = load_accounts(config, only=account, destination=destination,
                             duckdb_path=duckdb_path)
    now = datetime.now(UTC)
    snaps = [run_status.snapshot(s, now) for s in accounts]
    if json_output:
        typer.echo(json.dumps(snaps if len(snaps) > 1 else snaps[0], indent=2, default=str))
    else:
        run_status.render(snaps, Console())
    if any(s["last_run"] and not s["last_run"]["ok"] for s in snaps):
        raise typer.Exit(1)

def _progress(report: object, client: object) -> object:
    from zoomsync.progress import Progress

    return Progress(report, client, console, interactive=console.is_terminal)  # type: ignore[arg-type]


@app.command()
def check(
    streams: Annotated[str | None, typer.Option(
        help="Comma-separated streams to check (default: every default stream).")] = None,
    destination: Annotated[str | None, typer.Option(
        help="Destination to check [env ZOOMSYNC_DESTINATION; default duckdb].")] = None,
    duckdb_path: Annotated[Path | None, typer.Option(help="DuckDB file to check.")] = None,
    plan: Annotated[str | None, typer.Option(help="pro or business [env ZOOMSYNC_PLAN].")] = None,
    config: Annotated[Path | None, typer.Option(
        help="TOML config file (env ZOOMSYNC_CONFIG; default ./zoomsync.toml if present).",
    )] = None,
    account: Annotated[str | None, typer.Option(
        help="Check only this account of the config file.")] = None,
) -> None:
    """Check the credentials, each stream's scopes and plan, and the destination.

    The destination check connects, creates a throwaway dataset, writes two rows, reads
    them back and drops the dataset. With a config file listing accounts, checks each.
    Example: zoomsync check --streams users,meeting_participants --destination postgres
    """
    from zoomsync.accounts import load_accounts
    from zoomsync.catalog import select
    from zoomsync.destinations import resolve

    accounts = load_accounts(config, only=account, destination=destination,
                             duckdb_path=duckdb_path, plan=plan)
    for settings in accounts:
        resolve(settings)  # a bad destination setting fails before any Zoom call
    chosen = select(parse_streams(streams))
    ok = [_check_account(settings, chosen, named=len(accounts) > 1) for settings in accounts]
    if not all(ok):
        raise typer.Exit(1)


def _check_account(settings: Any, chosen: list[Any], *, named: bool) -> bool:
    """One account's credentials, streams, pacing limits and destination; True if all ok."""
    from zoomsync import check as checks
    from zoomsync.accounts import label
    from zoomsync.destinations import resolve
    from zoomsync.destinations.probe import check_target
    from zoomsync.sync.runner import preflight
    from zoomsync.sync.source import client_from

    if named:
        typer.echo(f"account {label(settings)}")
    target = resolve(settings)
    with client_from(settings) as client:
        preflight(client, settings)
        typer.echo(f"credentials: ok (account {settings.account_id}, "
                   f"{len(client.auth.scopes)} scopes granted)")
        results = checks.check_streams(client, chosen, settings.plan)
        limits = checks.observed_limits(client)
    _verdicts("Streams", "stream", [(r.stream, r.ok, r.detail) for r in results])
    typer.echo("rate limits used for pacing (calls/s at 100%): " + ", ".join(
        f"{name} {rate / settings.budget:g}" for name, rate in limits.items()))
    status = check_target(target)
    typer.echo(f"destination {target.name} {target.label}: {status}")
    suits = True
    if target.name == "synapse":  # what a Synapse DBA asks first (compat.py)
        from zoomsync.destinations.synapse.compat import report

        findings = report(target.destination.loader, status)
        _verdicts("Synapse pool and staging storage", "check",
                  [(f.what, f.ok, f.detail) for f in findings])
        suits = all(f.ok for f in findings)
    return status == "ok" and suits and all(r.ok for r in results)


def _verdicts(title: str, what: str, rows: list[tuple[str, bool, str]]) -> None:
    """A table of checks: what, ok (yes/NO), detail."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for col in (what, "ok", "detail"):
        table.add_column(col)
    for name, ok, detail in rows:
        table.add_row(name, "yes" if ok else "NO", detail)
    Console().print(table)


@app.command("streams")
def list_streams(
    json_output: Annotated[bool, typer.Option(
        "--json", help="Print the catalog as JSON on stdout.")] = False,
) -> None:
    """List the streams zoomsync can sync, with their Zoom endpoint, key and rate label.

    Example: zoomsync streams --json
    """
    from zoomsync.catalog import CATALOG

    if json_output:
        import json

        typer.echo(json.dumps([_stream_entry(s) for s in CATALOG.values()], indent=2))
        return
    from rich.table import Table

    table = Table(title="Streams", title_justify="left",
                  caption="Opt-in streams sync only when named in --streams. "
                          "Their columns: docs/tables.md", caption_justify="left")
    # Names and paths never wrap: they are copied into --streams and Zoom's docs.
    table.add_column("stream", no_wrap=True)
    table.add_column("Zoom path", no_wrap=True)
    for col in ("primary key", "partition", "rate label", "plan", "synced"):
        table.add_column(col)
    for s in CATALOG.values():
        table.add_row(s.name, f"GET {s.path}", ", ".join(s.primary_key), s.partition, s.label,
                      s.plan, "default" if s.default else "opt-in")
    out = Console()
    if not out.is_terminal:
        out = Console(width=200)  # piped: one line per stream, not wrapped at 80 columns
    out.print(table)


def _stream_entry(stream: object) -> dict[str, object]:
    from zoomsync.catalog import Stream

    assert isinstance(stream, Stream)
    return {"name": stream.name, "path": stream.path, "label": stream.label,
            "primary_key": list(stream.primary_key), "partition": stream.partition,
            "parent_key": stream.parent_key, "list_key": stream.list_key, "sync": stream.mode,
            "plan": stream.plan,
            "default": stream.default, "scopes": list(stream.scopes),
            "granular_scopes": list(stream.granular_scopes), "description": stream.description}


@app.command()
def demo(
    duckdb_path: Annotated[Path, typer.Option(help="DuckDB file for the demo.")] = Path(
        "zoomsync-demo.duckdb"),
    plan: Annotated[str, typer.Option(help="Emulated plan: pro or business.")] = "business",
    budget: Annotated[float, typer.Option(min=0.01, max=1.0)] = 0.8,
    seed: Annotated[int, typer.Option(help="Emulated account's seed.")] = 42,
) -> None:
    """Try zoomsync with no Zoom account: emulator on 127.0.0.1, full sync, example queries.

    Example: zoomsync demo --duckdb-path /tmp/zoom.duckdb
    """
    from zoomsync.demo import run_demo
    from zoomsync.destinations.duckdb import duckdb_destination

    if plan not in ("pro", "business"):
        raise ConfigError(f"--plan {plan!r} is not a plan: use pro or business")
    duckdb_destination(duckdb_path)  # fail on a bad path before starting anything
    report = run_demo(Console(), duckdb_path=duckdb_path, plan=plan, budget=budget, seed=seed)
    if not report.ok:
        raise typer.Exit(1)

