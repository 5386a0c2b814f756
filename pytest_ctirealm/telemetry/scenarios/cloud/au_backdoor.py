"""The administrative-unit backdoor (T1136.003, T1098.003, T1564): an intruder holding a
privileged administrator's stolen browser session creates an account of its own, makes it
Global Administrator, shelters it in an administrative unit that other administrators
cannot see into or manage, exempts it from Conditional Access and gives it an
authentication method, then signs the planted account in from the same server. Hours
later the planted account elevates its access in Azure (`elevate_access.py`).

Per instance: the hijacked administrator, the intruder's server (address and hosting
provider), its browser, when the night-time session starts, which directory reads come
first, the planted account's name and display name (imitations of service accounts), the
unit's name and how it hides its members (restricted management, hidden membership or
both), whether the unit is created before or after the account, the order of the other
changes, which Conditional Access policies exclude the account (always the device policy
for Azure management, sometimes also an MFA policy), the authentication method planted
(a Temporary Access Pass, a phone number or a FIDO2 key provisioned for the account),
and the planted account's first sign-ins.

Every directory write is made through the admin center: a Microsoft Graph request whose
client request id Entra logs as the audit record's CorrelationId, for the attack and for
the look-alikes alike, each session opened by an Azure Portal sign-in whose token id the
Graph requests carry.

Look-alikes (administrators in the office, through the admin center): helpdesk staff
onboarding new hires and contractors (an account, a delegated unit, a Temporary Access
Pass, the new hire's first sign-in with it), administrators assigning directory roles to
colleagues (some scoped to a unit), PIM activations, Temporary Access Passes issued to
people who lost their phone, break-glass accounts excluded from Conditional Access
policies, and restricted-management units created to protect break-glass and admin
accounts.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.benign import entra, graph
from pytest_ctirealm.telemetry.campaign import Instance, attacker_address
from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.scenarios.base import (
    LOOKALIKE_MARGIN,
    Stages,
    lookalikes,
    scenario,
)
from pytest_ctirealm.telemetry.scenarios.cloud.common import (
    HOSTING,
    Attack,
    Family,
    Infra,
    Login,
    Row,
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

CAMPAIGN = "au_backdoor"

#: Administrators whose session the intruder may hijack (each holds directory roles).
HIJACKABLE = ("alice.smith", "raj.patel", "liam.devries", "sofia.jansen")

#: Browsers an intruder's server shows: (user agent, DeviceDetail OS, DeviceDetail browser).
#: None is what Contoso's own staff run (Chrome and Edge 122-124, Safari 17.3).
BROWSERS: tuple[tuple[str, str, str], ...] = (
    (
        "Mozilla/5.0 (X11; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0",
        "Linux",
        "Firefox 124.0.0",
    ),
    (
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
        "Linux",
        "Firefox 125.0.0",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:123.0) Gecko/20100101 Firefox/123.0",
        "Windows10",
        "Firefox 123.0.0",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:124.0) Gecko/20100101 Firefox/124.0",
        "MacOs",
        "Firefox 124.0.0",
    ),
    (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36",
        "Linux",
        "Chrome 120.0.0",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/121.0.0.0 Safari/537.36 OPR/107.0.0.0",
        "Windows10",
        "Opera 107.0.0",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/119.0.0.0 Safari/537.36 Edg/119.0.0.0",
        "Windows10",
        "Edge 119.0.0",
    ),
)

#: The planted account imitates a service account: (alias stem, display-name stem).
_ACCOUNT_STEMS: tuple[tuple[str, str], ...] = (
    ("mdmsync", "MDM Sync"),
    ("intune-sync", "Intune Sync"),
    ("compliance-sync", "Compliance Sync"),
    ("scim-provisioning", "SCIM Provisioning"),
    ("defender-sync", "Defender Sync"),
    ("license-automation", "License Automation"),
    ("autopilot-enroll", "Autopilot Enrollment"),
    ("teamsrooms-prov", "Teams Rooms Provisioning"),
    ("ediscovery-export", "eDiscovery Export"),
    ("graph-reporting", "Graph Reporting"),
    ("devicemgmt", "Device Management"),
    ("entra-health", "Entra Health"),
)
_ACCOUNT_PREFIXES = ("svc-", "svc_", "sa-", "app-", "sync-")
_DISPLAY_SUFFIXES = ("Service", "Service Account", "Connector", "Agent")

#: The unit's name: one word of each part, joined by a space.
_UNIT_FIRST = (
    "Device",
    "Endpoint",
    "Intune",
    "Service Account",
    "Automation",
    "Workplace",
    "Tier-0",
    "Platform",
    "Sync",
)
_UNIT_SECOND = (
    "Compliance Automation",
    "Management",
    "Lifecycle",
    "Accounts",
    "Enrollment",
    "Provisioning",
    "Operations",
    "Governance",
)
#: How the unit keeps its members out of other administrators' reach.
SHELTERS = ("restricted_management", "hidden_membership", "restricted_and_hidden")
#: The authentication method the intruder plants on the account.
METHODS = ("tap", "phone", "fido")
#: Conditional Access policies (entra.CA_POLICIES): the device policy for Azure management
#: always excludes the account (the elevation signs in from an unmanaged machine); an MFA
#: policy sometimes too.
DEVICE_POLICY = entra.CA_POLICIES[3][0]
MFA_POLICIES = (entra.CA_POLICIES[0][0], entra.CA_POLICIES[1][0])
#: Break-glass accounts: already excluded from the policies before any intrusion.
BREAK_GLASS = ("breakglass-01", "breakglass-02", "emergency-admin")

#: Directory reads the intruder makes first, to see what exists.
_RECON = (
    "/v1.0/me",
    "/v1.0/directory/administrativeUnits?$select=id,displayName,isMemberManagementRestricted,visibility",
    "/v1.0/directoryRoles?$expand=members",
    "/v1.0/identity/conditionalAccess/policies?$select=id,displayName,state,conditions",
    "/v1.0/users?$select=id,displayName,userPrincipalName,userType&$top=999",
    "/v1.0/policies/authenticationMethodsPolicy",
)

GLOBAL_ADMINISTRATOR = "Global Administrator"

#: Directory role templates (public ids) beyond those the benign generator knows.
ROLE_TEMPLATES: dict[str, str] = {
    **entra.ROLE_TEMPLATES,
    "Global Reader": "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
    "Security Reader": "5d6b6bb7-de71-4623-b4af-96380a352509",
    "Reports Reader": "4a5d8f65-41da-4de4-8968-e035b65339cf",
    "License Administrator": "4d6ac14f-3453-41d0-bef9-a3e0c569773a",
    "Groups Administrator": "fdd7a751-b60b-444a-984c-02652fe8fa1c",
    "Authentication Administrator": "c4e39bd9-1100-46d3-8c65-fb160da0071f",
}


# --------------------------------------------------------------------------------------
# The planted account: drawn once, shared with the elevation
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Planted:
    """What the elevation needs to know of the backdoor: the account, the policies that
    exclude it, and when the intrusion began."""

    account: env.Person
    policies: tuple[str, ...]
    method: str
    start: dt.datetime
    #: The server the backdoor is planted from (the elevation draws another).
    server: Infra


def planted(ctx: SimContext) -> Planted:
    """The backdoor account of this telemetry, drawn from the au_backdoor instance's own
    "planted" stream: both campaigns call this and get the same account."""
    rng = ctx.rng("instance", CAMPAIGN, "planted")
    stem, display = rng.choice(_ACCOUNT_STEMS)
    alias = rng.choice(_ACCOUNT_PREFIXES) + stem
    account = env.Person(
        upn=f"{alias}@{env.DOMAIN}",
        display_name=f"{display} {rng.choice(_DISPLAY_SUFFIXES)}",
        object_id=env.stable_guid("user", alias),
        country="NL",
        department="Engineering",
        admin_roles=(GLOBAL_ADMINISTRATOR,),
    )
    extra = rng.sample(MFA_POLICIES, rng.choice((0, 0, 1)))
    policies = (DEVICE_POLICY, *extra)
    method = rng.choice(METHODS)
    # A night between the first two days: after a full day of the tenant's own activity,
    # with time left for the elevation the next morning.
    if ctx.days >= 2:
        start = ctx.day_start(0) + dt.timedelta(hours=rng.uniform(19.5, 29.5))
    else:
        start = ctx.day_start(0) + dt.timedelta(hours=rng.uniform(0.5, 4))
    asn, place = rng.choice(HOSTING)
    server = Infra(attacker_address(rng), asn, place)
    return Planted(account, policies, method, start, server)


def record(instance: Instance, plan: Planted) -> None:
    """Keep the planted account's values in *instance* (the server is kept by the
    backdoor's instance only)."""
    instance.keep("account", plan.account.upn)
    instance.keep("account_name", plan.account.display_name)
    instance.keep("account_id", plan.account.object_id)
    instance.keep("policies", list(plan.policies))


# --------------------------------------------------------------------------------------
# Directory writes through the admin center (the attack's and the look-alikes')
# --------------------------------------------------------------------------------------


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


def directory_write(
    a: Attack,
    stage: str,
    caller: graph.Caller,
    by: tuple[dict[str, Any], str],
    agent: str,
    write: DirectoryWrite,
) -> tuple[Row, Row]:
    """The Graph request, then (a moment later) the audit record whose CorrelationId is
    the request's ClientRequestId: the one rule for every admin-center write."""
    if write.method == "POST" and not write.path.endswith("$ref"):
        status = (201, a.rng.randint(600, 2_500))
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
        details=[*write.details, ("User-Agent", agent)],
    )
    a.add(stage, "MicrosoftGraphActivityLogs", request)
    a.add(stage, "AuditLogs", row)
    return request, row


def add_user(who: env.Person) -> DirectoryWrite:
    return DirectoryWrite(
        "POST",
        "/v1.0/users",
        "Add user",
        "UserManagement",
        "Add",
        [
            person_target(
                who,
                [
                    entra._change("AccountEnabled", "[]", "[true]"),
                    entra._change("DisplayName", "[]", json.dumps([who.display_name])),
                    entra._change("UserPrincipalName", "[]", json.dumps([who.upn])),
                    entra._change("UserType", "[]", '["Member"]'),
                ],
            )
        ],
        (("UserType", "Member"),),
    )


def add_role(who: env.Person, role: str) -> DirectoryWrite:
    """A directory role assigned directly (active, outside PIM)."""
    changes = [
        entra._change("Role.ObjectID", None, json.dumps(env.stable_guid("role", role))),
        entra._change("Role.DisplayName", None, json.dumps(role)),
        entra._change("Role.TemplateId", None, json.dumps(ROLE_TEMPLATES[role])),
    ]
    if role == GLOBAL_ADMINISTRATOR:
        changes.append(entra._change("Role.WellKnownObjectName", None, '"TenantAdmins"'))
    return DirectoryWrite(
        "POST",
        "/v1.0/roleManagement/directory/roleAssignments",
        "Add member to role",
        "RoleManagement",
        "Assign",
        [person_target(who, changes)],
    )


def add_unit(name: str, restricted: bool, hidden: bool) -> DirectoryWrite:
    """A new administrative unit, with the settings that hide or lock its members."""
    changes = [entra._change("DisplayName", "[]", json.dumps([name]))]
    included = ["DisplayName"]
    if restricted:
        changes.append(entra._change("IsMemberManagementRestricted", "[]", "[true]"))
        included.append("IsMemberManagementRestricted")
    if hidden:
        changes.append(entra._change("Visibility", "[]", '["HiddenMembership"]'))
        included.append("Visibility")
    if len(included) > 1:
        changes.append(
            entra._change("Included Updated Properties", None, json.dumps(", ".join(included)))
        )
    return DirectoryWrite(
        "POST",
        "/v1.0/directory/administrativeUnits",
        "Add administrative unit",
        "AdministrativeUnit",
        "Add",
        [entra._target("AdministrativeUnit", unit_id(name), name, changes)],
    )


def unit_id(name: str) -> str:
    return env.stable_guid("au", name)


def add_unit_member(name: str, who: env.Person, restricted: bool) -> DirectoryWrite:
    operation = (
        "Add member to restricted management administrative unit"
        if restricted
        else "Add member to administrative unit"
    )
    return DirectoryWrite(
        "POST",
        f"/v1.0/directory/administrativeUnits/{unit_id(name)}/members/$ref",
        operation,
        "AdministrativeUnit",
        "Assign",
        [entra._target("AdministrativeUnit", unit_id(name), name), person_target(who)],
    )


def _policy_conditions(policy: str, excluded: list[str]) -> dict[str, Any]:
    users: dict[str, Any] = {"includeUsers": ["All"], "excludeUsers": excluded}
    if policy == MFA_POLICIES[1]:
        users = {
            "includeRoles": sorted(entra.ROLE_TEMPLATES.values()),
            "excludeUsers": excluded,
        }
    conditions: dict[str, Any] = {"users": users}
    if policy == DEVICE_POLICY:
        conditions["applications"] = {
            "includeApplications": [entra.RESOURCE_IDS[entra.ARM_RESOURCE]]
        }
    else:
        conditions["applications"] = {"includeApplications": ["All"]}
    return conditions


def exclude_from_policy(policy: str, before: list[str], added: list[str]) -> DirectoryWrite:
    """A Conditional Access policy's user exclusions extended by *added* object ids."""
    old = {
        "displayName": policy,
        "state": "enabled",
        "conditions": _policy_conditions(policy, before),
    }
    new = {**old, "conditions": _policy_conditions(policy, [*before, *added])}
    policy_id = env.stable_guid("ca-policy", policy)
    change = entra._change("ConditionalAccessPolicy", json.dumps(old), json.dumps(new))
    return DirectoryWrite(
        "PATCH",
        f"/v1.0/identity/conditionalAccess/policies/{policy_id}",
        "Update conditional access policy",
        "Policy",
        "Update",
        [entra._target("Policy", policy_id, policy, [change])],
        service="Conditional Access",
    )


def break_glass_ids() -> list[str]:
    return [env.stable_guid("user", alias) for alias in BREAK_GLASS]


def register_method(who: env.Person, method: str, lifetime: int = 60) -> DirectoryWrite:
    """An administrator registers an authentication method for *who*."""
    paths = {
        "tap": ("/v1.0", "temporaryAccessPassMethods", "Temporary Access Pass"),
        "phone": ("/v1.0", "phoneMethods", "Phone"),
        "fido": ("/beta", "fido2Methods", "FIDO2 Security Key"),
    }
    version, collection, name = paths[method]
    details: tuple[tuple[str, str], ...] = (("Method", name),)
    if method == "tap":
        details += (("LifetimeInMinutes", str(lifetime)),)
    return DirectoryWrite(
        "POST",
        f"{version}/users/{who.object_id}/authentication/{collection}",
        "Admin registered security info",
        "UserManagement",
        "Add",
        [person_target(who)],
        details,
        "Authentication Methods",
    )


#: How a planted or onboarded account's first sign-in shows its method (AuthenticationDetails).
_SIGNIN_METHODS = {
    "tap": (("Temporary Access Pass", "Primary authentication"),),
    "phone": (("Password", "Primary authentication"), ("Text message", "Secondary authentication")),
    "fido": (("FIDO2 security key", "Primary authentication"),),
}


def first_sign_in(
    a: Attack,
    who: env.Person,
    network: entra.Network,
    client: entra.Client,
    method: str,
    agent: str | None = None,
    device: tuple[str, str] | None = None,
) -> Row:
    """A new account's sign-in with the method just registered for it."""
    profile = unregistered(person_profile(a.ctx, who))
    row = sign_in(a, profile, network, Login(client, entra.GRAPH_RESOURCE, agent=agent))
    stamp = a.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    steps = [
        {
            "authenticationStepDateTime": stamp,
            "authenticationMethod": name,
            "succeeded": True,
            "authenticationStepResultDetail": "MFA successfully completed"
            if requirement.startswith("Secondary") or method != "phone"
            else "Correct password",
            "authenticationStepRequirement": requirement,
        }
        for name, requirement in _SIGNIN_METHODS[method]
    ]
    row["AuthenticationDetails"] = json.dumps(steps)
    row["Status"] = {"errorCode": 0}
    row["MfaDetail"] = {"authMethod": steps[-1]["authenticationMethod"], "authDetail": None}
    if device:
        row["DeviceDetail"].update({"operatingSystem": device[0], "browser": device[1]})
    return row


# --------------------------------------------------------------------------------------
# The intrusion
# --------------------------------------------------------------------------------------


@scenario(
    CAMPAIGN,
    "cloud",
    ("signin", "recon", "backdoor", "backdoor_signin", "backdoor_mfa"),
)
def au_backdoor(ctx: SimContext) -> Stages:
    """A hijacked administrator session plants a Global Administrator account, hides it in
    an administrative unit, exempts it from Conditional Access and gives it a method; the
    planted account then signs in from the same server and registers an authenticator."""
    instance = Instance(ctx, CAMPAIGN)
    plan = planted(ctx)
    record(instance, plan)
    victim = env.person(instance.pick("victim", HIJACKABLE))
    infra = plan.server
    instance.keep("ip", infra.ip)
    instance.keep("ip_place", infra.place.city)
    agent, os_name, browser = instance.pick("browser", BROWSERS)
    unit = instance.name_like("unit", _UNIT_FIRST, _UNIT_SECOND, joiner=" ")
    shelter = instance.pick("shelter", SHELTERS)
    instance.keep("method", plan.method)
    a = Attack(ctx, CAMPAIGN, plan.start)

    profile = unregistered(person_profile(ctx, victim))
    login = Login(
        entra.PORTAL,
        entra.GRAPH_RESOURCE,
        risk=instance.pick("risk", ("low", "medium")),
        risk_events=("unfamiliarFeatures",),
        agent=agent,
    )
    first = sign_in(a, profile, infra.network, login)
    first["DeviceDetail"].update({"operatingSystem": os_name, "browser": browser})
    a.add("signin", "SigninLogs", first)
    caller = user_caller(victim, entra.PORTAL.app_id, infra.ip, agent, token_of(first))
    reads = [_RECON[0], *instance.rng.sample(_RECON[1:], instance.between(2, 4))]
    for path in reads:
        a.wait(5, 40)
        a.add("recon", "MicrosoftGraphActivityLogs", graph_call(a, caller, "GET", path))

    by = user_by(victim, infra.ip)
    for write in _backdoor_writes(instance, plan, unit, shelter):
        a.wait(20, 90)
        directory_write(a, "backdoor", caller, by, agent, write)
    a.wait(240, 1200)
    _backdoor_first_use(a, instance, plan, infra, (agent, os_name, browser))
    return a.stages


def _backdoor_writes(
    instance: Instance, plan: Planted, unit: str, shelter: str
) -> list[DirectoryWrite]:
    """The backdoor's directory changes, in the order this intruder made them."""
    account = plan.account
    restricted = "restricted" in shelter
    create_unit = add_unit(unit, restricted, "hidden" in shelter)
    lifetime = instance.pick("pass_lifetime", (480, 1440, 2880, 4320))
    membership = add_unit_member(unit, account, restricted)
    steps: list[list[DirectoryWrite]] = [
        [add_role(account, GLOBAL_ADMINISTRATOR)],
        [membership],
        [exclude_from_policy(p, break_glass_ids(), [account.object_id]) for p in plan.policies],
        [register_method(account, plan.method, lifetime)],
    ]
    instance.rng.shuffle(steps)
    # The unit comes first, or right before the account is put into it.
    unit_first = instance.pick("unit_first", (True, False))
    writes = [create_unit] if unit_first else []
    writes.append(add_user(account))
    for step in steps:
        if not unit_first and step[0] is membership:
            writes.append(create_unit)
        writes.extend(step)
    return writes


def _backdoor_first_use(
    a: Attack,
    instance: Instance,
    plan: Planted,
    infra: Infra,
    browser: tuple[str, str, str],
) -> None:
    """The planted account signs in with its method (once or twice) and registers an
    authenticator app of its own."""
    agent, os_name, name = browser
    clients = {
        "tap": (entra.MY_SIGNINS, entra.PORTAL),
        "phone": (entra.MY_SIGNINS, entra.PORTAL),
        "fido": (entra.PORTAL, entra.MY_SIGNINS),
    }[plan.method]
    count = instance.between(1, 2)
    for client in clients[:count]:
        row = first_sign_in(
            a, plan.account, infra.network, client, plan.method, agent, (os_name, name)
        )
        a.add("backdoor_signin", "SigninLogs", row)
        a.wait(30, 200)
    by = user_by(plan.account, infra.ip)
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
                [person_target(plan.account)],
                correlation=correlation,
                service="Authentication Methods",
                op_type="Add" if "registered" in operation else "Update",
                details=[("Method", "Microsoft Authenticator App")],
            ),
        )


# --------------------------------------------------------------------------------------
# Look-alikes: administrators doing the same things in the office
# --------------------------------------------------------------------------------------

_FAMILIES = (
    "helpdesk_onboarding",
    "role_grants",
    "pim_activations",
    "tap_recovery",
    "breakglass_exclusions",
    "protected_units",
)

#: New hires and contractors the helpdesk creates by hand (hr-sync creates the others).
_HIRE_FIRST = ("noor", "ruben", "iris", "milan", "femke", "tariq", "hannah", "oscar", "zoe")
_HIRE_LAST = ("vanleeuwen", "kok", "jacobs", "vermeulen", "schouten", "maas", "willems", "okafor")
#: Delegated units new staff are put into (the support unit exists already).
_DELEGATED_UNITS = (
    entra.ADMIN_UNIT,
    "AU Support Boston",
    "AU Finance",
    "AU Sales EMEA",
    "AU Contractors",
)
#: Roles administrators give colleagues, and who grants them.
_COLLEAGUE_ROLES = (
    "Helpdesk Administrator",
    "Reports Reader",
    "Security Reader",
    "Global Reader",
    "License Administrator",
    "Groups Administrator",
    "User Administrator",
    "Authentication Administrator",
)
_GRANTORS = ("alice.smith", "raj.patel")
#: Restricted-management units that protect the tenant's most sensitive accounts.
_PROTECTED_UNITS = (
    "Emergency Access Accounts",
    "Protected Admin Accounts",
    "Tier 0 Identities",
    "Executive Accounts",
    "Privileged Access Workstations Users",
)


def _latest(ctx: SimContext) -> dt.datetime:
    """The latest a look-alike session may start: it lasts up to half an hour."""
    return ctx.end - LOOKALIKE_MARGIN - dt.timedelta(minutes=30)


def workday_sessions(
    fam: Family, aliases: tuple[str, ...], low: int, high: int
) -> Iterator[entra.Presence]:
    """Between *low* and *high* admin-center sessions of one of *aliases* on each
    working day, the clock set to a moment of the person's working span."""
    for day in fam.ctx.day_range():
        if fam.ctx.is_weekend(day):
            continue
        present = entra._day_plan(fam.ctx, day).present
        for _ in range(fam.rng.randint(low, high)):
            alias = fam.rng.choice(aliases)
            if alias not in present:
                continue
            presence = present[alias]
            fam.at(min(presence.moment(fam.rng), _latest(fam.ctx)))
            yield presence


def portal_session(
    a: Attack, stage: str, presence: entra.Presence
) -> tuple[graph.Caller, tuple[dict[str, Any], str], str]:
    """An administrator's Azure Portal sign-in from the day's network and managed device;
    returns the Graph caller of its token, the audit initiator and the browser agent."""
    who = presence.profile.person
    row = sign_in(a, presence.profile, presence.network, Login(entra.PORTAL, entra.GRAPH_RESOURCE))
    a.add(stage, "SigninLogs", row)
    agent = str(row["UserAgent"])
    ip = presence.network.ip
    caller = user_caller(who, entra.PORTAL.app_id, ip, agent, token_of(row))
    caller = replace(caller, region="East US" if who.country == "US" else "West Europe")
    a.wait(20, 120)
    return caller, user_by(who, ip), agent


def _office(country: str) -> entra.Network:
    return entra.Network(
        env.OFFICE_IPS[country],
        entra.OFFICE_ASNS[country],
        entra.OFFICE_PLACES[country],
        "office",
        entra.OFFICE_NETWORK_NAMES[country],
    )


def _new_hire(fam: Family) -> env.Person:
    first, last = fam.rng.choice(_HIRE_FIRST), fam.rng.choice(_HIRE_LAST)
    alias = f"{first}.{last}" if fam.rng.random() < 0.6 else f"ext.{first}.{last}"
    return env.Person(
        upn=f"{alias}@{env.DOMAIN}",
        display_name=f"{first.title()} {last.title()}",
        object_id=env.stable_guid("user", alias),
        country=fam.rng.choice(("NL", "NL", "US")),
        department=fam.rng.choice(("Support", "Sales", "Finance", "Operations")),
    )


def _staff(fam: Family, present: dict[str, entra.Presence]) -> entra.Presence | None:
    """A non-admin colleague at work in an office that day."""
    candidates = [
        p
        for alias, p in sorted(present.items())
        if not p.profile.person.is_admin and p.network.kind == "office"
    ]
    return fam.rng.choice(candidates) if candidates else None


def _helpdesk_onboarding(ctx: SimContext) -> Family:
    """The helpdesk creates accounts for new hires and contractors, puts them in a
    delegated unit, often issues a Temporary Access Pass; the new hire signs in with it
    at the office and registers an authenticator."""
    fam = Family(ctx, CAMPAIGN, "helpdesk_onboarding")
    for presence in workday_sessions(fam, ("sofia.jansen", "sofia.jansen", "alice.smith"), 1, 3):
        caller, by, agent = portal_session(fam, fam.name, presence)
        hire = _new_hire(fam)
        unit = fam.rng.choice(_DELEGATED_UNITS)
        writes = [add_user(hire), add_unit_member(unit, hire, False)]
        tap = fam.rng.random() < 0.75
        if tap:
            writes.append(register_method(hire, "tap", fam.rng.choice((60, 480, 1440))))
        for write in writes:
            directory_write(fam, fam.name, caller, by, agent, write)
            fam.wait(20, 120)
        if tap:
            fam.wait(300, 1500)
            row = first_sign_in(fam, hire, _office(hire.country), entra.MY_SIGNINS, "tap")
            fam.add(fam.name, "SigninLogs", row)
            _user_registers(fam, hire, _office(hire.country).ip)
    return fam


def _user_registers(fam: Family, who: env.Person, ip: str) -> None:
    by = user_by(who, ip)
    correlation = fam.guid()
    method = fam.rng.choice(("Microsoft Authenticator App", "Microsoft Authenticator App", "Phone"))
    for delay, operation in (
        (40, "User registered security info"),
        (20, "User changed default security info"),
    ):
        fam.wait(delay, delay * 3)
        fam.add(
            fam.name,
            "AuditLogs",
            audit(
                fam,
                by,
                operation,
                "UserManagement",
                [person_target(who)],
                correlation=correlation,
                service="Authentication Methods",
                op_type="Add" if "registered" in operation else "Update",
                details=[("Method", method)],
            ),
        )


def _role_grants(ctx: SimContext) -> Family:
    """Administrators give colleagues a directory role, now and then scoped to a unit,
    some to a colleague they have just created an account for."""
    fam = Family(ctx, CAMPAIGN, "role_grants")
    for presence in workday_sessions(fam, _GRANTORS, 1, 2):
        present = entra._day_plan(ctx, (presence.start - ctx.start).days).present
        caller, by, agent = portal_session(fam, fam.name, presence)
        roll = fam.rng.random()
        if roll < 0.3:
            # A new IT colleague: an account and a role straight away.
            hire = _new_hire(fam)
            hire = replace(hire, department="Engineering")
            writes = [add_user(hire), add_role(hire, fam.rng.choice(_COLLEAGUE_ROLES[:3]))]
        else:
            colleague = _staff(fam, present) or presence
            who = colleague.profile.person
            role = fam.rng.choice(_COLLEAGUE_ROLES)
            writes = [add_role(who, role)]
            if roll > 0.8:
                writes = [_scoped_role(who, role, fam.rng.choice(_DELEGATED_UNITS))]
        for write in writes:
            directory_write(fam, fam.name, caller, by, agent, write)
            fam.wait(20, 90)
    return fam


def _scoped_role(who: env.Person, role: str, unit: str) -> DirectoryWrite:
    role_target = entra._target(
        "Role",
        env.stable_guid("role", role),
        role,
        [
            entra._change("Role.DisplayName", None, json.dumps(role)),
            entra._change("Role.TemplateId", None, json.dumps(ROLE_TEMPLATES[role])),
        ],
    )
    return DirectoryWrite(
        "POST",
        f"/v1.0/directory/administrativeUnits/{unit_id(unit)}/scopedRoleMembers",
        "Add scoped member to role",
        "RoleManagement",
        "Assign",
        [
            role_target,
            person_target(who),
            entra._target("AdministrativeUnit", unit_id(unit), unit),
        ],
    )


def _pim_activations(ctx: SimContext) -> Family:
    """Administrators activate an eligible directory role through PIM: the request from
    the portal, PIM's completion under the same correlation id."""
    fam = Family(ctx, CAMPAIGN, "pim_activations")
    for presence in workday_sessions(fam, (*HIJACKABLE, "dmitri.ivanov"), 2, 4):
        who = presence.profile.person
        caller, by, agent = portal_session(fam, fam.name, presence)
        role = fam.rng.choice(who.admin_roles)
        hours = fam.rng.choice((1, 2, 4, 8))
        request = graph_call(
            fam,
            caller,
            "POST",
            "/v1.0/roleManagement/directory/roleAssignmentScheduleRequests",
            (201, fam.rng.randint(900, 2_000)),
        )
        fam.add(fam.name, "MicrosoftGraphActivityLogs", request)
        start = fam.now.strftime("%Y-%m-%dT%H:%M:%SZ")
        end = (fam.now + dt.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
        details = [
            ("RoleDefinitionOriginId", ROLE_TEMPLATES[role]),
            ("StartTime", start),
            ("ExpirationTime", end),
            ("Justification", fam.rng.choice(entra.PIM_REASONS)),
        ]
        role_target = entra._target(
            "Role",
            env.stable_guid("role", role),
            role,
            [
                entra._change("Role.DisplayName", None, json.dumps(role)),
                entra._change("Role.TemplateId", None, json.dumps(ROLE_TEMPLATES[role])),
            ],
        )
        correlation = request["ClientRequestId"]
        for operation, initiator, op_type in (
            ("Add member to role requested (PIM activation)", by, "CreateRequest"),
            (
                "Add member to role completed (PIM activation)",
                (entra._app_initiator("MS-PIM"), "MS-PIM"),
                "Assign",
            ),
        ):
            fam.wait(0.3, 4)
            fam.add(
                fam.name,
                "AuditLogs",
                audit(
                    fam,
                    initiator,
                    operation,
                    "RoleManagement",
                    [role_target, person_target(who)],
                    correlation=correlation,
                    service="PIM",
                    op_type=op_type,
                    details=[*details, ("User-Agent", agent)],
                ),
            )
    return fam


def _tap_recovery(ctx: SimContext) -> Family:
    """Someone lost their phone: the helpdesk issues a one-hour Temporary Access Pass at
    the desk, the person signs in with it and registers the new phone."""
    fam = Family(ctx, CAMPAIGN, "tap_recovery")
    for presence in workday_sessions(fam, ("sofia.jansen", "liam.devries"), 1, 2):
        day = (presence.start - ctx.start).days
        colleague = _staff(fam, entra._day_plan(ctx, day).present)
        if colleague is None:
            continue
        caller, by, agent = portal_session(fam, fam.name, presence)
        who = colleague.profile.person
        directory_write(
            fam, fam.name, caller, by, agent, register_method(who, "tap", fam.rng.choice((60, 120)))
        )
        fam.wait(120, 900)
        row = first_sign_in(fam, who, colleague.network, entra.MY_SIGNINS, "tap")
        fam.add(fam.name, "SigninLogs", row)
        _user_registers(fam, who, colleague.network.ip)
    return fam


def _breakglass_exclusions(ctx: SimContext) -> Family:
    """The identity team keeps the break-glass accounts (and now and then a service
    account under migration) excluded from Conditional Access policies."""
    fam = Family(ctx, CAMPAIGN, "breakglass_exclusions")
    policies = [name for name, _ in entra.CA_POLICIES]
    for presence in workday_sessions(fam, ("liam.devries", "liam.devries", "alice.smith"), 1, 2):
        caller, by, agent = portal_session(fam, fam.name, presence)
        for policy in fam.rng.sample(policies, fam.rng.randint(1, 2)):
            accounts = fam.rng.sample(BREAK_GLASS, fam.rng.randint(1, len(BREAK_GLASS)))
            ids = [env.stable_guid("user", alias) for alias in accounts]
            before = [i for i in break_glass_ids() if i not in ids]
            directory_write(
                fam, fam.name, caller, by, agent, exclude_from_policy(policy, before, ids)
            )
            fam.wait(30, 180)
    return fam


def _break_glass_person(alias: str) -> env.Person:
    return env.Person(
        upn=f"{alias}@{env.DOMAIN}",
        display_name=alias.replace("-", " ").title(),
        object_id=env.stable_guid("user", alias),
        country="NL",
        department="Engineering",
        admin_roles=(GLOBAL_ADMINISTRATOR,),
    )


def _protected_units(ctx: SimContext) -> Family:
    """Administrators lock the break-glass and admin accounts into restricted-management
    (sometimes hidden) units so that a compromised tenant-wide admin cannot touch them."""
    fam = Family(ctx, CAMPAIGN, "protected_units")
    for presence in workday_sessions(fam, ("alice.smith", "raj.patel"), 1, 1):
        caller, by, agent = portal_session(fam, fam.name, presence)
        unit = fam.rng.choice(_PROTECTED_UNITS)
        hidden = fam.rng.random() < 0.3
        create = fam.rng.random() < 0.6
        writes = [add_unit(unit, True, hidden)] if create else []
        members = [_break_glass_person(a) for a in fam.rng.sample(BREAK_GLASS, 2)]
        members += [env.person(a) for a in fam.rng.sample(HIJACKABLE, fam.rng.randint(0, 2))]
        writes += [add_unit_member(unit, m, True) for m in members]
        for write in writes:
            directory_write(fam, fam.name, caller, by, agent, write)
            fam.wait(15, 90)
    return fam


@lookalikes(CAMPAIGN, _FAMILIES)
def au_backdoor_lookalikes(ctx: SimContext) -> Stages:
    out: Stages = {}
    for make in (
        _helpdesk_onboarding,
        _role_grants,
        _pim_activations,
        _tap_recovery,
        _breakglass_exclusions,
        _protected_units,
    ):
        out.update(make(ctx).stages)
    return out
