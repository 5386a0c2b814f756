"""Storage credential theft and an application for later (T1552, T1530, T1098.001): with a
stolen Azure session an intruder has the control plane hand out a credential for a
storage account, copies blobs out with it from its own server, then registers an
application of its own (with a secret or a certificate) to come back as.

Per instance: whose session (a data engineer or an engineer with rights on the storage
accounts), the intruder's server (`hosted`) and sign-in risk, how the credential is
obtained (the account keys listed, an account SAS or per-container service SAS issued by
ARM, or a Storage Blob Data role assigned to oneself and a user-delegation key taken
with it), which account, which containers and how many blobs, the copying tool (AzCopy,
the Azure CLI or Storage Explorer, in versions Contoso's staff never run; AzCopy, which
cannot sign with an account key, gets a SAS signed with the listed key), the control
plane client (Azure CLI or Az PowerShell), the application's name (an imitation of a
business or platform name), its credential (a client secret or a certificate) and the
time of day. ARM records carry the sign-in's token id; Entra records each registration
step under the client request id Graph logs for it.

Look-alikes: backup tooling lists account keys and copies blobs with them; apps have ARM
issue account and service SAS and read with them; engineers list keys (or grant
themselves a data role and take a user-delegation key) and read a few blobs from the
offices; developers register applications with secrets and certificates from the offices.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.benign import azure_activity as arm
from pytest_ctirealm.telemetry.benign import entra, graph, storage
from pytest_ctirealm.telemetry.campaign import Instance
from pytest_ctirealm.telemetry.context import SimContext, guid, hex_string
from pytest_ctirealm.telemetry.scenarios.base import Stages, incident_start, lookalikes, scenario
from pytest_ctirealm.telemetry.scenarios.cloud.common import (
    Attack,
    Family,
    Login,
    Row,
    audit,
    graph_call,
    hosted,
    person_profile,
    person_target,
    sign_in,
    token_of,
    unregistered,
    user_arm_caller,
    user_by,
    user_caller,
)
from pytest_ctirealm.telemetry.scenarios.cloud.keyvault_policy import (
    ARM_ROLES,
    arm_write,
    role_body,
    succeeded,
)

CAMPAIGN = "storage_key_exfiltration"

LIST_ACCOUNT_SAS = arm._Op(
    "Microsoft.Storage/storageAccounts/listAccountSas/action", "List Storage Account SAS"
)
LIST_SERVICE_SAS = arm._Op(
    "Microsoft.Storage/storageAccounts/listServiceSas/action", "List Storage Service SAS"
)
#: Built-in Storage Blob Data roles (the same ids in every tenant).
BLOB_DATA_ROLES = {
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
}
GRANTED = {
    "blob_reader": "Storage Blob Data Reader",
    "blob_contributor": "Storage Blob Data Contributor",
    "blob_owner": "Storage Blob Data Owner",
}
_MIB = storage._MIB

#: Whose session the intruder holds: people with rights on the storage accounts.
_VICTIMS = (
    "mila.bos",
    "laura.mulder",
    "fatima.garcia",
    "alice.garcia",
    "jan.wang",
    "emma.brown",
    "carlos.vos",
    "dmitri.ivanov",
    "liam.devries",
)

# -- what the accounts hold ----------------------------------------------------------------


def _objects(a: Attack, account: str, container: str, count: int) -> list[tuple[str, int]]:
    """*count* blobs of *container* (path under the account, size), newest first."""
    day = a.now.replace(hour=0, minute=0, second=0, microsecond=0)
    out = []
    for back in range(1, count + 1):
        stamp = day - dt.timedelta(days=back)
        if container == "pgdump":
            out.append((f"pgdump/appdb-{stamp:%Y-%m-%d}.dump", a.rng.randint(380, 460) * _MIB))
        elif container == "uploads" and account == storage._BACKUP_ACCOUNT:
            out.append((f"uploads/uploads-{stamp:%Y-%m-%d}.tar", a.rng.randint(180, 320) * _MIB))
        elif container == "releases":
            out.append(
                (
                    f"releases/release-{4000 + a.rng.randrange(200)}/app.tar.gz",
                    a.rng.randint(70, 180) * _MIB,
                )
            )
        else:
            ext = a.rng.choice(
                ("pdf", "docx", "json") if container == "documents" else ("png", "jpg")
            )
            stamp -= dt.timedelta(days=a.rng.randrange(60))
            out.append(
                (
                    f"{container}/{stamp:%Y/%m/%d}/{guid(a.rng)}.{ext}",
                    a.rng.randint(40_000, 6 * _MIB),
                )
            )
    return out


CONTAINERS = {
    storage._BACKUP_ACCOUNT: ("pgdump", "uploads"),
    storage._PROD_ACCOUNT: ("documents", "uploads", "releases"),
}

# -- the intruder's tools (versions Contoso's staff never run) -----------------------------

_AZCOPY = ("10.21.2", "10.22.2", "10.23.0", "10.24.0", "10.25.1", "10.27.1")
_GO = ("1.21.5", "1.21.9", "1.22.3", "1.22.7")
_EXPLORER = ("1.31.1", "1.32.1", "1.33.0", "1.34.0", "1.36.0")
_NODE = ("v18.17.1", "v18.18.2", "v20.11.1")
_CLI_VERSIONS = ("2.53.1", "2.55.0", "2.57.0", "2.58.0", "2.59.0", "2.60.0", "2.61.0", "2.62.0")
_PYTHONS = ("3.10.14", "3.11.7", "3.11.9", "3.12.3")
_PLATFORMS = (
    "Linux-6.8.0-1014-aws-x86_64-with-glibc2.39",
    "Linux-5.15.0-1057-aws-x86_64-with-glibc2.35",
    "Linux-6.5.0-35-generic-x86_64-with-glibc2.35",
    "Linux-6.1.0-18-cloud-amd64-x86_64-with-glibc2.36",
    "macOS-14.4.1-arm64-arm-64bit",
)
_PWSH = ("7.4.1", "7.4.2", "7.3.12", "7.4.3")


@dataclass(frozen=True)
class Kit:
    """The intruder's clients: the control plane's (ARM and Graph) and the copying tool."""

    app: env.App  # the first-party client the stolen session belongs to
    signin: entra.Client
    graph_agent: str  # Graph's UserAgent (and the audit's User-Agent detail)
    cli_storage: str  # the CLI's storage SDK agent (user-delegation keys)
    tool: str  # "azcopy", "azure_cli" or "storage_explorer"
    agent: str  # the copying tool's UserAgentHeader
    version: str  # x-ms-version it sends


def _kit(instance: Instance) -> Kit:
    python = instance.pick("python", _PYTHONS)
    system = instance.pick("os", _PLATFORMS)
    cli = instance.pick("cli_version", _CLI_VERSIONS)
    cli_storage = (
        f"AZURECLI/{cli} (PIP) azsdk-python-storage-blob/12.19.0 Python/{python} ({system})"
    )
    if instance.pick("control_client", ("azure_cli", "az_powershell")) == "azure_cli":
        app, signin = env.AZURE_CLI, entra.CLI
        graph_agent = f"python/{python} ({system}) AZURECLI/{cli} (PIP)"
    else:
        app, signin = env.AZURE_POWERSHELL, entra.POWERSHELL
        pwsh = instance.pick("pwsh", _PWSH)
        graph_agent = f"Mozilla/5.0 (Linux; Ubuntu 22.04.4 LTS; en-US) PowerShell/{pwsh}"
    tool = instance.pick("tool", ("azcopy", "azure_cli", "storage_explorer"))
    if tool == "azcopy":
        go = instance.pick("go", _GO)
        target = instance.pick("azcopy_os", ("linux", "windows", "darwin"))
        agent = f"AzCopy/{instance.pick('azcopy', _AZCOPY)} Azure-Storage/0.1 (go{go}; {target})"
        version = "2023-08-03"
    elif tool == "azure_cli":
        agent, version = cli_storage, "2021-08-06"
    else:
        node = instance.pick("node", _NODE)
        agent = (
            f"Microsoft Azure Storage Explorer, {instance.pick('explorer', _EXPLORER)}, linux, "
            f"azsdk-js-storageblob/12.17.0 (NODE-VERSION {node}; Linux 6.5.0-35-generic)"
        )
        version = "2022-11-02"
    return Kit(app, signin, graph_agent, cli_storage, tool, agent, version)


# -- credentials ---------------------------------------------------------------------------


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _sas_client(
    a: Attack,
    ip: str,
    agent: str,
    version: str,
    query: str,
    signer: str,
    object_id: str | None = None,
) -> storage._Client:
    signature = hex_string(a.rng, 64).upper()
    return storage._Client(
        "SAS",
        ip,
        agent,
        version,
        object_id=object_id,
        sas=query + "&sig=XXXXX",
        sas_hash=f"{signer},SasSignature({signature})",
    )


def _account_sas(moment: dt.datetime, days: int) -> str:
    expiry = moment + dt.timedelta(days=days)
    return f"sv=2022-11-02&ss=b&srt=sco&sp=rl&se={_stamp(expiry)}&spr=https"


def _service_sas(moment: dt.datetime, hours: int) -> str:
    expiry = moment + dt.timedelta(hours=hours)
    return f"sv=2022-11-02&sr=c&sp=rl&se={_stamp(expiry)}&spr=https"


def _delegation_sas(moment: dt.datetime, object_id: str, hours: int) -> str:
    expiry = moment + dt.timedelta(hours=hours)
    return (
        f"sv=2022-11-02&skoid={object_id}&sktid={env.TENANT_ID}&skt={_stamp(moment)}"
        f"&ske={_stamp(expiry)}&sks=b&skv=2022-11-02&sr=c&sp=rl&se={_stamp(expiry)}&spr=https"
    )


def account_id(account: str) -> str:
    return arm._arm_id(account, "Microsoft.Storage/storageAccounts")


# -- the intrusion -------------------------------------------------------------------------


@scenario(
    CAMPAIGN,
    "cloud",
    ("session", "list_keys", "blob_theft", "new_app_requests", "new_app", "app_credential"),
)
def storage_key_exfiltration(ctx: SimContext) -> Stages:
    """Sign in, obtain a storage credential through ARM, copy blobs, register an app.

    Stages: `session` the stolen session's sign-ins (ARM, then Graph) and the Azure Policy
    evaluations its role assignment triggers, if it makes one; `list_keys` the ARM
    records of the step that hands out the credential (listKeys, listAccountSas,
    listServiceSas, or the Storage Blob Data role the intruder assigns itself);
    `blob_theft` every blob request from the intruder's server; `new_app_requests` the
    Graph requests registering the application; `new_app` the directory's records of the
    application, its service principal and its owner; `app_credential` the credential
    added to it (Graph request and directory records)."""
    instance = Instance(ctx, CAMPAIGN)
    victim = env.person(instance.pick("victim", _VICTIMS))
    instance.keep("victim_upn", victim.upn)
    kit = _kit(instance)
    infra = hosted(instance, "attacker_ip")
    ip = infra.ip
    window = instance.pick("hours", ((0, 7), (7, 12), (12, 18), (18, 24)))
    start = min(incident_start(ctx, CAMPAIGN, window), ctx.end - dt.timedelta(hours=5))
    a = Attack(ctx, CAMPAIGN, start)
    risk = {"no_risk": "none", "low_risk": "low", "medium_risk": "medium"}[
        instance.pick("risk", ("no_risk", "low_risk", "medium_risk"))
    ]
    events = {"none": (), "low": ("unfamiliarFeatures",), "medium": ("anonymizedIPAddress",)}
    profile = unregistered(person_profile(ctx, victim))
    signin = sign_in(
        a,
        profile,
        infra.network,
        Login(kit.signin, entra.ARM_RESOURCE, risk=risk, risk_events=events[risk]),
    )
    a.add("session", "SigninLogs", signin)
    uti = str(signin["UniqueTokenIdentifier"])

    account = instance.pick("account", sorted(CONTAINERS))
    held = CONTAINERS[account]
    containers = instance.sample("containers", held, instance.between(1, len(held)))
    method = instance.pick(
        "credential", ("list_keys", "account_sas", "service_sas", "user_delegation")
    )
    a.wait(60, 300)
    steps, client = _credential(a, instance, method, victim, kit, ip, account, containers, uti)
    a.add("list_keys", "AzureActivity", *steps)

    a.wait(20, 180)
    a.add("blob_theft", "StorageBlobLogs", *_copy(a, instance, kit, client, account, containers))

    a.wait(600, 3600)
    graph_signin = sign_in(
        a,
        profile,
        infra.network,
        Login(kit.signin, entra.GRAPH_RESOURCE, risk=risk, risk_events=events[risk]),
    )
    a.add("session", "SigninLogs", graph_signin)
    name = instance.name_like("app_name", _APP_PREFIXES, _APP_SUFFIXES, joiner=" ")
    credential = instance.pick("app_credential", ("client_secret", "x509_certificate"))
    label = instance.name_like("credential_label", _LABEL_HEADS, _LABEL_TAILS, joiner="-")
    caller = user_caller(victim, kit.app.app_id, ip, kit.graph_agent, token_of(graph_signin))
    a.wait(20, 90)
    register_app(a, caller, user_by(victim, ip), victim, name, credential, label, kit.graph_agent)
    return a.stages


def _credential(
    a: Attack,
    instance: Instance,
    method: str,
    victim: env.Person,
    kit: Kit,
    ip: str,
    account: str,
    containers: list[str],
    uti: str,
) -> tuple[list[Row], storage._Client]:
    """The ARM records of the credential step, and the client the copying tool becomes."""
    resource = account_id(account)
    roles = ("rg_owner", "user_access_admin")
    if method != "user_delegation":
        roles = ("rg_contributor", "storage_contributor")
    caller = user_arm_caller(victim, kit.app, ARM_ROLES[instance.pick("arm_role", roles)])
    rows: list[Row] = []

    def act(op: arm._Op, request: dict[str, Any] | None = None) -> None:
        done = arm._operation(a.rng, a.now, caller, ip, op, resource, request=request, fail="")
        rows.extend(done)
        a.now = done[-1]["TimeGenerated"]

    if method == "user_delegation":
        role = GRANTED[instance.pick("granted_role", sorted(GRANTED))]
        body = role_body(victim.object_id, "User", BLOB_DATA_ROLES[role], resource)
        assignment = arm._assignment_id(a.rng, resource)
        own, policy = arm_write(a, caller, ip, arm._ROLE_WRITE, assignment, body)
        a.add("session", "AzureActivity", *policy)
        rows.extend(own)
        a.wait(30, 240)
        key = storage._Client(
            "OAuth",
            ip,
            kit.cli_storage,
            "2021-08-06",
            victim.object_id,
            kit.app.app_id,
            victim.upn,
            "User",
        )
        # The key request is the first blob request from the intruder's server.
        request = storage._Request("GetUserDelegationKey", account, size=430)
        a.add("blob_theft", "StorageBlobLogs", storage._row(a.rng, a.now, key, request))
        a.wait(2, 30)
        query = _delegation_sas(a.now, victim.object_id, instance.between(4, 48))
        signer = f"UserDelegationKey({hex_string(a.rng, 64).upper()})"
        client = _sas_client(a, ip, kit.agent, kit.version, query, signer, victim.object_id)
    elif method == "list_keys":
        for _ in range(instance.between(2, 3) if kit.tool == "azure_cli" else 1):
            act(arm._LIST_KEYS)
            a.wait(5, 90)
        if kit.tool == "azcopy":
            # AzCopy cannot sign with a key: a SAS is signed with it locally.
            query = _account_sas(a.now, instance.between(1, 30))
            signer = storage._account_key(account)
            client = _sas_client(a, ip, kit.agent, kit.version, query, signer)
        else:
            client = storage._Client("AccountKey", ip, kit.agent, kit.version)
    elif method == "account_sas":
        expiry = a.now + dt.timedelta(days=instance.between(1, 365))
        body = {
            "signedServices": "b",
            "signedResourceTypes": "sco",
            "signedPermission": "rl",
            "signedProtocol": "https",
            "signedExpiry": _stamp(expiry),
            "keyToSign": "key1",
        }
        act(LIST_ACCOUNT_SAS, body)
        query = f"sv=2022-11-02&ss=b&srt=sco&sp=rl&se={_stamp(expiry)}&spr=https"
        client = _sas_client(a, ip, kit.agent, kit.version, query, storage._account_key(account))
    else:
        hours = instance.between(2, 72)
        for container in containers:
            body = {
                "canonicalizedResource": f"/blob/{account}/{container}",
                "signedResource": "c",
                "signedPermission": "rl",
                "signedProtocol": "https",
                "signedExpiry": _stamp(a.now + dt.timedelta(hours=hours)),
            }
            act(LIST_SERVICE_SAS, body)
            a.wait(3, 60)
        query = _service_sas(a.now, hours)
        client = _sas_client(a, ip, kit.agent, kit.version, query, storage._account_key(account))
    for row in rows:
        row["Claims_d"]["uti"] = uti
        row["Claims"] = json.dumps(row["Claims_d"])
    return rows, client


def _copy(
    a: Attack,
    instance: Instance,
    kit: Kit,
    client: storage._Client,
    account: str,
    containers: list[str],
) -> list[Row]:
    """Enumerate the account and the containers, then download what the intruder came
    for (AzCopy checks each blob's properties before it reads it)."""
    rows = []
    listings = [storage._Request("ListContainers", account, size=a.rng.randint(1_500, 4_000))]
    listings += [
        storage._Request("ListBlobs", account, c, size=a.rng.randint(4_000, 90_000))
        for c in containers
    ]
    for request in listings:
        rows.append(storage._row(a.rng, a.now, client, request))
        a.wait(0.3, 4)
    taken = 0
    for index, container in enumerate(containers):
        count = instance.between(6, 12) if index == 0 else instance.between(2, 8)
        taken += count
        for path, size in _objects(a, account, container, count):
            if kit.tool == "azcopy":
                check = storage._Request("GetBlobProperties", account, path)
                rows.append(storage._row(a.rng, a.now, client, check))
                a.wait(0.05, 0.4)
            read = storage._Request("GetBlob", account, path, size=size)
            rows.append(storage._row(a.rng, a.now, client, read))
            seconds = 1 + size / (60 * _MIB)
            a.wait(seconds, seconds * 1.6)
    instance.keep("blobs", taken)
    return rows


# -- the application -----------------------------------------------------------------------

_APP_PREFIXES = ("Azure", "Storage", "Backup", "Data", "Blob", "Cloud", "Contoso", "Archive", "Ops")
_APP_SUFFIXES = (
    "Sync Agent",
    "Connector",
    "Replication",
    "Monitor",
    "Migration",
    "Reporting",
    "Archiver",
    "Automation",
    "Export Service",
    "Health Check",
)
_LABEL_HEADS = ("sync", "automation", "rotation", "default", "prod", "svc", "backup", "agent")
_LABEL_TAILS = ("key", "secret", "cred", "2026", "01", "primary")


def register_app(
    a: Attack,
    caller: graph.Caller,
    by: tuple[dict[str, Any], str],
    owner: env.Person,
    name: str,
    credential: str,
    label: str,
    agent: str,
    stages: tuple[str, str, str] = ("new_app_requests", "new_app", "app_credential"),
) -> None:
    """Register an application through Graph (its service principal, its owner) and add
    a client secret or a certificate to it. Entra logs each request's ClientRequestId
    as the CorrelationId of the directory records it causes."""
    requests_stage, app_stage, credential_stage = stages
    app_id = guid(a.rng)
    app_object, sp_object = guid(a.rng), guid(a.rng)
    details = [("AppId", app_id), ("User-Agent", agent)]
    app_target = entra._target(
        "Application",
        app_object,
        name,
        [
            entra._change("AppId", "[]", json.dumps([app_id])),
            entra._change("DisplayName", "[]", json.dumps([name])),
            entra._change("AvailableToOtherTenants", "[]", "[false]"),
        ],
    )

    def request(stage: str, method: str, path: str, status: tuple[int, int] | None = None) -> str:
        a.wait(2, 15)
        row = graph_call(a, caller, method, path, status)
        a.add(stage, "MicrosoftGraphActivityLogs", row)
        a.wait(0.2, 1.5)
        return str(row["ClientRequestId"])

    def record(
        stage: str, correlation: str, operation: str, targets: list[dict[str, Any]], op_type: str
    ) -> None:
        a.add(
            stage,
            "AuditLogs",
            audit(
                a,
                by,
                operation,
                "ApplicationManagement",
                targets,
                correlation=correlation,
                op_type=op_type,
                details=details,
            ),
        )
        a.wait(0.1, 1.0)

    correlation = request(requests_stage, "POST", "/v1.0/applications")
    record(app_stage, correlation, "Add application", [app_target], "Add")
    owned = [entra._target("Application", app_object, name), person_target(owner)]
    record(app_stage, correlation, "Add owner to application", owned, "Assign")
    correlation = request(requests_stage, "POST", "/v1.0/servicePrincipals")
    sp = entra._target(
        "ServicePrincipal", sp_object, name, [entra._change("AppId", "[]", json.dumps([app_id]))]
    )
    record(app_stage, correlation, "Add service principal", [sp], "Add")

    key = guid(a.rng)
    if credential == "x509_certificate":
        kind, path, method = "AsymmetricX509Cert", f"/v1.0/applications/{app_object}", "PATCH"
        description = entra._key_description(key, kind, f"CN={label}")
    else:
        kind, path, method = "Password", f"/v1.0/applications/{app_object}/addPassword", "POST"
        description = entra._key_description(key, kind, label)
    status = (200, a.rng.randint(400, 700)) if method == "POST" else None
    correlation = request(credential_stage, method, path, status)
    changes = [
        entra._change("KeyDescription", "[]", json.dumps([description])),
        entra._change("Included Updated Properties", None, '"KeyDescription"'),
    ]
    record(
        credential_stage,
        correlation,
        "Update application \u2013 Certificates and secrets management ",
        [entra._target("Application", app_object, name, changes)],
        "Update",
    )
    record(
        credential_stage,
        correlation,
        "Update application",
        [entra._target("Application", app_object, name)],
        "Update",
    )


# -- look-alikes ---------------------------------------------------------------------------

#: Contoso's own storage clients (the versions its pipelines and engineers run).
_CONTOSO_CLI = (
    "AZURECLI/2.64.0 (DEB) azsdk-python-storage-blob/12.19.0 Python/3.11.8 "
    "(Linux-6.5.0-1025-azure-x86_64-with-glibc2.35)"
)
_DEVELOPERS = (
    "mila.patel",
    "mila.brouwer",
    "fatima.bakker",
    "lucia.mulder",
    "john.mulder",
    "laura.visser",
    "sarah.peters",
    "sofia.miller",
    "lucas.miller",
    "daan.brouwer",
    "lucia.dekker",
    "liam.bakker",
    "lotte.miller",
)
_ENGINEERS = (
    "alice.smith",
    "raj.patel",
    "dmitri.ivanov",
    "liam.devries",
    "sarah.meijer",
    "wei.chen",
)
_TEAMS = ("payments", "search", "billing", "catalog", "mobile", "analytics", "platform", "support")
_PURPOSES = ("api", "web", "worker", "oidc", "sso", "e2e-tests", "export", "grafana")
_STAGES = ("dev", "test", "staging", "prod")
#: Where the SIEM connector runs (an Azure region's outbound addresses).
_SIEM_IPS = ("20.73.220.15", "20.73.221.40")


def _office(f: Family, alias: str) -> str:
    return env.VPN_IP if f.rng.random() < 0.15 else env.OFFICE_IPS[env.person(alias).country]


def _reads(
    f: Family,
    client: storage._Client,
    account: str,
    container: str,
    count: int,
    gap: tuple[float, float] = (0.5, 8.0),
) -> list[Row]:
    """A container listed, then *count* of its blobs read."""
    rows = [
        storage._row(
            f.rng,
            f.now,
            client,
            storage._Request("ListBlobs", account, container, size=f.rng.randint(3_000, 60_000)),
        )
    ]
    for path, size in _objects(f, account, container, count):
        f.wait(*gap)
        rows.append(
            storage._row(
                f.rng, f.now, client, storage._Request("GetBlob", account, path, size=size)
            )
        )
    return rows


def _arm(
    f: Family,
    caller: arm._Caller,
    ip: str,
    op: arm._Op,
    resource: str,
    request: dict[str, Any] | None = None,
) -> list[Row]:
    """One ARM request as the background writes them (it may fail); the clock moves on."""
    rows = arm._operation(f.rng, f.now, caller, ip, op, resource, request=request)
    f.now = max(f.now, rows[-1]["TimeGenerated"])
    f.add(f.name, "AzureActivity", *rows)
    return rows


def _backup_copies(ctx: SimContext) -> dict[str, list[Row]]:
    """Backup tooling lists an account's keys, then copies blobs with them: the backup
    Function App with the key itself, the backup runner with AzCopy and a SAS signed
    with the key."""
    f = Family(ctx, CAMPAIGN, "backup_copies")
    for moment in f.times(1, 3, office=False):
        f.at(moment)
        account = f.rng.choice(sorted(CONTAINERS))
        if f.rng.random() < 0.5:
            ip = f.rng.choice(arm._FUNCTION_IPS)
            caller = arm._FUNCTION_MI
            client = storage._Client("AccountKey", ip, storage._DOTNET_UA)
        else:
            ip = arm._PROD_EGRESS_IP
            caller = arm._BACKUP_RUNNER
            query = _account_sas(f.now, 1)
            client = _sas_client(
                f, ip, storage._AZCOPY_UA, "2023-08-03", query, storage._account_key(account)
            )
        if not succeeded(_arm(f, caller, ip, arm._LIST_KEYS, account_id(account))):
            continue
        f.wait(5, 60)
        container = f.rng.choice(CONTAINERS[account])
        f.add(
            f.name,
            "StorageBlobLogs",
            *_reads(f, client, account, container, f.rng.randint(5, 25), (0.2, 3)),
        )
    return f.stages.get(f.name, {})


def _sas_apps(ctx: SimContext) -> dict[str, list[Row]]:
    """Apps have ARM issue SAS and read with it: the SIEM connector an account SAS for the
    diagnostic logs, the invoice processor a service SAS for the documents, the backup
    runner an account SAS to test a restore."""
    f = Family(ctx, CAMPAIGN, "sas_apps")
    logs = storage._LOGS_ACCOUNT
    for moment in f.times(2, 5, office=False):
        f.at(moment)
        kind = f.rng.choice(("siem", "invoices", "restore"))
        expiry = f.now + dt.timedelta(hours=f.rng.choice((1, 2, 8, 24)))
        if kind == "siem":
            ip = f.rng.choice(_SIEM_IPS)
            caller = arm._app_caller(
                env.application("siem-connector"), "Storage Account Contributor"
            )
            body = {
                "signedServices": "b",
                "signedResourceTypes": "co",
                "signedPermission": "rl",
                "signedProtocol": "https",
                "signedExpiry": _stamp(expiry),
                "keyToSign": "key1",
            }
            if not succeeded(_arm(f, caller, ip, LIST_ACCOUNT_SAS, account_id(logs), body)):
                continue
            query = f"sv=2022-11-02&ss=b&srt=co&sp=rl&se={_stamp(expiry)}&spr=https"
            client = _sas_client(
                f, ip, storage._PYTHON_UA, "2023-11-03", query, storage._account_key(logs)
            )
            f.wait(1, 20)
            rows = [
                storage._row(
                    f.rng,
                    f.now,
                    client,
                    storage._Request(
                        "ListBlobs",
                        logs,
                        "insights-logs-auditevent",
                        size=f.rng.randint(20_000, 200_000),
                    ),
                )
            ]
            for _ in range(f.rng.randint(3, 10)):
                f.wait(0.2, 2)
                hour = f.now - dt.timedelta(hours=f.rng.randint(1, 6))
                path = (
                    f"insights-logs-auditevent/resourceId=/y={hour:%Y}/m={hour:%m}/d={hour:%d}/"
                    f"h={hour:%H}/m=00/PT1H.json"
                )
                rows.append(
                    storage._row(
                        f.rng,
                        f.now,
                        client,
                        storage._Request("GetBlob", logs, path, size=f.rng.randint(4_000, 400_000)),
                    )
                )
            f.add(f.name, "StorageBlobLogs", *rows)
            continue
        if kind == "invoices":
            account, container = storage._PROD_ACCOUNT, "documents"
            caller = arm._app_caller(
                env.application("invoice-processor"), "Storage Account Contributor"
            )
            ip, reader = arm._PROD_EGRESS_IP, f.rng.choice(env.AKS.node_ips)
            agent, version = storage._JAVA_UA, "2023-08-03"
            body = {
                "canonicalizedResource": f"/blob/{account}/{container}",
                "signedResource": "c",
                "signedPermission": "r",
                "signedProtocol": "https",
                "signedExpiry": _stamp(expiry),
            }
            op = LIST_SERVICE_SAS
            query = _service_sas(f.now, 1).replace("sp=rl", "sp=r")
        else:
            account = storage._BACKUP_ACCOUNT
            container = f.rng.choice(CONTAINERS[account])
            caller, ip, reader = arm._BACKUP_RUNNER, arm._PROD_EGRESS_IP, "10.1.3.4"
            agent, version = storage._AZCOPY_UA, "2023-08-03"
            body = {
                "signedServices": "b",
                "signedResourceTypes": "sco",
                "signedPermission": "rl",
                "signedProtocol": "https",
                "signedExpiry": _stamp(expiry),
                "keyToSign": "key2",
            }
            op = LIST_ACCOUNT_SAS
            query = _account_sas(f.now, 1)
        if not succeeded(_arm(f, caller, ip, op, account_id(account), body)):
            continue
        f.wait(1, 30)
        client = _sas_client(f, reader, agent, version, query, storage._account_key(account))
        f.add(
            f.name, "StorageBlobLogs", *_reads(f, client, account, container, f.rng.randint(1, 6))
        )
    return f.stages.get(f.name, {})


def _engineer_key_reads(ctx: SimContext) -> dict[str, list[Row]]:
    """Engineers in the offices look into an account: the CLI lists the keys and reads a
    blob or two with them, Storage Explorer does the same, or the engineer assigns
    themselves a Storage Blob Data role and Explorer takes a user-delegation key."""
    f = Family(ctx, CAMPAIGN, "engineer_key_reads")
    for moment in f.times(1, 3):
        f.at(moment)
        alias = f.rng.choice(_ENGINEERS)
        who = env.person(alias)
        ip = _office(f, alias)
        account = f.rng.choice(sorted(CONTAINERS))
        container = f.rng.choice(CONTAINERS[account])
        resource = account_id(account)
        mode = f.rng.choice(("cli", "explorer", "self_role"))
        explorer = storage._EXPLORER_UA
        if mode == "self_role":
            caller = arm._person_caller(alias, env.AZURE_PORTAL)
            role = f.rng.choice(("Storage Blob Data Reader", "Storage Blob Data Contributor"))
            body = role_body(who.object_id, "User", BLOB_DATA_ROLES[role], resource)
            own, policy = arm_write(
                f, caller, ip, arm._ROLE_WRITE, arm._assignment_id(f.rng, resource), body, fail=None
            )
            f.add(f.name, "AzureActivity", *own, *policy)
            if not succeeded(own):
                continue
            f.wait(60, 900)
            key = storage._Client(
                "OAuth",
                ip,
                explorer,
                "2022-11-02",
                who.object_id,
                env.AZURE_CLI.app_id,
                who.upn,
                "User",
            )
            f.add(
                f.name,
                "StorageBlobLogs",
                storage._row(
                    f.rng, f.now, key, storage._Request("GetUserDelegationKey", account, size=430)
                ),
            )
            f.wait(1, 10)
            query = _delegation_sas(f.now, who.object_id, 1)
            signer = f"UserDelegationKey({hex_string(f.rng, 64).upper()})"
            client = _sas_client(f, ip, explorer, "2022-11-02", query, signer, who.object_id)
        else:
            app = env.AZURE_CLI if mode == "cli" else env.AZURE_PORTAL
            if not succeeded(_arm(f, arm._person_caller(alias, app), ip, arm._LIST_KEYS, resource)):
                continue
            f.wait(3, 60)
            agent = _CONTOSO_CLI if mode == "cli" else explorer
            client = storage._Client("AccountKey", ip, agent, "2022-11-02")
        f.add(
            f.name,
            "StorageBlobLogs",
            *_reads(f, client, account, container, f.rng.randint(1, 3), (5, 90)),
        )
    return f.stages.get(f.name, {})


def _developer_apps(ctx: SimContext) -> dict[str, list[Row]]:
    """Developers register applications for their services, with a client secret or a
    certificate, from the offices (CLI, PowerShell or the portal)."""
    f = Family(ctx, CAMPAIGN, "developer_apps")
    for moment in f.times(1, 2):
        f.at(moment)
        who = env.person(f.rng.choice(_DEVELOPERS))
        network = (
            entra._vpn()
            if f.rng.random() < 0.15
            else entra.Network(
                env.OFFICE_IPS[who.country],
                entra.OFFICE_ASNS[who.country],
                entra.OFFICE_PLACES[who.country],
                "office",
                entra.OFFICE_NETWORK_NAMES[who.country],
            )
        )
        client, agent = f.rng.choice(
            (
                (entra.CLI, "python/3.11.8 (Windows-10-10.0.22631-SP0) AZURECLI/2.63.0 (MSI)"),
                (
                    entra.POWERSHELL,
                    "Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.22631; en-US) PowerShell/7.4.5",
                ),
                (
                    entra.PORTAL,
                    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0",
                ),
            )
        )
        signin = sign_in(
            f, person_profile(ctx, who), network, Login(client, entra.GRAPH_RESOURCE, mfa=True)
        )
        f.add(f.name, "SigninLogs", signin)
        f.wait(30, 600)
        name = f"{f.rng.choice(_TEAMS)}-{f.rng.choice(_PURPOSES)}-{f.rng.choice(_STAGES)}"
        credential = f.rng.choice(("client_secret", "x509_certificate"))
        label = f"{name}-{f.now:%Y%m}"
        caller = user_caller(who, client.app_id, network.ip, agent, token_of(signin))
        stages = (f.name, f.name, f.name)
        register_app(
            f, caller, user_by(who, network.ip), who, name, credential, label, agent, stages
        )
    return f.stages.get(f.name, {})


_FAMILIES = {
    "backup_copies": _backup_copies,
    "sas_apps": _sas_apps,
    "engineer_key_reads": _engineer_key_reads,
    "developer_apps": _developer_apps,
}


@lookalikes(CAMPAIGN, tuple(_FAMILIES))
def storage_lookalikes(ctx: SimContext) -> Stages:
    return {name: family(ctx) for name, family in _FAMILIES.items()}
