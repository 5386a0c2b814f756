"""Tracing result rows to events: by key, through unions and joins, by shared columns,
and rows that stand for no event."""

from __future__ import annotations

from typing import Any

from pytest_ctirealm.scoring.trace import RowTracer, tables_in_query
from pytest_ctirealm.workspace import Workspace


def run(workspace: Workspace, kql: str) -> list[dict[str, Any]]:
    return workspace.engine().query(kql, max_rows=1_000_000).records()


def tracer(workspace: Workspace) -> RowTracer:
    return RowTracer(workspace.telemetry.tables)


def first(workspace: Workspace, table: str) -> dict[str, Any]:
    return workspace.telemetry.tables[table][0]


def test_tables_are_found_in_the_query_by_name_and_alias() -> None:
    known = ["SigninLogs", "AuditLogs", "DeviceProcessEvents"]
    kql = "SignInLogs | join (AuditLogs | where X == 'DeviceProcessEventsX') on Id"
    assert tables_in_query(kql, known) == ["SigninLogs", "AuditLogs"]


def test_rows_keeping_the_key_are_their_events(workspace: Workspace) -> None:
    row = first(workspace, "DeviceProcessEvents")
    kql = f"DeviceProcessEvents | where DeviceId == '{row['DeviceId']}' and ReportId == {row['ReportId']}"
    trace = tracer(workspace).trace(run(workspace, kql), kql)
    assert trace.events == {("DeviceProcessEvents", (row["DeviceId"], row["ReportId"]))}
    assert (trace.by_key, trace.by_columns, trace.untraced) == (1, 0, 0)


def test_a_projection_without_the_key_is_traced_by_its_columns(workspace: Workspace) -> None:
    rows = workspace.telemetry.tables["DeviceProcessEvents"]
    commands = [r["ProcessCommandLine"] for r in rows]
    unique = next(r for r in rows if commands.count(r["ProcessCommandLine"]) == 1)
    command = unique["ProcessCommandLine"].replace("\\", "\\\\").replace("'", "\\'")
    kql = (
        f"DeviceProcessEvents | where ProcessCommandLine == '{command}' "
        "| project Timestamp, DeviceName, ProcessCommandLine"
    )
    trace = tracer(workspace).trace(run(workspace, kql), kql)
    assert trace.events == {("DeviceProcessEvents", (unique["DeviceId"], unique["ReportId"]))}
    assert trace.by_columns == 1


def test_an_aggregate_by_device_stands_for_every_event_of_the_device(
    workspace: Workspace,
) -> None:
    rows = workspace.telemetry.tables["DeviceProcessEvents"]
    device = rows[0]["DeviceName"]
    kql = f"DeviceProcessEvents | where DeviceName == '{device}' | summarize count() by DeviceName"
    trace = tracer(workspace).trace(run(workspace, kql), kql)
    expected = {
        ("DeviceProcessEvents", (r["DeviceId"], r["ReportId"]))
        for r in rows
        if r["DeviceName"] == device
    }
    assert trace.events == expected
    assert trace.rows == 1


def test_counts_and_computed_columns_are_untraced(workspace: Workspace) -> None:
    for kql in (
        "DeviceProcessEvents | count",
        "DeviceProcessEvents | summarize n = count() by Hour = bin(Timestamp, 1h)",
        "DeviceProcessEvents | project Command = tolower(ProcessCommandLine) | take 5",
    ):
        trace = tracer(workspace).trace(run(workspace, kql), kql)
        assert trace.events == set(), kql
        assert trace.untraced == trace.rows > 0, kql
        assert "untraced" in trace.explain()


def test_a_union_is_traced_per_table_with_or_without_type(workspace: Workspace) -> None:
    signin, audit = first(workspace, "SigninLogs"), first(workspace, "AuditLogs")
    expected = {("SigninLogs", (signin["Id"],)), ("AuditLogs", (audit["Id"],))}
    for projection in ("Id, Type", "Id"):
        kql = (
            f"union SigninLogs, AuditLogs | where Id in ('{signin['Id']}', '{audit['Id']}') "
            f"| project {projection}"
        )
        assert tracer(workspace).trace(run(workspace, kql), kql).events == expected


def test_a_join_row_stands_for_the_events_of_both_sides(workspace: Workspace) -> None:
    signin, audit = first(workspace, "SigninLogs"), first(workspace, "AuditLogs")
    kql = (
        f"SigninLogs | where Id == '{signin['Id']}' | extend k = 1 "
        f"| join kind=inner (AuditLogs | where Id == '{audit['Id']}' | extend k = 1) on k"
    )
    trace = tracer(workspace).trace(run(workspace, kql), kql)
    assert trace.events == {("SigninLogs", (signin["Id"],)), ("AuditLogs", (audit["Id"],))}


def test_aks_admin_rows_count_as_the_same_audit_event(workspace: Workspace) -> None:
    """A write is in both audit tables: one event from either, and once from both (the
    tools' table notes promise it)."""
    row = first(workspace, "AKSAuditAdmin")
    for source in ("AKSAudit", "AKSAuditAdmin", "union AKSAudit, AKSAuditAdmin"):
        kql = f"{source} | where AuditId == '{row['AuditId']}'"
        result = run(workspace, kql)
        trace = tracer(workspace).trace(result, kql)
        assert trace.events == {("AKSAudit", (row["AuditId"],))}


def test_a_key_value_from_another_table_is_not_an_event(workspace: Workspace) -> None:
    audit = first(workspace, "AuditLogs")
    # A SigninLogs query whose Id column holds an AuditLogs id: no SigninLogs event has it.
    kql = f"SigninLogs | take 1 | project Id = '{audit['Id']}'"
    trace = tracer(workspace).trace(run(workspace, kql), kql)
    assert trace.events == set()
    assert trace.untraced == 1
