"""The embedded engine: KQL over an in-process DuckDB, through duckdb-kql.

No Docker, no network, no files: tables are loaded from Python rows, every query is
translated, checked to be a single read-only SELECT, run under a deadline and a row
cap, and its failures come back as the engine's own errors.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

import duckdb
import duckdb_kql
import pyarrow as pa

from pytest_ctirealm.engines import diagnose
from pytest_ctirealm.engines.errors import (
    DataLoadError,
    EngineError,
    QuerySyntaxError,
    UnknownTableError,
    UnsupportedQueryError,
)
from pytest_ctirealm.engines.kql_extensions import install_macros, register_functions
from pytest_ctirealm.engines.kusto_values import DUCKDB_TYPES, decode, to_arrow
from pytest_ctirealm.engines.protocol import QueryLimits, QueryResult
from pytest_ctirealm.engines.sandbox import Deadline, check_read_only, lock_down
from pytest_ctirealm.telemetry.schema import TABLE_ALIASES, ColumnSpec, TableSchema, table_schema

_STRING_LITERAL = re.compile(r"""@?'(?:[^'\\\n]|\\.)*'|@?"(?:[^"\\\n]|\\.)*\"""")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _kusto_type_of(duckdb_type: object) -> str:
    from duckdb_kql.types import kusto_type

    return kusto_type(duckdb_type)


class EmbeddedEngine:
    """A read-only KQL engine over tables held in memory.

    Load tables with `load_table` (or build with `with_tables`), then `query`. Queries
    are serialised: one DuckDB connection serves one query at a time.
    """

    def __init__(
        self,
        *,
        limits: QueryLimits | None = None,
        now: dt.datetime | None = None,
        threads: int | None = None,
    ) -> None:
        self.limits = limits or QueryLimits()
        # `now()` and `ago()` resolve against this instant, so a query over fixed
        # telemetry gives the same answer whenever it runs.
        self.now = now
        register_functions()
        self._con = duckdb.connect(":memory:")
        install_macros(self._con)
        lock_down(self._con, self.limits.memory_limit, threads)
        self._schemas: dict[str, TableSchema] = {}
        self._aliases: dict[str, str] = {}
        self._lock = threading.RLock()
        self._closed = False

    @classmethod
    def with_tables(
        cls, tables: Mapping[str, Iterable[Mapping[str, Any]]] | None = None, **kwargs: Any
    ) -> EmbeddedEngine:
        """An engine holding *tables*: benchmark table name -> rows."""
        engine = cls(**kwargs)
        for name, rows in (tables or {}).items():
            engine.load_table(name, rows)
        return engine

    # -- loading -------------------------------------------------------------------

    def load_table(self, table: str | TableSchema, rows: Iterable[Mapping[str, Any]] = ()) -> int:
        """Create *table* and fill it with *rows*; return the number of rows loaded.

        *table* is a benchmark table name (its real schema is used) or a TableSchema.
        Each row maps column names to values; missing columns are null.
        """
        schema = self._resolve_schema(table)
        with self._lock:
            self._check_open()
            if schema.name.lower() in {t.lower() for t in self._schemas}:
                raise DataLoadError(f"Table '{schema.name}' is already loaded.")
            rows = list(rows)
            arrow = self._to_arrow(schema, rows)
            columns = ", ".join(f"{_quote(c.name)} {DUCKDB_TYPES[c.type]}" for c in schema.columns)
            casts = ", ".join(
                f"CAST({_quote(c.name)} AS {DUCKDB_TYPES[c.type]})" for c in schema.columns
            )
            self._con.execute(f"CREATE TABLE {_quote(schema.name)} ({columns})")
            self._con.register("ctirealm_load", arrow)
            try:
                self._con.execute(
                    f"INSERT INTO {_quote(schema.name)} SELECT {casts} FROM ctirealm_load"
                )
            finally:
                self._con.unregister("ctirealm_load")
            self._schemas[schema.name] = schema
            self._refresh_aliases()
        return len(rows)

    def _resolve_schema(self, table: str | TableSchema) -> TableSchema:
        if isinstance(table, TableSchema):
            return table
        try:
            return table_schema(table)
        except KeyError as exc:
            raise DataLoadError(str(exc.args[0])) from None

    @staticmethod
    def _to_arrow(schema: TableSchema, rows: list[Mapping[str, Any]]) -> pa.Table:
        known = set(schema.column_names)
        for index, row in enumerate(rows):
            extra = [key for key in row if key not in known]
            if extra:
                suggestions = diagnose.near_matches(extra[0], schema.column_names)
                hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
                raise DataLoadError(
                    f"Table '{schema.name}', row {index}: unknown column '{extra[0]}'.{hint}"
                )
        arrays = {}
        for column in schema.columns:
            try:
                arrays[column.name] = to_arrow(column.type, [row.get(column.name) for row in rows])
            except ValueError as exc:
                raise DataLoadError(
                    f"Table '{schema.name}', column '{column.name}': {exc}."
                ) from None
        return pa.table(arrays) if arrays else pa.table({})

    def _refresh_aliases(self) -> None:
        """Make each loaded table reachable under its other spelling too."""
        self._aliases = {
            alias: target
            for alias, target in TABLE_ALIASES.items()
            if target in self._schemas and alias not in self._schemas
        }

    # -- querying ------------------------------------------------------------------

    def query(
        self, kql: str, *, max_rows: int | None = None, timeout: float | None = None
    ) -> QueryResult:
        """Run *kql* read-only; return at most *max_rows* rows (default: the limits')."""
        cap = self.limits.max_rows if max_rows is None else max_rows
        seconds = self.limits.timeout if timeout is None else timeout
        with self._lock:
            self._check_open()
            started = time.perf_counter()
            sql, parameters = self._translate(kql)
            translated = time.perf_counter()
            deadline = Deadline(self._con, seconds)
            try:
                with deadline:
                    cursor = self._con.execute(
                        f"SELECT * FROM (\n{sql}\n) AS ctirealm_result LIMIT {int(cap) + 1}",
                        parameters or None,
                    )
                    description = cursor.description or []
                    raw_rows = cursor.fetchall()
            except duckdb.Error as exc:
                raise diagnose.from_execution(
                    exc, kql, self._catalog(), deadline.expired, seconds
                ) from None
            columns = tuple(ColumnSpec(d[0], _kusto_type_of(d[1])) for d in description)
            rows = [
                tuple(decode(c.type, v) for c, v in zip(columns, row, strict=True))
                for row in raw_rows[:cap]
            ]
            return QueryResult(
                columns=columns,
                rows=rows,
                truncated=len(raw_rows) > cap,
                elapsed=time.perf_counter() - started,
                translate_elapsed=translated - started,
            )

    def _translate(self, kql: str) -> tuple[str, dict[str, Any]]:
        if not isinstance(kql, str) or not kql.strip():
            raise QuerySyntaxError("The query is empty.", hint="Write a KQL query.")
        self._check_table_case(kql)
        try:
            result = duckdb_kql.to_sql(
                kql, schema=self._sql_schema(), allow_write=False, query_now=self.now
            )
        except RecursionError:
            raise UnsupportedQueryError(
                "The query is nested too deeply to translate.", hint="Simplify it."
            ) from None
        except Exception as exc:  # every other failure becomes an EngineError too
            raise diagnose.from_translation(exc, kql, self._catalog()) from None
        sql = str(result)
        check_read_only(sql)
        return sql, dict(result.parameters)

    def _check_table_case(self, kql: str) -> None:
        """Kusto names are case-sensitive and DuckDB's are not: refuse `deviceprocessevents`
        here rather than let a query pass that would fail on a real cluster."""
        exact = {*self._schemas, *self._aliases}
        folded = {name.lower(): name for name in exact}
        for word in set(_WORD.findall(_STRING_LITERAL.sub("''", kql))):
            if word not in exact and word.lower() in folded:
                raise UnknownTableError(word, [folded[word.lower()]])

    def _sql_schema(self) -> dict[str, list[str]]:
        schema = {name: list(s.column_names) for name, s in self._schemas.items()}
        for alias, target in self._aliases.items():
            schema[alias] = schema[target]
        return schema

    def _catalog(self) -> dict[str, list[str]]:
        return self._sql_schema()

    # -- catalogue -----------------------------------------------------------------

    def tables(self) -> list[str]:
        return sorted(self._schemas)

    def schema(self, table: str) -> TableSchema:
        name = self._aliases.get(table, table)
        if name not in self._schemas:
            raise UnknownTableError(
                table,
                diagnose.near_matches(table, [*self._schemas, *self._aliases]),
                self.tables(),
            )
        return self._schemas[name]

    def row_count(self, table: str) -> int:
        name = self.schema(table).name
        with self._lock:
            row = self._con.execute(f"SELECT count(*) FROM {_quote(name)}").fetchone()
        return int(row[0]) if row else 0

    # -- lifetime ------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise EngineError("The engine is closed.")

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._con.close()

    def __enter__(self) -> EmbeddedEngine:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
