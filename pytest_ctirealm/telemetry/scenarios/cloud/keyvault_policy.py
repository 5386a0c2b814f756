"""Key Vault access-policy abuse: denied, self-granted, then secrets read."""

from __future__ import annotations

from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.benign import azure_activity as arm
from pytest_ctirealm.telemetry.benign import entra, keyvault
from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.scenarios.base import Stages, incident_start, scenario
from pytest_ctirealm.telemetry.scenarios.cloud.common import (
    PYTHON_REQUESTS,
    Attack,
    Infra,
    arm_operation,
    user_arm_caller,
)

#: Whose account the intrusion starts from.
VICTIM = "sofia.jansen"
KEYVAULT_INFRA = Infra(
    "192.0.2.140", "20473", entra.Place("Piscataway", "New Jersey", "US", 40.4993, -74.399)
)


# --------------------------------------------------------------------------------------
# 2. Key Vault access-policy abuse
# --------------------------------------------------------------------------------------

_STOLEN_SECRETS = (
    "api-db-connection",
    "pg-backup-password",
    "web-session-key",
    "smtp-password",
    "invoice-api-key",
    "acr-pull-token",
    "backup-sas-signing",
    "hr-api-token",
    "api-jwt-signing",
    "sql-admin-password",
)
_AZ_PIP = (
    "AZURECLI/2.61.0 (PIP) azsdk-python-mgmt-keyvault/10.3.0 Python/3.11.9 "
    "(Linux-6.8.0-1014-aws-x86_64-with-glibc2.39)"
)


@scenario(
    "keyvault_policy_abuse",
    "cloud",
    ("denied", "policy_grant", "policy_notice", "policy_audit", "secret_reads"),
)
def keyvault_policy_abuse(ctx: SimContext) -> Stages:
    """With a helpdesk admin's stolen tokens (Contributor on the data resource group but
    no secret access), the intruder is refused a secret listing, writes an access policy
    that grants that same identity get and list, and reads every secret in the vault."""
    a = Attack(ctx, "keyvault_policy_abuse", incident_start(ctx, "keyvault_policy_abuse", (19, 23)))
    sofia = env.person(VICTIM)
    vault = keyvault._PROD_VAULT
    ip = KEYVAULT_INFRA.ip
    reader = keyvault._person_identity(VICTIM, env.AZURE_CLI)
    refused = keyvault._Call("SecretList", "secrets", "secrets", 403, "&maxresults=25")
    a.add(
        "denied",
        "AzureDiagnostics",
        keyvault._vault_row(a.rng, a.now, vault, refused, reader, ip, PYTHON_REQUESTS),
    )
    a.wait(60, 200)
    caller = user_arm_caller(sofia, env.AZURE_CLI, "Contributor")
    vault_id = arm._arm_id(vault, "Microsoft.KeyVault/vaults")
    body = {
        "properties": {
            "accessPolicies": [
                {
                    "tenantId": env.TENANT_ID,
                    "objectId": sofia.object_id,
                    "permissions": {"secrets": ["get", "list"], "keys": [], "certificates": []},
                }
            ]
        }
    }
    rows, policy = arm_operation(
        a, caller, ip, arm._VAULT_POLICY, f"{vault_id}/accessPolicies/add", request=body
    )
    a.add("policy_grant", "AzureActivity", *rows)
    a.add("policy_audit", "AzureActivity", *policy)
    a.wait(0.5, 2)
    patch = keyvault._arm_vault_row(
        a.rng, a.now, vault, "VaultPatch", reader, ip, _AZ_PIP, "/accessPolicies/add"
    )
    patch["CorrelationId"] = rows[0]["CorrelationId"]
    a.add("policy_grant", "AzureDiagnostics", patch)
    a.wait(1, 5)
    notice = keyvault._vault_row(
        a.rng,
        a.now,
        vault,
        keyvault._Call("VaultAccessPolicyChangedEventGridNotification", ""),
        None,
        a.rng.choice(keyvault._AZURE_SERVICE_IPS),
        None,
    )
    for column in ("httpStatusCode_d", "requestUri_s"):
        notice.pop(column)
    a.add("policy_notice", "AzureDiagnostics", notice)
    a.wait(40, 120)
    calls = [keyvault._SECRET_LIST] + [keyvault._secret_get(name) for name in _STOLEN_SECRETS]
    for call in calls:
        a.add(
            "secret_reads",
            "AzureDiagnostics",
            keyvault._vault_row(a.rng, a.now, vault, call, reader, ip, PYTHON_REQUESTS),
        )
        a.wait(0.4, 3)
    return a.stages
