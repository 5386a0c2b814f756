"""The benign identity and Microsoft 365 background: SigninLogs, the service-principal
sign-ins, AuditLogs, MicrosoftGraphActivityLogs and OfficeActivity carry realistic mixes,
agree on people, IPs and tokens, and hold the legitimate twins of the cloud attacks
(helpdesk resets, a rotated app secret then used, an administrative unit, PIM, device-code
sign-ins on room devices, inbox rules that only file newsletters)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest

from pytest_ctirealm.engines import EmbeddedEngine
from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.benign import entra, graph, office
from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.event_keys import EVENT_KEYS
from pytest_ctirealm.telemetry.schema import table_schema

Rows = dict[str, list[dict[str, Any]]]
CTX = SimContext(seed=3)
DAILY_TARGETS = {
    "SigninLogs": 1500,
    "AADServicePrincipalSignInLogs": 2000,
    "AuditLogs": 300,
    "MicrosoftGraphActivityLogs": 4000,
    "OfficeActivity": 3000,
}
PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "datetime": (dt.datetime,),
    "dynamic": (dict, list, str),
    "bool": (bool,),
    "int": (int,),
    "long": (int,),
}
OFFICE_IPS = set(env.OFFICE_IPS.values())


def _generate(seed: int, scale: float = 1.0) -> Rows:
    ctx = SimContext(seed=seed, scale=scale)
    return {**entra.generate(ctx), **graph.generate(ctx), **office.generate(ctx)}


@pytest.fixture(scope="module")
def tables() -> Rows:
    return _generate(3)


@pytest.fixture(scope="module")
def engine(tables: Rows) -> Iterator[EmbeddedEngine]:
    with EmbeddedEngine.with_tables(tables) as loaded:
        yield loaded


def scalar(engine: EmbeddedEngine, kql: str) -> Any:
    rows = engine.query(kql).rows
    assert len(rows) == 1, rows
    return rows[0][0]


def column(engine: EmbeddedEngine, kql: str) -> list[Any]:
    return [row[0] for row in engine.query(kql).rows]


# -- shape --------------------------------------------------------------------------


def test_rows_use_only_table_columns_with_kusto_typed_values(tables: Rows) -> None:
    assert set(tables) == set(DAILY_TARGETS)
    for table, rows in tables.items():
        types = {c.name: c.type for c in table_schema(table).columns}
        for row in rows:
            assert set(row) <= set(types), (table, set(row) - set(types))
            for name, value in row.items():
                assert isinstance(value, PYTHON_TYPES[types[name]]), (table, name, value)
            assert row["TimeGenerated"].tzinfo == dt.UTC
            assert CTX.start <= row["TimeGenerated"] < CTX.end


def test_event_keys_are_unique_and_present(tables: Rows) -> None:
    for table, rows in tables.items():
        keys = [tuple(row[c] for c in EVENT_KEYS[table]) for row in rows]
        assert all(all(part for part in key) for key in keys), table
        assert len(keys) == len(set(keys)), table


def test_volume_per_day_is_within_30_percent_of_target(tables: Rows) -> None:
    for table, target in DAILY_TARGETS.items():
        for day in CTX.day_range():
            start = CTX.day_start(day)
            count = sum(
                start <= r["TimeGenerated"] < start + dt.timedelta(days=1) for r in tables[table]
            )
            assert 0.7 * target <= count <= 1.3 * target, (table, day, count)


def test_same_seed_same_rows_and_a_longer_window_keeps_earlier_days(tables: Rows) -> None:
    entra._profiles.cache_clear()
    one_day = _generate(3, scale=0.5)
    cut = CTX.day_start(1)
    for table, rows in tables.items():
        assert [r for r in one_day[table] if r["TimeGenerated"] < cut] == [
            r for r in rows if r["TimeGenerated"] < cut
        ], table


def test_another_seed_gives_other_rows(tables: Rows) -> None:
    other = entra.generate(SimContext(seed=4, scale=0.5))["SigninLogs"]
    assert [r["Id"] for r in other] != [r["Id"] for r in tables["SigninLogs"][: len(other)]]


def test_the_tables_load_into_the_engine(engine: EmbeddedEngine, tables: Rows) -> None:
    for table, rows in tables.items():
        assert engine.row_count(table) == len(rows)
    assert scalar(engine, "SignInLogs | count") == len(tables["SigninLogs"])


# -- SigninLogs -----------------------------------------------------------------------


def test_signin_results_follow_a_real_tenant(engine: EmbeddedEngine) -> None:
    share = scalar(engine, "SigninLogs | summarize todouble(countif(ResultType == '0')) / count()")
    assert 0.82 <= share <= 0.93
    failures = column(
        engine, "SigninLogs | where ResultType in ('50126', '50074', '53003') | distinct ResultType"
    )
    assert sorted(failures) == ["50074", "50126", "53003"]
    mismatched = scalar(
        engine, "SigninLogs | where toint(Status.errorCode) != toint(ResultType) | count"
    )
    assert mismatched == 0


def test_signin_dynamic_columns_have_real_shapes(engine: EmbeddedEngine) -> None:
    os_share = dict(
        engine.query(
            "SigninLogs | summarize n = count() by os = tostring(DeviceDetail.operatingSystem) "
            "| extend share = todouble(n) / toscalar(SigninLogs | count) | project os, share"
        ).rows
    )
    assert 0.5 <= os_share["Windows10"] <= 0.8
    assert os_share.keys() <= {"Windows10", "MacOs", "Ios", "Android", "Linux"}
    assert (
        scalar(
            engine,
            "SigninLogs | where tostring(LocationDetails.countryOrRegion) != Location | count",
        )
        == 0
    )
    browser = scalar(
        engine, "SigninLogs | summarize todouble(countif(ClientAppUsed == 'Browser')) / count()"
    )
    assert 0.35 <= browser <= 0.65
    assert (
        scalar(
            engine,
            "SigninLogs | mv-expand p = ConditionalAccessPolicies "
            "| where tostring(p.result) == 'failure' | count",
        )
        >= 1
    )


def test_room_devices_sign_in_with_device_code_from_the_office(engine: EmbeddedEngine) -> None:
    ips = column(
        engine,
        "SigninLogs | where AuthenticationProtocol == 'deviceCode' "
        "and tostring(DeviceDetail.displayName) startswith 'MTR-' "
        "| distinct IPAddress",
    )
    assert ips and set(ips) <= OFFICE_IPS
    share = scalar(
        engine,
        "SigninLogs | summarize todouble(countif(AuthenticationProtocol "
        "== 'deviceCode')) / count()",
    )
    assert share < 0.01


# -- service principals ---------------------------------------------------------------


def test_service_principal_details_are_json_text(engine: EmbeddedEngine) -> None:
    assert (
        scalar(
            engine,
            "AADServicePrincipalSignInLogs | extend c = tostring(parse_json("
            "LocationDetails).countryOrRegion) | where c != Location | count",
        )
        == 0
    )
    names = set(column(engine, "AADServicePrincipalSignInLogs | distinct ServicePrincipalName"))
    assert names <= {a.name for a in env.APPLICATIONS if a.kind == "application"}
    ok = scalar(
        engine,
        "AADServicePrincipalSignInLogs | summarize todouble(countif(ResultType == '0')) / count()",
    )
    assert ok > 0.98


def test_rotated_ci_deployer_secret_is_used_from_its_usual_ip(
    engine: EmbeddedEngine, tables: Rows
) -> None:
    rotation = [
        r
        for r in tables["AuditLogs"]
        if r["OperationName"].startswith("Update application \u2013 Certificates")
    ]
    assert len(rotation) == 1
    assert rotation[0]["InitiatedBy"]["user"]["userPrincipalName"] == "raj.patel@contoso.com"
    new_value = rotation[0]["TargetResources"][0]["modifiedProperties"][0]["newValue"]
    keys = engine.query(
        "AADServicePrincipalSignInLogs | where ServicePrincipalName == 'ci-deployer' "
        "| summarize first_use = min(TimeGenerated), ips = make_set(IPAddress) "
        "by ServicePrincipalCredentialKeyId | order by first_use asc"
    ).rows
    assert len(keys) == 2
    (old, _, old_ips), (new, first_use, new_ips) = keys
    assert old in new_value and new in new_value
    assert first_use > rotation[0]["TimeGenerated"]
    assert old_ips == new_ips and len(new_ips) == 1


# -- AuditLogs ------------------------------------------------------------------------


def test_audit_mix_and_near_misses(engine: EmbeddedEngine) -> None:
    counts = dict(engine.query("AuditLogs | summarize count() by OperationName").rows)
    top = max(counts, key=lambda name: counts[name])
    assert top == "Update user"
    for operation in (
        "Reset user password",
        "Admin deleted security info",
        "User registered security info",
        "Add member to role completed (PIM activation)",
        "Add administrative unit",
        "Add member to administrative unit",
        "Add scoped member to role",
        "Add service principal credentials",
        "Add app role assignment to service principal",
        "Consent to application",
    ):
        assert counts.get(operation, 0) >= 1, operation
    assert "Add member to role" not in counts
    helpdesk = column(
        engine,
        "AuditLogs | where OperationName == 'Reset user password' "
        "| distinct tostring(InitiatedBy.user.userPrincipalName)",
    )
    assert helpdesk == ["sofia.jansen@contoso.com"]
    assert (
        scalar(
            engine,
            "AuditLogs | where tostring(InitiatedBy.app.displayName) == 'hr-sync' "
            "and OperationName == 'Update user' | count",
        )
        >= 60
    )
    assert column(engine, "AuditLogs | distinct Result") == ["success"]


def test_admin_unit_and_pim_happen_in_office_hours(engine: EmbeddedEngine) -> None:
    hours = column(
        engine,
        "AuditLogs | where Category == 'AdministrativeUnit' or OperationName "
        "has 'PIM activation' and OperationName !has 'expired' "
        "| project h = hourofday(TimeGenerated)",
    )
    assert hours and all(6 <= h <= 22 for h in hours)
    completed = column(
        engine,
        "AuditLogs | where OperationName == 'Add member to role completed"
        " (PIM activation)' | distinct tostring(InitiatedBy.app.displayName)",
    )
    assert completed == ["MS-PIM"]


# -- Graph ----------------------------------------------------------------------------


def test_graph_method_and_status_mix(engine: EmbeddedEngine) -> None:
    get = scalar(
        engine,
        "MicrosoftGraphActivityLogs | summarize todouble(countif("
        "RequestMethod == 'GET')) / count()",
    )
    assert 0.84 <= get <= 0.94
    ok = scalar(
        engine,
        "MicrosoftGraphActivityLogs | summarize todouble(countif("
        "ResponseStatusCode == 200)) / count()",
    )
    assert 0.85 <= ok <= 0.95
    assert (
        scalar(
            engine,
            "MicrosoftGraphActivityLogs | where isnotempty(ServicePrincipalId) and "
            "(isnotempty(UserId) or isempty(Roles) or isnotempty(Scopes)) "
            "| count",
        )
        == 0
    )


def test_graph_tokens_join_their_sign_ins_from_the_same_ip(engine: EmbeddedEngine) -> None:
    joined, moved = engine.query(
        "MicrosoftGraphActivityLogs | join kind=inner (SigninLogs | project SignInActivityId = "
        "UniqueTokenIdentifier, SignInIp = IPAddress, SignInUser = UserId) on SignInActivityId "
        "| summarize count(), countif(IPAddress != SignInIp or UserId != SignInUser)"
    ).rows[0]
    assert joined >= 500 and moved == 0
    app_only = engine.query(
        "MicrosoftGraphActivityLogs | where isnotempty(ServicePrincipalId) "
        "| join kind=leftanti (AADServicePrincipalSignInLogs | project SignInActivityId = "
        "UniqueTokenIdentifier) on SignInActivityId | count"
    ).rows[0][0]
    assert app_only == 0


def test_siem_connector_lists_users_and_audit_logs_app_only(engine: EmbeddedEngine) -> None:
    siem = env.application("siem-connector").object_id
    paths = column(
        engine,
        f"MicrosoftGraphActivityLogs | where ServicePrincipalId == '{siem}' "
        "| extend p = tostring(split(tostring(split(RequestUri, '?')[0]), "
        "'graph.microsoft.com')[1]) | distinct p",
    )
    assert {"/v1.0/users", "/v1.0/auditLogs/signIns", "/v1.0/auditLogs/directoryAudits"} <= set(
        paths
    )
    add_password = column(
        engine,
        "MicrosoftGraphActivityLogs | where RequestUri endswith '/addPassword' | distinct UserId",
    )
    assert env.person("raj.patel").object_id in add_password


# -- OfficeActivity -------------------------------------------------------------------


def test_office_workload_mix(engine: EmbeddedEngine) -> None:
    shares = dict(
        engine.query(
            "OfficeActivity | summarize n = count() by OfficeWorkload "
            "| extend s = todouble(n) / toscalar(OfficeActivity | count) "
            "| project OfficeWorkload, s"
        ).rows
    )
    assert 0.35 <= shares["Exchange"] <= 0.55
    assert 0.35 <= shares["SharePoint"] + shares["OneDrive"] <= 0.55
    assert 0.05 <= shares["MicrosoftTeams"] <= 0.15
    assert scalar(engine, "OfficeActivity | where Operation == 'Send' | count") > 100


def test_inbox_rules_file_newsletters_and_never_forward(engine: EmbeddedEngine) -> None:
    rules = scalar(engine, "OfficeActivity | where Operation == 'New-InboxRule' | count")
    assert rules >= 2
    forwarding = scalar(
        engine,
        "OfficeActivity | where Operation endswith 'InboxRule' and "
        "Parameters has_any ('ForwardTo', 'RedirectTo', "
        "'ForwardAsAttachmentTo', 'DeleteMessage') | count",
    )
    assert forwarding == 0
    folders = column(
        engine,
        "OfficeActivity | where Operation == 'New-InboxRule' "
        "| mv-expand p = parse_json(Parameters) "
        "| where tostring(p.Name) == 'MoveToFolder' | distinct tostring(p.Value)",
    )
    assert folders and set(folders) <= {"Newsletters", "Vendor updates"}


def test_office_ips_are_the_sign_in_ips_of_the_day(tables: Rows) -> None:
    seen = {
        (r["UserPrincipalName"], r["TimeGenerated"].date(), r["IPAddress"])
        for r in tables["SigninLogs"]
    }
    checked = 0
    for row in tables["OfficeActivity"]:
        if row["UserType"] == "Regular" and "ClientIP" in row:
            ip = (
                row["ClientIP"].rsplit(":", 1)[0]
                if row["RecordType"] == "ExchangeAdmin"
                else row["ClientIP"]
            )
            assert (row["UserId"], row["TimeGenerated"].date(), ip) in seen, row
            checked += 1
    assert checked > 0.9 * len(tables["OfficeActivity"])


def test_mail_follows_device_code_sign_ins(tables: Rows) -> None:
    for signin in tables["SigninLogs"]:
        if signin["AuthenticationProtocol"] != "deviceCode" or signin["ResultType"] != "0":
            continue
        after = [
            r
            for r in tables["OfficeActivity"]
            if r["Operation"] == "Send"
            and r["UserId"] == signin["UserPrincipalName"]
            and dt.timedelta(0)
            < r["TimeGenerated"] - signin["TimeGenerated"]
            <= dt.timedelta(minutes=30)
            and r["ClientIP"] == signin["IPAddress"]
        ]
        assert after, signin["UserPrincipalName"]


def test_invoice_processor_reads_the_shared_mailbox(tables: Rows) -> None:
    reads = [r for r in tables["OfficeActivity"] if r["UserType"] == "Application"]
    app = env.application("invoice-processor")
    assert reads and {r["ClientAppId"] for r in reads} == {app.app_id}
    assert all(json.loads(r["Folders"])[0]["Path"] == "\\Inbox" for r in reads)
