"""The simulated company: one fixed environment that every table's events live in.

Contoso runs six Ubuntu VMs onboarded to Defender for Endpoint, an AKS cluster, two Azure
subscriptions, storage accounts, key vaults and an Entra ID tenant of ~150 people. The
environment is the same for every seed (the seed varies what happens in it), so tasks
can name hosts, people and resources.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass

DOMAIN = "contoso.com"
TENANT_ID = "5f3c9a8e-2b71-4d0e-9c63-8a1f4e7b2d90"
SUBSCRIPTIONS = {
    "prod": "a3d1e6f2-7c84-4b95-8e0a-1f2b3c4d5e6f",
    "dev": "b7e2f9a1-3d56-4c78-9a0b-2c3d4e5f6a7b",
}
LOCATION = "westeurope"
#: Corporate egress (NAT) addresses of the two offices, and the VPN gateway.
OFFICE_IPS = {"NL": "198.51.100.24", "US": "198.51.100.87"}
VPN_IP = "198.51.100.140"


def stable_guid(*parts: str) -> str:
    """A GUID derived from names, identical on every run."""
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def stable_hex(length: int, *parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


@dataclass(frozen=True)
class LinuxHost:
    """A Linux VM with Defender for Endpoint: what DeviceProcessEvents and DeviceFileEvents
    record as DeviceName/DeviceId, and what it runs."""

    name: str
    role: str
    private_ip: str
    admin_users: tuple[str, ...]

    @property
    def device_id(self) -> str:
        return stable_hex(40, "mde-device", self.name)


LINUX_HOSTS: tuple[LinuxHost, ...] = (
    LinuxHost("vm-web01", "web", "10.1.1.4", ("azureuser",)),
    LinuxHost("vm-web02", "web", "10.1.1.5", ("azureuser",)),
    LinuxHost("vm-app01", "app", "10.1.2.4", ("azureuser", "dmitri.ivanov")),
    LinuxHost("vm-db01", "db", "10.1.3.4", ("azureuser",)),
    LinuxHost("vm-jump01", "jump", "10.1.0.4", ("azureuser", "alice.smith", "raj.patel")),
    LinuxHost("vm-build01", "build", "10.1.4.4", ("azureuser",)),
)


def linux_host(name: str) -> LinuxHost:
    for host in LINUX_HOSTS:
        if host.name == name:
            return host
    raise KeyError(name)


@dataclass(frozen=True)
class Person:
    """An Entra ID user."""

    upn: str
    display_name: str
    object_id: str
    country: str
    department: str
    admin_roles: tuple[str, ...] = ()

    @property
    def is_admin(self) -> bool:
        return bool(self.admin_roles)


_FIRST = (
    "alice",
    "raj",
    "dmitri",
    "sofia",
    "liam",
    "emma",
    "noah",
    "mila",
    "lucas",
    "anna",
    "jan",
    "eva",
    "daan",
    "julia",
    "sem",
    "lotte",
    "omar",
    "fatima",
    "wei",
    "mei",
    "carlos",
    "lucia",
    "john",
    "mary",
    "james",
    "linda",
    "robert",
    "sarah",
    "david",
    "laura",
)
_LAST = (
    "smith",
    "patel",
    "ivanov",
    "jansen",
    "devries",
    "bakker",
    "visser",
    "smit",
    "meijer",
    "mulder",
    "bos",
    "vos",
    "peters",
    "hendriks",
    "dekker",
    "brouwer",
    "garcia",
    "chen",
    "wang",
    "khan",
    "nguyen",
    "johnson",
    "brown",
    "miller",
    "davis",
    "wilson",
    "moore",
)
_DEPARTMENTS = ("Engineering", "Sales", "Finance", "Operations", "HR", "Support", "Marketing")
_ADMINS = {
    "alice.smith": ("Global Administrator",),
    "raj.patel": ("Privileged Role Administrator", "Application Administrator"),
    "dmitri.ivanov": ("Cloud Application Administrator",),
    "sofia.jansen": ("User Administrator", "Helpdesk Administrator"),
    "liam.devries": ("Security Administrator",),
}


def _people() -> tuple[Person, ...]:
    rng = random.Random(20260302)
    names = list(_ADMINS)
    while len(names) < 150:
        candidate = f"{rng.choice(_FIRST)}.{rng.choice(_LAST)}"
        if candidate not in names:
            names.append(candidate)
    people = []
    for index, name in enumerate(names):
        first, last = name.split(".")
        people.append(
            Person(
                upn=f"{name}@{DOMAIN}",
                display_name=f"{first.title()} {last.title()}",
                object_id=stable_guid("user", name),
                country="US" if index % 4 == 3 else "NL",
                department="Engineering" if name in _ADMINS else rng.choice(_DEPARTMENTS),
                admin_roles=_ADMINS.get(name, ()),
            )
        )
    return tuple(people)


PEOPLE: tuple[Person, ...] = _people()


def person(alias: str) -> Person:
    """A person by the part of the UPN before the @."""
    for candidate in PEOPLE:
        if candidate.upn.split("@")[0] == alias:
            return candidate
    raise KeyError(alias)


@dataclass(frozen=True)
class App:
    """An Entra ID application with its service principal (or a managed identity)."""

    name: str
    app_id: str
    object_id: str
    kind: str  # "first-party", "application", "managed-identity"


def _app(name: str, kind: str = "application", app_id: str | None = None) -> App:
    return App(
        name,
        app_id or stable_guid("app", name),
        stable_guid("sp", name),
        kind,
    )


#: Microsoft first-party clients (their real, public application ids).
AZURE_PORTAL = _app("Azure Portal", "first-party", "c44b4083-3bb0-49c1-b47d-974e53cbdf3c")
AZURE_CLI = _app("Microsoft Azure CLI", "first-party", "04b07795-8ddb-461a-bbee-02f9e1bf7b46")
AZURE_POWERSHELL = _app(
    "Microsoft Azure PowerShell", "first-party", "1950a258-227b-4e31-a9cf-717495945fc2"
)
TEAMS = _app("Microsoft Teams", "first-party", "1fec8e78-bce4-4aaf-ab1b-5451cc387264")
GRAPH = _app("Microsoft Graph", "first-party", "00000003-0000-0000-c000-000000000000")

#: The company's own applications and managed identities.
APPLICATIONS: tuple[App, ...] = (
    _app("ci-deployer"),
    _app("contoso-web"),
    _app("contoso-api"),
    _app("backup-runner"),
    _app("siem-connector"),
    _app("hr-sync"),
    _app("invoice-processor"),
    _app("intune-reporting"),
    _app("id-web-prod", "managed-identity"),
    _app("id-api-prod", "managed-identity"),
    _app("id-func-backup", "managed-identity"),
    _app("id-aks-workload", "managed-identity"),
)


def application(name: str) -> App:
    for app in APPLICATIONS:
        if app.name == name:
            return app
    raise KeyError(name)


@dataclass(frozen=True)
class Cluster:
    name: str
    resource_group: str
    node_resource_group: str
    nodes: tuple[str, ...]
    node_ips: tuple[str, ...]
    namespaces: tuple[str, ...]
    kubernetes_version: str


AKS = Cluster(
    name="aks-prod",
    resource_group="rg-aks-prod",
    node_resource_group=f"MC_rg-aks-prod_aks-prod_{LOCATION}",
    nodes=tuple(f"aks-nodepool1-51397738-vmss00000{i}" for i in range(3)),
    node_ips=("10.224.0.4", "10.224.0.5", "10.224.0.6"),
    namespaces=(
        "default",
        "web",
        "api",
        "monitoring",
        "kube-system",
        "kube-public",
        "kube-node-lease",
        "gatekeeper-system",
    ),
    kubernetes_version="v1.29.7",
)

RESOURCE_GROUPS = ("rg-prod-web", "rg-prod-data", "rg-aks-prod", "rg-dev", AKS.node_resource_group)
STORAGE_ACCOUNTS = ("stcontosoprod", "stcontosobackup", "stcontosologs")
KEY_VAULTS = ("kv-contoso-prod", "kv-contoso-dev")
VIRTUAL_MACHINES = tuple(host.name for host in LINUX_HOSTS)
