"""The administrative-unit backdoor: a hijacked admin plants a hidden Global Administrator."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.benign import entra, graph
from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.scenarios.base import Stages, incident_start, scenario
from pytest_ctirealm.telemetry.scenarios.cloud.common import (
    FIREFOX_LINUX,
    GLOBAL_ADMIN,
    Attack,
    Infra,
    Login,
    audit,
    graph_call,
    person_profile,
    person_target,
    sign_in,
    token_of,
    unregistered,
    user_by,
    user_caller,
)

#: Whose account the intrusion starts from.
VICTIM = "alice.smith"
AU_INFRA = Infra(
    "203.0.113.151", "14061", entra.Place("Frankfurt am Main", "Hessen", "DE", 50.1109, 8.6821)
)

#: The Global Administrator account the administrative-unit backdoor plants.
BACKDOOR = env.Person(
    upn=f"svc-mdmsync@{env.DOMAIN}",
    display_name="MDM Sync Service",
    object_id=env.stable_guid("user", "svc-mdmsync"),
    country="NL",
    department="Engineering",
    admin_roles=("Global Administrator",),
)

BACKDOOR_AU = "Device Compliance Automation"


# --------------------------------------------------------------------------------------
# 1. Administrative-unit backdoor
# --------------------------------------------------------------------------------------


def _au_start(ctx: SimContext) -> dt.datetime:
    """Small hours on one of the first two days: the elevation follows hours later."""
    return incident_start(ctx, "au_backdoor", (1, 4))


@scenario(
    "au_backdoor",
    "cloud",
    ("signin", "recon", "backdoor", "backdoor_signin", "backdoor_mfa"),
)
def au_backdoor(ctx: SimContext) -> Stages:
    """A Global Administrator's stolen session plants a Global Administrator account and
    hides it in a restricted-management administrative unit that other admins cannot
    touch, then signs the planted account in with a Temporary Access Pass."""
    a = Attack(ctx, "au_backdoor", _au_start(ctx))
    alice = env.person(VICTIM)
    profile = unregistered(person_profile(ctx, alice))
    login = Login(
        entra.PORTAL,
        entra.GRAPH_RESOURCE,
        risk="medium",
        risk_events=("unfamiliarFeatures",),
        agent=FIREFOX_LINUX,
    )
    first = sign_in(a, profile, AU_INFRA.network, login)
    first["DeviceDetail"].update({"operatingSystem": "Linux", "browser": "Firefox 124.0.0"})
    a.add("signin", "SigninLogs", first)
    caller = user_caller(alice, entra.PORTAL.app_id, AU_INFRA.ip, FIREFOX_LINUX, token_of(first))
    for path in (
        "/v1.0/me",
        "/v1.0/directory/administrativeUnits?$select=id,displayName,isMemberManagementRestricted",
        "/v1.0/directoryRoles?$expand=members",
    ):
        a.wait(5, 40)
        a.add("recon", "MicrosoftGraphActivityLogs", graph_call(a, caller, "GET", path))
    _plant_backdoor(a, caller, alice)
    a.wait(300, 900)
    _backdoor_first_use(a)
    return a.stages


@dataclass(frozen=True)
class DirectoryWrite:
    """One admin-center change: the Graph request and the audit record it leaves."""

    method: str
    path: str
    operation: str
    category: str
    op_type: str
    targets: list[dict[str, Any]]
    details: tuple[tuple[str, str], ...] = ()
    service: str = "Core Directory"


def _plant_backdoor(a: Attack, caller: graph.Caller, alice: env.Person) -> None:
    """Create the account, make it Global Administrator, lock it in a restricted AU,
    exempt it from the compliant-device policy and give it a Temporary Access Pass."""
    by = user_by(alice, AU_INFRA.ip)
    for write in _backdoor_writes():
        a.wait(20, 90)
        if write.method == "POST":
            status = (204, 0) if write.path.endswith("$ref") else (201, a.rng.randint(600, 2_500))
        else:
            status = (204, 0)
        request = graph_call(a, caller, write.method, write.path, status)
        a.wait(0.2, 1.5)
        row = audit(
            a,
            by,
            write.operation,
            write.category,
            write.targets,
            correlation=request["ClientRequestId"],
            service=write.service,
            op_type=write.op_type,
            details=[*write.details, ("User-Agent", FIREFOX_LINUX)],
        )
        a.add("backdoor", "MicrosoftGraphActivityLogs", request)
        a.add("backdoor", "AuditLogs", row)


def _backdoor_writes() -> list[DirectoryWrite]:
    """The backdoor's directory changes, in the order the intruder made them."""
    au_id = env.stable_guid("au", BACKDOOR_AU)
    au = entra._target("AdministrativeUnit", au_id, BACKDOOR_AU)
    role_id = env.stable_guid("role", "Global Administrator")
    return [
        DirectoryWrite(
            "POST",
            "/v1.0/users",
            "Add user",
            "UserManagement",
            "Add",
            [
                person_target(
                    BACKDOOR,
                    [
                        entra._change("AccountEnabled", "[]", "[true]"),
                        entra._change("DisplayName", "[]", json.dumps([BACKDOOR.display_name])),
                        entra._change("UserPrincipalName", "[]", json.dumps([BACKDOOR.upn])),
                        entra._change("UserType", "[]", '["Member"]'),
                    ],
                )
            ],
            (("UserType", "Member"),),
        ),
        DirectoryWrite(
            "POST",
            "/v1.0/roleManagement/directory/roleAssignments",
            "Add member to role",
            "RoleManagement",
            "Assign",
            [
                person_target(
                    BACKDOOR,
                    [
                        entra._change("Role.ObjectID", None, json.dumps(role_id)),
                        entra._change("Role.DisplayName", None, '"Global Administrator"'),
                        entra._change("Role.TemplateId", None, json.dumps(GLOBAL_ADMIN)),
                        entra._change("Role.WellKnownObjectName", None, '"TenantAdmins"'),
                    ],
                )
            ],
        ),
        DirectoryWrite(
            "POST",
            "/v1.0/directory/administrativeUnits",
            "Add administrative unit",
            "AdministrativeUnit",
            "Add",
            [
                entra._target(
                    "AdministrativeUnit",
                    au_id,
                    BACKDOOR_AU,
                    [
                        entra._change("DisplayName", "[]", json.dumps([BACKDOOR_AU])),
                        entra._change("IsMemberManagementRestricted", "[]", "[true]"),
                        entra._change(
                            "Included Updated Properties",
                            None,
                            '"DisplayName, IsMemberManagementRestricted"',
                        ),
                    ],
                )
            ],
        ),
        DirectoryWrite(
            "POST",
            f"/v1.0/directory/administrativeUnits/{au_id}/members/$ref",
            "Add member to restricted management administrative unit",
            "AdministrativeUnit",
            "Assign",
            [au, person_target(BACKDOOR)],
        ),
        _exempt_from_device_policy(),
        DirectoryWrite(
            "POST",
            f"/v1.0/users/{BACKDOOR.object_id}/authentication/temporaryAccessPassMethods",
            "Admin registered security info",
            "UserManagement",
            "Add",
            [person_target(BACKDOOR)],
            (("Method", "Temporary Access Pass"), ("LifetimeInMinutes", "1440")),
            "Authentication Methods",
        ),
    ]


#: The policy that would stop the planted account from managing Azure off a company device.
DEVICE_POLICY = entra.CA_POLICIES[3][0]


def _exempt_from_device_policy() -> DirectoryWrite:
    """Exclude the planted account from the compliant-device policy for Azure management."""
    conditions: dict[str, Any] = {
        "users": {"includeUsers": ["All"], "excludeUsers": []},
        "applications": {"includeApplications": [entra.RESOURCE_IDS[entra.ARM_RESOURCE]]},
    }
    old = {"displayName": DEVICE_POLICY, "state": "enabled", "conditions": conditions}
    excluded = {**conditions["users"], "excludeUsers": [BACKDOOR.object_id]}
    new = {**old, "conditions": {**conditions, "users": excluded}}
    policy_id = env.stable_guid("ca-policy", DEVICE_POLICY)
    change = entra._change("ConditionalAccessPolicy", json.dumps(old), json.dumps(new))
    return DirectoryWrite(
        "PATCH",
        f"/v1.0/identity/conditionalAccess/policies/{policy_id}",
        "Update conditional access policy",
        "Policy",
        "Update",
        [entra._target("Policy", policy_id, DEVICE_POLICY, [change])],
        service="Conditional Access",
    )


def _backdoor_first_use(a: Attack) -> None:
    """The planted account signs in with its pass and registers an authenticator app."""
    profile = unregistered(person_profile(a.ctx, BACKDOOR))
    login = Login(
        entra.MY_SIGNINS,
        entra.GRAPH_RESOURCE,
        agent=FIREFOX_LINUX,
        method="Temporary Access Pass",
    )
    row = sign_in(a, profile, AU_INFRA.network, login)
    row["DeviceDetail"].update({"operatingSystem": "Linux", "browser": "Firefox 124.0.0"})
    a.add("backdoor_signin", "SigninLogs", row)
    by = user_by(BACKDOOR, AU_INFRA.ip)
    correlation = a.guid()
    for delay, operation in (
        (40, "User registered security info"),
        (20, "User changed default security info"),
    ):
        a.wait(delay, delay * 3)
        a.add(
            "backdoor_mfa",
            "AuditLogs",
            audit(
                a,
                by,
                operation,
                "UserManagement",
                [person_target(BACKDOOR)],
                correlation=correlation,
                service="Authentication Methods",
                op_type="Add" if "registered" in operation else "Update",
                details=[("Method", "Microsoft Authenticator App")],
            ),
        )
