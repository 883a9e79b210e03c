"""The dlt source built from the catalog: one resource per stream.

    import dlt, zoomsync
    pipeline = dlt.pipeline("zoom", destination="duckdb", dataset_name="zoom")
    pipeline.run(zoomsync.zoom_source(zoomsync.Settings()), loader_file_format="parquet")

Each resource asks `Discovery` for its partitions, fetches them concurrently through the
paced client, and yields rows with their parent's key. Zoom's errors are handled per
partition (`errors.stops`): a partition Zoom will not serve yet (3001 ...) is skipped; one
that fails through its retries or answers against the API's rules is skipped with what
depends on it, reported, and read again next run; a missing plan, scope or spent daily cap
stops that stream; only refused credentials (and the destination) stop the run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import dlt
from dlt.common.schema import Schema
from dlt.extract.source import DltSource

from zoomsync.catalog import Stream, select
from zoomsync.config import Settings
from zoomsync.dlt_version import check_dlt
from zoomsync.errors import (
    DailyLimitError,
    EntitlementError,
    ScopeError,
    stops,
)
from zoomsync.sync.deletes import DELETED_AT
from zoomsync.sync.discovery import REPORT_DAYS, Discovery
from zoomsync.sync.fanout import FanOut
from zoomsync.sync.incremental import Policy, StreamRun
from zoomsync.sync.normalizer import MODULE as NORMALIZER
from zoomsync.sync.read_order import HINT as READ_ORDER_HINT
from zoomsync.sync.read_order import READ_ORDER, stamp
from zoomsync.sync.report import RunReport
from zoomsync.sync.state import Tracker
from zoomsync.zoom import Pacer, ZoomClient, ZoomCredentials, path_for
from zoomsync.zoom.pagination import records

log = logging.getLogger("zoomsync.sync")

NUMERIC_PARENTS = {"meeting_id", "webinar_id"}


@dataclass
class Context:
    """What the resources of one source share."""

    client: ZoomClient
    fanout: FanOut
    discovery: Discovery
    report: RunReport
    account_id: str
    account_column: bool = False  # several accounts share the tables (docs/accounts.md)
    incremental: bool = True  # False: read and load everything, keep no state
    full_refresh: tuple[str, ...] = ()  # streams whose state is cleared first

    def stop(self) -> None:
        """The run is ending: calls not started are cancelled, waits and retries end."""
        self.fanout.close()
        self.client.cancel()


def account_column(settings: Settings) -> bool:
    """Whether rows carry `account_id`: configured accounts loaded into shared tables."""
    return bool(settings.account_name) and settings.accounts_layout == "column"


def key_columns(stream: Stream, with_account: bool) -> list[str]:
    """The table's primary key; `account_id` leads it when accounts share the tables."""
    if not with_account:
        return list(stream.primary_key)
    return ["account_id", *(k for k in stream.primary_key if k != "account_id")]


def client_from(settings: Settings) -> ZoomClient:
    account_id, client_id, secret = settings.require_credentials()
    return ZoomClient(ZoomCredentials(account_id, client_id, secret), api_url=settings.api_url,
                      oauth_url=settings.oauth_url,
                      pacer=Pacer(plan=settings.plan, budget=settings.budget,
                                  backoff=settings.retry_backoff),
                      max_retries=settings.max_retries, backoff=settings.retry_backoff)


def zoom_source(
    settings: Settings | None = None,
    *,
    client: ZoomClient | None = None,
    streams: list[str] | None = None,
    start_date: date | None = None,
    report: RunReport | None = None,
    fanout: FanOut | None = None,
    discovery: Discovery | None = None,
    full_refresh: list[str] | None = None,
    incremental: bool = True,
    now: datetime | None = None,
) -> DltSource:
    """A dlt source with one resource per selected stream (every default stream if None).

    Pass `settings` (credentials, API URLs, plan and budget) or a ready `client`.
    `report` collects skipped partitions, stopped streams and row counts. `fanout` is the
    thread pool for concurrent calls; pass one to close it when the run is over.
    Each stream loads only what changed since the state dlt keeps for it
    (docs/incremental.md); `full_refresh` names streams to read in full again, and
    `incremental=False` reads everything and keeps no state (destinations that rewrite
    whole tables). `now` is the run's start (default: the clock), the bookmarks' ceiling.
    """
    check_dlt()
    settings = settings or Settings()
    chosen = select(streams)
    client = client or client_from(settings)
    client.resume()  # a new run: an earlier one may have cancelled the client's calls
    report = report if report is not None else RunReport()
    report.streams = [s.name for s in chosen]
    fanout = fanout or FanOut(settings.workers)
    ctx = Context(client=client, fanout=fanout, report=report,
                  # A ready `discovery` restricts the partitions (the webhook applier's).
                  discovery=discovery or Discovery(client, fanout, report,
                                                   start=start_date or settings.start_date,
                                                   now=now,
                                                   policy=Policy.from_settings(settings)),
                  account_id=settings.account_id or "me",
                  account_column=account_column(settings), incremental=incremental,
                  full_refresh=tuple(full_refresh or ()))
    resources = [_resource(s, ctx) for s in chosen]

    # dlt's relational normalizer, extending each table family once (normalizer.py).
    schema = Schema("zoom", normalizers={"json": {"module": NORMALIZER}})

    @dlt.source(root_key=True, schema=schema)
    def zoom() -> Any:
        return resources

    return zoom()


def _resource(stream: Stream, ctx: Context) -> Any:
    from zoomsync.catalog.columns import columns, nested_hints

    hints = columns(stream.name)
    if ctx.account_column:
        # Zoom's own `account_id` (users, recordings) holds the same value: the account's id.
        hints = {**hints, "account_id": {"name": "account_id", "data_type": "text",
                                         "nullable": False}}
    # Every table has the column, so marking a row deleted (deletes.py) never alters one.
    hints = {**hints, DELETED_AT: {"name": DELETED_AT, "data_type": "timestamp",
                                   "nullable": True}}
    # The newest of a key's rows wins the merge (read_order.py).
    hints = {**hints, READ_ORDER: READ_ORDER_HINT.copy()}

    def rows() -> Iterator[list[dict[str, Any]]]:
        try:
            for batch in _rows(stream, ctx, hints):
                if ctx.account_column:
                    for row in batch:
                        row["account_id"] = ctx.account_id
                stamp(batch)  # after the rows' hashes were taken
                yield batch
        except (EntitlementError, ScopeError, DailyLimitError) as exc:
            # Stop this stream only; the others still load, and the run reports partial.
            ctx.report.stop(stream.name, str(exc))
            log.warning("stream %s stopped: %s", stream.name, exc)
        except Exception as exc:
            if stops(exc) == "run":
                # dlt waits for the other streams' running steps before it reports this
                # error: make every call they wait on or retry end now (RunStopped).
                ctx.stop()
            raise

    return dlt.resource(
        rows, name=stream.name, table_name=stream.name, write_disposition="merge",
        primary_key=key_columns(stream, ctx.account_column), columns=hints,
        nested_hints=nested_hints(stream.name) or None, parallelized=True,
    )


def _rows(stream: Stream, ctx: Context, hints: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
    doc: dict[str, Any] = {}  # not incremental: a throwaway state, so everything loads
    if ctx.incremental:
        # dlt commits this state in the load package of the rows it describes.
        ctx.discovery.attach(dlt.current.source_state().get("resources", {}),
                             forget=ctx.full_refresh)
        doc = dlt.current.resource_state()
        if stream.name in ctx.full_refresh:
            doc.clear()
    run = StreamRun(stream, ctx.discovery, Tracker(doc), fanout=ctx.fanout, report=ctx.report,
                    prepare=_preparer(stream, hints), account_id=ctx.account_id,
                    fetch=lambda value, since: _fetch(stream, ctx, value, since))
    yield from run.rows()


def _fetch(stream: Stream, ctx: Context, value: Any, since: date | None = None
           ) -> list[dict[str, Any]]:
    """Every record of one partition: all variants, windows and pages."""
    client, params = ctx.client, dict(stream.params)
    path = stream.path
    if stream.partition == "months":
        params.update(year=value[0], month=value[1])
    elif stream.partition == "windows":
        params.update({"from": value[0], "to": value[1]})
    elif value is not None:
        placeholder = path[path.index("{") + 1:path.index("}")]
        path = path_for(path, **{placeholder: value})
    windows: list[Any] = [None]
    if stream.windowed:
        windows = ctx.discovery.windows(stream.reach_days or REPORT_DAYS, since)
    out: list[dict[str, Any]] = []
    for variant in stream.variants or ({},):
        for window in windows:
            query = {**params, **variant}
            if window is not None:
                query.update({"from": window[0], "to": window[1]})
            if stream.list_key is None:
                out.append(client.get(path, query, label=stream.label))
            elif stream.page_size:
                out.extend(client.paginate(
                    path, query, label=stream.label, list_key=stream.list_key,
                    page_size=stream.page_size, key=_key(stream),
                    paging="page_number" if stream.page_number else "token"))
            else:
                out.extend(records(client.get(path, query, label=stream.label),
                                   stream.list_key, path, query))
    return out


def _key(stream: Stream) -> Callable[[dict[str, Any]], object] | None:
    if stream.row_index:
        return None
    fields = [k for k in stream.primary_key if k != stream.parent_key]
    return lambda record: tuple(record.get(k) for k in fields)


def _preparer(stream: Stream, hints: dict[str, Any]) -> Callable[[dict[str, Any], Any, int],
                                                                  dict[str, Any]]:
    temporal = {name for name, col in hints.items()
                if col.get("data_type") in ("timestamp", "date")}

    def prepare(record: dict[str, Any], parent: Any, index: int) -> dict[str, Any]:
        for name in stream.drop:
            _drop(record, name.split("__"))
        _blank_times(record, temporal, "")
        for name, value in record.items():
            if name.endswith("_url") and isinstance(value, str) and "pwd=" in value:
                record[name] = _without_passcode(value)
        if stream.parent_key is not None and parent is not None:
            record[stream.parent_key] = (int(parent) if stream.parent_key in NUMERIC_PARENTS
                                         else parent)
        if stream.row_index:
            record["row_index"] = index
        if stream.transform is not None:
            record = stream.transform(record)
        return record

    return prepare


def _drop(record: dict[str, Any], path: list[str]) -> None:
    """Remove a field, also one inside nested objects (`settings__pmi_password`)."""
    node: Any = record
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(path[-1], None)


def _blank_times(record: dict[str, Any], temporal: set[str], prefix: str) -> None:
    """Zoom sends "" for unknown times; a timestamp column cannot hold it, so None."""
    for key, value in record.items():
        name = prefix + key
        if value == "" and name in temporal:
            record[key] = None
        elif isinstance(value, dict):
            _blank_times(value, temporal, name + "__")


def _without_passcode(url: str) -> str:
    """Join links carry the meeting passcode (`pwd=`); the warehouse keeps the link only."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "pwd"]
    return urlunsplit(parts._replace(query=urlencode(query)))
