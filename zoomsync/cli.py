"""The `zoomsync` command line: a thin shell over the library.

Errors the user can fix print one line and exit with code 2; nothing prints a traceback.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from zoomsync.errors import ConfigError, ZoomSyncError

if TYPE_CHECKING:
    from zoomsync.emulator.faults import FaultConfig

app = typer.Typer(
    name="zoomsync",
    help="Keep your Zoom account's data in your analytics warehouse.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True, soft_wrap=True, highlight=False)


@app.callback()
def _root() -> None:
    """Keep your Zoom account's data in your analytics warehouse."""


def _anchor(value: str | None) -> datetime:
    if value is None:
        return datetime.combine(datetime.now(UTC).date(), time(12), tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = datetime.combine(date.fromisoformat(value), time(12))
        except ValueError:
            raise ConfigError(f"--now {value!r} is not a date: use YYYY-MM-DD or an "
                              "ISO-8601 date-time such as 2026-11-01T12:00:00Z") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{option} {value!r} is not a date: use YYYY-MM-DD") from None


def _streams(value: str | None) -> list[str] | None:
    if not value:
        return None
    from zoomsync.catalog import select

    names = [n.strip() for n in value.split(",") if n.strip()]
    select(names)  # unknown names fail here, before any network call
    return names


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
) -> None:
    """Sync your Zoom account into the warehouse (DuckDB by default).

    Credentials come from ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET.
    Example: zoomsync run --streams users,past_meetings,meeting_participants --start-date 2026-06-01
    Example: ZOOMSYNC_POSTGRES_URL=postgresql://... zoomsync run --destination postgres
    """
    from zoomsync.config import load_settings
    from zoomsync.sync.runner import run as run_sync

    settings = load_settings(destination=destination, duckdb_path=duckdb_path, plan=plan,
                             budget=budget)
    report = run_sync(settings, streams=_streams(streams),
                      start_date=_date(start_date, "--start-date"), observe=_progress)
    _finish(report, settings.plan, settings.budget, json_report)


def _progress(report: object, client: object) -> object:
    from zoomsync.progress import Progress

    return Progress(report, client, console, interactive=console.is_terminal)  # type: ignore[arg-type]


def _finish(report: object, plan: str, budget: float, as_json: bool) -> None:
    import json

    from zoomsync.render import render_report
    from zoomsync.sync.report import RunReport

    assert isinstance(report, RunReport)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2, default=str))
    else:
        render_report(report, console, plan=plan, budget=budget)
    if not report.ok:
        console.print("error: partial run: " + "; ".join(report.reasons()), markup=False)
        raise typer.Exit(1)


@app.command()
def check(
    streams: Annotated[str | None, typer.Option(
        help="Comma-separated streams to check (default: every default stream).")] = None,
    destination: Annotated[str | None, typer.Option(
        help="Destination to check [env ZOOMSYNC_DESTINATION; default duckdb].")] = None,
    duckdb_path: Annotated[Path | None, typer.Option(help="DuckDB file to check.")] = None,
    plan: Annotated[str | None, typer.Option(help="pro or business [env ZOOMSYNC_PLAN].")] = None,
) -> None:
    """Check the credentials, each stream's scopes and plan, and the destination.

    The destination check connects, creates a throwaway dataset, writes two rows, reads
    them back and drops the dataset.
    Example: zoomsync check --streams users,meeting_participants --destination postgres
    """
    from rich.table import Table

    from zoomsync import check as checks
    from zoomsync.catalog import select
    from zoomsync.config import load_settings
    from zoomsync.destinations import resolve
    from zoomsync.destinations.probe import check_target
    from zoomsync.sync.runner import preflight
    from zoomsync.sync.source import client_from

    settings = load_settings(destination=destination, duckdb_path=duckdb_path, plan=plan)
    target = resolve(settings)  # a bad destination setting fails before any Zoom call
    chosen = select(_streams(streams))
    with client_from(settings) as client:
        preflight(client, settings)
        typer.echo(f"credentials: ok (account {settings.account_id}, "
                   f"{len(client.auth.scopes)} scopes granted)")
        results = checks.check_streams(client, chosen, settings.plan)
        limits = checks.observed_limits(client)
    table = Table(title="Streams", title_justify="left")
    for col in ("stream", "ok", "detail"):
        table.add_column(col)
    for r in results:
        table.add_row(r.stream, "yes" if r.ok else "NO", r.detail)
    Console().print(table)
    typer.echo("rate limits used for pacing (calls/s at 100%): " + ", ".join(
        f"{label} {rate / settings.budget:g}" for label, rate in limits.items()))
    status = check_target(target)
    typer.echo(f"destination {target.name} {target.label}: {status}")
    if status != "ok" or not all(r.ok for r in results):
        raise typer.Exit(1)


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
            "parent_key": stream.parent_key, "list_key": stream.list_key, "plan": stream.plan,
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


@app.command()
def emulator(
    host: Annotated[str, typer.Option(help="Address to bind; keep it on loopback.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8765,
    seed: Annotated[int, typer.Option(help="Same seed and --now give the same account.")] = 42,
    plan: Annotated[str, typer.Option(help="Rate-limit table: pro or business.")] = "pro",
    now: Annotated[str | None, typer.Option(
        help="The account's 'now' (YYYY-MM-DD or ISO date-time); default today 12:00 UTC.",
    )] = None,
    latency_ms: Annotated[int, typer.Option(min=0, help="Added to every API response.")] = 0,
    token_ttl: Annotated[int, typer.Option(min=1, help="Token lifetime in seconds.")] = 3599,
    users: Annotated[int, typer.Option(min=4, help="Users in the account.")] = 10,
    meetings_per_user: Annotated[int, typer.Option(min=0)] = 2,
    participants_mean: Annotated[int, typer.Option(min=1, help="Mean people per meeting.")] = 6,
    months: Annotated[int, typer.Option(min=1, max=24, help="Months of meeting history.")] = 8,
    large_meetings: Annotated[int, typer.Option(min=0, help="Meetings with >300 people.")] = 1,
    account_id: Annotated[str | None, typer.Option(help="Account id the emulator accepts.")] = None,
    client_id: Annotated[str | None, typer.Option(help="Client id the emulator accepts.")] = None,
    client_secret: Annotated[str | None, typer.Option(
        help="Client secret the emulator accepts.")] = None,
    webhook_url: Annotated[str | None, typer.Option(
        help="Where to POST Zoom webhook events on admin changes.")] = None,
    webhook_secret: Annotated[str, typer.Option(
        help="Secret token that signs webhook events.")] = "emu_webhook_secret_token",
    faults: Annotated[str | None, typer.Option(
        help="Seeded faults, e.g. 'error_5xx=0.1,rate_429=0.05,reset=0.02,slow=0.05'.",
    )] = None,
    webinar_plan: Annotated[bool, typer.Option(
        help="Without it, webinar endpoints answer 400 code 200 as on Zoom.")] = True,
    export_truth: Annotated[Path | None, typer.Option(
        help="Write the ground truth (JSONL per table) to this directory and exit.")] = None,
) -> None:
    """Serve a Zoom API emulator on 127.0.0.1, for trying zoomsync without a Zoom account.

    Example: zoomsync emulator --port 8765 --seed 7 --plan business
    """
    from zoomsync.emulator.app import EmulatorConfig
    from zoomsync.emulator.dataset import DatasetConfig
    from zoomsync.emulator.oauth import DEFAULT_CREDENTIALS, Credentials

    if plan not in ("pro", "business"):
        raise ConfigError(f"--plan {plan!r} is not a plan: use pro or business")
    creds = Credentials(account_id or DEFAULT_CREDENTIALS.account_id,
                        client_id or DEFAULT_CREDENTIALS.client_id,
                        client_secret or DEFAULT_CREDENTIALS.client_secret)
    dataset = DatasetConfig(seed=seed, anchor=_anchor(now), users=users,
                            meetings_per_user=meetings_per_user,
                            participants_mean=participants_mean, months=months,
                            large_meetings=large_meetings, account_id=creds.account_id)
    config = EmulatorConfig(dataset=dataset, plan=plan, credentials=creds, token_ttl=token_ttl,
                            latency_ms=latency_ms, base_url=f"http://{host}:{port}",
                            webhook_url=webhook_url, webhook_secret=webhook_secret,
                            faults=_faults(faults), webinar_plan=webinar_plan)
    if export_truth is not None:
        _export(config, export_truth)
        return
    _serve(config, host, port)


def _faults(spec: str | None) -> FaultConfig:
    """`name=rate,...` into a FaultConfig, with one clear line for anything wrong."""
    from zoomsync.emulator.faults import FaultConfig

    if not spec:
        return FaultConfig()
    known = {"error_5xx", "rate_429", "reset", "slow", "slow_ms", "revoke_token"}
    values: dict[str, float | int | bool] = {}
    for part in spec.split(","):
        name, _, raw = part.strip().partition("=")
        if name == "omit_ratelimit_headers":
            values[name] = True
            continue
        if name not in known:
            raise ConfigError(f"--faults: unknown fault {name!r}; use {', '.join(sorted(known))} "
                              "or omit_ratelimit_headers")
        try:
            values[name] = int(raw) if name == "slow_ms" else float(raw)
        except ValueError:
            raise ConfigError(f"--faults: {name}={raw!r} is not a number") from None
    try:
        return FaultConfig(**values)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ConfigError(f"--faults: {exc}") from None


def _export(config: object, directory: Path) -> None:
    from zoomsync.emulator import truth
    from zoomsync.emulator.app import Emulator

    emu = Emulator(config)  # type: ignore[arg-type]
    try:
        counts = truth.export(emu.dataset, emu.clock.now(), directory)
    except OSError as exc:
        raise ConfigError(f"cannot write the ground truth to {directory}: {exc.strerror}") from None
    finally:
        emu.webhooks.close()
    typer.echo(f"wrote {sum(counts.values())} rows in {len(counts)} tables to {directory}")


def _serve(config: object, host: str, port: int) -> None:
    import uvicorn

    from zoomsync.emulator.app import Emulator

    emu = Emulator(config)  # type: ignore[arg-type]
    creds = emu.config.credentials
    base = f"http://{host}:{port}"
    typer.echo(f"Zoom API emulator (seed {emu.config.dataset.seed}, plan {emu.config.plan}, "
               f"now {emu.clock.now():%Y-%m-%dT%H:%M:%SZ})")
    typer.echo(f"  ZOOM_API_URL={base}/v2")
    typer.echo(f"  ZOOM_OAUTH_URL={base}/oauth/token")
    typer.echo(f"  ZOOM_ACCOUNT_ID={creds.account_id}")
    typer.echo(f"  ZOOM_CLIENT_ID={creds.client_id}")
    typer.echo(f"  ZOOM_CLIENT_SECRET={creds.client_secret}")
    typer.echo(f"  admin API: {base}/_emulator/  (see docs/emulator.md)")
    try:
        uvicorn.run(emu.app, host=host, port=port, log_level="warning", lifespan="off")
    finally:
        emu.webhooks.close()


def _logging() -> None:
    """key=value lines on stderr when no one watches a terminal; warnings only otherwise."""
    import logging

    interactive = console.is_terminal
    logging.basicConfig(
        level=logging.WARNING if interactive else logging.INFO,
        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
    )
    for noisy in ("httpx", "httpcore", "dlt", "uvicorn.error"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main() -> None:
    """Entry point: run the app, turning expected errors into one line and exit code 2."""
    _logging()
    try:
        # Without standalone mode click returns a command's exit code instead of exiting.
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except ZoomSyncError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        console.print("aborted")
        sys.exit(130)
    except Exception as exc:  # click's usage errors arrive here with standalone_mode off
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(2)
        raise
