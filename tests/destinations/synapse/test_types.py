"""dlt types -> Synapse types, key columns, and what is refused."""

from __future__ import annotations

from typing import Any

import pytest

from zoomsync.destinations.synapse.types import KEY_COLLATION, sql_column
from zoomsync.errors import ConfigError


def col(data_type: str, **hints: Any) -> Any:
    return sql_column({"name": hints.pop("name", "c"), "data_type": data_type, **hints})


@pytest.mark.parametrize(("data_type", "hints", "expected"), [
    ("text", {}, "nvarchar(max)"),
    ("text", {"precision": 4000}, "nvarchar(4000)"),
    ("text", {"precision": 4001}, "nvarchar(max)"),  # longer than nvarchar(n) allows
    ("text", {"precision": 20}, "nvarchar(20)"),
    ("json", {}, "nvarchar(max)"),
    ("bigint", {}, "bigint"),
    ("bigint", {"precision": 32}, "int"),
    ("bigint", {"precision": 16}, "smallint"),
    ("bigint", {"precision": 8}, "smallint"),  # never tinyint: Parquet loads 0-127 only
    ("double", {}, "float"),
    ("bool", {}, "bit"),
    ("decimal", {}, "decimal(38,9)"),
    ("decimal", {"precision": 10, "scale": 2}, "decimal(10,2)"),
    ("wei", {}, "decimal(38,0)"),
    ("date", {}, "date"),
    ("timestamp", {}, "datetime2(3)"),
    ("timestamp", {"precision": 6}, "datetime2(6)"),
    ("timestamp", {"precision": 9}, "datetime2(7)"),
    ("binary", {}, "varbinary(max)"),
    ("binary", {"precision": 16}, "varbinary(16)"),
])
def test_type_mapping(data_type: str, hints: dict[str, Any], expected: str) -> None:
    assert col(data_type, **hints).sql_type == expected


def test_unbounded_text_is_max_so_long_strings_always_fit() -> None:
    column = col("text")
    assert column.is_max and column.ddl() == "[c] nvarchar(max) NULL"


@pytest.mark.parametrize("hint", ["primary_key", "row_key", "root_key", "parent_key"])
def test_key_columns_compare_binary_and_are_not_null(hint: str) -> None:
    column = col("text", **{hint: True}, nullable=True)
    assert column.ddl() == f"[c] nvarchar(128) COLLATE {KEY_COLLATION} NOT NULL"
    assert column.nbytes == 256


def test_dlt_row_ids_are_keys_even_without_hints() -> None:
    for name in ("_dlt_id", "_dlt_root_id", "_dlt_parent_id"):
        assert col("text", name=name).collation == KEY_COLLATION


def test_non_text_keys_keep_their_type() -> None:
    assert col("timestamp", primary_key=True).ddl() == "[c] datetime2(3) NOT NULL"
    assert col("bigint", primary_key=True).ddl() == "[c] bigint NOT NULL"


def test_load_id_is_bounded() -> None:
    assert col("text", name="_dlt_load_id", nullable=False).ddl() == \
        "[_dlt_load_id] nvarchar(64) NOT NULL"


def test_configured_length_overrides_dlt_precision() -> None:
    assert sql_column({"name": "n", "data_type": "text"}, length=256).sql_type == "nvarchar(256)"


def test_new_columns_are_added_nullable() -> None:
    assert col("bigint", nullable=False).ddl(force_nullable=True) == "[c] bigint NULL"


@pytest.mark.parametrize(("data_type", "hints", "message"), [
    ("time", {}, "cannot load TIME from Parquet"),
    ("interval", {}, "no Synapse mapping"),
    ("decimal", {"precision": 40}, "38 digits"),
    ("json", {"primary_key": True}, "cannot be compared"),
    ("text", {"primary_key": True, "precision": 5000}, "at most 4000"),
])
def test_refused_types(data_type: str, hints: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        col(data_type, **hints)
