"""Benign Entra ID activity: interactive sign-ins, service-principal sign-ins and the
directory audit log.

The module also plans each day for the Graph and Office generators (who works, from
which network and IP, which tokens their sign-ins issued, which directory changes
admins and apps made), so the three modules agree on identities, IPs and token ids.
The near-misses of the cloud attacks are all here and legitimate: helpdesk password
resets and MFA re-registrations, a client secret rotated on ci-deployer (and the new
key used from its usual IP), an administrative unit with a scoped helpdesk role, PIM
activations, an app role granted to siem-connector, an admin's first consent to Graph
PowerShell, device-code sign-ins on conference-room devices and CA blocks.
"""

from __future__ import annotations

import base64
import bisect
import datetime as dt
import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from pytest_ctirealm.telemetry.context import SimContext, guid
from pytest_ctirealm.telemetry.environment import (
    AZURE_CLI,
    AZURE_PORTAL,
    AZURE_POWERSHELL,
    DOMAIN,
    OFFICE_IPS,
    PEOPLE,
    TEAMS,
    TENANT_ID,
    VPN_IP,
    App,
    Person,
    application,
    person,
    stable_guid,
    stable_hex,
)

Row = dict[str, Any]
#: Name-derived GUIDs are asked for again and again (policies, resources, groups): memoised.
_named_guid = cache(stable_guid)
MINUTE = dt.timedelta(minutes=1)
DAY = dt.timedelta(days=1)
AADIAM = "Microsoft.aadiam"
AADIAM_ID = f"/tenants/{TENANT_ID}/providers/Microsoft.aadiam"

#: Resource applications users and apps request tokens for: (display name, app id).
RESOURCES: tuple[tuple[str, str], ...] = (
    ("Microsoft Graph", "00000003-0000-0000-c000-000000000000"),
    ("Office 365 Exchange Online", "00000002-0000-0ff1-ce00-000000000000"),
    ("Office 365 SharePoint Online", "00000003-0000-0ff1-ce00-000000000000"),
    ("Windows Azure Service Management API", "797f4846-ba00-4fd7-ba43-dac1f8f63013"),
    ("Microsoft Teams Services", "cc15fd57-2c6c-4117-a88c-83b1d56b4bbe"),
    ("Windows Azure Active Directory", "00000002-0000-0000-c000-000000000000"),
    ("Azure Kubernetes Service AAD Server", "6dae42f8-4368-4678-94ff-3960e28e3630"),
    ("OfficeHome", "4765445b-32c6-49b0-83e6-1d93765276ca"),
    ("Azure Key Vault", "cfa8b339-82a2-471a-a3c9-0fc0be7a4093"),
    ("Azure Storage", "e406a681-f3d4-42a8-90b6-c2b029497af1"),
    ("Azure SQL Database", "022907d3-0f1b-48f7-badc-1ba6abab6d66"),
)
RESOURCE_IDS = dict(RESOURCES)
GRAPH_RESOURCE = "Microsoft Graph"
ARM_RESOURCE = "Windows Azure Service Management API"


@dataclass(frozen=True)
class Client:
    """A client application people sign in to, and the resources it asks tokens for."""

    name: str
    app_id: str
    kind: str  # "browser", "desktop" or "mobile"
    resources: tuple[tuple[str, int], ...]

    @property
    def client_app_used(self) -> str:
        return "Browser" if self.kind == "browser" else "Mobile Apps and Desktop clients"


TEAMS_CLIENT = Client(
    TEAMS.name, TEAMS.app_id, "desktop", (("Microsoft Teams Services", 3), (GRAPH_RESOURCE, 2))
)
OFFICE_CLIENT = Client(
    "Microsoft Office",
    "d3590ed6-52b3-4102-aeff-aad2292ab01c",
    "desktop",
    (("Office 365 Exchange Online", 3), ("Office 365 SharePoint Online", 2), (GRAPH_RESOURCE, 1)),
)
OFFICE_HOME = Client(
    "OfficeHome",
    "4765445b-32c6-49b0-83e6-1d93765276ca",
    "browser",
    (("OfficeHome", 2), (GRAPH_RESOURCE, 1)),
)
OUTLOOK_WEB = Client(
    "One Outlook Web",
    "9199bf20-a13f-4107-85dc-02114787ef48",
    "browser",
    (("Office 365 Exchange Online", 1),),
)
OUTLOOK_MOBILE = Client(
    "Outlook Mobile",
    "27922004-5251-4030-b22d-91ecd9a37ea4",
    "mobile",
    (("Office 365 Exchange Online", 3), (GRAPH_RESOURCE, 1)),
)
BROKER = Client(
    "Microsoft Authentication Broker",
    "29d9ed98-a469-4536-ade2-f981bc1d605e",
    "desktop",
    (("Windows Azure Active Directory", 2), (GRAPH_RESOURCE, 1)),
)
EDGE = Client(
    "Microsoft Edge", "ecd6b820-32c2-49b6-98a6-444530e5a77a", "desktop", ((GRAPH_RESOURCE, 1),)
)
MY_APPS = Client(
    "My Apps", "2793995e-0a7d-40d7-bd35-6968ba142197", "browser", ((GRAPH_RESOURCE, 1),)
)
MY_SIGNINS = Client(
    "My Signins", "19db86c3-b2b9-44cc-b339-36da233a3be2", "browser", ((GRAPH_RESOURCE, 1),)
)
PORTAL = Client(
    AZURE_PORTAL.name, AZURE_PORTAL.app_id, "browser", ((ARM_RESOURCE, 3), (GRAPH_RESOURCE, 1))
)
CLI = Client(AZURE_CLI.name, AZURE_CLI.app_id, "desktop", ((ARM_RESOURCE, 3), (GRAPH_RESOURCE, 1)))
POWERSHELL = Client(AZURE_POWERSHELL.name, AZURE_POWERSHELL.app_id, "desktop", ((ARM_RESOURCE, 1),))
VSCODE = Client(
    "Visual Studio Code",
    "aebc6443-996d-45c2-90f0-388ff96faa56",
    "desktop",
    ((ARM_RESOURCE, 1), (GRAPH_RESOURCE, 1)),
)
KUBELOGIN = Client(
    "Azure Kubernetes Service AAD Client",
    "80faf920-1908-4b52-b5ef-a8e7bedfc67a",
    "desktop",
    (("Azure Kubernetes Service AAD Server", 1),),
)
GRAPH_CLI = Client(
    "Microsoft Graph Command Line Tools",
    "14d82eec-204b-4c2f-b7e8-296a70dab67e",
    "desktop",
    ((GRAPH_RESOURCE, 1),),
)

#: Which clients people sign in to, by weight; engineers and admins add Azure tools.
EVERYONE_CLIENTS: tuple[tuple[Client, int], ...] = (
    (TEAMS_CLIENT, 22),
    (OFFICE_HOME, 20),
    (OUTLOOK_WEB, 18),
    (OFFICE_CLIENT, 14),
    (OUTLOOK_MOBILE, 12),
    (MY_APPS, 6),
    (BROKER, 5),
    (EDGE, 5),
    (MY_SIGNINS, 1),
)
ENGINEER_CLIENTS: tuple[tuple[Client, int], ...] = (
    (PORTAL, 7),
    (CLI, 4),
    (VSCODE, 3),
    (KUBELOGIN, 3),
)
ADMIN_CLIENTS: tuple[tuple[Client, int], ...] = ((PORTAL, 5), (POWERSHELL, 2))


@dataclass(frozen=True)
class Place:
    """Where an IP geolocates: what LocationDetails says."""

    city: str
    state: str
    country: str
    latitude: float
    longitude: float

    def details(self) -> dict[str, Any]:
        return {
            "city": self.city,
            "state": self.state,
            "countryOrRegion": self.country,
            "geoCoordinates": {"latitude": self.latitude, "longitude": self.longitude},
        }


OFFICE_PLACES = {
    "NL": Place("Amsterdam", "Noord-Holland", "NL", 52.3676, 4.9041),
    "US": Place("Boston", "Massachusetts", "US", 42.3601, -71.0589),
}
OFFICE_ASNS = {"NL": "1136", "US": "7018"}
OFFICE_NETWORK_NAMES = {"NL": "Contoso Amsterdam office", "US": "Contoso Boston office"}
#: Where remote workers live, per country.
HOME_PLACES: dict[str, tuple[Place, ...]] = {
    "NL": (
        Place("Utrecht", "Utrecht", "NL", 52.0907, 5.1214),
        Place("Rotterdam", "Zuid-Holland", "NL", 51.9244, 4.4777),
        Place("Eindhoven", "Noord-Brabant", "NL", 51.4416, 5.4697),
        Place("Haarlem", "Noord-Holland", "NL", 52.3874, 4.6462),
    ),
    "US": (
        Place("Denver", "Colorado", "US", 39.7392, -104.9903),
        Place("Austin", "Texas", "US", 30.2672, -97.7431),
        Place("Chicago", "Illinois", "US", 41.8781, -87.6298),
        Place("Portland", "Oregon", "US", 45.5152, -122.6784),
    ),
}
#: Residential ISPs per country: (ASN, first octet, second octet range).
HOME_ISPS: dict[str, tuple[tuple[str, int, int, int], ...]] = {
    "NL": (("1136", 77, 160, 175), ("33915", 84, 24, 31)),
    "US": (("7922", 73, 0, 255), ("701", 71, 160, 191)),
}
#: Business trips: the city and the hotel's ISP (ASN, first octet, second octet range).
TRIPS: tuple[tuple[Place, tuple[str, int, int, int]], ...] = (
    (Place("London", "England", "GB", 51.5072, -0.1276), ("2856", 81, 128, 159)),
    (Place("Berlin", "Berlin", "DE", 52.52, 13.405), ("3320", 91, 0, 63)),
    (Place("Barcelona", "Catalonia", "ES", 41.3874, 2.1686), ("3352", 83, 32, 63)),
)
#: Conference-room devices that sign in with the device code flow, per office country.
ROOM_DEVICES: dict[str, tuple[str, ...]] = {
    "NL": ("MTR-AMS-Boardroom", "MTR-AMS-4.12", "MTR-AMS-2.03"),
    "US": ("MTR-BOS-Harbor", "MTR-BOS-3.01"),
}

#: Directory role template ids (public, the same in every tenant).
ROLE_TEMPLATES = {
    "Global Administrator": "62e90394-69f5-4237-9190-012177145e10",
    "Privileged Role Administrator": "e8611ab8-c189-46e8-94e1-60213ab1f814",
    "Application Administrator": "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
    "Cloud Application Administrator": "158c047a-c907-4556-b7ef-446551a6b5f7",
    "User Administrator": "fe930be7-5e62-47db-91af-98c3a49a38b1",
    "Helpdesk Administrator": "729827e3-9c14-49f7-bb1b-9608f156bbb8",
    "Security Administrator": "194ae4cb-b126-40b2-bd5b-6091b380977d",
}
DEFAULT_USER_ROLE = "b79fbf4d-3ef9-4689-8143-76b194e85509"

#: Conditional Access policies: (name, grant control). Ids are stable per name.
CA_POLICIES: tuple[tuple[str, str], ...] = (
    ("CA001 Require MFA for all users", "Mfa"),
    ("CA002 Require MFA for admins", "Mfa"),
    ("CA003 Block legacy authentication", "Block"),
    ("CA004 Require compliant device for Azure management", "RequireCompliantDevice"),
)

#: Sign-in error codes a person hits and retries: (code, weight).
RETRIED_ERRORS: tuple[tuple[str, int], ...] = (
    ("50126", 15),
    ("16000", 10),
    ("50199", 5),
    ("500121", 3),
    ("70043", 3),
    ("50125", 1),
)
ERROR_TEXT = {
    "50126": "Error validating credentials due to invalid username or password.",
    "50074": "Strong Authentication is required.",
    "50140": "This error occurred due to 'Keep me signed in' interrupt when the user was "
    "signing in.",
    "16000": "Either multiple user identities are available for the current request or "
    "selected account is not supported for the scenario.",
    "50199": "For security reasons, user confirmation is required for this request.",
    "500121": "Authentication failed during strong authentication request.",
    "70043": "The refresh token has expired or is invalid due to sign-in frequency checks by "
    "conditional access.",
    "50125": "Sign-in was interrupted due to a password reset or password registration entry.",
    "50079": "Due to a configuration change made by your administrator, or because you moved "
    "to a new location, you must enroll in multi-factor authentication.",
    "53003": "Access has been blocked by Conditional Access policies. The access policy does "
    "not allow token issuance.",
    "65001": "The user or administrator has not consented to use the application.",
    "7000215": "Invalid client secret provided. Ensure the secret being sent in the request "
    "is the client secret value, not the client secret ID.",
}

#: Microsoft services that appear as initiators in the audit log: (name, app id).
SYSTEM_APPS: dict[str, str] = {
    "Microsoft Substrate Management": "98db8bd6-0cc0-4e67-9de5-f187f1cd1b41",
    "MS-PIM": "01fc33a7-78ba-4d2f-a4b7-768e336e890e",
    "Microsoft Intune": "0000000a-0000-0000-c000-000000000000",
    "Device Registration Service": "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9",
}
GROUPS: tuple[str, ...] = (
    "All Employees",
    "Engineering",
    "Sales",
    "Finance",
    "Operations",
    "HR",
    "Support",
    "Marketing",
    "VPN Users",
    "M365 E5 Licensed",
    "SG-App-contoso-web-Users",
)
HR_PROPERTIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("JobTitle", ("Analyst", "Senior Analyst", "Consultant", "Team Lead", "Specialist")),
    ("Department", ("Sales", "Finance", "Operations", "Support", "Marketing", "HR")),
    ("TelephoneNumber", ("+31 20 555 0142", "+31 20 555 0187", "+1 617 555 0134")),
    ("PhysicalDeliveryOfficeName", ("Amsterdam", "Boston", "Remote")),
    ("Mobile", ("+31 6 5550 1234", "+31 6 5550 9876", "+1 617 555 0199")),
)
NEW_HIRES: tuple[str, ...] = (
    "nina.vandam",
    "tom.kuipers",
    "sara.ahmed",
    "ben.oconnor",
    "ivy.lin",
    "kees.prins",
)
GUEST_PARTNERS: tuple[str, ...] = ("j.doe@fabrikam.com", "m.rossi@adatum.com", "k.ito@litware.com")
PIM_REASONS: tuple[str, ...] = (
    "CHG-2041 monthly access review",
    "INC-5512 user cannot sign in",
    "Register new app for the data team",
    "Review sign-in logs for ticket SEC-311",
    "Update CA policy exclusions per CHG-2057",
)
ADMIN_UNIT = "AU Support Netherlands"
#: What liam.devries consents to when he first runs Microsoft Graph PowerShell.
GRAPH_CLI_SCOPES = "AuditLog.Read.All Directory.Read.All Group.Read.All User.Read.All"

#: One-off legitimate changes: name -> (day, earliest and latest UTC hour, actor alias).
ONE_OFFS: dict[str, tuple[int, float, float, str]] = {
    "rotate_app_secret": (0, 9.0, 11.0, "raj.patel"),
    "admin_unit": (0, 12.5, 14.5, "alice.smith"),
    "consent": (1, 8.5, 10.0, "liam.devries"),
    "app_role_grant": (1, 10.0, 11.5, "raj.patel"),
    "add_sp_credential": (1, 12.0, 14.0, "dmitri.ivanov"),
    "ca_update": (1, 13.0, 14.5, "liam.devries"),
}


# --------------------------------------------------------------------------------------
# People: devices, networks, presence
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """What stays the same about a person for a whole simulation: devices and home."""

    person: Person
    os: str
    browser: str
    device_id: str
    device_name: str
    trust_type: str
    managed: bool
    mobile_os: str
    mobile_id: str
    remote: bool
    home: Place
    isp: tuple[str, int, int, int]
    engineer: bool

    @property
    def alias(self) -> str:
        return self.person.upn.split("@")[0]


@dataclass(frozen=True)
class Network:
    """Where a person works from on a day."""

    ip: str
    asn: str
    place: Place
    kind: str  # "office", "vpn", "home" or "travel"
    name: str = ""


@dataclass(frozen=True)
class Presence:
    """A person's working day: network and the span in which they are active."""

    profile: Profile
    network: Network
    start: dt.datetime
    end: dt.datetime

    def moment(self, rng: random.Random) -> dt.datetime:
        """A random instant of the working span."""
        span = (self.end - self.start).total_seconds()
        return self.start + dt.timedelta(seconds=rng.uniform(0, span))


@lru_cache(maxsize=64)
def _profiles(seed: int) -> tuple[Profile, ...]:
    """Every person's devices and home, fixed per seed."""
    rng = SimContext(seed).rng("entra", "profiles")
    out = []
    for index, who in enumerate(PEOPLE):
        engineer = who.department == "Engineering"
        roll = rng.random()
        os = "Windows10" if roll < 0.79 else "MacOs" if roll < 0.85 or not engineer else "Linux"
        corporate = os == "Windows10" and rng.random() < 0.9
        name = who.upn.split("@")[0]
        first = name.split(".")[0].title()
        device_name = {
            "Windows10": f"CTS{who.country}-LT{rng.randrange(1000, 9999)}",
            "MacOs": f"{first}'s MacBook Pro",
            "Linux": f"{name.split('.')[0]}-ubuntu",
        }[os]
        managed = corporate or engineer or (os == "MacOs" and rng.random() < 0.7)
        trust = "Azure AD joined" if corporate else "Azure AD registered" if managed else ""
        browser = (
            "Safari" if os == "MacOs" and rng.random() < 0.5 else rng.choice(("Edge", "Chrome"))
        )
        mobile_os = "" if rng.random() < 0.25 else rng.choice(("Ios", "Ios", "Android"))
        out.append(
            Profile(
                person=who,
                os=os,
                browser=browser,
                device_id=_named_guid("device", name),
                device_name=device_name,
                trust_type=trust,
                managed=managed,
                mobile_os=mobile_os,
                mobile_id=_named_guid("mobile", name) if mobile_os else "",
                remote=not who.is_admin and index % 12 == 7,
                home=rng.choice(HOME_PLACES[who.country]),
                isp=rng.choice(HOME_ISPS[who.country]),
                engineer=engineer,
            )
        )
    return tuple(out)


def _profile_of(seed: int, alias: str) -> Profile:
    for candidate in _profiles(seed):
        if candidate.alias == alias:
            return candidate
    raise KeyError(alias)


def _ip(rng: random.Random, isp: tuple[str, int, int, int]) -> str:
    _, first, low, high = isp
    return f"{first}.{rng.randint(low, high)}.{rng.randint(0, 255)}.{rng.randint(2, 254)}"


def _network(ctx: SimContext, rng: random.Random, profile: Profile, day: int) -> Network:
    """Office, VPN or home for the day; a remote worker's home IP changes weekly."""
    country = profile.person.country
    home_rng = ctx.rng("entra", "home-ip", profile.alias, day // 7)
    home = Network(_ip(home_rng, profile.isp), profile.isp[0], profile.home, "home")
    if profile.remote:
        return home
    if ctx.is_weekend(day):
        return home if rng.random() < 0.5 else _vpn()
    if rng.random() < 0.15:
        return _vpn()
    return Network(
        OFFICE_IPS[country],
        OFFICE_ASNS[country],
        OFFICE_PLACES[country],
        "office",
        OFFICE_NETWORK_NAMES[country],
    )


def _vpn() -> Network:
    return Network(VPN_IP, OFFICE_ASNS["NL"], OFFICE_PLACES["NL"], "vpn", "Contoso VPN")


def _trip(rng: random.Random) -> Network:
    """A business trip: a hotel network abroad, or the other office."""
    if rng.random() < 0.3:
        return Network(
            OFFICE_IPS["US"],
            OFFICE_ASNS["US"],
            OFFICE_PLACES["US"],
            "office",
            OFFICE_NETWORK_NAMES["US"],
        )
    place, isp = rng.choice(TRIPS)
    return Network(_ip(rng, isp), isp[0], place, "travel")


def _span(
    ctx: SimContext, rng: random.Random, day: int, profile: Profile, network: Network
) -> tuple[dt.datetime, dt.datetime]:
    """Working hours in UTC: Europe from ~07:00, the US office from ~13:00."""
    base = 13.0 if network.place.country == "US" else 6.5
    if ctx.is_weekend(day):
        start, length = base + rng.uniform(1, 8), rng.uniform(0.5, 3)
    elif profile.person.is_admin:
        start, length = base + rng.uniform(0, 1.5), rng.uniform(8.5, 10)
    else:
        start, length = base + rng.uniform(0, 2.5), rng.uniform(7.5, 9.5)
    begin = ctx.day_start(day) + dt.timedelta(hours=start)
    end = min(begin + dt.timedelta(hours=length), ctx.day_start(day) + DAY - MINUTE)
    return begin, end


def _presences(ctx: SimContext, day: int) -> dict[str, Presence]:
    """Who works on *day*, from where, by alias (admins always work on weekdays)."""
    rng = ctx.rng("entra", "presence", day)
    weekend = ctx.is_weekend(day)
    out = {}
    for profile in _profiles(ctx.seed):
        chance = 0.25 if weekend else 1.0 if profile.person.is_admin else 0.92
        if rng.random() >= chance:
            continue
        network = _network(ctx, rng, profile, day)
        start, end = _span(ctx, rng, day, profile, network)
        out[profile.alias] = Presence(profile, network, start, end)
    travellers = [a for a, p in out.items() if not (p.profile.remote or p.profile.person.is_admin)]
    if not weekend and travellers and rng.random() < 0.35:
        profile = out[rng.choice(travellers)].profile
        network = _trip(rng)
        start, end = _span(ctx, rng, day, profile, network)
        out[profile.alias] = Presence(profile, network, start, end)
    return out


# --------------------------------------------------------------------------------------
# Directory changes (actions) and one-offs
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """A directory change: AuditLogs rows, and for some kinds Graph calls."""

    time: dt.datetime
    kind: str
    actor: str  # a person's alias, or an application's name
    target: str  # alias, application, group, device, role, policy: depends on kind
    detail: str = ""
    correlation: str = ""


def _one_off_time(ctx: SimContext, name: str) -> dt.datetime | None:
    """When a one-off change happens, or None when its day is outside the window."""
    day, earliest, latest, _ = ONE_OFFS[name]
    if day >= ctx.days:
        return None
    rng = ctx.rng("entra", "one-off", name)
    hours = rng.uniform(earliest, latest)
    return ctx.day_start(day) + dt.timedelta(hours=hours)


def _rotated_key(ctx: SimContext, name: str) -> str:
    """The id of the credential a one-off rotation adds."""
    return guid(ctx.rng("entra", "one-off", name, "key"))


def _one_offs(ctx: SimContext, day: int) -> list[Action]:
    """The one-off admin changes that fall on *day*."""
    actions = []
    for name, (when, _, _, actor) in ONE_OFFS.items():
        moment = _one_off_time(ctx, name)
        if when != day or moment is None:
            continue
        corr = guid(ctx.rng("entra", "one-off", name, "corr"))
        actions.extend(_expand_one_off(ctx, name, moment, actor, corr))
    return actions


def _expand_one_off(
    ctx: SimContext, name: str, moment: dt.datetime, actor: str, corr: str
) -> list[Action]:
    """A one-off as the actions it is made of."""
    if name == "rotate_app_secret":
        return [Action(moment, name, actor, "ci-deployer", _rotated_key(ctx, name), corr)]
    if name == "add_sp_credential":
        return [Action(moment, name, actor, "intune-reporting", _rotated_key(ctx, name), corr)]
    if name == "app_role_grant":
        return [Action(moment, name, actor, "siem-connector", "IdentityRiskyUser.Read.All", corr)]
    if name == "consent":
        return [Action(moment, name, actor, GRAPH_CLI.name, GRAPH_CLI_SCOPES, corr)]
    if name == "ca_update":
        return [Action(moment, name, actor, CA_POLICIES[0][0], "VPN Users", corr)]
    return _admin_unit(ctx, moment, actor, corr)


def _admin_unit(ctx: SimContext, moment: dt.datetime, actor: str, corr: str) -> list[Action]:
    """Create an administrative unit for the Dutch support team, add members, scope a role."""
    rng = ctx.rng("entra", "one-off", "admin_unit", "members")
    support = [p for p in PEOPLE if p.department == "Support" and p.country == "NL"]
    members = rng.sample(support, min(4, len(support)))
    actions = [Action(moment, "au_create", actor, ADMIN_UNIT, "", corr)]
    for step, member in enumerate(members, start=1):
        actions.append(
            Action(
                moment + step * 40 * dt.timedelta(seconds=1),
                "au_member",
                actor,
                member.upn.split("@")[0],
                ADMIN_UNIT,
                guid(rng),
            )
        )
    lead = members[0].upn.split("@")[0]
    actions.append(
        Action(
            moment + 6 * MINUTE, "au_scoped_role", actor, lead, "Helpdesk Administrator", guid(rng)
        )
    )
    return actions


def _recurring(ctx: SimContext, day: int, present: dict[str, Presence]) -> list[Action]:
    """Everyday directory changes: HR sync, system updates, devices, groups, helpdesk."""
    rng = ctx.rng("entra", "actions", day)
    weekend = ctx.is_weekend(day)
    actions: list[Action] = []
    actions += _hr_sync(ctx, rng, day)
    actions += _system_updates(ctx, rng, day, present, weekend)
    if weekend:
        return actions
    actions += _helpdesk(rng, present)
    actions += _self_service(rng, present)
    actions += _group_changes(rng, present)
    actions += _pim(rng, present)
    actions += _app_changes(ctx, rng, day, present)
    return actions


def _hr_sync_slots(ctx: SimContext, day: int) -> list[dt.datetime]:
    """When hr-sync runs (one token per run): every 15 minutes around the clock."""
    return [t.time for t in _periodic(ctx, day, WORKLOADS_BY_KEY[("hr-sync", GRAPH_RESOURCE)])]


def _hr_sync(ctx: SimContext, rng: random.Random, day: int) -> list[Action]:
    """hr-sync pushes HR changes entered during the working day; new hires some days."""
    if ctx.is_weekend(day):
        return []
    slots = [t for t in _hr_sync_slots(ctx, day) if 6 <= t.hour < 19]
    actions = []
    for _ in range(rng.randint(40, 50)):
        slot = rng.choice(slots)
        who = rng.choice(PEOPLE)
        prop, values = rng.choice(HR_PROPERTIES)
        moment = slot + dt.timedelta(seconds=rng.uniform(3, 90))
        actions.append(
            Action(
                moment,
                "hr_update",
                "hr-sync",
                who.upn.split("@")[0],
                f"{prop}={rng.choice(values)}",
                guid(rng),
            )
        )
    if rng.random() < 0.4:
        slot = rng.choice(slots)
        hire = NEW_HIRES[(day * 5 + ctx.seed) % len(NEW_HIRES)]
        actions.append(
            Action(
                slot + 20 * dt.timedelta(seconds=1), "hr_add_user", "hr-sync", hire, "", guid(rng)
            )
        )
        actions.append(
            Action(
                slot + 50 * dt.timedelta(seconds=1),
                "group_add",
                "hr-sync",
                hire,
                "All Employees",
                guid(rng),
            )
        )
    return actions


def _system_updates(
    ctx: SimContext, rng: random.Random, day: int, present: dict[str, Presence], weekend: bool
) -> list[Action]:
    """Substrate mailbox updates and Intune device check-ins, around the clock."""
    actions = []
    substrate = rng.randint(30, 40) if weekend else rng.randint(75, 90)
    for _ in range(substrate):
        alias = rng.choice(PEOPLE).upn.split("@")[0]
        actions.append(
            Action(
                ctx.any_time(rng, day),
                "substrate_update",
                "Microsoft Substrate Management",
                alias,
                "",
                guid(rng),
            )
        )
    devices = rng.randint(25, 35) if weekend else rng.randint(65, 80)
    everyone = _profiles(ctx.seed)
    for _ in range(devices):
        alias = rng.choice(everyone).alias
        moment = present[alias].moment(rng) if alias in present else ctx.any_time(rng, day)
        actions.append(Action(moment, "device_update", "Microsoft Intune", alias, "", guid(rng)))
    if not weekend and present:
        for _ in range(rng.randint(0, 2)):
            newcomer = present[rng.choice(sorted(present))]
            actions.append(
                Action(
                    newcomer.start + 2 * MINUTE,
                    "device_register",
                    "Device Registration Service",
                    newcomer.profile.alias,
                    "",
                    guid(rng),
                )
            )
    return actions


def _someone(rng: random.Random, present: dict[str, Presence]) -> str:
    """A working non-admin: the usual subject of helpdesk and self-service changes."""
    return rng.choice([a for a, p in present.items() if not p.profile.person.is_admin])


def _helpdesk(rng: random.Random, present: dict[str, Presence]) -> list[Action]:
    """sofia.jansen resets passwords and requires MFA re-registration for callers."""
    if "sofia.jansen" not in present:
        return []
    desk = present["sofia.jansen"]
    actions = []
    for _ in range(rng.randint(1, 3)):
        target = _someone(rng, present)
        moment = max(desk.moment(rng), present[target].start)
        actions.append(Action(moment, "reset_password", "sofia.jansen", target, "", guid(rng)))
    for _ in range(rng.randint(0, 2)):
        target = _someone(rng, present)
        moment = max(desk.moment(rng), present[target].start)
        if moment + 30 * MINUTE < present[target].end:
            actions.append(Action(moment, "mfa_reset", "sofia.jansen", target, "", guid(rng)))
            actions.append(
                Action(
                    moment + rng.uniform(5, 25) * MINUTE,
                    "mfa_register",
                    target,
                    target,
                    "",
                    guid(rng),
                )
            )
    return actions


def _self_service(rng: random.Random, present: dict[str, Presence]) -> list[Action]:
    """SSPR, password changes and onboarding security-info registrations."""
    actions = []
    for kind, low, high in (("sspr", 1, 3), ("change_password", 2, 4), ("mfa_register", 1, 3)):
        for _ in range(rng.randint(low, high)):
            target = _someone(rng, present)
            moment = present[target].moment(rng)
            actions.append(Action(moment, kind, target, target, "", guid(rng)))
    return actions


def _group_changes(rng: random.Random, present: dict[str, Presence]) -> list[Action]:
    """Admins add and remove members and edit groups in office hours."""
    actions = []
    admins = [a for a, p in present.items() if p.profile.person.is_admin]
    for kind, low, high in (
        ("group_add", 12, 18),
        ("group_remove", 3, 6),
        ("group_update", 3, 6),
        ("app_assignment", 1, 4),
        ("license", 1, 3),
    ):
        for _ in range(rng.randint(low, high)):
            actor = rng.choice(("sofia.jansen", "sofia.jansen", rng.choice(admins)))
            if actor not in present:
                continue
            group = rng.choice(GROUPS[1:])
            actions.append(
                Action(
                    present[actor].moment(rng),
                    kind,
                    actor,
                    _someone(rng, present),
                    group,
                    guid(rng),
                )
            )
    return actions


def _pim(rng: random.Random, present: dict[str, Presence]) -> list[Action]:
    """Admins activate their eligible roles through PIM for a few hours."""
    actions = []
    admins = [a for a, p in present.items() if p.profile.person.is_admin]
    for _ in range(rng.randint(3, 6)):
        actor = rng.choice(admins)
        role = rng.choice(present[actor].profile.person.admin_roles)
        moment = present[actor].moment(rng)
        hours = rng.choice((1, 2, 4, 8))
        actions.append(
            Action(moment, "pim", actor, role, f"{hours}|{rng.choice(PIM_REASONS)}", guid(rng))
        )
    return actions


def _app_changes(
    ctx: SimContext, rng: random.Random, day: int, present: dict[str, Presence]
) -> list[Action]:
    """App owners edit redirect URIs and branding; guests get invited some days."""
    actions = []
    for _ in range(rng.randint(2, 4)):
        actor = rng.choice(("dmitri.ivanov", "raj.patel"))
        app = rng.choice(("contoso-web", "contoso-api", "invoice-processor"))
        if actor in present:
            actions.append(
                Action(present[actor].moment(rng), "update_app", actor, app, "", guid(rng))
            )
    if rng.random() < 0.25:
        inviter = _someone(rng, present)
        moment = present[inviter].moment(rng)
        guest = GUEST_PARTNERS[(day + ctx.seed) % len(GUEST_PARTNERS)]
        actions.append(Action(moment, "invite", inviter, guest, "", guid(rng)))
        actions.append(
            Action(moment + rng.uniform(20, 180) * MINUTE, "redeem", guest, guest, "", guid(rng))
        )
    return actions


# --------------------------------------------------------------------------------------
# Interactive sign-ins
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignIn:
    """One SigninLogs row: who, when, with which client and token, and the outcome."""

    presence: Presence
    time: dt.datetime
    client: Client
    resource: str
    device: str  # "laptop", "mobile" or "room:<name>"
    result: str
    uti: str
    correlation: str
    id: str
    protocol: str = "none"
    mfa: bool = False
    requirement: str = "singleFactorAuthentication"
    risk: str = "none"


def _token_id(rng: random.Random) -> str:
    """A token identifier as Entra writes it: 16 bytes, base64url without padding."""
    raw = rng.getrandbits(128).to_bytes(16, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _derived_token_id(*parts: object) -> str:
    """A stable token identifier for a token no interactive sign-in recorded."""
    raw = hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()[:16]
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class _SignInBuilder:
    """Turns planned sign-ins into rows of the plan, adding interrupts before successes."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.out: list[SignIn] = []

    def add(
        self,
        presence: Presence,
        moment: dt.datetime,
        client: Client,
        *,
        resource: str | None = None,
        device: str | None = None,
        before: str | None = None,
        result: str = "0",
        protocol: str = "none",
        first: bool = False,
    ) -> SignIn:
        rng = self.rng
        resource = resource or _weighted(rng, client.resources)
        if device is None:
            mobile = client.kind == "mobile" or (client is TEAMS_CLIENT and rng.random() < 0.45)
            device = "mobile" if mobile and presence.profile.mobile_os else "laptop"
        corr = guid(rng)
        mfa_needed = first or presence.network.kind != "office" or rng.random() < 0.65
        requirement = "multiFactorAuthentication" if mfa_needed else "singleFactorAuthentication"
        risk = "low" if first and presence.network.kind == "travel" else "none"
        if before is not None:
            earlier = moment - dt.timedelta(seconds=rng.uniform(4, 40))
            self.out.append(
                SignIn(
                    presence,
                    earlier,
                    client,
                    resource,
                    device,
                    before,
                    _token_id(rng),
                    corr,
                    guid(rng),
                    protocol,
                    False,
                    requirement,
                    risk,
                )
            )
        signin = SignIn(
            presence,
            moment,
            client,
            resource,
            device,
            result,
            _token_id(rng),
            corr,
            guid(rng),
            protocol,
            first and result == "0",
            requirement,
            risk,
        )
        self.out.append(signin)
        return signin


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def _clients_for(profile: Profile) -> tuple[list[Client], list[int]]:
    pool = list(EVERYONE_CLIENTS)
    if profile.engineer:
        pool += ENGINEER_CLIENTS
    if profile.person.is_admin:
        pool += ADMIN_CLIENTS
    if not profile.mobile_os:
        pool = [(c, w) for c, w in pool if c.kind != "mobile"]
    return [c for c, _ in pool], [w for _, w in pool]


def _daily_signins(ctx: SimContext, b: _SignInBuilder, day: int, presence: Presence) -> None:
    """A person's sign-ins of the day: MFA and interrupts first, then app by app."""
    rng = b.rng
    count = rng.randint(2, 6) if ctx.is_weekend(day) else rng.randint(7, 13)
    span = (presence.end - presence.start).total_seconds()
    offsets = sorted([rng.uniform(0, 300)] + [rng.uniform(0, span) for _ in range(count - 1)])
    clients, weights = _clients_for(presence.profile)
    for index, offset in enumerate(offsets):
        moment = presence.start + dt.timedelta(seconds=offset)
        client = rng.choices(clients, weights=weights)[0]
        before = None
        if index == 0:
            roll = rng.random()
            kmsi = "50140" if client.kind == "browser" else "50074"
            before = "50074" if roll < 0.4 else kmsi if roll < 0.8 else None
        elif rng.random() < 0.04:
            before = _weighted(rng, RETRIED_ERRORS)
        b.add(presence, moment, client, before=before, first=index == 0)


def _special_signins(
    ctx: SimContext, b: _SignInBuilder, day: int, present: dict[str, Presence]
) -> None:
    """Device-code sign-ins on room devices, an admin's `az login --use-device-code` on the
    jump host, and a CA block of the Azure portal on an admin's unmanaged phone."""
    rng = b.rng
    if ctx.is_weekend(day):
        return
    in_office = [p for p in present.values() if p.network.kind == "office"]
    for presence in rng.sample(in_office, min(len(in_office), rng.randint(1, 2))):
        room = rng.choice(ROOM_DEVICES[presence.network.place.country])
        b.add(
            presence,
            presence.moment(rng),
            TEAMS_CLIENT,
            resource="Microsoft Teams Services",
            device=f"room:{room}",
            protocol="deviceCode",
        )
    admins = [p for p in present.values() if p.profile.person.is_admin]
    if admins and rng.random() < 0.5:
        admin = rng.choice(admins)
        b.add(
            admin,
            admin.start + 45 * MINUTE,
            CLI,
            resource=ARM_RESOURCE,
            protocol="deviceCode",
        )
    phones = [p for p in admins if p.profile.mobile_os]
    if phones:
        presence = rng.choice(phones)
        b.add(
            presence,
            presence.moment(rng),
            PORTAL,
            resource=ARM_RESOURCE,
            device="mobile",
            result="53003",
        )


def _action_signins(b: _SignInBuilder, actions: list[Action], present: dict[str, Presence]) -> None:
    """The sign-ins that admin changes and security-info registrations start with."""
    rng = b.rng
    for action in actions:
        if action.actor not in present:
            continue
        presence = present[action.actor]
        before = action.time - rng.uniform(1, 6) * MINUTE
        if action.kind in PORTAL_KINDS:
            b.add(presence, before, PORTAL, resource=GRAPH_RESOURCE, device="laptop")
        elif action.kind == "mfa_register":
            b.add(
                presence,
                before,
                MY_SIGNINS,
                resource=GRAPH_RESOURCE,
                device="laptop",
                before="50079",
            )
        elif action.kind == "consent":
            b.add(
                presence,
                action.time - 20 * dt.timedelta(seconds=1),
                GRAPH_CLI,
                device="laptop",
                result="65001",
            )
            b.add(presence, action.time + MINUTE, GRAPH_CLI, device="laptop")


#: Changes admins make in the Entra admin center (an Azure Portal sign-in precedes them).
PORTAL_KINDS = frozenset(
    {
        "rotate_app_secret",
        "add_sp_credential",
        "app_role_grant",
        "ca_update",
        "au_create",
        "pim",
        "reset_password",
        "mfa_reset",
    }
)


@dataclass(frozen=True)
class DayPlan:
    """Everything the identity modules share about one day."""

    present: dict[str, Presence]
    signins: tuple[SignIn, ...]
    actions: tuple[Action, ...]
    #: Successful sign-ins for Microsoft Graph by (alias, client app id), in time order.
    graph_signins: dict[tuple[str, str], tuple[SignIn, ...]]

    def graph_token(self, alias: str, app_id: str, moment: dt.datetime) -> SignIn | None:
        """The person's interactive Graph token for *app_id* still valid at *moment*."""
        best = None
        for signin in self.graph_signins.get((alias, app_id), ()):
            if signin.time <= moment < signin.time + 60 * MINUTE:
                best = signin
        return best


@lru_cache(maxsize=64)
def _plan(seed: int, scale: float, day: int) -> DayPlan:
    ctx = SimContext(seed, scale)
    present = _presences(ctx, day)
    actions = sorted(_one_offs(ctx, day) + _recurring(ctx, day, present), key=lambda a: a.time)
    builder = _SignInBuilder(ctx.rng("entra", "signins", day))
    for presence in present.values():
        _daily_signins(ctx, builder, day, presence)
    _special_signins(ctx, builder, day, present)
    _action_signins(builder, actions, present)
    signins = tuple(sorted(builder.out, key=lambda s: s.time))
    graph: dict[tuple[str, str], list[SignIn]] = {}
    for signin in signins:
        if signin.resource == GRAPH_RESOURCE and signin.result == "0":
            key = (signin.presence.profile.alias, signin.client.app_id)
            graph.setdefault(key, []).append(signin)
    index = {key: tuple(found) for key, found in graph.items()}
    return DayPlan(present, signins, tuple(actions), index)


def _day_plan(ctx: SimContext, day: int) -> DayPlan:
    """The shared plan of *day* (computed once per seed, day and window length)."""
    return _plan(ctx.seed, ctx.scale, day)


# --------------------------------------------------------------------------------------
# Service principals
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """An app that requests tokens for one resource on a schedule, from several instances."""

    app: str
    resource: str
    every: int  # minutes between two requests of one instance
    instances: int = 1


WORKLOADS: tuple[Workload, ...] = (
    Workload("siem-connector", GRAPH_RESOURCE, 5),
    Workload("siem-connector", ARM_RESOURCE, 10),
    Workload("invoice-processor", GRAPH_RESOURCE, 5),
    Workload("invoice-processor", "Azure Storage", 60),
    Workload("hr-sync", GRAPH_RESOURCE, 15),
    Workload("intune-reporting", GRAPH_RESOURCE, 15),
    Workload("contoso-web", GRAPH_RESOURCE, 60, 4),
    Workload("contoso-web", "Azure Key Vault", 60, 4),
    Workload("contoso-web", "Azure Storage", 60, 4),
    Workload("contoso-api", "Azure Key Vault", 60, 4),
    Workload("contoso-api", "Azure Storage", 60, 4),
    Workload("contoso-api", "Azure SQL Database", 60, 4),
    Workload("backup-runner", ARM_RESOURCE, 5),
    Workload("ci-deployer", ARM_RESOURCE, 120),
    Workload("ci-deployer", GRAPH_RESOURCE, 120),
)
WORKLOADS_BY_KEY = {(w.app, w.resource): w for w in WORKLOADS}
#: How each app authenticates: client secret, certificate or federated credential.
CREDENTIAL_KINDS = {
    "ci-deployer": "secret",
    "contoso-web": "federated",
    "contoso-api": "certificate",
    "backup-runner": "certificate",
    "siem-connector": "secret",
    "hr-sync": "secret",
    "intune-reporting": "secret",
    "invoice-processor": "secret",
}
#: Egress IPs, stable per app: Azure NAT gateways, AKS outbound, and SaaS vendors.
AKS_EGRESS_IP = "20.103.41.17"
NAT_EGRESS_IP = "20.86.142.31"
FUNCTIONS_EGRESS_IP = "20.73.220.5"
SP_NETWORKS: dict[str, tuple[str, str, Place]] = {
    "ci-deployer": (NAT_EGRESS_IP, "8075", OFFICE_PLACES["NL"]),
    "backup-runner": (NAT_EGRESS_IP, "8075", OFFICE_PLACES["NL"]),
    "contoso-web": (AKS_EGRESS_IP, "8075", OFFICE_PLACES["NL"]),
    "contoso-api": (AKS_EGRESS_IP, "8075", OFFICE_PLACES["NL"]),
    "invoice-processor": (FUNCTIONS_EGRESS_IP, "8075", OFFICE_PLACES["NL"]),
    "intune-reporting": (FUNCTIONS_EGRESS_IP, "8075", OFFICE_PLACES["NL"]),
    "siem-connector": (
        "3.120.18.114",
        "16509",
        Place("Frankfurt am Main", "Hessen", "DE", 50.1109, 8.6821),
    ),
    "hr-sync": ("52.49.77.203", "16509", Place("Dublin", "Dublin", "IE", 53.3498, -6.2603)),
}
#: The one-off that adds a credential to an app, and how long until the app uses it.
ROTATIONS = {
    "ci-deployer": ("rotate_app_secret", 20),
    "intune-reporting": ("add_sp_credential", 30),
}


@dataclass(frozen=True)
class SpToken:
    """One AADServicePrincipalSignInLogs row: an app's token request."""

    app: App
    resource: str
    time: dt.datetime
    uti: str
    ip: str
    result: str
    key_id: str
    thumbprint: str
    federated_id: str
    correlation: str
    id: str


def _application_object_id(name: str) -> str:
    """The object id of an app registration (its service principal's is App.object_id)."""
    return _named_guid("application", name)


def _initial_key(name: str) -> str:
    return _named_guid("credential", name, "2025-09")


def _key_in_force(ctx: SimContext, name: str, moment: dt.datetime) -> str:
    """The secret an app signs in with: the rotated one once it is deployed."""
    if name in ROTATIONS:
        one_off, delay = ROTATIONS[name]
        added = _one_off_time(ctx, one_off)
        if added is not None and moment >= added + delay * MINUTE:
            return _rotated_key(ctx, one_off)
    return _initial_key(name)


def _credential(ctx: SimContext, name: str, moment: dt.datetime) -> tuple[str, str, str]:
    """(key id, thumbprint, federated credential id) for a sign-in of *name*."""
    kind = CREDENTIAL_KINDS[name]
    if kind == "certificate":  # Entra logs the certificate credential's key id beside it
        return _named_guid("certificate-key", name), stable_hex(40, "certificate", name).upper(), ""
    if kind == "federated":
        return "", "", _named_guid("federated-credential", name)
    return _key_in_force(ctx, name, moment), "", ""


def _periodic(ctx: SimContext, day: int, work: Workload) -> Iterator[SpToken]:
    """A workload's token requests of *day*: strict period, per-instance phase, jitter."""
    rng = ctx.rng("entra", "sp", work.app, work.resource, day)
    phase_rng = ctx.rng("entra", "sp-phase", work.app, work.resource)
    period = work.every * 60
    day_start = ctx.day_start(day)
    elapsed = int((day_start - ctx.start).total_seconds())
    for _ in range(work.instances):
        phase = phase_rng.uniform(0, period)
        first = (elapsed - phase) // period + 1
        tick = phase + first * period - elapsed
        while tick < 86_400:
            moment = day_start + dt.timedelta(seconds=tick + rng.uniform(0, 2))
            yield _sp_token(ctx, rng, work.app, work.resource, moment)
            tick += period


def _sp_token(
    ctx: SimContext,
    rng: random.Random,
    name: str,
    resource: str,
    moment: dt.datetime,
    result: str = "0",
    ip: str | None = None,
) -> SpToken:
    key, thumb, federated = _credential(ctx, name, moment)
    if result != "0":
        key = ""
    return SpToken(
        application(name),
        resource,
        moment,
        _token_id(rng),
        ip or SP_NETWORKS[name][0],
        result,
        key,
        thumb,
        federated,
        guid(rng),
        guid(rng),
    )


def _bursts(ctx: SimContext, day: int) -> list[SpToken]:
    """ci-deployer's deployments in office hours and backup-runner's nightly fan-out."""
    rng = ctx.rng("entra", "sp-bursts", day)
    tokens = []
    night = ctx.day_start(day) + dt.timedelta(hours=1)
    for _ in range(40):
        moment = night + dt.timedelta(seconds=rng.uniform(0, 600))
        tokens.append(_sp_token(ctx, rng, "backup-runner", "Azure Storage", moment))
    if ctx.is_weekend(day):
        return tokens
    for _ in range(rng.randint(5, 9)):
        start = ctx.office_time(rng, day)
        for resource, low, high in (
            (ARM_RESOURCE, 2, 4),
            (GRAPH_RESOURCE, 1, 1),
            ("Azure Key Vault", 1, 1),
        ):
            for _ in range(rng.randint(low, high)):
                moment = start + dt.timedelta(seconds=rng.uniform(0, 600))
                tokens.append(_sp_token(ctx, rng, "ci-deployer", resource, moment))
    return tokens


def _sp_failures(ctx: SimContext, day: int) -> list[SpToken]:
    """A developer runs invoice-processor locally with a stale secret from the office."""
    rng = ctx.rng("entra", "sp-failures", day)
    if ctx.is_weekend(day) or rng.random() < 0.4:
        return []
    start = ctx.office_time(rng, day)
    return [
        _sp_token(
            ctx,
            rng,
            "invoice-processor",
            GRAPH_RESOURCE,
            start + dt.timedelta(seconds=20 * step + rng.uniform(0, 5)),
            "7000215",
            OFFICE_IPS["NL"],
        )
        for step in range(rng.randint(2, 4))
    ]


@lru_cache(maxsize=64)
def _sp_plan(seed: int, scale: float, day: int) -> tuple[SpToken, ...]:
    ctx = SimContext(seed, scale)
    tokens = [t for work in WORKLOADS for t in _periodic(ctx, day, work)]
    tokens += _bursts(ctx, day) + _sp_failures(ctx, day)
    return tuple(sorted(tokens, key=lambda t: t.time))


def _sp_tokens(ctx: SimContext, day: int) -> tuple[SpToken, ...]:
    """Every service-principal token request of *day*, in time order."""
    return _sp_plan(ctx.seed, ctx.scale, day)


def _latest_token(tokens: list[SpToken], moment: dt.datetime) -> SpToken | None:
    """The last of time-sorted *tokens* issued at or before *moment*."""
    index = bisect.bisect_right([t.time for t in tokens], moment)
    return tokens[index - 1] if index else None


# --------------------------------------------------------------------------------------
# Devices and user agents
# --------------------------------------------------------------------------------------

BROWSER_VERSIONS = (122, 123, 124)


def _browser_agent(profile: Profile, version: int) -> str:
    """The laptop browser's user agent."""
    if profile.browser == "Safari":
        return (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.3.1 Safari/605.1.15"
        )
    platform = {
        "Windows10": "Windows NT 10.0; Win64; x64",
        "MacOs": "Macintosh; Intel Mac OS X 10_15_7",
        "Linux": "X11; Linux x86_64",
    }[profile.os]
    agent = (
        f"Mozilla/5.0 ({platform}) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{version}.0.0.0 Safari/537.36"
    )
    return agent + f" Edg/{version}.0.0.0" if profile.browser == "Edge" else agent


def _mobile_agent(profile: Profile, client: Client) -> str:
    """A phone app's user agent."""
    app = "Outlook-iOS/2.0" if client is OUTLOOK_MOBILE else "Teams/6.3.0"
    if profile.mobile_os == "Ios":
        return (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 "
            f"(KHTML, like Gecko) Mobile/15E148 {app}"
        )
    app = "Outlook-Android/2.0" if client is OUTLOOK_MOBILE else "Teams/1416/1.0.0.2024"
    return (
        "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/122.0.6261.105 Mobile Safari/537.36 {app}"
    )


def _desktop_agent(profile: Profile, client: Client, version: int) -> str:
    """A desktop app's user agent (Teams, Office, the WAM broker, VS Code)."""
    windows = profile.os == "Windows10"
    if client is TEAMS_CLIENT:
        return (
            _browser_agent(profile, 120).split(" Edg/")[0]
            + " Edg/120.0.0.0 Teams/24004.1403.2634.2418"
        )
    if client is OFFICE_CLIENT:
        if windows:
            return "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)"
        return "Microsoft Office/16.0 (Macintosh; Mac OS X 14.3; Microsoft Outlook 16.82)"
    if client is BROKER and windows:
        return "Windows-AzureAD-Authentication-Provider/1.0"
    if client is VSCODE:
        return (
            _browser_agent(profile, 118).split(" Safari")[0]
            + " Code/1.87.0 Chrome/118.0.5993.159 Electron/27.3.2 Safari/537.36"
        )
    return _browser_agent(profile, version)


def _user_agent(profile: Profile, client: Client, device: str, version: int) -> str:
    if device == "mobile":
        return _mobile_agent(profile, client)
    if device.startswith("room:"):
        return (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
            "Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0 Teams/24004.1307.2669.7070 "
            "MicrosoftTeamsRooms/5.0"
        )
    if client.kind == "browser":
        return _browser_agent(profile, version)
    return _desktop_agent(profile, client, version)


def _device_detail(profile: Profile, signin: SignIn, version: int) -> dict[str, Any]:
    """DeviceDetail: the corporate laptop, a phone, or a room device."""
    if signin.device.startswith("room:"):
        name = signin.device.split(":", 1)[1]
        return {
            "deviceId": _named_guid("room", name),
            "displayName": name,
            "operatingSystem": "Windows10",
            "browser": "Rich Client 5.2.0",
            "isCompliant": True,
            "isManaged": True,
            "trustType": "Azure AD joined",
        }
    if signin.device == "mobile":
        # Personal phones are registered through the Authenticator broker, not managed.
        return {
            "deviceId": profile.mobile_id,
            "displayName": "",
            "operatingSystem": profile.mobile_os,
            "browser": "Mobile Safari" if profile.mobile_os == "Ios" else "Chrome Mobile",
            "isCompliant": False,
            "isManaged": False,
            "trustType": "Azure AD registered",
        }
    browser = (
        f"{profile.browser} {version}.0.0"
        if signin.client.kind == "browser"
        else "Rich Client 5.2.0"
    )
    if profile.browser == "Safari" and signin.client.kind == "browser":
        browser = "Safari 17.3"
    known = profile.trust_type != ""
    return {
        "deviceId": profile.device_id if known else "",
        "displayName": profile.device_name if known else "",
        "operatingSystem": profile.os,
        "browser": browser,
        "isCompliant": profile.managed,
        "isManaged": profile.managed,
        "trustType": profile.trust_type,
    }


# --------------------------------------------------------------------------------------
# SigninLogs rows
# --------------------------------------------------------------------------------------


def _ca_policies(signin: SignIn, compliant: bool) -> tuple[list[dict[str, Any]], str]:
    """The CA evaluation of a sign-in and the overall ConditionalAccessStatus."""
    person_ = signin.presence.profile.person
    results = []
    for name, control in CA_POLICIES:
        if name.startswith("CA001"):
            result = "success" if signin.requirement.startswith("multi") else "notApplied"
        elif name.startswith("CA002"):
            result = "success" if person_.is_admin and signin.mfa else "notApplied"
        elif name.startswith("CA004") and signin.resource == ARM_RESOURCE:
            result = "success" if compliant else "failure"
        else:
            result = "notApplied"
        if signin.result not in ("0", "53003") and result == "success":
            result = "notApplied"
        results.append(
            {
                "id": _named_guid("ca-policy", name),
                "displayName": name,
                "enforcedGrantControls": [control] if result != "notApplied" else [],
                "enforcedSessionControls": [],
                "result": result,
            }
        )
    statuses = {r["result"] for r in results}
    status = (
        "failure" if "failure" in statuses else "success" if "success" in statuses else "notApplied"
    )
    return results, status


def _auth_details(signin: SignIn) -> list[dict[str, Any]]:
    """AuthenticationDetails steps: password and push for the day's first sign-in,
    claims in the token afterwards, a wrong password for 50126."""
    stamp = signin.time.strftime("%Y-%m-%dT%H:%M:%SZ")
    if signin.result == "50126":
        return [
            {
                "authenticationStepDateTime": stamp,
                "authenticationMethod": "Password",
                "authenticationMethodDetail": "Password in the cloud",
                "succeeded": False,
                "authenticationStepResultDetail": "Invalid username or password or Invalid "
                "on-premise username or password.",
                "authenticationStepRequirement": "Primary authentication",
            }
        ]
    if signin.mfa:
        return [
            {
                "authenticationStepDateTime": stamp,
                "authenticationMethod": "Password",
                "authenticationMethodDetail": "Password in the cloud",
                "succeeded": True,
                "authenticationStepResultDetail": "Correct password",
                "authenticationStepRequirement": "Primary authentication",
            },
            {
                "authenticationStepDateTime": stamp,
                "authenticationMethod": "Mobile app notification",
                "succeeded": True,
                "authenticationStepResultDetail": "MFA successfully completed",
                "authenticationStepRequirement": "Secondary authentication",
            },
        ]
    steps = [
        {
            "authenticationStepDateTime": stamp,
            "authenticationMethod": "Previously satisfied",
            "succeeded": True,
            "authenticationStepResultDetail": "First factor requirement satisfied by claim in "
            "the token",
            "authenticationStepRequirement": "Primary authentication",
        }
    ]
    if signin.requirement.startswith("multi"):
        steps.append(
            {
                "authenticationStepDateTime": stamp,
                "authenticationMethod": "Previously satisfied",
                "succeeded": True,
                "authenticationStepResultDetail": "MFA requirement satisfied by claim in the token",
                "authenticationStepRequirement": "Secondary authentication",
            }
        )
    return steps


def _status(signin: SignIn) -> dict[str, Any]:
    if signin.result != "0":
        return {"errorCode": int(signin.result), "failureReason": ERROR_TEXT[signin.result]}
    if signin.requirement.startswith("multi") and not signin.mfa:
        return {
            "errorCode": 0,
            "additionalDetails": "MFA requirement satisfied by claim in the token",
        }
    return {"errorCode": 0}


def _signin_row(rng: random.Random, signin: SignIn) -> Row:
    profile = signin.presence.profile
    who = profile.person
    network = signin.presence.network
    version = rng.choice(BROWSER_VERSIONS)
    device = _device_detail(profile, signin, version)
    policies, ca_status = _ca_policies(signin, bool(device["isCompliant"]))
    row: Row = {
        "TimeGenerated": signin.time,
        "CreatedDateTime": signin.time,
        "Id": signin.id,
        "OriginalRequestId": signin.id,
        "CorrelationId": signin.correlation,
        "UniqueTokenIdentifier": signin.uti,
        "OperationName": "Sign-in activity",
        "OperationVersion": "1.0",
        "Category": "SignInLogs",
        "Level": "4",
        "Resource": AADIAM,
        "ResourceGroup": AADIAM,
        "ResourceProvider": AADIAM,
        "ResourceId": AADIAM_ID,
        "AADTenantId": TENANT_ID,
        "HomeTenantId": TENANT_ID,
        "ResourceTenantId": TENANT_ID,
        "Identity": who.display_name,
        "UserDisplayName": who.display_name,
        "UserPrincipalName": who.upn,
        "AlternateSignInName": who.upn,
        "SignInIdentifier": who.upn,
        "UserId": who.object_id,
        "UserType": "Member",
        "AppDisplayName": signin.client.name,
        "AppId": signin.client.app_id,
        "ResourceDisplayName": signin.resource,
        "ResourceIdentity": RESOURCE_IDS[signin.resource],
        "ResourceServicePrincipalId": _named_guid("sp", signin.resource),
        "IPAddress": network.ip,
        "AutonomousSystemNumber": network.asn,
        "Location": network.place.country,
        "LocationDetails": network.place.details(),
        "NetworkLocationDetails": json.dumps(
            [{"networkType": "namedNetwork", "networkNames": [network.name]}]
            if network.name
            else []
        ),
        "ClientAppUsed": signin.client.client_app_used,
        "UserAgent": _user_agent(profile, signin.client, signin.device, version),
        "DeviceDetail": device,
        "IsInteractive": True,
        "AuthenticationProtocol": signin.protocol,
        "AuthenticationRequirement": signin.requirement,
        "AuthenticationDetails": json.dumps(_auth_details(signin)),
        "AuthenticationProcessingDetails": json.dumps(
            [
                {"key": "Root Key Type", "value": "Unknown"},
                {"key": "Oauth Scope Info", "value": '["openid","profile","offline_access"]'},
            ]
        ),
        "AuthenticationRequirementPolicies": json.dumps(
            [{"requirementProvider": "multiConditionalAccess", "detail": "Conditional Access"}]
            if signin.requirement.startswith("multi")
            else []
        ),
        "AuthenticationContextClassReferences": "[]",
        "ConditionalAccessPolicies": policies,
        "ConditionalAccessStatus": ca_status,
        "AppliedEventListeners": [],
        "ResultType": signin.result,
        "ResultSignature": "None",
        "Status": _status(signin),
        "RiskDetail": "none",
        "RiskEventTypes": "[]",
        "RiskEventTypes_V2": '["unfamiliarFeatures"]' if signin.risk == "low" else "[]",
        "RiskLevelAggregated": "none",
        "RiskLevelDuringSignIn": signin.risk,
        "RiskState": "none",
        "IsRisky": False,
        "FlaggedForReview": False,
        "CrossTenantAccessType": "none",
        "TokenIssuerType": "AzureAD",
        "SessionLifetimePolicies": "[]",
        "ProcessingTimeInMilliseconds": str(rng.randint(40, 400)),
        "DurationMs": 0,
    }
    if signin.result != "0":
        row["ResultDescription"] = ERROR_TEXT[signin.result]
    if signin.mfa:
        row["MfaDetail"] = {"authMethod": "Mobile app notification", "authDetail": None}
    return row


# --------------------------------------------------------------------------------------
# AADServicePrincipalSignInLogs rows
# --------------------------------------------------------------------------------------


def _sp_row(token: SpToken) -> Row:
    usual_ip, _, place = SP_NETWORKS[token.app.name]
    if token.ip != usual_ip:
        place = OFFICE_PLACES["NL"]
    row: Row = {
        "TimeGenerated": token.time,
        "Id": token.id,
        "CorrelationId": token.correlation,
        "UniqueTokenIdentifier": token.uti,
        "OperationName": "Sign-in activity",
        "OperationVersion": "1.0",
        "Category": "ServicePrincipalSignInLogs",
        "Level": "4",
        "ResourceGroup": AADIAM,
        "AppId": token.app.app_id,
        "ServicePrincipalId": token.app.object_id,
        "ServicePrincipalName": token.app.name,
        "Identity": token.app.name,
        "IPAddress": token.ip,
        "Location": place.country,
        "LocationDetails": json.dumps(place.details()),
        "ResourceDisplayName": token.resource,
        "ResourceIdentity": RESOURCE_IDS[token.resource],
        "ResourceServicePrincipalId": _named_guid("sp", token.resource),
        "ResultType": token.result,
        "ResultSignature": "None",
        "ConditionalAccessStatus": "notApplied",
        "ConditionalAccessPolicies": "[]",
        "AuthenticationContextClassReferences": "[]",
        "AuthenticationProcessingDetails": json.dumps(
            [
                {
                    "key": "Azure AD App Authentication Library",
                    "value": "Family: MSAL Library: MSAL.NetCore 4.61.3.0 Platform: .NET 8",
                }
            ]
        ),
        "DurationMs": 0,
    }
    optional = {
        "ServicePrincipalCredentialKeyId": token.key_id,
        "ServicePrincipalCredentialThumbprint": token.thumbprint,
        "FederatedCredentialId": token.federated_id,
        "ResultDescription": ERROR_TEXT.get(token.result, ""),
    }
    row.update({k: v for k, v in optional.items() if v})
    return row


# --------------------------------------------------------------------------------------
# AuditLogs rows
# --------------------------------------------------------------------------------------


def _user_initiator(who: Person, ip: str) -> dict[str, Any]:
    return {
        "user": {
            "id": who.object_id,
            "displayName": None,
            "userPrincipalName": who.upn,
            "ipAddress": ip,
            "roles": [],
        }
    }


def _app_initiator(name: str) -> dict[str, Any]:
    if name in SYSTEM_APPS:
        app_id, sp_id = SYSTEM_APPS[name], _named_guid("sp", name)
    else:
        app = application(name)
        app_id, sp_id = app.app_id, app.object_id
    return {
        "app": {
            "appId": app_id,
            "displayName": name,
            "servicePrincipalId": sp_id,
            "servicePrincipalName": None,
        }
    }


def _change(name: str, old: str | None, new: str | None) -> dict[str, Any]:
    """A modifiedProperties entry: values are JSON-encoded strings, as Entra writes them."""
    return {"displayName": name, "oldValue": old, "newValue": new}


def _user_target(alias: str, changes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    try:
        who = person(alias)
        oid, upn = who.object_id, who.upn
    except KeyError:
        oid, upn = _named_guid("user", alias), f"{alias}@{DOMAIN}"
    return {
        "id": oid,
        "displayName": None,
        "type": "User",
        "userPrincipalName": upn,
        "modifiedProperties": changes or [],
        "administrativeUnits": [],
    }


def _target(
    kind: str, oid: str, name: str, changes: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "id": oid,
        "displayName": name,
        "type": kind,
        "userPrincipalName": None,
        "modifiedProperties": changes or [],
        "administrativeUnits": [],
    }


def _key_description(key: str, kind: str, label: str) -> str:
    return f"[KeyIdentifier={key},KeyType={kind},KeyUsage=Verify,DisplayName={label}]"


class _Audit:
    """Collects AuditLogs rows for a day's actions."""

    def __init__(self, ctx: SimContext, rng: random.Random, plan: DayPlan) -> None:
        self.ctx = ctx
        self.rng = rng
        self.plan = plan
        self.rows: list[Row] = []

    def initiator(self, actor: str) -> tuple[dict[str, Any], str]:
        """InitiatedBy and Identity of a person (with their IP of the day) or an app."""
        if actor in self.plan.present:
            presence = self.plan.present[actor]
            who = presence.profile.person
            return _user_initiator(who, presence.network.ip), who.display_name
        if "@" in actor:
            return {
                "user": {
                    "id": _named_guid("guest", actor),
                    "displayName": None,
                    "userPrincipalName": actor,
                    "ipAddress": "",
                    "roles": [],
                }
            }, actor
        return _app_initiator(actor), actor

    def add(
        self,
        action: Action,
        operation: str,
        category: str,
        targets: list[dict[str, Any]],
        *,
        service: str = "Core Directory",
        op_type: str = "Update",
        actor: str | None = None,
        details: list[tuple[str, str]] | None = None,
        delay: float = 0.0,
    ) -> None:
        moment = action.time + dt.timedelta(seconds=delay)
        if moment >= self.ctx.end:
            return
        initiated_by, identity = self.initiator(actor or action.actor)
        extra = [{"key": k, "value": v} for k, v in details or []]
        prefix = {"Core Directory": "Directory", "PIM": "IPCGraph"}.get(service, "UserManagement")
        self.rows.append(
            {
                "TimeGenerated": moment,
                "ActivityDateTime": moment,
                "Id": f"{prefix}_{action.correlation}_{_suffix(self.rng)}",
                "CorrelationId": action.correlation,
                "OperationName": operation,
                "ActivityDisplayName": operation,
                "OperationVersion": "1.0",
                "Category": category,
                "LoggedByService": service,
                "AADOperationType": op_type,
                "AADTenantId": TENANT_ID,
                "Result": "success",
                "ResultSignature": "None",
                "Level": "4",
                "DurationMs": 0,
                "Resource": AADIAM,
                "ResourceGroup": AADIAM,
                "ResourceProvider": AADIAM,
                "ResourceId": AADIAM_ID,
                "InitiatedBy": initiated_by,
                "Identity": identity,
                "TargetResources": targets,
                "AdditionalDetails": extra,
            }
        )


def _suffix(rng: random.Random) -> str:
    letters = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(5))
    return f"{letters}_{rng.randrange(10_000_000, 99_999_999)}"


def _audit_user_changes(audit: _Audit, action: Action) -> None:
    """HR sync, Substrate, helpdesk and self-service changes to users."""
    rng = audit.rng
    kind, target = action.kind, action.target
    if kind == "hr_update":
        prop, value = action.detail.split("=", 1)
        changes = [
            _change(prop, "[]", json.dumps([value])),
            _change("Included Updated Properties", None, json.dumps(prop)),
        ]
        audit.add(
            action,
            "Update user",
            "UserManagement",
            [_user_target(target, changes)],
            details=[("UserType", "Member"), ("User-Agent", GRAPH_SDK_AGENT)],
        )
    elif kind == "hr_add_user":
        audit.add(
            action,
            "Add user",
            "UserManagement",
            [
                _user_target(
                    target,
                    [
                        _change("AccountEnabled", "[]", "[true]"),
                        _change("UserPrincipalName", "[]", json.dumps([f"{target}@{DOMAIN}"])),
                    ],
                )
            ],
            op_type="Add",
            details=[("UserType", "Member"), ("User-Agent", GRAPH_SDK_AGENT)],
        )
    elif kind == "substrate_update":
        audit.add(
            action,
            "Update user",
            "UserManagement",
            [_user_target(target, [_change("Included Updated Properties", None, '""')])],
            details=[("UserType", "Member")],
        )
    elif kind == "reset_password":
        audit.add(
            action, "Reset user password", "UserManagement", [_user_target(target)], op_type="Reset"
        )
        audit.add(
            action,
            "Reset password (by admin)",
            "UserManagement",
            [_user_target(target)],
            service="Self-service Password Management",
            op_type="Update",
            delay=1,
        )
        audit.add(
            action,
            "Set force change user password",
            "UserManagement",
            [_user_target(target)],
            delay=2,
        )
        audit.add(
            action,
            "Update StsRefreshTokenValidFrom Timestamp",
            "UserManagement",
            [_user_target(target)],
            actor="Microsoft Substrate Management",
            delay=3,
        )
    elif kind == "mfa_reset":
        audit.add(
            action,
            "Admin deleted security info",
            "UserManagement",
            [_user_target(target)],
            service="Authentication Methods",
            op_type="Delete",
            details=[("Method", "Microsoft Authenticator App")],
        )
    elif kind == "mfa_register":
        method = rng.choice(("Microsoft Authenticator App", "Phone"))
        audit.add(
            action,
            "User registered security info",
            "UserManagement",
            [_user_target(target)],
            service="Authentication Methods",
            op_type="Add",
            details=[("Method", method)],
        )
        audit.add(
            action,
            "User changed default security info",
            "UserManagement",
            [_user_target(target)],
            service="Authentication Methods",
            delay=20,
            details=[("Method", method)],
        )
    else:
        _audit_self_service(audit, action)


def _audit_self_service(audit: _Audit, action: Action) -> None:
    target = action.target
    if action.kind == "sspr":
        for step, detail in enumerate(
            ("User started the password reset flow", "User passed the verification step")
        ):
            audit.add(
                action,
                "Self-service password reset flow activity progress",
                "UserManagement",
                [_user_target(target)],
                service="Self-service Password Management",
                delay=step * 30,
                details=[("Detail", detail)],
            )
        audit.add(
            action,
            "Reset password (self-service)",
            "UserManagement",
            [_user_target(target)],
            service="Self-service Password Management",
            op_type="Update",
            delay=90,
        )
        audit.add(
            action,
            "Update StsRefreshTokenValidFrom Timestamp",
            "UserManagement",
            [_user_target(target)],
            actor="Microsoft Substrate Management",
            delay=92,
        )
    elif action.kind == "change_password":
        audit.add(
            action,
            "Change password (self-service)",
            "UserManagement",
            [_user_target(target)],
            service="Self-service Password Management",
        )
        audit.add(
            action,
            "Update StsRefreshTokenValidFrom Timestamp",
            "UserManagement",
            [_user_target(target)],
            actor="Microsoft Substrate Management",
            delay=2,
        )


def _audit_groups_devices(audit: _Audit, action: Action) -> None:
    """Group membership, licences, app assignments and device records."""
    kind, group = action.kind, action.detail
    group_target = _target("Group", _named_guid("group", group), group)
    if kind in ("group_add", "group_remove"):
        operation = "Add member to group" if kind == "group_add" else "Remove member from group"
        changes = [
            _change("Group.ObjectID", None, json.dumps(group_target["id"])),
            _change("Group.DisplayName", None, json.dumps(group)),
        ]
        audit.add(
            action,
            operation,
            "GroupManagement",
            [_user_target(action.target, changes), group_target],
            op_type="Assign" if kind == "group_add" else "Unassign",
        )
    elif kind == "group_update":
        audit.add(
            action,
            "Update group",
            "GroupManagement",
            [
                _target(
                    "Group",
                    group_target["id"],
                    group,
                    [_change("Description", "[]", '["Updated"]')],
                )
            ],
        )
    elif kind == "license":
        audit.add(action, "Change user license", "UserManagement", [_user_target(action.target)])
    elif kind == "app_assignment":
        app = application("contoso-web")
        audit.add(
            action,
            "Add app role assignment grant to user",
            "ApplicationManagement",
            [_target("ServicePrincipal", app.object_id, app.name), _user_target(action.target)],
            op_type="Assign",
        )
    elif kind == "device_update":
        who = _profile_of(audit.ctx.seed, action.target)
        audit.add(
            action,
            "Update device",
            "Device",
            [
                _target(
                    "Device",
                    who.device_id,
                    who.device_name,
                    [
                        _change("IsCompliant", "[false]", "[true]")
                        if audit.rng.random() < 0.2
                        else _change(
                            "Included Updated Properties", None, '"ApproximateLastLogonTimestamp"'
                        )
                    ],
                )
            ],
        )
    elif kind == "device_register":
        who = _profile_of(audit.ctx.seed, action.target)
        device = _target("Device", who.device_id, who.device_name)
        audit.add(action, "Add device", "Device", [device], op_type="Add")
        audit.add(
            action,
            "Register device",
            "Device",
            [device],
            op_type="Add",
            delay=1,
            service="Device Registration Service",
        )
        audit.add(
            action,
            "Add registered owner to device",
            "Device",
            [device, _user_target(action.target)],
            op_type="Assign",
            delay=2,
        )
        audit.add(
            action,
            "Add registered users to device",
            "Device",
            [device, _user_target(action.target)],
            op_type="Assign",
            delay=3,
        )


def _audit_roles(audit: _Audit, action: Action) -> None:
    """PIM activations (request, completion, expiry) and the scoped AU role."""
    role = action.target if action.kind == "pim" else action.detail
    template = ROLE_TEMPLATES[role]
    role_target = _target(
        "Role",
        _named_guid("role", role),
        role,
        [
            _change("Role.DisplayName", None, json.dumps(role)),
            _change("Role.TemplateId", None, json.dumps(template)),
        ],
    )
    if action.kind == "au_scoped_role":
        au = _target("AdministrativeUnit", _named_guid("au", ADMIN_UNIT), ADMIN_UNIT)
        audit.add(
            action,
            "Add scoped member to role",
            "RoleManagement",
            [role_target, _user_target(action.target), au],
            op_type="Assign",
            details=_agent(audit, action),
        )
        return
    hours, reason = action.detail.split("|", 1)
    who = _user_target(action.actor)
    start = action.time.strftime("%Y-%m-%dT%H:%M:%SZ")
    end_time = action.time + dt.timedelta(hours=int(hours))
    details = [
        ("RoleDefinitionOriginId", template),
        ("StartTime", start),
        ("ExpirationTime", end_time.strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("Justification", reason),
    ]
    audit.add(
        action,
        "Add member to role requested (PIM activation)",
        "RoleManagement",
        [role_target, who],
        service="PIM",
        op_type="CreateRequest",
        details=details,
    )
    audit.add(
        action,
        "Add member to role completed (PIM activation)",
        "RoleManagement",
        [role_target, who],
        service="PIM",
        op_type="Assign",
        actor="MS-PIM",
        details=details,
        delay=4,
    )
    audit.add(
        action,
        "Remove member from role (PIM activation expired)",
        "RoleManagement",
        [role_target, who],
        service="PIM",
        op_type="Unassign",
        actor="MS-PIM",
        delay=int(hours) * 3600.0,
    )


def _agent(audit: _Audit, action: Action) -> list[tuple[str, str]]:
    """The admin's browser, which the admin center records as AdditionalDetails."""
    if action.actor not in audit.plan.present:
        return []
    return [("User-Agent", _browser_agent(audit.plan.present[action.actor].profile, 124))]


def _audit_apps(audit: _Audit, action: Action) -> None:
    """Credential rotation, app role grant, consent, app edits, CA and AU changes."""
    kind = action.kind
    agent = _agent(audit, action)
    if kind == "rotate_app_secret":
        app = application(action.target)
        old = _key_description(_initial_key(app.name), "Password", "pipeline-2025-09")
        new = _key_description(action.detail, "Password", "pipeline-2026-03")
        changes = [
            _change("KeyDescription", json.dumps([old]), json.dumps([old, new])),
            _change("Included Updated Properties", None, '"KeyDescription"'),
        ]
        target = _target("Application", _application_object_id(app.name), app.name, changes)
        audit.add(
            action,
            "Update application \u2013 Certificates and secrets management ",
            "ApplicationManagement",
            [target],
            details=[*agent, ("AppId", app.app_id)],
        )
        audit.add(
            action,
            "Update application",
            "ApplicationManagement",
            [_target("Application", _application_object_id(app.name), app.name)],
            delay=1,
            details=agent,
        )
    elif kind == "add_sp_credential":
        app = application(action.target)
        old = _key_description(_initial_key(app.name), "Password", "reporting-2025-09")
        new = _key_description(action.detail, "Password", "reporting-2026-03")
        target = _target(
            "ServicePrincipal",
            app.object_id,
            app.name,
            [_change("KeyDescription", json.dumps([old]), json.dumps([old, new]))],
        )
        audit.add(
            action,
            "Add service principal credentials",
            "ApplicationManagement",
            [target],
            details=[*agent, ("AppId", app.app_id)],
        )
        audit.add(
            action,
            "Update service principal",
            "ApplicationManagement",
            [_target("ServicePrincipal", app.object_id, app.name)],
            delay=1,
            details=agent,
        )
    elif kind == "app_role_grant":
        app = application(action.target)
        changes = [
            _change("AppRole.Id", None, json.dumps(_named_guid("app-role", action.detail))),
            _change("AppRole.Value", None, json.dumps(action.detail)),
            _change("ServicePrincipal.DisplayName", None, json.dumps(GRAPH_RESOURCE)),
            _change("ServicePrincipal.AppId", None, json.dumps(RESOURCE_IDS[GRAPH_RESOURCE])),
        ]
        audit.add(
            action,
            "Add app role assignment to service principal",
            "ApplicationManagement",
            [_target("ServicePrincipal", app.object_id, app.name, changes)],
            op_type="Assign",
            details=agent,
        )
    elif kind == "update_app":
        audit.add(
            action,
            "Update application",
            "ApplicationManagement",
            [
                _target(
                    "Application",
                    _application_object_id(action.target),
                    action.target,
                    [_change("AppAddress", "[]", "[]")],
                )
            ],
            details=agent,
        )
    else:
        _audit_consent_policy_au(audit, action, agent)


def _audit_consent_policy_au(audit: _Audit, action: Action, agent: list[tuple[str, str]]) -> None:
    kind = action.kind
    if kind == "consent":
        sp = _target("ServicePrincipal", _named_guid("sp", action.target), action.target)
        audit.add(
            action,
            "Add service principal",
            "ApplicationManagement",
            [sp],
            op_type="Add",
            details=[("AppId", GRAPH_CLI.app_id)],
        )
        consent = _target(
            "ServicePrincipal",
            sp["id"],
            action.target,
            [
                _change("ConsentContext.IsAdminConsent", None, '"True"'),
                _change("ConsentContext.OnBehalfOfAll", None, '"False"'),
                _change(
                    "ConsentAction.Permissions",
                    None,
                    json.dumps(f"Scope: {action.detail} openid profile"),
                ),
            ],
        )
        audit.add(
            action,
            "Consent to application",
            "ApplicationManagement",
            [consent],
            op_type="Assign",
            delay=2,
            details=agent,
        )
        audit.add(
            action,
            "Add delegated permission grant",
            "ApplicationManagement",
            [
                _target(
                    "ServicePrincipal",
                    _named_guid("sp", GRAPH_RESOURCE),
                    GRAPH_RESOURCE,
                    [_change("DelegatedPermissionGrant.Scope", None, json.dumps(action.detail))],
                ),
            ],
            op_type="Assign",
            delay=3,
        )
    elif kind == "ca_update":
        old = {
            "displayName": action.target,
            "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"], "excludeGroups": []}},
        }
        new = {
            "displayName": action.target,
            "state": "enabled",
            "conditions": {
                "users": {"includeUsers": ["All"], "excludeGroups": []},
                "locations": {"excludeLocations": ["AllTrusted"]},
            },
        }
        audit.add(
            action,
            "Update conditional access policy",
            "Policy",
            [
                _target(
                    "Policy",
                    _named_guid("ca-policy", action.target),
                    action.target,
                    [_change("ConditionalAccessPolicy", json.dumps(old), json.dumps(new))],
                )
            ],
            service="Conditional Access",
            details=agent,
        )
    elif kind == "au_create":
        audit.add(
            action,
            "Add administrative unit",
            "AdministrativeUnit",
            [
                _target(
                    "AdministrativeUnit",
                    _named_guid("au", ADMIN_UNIT),
                    ADMIN_UNIT,
                    [_change("DisplayName", "[]", json.dumps([ADMIN_UNIT]))],
                )
            ],
            op_type="Add",
            details=agent,
        )
    elif kind == "au_member":
        audit.add(
            action,
            "Add member to administrative unit",
            "AdministrativeUnit",
            [
                _target("AdministrativeUnit", _named_guid("au", ADMIN_UNIT), ADMIN_UNIT),
                _user_target(action.target),
            ],
            op_type="Assign",
            details=agent,
        )
    elif kind == "invite":
        audit.add(
            action,
            "Invite external user",
            "UserManagement",
            [_target("User", _named_guid("guest", action.target), action.target)],
            op_type="Add",
            service="Invited Users",
        )
    elif kind == "redeem":
        audit.add(
            action,
            "Redeem external user invite",
            "UserManagement",
            [_target("User", _named_guid("guest", action.target), action.target)],
            op_type="Update",
            service="Invited Users",
        )


GRAPH_SDK_AGENT = "Microsoft Graph .NET SDK; msgraph-sdk-dotnet/5.44.0"
_AUDIT_HANDLERS = (
    (
        {
            "hr_update",
            "hr_add_user",
            "substrate_update",
            "reset_password",
            "mfa_reset",
            "mfa_register",
            "sspr",
            "change_password",
        },
        _audit_user_changes,
    ),
    (
        {
            "group_add",
            "group_remove",
            "group_update",
            "license",
            "app_assignment",
            "device_update",
            "device_register",
        },
        _audit_groups_devices,
    ),
    ({"pim", "au_scoped_role"}, _audit_roles),
)


def _audit_rows(ctx: SimContext, day: int, plan: DayPlan) -> list[Row]:
    audit = _Audit(ctx, ctx.rng("entra", "audit", day), plan)
    for action in plan.actions:
        handler = next((h for kinds, h in _AUDIT_HANDLERS if action.kind in kinds), _audit_apps)
        handler(audit, action)
    return audit.rows


# --------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------


def generate(ctx: SimContext) -> dict[str, list[Row]]:
    """Benign rows for SigninLogs, AADServicePrincipalSignInLogs and AuditLogs."""
    signins: list[Row] = []
    sp: list[Row] = []
    audit: list[Row] = []
    for day in ctx.day_range():
        plan = _day_plan(ctx, day)
        rng = ctx.rng("entra", "rows", day)
        signins += [_signin_row(rng, s) for s in plan.signins]
        sp += [_sp_row(t) for t in _sp_tokens(ctx, day)]
        audit += _audit_rows(ctx, day, plan)
    return {"SigninLogs": signins, "AADServicePrincipalSignInLogs": sp, "AuditLogs": audit}
