"""`zoomsync emulator`: serve the Zoom API emulator, or export its ground truth."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from zoomsync.cli.common import app
from zoomsync.errors import ConfigError

if TYPE_CHECKING:
    from zoomsync.emulator.app import EmulatorConfig
    from zoomsync.emulator.faults import FaultConfig, FaultTarget


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
        help="Seeded faults, e.g. 'error_5xx=0.1,rate_429=0.05,reset=0.02,slow=0.05'; "
             "revoke_every=N revokes every token on each N-th API call.",
    )] = None,
    fault_target: Annotated[list[str] | None, typer.Option(
        help="PATH_GLOB=MODE, repeatable, e.g. '/users=repeat_token'; modes: repeat_token, "
             "endless_tokens, always_503, not_json, no_list_key.",
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
                            faults=_faults(faults, fault_target), webinar_plan=webinar_plan)
    if export_truth is not None:
        _export(config, export_truth)
        return
    _serve(config, host, port)


def _faults(spec: str | None, targets: list[str] | None = None) -> FaultConfig:
    """`name=rate,...` and `PATH_GLOB=MODE`s into a FaultConfig, with one clear line for
    anything wrong."""
    from zoomsync.emulator.faults import FaultConfig

    values: dict[str, float | int | bool] = {}
    known = {"error_5xx", "rate_429", "reset", "slow", "slow_ms", "revoke_token", "revoke_every"}
    counts = {"slow_ms", "revoke_every"}  # integers; the rest are probabilities
    for part in spec.split(",") if spec else []:
        name, _, raw = part.strip().partition("=")
        if name == "omit_ratelimit_headers":
            values[name] = True
            continue
        if name not in known:
            raise ConfigError(f"--faults: unknown fault {name!r}; use {', '.join(sorted(known))} "
                              "or omit_ratelimit_headers")
        try:
            values[name] = int(raw) if name in counts else float(raw)
        except ValueError:
            kind = "an integer" if name in counts else "a number"
            raise ConfigError(f"--faults: {name}={raw!r} is not {kind}") from None
    parsed = tuple(_target(t) for t in targets or [])
    try:
        return FaultConfig(**values, targets=parsed)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ConfigError(f"--faults: {exc}") from None


def _target(spec: str) -> FaultTarget:
    """`PATH_GLOB=MODE` (split at the last `=`) into a FaultTarget."""
    from zoomsync.emulator.faults import TARGET_MODES, FaultTarget

    path, sep, mode = spec.rpartition("=")
    modes = ", ".join(TARGET_MODES)
    if not sep or not path:
        raise ConfigError(f"--fault-target {spec!r}: use PATH_GLOB=MODE, MODE one of {modes}")
    try:
        return FaultTarget(path.strip(), mode.strip())
    except ValueError as exc:
        raise ConfigError(f"--fault-target {spec!r}: {exc}") from None


def _export(config: EmulatorConfig, directory: Path) -> None:
    from zoomsync.emulator import truth
    from zoomsync.emulator.app import Emulator

    emu = Emulator(config)
    try:
        counts = truth.export(emu.dataset, emu.clock.now(), directory)
    except OSError as exc:
        raise ConfigError(f"cannot write the ground truth to {directory}: {exc.strerror}") from None
    finally:
        emu.webhooks.close()
    typer.echo(f"wrote {sum(counts.values())} rows in {len(counts)} tables to {directory}")


def _serve(config: EmulatorConfig, host: str, port: int) -> None:
    import uvicorn

    from zoomsync.emulator.app import Emulator

    emu = Emulator(config)
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

