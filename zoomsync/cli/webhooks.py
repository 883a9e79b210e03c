"""`zoomsync webhooks serve|apply|stats`: Zoom's webhook events into the warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from zoomsync.cli.common import app, parse_streams
from zoomsync.errors import ConfigError

if TYPE_CHECKING:
    from zoomsync.webhooks.spool import Spool

webhooks_app = typer.Typer(help="Receive Zoom's webhook events and apply them to the warehouse.",
                           no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")
_SPOOL_HELP = "Spool file (env ZOOMSYNC_WEBHOOK_SPOOL; default zoomsync-webhooks.sqlite)."
_DEST_HELP = "Where --apply loads (env ZOOMSYNC_DESTINATION; default duckdb)."
_CONFIG_HELP = ("TOML config file with settings (env ZOOMSYNC_CONFIG; default ./zoomsync.toml "
                "if present).")


@webhooks_app.command("serve")
def webhooks_serve(
    host: Annotated[str, typer.Option(help="Address to bind (put a TLS proxy in front).")
                    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8080,
    path: Annotated[str, typer.Option(help="URL path Zoom posts to.")] = "/zoom/webhooks",
    spool: Annotated[Path | None, typer.Option(help=_SPOOL_HELP)] = None,
    config: Annotated[Path | None, typer.Option(help=_CONFIG_HELP)] = None,
    apply: Annotated[bool, typer.Option(
        "--apply", help="Also apply spooled events to the destination, in this process.")
    ] = False,
    destination: Annotated[str | None, typer.Option(help=_DEST_HELP)] = None,
    duckdb_path: Annotated[Path | None, typer.Option(help="DuckDB file for --apply.")] = None,
    streams: Annotated[str | None, typer.Option(
        help="Only refresh these streams (comma-separated; default: all an event touches).")
    ] = None,
) -> None:
    """Receive Zoom's webhook events, check their signature and spool them durably.

    Needs ZOOMSYNC_WEBHOOK_SECRET_TOKEN, the Secret Token of the app's event subscription;
    --apply also needs the Zoom credentials. Metrics: GET /metrics (Prometheus text).
    Example: ZOOMSYNC_WEBHOOK_SECRET_TOKEN=... zoomsync webhooks serve --port 8080 --apply
    """
    from zoomsync.config import load_settings
    from zoomsync.webhooks.server import serve

    settings = load_settings(config, webhook_spool=spool, destination=destination,
                             duckdb_path=duckdb_path)
    serve(settings, host=host, port=port, path=path, apply=apply, streams=parse_streams(streams))


@webhooks_app.command("apply")
def webhooks_apply(
    spool: Annotated[Path | None, typer.Option(help=_SPOOL_HELP)] = None,
    config: Annotated[Path | None, typer.Option(help=_CONFIG_HELP)] = None,
    destination: Annotated[str | None, typer.Option(help=_DEST_HELP)] = None,
    duckdb_path: Annotated[Path | None, typer.Option(help="DuckDB file to load into.")] = None,
    streams: Annotated[str | None, typer.Option(
        help="Only refresh these streams (comma-separated; default: all an event touches).")
    ] = None,
    follow: Annotated[bool, typer.Option(
        "--follow", help="Keep applying new events until interrupted.")] = False,
) -> None:
    """Apply the spooled events: refetch what they name from Zoom and load it.

    Without --follow, drains the spool once and exits (non-zero if a batch failed).
    Example: zoomsync webhooks apply --spool /var/lib/zoomsync/webhooks.sqlite --follow
    """
    import threading

    from zoomsync.config import load_settings
    from zoomsync.webhooks.apply import Applier

    settings = load_settings(config, webhook_spool=spool, destination=destination,
                             duckdb_path=duckdb_path)
    with _existing_spool(settings.webhook_spool) as opened, Applier(
            settings, opened, streams=parse_streams(streams)) as applier:
        if follow:
            stop = threading.Event()
            try:
                applier.run(stop)
            except KeyboardInterrupt:
                stop.set()
            return
        events = rows = 0
        while (result := applier.apply_batch()) is not None:
            events += result.events
            rows += sum(result.rows.values())
        opened.purge()  # forget applied events older than Zoom's retries
        typer.echo(f"applied {events} events, {rows} rows loaded")


@webhooks_app.command("stats")
def webhooks_stats(
    spool: Annotated[Path | None, typer.Option(help=_SPOOL_HELP)] = None,
    config: Annotated[Path | None, typer.Option(help=_CONFIG_HELP)] = None,
) -> None:
    """Print the spool's totals, pending events and lag, as JSON.

    Example: zoomsync webhooks stats --spool /var/lib/zoomsync/webhooks.sqlite
    """
    import json

    from zoomsync.config import load_settings

    settings = load_settings(config, webhook_spool=spool)
    with _existing_spool(settings.webhook_spool) as opened:
        typer.echo(json.dumps(opened.stats(), indent=2))


def _existing_spool(path: Path) -> Spool:
    """The spool `serve` created, or one clear line: apply and stats never start one."""
    from zoomsync.webhooks.server import open_spool

    if not path.exists():
        raise ConfigError(f"no webhook spool at {path}: start `zoomsync webhooks serve` "
                          "first, or pass --spool")
    return open_spool(path)
