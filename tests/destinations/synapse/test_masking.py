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


def test_the_source_marks_personal_columns_from_declaration_and_spec() -> None:
    from zoomsync import hints
    from zoomsync.catalog.columns import columns, nested_hints, personal

    users = personal("users")["users"]
    assert users["email"] == "email" and users["manager"] == "email"  # manager: from the spec
    assert users["phone_number"] is None  # from the stream's declaration, kind by name
    assert personal("meetings")["meetings__settings__meeting_invitees"] == {"email": "email"}
    assert "groups" not in personal("groups")
    # ... as dlt column hints, which is all the destination sees.
    assert columns("users")["email"][hints.PERSONAL] == "email"  # type: ignore[typeddict-item]
    assert columns("users")["phone_number"][hints.PERSONAL] == hints.OTHER  # type: ignore[typeddict-item]
    assert hints.PERSONAL not in columns("users")["id"]
    invitees = nested_hints("meetings")[("settings", "meeting_invitees")]["columns"]
    assert invitees["email"][hints.PERSONAL] == "email"  # type: ignore[index]


def test_the_destination_reads_the_marks_from_the_schema_alone() -> None:
    from zoomsync import hints

    tables = {"users": {"columns": {"id": {"name": "id"},
                                    "email": {"name": "email", hints.PERSONAL: "email"},
                                    "phone": {"name": "phone", hints.PERSONAL: hints.OTHER}}},
              "groups": {"columns": {"name": {"name": "name"}}}}
    assert personal_columns(tables) == {"users": {"email": "email", "phone": None}}


def test_statements_only_for_columns_present() -> None:
    personal = {"t": {"email": "email", "absent": None}}
    assert mask_statements("zoom", {"t": {"email": "text"}}, personal) == [
        "ALTER TABLE [zoom].[t] ALTER COLUMN [email] ADD MASKED WITH (FUNCTION = 'email()')"]
    assert mask_statements("zoom", {}, personal) == []
