"""Several Zoom accounts in one configuration: the config file's `[[accounts]]` list.

    accounts_layout = "column"          # or "schema": one dataset per account (zoom_emea ...)

    [[accounts]]
    name = "emea"                       # names the account's state, status and schema
    account_id = "AbC123"
    client_id = "xyz"
    client_secret = "${EMEA_ZOOM_CLIENT_SECRET}"   # a reference: the secret stays in the env
    plan = "business"
    budget = 0.4

Each account becomes a full `Settings`: the file's top-level settings, the environment and the
command line's options, with the account's own values on top. Each has its own pipeline (so
its own state, bookmarks, lock and status) and its own client (so its own pacing budget).
With the "column" layout every table gets an `account_id` column, which leads every primary
key, so equal ids in two accounts never collide (docs/accounts.md).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from zoomsync.config import (
    ACCOUNT_NAME_PATTERN,
    Settings,
    check_keys,
    config_path,
    read_config,
    resolve_references,
    settings_with,
)
from zoomsync.errors import ConfigError


class Account(BaseModel):
    """One entry of `[[accounts]]`; anything not listed here is set once for all accounts."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=ACCOUNT_NAME_PATTERN)
    account_id: str
    client_id: str
    client_secret: SecretStr
    plan: Literal["pro", "business"] | None = None
    budget: float | None = Field(None, gt=0, le=1)
    workers: int | None = Field(None, ge=1, le=64)
    start_date: date | None = None
    api_url: str | None = None
    oauth_url: str | None = None


def load_accounts(config: Path | None = None, *, only: str | None = None,
                  **overrides: object) -> list[Settings]:
    """The settings of every configured account (or of `only`), in the file's order.

    Without `[[accounts]]` in the file, the one account of the environment, as before.
    """
    path = config_path(config)
    values = read_config(path)
    entries = values.pop("accounts", None)
    check_keys(values, str(path), exclude=("account_name",))
    if entries is None:
        if only is not None:
            raise ConfigError(f"--account {only}: no accounts are configured; list them as "
                              "[[accounts]] in a config file (docs/accounts.md)")
        return [settings_with(values, **overrides)]
    accounts = _parse(entries, str(path))
    if only is not None:
        names = [a["name"] for a in accounts]
        if only not in names:
            raise ConfigError(f"--account {only}: no such account in {path}; configured: "
                              f"{', '.join(names)}")
        accounts = [a for a in accounts if a["name"] == only]
    out = []
    for raw in accounts:
        where = f"{path}: accounts[{raw['name']}]"
        entry = _validate(resolve_references(raw, where), where)
        own: dict[str, Any] = {k: v for k, v in entry.model_dump().items()
                               if v is not None and k != "name"}
        own["account_name"] = entry.name
        settings = settings_with(values, **{**overrides, **own})
        if settings.accounts_layout == "schema":
            settings = settings.model_copy(update={
                "dataset_name": f"{settings.dataset_name}_{entry.name}"})
        out.append(settings)
    return out


def _parse(entries: object, where: str) -> list[dict[str, Any]]:
    if not isinstance(entries, list) or not entries or not all(
            isinstance(e, dict) for e in entries):
        raise ConfigError(f"{where}: accounts must be a list of [[accounts]] tables")
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        name = entry.get("name")
        if not isinstance(name, str):
            raise ConfigError(f"{where}: accounts[{i}] has no name")
        if name in seen:
            raise ConfigError(f"{where}: two accounts are named {name!r}")
        seen.add(name)
    return entries


def _validate(entry: dict[str, Any], where: str) -> Account:
    try:
        return Account(**entry)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "entry"
        message = ("lower-case letters, digits and _ , starting with a letter"
                   if field == "name" else first["msg"])
        # Never echo the input: it may be a secret.
        raise ConfigError(f"{where}: {field}: {message}") from None


def label(settings: Settings) -> str:
    """How messages name an account: its config name, or its Zoom account id."""
    return settings.account_name or settings.account_id or "default"
