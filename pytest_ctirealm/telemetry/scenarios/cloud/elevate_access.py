"""The planted Global Administrator elevates to the root scope and takes the subscriptions."""

from __future__ import annotations

import json
from dataclasses import replace

from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.benign import azure_activity as arm
from pytest_ctirealm.telemetry.benign import entra
from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.scenarios.base import Stages, scenario
from pytest_ctirealm.telemetry.scenarios.cloud.au_backdoor import BACKDOOR, DEVICE_POLICY, _au_start
from pytest_ctirealm.telemetry.scenarios.cloud.common import (
    CHROME_WINDOWS,
    DEV,
    PROD,
    Attack,
    Infra,
    Login,
    Row,
    arm_operation,
    audit,
    person_profile,
    person_target,
    role_request,
    sign_in,
    unregistered,
    user_arm_caller,
    user_by,
)

ELEVATE_INFRA = Infra(
    "203.0.113.166", "9009", entra.Place("Bucharest", "Bucuresti", "RO", 44.4268, 26.1025)
)


# --------------------------------------------------------------------------------------
# 3. Elevate access, then Owner on every subscription
# --------------------------------------------------------------------------------------


@scenario(
    "elevate_access_takeover",
    "cloud",
    ("signin", "elevate", "owner_assignment", "policy_audit"),
)
def elevate_access_takeover(ctx: SimContext) -> Stages:
    """Hours after it was planted, the backdoor Global Administrator elevates itself to
    User Access Administrator at the root scope and makes itself Owner of both
    subscriptions, and never removes the elevation."""
    a = Attack(ctx, "elevate_access_takeover", _au_start(ctx))
    a.wait(6 * 3600, 9 * 3600)
    profile = unregistered(person_profile(ctx, BACKDOOR))
    login = Login(entra.PORTAL, entra.ARM_RESOURCE, mfa=True, agent=CHROME_WINDOWS)
    signin = sign_in(a, profile, ELEVATE_INFRA.network, login)
    _excluded_from(signin, DEVICE_POLICY)
    a.add("signin", "SigninLogs", signin)
    uti = str(signin["UniqueTokenIdentifier"])
    caller = user_arm_caller(BACKDOOR, env.AZURE_PORTAL, "Global Administrator")
    ip = ELEVATE_INFRA.ip
    a.wait(60, 180)
    rows, _ = arm_operation(
        a, caller, ip, arm._ELEVATE, "/providers/Microsoft.Authorization", uti=uti
    )
    a.add("elevate", "AzureActivity", *rows)
    a.wait(0.5, 2)
    trace = audit(
        a,
        user_by(BACKDOOR, ip),
        "User has elevated their access to User Access Administrator for their Azure Resources",
        "AzureRBACRoleManagementElevateAccess",
        [person_target(BACKDOOR)],
        service="Azure RBAC (Elevated Access)",
        op_type="Assign",
    )
    a.add("elevate", "AuditLogs", trace)
    elevated = replace(caller, role="User Access Administrator")
    a.wait(180, 420)
    for subscription in (PROD, DEV):
        scope = f"/subscriptions/{subscription}"
        assignment = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{a.guid()}"
        request = role_request(BACKDOOR.object_id, "User", scope)
        rows, policy = arm_operation(
            a, elevated, ip, arm._ROLE_WRITE, assignment, request=request, uti=uti
        )
        for row in rows:
            _root_evidence(row)
        a.add("owner_assignment", "AzureActivity", *rows)
        a.add("policy_audit", "AzureActivity", *policy)
        a.wait(30, 90)
    return a.stages


def _excluded_from(row: Row, policy: str) -> None:
    """A sign-in of an account a Conditional Access policy excludes: not applied to it."""
    for result in row["ConditionalAccessPolicies"]:
        if result["displayName"] == policy:
            result.update({"result": "notApplied", "enforcedGrantControls": []})
    results = {r["result"] for r in row["ConditionalAccessPolicies"]}
    row["ConditionalAccessStatus"] = next(
        (status for status in ("failure", "success") if status in results), "notApplied"
    )


def _root_evidence(row: Row) -> None:
    """After elevation ARM authorises by the User Access Administrator assignment at '/'."""
    evidence = row["Authorization_d"]["evidence"]
    evidence["roleAssignmentScope"] = "/"
    row["Authorization"] = json.dumps(row["Authorization_d"])
