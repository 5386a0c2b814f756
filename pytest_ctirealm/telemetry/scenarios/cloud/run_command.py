"""VM Run Command used to steal a managed identity's token (T1651, T1552.005, T1528).

An intruder holding an engineer's session (a token replayed with the compliant laptop's
device claims, so the compliant-device policy for Azure management is met) makes a
virtual machine print the access token of its managed identity, then acts as that
identity from its own server.

Per instance: whose session (an engineer with rights to run commands on VMs), the client
replayed (the portal, Azure CLI or Azure PowerShell, with the intruder's own user agent),
the attacker's server (`hosted`), when, the VM and which of its identities (its
system-assigned identity, or the user-assigned identity the VM carries), how the command
is run (the Run Command action, a managed Run Command resource, or a Custom Script
extension, each sometimes cleaned up afterwards, the extension's command sometimes kept
in protected settings that ARM does not log), the resource's name where one is created,
the script that fetches the token from the instance metadata service (curl, wget, Python
or PowerShell, plain or base64-wrapped, with or without the identity's client id) and
what the stolen token then does in Azure Resource Manager from the intruder's server
(storage account keys listed, a disk or a fresh snapshot exported through a SAS, the
backup Function App's settings read, the AKS admin credential fetched).

Look-alikes: engineers sign in to Azure management (from the office, the VPN, home or a
hotel) and run patching and diagnostic commands on VMs through the control plane, some of
them reading the metadata service or checking that the VM's identity gets a token; the
pipeline creates managed Run Commands and installs Custom Script extensions; managed
identities request tokens inside Azure and list storage keys, export disks and snapshots,
read app settings and fetch cluster credentials; the backup tooling snapshots and exports
disks at night.

Correlation follows one rule for attack and look-alikes: an ARM call made with a token a
sign-in issued carries the sign-in's UniqueTokenIdentifier as its `uti` claim; a managed
identity's token is never logged as a sign-in.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from typing import Any

from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.benign import azure_activity as arm
from pytest_ctirealm.telemetry.benign import entra
from pytest_ctirealm.telemetry.campaign import Instance
from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.scenarios.base import (
    Stages,
    incident_start,
    lookalikes,
    scenario,
)
from pytest_ctirealm.telemetry.scenarios.cloud.common import (
    Attack,
    Family,
    Login,
    Row,
    arm_operation,
    hosted,
    person_profile,
    sign_in,
    user_arm_caller,
)

CAMPAIGN = "run_command_token_theft"

#: Engineers who may run commands on Contoso's VMs (Virtual Machine Contributor or more).
OPERATORS = (
    "dmitri.ivanov",
    "raj.patel",
    "alice.smith",
    "liam.devries",
    "sarah.meijer",
    "wei.chen",
    "omar.devries",
    "anna.devries",
    "john.mulder",
    "carlos.vos",
    "liam.bakker",
    "laura.visser",
    "lucas.chen",
)
#: The user-assigned identity each VM carries besides its system-assigned one.
USER_ASSIGNED = {"vm-web01": "id-web-prod", "vm-web02": "id-web-prod", "vm-app01": "id-api-prod"}
#: Where the VNets' workloads reach ARM from: the production NAT gateway, and the dev one.
_DEV_EGRESS_IP = "20.160.74.212"
_CLIENTS = {
    "portal": (entra.PORTAL, env.AZURE_PORTAL),
    "cli": (entra.CLI, env.AZURE_CLI),
    "powershell": (entra.POWERSHELL, env.AZURE_POWERSHELL),
}
#: The intruder's own tooling (Contoso's staff use none of these builds).
_AGENTS = {
    "portal": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
        "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:126.0) Gecko/20100101 Firefox/126.0",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like "
        "Gecko) Chrome/125.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/125.0.0.0 Safari/537.36 Edg/125.0.0.0",
    ),
    "cli": (
        "python/3.10.12 (Linux-5.15.0-105-generic-x86_64-with-glibc2.35) AZURECLI/2.60.0 (DEB)",
        "python/3.11.8 (Linux-6.1.0-18-cloud-amd64-x86_64-with-glibc2.36) AZURECLI/2.59.0 (PIP)",
        "python/3.12.3 (Windows-10-10.0.19045-SP0) AZURECLI/2.62.0 (MSI)",
        "python/3.11.9 (Linux-6.5.0-35-generic-x86_64-with-glibc2.35) AZURECLI/2.61.0 (PIP)",
    ),
    "powershell": (
        "Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.19045; en-US) PowerShell/7.4.1",
        "Mozilla/5.0 (Linux; Ubuntu 22.04.4 LTS; en-US) PowerShell/7.4.2",
        "Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.17763; en-US) PowerShell/7.3.12",
    ),
}
#: When the intrusion starts: an evening, a night or a working day (UTC hours).
_WINDOWS = ((17, 23), (0, 5), (9, 16))

# -- operations ------------------------------------------------------------------------

_RUN_COMMANDS_WRITE = arm._Op(
    "Microsoft.Compute/virtualMachines/runCommands/write",
    "Create or Update Virtual Machine Run Command",
    True,
    (20, 120),
)
_RUN_COMMANDS_DELETE = arm._Op(
    "Microsoft.Compute/virtualMachines/runCommands/delete",
    "Delete Virtual Machine Run Command",
    True,
    (5, 30),
)
_EXTENSION_DELETE = arm._Op(
    "Microsoft.Compute/virtualMachines/extensions/delete",
    "Delete Virtual Machine Extension",
    True,
    (20, 90),
)
_DISK_EXPORT = arm._Op(
    "Microsoft.Compute/disks/beginGetAccess/action", "Get Disk SAS URI", True, (5, 30)
)
_SNAPSHOT_WRITE = arm._Op(
    "Microsoft.Compute/snapshots/write", "Create or update Snapshot", True, (10, 60)
)
_SNAPSHOT_EXPORT = arm._Op(
    "Microsoft.Compute/snapshots/beginGetAccess/action", "Get Snapshot SAS URI", True, (5, 30)
)
_AKS_ADMIN = arm._Op(
    "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action",
    "List clusterAdmin credential",
)
#: Every way a command reaches a VM through the control plane (and its clean-up).
COMMAND_OPERATIONS = (
    arm._RUN_COMMAND,
    _RUN_COMMANDS_WRITE,
    _RUN_COMMANDS_DELETE,
    arm._EXTENSION,
    _EXTENSION_DELETE,
)

# -- names the intruder gives what it creates (imitations of what admins and Azure use) --

_RUN_COMMAND_NAMES = (
    ("RunPatch", "PatchAssessment", "DiagCollect", "AgentHealth", "DiskCheck", "LogCollect"),
    ("-01", "-tmp", "Job", "-weekly", "Now", "-check"),
)
_EXTENSION_NAMES = (
    ("CustomScript", "config-app", "healthcheck", "bootstrap", "monitoring-agent", "vmaccess"),
    ("", "-linux", "-init", "Extension", "-01"),
)

# -- identities --------------------------------------------------------------------------


def _vm_id(vm: str) -> str:
    return arm._arm_id(vm, "Microsoft.Compute/virtualMachines")


def system_identity(vm: str) -> arm._Caller:
    """A VM's system-assigned identity as ARM logs it (xms_mirid is the VM itself)."""
    object_id = env.stable_guid("mi-system", vm)
    return arm._Caller(
        object_id,
        object_id,
        env.stable_guid("mi-system-app", vm),
        "ServicePrincipal",
        "Contributor",
        vm,
        _vm_id(vm),
    )


def user_identity(name: str) -> arm._Caller:
    return arm._app_caller(env.application(name), "Contributor")


def _egress(vm: str) -> str:
    """The address a VM's calls to ARM leave Azure from."""
    return (
        _DEV_EGRESS_IP if arm._PLACEMENT[vm][0] == env.SUBSCRIPTIONS["dev"] else arm._PROD_EGRESS_IP
    )


def _disk_id(vm: str, suffix: str = "") -> str:
    subscription, group = arm._PLACEMENT[vm]
    name = f"{vm}_OsDisk_1_{env.stable_hex(32, 'disk', vm)}" if not suffix else f"{vm}-{suffix}"
    return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Compute/disks/{name}"


def _snapshot_id(group: str, name: str) -> str:
    return (
        f"/subscriptions/{env.SUBSCRIPTIONS['prod']}/resourceGroups/{group}/providers/"
        f"Microsoft.Compute/snapshots/{name}"
    )


# -- the script that fetches the token -------------------------------------------------

_IMDS = "http://169.254.169.254/metadata/identity/oauth2/token"
_API_VERSIONS = ("2018-02-01", "2019-08-01")


def _token_url(instance: Instance, client_id: str | None) -> str:
    version = instance.pick("imds_api_version", _API_VERSIONS)
    url = f"{_IMDS}?api-version={version}&resource=https://management.azure.com/"
    return f"{url}&client_id={client_id}" if client_id else url


def _fetcher(instance: Instance, url: str) -> str:
    """One shell line that prints the token, in the form the instance uses."""
    forms = {
        "curl": f"curl -s -H Metadata:true '{url}'",
        "wget": f"wget -qO- --header=Metadata:true '{url}'",
        "python": (
            "python3 -c \"import urllib.request as r;print(r.urlopen(r.Request('"
            + url
            + "',headers={'Metadata':'true'})).read().decode())\""
        ),
        "powershell": (
            "pwsh -NoProfile -Command \"(Invoke-RestMethod -Headers @{Metadata='true'} -Uri '"
            + url
            + "').access_token\""
        ),
    }
    return forms[instance.pick("fetcher", sorted(forms))]


def _script(instance: Instance, client_id: str | None) -> list[str]:
    """The lines the command runs: the token request, sometimes base64-wrapped."""
    line = _fetcher(instance, _token_url(instance, client_id))
    if instance.pick("script_encoding", ("plain-text", "base64-wrapped")) == "base64-wrapped":
        encoded = base64.b64encode(line.encode()).decode()
        line = f"echo {encoded} | base64 -d | sh"
    return [line]


# -- the intrusion ---------------------------------------------------------------------


def _start(ctx: SimContext, instance: Instance) -> dt.datetime:
    """When the intrusion begins: an evening, a night or a working day, never in the
    window's first hours (the telemetry's opening rows would be the attack's)."""
    start = incident_start(ctx, CAMPAIGN, instance.rng.choice(_WINDOWS))
    if start < ctx.start + dt.timedelta(hours=8) and ctx.days > 1:
        start += dt.timedelta(days=1)
    return start


@scenario(
    CAMPAIGN,
    "cloud",
    ("signin", "run_command", "identity_abuse", "policy_audit"),
)
def run_command_token_theft(ctx: SimContext) -> Stages:
    """Replay the engineer's session, run the token request on the VM, use the token."""
    instance = Instance(ctx, CAMPAIGN)
    victim = env.person(instance.pick("victim", OPERATORS))
    infra = hosted(instance, "operator_ip")
    client_name = instance.pick("client", sorted(_CLIENTS))
    client, client_app = _CLIENTS[client_name]
    agent = instance.pick("user_agent", _AGENTS[client_name])
    vm = instance.pick("vm", env.VIRTUAL_MACHINES)
    kinds = ["system-assigned", "user-assigned"] if vm in USER_ASSIGNED else ["system-assigned"]
    kind = instance.pick("identity_kind", kinds)
    identity = user_identity(USER_ASSIGNED[vm]) if kind == "user-assigned" else system_identity(vm)
    instance.keep("identity", identity.display)
    a = Attack(ctx, CAMPAIGN, _start(ctx, instance))

    signin = sign_in(
        a,
        person_profile(ctx, victim),
        infra.network,
        Login(client, entra.ARM_RESOURCE, agent=agent),
    )
    a.add("signin", "SigninLogs", signin)
    caller = user_arm_caller(victim, client_app, "Virtual Machine Contributor")
    uti = str(signin["UniqueTokenIdentifier"])
    a.wait(120, 600)
    # A second identity on the VM makes IMDS ask which one: the user-assigned one is named.
    names_identity = kind == "user-assigned" and instance.chance(0.7)
    client_id = identity.app_id if instance.keep("names_identity", names_identity) else None
    script = _script(instance, client_id)
    technique = _run(a, instance, caller, infra.ip, vm, script, uti)

    a.wait(45, 300)
    for step in _abuse_plan(instance, vm, technique):
        step(a, identity, infra.ip)
        a.wait(30, 240)
    return a.stages


def _run(
    a: Attack,
    instance: Instance,
    caller: arm._Caller,
    ip: str,
    vm: str,
    script: list[str],
    uti: str,
) -> str:
    """Run *script* on *vm* in the way the instance chose (returned); the clock ends
    after it."""
    how = instance.pick("technique", ("run-command-action", "managed-run-command", "custom-script"))
    vm_id = _vm_id(vm)
    if how == "run-command-action":
        body: dict[str, Any] = {"commandId": "RunShellScript", "script": script}
        rows, _ = arm_operation(a, caller, ip, arm._RUN_COMMAND, vm_id, request=body, uti=uti)
        a.add("run_command", "AzureActivity", *rows)
        a.now = max(r["TimeGenerated"] for r in rows)
        return how
    if how == "managed-run-command":
        name = instance.name_like("resource_name", *_RUN_COMMAND_NAMES)
        resource = f"{vm_id}/runCommands/{name}"
        body = {
            "location": env.LOCATION,
            "properties": {
                "source": {"script": "\n".join(script)},
                "asyncExecution": False,
                "timeoutInSeconds": instance.pick("timeout", (60, 120, 300, 600)),
                "treatFailureAsDeploymentFailure": False,
            },
        }
        op, remove = _RUN_COMMANDS_WRITE, _RUN_COMMANDS_DELETE
    else:
        name = instance.name_like("resource_name", *_EXTENSION_NAMES)
        resource = f"{vm_id}/extensions/{name}"
        settings: dict[str, object] = {}
        if instance.pick("command_logged", ("settings", "protected-settings")) == "settings":
            settings = {"commandToExecute": " && ".join(script)}
        body = {
            "location": env.LOCATION,
            "properties": {
                "publisher": "Microsoft.Azure.Extensions",
                "type": "CustomScript",
                "typeHandlerVersion": "2.1",
                "autoUpgradeMinorVersion": True,
                "settings": settings,
            },
        }
        op, remove = arm._EXTENSION, _EXTENSION_DELETE
    rows, policy = arm_operation(a, caller, ip, op, resource, request=body, uti=uti)
    a.add("run_command", "AzureActivity", *rows)
    if policy:
        a.add("policy_audit", "AzureActivity", *policy)
    a.now = max(r["TimeGenerated"] for r in rows)
    if instance.keep("cleaned_up", instance.chance(0.6)):
        a.wait(20, 180)
        rows, _ = arm_operation(a, caller, ip, remove, resource, uti=uti)
        a.add("run_command", "AzureActivity", *rows)
        a.now = max(r["TimeGenerated"] for r in rows)
    return how


Step = Callable[[Attack, arm._Caller, str], None]


def _abuse_plan(instance: Instance, vm: str, technique: str) -> list[Step]:
    """Two to four things the stolen token does, in a drawn order. After the Run Command
    action (which writes nothing), one of them is a snapshot export: every intrusion
    writes at least one resource, which Azure Policy then evaluates (`policy_audit`)."""
    accounts = instance.sample(
        "storage_accounts", env.STORAGE_ACCOUNTS, instance.rng.choice((1, 1, 2, 3))
    )
    target_vm = instance.pick("disk_of", ("vm-db01", "vm-app01", "vm-web01", vm))
    sas_seconds = instance.pick("sas_seconds", (3600, 14400, 86400))
    menu: dict[str, Step] = {
        "list-keys": _list_keys(accounts),
        "disk-export": _disk_export(target_vm, sas_seconds),
        "snapshot-export": _snapshot_export(instance, target_vm, sas_seconds),
        "app-settings": _app_settings,
        "aks-admin-credential": _aks_admin,
    }
    names = sorted(menu)
    if technique == "run-command-action":
        names.remove("snapshot-export")
        chosen = instance.rng.sample(names, instance.rng.choice((1, 1, 2, 3)))
        chosen.insert(instance.rng.randrange(len(chosen) + 1), "snapshot-export")
        instance.keep("abuse", chosen)
    else:
        chosen = instance.sample("abuse", names, instance.rng.choice((2, 2, 3, 4)))
    return [menu[name] for name in chosen]


def _list_keys(accounts: list[str]) -> Step:
    def step(a: Attack, identity: arm._Caller, ip: str) -> None:
        for account in accounts:
            target = arm._arm_id(account, "Microsoft.Storage/storageAccounts")
            rows, _ = arm_operation(a, identity, ip, arm._LIST_KEYS, target)
            a.add("identity_abuse", "AzureActivity", *rows)
            a.wait(5, 60)

    return step


def _disk_export(vm: str, seconds: int) -> Step:
    def step(a: Attack, identity: arm._Caller, ip: str) -> None:
        body: dict[str, Any] = {"access": "Read", "durationInSeconds": seconds}
        rows, _ = arm_operation(a, identity, ip, _DISK_EXPORT, _disk_id(vm), request=body)
        a.add("identity_abuse", "AzureActivity", *rows)

    return step


def _snapshot_export(instance: Instance, vm: str, seconds: int) -> Step:
    name = instance.name_like(
        "snapshot_name", (vm,), ("-snap-", "-backup-", "-osdisk-"), ("0301", "bkp", "tmp", "01")
    )

    def step(a: Attack, identity: arm._Caller, ip: str) -> None:
        group = arm._PLACEMENT[vm][1]
        snapshot = _snapshot_id(group, name)
        body: dict[str, Any] = {
            "location": env.LOCATION,
            "properties": {
                "creationData": {"createOption": "Copy", "sourceResourceId": _disk_id(vm)}
            },
        }
        rows, policy = arm_operation(a, identity, ip, _SNAPSHOT_WRITE, snapshot, request=body)
        a.add("identity_abuse", "AzureActivity", *rows)
        a.add("policy_audit", "AzureActivity", *policy)
        a.now = max(r["TimeGenerated"] for r in rows)
        a.wait(10, 90)
        body = {"access": "Read", "durationInSeconds": seconds}
        rows, _ = arm_operation(a, identity, ip, _SNAPSHOT_EXPORT, snapshot, request=body)
        a.add("identity_abuse", "AzureActivity", *rows)

    return step


def _app_settings(a: Attack, identity: arm._Caller, ip: str) -> None:
    site = arm._arm_id("func-contoso-backup", "Microsoft.Web/sites")
    rows, _ = arm_operation(a, identity, ip, arm._SITE_SETTINGS, f"{site}/config/appsettings")
    a.add("identity_abuse", "AzureActivity", *rows)


def _aks_admin(a: Attack, identity: arm._Caller, ip: str) -> None:
    cluster = arm._arm_id(env.AKS.name, "Microsoft.ContainerService/managedClusters")
    rows, _ = arm_operation(a, identity, ip, _AKS_ADMIN, cluster)
    a.add("identity_abuse", "AzureActivity", *rows)


# -- look-alikes -------------------------------------------------------------------------

_MAINTENANCE_SCRIPTS = (
    ["apt-get update", "apt-get -y upgrade"],
    ["systemctl restart nginx", "systemctl status nginx --no-pager"],
    ["systemctl restart app", "journalctl -u app -n 100 --no-pager"],
    ["df -h", "du -sh /var/log/* | sort -h | tail -n 5"],
    ["tail -n 200 /var/log/syslog"],
    ["unattended-upgrade --dry-run -d"],
    ["find /var/log -name '*.gz' -mtime +14 -delete"],
    ["needrestart -b"],
    ["curl -s -H Metadata:true 'http://169.254.169.254/metadata/instance?api-version=2021-02-01'"],
    [
        "curl -s -H Metadata:true 'http://169.254.169.254/metadata/identity/oauth2/token"
        "?api-version=2018-02-01&resource=https://vault.azure.net' | jq -r .expires_on"
    ],
    ["az login --identity --allow-no-subscriptions -o none", "az account show -o table"],
    ["systemctl status walinuxagent --no-pager", "waagent --version"],
    ["sudo -u postgres psql -c 'select pg_is_in_recovery()'"],
    ["ss -tlnp"],
)
_PIPELINE_RUN_COMMANDS = (
    ("PostDeploySmokeTest", ["/opt/contoso/bin/smoke-test.sh --quick"]),
    ("RefreshAppConfig", ["/opt/contoso/bin/refresh-config.sh", "systemctl reload app"]),
    ("PatchAssessment", ["apt-get update", "apt list --upgradable"]),
    ("RotateLogs", ["logrotate -f /etc/logrotate.d/app"]),
)
_PIPELINE_EXTENSIONS = (
    ("CustomScript", "/opt/contoso/bootstrap/install-agent.sh"),
    ("config-app", "bash /var/lib/waagent/custom-script/download/0/configure.sh"),
    ("node-exporter", "bash install-node-exporter.sh --version 1.8.1"),
)


def _day(ctx: SimContext, moment: dt.datetime) -> int:
    return (moment - ctx.start).days


def _present_operators(ctx: SimContext, day: int) -> list[entra.Presence]:
    present = entra._day_plan(ctx, day).present
    return [present[alias] for alias in OPERATORS if alias in present]


def _maintenance_run_command(ctx: SimContext) -> dict[str, list[Row]]:
    """Engineers sign in to Azure management and run commands on VMs to patch and
    diagnose them, from wherever they work that day."""
    f = Family(ctx, CAMPAIGN, "maintenance_run_command")
    for day in ctx.day_range():
        people = _present_operators(ctx, day)
        if not people:
            continue
        for _ in range(f.rng.randint(2, 5)):
            presence = f.rng.choice(people)
            f.at(min(presence.moment(f.rng), ctx.end - dt.timedelta(minutes=30)))
            name = f.rng.choices(sorted(_CLIENTS), weights=(2, 6, 1))[0]
            client, app = _CLIENTS[name]
            signin = sign_in(
                f, presence.profile, presence.network, Login(client, entra.ARM_RESOURCE)
            )
            f.add(f.name, "SigninLogs", signin)
            who = presence.profile.person
            caller = user_arm_caller(who, app, "Virtual Machine Contributor")
            uti = str(signin["UniqueTokenIdentifier"])
            for vm in f.rng.sample(env.VIRTUAL_MACHINES, f.rng.choice((1, 1, 2))):
                f.wait(30, 400)
                _maintenance(f, caller, presence.network.ip, vm, uti)
    return f.stages.get(f.name, {})


def _maintenance(f: Family, caller: arm._Caller, ip: str, vm: str, uti: str) -> None:
    script = list(f.rng.choice(_MAINTENANCE_SCRIPTS))
    roll = f.rng.random()
    if roll < 0.75:
        body: dict[str, Any] = {"commandId": "RunShellScript", "script": script}
        rows, policy = arm_operation(
            f, caller, ip, arm._RUN_COMMAND, _vm_id(vm), request=body, uti=uti
        )
    elif roll < 0.9:
        name = f.rng.choice(("Diag", "PatchNow", "CollectLogs", "HealthCheck"))
        body = {
            "location": env.LOCATION,
            "properties": {"source": {"script": "\n".join(script)}, "asyncExecution": False},
        }
        rows, policy = arm_operation(
            f,
            caller,
            ip,
            _RUN_COMMANDS_WRITE,
            f"{_vm_id(vm)}/runCommands/{name}",
            request=body,
            uti=uti,
        )
    else:
        body = {
            "location": env.LOCATION,
            "properties": {
                "publisher": "Microsoft.Azure.ActiveDirectory",
                "type": "AADSSHLoginForLinux",
                "typeHandlerVersion": "1.0",
                "autoUpgradeMinorVersion": True,
            },
        }
        rows, policy = arm_operation(
            f,
            caller,
            ip,
            arm._EXTENSION,
            f"{_vm_id(vm)}/extensions/AADSSHLoginForLinux",
            request=body,
            uti=uti,
        )
    f.add(f.name, "AzureActivity", *rows, *policy)
    f.now = max(r["TimeGenerated"] for r in rows)


def _automation_run_commands(ctx: SimContext) -> dict[str, list[Row]]:
    """The pipeline runs smoke tests and configuration through managed Run Commands and
    installs Custom Script extensions, from hosted runners."""
    f = Family(ctx, CAMPAIGN, "automation_run_commands")
    for moment in f.times(1, 3):
        f.at(moment)
        ip = f.rng.choice(arm._CI_RUNNER_IPS)
        for vm in f.rng.sample(env.VIRTUAL_MACHINES, f.rng.choice((1, 2, 3))):
            if f.rng.random() < 0.65:
                name, script = f.rng.choice(_PIPELINE_RUN_COMMANDS)
                body: dict[str, Any] = {
                    "location": env.LOCATION,
                    "properties": {
                        "source": {"script": "\n".join(script)},
                        "asyncExecution": False,
                        "timeoutInSeconds": 600,
                    },
                }
                resource, op = f"{_vm_id(vm)}/runCommands/{name}", _RUN_COMMANDS_WRITE
            else:
                name, command = f.rng.choice(_PIPELINE_EXTENSIONS)
                body = {
                    "location": env.LOCATION,
                    "properties": {
                        "publisher": "Microsoft.Azure.Extensions",
                        "type": "CustomScript",
                        "typeHandlerVersion": "2.1",
                        "settings": {"commandToExecute": command},
                    },
                }
                resource, op = f"{_vm_id(vm)}/extensions/{name}", arm._EXTENSION
            rows, policy = arm_operation(f, arm._CI, ip, op, resource, request=body)
            f.add(f.name, "AzureActivity", *rows, *policy)
            f.wait(20, 120)
    return f.stages.get(f.name, {})


def _workload_identities() -> list[tuple[arm._Caller, tuple[str, ...]]]:
    """Managed identities and the Azure addresses their tokens are used from."""
    out: list[tuple[arm._Caller, tuple[str, ...]]] = [
        (system_identity(vm), (_egress(vm),)) for vm in env.VIRTUAL_MACHINES
    ]
    out += [
        (user_identity(name), (arm._PROD_EGRESS_IP,))
        for name in sorted(set(USER_ASSIGNED.values()))
    ]
    out.append((user_identity("id-func-backup"), arm._FUNCTION_IPS))
    out.append((user_identity("id-aks-workload"), (entra.AKS_EGRESS_IP,)))
    return out


def _identity_token_use(ctx: SimContext) -> dict[str, list[Row]]:
    """Managed identities get tokens inside Azure and list keys, export disks and
    snapshots, read settings and fetch cluster credentials."""
    f = Family(ctx, CAMPAIGN, "identity_token_use")
    identities = _workload_identities()
    for moment in f.times(3, 7, office=False):
        f.at(moment)
        identity, addresses = f.rng.choice(identities)
        ip = f.rng.choice(addresses)
        roll = f.rng.random()
        if roll < 0.45:
            for account in f.rng.sample(env.STORAGE_ACCOUNTS, f.rng.choice((1, 2))):
                target = arm._arm_id(account, "Microsoft.Storage/storageAccounts")
                rows, _ = arm_operation(f, identity, ip, arm._LIST_KEYS, target)
                f.add(f.name, "AzureActivity", *rows)
                f.wait(1, 20)
        elif roll < 0.65:
            vm = f.rng.choice(env.VIRTUAL_MACHINES)
            body: dict[str, Any] = {"access": "Read", "durationInSeconds": 3600}
            rows, _ = arm_operation(f, identity, ip, _DISK_EXPORT, _disk_id(vm), request=body)
            f.add(f.name, "AzureActivity", *rows)
        elif roll < 0.85:
            site = arm._arm_id("func-contoso-backup", "Microsoft.Web/sites")
            rows, _ = arm_operation(
                f, identity, ip, arm._SITE_SETTINGS, f"{site}/config/appsettings"
            )
            f.add(f.name, "AzureActivity", *rows)
        else:
            cluster = arm._arm_id(env.AKS.name, "Microsoft.ContainerService/managedClusters")
            op = _AKS_ADMIN if f.rng.random() < 0.4 else arm._AKS_CREDENTIAL
            rows, _ = arm_operation(f, identity, ip, op, cluster)
            f.add(f.name, "AzureActivity", *rows)
    return f.stages.get(f.name, {})


def _backup_snapshots(ctx: SimContext) -> dict[str, list[Row]]:
    """The backup tooling snapshots VM disks at night and exports them to the vault."""
    f = Family(ctx, CAMPAIGN, "backup_snapshots")
    backup = user_identity("id-func-backup")
    for day in ctx.day_range():
        night = ctx.day_start(day) + dt.timedelta(hours=f.rng.uniform(2, 4))
        f.at(night)
        for vm in f.rng.sample(env.VIRTUAL_MACHINES, f.rng.randint(1, 3)):
            ip = f.rng.choice(arm._FUNCTION_IPS)
            group = arm._PLACEMENT[vm][1]
            snapshot = _snapshot_id(group, f"{vm}-snap-{ctx.day_start(day):%Y%m%d}")
            body: dict[str, Any] = {
                "location": env.LOCATION,
                "properties": {
                    "creationData": {"createOption": "Copy", "sourceResourceId": _disk_id(vm)}
                },
            }
            rows, policy = arm_operation(f, backup, ip, _SNAPSHOT_WRITE, snapshot, request=body)
            f.add(f.name, "AzureActivity", *rows, *policy)
            f.now = max(r["TimeGenerated"] for r in rows)
            f.wait(5, 60)
            body = {"access": "Read", "durationInSeconds": 14400}
            rows, _ = arm_operation(f, backup, ip, _SNAPSHOT_EXPORT, snapshot, request=body)
            f.add(f.name, "AzureActivity", *rows)
            f.wait(30, 300)
    return f.stages.get(f.name, {})


_FAMILIES: dict[str, Callable[[SimContext], dict[str, list[Row]]]] = {
    "maintenance_run_command": _maintenance_run_command,
    "automation_run_commands": _automation_run_commands,
    "identity_token_use": _identity_token_use,
    "backup_snapshots": _backup_snapshots,
}


@lookalikes(CAMPAIGN, tuple(_FAMILIES))
def run_command_lookalikes(ctx: SimContext) -> Stages:
    return {name: make(ctx) for name, make in _FAMILIES.items()}
