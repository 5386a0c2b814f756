"""What the cloud campaigns share: an intrusion's clock and stages, and row builders for
each table that reuse the benign generators' own helpers, so columns, value formats and
identities match the background exactly and one attack agrees with itself across tables
(the attacker's address, the token id of a sign-in that Graph logs as SignInActivityId and
ARM copies into its claims, the client request id that Entra logs as an audit
CorrelationId, the ARM correlation id that Key Vault logs for relayed calls).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, replace
from typing import Any

from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.benign import azure_activity as arm
from pytest_ctirealm.telemetry.benign import entra, graph
from pytest_ctirealm.telemetry.campaign import Instance
from pytest_ctirealm.telemetry.context import SimContext, guid
from pytest_ctirealm.telemetry.scenarios.base import Stages, daily_times

Row = dict[str, Any]

PROD = env.SUBSCRIPTIONS["prod"]
DEV = env.SUBSCRIPTIONS["dev"]
_OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
GLOBAL_ADMIN = entra.ROLE_TEMPLATES["Global Administrator"]
BROKER = entra.BROKER
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0"
CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/123.0.0.0 Safari/537.36"
)
PYTHON_REQUESTS = "python-requests/2.31.0"
AZ_POWERSHELL_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.20348; en-US) PowerShell/7.4.2"
)
AZUREHOUND = "azurehound/v2.1.9"
CLI_AGENT = "python/3.11.9 (Linux-6.8.0-1014-aws-x86_64-with-glibc2.39) AZURECLI/2.61.0 (PIP)"
AZCOPY = "AzCopy/10.24.0 Azure-Storage/0.1 (go1.21.9; linux)"


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


#: Hosting providers operators rent servers and proxies from: (ASN, where the address
#: geolocates). An instance draws one with its address (`hosted`).
HOSTING = (
    ("14061", entra.Place("Frankfurt am Main", "Hessen", "DE", 50.1109, 8.6821)),
    ("9009", entra.Place("Bucharest", "Bucuresti", "RO", 44.4268, 26.1025)),
    ("20473", entra.Place("Piscataway", "New Jersey", "US", 40.4993, -74.399)),
    ("9009", entra.Place("Manchester", "England", "GB", 53.4808, -2.2426)),
    ("16276", entra.Place("Roubaix", "Hauts-de-France", "FR", 50.6942, 3.1746)),
    ("63949", entra.Place("Stockholm", "Stockholm", "SE", 59.3293, 18.0686)),
    ("212238", entra.Place("Zurich", "Zurich", "CH", 47.3769, 8.5417)),
    ("20473", entra.Place("Warsaw", "Mazowieckie", "PL", 52.2297, 21.0122)),
    ("24940", entra.Place("Helsinki", "Uusimaa", "FI", 60.1699, 24.9384)),
    ("51167", entra.Place("Nuremberg", "Bavaria", "DE", 49.4521, 11.0767)),
    ("14061", entra.Place("Amsterdam", "North Holland", "NL", 52.3676, 4.9041)),
    ("16509", entra.Place("Ashburn", "Virginia", "US", 39.0438, -77.4874)),
    ("9009", entra.Place("Sofia", "Sofia City", "BG", 42.6977, 23.3219)),
    ("62240", entra.Place("Lagos", "Lagos", "NG", 6.5244, 3.3792)),
    ("136787", entra.Place("Singapore", "Singapore", "SG", 1.3521, 103.8198)),
)


def hosted(instance: Instance, key: str) -> Infra:
    """A server of the intruder's: a fresh attacker address at a drawn hosting provider."""
    asn, place = instance.rng.choice(HOSTING)
    instance.keep(f"{key}_place", place.city)
    return Infra(instance.attacker_ip(key), asn, place)


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


class Family(Attack):
    """One benign look-alike family of *campaign*: rows go under the family's name
    (`add(self.name, table, ...)`), and its clock jumps to each moment it acts at (`at`)."""

    def __init__(self, ctx: SimContext, campaign: str, name: str) -> None:
        super().__init__(ctx, f"lookalike/{campaign}/{name}", ctx.start)
        self.name = name

    def at(self, moment: dt.datetime) -> dt.datetime:
        self.now = moment
        return moment

    def times(self, low: int, high: int, *, office: bool = True) -> list[dt.datetime]:
        """Between *low* and *high* moments on each day of the window (see `daily_times`)."""
        return daily_times(self.ctx, self.rng, low, high, office=office)


# --------------------------------------------------------------------------------------
# SigninLogs and AADServicePrincipalSignInLogs
# --------------------------------------------------------------------------------------


def person_profile(ctx: SimContext, who: env.Person) -> entra.Profile:
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


def unregistered(profile: entra.Profile) -> entra.Profile:
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


def token_of(row: Row) -> tuple[str, dt.datetime]:
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


def user_by(who: env.Person, ip: str) -> tuple[dict[str, Any], str]:
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


def person_target(who: env.Person, changes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
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
    evaluations a PUT triggers under the same CorrelationId), shaped as the background's
    (`azure_activity._operation`) so that no substatus or policy count marks an attack."""
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
    substatus = "Created" if op.method == "PUT" and a.rng.random() < 0.2 else "OK"
    rows.append(
        arm._row(
            a.rng, op, caller, ip, resource_id, ids, arm._Event(done, "Success", substatus, result)
        )
    )
    if uti:
        for row in rows:
            row["Claims_d"]["uti"] = uti
            row["Claims"] = json.dumps(row["Claims_d"])
    policy = arm._policy_rows(a.rng, start, done, ids[0], resource_id) if op.method == "PUT" else []
    return rows, policy


def role_request(principal: str, principal_type: str, scope: str) -> dict[str, Any]:
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
