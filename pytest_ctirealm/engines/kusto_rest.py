"""A Kusto REST engine: the same protocol over azure-kusto-data's KustoClient.

Works against any Kusto endpoint: Azure Data Explorer (Azure AD through azure-identity),
the Kusto emulator, or duckdb-kql's local REST server (no authentication). Queries go
through the query endpoint, read-only; tables are created and filled through management
commands, in batches of `datatable` literals that every one of those servers accepts.

Row cap: the request asks the service to truncate at ``max_rows + 1`` records
(`truncationmaxrecords`, with partial-failure reporting deferred so the rows still
arrive) and the client keeps the first ``max_rows``; more rows than that, or a
truncation notice in QueryCompletionInformation, marks the result truncated. A server
that ignores the property (duckdb-kql's) is still capped, on the client.

Time-outs: `servertimeout` is sent with each query, and the HTTP read time-out is the
same plus a short grace, so a server that hangs or ignores the option still gives a
`QueryTimeoutError` rather than a hang.

Clock: with *now* set, each query carries the `query_now` request property, so `now()`
and `ago()` resolve against that instant (the telemetry's end), as on the embedded
engine, instead of the server's wall clock. It is a documented Kusto request property.
duckdb-kql's server (1.1) implements it but reads request options only from a JSON
object, and azure-kusto-data sends them as JSON text, so that server ignores this option
as it ignores every other from this client.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from types import TracebackType
from typing import Any

try:
    import requests
    from azure.kusto.data import (
        ClientRequestProperties,
        KustoClient,
        KustoConnectionStringBuilder,
    )
    from azure.kusto.data.exceptions import (
        KustoApiError,
        KustoAuthenticationError,
        KustoError,
        KustoNetworkError,
    )
except ImportError as _exc:  # pragma: no cover - depends on the optional extra
    raise ImportError(
        "The Kusto REST engine needs azure-kusto-data: pip install 'pytest-ctirealm[kusto]'"
    ) from _exc

from pytest_ctirealm.engines.diagnose import near_matches
from pytest_ctirealm.engines.errors import (
    DataLoadError,
    EngineError,
    QueryExecutionError,
    QueryNotAllowedError,
    QueryResourceError,
    QuerySyntaxError,
    QueryTimeoutError,
    UnknownColumnError,
    UnknownTableError,
    UnsupportedQueryError,
)
from pytest_ctirealm.engines.kusto_values import format_timespan
from pytest_ctirealm.engines.loading import rows_to_arrow
from pytest_ctirealm.engines.protocol import QueryLimits, QueryResult
from pytest_ctirealm.telemetry.schema import ColumnSpec, TableSchema, table_schema

#: The table `load_telemetry` records dataset versions in.
VERSION_TABLE = "CtirealmDatasetVersion"
VERSION_SCHEMA = TableSchema.from_mapping(
    VERSION_TABLE,
    {"TableName": "string", "DatasetVersion": "string", "RowCount": "long", "LoadedAt": "datetime"},
)

#: Kusto type names as the v1/v2 protocols and `getschema` spell them -> ours.
_TYPE_NAMES: dict[str, str] = {
    "string": "string",
    "system.string": "string",
    "int": "int",
    "int32": "int",
    "system.int32": "int",
    "long": "long",
    "int64": "long",
    "system.int64": "long",
    "real": "real",
    "double": "real",
    "system.double": "real",
    "decimal": "real",
    "system.data.sqltypes.sqldecimal": "real",
    "bool": "bool",
    "boolean": "bool",
    "system.boolean": "bool",
    "system.sbyte": "bool",
    "datetime": "datetime",
    "date": "datetime",
    "system.datetime": "datetime",
    "timespan": "timespan",
    "time": "timespan",
    "system.timespan": "timespan",
    "dynamic": "dynamic",
    "object": "dynamic",
    "system.object": "dynamic",
    "guid": "guid",
    "uniqueidentifier": "guid",
    "system.guid": "guid",
}

#: Characters of command text per ingestion batch: well under the service's request
#: size limits, and small enough that one batch never runs into a command time-out.
DEFAULT_BATCH_CHARS = 1_000_000
DEFAULT_BATCH_ROWS = 5_000

_SYNTAX = re.compile(
    r"(?:could not parse KQL at (?P<l1>\d+):(?P<c1>\d+))|(?:Syntax error)", re.IGNORECASE
)
_LINE_COL = re.compile(r"\[line:position=(?P<line>\d+):(?P<col>\d+)\]")
_UNKNOWN_TABLE = (
    re.compile(r"Table with name (?P<name>[^\s!]+) does not exist"),
    re.compile(r"Failed to resolve table expression named '(?P<name>[^']+)'"),
    re.compile(r"unknown table '?(?P<name>[A-Za-z_][\w]*)'?", re.IGNORECASE),
)
_UNKNOWN_COLUMN = (
    re.compile(r'Referenced column "(?P<name>[^"]+)" not found'),
    re.compile(r'Column "(?P<name>[^"]+)" referenced that exists'),
    re.compile(r"Failed to resolve (?:scalar|column) expression named '(?P<name>[^']+)'"),
    re.compile(
        r"Failed to resolve (?:column or scalar|scalar or column) expression named "
        r"'(?P<name>[^']+)'"
    ),
)
_TABLE_OR_COLUMN = re.compile(r"Failed to resolve table or column expression named '([^']+)'")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _kusto_type(name: str) -> str:
    return _TYPE_NAMES.get(name.lower(), name.lower())


def _first_line(message: str) -> str:
    """The informative line of a service message, without tracebacks or SQL excerpts.

    Azure Data Explorer starts with a generic "Request is invalid ..." line and puts the
    reason ("Semantic error: ...") on a later one.
    """
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    head = lines[0]
    if head.startswith("Request is invalid") and len(lines) > 1:
        head = next((line for line in lines[1:] if "error" in line.lower()), lines[1])
    head = re.sub(r"^[A-Za-z ]+ Error: ", "", head)
    return " ".join(head.split())[:500]


# -- values out ---------------------------------------------------------------------


def _decode(kusto_type: str, value: Any) -> Any:
    """A value from the client as the embedded engine gives it."""
    if value is None:
        return None
    if kusto_type == "datetime":
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if isinstance(value, dt.datetime):
            if value.tzinfo is None:
                return value.replace(tzinfo=dt.UTC)
            return value.astimezone(dt.UTC)
        return value
    if kusto_type == "real":
        if isinstance(value, Decimal | int):
            return float(value)
        if isinstance(value, str):  # "NaN", "Infinity", "-Infinity"
            return float(value)
        return value
    if kusto_type == "dynamic" and isinstance(value, str):
        # v2 sends dynamic values as JSON; a string value that holds JSON text was
        # stored as text, which is how the embedded engine hands it back too.
        return value
    if kusto_type == "guid":
        return str(value)
    if kusto_type == "bool" and isinstance(value, int):
        return bool(value)
    return value


# -- values in ----------------------------------------------------------------------


def _query_now(stamp: dt.datetime) -> str:
    """*stamp* (UTC) as the ISO 8601 text the `query_now` request property takes."""
    return stamp.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_STRING_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def string_literal(value: str) -> str:
    """A double-quoted Kusto string literal. Other control characters go in raw:
    Kusto has no \\u escape in string literals."""
    return '"' + "".join(_STRING_ESCAPES.get(char, char) for char in value) + '"'


def kql_literal(kusto_type: str, value: Any) -> str:
    """*value* (as `rows_to_arrow` normalises it) as a KQL literal of *kusto_type*."""
    if kusto_type == "string":
        # Kusto strings are never null: a missing string is the empty string.
        return string_literal("" if value is None else str(value))
    if value is None:
        return f"{kusto_type}(null)"
    if kusto_type == "datetime":
        stamp: dt.datetime = value
        if stamp.tzinfo is not None:
            stamp = stamp.astimezone(dt.UTC).replace(tzinfo=None)
        return f"datetime({stamp.strftime('%Y-%m-%dT%H:%M:%S')}.{stamp.microsecond:06d}0Z)"
    if kusto_type == "timespan":
        span: dt.timedelta = value
        if span < dt.timedelta(0):
            return f"timespan(-{format_timespan(-span)})"
        return f"timespan({format_timespan(span)})"
    if kusto_type == "dynamic":
        text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        return f"dynamic({text})"
    if kusto_type == "guid":
        return f"guid({value})"
    if kusto_type == "bool":
        return "true" if value else "false"
    if kusto_type in ("long", "int"):
        return f"{kusto_type}({int(value)})"
    if kusto_type == "real":
        number = float(value)
        if math.isnan(number):
            return "real(nan)"
        if math.isinf(number):
            return "real(+inf)" if number > 0 else "real(-inf)"
        return f"real({number!r})"
    raise DataLoadError(f"Cannot write a value of Kusto type '{kusto_type}'.")


def _column_decl(schema: TableSchema) -> str:
    return ", ".join(f"['{c.name}']:{c.type}" for c in schema.columns)


def _batches(
    schema: TableSchema, rows: Sequence[Mapping[str, Any]], max_chars: int, max_rows: int
) -> Iterable[list[str]]:
    """Rows rendered as `datatable` bodies, grouped under *max_chars* / *max_rows*."""
    arrow = rows_to_arrow(schema, rows)
    columns = [(c.type, arrow.column(c.name).to_pylist()) for c in schema.columns]
    batch: list[str] = []
    size = 0
    for index in range(arrow.num_rows):
        rendered = ", ".join(kql_literal(kind, values[index]) for kind, values in columns)
        if batch and (size + len(rendered) > max_chars or len(batch) >= max_rows):
            yield batch
            batch, size = [], 0
        batch.append(rendered)
        size += len(rendered) + 3
    if batch:
        yield batch


# -- the engine ---------------------------------------------------------------------


class KustoRestEngine:
    """KQL over a Kusto REST endpoint: a cluster URL and a database.

    *credential* is an azure-identity token credential; with none, and *no_auth* false,
    `DefaultAzureCredential` is used (CLI login, managed identity, environment service
    principal). *no_auth* is for a local server or the emulator. *now* pins the clock
    `now()` and `ago()` read for every query (naive: taken as UTC).
    """

    def __init__(
        self,
        cluster: str,
        database: str,
        *,
        no_auth: bool = False,
        credential: Any = None,
        limits: QueryLimits | None = None,
        client_grace: float = 5.0,
        management_timeout: float = 300.0,
        batch_chars: int = DEFAULT_BATCH_CHARS,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        now: dt.datetime | None = None,
    ) -> None:
        self.cluster = cluster.rstrip("/")
        if now is not None:
            now = now.replace(tzinfo=dt.UTC) if now.tzinfo is None else now.astimezone(dt.UTC)
        self.now = now
        self.database = database
        self.limits = limits or QueryLimits()
        self.client_grace = client_grace
        self.management_timeout = management_timeout
        self.batch_chars = batch_chars
        self.batch_rows = batch_rows
        if no_auth:
            kcsb = KustoConnectionStringBuilder.with_no_authentication(self.cluster)
        else:
            if credential is None:
                from azure.identity import DefaultAzureCredential

                credential = DefaultAzureCredential()
            kcsb = KustoConnectionStringBuilder.with_azure_token_credential(
                self.cluster, credential
            )
        # Typed loosely: parts of azure-kusto-data are unannotated.
        self._client: Any = KustoClient(kcsb)
        self._lock = threading.RLock()
        self._closed = False
        self._table_cache: list[str] | None = None
        self._schema_cache: dict[str, TableSchema] = {}
        self._supports_create: bool | None = None

    # -- requests ------------------------------------------------------------------

    def _properties(self, timeout: float, *, read_only: bool) -> Any:
        factory: Any = ClientRequestProperties
        props = factory()
        props.set_option(props.request_timeout_option_name, dt.timedelta(seconds=timeout))
        if read_only:
            props.set_option("request_readonly", True)
        return props

    def _execute(
        self, command: str, *, timeout: float, management: bool, extra: Mapping[str, Any] = {}
    ) -> Any:
        """Run one request; client errors become EngineErrors, service errors propagate."""
        with self._lock:
            if self._closed:
                raise EngineError("The engine is closed.")
            props = self._properties(timeout, read_only=not management)
            for name, value in extra.items():
                props.set_option(name, value)
            # The HTTP read time-out is servertimeout + this delta, in whole seconds
            # (the client passes `timedelta.seconds` to requests).
            total = math.ceil(timeout + self.client_grace)
            self._client._client_server_delta = dt.timedelta(seconds=total - timeout)
            run = self._client.execute_mgmt if management else self._client.execute_query
            try:
                return run(self.database, command, props)
            except KustoNetworkError as exc:
                raise self._network_error(exc, timeout) from None

    def _network_error(self, exc: KustoNetworkError, timeout: float) -> EngineError:
        cause = exc.__cause__
        if isinstance(cause, requests.exceptions.ReadTimeout):
            return QueryTimeoutError(
                f"The query ran longer than the {timeout:g} s limit and was abandoned "
                f"(no answer from {self.cluster}).",
                hint="Filter early, avoid huge ranges and wide joins, or summarize first.",
            )
        if isinstance(cause, requests.exceptions.ConnectionError):
            return EngineError(
                f"The Kusto server at {self.cluster} cannot be reached or dropped the connection.",
                hint="Check that it is running and reachable, then retry.",
            )
        return EngineError(f"Request to {self.cluster} failed: {type(cause).__name__}.")

    # -- querying ------------------------------------------------------------------

    def query(
        self, kql: str, *, max_rows: int | None = None, timeout: float | None = None
    ) -> QueryResult:
        cap = self.limits.max_rows if max_rows is None else max_rows
        seconds = self.limits.timeout if timeout is None else timeout
        if kql.lstrip().startswith("."):
            raise QueryNotAllowedError(
                "This engine is read-only: control and ingestion commands are not allowed.",
                hint="Write a query that starts with a table name, datatable, print or range.",
            )
        extra: dict[str, Any] = {"truncationmaxrecords": cap + 1, "deferpartialqueryfailures": True}
        if self.now is not None:
            extra["query_now"] = _query_now(self.now)
        started = time.perf_counter()
        try:
            response = self._execute(kql, timeout=seconds, management=False, extra=extra)
        except KustoError as exc:
            raise self._query_error(exc, kql, seconds) from None
        elapsed = time.perf_counter() - started
        primary = response.primary_results[0] if response.primary_results else None
        if primary is None:
            return QueryResult(columns=(), rows=[], elapsed=elapsed)
        columns = tuple(
            ColumnSpec(c.column_name, _kusto_type(c.column_type or "string"))
            for c in primary.columns
        )
        kinds = [c.type for c in columns]
        raw_rows = primary.raw_rows
        truncated = len(raw_rows) > cap or self._truncation_reported(response)
        rows = [
            tuple(_decode(k, v) for k, v in zip(kinds, row.to_list(), strict=True))
            for row in primary.rows[:cap]
        ]
        return QueryResult(columns=columns, rows=rows, truncated=truncated, elapsed=elapsed)

    @staticmethod
    def _truncation_reported(response: Any) -> bool:
        for table in response.tables:
            if getattr(table.table_kind, "value", "") != "QueryCompletionInformation":
                continue
            for row in table.raw_rows:
                text = json.dumps(row, default=str)
                if "E_QUERY_RESULT_SET_TOO_LARGE" in text or "truncat" in text.lower():
                    return True
        return False

    def _query_error(self, exc: KustoError, kql: str, timeout: float) -> EngineError:
        if isinstance(exc, KustoAuthenticationError):
            return EngineError(
                f"Could not authenticate to {self.cluster}.",
                hint="Log in with `az login`, or set a managed identity or the "
                "AZURE_CLIENT_ID / AZURE_TENANT_ID / AZURE_CLIENT_SECRET variables.",
            )
        code = ""
        message = str(exc)
        if isinstance(exc, KustoApiError):
            error = exc.get_api_error()
            code = error.code or ""
            message = error.description or error.message or message
        text = message.strip()
        if "timed out" in text.lower() or "E_QUERY_TIMEOUT" in text or "timeout" in code.lower():
            return QueryTimeoutError(
                f"The query ran longer than the {timeout:g} s limit and was cancelled.",
                hint="Filter early, avoid huge ranges and wide joins, or summarize first.",
            )
        if any(m in text for m in ("E_LOW_MEMORY", "E_RUNAWAY_QUERY", "OutOfMemory")):
            return QueryResourceError(
                "The query needed more memory than the service allows.",
                hint="Filter earlier, project fewer columns, or summarize.",
            )
        syntax = _SYNTAX.search(text)
        if syntax:
            line = syntax.group("l1")
            col = syntax.group("c1")
            if line is None:
                where = _LINE_COL.search(text)
                line, col = (where.group("line"), where.group("col")) if where else (None, None)
            detail = _first_line(text).split(": ", 1)[-1].split(" expecting {", 1)[0]
            return QuerySyntaxError(
                f"KQL syntax error{f' at line {line}, column {col}' if line else ''}: "
                f"{detail[:300]}",
                line=int(line) if line else None,
                column=int(col) if col else None,
                hint="Check the operator spelling, pipes (|) and quotes near that position.",
            )
        for pattern in _UNKNOWN_TABLE:
            match = pattern.search(text)
            if match:
                return self._unknown_table(match.group("name").strip("\"'"))
        ambiguous = _TABLE_OR_COLUMN.search(text)
        if ambiguous:
            name = ambiguous.group(1)
            first = _WORD.match(kql.lstrip())
            if first and first.group(0) == name:
                return self._unknown_table(name)
            return self._unknown_column(name, kql)
        for pattern in _UNKNOWN_COLUMN:
            match = pattern.search(text)
            if match:
                return self._unknown_column(match.group("name"), kql)
        if code == "Forbidden" or "read-only" in text or "writes are disabled" in text:
            return QueryNotAllowedError(
                "This engine is read-only: the query tried to write or administer.",
            )
        if "unsupported KQL construct" in text:
            return UnsupportedQueryError(
                "The server does not support " + _first_line(text).split("construct", 1)[-1],
                hint="Rewrite that part with other operators or functions.",
            )
        return QueryExecutionError(_first_line(text) or "The query failed on the server.")

    def _unknown_table(self, name: str) -> UnknownTableError:
        with contextlib.suppress(EngineError, KustoError):
            known = self.tables()
            return UnknownTableError(name, near_matches(name, known), known)
        return UnknownTableError(name, [])

    def _unknown_column(self, name: str, kql: str) -> UnknownColumnError:
        with contextlib.suppress(EngineError, KustoError):
            words = set(_WORD.findall(kql))
            in_scope = [t for t in self.tables() if t in words]
            columns = sorted({c for t in in_scope for c in self.schema(t).column_names})
            return UnknownColumnError(name, near_matches(name, columns))
        return UnknownColumnError(name, [])

    # -- catalogue -----------------------------------------------------------------

    def tables(self) -> list[str]:
        if self._table_cache is None:
            try:
                response = self._execute(
                    ".show tables", timeout=self.limits.timeout, management=True
                )
            except KustoError as exc:
                raise EngineError(f"Could not list tables: {_first_line(str(exc))}") from None
            names = [str(row["TableName"]) for row in response.primary_results[0]]
            self._table_cache = sorted(n for n in names if n != VERSION_TABLE)
        return list(self._table_cache)

    def schema(self, table: str) -> TableSchema:
        if table in self._schema_cache:
            return self._schema_cache[table]
        known = self.tables()
        if table not in known:
            raise UnknownTableError(table, near_matches(table, known), known)
        try:
            response = self._execute(
                f"['{table}'] | getschema", timeout=self.limits.timeout, management=False
            )
        except KustoError as exc:
            raise self._query_error(exc, table, self.limits.timeout) from None
        columns = tuple(
            ColumnSpec(str(row["ColumnName"]), _kusto_type(str(row["ColumnType"])))
            for row in response.primary_results[0]
        )
        time_column, note = None, ""
        with contextlib.suppress(KeyError):
            known_table = table_schema(table)
            time_column, note = known_table.time_column, known_table.note
        schema = TableSchema(table, columns, time_column=time_column, note=note)
        self._schema_cache[table] = schema
        return schema

    def row_count(self, table: str) -> int:
        return int(self.query(f"['{self.schema(table).name}'] | count").rows[0][0])

    # -- loading -------------------------------------------------------------------

    def _management(self, command: str) -> Any:
        try:
            return self._execute(command, timeout=self.management_timeout, management=True)
        except KustoError as exc:
            text = str(exc)
            if isinstance(exc, KustoApiError):
                text = exc.get_api_error().description or text
            raise DataLoadError(
                f"The server refused a management command: {_first_line(text)}"
            ) from None

    def supports_create_table(self) -> bool:
        """Whether the server answers `.create table` (the emulator and ADX do)."""
        if self._supports_create is None:
            try:
                self._execute(
                    f".create-merge table {VERSION_TABLE} ({_column_decl(VERSION_SCHEMA)})",
                    timeout=self.management_timeout,
                    management=True,
                )
                self._supports_create = True
            except KustoError:
                self._supports_create = False
        return self._supports_create

    def load_table(self, table: str | TableSchema, rows: Iterable[Mapping[str, Any]] = ()) -> int:
        """Create or replace *table* and fill it with *rows*; return the rows loaded."""
        schema = table if isinstance(table, TableSchema) else self._benchmark_schema(table)
        rows = list(rows)
        name = f"['{schema.name}']"
        decl = _column_decl(schema)
        if self.supports_create_table():
            self._management(f".create-merge table {name} ({decl})")
        first = True
        for batch in _batches(schema, rows, self.batch_chars, self.batch_rows):
            verb = ".set-or-replace" if first else ".set-or-append"
            body = ",\n".join(batch)
            self._management(f"{verb} {name} <| datatable({decl})[\n{body}\n]")
            first = False
        if first:  # no rows: an empty table of the right columns
            self._management(f".set-or-replace {name} <| datatable({decl})[]")
        self._table_cache = None
        self._schema_cache.pop(schema.name, None)
        return len(rows)

    @staticmethod
    def _benchmark_schema(table: str) -> TableSchema:
        try:
            return table_schema(table)
        except KeyError as exc:
            raise DataLoadError(str(exc.args[0])) from None

    def loaded_versions(self) -> dict[str, tuple[str, int]]:
        """Table -> (dataset version, row count) as last recorded by `load_telemetry`."""
        try:
            response = self._execute(
                f"{VERSION_TABLE}", timeout=self.limits.timeout, management=False
            )
        except KustoError:
            return {}  # no version table yet
        latest: dict[str, tuple[dt.datetime, str, int]] = {}
        for row in response.primary_results[0]:
            stamp = _decode("datetime", row["LoadedAt"])
            name = str(row["TableName"])
            if name not in latest or stamp >= latest[name][0]:
                latest[name] = (stamp, str(row["DatasetVersion"]), int(row["RowCount"]))
        return {name: (version, count) for name, (_, version, count) in latest.items()}

    def record_version(self, table: str, version: str, row_count: int) -> None:
        values = ", ".join(
            (
                string_literal(table),
                string_literal(version),
                kql_literal("long", row_count),
                kql_literal("datetime", dt.datetime.now(dt.UTC)),
            )
        )
        self._management(
            f".set-or-append {VERSION_TABLE} <| datatable({_column_decl(VERSION_SCHEMA)})[{values}]"
        )

    # -- lifetime ------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                with contextlib.suppress(Exception):
                    self._client.close()

    def __enter__(self) -> KustoRestEngine:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def load_telemetry(
    engine: KustoRestEngine,
    telemetry: Any,
    dataset_version: str,
    *,
    tables: Sequence[str] | None = None,
) -> dict[str, int]:
    """Load *telemetry*'s tables (all, or *tables*) unless already loaded at
    *dataset_version*; return table -> rows loaded (0 for a table skipped)."""
    source: Mapping[str, Sequence[Mapping[str, Any]]] = telemetry.tables
    wanted = list(tables) if tables is not None else sorted(source)
    recorded = engine.loaded_versions()
    present = set(engine.tables())
    loaded: dict[str, int] = {}
    for name in wanted:
        rows = source[name]
        previous = recorded.get(name)
        if previous == (dataset_version, len(rows)) and name in present:
            loaded[name] = 0
            continue
        loaded[name] = engine.load_table(name, rows)
        engine.record_version(name, dataset_version, len(rows))
    return loaded
