"""The engine protocol, its limits and its result type, as other parts rely on them."""

from __future__ import annotations

import datetime as dt
import pickle

import pytest

from pytest_ctirealm.engines import (
    EmbeddedEngine,
    Engine,
    QueryLimits,
    QueryResult,
    UnknownColumnError,
)
from pytest_ctirealm.engines.protocol import memory_bytes
from pytest_ctirealm.telemetry import ColumnSpec


def test_embedded_engine_satisfies_the_protocol(engine: EmbeddedEngine) -> None:
    assert isinstance(engine, Engine)


@pytest.mark.parametrize(
    ("text", "expected"), [("4GB", 4 * 2**30), ("512MiB", 512 * 2**20), ("1.5 gb", 3 * 2**29)]
)
def test_memory_sizes(text: str, expected: int) -> None:
    assert memory_bytes(text) == expected


@pytest.mark.parametrize("kwargs", [{"max_rows": -1}, {"timeout": 0}, {"memory_limit": "lots"}])
def test_bad_limits_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        QueryLimits(**kwargs)


def test_result_json_form_uses_kusto_conventions() -> None:
    result = QueryResult(
        columns=(
            ColumnSpec("t", "datetime"),
            ColumnSpec("s", "timespan"),
            ColumnSpec("d", "dynamic"),
        ),
        rows=[
            (
                dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
                dt.timedelta(days=1, seconds=1),
                {"a": 1},
            )
        ],
    )
    assert result.to_json_dict() == {
        "columns": [
            {"name": "t", "type": "datetime"},
            {"name": "s", "type": "timespan"},
            {"name": "d", "type": "dynamic"},
        ],
        "rows": [["2026-01-02T03:04:05Z", "1.00:00:01", {"a": 1}]],
        "row_count": 1,
        "truncated": False,
    }
    assert result.records() == [dict(zip(["t", "s", "d"], result.rows[0], strict=True))]


def test_errors_survive_the_trip_between_processes() -> None:
    error = UnknownColumnError("FileNme", ["FileName"])
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is UnknownColumnError
    assert copy.to_dict() == error.to_dict()
    assert copy.to_dict() == {
        "error": "unknown_column",
        "message": "Unknown column 'FileNme'.",
        "hint": "Did you mean: FileName?",
        "name": "FileNme",
        "suggestions": ["FileName"],
    }
