"""`zoomsync check --destination synapse`: does this pool and storage account suit our loads?

Beyond the probe load every destination gets (probe.py: create, COPY, merge, read back,
drop), it reports what a Synapse DBA would ask about first:
- the pool's collation: a case-sensitive (`_CS_`) one makes catalog names case-sensitive;
  zoomsync's keys compare in their own binary collation either way;
- READ_COMMITTED_SNAPSHOT, which loads require (pool.require_snapshot_reads);
- the COPY permission (`ADMINISTER DATABASE BULK OPERATIONS`), shown by the probe's COPY;
- the storage account's kind against the COPY credential: for Parquet, a plain Blob
  account serves COPY only with a SAS or the account key; a service principal, a managed
  identity or the connected Entra identity need ADLS Gen2 (hierarchical namespace), a
  managed identity its `.dfs` endpoint, a SAS the `.blob` one.
  https://learn.microsoft.com/sql/t-sql/statements/copy-into-transact-sql
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from zoomsync.destinations.synapse import pool
from zoomsync.destinations.synapse.driver import describe

NEEDS_ADLS = {"service-principal": "a service principal", "managed-identity": "a managed identity",
              "none": "the connected Entra ID identity"}


@dataclass(frozen=True)
class Finding:
    what: str
    ok: bool
    detail: str


def pool_findings(connect: Any) -> list[Finding]:
    """Collation and READ_COMMITTED_SNAPSHOT, read from sys.databases."""
    try:
        connection = connect()
    except Exception as exc:
        return [Finding("pool", False, f"cannot connect: {describe(exc)}")]
    try:
        cursor = connection.cursor()
        cursor.execute(pool.SETTINGS)
        found = pool.settings(cursor.fetchall())
    except Exception as exc:
        return [Finding("pool settings", False, f"cannot read sys.databases: {describe(exc)}")]
    finally:
        with contextlib.suppress(Exception):
            connection.close()
    sensitive = "_CS_" in f"{found.collation}_".upper()
    rcsi = ("on" if found.read_committed_snapshot else
            f"OFF: loads are refused; in master run ALTER DATABASE [{found.database}] SET "
            "READ_COMMITTED_SNAPSHOT ON")
    return [Finding("collation", True, f"{found.collation} (identifiers compare case-"
                    f"{'sensitively' if sensitive else 'insensitively'}; keys always binary)"),
            Finding("READ_COMMITTED_SNAPSHOT", found.read_committed_snapshot, rcsi)]


def storage_findings(area: Any) -> list[Finding]:
    """The staging account's kind and endpoint against the COPY credential."""
    config = area.config
    try:
        info = area.account_information()
        storage = area.storage(area.copy_credential())
    except Exception as exc:  # one line each (storage._storage_errors, ConfigError)
        return [Finding("storage account", False, f"cannot read its kind: {exc}")]
    adls = bool(info.get("is_hns_enabled"))
    kind = ("ADLS Gen2 (hierarchical namespace)" if adls else "Blob storage (no hierarchical "
            "namespace)")
    endpoint = storage.credential.endpoint if storage.endpoint == "auto" else storage.endpoint
    needs = NEEDS_ADLS.get(config.copy_auth)
    if needs and not adls:
        return [Finding("storage account", False,
                        f"{kind}: COPY from Parquet with {needs} needs an ADLS Gen2 account; "
                        "use ZOOMSYNC_SYNAPSE_COPY_AUTH=generated-sas (or sas, account-key), or "
                        "a storage account with hierarchical namespace")]
    return [Finding("storage account", True,
                    f"{kind}, {info.get('account_kind') or 'unknown kind'}; COPY reads the "
                    f".{endpoint} endpoint with {config.copy_auth}")]


def copy_finding(probe: str) -> Finding:
    """The COPY permission, from the probe load's own COPY INTO."""
    if probe == "ok":
        return Finding("COPY permission", True, "a COPY INTO ran (ADMINISTER DATABASE BULK "
                       "OPERATIONS and INSERT are granted)")
    text = probe.lower()
    if "bulk" in text and "permission" in text:
        return Finding("COPY permission", False, "missing: GRANT ADMINISTER DATABASE BULK "
                       "OPERATIONS to the loader (docs/destinations/synapse.md, step 3)")
    return Finding("COPY permission", False, "not shown: the probe load did not reach COPY")


def report(loader: Any, probe: str) -> list[Finding]:
    """Every finding for a Synapse destination's loader (client.Loader) and probe result."""
    return [*pool_findings(loader.connect), *storage_findings(loader.area), copy_finding(probe)]
