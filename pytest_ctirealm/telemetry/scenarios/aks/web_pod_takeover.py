"""Remote code execution in the web frontend driving kubectl with the pod's token."""

from __future__ import annotations

import copy
import dataclasses
from urllib.parse import quote

from pytest_ctirealm.telemetry.benign import aks as k8s
from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.scenarios.aks.common import (
    BACKEND,
    FRONTEND,
    KUBECTL_CREATE,
    RBAC,
    Intrusion,
)
from pytest_ctirealm.telemetry.scenarios.base import Stages, incident_start, scenario

#: kubectl dropped into the frontend pod, and curl for the kubelet API.
POD_KUBECTL = "kubectl/v1.30.0 (linux/amd64) kubernetes/7c48c2b"
POD_CURL = "curl/8.5.0"
#: The frontend service account's forgotten ClusterRoleBinding.
OPS_BINDING = "frontend-ops-tools"


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
    t = Intrusion(ctx, "aks_web_pod_takeover", incident_start(ctx, "aks-webpod", (9, 21)))
    pod = t.rng.choice(t.day().pods(FRONTEND, t.now))
    base = t.day().app_caller(FRONTEND, t.now, pod)
    who = dataclasses.replace(
        base,
        agent=POD_KUBECTL,
        reason=k8s._rbac(OPS_BINDING, "ops-tools", "ServiceAccount", "frontend/web"),
    )
    _probe_rbac(t, who)
    t.emit("node_recon", who, "list", "/api/v1/nodes?limit=500", after=30)
    t.emit("node_recon", who, "get", f"/api/v1/nodes/{k8s._NODES[0]}", after=20)
    t.emit("pod_discovery", who, "list", "/api/v1/pods?limit=500", after=25)
    backend = t.rng.choice(t.day().pods(BACKEND, t.now))
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


def _probe_rbac(t: Intrusion, who: k8s._Who) -> None:
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
                "resourceNames": [FRONTEND.config],
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
        ("list", f"{RBAC}/clusterrolebindings?limit=500"),
        ("list", "/apis/apps/v1/namespaces/web/deployments?limit=500"),
        ("create", f"/api/v1/namespaces/web/pods?{KUBECTL_CREATE}"),
    ):
        t.emit("rbac_probe", who, verb, uri, after=12, code=403)
