"""The benchmark's telemetry: table schemas (and, later, the simulator)."""

from pytest_ctirealm.telemetry.schema import (
    KUSTO_TYPES,
    TABLE_ALIASES,
    ColumnSpec,
    SchemaError,
    TableSchema,
    benchmark_tables,
    table_schema,
)

__all__ = [
    "KUSTO_TYPES",
    "TABLE_ALIASES",
    "ColumnSpec",
    "SchemaError",
    "TableSchema",
    "benchmark_tables",
    "table_schema",
]
