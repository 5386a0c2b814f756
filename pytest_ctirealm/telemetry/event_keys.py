"""The columns that identify one event in each table.

Scoring traces a detection's result rows back to events through these, so the
simulator guarantees them unique per table even where the real product does not:
Defender's ReportId is only unique per device (hence DeviceId + ReportId), and
storage and Key Vault logs repeat a CorrelationId across the operations of one request
(hence CorrelationId + OperationName; the simulator never repeats that pair).

AKS writes one audit stream into two tables: a write request appears in AKSAuditAdmin
and in AKSAudit under the same AuditId. It is one event, so both tables belong to one
event family and a detection over either table finds the same events.
"""

from __future__ import annotations

EVENT_KEYS: dict[str, tuple[str, ...]] = {
    "DeviceProcessEvents": ("DeviceId", "ReportId"),
    "DeviceFileEvents": ("DeviceId", "ReportId"),
    "AKSAudit": ("AuditId",),
    "AKSAuditAdmin": ("AuditId",),
    "AzureActivity": ("EventDataId",),
    "SigninLogs": ("Id",),
    "AADServicePrincipalSignInLogs": ("Id",),
    "AuditLogs": ("Id",),
    "MicrosoftGraphActivityLogs": ("RequestId",),
    "StorageBlobLogs": ("CorrelationId", "OperationName"),
    "AzureDiagnostics": ("CorrelationId", "OperationName"),
    "OfficeActivity": ("OfficeId",),
}

#: Tables whose rows are copies of another table's events (same key, same event).
EVENT_FAMILY: dict[str, str] = {"AKSAuditAdmin": "AKSAudit"}


def event_family(table: str) -> str:
    """The table an event is counted under."""
    return EVENT_FAMILY.get(table, table)
