"""A password spray, MFA fatigue and AzureHound discovery."""

from __future__ import annotations

from dataclasses import replace

from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.benign import entra
from pytest_ctirealm.telemetry.context import SimContext, hex_string
from pytest_ctirealm.telemetry.scenarios.base import Stages, incident_start, scenario
from pytest_ctirealm.telemetry.scenarios.cloud.common import (
    AZ_POWERSHELL_AGENT,
    AZUREHOUND,
    Attack,
    Infra,
    Login,
    Row,
    graph_call,
    person_profile,
    sign_in,
    token_of,
    unregistered,
    user_caller,
)

#: Whose account the intrusion starts from.
VICTIM = "eva.peters"
SPRAY_INFRA = tuple(
    Infra(ip, "20473", entra.Place("Warsaw", "Mazowieckie", "PL", 52.2297, 21.0122))
    for ip in ("192.0.2.33", "192.0.2.34", "192.0.2.35")
)


# --------------------------------------------------------------------------------------
# 8. Password spray, MFA fatigue, AzureHound
# --------------------------------------------------------------------------------------

_SPRAYED = 18


@scenario(
    "spray_azurehound",
    "cloud",
    ("spray", "mfa_fatigue", "discovery"),
)
def spray_azurehound(ctx: SimContext) -> Stages:
    """A password spray from a few rented addresses hits one valid password; push
    prompts follow until the owner approves one, and AzureHound then maps the tenant
    through Graph with the account's token."""
    a = Attack(ctx, "spray_azurehound", incident_start(ctx, "spray_azurehound", (4, 6)))
    eva = env.person(VICTIM)
    others = [p for p in env.PEOPLE if not p.is_admin and p is not eva]
    for index, target in enumerate(a.rng.sample(others, _SPRAYED)):
        infra = SPRAY_INFRA[index % len(SPRAY_INFRA)]
        profile = unregistered(person_profile(ctx, target))
        login = Login(
            entra.POWERSHELL,
            entra.GRAPH_RESOURCE,
            result="50126",
            requirement="singleFactorAuthentication",
            agent=AZ_POWERSHELL_AGENT,
        )
        a.add("spray", "SigninLogs", sign_in(a, profile, infra.network, login))
        a.wait(15, 60)
    infra = SPRAY_INFRA[1]
    profile = unregistered(person_profile(ctx, eva))
    outcomes = (
        ("50074", False),
        ("500121", False),
        ("500121", False),
        ("500121", False),
        ("0", True),
    )
    approved: Row = {}
    for result, mfa in outcomes:
        login = Login(
            entra.POWERSHELL,
            entra.GRAPH_RESOURCE,
            result=result,
            mfa=mfa,
            agent=AZ_POWERSHELL_AGENT,
        )
        approved = sign_in(a, profile, infra.network, login)
        a.add("mfa_fatigue", "SigninLogs", approved)
        a.wait(40, 150)
    a.wait(240, 900)
    caller = user_caller(eva, env.AZURE_POWERSHELL.app_id, infra.ip, AZUREHOUND, token_of(approved))
    caller = replace(
        caller, scopes="AuditLog.Read.All Directory.AccessAsUser.All User.Read openid profile"
    )
    for path in _azurehound_paths(a):
        size = a.rng.randint(60_000, 900_000) if "$top=999" in path else a.rng.randint(800, 30_000)
        a.add(
            "discovery",
            "MicrosoftGraphActivityLogs",
            graph_call(a, caller, "GET", path, (200, size)),
        )
        a.wait(0.2, 2.5)
    return a.stages


def _azurehound_paths(a: Attack) -> list[str]:
    """What AzureHound's `list` asks Graph for: every object kind, then the edges."""
    paths = [
        "/v1.0/organization",
        "/v1.0/users?$select=accountEnabled,displayName,id,onPremisesSecurityIdentifier,userPrincipalName&$top=999",
        f"/v1.0/users?$top=999&$skiptoken={hex_string(a.rng, 40)}",
        "/v1.0/groups?$filter=securityEnabled eq true&$top=999",
        "/v1.0/applications?$top=999",
        "/v1.0/servicePrincipals?$top=999",
        f"/v1.0/servicePrincipals?$top=999&$skiptoken={hex_string(a.rng, 40)}",
        "/v1.0/devices?$top=999",
        "/v1.0/roleManagement/directory/roleDefinitions?$top=999",
        "/v1.0/roleManagement/directory/roleAssignments?$top=999",
        "/beta/policies/authorizationPolicy",
    ]
    for group in entra.GROUPS:
        paths.append(f"/v1.0/groups/{entra._named_guid('group', group)}/members?$top=999")
    for name in (
        "ci-deployer",
        "contoso-web",
        "contoso-api",
        "backup-runner",
        "hr-sync",
        "siem-connector",
    ):
        paths.append(f"/v1.0/applications/{entra._application_object_id(name)}/owners?$top=999")
        paths.append(f"/v1.0/servicePrincipals/{env.application(name).object_id}/owners?$top=999")
    return paths
