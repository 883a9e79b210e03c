"""Dynamic data masking of the catalog's personal columns."""

from __future__ import annotations

from zoomsync.destinations.synapse.masking import (
    DEFAULT,
    EMAIL,
    NAME,
    mask_function,
    mask_statements,
    personal_columns,
)


def test_functions_by_kind_name_and_type() -> None:
    assert mask_function("host_email", "email") == EMAIL
    assert mask_function("user_email", None) == EMAIL
    assert mask_function("first_name", "name") == NAME
    assert mask_function("user_name", None) == NAME
    assert mask_function("pc_name", None) == DEFAULT  # a device name, not a person's
    assert mask_function("ip_address", None) == DEFAULT
    assert mask_function("phone", None) == DEFAULT
    assert mask_function("email", "email", "json") == EMAIL
    assert mask_function("email", "email", "bigint") == DEFAULT  # email() needs a string


def test_personal_columns_join_catalog_and_spec() -> None:
    users = personal_columns("users")["users"]
    assert users["email"] == "email" and users["manager"] == "email"  # manager: from the spec
    assert users["phone_number"] is None  # from the stream's declaration, kind by name
    meetings = personal_columns("meetings")
    assert meetings["meetings__settings__meeting_invitees"] == {"email": "email"}
    assert "groups" not in personal_columns("groups")


def test_statements_only_for_columns_present() -> None:
    personal = {"t": {"email": "email", "absent": None}}
    assert mask_statements("zoom", {"t": {"email": "text"}}, personal) == [
        "ALTER TABLE [zoom].[t] ALTER COLUMN [email] ADD MASKED WITH (FUNCTION = 'email()')"]
    assert mask_statements("zoom", {}, personal) == []
