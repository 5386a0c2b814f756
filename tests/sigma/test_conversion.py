"""Sigma rules for all 12 tables convert to KQL that runs and matches what it should."""

from __future__ import annotations

import datetime as dt

import pytest

from pytest_ctirealm.engines import EmbeddedEngine
from pytest_ctirealm.sigma import SigmaConversionError, convert_rules

NOW = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)


def rule(logsource: str, detection: str, title: str = "Test rule") -> str:
    return f"title: {title}\nlogsource: {logsource}\ndetection:\n{detection}\n"


def one(text: str) -> str:
    [converted] = convert_rules(text, "rules/test.yml")
    return converted.kql


@pytest.fixture(scope="module")
def k8s_engine() -> EmbeddedEngine:
    base = {"TimeGenerated": NOW, "Verb": "create", "Level": "RequestResponse"}
    rows = [
        {
            **base,
            "AuditId": "a1",
            "User": {"username": "eve@contoso.com", "groups": ["system:authenticated"]},
            "ObjectRef": {
                "resource": "clusterrolebindings",
                "apiGroup": "rbac.authorization.k8s.io",
                "name": "x",
            },
            "RequestObject": {
                "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"},
                "subjects": [{"kind": "ServiceAccount", "name": "backdoor"}],
            },
            "ResponseStatus": {"code": 201},
        },
        {
            **base,
            "AuditId": "a2",
            "User": {"username": "system:serviceaccount:kube-system:helm"},
            "ObjectRef": {"resource": "clusterrolebindings", "name": "view-binding"},
            "RequestObject": {"roleRef": {"kind": "ClusterRole", "name": "view"}, "subjects": []},
            "ResponseStatus": {"code": 201},
        },
        {
            **base,
            "AuditId": "a3",
            "Verb": "list",
            "User": {"username": "eve@contoso.com"},
            "ObjectRef": {"resource": "secrets"},
            "ResponseStatus": {"code": 200},
        },
    ]
    engine = EmbeddedEngine.with_tables({"AKSAudit": rows, "AKSAuditAdmin": rows[:2]})
    yield engine
    engine.close()


def test_nested_kubernetes_fields_become_working_kql(k8s_engine: EmbeddedEngine) -> None:
    kql = one(
        rule(
            "{product: kubernetes, service: audit}",
            """  sel:
    verb: create
    objectRef.resource: clusterrolebindings
    requestObject.roleRef.name: cluster-admin
  condition: sel""",
        )
    )
    assert "tostring(ObjectRef.resource)" in kql and "'objectRef.resource'" not in kql
    assert kql.startswith("AKSAuditAdmin\n")  # only state-changing verbs: the admin table
    assert [r["AuditId"] for r in k8s_engine.query(kql).records()] == ["a1"]


def test_reads_go_to_aksaudit_and_numbers_compare_as_numbers(k8s_engine: EmbeddedEngine) -> None:
    kql = one(
        rule(
            "{product: kubernetes, service: audit}",
            """  sel:
    verb: [list, get]
    objectRef.resource: secrets
    responseStatus.code: 200
  condition: sel""",
        )
    )
    assert kql.startswith("AKSAudit\n") and "tolong(ResponseStatus.code) == 200" in kql
    assert [r["AuditId"] for r in k8s_engine.query(kql).records()] == ["a3"]


def test_contains_on_a_nested_list(k8s_engine: EmbeddedEngine) -> None:
    kql = one(
        rule(
            "{product: kubernetes, service: audit}",
            """  sel:
    requestObject.subjects|contains: backdoor
  condition: sel""",
        )
    )
    assert [r["AuditId"] for r in k8s_engine.query(kql).records()] == ["a1"]


def test_signin_status_and_string_result_codes() -> None:
    kql = one(
        rule(
            "{product: azure, service: signinlogs}",
            """  sel:
    Status: Failure
    ResultType: 50126
    properties.message: Device Code
  condition: sel""",
        )
    )
    rows = [
        {
            "Id": "1",
            "TimeGenerated": NOW,
            "ResultType": "50126",
            "AuthenticationProtocol": "deviceCode",
        },
        {
            "Id": "2",
            "TimeGenerated": NOW,
            "ResultType": "0",
            "AuthenticationProtocol": "deviceCode",
        },
        {"Id": "3", "TimeGenerated": NOW, "ResultType": "50126", "AuthenticationProtocol": "none"},
    ]
    with EmbeddedEngine.with_tables({"SigninLogs": rows}) as engine:
        assert [r["Id"] for r in engine.query(kql).records()] == ["1"]
    assert 'ResultType =~ "50126"' in kql


@pytest.mark.parametrize(
    ("logsource", "field", "expected"),
    [
        ("{product: azure, service: activitylogs}", "operationName", "OperationNameValue =~"),
        (
            "{product: azure, service: activitylogs}",
            "properties.requestbody",
            "tostring(Properties_d.requestbody) =~",
        ),
        ("{product: azure, service: auditlogs}", "properties.message", "OperationName =~"),
        (
            "{product: azure, service: auditlogs}",
            "Initiatedby",
            "tostring(InitiatedBy.user.userPrincipalName) =~",
        ),
        (
            "{product: azure, service: serviceprincipalsigninlogs}",
            "LocationDetails.city",
            "tostring(parse_json(LocationDetails).city) =~",
        ),
        ("{product: azure, service: graphactivitylogs}", "requestUri", "RequestUri =~"),
        ("{product: azure, service: storagebloblogs}", "operationname", "OperationName =~"),
        ("{product: azure, service: keyvault}", "OperationName", "OperationName =~"),
        ("{product: m365, service: audit}", "operation", "Operation =~"),
    ],
)
def test_every_service_resolves_its_fields(logsource: str, field: str, expected: str) -> None:
    assert expected in one(rule(logsource, f"  sel:\n    {field}: x\n  condition: sel"))


def test_json_text_columns_are_parsed_before_dotting() -> None:
    kql = one(
        rule(
            "{product: azure, service: serviceprincipalsigninlogs}",
            "  sel:\n    LocationDetails.countryOrRegion: NL\n  condition: sel",
        )
    )
    rows = [
        {"Id": "1", "TimeGenerated": NOW, "LocationDetails": '{"countryOrRegion":"NL"}'},
        {"Id": "2", "TimeGenerated": NOW, "LocationDetails": '{"countryOrRegion":"US"}'},
    ]
    with EmbeddedEngine.with_tables({"AADServicePrincipalSignInLogs": rows}) as engine:
        assert [r["Id"] for r in engine.query(kql).records()] == ["1"]


def test_linux_file_event_user_is_the_writing_process_account() -> None:
    kql = one(
        rule(
            "{product: linux, category: file_event}",
            """  sel:
    TargetFilename|startswith: /tmp/
    User: www-data
  condition: sel""",
        )
    )
    assert "InitiatingProcessAccountName =~" in kql and "RequestAccountName" not in kql


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            rule(
                "{product: windows, category: process_creation}",
                "  sel:\n    Image: x\n  condition: sel",
                "Win",
            ),
            "rules/test.yml: rule 'Win':",
        ),
        (
            rule(
                "{product: azure, service: riskdetection}",
                "  sel:\n    riskEventType: x\n  condition: sel",
                "Risk",
            ),
            "rule 'Risk': log source (product: azure, service: riskdetection",
        ),
        (
            rule(
                "{product: kubernetes, service: audit}",
                "  sel:\n    verbb: get\n  condition: sel",
                "Typo",
            ),
            "rule 'Typo': field 'verbb' is not a column of AKSAudit",
        ),
        ("title: [broken\n", "rules/test.yml: not valid Sigma"),
        (
            rule(
                "{product: kubernetes, service: audit}",
                "  sel:\n    verb|base64offset|contains: get\n  condition: sel",
                "Mod",
            ),
            "rule 'Mod':",
        ),
    ],
)
def test_unconvertible_rules_name_file_rule_and_reason(text: str, message: str) -> None:
    with pytest.raises(SigmaConversionError) as caught:
        convert_rules(text, "rules/test.yml")
    assert message in str(caught.value)
