"""One exception tree, grouped by what the caller must do.

    ZoomSyncError
    ├── ConfigError            bad input: settings, options, paths (exit code 2, one line)
    ├── ZoomAPIError           Zoom said no (status, code, message, method, path)
    │   ├── AuthError          credentials refused, or a token that stays invalid: stop the run
    │   │   └── ScopeError     the app lacks a scope (code 4700): add it in the Marketplace
    │   ├── EntitlementError   the account lacks a plan or add-on (400 code 200): skip the stream
    │   ├── SkippableAPIError  one partition is gone or not ready (3001, 3301, 1001, 12702):
    │   │                      record it in the run report and carry on
    │   ├── DailyLimitError    the daily Heavy/Resource-intensive cap is spent: stop those
    │   │                      streams until `retry_at`
    │   ├── RetryableAPIError  429/5xx/transport failures outlived the retries: run again later
    │   ├── InvalidAnswerError a repeated or endless page token, a body not as documented
    │   └── FatalAPIError      any other 4xx: a bug or an unsupported request, stop
    ├── DestinationError       the warehouse refused or failed a load
    ├── DiskFullError          no space left on a disk a run writes (exit code 1)
    ├── UnreachableError       a server did not answer at all: the network, DNS, a wrong URL
    ├── DestinationBusy        another process holds the destination: a zoomsync run
    │                          (lock.LockHeld) or a program with the DuckDB file open (exit 75)
    ├── RunStopped             the run is stopping: calls still waiting or retrying end now
    └── InternalError          a zoomsync bug met on one list, partition or record: skip it

Messages are one line, say what to do, and never contain a secret.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal


class ZoomSyncError(Exception):
    """Base class of every error zoomsync raises on purpose.

    `reported`: already in the run's report where it arose (a list that failed, met again
    by every stream built on it: sync/discovery.py), so a stream says "not read" instead
    of reporting it again."""

    reported: bool = False


class ConfigError(ZoomSyncError):
    """The user's input is wrong; the message says what and how to fix it."""


class DestinationError(ZoomSyncError):
    """The destination failed a load or refused a statement."""


class DiskFullError(ZoomSyncError):
    """A disk the run writes is full (ENOSPC, EDQUOT).

    Exit code 1, not 2: nothing the user typed is wrong, and space often comes back by
    itself (logs rotated, temporary files removed, the next load's package is smaller), so
    a scheduler keeps retrying with backoff instead of stopping; the line says where.
    """


class UnreachableError(ZoomSyncError):
    """A server did not answer at all (refused, reset, timed out, DNS): a network outage is
    transient, so a later run may succeed (exit code 1); the line names the URL to check
    should it last."""


class DestinationBusy(ZoomSyncError):
    """Another process holds the destination now; the message names it (pid, command)."""


class ZoomAPIError(ZoomSyncError):
    """Zoom answered an API or token request with an error.

    `code` is Zoom's numeric error code from the `{"code", "message"}` envelope, or None
    when the body had none (token endpoint, HTML from a load balancer, a transport failure).
    """

    hint = "see https://developers.zoom.us/docs/api/errors/"

    def __init__(
        self,
        status: int,
        code: int | None,
        message: str,
        method: str,
        path: str,
        *,
        hint: str | None = None,
        query: str = "",
    ) -> None:
        self.status = status
        self.code = code
        # One line, whatever Zoom (or a proxy) sent.
        self.message = " ".join(str(message).split())[:300]
        self.method = method
        self.path = path
        self.query = query  # the request's query string, for the run report
        if hint is not None:
            self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.method} {self.path}".strip()
        code = f" code {self.code}" if self.code is not None else ""
        status = f"HTTP {self.status}{code}" if self.status else "no response"
        return f"{where}: {status}: {self.message} ({self.hint})"

    @property
    def request(self) -> str:
        """`GET /users?status=inactive&page_size=2000`: what was asked, for the run report."""
        return f"{self.method} {self.path}" + (f"?{self.query}" if self.query else "")

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only attributes survive pickling (multiprocessing, pytest-xdist).
        return (_rebuild, (type(self), self.__dict__.copy()))


def _rebuild(cls: type[ZoomAPIError], state: dict[str, object]) -> ZoomAPIError:
    exc = cls.__new__(cls)
    exc.__dict__.update(state)
    Exception.__init__(exc, str(exc))
    return exc


class AuthError(ZoomAPIError):
    """Zoom refused the credentials or the access token."""

    hint = ("check ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET and that the app "
            "is activated")


class ScopeError(AuthError):
    """The app's token lacks a scope this endpoint needs."""

    hint = "add the missing scope to the Server-to-Server OAuth app in the Zoom Marketplace"


class EntitlementError(ZoomAPIError):
    """The account lacks the plan or add-on an endpoint needs."""

    hint = "the account needs that plan or add-on; leave the stream out until it has it"


class SkippableAPIError(ZoomAPIError):
    """One partition (a meeting, a user) is gone, unfinished or past retention."""

    hint = "recorded and skipped; it is retried on the next run"


class DailyLimitError(ZoomAPIError):
    """Zoom's daily cap for a rate-limit label is spent until `retry_at`."""

    def __init__(
        self,
        status: int,
        code: int | None,
        message: str,
        method: str,
        path: str,
        *,
        retry_at: datetime,
        label: str,
    ) -> None:
        self.retry_at = retry_at
        self.label = label
        hint = (
            f"Zoom's daily {label} budget is spent; run again after "
            f"{retry_at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"
        )
        super().__init__(status, code, message, method, path, hint=hint)


class RetryableAPIError(ZoomAPIError):
    """A transient failure (429, 5xx, network) that outlived the retries."""

    hint = "Zoom or the network is having trouble; run again later"


class InvalidAnswerError(ZoomAPIError):
    """Zoom answered with something its API does not allow: a page token it sent before,
    pages without end, a body that is not the documented JSON."""

    hint = "skipped this run and asked again on the next; report it to Zoom if it persists"


class FatalAPIError(ZoomAPIError):
    """A request Zoom will never accept as sent."""

    hint = "this is a zoomsync bug or an unsupported request; please report it"


class RunStopped(ZoomSyncError):
    """The run is stopping (another error ended it): calls not yet answered give up now."""


class InternalError(ZoomSyncError):
    """A zoomsync bug met while reading one list, partition or record (the message says
    which): that part is skipped and reported, the rest of the run goes on."""


def stops(exc: BaseException) -> Literal["run", "stream", "partition"]:
    """How much of a run an error ends, by its cause.

    - "stream": a missing scope or plan, or a spent daily cap: that stream's other
      partitions would fail alike, other streams go on;
    - "partition": anything else Zoom answers (after the retries), an answer that breaks the
      API's rules, a bug on one record: that list or partition and what depends on it;
    - "run": credentials refused after the renewals, the destination, the user's input.
    """
    if isinstance(exc, ScopeError | EntitlementError | DailyLimitError):
        return "stream"
    if isinstance(exc, AuthError):
        return "run"
    if isinstance(exc, ZoomAPIError | InternalError):
        return "partition"
    return "run"


# Exit codes of the `zoomsync` command (README, "Exit codes"): what a scheduler does next.
EXIT_PARTIAL = 1  # partial or transient: run again later, as a schedule would
EXIT_FIX = 2  # input, settings or credentials the user must fix: running again won't help
# EX_TEMPFAIL (sysexits.h), "try again later": another process holds the destination. cron
# and systemd report it as a failure; a wrapper can tell it from one (docs/scheduling.md).
EXIT_LOCKED = 75


def exit_code(exc: ZoomSyncError) -> int:
    """2 when the user must fix something first, 75 when another process holds the
    destination, 1 when a later run may well succeed (Zoom or the network failing through
    the retries, a server unreachable, the warehouse failing a load, a full disk)."""
    if isinstance(exc, DestinationBusy):
        return EXIT_LOCKED
    return EXIT_FIX if isinstance(exc, ConfigError | AuthError) else EXIT_PARTIAL
