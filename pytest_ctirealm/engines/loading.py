"""Rows into DuckDB tables, through Arrow (row-by-row inserts are ~1,000x slower).

Values arrive as a Kusto JSON ingestion would give them (ISO datetimes, `hh:mm:ss`
timespans, JSON text or Python objects for dynamic) or as the matching Python objects.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pyarrow as pa
from duckdb import DuckDBPyConnection

from pytest_ctirealm.engines.diagnose import near_matches
from pytest_ctirealm.engines.errors import DataLoadError
from pytest_ctirealm.engines.kusto_values import DUCKDB_TYPES
from pytest_ctirealm.telemetry.schema import TableSchema

_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int": pa.int32(),
    "long": pa.int64(),
    "real": pa.float64(),
    "bool": pa.bool_(),
    "datetime": pa.timestamp("us"),
    "timespan": pa.duration("us"),
    "dynamic": pa.string(),
    "guid": pa.string(),
}

_TIMESPAN = re.compile(
    r"^(?P<sign>-)?(?:(?P<days>\d+)\.)?(?P<h>\d{1,2}):(?P<m>\d{2}):(?P<s>\d{2})(?:\.(?P<f>\d{1,7}))?$"
)


def _datetime(value: Any) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.strip())
    if isinstance(value, dt.datetime):
        stamp: dt.datetime = value
        if stamp.tzinfo is not None:
            stamp = stamp.astimezone(dt.UTC).replace(tzinfo=None)
        return stamp
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    raise TypeError(f"expected a datetime or an ISO 8601 string, got {type(value).__name__}")


def _timespan(value: Any) -> dt.timedelta | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.timedelta):
        return value
    if isinstance(value, str):
        match = _TIMESPAN.match(value.strip())
        if not match:
            raise ValueError(f"{value!r} is not a Kusto timespan ([-][d.]hh:mm:ss[.fffffff])")
        fraction = (match["f"] or "0").ljust(7, "0")
        span = dt.timedelta(
            days=int(match["days"] or 0),
            hours=int(match["h"]),
            minutes=int(match["m"]),
            seconds=int(match["s"]),
            microseconds=int(fraction) // 10,
        )
        return -span if match["sign"] else span
    raise TypeError(f"expected a timedelta or a Kusto timespan string, got {type(value).__name__}")


def _dynamic(value: Any) -> str | None:
    """Compact JSON text, as duckdb-kql wants it. Strings holding JSON objects or arrays
    are parsed first, as Kusto does when it ingests text into a dynamic column."""
    if value is None:
        return None
    if isinstance(value, str):
        stripped = value.strip()
        if stripped[:1] in ("{", "["):
            with contextlib.suppress(ValueError):
                value = json.loads(stripped)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _guid(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(uuid.UUID(str(value)))


_COERCE: dict[str, Callable[[Any], Any]] = {
    "datetime": _datetime,
    "timespan": _timespan,
    "dynamic": _dynamic,
    "guid": _guid,
}


def _fast_datetimes(values: Sequence[Any]) -> pa.Array | None:
    """Datetime objects (aware or naive-as-UTC) straight through Arrow, which converts
    aware ones to UTC itself; None when some value needs the slow path (text)."""
    try:
        return pa.array(values, type=pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us"))
    except (pa.ArrowException, TypeError, ValueError):
        return None


def to_arrow(kusto_type: str, values: Sequence[Any]) -> pa.Array:
    """One column's values as an Arrow array of the type DuckDB will store.

    Raises ValueError naming the first offending row (0-based) and value.
    """
    if kusto_type == "datetime":
        fast = _fast_datetimes(values)
        if fast is not None:
            return fast
    coerce = _COERCE.get(kusto_type)
    if coerce is not None:
        converted = []
        for index, value in enumerate(values):
            try:
                converted.append(coerce(value))
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"row {index}: {value!r} is not a valid {kusto_type} ({exc})"
                ) from None
        values = converted
    try:
        return pa.array(values, type=_ARROW_TYPES[kusto_type])
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        # Arrow says what failed but not where: find the first value that fails alone.
        for index, value in enumerate(values):
            try:
                pa.array([value], type=_ARROW_TYPES[kusto_type])
            except (pa.ArrowException, TypeError, ValueError, OverflowError):
                raise ValueError(f"row {index}: {value!r} is not a valid {kusto_type}") from None
        raise


def quote_identifier(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def rows_to_arrow(schema: TableSchema, rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """*rows* as an Arrow table of *schema*'s columns; DataLoadError names what is wrong."""
    known = set(schema.column_names)
    present: set[str] = set()
    for index, row in enumerate(rows):
        present.update(row)
        if not present <= known:
            extra = sorted(key for key in row if key not in known)[0]
            suggestions = near_matches(extra, schema.column_names)
            hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
            raise DataLoadError(
                f"Table '{schema.name}', row {index}: unknown column '{extra}'.{hint}"
            )
    arrays = {}
    for column in schema.columns:
        if column.name not in present:  # wide tables: most columns are often empty
            arrays[column.name] = pa.nulls(len(rows), _ARROW_TYPES[column.type])
            continue
        try:
            arrays[column.name] = to_arrow(column.type, [row.get(column.name) for row in rows])
        except ValueError as exc:
            raise DataLoadError(f"Table '{schema.name}', column '{column.name}': {exc}.") from None
    return pa.table(arrays)


def write_table(
    con: DuckDBPyConnection, schema: TableSchema, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Create *schema*'s table on *con* and insert *rows*."""
    arrow = rows_to_arrow(schema, rows)
    name = quote_identifier(schema.name)
    columns = ", ".join(
        f"{quote_identifier(c.name)} {DUCKDB_TYPES[c.type]}" for c in schema.columns
    )
    casts = ", ".join(
        f"CAST({quote_identifier(c.name)} AS {DUCKDB_TYPES[c.type]})" for c in schema.columns
    )
    con.execute(f"CREATE TABLE {name} ({columns})")
    con.register("ctirealm_load", arrow)
    try:
        con.execute(f"INSERT INTO {name} SELECT {casts} FROM ctirealm_load")
    finally:
        con.unregister("ctirealm_load")
