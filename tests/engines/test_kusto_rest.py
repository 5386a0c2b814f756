"""The Kusto REST engine against duckdb-kql's Kusto REST server on 127.0.0.1.

The real azure-kusto-data client and protocol are exercised: loading through management
commands, queries through the v2 query endpoint, types, errors, time-outs, and a server
that dies mid-query. The same queries must give the same rows on the embedded engine.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("azure.kusto.data", reason="azure-kusto-data is not installed (kusto extra)")

from pytest_ctirealm.engines import (
    EmbeddedEngine,
    EngineError,
    QueryNotAllowedError,
    QuerySyntaxError,
    QueryTimeoutError,
    UnknownColumnError,
    UnknownTableError,
)
from pytest_ctirealm.engines.kusto_rest import (
    KustoRestEngine,
    kql_literal,
    load_telemetry,
)
from pytest_ctirealm.telemetry.schema import TableSchema
from pytest_ctirealm.telemetry.simulator import Telemetry

#: The duckdb-kql server parses each datatable literal with a Python ANTLR parser
#: (~20 wide rows/s), so the tests load a small slice of each table.
ROWS_PER_TABLE = 40
TABLES = ("DeviceProcessEvents", "SigninLogs", "AKSAudit")
#: A query that keeps the local server busy for a few seconds.
SLOW = "range x from 1 to 12000000 step 1 | where tostring(x) matches regex '^9+8$' | count"


class _Server:
    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "duckdb_kql", "serve", "--allow-write", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(self.url + "/", timeout=1) as response:
                    self.database = json.load(response)["database"]
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.skip("the duckdb-kql REST server did not start")
                time.sleep(0.1)

    def engine(self, **kwargs: Any) -> KustoRestEngine:
        return KustoRestEngine(self.url, self.database, no_auth=True, **kwargs)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


@pytest.fixture(scope="module")
def server() -> Iterator[_Server]:
    srv = _Server()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def small_telemetry(telemetry: Telemetry) -> dict[str, list[dict[str, Any]]]:
    return {name: telemetry.tables[name][:ROWS_PER_TABLE] for name in TABLES}


@pytest.fixture(scope="module")
def rest(
    server: _Server, small_telemetry: dict[str, list[dict[str, Any]]]
) -> Iterator[KustoRestEngine]:
    engine = server.engine(client_grace=2.0)
    holder = type("T", (), {"tables": small_telemetry})()
    loaded = load_telemetry(engine, holder, "test-v1")
    assert loaded == dict.fromkeys(TABLES, ROWS_PER_TABLE)
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def embedded(small_telemetry: dict[str, list[dict[str, Any]]]) -> Iterator[EmbeddedEngine]:
    with EmbeddedEngine.with_tables(small_telemetry) as engine:
        yield engine


TYPES = TableSchema.from_mapping(
    "Types",
    {
        "s": "string",
        "i": "int",
        "l": "long",
        "r": "real",
        "b": "bool",
        "d": "datetime",
        "t": "timespan",
        "y": "dynamic",
        "g": "guid",
    },
)
TYPE_ROWS: list[dict[str, Any]] = [
    {
        "s": 'quote " backslash \\ newline \n tab \t ctrl \x01 unicode é ]) |',
        "i": -7,
        "l": 2**53 + 1,
        "r": 1.5e-7,
        "b": True,
        "d": dt.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=dt.UTC),
        "t": dt.timedelta(days=-1, seconds=5, microseconds=250),
        "y": {"a": [1, "x)y]", None, 2.5], "b": {"c": "'q' \"dq\""}},
        "g": "74be27de-1e4e-49d9-b579-fe0b331d3642",
    },
    {"s": "", "i": None, "l": None, "r": None, "b": False, "d": None, "t": None, "y": None},
    {"s": "x", "r": float("inf"), "y": [1, 2], "t": dt.timedelta(days=3, hours=1)},
]


def test_types_round_trip_exactly(server: _Server) -> None:
    engine = server.engine()
    try:
        assert engine.load_table(TYPES, TYPE_ROWS) == 3
        assert engine.schema("Types").columns == TYPES.columns
        result = engine.query("Types | order by s desc")
        assert result.columns == TYPES.columns
        rows = [dict(zip(result.column_names, row, strict=True)) for row in result.rows]
        first = next(row for row in rows if row["i"] == -7)
        assert first == {k: TYPE_ROWS[0][k] for k in TYPES.column_names}
        assert first["d"].tzinfo == dt.UTC
        inf_row = next(row for row in rows if row["s"] == "x")
        assert math.isinf(inf_row["r"]) and inf_row["y"] == [1, 2]
        assert inf_row["t"] == dt.timedelta(days=3, hours=1)
        null_row = next(row for row in rows if row["s"] == "")
        assert null_row["d"] is None and null_row["g"] is None and null_row["b"] is False
    finally:
        engine.close()


def test_literals() -> None:
    assert kql_literal("string", None) == '""'
    assert kql_literal("timespan", dt.timedelta(seconds=-90)) == "timespan(-00:01:30)"
    assert kql_literal("real", float("nan")) == "real(nan)"
    assert kql_literal("datetime", dt.datetime(2024, 1, 1)) == (
        "datetime(2024-01-01T00:00:00.0000000Z)"
    )
    assert kql_literal("guid", None) == "guid(null)"


QUERIES = [
    "DeviceProcessEvents | summarize n = count() by AccountName | order by AccountName asc",
    "DeviceProcessEvents | where ProcessCommandLine has 'sh' or FileName endswith 'sh'"
    " | project Timestamp, DeviceName, FileName, ProcessCommandLine, ProcessId"
    " | order by Timestamp asc, ProcessId asc",
    "DeviceProcessEvents | extend User = tostring(AdditionalFields.ProcessPosixEffectiveUser.Name)"
    " | summarize c = count(), earliest = min(Timestamp) by User, DeviceName | order by User, DeviceName",
    "SigninLogs | extend Os = tostring(DeviceDetail.operatingSystem)"
    " | summarize n = count() by Os, ResultType | order by Os asc, ResultType asc",
    "SigninLogs | project TimeGenerated, UserPrincipalName, IPAddress, LocationDetails"
    " | order by TimeGenerated asc, UserPrincipalName asc | take 10",
    "AKSAudit | extend Verb = tostring(RequestURI), User = tostring(User.username)"
    " | summarize n = count(), latest = max(TimeGenerated) by User | order by User asc",
    "AKSAudit | project TimeGenerated, ObjectRef, SourceIps | order by TimeGenerated asc | take 5",
]


def _normalise(result: Any) -> list[tuple[Any, ...]]:
    # Kusto strings are never null: the embedded engine's null string is Kusto's "".
    kinds = [c.type for c in result.columns]
    return [
        tuple("" if v is None and k == "string" else v for k, v in zip(kinds, row, strict=True))
        for row in result.rows
    ]


@pytest.mark.parametrize("kql", QUERIES)
def test_same_answers_as_embedded(
    rest: KustoRestEngine, embedded: EmbeddedEngine, kql: str
) -> None:
    ours = rest.query(kql)
    theirs = embedded.query(kql)
    assert ours.columns == theirs.columns
    assert _normalise(ours) == _normalise(theirs)
    assert ours.rows, "the query should return rows"


def test_catalogue(rest: KustoRestEngine) -> None:
    assert set(TABLES) <= set(rest.tables())
    assert "CtirealmDatasetVersion" not in rest.tables()
    schema = rest.schema("DeviceProcessEvents")
    assert schema.column("AdditionalFields").type == "dynamic"
    assert schema.column("Timestamp").type == "datetime"
    assert schema.time_column is not None
    with pytest.raises(UnknownTableError) as info:
        rest.schema("DeviceProcesEvents")
    assert info.value.suggestions == ["DeviceProcessEvents"]


def test_row_cap(rest: KustoRestEngine) -> None:
    capped = rest.query("DeviceProcessEvents", max_rows=5)
    assert len(capped.rows) == 5 and capped.truncated
    exact = rest.query(f"DeviceProcessEvents | take {ROWS_PER_TABLE}", max_rows=ROWS_PER_TABLE)
    assert len(exact.rows) == ROWS_PER_TABLE and not exact.truncated
    assert rest.query("DeviceProcessEvents | take 3", max_rows=0).rows == []


@pytest.mark.parametrize(
    ("kql", "error", "check"),
    [
        ("DeviceProcessEvents | where", QuerySyntaxError, lambda e: e.line == 1),
        (
            "DeviceProcesEvents | take 1",
            UnknownTableError,
            lambda e: e.suggestions == ["DeviceProcessEvents"],
        ),
        (
            "DeviceProcessEvents | where AcountName == 'root'",
            UnknownColumnError,
            lambda e: "AccountName" in e.suggestions,
        ),
        (".set-or-append Evil <| print 1", QueryNotAllowedError, lambda e: True),
        (".drop table DeviceProcessEvents", QueryNotAllowedError, lambda e: True),
    ],
)
def test_errors_map_to_engine_types(
    rest: KustoRestEngine, kql: str, error: type[EngineError], check: Any
) -> None:
    with pytest.raises(error) as info:
        rest.query(kql)
    assert check(info.value)
    assert "Traceback" not in str(info.value) and "\n" not in info.value.message
    assert "DeviceProcessEvents" in rest.tables()  # nothing was written or dropped


def test_execution_error_is_readable(rest: KustoRestEngine) -> None:
    with pytest.raises(EngineError) as info:
        rest.query("print x = toint('a') + datetime(2024-01-01)")
    assert "Traceback" not in str(info.value)


def test_idempotent_reload_skips(
    rest: KustoRestEngine, small_telemetry: dict[str, list[dict[str, Any]]]
) -> None:
    holder = type("T", (), {"tables": small_telemetry})()
    assert load_telemetry(rest, holder, "test-v1") == dict.fromkeys(TABLES, 0)
    # A new dataset version reloads, replacing rather than appending.
    assert load_telemetry(rest, holder, "test-v2", tables=["AKSAudit"]) == {
        "AKSAudit": ROWS_PER_TABLE
    }
    assert rest.row_count("AKSAudit") == ROWS_PER_TABLE
    assert load_telemetry(rest, holder, "test-v2", tables=["AKSAudit"]) == {"AKSAudit": 0}


def test_timeout_and_server_killed_mid_query() -> None:
    srv = _Server()
    try:
        engine = srv.engine(client_grace=0.5)
        started = time.monotonic()
        with pytest.raises(QueryTimeoutError):
            engine.query(SLOW, timeout=0.5)
        assert time.monotonic() - started < 5

        outcome: dict[str, BaseException | None] = {}

        def run() -> None:
            try:
                engine.query(SLOW, timeout=60)
                outcome["error"] = None
            except BaseException as exc:
                outcome["error"] = exc

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        time.sleep(0.5)
        killed = time.monotonic()
        srv.stop()
        worker.join(15)
        assert not worker.is_alive(), "the query hung after the server died"
        assert isinstance(outcome["error"], EngineError)
        assert time.monotonic() - killed < 10
        with pytest.raises(EngineError, match="cannot be reached"):
            engine.query("print 1", timeout=5)
        engine.close()
        with pytest.raises(EngineError, match="closed"):
            engine.query("print 1")
    finally:
        with contextlib.suppress(Exception):
            srv.stop()


@pytest.mark.parametrize(
    ("message", "error"),
    [
        (
            "Request is invalid and cannot be executed.\nSemantic error: SEM0100: 'where' "
            "operator: Failed to resolve table or column expression named 'DeviceProcesEvents'",
            UnknownTableError,
        ),
        (
            "Request is invalid and cannot be executed.\nSemantic error: SEM0100: 'where' "
            "operator: Failed to resolve scalar expression named 'Nope'",
            UnknownColumnError,
        ),
        (
            "Request is invalid and cannot be executed.\nSyntax error: SYN0002: "
            "A recognition error occurred. [line:position=1:27]",
            QuerySyntaxError,
        ),
        (
            "Query execution has exceeded the allowed limits (80DA0001): Query timed out.",
            QueryTimeoutError,
        ),
    ],
)
def test_azure_data_explorer_messages_map(message: str, error: type[EngineError]) -> None:
    """Error texts in Azure Data Explorer's wording (no cluster needed)."""
    from azure.kusto.data.exceptions import KustoServiceError

    engine = KustoRestEngine("http://127.0.0.1:9", "db", no_auth=True)
    engine._table_cache = ["DeviceProcessEvents"]
    engine._schema_cache = {}
    mapped = engine._query_error(
        KustoServiceError(message), "DeviceProcesEvents | where Nope == 1", 5
    )
    assert isinstance(mapped, error)
    assert "Request is invalid" not in mapped.message
    engine.close()
