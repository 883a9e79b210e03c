"""`zoomsync state show|reset`: each stream's incremental state, read and cleared locally."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from zoomsync.cli.common import app, console, parse_streams

state_app = typer.Typer(help="Show or reset each stream's incremental state (bookmarks).",
                        no_args_is_help=True)
app.add_typer(state_app, name="state")


@state_app.command("show")
def state_show(
    stream: Annotated[str | None, typer.Option(help="Only this stream.")] = None,
    config: Annotated[Path | None, typer.Option(help="TOML config file.")] = None,
    account: Annotated[str | None, typer.Option(help="Only this account.")] = None,
    destination: Annotated[str | None, typer.Option(help="The runs' destination.")] = None,
    duckdb_path: Annotated[Path | None, typer.Option(help="The runs' DuckDB file.")] = None,
) -> None:
    """Each stream's bookmark, last full compare and rows tracked (local state only).

    Example: zoomsync state show --stream meeting_participants
    """
    from rich.table import Table

    from zoomsync.accounts import label, load_accounts
    from zoomsync.sync.state import bookmarks

    names = parse_streams(stream)
    for settings in load_accounts(config, only=account, destination=destination,
                                  duckdb_path=duckdb_path):
        table = Table(title=f"State of {label(settings)}", title_justify="left")
        for col in ("stream", "bookmark", "last reconciled", "rows tracked"):
            table.add_column(col)
        for name, st in sorted(bookmarks(settings).items()):
            if names and name not in names:
                continue
            table.add_row(name, _when(st.bookmark), _when(st.reconciled_at),
                          str(st.rows_tracked))
        Console(width=200 if not console.is_terminal else None).print(table)


@state_app.command("reset")
def state_reset(
    stream: Annotated[str | None, typer.Option(
        help="Comma-separated streams (default: every stream).")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    config: Annotated[Path | None, typer.Option(help="TOML config file.")] = None,
    account: Annotated[str | None, typer.Option(help="Only this account.")] = None,
    destination: Annotated[str | None, typer.Option(help="The runs' destination.")] = None,
    duckdb_path: Annotated[Path | None, typer.Option(help="The runs' DuckDB file.")] = None,
) -> None:
    """Forget the bookmarks, so the next run reads those streams in full; rows stay.

    Example: zoomsync state reset --stream recordings --yes
    """
    from zoomsync.accounts import label, load_accounts
    from zoomsync.sync.state import reset

    names = parse_streams(stream)
    accounts = load_accounts(config, only=account, destination=destination,
                             duckdb_path=duckdb_path)
    what = ", ".join(names) if names else "every stream"
    if not yes and not typer.confirm(f"Reset the state of {what}? The next run reads "
                                     "them in full", default=False):
        raise typer.Abort()
    for settings in accounts:
        done = reset(settings, names)
        typer.echo(f"{label(settings)}: reset {', '.join(done) or 'nothing (no state)'}")


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "-"

