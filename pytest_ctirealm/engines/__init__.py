"""Engines: one protocol to run KQL, and its implementations (embedded DuckDB first)."""

from pytest_ctirealm.engines.embedded import EmbeddedEngine
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
from pytest_ctirealm.engines.protocol import Engine, QueryLimits, QueryResult

__all__ = [
    "DataLoadError",
    "EmbeddedEngine",
    "Engine",
    "EngineError",
    "QueryExecutionError",
    "QueryLimits",
    "QueryNotAllowedError",
    "QueryResourceError",
    "QueryResult",
    "QuerySyntaxError",
    "QueryTimeoutError",
    "UnknownColumnError",
    "UnknownTableError",
    "UnsupportedQueryError",
]
