"""The catalog against Zoom's spec: endpoints, column types, and dlt honouring those types."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.spec_validator import spec_dir
from zoomsync.catalog import CATALOG, Stream
from zoomsync.catalog.columns import columns, nested_hints, spec_columns
from zoomsync.emulator.endpoints import endpoint

REPO = Path(__file__).resolve().parents[2]
needs_specs = pytest.mark.skipif(
    not (spec_dir() / "meetings.endpoints.json").exists(),
    reason=f"Zoom OpenAPI specs not found in {spec_dir()} (set ZOOMSYNC_OPENAPI_DIR)")
STREAMS = sorted(CATALOG)


def _script(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


# --- declarations against the spec-derived endpoint table -----------------------------------


@pytest.mark.parametrize("name", STREAMS)
def test_declaration_agrees_with_the_endpoint_table(name: str) -> None:
    stream = CATALOG[name]
    ep = endpoint(_script("gen_catalog_columns").spec_template(stream.path))
    assert stream.label == ep.label
    assert stream.list_key == ep.list_key
    if stream.page_size is None:
        assert not ep.next_page_token, "a paginated endpoint needs a page_size"
    else:
        assert ep.next_page_token or ep.page_number
        assert ep.page_size_max is None or stream.page_size <= ep.page_size_max
    assert not stream.page_number or ep.page_number
    # The catalog names the read-only admin scope(s) among those the spec accepts.
    assert set(stream.scopes) <= set(ep.scopes) and bool(stream.scopes) == bool(ep.scopes)
    assert (set(stream.granular_scopes) <= set(ep.granular_scopes)
            and bool(stream.granular_scopes) == bool(ep.granular_scopes))
    for key, value in [*stream.params.items(), *(kv for v in stream.variants for kv in v.items())]:
        assert key in ep.params, f"{name}: Zoom takes no ?{key}="
        allowed = ep.params[key].enum
        assert allowed is None or value in allowed


@needs_specs
@pytest.mark.parametrize("name", STREAMS)
def test_path_is_a_get_in_the_spec(name: str) -> None:
    template = _script("gen_catalog_columns").spec_template(CATALOG[name].path)
    document = json.loads((spec_dir() / endpoint(template).spec).read_text("utf-8"))
    assert "get" in document["paths"][template]


def test_me_is_matched_to_the_template() -> None:
    gen = _script("gen_catalog_columns")
    assert gen.spec_template("/accounts/me/settings") == "/accounts/{accountId}/settings"
    with pytest.raises(gen.GenerationError, match="IN_SCOPE"):
        gen.spec_template("/no/such/path")


# --- the walk over a schema ---------------------------------------------------------------


def _obj(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties}


def test_walk_flattens_objects_and_makes_arrays_child_tables() -> None:
    gen = _script("gen_catalog_columns")
    schema = {"allOf": [  # Zoom splits records over allOf branches; they are merged
        _obj(id={"type": "integer", "format": "int64"}),
        {"properties": {
            "at": {"type": "string", "format": "date-time"},
            "day": {"type": "string", "format": "date"},
            "a": _obj(b=_obj(c={"type": "boolean"}, d=_obj(e={"type": "number"}))),
            "free": {"type": "object"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "rows": {"type": "array", "items": _obj(
                n={"type": "number"}, sub={"type": "array", "items": {"type": "integer"}})},
        }},
    ]}
    found = gen.tables("t", gen.resolve(schema, "test"))
    assert {name: table.columns for name, table in found.items()} == {
        "t": {"id": "bigint", "at": "timestamp", "day": "date", "a__b__c": "bool",
              "a__b__d": "json", "free": "json"},  # 3 name parts at most, then json
        "t__tags": {"value": "text"},
        "t__rows": {"n": "double"},
        "t__rows__sub": {"value": "bigint"},
    }


def test_walk_takes_the_fullest_one_of_branch_and_marks_people() -> None:
    gen = _script("gen_catalog_columns")
    schema = {"oneOf": [_obj(option=_obj(x={"type": "boolean"})),
                        _obj(name={"type": "string"}, mail={"type": "string", "format": "email"},
                             first_name={"type": "string"})]}
    root = gen.tables("t", gen.resolve(schema, "test"))["t"]
    assert root.columns == {"name": "text", "mail": "text", "first_name": "text"}
    assert root.personal == {"name": "name", "mail": "email", "first_name": "name"}
    with pytest.raises(gen.GenerationError, match="disagree on type"):
        gen.resolve({"allOf": [_obj(x={"type": "string"}), _obj(x={"type": "integer"})]}, "t")


# --- columns.json -------------------------------------------------------------------------


@needs_specs
def test_committed_columns_are_what_the_spec_generates() -> None:
    gen = _script("gen_catalog_columns")
    committed = (REPO / "zoomsync" / "catalog" / "columns.json").read_text("utf-8")
    assert gen.render(gen.build(spec_dir())) == committed, (
        "zoomsync/catalog/columns.json differs from the spec; "
        "run .venv/bin/python scripts/gen_catalog_columns.py")


def test_every_stream_has_columns_with_its_keys() -> None:
    assert sorted(json.loads((REPO / "zoomsync/catalog/columns.json").read_text())) == STREAMS
    for stream in CATALOG.values():
        cols = spec_columns(stream.name).columns
        assert set(stream.primary_key) <= set(cols), stream.name
        assert not set(stream.drop) & set(cols), stream.name


@pytest.mark.parametrize(("stream", "column", "kind"), [
    ("users", "user_created_at", "timestamp"),
    ("users", "pmi", "bigint"),
    ("users", "phone_number", "text"),  # from the profile the engine reads for every user
    ("meetings", "id", "bigint"),
    ("meetings", "settings__host_video", "bool"),
    ("past_meetings", "start_time", "timestamp"),
    ("meeting_participants", "duration", "bigint"),
    ("meeting_participants", "meeting_uuid", "text"),  # parent key: an instance UUID
    ("meeting_registrants", "meeting_id", "bigint"),  # parent key: a numeric meeting id
    ("meeting_poll_results", "row_index", "bigint"),
    ("daily_usage", "date", "date"),
    ("dashboard_meetings", "avg_jointime_cost", "double"),
    # An object 3 names deep is kept whole rather than flattened further.
    ("account_settings", "chat__share_files__restrictions", "json"),
])
def test_known_types(stream: str, column: str, kind: str) -> None:
    assert spec_columns(stream).columns[column] == kind


def test_child_tables() -> None:
    meetings = spec_columns("meetings")
    assert meetings.nested["meetings__tracking_fields"] == {
        "field": "text", "value": "text", "visible": "bool"}
    assert meetings.nested["meetings__occurrences"]["start_time"] == "timestamp"
    assert spec_columns("users").nested["users__group_ids"] == {"value": "text"}
    assert spec_columns("meeting_poll_results").nested[
        "meeting_poll_results__question_details"]["date_time"] == "timestamp"
    assert "recordings__recording_files" in spec_columns("recordings").nested


def test_schemas_name_the_spec_paths() -> None:
    assert spec_columns("users").schemas == ("/users", "/users/{userId}")
    assert spec_columns("account_settings").schemas == ("/accounts/{accountId}/settings",)


def test_personal_columns_are_marked() -> None:
    assert spec_columns("users").personal["users"] == {
        "display_name": "name", "email": "email", "first_name": "name", "last_name": "name",
        "manager": "email"}
    assert spec_columns("meetings").personal["meetings"] == {"host_email": "email"}
    assert "groups" not in spec_columns("groups").personal  # a group's name is no person's


def test_dropped_secrets_have_no_column() -> None:
    assert "start_url" not in spec_columns("meetings").columns
    assert "password" not in spec_columns("meetings").columns
    assert "join_url" not in spec_columns("webinar_panelists").columns


# --- the dlt hints --------------------------------------------------------------------------


def test_column_hints_in_dlt_form() -> None:
    hints = columns("meeting_participants")
    assert hints["duration"] == {"name": "duration", "data_type": "bigint", "nullable": True}
    assert {n for n, c in hints.items() if not c["nullable"]} == {
        "meeting_uuid", "user_id", "join_time"}
    assert nested_hints("meeting_participants") == {}


def test_nested_hints_name_the_real_parent() -> None:
    hints: dict[Any, Any] = nested_hints("meetings")
    dial_in = hints[("settings", "global_dial_in_numbers")]
    assert dial_in["parent_table_name"] == "meetings"  # `settings` is flattened, not a table
    assert dial_in["columns"]["country"]["data_type"] == "text"
    polls: dict[Any, Any] = nested_hints("meeting_polls")
    deepest = polls[("questions", "prompts", "prompt_right_answers")]
    assert deepest["parent_table_name"] == "meeting_polls__questions__prompts"


def _all_none(stream: Stream, record: dict[str, Any]) -> dict[str, Any]:
    """Every top-level field of the stream present and None, but for those in `record`."""
    return {**{c: None for c in spec_columns(stream.name).columns if "__" not in c}, **record}


def _types(db: Any, table: str) -> dict[str, str]:
    rows = db.execute("SELECT column_name, data_type FROM information_schema.columns "
                      "WHERE table_schema = 'zoom' AND table_name = ?", [table]).fetchall()
    return dict(rows)


def test_an_all_null_first_page_still_gets_the_declared_types(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dlt
    import duckdb

    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")

    meetings = _all_none(CATALOG["meetings"], {
        "id": 81234567890,
        "settings": {"host_video": None, "breakout_room": {"enable": None},
                     "global_dial_in_numbers": [{"city": None, "country": None}]},
        "occurrences": [{"occurrence_id": None, "start_time": None, "duration": None}],
        "tracking_fields": [],
    })
    participants = _all_none(CATALOG["meeting_participants"], {
        "meeting_uuid": "aBc/Def==", "user_id": "16778240", "join_time": "2026-10-01T10:00:00Z"})
    settings = {"account_id": "me", "chat": {"share_files": {"restrictions": {
        "only_allow_specific_file_types": True, "file_type_restrictions": [".exe"]}}}}

    def resource(name: str, record: dict[str, Any]) -> Any:
        stream = CATALOG[name]
        return dlt.resource([record], name=name, write_disposition="merge",
                            primary_key=list(stream.primary_key), columns=columns(name),
                            nested_hints=nested_hints(name) or None)

    @dlt.source(name="zoom", root_key=True)
    def zoom() -> Any:
        return [resource("meetings", meetings), resource("meeting_participants", participants),
                resource("account_settings", settings)]

    path = tmp_path / "warehouse.duckdb"
    pipeline = dlt.pipeline("catalog_types", destination=dlt.destinations.duckdb(str(path)),
                            dataset_name="zoom", pipelines_dir=str(tmp_path / "pipelines"))
    pipeline.run(zoom(), loader_file_format="parquet")

    with duckdb.connect(str(path), read_only=True) as db:
        m = _types(db, "meetings")
        assert len(m) == len(spec_columns("meetings").columns) + 2  # + _dlt_id, _dlt_load_id
        assert (m["id"], m["start_time"], m["settings__host_video"], m["duration"]) == (
            "BIGINT", "TIMESTAMP WITH TIME ZONE", "BOOLEAN", "BIGINT")
        assert m["settings__breakout_room__enable"] == "BOOLEAN"
        dial_in = _types(db, "meetings__settings__global_dial_in_numbers")
        assert (dial_in["city"], dial_in["type"]) == ("VARCHAR", "VARCHAR")
        assert {"_dlt_parent_id", "_dlt_root_id", "_dlt_list_idx", "_dlt_id"} <= set(dial_in)
        occurrences = _types(db, "meetings__occurrences")
        assert (occurrences["start_time"], occurrences["duration"]) == (
            "TIMESTAMP WITH TIME ZONE", "BIGINT")
        p = _types(db, "meeting_participants")
        assert (p["duration"], p["leave_time"], p["failover"], p["meeting_uuid"]) == (
            "BIGINT", "TIMESTAMP WITH TIME ZONE", "BOOLEAN", "VARCHAR")
        s = _types(db, "account_settings")
        assert s["chat__share_files__restrictions"] == "JSON"  # kept whole, not flattened
        assert "chat__share_files__restrictions__only_allow_specific_file_types" not in s
        # A child table that received no rows is not created, whatever its hints say.
        tables = {t for (t,) in db.execute("SELECT table_name FROM information_schema.tables "
                                           "WHERE table_schema = 'zoom'").fetchall()}
        assert "meetings__tracking_fields" not in tables
        assert not any("__v_" in c for c in (*m, *p))  # no variant columns
