"""The stolen kubeconfig: an SRE's credentials used from a VPS to dump secrets, mint tokens and a client certificate, and bind cluster-admin."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.benign import aks as k8s
from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.scenarios.aks.common import (
    CSR_URI,
    KUBECTL_CREATE,
    RBAC,
    Intrusion,
    created,
    external,
)
from pytest_ctirealm.telemetry.scenarios.base import Stages, incident_start, scenario

#: The operator's kubectl (a release Contoso's engineers do not use) and its two VPSs.
ATTACKER_KUBECTL = "kubectl/v1.28.2 (linux/amd64) kubernetes/89a4ea3"
KUBECONFIG_IP = "203.0.113.77"
RETURN_IP = "203.0.113.140"
#: The client certificate's user name (its CN) and the backdoor RBAC objects.
CERT_USER = "kube-health-monitor"
WILDCARD_ROLE = "system:kube-health-aggregator"


def _stolen_engineer() -> k8s._Who:
    """wei.chen's Entra identity, an SRE and so cluster-admin through the AKS admin group."""
    person = env.person("wei.chen")
    return external(
        person.upn,
        (k8s._ENGINEERING_GROUP, k8s._AKS_ADMIN_GROUP, "system:authenticated"),
        ATTACKER_KUBECTL,
        KUBECONFIG_IP,
        k8s._rbac("aks-cluster-admin-binding-aad", "cluster-admin", "Group", k8s._AKS_ADMIN_GROUP),
        person.object_id,
    )


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
    t = Intrusion(ctx, "aks_stolen_kubeconfig", _kubeconfig_start(ctx))
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


def _discover(t: Intrusion, who: k8s._Who) -> None:
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


def _mint_tokens(t: Intrusion, who: k8s._Who) -> None:
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
            f"/api/v1/namespaces/kube-system/secrets?{KUBECTL_CREATE}",
            after=45,
            code=201,
            name=f"kube-health-{short}-token",
        )


def _client_certificate(t: Intrusion, who: k8s._Who) -> None:
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
    stored = created(csr, t.now)
    stored["spec"] = {**csr["spec"], "username": who.username, "groups": list(who.groups)}
    stored["spec"]["extra"] = {"oid": [who.oid]}
    t.emit(
        "csr_created",
        who,
        "create",
        f"{CSR_URI}?{KUBECTL_CREATE}",
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
    t.emit("cert_retrieved", who, "get", f"{CSR_URI}/{CERT_USER}")
    t.emit(
        "csr_approved",
        who,
        "update",
        f"{CSR_URI}/{CERT_USER}/approval",
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
        f"{CSR_URI}/{CERT_USER}/status",
        after=0.3,
        request=signed,
        response=k8s._stored(signed, t.now),
    )
    t.emit("cert_retrieved", who, "get", f"{CSR_URI}/{CERT_USER}", after=20)


def _bind_cluster_admin(t: Intrusion, who: k8s._Who) -> None:
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
            f"{RBAC}/{resource}?{KUBECTL_CREATE}",
            request=obj,
            response=created(obj, t.now),
            code=201,
            name=obj["metadata"]["name"],
        )
