"""Loading rows: Kusto types stored faithfully, bad rows refused with the place named."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from pytest_ctirealm.engines import DataLoadError, EmbeddedEngine
from pytest_ctirealm.telemetry import TableSchema

ALL_TYPES = TableSchema.from_mapping(
    "Typed",
    {
        "s": "string",
        "i": "int",
        "l": "long",
        "r": "real",
        "b": "bool",
        "t": "datetime",
        "span": "timespan",
        "d": "dynamic",
        "g": "guid",
    },
)


def test_every_kusto_type_round_trips() -> None:
    guid = uuid.uuid4()
    row = {
        "s": "x",
        "i": 7,
        "l": 2**40,
        "r": 1.5,
        "b": True,
        "t": "2026-03-01T10:20:30.123456Z",
        "span": "1.02:03:04.5",
        "d": {"k": [1, {"n": None}]},
        "g": guid,
    }
    with EmbeddedEngine() as engine:
        assert engine.load_table(ALL_TYPES, [row]) == 1
        result = engine.query("Typed")
    assert [(c.name, c.type) for c in result.columns] == [
        ("s", "string"),
        ("i", "int"),
        ("l", "long"),
        ("r", "real"),
        ("b", "bool"),
        ("t", "datetime"),
        ("span", "timespan"),
        ("d", "dynamic"),
        ("g", "string"),
    ]
    assert result.rows[0] == (
        "x",
        7,
        2**40,
        1.5,
        True,
        dt.datetime(2026, 3, 1, 10, 20, 30, 123456, tzinfo=dt.UTC),
        dt.timedelta(days=1, hours=2, minutes=3, seconds=4, milliseconds=500),
        {"k": [1, {"n": None}]},
        str(guid),
    )


def test_aware_datetimes_are_stored_in_utc() -> None:
    plus_two = dt.timezone(dt.timedelta(hours=2))
    with EmbeddedEngine() as engine:
        engine.load_table(ALL_TYPES, [{"t": dt.datetime(2026, 1, 1, 12, tzinfo=plus_two)}])
        assert engine.query("Typed | project t").rows == [
            (dt.datetime(2026, 1, 1, 10, tzinfo=dt.UTC),)
        ]


def test_dynamic_text_holding_json_is_parsed_like_kusto_ingestion() -> None:
    with EmbeddedEngine() as engine:
        engine.load_table(
            ALL_TYPES, [{"d": '{"verb": "create"}', "s": "a"}, {"d": "plain", "s": "b"}]
        )
        result = engine.query("Typed | project s, v = tostring(d.verb), d")
    # tostring() of a missing property is "" in Kusto, not null.
    assert result.rows == [("a", "create", {"verb": "create"}), ("b", "", "plain")]


def test_missing_columns_are_null() -> None:
    with EmbeddedEngine() as engine:
        engine.load_table("DeviceProcessEvents", [{"FileName": "curl"}])
        assert engine.query("DeviceProcessEvents | where isnull(ProcessId) | count").rows == [(1,)]
        assert len(engine.schema("DeviceProcessEvents").columns) == 73


@pytest.mark.parametrize(
    ("row", "fragment"),
    [
        ({"Filename": "curl"}, "row 0: unknown column 'Filename'. Did you mean: FileName?"),
        ({"ProcessId": "many"}, "column 'ProcessId': row 0: 'many' is not a valid long"),
        (
            {"Timestamp": "yesterday"},
            "column 'Timestamp': row 0: 'yesterday' is not a valid datetime",
        ),
    ],
)
def test_bad_rows_name_table_row_and_column(row: dict[str, object], fragment: str) -> None:
    with EmbeddedEngine() as engine, pytest.raises(DataLoadError) as caught:
        engine.load_table("DeviceProcessEvents", [{"FileName": "ok"}, row][1:])
    assert "Table 'DeviceProcessEvents'" in str(caught.value)
    assert fragment in str(caught.value)


def test_unknown_table_and_double_load_are_refused() -> None:
    with EmbeddedEngine() as engine:
        with pytest.raises(DataLoadError, match="not one of the benchmark tables"):
            engine.load_table("DeviceProcessEvent", [])
        engine.load_table("AKSAudit", [])
        with pytest.raises(DataLoadError, match="already loaded"):
            engine.load_table("AKSAudit", [])


def test_loading_after_querying_makes_the_new_table_visible() -> None:
    with EmbeddedEngine() as engine:
        engine.load_table("AKSAudit", [{"Verb": "get"}])
        assert engine.query("AKSAudit | count").rows == [(1,)]
        engine.load_table("AKSAuditAdmin", [{"Verb": "create"}, {"Verb": "delete"}])
        assert engine.query("AKSAuditAdmin | count").rows == [(2,)]
        assert engine.tables() == ["AKSAudit", "AKSAuditAdmin"]


def test_closed_engine_refuses_queries_and_cleans_up(tmp_path: object) -> None:
    engine = EmbeddedEngine.with_tables({"AKSAudit": [{"Verb": "get"}]})
    directory = engine._directory
    engine.close()
    assert not directory.exists()
    with pytest.raises(Exception, match="closed"):
        engine.query("AKSAudit")
