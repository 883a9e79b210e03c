"""Golden SQL: the exact statements of each scenario, frozen in golden/*.sql, parsed as T-SQL.

A change to generated SQL fails here until the golden files are regenerated
(`.venv/bin/python -m tests.destinations.synapse.golden`) and the diff reviewed.
Verified: the text, and that sqlglot's T-SQL dialect parses every statement (with the one
documented substitution in tsql.py). Not verified: that a real pool accepts it — no pool here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from tests.destinations.synapse.scenarios import (
    SAS,
    SCENARIOS,
    participants_family,
    render,
    spec,
)
from tests.destinations.synapse.tsql import OPAQUE, parse_tsql, parseable, to_duckdb
from zoomsync.destinations.synapse.ddl import create_table
from zoomsync.destinations.synapse.types import KEY_COLLATION

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_golden_file_is_current(name: str) -> None:
    path = GOLDEN / f"{name}.sql"
    assert path.read_text(encoding="utf-8") == render(name), (
        f"{path.name} is stale: run .venv/bin/python -m tests.destinations.synapse.golden "
        "and review the diff")


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_statement_parses_as_tsql(name: str) -> None:
    for sql in SCENARIOS[name]():
        if parseable(sql) != sql:
            assert sql.startswith("CREATE TABLE"), "the index substitution is for CREATE only"
        tree = parse_tsql(sql)
        if isinstance(tree, exp.Command):
            assert sql.startswith(OPAQUE), f"sqlglot could not parse: {sql[:100]}"


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_whole_golden_file_parses(name: str) -> None:
    # As one batch too (comments, separators). No statement count: sqlglot nests the
    # statements after an unbraced IF into its IfBlock, where T-SQL's IF governs only the
    # next statement. zoomsync sends statements one at a time, never as one batch.
    text = parseable_file((GOLDEN / f"{name}.sql").read_text(encoding="utf-8"))
    assert [e for e in sqlglot.parse(text, read="tsql") if e is not None]


def parseable_file(text: str) -> str:
    return ";\n\n".join(parseable(s.strip()) for s in text.split(";\n\n"))


def test_columnstore_and_clustered_index_tables_parse() -> None:
    participants = spec("meeting_participants", overrides={"meeting_participants": {
        "index": "CLUSTERED COLUMNSTORE INDEX",
        "lengths": {c: 256 for c in ("id", "name", "registrant_id", "status", "user_email")}}})
    sql = create_table("zoom", participants)
    assert sql.endswith("WITH (DISTRIBUTION = HASH([meeting_uuid]), CLUSTERED COLUMNSTORE INDEX)")
    assert isinstance(parse_tsql(sql), exp.Create)


def test_transactions_hold_only_dml() -> None:
    """No DDL or COPY between BEGIN and COMMIT: dedicated pools refuse DDL in transactions."""
    for scenario in SCENARIOS.values():
        inside = False
        for sql in scenario():
            if sql == "BEGIN TRANSACTION":
                inside = True
            elif sql == "COMMIT TRANSACTION":
                inside = False
            elif inside:
                assert sql.startswith(("DELETE FROM ", "INSERT INTO ")), sql[:80]


def test_merge_statements_transpile_to_duckdb() -> None:
    for sql in participants_family("1.1").publish():
        assert to_duckdb(sql)


def test_keys_compare_binary_in_production_and_staging() -> None:
    family = participants_family("1.1")
    create = create_table("zoom", spec("meeting_participants"))
    staging = family.stage(SAS)[1]
    for ddl in (create, staging):
        for key in ("[meeting_uuid]", "[user_id]", "[_dlt_id]"):
            line = next(line for line in ddl.splitlines() if line.strip().startswith(key))
            assert f"COLLATE {KEY_COLLATION} NOT NULL" in line, line
    assert "WITH (DISTRIBUTION = ROUND_ROBIN, HEAP)" in staging


def test_retry_after_crash_only_checks_and_drops() -> None:
    statements = SCENARIOS["retry_after_crash"]()
    assert statements[0].startswith("SELECT [rows] FROM [zoom].[zoomsync_loads]")
    assert all(s.startswith("IF OBJECT_ID(") and "DROP TABLE" in s for s in statements[1:])


def test_golden_files_hold_no_real_secrets() -> None:
    for path in GOLDEN.glob("*.sql"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if "SECRET" in line:
                assert "PLACEHOLDER" in line, f"{path.name}: {line}"
