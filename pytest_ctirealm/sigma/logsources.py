"""Which table a Sigma rule's log source queries.

pySigma's Kusto pipelines pick tables by category only and map no Azure, Entra, Microsoft
365 or Kubernetes service; these are the services SigmaHQ uses (activitylogs, signinlogs,
auditlogs; kubernetes audit) plus names of our own for the tables SigmaHQ has no source
for.
"""

from __future__ import annotations

from collections.abc import Iterable

SERVICE_TABLES: dict[tuple[str, str], str] = {
    ("azure", "activitylogs"): "AzureActivity",
    ("azure", "signinlogs"): "SigninLogs",
    ("azure", "auditlogs"): "AuditLogs",
    ("azure", "serviceprincipalsigninlogs"): "AADServicePrincipalSignInLogs",
    ("azure", "graphactivitylogs"): "MicrosoftGraphActivityLogs",
    ("azure", "storagebloblogs"): "StorageBlobLogs",
    ("azure", "keyvault"): "AzureDiagnostics",
    ("m365", "audit"): "OfficeActivity",
    ("kubernetes", "audit"): "AKSAudit",
}

#: Kubernetes verbs that change state: AKS logs their requests in AKSAuditAdmin too.
MUTATING_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})


def service_table(product: str | None, service: str | None) -> str | None:
    """The table for (product, service), or None when we have no mapping."""
    return SERVICE_TABLES.get(((product or "").lower(), (service or "").lower()))


def kubernetes_table(verbs: Iterable[str]) -> str:
    """AKSAuditAdmin when the rule only matches state-changing verbs (that table holds
    them all, and only them); AKSAudit otherwise (reads are only there)."""
    verbs = {verb.lower() for verb in verbs}
    return "AKSAuditAdmin" if verbs and verbs <= MUTATING_VERBS else "AKSAudit"


def supported_logsources() -> list[str]:
    return [f"product: {p}, service: {s}" for p, s in SERVICE_TABLES] + [
        "product: linux, category: process_creation",
        "product: linux, category: file_event",
    ]
