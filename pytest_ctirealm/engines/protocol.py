"""The engine protocol every part of the benchmark queries through, and its result type.

Agents' tools, the scorer and the rule validator only ever see this, so the embedded
engine and a real Kusto cluster are interchangeable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from pytest_ctirealm.engines.kusto_values import to_json_value
from pytest_ctirealm.telemetry.schema import ColumnSpec, TableSchema

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B)\s*$", re.IGNORECASE)


def memory_bytes(limit: str) -> int:
    """`'4GB'` / `'512MiB'` as bytes (decimal and binary units both read as powers of 2)."""
    match = _SIZE.match(limit)
    if not match:
        raise ValueError(f"memory limit {limit!r} is not a size like '4GB' or '512MB'")
    power = "KMGT".index(match.group(2)[0].upper()) + 1
    return int(float(match.group(1)) * 1024**power)


@dataclass(frozen=True)
class QueryLimits:
    """Bounds on one query: rows returned, seconds of run time, engine memory."""

    max_rows: int = 100_000
    timeout: float = 30.0
    memory_limit: str = "4GB"

    def __post_init__(self) -> None:
        if self.max_rows < 0:
            raise ValueError(f"max_rows must be >= 0, got {self.max_rows}")
        if self.timeout <= 0:
            raise ValueError(f"timeout must be > 0 seconds, got {self.timeout}")
        memory_bytes(self.memory_limit)


@dataclass(frozen=True)
class QueryResult:
    """Columns (name and Kusto type) and rows of one query.

    `truncated` says the row cap cut the result: `rows` holds the first `max_rows`.
    Values are Python objects: dynamic values parsed from JSON, datetimes in UTC.
    """

    columns: tuple[ColumnSpec, ...]
    rows: list[tuple[Any, ...]]
    truncated: bool = False
    elapsed: float = 0.0
    translate_elapsed: float = 0.0

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def records(self) -> list[dict[str, Any]]:
        """Rows as dicts keyed by column name."""
        names = self.column_names
        return [dict(zip(names, row, strict=True)) for row in self.rows]

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-ready form: datetimes as ISO 8601 `...Z`, timespans as Kusto text."""
        return {
            "columns": [{"name": c.name, "type": c.type} for c in self.columns],
            "rows": [[to_json_value(v) for v in row] for row in self.rows],
            "row_count": len(self.rows),
            "truncated": self.truncated,
        }


@runtime_checkable
class Engine(Protocol):
    """Runs KQL over a set of tables, read-only."""

    def query(
        self, kql: str, *, max_rows: int | None = None, timeout: float | None = None
    ) -> QueryResult:
        """Run *kql*; raise an `EngineError` subclass when it cannot."""
        ...

    def tables(self) -> list[str]:
        """Names of the tables a query can read, sorted."""
        ...

    def schema(self, table: str) -> TableSchema:
        """Columns and Kusto types of *table* (raises UnknownTableError)."""
        ...

    def close(self) -> None:
        """Release the engine's resources."""
        ...
