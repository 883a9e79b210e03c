"""The admin API under `/_emulator/`: the emulator's clock, faults, counters and data.

No Zoom auth, JSON in and out; errors are `{"error": "<one line>"}` with 400 (bad input),
404 (no such object or route) or 409 (conflicts with the current state). Every change to
the account sends the Zoom webhook events it would cause (admin_events.py). The routes and
their bodies are listed in `docs/emulator.md`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from zoomsync.emulator import mutations, truth
from zoomsync.emulator.admin_events import Events, instance_view
from zoomsync.emulator.clock import iso
from zoomsync.emulator.dataset import Dataset, Instance
from zoomsync.emulator.faults import TARGET_MODES, FaultConfig, FaultTarget
from zoomsync.emulator.mutations import MutationError

if TYPE_CHECKING:
    from zoomsync.emulator.app import Emulator

PREFIX = "/_emulator"
Handler = Callable[[Request], Awaitable[Any]]
# Counters that are levels, not totals: a reset does not zero them.
_GAUGES = frozenset({"pending", "tokens_live"})
_FLUSH_MAX_SECONDS = 60.0
_MAX_JUMP_SECONDS = 10 * 366 * 86_400
_SPOOL_BYTES = 8 << 20  # truth tables larger than this are spooled to disk, not memory


def admin_routes(emu: Emulator) -> list[Route]:
    """The `/_emulator/...` routes for `emu`; mounted before `/v2`."""
    return Admin(emu).routes()


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Turn a handler's result (a body, or `(status, body)`) or its MutationError into JSON."""

    @functools.wraps(handler)
    async def run(request: Request) -> Response:
        try:
            result = await handler(request)
        except MutationError as exc:
            return error(exc.status, exc.message)
        if isinstance(result, Response):
            return result
        status, body = result if isinstance(result, tuple) else (200, result)
        return JSONResponse(body, status_code=status)

    return run


async def _body(request: Request) -> dict[str, Any]:
    """The JSON object sent, `{}` for an empty body."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise MutationError(400, "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise MutationError(400, "the body must be a JSON object")
    return body


def _only(body: dict[str, Any], *allowed: str) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise MutationError(400, f"unknown fields: {', '.join(unknown)}")


def _since(now: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """Totals minus the totals at the last reset; levels as they are."""
    out: dict[str, Any] = {}
    for key, value in now.items():
        old = base.get(key)
        if isinstance(value, int) and isinstance(old, int) and key not in _GAUGES:
            out[key] = value - old
        else:
            out[key] = value
    return out


class Admin:
    """The handlers, bound to one emulator, and the counter totals at the last reset.

    Some components keep totals they cannot reset (the webhook sender, the fault injector,
    the token issuer), so a reset records a baseline and the counters report the difference.
    """

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.events = Events(emu)
        self.webhook_url = emu.config.webhook_url
        self._baseline: dict[str, dict[str, Any]] = {}

    @property
    def ds(self) -> Dataset:
        # Looked up each time: a reset with `dataset: true` replaces the dataset.
        return self.emu.dataset

    def now(self) -> datetime:
        return self.emu.clock.now()

    def routes(self) -> list[Route]:
        table: list[tuple[str, str, Handler]] = [
            ("/clock", "GET", self.get_clock),
            ("/clock", "POST", self.set_clock),
            ("/faults", "GET", self.get_faults),
            ("/faults", "PUT", self.put_faults),
            ("/counters", "GET", self.get_counters),
            ("/reset", "POST", self.reset),
            ("/tokens/revoke", "POST", self.revoke_tokens),
            ("/users", "POST", self.create_user),
            ("/users/{userId}", "PATCH", self.update_user),
            ("/users/{userId}", "DELETE", self.delete_user),
            ("/meetings", "POST", self.create_meeting),
            ("/meetings/{meetingId}", "PATCH", self.update_meeting),
            ("/meetings/{meetingId}", "DELETE", self.delete_meeting),
            ("/meetings/{meetingId}/start", "POST", self.start_meeting),
            ("/meetings/{meetingId}/end", "POST", self.end_meeting),
            # `path`: instance UUIDs may contain `/`.
            ("/instances/{uuid:path}/participants", "POST", self.add_participants),
            ("/webhooks", "GET", self.get_webhooks),
            ("/webhooks", "PUT", self.put_webhooks),
            ("/webhooks/validate", "POST", self.validate_webhooks),
            ("/webhooks/flush", "POST", self.flush_webhooks),
            ("/truth", "GET", self.get_manifest),
            ("/truth/{table}", "GET", self.get_table),
        ]
        # Starlette tries every route, so one path may have a route per method.
        routes = [Route(PREFIX + path, _endpoint(handler), methods=[method])
                  for path, method, handler in table]
        # Anything else under the prefix is answered here, not by the Zoom API behind it.
        routes.append(Route(PREFIX + "/{rest:path}", self.not_found,
                            methods=["GET", "POST", "PUT", "PATCH", "DELETE"]))
        return routes

    async def not_found(self, request: Request) -> Response:
        return error(404, f"no admin route {request.method} {request.url.path}")

    # -- clock, faults, counters, tokens ----------------------------------------------------

    async def get_clock(self, request: Request) -> Any:
        return {"now": iso(self.now())}

    async def set_clock(self, request: Request) -> Any:
        """`{"advance_seconds": n}` (may be negative) or `{"set": "<ISO-8601>"}`."""
        body = await _body(request)
        _only(body, "advance_seconds", "set")
        if len(body) != 1:
            raise MutationError(400, "send one of advance_seconds or set")
        if "advance_seconds" in body:
            seconds = body["advance_seconds"]
            if (isinstance(seconds, bool) or not isinstance(seconds, int | float)
                    or abs(seconds) > _MAX_JUMP_SECONDS):
                raise MutationError(400, "advance_seconds must be a number of seconds, "
                                    "at most ten years either way")
            return {"now": iso(self.emu.clock.advance(seconds))}
        return {"now": iso(self.emu.clock.set(_instant(body["set"], "set")))}

    async def get_faults(self, request: Request) -> Any:
        return _fault_dict(self.emu.faults.config)

    async def put_faults(self, request: Request) -> Any:
        """Replace the fault config: fields left out take their defaults (off)."""
        body = await _body(request)
        names = {f.name for f in dataclasses.fields(FaultConfig)}
        _only(body, *names, "seed")
        seed = body.pop("seed", None)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise MutationError(400, "seed must be an integer")
        if "exclude_prefixes" in body:
            prefixes = body["exclude_prefixes"]
            if not isinstance(prefixes, list) or not all(isinstance(p, str) for p in prefixes):
                raise MutationError(400, "exclude_prefixes must be a list of path prefixes")
            # Faults on the admin API would leave no way to turn them off again.
            body["exclude_prefixes"] = tuple(dict.fromkeys((*prefixes, PREFIX)))
        if "targets" in body:
            body["targets"] = _fault_targets(body["targets"])
        revoke_every = body.get("revoke_every", 0)
        if isinstance(revoke_every, bool) or not isinstance(revoke_every, int) or revoke_every < 0:
            raise MutationError(400, "revoke_every must be a non-negative integer")
        try:
            config = FaultConfig(**body)
        except (TypeError, ValueError) as exc:
            raise MutationError(400, f"invalid fault config: {exc}") from None
        self.emu.faults.configure(config, seed=seed)
        return _fault_dict(self.emu.faults.config)

    async def get_counters(self, request: Request) -> Any:
        return {
            "rate_limits": self.emu.limiter.counters(),
            "faults": _since(self.emu.faults.counters(), self._baseline.get("faults", {})),
            "webhooks": _since(self.emu.webhooks.counters(), self._baseline.get("webhooks", {})),
            "tokens": _since(self.emu.issuer.counters(), self._baseline.get("tokens", {})),
            "mutations": self.ds.mutations,
        }

    async def reset(self, request: Request) -> Any:
        """Zero the counters (and refill rate limits); `{"dataset": true}` also rebuilds the
        dataset from its config, dropping every change made through this API."""
        body = await _body(request)
        _only(body, "dataset")
        if not isinstance(body.get("dataset", False), bool):
            raise MutationError(400, "dataset must be true or false")
        self.emu.limiter.reset()
        self._baseline = {"faults": self.emu.faults.counters(),
                          "webhooks": self.emu.webhooks.counters(),
                          "tokens": self.emu.issuer.counters()}
        done = ["counters"]
        if body.get("dataset"):
            self.emu.dataset = Dataset(self.emu.config.dataset)
            done.append("dataset")
        return {"reset": done, "now": iso(self.now())}

    async def revoke_tokens(self, request: Request) -> Any:
        """Every token, or `{"token": "..."}` only: the next API call answers 401 code 124."""
        body = await _body(request)
        _only(body, "token")
        if "token" in body:
            return {"revoked": int(self.emu.issuer.revoke(str(body["token"])))}
        return {"revoked": self.emu.issuer.revoke_all()}

    # -- users ------------------------------------------------------------------------------

    async def create_user(self, request: Request) -> Any:
        body, now = await _body(request), self.now()
        with self.ds.lock:
            user = mutations.create_user(self.ds, body, now)
            events = self.events.user_created(user, now)
            record = dict(user.record)
        self.events.emit(events)
        return 201, record

    async def update_user(self, request: Request) -> Any:
        body, now = await _body(request), self.now()
        with self.ds.lock:
            old, user = mutations.update_user(self.ds, request.path_params["userId"], body)
            events = self.events.user_changed(old, user, now)
            record = dict(user.record)
        self.events.emit(events)
        return record

    async def delete_user(self, request: Request) -> Any:
        now = self.now()
        with self.ds.lock:
            user, meetings = mutations.delete_user(self.ds, request.path_params["userId"])
            events = self.events.user_deleted(user.record, now)
        self.events.emit(events)
        return {"id": user.id, "deleted": True, "meetings_deleted": [d.id for d in meetings]}

    # -- meetings ---------------------------------------------------------------------------

    async def create_meeting(self, request: Request) -> Any:
        """`{"host_id": <user id or email>, ...meeting fields}`; answers GET /meetings/{id}."""
        body, now = await _body(request), self.now()
        host = body.pop("host_id", None) or body.pop("host_email", None)
        if not isinstance(host, str):
            raise MutationError(400, "host_id (a user id or email) is required")
        with self.ds.lock:
            d = mutations.create_meeting(self.ds, host, body, now)
            events = self.events.meeting_created(d, now)
            view = self.events.meeting_view(d, now)
        self.events.emit(events)
        return 201, view

    async def update_meeting(self, request: Request) -> Any:
        body, now = await _body(request), self.now()
        key = request.path_params["meetingId"]
        with self.ds.lock:
            old = self.events.meeting_view(mutations.find_meeting(self.ds, key), now)
            d = mutations.update_meeting(self.ds, key, body, now)
            events = self.events.meeting_updated(old, d, now)
            view = self.events.meeting_view(d, now)
        self.events.emit(events)
        return view

    async def delete_meeting(self, request: Request) -> Any:
        now = self.now()
        key = request.path_params["meetingId"]
        with self.ds.lock:
            view = self.events.meeting_view(mutations.find_meeting(self.ds, key), now)
            d = mutations.delete_meeting(self.ds, key, now)
            events = self.events.meeting_deleted(view, d, now)
        self.events.emit(events)
        return {"id": d.id, "deleted": True}

    async def start_meeting(self, request: Request) -> Any:
        """A live instance from now; optional `people` (distinct people) and `recording`."""
        body, now = await _body(request), self.now()
        _only(body, "people", "recording")
        with self.ds.lock:
            inst = mutations.start_instance(
                self.ds, request.path_params["meetingId"], now,
                people_count=body.get("people"), recording=body.get("recording"))
            events = self.events.started(inst)
            view = self._instance(inst)
        self.events.emit(events)
        return 201, view

    async def end_meeting(self, request: Request) -> Any:
        """End the live instance now; with none live, one that ran `duration` minutes."""
        body, now = await _body(request), self.now()
        _only(body, "duration", "people", "recording")
        with self.ds.lock:
            done = mutations.end_instance(
                self.ds, request.path_params["meetingId"], now, duration=body.get("duration"),
                people_count=body.get("people"), recording=body.get("recording"))
            events = self.events.started(done.instance) if done.created else []
            events += self.events.ended(done.instance, done.closed)
            view = self._instance(done.instance)
        self.events.emit(events)
        return view

    async def add_participants(self, request: Request) -> Any:
        """`{"participants": [{"name", "email", "id", "join_time", "leave_time"}, ...]}`."""
        body, now = await _body(request), self.now()
        _only(body, "participants")
        uuid = request.path_params["uuid"]
        if "%" in uuid:  # double-encoded, as Zoom wants UUIDs with `/`: decode the second layer
            uuid = unquote(uuid)
        with self.ds.lock:
            added = mutations.add_participants(self.ds, uuid, body.get("participants"), now)
            segments = added.finished + added.opened
            events = self.events.participants(added.instance, segments)
        self.events.emit(events)
        return 201, {"uuid": added.instance.uuid, "participants": segments}

    def _instance(self, inst: Instance) -> dict[str, Any]:
        view = instance_view(self.ds, inst)
        view.update(status="ended" if inst.ended(self.now()) else "live", people=inst.people,
                    has_recording=inst.has_recording)
        return view

    # -- webhooks ---------------------------------------------------------------------------

    async def get_webhooks(self, request: Request) -> Any:
        """Deliveries, newest last (`?event=` filters by event name), and the counters."""
        event = request.query_params.get("event")
        deliveries = [d for d in self.emu.webhooks.deliveries()
                      if event is None or d["event"] == event]
        counters = _since(self.emu.webhooks.counters(), self._baseline.get("webhooks", {}))
        return {"url": self.webhook_url, "deliveries": deliveries, "counters": counters}

    async def put_webhooks(self, request: Request) -> Any:
        """`{"url": "http://..." | null, "secret_token": "..."}`; either may be left out."""
        body = await _body(request)
        _only(body, "url", "secret_token")
        url = body.get("url", self.webhook_url)
        if url is not None and not (isinstance(url, str) and url.startswith(("http://",
                                                                               "https://"))):
            raise MutationError(400, "url must be an http(s) URL or null")
        if "secret_token" in body and not (isinstance(body["secret_token"], str)
                                           and body["secret_token"]):
            raise MutationError(400, "secret_token must be a non-empty string")
        self.emu.webhooks.configure(**body)
        self.webhook_url = url
        return {"url": url, "secret_token_changed": "secret_token" in body}

    async def validate_webhooks(self, request: Request) -> Any:
        """Zoom's `endpoint.url_validation` challenge against the configured URL."""
        if self.webhook_url is None:
            raise MutationError(400, "no webhook url is configured (PUT /_emulator/webhooks)")
        valid = await run_in_threadpool(self.emu.webhooks.validate_endpoint)
        return {"url": self.webhook_url, "valid": valid}

    async def flush_webhooks(self, request: Request) -> Any:
        """Wait until nothing is queued or in flight: `{"timeout": seconds}`, default 10."""
        body = await _body(request)
        _only(body, "timeout")
        timeout = body.get("timeout", 10)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
            raise MutationError(400, "timeout must be a number of seconds")
        done = await run_in_threadpool(self.emu.webhooks.flush, min(timeout, _FLUSH_MAX_SECONDS))
        counters = _since(self.emu.webhooks.counters(), self._baseline.get("webhooks", {}))
        return {"flushed": done, "counters": counters}

    # -- ground truth -----------------------------------------------------------------------

    async def get_manifest(self, request: Request) -> Any:
        return truth.manifest(self.ds, self.now())

    async def get_table(self, request: Request) -> Any:
        """One table as JSONL, rows as `zoomsync emulator --export-truth` writes them."""
        table = request.path_params["table"].removesuffix(".jsonl")
        if table not in truth.TABLES:
            raise MutationError(404, f"no truth table {table}; tables: {', '.join(truth.TABLES)}")
        # Rows are made in a worker thread that holds the dataset lock until the table is
        # done; streaming straight from the generator would hold the lock across awaits,
        # where the event loop, also wanting it for API calls, would deadlock.
        spool = await run_in_threadpool(_spool_table, self.ds, table, self.now())
        return StreamingResponse(_read(spool), media_type="application/x-ndjson",
                                 background=BackgroundTask(spool.close))


def _instant(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise MutationError(400, f"{name} must be an ISO-8601 date-time")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise MutationError(400, f"{name} is not an ISO-8601 date-time: {value}") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _fault_targets(value: Any) -> tuple[FaultTarget, ...]:
    """`[{"path": "/users", "mode": "repeat_token", "query": {"status": "inactive"}}, ...]`."""
    if not isinstance(value, list):
        raise MutationError(400, "targets must be a list of {path, mode, query} objects")
    return tuple(_fault_target(item, n) for n, item in enumerate(value))


def _fault_target(item: Any, n: int) -> FaultTarget:
    where = f"targets[{n}]"
    if not isinstance(item, dict):
        raise MutationError(400, f"{where} must be an object with path and mode")
    unknown = sorted(set(item) - {"path", "mode", "query"})
    if unknown:
        raise MutationError(400, f"{where}: unknown fields: {', '.join(unknown)}")
    path, mode, query = item.get("path"), item.get("mode"), item.get("query", {})
    if not isinstance(path, str) or not isinstance(mode, str):
        raise MutationError(400, f"{where}: path and mode must be strings; "
                            f"modes: {', '.join(TARGET_MODES)}")
    if not isinstance(query, dict) or not all(isinstance(v, str) for v in query.values()):
        raise MutationError(400, f"{where}: query must be an object of strings")
    try:
        return FaultTarget(path, mode, query)
    except ValueError as exc:
        raise MutationError(400, f"{where}: {exc}") from None


def _fault_dict(config: FaultConfig) -> dict[str, Any]:
    body = dataclasses.asdict(config)
    body["exclude_prefixes"] = list(config.exclude_prefixes)
    # The shape PUT takes, so a GET can be sent back as it is; `query` only when set.
    body["targets"] = [
        {"path": t.path, "mode": t.mode, **({"query": dict(t.query)} if t.query else {})}
        for t in config.targets
    ]
    return body


def _spool_table(ds: Dataset, table: str, now: datetime) -> tempfile.SpooledTemporaryFile[bytes]:
    # Not a `with`: the response reads the file after this returns and closes it when done.
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115
    try:
        for row in truth.iter_table(ds, table, now):
            line = json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n"
            spool.write(line.encode())
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


def _read(spool: tempfile.SpooledTemporaryFile[bytes], size: int = 1 << 16) -> Iterator[bytes]:
    while chunk := spool.read(size):
        yield chunk
