"""Table schemas: column names and Kusto types, for the 12 benchmark tables or any other.

The engines load tables from these, and the agent's `get_table_schema` tool reports them,
so the names and types must be the ones real Microsoft products use.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

#: The Kusto scalar types a column may have.
KUSTO_TYPES = frozenset(
    {"string", "int", "long", "real", "bool", "datetime", "timespan", "dynamic", "guid"}
)

#: Other spellings under which a table is also reachable. CTI-REALM's own data and
#: queries spell Entra ID sign-ins `SignInLogs`; Azure Monitor spells them `SigninLogs`.
TABLE_ALIASES: dict[str, str] = {"SignInLogs": "SigninLogs", "SigninLogs": "SignInLogs"}


class SchemaError(ValueError):
    """A table schema is malformed (unknown type, duplicate column, no columns)."""


@dataclass(frozen=True)
class ColumnSpec:
    """One column: its case-sensitive name and its Kusto type."""

    name: str
    type: str


@dataclass(frozen=True)
class TableSchema:
    """A table's name, its columns in order, the column that holds event time, and a
    note on what its rows are where a reader could guess wrong (shown by the tools)."""

    name: str
    columns: tuple[ColumnSpec, ...]
    time_column: str | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("_", "a").isalnum():
            raise SchemaError(f"table name {self.name!r} is not a valid Kusto identifier")
        if not self.columns:
            raise SchemaError(f"table {self.name!r} has no columns")
        seen: set[str] = set()
        for column in self.columns:
            if column.type not in KUSTO_TYPES:
                raise SchemaError(
                    f"table {self.name!r}, column {column.name!r}: unknown Kusto type "
                    f"{column.type!r} (expected one of {', '.join(sorted(KUSTO_TYPES))})"
                )
            # Kusto names are case-sensitive but DuckDB's are not: two columns that
            # differ only in case cannot both be stored faithfully.
            folded = column.name.lower()
            if folded in seen:
                raise SchemaError(
                    f"table {self.name!r}: column {column.name!r} is declared twice "
                    "(names are compared without case)"
                )
            seen.add(folded)
        if self.time_column is not None and self.time_column not in self.column_names:
            raise SchemaError(
                f"table {self.name!r}: time column {self.time_column!r} is not a column"
            )

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def column(self, name: str) -> ColumnSpec:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @classmethod
    def from_mapping(cls, name: str, columns: dict[str, str], **kwargs: Any) -> TableSchema:
        """Build a schema from ``{column: kusto_type}``, in the mapping's order."""
        return cls(name, tuple(ColumnSpec(c, t) for c, t in columns.items()), **kwargs)


@cache
def benchmark_tables() -> dict[str, TableSchema]:
    """The 12 tables of the benchmark, by name, from the packaged ``tables.yaml``."""
    text = resources.files("pytest_ctirealm.telemetry").joinpath("tables.yaml").read_text()
    raw = yaml.safe_load(text)
    return {
        name: TableSchema.from_mapping(
            name,
            spec["columns"],
            time_column=spec.get("time_column"),
            note=" ".join(spec.get("note", "").split()),
        )
        for name, spec in raw.items()
    }


def table_schema(name: str) -> TableSchema:
    """The schema of one benchmark table, by its name or an alias of it."""
    tables = benchmark_tables()
    if name in tables:
        return tables[name]
    if TABLE_ALIASES.get(name) in tables:
        return tables[TABLE_ALIASES[name]]
    raise KeyError(f"{name!r} is not one of the benchmark tables: {', '.join(sorted(tables))}")
