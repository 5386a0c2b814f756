"""Benign AzureActivity: the control plane of Contoso's two subscriptions on an ordinary day.

Azure Policy audits dominate; a Function App lists storage keys every half hour; the CI
service principal deploys a few times a working day (and with it writes Key Vault secrets,
access policies and sometimes a role assignment); the AKS resource provider scales the
node pool; admins restart VMs, fetch AKS credentials, tune monitoring and activate Owner
through PIM. Every ARM write logs Start, Accept (when asynchronous) and Success or Failure
under one CorrelationId; reads are not logged. The look-alikes of the cloud attacks
(role assignments, listKeys, Run Command, elevate access, access-policy and diagnostic
setting writes, extension installs) are all here, done by the people and services that
legitimately do them.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.context import SimContext, daily_rows, guid, hex_string

_TABLE = "AzureActivity"
_STREAM = "azure_activity"
_PROD = env.SUBSCRIPTIONS["prod"]
_DEV = env.SUBSCRIPTIONS["dev"]

# --- The estate (shared with the keyvault and storage generators) ---------------------

#: Where each named resource lives: (subscription id, resource group).
_PLACEMENT: dict[str, tuple[str, str]] = {
    "vm-web01": (_PROD, "rg-prod-web"),
    "vm-web02": (_PROD, "rg-prod-web"),
    "vm-app01": (_PROD, "rg-prod-web"),
    "vm-jump01": (_PROD, "rg-prod-web"),
    "vm-db01": (_PROD, "rg-prod-data"),
    "vm-build01": (_DEV, "rg-dev"),
    "stcontosoprod": (_PROD, "rg-prod-data"),
    "stcontosobackup": (_PROD, "rg-prod-data"),
    "stcontosologs": (_PROD, "rg-prod-data"),
    "kv-contoso-prod": (_PROD, "rg-prod-data"),
    "kv-contoso-dev": (_DEV, "rg-dev"),
    env.AKS.name: (_PROD, env.AKS.resource_group),
    "func-contoso-backup": (_PROD, "rg-prod-data"),
    "id-web-prod": (_PROD, "rg-prod-web"),
    "id-api-prod": (_PROD, "rg-prod-web"),
    "id-func-backup": (_PROD, "rg-prod-data"),
    "id-aks-workload": (_PROD, "rg-aks-prod"),
}

#: Public egress of GitHub-hosted runners (Azure datacenter ranges) used by CI jobs.
_CI_RUNNER_IPS = (
    "20.57.74.201",
    "4.175.112.46",
    "52.232.103.18",
    "13.80.26.91",
    "40.114.202.77",
    "20.224.61.9",
    "52.149.110.33",
    "4.210.172.33",
)
#: The NAT gateway of the production VNet, seen by ARM for calls from the VMs.
_PROD_EGRESS_IP = "20.86.93.141"
#: Outbound addresses of the backup Function App.
_FUNCTION_IPS = ("20.105.224.37", "20.105.224.52", "20.105.225.10")
#: When the nightly backup job starts (UTC): it lists the storage keys, then copies.
_BACKUP_START = dt.timedelta(hours=1, minutes=29)


def _arm_id(name: str, kind: str) -> str:
    """The ARM id of the placed resource *name* of type *kind* (`Microsoft.X/things`)."""
    subscription, group = _PLACEMENT[name]
    return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/{kind}/{name}"


class _Deploy(NamedTuple):
    """One CI run that deploys to production, as every table that sees it must agree."""

    start: dt.datetime
    runner_ip: str
    run_id: int
    target: str  # "aks", "infra" or "function"
    secrets: tuple[str, ...]  # Key Vault secrets the run writes
    grants_access: bool  # whether it updates kv-contoso-prod's access policies


_DEPLOY_TARGETS = ("aks", "aks", "infra", "function")
_DEPLOY_SECRETS = (
    "api-db-connection",
    "web-session-key",
    "smtp-password",
    "invoice-api-key",
    "acr-pull-token",
    "backup-sas-signing",
)


def _ci_deploys(ctx: SimContext, day: int) -> list[_Deploy]:
    """The production deploys of *day*: merges land in office hours, seldom at weekends.

    AzureActivity, AzureDiagnostics and StorageBlobLogs all read this one schedule, so a
    deploy's ARM writes, Key Vault calls and artifact uploads line up in time and IP.
    """
    rng = ctx.rng(_STREAM, "ci-deploys", day)
    count = rng.randint(0, 1) if ctx.is_weekend(day) else rng.randint(6, 9)
    starts = sorted(ctx.office_time(rng, day) for _ in range(count))
    return [
        _Deploy(
            start=start,
            runner_ip=rng.choice(_CI_RUNNER_IPS),
            run_id=4100 + day * 12 + index,
            target=rng.choice(_DEPLOY_TARGETS),
            secrets=tuple(rng.sample(_DEPLOY_SECRETS, rng.randint(1, 2))),
            grants_access=rng.random() < 0.3,
        )
        for index, start in enumerate(starts)
    ]


# --- Operations ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Op:
    """An ARM operation: its id as ARM spells it, its display name and how long it runs."""

    name: str
    display: str
    asynchronous: bool = False
    seconds: tuple[float, float] = (0.2, 2.5)
    category: str = "Administrative"

    @property
    def method(self) -> str:
        verb = self.name.rsplit("/", 1)[1].lower()
        return {"write": "PUT", "delete": "DELETE"}.get(verb, "POST")


_POLICY_OPS = (
    _Op(
        "Microsoft.Authorization/policies/audit/action", "'audit' Policy action.", category="Policy"
    ),
    _Op(
        "Microsoft.Authorization/policies/auditIfNotExists/action",
        "'auditIfNotExists' Policy action.",
        category="Policy",
    ),
)
_LIST_KEYS = _Op("Microsoft.Storage/storageAccounts/listKeys/action", "List Storage Account Keys")
_VALIDATE = _Op("Microsoft.Resources/deployments/validate/action", "Validate Deployment")
_DEPLOYMENT = _Op("Microsoft.Resources/deployments/write", "Create Deployment", True, (40, 400))
_VM_WRITE = _Op(
    "Microsoft.Compute/virtualMachines/write", "Create or Update Virtual Machine", True, (20, 150)
)
_VM_RESTART = _Op(
    "Microsoft.Compute/virtualMachines/restart/action", "Restart Virtual Machine", True, (30, 120)
)
_RUN_COMMAND = _Op(
    "Microsoft.Compute/virtualMachines/runCommand/action",
    "Run Command on Virtual Machine",
    True,
    (20, 90),
)
_EXTENSION = _Op(
    "Microsoft.Compute/virtualMachines/extensions/write",
    "Create or Update Virtual Machine Extension",
    True,
    (60, 300),
)
_VMSS_WRITE = _Op(
    "Microsoft.Compute/virtualMachineScaleSets/write",
    "Create or Update Virtual Machine Scale Set",
    True,
    (30, 240),
)
_VMSS_VM_WRITE = _Op(
    "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/write",
    "Update Virtual Machine Scale Set Virtual Machine",
    True,
    (60, 400),
)
_AKS_CREDENTIAL = _Op(
    "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action",
    "List clusterUser credential",
)
_SITE_SETTINGS = _Op(
    "Microsoft.Web/sites/config/list/action", "List Web App Security Sensitive Settings"
)
_SITE_PUBLISH = _Op("Microsoft.Web/sites/publishxml/action", "Get web app publishing profile")
_SITE_RESTART = _Op("Microsoft.Web/sites/restart/action", "Restart Web App", False, (2, 12))
_DIAGNOSTICS = _Op(
    "Microsoft.Insights/diagnosticSettings/write", "Create or update resource diagnostic setting"
)
_ACTION_GROUP = _Op("Microsoft.Insights/actionGroups/write", "Create or update action group")
_QUERY_RULE = _Op(
    "Microsoft.Insights/scheduledQueryRules/write", "Create or update scheduled query rule"
)
_NSG_RULE = _Op(
    "Microsoft.Network/networkSecurityGroups/securityRules/write",
    "Create or Update Security Rule",
    True,
    (5, 40),
)
_NSG_WRITE = _Op(
    "Microsoft.Network/networkSecurityGroups/write",
    "Create or Update Network Security Group",
    True,
    (5, 40),
)
_PUBLIC_IP = _Op(
    "Microsoft.Network/publicIPAddresses/write", "Create or Update Public Ip Address", True, (5, 30)
)
_LOAD_BALANCER = _Op(
    "Microsoft.Network/loadBalancers/write", "Create or Update Load Balancer", True, (5, 40)
)
_NIC_WRITE = _Op(
    "Microsoft.Network/networkInterfaces/write", "Create or Update Network Interface", True, (5, 30)
)
_VAULT_WRITE = _Op("Microsoft.KeyVault/vaults/write", "Update Key Vault")
_VAULT_POLICY = _Op("Microsoft.KeyVault/vaults/accessPolicies/write", "Update Access Policy")
_VAULT_SECRET = _Op("Microsoft.KeyVault/vaults/secrets/write", "Write Secret")
_GROUP_WRITE = _Op(
    "Microsoft.Resources/subscriptions/resourceGroups/write", "Update resource group"
)
_TAGS = _Op("Microsoft.Resources/tags/write", "Update resource tags")
_ROLE_WRITE = _Op("Microsoft.Authorization/roleAssignments/write", "Create role assignment")
_ROLE_DELETE = _Op("Microsoft.Authorization/roleAssignments/delete", "Delete role assignment")
_ELEVATE = _Op(
    "Microsoft.Authorization/elevateAccess/action",
    "Assigns the caller to User Access Administrator role",
)
_ADVISOR = _Op(
    "Microsoft.Advisor/recommendations/available/action",
    "Microsoft.Advisor/recommendations/available/action",
    category="Recommendation",
)
_HEALTH_ACTIVATED = _Op(
    "Microsoft.Resourcehealth/healthevent/Activated/action",
    "Health Event Activated",
    category="ResourceHealth",
)
_HEALTH_RESOLVED = _Op(
    "Microsoft.Resourcehealth/healthevent/Resolved/action",
    "Health Event Resolved",
    category="ResourceHealth",
)

#: Built-in role definition ids (the same in every tenant).
_ROLES = {
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "User Access Administrator": "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
    "Storage Account Key Operator Service Role": "81a9662b-bebf-436f-a333-f67b29880f12",
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "Azure Kubernetes Service Cluster User Role": "4abbcc35-e782-43d8-92c5-2d3f1bd2253f",
}

# --- Who calls ARM ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Caller:
    """An identity as ARM logs it: Caller is the UPN of a person, else the object id."""

    caller: str
    object_id: str
    app_id: str
    principal_type: str  # "User" or "ServicePrincipal"
    role: str  # the RBAC role that authorises its writes (Authorization.evidence)
    display: str
    mi_resource: str | None = None

    @property
    def is_user(self) -> bool:
        return self.principal_type == "User"


def _person_caller(alias: str, app: env.App) -> _Caller:
    person = env.person(alias)
    role = "Owner" if alias in ("alice.smith", "raj.patel") else "Contributor"
    return _Caller(person.upn, person.object_id, app.app_id, "User", role, person.display_name)


def _app_caller(app: env.App, role: str) -> _Caller:
    mirid = None
    if app.kind == "managed-identity":
        mirid = _arm_id(app.name, "Microsoft.ManagedIdentity/userAssignedIdentities")
    return _Caller(
        app.object_id, app.object_id, app.app_id, "ServicePrincipal", role, app.name, mirid
    )


def _first_party(name: str, app_id: str, role: str) -> _Caller:
    object_id = env.stable_guid("sp", name)
    return _Caller(object_id, object_id, app_id, "ServicePrincipal", role, name)


_CI = _app_caller(env.application("ci-deployer"), "Owner")
_BACKUP_RUNNER = _app_caller(
    env.application("backup-runner"), "Storage Account Key Operator Service Role"
)
_FUNCTION_MI = _app_caller(
    env.application("id-func-backup"), "Storage Account Key Operator Service Role"
)
_AKS_RP = _first_party(
    "AzureContainerService", "7319c514-987d-4e9b-ac3d-d38c4f427f4c", "Contributor"
)
_POLICY = _first_party("Azure Policy Insights", "8cae6e77-e04e-42ce-b5cb-50d82bce26b1", "Reader")
_POLICY_REMEDIATION = _Caller(
    env.stable_guid("mi", "policy-dine-monitoring"),
    env.stable_guid("mi", "policy-dine-monitoring"),
    env.stable_guid("app", "policy-dine-monitoring"),
    "ServicePrincipal",
    "Contributor",
    "policy-dine-monitoring",
)
_DEFENDER = _first_party(
    "Windows Azure Security Resource Provider",
    "8edd93e1-2103-40b4-bd70-6e34e586362d",
    "Contributor",
)
_PIM = _first_party("MS-PIM", "01fc33a7-78ba-4d2f-a4b7-768e336e890e", "User Access Administrator")
_ENGINEERS = ("alice.smith", "raj.patel", "dmitri.ivanov", "liam.devries")
#: The clients people manage Azure with, and how often each is used.
_CLIENT_APPS = (env.AZURE_PORTAL, env.AZURE_CLI, env.AZURE_POWERSHELL)
_CLIENT_WEIGHTS = (6, 3, 1)


def _admin(
    rng: random.Random, aliases: tuple[str, ...] = _ENGINEERS, app: env.App | None = None
) -> tuple[_Caller, str]:
    """A person from *aliases* with the client they use (or *app*), and their IP."""
    alias = rng.choice(aliases)
    if app is None:
        app = rng.choices(_CLIENT_APPS, weights=_CLIENT_WEIGHTS)[0]
    person = env.person(alias)
    ip = env.VPN_IP if rng.random() < 0.15 else env.OFFICE_IPS[person.country]
    return _person_caller(alias, app), ip


# --- Rows ------------------------------------------------------------------------------


_MS_CLAIMS = "http://schemas.microsoft.com/identity/claims"
_XMLSOAP = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims"


def _claims(
    rng: random.Random, caller: _Caller, ip: str | None, when: dt.datetime, correlation: str
) -> dict[str, str]:
    """The management token's claims, as ARM copies them into Claims_d. Every event of
    one request (Start, Accept, Success) carries the same token id."""
    issued = int(when.timestamp()) - rng.randrange(60, 3000)
    issuer = f"https://sts.windows.net/{env.TENANT_ID}/"
    claims = {
        "aud": "https://management.core.windows.net/",
        "iss": issuer,
        "iat": str(issued),
        "nbf": str(issued),
        "exp": str(issued + 3600 + rng.randrange(0, 1800)),
        "aio": hex_string(rng, 48),
        "appid": caller.app_id,
        f"{_MS_CLAIMS}/identityprovider": issuer,
        f"{_MS_CLAIMS}/objectidentifier": caller.object_id,
        f"{_MS_CLAIMS}/tenantid": env.TENANT_ID,
        f"{_XMLSOAP}/nameidentifier": env.stable_hex(43, "nameid", caller.object_id),
        "uti": env.stable_hex(22, "uti", correlation),
        "ver": "1.0",
    }
    if caller.is_user:
        first, *_, last = caller.display.split()
        claims.update(
            {
                "appidacr": "0",
                "http://schemas.microsoft.com/claims/authnclassreference": "1",
                "http://schemas.microsoft.com/claims/authnmethodsreferences": "pwd,mfa",
                "ipaddr": ip or "",
                "name": caller.display,
                f"{_XMLSOAP}/upn": caller.caller,
                f"{_XMLSOAP}/name": caller.caller,
                f"{_XMLSOAP}/givenname": first,
                f"{_XMLSOAP}/surname": last,
                "puid": env.stable_hex(16, "puid", caller.object_id).upper(),
                "scp": "user_impersonation",
            }
        )
    else:
        claims.update({"appidacr": "2", "idtyp": "app"})
        if caller.mi_resource:
            claims["xms_mirid"] = caller.mi_resource
    return claims


def _authorization(op: _Op, caller: _Caller, resource_id: str) -> dict[str, Any]:
    """What ARM authorised: the action on the scope, and the caller's own role assignment."""
    subscription = _subscription_of(resource_id)
    return {
        "action": op.name,
        "scope": resource_id,
        "evidence": {
            "role": caller.role,
            "roleAssignmentScope": f"/subscriptions/{subscription}" if subscription else "/",
            "roleAssignmentId": env.stable_hex(32, "ra", caller.object_id, str(subscription)),
            "roleDefinitionId": _ROLES.get(
                caller.role, env.stable_guid("role", caller.role)
            ).replace("-", ""),
            "principalId": caller.object_id.replace("-", ""),
            "principalType": caller.principal_type,
        },
    }


def _subscription_of(resource_id: str) -> str | None:
    parts = resource_id.split("/")
    return parts[2] if len(parts) > 2 and parts[1] == "subscriptions" else None


def _group_of(resource_id: str) -> str | None:
    parts = resource_id.split("/")
    return parts[4] if len(parts) > 4 and parts[3] == "resourceGroups" else None


def _provider_of(resource_id: str) -> str:
    """The resource's provider namespace: the segment after the last `/providers/`."""
    tail = resource_id.rsplit("/providers/", 1)
    return tail[1].split("/")[0] if len(tail) == 2 else "Microsoft.Resources"


@dataclass(frozen=True)
class _Event:
    """The fields that differ between the rows of one operation."""

    when: dt.datetime
    status: str  # Start, Accept, Success, Failure
    substatus: str | None = None
    extra: dict[str, str] | None = None


_LEGACY_STATUS = {
    "Start": "Started",
    "Accept": "Accepted",
    "Success": "Succeeded",
    "Failure": "Failed",
}


def _properties(op: _Op, resource_id: str, event: _Event, hierarchy: str) -> dict[str, Any]:
    """Properties_d: the event's category, entity and status, plus request/response details."""
    subscription = _subscription_of(resource_id)
    group = _group_of(resource_id)
    properties: dict[str, Any] = {
        "eventCategory": op.category,
        "entity": resource_id,
        "message": op.name,
        "hierarchy": hierarchy,
        **(event.extra or {}),
    }
    if event.substatus:
        properties["statusCode"] = event.substatus
    properties["resource"] = resource_id.rsplit("/", 1)[-1] or "/"
    properties["resourceProviderValue"] = _provider_of(resource_id).upper()
    properties["activityStatusValue"] = event.status
    if group:
        properties["resourceGroup"] = group
    if subscription:
        properties["subscriptionId"] = subscription
    return properties


def _row(
    rng: random.Random,
    op: _Op,
    caller: _Caller | None,
    ip: str | None,
    resource_id: str,
    ids: tuple[str, str],
    event: _Event,
) -> dict[str, Any]:
    """One AzureActivity row; *ids* are the CorrelationId and OperationId of the operation."""
    subscription = _subscription_of(resource_id)
    group = _group_of(resource_id)
    provider = _provider_of(resource_id)
    hierarchy = env.TENANT_ID + (f"/{subscription}" if subscription else "")
    properties = _properties(op, resource_id, event, hierarchy)
    level = "Error" if event.status == "Failure" else "Informational"
    if op.category == "Policy":
        level = "Warning"
    row: dict[str, Any] = {
        "TimeGenerated": event.when,
        "EventSubmissionTimestamp": event.when
        + dt.timedelta(milliseconds=rng.randrange(200, 9000)),
        "OperationName": op.display,
        "OperationNameValue": op.name.upper(),
        "Category": op.category,
        "CategoryValue": op.category,
        "ActivityStatus": _LEGACY_STATUS[event.status],
        "ActivityStatusValue": event.status,
        "Level": level,
        "CorrelationId": ids[0],
        "OperationId": ids[1],
        "EventDataId": guid(rng),
        "Hierarchy": hierarchy,
        "Properties": json.dumps(properties),
        "Properties_d": properties,
        "Resource": resource_id.rsplit("/", 1)[-1].upper() or "/",
        "ResourceId": resource_id.upper(),
        "_ResourceId": resource_id.lower(),
        "ResourceProvider": provider,
        "ResourceProviderValue": provider.upper(),
    }
    if event.substatus:
        row["ActivitySubstatusValue"] = event.substatus
    if group:
        row["ResourceGroup"] = group.upper()
    if subscription:
        row["SubscriptionId"] = subscription
        row["_SubscriptionId"] = subscription
    if caller is not None:
        claims = _claims(rng, caller, ip, event.when, ids[0])
        authorization = _authorization(op, caller, resource_id)
        row.update(
            {
                "Caller": caller.caller,
                "Claims": json.dumps(claims),
                "Claims_d": claims,
                "Authorization": json.dumps(authorization),
                "Authorization_d": authorization,
            }
        )
    if ip:
        row["CallerIpAddress"] = ip
        row["HTTPRequest"] = json.dumps(
            {"clientRequestId": ids[1], "clientIpAddress": ip, "method": op.method}
        )
    return row


def _operation(
    rng: random.Random,
    when: dt.datetime,
    caller: _Caller,
    ip: str | None,
    op: _Op,
    resource_id: str,
    *,
    request: dict[str, Any] | None = None,
    fail: str | None = None,
) -> list[dict[str, Any]]:
    """The rows of one ARM request: Start, Accept when asynchronous, then Success/Failure.

    A request refused by RBAC (`fail="Forbidden"`) logs a single Failure row; about 1.5%
    of all requests fail. Writes are followed by the Azure Policy
    evaluations they trigger, under the same CorrelationId.
    """
    ids = (guid(rng), guid(rng))
    if fail is None and rng.random() < 0.015:
        fail = rng.choice(("Conflict", "BadRequest", "Forbidden"))
    if fail == "Forbidden":
        message = {
            "statusMessage": json.dumps(
                {
                    "error": {
                        "code": "AuthorizationFailed",
                        "message": f"The client '{caller.caller}' with object id "
                        f"'{caller.object_id}' does "
                        f"not have authorization to perform action '{op.name}' over scope "
                        f"'{resource_id}' or the scope is invalid.",
                    }
                }
            )
        }
        return [
            _row(
                rng, op, caller, ip, resource_id, ids, _Event(when, "Failure", "Forbidden", message)
            )
        ]
    start_extra = {"requestbody": json.dumps(request)} if request else None
    rows = [_row(rng, op, caller, ip, resource_id, ids, _Event(when, "Start", None, start_extra))]
    if op.asynchronous:
        accepted = when + dt.timedelta(milliseconds=rng.randrange(300, 2500))
        rows.append(
            _row(rng, op, caller, ip, resource_id, ids, _Event(accepted, "Accept", "Accepted"))
        )
    done = when + dt.timedelta(seconds=rng.uniform(*op.seconds))
    if fail:
        rows.append(_row(rng, op, caller, ip, resource_id, ids, _Event(done, "Failure", fail)))
        return rows
    extra = {"serviceRequestId": guid(rng)}
    substatus = "Created" if op.method == "PUT" and rng.random() < 0.2 else "OK"
    rows.append(
        _row(rng, op, caller, ip, resource_id, ids, _Event(done, "Success", substatus, extra))
    )
    if op.method == "PUT":
        rows.extend(_policy_rows(rng, when, done, ids[0], resource_id))
    return rows


_BUILT_IN = "/providers/Microsoft.Authorization"
#: The Microsoft cloud security benchmark initiative that Defender for Cloud assigns.
_MCSB = "1f3afdf9-d0c9-4c3d-847f-89da613e70a8"


def _policy_rows(
    rng: random.Random, start: dt.datetime, done: dt.datetime, correlation: str, resource_id: str
) -> list[dict[str, Any]]:
    """Audit evaluations of the Defender for Cloud initiative on a written resource."""
    subscription = _subscription_of(resource_id) or _PROD
    assignment = (
        f"/subscriptions/{subscription}/providers/Microsoft.Authorization/"
        "policyAssignments/SecurityCenterBuiltIn"
    )
    rows = []
    for _ in range(rng.choice((1, 2, 3, 3, 4))):
        op = rng.choices(_POLICY_OPS, weights=(3, 2))[0]
        definition = env.stable_guid("policy-definition", str(rng.randrange(40)))
        policies = [
            {
                "policyDefinitionId": f"{_BUILT_IN}/policyDefinitions/{definition}",
                "policySetDefinitionId": f"{_BUILT_IN}/policySetDefinitions/{_MCSB}",
                "policyDefinitionReferenceId": hex_string(rng, 8),
                "policySetDefinitionName": _MCSB,
                "policyDefinitionName": definition,
                "policyDefinitionEffect": op.name.split("/")[2],
                "policyAssignmentId": assignment,
                "policyAssignmentName": "SecurityCenterBuiltIn",
                "policyAssignmentScope": f"/subscriptions/{subscription}",
            }
        ]
        extra = {
            "isComplianceCheck": "False",
            "resourceLocation": env.LOCATION,
            "ancestors": env.TENANT_ID,
            "policies": json.dumps(policies),
        }
        when = start if op is _POLICY_OPS[0] else done
        when += dt.timedelta(milliseconds=rng.randrange(100, 4000))
        row = _row(
            rng,
            op,
            _POLICY,
            None,
            resource_id,
            (correlation, guid(rng)),
            _Event(when, "Success", None, extra),
        )
        row["Authorization_d"] = {
            "action": "Microsoft.Resources/checkPolicyCompliance/read",
            "scope": resource_id,
        }
        row["Authorization"] = json.dumps(row["Authorization_d"])
        rows.append(row)
    return rows


# --- Scenarios -------------------------------------------------------------------------

_Rows = list[dict[str, Any]]


def _jitter(rng: random.Random, base: dt.datetime, low: float, high: float) -> dt.datetime:
    return base + dt.timedelta(seconds=rng.uniform(low, high))


_DEPLOY_GROUPS = {"aks": "rg-aks-prod", "infra": "rg-prod-data", "function": "rg-prod-data"}


def _ci_runs(ctx: SimContext, day: int) -> _Rows:
    """Each deploy validates and runs an ARM deployment, then touches its target."""
    rng = ctx.rng(_STREAM, "ci", day)
    rows: _Rows = []
    for deploy in _ci_deploys(ctx, day):
        ip = deploy.runner_ip
        scope = f"/subscriptions/{_PROD}/resourceGroups/{_DEPLOY_GROUPS[deploy.target]}"
        name = f"release-{deploy.run_id}"
        deployment = f"{scope}/providers/Microsoft.Resources/deployments/{name}"
        when = deploy.start
        rows += _operation(rng, when, _CI, ip, _VALIDATE, deployment)
        when = _jitter(rng, when, 3, 15)
        fail = "Conflict" if rng.random() < 0.04 else None
        rows += _operation(
            rng,
            when,
            _CI,
            ip,
            _DEPLOYMENT,
            deployment,
            fail=fail,
            request={
                "properties": {
                    "mode": "Incremental",
                    "templateLink": {
                        "uri": f"https://github.com/contoso/infra/releases/{name}.json"
                    },
                }
            },
        )
        vault = _arm_id("kv-contoso-prod", "Microsoft.KeyVault/vaults")
        for secret in deploy.secrets:
            when = _jitter(rng, when, 5, 40)
            rows += _operation(rng, when, _CI, ip, _VAULT_SECRET, f"{vault}/secrets/{secret}")
        if deploy.grants_access:
            when = _jitter(rng, when, 5, 30)
            rows += _operation(
                rng,
                when,
                _CI,
                ip,
                _VAULT_POLICY,
                f"{vault}/accessPolicies/add",
                request=_access_policy_request(deploy),
            )
        rows += _TARGET_STEPS[deploy.target](rng, _jitter(rng, when, 10, 60), ip)
        if rng.random() < 0.08:
            rows += _ci_role_assignment(rng, _jitter(rng, when, 60, 200), ip)
    return rows


def _access_policy_request(deploy: _Deploy) -> dict[str, Any]:
    """The access policy a deploy grants: a workload identity may read secrets."""
    app = env.application("id-aks-workload" if deploy.target == "aks" else "id-func-backup")
    return {
        "properties": {
            "accessPolicies": [
                {
                    "tenantId": env.TENANT_ID,
                    "objectId": app.object_id,
                    "permissions": {"secrets": ["get", "list"], "keys": [], "certificates": []},
                }
            ]
        }
    }


def _ci_aks_steps(rng: random.Random, when: dt.datetime, ip: str) -> _Rows:
    """`az aks get-credentials` before `kubectl apply`."""
    cluster = _arm_id(env.AKS.name, "Microsoft.ContainerService/managedClusters")
    return _operation(rng, when, _CI, ip, _AKS_CREDENTIAL, cluster)


def _ci_infra_steps(rng: random.Random, when: dt.datetime, ip: str) -> _Rows:
    """Terraform re-applies tags, the web NSG and the vault's settings."""
    scope = f"/subscriptions/{_PROD}/resourceGroups/rg-prod-web"
    rows = _operation(
        rng,
        when,
        _CI,
        ip,
        _GROUP_WRITE,
        scope,
        request={"location": env.LOCATION, "tags": {"owner": "platform"}},
    )
    rows += _operation(
        rng,
        _jitter(rng, when, 2, 20),
        _CI,
        ip,
        _TAGS,
        f"{scope}/providers/Microsoft.Resources/tags/default",
    )
    rule = (
        f"{scope}/providers/Microsoft.Network/networkSecurityGroups/nsg-web/securityRules/"
        "Allow-HTTPS"
    )
    rows += _operation(
        rng,
        _jitter(rng, when, 20, 60),
        _CI,
        ip,
        _NSG_RULE,
        rule,
        request=_nsg_rule_body("Allow-HTTPS", ("Internet",), "443", 100),
    )
    if rng.random() < 0.3:
        rows += _operation(
            rng,
            _jitter(rng, when, 30, 90),
            _CI,
            ip,
            _VAULT_WRITE,
            _arm_id("kv-contoso-prod", "Microsoft.KeyVault/vaults"),
        )
    return rows


def _ci_function_steps(rng: random.Random, when: dt.datetime, ip: str) -> _Rows:
    """Zip-deploy of the backup Function App: publish profile, settings, restart."""
    site = _arm_id("func-contoso-backup", "Microsoft.Web/sites")
    rows = _operation(rng, when, _CI, ip, _SITE_PUBLISH, site)
    rows += _operation(
        rng, _jitter(rng, when, 2, 8), _CI, ip, _SITE_SETTINGS, f"{site}/config/appsettings"
    )
    rows += _operation(rng, _jitter(rng, when, 40, 120), _CI, ip, _SITE_RESTART, site)
    return rows


_TARGET_STEPS: dict[str, Callable[[random.Random, dt.datetime, str], _Rows]] = {
    "aks": _ci_aks_steps,
    "infra": _ci_infra_steps,
    "function": _ci_function_steps,
}


def _nsg_rule_body(name: str, sources: tuple[str, ...], port: str, priority: int) -> dict[str, Any]:
    """A securityRules/write body allowing TCP *port* in from *sources*."""
    source: dict[str, Any] = {"sourceAddressPrefix": sources[0]}
    if len(sources) > 1:
        source = {"sourceAddressPrefixes": list(sources)}
    return {
        "name": name,
        "properties": {
            "protocol": "Tcp",
            **source,
            "sourcePortRange": "*",
            "destinationAddressPrefix": "*",
            "destinationPortRange": port,
            "access": "Allow",
            "priority": priority,
            "direction": "Inbound",
        },
    }


def _role_request(principal: str, principal_type: str, role: str, scope: str) -> dict[str, Any]:
    """A roleAssignments/write request body, as the portal and PIM send it."""
    subscription = _subscription_of(scope) or _PROD
    return {
        "Id": env.stable_guid("role-request", principal, role, scope),
        "Properties": {
            "PrincipalId": principal,
            "PrincipalType": principal_type,
            "RoleDefinitionId": f"/subscriptions/{subscription}/providers/Microsoft.Authorization/"
            f"roleDefinitions/{_ROLES[role]}",
            "Scope": scope,
            "Condition": None,
            "ConditionVersion": None,
        },
    }


def _assignment_id(rng: random.Random, scope: str) -> str:
    return f"{scope}/providers/Microsoft.Authorization/roleAssignments/{guid(rng)}"


def _ci_role_assignment(rng: random.Random, when: dt.datetime, ip: str) -> _Rows:
    """Now and then a deploy grants a workload identity data access it needs."""
    app = env.application(rng.choice(("id-func-backup", "id-api-prod")))
    scope = _arm_id("stcontosobackup", "Microsoft.Storage/storageAccounts")
    return _operation(
        rng,
        when,
        _CI,
        ip,
        _ROLE_WRITE,
        _assignment_id(rng, scope),
        request=_role_request(app.object_id, "ServicePrincipal", "Storage Blob Data Reader", scope),
    )


def _key_listing(ctx: SimContext, day: int) -> _Rows:
    """listKeys: the backup Function App every half hour, the backup job nightly."""
    rng = ctx.rng(_STREAM, "list-keys", day)
    rows: _Rows = []
    backup = _arm_id("stcontosobackup", "Microsoft.Storage/storageAccounts")
    prod = _arm_id("stcontosoprod", "Microsoft.Storage/storageAccounts")
    start = ctx.day_start(day)
    for slot in range(48):
        when = start + dt.timedelta(minutes=30 * slot, seconds=rng.uniform(2, 40))
        rows += _operation(rng, when, _FUNCTION_MI, rng.choice(_FUNCTION_IPS), _LIST_KEYS, backup)
    nightly = start + _BACKUP_START
    for account in (prod, backup):
        nightly += dt.timedelta(seconds=rng.uniform(1, 20))
        rows += _operation(rng, nightly, _BACKUP_RUNNER, _PROD_EGRESS_IP, _LIST_KEYS, account)
    return rows


def _admin_work(ctx: SimContext, day: int) -> _Rows:
    """Admins in the portal, CLI and PowerShell during office hours."""
    rng = ctx.rng(_STREAM, "admins", day)
    count = rng.randint(2, 6) if ctx.is_weekend(day) else rng.randint(40, 50)
    tasks, weights = zip(*_ADMIN_TASKS, strict=True)
    rows: _Rows = []
    for _ in range(count):
        task = rng.choices(tasks, weights=weights)[0]
        rows += task(rng, ctx.office_time(rng, day))
    return rows


def _restart_vm(rng: random.Random, when: dt.datetime) -> _Rows:
    caller, ip = _admin(rng, ("dmitri.ivanov", "raj.patel", "alice.smith"))
    vm = _arm_id(rng.choice(env.VIRTUAL_MACHINES), "Microsoft.Compute/virtualMachines")
    return _operation(rng, when, caller, ip, _VM_RESTART, vm)


def _update_vm(rng: random.Random, when: dt.datetime) -> _Rows:
    caller, ip = _admin(rng, ("dmitri.ivanov", "raj.patel"))
    vm = _arm_id(rng.choice(env.VIRTUAL_MACHINES), "Microsoft.Compute/virtualMachines")
    rows = _operation(
        rng,
        when,
        caller,
        ip,
        _VM_WRITE,
        vm,
        request={"tags": {"owner": "platform", "patch-group": rng.choice("ab")}},
    )
    if rng.random() < 0.3:
        nic = vm.replace(
            "Microsoft.Compute/virtualMachines/", "Microsoft.Network/networkInterfaces/"
        )
        rows += _operation(rng, _jitter(rng, when, 30, 300), caller, ip, _NIC_WRITE, nic + "-nic")
    return rows


def _aks_credentials(rng: random.Random, when: dt.datetime) -> _Rows:
    caller, ip = _admin(rng, ("dmitri.ivanov", "raj.patel", "alice.smith"), env.AZURE_CLI)
    cluster = _arm_id(env.AKS.name, "Microsoft.ContainerService/managedClusters")
    return _operation(rng, when, caller, ip, _AKS_CREDENTIAL, cluster)


def _portal_list_keys(rng: random.Random, when: dt.datetime) -> _Rows:
    """Opening a storage account's browser or Access keys blade in the portal lists keys."""
    caller, ip = _admin(rng, app=env.AZURE_PORTAL)
    account = _arm_id(rng.choice(env.STORAGE_ACCOUNTS), "Microsoft.Storage/storageAccounts")
    return _operation(rng, when, caller, ip, _LIST_KEYS, account)


def _function_settings(rng: random.Random, when: dt.datetime) -> _Rows:
    caller, ip = _admin(rng, ("dmitri.ivanov", "raj.patel"))
    site = _arm_id("func-contoso-backup", "Microsoft.Web/sites")
    rows = _operation(rng, when, caller, ip, _SITE_SETTINGS, f"{site}/config/appsettings")
    if rng.random() < 0.3:
        rows += _operation(rng, _jitter(rng, when, 60, 600), caller, ip, _SITE_RESTART, site)
    return rows


def _monitoring(rng: random.Random, when: dt.datetime) -> _Rows:
    """The security admin wires resources to the workspace and tunes alerting."""
    caller, ip = _admin(rng, ("liam.devries", "alice.smith"))
    choice = rng.random()
    if choice < 0.5:
        name = rng.choice(env.STORAGE_ACCOUNTS + env.KEY_VAULTS)
        kind = (
            "Microsoft.KeyVault/vaults"
            if name.startswith("kv-")
            else "Microsoft.Storage/storageAccounts"
        )
        target = (
            f"{_arm_id(name, kind)}/providers/Microsoft.Insights/diagnosticSettings/to-sentinel"
        )
        return _operation(
            rng,
            when,
            caller,
            ip,
            _DIAGNOSTICS,
            target,
            request={
                "properties": {
                    "workspaceId": _WORKSPACE,
                    "logs": [{"categoryGroup": "audit", "enabled": True}],
                }
            },
        )
    scope = f"/subscriptions/{_PROD}/resourceGroups/rg-prod-data/providers/Microsoft.Insights"
    if choice < 0.75:
        return _operation(rng, when, caller, ip, _ACTION_GROUP, f"{scope}/actionGroups/ag-oncall")
    rule = rng.choice(("kv-secret-errors", "storage-403-spike", "vm-heartbeat-missing"))
    return _operation(rng, when, caller, ip, _QUERY_RULE, f"{scope}/scheduledQueryRules/{rule}")


def _nsg_change(rng: random.Random, when: dt.datetime) -> _Rows:
    """Opening SSH to the jump host from the VPN only, or HTTPS to the web tier."""
    caller, ip = _admin(rng, ("raj.patel", "alice.smith"))
    scope = f"/subscriptions/{_PROD}/resourceGroups/rg-prod-web/providers/Microsoft.Network"
    if rng.random() < 0.5:
        body = _nsg_rule_body("Allow-SSH-VPN", (f"{env.VPN_IP}/32",), "22", 110)
        rule = f"{scope}/networkSecurityGroups/nsg-mgmt/securityRules/Allow-SSH-VPN"
    else:
        office = tuple(f"{ip}/32" for ip in sorted(env.OFFICE_IPS.values()))
        body = _nsg_rule_body("Allow-HTTPS-Office", office, "443", 120)
        rule = f"{scope}/networkSecurityGroups/nsg-web/securityRules/Allow-HTTPS-Office"
    fail = "Forbidden" if rng.random() < 0.05 else None
    return _operation(rng, when, caller, ip, _NSG_RULE, rule, request=body, fail=fail)


def _tag_group(rng: random.Random, when: dt.datetime) -> _Rows:
    caller, ip = _admin(rng)
    group = rng.choice(env.RESOURCE_GROUPS[:4])
    subscription = _DEV if group == "rg-dev" else _PROD
    scope = f"/subscriptions/{subscription}/resourceGroups/{group}"
    fail = "Forbidden" if rng.random() < 0.04 else None
    return _operation(
        rng,
        when,
        caller,
        ip,
        _TAGS,
        f"{scope}/providers/Microsoft.Resources/tags/default",
        fail=fail,
    )


def _vault_settings(rng: random.Random, when: dt.datetime) -> _Rows:
    """An admin grants a new app's identity secret access on the dev vault, or edits it."""
    caller, ip = _admin(rng, ("alice.smith", "raj.patel", "dmitri.ivanov"))
    vault = _arm_id(rng.choice(env.KEY_VAULTS), "Microsoft.KeyVault/vaults")
    if rng.random() < 0.5:
        return _operation(
            rng,
            when,
            caller,
            ip,
            _VAULT_WRITE,
            vault,
            request={"properties": {"enableSoftDelete": True, "enablePurgeProtection": True}},
        )
    app = env.application(rng.choice(("id-api-prod", "id-web-prod", "invoice-processor")))
    return _operation(
        rng,
        when,
        caller,
        ip,
        _VAULT_POLICY,
        f"{vault}/accessPolicies/add",
        request={
            "properties": {
                "accessPolicies": [
                    {
                        "tenantId": env.TENANT_ID,
                        "objectId": app.object_id,
                        "permissions": {"secrets": ["get"]},
                    }
                ]
            }
        },
    )


_WORKSPACE = (
    f"/subscriptions/{_PROD}/resourceGroups/rg-prod-data/providers/"
    "Microsoft.OperationalInsights/workspaces/law-contoso-sentinel"
)

_AdminTask = Callable[[random.Random, dt.datetime], _Rows]
_ADMIN_TASKS: tuple[tuple[_AdminTask, int], ...] = (
    (_restart_vm, 12),
    (_update_vm, 8),
    (_aks_credentials, 16),
    (_portal_list_keys, 10),
    (_function_settings, 8),
    (_monitoring, 12),
    (_nsg_change, 6),
    (_tag_group, 12),
    (_vault_settings, 6),
)


def _aks_platform(ctx: SimContext, day: int) -> _Rows:
    """The AKS resource provider in the node resource group, around the clock."""
    rng = ctx.rng(_STREAM, "aks", day)
    scope = f"/subscriptions/{_PROD}/resourceGroups/{env.AKS.node_resource_group}/providers"
    vmss = f"{scope}/Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-51397738-vmss"
    network = {
        _LOAD_BALANCER: f"{scope}/Microsoft.Network/loadBalancers/kubernetes",
        _PUBLIC_IP: f"{scope}/Microsoft.Network/publicIPAddresses/kubernetes-"
        f"{env.stable_hex(32, 'aks-pip')}",
        _NSG_WRITE: f"{scope}/Microsoft.Network/networkSecurityGroups/aks-agentpool-51397738-nsg",
    }
    rows: _Rows = []
    for _ in range(rng.randint(24, 32)):
        rows += _operation(
            rng,
            ctx.any_time(rng, day),
            _AKS_RP,
            None,
            _VMSS_WRITE,
            vmss,
            request={"sku": {"name": "Standard_D4s_v5", "capacity": rng.randint(3, 5)}},
        )
    for _ in range(rng.randint(8, 14)):
        instance = f"{vmss}/virtualMachines/{rng.randrange(3)}"
        rows += _operation(rng, ctx.any_time(rng, day), _AKS_RP, None, _VMSS_VM_WRITE, instance)
    for op, resource in network.items():
        for _ in range(rng.randint(2, 4)):
            rows += _operation(rng, ctx.any_time(rng, day), _AKS_RP, None, op, resource)
    return rows


def _defender_and_policy(ctx: SimContext, day: int) -> _Rows:
    """Defender for Cloud (re)installs MDE.Linux and Policy remediates monitoring settings."""
    rng = ctx.rng(_STREAM, "defender", day)
    rows: _Rows = []
    for vm_name in rng.sample(env.VIRTUAL_MACHINES, rng.randint(1, 3)):
        vm = _arm_id(vm_name, "Microsoft.Compute/virtualMachines")
        rows += _operation(
            rng,
            ctx.any_time(rng, day),
            _DEFENDER,
            None,
            _EXTENSION,
            f"{vm}/extensions/MDE.Linux",
            request={
                "properties": {
                    "publisher": "Microsoft.Azure.AzureDefenderForServers",
                    "type": "MDE.Linux",
                    "typeHandlerVersion": "1.0",
                    "autoUpgradeMinorVersion": True,
                }
            },
        )
    for _ in range(rng.randint(1, 3)):
        vm = _arm_id(rng.choice(env.VIRTUAL_MACHINES), "Microsoft.Compute/virtualMachines")
        rows += _operation(
            rng,
            ctx.any_time(rng, day),
            _POLICY_REMEDIATION,
            None,
            _EXTENSION,
            f"{vm}/extensions/AzureMonitorLinuxAgent",
        )
    for _ in range(rng.randint(2, 4)):
        vault = _arm_id(rng.choice(env.KEY_VAULTS), "Microsoft.KeyVault/vaults")
        rows += _operation(
            rng,
            ctx.any_time(rng, day),
            _POLICY_REMEDIATION,
            None,
            _DIAGNOSTICS,
            f"{vault}/providers/Microsoft.Insights/diagnosticSettings/setByPolicy-LogAnalytics",
            request={"properties": {"workspaceId": _WORKSPACE}},
        )
    return rows


def _pim_activations(ctx: SimContext, day: int) -> _Rows:
    """PIM on working days: alice.smith activates Owner, others sometimes Contributor.

    MS-PIM writes the assignment when the role is activated and deletes it when the
    activation expires, a few hours later.
    """
    if ctx.is_weekend(day):
        return []
    rng = ctx.rng(_STREAM, "pim", day)
    activations = [("alice.smith", "Owner")]
    if rng.random() < 0.6:
        activations.append((rng.choice(("dmitri.ivanov", "raj.patel")), "Contributor"))
    rows: _Rows = []
    for alias, role in activations:
        group = rng.choice(("rg-prod-web", "rg-prod-data", "rg-aks-prod"))
        scope = f"/subscriptions/{_PROD}"
        if role != "Owner" or rng.random() < 0.5:
            scope += f"/resourceGroups/{group}"
        assignment = _assignment_id(rng, scope)
        body = _role_request(env.person(alias).object_id, "User", role, scope)
        start = ctx.office_time(rng, day)
        rows += _operation(rng, start, _PIM, None, _ROLE_WRITE, assignment, request=body)
        expiry = start + dt.timedelta(hours=rng.choice((2, 4, 8)))
        rows += _operation(rng, expiry, _PIM, None, _ROLE_DELETE, assignment)
    return rows


def _admin_grants(ctx: SimContext, day: int) -> _Rows:
    """Working days: an admin gives a colleague Reader, Contributor or AKS user access."""
    if ctx.is_weekend(day):
        return []
    rng = ctx.rng(_STREAM, "grants", day)
    rows: _Rows = []
    for _ in range(2 if rng.random() < 0.3 else 1):
        caller, ip = _admin(rng, ("raj.patel", "alice.smith"))
        grantee = rng.choice(env.PEOPLE[5:40])
        role = rng.choice(_GRANTED_ROLES)
        group = rng.choice(("rg-dev", "rg-prod-web", "rg-aks-prod"))
        subscription = _DEV if group == "rg-dev" else _PROD
        scope = f"/subscriptions/{subscription}/resourceGroups/{group}"
        body = _role_request(grantee.object_id, "User", role, scope)
        rows += _operation(
            rng,
            ctx.office_time(rng, day),
            caller,
            ip,
            _ROLE_WRITE,
            _assignment_id(rng, scope),
            request=body,
        )
    return rows


_GRANTED_ROLES = ("Reader", "Reader", "Contributor", "Azure Kubernetes Service Cluster User Role")


def _weekly_admin_actions(ctx: SimContext, day: int) -> _Rows:
    """Run Command on vm-app01 (Mondays, Thursdays) and elevate access (Tuesdays).

    dmitri.ivanov restarts the app and tails its journal through Run Command; alice.smith
    elevates to the root scope to fix a subscription's access, then removes the elevation.
    """
    rng = ctx.rng(_STREAM, "weekly", day)
    rows: _Rows = []
    weekday = ctx.day_start(day).weekday()
    if weekday in (0, 3):
        caller = _person_caller("dmitri.ivanov", env.AZURE_PORTAL)
        vm = _arm_id("vm-app01", "Microsoft.Compute/virtualMachines")
        when = ctx.day_start(day) + dt.timedelta(hours=rng.uniform(8, 15))
        rows += _operation(
            rng,
            when,
            caller,
            env.OFFICE_IPS["NL"],
            _RUN_COMMAND,
            vm,
            request={
                "commandId": "RunShellScript",
                "script": ["systemctl restart app", "journalctl -u app -n 100 --no-pager"],
            },
        )
    if weekday == 1:
        caller = _person_caller("alice.smith", env.AZURE_PORTAL)
        ip = env.OFFICE_IPS["NL"]
        when = ctx.day_start(day) + dt.timedelta(hours=rng.uniform(9, 14))
        rows += _operation(rng, when, caller, ip, _ELEVATE, "/providers/Microsoft.Authorization")
        removal = _jitter(rng, when, 900, 2400)
        rows += _operation(rng, removal, caller, ip, _ROLE_DELETE, _assignment_id(rng, ""))
    return rows


def _platform(ctx: SimContext, day: int) -> _Rows:
    """Advisor recommendations and the odd host-maintenance health event."""
    rng = ctx.rng(_STREAM, "platform", day)
    rows: _Rows = []
    for _ in range(rng.randint(1, 3)):
        vm = _arm_id(rng.choice(env.VIRTUAL_MACHINES), "Microsoft.Compute/virtualMachines")
        extra = {
            "recommendationSchemaVersion": "1.0",
            "recommendationCategory": rng.choice(("Cost", "Security", "HighAvailability")),
            "recommendationImpact": rng.choice(("Low", "Medium")),
            "recommendationName": env.stable_guid("advisor", vm),
        }
        row = _row(
            rng,
            _ADVISOR,
            None,
            None,
            vm,
            (guid(rng), guid(rng)),
            _Event(ctx.any_time(rng, day), "Success", None, extra),
        )
        row["Caller"] = "Microsoft.Advisor"
        rows.append(row)
    if rng.random() < 0.4:
        vm = _arm_id(rng.choice(env.VIRTUAL_MACHINES), "Microsoft.Compute/virtualMachines")
        when = ctx.any_time(rng, day)
        correlation = guid(rng)
        for op, before, after in (
            (_HEALTH_ACTIVATED, "Available", "Unavailable"),
            (_HEALTH_RESOLVED, "Unavailable", "Available"),
        ):
            extra = {
                "title": "Rebooted by planned maintenance",
                "cause": "PlatformInitiated",
                "type": "Downtime",
                "currentHealthStatus": after,
                "previousHealthStatus": before,
            }
            event = _Event(when, "Success", None, extra)
            rows.append(_row(rng, op, None, None, vm, (correlation, guid(rng)), event))
            when = _jitter(rng, when, 300, 900)
    return rows


_SCENARIOS: tuple[Callable[[SimContext, int], _Rows], ...] = (
    _ci_runs,
    _key_listing,
    _admin_work,
    _aks_platform,
    _defender_and_policy,
    _pim_activations,
    _admin_grants,
    _weekly_admin_actions,
    _platform,
)


def generate(ctx: SimContext) -> dict[str, list[dict[str, Any]]]:
    """Benign rows for AzureActivity, keyed by table name."""
    return {_TABLE: daily_rows(ctx, _SCENARIOS)}
