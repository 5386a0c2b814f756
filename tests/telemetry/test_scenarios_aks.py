"""The AKS attack scenarios: rows shaped like the benign audit events around them, writes in
both audit tables and reads only in AKSAudit, one origin per intrusion, and benign
look-alikes that cost a detection keyed on the obvious verb and resource its precision."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from pytest_ctirealm.dataset import Benchmark
from pytest_ctirealm.engines import EmbeddedEngine
from pytest_ctirealm.scoring.events import positive_refs, score_events
from pytest_ctirealm.scoring.trace import RowTracer
from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.benign import aks as benign
from pytest_ctirealm.telemetry.scenarios import SCENARIOS
from pytest_ctirealm.telemetry.scenarios import aks as attacks
from pytest_ctirealm.telemetry.schema import table_schema
from pytest_ctirealm.telemetry.simulator import Telemetry

AUDIT, ADMIN = "AKSAudit", "AKSAuditAdmin"
READS = ("get", "list", "watch")
AKS_SCENARIOS = sorted(name for name, s in SCENARIOS.items() if s.platform == "aks")
ATTACKER_NETWORKS = tuple(ipaddress.ip_network(n) for n in ("203.0.113.0/24", "192.0.2.0/24"))
INTERNAL_NETWORKS = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "::1/128")
)
OBJECT_REF_KEYS = {"resource", "subresource", "namespace", "name", "apiGroup", "apiVersion"}

#: Per intrusion, who the attacker is in the audit log (the rest are the cluster's own
#: controllers and kubelets acting on what the attacker created).
ATTACKER_USERS = {
    "aks_stolen_kubeconfig": {"wei.chen@contoso.com"},
    "aks_certificate_backdoor": {attacks.certificate_backdoor.CERT_USER},
    "aks_web_pod_takeover": {"system:serviceaccount:web:frontend"},
    "aks_poisoned_pipeline": {env.application("ci-deployer").object_id},
    "aks_anonymous_scan": {"system:anonymous"},
}

#: Per task, a detection keyed only on the obvious verb and resource: it finds every
#: positive, and the benign look-alikes cost it precision.
NAIVE = {
    "aks_001": "AKSAudit | where Verb == 'list' and tostring(ObjectRef.resource) == 'secrets'",
    "aks_002": "AKSAuditAdmin | where tostring(ObjectRef.subresource) == 'token'",
    "aks_003": "AKSAuditAdmin | where Verb == 'create' and tostring(ObjectRef.resource) == 'secrets'",
    "aks_004": "AKSAuditAdmin | where tostring(ObjectRef.resource) == 'certificatesigningrequests'",
    "aks_005": "AKSAuditAdmin | where Verb == 'create' and tostring(ObjectRef.resource) in ('clusterroles', 'clusterrolebindings')",
    "aks_006": "AKSAudit | where toint(ResponseStatus.code) == 403 or tostring(ObjectRef.resource) == 'selfsubjectrulesreviews'",
    "aks_007": "AKSAudit | where tostring(ObjectRef.resource) == 'nodes' and (tostring(ObjectRef.subresource) == 'proxy' or Verb in ('get', 'list'))",
    "aks_008": "AKSAuditAdmin | where tostring(ObjectRef.subresource) == 'exec'",
    "aks_009": "AKSAuditAdmin | where Verb == 'create' and tostring(ObjectRef.resource) == 'cronjobs'",
    "aks_010": "AKSAuditAdmin | where Verb in ('create', 'patch') and tostring(ObjectRef.resource) == 'daemonsets'",
    "aks_011": "AKSAuditAdmin | where tostring(ObjectRef.resource) == 'networkpolicies'",
    "aks_012": "AKSAuditAdmin | where tostring(ObjectRef.resource) == 'events' and Verb in ('delete', 'deletecollection')",
    "aks_013": "AKSAuditAdmin | where Verb == 'create' and tostring(ObjectRef.resource) == 'pods' and (tostring(RequestObject.spec.containers) contains 'privileged\":true' or tostring(RequestObject.spec.volumes) contains 'hostPath')",
    "aks_014": "AKSAuditAdmin | where tostring(ObjectRef.resource) == 'serviceaccounts' and Verb in ('patch', 'delete')",
    "aks_015": "AKSAuditAdmin | where Verb == 'patch' and tostring(ObjectRef.resource) == 'deployments'",
    "aks_016": "AKSAudit | where Verb == 'get' and tostring(ObjectRef.resource) == 'secrets'",
    "aks_017": "AKSAudit | where toint(ResponseStatus.code) == 403 or isempty(tostring(ObjectRef.resource))",
}


def _stage_rows(telemetry: Telemetry, table: str) -> dict[str, list[dict[str, Any]]]:
    """The attack rows of *table*, by stage."""
    by_id = {row["AuditId"]: row for row in telemetry.tables[table]}
    return {
        stage: [by_id[key[0]] for key in tables.get(table, [])]
        for stage, tables in telemetry.stages.items()
        if stage.split(".")[0] in AKS_SCENARIOS
    }


@pytest.fixture(scope="module")
def audit_rows(telemetry: Telemetry) -> dict[str, list[dict[str, Any]]]:
    return _stage_rows(telemetry, AUDIT)


@pytest.fixture(scope="module")
def admin_rows(telemetry: Telemetry) -> dict[str, list[dict[str, Any]]]:
    return _stage_rows(telemetry, ADMIN)


def test_every_aks_scenario_emits_every_stage(telemetry: Telemetry) -> None:
    for name in AKS_SCENARIOS:
        for stage in SCENARIOS[name].stages:
            assert telemetry.stages.get(f"{name}.{stage}"), f"{name}.{stage} is empty"


def test_attack_rows_have_the_background_shapes(
    telemetry: Telemetry, audit_rows: dict[str, list[dict[str, Any]]]
) -> None:
    columns = set(table_schema(AUDIT).column_names)
    background = next(
        r for r in telemetry.tables[AUDIT] if r["AuditId"] not in _attack_ids(audit_rows)
    )
    for rows in audit_rows.values():
        for row in rows:
            assert set(row) <= columns
            assert telemetry.start <= row["TimeGenerated"] < telemetry.end
            assert row["RequestReceivedTime"] <= row["StageReceivedTime"] == row["TimeGenerated"]
            assert row["PodName"] in benign._APISERVER_PODS
            assert row["_ResourceId"] == background["_ResourceId"]
            assert {"username", "groups"} <= set(row["User"])
            assert all(isinstance(ip, str) for ip in row["SourceIps"])
            assert set(row.get("ObjectRef", {})) <= OBJECT_REF_KEYS
            assert row["Level"] in ("Metadata", "Request", "RequestResponse")
            assert row["Stage"] in ("ResponseComplete", "ResponseStarted")
            assert row["Verb"] == row["Verb"].lower()
            assert "code" in row["ResponseStatus"]
            assert row["Annotations"]["authorization.k8s.io/decision"] in ("allow", "forbid")
            if row.get("ObjectRef", {}).get("resource") in benign._METADATA_ONLY:
                assert "RequestObject" not in row


def _attack_ids(rows: dict[str, list[dict[str, Any]]]) -> set[str]:
    return {row["AuditId"] for stage in rows.values() for row in stage}


def test_writes_are_in_both_tables_and_reads_only_in_audit(
    audit_rows: dict[str, list[dict[str, Any]]], admin_rows: dict[str, list[dict[str, Any]]]
) -> None:
    for stage, rows in audit_rows.items():
        writes = {r["AuditId"]: r for r in rows if r["Verb"] not in READS}
        copies = {r["AuditId"]: r for r in admin_rows.get(stage, [])}
        assert set(writes) == set(copies), stage
        for audit_id, row in writes.items():
            copy = copies[audit_id]
            assert copy is not row and copy["Type"] == ADMIN
            assert {**copy, "Type": AUDIT} == row


def test_each_intrusion_keeps_its_identity_and_attacker_infrastructure(
    audit_rows: dict[str, list[dict[str, Any]]],
) -> None:
    runner = ipaddress.ip_address(benign._RUNNER_EGRESS_IP)
    for stage, rows in audit_rows.items():
        scenario = stage.split(".")[0]
        attacker = [r for r in rows if r["User"]["username"] in ATTACKER_USERS[scenario]]
        others = [r for r in rows if r not in attacker]
        assert all(r["User"]["username"].startswith("system:") for r in others), stage
        assert len({(r["User"]["username"], r["SourceIps"][0]) for r in attacker}) <= 1, stage
        for row in attacker:
            client = ipaddress.ip_address(row["SourceIps"][0])
            assert (
                client == runner
                or any(client in net for net in ATTACKER_NETWORKS)
                or any(client in net for net in INTERNAL_NETWORKS)
            ), (stage, client)


def test_compromised_identities_also_act_legitimately(
    telemetry: Telemetry, audit_rows: dict[str, list[dict[str, Any]]]
) -> None:
    """The SRE, the frontend's account and the pipeline are busy with benign work too, so
    a detection on the identity alone is not precise."""
    attack = _attack_ids(audit_rows)
    for scenario in ("aks_stolen_kubeconfig", "aks_web_pod_takeover", "aks_poisoned_pipeline"):
        users = ATTACKER_USERS[scenario]
        benign_rows = [
            r
            for r in telemetry.tables[AUDIT]
            if r["User"]["username"] in users and r["AuditId"] not in attack
        ]
        assert benign_rows, scenario


@pytest.mark.parametrize("task_id", sorted(NAIVE))
def test_the_obvious_verb_and_resource_lose_precision_to_near_misses(
    task_id: str,
    benchmark: Benchmark,
    telemetry: Telemetry,
    telemetry_engine: EmbeddedEngine,
    tracer: RowTracer,
) -> None:
    task = benchmark.tasks[task_id]
    positives = positive_refs(telemetry.positives(list(task.positives)))
    query = NAIVE[task_id]
    found = tracer.trace(telemetry_engine.query(query, max_rows=1_000_000).records(), query).events
    score = score_events(found, positives)
    assert score.recall == 1.0
    assert score.precision < 0.9
