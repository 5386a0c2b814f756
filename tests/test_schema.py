"""The 12 benchmark tables carry the real column names and Kusto types."""

from __future__ import annotations

import pytest

from pytest_ctirealm.telemetry import (
    KUSTO_TYPES,
    ColumnSpec,
    SchemaError,
    TableSchema,
    benchmark_tables,
    table_schema,
)

EXPECTED_TABLES = {
    "AADServicePrincipalSignInLogs",
    "AKSAudit",
    "AKSAuditAdmin",
    "AuditLogs",
    "AzureActivity",
    "AzureDiagnostics",
    "DeviceFileEvents",
    "DeviceProcessEvents",
    "MicrosoftGraphActivityLogs",
    "OfficeActivity",
    "SigninLogs",
    "StorageBlobLogs",
}


def test_the_twelve_tables_are_packaged() -> None:
    tables = benchmark_tables()
    assert set(tables) == EXPECTED_TABLES
    for schema in tables.values():
        assert schema.time_column == "TimeGenerated"
        assert {c.type for c in schema.columns} <= KUSTO_TYPES


@pytest.mark.parametrize(
    ("table", "column", "kusto_type"),
    [
        ("DeviceProcessEvents", "ProcessCommandLine", "string"),
        ("DeviceProcessEvents", "AdditionalFields", "dynamic"),
        ("DeviceProcessEvents", "ProcessId", "long"),
        ("AKSAudit", "ObjectRef", "dynamic"),
        ("AKSAudit", "User", "dynamic"),
        ("SigninLogs", "DeviceDetail", "dynamic"),
        ("SigninLogs", "AuthenticationDetails", "string"),
        ("AADServicePrincipalSignInLogs", "LocationDetails", "string"),
        ("AzureActivity", "Properties", "string"),
        ("AzureDiagnostics", "clientIP_s", "string"),
    ],
)
def test_columns_keep_their_real_types(table: str, column: str, kusto_type: str) -> None:
    assert table_schema(table).column(column).type == kusto_type


def test_the_cti_realm_spelling_of_sign_in_logs_resolves() -> None:
    assert table_schema("SignInLogs").name == "SigninLogs"


def test_case_colliding_columns_are_kept_once() -> None:
    names = [c.name.lower() for t in benchmark_tables().values() for c in t.columns]
    per_table = [[c.name.lower() for c in t.columns] for t in benchmark_tables().values()]
    assert all(len(cols) == len(set(cols)) for cols in per_table)
    assert names


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ((), "has no columns"),
        ((ColumnSpec("a", "text"),), "unknown Kusto type 'text'"),
        ((ColumnSpec("a", "string"), ColumnSpec("A", "long")), "declared twice"),
    ],
)
def test_malformed_schemas_are_refused(columns: tuple[ColumnSpec, ...], message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        TableSchema("Custom", columns)
