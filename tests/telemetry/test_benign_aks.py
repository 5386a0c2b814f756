"""The benign AKS audit background: AKSAudit and AKSAuditAdmin carry the verb mix of a
small cluster, the writes in both tables under one AuditId, and the legitimate twins of
the container attacks (exec, CSRs, RBAC, token requests, privileged system pods)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from pytest_ctirealm.engines import EmbeddedEngine
from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.benign import aks
from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.event_keys import EVENT_KEYS
from pytest_ctirealm.telemetry.schema import table_schema

Rows = dict[str, list[dict[str, Any]]]
CTX = SimContext(seed=3)
DAILY_TARGETS = {"AKSAudit": 6000, "AKSAuditAdmin": 2000}
READS = ("get", "list", "watch")
PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "datetime": (dt.datetime,),
    "dynamic": (dict, list, str),
}


@pytest.fixture(scope="module")
def tables() -> Rows:
    return aks.generate(CTX)


@pytest.fixture(scope="module")
def engine(tables: Rows) -> Iterator[EmbeddedEngine]:
    with EmbeddedEngine.with_tables(tables) as loaded:
        yield loaded


def scalar(engine: EmbeddedEngine, kql: str) -> Any:
    rows = engine.query(kql).rows
    assert len(rows) == 1, rows
    return rows[0][0]


def shares(engine: EmbeddedEngine, table: str) -> dict[str, float]:
    """Each verb's share of *table*."""
    rows = engine.query(f"{table} | summarize n = count() by Verb").rows
    total = sum(n for _, n in rows)
    return {verb: n / total for verb, n in rows}


def test_rows_use_only_table_columns_with_kusto_typed_values(tables: Rows) -> None:
    for table, rows in tables.items():
        schema = table_schema(table)
        types = {column.name: column.type for column in schema.columns}
        for row in rows:
            assert set(row) <= set(types), set(row) - set(types)
            for column, value in row.items():
                assert isinstance(value, PYTHON_TYPES[types[column]]), (column, value)
            assert row["TimeGenerated"].tzinfo == dt.UTC
            assert row["RequestReceivedTime"] <= row["StageReceivedTime"]
            assert CTX.start <= row["TimeGenerated"] < CTX.end


def test_event_keys_are_unique(tables: Rows) -> None:
    for table, rows in tables.items():
        keys = [tuple(row[c] for c in EVENT_KEYS[table]) for row in rows]
        assert len(keys) == len(set(keys)), table


def test_same_seed_same_rows_and_another_seed_differs(tables: Rows) -> None:
    """A one-day window repeats the first day of the two-day one; another seed does not."""
    first_day = CTX.start + dt.timedelta(days=1)
    again = aks.generate(SimContext(seed=3, scale=0.5))
    for table, rows in tables.items():
        assert again[table] == [row for row in rows if row["TimeGenerated"] < first_day]
    other = aks.generate(SimContext(seed=4, scale=0.5))
    assert [r["AuditId"] for r in other["AKSAudit"]] != [r["AuditId"] for r in again["AKSAudit"]]


def test_volume_per_day_is_near_target(tables: Rows) -> None:
    for table, target in DAILY_TARGETS.items():
        per_day = Counter((row["TimeGenerated"] - CTX.start).days for row in tables[table])
        assert set(per_day) == set(CTX.day_range())
        for count in per_day.values():
            assert 0.7 * target <= count <= 1.3 * target, (table, count)


def test_admin_holds_the_writes_and_shares_their_audit_ids(tables: Rows) -> None:
    admin = {row["AuditId"]: row for row in tables["AKSAuditAdmin"]}
    assert not [row for row in admin.values() if row["Verb"] in READS]
    audit_writes = [row for row in tables["AKSAudit"] if row["Verb"] not in READS]
    assert audit_writes
    for row in audit_writes:
        assert admin[row["AuditId"]] == row
    exec_ids = {r["AuditId"] for r in audit_writes if "/exec?" in r["RequestUri"]}
    assert exec_ids and exec_ids <= set(admin)


def test_verb_mix_matches_a_real_cluster(engine: EmbeddedEngine) -> None:
    audit = shares(engine, "AKSAudit")
    assert 0.35 <= audit["get"] <= 0.45
    assert 0.15 <= audit["watch"] <= 0.25
    assert 0.10 <= audit["list"] <= 0.15
    assert 0.10 <= audit["update"] <= 0.15
    assert 0.05 <= audit["patch"] <= 0.08
    assert 0.03 <= audit["create"] <= 0.05
    assert audit["delete"] < 0.01
    admin = shares(engine, "AKSAuditAdmin")
    assert 0.55 <= admin["update"] <= 0.65
    assert 0.20 <= admin["patch"] <= 0.30
    assert 0.08 <= admin["create"] <= 0.12
    assert 0.01 <= admin["delete"] <= 0.02


def test_status_codes_and_dynamic_paths(engine: EmbeddedEngine) -> None:
    codes = dict(
        engine.query("AKSAudit | summarize n = count() by code = toint(ResponseStatus.code)").rows
    )
    total = sum(codes.values())
    assert codes[200] / total > 0.9
    assert 0.01 <= codes[404] / total <= 0.04
    assert 0 < codes[403] / total < 0.005
    top = engine.query(
        "AKSAudit | summarize n = count() by r = tostring(ObjectRef.resource) | top 6 by n"
    ).rows
    assert {"leases", "pods", "nodes"} <= {resource for resource, _ in top}
    assert scalar(engine, "AKSAudit | where isnull(ObjectRef) and Verb != 'get' | count") == 0


def test_kubelets_renew_their_leases_on_a_strict_period(tables: Rows) -> None:
    node = env.AKS.nodes[0]
    renewals = sorted(
        row["RequestReceivedTime"]
        for row in tables["AKSAuditAdmin"]
        if row["Verb"] == "update" and row["RequestUri"].endswith(f"leases/{node}?timeout=10s")
    )
    gaps = {round((b - a).total_seconds()) for a, b in itertools.pairwise(renewals)}
    assert gaps == {aks._NODE_LEASE_EVERY}


def test_people_use_kubectl_in_office_hours(engine: EmbeddedEngine) -> None:
    hours = engine.query(
        "AKSAudit | where tostring(User.username) endswith '@contoso.com' "
        "| summarize by h = hourofday(TimeGenerated)"
    ).rows
    assert hours and all(6 <= h < 21 for (h,) in hours)


@pytest.mark.parametrize(
    "kql",
    [
        # an SRE's kubectl exec into an app pod, upgraded to a stream
        "AKSAuditAdmin | where Verb == 'create' and tostring(ObjectRef.subresource) == 'exec'"
        " and toint(ResponseStatus.code) == 101 and tostring(User.username) endswith"
        " '@contoso.com' and tostring(ObjectRef.namespace) in ('web', 'api')",
        # kubelet certificate rotation: CSR by a node, approved by the controller
        "AKSAuditAdmin | where tostring(ObjectRef.resource) == 'certificatesigningrequests'"
        " and Verb == 'create' and tostring(User.username) startswith 'system:node:'",
        "AKSAuditAdmin | where tostring(ObjectRef.subresource) == 'approval'"
        " and tostring(User.username) endswith ':certificate-controller'",
        # TokenRequests by kubelets for their pods
        "AKSAudit | where tostring(ObjectRef.subresource) == 'token' and Verb == 'create'"
        " and tostring(User.username) startswith 'system:node:'",
        # ClusterRole(Binding)s written by helm and the AKS reconciler, never to cluster-admin
        "AKSAuditAdmin | where tostring(ObjectRef.resource) == 'clusterrolebindings'"
        " and Verb == 'create' and UserAgent startswith 'helm/'",
        "AKSAuditAdmin | where tostring(ObjectRef.resource) == 'clusterroles' and Verb == 'patch'"
        " and tostring(User.username) == 'aksService'",
        # cluster-wide secret lists by controllers, a mis-scoped app's 403s
        "AKSAudit | where Verb == 'list' and tostring(ObjectRef.resource) == 'secrets'"
        " and isempty(tostring(ObjectRef.namespace))"
        " and tostring(User.username) endswith ':generic-garbage-collector'",
        "AKSAudit | where toint(ResponseStatus.code) == 403 and tostring(ObjectRef.resource) =="
        " 'secrets' and tostring(User.username) == 'system:serviceaccount:web:frontend'",
        # CronJobs: CI adds one, the cronjob-controller creates Jobs
        "AKSAuditAdmin | where Verb == 'create' and tostring(ObjectRef.resource) == 'cronjobs'",
        "AKSAuditAdmin | where Verb == 'create' and tostring(ObjectRef.resource) == 'jobs'"
        " and tostring(User.username) endswith ':cronjob-controller'",
        # events removed by the namespace controller, NetworkPolicies applied by CI
        "AKSAuditAdmin | where Verb startswith 'delete' and tostring(ObjectRef.resource) =="
        " 'events' and tostring(User.username) endswith ':namespace-controller'",
        "AKSAuditAdmin | where tostring(ObjectRef.resource) == 'networkpolicies'"
        " and Verb in ('create', 'patch')",
        # nodes/proxy scrapes and the kubelet's authorization of metrics-server
        "AKSAudit | where tostring(ObjectRef.resource) == 'nodes'"
        " and tostring(ObjectRef.subresource) == 'proxy'",
        "AKSAuditAdmin | where tostring(ObjectRef.resource) == 'subjectaccessreviews'"
        " and tostring(RequestObject.spec.user) endswith ':metrics-server'",
        # privileged, hostPath and hostPID system pods
        "AKSAuditAdmin | where Verb == 'create' and tostring(ObjectRef.resource) == 'pods'"
        " and tostring(RequestObject.spec.containers) has '\"privileged\":true'"
        " and tostring(ObjectRef.namespace) == 'kube-system'",
        "AKSAuditAdmin | where Verb == 'create' and tostring(ObjectRef.resource) == 'pods'"
        " and tostring(RequestObject.spec.volumes) has '/var/log'",
        "AKSAuditAdmin | where Verb == 'create' and tobool(RequestObject.spec.hostPID)",
        # service accounts deleted by CI's teardown, patched by helm or created per namespace
        "AKSAuditAdmin | where tostring(ObjectRef.resource) == 'serviceaccounts'"
        " and Verb == 'delete'",
        # discovery-looking lists of nodes by people and agents
        "AKSAudit | where Verb == 'list' and tostring(ObjectRef.resource) == 'nodes'",
    ],
)
def test_benign_look_alikes_are_present(engine: EmbeddedEngine, kql: str) -> None:
    assert scalar(engine, f"{kql} | count") > 0


def test_no_benign_binding_grants_cluster_admin(engine: EmbeddedEngine) -> None:
    kql = (
        "AKSAuditAdmin | where tostring(ObjectRef.resource) has 'rolebindings'"
        " and tostring(RequestObject.roleRef.name) == 'cluster-admin' | count"
    )
    assert scalar(engine, kql) == 0
