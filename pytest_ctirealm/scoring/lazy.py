"""The laziest answers that could pass a task, written out as KQL.

Every scoring or dataset change is tried against them: they must score (close to)
nothing on telemetry the agent never saw. They are what an agent that looked things up
instead of detecting would submit:

- `in-list`: the explored telemetry's positive events pinned by id
  (`where DeviceId in (...) and ReportId in (...)`, or the table's own key columns);
- `datatable`: the same ids as a `datatable`, the real table named only in a comment;
- `report indicators`: every indicator the task's reports quote, looked up in the
  columns of the task's tables that could hold it;
- `take 10` and `whole table`: the task's tables, unfiltered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pytest_ctirealm.dataset import Report, Task
from pytest_ctirealm.telemetry.event_keys import EVENT_KEYS
from pytest_ctirealm.telemetry.schema import benchmark_tables
from pytest_ctirealm.telemetry.simulator import Telemetry

#: Columns an analyst looks an indicator up in, where a table has them: command lines,
#: paths and hashes; addresses, user agents and accounts; request paths and the objects
#: written; the targets and initiators of directory changes; files and mail items.
INDICATOR_COLUMNS = (
    "ProcessCommandLine",
    "InitiatingProcessCommandLine",
    "FolderPath",
    "FileName",
    "AccountName",
    "SHA256",
    "RequestUri",
    "UserAgent",
    "SourceIps",
    "User",
    "ObjectRef",
    "RequestObject",
    "IPAddress",
    "UserPrincipalName",
    "UserId",
    "AppId",
    "AppDisplayName",
    "ServicePrincipalName",
    "ServicePrincipalCredentialKeyId",
    "InitiatedBy",
    "TargetResources",
    "AdditionalDetails",
    "Caller",
    "CallerIpAddress",
    "CallerIPAddress",
    "ResourceId",
    "Properties",
    "Claims",
    "requestUri_s",
    "id_s",
    "clientInfo_s",
    "ClientIP",
    "Parameters",
    "SourceFileName",
    "OfficeObjectId",
    "ClientInfoString",
    "Item",
    "Uri",
    "UserAgentHeader",
    "ObjectKey",
)


def kql_text(value: object) -> str:
    """*value* as a KQL literal: a verbatim string, or the number itself."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return '@"' + str(value).replace('"', '""') + '"'
    return str(value)


def _union(parts: Sequence[str]) -> str:
    if len(parts) == 1:
        return parts[0]
    return "union " + ", ".join(f"({part})" for part in parts)


def _keys_by_table(task: Task, telemetry: Telemetry) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    for table, keys in telemetry.positives(list(task.positives)).items():
        out.setdefault(table, []).extend(keys)
    return dict(sorted(out.items()))


def pinned_in_list(task: Task, telemetry: Telemetry) -> str:
    """The explored positives pinned by their key columns' values."""
    parts = []
    for table, keys in _keys_by_table(task, telemetry).items():
        clauses = [
            f"{column} in ({', '.join(sorted({kql_text(key[i]) for key in keys}))})"
            for i, column in enumerate(EVENT_KEYS[table])
        ]
        parts.append(f"{table} | where {' and '.join(clauses)}")
    return _union(parts)


def pinned_datatable(task: Task, telemetry: Telemetry) -> str:
    """The explored positives' keys as a datatable; the table named only in a comment."""
    schemas = benchmark_tables()
    parts = []
    for table, keys in _keys_by_table(task, telemetry).items():
        columns = EVENT_KEYS[table]
        types = {c.name: c.type for c in schemas[table].columns}
        header = ", ".join(f"{c}: {types[c]}" for c in columns)
        values = ", ".join(kql_text(value) for key in keys for value in key)
        parts.append(f"// {table}\ndatatable({header}) [{values}] | extend Type = '{table}'")
    return _union(parts)


def indicator_lookup(task: Task, reports: Mapping[str, Report]) -> str | None:
    """Every indicator of the task's reports, looked up in its tables (None: the reports
    list no indicators)."""
    values = [v for report in task.reports for v in reports[report].indicator_values]
    if not values:
        return None
    schemas = benchmark_tables()
    parts = []
    for table in task.tables:
        present = [c for c in INDICATOR_COLUMNS if c in schemas[table].column_names]
        if not present:
            continue
        clauses = [
            f"tostring({column}) contains {kql_text(v)}" for v in values for column in present
        ]
        parts.append(f"{table} | where {_any(clauses)}")
    return _union(parts) if parts else None


def _any(clauses: Sequence[str]) -> str:
    """The clauses joined by `or` as a balanced tree: hundreds of them stay shallow
    enough for the engine to translate."""
    if len(clauses) == 1:
        return clauses[0]
    middle = len(clauses) // 2
    return f"({_any(clauses[:middle])} or {_any(clauses[middle:])})"


def unfiltered(tables: Iterable[str]) -> dict[str, str]:
    """The task's tables as they are: the first ten rows, and every row (reduced to the
    key columns, which is the same events)."""
    projected = [f"{t} | project {', '.join(['Type', *EVENT_KEYS[t]])}" for t in tables]
    rows = _union(projected)
    return {"take 10": f"{rows} | take 10", "whole table": rows}


def lazy_answers(task: Task, explored: Telemetry, reports: Mapping[str, Report]) -> dict[str, str]:
    """Every lazy answer to *task*, named, pinned to the *explored* telemetry."""
    answers = {
        "in-list": pinned_in_list(task, explored),
        "datatable": pinned_datatable(task, explored),
        **unfiltered(task.tables),
    }
    indicators = indicator_lookup(task, reports)
    if indicators is not None:
        answers["report indicators"] = indicators
    return answers
