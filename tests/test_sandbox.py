"""Agent-written queries are untrusted: read-only, time-boxed, row-capped, memory-bound,
cut off from files and network, and every failure is one of the engine's own errors."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_ctirealm.engines import (
    EmbeddedEngine,
    EngineError,
    QueryLimits,
    QueryNotAllowedError,
    QueryResourceError,
    QueryTimeoutError,
)
from pytest_ctirealm.engines.sandbox import check_read_only, lock_down

VALID = [
    "DeviceProcessEvents | where FileName == 'curl' | project DeviceName, ProcessCommandLine",
    "DeviceProcessEvents | summarize count() by bin(Timestamp, 1h), DeviceName",
    "DeviceProcessEvents | where ProcessCommandLine has_any ('wget', 'curl') | take 5",
    "DeviceProcessEvents | extend u = tostring(AdditionalFields.ProcessPosixEffectiveUser.Name)",
    "datatable(a:string, b:long)['x', 1] | join kind=leftouter (print a = 'x', c = 2) on a",
    "let t = DeviceProcessEvents | where ProcessId > 100; t | top 3 by Timestamp desc",
    "print ipv4_is_in_range('10.0.0.1', '10.0.0.0/8'), parse_json('{\"a\":1}').a",
    "range x from 1 to 10 step 1 | mv-expand y = dynamic([1, 2]) | count",
]

TRICKS = [
    "'",
    '"',
    "\\",
    "');",
    "\"); COPY DeviceProcessEvents TO '/tmp/out.csv'; --",
    "read_csv('/etc/passwd')",
    "getenv('HOME')",
    "| ",
    ".drop table DeviceProcessEvents",
    "[",
    "]",
    "(",
    ")",
    "{",
    "}",
    "$",
    "`",
    "@'",
    "\n",
    ";",
    "--",
    "/*",
    "*/",
    "h'",
    "```",
]


def _snapshot(engine: EmbeddedEngine) -> tuple[list[str], int]:
    return engine.tables(), engine.row_count("DeviceProcessEvents")


@given(st.text(max_size=200))
def test_random_text_only_raises_engine_errors(engine: EmbeddedEngine, text: str) -> None:
    before = _snapshot(engine)
    with contextlib.suppress(EngineError):
        engine.query(text, max_rows=5, timeout=5)
    assert _snapshot(engine) == before


@st.composite
def mutated_queries(draw: st.DrawFn) -> str:
    query = draw(st.sampled_from(VALID))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(query)))
        action = draw(st.sampled_from(["insert", "delete", "duplicate"]))
        if action == "insert":
            piece = draw(st.one_of(st.sampled_from(TRICKS), st.text(max_size=5)))
            query = query[:position] + piece + query[position:]
        elif action == "delete":
            query = query[:position] + query[position + draw(st.integers(1, 8)) :]
        else:
            query = query[:position] + query[position // 2 : position] + query[position:]
    return query


@given(mutated_queries())
def test_mutated_queries_only_raise_engine_errors(engine: EmbeddedEngine, kql: str) -> None:
    before = _snapshot(engine)
    with contextlib.suppress(EngineError):
        engine.query(kql, max_rows=5, timeout=5)
    assert _snapshot(engine) == before


@pytest.fixture(scope="module")
def secret_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("secret")
    (directory / "secret.csv").write_text("token\nCANARY-7f3a9\n")
    return directory


payload_parts = st.lists(
    st.sampled_from(
        [
            "'",
            '"',
            "\\",
            "\\'",
            "');",
            "'); ",
            ") --",
            " UNION SELECT * FROM ",
            "read_csv('{dir}/secret.csv')",
            "read_text('{dir}/secret.csv')",
            "COPY DeviceProcessEvents TO '{dir}/out.csv'",
            "getenv('HOME')",
            "ATTACH '{dir}/x.db'",
            "SET enable_external_access=true",
            "INSTALL httpfs",
            "CANARY",
            "x",
            " ",
            "(",
            ")",
            ";",
        ]
    ),
    min_size=1,
    max_size=8,
)

templates = st.sampled_from(
    [
        "DeviceProcessEvents | where FileName == '{p}'",
        'DeviceProcessEvents | where ProcessCommandLine has "{p}"',
        "DeviceProcessEvents | where FileName matches regex @'{p}'",
        "print s = strcat('{p}', \"{p}\")",
        "DeviceProcessEvents | extend ['{p}'] = 1 | take 1",
        "DeviceProcessEvents | project ['{p}']",
        "datatable(a:string)['{p}'] | where a contains '{p}'",
        "DeviceProcessEvents | parse ProcessCommandLine with * '{p}' rest",
    ]
)


@given(template=templates, parts=payload_parts)
def test_quote_breakouts_never_reach_files_or_change_state(
    engine: EmbeddedEngine, secret_dir: Path, template: str, parts: list[str]
) -> None:
    payload = "".join(parts).replace("{dir}", str(secret_dir))
    kql = template.replace("{p}", payload)
    before = _snapshot(engine)
    try:
        result = engine.query(kql, max_rows=50, timeout=5)
    except EngineError:
        result = None
    if result is not None:
        # The token is only in the file; the query text may echo the word CANARY alone.
        assert "7f3a9" not in repr(result.rows) or "7f3a9" in kql
    assert _snapshot(engine) == before
    assert sorted(p.name for p in secret_dir.iterdir()) == ["secret.csv"]


def test_lock_down_freezes_settings_and_cuts_off_files(tmp_path: Path) -> None:
    con = duckdb.connect()
    lock_down(con, "256MB", threads=1)
    assert con.execute("SELECT current_setting('enable_external_access')").fetchone() == (False,)
    with pytest.raises(duckdb.Error, match="locked"):
        con.execute("SET enable_external_access = true")
    with pytest.raises(duckdb.PermissionException):
        con.execute(f"COPY (SELECT 1) TO '{tmp_path}/out.csv'")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "sql", ["CREATE TABLE x (a INT)", "SELECT 1; DROP TABLE t", "SET threads = 1", "PRAGMA version"]
)
def test_only_a_single_select_passes_the_read_only_check(sql: str) -> None:
    with pytest.raises(QueryNotAllowedError):
        check_read_only(sql)
    check_read_only("WITH a AS (SELECT 1 AS x) SELECT * FROM a")


def test_allocations_duckdb_does_not_track_are_bounded_too() -> None:
    # duckdb-kql builds `range` as one list: 3e9 longs would be 24 GB at once.
    with EmbeddedEngine(limits=QueryLimits(memory_limit="256MB")) as engine:
        with pytest.raises(QueryResourceError):
            engine.query("range x from 1 to 3000000000 step 1 | count", timeout=60)
        assert engine.query("print 1").rows == [(1,)]


def test_row_cap_truncates_and_keeps_order() -> None:
    with EmbeddedEngine(limits=QueryLimits(max_rows=10)) as engine:
        result = engine.query("range x from 1 to 1000 step 1 | sort by x desc")
        assert [r[0] for r in result.rows] == list(range(1000, 990, -1))
        assert result.truncated
        exact = engine.query("range x from 1 to 10 step 1")
        assert len(exact.rows) == 10 and not exact.truncated
        assert len(engine.query("range x from 1 to 1000 step 1", max_rows=3).rows) == 3


def test_long_query_times_out_and_the_engine_recovers() -> None:
    with EmbeddedEngine() as engine:
        started = time.perf_counter()
        with pytest.raises(QueryTimeoutError) as caught:
            engine.query(
                "range a from 1 to 100000 step 1 | extend k = 1 "
                "| join kind=inner (range b from 1 to 100000 step 1 | extend k = 1) on k "
                "| count",
                timeout=0.3,
            )
        assert time.perf_counter() - started < 5
        assert "0.3 s" in str(caught.value)
        assert engine.query("print 1").rows == [(1,)]


def test_a_deadline_never_interrupts_the_next_query() -> None:
    with EmbeddedEngine() as engine:
        for _ in range(50):
            # Tight deadlines race the query; whichever wins, it must not spill over.
            with contextlib.suppress(QueryTimeoutError):
                engine.query("range x from 1 to 20000 step 1 | count", timeout=0.002)
            assert engine.query("print 1", timeout=10).rows == [(1,)]


def test_memory_is_bounded() -> None:
    with EmbeddedEngine(limits=QueryLimits(memory_limit="64MB")) as engine:
        with pytest.raises(QueryResourceError):
            engine.query(
                "range x from 1 to 40000000 step 1 "
                "| extend s = strcat('padding-padding-', tostring(x)) | summarize make_set(s)",
                timeout=60,
            )
        assert engine.query("print 1").rows == [(1,)]
