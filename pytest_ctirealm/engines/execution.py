"""Running one KQL query on a DuckDB connection: translate, check, run, decode.

Used inside the query process (see `worker`); kept apart from it so the steps read in
order and can be exercised on any connection.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import duckdb_kql
from duckdb import DuckDBPyConnection
from duckdb_kql.types import kusto_type

from pytest_ctirealm.engines import diagnose
from pytest_ctirealm.engines.errors import (
    QuerySyntaxError,
    UnknownTableError,
    UnsupportedQueryError,
)
from pytest_ctirealm.engines.kusto_values import decode
from pytest_ctirealm.engines.protocol import QueryResult
from pytest_ctirealm.engines.sandbox import Deadline, check_read_only
from pytest_ctirealm.telemetry.schema import ColumnSpec

_STRING_LITERAL = re.compile(r"""@?'(?:[^'\\\n]|\\.)*'|@?"(?:[^"\\\n]|\\.)*\"""")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_table_case(kql: str, tables: Sequence[str]) -> None:
    """Kusto names are case-sensitive and DuckDB's are not: refuse `deviceprocessevents`
    here rather than let a query pass that would fail on a real cluster."""
    exact = set(tables)
    folded = {name.lower(): name for name in exact}
    for word in set(_WORD.findall(_STRING_LITERAL.sub("''", kql))):
        if word not in exact and word.lower() in folded:
            raise UnknownTableError(word, [folded[word.lower()]])


def translate(
    kql: str, schema: Mapping[str, Sequence[str]], now: dt.datetime | None
) -> tuple[str, dict[str, Any]]:
    """KQL to one read-only DuckDB SELECT and its bound parameters."""
    if not isinstance(kql, str) or not kql.strip():
        raise QuerySyntaxError("The query is empty.", hint="Write a KQL query.")
    check_table_case(kql, list(schema))
    try:
        result = duckdb_kql.to_sql(
            kql, schema={t: list(c) for t, c in schema.items()}, allow_write=False, query_now=now
        )
    except RecursionError:
        raise UnsupportedQueryError(
            "The query is nested too deeply to translate.", hint="Simplify it."
        ) from None
    except Exception as exc:  # every other failure becomes an EngineError too
        raise diagnose.from_translation(exc, kql, schema) from None
    sql = str(result)
    check_read_only(sql)
    return sql, dict(result.parameters)


def run_query(
    con: DuckDBPyConnection,
    kql: str,
    *,
    schema: Mapping[str, Sequence[str]],
    now: dt.datetime | None,
    max_rows: int,
    timeout: float,
) -> QueryResult:
    """Run *kql* on *con*; at most *max_rows* rows come back, `truncated` says if more."""
    started = time.perf_counter()
    sql, parameters = translate(kql, schema, now)
    translated = time.perf_counter()
    deadline = Deadline(con, timeout)
    try:
        with deadline:
            cursor = con.execute(
                f"SELECT * FROM (\n{sql}\n) AS ctirealm_result LIMIT {int(max_rows) + 1}",
                parameters or None,
            )
            description = cursor.description or []
            raw_rows = cursor.fetchall()
    except duckdb.Error as exc:
        raise diagnose.from_execution(exc, kql, schema, deadline.expired, timeout) from None
    columns = tuple(ColumnSpec(d[0], kusto_type(d[1])) for d in description)
    rows = [
        tuple(decode(c.type, v) for c, v in zip(columns, row, strict=True))
        for row in raw_rows[:max_rows]
    ]
    return QueryResult(
        columns=columns,
        rows=rows,
        truncated=len(raw_rows) > max_rows,
        elapsed=time.perf_counter() - started,
        translate_elapsed=translated - started,
    )
