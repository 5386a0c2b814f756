"""A credential added to a privileged app, which then signs in and grants roles."""

from __future__ import annotations

import json
from typing import Any

from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.benign import azure_activity as arm
from pytest_ctirealm.telemetry.benign import entra, graph
from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.scenarios.base import Stages, incident_start, scenario
from pytest_ctirealm.telemetry.scenarios.cloud.common import (
    CHROME_WINDOWS,
    PROD,
    Attack,
    Infra,
    Login,
    arm_operation,
    audit,
    graph_call,
    person_profile,
    role_request,
    sign_in,
    sp_sign_in,
    token_of,
    unregistered,
    user_by,
    user_caller,
)

#: Whose account the intrusion starts from.
VICTIM = "raj.patel"
APP_INFRA = Infra("203.0.113.203", "212238", entra.Place("Zurich", "Zurich", "CH", 47.3769, 8.5417))

#: The external account the app-credential intruder invites and makes Owner.
GUEST = "d.kovacs.it@outlook.com"

#: The secret the app-credential intruder adds to ci-deployer (its key id).
ROGUE_KEY = env.stable_guid("credential", "ci-deployer", "rogue")


# --------------------------------------------------------------------------------------
# 7. A credential added to an app, a sign-in as it, a role assignment
# --------------------------------------------------------------------------------------


@scenario(
    "app_credential_abuse",
    "cloud",
    ("signin", "guest_invite", "credential_added", "app_signin", "role_assignment", "policy_audit"),
)
def app_credential_abuse(ctx: SimContext) -> Stages:
    """An application administrator's stolen session invites an outside account, adds a
    client secret to the subscription-owning deployment app, signs in as that app with
    the new secret and makes the outside account Owner of production."""
    # An evening: after the platform team's rotation of the same secret (day one, morning).
    a = Attack(ctx, "app_credential_abuse", incident_start(ctx, "app_credential_abuse", (18, 23)))
    raj = env.person(VICTIM)
    profile = unregistered(person_profile(ctx, raj))
    login = Login(
        entra.PORTAL,
        entra.GRAPH_RESOURCE,
        agent=CHROME_WINDOWS,
        risk="high",
        risk_events=("anomalousToken",),
    )
    signin = sign_in(a, profile, APP_INFRA.network, login)
    a.add("signin", "SigninLogs", signin)
    caller = user_caller(raj, entra.PORTAL.app_id, APP_INFRA.ip, CHROME_WINDOWS, token_of(signin))
    by = user_by(raj, APP_INFRA.ip)
    guest_id = env.stable_guid("guest", GUEST)
    a.wait(60, 180)
    invite = graph_call(a, caller, "POST", "/v1.0/invitations")
    a.add("guest_invite", "MicrosoftGraphActivityLogs", invite)
    a.wait(0.3, 1.5)
    guest = entra._target("User", guest_id, GUEST)
    a.add(
        "guest_invite",
        "AuditLogs",
        audit(
            a,
            by,
            "Invite external user",
            "UserManagement",
            [guest],
            correlation=invite["ClientRequestId"],
            service="Invited Users",
        ),
    )
    a.wait(300, 900)
    redeemer: tuple[dict[str, Any], str] = (
        {
            "user": {
                "id": guest_id,
                "displayName": None,
                "userPrincipalName": GUEST,
                "ipAddress": "",
                "roles": [],
            }
        },
        GUEST,
    )
    a.add(
        "guest_invite",
        "AuditLogs",
        audit(
            a,
            redeemer,
            "Redeem external user invite",
            "UserManagement",
            [guest],
            service="Invited Users",
            op_type="Update",
        ),
    )
    a.wait(120, 400)
    _add_secret(a, caller, by)
    a.wait(180, 600)
    app_signin = sp_sign_in(a, "ci-deployer", entra.ARM_RESOURCE, APP_INFRA, ROGUE_KEY)
    a.add("app_signin", "AADServicePrincipalSignInLogs", app_signin)
    a.wait(30, 120)
    scope = f"/subscriptions/{PROD}"
    assignment = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{a.guid()}"
    rows, policy = arm_operation(
        a,
        arm._CI,
        APP_INFRA.ip,
        arm._ROLE_WRITE,
        assignment,
        request=role_request(guest_id, "User", scope),
        uti=str(app_signin["UniqueTokenIdentifier"]),
    )
    a.add("role_assignment", "AzureActivity", *rows)
    a.add("policy_audit", "AzureActivity", *policy)
    return a.stages


def _add_secret(a: Attack, caller: graph.Caller, by: tuple[dict[str, Any], str]) -> None:
    """Open ci-deployer in the admin center and add a client secret to it."""
    app = env.application("ci-deployer")
    object_id = entra._application_object_id(app.name)
    a.add(
        "credential_added",
        "MicrosoftGraphActivityLogs",
        graph_call(a, caller, "GET", f"/v1.0/applications/{object_id}"),
    )
    a.wait(15, 60)
    request = graph_call(
        a,
        caller,
        "POST",
        f"/v1.0/applications/{object_id}/addPassword",
        (200, a.rng.randint(600, 900)),
    )
    a.add("credential_added", "MicrosoftGraphActivityLogs", request)
    old = [entra._key_description(entra._initial_key(app.name), "Password", "pipeline-2025-09")]
    rotated = entra._one_off_time(a.ctx, "rotate_app_secret")
    if rotated is not None and rotated < a.now:
        key = entra._rotated_key(a.ctx, "rotate_app_secret")
        old.append(entra._key_description(key, "Password", "pipeline-2026-03"))
    new = entra._key_description(ROGUE_KEY, "Password", "pipeline-hotfix")
    changes = [
        entra._change("KeyDescription", json.dumps(old), json.dumps([*old, new])),
        entra._change("Included Updated Properties", None, '"KeyDescription"'),
    ]
    target = entra._target("Application", object_id, app.name, changes)
    agent = ("User-Agent", CHROME_WINDOWS)
    for delay, operation, targets, details in (
        (
            0.4,
            "Update application \u2013 Certificates and secrets management ",
            [target],
            [agent, ("AppId", app.app_id)],
        ),
        (1.0, "Update application", [entra._target("Application", object_id, app.name)], [agent]),
    ):
        a.wait(delay)
        row = audit(
            a,
            by,
            operation,
            "ApplicationManagement",
            targets,
            correlation=request["ClientRequestId"],
            op_type="Update",
            details=details,
        )
        a.add("credential_added", "AuditLogs", row)
