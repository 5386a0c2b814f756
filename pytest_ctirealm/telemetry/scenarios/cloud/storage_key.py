"""Storage account keys listed and blobs taken; an app registered for persistence."""

from __future__ import annotations

import datetime as dt
import json

from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.benign import azure_activity as arm
from pytest_ctirealm.telemetry.benign import entra, storage
from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.scenarios.base import Stages, incident_start, scenario
from pytest_ctirealm.telemetry.scenarios.cloud.common import (
    AZCOPY,
    CLI_AGENT,
    Attack,
    Infra,
    Login,
    Row,
    arm_operation,
    audit,
    graph_call,
    person_profile,
    person_target,
    sign_in,
    token_of,
    user_arm_caller,
    user_by,
    user_caller,
)

#: Whose account the intrusion starts from.
VICTIM = "mila.bos"
STORAGE_INFRA = Infra(
    "192.0.2.201", "63949", entra.Place("Stockholm", "Stockholm", "SE", 59.3293, 18.0686)
)

#: The application the storage thief registers for itself.
ROGUE_APP = "Backup Sync Agent"

ROGUE_APP_ID = env.stable_guid("app", "rogue", ROGUE_APP)


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
    mila = env.person(VICTIM)
    profile = person_profile(ctx, mila)
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
    client = storage._Client("AccountKey", ip, AZCOPY, "2023-08-03")
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
    caller = user_caller(mila, entra.CLI.app_id, STORAGE_INFRA.ip, CLI_AGENT, token_of(signin))
    by = user_by(mila, STORAGE_INFRA.ip)
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
            [entra._target("Application", app_object, ROGUE_APP), person_target(mila)],
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
            details=[("AppId", ROGUE_APP_ID), ("User-Agent", CLI_AGENT)],
        )
        a.add("new_app", "AuditLogs", row)
