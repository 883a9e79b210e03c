"""What every command shares: the typer app, the error console, option parsing."""

from __future__ import annotations

from datetime import UTC, date, datetime

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
    """A YYYY-MM-DD day, not after today (UTC): a run reading from a future day would move
    every bookmark past the days it skipped, and never read them later."""
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{option} {value!r} is not a date: use YYYY-MM-DD") from None
    if day > datetime.now(UTC).date():
        raise ConfigError(f"{option} {value} is in the future: give today or an earlier day")
    return day


def parse_streams(value: str | None) -> list[str] | None:
    """Stream names (None: every default stream). A blank list is refused: it would
    otherwise sync everything, which is not what anyone typing it meant."""
    if value is None:
        return None
    from zoomsync.catalog import select

    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        raise ConfigError(f"--streams {value!r} names no stream: give stream names "
                          "(`zoomsync streams` lists them), or leave the option out for "
                          "every default stream")
    select(names)  # unknown names fail here, before any network call
    return names

