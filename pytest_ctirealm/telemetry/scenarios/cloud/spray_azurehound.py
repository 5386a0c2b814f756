"""Password spray, push fatigue and tenant discovery (T1110.003, T1621, T1087.004): the
operator tries one password against many accounts through a few rented proxies, each
account once, with the resource-owner password flow of a Microsoft management client.
One account's password is right (MFA stops the flow there); the operator then signs in
to that account again and again until its owner approves a push prompt, and maps the
tenant through Microsoft Graph with the approved token from the same proxy.

Per instance: the proxies (two to four addresses at hosting providers), the spraying
tool's user agent and the client and resource it asks for, how many accounts are
sprayed (each proxy tries at least five) and which, the pace (a burst, seconds between
attempts, or low and slow, minutes apart over hours), the hour, which sprayed account
has the password and fatigues (someone with the authenticator on a phone) and how many
prompts it denies first, and the collector: AzureHound, a ROADtools-like `gather` or a
GraphRunner-like PowerShell recon, each with its own user agents and Graph paths.

Look-alikes: people mistyping their password and getting in on the next try, at any
hour and from anywhere; a team at an offsite venue whose shared address sees several
people mistype; MFA prompts denied or timed out and then approved; sessions that expire
or need a fresh sign-in overnight; printers and an old reporting script failing with the
password flow after a password change; and administrators' scripts listing users,
groups, roles and applications through Graph with their own tokens.
"""

from __future__ import annotations

import datetime as dt
import json

from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.benign import entra, graph
from pytest_ctirealm.telemetry.campaign import Instance
from pytest_ctirealm.telemetry.context import SimContext, hex_string
from pytest_ctirealm.telemetry.scenarios.base import (
    LOOKALIKE_MARGIN,
    Stages,
    incident_start,
    lookalikes,
    scenario,
)
from pytest_ctirealm.telemetry.scenarios.cloud.common import (
    Attack,
    Family,
    Infra,
    Row,
    hosted,
    person_profile,
    unregistered,
)

CAMPAIGN = "spray_azurehound"

#: Azure Active Directory PowerShell (MSOnline/AzureAD modules): sprayers' favourite.
AAD_POWERSHELL = entra.Client(
    "Azure Active Directory PowerShell",
    "1b730954-1685-4b74-9bfd-dac224a7b894",
    "desktop",
    (("Windows Azure Active Directory", 1),),
)
#: Public clients that accept the password flow, by instance key.
SPRAY_CLIENTS: dict[str, entra.Client] = {
    "azure_powershell": entra.POWERSHELL,
    "azure_cli": entra.CLI,
    "aad_powershell": AAD_POWERSHELL,
}
SPRAY_RESOURCES = (
    entra.GRAPH_RESOURCE,
    "Windows Azure Active Directory",
    entra.ARM_RESOURCE,
)
#: The spraying tools' HTTP clients.
SPRAY_AGENTS = (
    "go-resty/2.7.0 (https://github.com/go-resty/resty)",
    "go-resty/2.12.0 (https://github.com/go-resty/resty)",
    "python-requests/2.28.2",
    "python-requests/2.31.0",
    "Python-urllib/3.10",
    "Go-http-client/1.1",
)
#: Collectors: user agents and how their collection walks Graph.
COLLECTOR_AGENTS: dict[str, tuple[str, ...]] = {
    "azurehound": ("azurehound/v2.1.7", "azurehound/v2.1.9", "azurehound/v2.2.1"),
    "roadrecon": ("Python/3.10 aiohttp/3.8.6", "Python/3.11 aiohttp/3.9.5"),
    "graphrunner": (
        "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.19041.3803",
        "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.22621.2506",
    ),
}
_SCOPES = "AuditLog.Read.All Directory.AccessAsUser.All User.Read openid profile offline_access"
_OWNED_APPS = (
    "ci-deployer",
    "contoso-web",
    "contoso-api",
    "backup-runner",
    "hr-sync",
    "siem-connector",
    "invoice-processor",
    "intune-reporting",
)
_ROPC_MFA = "50076"
_EXTRA_ERRORS = {
    _ROPC_MFA: "Due to a configuration change made by your administrator, or because you "
    "moved to a new location, you must use multi-factor authentication to access the resource.",
    "50055": "The password is expired.",
    "50133": "Session is invalid due to expiration or recent password change.",
    "50173": "The provided grant has expired due to it being revoked, a fresh auth token is "
    "needed.",
}


# --------------------------------------------------------------------------------------
# Rows
# --------------------------------------------------------------------------------------


def _row(
    a: Attack,
    presence: entra.Presence,
    client: entra.Client,
    resource: str,
    result: str,
    *,
    device: str = "laptop",
    protocol: str = "none",
    mfa: bool = False,
    requirement: str = "multiFactorAuthentication",
) -> Row:
    """A SigninLogs row at the clock, as entra.py writes them, for any result code."""
    known = result in entra.ERROR_TEXT or result == "0"
    signin = entra.SignIn(
        presence,
        a.now,
        client,
        resource,
        device,
        result if known else "50126",
        entra._token_id(a.rng),
        a.guid(),
        a.guid(),
        protocol,
        mfa,
        requirement,
    )
    row = entra._signin_row(a.rng, signin)
    if not known:
        text = _EXTRA_ERRORS[result]
        row.update(
            {
                "ResultType": result,
                "ResultDescription": text,
                "Status": {"errorCode": int(result), "failureReason": text},
            }
        )
        if result != "50055":
            steps = json.loads(row["AuthenticationDetails"])
            steps[0].update(
                {"succeeded": True, "authenticationStepResultDetail": "Correct password"}
            )
            row["AuthenticationDetails"] = json.dumps(steps)
    return row


def _tool_row(
    a: Attack,
    presence: entra.Presence,
    client: entra.Client,
    resource: str,
    result: str,
    agent: str,
    *,
    protocol: str,
    mfa: bool = False,
) -> Row:
    """A sign-in by the operator's tooling: no device, the tool's agent."""
    requirement = "singleFactorAuthentication" if result == "50126" else "multiFactorAuthentication"
    row = _row(
        a, presence, client, resource, result, protocol=protocol, mfa=mfa, requirement=requirement
    )
    row["UserAgent"] = agent
    row["DeviceDetail"] = {
        "deviceId": "",
        "displayName": "",
        "operatingSystem": "",
        "browser": "",
        "isCompliant": False,
        "isManaged": False,
        "trustType": "",
    }
    if protocol == "ropc":
        row["ClientAppUsed"] = "Mobile Apps and Desktop clients"
    return row


# --------------------------------------------------------------------------------------
# The intrusion
# --------------------------------------------------------------------------------------


@scenario(CAMPAIGN, "cloud", ("spray", "mfa_fatigue", "discovery"))
def spray_azurehound(ctx: SimContext) -> Stages:
    """The spray through the proxies, the matched account fatigued, then collection."""
    instance = Instance(ctx, CAMPAIGN)
    proxies = [_hosted(ctx, instance, f"proxy_{n}") for n in range(instance.between(2, 4))]
    agent = instance.pick("spray_agent", SPRAY_AGENTS)
    client = instance.rng.choice(list(SPRAY_CLIENTS.values()))
    instance.keep("client", client.app_id)
    resource = instance.rng.choice(SPRAY_RESOURCES)
    instance.keep("resource", entra.RESOURCE_IDS[resource])
    profiles = {p.alias: p for p in entra._profiles(ctx.seed)}
    pool = sorted(p.upn for p in env.PEOPLE if not p.is_admin)
    count = instance.between(max(14, 5 * len(proxies) + 2), 36)
    sprayed = instance.sample("sprayed", pool, count)
    phones = [upn for upn in sprayed if profiles[upn.split("@")[0]].mobile_os]
    victim = instance.pick("victim", phones or sprayed)
    pace = instance.pick("pace", ("seconds_apart", "minutes_apart"))
    gap = (8.0, 60.0) if pace == "seconds_apart" else (150.0, 600.0)
    # Never in the first hours of the window (the night's background comes first), and
    # early enough that a slow spray, the fatigue and the collection end the same day.
    a = Attack(ctx, CAMPAIGN, incident_start(ctx, CAMPAIGN, (3, 13)))

    # The spray: every account once, the proxies taking turns (each tries five or more).
    others = [upn for upn in sprayed if upn != victim]
    where = {upn: proxies[index % len(proxies)] for index, upn in enumerate(others)}
    where[victim] = instance.rng.choice(proxies)
    for upn in sprayed:
        presence = _operator(ctx, upn, where[upn], a.now)
        if upn == victim:
            stage, result = "mfa_fatigue", _ROPC_MFA
        else:
            stage, result = "spray", "50126"
        a.add(
            stage,
            "SigninLogs",
            _tool_row(a, presence, client, resource, result, agent, protocol="ropc"),
        )
        a.wait(*gap)

    # The matched account: interactive sign-ins until a prompt is approved.
    proxy = instance.rng.choice(proxies)
    instance.keep("fatigue_proxy", proxy.ip)
    presence = _operator(ctx, victim, proxy, a.now)
    a.wait(120, 1_800)
    outcomes = ["50074"] + ["500121"] * instance.between(2, 6) + ["0"]
    approved: Row = {}
    for result in outcomes:
        approved = _tool_row(
            a,
            presence,
            client,
            entra.GRAPH_RESOURCE,
            result,
            agent,
            protocol="none",
            mfa=result == "0",
        )
        a.add("mfa_fatigue", "SigninLogs", approved)
        a.wait(30, 150)

    # Collection through Graph with the approved token, from the same proxy.
    a.wait(120, 900)
    collector = instance.rng.choice(sorted(COLLECTOR_AGENTS))
    instance.keep("collector", f"{collector}_collection")
    who = env.person(victim.split("@")[0])
    caller = graph.Caller(
        app_id=client.app_id,
        ip=proxy.ip,
        agent=instance.pick("collector_agent", COLLECTOR_AGENTS[collector]),
        token=approved["UniqueTokenIdentifier"],
        issued=approved["TimeGenerated"],
        user_id=who.object_id,
        scopes=_SCOPES,
        wids=entra.DEFAULT_USER_ROLE,
        region="West Europe",
    )
    paths = {"azurehound": _azurehound, "roadrecon": _roadrecon, "graphrunner": _graphrunner}
    for path in paths[collector](a):
        size = a.rng.randint(60_000, 900_000) if "$top=999" in path else a.rng.randint(800, 30_000)
        a.add(
            "discovery",
            "MicrosoftGraphActivityLogs",
            graph._row(a.rng, caller, a.now, "GET", path, (200, size)),
        )
        a.wait(*((1.0, 12.0) if collector == "graphrunner" else (0.2, 2.5)))
    return a.stages


def _hosted(ctx: SimContext, instance: Instance, key: str) -> Infra:
    """A proxy at a hosting provider, at an address no other intrusion here uses."""
    taken = {
        value
        for name, values in ctx.instances.items()
        if name != CAMPAIGN
        for value in values.values()
        if isinstance(value, str)
    }
    infra = hosted(instance, key)
    while infra.ip in taken:
        infra = hosted(instance, key)
    return infra


def _operator(ctx: SimContext, upn: str, proxy: Infra, moment: dt.datetime) -> entra.Presence:
    """The account as the operator uses it: no device, at the proxy's address."""
    profile = unregistered(person_profile(ctx, env.person(upn.split("@")[0])))
    return entra.Presence(profile, proxy.network, moment, moment + dt.timedelta(hours=8))


def _groups() -> list[str]:
    return [entra._named_guid("group", group) for group in entra.GROUPS]


def _azurehound(a: Attack) -> list[str]:
    """AzureHound's `list`: every object kind, then the edges."""
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
    paths += [f"/v1.0/groups/{group}/members?$top=999" for group in _groups()]
    for name in a.rng.sample(_OWNED_APPS, a.rng.randint(4, len(_OWNED_APPS))):
        paths.append(f"/v1.0/applications/{entra._application_object_id(name)}/owners?$top=999")
        paths.append(f"/v1.0/servicePrincipals/{env.application(name).object_id}/owners?$top=999")
    return paths


def _roadrecon(a: Attack) -> list[str]:
    """A ROADtools-like `gather` over the beta endpoint: objects in pages, then links."""
    paths = ["/beta/organization", "/beta/me/memberOf"]
    for kind in ("users", "groups", "servicePrincipals", "applications", "devices"):
        paths.append(f"/beta/{kind}?$top=999")
        for _ in range(a.rng.randint(0, 1 if kind != "users" else 2)):
            paths.append(f"/beta/{kind}?$top=999&$skiptoken={hex_string(a.rng, 48)}")
    paths += [
        "/beta/directoryRoles?$expand=members",
        "/beta/oauth2PermissionGrants?$top=999",
        "/beta/policies/authorizationPolicy",
        "/beta/roleManagement/directory/roleAssignments?$top=999",
        "/beta/administrativeUnits?$top=999",
    ]
    paths += [f"/beta/groups/{group}/members?$top=999" for group in _groups()]
    for name in a.rng.sample(_OWNED_APPS, a.rng.randint(3, 6)):
        paths.append(f"/beta/servicePrincipals/{env.application(name).object_id}/appRoleAssignedTo")
    return paths


def _graphrunner(a: Attack) -> list[str]:
    """A GraphRunner-like PowerShell recon: tenant, policies, users, groups, apps."""
    paths = [
        "/v1.0/organization",
        "/beta/policies/authorizationPolicy",
        "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy",
        "/v1.0/users?$top=999",
        f"/v1.0/users?$top=999&$skiptoken={hex_string(a.rng, 40)}",
        "/v1.0/groups?$top=999",
        "/v1.0/directoryRoles",
        "/v1.0/applications?$top=999",
        "/v1.0/servicePrincipals?$top=999",
        "/v1.0/me/memberOf",
    ]
    for group in a.rng.sample(_groups(), a.rng.randint(3, 7)):
        paths.append(f"/v1.0/groups/{group}/members?$top=999")
    return paths


# --------------------------------------------------------------------------------------
# Look-alikes
# --------------------------------------------------------------------------------------


def _present(ctx: SimContext, moment: dt.datetime) -> list[entra.Presence]:
    day = (moment - ctx.start).days
    return [p for _, p in sorted(entra._day_plan(ctx, day).present.items())]


def _network_at(ctx: SimContext, profile: entra.Profile, moment: dt.datetime) -> entra.Network:
    """Where *profile* is at *moment*: the day's network in working hours, else home."""
    day = (moment - ctx.start).days
    presence = entra._day_plan(ctx, day).present.get(profile.alias)
    if presence is not None and presence.start <= moment <= presence.end:
        return presence.network
    home = ctx.rng("entra", "home-ip", profile.alias, day // 7)
    return entra.Network(entra._ip(home, profile.isp), profile.isp[0], profile.home, "home")


def _anyone(ctx: SimContext, fam: Family, moment: dt.datetime) -> entra.Presence:
    """A person at *moment*: at work if someone works then, else someone at home."""
    working = [p for p in _present(ctx, moment) if p.start <= moment <= p.end]
    if working and fam.rng.random() < 0.8:
        presence = fam.rng.choice(working)
        return entra.Presence(
            presence.profile, presence.network, moment, moment + dt.timedelta(hours=1)
        )
    profile = fam.rng.choice(entra._profiles(ctx.seed))
    network = _network_at(ctx, profile, moment)
    return entra.Presence(profile, network, moment, moment + dt.timedelta(hours=1))


def _client_for(fam: Family, presence: entra.Presence) -> entra.Client:
    clients, weights = entra._clients_for(presence.profile)
    return fam.rng.choices(clients, weights=weights)[0]


def _device(fam: Family, presence: entra.Presence, client: entra.Client) -> str:
    mobile = client.kind == "mobile" or (client is entra.TEAMS_CLIENT and fam.rng.random() < 0.45)
    return "mobile" if mobile and presence.profile.mobile_os else "laptop"


def _used(fam: Family, presence: entra.Presence, client: entra.Client, row: Row) -> None:
    """A few Graph requests with the token of a successful Graph sign-in *row*."""
    if row["ResourceDisplayName"] != entra.GRAPH_RESOURCE:
        return
    calls = graph.CALLS_BY_CLIENT.get(client.app_id, graph.PROFILE_CALLS)
    caller = graph.Caller(
        app_id=client.app_id,
        ip=presence.network.ip,
        agent=row["UserAgent"],
        token=row["UniqueTokenIdentifier"],
        issued=row["TimeGenerated"],
        user_id=presence.profile.person.object_id,
        scopes=graph.SCOPES_BY_CLIENT.get(client.app_id, graph.BASIC_SCOPES),
        wids=graph._wids(presence),
        region="East US" if presence.profile.person.country == "US" else "West Europe",
    )
    for _ in range(fam.rng.randint(1, 3)):
        fam.wait(5, 300)
        method, path = graph._pick(fam.rng, calls)
        path = graph._fill(fam.rng, path, presence.profile.person.object_id, fam.now)
        fam.add(
            fam.name,
            "MicrosoftGraphActivityLogs",
            graph._row(fam.rng, caller, fam.now, method, path),
        )


def _retry(
    fam: Family, presence: entra.Presence, failures: list[str], *, graph_use: bool = True
) -> None:
    """Failed attempts, then the sign-in that works, on the person's own device."""
    client = _client_for(fam, presence)
    resource = entra._weighted(fam.rng, client.resources)
    device = _device(fam, presence, client)
    for result in failures:
        requirement = (
            "singleFactorAuthentication" if result == "50126" else "multiFactorAuthentication"
        )
        fam.add(
            fam.name,
            "SigninLogs",
            _row(fam, presence, client, resource, result, device=device, requirement=requirement),
        )
        fam.wait(6, 90)
    row = _row(fam, presence, client, resource, "0", device=device, mfa=True)
    fam.add(fam.name, "SigninLogs", row)
    if graph_use:
        _used(fam, presence, client, row)


def _mistyped_passwords(ctx: SimContext) -> dict[str, dict[str, list[Row]]]:
    """A wrong password, once or twice, then the right one: at work, at home late at
    night, on the road."""
    fam = Family(ctx, CAMPAIGN, "mistyped_passwords")
    for moment in fam.times(4, 7, office=False) + fam.times(4, 7):
        fam.at(moment)
        presence = _anyone(ctx, fam, moment)
        _retry(fam, presence, ["50126"] * fam.rng.choice((1, 1, 1, 2)))
    return fam.stages


def _mfa_denied(ctx: SimContext) -> dict[str, dict[str, list[Row]]]:
    """A push prompt denied or left to time out (a phone in another room), then approved."""
    fam = Family(ctx, CAMPAIGN, "mfa_denied")
    for moment in fam.times(2, 4, office=False) + fam.times(2, 4):
        fam.at(moment)
        presence = _anyone(ctx, fam, moment)
        first = ["50074"] if fam.rng.random() < 0.5 else []
        _retry(fam, presence, first + ["500121"] * fam.rng.choice((1, 1, 2, 3)))
    return fam.stages


def _expired_sessions(ctx: SimContext) -> dict[str, dict[str, list[Row]]]:
    """Phones and laptops whose session expired or was revoked (overnight, after a
    password change): the refresh fails, and often the person signs in again. Phones
    refresh around the clock, so every hour of every day has a few."""
    fam = Family(ctx, CAMPAIGN, "expired_sessions")
    latest = ctx.end - LOOKALIKE_MARGIN
    moments = [
        ctx.day_start(day) + dt.timedelta(hours=hour, seconds=fam.rng.uniform(0, 3600))
        for day in ctx.day_range()
        for hour in range(24)
        for _ in range(fam.rng.randint(1, 3))
    ]
    for moment in sorted(m for m in moments if m < latest):
        fam.at(moment)
        presence = _anyone(ctx, fam, moment)
        code = fam.rng.choice(("70043", "70043", "50133", "50173", "50055", "16000"))
        if fam.rng.random() < 0.5:
            _retry(fam, presence, [code], graph_use=False)
        else:
            client = _client_for(fam, presence)
            resource = entra._weighted(fam.rng, client.resources)
            device = _device(fam, presence, client)
            fam.add(
                fam.name, "SigninLogs", _row(fam, presence, client, resource, code, device=device)
            )
    return fam.stages


def _offsite_venue(ctx: SimContext) -> dict[str, dict[str, list[Row]]]:
    """A team day at a hotel or conference venue: one shared address outside our
    networks, where several people mistype before they get in."""
    fam = Family(ctx, CAMPAIGN, "offsite_venue")
    days = [d for d in ctx.day_range() if not ctx.is_weekend(d) and fam.rng.random() < 0.6]
    if not days:
        days = [fam.rng.choice(list(ctx.day_range()))]
    for day in days:
        place, isp = fam.rng.choice(
            (*entra.TRIPS, (entra.OFFICE_PLACES["NL"], entra.HOME_ISPS["NL"][1]))
        )
        network = entra.Network(entra._ip(fam.rng, isp), isp[0], place, "travel")
        dutch = [p for p in entra._profiles(ctx.seed) if p.person.country == "NL"]
        team = fam.rng.sample(dutch, fam.rng.randint(8, 14))
        start = ctx.day_start(day) + dt.timedelta(hours=fam.rng.uniform(7, 10))
        for profile in team:
            moment = start + dt.timedelta(minutes=fam.rng.uniform(0, 150))
            fam.at(moment)
            presence = entra.Presence(profile, network, moment, moment + dt.timedelta(hours=6))
            failures = ["50126"] * fam.rng.choice((0, 1, 1, 1, 2))
            _retry(fam, presence, failures)
    return fam.stages


_PRINTERS = ("scan-ams-2f", "scan-ams-4f", "scan-bos-3f", "mfp-ams-reception")


def _legacy_ropc(ctx: SimContext) -> dict[str, dict[str, list[Row]]]:
    """Scan-to-mail printers and an old reporting script sign in with the password flow
    from the offices; after a password change they fail until someone updates them."""
    fam = Family(ctx, CAMPAIGN, "legacy_ropc")
    owners = fam.rng.sample([p for p in entra._profiles(ctx.seed) if not p.person.is_admin], 3)
    for moment in fam.times(3, 6, office=False):
        fam.at(moment)
        profile = fam.rng.choice(owners)
        country = profile.person.country
        network = entra.Network(
            env.OFFICE_IPS[country],
            entra.OFFICE_ASNS[country],
            entra.OFFICE_PLACES[country],
            "office",
            entra.OFFICE_NETWORK_NAMES[country],
        )
        presence = entra.Presence(profile, network, moment, moment + dt.timedelta(hours=1))
        result = fam.rng.choice(("50126", "50126", "50055", "0"))
        client = entra.OFFICE_CLIENT
        for _ in range(fam.rng.randint(1, 3)):
            row = _row(
                fam,
                presence,
                client,
                "Office 365 Exchange Online",
                result,
                protocol="ropc",
                requirement="singleFactorAuthentication",
            )
            row["UserAgent"] = fam.rng.choice(
                ("Microsoft.Exchange.Scanner/1.0", "MSAL.NetCore/4.42.0")
            )
            row["DeviceDetail"] = {
                "deviceId": "",
                "displayName": fam.rng.choice(_PRINTERS),
                "operatingSystem": "",
                "browser": "",
                "isCompliant": False,
                "isManaged": False,
                "trustType": "",
            }
            fam.add(fam.name, "SigninLogs", row)
            fam.wait(60, 900)
    return fam.stages


_ADMIN_SCRIPTS = (
    ("Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.22631; en-US) PowerShell/7.4.1", "pwsh"),
    ("Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.22631; en-US) PowerShell/7.4.2", "pwsh"),
    ("msgraph-sdk-python/1.2.0", "sdk"),
    ("Microsoft Graph .NET SDK; msgraph-sdk-dotnet/5.44.0", "sdk"),
)
_LISTINGS = (
    "/v1.0/users?$top=999&$select=id,displayName,userPrincipalName,accountEnabled,department",
    "/v1.0/groups?$top=999&$select=id,displayName,groupTypes,securityEnabled",
    "/v1.0/groups/{group}/members?$top=999",
    "/v1.0/directoryRoles?$expand=members",
    "/v1.0/roleManagement/directory/roleAssignments?$top=999",
    "/v1.0/applications?$top=999&$select=id,appId,displayName,passwordCredentials",
    "/v1.0/servicePrincipals?$top=999&$select=id,appId,displayName",
    "/v1.0/devices?$top=999&$select=id,displayName,operatingSystem,approximateLastSignInDateTime",
    "/beta/users?$select=displayName,signInActivity&$top=999",
    "/v1.0/organization",
)


def _admin_listings(ctx: SimContext) -> dict[str, dict[str, list[Row]]]:
    """Administrators' scripts (access reviews, licence and stale-device reports) list
    users, groups, roles and apps through Graph with their own delegated tokens."""
    fam = Family(ctx, CAMPAIGN, "admin_listings")
    for moment in fam.times(1, 3):
        admins = [p for p in _present(ctx, moment) if p.profile.person.is_admin]
        if not admins:
            continue
        presence = fam.rng.choice(admins)
        fam.at(max(moment, presence.start))
        row = _row(fam, presence, entra.GRAPH_CLI, entra.GRAPH_RESOURCE, "0", mfa=True)
        fam.add(fam.name, "SigninLogs", row)
        agent, _ = fam.rng.choice(_ADMIN_SCRIPTS)
        caller = graph.Caller(
            app_id=entra.GRAPH_CLI.app_id,
            ip=presence.network.ip,
            agent=agent,
            token=row["UniqueTokenIdentifier"],
            issued=row["TimeGenerated"],
            user_id=presence.profile.person.object_id,
            scopes=graph.SCOPES_BY_CLIENT[entra.GRAPH_CLI.app_id],
            wids=graph._wids(presence),
            region="West Europe",
        )
        fam.wait(10, 90)
        for template in fam.rng.sample(_LISTINGS, fam.rng.randint(3, 7)):
            path = graph._fill(fam.rng, template, presence.profile.person.object_id, fam.now)
            size = (
                fam.rng.randint(60_000, 400_000)
                if "$top=999" in path
                else fam.rng.randint(900, 20_000)
            )
            fam.add(
                fam.name,
                "MicrosoftGraphActivityLogs",
                graph._row(fam.rng, caller, fam.now, "GET", path, (200, size)),
            )
            fam.wait(0.5, 20)
    return fam.stages


_FAMILIES = {
    "mistyped_passwords": _mistyped_passwords,
    "mfa_denied": _mfa_denied,
    "expired_sessions": _expired_sessions,
    "offsite_venue": _offsite_venue,
    "legacy_ropc": _legacy_ropc,
    "admin_listings": _admin_listings,
}


@lookalikes(CAMPAIGN, tuple(_FAMILIES))
def spray_lookalikes(ctx: SimContext) -> Stages:
    out: Stages = {}
    for make in _FAMILIES.values():
        out.update(make(ctx))
    return out
