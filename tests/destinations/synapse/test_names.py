"""Identifiers, literals, load ids and staging table names."""

from __future__ import annotations

import pytest

from zoomsync.destinations.synapse.names import (
    MAX_IDENTIFIER,
    literal,
    quote,
    staging_table,
    table_ref,
)
from zoomsync.errors import ConfigError


def test_quoting() -> None:
    assert quote("a]b") == "[a]]b]"
    assert table_ref("zoom", "users") == "[zoom].[users]"
    assert literal("it's") == "'it''s'"
    with pytest.raises(ConfigError):
        quote("x" * (MAX_IDENTIFIER + 1))


def test_staging_names_fit_and_stay_distinct() -> None:
    assert staging_table("users", "1718000000.123456") == "users__1718000000_123456"
    long_a, long_b = "a" * 120 + "_one", "a" * 120 + "_two"
    names = {staging_table(t, "1718000000.123456") for t in (long_a, long_b)}
    assert len(names) == 2 and all(len(n) <= MAX_IDENTIFIER for n in names)


@pytest.mark.parametrize("load_id", ["", "1; DROP TABLE x", "../x", "x" * 65])
def test_bad_load_ids_are_refused(load_id: str) -> None:
    with pytest.raises(ConfigError):
        staging_table("users", load_id)
