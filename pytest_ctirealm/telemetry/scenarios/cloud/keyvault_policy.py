"""Key Vault self-grant (T1098, T1555.006): an intruder holding someone's Azure session,
with management rights over a key vault but no right to its secrets, is refused, grants
that same identity secret access, and reads the vault's secrets in one sitting.

Per instance: the victim (a helpdesk admin, an engineer or an operator whose session was
stolen), the vault and with it the variant (on an access-policy vault an access-policy
entry for oneself, which ARM relays to Key Vault as a VaultPatch under the same
CorrelationId; on an RBAC vault a Key Vault data role assigned to oneself on the vault,
its resource group or its subscription), the permissions or role granted, the client
(Azure CLI, Az PowerShell, or a script replaying the CLI's token; their versions never
those Contoso's staff run), the attacker's server (`hosted`), how many refusals come
before the grant (and, on RBAC, one while the assignment propagates), which secrets and
how many are read, and the time of day.

Look-alikes: release pipelines grant workload identities access and those identities
then list and read their secrets; administrators grant colleagues and apps access
(access policies relayed to Key Vault under ARM's CorrelationId, Key Vault role
assignments), often right after the colleague was refused; people and apps are refused
now and then on both vaults; engineers and the vault export job read many secrets in
one sitting.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.benign import azure_activity as arm
from pytest_ctirealm.telemetry.benign import keyvault as kv
from pytest_ctirealm.telemetry.campaign import Instance
from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.scenarios.base import (
    Stages,
    incident_start,
    lookalikes,
    scenario,
)
from pytest_ctirealm.telemetry.scenarios.cloud.common import (
    Attack,
    Family,
    Row,
    hosted,
    user_arm_caller,
)

CAMPAIGN = "keyvault_policy_abuse"

#: Built-in Key Vault data roles (the same ids in every tenant).
KEY_VAULT_ROLES = {
    "Key Vault Administrator": "00482a5a-887f-4fb3-b363-3b7fe8e74483",
    "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
}

#: The management role the victim's session carries (ARM's authorization evidence), and
#: the data role the intruder grants itself, by instance key.
ARM_ROLES = {
    "rg_contributor": "Contributor",
    "kv_contributor": "Key Vault Contributor",
    "rg_owner": "Owner",
    "user_access_admin": "User Access Administrator",
    "storage_contributor": "Storage Account Contributor",
}
GRANTED = {
    "kv_admin": "Key Vault Administrator",
    "kv_secrets_officer": "Key Vault Secrets Officer",
    "kv_secrets_user": "Key Vault Secrets User",
}

#: Whose session the intruder holds: people who manage vaults but read no secrets.
_VICTIMS = (
    "sofia.jansen",
    "sarah.meijer",
    "wei.chen",
    "omar.devries",
    "anna.devries",
    "john.brown",
    "lucas.chen",
    "sem.ivanov",
    "liam.visser",
)

#: What each vault holds.
VAULT_SECRETS = {
    kv._PROD_VAULT: (
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
        "stripe-api-key",
        "graph-client-secret",
        "redis-primary-key",
        "pg-replication-password",
    ),
    kv._DEV_VAULT: (
        "db-password",
        "storage-conn",
        "api-key",
        "test-user-password",
        "sp-secret",
        "acr-admin-password",
        "pg-dev-password",
        "github-pat",
        "sonar-token",
        "ci-sp-secret",
        "grafana-admin-password",
    ),
}

#: Access-policy permission sets an intruder grants itself.
_PERMISSION_SETS = (
    {"secrets": ["get", "list"], "keys": [], "certificates": []},
    {"secrets": ["get", "list"]},
    {"secrets": ["get", "list", "set", "delete"], "keys": [], "certificates": []},
    {"secrets": ["all"], "keys": ["all"], "certificates": ["all"]},
    {
        "secrets": ["get", "list", "backup"],
        "keys": ["get", "list"],
        "certificates": ["get", "list"],
    },
)

# -- the intruder's clients (versions Contoso's staff never run) ---------------------------

_CLI_VERSIONS = ("2.53.1", "2.55.0", "2.57.0", "2.58.0", "2.59.0", "2.60.0", "2.61.0", "2.62.0")
_PYTHONS = ("3.10.14", "3.11.9", "3.11.7", "3.12.3", "3.12.4")
_PLATFORMS = (
    "Linux-6.8.0-1014-aws-x86_64-with-glibc2.39",
    "Linux-5.15.0-1057-aws-x86_64-with-glibc2.35",
    "Linux-6.5.0-35-generic-x86_64-with-glibc2.35",
    "Linux-6.1.0-18-cloud-amd64-x86_64-with-glibc2.36",
    "macOS-14.4.1-arm64-arm-64bit",
    "Linux-6.8.0-31-generic-x86_64-with-glibc2.39",
)
_AZ_MODULES = ("11.3.1", "11.6.0", "12.0.0", "12.1.0", "12.2.0")
_PWSH = ("7.4.1", "7.4.2", "7.3.12", "7.4.3")
_FX = ("8.0.324.11423", "8.0.424.16909", "7.0.1724.11508")
_SCRIPT_AGENTS = (
    "python-requests/2.31.0",
    "python-requests/2.32.3",
    "python-requests/2.28.2",
    "Go-http-client/1.1",
    "curl/8.5.0",
    "curl/7.88.1",
    "axios/1.6.8",
)


@dataclass(frozen=True)
class Tool:
    """How the intruder talks to ARM and to the vault."""

    app: env.App  # whose token (the client the session was stolen from)
    data: str  # clientInfo_s of data-plane requests
    management: str  # clientInfo_s Key Vault logs for the relayed VaultPatch


def _tool(instance: Instance) -> Tool:
    kind = instance.pick("client", ("azure_cli", "az_powershell", "token_replay"))
    if kind == "azure_cli":
        cli = instance.pick("cli_version", _CLI_VERSIONS)
        tail = f"Python/{instance.pick('python', _PYTHONS)} ({instance.pick('os', _PLATFORMS)})"
        return Tool(
            env.AZURE_CLI,
            f"AZURECLI/{cli} (PIP) azsdk-python-keyvault-secrets/4.7.0 {tail}",
            f"AZURECLI/{cli} (PIP) azsdk-python-mgmt-keyvault/10.3.0 {tail}",
        )
    if kind == "az_powershell":
        module = instance.pick("az_version", _AZ_MODULES)
        head = (
            f"FxVersion/{instance.pick('fx', _FX)} OSName/Linux "
            f"OSVersion/Ubuntu.22.04.4.LTS PSVersion/{instance.pick('pwsh', _PWSH)}"
        )
        return Tool(
            env.AZURE_POWERSHELL,
            f"{head} AzurePowershell/v{module} Get-AzKeyVaultSecret",
            f"{head} AzurePowershell/v{module} Set-AzKeyVaultAccessPolicy",
        )
    agent = instance.pick("agent", _SCRIPT_AGENTS)
    return Tool(env.AZURE_CLI, agent, agent)


# -- rows shared by the intrusion and the look-alikes --------------------------------------


def vault_id(vault: str) -> str:
    return arm._arm_id(vault, "Microsoft.KeyVault/vaults")


def arm_write(
    a: Attack,
    caller: arm._Caller,
    ip: str,
    op: arm._Op,
    resource_id: str,
    request: dict[str, Any],
    *,
    fail: str | None = "",
) -> tuple[list[Row], list[Row]]:
    """One ARM write as the background logs it (Start, Success with its substatus, the
    Azure Policy evaluations it triggers): (the caller's rows, the policy rows). *fail*
    None lets it fail as often as any request does; the clock moves to its end."""
    rows = arm._operation(a.rng, a.now, caller, ip, op, resource_id, request=request, fail=fail)
    own = [r for r in rows if r["Category"] != "Policy"]
    if op is arm._ROLE_WRITE and succeeded(own):
        _respond(own[-1], caller, resource_id, request)
    a.now = max(a.now, own[-1]["TimeGenerated"])
    return own, [r for r in rows if r["Category"] == "Policy"]


def _respond(row: Row, caller: arm._Caller, resource_id: str, request: dict[str, Any]) -> None:
    """The role assignment ARM created, as its Success record carries it (responseBody)."""
    asked = request["Properties"]
    created = row["TimeGenerated"].strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
    body = {
        "properties": {
            "roleDefinitionId": asked["RoleDefinitionId"],
            "principalId": asked["PrincipalId"],
            "principalType": asked["PrincipalType"],
            "scope": asked["Scope"],
            "condition": None,
            "conditionVersion": None,
            "createdOn": created,
            "updatedOn": created,
            "createdBy": None,
            "updatedBy": caller.object_id,
            "delegatedManagedIdentityResourceId": None,
            "description": None,
        },
        "id": resource_id,
        "type": "Microsoft.Authorization/roleAssignments",
        "name": resource_id.rsplit("/", 1)[1],
    }
    row["Properties_d"]["responseBody"] = json.dumps(body)
    row["Properties"] = json.dumps(row["Properties_d"])


def succeeded(rows: list[Row]) -> bool:
    return bool(rows) and rows[-1]["ActivityStatusValue"] == "Success"


def policy_body(grantee: str, permissions: dict[str, list[str]]) -> dict[str, Any]:
    """An accessPolicies/add request body."""
    return {
        "properties": {
            "accessPolicies": [
                {"tenantId": env.TENANT_ID, "objectId": grantee, "permissions": permissions}
            ]
        }
    }


def role_body(principal: str, principal_type: str, role_id: str, scope: str) -> dict[str, Any]:
    """A roleAssignments/write request body for role definition *role_id* on *scope*."""
    subscription = scope.split("/")[2]
    return {
        "Id": env.stable_guid("role-request", principal, role_id, scope),
        "Properties": {
            "PrincipalId": principal,
            "PrincipalType": principal_type,
            "RoleDefinitionId": f"/subscriptions/{subscription}/providers/"
            f"Microsoft.Authorization/roleDefinitions/{role_id}",
            "Scope": scope,
            "Condition": None,
            "ConditionVersion": None,
        },
    }


def relayed_patch(
    a: Attack, start: Row, vault: str, who: kv._Identity, ip: str, client: str
) -> tuple[Row, Row]:
    """What Key Vault logs for an access-policy write ARM relays to it: the VaultPatch
    under ARM's CorrelationId, then the change notification."""
    when = start["TimeGenerated"] + dt.timedelta(seconds=a.rng.uniform(0.4, 2.0))
    patch = kv._arm_vault_row(
        a.rng, when, vault, "VaultPatch", who, ip, client, "/accessPolicies/add"
    )
    patch["CorrelationId"] = start["CorrelationId"]
    when += dt.timedelta(seconds=a.rng.uniform(1, 5))
    notice = kv._vault_row(
        a.rng,
        when,
        vault,
        kv._Call("VaultAccessPolicyChangedEventGridNotification", ""),
        None,
        a.rng.choice(kv._AZURE_SERVICE_IPS),
        None,
    )
    for column in ("httpStatusCode_d", "requestUri_s"):
        notice.pop(column)
    return patch, notice


def data_calls(
    a: Attack,
    vault: str,
    calls: list[kv._Call],
    who: kv._Identity,
    ip: str,
    client: str,
    gap: tuple[float, float] = (0.3, 3.0),
) -> list[Row]:
    """Data-plane requests one after another (a token already in hand: no challenge)."""
    rows = []
    for call in calls:
        rows.append(kv._vault_row(a.rng, a.now, vault, call, who, ip, client))
        a.wait(*gap)
    return rows


def refused(call: kv._Call) -> kv._Call:
    """The same request answered 403."""
    return kv._Call(call.operation, call.path, call.item, 403, call.query)


# -- the intrusion -------------------------------------------------------------------------


@scenario(
    CAMPAIGN,
    "cloud",
    ("denied", "policy_grant", "policy_audit", "secret_reads"),
)
def keyvault_policy_abuse(ctx: SimContext) -> Stages:
    """Refused, grant oneself secret access, read the secrets.

    Stages: `denied` the intruder's refused data-plane requests; `policy_grant` the
    grant's ARM records by the intruder (and, for an access policy, the VaultPatch Key
    Vault logs under the same CorrelationId); `policy_audit` what the platform logs
    about the change (Azure Policy's evaluations, Key Vault's change notification);
    `secret_reads` the listing and the secret reads."""
    instance = Instance(ctx, CAMPAIGN)
    victim = env.person(instance.pick("victim", _VICTIMS))
    instance.keep("victim_upn", victim.upn)
    vault = instance.pick("vault", sorted(VAULT_SECRETS))
    rbac = vault in kv._RBAC_VAULTS
    variant = instance.keep("variant", "role_assignment" if rbac else "access_policy")
    tool = _tool(instance)
    infra = hosted(instance, "attacker_ip")
    ip = infra.ip
    window = instance.pick("hours", ((0, 7), (7, 12), (12, 18), (18, 24)))
    start = min(incident_start(ctx, CAMPAIGN, window), ctx.end - dt.timedelta(hours=2))
    a = Attack(ctx, CAMPAIGN, start)
    me = kv._Identity(victim.object_id, tool.app.app_id, upn=victim.upn)
    secrets = VAULT_SECRETS[vault]
    taken = instance.sample("secrets", secrets, instance.between(5, len(secrets)))

    # Refused: the listing, and perhaps a secret or two guessed by name.
    probes = [refused(kv._SECRET_LIST)]
    probes += [refused(kv._secret_get(name)) for name in taken[: instance.between(0, 2)]]
    a.add("denied", "AzureDiagnostics", *data_calls(a, vault, probes, me, ip, tool.data, (2, 40)))

    a.wait(60, 420)
    if variant == "access_policy":
        role = ARM_ROLES[instance.pick("arm_role", ("rg_contributor", "kv_contributor"))]
        permissions = instance.pick("permissions", _PERMISSION_SETS)
        caller = user_arm_caller(victim, tool.app, role)
        own, policy = arm_write(
            a,
            caller,
            ip,
            arm._VAULT_POLICY,
            f"{vault_id(vault)}/accessPolicies/add",
            policy_body(victim.object_id, permissions),
        )
        patch, notice = relayed_patch(a, own[0], vault, me, ip, tool.management)
        a.add("policy_grant", "AzureActivity", *own)
        a.add("policy_grant", "AzureDiagnostics", patch)
        a.add("policy_audit", "AzureActivity", *policy)
        a.add("policy_audit", "AzureDiagnostics", notice)
    else:
        role = ARM_ROLES[instance.pick("arm_role", ("rg_owner", "user_access_admin"))]
        granted = GRANTED[instance.pick("granted_role", sorted(GRANTED))]
        scopes = {
            "vault_scope": vault_id(vault),
            "group_scope": vault_id(vault).split("/providers/")[0],
            "subscription_scope": "/".join(vault_id(vault).split("/")[:3]),
        }
        scope = scopes[instance.pick("scope", sorted(scopes))]
        caller = user_arm_caller(victim, tool.app, role)
        assignment = arm._assignment_id(a.rng, scope)
        own, policy = arm_write(
            a,
            caller,
            ip,
            arm._ROLE_WRITE,
            assignment,
            role_body(victim.object_id, "User", KEY_VAULT_ROLES[granted], scope),
        )
        a.add("policy_grant", "AzureActivity", *own)
        a.add("policy_audit", "AzureActivity", *policy)
        if instance.chance(0.5):
            # The assignment has not propagated yet: refused once more.
            a.wait(5, 40)
            retry = refused(kv._SECRET_LIST)
            a.add("denied", "AzureDiagnostics", *data_calls(a, vault, [retry], me, ip, tool.data))

    a.wait(30, 600)
    calls = [kv._SECRET_LIST] + [kv._secret_get(name) for name in taken]
    a.add("secret_reads", "AzureDiagnostics", *data_calls(a, vault, calls, me, ip, tool.data))
    return a.stages


# -- look-alikes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Workload:
    """An app identity that reads a vault: where it runs and its SDK."""

    name: str
    ips: tuple[str, ...]
    client: str


_WORKLOADS = (
    _Workload("id-web-prod", ("10.1.1.4", "10.1.1.5"), kv._PYTHON),
    _Workload("id-api-prod", ("10.1.2.4",), kv._JAVA),
    _Workload("invoice-processor", env.AKS.node_ips, kv._PYTHON),
    _Workload("id-aks-workload", env.AKS.node_ips, kv._CSI),
    _Workload("id-func-backup", arm._FUNCTION_IPS, kv._DOTNET),
    _Workload("hr-sync", ("10.1.2.4",), kv._PYTHON),
    _Workload("contoso-api", env.AKS.node_ips, kv._JAVA),
    _Workload("backup-runner", ("10.1.3.4",), kv._PYTHON),
)
#: Who grants colleagues access, and whom.
_GRANTERS = ("alice.smith", "raj.patel", "dmitri.ivanov")
_COLLEAGUES = tuple(p.upn.split("@")[0] for p in env.PEOPLE[5:70])
_ENGINEERS = ("alice.smith", "raj.patel", "dmitri.ivanov", "liam.devries")
_PERSON_CLIENTS = {
    env.AZURE_PORTAL.app_id: kv._BROWSER,
    env.AZURE_CLI.app_id: kv._CLI_WINDOWS,
    env.AZURE_POWERSHELL.app_id: (
        "FxVersion/8.0.824.36612 OSName/Windows OSVersion/Microsoft.Windows.10.0.22631 "
        "PSVersion/7.4.5 AzurePowershell/v12.3.0"
    ),
}


def _office_ip(f: Family, alias: str) -> str:
    """Where a person works from today: their office, or the VPN."""
    return env.VPN_IP if f.rng.random() < 0.15 else env.OFFICE_IPS[env.person(alias).country]


def _person_app(f: Family) -> env.App:
    return f.rng.choices(
        (env.AZURE_PORTAL, env.AZURE_CLI, env.AZURE_POWERSHELL), weights=(6, 3, 1)
    )[0]


def _grant(
    f: Family,
    caller: arm._Caller,
    identity: kv._Identity,
    ip: str,
    client: str,
    vault: str,
    grantee: str,
    principal_type: str,
    rbac_scope: str | None = None,
) -> bool:
    """An access policy or a Key Vault role for *grantee*, as the vault's model wants it;
    the access policy is relayed to Key Vault under ARM's CorrelationId. Whether it
    succeeded."""
    if vault in kv._RBAC_VAULTS:
        role = f.rng.choice(
            ("Key Vault Secrets User", "Key Vault Secrets User", "Key Vault Secrets Officer")
        )
        scope = rbac_scope or vault_id(vault)
        own, policy = arm_write(
            f,
            caller,
            ip,
            arm._ROLE_WRITE,
            arm._assignment_id(f.rng, scope),
            role_body(grantee, principal_type, KEY_VAULT_ROLES[role], scope),
            fail=None,
        )
        f.add(f.name, "AzureActivity", *own, *policy)
        return succeeded(own)
    permissions = f.rng.choice(
        (
            {"secrets": ["get", "list"], "keys": [], "certificates": []},
            {"secrets": ["get"]},
            {"secrets": ["get", "list"]},
        )
    )
    own, policy = arm_write(
        f,
        caller,
        ip,
        arm._VAULT_POLICY,
        f"{vault_id(vault)}/accessPolicies/add",
        policy_body(grantee, permissions),
        fail=None,
    )
    f.add(f.name, "AzureActivity", *own, *policy)
    if not succeeded(own):
        return False
    f.add(f.name, "AzureDiagnostics", *relayed_patch(f, own[0], vault, identity, ip, client))
    return True


def _sdk_session(
    f: Family, vault: str, calls: list[kv._Call], workload: _Workload, ip: str
) -> list[Row]:
    """An app's SDK: the 401 challenge, then its requests."""
    who = kv._app_identity(workload.name)
    return kv._session(f.rng, f.now, vault, calls, who, ip, workload.client)


def _pipeline_grants(ctx: SimContext) -> dict[str, list[Row]]:
    """A release pipeline grants a workload identity access to a vault; minutes later the
    workload starts, lists the vault and reads its secrets."""
    f = Family(ctx, CAMPAIGN, "pipeline_grants")
    ci = kv._app_identity("ci-deployer")
    for moment in f.times(1, 3):
        f.at(moment)
        ip = f.rng.choice(arm._CI_RUNNER_IPS)
        vault = kv._PROD_VAULT if f.rng.random() < 0.65 else kv._DEV_VAULT
        workload = f.rng.choice(_WORKLOADS)
        grantee = env.application(workload.name).object_id
        if not _grant(f, arm._CI, ci, ip, kv._CLI_LINUX, vault, grantee, "ServicePrincipal"):
            continue
        f.wait(60, 420)
        secrets = f.rng.sample(VAULT_SECRETS[vault], f.rng.randint(3, 7))
        calls = [kv._SECRET_LIST] + [kv._secret_get(s) for s in secrets]
        f.add(
            f.name,
            "AzureDiagnostics",
            *_sdk_session(f, vault, calls, workload, f.rng.choice(workload.ips)),
        )
    return f.stages.get(f.name, {})


def _colleague_grants(ctx: SimContext) -> dict[str, list[Row]]:
    """An administrator grants a colleague (often just refused) or an app access; the
    colleague then reads what they needed."""
    f = Family(ctx, CAMPAIGN, "colleague_grants")
    for moment in f.times(1, 3):
        f.at(moment)
        vault = f.rng.choice(sorted(VAULT_SECRETS))
        granter = f.rng.choice(_GRANTERS)
        app = _person_app(f)
        ip = _office_ip(f, granter)
        caller = arm._person_caller(granter, app)
        identity = kv._person_identity(granter, app)
        if f.rng.random() < 0.3:
            workload = f.rng.choice(_WORKLOADS)
            grantee = env.application(workload.name).object_id
            _grant(
                f,
                caller,
                identity,
                ip,
                _PERSON_CLIENTS[app.app_id],
                vault,
                grantee,
                "ServicePrincipal",
            )
            continue
        colleague = f.rng.choice(_COLLEAGUES)
        their_ip = _office_ip(f, colleague)
        portal = vault not in kv._RBAC_VAULTS
        their_app = env.AZURE_PORTAL if portal else env.AZURE_CLI
        them = kv._person_identity(colleague, their_app)
        client = kv._BROWSER if portal else kv._CLI_WINDOWS
        wanted = f.rng.sample(VAULT_SECRETS[vault], f.rng.randint(1, 3))
        if f.rng.random() < 0.6:
            # Refused first, then asks for access.
            ask = [refused(kv._SECRET_LIST) if portal else refused(kv._secret_get(wanted[0]))]
            f.add(f.name, "AzureDiagnostics", *data_calls(f, vault, ask, them, their_ip, client))
            f.wait(300, 3600)
        scope = None
        if not portal and f.rng.random() < 0.3:
            scope = vault_id(vault).split("/providers/")[0]
        person = env.person(colleague).object_id
        if not _grant(
            f, caller, identity, ip, _PERSON_CLIENTS[app.app_id], vault, person, "User", scope
        ):
            continue
        f.wait(120, 1800)
        calls = ([kv._SECRET_LIST] if portal else []) + [kv._secret_get(s) for s in wanted]
        f.add(
            f.name,
            "AzureDiagnostics",
            *data_calls(f, vault, calls, them, their_ip, client, (2, 30)),
        )
    return f.stages.get(f.name, {})


def _refusals(ctx: SimContext) -> dict[str, list[Row]]:
    """People and apps refused now and then: a listing in the portal without the list
    permission, a CLI read on the RBAC vault without a data role, an app's new release
    asking for a secret it was never granted (its SDK retries)."""
    f = Family(ctx, CAMPAIGN, "refusals")
    for moment in f.times(2, 5):
        f.at(moment)
        vault = f.rng.choice(sorted(VAULT_SECRETS))
        secret = f.rng.choice(VAULT_SECRETS[vault])
        if f.rng.random() < 0.4:
            workload = f.rng.choice(_WORKLOADS)
            call = refused(kv._secret_get(secret))
            calls = [call] * f.rng.randint(1, 3)
            f.add(
                f.name,
                "AzureDiagnostics",
                *_sdk_session(f, vault, calls, workload, f.rng.choice(workload.ips)),
            )
            continue
        alias = f.rng.choice(_COLLEAGUES + _ENGINEERS)
        ip = _office_ip(f, alias)
        if vault in kv._RBAC_VAULTS or f.rng.random() < 0.3:
            who = kv._person_identity(alias, env.AZURE_CLI)
            calls = [refused(f.rng.choice((kv._SECRET_LIST, kv._secret_get(secret))))]
            rows = kv._session(f.rng, f.now, vault, calls, who, ip, kv._CLI_WINDOWS)
        else:
            who = kv._person_identity(alias, env.AZURE_PORTAL)
            calls = [refused(kv._SECRET_LIST)]
            rows = kv._session(f.rng, f.now, vault, calls, who, ip, kv._BROWSER, challenge=False)
        f.add(f.name, "AzureDiagnostics", *rows)
    return f.stages.get(f.name, {})


def _secret_sweeps(ctx: SimContext) -> dict[str, list[Row]]:
    """Many secrets read in one sitting by those allowed to: an engineer filling a local
    environment from the dev vault, the export job copying the prod vault."""
    f = Family(ctx, CAMPAIGN, "secret_sweeps")
    for moment in f.times(1, 2):
        f.at(moment)
        if f.rng.random() < 0.6:
            alias = f.rng.choice(_ENGINEERS)
            vault = kv._DEV_VAULT
            secrets = f.rng.sample(VAULT_SECRETS[vault], f.rng.randint(4, 9))
            calls = [kv._SECRET_LIST] + [kv._secret_get(s) for s in secrets]
            who = kv._person_identity(alias, env.AZURE_CLI)
            rows = kv._session(
                f.rng, f.now, vault, calls, who, _office_ip(f, alias), kv._CLI_WINDOWS
            )
        else:
            workload = next(w for w in _WORKLOADS if w.name == "backup-runner")
            secrets = f.rng.sample(VAULT_SECRETS[kv._PROD_VAULT], f.rng.randint(8, 12))
            calls = [kv._SECRET_LIST] + [kv._secret_get(s) for s in secrets]
            rows = _sdk_session(f, kv._PROD_VAULT, calls, workload, workload.ips[0])
        f.add(f.name, "AzureDiagnostics", *rows)
    return f.stages.get(f.name, {})


_FAMILIES = {
    "pipeline_grants": _pipeline_grants,
    "colleague_grants": _colleague_grants,
    "refusals": _refusals,
    "secret_sweeps": _secret_sweeps,
}


@lookalikes(CAMPAIGN, tuple(_FAMILIES))
def keyvault_lookalikes(ctx: SimContext) -> Stages:
    return {name: family(ctx) for name, family in _FAMILIES.items()}
