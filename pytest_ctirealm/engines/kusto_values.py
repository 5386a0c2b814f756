"""Kusto values in and out of DuckDB: storage types, load-time coercion, result decoding.

Loading goes through Arrow because row-by-row inserts are about 1,000 times slower.
Values arrive as a Kusto JSON ingestion would give them (ISO datetimes, `hh:mm:ss`
timespans, JSON or Python objects for dynamic) or as the matching Python objects.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa

#: How each Kusto type is stored. `guid` is kept as text because duckdb-kql's string
#: operators (has, contains, startswith) refuse DuckDB's UUID type, while Kusto applies
#: them to guids; `dynamic` is DuckDB JSON, which duckdb-kql reads with dot and bracket
#: paths.
DUCKDB_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "int": "INTEGER",
    "long": "BIGINT",
    "real": "DOUBLE",
    "bool": "BOOLEAN",
    "datetime": "TIMESTAMP",
    "timespan": "INTERVAL",
    "dynamic": "JSON",
    "guid": "VARCHAR",
}

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


def to_arrow(kusto_type: str, values: Sequence[Any]) -> pa.Array:
    """One column's values as an Arrow array of the type DuckDB will store.

    Raises ValueError naming the first offending row (0-based) and value.
    """
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


def decode(kusto_type: str, value: Any) -> Any:
    """A result value as Python: dynamic JSON text parsed, datetimes in UTC."""
    if value is None:
        return None
    if kusto_type == "dynamic" and isinstance(value, str):
        return json.loads(value)
    if kusto_type == "datetime" and isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    if kusto_type == "guid" and isinstance(value, uuid.UUID):
        return str(value)
    return value


def to_json_value(value: Any) -> Any:
    """A decoded result value in the form Kusto's JSON responses use."""
    if isinstance(value, dt.datetime):
        text = value.astimezone(dt.UTC).replace(tzinfo=None).isoformat()
        return text + "Z"
    if isinstance(value, dt.timedelta):
        return format_timespan(value)
    if isinstance(value, float) and value != value:  # NaN
        return "NaN"
    return value


def format_timespan(span: dt.timedelta) -> str:
    """Kusto's timespan text: `[-][d.]hh:mm:ss[.fffffff]`."""
    sign = "-" if span < dt.timedelta(0) else ""
    span = abs(span)
    hours, rest = divmod(span.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{hours:02d}:{minutes:02d}:{seconds:02d}"
    if span.days:
        text = f"{span.days}.{text}"
    if span.microseconds:
        text += f".{span.microseconds * 10:07d}"
    return sign + text
