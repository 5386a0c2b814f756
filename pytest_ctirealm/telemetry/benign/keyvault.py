"""Benign AzureDiagnostics: Key Vault audit events and NSG rule logs, in Azure diagnostics mode.

Key Vault: the apps' identities re-read their secrets whenever a cache expires (the AKS
Secrets Store CSI driver every ten minutes, the VMs' apps every half hour or hour), SDKs
open with a 401 `Authentication` challenge, Azure Resource Graph and Policy Insights call
`VaultGet` through ARM, the CI deploys list and set secrets, every vault write through ARM
(the deploys' access policies, the admins' settings and grants) is relayed to the vault
under ARM's CorrelationId, and admins use the CLI on the dev vault and the portal on the
prod one (with the odd 403). NSG: hourly rule counters per NIC and rule that matched, and
the daily event listing each NIC's effective rules.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.benign.azure_activity import (
    _FUNCTION_IPS,
    _admin_work,
    _arm_id,
    _ci_deploys,
    _ci_runs,
)
from pytest_ctirealm.telemetry.context import SimContext, daily_rows, guid, hex_string

_TABLE = "AzureDiagnostics"
_STREAM = "keyvault"
_PROD_VAULT = "kv-contoso-prod"
_DEV_VAULT = "kv-contoso-dev"
#: Vaults that authorise with Azure RBAC; the others use access policies.
_RBAC_VAULTS = (_DEV_VAULT,)
#: Addresses Azure's own services call from (Resource Graph, Policy, Storage).
_AZURE_SERVICE_IPS = ("20.50.64.12", "20.61.98.7", "51.105.77.33")

_PYTHON = (
    "azsdk-python-keyvault-secrets/4.8.0 Python/3.10.12 "
    "(Linux-5.15.0-1061-azure-x86_64-with-glibc2.35)"
)
_JAVA = "azsdk-java-azure-security-keyvault-secrets/4.8.3 (17.0.10; Linux; 5.15.0-1061-azure)"
_CSI = "csi-secrets-store/v1.4.4 azsdk-go-azsecrets/v1.1.0 (go1.22.5; linux)"
_DOTNET = "azsdk-net-Security.KeyVault.Secrets/4.6.0 (.NET 8.0.8; Microsoft Windows 10.0.20348)"
_CLI_LINUX = (
    "AZURECLI/2.64.0 (DEB) azsdk-python-keyvault-secrets/4.8.0 Python/3.11.8 "
    "(Linux-6.5.0-1025-azure-x86_64-with-glibc2.35)"
)
_CLI_WINDOWS = (
    "AZURECLI/2.63.0 (MSI) azsdk-python-keyvault-secrets/4.8.0 Python/3.11.8 "
    "(Windows-10-10.0.22631-SP0)"
)
_BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.0.0 Safari/537.36 Edg/122.0.2365.66"
)
_RESOURCE_GRAPH = "AzureResourceGraph.IngestionWorkerService.global/1.24.1.672"
_POLICY_INSIGHTS = "PolicyInsights.DataPlane/1.0.0.0"

# --- Identities ------------------------------------------------------------------------


_LONG_OID = "identity_claim_http_schemas_microsoft_com_identity_claims_objectidentifier_g"
_LONG_UPN = "identity_claim_http_schemas_xmlsoap_org_ws_2005_05_identity_claims_upn_s"


@dataclass(frozen=True)
class _Identity:
    """A caller's token as Key Vault flattens it into identity_claim_* columns."""

    object_id: str
    app_id: str
    upn: str | None = None
    mi_resource: str | None = None

    def claims(self, ip: str, via_arm: bool) -> dict[str, Any]:
        """Data-plane calls log short claim names; calls relayed by ARM log the long ones."""
        if via_arm:
            claims: dict[str, Any] = {
                _LONG_OID: self.object_id,
                "identity_claim_appid_g": self.app_id,
            }
            if self.upn:
                claims[_LONG_UPN] = self.upn
            return claims
        claims = {"identity_claim_oid_g": self.object_id, "identity_claim_appid_g": self.app_id}
        if self.upn:
            claims.update(
                {
                    "identity_claim_upn_s": self.upn,
                    "identity_claim_unique_name_s": self.upn,
                    "identity_claim_ipaddr_s": ip,
                }
            )
        if self.mi_resource:
            claims["identity_claim_xms_mirid_s"] = self.mi_resource
        return claims


def _app_identity(name: str) -> _Identity:
    app = env.application(name)
    mirid = None
    if app.kind == "managed-identity":
        mirid = _arm_id(name, "Microsoft.ManagedIdentity/userAssignedIdentities")
    return _Identity(app.object_id, app.app_id, mi_resource=mirid)


def _person_identity(alias: str, app: env.App) -> _Identity:
    person = env.person(alias)
    return _Identity(person.object_id, app.app_id, upn=person.upn)


def _first_party(name: str, app_id: str) -> _Identity:
    return _Identity(env.stable_guid("sp", name), app_id)


_RESOURCE_GRAPH_ID = _first_party("Azure Resource Graph", "509e4652-da8d-478d-a730-e9d4a1996ca4")
_POLICY_ID = _first_party("Azure Policy Insights", "8cae6e77-e04e-42ce-b5cb-50d82bce26b1")
_STORAGE_CMK = _Identity(
    env.stable_guid("mi", "stcontosobackup"),
    env.stable_guid("app", "stcontosobackup"),
    mi_resource=_arm_id("stcontosobackup", "Microsoft.Storage/storageAccounts"),
)

# --- Rows ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Call:
    """One Key Vault request: operation, request path, the item it names, the HTTP status."""

    operation: str
    path: str  # after https://<vault>.vault.azure.net/
    item: str = ""  # id_s after the vault URL
    status: int = 200
    query: str = ""


_RESULTS = {
    200: ("Success", "OK"),
    401: ("Success", "Unauthorized"),
    403: ("Forbidden", "Forbidden"),
    404: ("NotFound", "NotFound"),
}
_DURATIONS = {"SecretList": (20, 120), "SecretSet": (30, 160), "Authentication": (1, 20)}


def _resource_columns(arm_id: str, provider: str, resource_type: str) -> dict[str, Any]:
    """The columns every AzureDiagnostics row carries about the resource that logged it."""
    subscription = arm_id.split("/")[2]
    return {
        "ResourceId": arm_id.upper(),
        "_ResourceId": arm_id.lower(),
        "SubscriptionId": subscription,
        "_SubscriptionId": subscription,
        "ResourceGroup": arm_id.split("/")[4].upper(),
        "ResourceProvider": provider,
        "ResourceType": resource_type,
        "Resource": arm_id.rsplit("/", 1)[1].upper(),
    }


def _vault_row(
    rng: random.Random,
    when: dt.datetime,
    vault: str,
    call: _Call,
    who: _Identity | None,
    ip: str,
    client: str | None,
    version: str = "7.4",
) -> dict[str, Any]:
    """One AuditEvent row for a data-plane request to *vault*."""
    result, signature = _RESULTS[call.status]
    low, high = _DURATIONS.get(call.operation, (4, 45))
    url = f"https://{vault}.vault.azure.net/"
    row: dict[str, Any] = {
        "TimeGenerated": when,
        **_resource_columns(
            _arm_id(vault, "Microsoft.KeyVault/vaults"), "MICROSOFT.KEYVAULT", "VAULTS"
        ),
        "Category": "AuditEvent",
        "OperationName": call.operation,
        "OperationVersion": version,
        "ResultType": result,
        "ResultSignature": signature,
        "DurationMs": rng.randint(low, high),
        "CallerIPAddress": ip,
        "CorrelationId": guid(rng),
        "requestUri_s": f"{url}{call.path}?api-version={version}{call.query}",
        "httpStatusCode_d": float(call.status),
    }
    if call.status != 401:
        row["id_s"] = url + call.item
    if client:
        row["clientInfo_s"] = client
    if who is not None and call.status != 401:
        row.update(who.claims(ip, via_arm=False))
        granted = call.status != 403
        flag = "isRbacAuthorized_b" if vault in _RBAC_VAULTS else "isAccessPolicyMatch_b"
        row[flag] = granted
        if not granted:
            row["ResultDescription"] = _denial(vault, call, who)
    return row


#: The data action an RBAC vault checks for each secret operation.
_RBAC_ACTIONS = {
    "SecretGet": "Microsoft.KeyVault/vaults/secrets/getSecret/action",
    "SecretList": "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
    "SecretSet": "Microsoft.KeyVault/vaults/secrets/setSecret/action",
}


def _denial(vault: str, call: _Call, who: _Identity) -> str:
    """Why Key Vault refused: a missing access-policy permission, or (RBAC) no role."""
    if vault not in _RBAC_VAULTS:
        permission = call.operation.removeprefix("Secret").lower()
        return (
            f"The user, group or application 'appid={who.app_id};oid={who.object_id}' does "
            f"not have secrets {permission} permission on key vault "
            f"'{vault};location={env.LOCATION}'."
        )
    resource = _arm_id(vault, "Microsoft.KeyVault/vaults").lower()
    if call.item.startswith("secrets/") and call.operation != "SecretList":
        resource += "/secrets/" + call.item.split("/")[1]
    action = _RBAC_ACTIONS.get(
        call.operation, "Microsoft.KeyVault/vaults/secrets/readMetadata/action"
    )
    return (
        "Caller is not authorized to perform action on resource.\r\nIf role assignments, deny "
        "assignments or role definitions were changed recently, please observe propagation "
        f"time.\r\nCaller: appid={who.app_id};oid={who.object_id};"
        f"iss=https://sts.windows.net/{env.TENANT_ID}/\r\nAction: '{action}'\r\n"
        f"Resource: '{resource}'\r\nAssignment: (not found)\r\n"
        "DecisionReason: 'DeniedWithNoValidRBAC' \r\n"
        f"Vault: {vault};location={env.LOCATION}\r\n"
    )


def _secret_get(name: str, status: int = 200) -> _Call:
    """Reading the current version of secret *name* (which has none when it is missing)."""
    item = f"secrets/{name}" if status == 404 else f"secrets/{name}/{_version(name)}"
    return _Call("SecretGet", f"secrets/{name}/", item, status)


def _version(secret: str) -> str:
    return env.stable_hex(32, "secret-version", secret)


_SECRET_LIST = _Call("SecretList", "secrets", "secrets", query="&maxresults=25")


def _session(
    rng: random.Random,
    when: dt.datetime,
    vault: str,
    calls: list[_Call],
    who: _Identity,
    ip: str,
    client: str,
    challenge: bool = True,
) -> list[dict[str, Any]]:
    """A client's burst of calls, opened by the SDK's unauthenticated 401 challenge."""
    rows = []
    if challenge:
        auth = _Call("Authentication", calls[0].path, status=401)
        rows.append(_vault_row(rng, when, vault, auth, None, ip, client))
        when += dt.timedelta(milliseconds=rng.randrange(40, 400))
    for call in calls:
        rows.append(_vault_row(rng, when, vault, call, who, ip, client))
        when += dt.timedelta(milliseconds=rng.randrange(15, 900))
    return rows


# --- Key Vault scenarios ---------------------------------------------------------------


@dataclass(frozen=True)
class _Reader:
    """An app that re-reads its secrets from kv-contoso-prod whenever its cache expires."""

    identity: str
    ips: tuple[str, ...]  # every instance keeps its own cache
    secrets: tuple[str, ...]
    every: int  # minutes
    client: str
    challenge: float  # share of refreshes that build a new client (and get a 401 first)
    optional: str | None = None  # a secret it probes for and that does not exist


_READERS = (
    _Reader(
        "id-aks-workload",
        env.AKS.node_ips[:2],
        ("web-session-key", "api-db-connection"),
        10,
        _CSI,
        0.05,
    ),
    _Reader(
        "id-web-prod",
        ("10.1.1.4", "10.1.1.5"),
        ("web-session-key", "smtp-password"),
        60,
        _PYTHON,
        0.25,
        optional="web-feature-flags",
    ),
    _Reader(
        "id-api-prod",
        ("10.1.2.4",),
        ("api-db-connection", "invoice-api-key", "smtp-password", "api-jwt-signing"),
        30,
        _JAVA,
        0.1,
    ),
    _Reader("invoice-processor", (env.AKS.node_ips[2],), ("invoice-api-key",), 60, _PYTHON, 1.0),
    _Reader("id-func-backup", _FUNCTION_IPS[:1], ("backup-sas-signing",), 480, _DOTNET, 1.0),
)


def _cache_refreshes(ctx: SimContext, day: int) -> list[dict[str, Any]]:
    """Periodic SecretGet by every app instance, at a fixed phase per instance."""
    rng = ctx.rng(_STREAM, "readers", day)
    rows: list[dict[str, Any]] = []
    for reader in _READERS:
        who = _app_identity(reader.identity)
        period = reader.every * 60
        for ip in reader.ips:
            phase = int(env.stable_hex(8, reader.identity, ip), 16) % period
            for slot in range(phase, 86_400, period):
                when = ctx.day_start(day) + dt.timedelta(seconds=slot + rng.uniform(0, 20))
                calls = [_secret_get(secret) for secret in reader.secrets]
                if reader.optional:
                    calls.append(_secret_get(reader.optional, 404))
                challenge = rng.random() < reader.challenge
                rows += _session(rng, when, _PROD_VAULT, calls, who, ip, reader.client, challenge)
    return rows


def _nightly_jobs(ctx: SimContext, day: int) -> list[dict[str, Any]]:
    """The backup job fetches the database password before it dumps; HR sync its token."""
    rng = ctx.rng(_STREAM, "nightly", day)
    start = ctx.day_start(day)
    backup = start + dt.timedelta(hours=1, minutes=25, seconds=rng.uniform(0, 60))
    rows = _session(
        rng,
        backup,
        _PROD_VAULT,
        [_secret_get("pg-backup-password")],
        _app_identity("backup-runner"),
        "10.1.3.4",
        _PYTHON,
    )
    sync = start + dt.timedelta(hours=2, seconds=rng.uniform(0, 90))
    rows += _session(
        rng,
        sync,
        _PROD_VAULT,
        [_secret_get("hr-api-token")],
        _app_identity("hr-sync"),
        "10.1.2.4",
        _PYTHON,
    )
    return rows


def _storage_encryption(ctx: SimContext, day: int) -> list[dict[str, Any]]:
    """stcontosobackup's customer-managed key: the account re-reads and unwraps it hourly."""
    rng = ctx.rng(_STREAM, "cmk", day)
    key = f"keys/cmk-backup/{env.stable_hex(32, 'cmk-backup')}"
    rows = []
    for hour in range(24):
        when = ctx.day_start(day) + dt.timedelta(hours=hour, seconds=rng.uniform(0, 600))
        ip = rng.choice(_AZURE_SERVICE_IPS)
        for operation, path in (("KeyGet", f"{key}"), ("KeyUnwrap", f"{key}/unwrapkey")):
            rows.append(
                _vault_row(
                    rng,
                    when,
                    _PROD_VAULT,
                    _Call(operation, path, key),
                    _STORAGE_CMK,
                    ip,
                    None,
                    "7.4",
                )
            )
            when += dt.timedelta(milliseconds=rng.randrange(10, 200))
    return rows


def _arm_vault_row(
    rng: random.Random,
    when: dt.datetime,
    vault: str,
    operation: str,
    who: _Identity,
    ip: str,
    client: str,
    suffix: str = "",
) -> dict[str, Any]:
    """A vault management call relayed by ARM (VaultGet, VaultPatch), with long claims."""
    version = "2023-07-01"
    arm = "https://management.azure.com" + _arm_id(vault, "Microsoft.KeyVault/vaults")
    row = _vault_row(rng, when, vault, _Call(operation, ""), None, ip, client, version)
    row.update(who.claims(ip, via_arm=True))
    row.update(
        {
            "requestUri_s": f"{arm}{suffix}?api-version={version}",
            "DurationMs": rng.randint(15, 90),
            "properties_sku_Family_s": "A",
            "properties_sku_Name_s": "premium" if vault == _PROD_VAULT else "standard",
            "properties_tenantId_g": env.TENANT_ID,
            "properties_enabledForDeployment_b": False,
            "properties_enabledForDiskEncryption_b": False,
            "properties_enabledForTemplateDeployment_b": vault == _PROD_VAULT,
        }
    )
    return row


def _inventory(ctx: SimContext, day: int) -> list[dict[str, Any]]:
    """Resource Graph snapshots each vault every three hours, Policy Insights every six."""
    rng = ctx.rng(_STREAM, "inventory", day)
    rows = []
    for vault in env.KEY_VAULTS:
        for who, client, hours in (
            (_RESOURCE_GRAPH_ID, _RESOURCE_GRAPH, 3),
            (_POLICY_ID, _POLICY_INSIGHTS, 6),
        ):
            for slot in range(0, 24, hours):
                when = ctx.day_start(day) + dt.timedelta(hours=slot, seconds=rng.uniform(0, 3000))
                rows.append(
                    _arm_vault_row(
                        rng, when, vault, "VaultGet", who, rng.choice(_AZURE_SERVICE_IPS), client
                    )
                )
    return rows


def _ci(ctx: SimContext, day: int) -> list[dict[str, Any]]:
    """Each deploy lists the prod vault, sets its secrets, and may patch an access policy."""
    rng = ctx.rng(_STREAM, "ci", day)
    who = _app_identity("ci-deployer")
    rows: list[dict[str, Any]] = []
    for deploy in _ci_deploys(ctx, day):
        when = deploy.start + dt.timedelta(seconds=rng.uniform(60, 180))
        calls = [_SECRET_LIST]
        for secret in deploy.secrets:
            version = hex_string(rng, 32)
            calls.append(_Call("SecretSet", f"secrets/{secret}", f"secrets/{secret}/{version}"))
        calls.append(_secret_get("acr-pull-token"))
        rows += _session(rng, when, _PROD_VAULT, calls, who, deploy.runner_ip, _CLI_LINUX)
    return rows


#: The clientInfo_s Key Vault logs for management calls ARM relays, by the caller's client.
_MANAGEMENT_CLIENTS = {
    env.AZURE_PORTAL.app_id: _BROWSER,
    env.AZURE_CLI.app_id: (
        "AZURECLI/2.63.0 (MSI) azsdk-python-mgmt-keyvault/10.3.0 Python/3.11.8 "
        "(Windows-10-10.0.22631-SP0)"
    ),
    env.AZURE_POWERSHELL.app_id: (
        "FxVersion/8.0.824.36612 OSName/Windows OSVersion/Microsoft.Windows.10.0.22631 "
        "PSVersion/7.4.5 AzurePowershell/v12.3.0"
    ),
}
_VAULT_WRITES = {
    "MICROSOFT.KEYVAULT/VAULTS/ACCESSPOLICIES/WRITE": ("VaultPatch", "/accessPolicies/add"),
    "MICROSOFT.KEYVAULT/VAULTS/WRITE": ("VaultPut", ""),
}


def _vault_management(ctx: SimContext, day: int) -> list[dict[str, Any]]:
    """Vault writes through ARM (the deploys' and the admins'), as Key Vault logs them: a
    VaultPatch (access policies) or VaultPut under ARM's CorrelationId, from the caller's
    address, a second or two after ARM's Start; an access-policy change is then
    announced by the Event Grid notification."""
    rng = ctx.rng(_STREAM, "management", day)
    arm_rows = _ci_runs(ctx, day) + _admin_work(ctx, day)
    done = {r["CorrelationId"] for r in arm_rows if r["ActivityStatusValue"] == "Success"}
    rows: list[dict[str, Any]] = []
    for start in arm_rows:
        relayed = _VAULT_WRITES.get(start["OperationNameValue"])
        if relayed is None or start["ActivityStatusValue"] != "Start":
            continue
        if start["CorrelationId"] not in done:
            continue
        vault = start["ResourceId"].split("/VAULTS/")[1].split("/")[0].lower()
        claims = start["Claims_d"]
        identity = _Identity(
            claims["http://schemas.microsoft.com/identity/claims/objectidentifier"],
            claims["appid"],
            claims.get("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"),
        )
        client = _CLI_LINUX if identity.upn is None else _MANAGEMENT_CLIENTS[identity.app_id]
        when = start["TimeGenerated"] + dt.timedelta(seconds=rng.uniform(0.4, 2.0))
        operation, suffix = relayed
        ip = start["CallerIpAddress"]
        row = _arm_vault_row(rng, when, vault, operation, identity, ip, client, suffix)
        row["CorrelationId"] = start["CorrelationId"]
        rows.append(row)
        if operation == "VaultPatch":
            notice = _vault_row(
                rng,
                when + dt.timedelta(seconds=rng.uniform(1, 5)),
                vault,
                _Call("VaultAccessPolicyChangedEventGridNotification", ""),
                None,
                rng.choice(_AZURE_SERVICE_IPS),
                None,
            )
            notice.pop("httpStatusCode_d")
            notice.pop("requestUri_s")
            rows.append(notice)
    return rows


def _people(ctx: SimContext, day: int) -> list[dict[str, Any]]:
    """Engineers' CLI on the dev vault, portal browsing of prod, and a few refusals."""
    rng = ctx.rng(_STREAM, "people", day)
    rows: list[dict[str, Any]] = []
    count = rng.randint(0, 2) if ctx.is_weekend(day) else rng.randint(10, 16)
    secrets = ("db-password", "storage-conn", "api-key", "test-user-password", "sp-secret")
    for _ in range(count):
        when = ctx.office_time(rng, day)
        alias = rng.choice(("dmitri.ivanov", "raj.patel", "alice.smith", "liam.devries"))
        ip = env.OFFICE_IPS[env.person(alias).country]
        if rng.random() < 0.7:
            who = _person_identity(alias, env.AZURE_CLI)
            secret = rng.choice(secrets)
            new_version = f"secrets/{secret}/{hex_string(rng, 32)}"
            options = (
                _SECRET_LIST,
                _secret_get(secret),
                _Call("SecretSet", f"secrets/{secret}", new_version),
            )
            call = rng.choices(options, weights=(3, 6, 1))[0]
            rows += _session(rng, when, _DEV_VAULT, [call], who, ip, _CLI_WINDOWS)
        else:
            who = _person_identity(alias, env.AZURE_PORTAL)
            calls = [_SECRET_LIST, _secret_get(rng.choice(("smtp-password", "invoice-api-key")))]
            rows += _session(rng, when, _PROD_VAULT, calls, who, ip, _BROWSER, challenge=False)
    if not ctx.is_weekend(day):
        refused = [
            (
                "sofia.jansen",
                env.AZURE_PORTAL,
                _Call("SecretList", "secrets", "secrets", 403, "&maxresults=25"),
            )
        ]
        if rng.random() < 0.5:
            refused.append(("dmitri.ivanov", env.AZURE_CLI, _secret_get("pg-backup-password", 403)))
        for alias, app, call in refused:
            ip = env.OFFICE_IPS[env.person(alias).country]
            rows += _session(
                rng,
                ctx.office_time(rng, day),
                _PROD_VAULT,
                [call],
                _person_identity(alias, app),
                ip,
                _BROWSER if app is env.AZURE_PORTAL else _CLI_WINDOWS,
                challenge=app is not env.AZURE_PORTAL,
            )
    return rows


# --- NSG -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    """An NSG rule as its logs name it, and how busy it is per hour (0 = never matches)."""

    name: str
    priority: int
    direction: str  # "In" or "Out"
    action: str  # "allow" or "block"
    source: str
    destination_ports: str
    hourly: tuple[int, int] = (0, 0)
    office_hours_only: bool = False


_DEFAULT_RULES = (
    _Rule("DefaultRule_AllowVnetInBound", 65000, "In", "allow", "VirtualNetwork", "0-65535"),
    _Rule(
        "DefaultRule_AllowAzureLoadBalancerInBound",
        65001,
        "In",
        "allow",
        "AzureLoadBalancer",
        "0-65535",
    ),
    _Rule("DefaultRule_DenyAllInBound", 65500, "In", "block", "0.0.0.0/0", "0-65535"),
    _Rule("DefaultRule_AllowVnetOutBound", 65000, "Out", "allow", "VirtualNetwork", "0-65535"),
    _Rule("DefaultRule_AllowInternetOutBound", 65001, "Out", "allow", "0.0.0.0/0", "0-65535"),
    _Rule("DefaultRule_DenyAllOutBound", 65500, "Out", "block", "0.0.0.0/0", "0-65535"),
)


@dataclass(frozen=True)
class _Nsg:
    """A subnet's NSG, the NICs behind it, and the rules that see traffic."""

    name: str
    group: str
    subscription: str
    subnet: str
    nics: tuple[tuple[str, str], ...]  # (host, private IP)
    user_rules: tuple[_Rule, ...]
    busy_defaults: dict[str, tuple[int, int]]  # default rule -> matches per hour


_PROD = env.SUBSCRIPTIONS["prod"]
_OFFICES = ",".join(f"{ip}/32" for ip in sorted(env.OFFICE_IPS.values()))


def _nics(*hosts: str) -> tuple[tuple[str, str], ...]:
    return tuple((host, env.linux_host(host).private_ip) for host in hosts)


_NSGS = (
    _Nsg(
        "nsg-web",
        "rg-prod-web",
        _PROD,
        "10.1.1.0/24",
        _nics("vm-web01", "vm-web02"),
        (
            _Rule("UserRule_Allow-HTTPS", 100, "In", "allow", "Internet", "443-443", (600, 2400)),
            _Rule("UserRule_Allow-HTTPS-Office", 120, "In", "allow", _OFFICES, "443-443"),
        ),
        {
            "DefaultRule_DenyAllInBound": (20, 180),
            "DefaultRule_AllowAzureLoadBalancerInBound": (700, 740),
            "DefaultRule_AllowInternetOutBound": (40, 260),
        },
    ),
    _Nsg(
        "nsg-app",
        "rg-prod-web",
        _PROD,
        "10.1.2.0/24",
        _nics("vm-app01"),
        (
            _Rule(
                "UserRule_Allow-API-From-Web",
                100,
                "In",
                "allow",
                "10.1.1.0/24",
                "8080-8080",
                (300, 1500),
            ),
        ),
        {},
    ),
    _Nsg(
        "nsg-data",
        "rg-prod-data",
        _PROD,
        "10.1.3.0/24",
        _nics("vm-db01"),
        (
            _Rule(
                "UserRule_Allow-Postgres-App",
                100,
                "In",
                "allow",
                "10.1.2.0/24",
                "5432-5432",
                (50, 400),
            ),
        ),
        {},
    ),
    _Nsg(
        "nsg-mgmt",
        "rg-prod-web",
        _PROD,
        "10.1.0.0/24",
        _nics("vm-jump01"),
        (
            _Rule(
                "UserRule_Allow-SSH-VPN",
                110,
                "In",
                "allow",
                f"{env.VPN_IP}/32",
                "22-22",
                (1, 12),
                office_hours_only=True,
            ),
        ),
        {"DefaultRule_DenyAllInBound": (60, 500)},
    ),
    _Nsg(
        "nsg-build",
        "rg-dev",
        env.SUBSCRIPTIONS["dev"],
        "10.1.4.0/24",
        _nics("vm-build01"),
        (),
        {"DefaultRule_AllowInternetOutBound": (100, 900)},
    ),
    _Nsg(
        "aks-agentpool-51397738-nsg",
        env.AKS.node_resource_group,
        _PROD,
        "10.224.0.0/16",
        tuple(zip(env.AKS.nodes, env.AKS.node_ips, strict=True)),
        (
            _Rule(
                "UserRule_a3f1c9e2b7d84c05a9e6f1b2c3d4e5f6-TCP-443-Internet",
                500,
                "In",
                "allow",
                "Internet",
                "443-443",
                (200, 1200),
            ),
        ),
        {},
    ),
)


def _nsg_id(nsg: _Nsg) -> str:
    return (
        f"/subscriptions/{nsg.subscription}/resourceGroups/{nsg.group}/providers/"
        f"Microsoft.Network/networkSecurityGroups/{nsg.name}"
    )


def _nic_columns(nsg: _Nsg, host: str, ip: str) -> dict[str, Any]:
    mac = env.stable_hex(6, "mac", host).upper()
    return {
        **_resource_columns(_nsg_id(nsg), "MICROSOFT.NETWORK", "NETWORKSECURITYGROUPS"),
        "vnetResourceGuid_g": env.stable_guid("vnet", nsg.subscription, nsg.subnet[:5]),
        "subnetPrefix_s": nsg.subnet,
        "macAddress_s": "00-0D-3A-" + "-".join(mac[i : i + 2] for i in range(0, 6, 2)),
        "primaryIPv4Address_s": ip,
        "systemId_g": env.stable_guid("nsg-system", nsg.name),
    }


def _rule_counters(ctx: SimContext, day: int) -> list[dict[str, Any]]:
    """Hourly NetworkSecurityGroupRuleCounter rows for each NIC and each rule that matched."""
    rng = ctx.rng(_STREAM, "nsg-counters", day)
    rows = []
    for nsg in _NSGS:
        busy = [rule for rule in nsg.user_rules if rule.hourly[1]]
        busy += [
            _Rule(
                rule.name,
                rule.priority,
                rule.direction,
                rule.action,
                rule.source,
                rule.destination_ports,
                nsg.busy_defaults[rule.name],
            )
            for rule in _DEFAULT_RULES
            if rule.name in nsg.busy_defaults
        ]
        for host, ip in nsg.nics:
            for hour in range(24):
                for rule in busy:
                    if rule.office_hours_only and not 7 <= hour < 18:
                        continue
                    when = ctx.day_start(day) + dt.timedelta(
                        hours=hour, seconds=rng.uniform(3400, 3590)
                    )
                    rows.append(
                        {
                            "TimeGenerated": when,
                            **_nic_columns(nsg, host, ip),
                            "Category": "NetworkSecurityGroupRuleCounter",
                            "OperationName": "NetworkSecurityGroupCounters",
                            "CorrelationId": guid(rng),
                            "ruleName_s": rule.name,
                            "direction_s": rule.direction,
                            "type_s": rule.action,
                            "matchedConnections_d": float(rng.randint(*rule.hourly)),
                        }
                    )
    return rows


def _rule_events(ctx: SimContext, day: int) -> list[dict[str, Any]]:
    """Once a day the platform re-applies each NIC's rules: one event per rule."""
    rng = ctx.rng(_STREAM, "nsg-events", day)
    rows = []
    for nsg in _NSGS:
        for host, ip in nsg.nics:
            when = ctx.any_time(rng, day)
            for rule in nsg.user_rules + _DEFAULT_RULES:
                destination = "0.0.0.0/0" if rule.direction == "Out" else f"{ip}/32"
                rows.append(
                    {
                        "TimeGenerated": when,
                        **_nic_columns(nsg, host, ip),
                        "Category": "NetworkSecurityGroupEvent",
                        "OperationName": "NetworkSecurityGroupEvents",
                        "CorrelationId": guid(rng),
                        "ruleName_s": rule.name,
                        "direction_s": rule.direction,
                        "type_s": rule.action,
                        "priority_d": float(rule.priority),
                        "conditions_protocols_s": "6"
                        if rule.name.startswith("UserRule")
                        else "6,17",
                        "conditions_sourceIP_s": rule.source,
                        "conditions_destinationIP_s": destination,
                        "conditions_sourcePortRange_s": "0-65535",
                        "conditions_destinationPortRange_s": rule.destination_ports,
                    }
                )
    return rows


_SCENARIOS = (
    _cache_refreshes,
    _nightly_jobs,
    _storage_encryption,
    _inventory,
    _ci,
    _vault_management,
    _people,
    _rule_counters,
    _rule_events,
)


def generate(ctx: SimContext) -> dict[str, list[dict[str, Any]]]:
    """Benign rows for AzureDiagnostics (Key Vault and NSG), keyed by table name."""
    return {_TABLE: daily_rows(ctx, _SCENARIOS)}
