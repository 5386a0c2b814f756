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
#: Where instances draw attacker infrastructure (campaign.ATTACKER_NETWORKS) and the reports'.
ATTACKER_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in ("203.0.113.0/24", "198.51.100.160/27", "198.51.100.192/26", "192.0.2.0/24")
)
INTERNAL_NETWORKS = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "::1/128")
)
OBJECT_REF_KEYS = {"resource", "subresource", "namespace", "name", "apiGroup", "apiVersion"}


def attacker_users(telemetry: Telemetry) -> dict[str, set[str]]:
    """Per intrusion, who the attacker is in the audit log, as its instance drew it (the
    rest are the cluster's own controllers and kubelets acting on what it created)."""
    operator = telemetry.instances["aks_operator"]
    app = next(
        a for a in benign._APPS if a.name == telemetry.instances["aks_web_pod_takeover"]["app"]
    )
    return {
        "aks_stolen_kubeconfig": {env.person(str(operator["engineer"])).upn},
        "aks_certificate_backdoor": {str(operator["cert_user"])},
        "aks_web_pod_takeover": {f"system:serviceaccount:{app.namespace}:{app.name}"},
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
    "aks_006": "AKSAudit | where toint(ResponseStatus.code) == 403 or tostring(ObjectRef.resource) in ('selfsubjectrulesreviews', 'selfsubjectaccessreviews')",
    "aks_007": "AKSAudit | where tostring(ObjectRef.resource) == 'nodes' and (tostring(ObjectRef.subresource) == 'proxy' or Verb in ('get', 'list'))",
    "aks_008": "AKSAuditAdmin | where tostring(ObjectRef.subresource) == 'exec'",
    "aks_009": "AKSAuditAdmin | where Verb in ('create', 'update', 'patch') and tostring(ObjectRef.resource) == 'cronjobs' and isempty(tostring(ObjectRef.subresource))",
    "aks_010": "AKSAuditAdmin | where Verb in ('create', 'patch') and tostring(ObjectRef.resource) in ('daemonsets', 'deployments', 'jobs')",
    "aks_011": "AKSAuditAdmin | where tostring(ObjectRef.resource) == 'networkpolicies'",
    "aks_012": "AKSAuditAdmin | where tostring(ObjectRef.resource) == 'events' and Verb in ('delete', 'deletecollection')",
    "aks_013": "AKSAuditAdmin | where Verb == 'create' and tostring(ObjectRef.resource) == 'pods' and (tostring(RequestObject.spec.containers) contains 'privileged\":true' or tostring(RequestObject.spec.volumes) contains 'hostPath')",
    "aks_014": "AKSAuditAdmin | where tostring(ObjectRef.resource) == 'serviceaccounts' and Verb in ('update', 'patch', 'delete')",
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


def test_stolen_kubeconfig_follows_its_instance(
    telemetry: Telemetry, admin_rows: dict[str, list[dict[str, Any]]]
) -> None:
    """The instance's SRE, client and address; tokens for its accounts kept in its secrets;
    the certificate requested and approved by one identity; cluster-admin for its user."""
    drawn = telemetry.instances["aks_stolen_kubeconfig"]
    stage = {s: admin_rows[f"aks_stolen_kubeconfig.{s}"] for s in ("token_request", "token_secret")}
    stage |= {s: admin_rows[f"aks_stolen_kubeconfig.{s}"] for s in ("csr_created", "csr_approved")}
    stage["rbac_backdoor"] = admin_rows["aks_stolen_kubeconfig.rbac_backdoor"]
    for rows in stage.values():
        for row in rows:
            assert row["User"]["username"] == drawn["engineer"]
            assert (row["UserAgent"], row["SourceIps"][0]) == (drawn["kubectl"], drawn["source_ip"])
    assert {r["ObjectRef"]["name"] for r in stage["token_request"]} == set(drawn["token_accounts"])
    assert {r["ObjectRef"]["namespace"] for r in stage["token_request"]} == {"kube-system"}
    assert {r["ObjectRef"]["name"] for r in stage["token_secret"]} == set(drawn["token_secrets"])
    (request,), (approval,) = stage["csr_created"], stage["csr_approved"]
    assert request["ObjectRef"]["name"] == approval["ObjectRef"]["name"] == drawn["cert_user"]
    assert approval["RequestObject"]["status"]["conditions"][0]["type"] == "Approved"
    admin_grants = [
        r["RequestObject"]["subjects"][0]
        for r in stage["rbac_backdoor"]
        if r["RequestObject"].get("roleRef", {}).get("name") == "cluster-admin"
    ]
    user = {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": drawn["cert_user"]}
    assert user in admin_grants


def test_poisoned_pipeline_follows_its_instance(
    telemetry: Telemetry, admin_rows: dict[str, list[dict[str, Any]]]
) -> None:
    """The pipeline's identity from its runner with the instance's client; the miner's
    workload, endpoint and wallet; the namespaces whose isolation went; the implant's image
    and collection address in the instance's applications."""
    drawn = telemetry.instances["aks_poisoned_pipeline"]
    stages = {
        s: admin_rows[f"aks_poisoned_pipeline.{s}"]
        for s in ("miner_daemonset", "netpol_opened", "sidecar_implant")
    }
    for rows in stages.values():
        assert len(rows) >= 2
        for row in rows:
            assert row["User"]["username"] == env.application("ci-deployer").object_id
            assert (row["UserAgent"], row["SourceIps"][0]) == (
                drawn["client"],
                benign._RUNNER_EGRESS_IP,
            )
    endpoint = drawn.get("mining_proxy") or drawn["pool_host"]
    for row in stages["miner_daemonset"]:
        body = str(row["RequestObject"])
        assert row["ObjectRef"]["namespace"] == drawn["miner_namespace"]
        assert drawn["miner_name"] in body and endpoint in body and drawn["wallet"] in body
    opened = {r["ObjectRef"]["namespace"] for r in stages["netpol_opened"]}
    assert opened == set(drawn["isolation_namespaces"])
    apps = {(a.name, a.namespace) for a in benign._APPS if a.name in drawn["implanted_apps"]}
    for row in stages["sidecar_implant"]:
        body = str(row["RequestObject"])
        assert (row["ObjectRef"]["name"], row["ObjectRef"]["namespace"]) in apps
        assert any(image in body for image in drawn["implant_images"])
        assert drawn["collector"] in body


def test_web_pod_takeover_follows_its_instance(
    telemetry: Telemetry, audit_rows: dict[str, list[dict[str, Any]]]
) -> None:
    """One pod of the instance's application with its token and its clients; the probes
    refused, the forgotten binding allowing the rest; the instance's kubelets; exec
    sessions in the instance's pod of the other application."""
    drawn = telemetry.instances["aks_web_pod_takeover"]
    app = next(a for a in benign._APPS if a.name == drawn["app"])
    target = next(a for a in benign._APPS if a is not app)
    stages = {
        s: audit_rows[f"aks_web_pod_takeover.{s}"]
        for s in ("api_discovery", "rbac_probe", "node_recon", "kubelet_proxy", "pod_exec")
    }
    agents = {drawn["agent"], drawn.get("kubelet_agent"), drawn.get("exec_agent")}
    for rows in stages.values():
        for row in rows:
            assert row["User"]["username"] == f"system:serviceaccount:{app.namespace}:{app.name}"
            assert row["User"]["extra"]["authentication.kubernetes.io/pod-name"] == [drawn["pod"]]
            assert row["SourceIps"] == [benign._pod_ip(drawn["pod"])]
            assert row["UserAgent"] in agents
    refused = [r for r in stages["rbac_probe"] if r["ResponseStatus"]["code"] == 403]
    assert len(refused) == len(drawn["probes"])
    assert all(
        drawn["binding"] in r["Annotations"]["authorization.k8s.io/reason"]
        for r in stages["node_recon"]
    )
    home = benign._NODES[benign._pod_node(drawn["exec_pod"])]
    for row in stages["kubelet_proxy"]:
        assert row["ObjectRef"]["subresource"] == "proxy"
        assert row["ObjectRef"]["name"] in {*drawn["nodes"], home}
    assert len(stages["pod_exec"]) == len(drawn["exec_commands"])
    for row in stages["pod_exec"]:
        assert (row["ObjectRef"]["name"], row["ObjectRef"]["namespace"]) == (
            drawn["exec_pod"],
            target.namespace,
        )
        assert row["ObjectRef"]["subresource"] == "exec"


def test_anonymous_scan_follows_its_instance(
    telemetry: Telemetry, audit_rows: dict[str, list[dict[str, Any]]]
) -> None:
    """The fingerprint from the instance's scanner, the follow-up from its (other) address
    with its clients over its paths; only the public endpoints answer."""
    drawn = telemetry.instances["aks_anonymous_scan"]
    fingerprint = audit_rows["aks_anonymous_scan.fingerprint"]
    probe = audit_rows["aks_anonymous_scan.anonymous_probe"]
    assert [r["RequestUri"] for r in fingerprint] == drawn["fingerprint_paths"]
    assert {(r["SourceIps"][0], r["UserAgent"]) for r in fingerprint} == {
        (drawn["scanner_ip"], drawn["fingerprint_agent"])
    }
    assert {r["SourceIps"][0] for r in probe} == {drawn.get("probe_ip", drawn["scanner_ip"])}
    assert {r["UserAgent"] for r in probe} <= set(drawn["probe_agents"])
    assert set(drawn["probe_paths"]) <= {r["RequestUri"] for r in probe}
    for row in fingerprint + probe:
        assert row["User"] == {"username": "system:anonymous", "groups": ["system:unauthenticated"]}
        public = row["RequestUri"].partition("?")[0] in attacks.anonymous_scan.PUBLIC
        assert row["ResponseStatus"]["code"] == (200 if public else 403)


def test_certificate_backdoor_follows_its_instance(
    telemetry: Telemetry,
    audit_rows: dict[str, list[dict[str, Any]]],
    admin_rows: dict[str, list[dict[str, Any]]],
) -> None:
    """The operator's certificate user, client and return address throughout; the
    instance's secrets read by name; its CronJobs fetching from the operator's server;
    escape pods of its technique on its nodes, execs into those that ran; the account it
    re-pointed at the borrowed identity and back; events deleted its way."""
    op = telemetry.instances["aks_operator"]
    drawn = telemetry.instances["aks_certificate_backdoor"]
    ours = {s: rows for s, rows in audit_rows.items() if s.startswith("aks_certificate_backdoor.")}
    callers = {
        (r["User"]["username"], r["UserAgent"], r["SourceIps"][0])
        for rows in ours.values()
        for r in rows
        if not r["User"]["username"].startswith("system:")
    }
    assert callers == {(op["cert_user"], op["kubectl"], op["return_ip"])}
    reads = ours["aks_certificate_backdoor.secret_reads"]
    names = [f"{r['ObjectRef']['namespace']}/{r['ObjectRef']['name']}" for r in reads]
    assert names == drawn["secrets"] and len({n.split("/")[0] for n in names}) >= 2
    cronjobs = admin_rows["aks_certificate_backdoor.cronjob"]
    assert len(cronjobs) >= 2
    first = cronjobs[0]
    assert (first["ObjectRef"]["name"], first["ObjectRef"]["namespace"]) == (
        drawn["cronjob"],
        drawn["cronjob_namespace"],
    )
    assert op["stager_url"] in str(first["RequestObject"])
    for row in cronjobs:
        body = str(row["RequestObject"])
        assert op["stager_url"].rsplit("/", 1)[0] in body and drawn["cronjob_image"] in body
    pods = admin_rows["aks_certificate_backdoor.escape_pod"]
    assert len(pods) >= 2
    nodes = {benign._NODES[n] for n in drawn["escape_nodes"]}
    for row in pods:
        assert "ownerReferences" not in row["RequestObject"]["metadata"]
        assert row["RequestObject"]["spec"]["nodeName"] in nodes
        assert row["RequestObject"]["spec"]["containers"][0]["image"] == drawn["escape_image"]
    refused = [r["ObjectRef"]["name"] for r in pods if r["ResponseStatus"]["code"] == 403]
    assert len(refused) == (drawn["escape_layout"] == "refused_then_retry")
    ran = {r["ObjectRef"]["name"] for r in pods if r["ResponseStatus"]["code"] == 201}
    execs = admin_rows["aks_certificate_backdoor.escape_exec"]
    assert {r["ObjectRef"]["name"] for r in execs} == ran
    assert all(r["ObjectRef"]["subresource"] == "exec" for r in execs)
    account = drawn["hijacked_account"]
    own = attacks.certificate_backdoor._WORKLOADS[account][1]
    tamper = admin_rows["aks_certificate_backdoor.sa_tamper"]
    assert [r["ObjectRef"]["name"] for r in tamper] == [account, account]
    key = attacks.certificate_backdoor.WORKLOAD_IDENTITY
    ids = [r["RequestObject"]["metadata"]["annotations"][key] for r in tamper]
    assert ids == [env.application(drawn["borrowed_identity"]).app_id, env.application(own).app_id]
    verbs = {r["Verb"] for r in admin_rows["aks_certificate_backdoor.events_deleted"]}
    expected = {
        "one_by_one": {"delete"},
        "by_object": {"deletecollection"},
        "one_by_one_and_by_object": {"delete", "deletecollection"},
    }
    assert verbs == expected[drawn["event_deletion"]]


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
    telemetry: Telemetry, audit_rows: dict[str, list[dict[str, Any]]]
) -> None:
    attackers = attacker_users(telemetry)
    runner = ipaddress.ip_address(benign._RUNNER_EGRESS_IP)
    for stage, rows in audit_rows.items():
        scenario = stage.split(".")[0]
        attacker = [r for r in rows if r["User"]["username"] in attackers[scenario]]
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
        users = attacker_users(telemetry)[scenario]
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
