"""What every command shares: the typer app, the error console, option parsing."""

from __future__ import annotations

from datetime import date

import typer
from rich.console import Console

from zoomsync.errors import ConfigError

app = typer.Typer(
    name="zoomsync",
    help="Keep your Zoom account's data in your analytics warehouse.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help text: rich markup would swallow our "[env ZOOMSYNC_…]" hints as tags.
    rich_markup_mode=None,
)
console = Console(stderr=True, soft_wrap=True, highlight=False)


@app.callback()
def _root() -> None:
    """Keep your Zoom account's data in your analytics warehouse."""


def parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{option} {value!r} is not a date: use YYYY-MM-DD") from None


def parse_streams(value: str | None) -> list[str] | None:
    if not value:
        return None
    from zoomsync.catalog import select

    names = [n.strip() for n in value.split(",") if n.strip()]
    select(names)  # unknown names fail here, before any network call
    return names

