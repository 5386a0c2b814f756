"""VM Run Command used to steal a managed identity's token."""

from __future__ import annotations

from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.benign import azure_activity as arm
from pytest_ctirealm.telemetry.benign import entra
from pytest_ctirealm.telemetry.context import SimContext, hex_string
from pytest_ctirealm.telemetry.scenarios.base import Stages, incident_start, scenario
from pytest_ctirealm.telemetry.scenarios.cloud.common import (
    PROD,
    Attack,
    Infra,
    Login,
    arm_operation,
    person_profile,
    sign_in,
    user_arm_caller,
)

#: Whose account the intrusion starts from.
VICTIM = "dmitri.ivanov"
RUN_COMMAND_INFRA = Infra(
    "192.0.2.61", "16276", entra.Place("Roubaix", "Hauts-de-France", "FR", 50.6942, 3.1746)
)


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
    dmitri = env.person(VICTIM)
    profile = person_profile(ctx, dmitri)
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
        f"/subscriptions/{PROD}/resourceGroups/rg-prod-data/providers/Microsoft.Compute/disks/"
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
