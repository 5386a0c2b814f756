"""The benign Azure background: AzureActivity, AzureDiagnostics (Key Vault, NSG) and
StorageBlobLogs look like a small company's control and data plane, with the look-alikes
of the cloud attacks done by the people and services that legitimately do them."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pytest_ctirealm.engines import EmbeddedEngine
from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.benign import azure_activity, keyvault, storage
from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.event_keys import EVENT_KEYS
from pytest_ctirealm.telemetry.schema import table_schema

Rows = dict[str, list[dict[str, Any]]]
GENERATORS: dict[str, Callable[[SimContext], Rows]] = {
    "AzureActivity": azure_activity.generate,
    "AzureDiagnostics": keyvault.generate,
    "StorageBlobLogs": storage.generate,
}
#: Rows per day at scale 1 (the brief's targets).
DAILY_TARGETS = {"AzureActivity": 800, "AzureDiagnostics": 1500, "StorageBlobLogs": 3000}
CTX = SimContext(seed=3)
ONE_DAY = dt.timedelta(days=1)


@pytest.fixture(scope="module")
def tables() -> Rows:
    out: Rows = {}
    for generate in GENERATORS.values():
        out.update(generate(CTX))
    return out


@pytest.fixture(scope="module")
def engine(tables: Rows) -> Iterator[EmbeddedEngine]:
    with EmbeddedEngine.with_tables(tables) as loaded:
        yield loaded


def scalar(engine: EmbeddedEngine, kql: str) -> Any:
    """The single value a one-row, one-column query returns."""
    rows = engine.query(kql).rows
    assert len(rows) == 1, rows
    return rows[0][0]


def share(engine: EmbeddedEngine, table: str, condition: str, among: str = "true") -> float:
    """The fraction of *table*'s rows matching *among* that also match *condition*."""
    kql = (
        f"{table} | where {among} | summarize hit = countif({condition}), total = count() "
        "| extend f = todouble(hit) / total | project f"
    )
    value: float = scalar(engine, kql)
    return value


# --- Shape -----------------------------------------------------------------------------


@pytest.mark.parametrize("table", GENERATORS)
def test_each_module_returns_only_its_table_with_real_columns(table: str, tables: Rows) -> None:
    assert list(GENERATORS[table](SimContext(seed=5, scale=0.5))) == [table]
    columns = set(table_schema(table).column_names)
    for row in tables[table]:
        assert set(row) <= columns, set(row) - columns
        assert isinstance(row["TimeGenerated"], dt.datetime)
        assert row["TimeGenerated"].tzinfo is not None
        assert CTX.start <= row["TimeGenerated"] < CTX.end


@pytest.mark.parametrize("table", GENERATORS)
def test_same_seed_same_rows_other_seed_other_rows(table: str, tables: Rows) -> None:
    assert GENERATORS[table](SimContext(seed=3))[table] == tables[table]
    other = GENERATORS[table](SimContext(seed=4, scale=0.5))[table]
    assert other != [row for row in tables[table] if row["TimeGenerated"] < CTX.start + ONE_DAY]


def test_a_longer_window_keeps_the_earlier_days(tables: Rows) -> None:
    longer = azure_activity.generate(SimContext(seed=3, scale=1.5))["AzureActivity"]
    assert [row for row in longer if row["TimeGenerated"] < CTX.end] == tables["AzureActivity"]


@pytest.mark.parametrize("table", GENERATORS)
def test_event_keys_are_unique(table: str, tables: Rows) -> None:
    keys = [tuple(row[c] for c in EVENT_KEYS[table]) for row in tables[table]]
    assert None not in {part for key in keys for part in key}
    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize("table", GENERATORS)
def test_daily_volume_is_near_the_target(table: str, tables: Rows) -> None:
    per_day = len(tables[table]) / CTX.days
    assert 0.7 * DAILY_TARGETS[table] <= per_day <= 1.3 * DAILY_TARGETS[table]


def test_key_vault_and_nsg_split_the_diagnostics(engine: EmbeddedEngine) -> None:
    kql = "AzureDiagnostics | summarize n = count() by ResourceType | order by ResourceType asc"
    counts = dict(engine.query(kql).rows)
    assert 770 <= counts["VAULTS"] / CTX.days <= 1430
    assert 280 <= counts["NETWORKSECURITYGROUPS"] / CTX.days <= 520


def test_json_columns_are_text_and_their_twins_dynamic(tables: Rows) -> None:
    for row in tables["AzureActivity"][:200]:
        assert json.loads(row["Properties"]) == row["Properties_d"]
        assert isinstance(row["Properties_d"]["activityStatusValue"], str)
    for row in tables["StorageBlobLogs"][:200]:
        assert isinstance(row["StatusCode"], str)


# --- AzureActivity ---------------------------------------------------------------------

OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
MS_PIM = env.stable_guid("sp", "MS-PIM")


def test_activity_operation_mix(engine: EmbeddedEngine) -> None:
    assert 0.25 <= share(engine, "AzureActivity", 'CategoryValue == "Policy"') <= 0.40
    listing = 'OperationNameValue == "MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION"'
    assert 0.08 <= share(engine, "AzureActivity", listing) <= 0.17
    failures = share(engine, "AzureActivity", 'ActivityStatusValue == "Failure"')
    assert 0.001 <= failures <= 0.03
    assert (
        scalar(
            engine,
            "AzureActivity | where OperationNameValue != toupper("
            "OperationNameValue) or ResourceId != toupper(ResourceId) or "
            "_ResourceId != tolower(_ResourceId) | count",
        )
        == 0
    )


def test_every_arm_request_starts_and_ends_once(engine: EmbeddedEngine) -> None:
    # Requests still running when the window closes have not ended yet.
    closing = (CTX.end - dt.timedelta(minutes=15)).strftime("%Y-%m-%dT%H:%M:%SZ")
    kql = f"""AzureActivity | where CategoryValue == "Administrative"
        | summarize starts = countif(ActivityStatusValue == "Start"),
                    ends = countif(ActivityStatusValue in ("Success", "Failure")),
                    accepts = countif(ActivityStatusValue == "Accept"),
                    opened = min(TimeGenerated)
          by CorrelationId, OperationId
        | where opened < datetime({closing})
        | where ends != 1 or starts > 1 or accepts > 1 | count"""
    assert scalar(engine, kql) == 0
    asynchronous = 'ActivityStatusValue == "Accept"'
    among = 'OperationNameValue == "MICROSOFT.COMPUTE/VIRTUALMACHINESCALESETS/WRITE"'
    assert share(engine, "AzureActivity", asynchronous, among) > 0.25


def test_people_come_from_the_offices_with_first_party_clients(engine: EmbeddedEngine) -> None:
    kql = """AzureActivity | where Caller has "@"
        | summarize by CallerIpAddress, app = tostring(Claims_d.appid)"""
    pairs = set(engine.query(kql).rows)
    assert {ip for ip, _ in pairs} <= {*env.OFFICE_IPS.values(), env.VPN_IP}
    clients = {env.AZURE_PORTAL.app_id, env.AZURE_CLI.app_id, env.AZURE_POWERSHELL.app_id}
    assert {app for _, app in pairs} == clients
    office = share(
        engine, "AzureActivity", "hourofday(TimeGenerated) between (6 .. 18)", 'Caller has "@"'
    )
    assert office > 0.8


def test_ci_deploys_from_azure_addresses_and_writes_vault_secrets(engine: EmbeddedEngine) -> None:
    ci = env.application("ci-deployer").object_id
    kql = f"""AzureActivity | where Caller == "{ci}"
        | extend octet = tostring(split(CallerIpAddress, ".")[0])
        | summarize n = count() by OperationNameValue, octet"""
    result = engine.query(kql).rows
    assert {octet for _, octet, _ in result} <= {"4", "13", "20", "40", "52"}
    operations = {op for op, _, _ in result}
    assert {
        "MICROSOFT.RESOURCES/DEPLOYMENTS/WRITE",
        "MICROSOFT.KEYVAULT/VAULTS/SECRETS/WRITE",
        "MICROSOFT.KEYVAULT/VAULTS/ACCESSPOLICIES/WRITE",
    } <= operations


def test_role_assignment_near_misses(engine: EmbeddedEngine) -> None:
    kql = f"""AzureActivity
        | where OperationNameValue == "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE"
            and ActivityStatusValue == "Start"
        | extend body = parse_json(tostring(Properties_d.requestbody))
        | extend role = tostring(body.Properties.RoleDefinitionId),
                 principal = tostring(body.Properties.PrincipalId)
        | summarize n = count() by Caller, owner = role endswith "{OWNER}", principal"""
    rows = engine.query(kql).rows
    alice = env.person("alice.smith").object_id
    assert (MS_PIM, True, alice) in {(caller, owner, who) for caller, owner, who, _ in rows}
    assert any(caller.endswith("@contoso.com") for caller, *_ in rows)


def test_admin_actions_that_attacks_also_use(engine: EmbeddedEngine) -> None:
    kql = """AzureActivity | where ActivityStatusValue == "Start"
        | where OperationNameValue in ("MICROSOFT.COMPUTE/VIRTUALMACHINES/RUNCOMMAND/ACTION",
                                       "MICROSOFT.AUTHORIZATION/ELEVATEACCESS/ACTION")
        | project OperationNameValue, Caller, Resource, hour = hourofday(TimeGenerated)"""
    rows = engine.query(kql).rows
    run_command = [r for r in rows if r[0].endswith("RUNCOMMAND/ACTION")]
    assert run_command
    assert all(r[1] == "dmitri.ivanov@contoso.com" and r[2] == "VM-APP01" for r in run_command)
    assert all(7 <= r[3] <= 17 for r in rows)
    assert [r[1] for r in rows if r[0].endswith("ELEVATEACCESS/ACTION")] == [
        "alice.smith@contoso.com"
    ]


def test_key_listing_defender_and_diagnostic_settings(engine: EmbeddedEngine) -> None:
    kql = """AzureActivity | where ActivityStatusValue in ("Success", "Failure")
        | summarize n = count() by OperationNameValue, Caller"""
    counts = {(op, caller): n for op, caller, n in engine.query(kql).rows}
    list_keys = "MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION"
    assert counts[(list_keys, env.application("id-func-backup").object_id)] >= 40 * CTX.days
    assert counts[(list_keys, env.application("backup-runner").object_id)] == 2 * CTX.days
    defender = env.stable_guid("sp", "Windows Azure Security Resource Provider")
    assert counts[("MICROSOFT.COMPUTE/VIRTUALMACHINES/EXTENSIONS/WRITE", defender)] >= 1
    assert sum(n for (op, _), n in counts.items() if op.endswith("DIAGNOSTICSETTINGS/WRITE")) > 2
    kql = """AzureActivity | where ResourceGroup startswith "MC_" and CategoryValue != "Policy"
        | summarize by Caller"""
    assert engine.query(kql).rows == [(env.stable_guid("sp", "AzureContainerService"),)]


# --- AzureDiagnostics ------------------------------------------------------------------


def test_key_vault_reads_are_periodic_app_traffic(engine: EmbeddedEngine) -> None:
    among = 'ResourceType == "VAULTS"'
    assert share(engine, "AzureDiagnostics", 'OperationName == "SecretGet"', among) > 0.7
    csi = env.application("id-aks-workload").object_id
    kql = f"""AzureDiagnostics | where OperationName == "SecretGet"
            and identity_claim_oid_g == "{csi}"
        | summarize n = count() by CallerIPAddress, requestUri_s | summarize min(n), max(n)"""
    low, high = engine.query(kql).rows[0]
    assert low == high == 144 * CTX.days  # every ten minutes per pod and secret


def test_key_vault_challenges_inventory_and_deploys(engine: EmbeddedEngine) -> None:
    kql = """AzureDiagnostics | where OperationName == "Authentication"
        | summarize by ResultType, ResultSignature, httpStatusCode_d"""
    assert engine.query(kql).rows == [("Success", "Unauthorized", 401.0)]
    kql = """AzureDiagnostics | where OperationName == "VaultGet"
        | summarize by app = tostring(identity_claim_appid_g)"""
    apps = {row[0] for row in engine.query(kql).rows}
    assert apps == {"509e4652-da8d-478d-a730-e9d4a1996ca4", "8cae6e77-e04e-42ce-b5cb-50d82bce26b1"}
    ci = env.application("ci-deployer").object_id
    kql = f"""AzureDiagnostics | where identity_claim_oid_g == "{ci}"
            or identity_claim_http_schemas_microsoft_com_identity_claims_objectidentifier_g
               == "{ci}"
        | summarize by OperationName"""
    assert {"SecretList", "SecretSet", "SecretGet", "VaultPatch"} <= {
        row[0] for row in engine.query(kql).rows
    }
    refused = scalar(
        engine,
        """AzureDiagnostics | where httpStatusCode_d == 403
        | summarize dcount(identity_claim_upn_s)""",
    )
    assert refused >= 1


def test_nsg_counters_and_events(engine: EmbeddedEngine) -> None:
    kql = """AzureDiagnostics | where ResourceType == "NETWORKSECURITYGROUPS"
        | summarize rules = dcount(ruleName_s), matched = sum(matchedConnections_d) by Category"""
    result = {category: (rules, matched) for category, rules, matched in engine.query(kql).rows}
    assert result["NetworkSecurityGroupRuleCounter"][1] > 0
    assert result["NetworkSecurityGroupEvent"][0] >= 10
    deny = scalar(
        engine,
        """AzureDiagnostics
        | where ruleName_s == "DefaultRule_DenyAllInBound" and type_s == "block"
        | count""",
    )
    assert deny > 0


# --- StorageBlobLogs -------------------------------------------------------------------


def test_storage_operation_category_and_authentication_mix(engine: EmbeddedEngine) -> None:
    blobs = "StorageBlobLogs"
    assert 0.35 <= share(engine, blobs, 'OperationName == "GetBlob"') <= 0.50
    assert 0.10 <= share(engine, blobs, 'OperationName == "GetBlobProperties"') <= 0.15
    assert 0.60 <= share(engine, blobs, 'Category == "StorageRead"') <= 0.80
    assert 0.01 <= share(engine, blobs, 'Category == "StorageDelete"') <= 0.05
    assert 0.50 <= share(engine, blobs, 'AuthenticationType == "OAuth"') <= 0.70
    assert 0.15 <= share(engine, blobs, 'AuthenticationType == "SAS"') <= 0.30
    assert 0.10 <= share(engine, blobs, 'AuthenticationType == "AccountKey"') <= 0.20
    assert 0.02 <= share(engine, blobs, 'StatusCode == "404"') <= 0.06
    assert share(engine, blobs, "toint(StatusCode) < 300") >= 0.93


def test_storage_fields_have_their_real_shapes(engine: EmbeddedEngine) -> None:
    kql = """StorageBlobLogs
        | extend port = toint(split(CallerIpAddress, ":")[1])
        | where isnull(port) or not(ObjectKey startswith strcat("/", AccountName))
            or not(Uri startswith strcat("https://", AccountName, ".blob.core.windows.net:443/"))
        | count"""
    assert scalar(engine, kql) == 0
    kql = """StorageBlobLogs | where AuthenticationType == "OAuth"
        | summarize by result = tostring(AuthorizationDetails[0].result)"""
    assert {row[0] for row in engine.query(kql).rows} <= {"Granted", "Denied"}
    anonymous = scalar(
        engine,
        """StorageBlobLogs | where AuthenticationType != "OAuth"
        and isnotempty(RequesterAppId) | count""",
    )
    assert anonymous == 0


def test_nightly_backup_reads_in_bulk_with_sas(engine: EmbeddedEngine) -> None:
    kql = """StorageBlobLogs
        | where AuthenticationType == "SAS" and CallerIpAddress startswith "10.1.3.4:"
        | summarize reads = countif(OperationName == "GetBlob"),
                    listings = countif(OperationName == "ListBlobs"),
                    earliest = min(TimeGenerated), latest = max(TimeGenerated)
          by day = startofday(TimeGenerated)"""
    for _, reads, listings, earliest, latest in engine.query(kql).rows:
        assert reads >= 300 and listings >= 4
        assert dt.time(1, 29) < earliest.time() and latest.time() < dt.time(3)


def test_explorer_azcopy_and_existence_checks(engine: EmbeddedEngine) -> None:
    kql = """StorageBlobLogs | where OperationName == "ListContainers"
        | project RequesterUpn, UserAgentHeader, CallerIpAddress, hour = hourofday(TimeGenerated)"""
    listings = engine.query(kql).rows
    assert any(agent.startswith("Microsoft Azure Storage Explorer") for _, agent, _, _ in listings)
    assert any(7 <= hour <= 17 for *_, hour in listings)
    ci = env.application("ci-deployer").object_id
    kql = f"""StorageBlobLogs | where RequesterObjectId == "{ci}"
        | summarize n = count() by OperationName, UserAgentHeader"""
    ci_rows = engine.query(kql).rows
    assert any(op == "PutBlock" and agent.startswith("AzCopy/") for op, agent, _ in ci_rows)
    kql = """StorageBlobLogs | where OperationName == "GetBlobProperties" and StatusCode == "404"
        | summarize by StatusText"""
    assert {row[0] for row in engine.query(kql).rows} <= {"ClientOtherError", "SASClientOtherError"}


def test_one_deploy_shows_in_all_three_tables(tables: Rows) -> None:
    deploy = azure_activity._ci_deploys(CTX, 0)[0]
    window = (deploy.start, deploy.start + dt.timedelta(minutes=15))

    def seen(table: str, column: str) -> bool:
        return any(
            window[0] <= row["TimeGenerated"] < window[1]
            and str(row.get(column, "")).split(":")[0] == deploy.runner_ip
            for row in tables[table]
        )

    assert seen("AzureActivity", "CallerIpAddress")
    assert seen("AzureDiagnostics", "CallerIPAddress")
    assert seen("StorageBlobLogs", "CallerIpAddress")
