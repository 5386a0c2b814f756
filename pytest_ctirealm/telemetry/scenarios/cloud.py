"""Cloud attacks on Contoso's Entra ID tenant, Azure subscriptions and Microsoft 365.

Each scenario is one intrusion that crosses the identity plane (sign-ins, directory
changes, Graph), the control plane (ARM) and the data plane (Key Vault, blobs, mail).
Rows are built with the benign generators' own helpers, so columns, value formats and
identities match the background exactly, and one attack agrees with itself across
tables: the attacker's IP, the token id of a sign-in (the `uti` claim, which Graph logs
as SignInActivityId and ARM copies into its claims), the client request id that Entra
logs as an audit CorrelationId, the ARM correlation id that Key Vault logs for relayed
calls. Attacker infrastructure uses documentation ranges (203.0.113.0/24, 192.0.2.0/24).
Row counts are fixed per stage, so every seed holds the same attacks.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, replace
from typing import Any

from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.benign import azure_activity as arm
from pytest_ctirealm.telemetry.benign import entra, graph, keyvault, office, storage
from pytest_ctirealm.telemetry.context import SimContext, guid, hex_string
from pytest_ctirealm.telemetry.scenarios.base import Stages, incident_start, scenario

Row = dict[str, Any]
_PROD = env.SUBSCRIPTIONS["prod"]
_DEV = env.SUBSCRIPTIONS["dev"]
_OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
_GLOBAL_ADMIN = entra.ROLE_TEMPLATES["Global Administrator"]
_BROKER = entra.BROKER
_FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0"
_CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/123.0.0.0 Safari/537.36"
)
_PYTHON_REQUESTS = "python-requests/2.31.0"
_AZ_POWERSHELL_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.20348; en-US) PowerShell/7.4.2"
)
_AZUREHOUND = "azurehound/v2.1.9"
_CLI_AGENT = "python/3.11.9 (Linux-6.8.0-1014-aws-x86_64-with-glibc2.39) AZURECLI/2.61.0 (PIP)"
_AZCOPY = "AzCopy/10.24.0 Azure-Storage/0.1 (go1.21.9; linux)"


# --------------------------------------------------------------------------------------
# The attacker's infrastructure and the accounts it plants
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Infra:
    """An attacker address: what sign-in logs geolocate it to."""

    ip: str
    asn: str
    place: entra.Place

    @property
    def network(self) -> entra.Network:
        return entra.Network(self.ip, self.asn, self.place, "travel")


AU_INFRA = Infra(
    "203.0.113.151", "14061", entra.Place("Frankfurt am Main", "Hessen", "DE", 50.1109, 8.6821)
)
ELEVATE_INFRA = Infra(
    "203.0.113.166", "9009", entra.Place("Bucharest", "Bucuresti", "RO", 44.4268, 26.1025)
)
KEYVAULT_INFRA = Infra(
    "192.0.2.140", "20473", entra.Place("Piscataway", "New Jersey", "US", 40.4993, -74.399)
)
DEVICE_CODE_INFRA = Infra(
    "203.0.113.88", "9009", entra.Place("Manchester", "England", "GB", 53.4808, -2.2426)
)
RUN_COMMAND_INFRA = Infra(
    "192.0.2.61", "16276", entra.Place("Roubaix", "Hauts-de-France", "FR", 50.6942, 3.1746)
)
STORAGE_INFRA = Infra(
    "192.0.2.201", "63949", entra.Place("Stockholm", "Stockholm", "SE", 59.3293, 18.0686)
)
APP_INFRA = Infra("203.0.113.203", "212238", entra.Place("Zurich", "Zurich", "CH", 47.3769, 8.5417))
SPRAY_INFRA = tuple(
    Infra(ip, "20473", entra.Place("Warsaw", "Mazowieckie", "PL", 52.2297, 21.0122))
    for ip in ("192.0.2.33", "192.0.2.34", "192.0.2.35")
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
#: The external account the app-credential intruder invites and makes Owner.
GUEST = "d.kovacs.it@outlook.com"
#: The secret the app-credential intruder adds to ci-deployer (its key id).
ROGUE_KEY = env.stable_guid("credential", "ci-deployer", "rogue")
#: The application the storage thief registers for itself.
ROGUE_APP = "Backup Sync Agent"
ROGUE_APP_ID = env.stable_guid("app", "rogue", ROGUE_APP)

VICTIMS = {
    "au_backdoor": "alice.smith",
    "keyvault_policy_abuse": "sofia.jansen",
    "device_code_phishing": "anna.vos",
    "run_command_token_theft": "dmitri.ivanov",
    "storage_key_exfiltration": "mila.bos",
    "app_credential_abuse": "raj.patel",
    "spray_azurehound": "eva.peters",
}


# --------------------------------------------------------------------------------------
# One intrusion: its clock and its stages
# --------------------------------------------------------------------------------------


class Attack:
    """Writes one cloud intrusion: a seeded stream, a clock that moves on, stage rows."""

    def __init__(self, ctx: SimContext, name: str, start: dt.datetime) -> None:
        self.ctx = ctx
        self.rng = ctx.rng("scenario", name)
        self.now = start
        self.stages: Stages = {}

    def wait(self, low: float, high: float | None = None) -> dt.datetime:
        """Move the clock on by *low* seconds, or a random span between *low* and *high*."""
        self.now += dt.timedelta(seconds=low if high is None else self.rng.uniform(low, high))
        return self.now

    def add(self, stage: str, table: str, *rows: Row) -> None:
        self.stages.setdefault(stage, {}).setdefault(table, []).extend(rows)

    def guid(self) -> str:
        return guid(self.rng)


# --------------------------------------------------------------------------------------
# SigninLogs and AADServicePrincipalSignInLogs
# --------------------------------------------------------------------------------------


def _person_profile(ctx: SimContext, who: env.Person) -> entra.Profile:
    """The person's own devices (for a planted account: none registered)."""
    alias = who.upn.split("@")[0]
    try:
        return entra._profile_of(ctx.seed, alias)
    except KeyError:
        return entra.Profile(
            person=who,
            os="Windows10",
            browser="Chrome",
            device_id="",
            device_name="",
            trust_type="",
            managed=False,
            mobile_os="",
            mobile_id="",
            remote=False,
            home=entra.HOME_PLACES["NL"][0],
            isp=entra.HOME_ISPS["NL"][0],
            engineer=True,
        )


def _unregistered(profile: entra.Profile) -> entra.Profile:
    """The same person on the attacker's machine: no registered or managed device."""
    return replace(
        profile, device_id="", device_name="", trust_type="", managed=False, mobile_os=""
    )


@dataclass(frozen=True)
class Login:
    """What an attacker's sign-in looks like beyond who and where."""

    client: entra.Client
    resource: str
    result: str = "0"
    protocol: str = "none"
    mfa: bool = False
    requirement: str = "multiFactorAuthentication"
    risk: str = "none"
    risk_events: tuple[str, ...] = ()
    agent: str | None = None
    method: str | None = None  # the authentication method that satisfied MFA


def sign_in(a: Attack, profile: entra.Profile, network: entra.Network, login: Login) -> Row:
    """A SigninLogs row built by the benign generator, then given the attacker's traits."""
    presence = entra.Presence(profile, network, a.now, a.now + dt.timedelta(hours=1))
    signin = entra.SignIn(
        presence,
        a.now,
        login.client,
        login.resource,
        "laptop",
        login.result,
        entra._token_id(a.rng),
        a.guid(),
        a.guid(),
        login.protocol,
        login.mfa,
        login.requirement,
        "none",
    )
    row = entra._signin_row(a.rng, signin)
    if login.agent:
        row["UserAgent"] = login.agent
    if login.risk != "none":
        row.update(
            {
                "RiskLevelDuringSignIn": login.risk,
                "RiskLevelAggregated": login.risk,
                "RiskState": "atRisk",
                "IsRisky": True,
                "RiskEventTypes_V2": json.dumps(list(login.risk_events)),
            }
        )
    if login.method and login.result == "0":
        row["AuthenticationDetails"] = json.dumps(_method_steps(a.now, login.method))
    return row


def _method_steps(moment: dt.datetime, method: str) -> list[dict[str, Any]]:
    """AuthenticationDetails when one strong method (a Temporary Access Pass) signs in."""
    return [
        {
            "authenticationStepDateTime": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "authenticationMethod": method,
            "succeeded": True,
            "authenticationStepResultDetail": "MFA successfully completed",
            "authenticationStepRequirement": "Primary authentication",
        }
    ]


def _token_of(row: Row) -> tuple[str, dt.datetime]:
    """(UniqueTokenIdentifier, issue time) of a sign-in row, as Graph and ARM see them."""
    return str(row["UniqueTokenIdentifier"]), row["TimeGenerated"]


def sp_sign_in(a: Attack, name: str, resource: str, infra: Infra, key_id: str) -> Row:
    """An app's token request with a client secret, from the attacker's address."""
    token = entra.SpToken(
        env.application(name),
        resource,
        a.now,
        entra._token_id(a.rng),
        infra.ip,
        "0",
        key_id,
        "",
        "",
        a.guid(),
        a.guid(),
    )
    row = entra._sp_row(token)
    row["Location"] = infra.place.country
    row["LocationDetails"] = json.dumps(infra.place.details())
    return row


# --------------------------------------------------------------------------------------
# MicrosoftGraphActivityLogs
# --------------------------------------------------------------------------------------


def _wids(who: env.Person) -> str:
    roles = [entra.ROLE_TEMPLATES[r] for r in who.admin_roles]
    return " ".join([*roles, entra.DEFAULT_USER_ROLE])


def user_caller(
    who: env.Person, app_id: str, ip: str, agent: str, token: tuple[str, dt.datetime]
) -> graph.Caller:
    """A delegated Graph caller: the person's token used from *ip*."""
    return graph.Caller(
        app_id=app_id,
        ip=ip,
        agent=agent,
        token=token[0],
        issued=token[1],
        user_id=who.object_id,
        scopes=graph.SCOPES_BY_CLIENT.get(app_id, graph.BASIC_SCOPES),
        wids=_wids(who),
        region="West Europe",
    )


def graph_call(
    a: Attack, caller: graph.Caller, method: str, path: str, status: tuple[int, int] | None = None
) -> Row:
    """One Graph request at the attack's clock (never a throttled or refused one)."""
    if status is None:
        code = {"POST": 201, "PATCH": 204, "DELETE": 204}.get(method, 200)
        size = 0 if code == 204 else a.rng.randint(600, 2_500 if method == "POST" else 40_000)
        status = (code, size)
    return graph._row(a.rng, caller, a.now, method, path, status)


# --------------------------------------------------------------------------------------
# AuditLogs
# --------------------------------------------------------------------------------------


def _user_by(who: env.Person, ip: str) -> tuple[dict[str, Any], str]:
    """InitiatedBy and Identity of a person acting from *ip*."""
    return entra._user_initiator(who, ip), who.display_name


def audit(
    a: Attack,
    initiator: tuple[dict[str, Any], str],
    operation: str,
    category: str,
    targets: list[dict[str, Any]],
    *,
    correlation: str | None = None,
    service: str = "Core Directory",
    op_type: str = "Add",
    details: list[tuple[str, str]] | None = None,
) -> Row:
    """An AuditLogs row as entra.py writes them (the same Id scheme and columns)."""
    correlation = correlation or a.guid()
    prefix = {"Core Directory": "Directory", "PIM": "IPCGraph"}.get(service, "UserManagement")
    return {
        "TimeGenerated": a.now,
        "ActivityDateTime": a.now,
        "Id": f"{prefix}_{correlation}_{entra._suffix(a.rng)}",
        "CorrelationId": correlation,
        "OperationName": operation,
        "ActivityDisplayName": operation,
        "OperationVersion": "1.0",
        "Category": category,
        "LoggedByService": service,
        "AADOperationType": op_type,
        "AADTenantId": env.TENANT_ID,
        "Result": "success",
        "ResultSignature": "None",
        "Level": "4",
        "DurationMs": 0,
        "Resource": entra.AADIAM,
        "ResourceGroup": entra.AADIAM,
        "ResourceProvider": entra.AADIAM,
        "ResourceId": entra.AADIAM_ID,
        "InitiatedBy": initiator[0],
        "Identity": initiator[1],
        "TargetResources": targets,
        "AdditionalDetails": [{"key": k, "value": v} for k, v in details or []],
    }


def _person_target(who: env.Person, changes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "id": who.object_id,
        "displayName": None,
        "type": "User",
        "userPrincipalName": who.upn,
        "modifiedProperties": changes or [],
        "administrativeUnits": [],
    }


# --------------------------------------------------------------------------------------
# AzureActivity
# --------------------------------------------------------------------------------------


def user_arm_caller(who: env.Person, app: env.App, role: str) -> arm._Caller:
    return arm._Caller(who.upn, who.object_id, app.app_id, "User", role, who.display_name)


def arm_operation(
    a: Attack,
    caller: arm._Caller,
    ip: str,
    op: arm._Op,
    resource_id: str,
    *,
    request: dict[str, Any] | None = None,
    uti: str | None = None,
) -> tuple[list[Row], list[Row]]:
    """One successful ARM request: (its Start[/Accept]/Success rows, the Azure Policy
    evaluation a PUT triggers under the same CorrelationId)."""
    ids = (a.guid(), a.guid())
    start = a.now
    extra = {"requestbody": json.dumps(request)} if request else None
    rows = [
        arm._row(a.rng, op, caller, ip, resource_id, ids, arm._Event(start, "Start", None, extra))
    ]
    if op.asynchronous:
        accepted = start + dt.timedelta(milliseconds=a.rng.randrange(300, 2500))
        rows.append(
            arm._row(
                a.rng, op, caller, ip, resource_id, ids, arm._Event(accepted, "Accept", "Accepted")
            )
        )
    done = start + dt.timedelta(seconds=a.rng.uniform(*op.seconds))
    result = {"serviceRequestId": a.guid()}
    substatus = "Created" if op.method == "PUT" else "OK"
    rows.append(
        arm._row(
            a.rng, op, caller, ip, resource_id, ids, arm._Event(done, "Success", substatus, result)
        )
    )
    if uti:
        for row in rows:
            row["Claims_d"]["uti"] = uti
            row["Claims"] = json.dumps(row["Claims_d"])
    policy = (
        arm._policy_rows(a.rng, start, done, ids[0], resource_id)[:1] if op.method == "PUT" else []
    )
    return rows, policy


def _role_request(principal: str, principal_type: str, scope: str) -> dict[str, Any]:
    """A roleAssignments/write body granting Owner on *scope* (a subscription)."""
    return {
        "Id": env.stable_guid("role-request", principal, "Owner", scope),
        "Properties": {
            "PrincipalId": principal,
            "PrincipalType": principal_type,
            "RoleDefinitionId": f"{scope}/providers/Microsoft.Authorization/roleDefinitions/{_OWNER}",
            "Scope": scope,
            "Condition": None,
            "ConditionVersion": None,
        },
    }


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
    alice = env.person(VICTIMS["au_backdoor"])
    profile = _unregistered(_person_profile(ctx, alice))
    login = Login(
        entra.PORTAL,
        entra.GRAPH_RESOURCE,
        risk="medium",
        risk_events=("unfamiliarFeatures",),
        agent=_FIREFOX_LINUX,
    )
    first = sign_in(a, profile, AU_INFRA.network, login)
    first["DeviceDetail"].update({"operatingSystem": "Linux", "browser": "Firefox 124.0.0"})
    a.add("signin", "SigninLogs", first)
    caller = user_caller(alice, entra.PORTAL.app_id, AU_INFRA.ip, _FIREFOX_LINUX, _token_of(first))
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
    by = _user_by(alice, AU_INFRA.ip)
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
            details=[*write.details, ("User-Agent", _FIREFOX_LINUX)],
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
                _person_target(
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
                _person_target(
                    BACKDOOR,
                    [
                        entra._change("Role.ObjectID", None, json.dumps(role_id)),
                        entra._change("Role.DisplayName", None, '"Global Administrator"'),
                        entra._change("Role.TemplateId", None, json.dumps(_GLOBAL_ADMIN)),
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
            [au, _person_target(BACKDOOR)],
        ),
        _exempt_from_device_policy(),
        DirectoryWrite(
            "POST",
            f"/v1.0/users/{BACKDOOR.object_id}/authentication/temporaryAccessPassMethods",
            "Admin registered security info",
            "UserManagement",
            "Add",
            [_person_target(BACKDOOR)],
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
    profile = _unregistered(_person_profile(a.ctx, BACKDOOR))
    login = Login(
        entra.MY_SIGNINS,
        entra.GRAPH_RESOURCE,
        agent=_FIREFOX_LINUX,
        method="Temporary Access Pass",
    )
    row = sign_in(a, profile, AU_INFRA.network, login)
    row["DeviceDetail"].update({"operatingSystem": "Linux", "browser": "Firefox 124.0.0"})
    a.add("backdoor_signin", "SigninLogs", row)
    by = _user_by(BACKDOOR, AU_INFRA.ip)
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
                [_person_target(BACKDOOR)],
                correlation=correlation,
                service="Authentication Methods",
                op_type="Add" if "registered" in operation else "Update",
                details=[("Method", "Microsoft Authenticator App")],
            ),
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
    profile = _unregistered(_person_profile(ctx, BACKDOOR))
    login = Login(entra.PORTAL, entra.ARM_RESOURCE, mfa=True, agent=_CHROME_WINDOWS)
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
        _user_by(BACKDOOR, ip),
        "User has elevated their access to User Access Administrator for their Azure Resources",
        "AzureRBACRoleManagementElevateAccess",
        [_person_target(BACKDOOR)],
        service="Azure RBAC (Elevated Access)",
        op_type="Assign",
    )
    a.add("elevate", "AuditLogs", trace)
    elevated = replace(caller, role="User Access Administrator")
    a.wait(180, 420)
    for subscription in (_PROD, _DEV):
        scope = f"/subscriptions/{subscription}"
        assignment = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{a.guid()}"
        request = _role_request(BACKDOOR.object_id, "User", scope)
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


# --------------------------------------------------------------------------------------
# 2. Key Vault access-policy abuse
# --------------------------------------------------------------------------------------

_STOLEN_SECRETS = (
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
)
_AZ_PIP = (
    "AZURECLI/2.61.0 (PIP) azsdk-python-mgmt-keyvault/10.3.0 Python/3.11.9 "
    "(Linux-6.8.0-1014-aws-x86_64-with-glibc2.39)"
)


@scenario(
    "keyvault_policy_abuse",
    "cloud",
    ("denied", "policy_grant", "policy_notice", "policy_audit", "secret_reads"),
)
def keyvault_policy_abuse(ctx: SimContext) -> Stages:
    """With a helpdesk admin's stolen tokens (Contributor on the data resource group but
    no secret access), the intruder is refused a secret listing, writes an access policy
    that grants that same identity get and list, and reads every secret in the vault."""
    a = Attack(ctx, "keyvault_policy_abuse", incident_start(ctx, "keyvault_policy_abuse", (19, 23)))
    sofia = env.person(VICTIMS["keyvault_policy_abuse"])
    vault = keyvault._PROD_VAULT
    ip = KEYVAULT_INFRA.ip
    reader = keyvault._person_identity(VICTIMS["keyvault_policy_abuse"], env.AZURE_CLI)
    refused = keyvault._Call("SecretList", "secrets", "secrets", 403, "&maxresults=25")
    a.add(
        "denied",
        "AzureDiagnostics",
        keyvault._vault_row(a.rng, a.now, vault, refused, reader, ip, _PYTHON_REQUESTS),
    )
    a.wait(60, 200)
    caller = user_arm_caller(sofia, env.AZURE_CLI, "Contributor")
    vault_id = arm._arm_id(vault, "Microsoft.KeyVault/vaults")
    body = {
        "properties": {
            "accessPolicies": [
                {
                    "tenantId": env.TENANT_ID,
                    "objectId": sofia.object_id,
                    "permissions": {"secrets": ["get", "list"], "keys": [], "certificates": []},
                }
            ]
        }
    }
    rows, policy = arm_operation(
        a, caller, ip, arm._VAULT_POLICY, f"{vault_id}/accessPolicies/add", request=body
    )
    a.add("policy_grant", "AzureActivity", *rows)
    a.add("policy_audit", "AzureActivity", *policy)
    a.wait(0.5, 2)
    patch = keyvault._arm_vault_row(
        a.rng, a.now, vault, "VaultPatch", reader, ip, _AZ_PIP, "/accessPolicies/add"
    )
    patch["CorrelationId"] = rows[0]["CorrelationId"]
    a.add("policy_grant", "AzureDiagnostics", patch)
    a.wait(1, 5)
    notice = keyvault._vault_row(
        a.rng,
        a.now,
        vault,
        keyvault._Call("VaultAccessPolicyChangedEventGridNotification", ""),
        None,
        a.rng.choice(keyvault._AZURE_SERVICE_IPS),
        None,
    )
    for column in ("httpStatusCode_d", "requestUri_s"):
        notice.pop(column)
    a.add("policy_notice", "AzureDiagnostics", notice)
    a.wait(40, 120)
    calls = [keyvault._SECRET_LIST] + [keyvault._secret_get(name) for name in _STOLEN_SECRETS]
    for call in calls:
        a.add(
            "secret_reads",
            "AzureDiagnostics",
            keyvault._vault_row(a.rng, a.now, vault, call, reader, ip, _PYTHON_REQUESTS),
        )
        a.wait(0.4, 3)
    return a.stages


# --------------------------------------------------------------------------------------
# 4. Device-code phishing, then mail searched and sent
# --------------------------------------------------------------------------------------

_SEARCHES = ("password", "invoice", "wire transfer", "vpn")
_LURES = (
    "Teams meeting: Q1 close review",
    "Updated payment details - action required",
    "Teams meeting: vendor onboarding",
)


@scenario(
    "device_code_phishing",
    "cloud",
    ("device_code", "mailbox_search", "internal_phish"),
)
def device_code_phishing(ctx: SimContext) -> Stages:
    """A finance clerk enters an attacker's device code on the real Microsoft page; the
    attacker redeems the token on its own server, searches her mailbox through Graph for
    credentials and payments, and sends new lures to colleagues from her account."""
    start = incident_start(ctx, "device_code_phishing", (9, 15))
    a = Attack(ctx, "device_code_phishing", start)
    anna = env.person(VICTIMS["device_code_phishing"])
    profile = _person_profile(ctx, anna)
    network = _victim_network(ctx, profile, start)
    login = Login(_BROKER, entra.GRAPH_RESOURCE, protocol="deviceCode", mfa=True)
    signin = sign_in(a, profile, network, login)
    signin["UserAgent"] = entra._browser_agent(profile, 123)
    a.add("device_code", "SigninLogs", signin)
    caller = user_caller(
        anna, _BROKER.app_id, DEVICE_CODE_INFRA.ip, _PYTHON_REQUESTS, _token_of(signin)
    )
    caller = replace(caller, scopes=graph.OUTLOOK_SCOPES)
    mailbox = entra.Presence(
        profile, DEVICE_CODE_INFRA.network, start, start + dt.timedelta(hours=2)
    )
    a.wait(90, 360)
    for term in _SEARCHES:
        path = (
            f'/v1.0/me/messages?$search="{term}"&$top=50&$select=subject,from,receivedDateTime,body'
        )
        a.add("mailbox_search", "MicrosoftGraphActivityLogs", graph_call(a, caller, "GET", path))
        a.wait(1, 4)
        a.add("mailbox_search", "OfficeActivity", _mail_record(a, mailbox, "MailItemsAccessed"))
        a.wait(20, 90)
    a.wait(300, 900)
    for subject in _LURES:
        a.add(
            "internal_phish",
            "MicrosoftGraphActivityLogs",
            graph_call(a, caller, "POST", "/v1.0/me/sendMail", (202, 0)),
        )
        a.wait(1, 3)
        a.add("internal_phish", "OfficeActivity", _mail_record(a, mailbox, "Send", subject))
        a.wait(30, 120)
    return a.stages


def _victim_network(ctx: SimContext, profile: entra.Profile, moment: dt.datetime) -> entra.Network:
    """Where the victim works that day (her home connection if she is not working)."""
    day = (moment - ctx.start).days
    presence = entra._day_plan(ctx, day).present.get(profile.alias)
    if presence is not None:
        return presence.network
    home = ctx.rng("entra", "home-ip", profile.alias, day // 7)
    return entra.Network(entra._ip(home, profile.isp), profile.isp[0], profile.home, "home")


def _mail_record(
    a: Attack, presence: entra.Presence, operation: str, subject: str | None = None
) -> Row:
    """A mailbox audit record of a Graph (REST) client acting with the stolen token."""
    row = office._mailbox_row(a.rng, presence, a.now, operation)
    row.update(
        {
            "ClientIP": presence.network.ip,
            "Client_IPAddress": presence.network.ip,
            "ClientInfoString": "Client=REST;Client=RESTSystem;;",
            "ClientAppId": _BROKER.app_id,
            "AppId": _BROKER.app_id,
            "OfficeId": a.guid(),
        }
    )
    if operation == "MailItemsAccessed":
        row["OperationProperties"] = [
            {"Name": "MailAccessType", "Value": "Bind"},
            {"Name": "IsThrottled", "Value": "False"},
        ]
    if subject is not None:
        item = json.loads(row["Item"])
        item["Subject"] = subject
        row["Item"] = json.dumps(item)
    return row


# --------------------------------------------------------------------------------------
# 5. VM Run Command to steal a managed identity's token
# --------------------------------------------------------------------------------------

_DISK_EXPORT = arm._Op(
    "Microsoft.Compute/disks/beginGetAccess/action", "Get Disk SAS URI", True, (5, 30)
)
_IMDS_SCRIPT = [
    "curl -s -H Metadata:true 'http://169.254.169.254/metadata/identity/oauth2/token"
    "?api-version=2018-02-01&resource=https://management.azure.com/'",
]


@scenario(
    "run_command_token_theft",
    "cloud",
    ("signin", "run_command", "identity_abuse"),
)
def run_command_token_theft(ctx: SimContext) -> Stages:
    """With an engineer's replayed refresh token (his compliant laptop's device claims
    and all), the intruder runs a command on vm-app01 that prints the VM's managed
    identity token, then uses that identity from its own server to list storage keys
    and export the database VM's disk."""
    a = Attack(
        ctx, "run_command_token_theft", incident_start(ctx, "run_command_token_theft", (19, 23))
    )
    dmitri = env.person(VICTIMS["run_command_token_theft"])
    profile = _person_profile(ctx, dmitri)
    login = Login(entra.PORTAL, entra.ARM_RESOURCE)
    signin = sign_in(a, profile, RUN_COMMAND_INFRA.network, login)
    a.add("signin", "SigninLogs", signin)
    ip = RUN_COMMAND_INFRA.ip
    vm = arm._arm_id("vm-app01", "Microsoft.Compute/virtualMachines")
    a.wait(180, 480)
    caller = user_arm_caller(dmitri, env.AZURE_PORTAL, "Contributor")
    request = {"commandId": "RunShellScript", "script": _IMDS_SCRIPT}
    rows, _ = arm_operation(
        a,
        caller,
        ip,
        arm._RUN_COMMAND,
        vm,
        request=request,
        uti=str(signin["UniqueTokenIdentifier"]),
    )
    a.add("run_command", "AzureActivity", *rows)
    a.now = max(row["TimeGenerated"] for row in rows)
    identity = arm._app_caller(env.application("id-api-prod"), "Contributor")
    token = hex_string(a.rng, 22)
    for account in ("stcontosoprod", "stcontosobackup"):
        a.wait(60, 240)
        account_id = arm._arm_id(account, "Microsoft.Storage/storageAccounts")
        rows, _ = arm_operation(a, identity, ip, arm._LIST_KEYS, account_id, uti=token)
        a.add("identity_abuse", "AzureActivity", *rows)
    a.wait(60, 180)
    disk = (
        f"/subscriptions/{_PROD}/resourceGroups/rg-prod-data/providers/Microsoft.Compute/disks/"
        f"vm-db01_OsDisk_1_{env.stable_hex(32, 'disk', 'vm-db01')}"
    )
    rows, _ = arm_operation(
        a,
        identity,
        ip,
        _DISK_EXPORT,
        f"{disk}",
        request={"access": "Read", "durationInSeconds": 86400},
        uti=token,
    )
    a.add("identity_abuse", "AzureActivity", *rows)
    return a.stages


# --------------------------------------------------------------------------------------
# 6. Storage keys listed, blobs read with them, then an app for later
# --------------------------------------------------------------------------------------


@scenario(
    "storage_key_exfiltration",
    "cloud",
    ("signin", "list_keys", "blob_theft", "new_app", "new_app_requests"),
)
def storage_key_exfiltration(ctx: SimContext) -> Stages:
    """A data engineer's stolen session lists the backup account's keys, copies the
    database dumps and upload archives out with AzCopy and the account key, then
    registers an application with a certificate to come back as."""
    a = Attack(
        ctx, "storage_key_exfiltration", incident_start(ctx, "storage_key_exfiltration", (20, 22))
    )
    mila = env.person(VICTIMS["storage_key_exfiltration"])
    profile = _person_profile(ctx, mila)
    login = Login(entra.CLI, entra.ARM_RESOURCE, risk="low", risk_events=("unfamiliarFeatures",))
    signin = sign_in(a, profile, STORAGE_INFRA.network, login)
    a.add("signin", "SigninLogs", signin)
    ip = STORAGE_INFRA.ip
    a.wait(120, 300)
    account = "stcontosobackup"
    caller = user_arm_caller(mila, env.AZURE_CLI, "Contributor")
    rows, _ = arm_operation(
        a,
        caller,
        ip,
        arm._LIST_KEYS,
        arm._arm_id(account, "Microsoft.Storage/storageAccounts"),
        uti=str(signin["UniqueTokenIdentifier"]),
    )
    a.add("list_keys", "AzureActivity", *rows)
    a.wait(60, 180)
    client = storage._Client("AccountKey", ip, _AZCOPY, "2023-08-03")
    for request in _exfiltration_requests(a, account):
        a.add("blob_theft", "StorageBlobLogs", storage._row(a.rng, a.now, client, request))
        seconds = 2 + request.size / (40 * storage._MIB)
        a.wait(seconds, seconds * 1.5)
    a.wait(600, 1200)
    _register_app(a, mila, signin)
    return a.stages


def _exfiltration_requests(a: Attack, account: str) -> list[storage._Request]:
    """Enumerate the account, then download a week of dumps and the upload archives."""
    day = a.now.replace(hour=0, minute=0, second=0, microsecond=0)
    requests = [
        storage._Request("ListContainers", account, size=a.rng.randint(1_500, 4_000)),
        storage._Request("ListBlobs", account, "pgdump", size=a.rng.randint(8_000, 12_000)),
        storage._Request("ListBlobs", account, "uploads", size=a.rng.randint(6_000, 9_000)),
    ]
    for back in range(1, 9):
        stamp = day - dt.timedelta(days=back)
        size = a.rng.randint(380, 460) * storage._MIB
        requests.append(
            storage._Request("GetBlob", account, f"pgdump/appdb-{stamp:%Y-%m-%d}.dump", size=size)
        )
    for back in range(1, 5):
        stamp = day - dt.timedelta(days=back)
        size = a.rng.randint(180, 320) * storage._MIB
        requests.append(
            storage._Request("GetBlob", account, f"uploads/uploads-{stamp:%Y-%m-%d}.tar", size=size)
        )
    return requests


def _register_app(a: Attack, mila: env.Person, signin: Row) -> None:
    """Register an app (with a certificate credential) and its service principal."""
    caller = user_caller(mila, entra.CLI.app_id, STORAGE_INFRA.ip, _CLI_AGENT, _token_of(signin))
    by = _user_by(mila, STORAGE_INFRA.ip)
    app_object = env.stable_guid("application", ROGUE_APP)
    sp_object = env.stable_guid("sp", ROGUE_APP)
    key = entra._key_description(
        env.stable_guid("credential", ROGUE_APP), "AsymmetricX509Cert", "CN=backup-sync"
    )
    app = entra._target(
        "Application",
        app_object,
        ROGUE_APP,
        [
            entra._change("AppId", "[]", json.dumps([ROGUE_APP_ID])),
            entra._change("DisplayName", "[]", json.dumps([ROGUE_APP])),
            entra._change("KeyDescription", "[]", json.dumps([key])),
        ],
    )
    steps = (
        ("/v1.0/applications", "Add application", [app]),
        (
            "/v1.0/servicePrincipals",
            "Add service principal",
            [entra._target("ServicePrincipal", sp_object, ROGUE_APP)],
        ),
        (
            f"/v1.0/applications/{app_object}/owners/$ref",
            "Add owner to application",
            [entra._target("Application", app_object, ROGUE_APP), _person_target(mila)],
        ),
    )
    for path, operation, targets in steps:
        a.wait(3, 20)
        request = graph_call(a, caller, "POST", path, (204, 0) if path.endswith("$ref") else None)
        a.add("new_app_requests", "MicrosoftGraphActivityLogs", request)
        a.wait(0.2, 1.5)
        row = audit(
            a,
            by,
            operation,
            "ApplicationManagement",
            targets,
            correlation=request["ClientRequestId"],
            op_type="Assign" if "owner" in operation else "Add",
            details=[("AppId", ROGUE_APP_ID), ("User-Agent", _CLI_AGENT)],
        )
        a.add("new_app", "AuditLogs", row)


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
    raj = env.person(VICTIMS["app_credential_abuse"])
    profile = _unregistered(_person_profile(ctx, raj))
    login = Login(
        entra.PORTAL,
        entra.GRAPH_RESOURCE,
        agent=_CHROME_WINDOWS,
        risk="high",
        risk_events=("anomalousToken",),
    )
    signin = sign_in(a, profile, APP_INFRA.network, login)
    a.add("signin", "SigninLogs", signin)
    caller = user_caller(raj, entra.PORTAL.app_id, APP_INFRA.ip, _CHROME_WINDOWS, _token_of(signin))
    by = _user_by(raj, APP_INFRA.ip)
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
    scope = f"/subscriptions/{_PROD}"
    assignment = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{a.guid()}"
    rows, policy = arm_operation(
        a,
        arm._CI,
        APP_INFRA.ip,
        arm._ROLE_WRITE,
        assignment,
        request=_role_request(guest_id, "User", scope),
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
    agent = ("User-Agent", _CHROME_WINDOWS)
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
    eva = env.person(VICTIMS["spray_azurehound"])
    others = [p for p in env.PEOPLE if not p.is_admin and p is not eva]
    for index, target in enumerate(a.rng.sample(others, _SPRAYED)):
        infra = SPRAY_INFRA[index % len(SPRAY_INFRA)]
        profile = _unregistered(_person_profile(ctx, target))
        login = Login(
            entra.POWERSHELL,
            entra.GRAPH_RESOURCE,
            result="50126",
            requirement="singleFactorAuthentication",
            agent=_AZ_POWERSHELL_AGENT,
        )
        a.add("spray", "SigninLogs", sign_in(a, profile, infra.network, login))
        a.wait(15, 60)
    infra = SPRAY_INFRA[1]
    profile = _unregistered(_person_profile(ctx, eva))
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
            agent=_AZ_POWERSHELL_AGENT,
        )
        approved = sign_in(a, profile, infra.network, login)
        a.add("mfa_fatigue", "SigninLogs", approved)
        a.wait(40, 150)
    a.wait(240, 900)
    caller = user_caller(
        eva, env.AZURE_POWERSHELL.app_id, infra.ip, _AZUREHOUND, _token_of(approved)
    )
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
