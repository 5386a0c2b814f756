"""Kusto values as DuckDB stores them and as results hand them back.

`guid` is kept as text because duckdb-kql's string operators (has, contains, startswith)
refuse DuckDB's UUID type while Kusto applies them to guids; `dynamic` is DuckDB JSON,
which duckdb-kql reads with dot and bracket paths.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

#: How each Kusto type is stored.
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
