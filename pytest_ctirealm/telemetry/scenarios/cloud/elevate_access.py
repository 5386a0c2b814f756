"""Elevate access, then ownership of the subscriptions (T1548.005, T1098.003), as
Storm-0501 does: hours after it was planted (`au_backdoor.py`), the backdoor Global
Administrator signs in to Azure, elevates its access to User Access Administrator at the
root scope and, through that elevation, makes itself Owner of subscriptions; it then
removes the resource locks that protect them and sometimes switches the elevation off
again.

Per instance: the planted account (shared with the backdoor), the server it works from
(another address than the backdoor's, at a drawn hosting provider), the tool (the Azure
portal in a browser, the Azure CLI or Azure PowerShell, each with its own user agent),
how many hours after the backdoor it starts and how quickly it acts, which subscriptions
it takes (one or both), which resource locks it deletes, and whether it removes the
elevation afterwards.

The sign-in's token id is the `uti` claim of every ARM request of the flow, for the attack
and for the look-alikes alike.

Look-alikes: the Global Administrator elevating to repair a subscription's access (for a
colleague, a group-less team or a deployment identity) and removing the elevation
afterwards, owners granting roles at subscription scope, owners granting themselves data
roles on their own resources, and PIM activations of Owner and Contributor.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from typing import Any

from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.benign import azure_activity as arm
from pytest_ctirealm.telemetry.benign import entra
from pytest_ctirealm.telemetry.campaign import Instance
from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.scenarios.base import Stages, lookalikes, scenario
from pytest_ctirealm.telemetry.scenarios.cloud.au_backdoor import (
    BROWSERS,
    Planted,
    planted,
    record,
    workday_sessions,
)
from pytest_ctirealm.telemetry.scenarios.cloud.common import (
    DEV,
    PROD,
    Attack,
    Family,
    Login,
    Row,
    arm_operation,
    audit,
    hosted,
    person_profile,
    person_target,
    role_request,
    sign_in,
    unregistered,
    user_arm_caller,
    user_by,
)

CAMPAIGN = "elevate_access_takeover"
ROOT = "/providers/Microsoft.Authorization"
ELEVATED = "User has elevated their access to User Access Administrator for their Azure Resources"
REMOVED = "The role assignment of User Access Administrator has been removed from the user"
ELEVATE_CATEGORY = "AzureRBACRoleManagementElevateAccess"
ELEVATE_SERVICE = "Azure RBAC (Elevated Access)"
LOCK_DELETE = arm._Op("Microsoft.Authorization/locks/delete", "Delete management locks")

#: Tools an intruder drives ARM with: sign-in client, ARM client application, user agents.
_CLI_AGENTS = (
    "python/3.12.3 (Linux-6.5.0-41-generic-x86_64-with-glibc2.35) AZURECLI/2.62.0 (DEB)",
    "python/3.11.9 (Linux-5.15.0-113-generic-x86_64-with-glibc2.35) AZURECLI/2.61.0 (PIP)",
    "python/3.11.8 (Windows-10-10.0.19045-SP0) AZURECLI/2.60.0 (MSI)",
    "python/3.12.4 (macOS-14.5-arm64-arm-64bit) AZURECLI/2.63.0 (HOMEBREW)",
)
_POWERSHELL_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.17763; en-US) PowerShell/7.4.0",
    "Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.19045; en-GB) PowerShell/7.3.9",
    "Mozilla/5.0 (X11; Linux 6.5.0-1022-azure #23~22.04.1-Ubuntu SMP; en-US) PowerShell/7.4.3",
    "Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.20348; en-US) PowerShell/7.2.18",
)
TOOLS: dict[str, tuple[entra.Client, env.App]] = {
    "portal": (entra.PORTAL, env.AZURE_PORTAL),
    "cli": (entra.CLI, env.AZURE_CLI),
    "powershell": (entra.POWERSHELL, env.AZURE_POWERSHELL),
}
#: Resource locks on Contoso's resource groups: (subscription, group, lock name).
LOCKS = (
    (PROD, "rg-prod-data", "backup-protection"),
    (PROD, "rg-prod-data", "DoNotDelete-data"),
    (PROD, "rg-prod-web", "prod-web-nodelete"),
    (DEV, "rg-dev", "dev-readonly-baseline"),
)
#: Built-in Azure roles beyond those the benign generator knows (public ids).
AZURE_ROLES: dict[str, str] = {
    **arm._ROLES,
    "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    "Key Vault Administrator": "00482a5a-887f-4fb3-b363-3b7fe8e74483",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Monitoring Contributor": "749f88d5-cbae-40b8-bcfc-e573ddc772fa",
}


# --------------------------------------------------------------------------------------
# The intrusion
# --------------------------------------------------------------------------------------


@scenario(
    CAMPAIGN,
    "cloud",
    ("signin", "elevate", "owner_assignment", "policy_audit", "cleanup"),
)
def elevate_access_takeover(ctx: SimContext) -> Stages:
    """The planted Global Administrator elevates to the root scope, makes itself Owner of
    one or both subscriptions, deletes their resource locks and perhaps removes the
    elevation."""
    instance = Instance(ctx, CAMPAIGN)
    plan = planted(ctx)
    record(instance, plan)
    # Taken before the draw, so that this server is another than the backdoor's.
    instance.keep("backdoor_ip", plan.server.ip)
    infra = hosted(instance, "ip")
    tool = instance.pick("tool", sorted(TOOLS))
    app = TOOLS[tool][1]
    delay = instance.between(4 * 3600, 10 * 3600)
    a = Attack(ctx, CAMPAIGN, plan.start + dt.timedelta(seconds=delay))

    account = plan.account
    profile = unregistered(person_profile(ctx, account))
    signin = _signin(a, instance, tool, profile, infra.network, plan)
    a.add("signin", "SigninLogs", signin)
    uti = str(signin["UniqueTokenIdentifier"])
    caller = user_arm_caller(account, app, "Global Administrator")
    ip = infra.ip
    # A browser is slower than a script.
    pace = 1.0 if tool == "portal" else 0.25
    a.wait(40 * pace, 240 * pace)
    elevate(a, "elevate", caller, ip, uti)
    elevated = replace(caller, role="User Access Administrator")
    a.wait(120 * pace, 480 * pace)
    subscriptions = instance.sample("subscriptions", [PROD, DEV], instance.between(1, 2))
    for subscription in subscriptions:
        scope = f"/subscriptions/{subscription}"
        assignment = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{a.guid()}"
        request = role_request(account.object_id, "User", scope)
        rows, policy = arm_operation(
            a, elevated, ip, arm._ROLE_WRITE, assignment, request=request, uti=uti
        )
        for row in rows:
            root_evidence(row)
        a.add("owner_assignment", "AzureActivity", *rows)
        a.add("policy_audit", "AzureActivity", *policy)
        a.wait(20 * pace, 90 * pace)
    owner = replace(caller, role="Owner")
    locks = [lock for lock in LOCKS if lock[0] in subscriptions]
    chosen = instance.sample("locks", [lock[2] for lock in locks], instance.between(1, len(locks)))
    for subscription, group, name in locks:
        if name not in chosen:
            continue
        a.wait(60, 600)
        lock = (
            f"/subscriptions/{subscription}/resourceGroups/{group}"
            f"/providers/Microsoft.Authorization/locks/{name}"
        )
        rows, _ = arm_operation(a, owner, ip, LOCK_DELETE, lock, uti=uti)
        a.add("cleanup", "AzureActivity", *rows)
    if instance.pick("removal", ("removed", "kept")) == "removed":
        a.wait(120, 1200)
        remove_elevation(a, "cleanup", elevated, ip, uti)
    return a.stages


def _signin(
    a: Attack,
    instance: Instance,
    tool: str,
    profile: entra.Profile,
    network: entra.Network,
    plan: Planted,
) -> Row:
    """The planted account's sign-in to Azure with the authenticator it registered; the
    policies that exclude it are not applied."""
    client, _ = TOOLS[tool]
    device: tuple[str, str] | None = None
    if tool == "portal":
        agent, os_name, browser = instance.pick("browser", BROWSERS)
        device = (os_name, browser)
    elif tool == "cli":
        agent = instance.pick("agent", _CLI_AGENTS)
    else:
        agent = instance.pick("agent", _POWERSHELL_AGENTS)
    login = Login(client, entra.ARM_RESOURCE, mfa=True, agent=agent)
    row = sign_in(a, profile, network, login)
    if device:
        row["DeviceDetail"].update({"operatingSystem": device[0], "browser": device[1]})
    for policy in plan.policies:
        _excluded_from(row, policy)
    return row


def elevate(a: Attack, stage: str, caller: arm._Caller, ip: str, uti: str) -> list[Row]:
    """The elevation: ARM's elevateAccess action, and the directory's record of it."""
    rows, _ = arm_operation(a, caller, ip, arm._ELEVATE, ROOT, uti=uti)
    a.add(stage, "AzureActivity", *rows)
    a.now = rows[-1]["TimeGenerated"]
    a.wait(0.5, 2)
    who = env.Person(caller.caller, caller.display, caller.object_id, "NL", "Engineering")
    trace = audit(
        a,
        user_by(who, ip),
        ELEVATED,
        ELEVATE_CATEGORY,
        [person_target(who)],
        service=ELEVATE_SERVICE,
        op_type="Assign",
    )
    a.add(stage, "AuditLogs", trace)
    return [*rows, trace]


def remove_elevation(a: Attack, stage: str, elevated: arm._Caller, ip: str, uti: str) -> None:
    """Access management for Azure resources switched off: the root-scope assignment is
    deleted, and the directory records the removal."""
    assignment = f"{ROOT}/roleAssignments/{a.guid()}"
    rows, _ = arm_operation(a, elevated, ip, arm._ROLE_DELETE, assignment, uti=uti)
    a.add(stage, "AzureActivity", *rows)
    a.now = rows[-1]["TimeGenerated"]
    a.wait(0.5, 2)
    who = env.Person(elevated.caller, elevated.display, elevated.object_id, "NL", "Engineering")
    a.add(
        stage,
        "AuditLogs",
        audit(
            a,
            user_by(who, ip),
            REMOVED,
            ELEVATE_CATEGORY,
            [person_target(who)],
            service=ELEVATE_SERVICE,
            op_type="Unassign",
        ),
    )


def _excluded_from(row: Row, policy: str) -> None:
    """A sign-in of an account a Conditional Access policy excludes: not applied to it."""
    for result in row["ConditionalAccessPolicies"]:
        if result["displayName"] == policy:
            result.update({"result": "notApplied", "enforcedGrantControls": []})
    results = {r["result"] for r in row["ConditionalAccessPolicies"]}
    row["ConditionalAccessStatus"] = next(
        (status for status in ("failure", "success") if status in results), "notApplied"
    )


def root_evidence(row: Row) -> None:
    """After elevation ARM authorises by the User Access Administrator assignment at '/'."""
    evidence = row["Authorization_d"]["evidence"]
    evidence["roleAssignmentScope"] = "/"
    evidence["roleDefinitionId"] = AZURE_ROLES["User Access Administrator"].replace("-", "")
    row["Authorization"] = json.dumps(row["Authorization_d"])


# --------------------------------------------------------------------------------------
# Look-alikes
# --------------------------------------------------------------------------------------

_FAMILIES = ("elevate_repair", "owner_grants", "self_grants", "pim_owner")
_OWNERS = ("alice.smith", "raj.patel")
#: Which tool administrators use for Azure, by weight (as the background's admins do).
_ADMIN_TOOLS = ("portal", "portal", "portal", "cli", "powershell")
_DEPLOY_IDENTITIES = ("ci-deployer", "backup-runner", "id-func-backup", "id-api-prod")


def arm_session(fam: Family, presence: entra.Presence, tool: str) -> tuple[arm._Caller, str, str]:
    """An administrator's sign-in to Azure from the day's network and managed device:
    the ARM caller (Owner, as the background has them), address and token id."""
    client, app = TOOLS[tool]
    row = sign_in(fam, presence.profile, presence.network, Login(client, entra.ARM_RESOURCE))
    fam.add(fam.name, "SigninLogs", row)
    fam.wait(30, 240)
    caller = arm._person_caller(presence.profile.alias, app)
    return caller, presence.network.ip, str(row["UniqueTokenIdentifier"])


def role_body(principal: str, principal_type: str, role: str, scope: str) -> dict[str, Any]:
    """A roleAssignments/write body, as the portal and the tools send it."""
    subscription = scope.split("/")[2]
    return {
        "Id": env.stable_guid("role-request", principal, role, scope),
        "Properties": {
            "PrincipalId": principal,
            "PrincipalType": principal_type,
            "RoleDefinitionId": f"/subscriptions/{subscription}/providers/Microsoft.Authorization/"
            f"roleDefinitions/{AZURE_ROLES[role]}",
            "Scope": scope,
            "Condition": None,
            "ConditionVersion": None,
        },
    }


def _grantee(fam: Family) -> tuple[str, str]:
    """Someone else: a colleague or a deployment identity (object id, principal type)."""
    if fam.rng.random() < 0.6:
        return fam.rng.choice(env.PEOPLE[5:60]).object_id, "User"
    return env.application(fam.rng.choice(_DEPLOY_IDENTITIES)).object_id, "ServicePrincipal"


def _grant(
    fam: Family,
    caller: arm._Caller,
    ip: str,
    uti: str,
    principal: tuple[str, str],
    role: str,
    scope: str,
) -> list[Row]:
    assignment = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{fam.guid()}"
    body = role_body(principal[0], principal[1], role, scope)
    rows, policy = arm_operation(
        fam, caller, ip, arm._ROLE_WRITE, assignment, request=body, uti=uti
    )
    fam.add(fam.name, "AzureActivity", *rows, *policy)
    return rows


def _elevate_repair(ctx: SimContext) -> Family:
    """The Global Administrator elevates to repair a subscription's access: restores a
    colleague's or a deployment identity's role (or only looks), then removes the
    elevation."""
    fam = Family(ctx, CAMPAIGN, "elevate_repair")
    for presence in workday_sessions(fam, ("alice.smith",), 1, 2):
        tool = fam.rng.choice(_ADMIN_TOOLS)
        caller, ip, uti = arm_session(fam, presence, tool)
        ga = replace(caller, role="Global Administrator")
        elevate(fam, fam.name, ga, ip, uti)
        elevated = replace(ga, role="User Access Administrator")
        for _ in range(fam.rng.choice((0, 1, 1, 2))):
            fam.wait(60, 400)
            subscription = fam.rng.choice((PROD, DEV))
            role = fam.rng.choice(("Owner", "Owner", "Contributor", "User Access Administrator"))
            rows = _grant(
                fam, elevated, ip, uti, _grantee(fam), role, f"/subscriptions/{subscription}"
            )
            for row in rows:
                root_evidence(row)
        fam.wait(300, 2400)
        remove_elevation(fam, fam.name, elevated, ip, uti)
    return fam


def _owner_grants(ctx: SimContext) -> Family:
    """Subscription owners grant roles at subscription scope to colleagues and identities."""
    fam = Family(ctx, CAMPAIGN, "owner_grants")
    for presence in workday_sessions(fam, _OWNERS, 1, 3):
        caller, ip, uti = arm_session(fam, presence, fam.rng.choice(_ADMIN_TOOLS))
        for _ in range(fam.rng.randint(1, 2)):
            subscription = fam.rng.choice((PROD, DEV))
            role = fam.rng.choice(
                ("Owner", "Contributor", "Reader", "Reader", "Monitoring Contributor")
            )
            _grant(fam, caller, ip, uti, _grantee(fam), role, f"/subscriptions/{subscription}")
            fam.wait(20, 200)
    return fam


#: Resources owners give themselves data access on: (subscription, group, resource path).
_OWN_RESOURCES = (
    (PROD, "rg-prod-data", "Microsoft.KeyVault/vaults/kv-contoso-prod"),
    (DEV, "rg-dev", "Microsoft.KeyVault/vaults/kv-contoso-dev"),
    (PROD, "rg-prod-data", "Microsoft.Storage/storageAccounts/stcontosologs"),
    (PROD, "rg-prod-data", "Microsoft.Storage/storageAccounts/stcontosobackup"),
    (DEV, "rg-dev", ""),
)


def _self_grants(ctx: SimContext) -> Family:
    """Owners grant themselves a data role on a vault, a storage account or the dev group
    (they own the subscription, so no elevation is needed)."""
    fam = Family(ctx, CAMPAIGN, "self_grants")
    for presence in workday_sessions(fam, _OWNERS, 1, 2):
        caller, ip, uti = arm_session(fam, presence, fam.rng.choice(_ADMIN_TOOLS))
        subscription, group, resource = fam.rng.choice(_OWN_RESOURCES)
        scope = f"/subscriptions/{subscription}/resourceGroups/{group}"
        if resource:
            scope += f"/providers/{resource}"
            role = fam.rng.choice(
                ("Key Vault Secrets Officer", "Key Vault Administrator")
                if "KeyVault" in resource
                else ("Storage Blob Data Contributor", "Storage Blob Data Reader")
            )
        else:
            role = fam.rng.choice(("Contributor", "Key Vault Administrator"))
        _grant(fam, caller, ip, uti, (caller.object_id, "User"), role, scope)
    return fam


def _pim_owner(ctx: SimContext) -> Family:
    """Engineers activate Owner or Contributor on a subscription through PIM: the request
    and PIM's completion in the directory log, MS-PIM's role assignment in ARM."""
    fam = Family(ctx, CAMPAIGN, "pim_owner")
    engineers = ("alice.smith", "raj.patel", "dmitri.ivanov", "liam.devries")
    for presence in workday_sessions(fam, engineers, 1, 2):
        who = presence.profile.person
        role = "Owner" if who.upn.startswith(_OWNERS) else "Contributor"
        subscription = fam.rng.choice((PROD, DEV))
        scope = f"/subscriptions/{subscription}"
        hours = fam.rng.choice((1, 2, 4))
        correlation = fam.guid()
        role_target = entra._target(
            "Role",
            env.stable_guid("azure-role", role),
            role,
            [entra._change("Role.DisplayName", None, json.dumps(role))],
        )
        resource = entra._target("Other", subscription, scope)
        details = [
            ("RoleDefinitionOriginId", AZURE_ROLES[role]),
            ("StartTime", fam.now.strftime("%Y-%m-%dT%H:%M:%SZ")),
            (
                "ExpirationTime",
                (fam.now + dt.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            ),
            ("Justification", fam.rng.choice(entra.PIM_REASONS)),
        ]
        for operation, initiator, op_type in (
            (
                "Add member to role requested (PIM activation)",
                user_by(who, presence.network.ip),
                "CreateRequest",
            ),
            (
                "Add member to role completed (PIM activation)",
                (entra._app_initiator("MS-PIM"), "MS-PIM"),
                "Assign",
            ),
        ):
            fam.add(
                fam.name,
                "AuditLogs",
                audit(
                    fam,
                    initiator,
                    operation,
                    "ResourceManagement",
                    [role_target, resource, person_target(who)],
                    correlation=correlation,
                    service="PIM",
                    op_type=op_type,
                    details=details,
                ),
            )
            fam.wait(1, 5)
        assignment = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{fam.guid()}"
        body = role_body(who.object_id, "User", role, scope)
        rows, policy = arm_operation(fam, arm._PIM, None, arm._ROLE_WRITE, assignment, request=body)  # type: ignore[arg-type]
        fam.add(fam.name, "AzureActivity", *rows, *policy)
    return fam


@lookalikes(CAMPAIGN, _FAMILIES)
def elevate_access_lookalikes(ctx: SimContext) -> Stages:
    out: Stages = {}
    for make in (_elevate_repair, _owner_grants, _self_grants, _pim_owner):
        out.update(make(ctx).stages)
    return out
