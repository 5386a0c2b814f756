"""Benign Microsoft Graph traffic, as MicrosoftGraphActivityLogs records it.

Most requests come from first-party clients acting for people (Teams, Outlook, Office,
Edge), from the person's IP of the day and, where the token came from an interactive
sign-in, with SignInActivityId equal to that sign-in's UniqueTokenIdentifier. Daemons
call app-only with the token of their service-principal sign-in: siem-connector pulls
sign-ins, directory audits and the user and group lists, intune-reporting pages managed
devices, hr-sync patches users, invoice-processor reads the invoices mailbox. The admin
changes of the Entra plan appear as the Graph writes the admin center makes
(addPassword, appRoleAssignments, administrative units, PIM requests), and an admin's
first Graph PowerShell session lists users, groups and sign-ins: near-misses of cloud
discovery and credential abuse.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pytest_ctirealm.telemetry.benign.entra import (
    ADMIN_UNIT,
    BROKER,
    CLI,
    DEFAULT_USER_ROLE,
    EDGE,
    GRAPH_CLI,
    GRAPH_CLI_SCOPES,
    GRAPH_RESOURCE,
    GRAPH_SDK_AGENT,
    GROUPS,
    MY_APPS,
    MY_SIGNINS,
    OFFICE_CLIENT,
    OFFICE_HOME,
    OUTLOOK_MOBILE,
    OUTLOOK_WEB,
    PORTAL,
    ROLE_TEMPLATES,
    TEAMS_CLIENT,
    VSCODE,
    Action,
    Client,
    DayPlan,
    Presence,
    SignIn,
    SpToken,
    _application_object_id,
    _day_plan,
    _derived_token_id,
    _latest_token,
    _named_guid,
    _one_off_time,
    _sp_tokens,
    _user_agent,
)
from pytest_ctirealm.telemetry.context import SimContext, guid, hex_string
from pytest_ctirealm.telemetry.environment import (
    DOMAIN,
    PEOPLE,
    TENANT_ID,
    application,
    person,
)

Row = dict[str, Any]
GRAPH = "https://graph.microsoft.com"
MINUTE = dt.timedelta(minutes=1)
SECOND = dt.timedelta(seconds=1)
INVOICES = f"invoices@{DOMAIN}"

#: A request pattern: (method, path with {placeholders}, weight).
Call = tuple[str, str, float]

TEAMS_CALLS: tuple[Call, ...] = (
    ("GET", "/v1.0/me", 3),
    ("GET", "/v1.0/me/photo/$value", 2),
    ("GET", "/v1.0/users/{user}/photo/$value", 3),
    ("GET", "/v1.0/users/{user}?$select=displayName,mail,jobTitle,department", 3),
    ("POST", "/v1.0/communications/getPresencesByUserId", 3),
    ("GET", "/v1.0/me/joinedTeams", 2),
    (
        "GET",
        "/v1.0/users?$filter=startswith(displayName,'{q}')&$select=id,displayName,mail&$top=10",
        1,
    ),
    ("POST", "/v1.0/$batch", 2),
    ("GET", "/beta/me/profile", 1),
)
OUTLOOK_CALLS: tuple[Call, ...] = (
    (
        "GET",
        "/v1.0/me/mailFolders/inbox/messages?$top=50&$select=subject,from,receivedDateTime,isRead",
        4,
    ),
    ("GET", "/v1.0/me/messages?$top=25&$orderby=receivedDateTime desc", 2),
    ("GET", "/v1.0/me/calendarView?startDateTime={start}&endDateTime={end}", 3),
    ("GET", "/v1.0/me/events?$select=subject,start,end,organizer&$top=20", 2),
    ("GET", "/v1.0/me/mailboxSettings", 1),
    ("PATCH", "/v1.0/me/messages/{msg}", 1),
    ("POST", "/v1.0/me/sendMail", 0.8),
    ("POST", "/v1.0/subscriptions", 0.4),
    ("DELETE", "/v1.0/me/messages/{msg}", 0.4),
)
OFFICE_CALLS: tuple[Call, ...] = (
    ("GET", "/v1.0/me/drive/recent", 3),
    ("GET", "/v1.0/me/drive/root/children", 2),
    ("GET", "/v1.0/sites/{site}/drives", 2),
    ("GET", "/v1.0/me/insights/used", 1),
    ("GET", "/v1.0/me/memberOf", 1),
    ("GET", "/v1.0/me", 2),
    ("GET", "/beta/me/profile", 1),
)
PROFILE_CALLS: tuple[Call, ...] = (
    ("GET", "/v1.0/me", 3),
    ("GET", "/v1.0/me/photo/$value", 2),
    ("GET", "/beta/me/profile", 1),
)
MY_APPS_CALLS: tuple[Call, ...] = (
    ("GET", "/v1.0/me/appRoleAssignments", 2),
    ("GET", "/v1.0/me/memberOf", 1),
    ("GET", "/v1.0/me", 1),
)
MY_SIGNINS_CALLS: tuple[Call, ...] = (
    ("GET", "/v1.0/me/authentication/methods", 2),
    ("GET", "/v1.0/me", 1),
)
PORTAL_CALLS: tuple[Call, ...] = (
    ("GET", "/v1.0/me", 1),
    ("GET", "/v1.0/organization", 2),
    ("GET", "/beta/roleManagement/directory/roleAssignments?$filter=principalId eq '{me}'", 2),
    ("GET", "/v1.0/me/memberOf", 1),
    ("GET", "/v1.0/users?$top=100&$select=id,displayName,userPrincipalName,accountEnabled", 1),
    ("GET", "/v1.0/groups/{group}/members?$top=100", 1),
    ("GET", "/v1.0/subscribedSkus", 1),
    ("GET", "/beta/reports/getAzureADApplicationSignInSummary(period='D7')", 0.5),
)
CLI_CALLS: tuple[Call, ...] = (
    ("GET", "/v1.0/me", 2),
    ("GET", "/v1.0/applications?$filter=appId eq '{appid}'", 1),
    ("GET", "/v1.0/servicePrincipals?$filter=appId eq '{appid}'", 1),
)
#: An admin's first Graph PowerShell session: reads across users, groups, roles, sign-ins.
POWERSHELL_SESSION: tuple[Call, ...] = (
    ("GET", "/v1.0/me", 1),
    ("GET", "/v1.0/users?$top=999&$select=id,displayName,userPrincipalName,accountEnabled", 1),
    ("GET", "/v1.0/groups?$top=999&$select=id,displayName,groupTypes", 1),
    ("GET", "/v1.0/directoryRoles", 1),
    ("GET", "/v1.0/users/{user}/memberOf", 1),
    ("GET", "/v1.0/auditLogs/signIns?$filter=userPrincipalName eq '{upn}'&$top=50", 1),
    ("GET", "/v1.0/auditLogs/signIns?$filter=userPrincipalName eq '{upn}'&$top=50", 1),
    ("GET", "/v1.0/users/{user}/authentication/methods", 1),
)
POWERSHELL_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.22631; en-US) PowerShell/7.4.1"
)

CALLS_BY_CLIENT: dict[str, tuple[Call, ...]] = {
    TEAMS_CLIENT.app_id: TEAMS_CALLS,
    OFFICE_CLIENT.app_id: OUTLOOK_CALLS + OFFICE_CALLS,
    OUTLOOK_WEB.app_id: OUTLOOK_CALLS,
    OUTLOOK_MOBILE.app_id: OUTLOOK_CALLS,
    OFFICE_HOME.app_id: OFFICE_CALLS,
    EDGE.app_id: PROFILE_CALLS,
    BROKER.app_id: PROFILE_CALLS,
    VSCODE.app_id: PROFILE_CALLS[:1],
    MY_APPS.app_id: MY_APPS_CALLS,
    MY_SIGNINS.app_id: MY_SIGNINS_CALLS,
    PORTAL.app_id: PORTAL_CALLS,
    CLI.app_id: CLI_CALLS,
    GRAPH_CLI.app_id: POWERSHELL_SESSION,
}
OUTLOOK_SCOPES = (
    "Calendars.ReadWrite Contacts.ReadWrite Mail.ReadWrite Mail.Send MailboxSettings.ReadWrite "
    "People.Read User.Read email openid profile offline_access"
)
BASIC_SCOPES = "User.Read email openid profile"
SCOPES_BY_CLIENT: dict[str, str] = {
    TEAMS_CLIENT.app_id: (
        "AppCatalog.Read.All Calendars.ReadWrite Channel.ReadBasic.All Chat.ReadWrite "
        "Files.ReadWrite.All Presence.Read.All Sites.ReadWrite.All User.ReadBasic.All "
        "User.Read email openid profile"
    ),
    OFFICE_CLIENT.app_id: OUTLOOK_SCOPES + " Files.ReadWrite.All Sites.ReadWrite.All",
    OUTLOOK_WEB.app_id: OUTLOOK_SCOPES,
    OUTLOOK_MOBILE.app_id: OUTLOOK_SCOPES,
    OFFICE_HOME.app_id: "Files.ReadWrite.All Sites.ReadWrite.All User.Read email openid profile",
    MY_SIGNINS.app_id: "UserAuthenticationMethod.ReadWrite User.Read openid profile",
    PORTAL.app_id: (
        "AuditLog.Read.All Directory.AccessAsUser.All Policy.ReadWrite.ConditionalAccess "
        "RoleManagement.ReadWrite.Directory User.ReadWrite.All email openid profile"
    ),
    CLI.app_id: (
        "Application.ReadWrite.All AuditLog.Read.All Directory.AccessAsUser.All "
        "Group.ReadWrite.All User.ReadWrite.All email openid profile"
    ),
    GRAPH_CLI.app_id: GRAPH_CLI_SCOPES + " openid profile offline_access",
}
#: Clients people use all day without a fresh interactive sign-in (refresh tokens).
BACKGROUND_CLIENTS: tuple[tuple[Client, int], ...] = (
    (TEAMS_CLIENT, 5),
    (OFFICE_CLIENT, 3),
    (OUTLOOK_WEB, 2),
    (OFFICE_HOME, 2),
    (OUTLOOK_MOBILE, 2),
)
SITES: tuple[str, ...] = tuple(
    _named_guid("site", name) for name in ("Engineering", "Sales", "Finance", "Intranet", "HR")
)
PICKER_PREFIXES: tuple[str, ...] = ("jo", "an", "ma", "da", "sa", "li", "em", "ra")

#: App-only callers: user agent, client auth method (1 secret, 2 certificate/assertion).
DAEMONS: dict[str, tuple[str, int]] = {
    "siem-connector": ("Go-http-client/2.0", 1),
    "invoice-processor": ("msgraph-sdk-python/1.2.0", 1),
    "hr-sync": (GRAPH_SDK_AGENT, 1),
    "intune-reporting": ("msgraph-sdk-java/6.4.0", 1),
    "contoso-web": ("Microsoft Graph .NET SDK; msgraph-sdk-dotnet/5.44.0", 2),
    "ci-deployer": (
        "python/3.11.8 (Linux-6.5.0-1016-azure-x86_64-with-glibc2.35) AZURECLI/2.58.0 (DEB)",
        1,
    ),
}
DAEMON_ROLES: dict[str, str] = {
    "siem-connector": "AuditLog.Read.All Directory.Read.All Policy.Read.All "
    "SecurityEvents.Read.All",
    "invoice-processor": "Mail.ReadWrite",
    "hr-sync": "Group.ReadWrite.All User.ReadWrite.All",
    "intune-reporting": "DeviceManagementManagedDevices.Read.All",
    "contoso-web": "User.Read.All",
    "ci-deployer": "Application.ReadWrite.OwnedBy",
}


@dataclass(frozen=True)
class Caller:
    """Who makes a request and with which token."""

    app_id: str
    ip: str
    agent: str
    token: str
    issued: dt.datetime
    user_id: str = ""
    sp_id: str = ""
    scopes: str = ""
    roles: str = ""
    wids: str = ""
    auth_method: int = 0
    region: str = "West Europe"


#: Placeholder -> how to draw its value; drawn only when a path has the placeholder.
PLACEHOLDERS: dict[str, Callable[[random.Random], str]] = {
    "{user}": lambda rng: rng.choice(PEOPLE).object_id,
    "{upn}": lambda rng: rng.choice(PEOPLE).upn,
    "{msg}": lambda rng: "AAMkA" + hex_string(rng, 40),
    "{site}": lambda rng: rng.choice(SITES),
    "{group}": lambda rng: _named_guid("group", rng.choice(GROUPS)),
    "{q}": lambda rng: rng.choice(PICKER_PREFIXES),
    "{appid}": lambda rng: application(rng.choice(("contoso-api", "contoso-web"))).app_id,
}


def _fill(rng: random.Random, path: str, me: str, moment: dt.datetime) -> str:
    """Replace a path's placeholders with plausible ids and dates."""
    if "{" not in path:
        return path
    day = moment.strftime("%Y-%m-%d")
    path = path.replace("{me}", me)
    path = path.replace("{start}", f"{day}T00:00:00Z").replace("{end}", f"{day}T23:59:59Z")
    for key, draw in PLACEHOLDERS.items():
        if key in path:
            path = path.replace(key, draw(rng))
    return path


def _status(rng: random.Random, method: str, path: str) -> tuple[int, int]:
    """(status code, response size) as Graph answers such a request."""
    roll = rng.random()
    if roll < 0.004:
        return 429, 250
    if roll < 0.008:
        return 401, 300
    if "/photo/" in path:
        return (404, 240) if rng.random() < 0.35 else (200, rng.randint(4_000, 40_000))
    if method == "DELETE" or path.endswith("$ref") or method == "PATCH":
        return 204, 0
    if path.endswith("sendMail"):
        return 202, 0
    if method == "POST" and path.split("?")[0].rsplit("/", 1)[-1] in CREATED:
        return 201, rng.randint(600, 2_500)
    if "$top=999" in path:
        return 200, rng.randint(60_000, 180_000)
    if "?" in path or path.endswith(("s", "children", "recent", "used")):
        return 200, rng.randint(2_000, 48_000)
    return 200, rng.randint(500, 2_500)


#: Collections whose POST creates an object (201 Created).
CREATED = frozenset(
    {
        "subscriptions",
        "appRoleAssignments",
        "administrativeUnits",
        "scopedRoleMembers",
        "roleAssignmentScheduleRequests",
        "users",
    }
)


def _row(
    rng: random.Random,
    caller: Caller,
    moment: dt.datetime,
    method: str,
    path: str,
    status: tuple[int, int] | None = None,
) -> Row:
    """One request; *path* is below https://graph.microsoft.com."""
    code, size = status or _status(rng, method, path)
    row: Row = {
        "TimeGenerated": moment,
        "RequestId": guid(rng),
        "OperationId": guid(rng),
        "ClientRequestId": guid(rng),
        "ApiVersion": path.split("/")[1],
        "RequestMethod": method,
        "RequestUri": GRAPH + path,
        "ResponseStatusCode": code,
        "ResponseSizeBytes": size,
        "DurationMs": rng.randint(20, 800) if size < 100_000 else rng.randint(600, 2_500),
        "AppId": caller.app_id,
        "IPAddress": caller.ip,
        "UserAgent": caller.agent,
        "SignInActivityId": caller.token,
        "TokenIssuedAt": caller.issued,
        "ClientAuthMethod": caller.auth_method,
        "Location": caller.region,
        "AadTenantId": TENANT_ID,
        "IdentityProvider": f"https://sts.windows.net/{TENANT_ID}/",
    }
    optional = {
        "UserId": caller.user_id,
        "ServicePrincipalId": caller.sp_id,
        "Scopes": caller.scopes,
        "Roles": caller.roles,
        "Wids": caller.wids,
    }
    row.update({k: v for k, v in optional.items() if v})
    return row


# --------------------------------------------------------------------------------------
# Delegated calls
# --------------------------------------------------------------------------------------


def _wids(presence: Presence) -> str:
    roles = [ROLE_TEMPLATES[r] for r in presence.profile.person.admin_roles]
    return " ".join([*roles, DEFAULT_USER_ROLE])


def _user_caller(
    ctx: SimContext,
    plan: DayPlan,
    presence: Presence,
    client: Client,
    moment: dt.datetime,
    version: int,
    device: str = "laptop",
) -> Caller:
    """The caller of a delegated request: the interactive token if one is still valid,
    else a token the client refreshed silently (its id is stable per 75-minute block)."""
    alias = presence.profile.alias
    signin = plan.graph_token(alias, client.app_id, moment)
    if signin is not None:
        token, issued = signin.uti, signin.time
    else:
        day_start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        block = int((moment - day_start) / (75 * MINUTE))
        issued = max(day_start + block * 75 * MINUTE, presence.start)
        issued = min(issued, moment)
        token = _derived_token_id(ctx.seed, alias, client.app_id, day_start.date(), block)
    if client is OUTLOOK_MOBILE and presence.profile.mobile_os:
        device = "mobile"
    agent = _user_agent(presence.profile, client, device, version)
    if client is GRAPH_CLI:
        agent = POWERSHELL_AGENT
    who = presence.profile.person
    return Caller(
        app_id=client.app_id,
        ip=presence.network.ip,
        agent=agent,
        token=token,
        issued=issued,
        user_id=who.object_id,
        scopes=SCOPES_BY_CLIENT.get(client.app_id, BASIC_SCOPES),
        wids=_wids(presence),
        region="East US" if who.country == "US" else "West Europe",
    )


def _pick(rng: random.Random, calls: tuple[Call, ...]) -> tuple[str, str]:
    method, path, _ = rng.choices(calls, weights=[w for _, _, w in calls])[0]
    return method, path


def _after_signin(
    ctx: SimContext, rng: random.Random, plan: DayPlan, signin: SignIn, end: dt.datetime
) -> list[Row]:
    """What a client does with the Graph token its interactive sign-in just issued,
    until the end of the day (*end*)."""
    calls = CALLS_BY_CLIENT.get(signin.client.app_id, PROFILE_CALLS)
    session = signin.client is GRAPH_CLI
    count = len(calls) if session else rng.randint(1, 4)
    version = rng.choice((122, 123, 124))
    rows = []
    moment = signin.time
    for index in range(count):
        moment += dt.timedelta(seconds=rng.uniform(2, 40) if session else rng.uniform(5, 900))
        if moment >= end:
            break
        method, path = calls[index][:2] if session else _pick(rng, calls)
        caller = _user_caller(
            ctx, plan, signin.presence, signin.client, moment, version, signin.device
        )
        me = signin.presence.profile.person.object_id
        rows.append(_row(rng, caller, moment, method, _fill(rng, path, me, moment)))
    return rows


def _background(ctx: SimContext, rng: random.Random, plan: DayPlan, day: int) -> list[Row]:
    """Clients polling through the day on silently refreshed tokens."""
    rows = []
    weekend = ctx.is_weekend(day)
    clients = [c for c, _ in BACKGROUND_CLIENTS]
    weights = [w for _, w in BACKGROUND_CLIENTS]
    for presence in plan.present.values():
        version = rng.choice((122, 123, 124))
        for _ in range(rng.randint(1, 3) if weekend else rng.randint(5, 9)):
            client = rng.choices(clients, weights=weights)[0]
            if client is OUTLOOK_MOBILE and not presence.profile.mobile_os:
                client = OUTLOOK_WEB
            moment = presence.moment(rng)
            caller = _user_caller(ctx, plan, presence, client, moment, version)
            method, path = _pick(rng, CALLS_BY_CLIENT[client.app_id])
            me = presence.profile.person.object_id
            rows.append(_row(rng, caller, moment, method, _fill(rng, path, me, moment)))
    return rows


# --------------------------------------------------------------------------------------
# Admin changes made through the admin center
# --------------------------------------------------------------------------------------


def _admin_request(action: Action) -> tuple[str, str] | None:
    """The Graph write behind an admin's change, or None when it has none here."""
    target = action.target
    au_path = "/v1.0/directory/administrativeUnits/" + _named_guid("au", ADMIN_UNIT)
    match action.kind:
        case "rotate_app_secret":
            return "POST", f"/v1.0/applications/{_application_object_id(target)}/addPassword"
        case "add_sp_credential":
            return "POST", f"/v1.0/servicePrincipals/{_sp_id(target)}/addPassword"
        case "app_role_grant":
            return "POST", f"/v1.0/servicePrincipals/{_sp_id(target)}/appRoleAssignments"
        case "au_create":
            return "POST", "/v1.0/directory/administrativeUnits"
        case "au_member":
            return "POST", f"{au_path}/members/$ref"
        case "au_scoped_role":
            return "POST", f"{au_path}/scopedRoleMembers"
        case "pim":
            return "POST", "/v1.0/roleManagement/directory/roleAssignmentScheduleRequests"
        case "reset_password":
            return "PATCH", f"/v1.0/users/{_user_id(target)}"
        case "mfa_reset":
            method = _named_guid("authenticator", target)
            return "DELETE", (
                f"/v1.0/users/{_user_id(target)}/authentication/microsoftAuthenticatorMethods/"
                + method
            )
        case "ca_update":
            return "PATCH", "/v1.0/identity/conditionalAccess/policies/" + _named_guid(
                "ca-policy", target
            )
        case "group_add":
            return "POST", f"/v1.0/groups/{_named_guid('group', action.detail)}/members/$ref"
    return None


def _sp_id(name: str) -> str:
    return application(name).object_id


def _user_id(alias: str) -> str:
    try:
        return person(alias).object_id
    except KeyError:
        return _named_guid("user", alias)


def _admin_changes(ctx: SimContext, rng: random.Random, plan: DayPlan) -> list[Row]:
    """The admin center's Graph requests for the day's admin changes, from the admin's IP
    with the token of the Azure Portal sign-in that preceded them; each write carries the
    client request id that the directory's audit record keeps as its CorrelationId."""
    rows = []
    for action in plan.actions:
        request = _admin_request(action)
        presence = plan.present.get(action.actor)
        if request is None or presence is None:
            continue
        moment = action.time - rng.uniform(0.2, 1.5) * SECOND
        caller = _user_caller(ctx, plan, presence, PORTAL, moment, 124)
        if action.kind in ("rotate_app_secret", "add_sp_credential"):
            lookup = request[1].rsplit("/", 1)[0]
            rows.append(_row(rng, caller, moment - 20 * SECOND, "GET", lookup))
        write = _row(rng, caller, moment, *request)
        # Entra logs the admin center's client request id as the audit CorrelationId.
        write["ClientRequestId"] = action.correlation
        rows.append(write)
    return rows


# --------------------------------------------------------------------------------------
# App-only calls
# --------------------------------------------------------------------------------------


def _daemon_caller(ctx: SimContext, token: SpToken) -> Caller:
    agent, method = DAEMONS[token.app.name]
    roles = DAEMON_ROLES[token.app.name]
    granted = _one_off_time(ctx, "app_role_grant")
    if token.app.name == "siem-connector" and granted is not None and token.time > granted:
        roles += " IdentityRiskyUser.Read.All"
    return Caller(
        app_id=token.app.app_id,
        ip=token.ip,
        agent=agent,
        token=token.uti,
        issued=token.time,
        sp_id=token.app.object_id,
        roles=roles,
        auth_method=method,
    )


def _siem_run(rng: random.Random, caller: Caller, moment: dt.datetime) -> list[Row]:
    """siem-connector's 5-minute poll; the user and group lists hourly, policies nightly."""
    since = (moment - 5 * MINUTE).strftime("%Y-%m-%dT%H:%M:%SZ")
    paths = [
        f"/v1.0/auditLogs/signIns?$filter=createdDateTime ge {since}&$top=1000",
        f"/v1.0/auditLogs/directoryAudits?$filter=activityDateTime ge {since}",
    ]
    if moment.minute < 5:
        paths += [
            "/v1.0/users?$select=id,displayName,userPrincipalName,accountEnabled,department"
            "&$top=999",
            "/v1.0/groups?$select=id,displayName,groupTypes&$top=999",
        ]
    if moment.hour == 3 and moment.minute < 5:
        paths += [
            "/v1.0/identity/conditionalAccess/policies",
            "/v1.0/servicePrincipals?$select=id,appId,displayName&$top=999",
            "/v1.0/directoryRoles?$expand=members",
        ]
    if "IdentityRiskyUser" in caller.roles and moment.minute % 15 < 5:
        paths.append("/v1.0/identityProtection/riskyUsers?$filter=riskState eq 'atRisk'")
    return [
        _row(rng, caller, moment + (index + rng.random()) * SECOND, "GET", path)
        for index, path in enumerate(paths)
    ]


def _invoice_batch(ctx: SimContext, token: SpToken) -> int:
    """How many new invoices a poll of the invoices mailbox found (shared with Office)."""
    rng = ctx.rng("graph", "invoices", token.uti)
    return rng.choice((1, 1, 2, 3)) if rng.random() < 0.15 else 0


def _invoice_run(ctx: SimContext, rng: random.Random, caller: Caller, token: SpToken) -> list[Row]:
    """invoice-processor polls the shared mailbox and files what it found."""
    moment = token.time + rng.uniform(0.3, 2) * SECOND
    mailbox = f"/v1.0/users/{INVOICES}"
    rows = [
        _row(
            rng,
            caller,
            moment,
            "GET",
            f"{mailbox}/mailFolders/inbox/messages?$filter=isRead eq false&$top=50",
        )
    ]
    for _ in range(_invoice_batch(ctx, token)):
        message = "AAMkA" + hex_string(rng, 40)
        moment += rng.uniform(0.5, 3) * SECOND
        rows.append(_row(rng, caller, moment, "GET", f"{mailbox}/messages/{message}/attachments"))
        rows.append(_row(rng, caller, moment + SECOND, "PATCH", f"{mailbox}/messages/{message}"))
    return rows


def _periodic_run(ctx: SimContext, rng: random.Random, token: SpToken) -> list[Row]:
    """The requests a daemon makes with one token."""
    caller = _daemon_caller(ctx, token)
    name = token.app.name
    moment = token.time + rng.uniform(0.3, 2) * SECOND
    if name == "siem-connector":
        return _siem_run(rng, caller, moment)
    if name == "invoice-processor":
        return _invoice_run(ctx, rng, caller, token)
    if name == "hr-sync":
        return [
            _row(rng, caller, moment, "GET", f"/v1.0/users/delta?$deltatoken={hex_string(rng, 32)}")
        ]
    if name == "intune-reporting":
        first = _row(rng, caller, moment, "GET", "/beta/deviceManagement/managedDevices?$top=100")
        second = _row(
            rng,
            caller,
            moment + 2 * SECOND,
            "GET",
            f"/beta/deviceManagement/managedDevices?$top=100&$skiptoken={hex_string(rng, 24)}",
        )
        return [first, second]
    if name == "contoso-web":
        return [
            _row(
                rng,
                caller,
                moment + index * MINUTE,
                "GET",
                _fill(rng, "/v1.0/users/{user}?$select=displayName,mail,department", "", moment),
            )
            for index in range(rng.randint(1, 2))
        ]
    app = application("contoso-api").app_id
    return [
        _row(rng, caller, moment, "GET", f"/v1.0/applications?$filter=appId eq '{app}'"),
        _row(
            rng, caller, moment + SECOND, "GET", f"/v1.0/servicePrincipals?$filter=appId eq '{app}'"
        ),
    ]


def _hr_writes(
    ctx: SimContext, rng: random.Random, plan: DayPlan, tokens: list[SpToken]
) -> list[Row]:
    """hr-sync's user updates, new hires and their group membership."""
    rows = []
    for action in plan.actions:
        if action.actor != "hr-sync":
            continue
        token = _latest_token(tokens, action.time)
        if token is None:
            continue
        caller = _daemon_caller(ctx, token)
        moment = action.time - rng.uniform(0.2, 1) * SECOND
        if action.kind == "hr_update":
            rows.append(
                _row(rng, caller, moment, "PATCH", f"/v1.0/users/{_user_id(action.target)}")
            )
        elif action.kind == "hr_add_user":
            rows.append(_row(rng, caller, moment, "POST", "/v1.0/users"))
        elif action.kind == "group_add":
            group = _named_guid("group", action.detail)
            rows.append(_row(rng, caller, moment, "POST", f"/v1.0/groups/{group}/members/$ref"))
    return rows


def _app_only(ctx: SimContext, rng: random.Random, plan: DayPlan, day: int) -> list[Row]:
    tokens = [t for t in _sp_tokens(ctx, day) if t.resource == GRAPH_RESOURCE and t.result == "0"]
    rows = []
    for token in tokens:
        if token.app.name in DAEMONS:
            rows += _periodic_run(ctx, rng, token)
    hr_tokens = [t for t in tokens if t.app.name == "hr-sync"]
    rows += _hr_writes(ctx, rng, plan, hr_tokens)
    return rows


# --------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------


def generate(ctx: SimContext) -> dict[str, list[Row]]:
    """Benign rows for MicrosoftGraphActivityLogs."""
    rows: list[Row] = []
    for day in ctx.day_range():
        plan = _day_plan(ctx, day)
        rng = ctx.rng("graph", "requests", day)
        end = ctx.day_start(day) + dt.timedelta(days=1)
        for signin in plan.signins:
            if signin.resource == GRAPH_RESOURCE and signin.result == "0":
                rows += _after_signin(ctx, rng, plan, signin, end)
        rows += _background(ctx, rng, plan, day)
        rows += _admin_changes(ctx, rng, plan)
        rows += _app_only(ctx, rng, plan, day)
    return {"MicrosoftGraphActivityLogs": [r for r in rows if r["TimeGenerated"] < ctx.end]}
