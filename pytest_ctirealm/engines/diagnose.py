"""Turns what duckdb-kql and DuckDB raise into the engine's own errors.

Their messages talk about generated SQL (CTE names, `LINE 1: WITH _s0 ...`), which
means nothing to someone who wrote KQL; ours name the KQL table or column, offer near
matches, and say what to change.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence

import duckdb
import duckdb_kql

from pytest_ctirealm.engines.errors import (
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

#: Table name -> column names, for near-match suggestions.
Catalog = Mapping[str, Sequence[str]]

_MISSING_TABLE = re.compile(r"Table with name ([^\s!]+) does not exist")
_QUOTED = re.compile(r'"+([^"]+)"+')
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def near_matches(name: str, candidates: Sequence[str], limit: int = 3) -> list[str]:
    """Candidates that look like *name*, compared without case, best first."""
    folded: dict[str, str] = {}
    for candidate in candidates:
        folded.setdefault(candidate.lower(), candidate)
    exact = folded.get(name.lower())
    if exact is not None and exact != name:
        return [exact]
    matches = difflib.get_close_matches(name.lower(), list(folded), n=limit, cutoff=0.6)
    return [folded[m] for m in matches]


def _first_line(message: str) -> str:
    """DuckDB's message without the generated-SQL excerpt and its own guesses."""
    head = message.split("\n\nLINE", 1)[0].split("\nDid you mean", 1)[0]
    head = re.sub(r"^[A-Za-z ]+ Error: ", "", head.strip())
    return " ".join(head.split())


def _columns_in_scope(query: str, catalog: Catalog) -> list[str]:
    words = set(_WORD.findall(query))
    tables = [t for t in catalog if t in words] or list(catalog)
    return sorted({c for t in tables for c in catalog[t]})


def _missing_column(message: str, query: str, catalog: Catalog) -> str | None:
    """The name DuckDB could not bind, when the KQL used it and no table has it.

    DuckDB words this several ways ("not found in FROM clause", "cannot be referenced
    before it is defined", "aliases cannot be used ... in the GROUP BY"); all quote it.
    """
    words = set(_WORD.findall(query))
    known = {c for columns in catalog.values() for c in columns}
    for name in _QUOTED.findall(message):
        if name in words and name not in known:
            return str(name)
    return None


def from_translation(exc: Exception, query: str, catalog: Catalog) -> EngineError:
    """An error raised while parsing or translating KQL."""
    if isinstance(exc, duckdb_kql.KqlSyntaxError):
        first = exc.diagnostics[0] if exc.diagnostics else None
        where = f" at line {first.span.line}, column {first.span.column}" if first else ""
        detail = f": {first.message}" if first else ""
        return QuerySyntaxError(
            f"KQL syntax error{where}{detail}.",
            line=first.span.line if first else None,
            column=first.span.column if first else None,
            hint="Check the operator spelling, pipes (|) and quotes near that position.",
        )
    if isinstance(exc, duckdb_kql.KqlUnsupportedError):
        construct = exc.construct
        if construct.startswith(("control command", "ingestion command")):
            return QueryNotAllowedError(
                "This engine is read-only: control and ingestion commands are not allowed.",
                hint="Write a query that starts with a table name, datatable, print or range.",
            )
        return UnsupportedQueryError(
            f"The embedded engine does not support {construct}.",
            hint=(exc.hint + ". " if exc.hint else "")
            + "Rewrite that part with other operators or functions.",
        )
    if isinstance(exc, duckdb_kql.KqlSchemaError):
        if "unknown table" in (exc.hint or ""):
            suggestions = near_matches(exc.name, list(catalog))
            return UnknownTableError(exc.name, suggestions, sorted(catalog))
        return QueryExecutionError(f"Schema error for '{exc.name}'.", hint=exc.hint)
    if isinstance(exc, duckdb_kql.KqlError):
        return QueryExecutionError(str(exc))
    # The translator failed in a way it did not plan for (a bug, or a recursion limit
    # on a pathological query): still an answer the caller can act on.
    return UnsupportedQueryError(
        f"The embedded engine could not translate this query ({type(exc).__name__}).",
        hint="Simplify the query or rewrite the failing part.",
    )


def from_execution(
    exc: duckdb.Error, query: str, catalog: Catalog, timed_out: bool, timeout: float | None
) -> EngineError:
    """An error DuckDB raised while running translated SQL."""
    message = str(exc)
    if isinstance(exc, duckdb.InterruptException):
        if timed_out:
            return QueryTimeoutError(
                f"The query ran longer than the {timeout:g} s limit and was cancelled.",
                hint="Filter early (where on indexed text first), avoid wide joins, "
                "or summarize before joining.",
            )
        return QueryExecutionError("The query was interrupted.")
    if isinstance(exc, duckdb.OutOfMemoryException):
        return QueryResourceError(
            "The query needed more memory than the engine allows.",
            hint="Filter earlier, project fewer columns, or summarize instead of "
            "returning every row.",
        )
    if isinstance(exc, duckdb.PermissionException):
        return QueryNotAllowedError(
            "The query tried to reach files or settings outside the database."
        )
    if isinstance(exc, duckdb.CatalogException):
        table = _MISSING_TABLE.search(message)
        if table:
            name = table.group(1).strip('"')
            return UnknownTableError(name, near_matches(name, list(catalog)), sorted(catalog))
        return UnsupportedQueryError(_first_line(message))
    if isinstance(exc, duckdb.BinderException):
        missing = _missing_column(message, query, catalog)
        if missing is not None:
            return UnknownColumnError(
                missing, near_matches(missing, _columns_in_scope(query, catalog))
            )
        return QueryExecutionError(
            _first_line(message),
            hint="Check the types of the values being compared or passed to functions "
            "(tostring(), toint(), todatetime() convert).",
        )
    if isinstance(exc, duckdb.ConversionException) and "to BOOL" in message:
        return QueryExecutionError(
            _first_line(message),
            hint="A where clause needs a true/false condition; to compare values use "
            "== (a single = assigns).",
        )
    return QueryExecutionError(_first_line(message))
