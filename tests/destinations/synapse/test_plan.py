"""The order a family's statements run in, driven through a recording executor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from tests.destinations.synapse.families import SAS, users_family
from zoomsync.destinations.synapse.plan import run_family


class Recorder:
    def __init__(self, ledger: bool = False, fail_on: str | None = None) -> None:
        self.statements: list[str] = []
        self.ledger, self.fail_on = ledger, fail_on

    def __call__(self, sql: str) -> Sequence[Sequence[Any]]:
        self.statements.append(sql)
        if self.fail_on and sql.startswith(self.fail_on):
            raise RuntimeError("boom")
        return [(3,)] if sql.startswith("SELECT [rows]") and self.ledger else []

    def verbs(self) -> list[str]:
        return [" ".join(s.split()[:2]) for s in self.statements]


def test_a_fresh_load_checks_stages_publishes_and_cleans_up() -> None:
    family = users_family("1.1", staged_children=("users__group_ids",))
    execute = Recorder()
    assert run_family(family, execute, storage=SAS) == "loaded"
    assert execute.verbs() == [
        "SELECT [rows]",
        "IF OBJECT_ID('[zoom_staging].[users__1_1]',", "CREATE TABLE", "COPY INTO",
        "IF OBJECT_ID('[zoom_staging].[users__group_ids__1_1]',", "CREATE TABLE", "COPY INTO",
        "BEGIN TRANSACTION", "DELETE FROM", "DELETE FROM", "DELETE FROM", "INSERT INTO",
        "INSERT INTO", "INSERT INTO", "COMMIT TRANSACTION",
        "IF OBJECT_ID('[zoom_staging].[users__1_1]',",
        "IF OBJECT_ID('[zoom_staging].[users__group_ids__1_1]',",
    ]


def test_a_committed_load_only_drops_staging() -> None:
    execute = Recorder(ledger=True)
    assert run_family(users_family("1.1"), execute, storage=SAS) == "skipped"
    assert [v.split()[0] for v in execute.verbs()] == ["SELECT", "IF", "IF", "IF"]


def test_a_failed_statement_rolls_back_and_raises() -> None:
    execute = Recorder(fail_on="INSERT INTO [zoom].[users]")
    with pytest.raises(RuntimeError, match="boom"):
        run_family(users_family("1.1"), execute, storage=SAS)
    assert execute.statements[-1] == "ROLLBACK TRANSACTION"
    assert not any(s.startswith("COMMIT") for s in execute.statements)


def test_staging_needs_storage_or_a_stage_callable() -> None:
    with pytest.raises(ValueError, match="needs storage"):
        run_family(users_family("1.1"), Recorder())


def test_publish_refuses_an_incoherent_family() -> None:
    from zoomsync.destinations.synapse.merge import publish

    with pytest.raises(ValueError, match="root table is not staged"):
        publish("zoom", "stg", "1", root="users", key=("id",), staged={"x": ["a"]})
    with pytest.raises(ValueError, match="not among its children"):
        publish("zoom", "stg", "1", root="users", key=("id",),
                staged={"users": ["id"], "users__x": ["a"]})
