"""The `zoomsync` command line: a thin shell over the library.

Expected errors print one line, never a traceback, and exit 2 when the user must fix
something first, 75 when another process holds the destination, 1 when a later run may
succeed (errors.exit_code; README, "Exit codes").
Each module here registers its commands on the one typer `app` (common.py).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from typing import NoReturn

import typer
from rich.markup import escape

from zoomsync.cli.common import app, console
from zoomsync.cli.ending import exit_within
from zoomsync.errors import ZoomSyncError, exit_code

__all__ = ["app", "main"]

# Each module registers its commands on `app`; `zoomsync --help` lists them in this order.
for _module in ("sync", "state", "emulator", "webhooks"):
    importlib.import_module(f"zoomsync.cli.{_module}")


def _logging() -> None:
    """key=value lines on stderr when no one watches a terminal; warnings only otherwise."""
    interactive = console.is_terminal
    logging.basicConfig(
        level=logging.WARNING if interactive else logging.INFO,
        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
    )
    for noisy in ("httpx", "httpcore", "dlt", "uvicorn.error"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("dlt").addFilter(_without_traceback)


def _without_traceback(record: logging.LogRecord) -> bool:
    """dlt logs a failed load job with its traceback, and each retry of it with a message
    that quotes the job's traceback as text: on a full disk, hundreds of tracebacks. The
    run ends with one line saying what failed and what to do, so dlt's log keeps each
    message, with a quoted traceback cut to the exception line that ends it — the cause
    stays, the frames go (all of it stays when logging at DEBUG)."""
    from zoomsync.failures import without_traceback

    if logging.getLogger().isEnabledFor(logging.DEBUG):
        return True
    record.exc_info = None
    record.exc_text = None
    try:
        message = record.getMessage()
    except Exception:  # a malformed record: logging reports it itself, as it would have
        return True
    if "Traceback (most recent call last):" in message:
        record.msg, record.args = without_traceback(message), None
    return True


def main() -> None:
    """Entry point: run the app, turning expected errors into one line and an exit code.

    The process then ends within a few seconds, even if a thread still waits on the
    network (cli/ending.py): a scheduler must never see a finished run hang."""
    try:
        _main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        exit_within(code)
        raise


def _main() -> None:
    # The command is an application: its dlt sends no anonymous telemetry (zoomsync sends
    # nothing anywhere). The library leaves the setting to the application that uses it.
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    _logging()
    try:
        # Without standalone mode click returns a command's exit code instead of exiting.
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except ZoomSyncError as exc:  # 75 for a held lock: "try again later", not bad input
        _fail(exc)
    except OSError as exc:  # a disk full, a folder not writable, outside a sync's steps
        from zoomsync.failures import explain

        _fail(explain(exc))
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


def _fail(exc: ZoomSyncError) -> NoReturn:
    console.print(f"[red]error:[/red] {escape(str(exc))}")
    sys.exit(exit_code(exc))

