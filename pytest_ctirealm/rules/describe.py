"""One line per telemetry event, for failure messages a detection engineer can read."""

from __future__ import annotations

import json
from typing import Any

from pytest_ctirealm.engines.kusto_values import to_json_value
from pytest_ctirealm.scoring.events import EventRef

#: The columns worth showing, in order, per kind of record.
_WHEN = ("Timestamp", "TimeGenerated")
_WHERE = (
    "DeviceName",
    "Computer",
    "ServicePrincipalName",
    "AccountName",
    "UserPrincipalName",
    "Caller",
    "UserId",
    "CallerIpAddress",
    "IPAddress",
)
_WHAT = (
    "ProcessCommandLine",
    "FolderPath",
    "OperationNameValue",
    "OperationName",
    "Operation",
    "RequestUri",
    "Verb",
    "ObjectRef",
    "AppDisplayName",
    "ResultType",
)


def _first(row: dict[str, Any], columns: tuple[str, ...], limit: int = 1) -> list[str]:
    found = []
    for column in columns:
        value = row.get(column)
        if value not in (None, ""):
            text = (
                value if isinstance(value, str) else json.dumps(to_json_value(value), default=str)
            )
            found.append(f"{column}={text}")
            if len(found) == limit:
                break
    return found


def describe(event: EventRef, row: dict[str, Any] | None, width: int = 160) -> str:
    table, key = event
    if row is None:
        return f"{table} {key}"
    parts = [table, *(_first(row, _WHEN)), *(_first(row, _WHERE)), *(_first(row, _WHAT, 2))]
    line = "  ".join(parts)
    return line if len(line) <= width else line[: width - 1] + "…"
