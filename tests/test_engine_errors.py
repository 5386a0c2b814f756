"""Errors an agent or analyst can act on: each its own type, each naming the problem."""

from __future__ import annotations

import pytest

from pytest_ctirealm.engines import (
    EmbeddedEngine,
    EngineError,
    QueryExecutionError,
    QueryNotAllowedError,
    QuerySyntaxError,
    UnknownColumnError,
    UnknownTableError,
    UnsupportedQueryError,
)


def test_syntax_error_names_line_and_column(engine: EmbeddedEngine) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        engine.query("DeviceProcessEvents\n| wher FileName == 'x'")
    assert caught.value.line == 2
    assert "line 2" in str(caught.value)
    assert caught.value.to_dict()["error"] == "syntax_error"


def test_unknown_table_suggests_near_matches(engine: EmbeddedEngine) -> None:
    with pytest.raises(UnknownTableError) as caught:
        engine.query("DeviceProcessEvent | take 1")
    assert caught.value.suggestions == ["DeviceProcessEvents"]
    assert "Did you mean: DeviceProcessEvents?" in str(caught.value)


def test_table_names_are_case_sensitive_as_in_kusto(engine: EmbeddedEngine) -> None:
    with pytest.raises(UnknownTableError) as caught:
        engine.query("deviceprocessevents | take 1")
    assert caught.value.suggestions == ["DeviceProcessEvents"]


def test_table_names_inside_strings_are_not_mistaken(engine: EmbeddedEngine) -> None:
    result = engine.query("print s = 'deviceprocessevents'")
    assert result.rows == [("deviceprocessevents",)]


@pytest.mark.parametrize(
    ("kql", "name", "suggestion"),
    [
        (
            "DeviceProcessEvents | project ProcesCommandLine",
            "ProcesCommandLine",
            "ProcessCommandLine",
        ),
        ("DeviceProcessEvents | where FileNme == 'x'", "FileNme", "FileName"),
        ("DeviceProcessEvents | summarize count() by DeviceNam", "DeviceNam", "DeviceName"),
    ],
)
def test_unknown_column_suggests_near_matches(
    engine: EmbeddedEngine, kql: str, name: str, suggestion: str
) -> None:
    with pytest.raises(UnknownColumnError) as caught:
        engine.query(kql)
    assert caught.value.name == name
    assert suggestion in caught.value.suggestions


def test_unsupported_construct_is_named(engine: EmbeddedEngine) -> None:
    with pytest.raises(UnsupportedQueryError) as caught:
        engine.query("DeviceProcessEvents | evaluate bag_unpack(AdditionalFields)")
    assert "bag_unpack" in str(caught.value) or "evaluate" in str(caught.value)


def test_single_equals_in_where_gets_a_hint(engine: EmbeddedEngine) -> None:
    with pytest.raises(QueryExecutionError) as caught:
        engine.query("DeviceProcessEvents | where FileName = 'curl'")
    assert "==" in (caught.value.hint or "")


@pytest.mark.parametrize(
    "kql",
    [
        ".drop table DeviceProcessEvents",
        ".set-or-append DeviceProcessEvents <| DeviceProcessEvents",
        ".set Copy <| DeviceProcessEvents",
        ".create table X (a:string)",
        ".ingest inline into table DeviceProcessEvents <| a,b",
    ],
)
def test_control_and_ingestion_commands_are_refused(engine: EmbeddedEngine, kql: str) -> None:
    before = engine.row_count("DeviceProcessEvents")
    with pytest.raises((QueryNotAllowedError, QuerySyntaxError, UnsupportedQueryError)):
        engine.query(kql)
    assert engine.row_count("DeviceProcessEvents") == before
    assert engine.tables() == ["DeviceProcessEvents"]


@pytest.mark.parametrize(
    "kql",
    [
        "DeviceProcessEvent | take 1",
        "DeviceProcessEvents | project Nope",
        "DeviceProcessEvents | where FileName = 'x'",
        "DeviceProcessEvents | where",
    ],
)
def test_messages_never_show_generated_sql(engine: EmbeddedEngine, kql: str) -> None:
    with pytest.raises(EngineError) as caught:
        engine.query(kql)
    text = str(caught.value)
    assert "_s0" not in text and "LINE 1" not in text and "SELECT" not in text


def test_empty_query_is_a_syntax_error(engine: EmbeddedEngine) -> None:
    with pytest.raises(QuerySyntaxError):
        engine.query("   ")


def test_schema_of_unknown_table(engine: EmbeddedEngine) -> None:
    with pytest.raises(UnknownTableError) as caught:
        engine.schema("DeviceFileEvent")
    assert "DeviceProcessEvents" in str(caught.value) or caught.value.suggestions == []


def test_union_of_columns_differing_only_in_case_asks_for_a_rename() -> None:
    # Known difference: Kusto keeps AADTenantId and AadTenantId apart; DuckDB cannot.
    tables = {"SigninLogs": [{"Id": "1"}], "MicrosoftGraphActivityLogs": [{"RequestId": "2"}]}
    with EmbeddedEngine.with_tables(tables) as engine:
        with pytest.raises(QueryExecutionError, match="project-rename"):
            engine.query("union SigninLogs, MicrosoftGraphActivityLogs | take 5")
        projected = engine.query(
            "union (SigninLogs | project Id), (MicrosoftGraphActivityLogs | project Id = RequestId)"
        )
        assert sorted(r[0] for r in projected.rows) == ["1", "2"]
