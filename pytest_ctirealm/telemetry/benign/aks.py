"""Benign Kubernetes API-server audit events of the AKS cluster: AKSAudit and AKSAuditAdmin.

Both tables are down-samples of one audit stream. Every event is built once: reads
(get/list/watch) land in AKSAudit only; writes land in AKSAuditAdmin and in AKSAudit
with the same AuditId, as when both diagnostic categories are on. The heartbeat writes
(lease renewals, node and pod status) are thinned further in AKSAudit, so each table
keeps its own verb mix while every rare write is in both.

Who talks: kubelets, kube-controller-manager's controllers, the scheduler, the API
server itself, the AKS add-ons, two app service accounts, engineers with kubectl, the
CI service principal with kubectl and helm, and AKS's own reconciler. The legitimate
twins of the container attacks are all here: TokenRequests, kubelet CSR rotation,
helm-made ClusterRoles, cluster-wide secret lists by controllers, CronJobs, event
clean-up by the namespace controller, NetworkPolicy changes, nodes/proxy scrapes,
privileged and hostPath system pods, an SRE's exec, and a mis-scoped app's 403s.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import functools
import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.context import START, SimContext, guid

_STREAM = "aks"
_DAY = 86_400
_AKS = env.AKS
_NODES = _AKS.nodes
_VERSION = _AKS.kubernetes_version
_GIT = "4e4a188"
_SUBSCRIPTION = env.SUBSCRIPTIONS["prod"]
_RESOURCE_ID = (
    f"/subscriptions/{_SUBSCRIPTION}/resourcegroups/{_AKS.resource_group}"
    f"/providers/microsoft.containerservice/managedclusters/{_AKS.name}"
)
_K8S_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_REGISTRY = "crcontosoprod.azurecr.io"
_MCR = "mcr.microsoft.com"
_AUDIENCE = f"https://{_AKS.name}-dns-{env.stable_hex(8, 'aks-fqdn')}.hcp.{env.LOCATION}.azmk8s.io"
#: The AKS-internal hop that external kubectl traffic passes, and control-plane pod IPs.
_PROXY_HOPS = ("172.31.22.97", "172.31.9.140")
_KCM_IP = "172.31.14.7"
_SCHEDULER_IP = "172.31.14.12"
_AUTOSCALER_IP = "172.31.14.19"
_AKS_RP_IP = "172.31.3.25"
#: The public egress of the self-hosted CI runner vm-build01.
_RUNNER_EGRESS_IP = "20.76.151.3"
_TOO_BIG = "skipped-too-big-size-object"
_CLUSTER_CREATED = dt.datetime(2025, 11, 4, 9, 12, 44, tzinfo=dt.UTC)
_NODE_CONDITIONS = ("MemoryPressure", "DiskPressure", "PIDPressure", "Ready")
_READS = ("get", "list", "watch")
#: Resources AKS audits at Metadata level whatever the verb: their bodies hold secrets.
_METADATA_ONLY = ("secrets", "configmaps", "tokenreviews")

#: Share of the heartbeat writes that AKSAudit keeps (AKSAuditAdmin keeps them all).
_AUDIT_KEEPS = {"update": 0.6, "patch": 0.75}

#: Seconds between sampled heartbeats (the real cadence is seconds; the shape is kept).
_NODE_LEASE_EVERY = 400
_NODE_STATUS_EVERY = 720
_APISERVER_LEASE_EVERY = 3600
_AUTOSCALER_STATUS_EVERY = 1800
_HPA_EVERY = 1200
_CONSTRAINT_STATUS_EVERY = 1800
_LEADER_LEASES = (
    # (caller, lease, seconds between sampled renewals)
    ("kcm-leader", "kube-controller-manager", 600),
    ("scheduler-leader", "kube-scheduler", 900),
)
_CONSTRAINTS = ("k8sazurev2noprivilege", "k8sazurev2containerallowedimages")

#: Engineers who hold AKS cluster-admin through the Entra admin group (exec, secrets).
_SRES = ("dmitri.ivanov", "raj.patel", "wei.chen")
_ENGINEERING_GROUP = env.stable_guid("group", "engineering")
_AKS_ADMIN_GROUP = env.stable_guid("group", "aks-prod-admins")
_KUBECTL_AGENTS = (
    "kubectl/v1.31.0 (linux/amd64) kubernetes/9edcffc",
    "kubectl/v1.30.2 (windows/amd64) kubernetes/3968350",
    "kubectl/v1.29.3 (darwin/arm64) kubernetes/6813625",
    "kubectl/v1.30.2 (darwin/arm64) kubernetes/3968350",
)
_CI_KUBECTL = "kubectl/v1.29.3 (linux/amd64) kubernetes/6813625"
_HELM = "helm/v0.0.0 (linux/amd64) kubernetes/$Format"
_HUMAN_COMMANDS = (
    # (command, weight, SREs only)
    ("get-pods", 30, False),
    ("describe-pod", 14, False),
    ("logs", 18, False),
    ("get-deployments", 10, False),
    ("get-nodes", 6, False),
    ("top-pods", 5, False),
    ("get-events", 6, False),
    ("rollout-history", 4, False),
    ("get-configmaps", 4, False),
    ("get-secrets", 2, True),
    ("auth-can-i", 1, True),
)
_HUMAN_NAMESPACES = ("web", "api", "web", "api", "monitoring", "kube-system")
_EXEC_COMMANDS = (("sh",), ("/bin/bash",), ("env",), ("cat", "/app/config/settings.yaml"))
#: Pod Security Admission level per namespace (AKS leaves the others privileged).
_PSA = {"web": "baseline", "api": "baseline"}

#: kube-controller-manager controllers that write with their own service account.
_CONTROLLERS = (
    "replicaset-controller",
    "deployment-controller",
    "endpointslice-controller",
    "endpoint-controller",
    "namespace-controller",
    "generic-garbage-collector",
    "node-controller",
    "job-controller",
    "cronjob-controller",
    "daemon-set-controller",
    "horizontal-pod-autoscaler",
    "ttl-after-finished-controller",
    "resourcequota-controller",
    "certificate-controller",
    "service-account-controller",
    "root-ca-cert-publisher",
    "token-cleaner",
    "bootstrap-signer",
)


@dataclass(frozen=True)
class _Addon:
    """A system workload whose pods call the API server with their service account."""

    key: str
    namespace: str
    account: str
    agent: str
    binding: str
    replicas: int  # 0 = a DaemonSet, one pod per node
    host_network: bool = False


_ADDONS = (
    _Addon(
        "coredns",
        "kube-system",
        "coredns",
        "coredns/v0.0.0 (linux/amd64) kubernetes/$Format",
        "system:coredns",
        2,
    ),
    _Addon(
        "konnectivity-agent",
        "kube-system",
        "konnectivity-agent",
        "proxy-agent/v0.0.0 (linux/amd64) kubernetes/$Format",
        "konnectivity-agent",
        2,
    ),
    _Addon(
        "metrics-server",
        "kube-system",
        "metrics-server",
        "metrics-server/v0.6.3 (linux/amd64) kubernetes/$Format",
        "system:metrics-server",
        2,
    ),
    _Addon(
        "kube-proxy",
        "kube-system",
        "kube-proxy",
        f"kube-proxy/{_VERSION} (linux/amd64) kubernetes/{_GIT}",
        "system:node-proxier",
        0,
        host_network=True,
    ),
    _Addon(
        "cloud-node-manager",
        "kube-system",
        "cloud-node-manager",
        "cloud-node-manager/v1.29.8 (linux/amd64) kubernetes/$Format",
        "cloud-node-manager",
        0,
        host_network=True,
    ),
    _Addon(
        "azure-cns",
        "kube-system",
        "azure-cns",
        "Go-http-client/2.0",
        "azure-cns",
        0,
        host_network=True,
    ),
    _Addon(
        "csi-azuredisk-node",
        "kube-system",
        "csi-azuredisk-node-sa",
        "azurediskplugin/v1.29.5 (linux/amd64) kubernetes/$Format",
        "csi-azuredisk-node-secret-binding",
        0,
        host_network=True,
    ),
    _Addon("ama-logs", "kube-system", "ama-logs", "Ruby", "amalogsclusterrolebinding", 0),
    _Addon("ama-logs-rs", "kube-system", "ama-logs", "Ruby", "amalogsclusterrolebinding", 1),
    _Addon(
        "azure-policy",
        "kube-system",
        "azure-policy",
        "azurepolicyaddon/v1.4.0 (linux/amd64) kubernetes/$Format",
        "policy-agent",
        1,
    ),
    _Addon(
        "gatekeeper-controller",
        "gatekeeper-system",
        "gatekeeper-admin",
        "gatekeeper/v3.14.0 (linux/amd64) kubernetes/$Format",
        "gatekeeper-manager-rolebinding",
        2,
    ),
    _Addon(
        "gatekeeper-audit",
        "gatekeeper-system",
        "gatekeeper-admin",
        "gatekeeper/v3.14.0 (linux/amd64) kubernetes/$Format",
        "gatekeeper-manager-rolebinding",
        1,
    ),
    _Addon(
        "prometheus-server",
        "monitoring",
        "prometheus-server",
        "Prometheus/2.51.1",
        "prometheus-server",
        1,
    ),
)


@dataclass(frozen=True)
class _Poll:
    """A read some caller repeats all day; `{node}` in the path makes one per node."""

    who: str
    verb: str
    path: str
    every: int
    code: int = 200


_POLLS = (
    # kubelets: informers for their own pods and node, object watches for mounted config.
    _Poll("kubelet", "watch", "/api/v1/pods?fieldSelector=spec.nodeName%3D{node}", 1800),
    _Poll("kubelet", "watch", "/api/v1/nodes?fieldSelector=metadata.name%3D{node}", 2400),
    _Poll("kubelet", "watch", "/api/v1/services", 4800),
    _Poll(
        "kubelet",
        "watch",
        "/api/v1/namespaces/kube-system/configmaps?fieldSelector=metadata.name%3Dkube-root-ca.crt",
        4800,
    ),
    _Poll(
        "kubelet",
        "watch",
        "/api/v1/namespaces/api/secrets?fieldSelector=metadata.name%3Dbackend-db",
        7200,
    ),
    _Poll(
        "kubelet",
        "watch",
        "/api/v1/namespaces/web/configmaps?fieldSelector=metadata.name%3Dfrontend-config",
        7200,
    ),
    _Poll("kubelet", "watch", "/apis/storage.k8s.io/v1/csidrivers", 14400),
    _Poll("kubelet", "watch", "/apis/node.k8s.io/v1/runtimeclasses", 14400),
    _Poll("kubelet", "get", "/apis/storage.k8s.io/v1/csinodes/{node}", 1200),
    _Poll("kubelet", "list", "/api/v1/pods?fieldSelector=spec.nodeName%3D{node}", 14400),
    # kube-controller-manager's shared informers and controllers.
    _Poll("kcm", "watch", "/api/v1/pods", 2400),
    _Poll("kcm", "watch", "/apis/apps/v1/replicasets", 3600),
    _Poll("kcm", "watch", "/apis/apps/v1/deployments", 3600),
    _Poll("kcm", "watch", "/apis/discovery.k8s.io/v1/endpointslices", 3600),
    _Poll("kcm", "watch", "/api/v1/nodes", 3600),
    _Poll("kcm", "watch", "/api/v1/secrets", 5400),
    _Poll("kcm", "watch", "/api/v1/serviceaccounts", 7200),
    _Poll("kcm", "watch", "/api/v1/namespaces", 7200),
    _Poll("kcm", "watch", "/apis/batch/v1/jobs", 7200),
    _Poll("kcm", "watch", "/apis/batch/v1/cronjobs", 7200),
    _Poll("kcm", "watch", "/apis/apps/v1/daemonsets", 7200),
    _Poll("kcm", "list", "/api/v1/configmaps", 14400),
    _Poll("ctrl:generic-garbage-collector", "list", "/api/v1/secrets", 10800),
    _Poll(
        "ctrl:generic-garbage-collector", "list", "/apis/rbac.authorization.k8s.io/v1/roles", 21600
    ),
    _Poll("ctrl:generic-garbage-collector", "get", "/api?timeout=32s", 1800),
    _Poll("ctrl:generic-garbage-collector", "get", "/apis?timeout=32s", 1800),
    _Poll("ctrl:resourcequota-controller", "list", "/api/v1/namespaces/web/secrets", 14400),
    _Poll("ctrl:resourcequota-controller", "list", "/api/v1/namespaces/api/secrets", 14400),
    _Poll("ctrl:resourcequota-controller", "get", "/version?timeout=32s", 3600),
    _Poll(
        "ctrl:token-cleaner",
        "list",
        "/api/v1/namespaces/kube-system/secrets?fieldSelector=type%3Dbootstrap.kubernetes.io%2Ftoken",
        21600,
    ),
    _Poll("ctrl:node-controller", "get", "/api/v1/nodes/{node}", 1800),
    _Poll(
        "ctrl:bootstrap-signer",
        "get",
        "/api/v1/namespaces/kube-public/configmaps/cluster-info",
        3600,
    ),
    _Poll(
        "ctrl:service-account-controller",
        "get",
        "/api/v1/namespaces/web/serviceaccounts/default",
        7200,
    ),
    _Poll(
        "ctrl:service-account-controller",
        "get",
        "/api/v1/namespaces/api/serviceaccounts/default",
        7200,
    ),
    _Poll(
        "ctrl:root-ca-cert-publisher",
        "get",
        "/api/v1/namespaces/api/configmaps/kube-root-ca.crt",
        7200,
    ),
    _Poll(
        "ctrl:root-ca-cert-publisher",
        "get",
        "/api/v1/namespaces/web/configmaps/kube-root-ca.crt",
        7200,
    ),
    _Poll("ctrl:endpointslice-controller", "get", "/api/v1/namespaces/web/services/frontend", 1800),
    _Poll(
        "ctrl:horizontal-pod-autoscaler",
        "get",
        "/apis/apps/v1/namespaces/web/deployments/frontend/scale",
        1200,
    ),
    _Poll(
        "ctrl:horizontal-pod-autoscaler",
        "list",
        "/apis/metrics.k8s.io/v1beta1/namespaces/web/pods?labelSelector=app%3Dfrontend",
        1200,
    ),
    # kube-scheduler.
    _Poll(
        "scheduler",
        "watch",
        "/api/v1/pods?fieldSelector=status.phase%21%3DSucceeded%2Cstatus.phase%21%3DFailed",
        2400,
    ),
    _Poll("scheduler", "watch", "/api/v1/nodes", 3600),
    _Poll("scheduler", "watch", "/api/v1/namespaces", 7200),
    _Poll("scheduler", "watch", "/apis/storage.k8s.io/v1/csinodes", 7200),
    _Poll("scheduler", "watch", "/apis/policy/v1/poddisruptionbudgets", 7200),
    _Poll("scheduler", "watch", "/api/v1/persistentvolumeclaims", 14400),
    # the API server's own loopback client.
    _Poll("apiserver", "get", "/api/v1/namespaces/default/services/kubernetes", 400),
    _Poll("apiserver", "get", "/api/v1/namespaces/default/endpoints/kubernetes", 600),
    _Poll("apiserver", "get", "/api/v1/namespaces/kube-system", 3600),
    _Poll("apiserver", "watch", "/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas", 7200),
    _Poll(
        "apiserver",
        "watch",
        "/apis/flowcontrol.apiserver.k8s.io/v1/prioritylevelconfigurations",
        7200,
    ),
    _Poll("apiserver", "watch", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", 7200),
    _Poll("apiserver", "list", "/apis/apiregistration.k8s.io/v1/apiservices", 7200),
    # add-ons.
    _Poll("coredns", "watch", "/api/v1/services", 2400),
    _Poll("coredns", "watch", "/apis/discovery.k8s.io/v1/endpointslices", 2400),
    _Poll("coredns", "watch", "/api/v1/namespaces", 4800),
    _Poll(
        "konnectivity-agent",
        "get",
        "/api/v1/namespaces/kube-system/configmaps/konnectivity-agent-config",
        1800,
    ),
    _Poll("kube-proxy", "watch", "/api/v1/services", 4800),
    _Poll("kube-proxy", "watch", "/apis/discovery.k8s.io/v1/endpointslices", 4800),
    _Poll("kube-proxy", "get", "/api/v1/nodes/{node}", 7200),
    _Poll("metrics-server", "watch", "/api/v1/nodes", 3600),
    _Poll("metrics-server", "watch", "/api/v1/pods", 3600),
    _Poll(
        "metrics-server",
        "get",
        "/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication",
        3600,
    ),
    _Poll("cloud-node-manager", "get", "/api/v1/nodes/{node}", 2400),
    _Poll("azure-cns", "watch", "/api/v1/pods?fieldSelector=spec.nodeName%3D{node}", 4800),
    _Poll("csi-azuredisk-node", "get", "/api/v1/nodes/{node}", 4800),
    _Poll(
        "ama-logs",
        "get",
        "/api/v1/namespaces/kube-system/configmaps/container-azm-ms-agentconfig",
        1800,
        code=404,
    ),
    _Poll("ama-logs", "get", "/api/v1/nodes/{node}", 3600),
    _Poll("ama-logs-rs", "list", "/api/v1/pods", 600),
    _Poll("ama-logs-rs", "list", "/api/v1/nodes", 600),
    _Poll("ama-logs-rs", "list", "/api/v1/services", 1200),
    _Poll("ama-logs-rs", "list", "/api/v1/events", 1200),
    _Poll("ama-logs-rs", "list", "/apis/apps/v1/deployments", 1800),
    _Poll("ama-logs-rs", "list", "/apis/apps/v1/daemonsets", 3600),
    _Poll(
        "ama-logs-rs",
        "get",
        "/api/v1/namespaces/kube-system/configmaps/ama-metrics-prometheus-config",
        3600,
        code=404,
    ),
    _Poll("azure-policy", "list", "/apis/templates.gatekeeper.sh/v1beta1/constrainttemplates", 900),
    _Poll(
        "azure-policy", "get", "/api/v1/namespaces/kube-system/configmaps/azure-policy-config", 900
    ),
    _Poll(
        "gatekeeper-controller",
        "watch",
        "/apis/templates.gatekeeper.sh/v1/constrainttemplates",
        3600,
    ),
    _Poll("gatekeeper-controller", "watch", "/apis/config.gatekeeper.sh/v1alpha1/configs", 3600),
    _Poll(
        "gatekeeper-controller",
        "watch",
        "/apis/constraints.gatekeeper.sh/v1beta1/k8sazurev2noprivilege",
        3600,
    ),
    _Poll("gatekeeper-audit", "list", "/api/v1/pods", 1200),
    _Poll("gatekeeper-audit", "list", "/api/v1/namespaces", 3600),
    _Poll("prometheus-server", "get", "/api/v1/nodes/{node}/proxy/metrics/cadvisor", 1800),
    _Poll("prometheus-server", "watch", "/api/v1/pods", 3600),
    _Poll("prometheus-server", "watch", "/api/v1/endpoints", 3600),
    _Poll("prometheus-server", "watch", "/api/v1/services", 7200),
    # the apps' own service accounts reading their configuration.
    _Poll("frontend", "get", "/api/v1/namespaces/web/configmaps/frontend-config", 900),
    _Poll("backend", "get", "/api/v1/namespaces/api/secrets/backend-db", 1200),
    _Poll("backend", "get", "/api/v1/namespaces/api/configmaps/backend-config", 1800),
    _Poll("backend", "watch", "/api/v1/namespaces/api/configmaps", 3600),
)


@dataclass(frozen=True)
class _App:
    """One of the company's workloads: a Deployment of three pods with its own service account."""

    name: str
    namespace: str
    config: str
    secret: str
    policy: str
    deploys: tuple[int, ...]  # choices for the number of rollouts on a weekday
    binding: str


_APPS = (
    _App(
        "frontend",
        "web",
        "frontend-config",
        "frontend-secrets",
        "frontend-allow-ingress",
        (1, 1, 2),
        "frontend-config-reader",
    ),
    _App(
        "backend",
        "api",
        "backend-config",
        "backend-db",
        "backend-allow-egress",
        (1, 2),
        "backend-config-reader",
    ),
)


@dataclass(frozen=True)
class _PodShape:
    """What a pod template asks of its node: the fields escape-to-host detections read."""

    account: str
    image: str
    command: tuple[str, ...] = ()
    privileged: bool = False
    host_network: bool = False
    host_pid: bool = False
    host_paths: tuple[tuple[str, str, str], ...] = ()  # (volume, host path, mount path)
    read_only_host: bool = False
    container: str = ""  # default: the pod's app label


_DAEMONSET_SHAPES = {
    "kube-proxy": _PodShape(
        "kube-proxy",
        f"{_MCR}/oss/kubernetes/kube-proxy:{_VERSION}-hotfix.20240712",
        (
            "kube-proxy",
            "--conntrack-max-per-core=0",
            "--metrics-bind-address=0.0.0.0:10249",
            "--cluster-cidr=10.244.0.0/16",
            "--detect-local-mode=ClusterCIDR",
            "--v=3",
        ),
        privileged=True,
        host_network=True,
        host_paths=(
            ("lib-modules", "/lib/modules", "/lib/modules"),
            ("xtables-lock", "/run/xtables.lock", "/run/xtables.lock"),
            ("kubeconfig", "/var/lib/kubelet", "/var/lib/kubelet"),
        ),
    ),
    "ama-logs": _PodShape(
        "ama-logs",
        f"{_MCR}/azuremonitor/containerinsights/ciprod:3.1.24",
        host_paths=(
            ("host-log", "/var/log", "/var/log"),
            ("containerlog-path", "/var/lib/docker/containers", "/var/lib/docker/containers"),
            ("machine-id", "/etc/machine-id", "/etc/machine-id"),
        ),
        read_only_host=True,
    ),
    "prometheus-node-exporter": _PodShape(
        "prometheus-node-exporter",
        "quay.io/prometheus/node-exporter:v1.8.1",
        (
            "/bin/node_exporter",
            "--path.procfs=/host/proc",
            "--path.sysfs=/host/sys",
            "--path.rootfs=/host/root",
        ),
        host_network=True,
        host_pid=True,
        host_paths=(
            ("proc", "/proc", "/host/proc"),
            ("sys", "/sys", "/host/sys"),
            ("root", "/", "/host/root"),
        ),
        read_only_host=True,
        container="node-exporter",
    ),
}
_DAEMONSET_NAMESPACES = {"prometheus-node-exporter": "monitoring"}
#: DaemonSets the AKS reconciler re-applies daily, so their pods get new names each day.
_DAILY_ROLLED = ("kube-proxy", "ama-logs")


@dataclass(frozen=True)
class _CronJob:
    """A CronJob in api: when it fires, from which day it exists, what its pod runs."""

    name: str
    hours: tuple[int, ...]
    minute: int
    first_day: int
    command: tuple[str, ...]


_CRONJOBS = (
    _CronJob(
        "db-maintenance",
        (0, 6, 12, 18),
        0,
        0,
        ("/bin/sh", "-c", "python -m maintenance vacuum --analyze && python -m maintenance prune"),
    ),
    _CronJob("invoice-reconcile", (2,), 30, 1, ("python", "-m", "reconcile", "--since=24h")),
)


# --------------------------------------------------------------------------- helpers


def _suffix(length: int, *parts: str) -> str:
    """A Kubernetes-style random name suffix, fixed by *parts*."""
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return "".join(_K8S_ALPHABET[b % len(_K8S_ALPHABET)] for b in digest[:length])


@functools.cache
def _cached_guid(*parts: str) -> str:
    """`stable_guid`, remembered: pod uids and token ids repeat on thousands of rows."""
    return env.stable_guid(*parts)


def _number(*parts: str) -> int:
    return int(env.stable_hex(8, *parts), 16)


def _ts(when: dt.datetime, micro: bool = False) -> str:
    """RFC 3339 as Kubernetes writes Time (seconds) and MicroTime."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")


def _revision(when: dt.datetime) -> int:
    """An etcd revision that grows with time, as resourceVersions do."""
    return 48_213_977 + int((when - START).total_seconds() * 37)


def _node_ip(node: int) -> str:
    return _AKS.node_ips[node]


def _pod_node(pod: str) -> int:
    return _number("node", pod) % len(_NODES)


def _pod_ip(pod: str) -> str:
    """Pod IPs come from the node's /24 of the overlay pod CIDR."""
    return f"10.244.{_pod_node(pod)}.{_number('ip', pod) % 240 + 10}"


def _with_params(path: str, **params: str) -> str:
    """*path* with *params* added to its query, keys sorted as client-go sends them."""
    base, _, query = path.partition("?")
    parts = [p for p in query.split("&") if p]
    parts += [f"{key}={quote(value, safe='')}" for key, value in params.items()]
    parts.sort(key=lambda part: part.split("=", 1)[0])
    return f"{base}?{'&'.join(parts)}" if parts else base


def _object_ref(uri: str, name: str | None) -> dict[str, Any] | None:
    """The audit objectRef the API server derives from a request path (None: non-resource)."""
    segments = uri.partition("?")[0].strip("/").split("/")
    if segments[0] == "api" and len(segments) > 2:
        group, version, rest = "", segments[1], segments[2:]
    elif segments[0] == "apis" and len(segments) > 3:
        group, version, rest = segments[1], segments[2], segments[3:]
    else:
        return None
    ref: dict[str, Any] = {}
    if rest[0] == "namespaces" and len(rest) > 2 and rest[2] not in ("finalize", "status"):
        ref["namespace"] = rest[1]
        rest = rest[2:]
    ref["resource"] = rest[0]
    if len(rest) > 1:
        ref["name"] = rest[1]
    elif name:
        ref["name"] = name
    if len(rest) > 2:
        ref["subresource"] = rest[2]
    if group:
        ref["apiGroup"] = group
    ref["apiVersion"] = version
    return ref


def _rbac(binding: str, role: str, kind: str, subject: str, namespace: str = "") -> str:
    """The authorization reason RBAC gives for an allowed request."""
    if namespace:
        return (
            f'RBAC: allowed by RoleBinding "{binding}/{namespace}" of Role "{role}" '
            f'to {kind} "{subject}"'
        )
    return (
        f'RBAC: allowed by ClusterRoleBinding "{binding}" of ClusterRole "{role}" '
        f'to {kind} "{subject}"'
    )


def _status(code: int, verb: str, ref: dict[str, Any] | None, username: str) -> dict[str, Any]:
    """ResponseStatus as the API server fills it for *code*."""
    if code < 400:
        return {"metadata": {}, "code": code}
    ref = ref or {}
    resource, name = ref.get("resource", ""), ref.get("name", "")
    group = ref.get("apiGroup", "")
    qualified = f"{resource}.{group}" if group else resource
    details: dict[str, Any] = {"kind": resource}
    if name:
        details = {"name": name, **details}
    if code == 403:
        where = f' in the namespace "{ref["namespace"]}"' if "namespace" in ref else ""
        message = (
            f'{qualified} is forbidden: User "{username}" cannot {verb} resource '
            f'"{resource}" in API group "{group}"{where}'
        )
        reason = "Forbidden"
    elif code == 404:
        message, reason = f'{qualified} "{name}" not found', "NotFound"
    else:
        message = (
            f'Operation cannot be fulfilled on {qualified} "{name}": the object has been '
            "modified; please apply your changes to the latest version and try again"
        )
        reason = "Conflict"
    return {
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": details,
        "code": code,
    }


# --------------------------------------------------------------------------- callers


@dataclass(frozen=True)
class _Who:
    """A caller of the API server: its user, client and network origin, and why RBAC lets it."""

    username: str
    groups: tuple[str, ...]
    agent: str
    ips: tuple[str, ...]
    reason: str = ""
    uid: str = ""
    pod: str = ""
    oid: str = ""

    def user(self, when: dt.datetime) -> dict[str, Any]:
        """The audit `user`; a pod-bound token carries its pod and an hourly token id."""
        user: dict[str, Any] = {"username": self.username}
        if self.uid:
            user["uid"] = self.uid
        user["groups"] = list(self.groups)
        extra: dict[str, list[str]] = {}
        if self.pod:
            hour = str(int((when - START).total_seconds() // 3600))
            extra["authentication.kubernetes.io/credential-id"] = [
                f"JTI={_cached_guid('jti', self.pod, hour)}"
            ]
            extra["authentication.kubernetes.io/pod-name"] = [self.pod]
            extra["authentication.kubernetes.io/pod-uid"] = [_cached_guid("pod", self.pod)]
        if self.oid:
            extra["oid"] = [self.oid]
        if extra:
            user["extra"] = extra
        return user


def _agent(component: str, suffix: str = "") -> str:
    agent = f"{component}/{_VERSION} (linux/amd64) kubernetes/{_GIT}"
    return f"{agent}/{suffix}" if suffix else agent


def _sa_groups(namespace: str) -> tuple[str, ...]:
    return ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated")


def _daemon_pod(daemonset: str, node: str, generation: str) -> str:
    return f"{daemonset}-{_suffix(5, daemonset, node, generation)}"


def _addon_pods(addon: _Addon, generation: str = "") -> tuple[tuple[str, int], ...]:
    """(pod name, node index) of an add-on's pods (*generation*: which roll of a DaemonSet)."""
    if addon.replicas == 0:
        return tuple((_daemon_pod(addon.key, node, generation), i) for i, node in enumerate(_NODES))
    template = _suffix(10, addon.key, "template")
    return tuple(
        (
            f"{addon.key}-{template}-{_suffix(5, addon.key, str(i))}",
            (_number(addon.key) + i) % len(_NODES),
        )
        for i in range(addon.replicas)
    )


def _role_of(binding: str) -> str:
    """The ClusterRole an add-on binding grants: add-ons name their bindings after it."""
    return binding.removesuffix("binding").rstrip("-") or binding


def _addon_callers(addon: _Addon, pods: tuple[tuple[str, int], ...]) -> tuple[_Who, ...]:
    """One caller per pod: the token names the pod, the source IP is the pod's (or node's)."""
    reason = _rbac(
        addon.binding,
        _role_of(addon.binding),
        "ServiceAccount",
        f"{addon.account}/{addon.namespace}",
    )
    return tuple(
        _Who(
            f"system:serviceaccount:{addon.namespace}:{addon.account}",
            _sa_groups(addon.namespace),
            addon.agent,
            (_node_ip(node) if addon.host_network else _pod_ip(pod),),
            reason,
            env.stable_guid("sa", addon.namespace, addon.account),
            pod,
        )
        for pod, node in pods
    )


def _controller(name: str) -> _Who:
    """A kube-controller-manager controller using its own service account."""
    return _Who(
        f"system:serviceaccount:kube-system:{name}",
        _sa_groups("kube-system"),
        _agent("kube-controller-manager", f"system:serviceaccount:kube-system:{name}"),
        (_KCM_IP,),
        _rbac(
            f"system:controller:{name}",
            f"system:controller:{name}",
            "ServiceAccount",
            f"{name}/kube-system",
        ),
        env.stable_guid("sa", "kube-system", name),
    )


def _component(user: str, agent: str, ip: str) -> _Who:
    """A control-plane component authenticated by its client certificate."""
    return _Who(user, ("system:authenticated",), agent, (ip,), _rbac(user, user, "User", user))


def _callers() -> dict[str, tuple[_Who, ...]]:
    """Every machine caller by key; a tuple holds the replicas (per node for DaemonSets)."""
    callers: dict[str, tuple[_Who, ...]] = {
        "kubelet": tuple(
            _Who(
                f"system:node:{node}",
                ("system:nodes", "system:authenticated"),
                _agent("kubelet"),
                (_node_ip(i),),
            )
            for i, node in enumerate(_NODES)
        ),
        "kcm": (
            _component(
                "system:kube-controller-manager",
                _agent("kube-controller-manager", "shared-informers"),
                _KCM_IP,
            ),
        ),
        "kcm-leader": (
            _component(
                "system:kube-controller-manager",
                _agent("kube-controller-manager", "leader-election"),
                _KCM_IP,
            ),
        ),
        "scheduler": (
            _component(
                "system:kube-scheduler", _agent("kube-scheduler", "scheduler"), _SCHEDULER_IP
            ),
        ),
        "scheduler-leader": (
            _component(
                "system:kube-scheduler", _agent("kube-scheduler", "leader-election"), _SCHEDULER_IP
            ),
        ),
        "apiserver": (
            _Who(
                "system:apiserver",
                ("system:authenticated", "system:masters"),
                _agent("kube-apiserver"),
                ("::1",),
                "",
                env.stable_guid("apiserver-loopback"),
            ),
        ),
        "cluster-autoscaler": (
            _Who(
                "system:serviceaccount:kube-system:cluster-autoscaler",
                _sa_groups("kube-system"),
                "cluster-autoscaler/v1.29.3 (linux/amd64) kubernetes/$Format",
                (_AUTOSCALER_IP,),
                _rbac(
                    "cluster-autoscaler",
                    "cluster-autoscaler",
                    "ServiceAccount",
                    "cluster-autoscaler/kube-system",
                ),
                env.stable_guid("sa", "kube-system", "cluster-autoscaler"),
            ),
        ),
        "aks-rp": (
            _Who(
                "aksService",
                ("system:masters", "system:authenticated"),
                "Go-http-client/2.0",
                (_AKS_RP_IP,),
            ),
        ),
    }
    for name in _CONTROLLERS:
        callers[f"ctrl:{name}"] = (_controller(name),)
    for addon in _ADDONS:
        callers[addon.key] = _addon_callers(addon, _addon_pods(addon))
    return callers


_CALLERS = _callers()
_PER_NODE = frozenset({"kubelet"} | {a.key for a in _ADDONS if a.replicas == 0})
_ADDON_BY_KEY = {addon.key: addon for addon in _ADDONS}


def _engineers() -> tuple[env.Person, ...]:
    return tuple(p for p in env.PEOPLE if p.department == "Engineering")


_ENGINEERS = _engineers()


def _human(person: env.Person, rng: random.Random) -> _Who:
    """An engineer through AKS-managed Entra ID, from an office or the VPN."""
    sre = person.upn.split("@")[0] in _SRES
    groups = (_ENGINEERING_GROUP, _AKS_ADMIN_GROUP) if sre else (_ENGINEERING_GROUP,)
    reason = (
        _rbac("aks-cluster-admin-binding-aad", "cluster-admin", "Group", _AKS_ADMIN_GROUP)
        if sre
        else _rbac("engineering-view", "view", "Group", _ENGINEERING_GROUP)
    )
    origin = env.VPN_IP if rng.random() < 0.2 else env.OFFICE_IPS[person.country]
    agent = _KUBECTL_AGENTS[_number("kubectl", person.upn) % len(_KUBECTL_AGENTS)]
    return _Who(
        person.upn,
        (*groups, "system:authenticated"),
        agent,
        (origin, rng.choice(_PROXY_HOPS)),
        reason,
        oid=person.object_id,
    )


def _ci(rng: random.Random, agent: str) -> _Who:
    """The CI service principal (ci-deployer) from the self-hosted runner."""
    oid = env.application("ci-deployer").object_id
    return _Who(
        oid,
        ("system:authenticated",),
        agent,
        (_RUNNER_EGRESS_IP, rng.choice(_PROXY_HOPS)),
        _rbac("ci-deployer", "cluster-admin", "User", oid),
        oid=oid,
    )


def _masterclient(rng: random.Random) -> _Who:
    """The local admin certificate from `az aks get-credentials --admin`."""
    return _Who(
        "masterclient",
        ("system:masters", "system:authenticated"),
        _KUBECTL_AGENTS[0],
        (env.OFFICE_IPS["NL"], rng.choice(_PROXY_HOPS)),
    )


# --------------------------------------------------------------------------- objects


def _meta(name: str, namespace: str = "", **fields: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name} if name else {}
    if namespace:
        meta["namespace"] = namespace
    meta.update({key: value for key, value in fields.items() if value is not None})
    return meta


def _stored(obj: dict[str, Any], when: dt.datetime, *, created: bool = False) -> dict[str, Any]:
    """*obj* as the API server returns it after a write: uid, version and timestamps set.

    An object *created* now gets a fresh uid; an existing one keeps the uid its owners
    reference and the cluster's creation time.
    """
    out = dict(obj)  # the body is shared with the request; only the metadata differs
    meta = out["metadata"] = dict(obj.get("metadata", {}))
    name = str(meta.get("name") or meta.get("generateName"))
    fresh = (_ts(when, micro=True),) if created else ()
    meta.setdefault("uid", env.stable_guid("uid", str(out.get("kind")), name, *fresh))
    meta["resourceVersion"] = str(_revision(when))
    meta.setdefault("creationTimestamp", _ts(when if created else _CLUSTER_CREATED))
    return out


def _owner(kind: str, name: str, api_version: str) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": api_version,
            "kind": kind,
            "name": name,
            "uid": env.stable_guid("uid", kind, name),
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]


def _lease(
    name: str,
    namespace: str,
    holder: str,
    seconds: int,
    when: dt.datetime,
    owner: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A coordination Lease as its holder renews it."""
    return {
        "kind": "Lease",
        "apiVersion": "coordination.k8s.io/v1",
        "metadata": _meta(
            name,
            namespace,
            uid=env.stable_guid("lease", namespace, name),
            resourceVersion=str(_revision(when) - 11),
            creationTimestamp=_ts(_CLUSTER_CREATED),
            ownerReferences=owner,
        ),
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": seconds,
            "renewTime": _ts(when, micro=True),
        },
    }


def _pod(
    shape: _PodShape,
    name: str,
    namespace: str,
    node: str,
    owner: list[dict[str, Any]],
    labels: dict[str, str],
) -> dict[str, Any]:
    """A Pod as a controller submits it, with the security-relevant parts of its spec."""
    security: dict[str, Any] = (
        {"privileged": True}
        if shape.privileged
        else {
            "allowPrivilegeEscalation": False,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        }
    )
    container: dict[str, Any] = {
        "name": shape.container or labels["app"],
        "image": shape.image,
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"memory": "512Mi"},
        },
        "securityContext": security,
        "imagePullPolicy": "IfNotPresent",
    }
    if shape.command:
        container["command"] = list(shape.command)
    token_volume = f"kube-api-access-{_suffix(5, name)}"
    mounts = [
        {"name": volume, "mountPath": mount, "readOnly": shape.read_only_host}
        for volume, _, mount in shape.host_paths
    ]
    container["volumeMounts"] = [
        *mounts,
        {
            "name": token_volume,
            "readOnly": True,
            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
        },
    ]
    volumes: list[dict[str, Any]] = [
        {"name": volume, "hostPath": {"path": path, "type": ""}}
        for volume, path, _ in shape.host_paths
    ]
    volumes.append(
        {
            "name": token_volume,
            "projected": {
                "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {
                        "configMap": {
                            "name": "kube-root-ca.crt",
                            "items": [{"key": "ca.crt", "path": "ca.crt"}],
                        }
                    },
                ]
            },
        }
    )
    spec: dict[str, Any] = {
        "serviceAccountName": shape.account,
        "containers": [container],
        "volumes": volumes,
        "restartPolicy": "Always",
        "dnsPolicy": "ClusterFirst",
        "schedulerName": "default-scheduler",
    }
    if shape.host_network:
        spec["hostNetwork"] = True
    if shape.host_pid:
        spec["hostPID"] = True
    if owner[0]["kind"] == "DaemonSet":
        spec["affinity"] = {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchFields": [
                                {"key": "metadata.name", "operator": "In", "values": [node]}
                            ]
                        }
                    ]
                }
            }
        }
        spec["priorityClassName"] = "system-node-critical"
    if owner[0]["kind"] == "Job":
        spec["restartPolicy"] = "Never"
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": _meta(name, namespace, labels=labels, ownerReferences=owner),
        "spec": spec,
        "status": {},
    }


def _event(
    involved: dict[str, Any],
    reason: str,
    message: str,
    component: str,
    when: dt.datetime,
    core: bool = False,
) -> dict[str, Any]:
    """An Event about *involved*: core/v1 as the kubelet writes it, else events.k8s.io/v1."""
    name = f"{involved['name']}.{env.stable_hex(16, reason, _ts(when, True))}"
    meta = _meta(name, involved["namespace"])
    if core:
        return {
            "kind": "Event",
            "apiVersion": "v1",
            "metadata": meta,
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "source": {"component": component},
            "firstTimestamp": _ts(when),
            "lastTimestamp": _ts(when),
            "count": 1,
            "type": "Normal",
        }
    return {
        "kind": "Event",
        "apiVersion": "events.k8s.io/v1",
        "metadata": meta,
        "eventTime": _ts(when, micro=True),
        "reportingController": component,
        "reportingInstance": f"{component}-{_suffix(5, component)}",
        "action": "Binding",
        "reason": reason,
        "regarding": involved,
        "note": message,
        "type": "Normal",
    }


def _delete_options(api_version: str = "v1", policy: str = "Background") -> dict[str, Any]:
    """The body controllers and kubectl send with a DELETE."""
    return {"kind": "DeleteOptions", "apiVersion": api_version, "propagationPolicy": policy}


def _deleted(kind: str, name: str) -> dict[str, Any]:
    """The Status a DELETE returns."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {"name": name, "kind": kind, "uid": env.stable_guid("uid", kind, name)},
    }


def _csr_pem(rng: random.Random) -> str:
    """A base64 PEM blob shaped like a PKCS#10 request (the bytes are random)."""
    body = base64.b64encode(rng.randbytes(180)).decode()
    pem = f"-----BEGIN CERTIFICATE REQUEST-----\n{body}\n-----END CERTIFICATE REQUEST-----\n"
    return base64.b64encode(pem.encode()).decode()


# --------------------------------------------------------------------------- the day


def _deploy_plan(ctx: SimContext, day: int) -> dict[str, tuple[dt.datetime, ...]]:
    """When CI rolls out each app on *day*: weekdays only, in working hours."""
    if day < 0 or ctx.is_weekend(day):
        return {app.name: () for app in _APPS}
    rng = ctx.rng(_STREAM, "deploys", day)
    return {
        app.name: tuple(sorted(_work_time(ctx, rng, day) for _ in range(rng.choice(app.deploys))))
        for app in _APPS
    }


def _work_time(ctx: SimContext, rng: random.Random, day: int) -> dt.datetime:
    """An office-hours instant between 06:00 and 20:00 UTC, so chains end the same day."""
    while True:
        when = ctx.office_time(rng, day)
        if 6 <= when.hour < 20:
            return when


def _app_pods(ctx: SimContext, app: _App, day: int, revision: int) -> tuple[str, ...]:
    """The three pods of *app* after its *revision*-th rollout of *day*."""
    while revision == 0 and day >= 0:
        day -= 1  # a day starts with the pods of the last rollout before it
        revision = len(_deploy_plan(ctx, day)[app.name])
    template = _suffix(10, app.name, str(ctx.seed), str(day), str(revision))
    return tuple(f"{app.name}-{template}-{_suffix(5, template, str(i))}" for i in range(3))


class _Day:
    """One simulated day: its random streams, its rollout plan, and the rows built so far."""

    def __init__(self, ctx: SimContext, day: int) -> None:
        self.ctx = ctx
        self.day = day
        self.start = ctx.day_start(day)
        self.rng = ctx.rng(_STREAM, "rows", day)
        self.plan = _deploy_plan(ctx, day)
        self.reconcile_at = self.at(self.stream("reconcile").uniform(3600, 14 * 3600))
        self.reads: list[dict[str, Any]] = []
        self.writes: list[dict[str, Any]] = []
        self.heartbeats: list[dict[str, Any]] = []

    def stream(self, what: str) -> random.Random:
        return self.ctx.rng(_STREAM, what, self.day)

    def at(self, seconds: float) -> dt.datetime:
        return self.start + dt.timedelta(seconds=seconds)

    def ticks(self, every: int, *key: str) -> Iterator[dt.datetime]:
        """A strict period with a phase fixed by *key*: the same instants every day."""
        for offset in range(_number(*key) % every, _DAY, every):
            yield self.at(offset + self.rng.random() * 0.05)

    def addon_pods(self, addon: _Addon, when: dt.datetime) -> tuple[tuple[str, int], ...]:
        """An add-on's pods at *when*; the daily-rolled ones change at the reconcile."""
        if addon.key not in _DAILY_ROLLED:
            return _addon_pods(addon)
        return _addon_pods(addon, str(self.day if when >= self.reconcile_at else self.day - 1))

    def addon_callers(self, key: str, when: dt.datetime) -> tuple[_Who, ...]:
        """An add-on's callers at *when*, following its daily roll."""
        if key not in _DAILY_ROLLED:
            return _CALLERS[key]
        addon = _ADDON_BY_KEY[key]
        return _addon_callers(addon, self.addon_pods(addon, when))

    def system_pod(self, rng: random.Random, when: dt.datetime) -> tuple[str, int, _Addon]:
        """A random add-on pod running at *when*: (name, node index, add-on)."""
        addon = rng.choice(_ADDONS)
        pod, node = rng.choice(self.addon_pods(addon, when))
        return pod, node, addon

    def pods(self, app: _App, when: dt.datetime) -> tuple[str, ...]:
        """The app's pods at *when*, after the day's rollouts so far."""
        revision = sum(1 for moment in self.plan[app.name] if moment <= when)
        return _app_pods(self.ctx, app, self.day, revision)

    def app_caller(self, app: _App, when: dt.datetime, pod: str = "") -> _Who:
        """The app's service account, as seen from one of its current pods."""
        pod = pod or self.rng.choice(self.pods(app, when))
        return _Who(
            f"system:serviceaccount:{app.namespace}:{app.name}",
            _sa_groups(app.namespace),
            "Go-http-client/2.0",
            (_pod_ip(pod),),
            _rbac(
                app.binding,
                app.binding,
                "ServiceAccount",
                f"{app.name}/{app.namespace}",
                app.namespace,
            ),
            env.stable_guid("sa", app.namespace, app.name),
            pod,
        )

    def emit(
        self,
        who: _Who,
        verb: str,
        uri: str,
        when: dt.datetime,
        *,
        code: int = 200,
        took: float | None = None,
        request: Any = None,
        response: Any = None,
        name: str | None = None,
        level: str | None = None,
        stage: str = "ResponseComplete",
        notes: dict[str, str] | None = None,
        heartbeat: bool = False,
    ) -> None:
        """Build one audit event and file it as a read, a write or a heartbeat write."""
        ref = _object_ref(uri, name)
        if took is None:
            took = self.rng.uniform(0.004, 0.06 if verb == "list" else 0.025)
        done = when + dt.timedelta(seconds=took)
        if level is None:
            sensitive = ref is not None and ref["resource"] in _METADATA_ONLY
            level = "RequestResponse" if request is not None and not sensitive else "Metadata"
        annotations = {
            "authorization.k8s.io/decision": "forbid" if code == 403 else "allow",
            "authorization.k8s.io/reason": "" if code == 403 else who.reason,
            **(notes or {}),
        }
        row: dict[str, Any] = {
            "TimeGenerated": done,
            "AuditId": guid(self.rng),
            "Level": level,
            "Stage": stage,
            "Verb": verb,
            "RequestUri": uri,
            "User": who.user(when),
            "SourceIps": list(who.ips),
            "UserAgent": who.agent,
            "ResponseStatus": _status(code, verb, ref, who.username),
            "Annotations": annotations,
            "RequestReceivedTime": when,
            "StageReceivedTime": done,
            "PodName": _APISERVER_PODS[self.rng.randrange(len(_APISERVER_PODS))],
            "_ResourceId": _RESOURCE_ID,
            "_SubscriptionId": _SUBSCRIPTION,
        }
        if ref is not None:
            row["ObjectRef"] = ref
        if level != "Metadata" and request is not None:
            row["RequestObject"] = request
        if level == "RequestResponse" and response is not None:
            row["ResponseObject"] = response
        if verb in _READS:
            self.reads.append(row)
        elif heartbeat:
            self.heartbeats.append(row)
        else:
            self.writes.append(row)

    def watch(
        self, who: _Who, path: str, end: dt.datetime, seconds: float, timeout: int = 0
    ) -> None:
        """A watch logged once when it ends: at client-go's random 5-10 minute timeout, or
        earlier (*seconds* < *timeout*) when the caller got what it waited for."""
        begin = end - dt.timedelta(seconds=seconds)
        timeout = timeout or int(seconds)
        uri = _with_params(
            path,
            allowWatchBookmarks="true",
            resourceVersion=str(_revision(begin)),
            timeout=f"{timeout // 60}m{timeout % 60}s",
            timeoutSeconds=str(timeout),
            watch="true",
        )
        self.emit(who, "watch", uri, begin, took=seconds)

    def create_pod(
        self,
        creator: _Who,
        shape: _PodShape,
        name: str,
        namespace: str,
        node: int,
        owner: list[dict[str, Any]],
        labels: dict[str, str],
        when: dt.datetime,
    ) -> dt.datetime:
        """A controller creates a pod; the scheduler binds it; its kubelet starts it."""
        pod = _pod(shape, name, namespace, _NODES[node], owner, labels)
        psa = f"{_PSA.get(namespace, 'privileged')}:latest"
        self.emit(
            creator,
            "create",
            f"/api/v1/namespaces/{namespace}/pods",
            when,
            request=pod,
            response=_stored(pod, when, created=True),
            code=201,
            name=name,
            notes={"pod-security.kubernetes.io/enforce-policy": psa},
        )
        when += dt.timedelta(seconds=self.rng.uniform(0.01, 0.3))
        scheduler = _CALLERS["scheduler"][0]
        binding = {
            "kind": "Binding",
            "apiVersion": "v1",
            "metadata": _meta(name, namespace, uid=env.stable_guid("pod", name)),
            "target": {"kind": "Node", "name": _NODES[node]},
        }
        self.emit(
            scheduler,
            "create",
            f"/api/v1/namespaces/{namespace}/pods/{name}/binding",
            when,
            request=binding,
            response={
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "code": 201,
            },
            code=201,
        )
        involved = {"kind": "Pod", "apiVersion": "v1", "namespace": namespace, "name": name}
        scheduled = _event(
            involved,
            "Scheduled",
            f"Successfully assigned {namespace}/{name} to {_NODES[node]}",
            "default-scheduler",
            when,
        )
        self.emit(
            scheduler,
            "create",
            f"/apis/events.k8s.io/v1/namespaces/{namespace}/events",
            when + dt.timedelta(milliseconds=3),
            request=scheduled,
            response=_stored(scheduled, when, created=True),
            code=201,
            name=scheduled["metadata"]["name"],
        )
        when += dt.timedelta(seconds=self.rng.uniform(0.5, 3))
        self.token_request(node, namespace, shape.account, name, when)
        when += dt.timedelta(seconds=self.rng.uniform(2, 20))
        self.pod_status(node, namespace, name, when, ready=True)
        container = pod["spec"]["containers"][0]["name"]
        started = _event(
            involved, "Started", f"Started container {container}", "kubelet", when, core=True
        )
        self.emit(
            _CALLERS["kubelet"][node],
            "create",
            f"/api/v1/namespaces/{namespace}/events",
            when + dt.timedelta(milliseconds=5),
            request=started,
            response=_stored(started, when, created=True),
            code=201,
            name=started["metadata"]["name"],
        )
        return when

    def token_request(
        self, node: int, namespace: str, account: str, pod: str, when: dt.datetime
    ) -> None:
        """The kubelet asks for a projected service-account token bound to *pod*."""
        request = {
            "kind": "TokenRequest",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "spec": {
                "audiences": [_AUDIENCE],
                "expirationSeconds": 3607,
                "boundObjectRef": {
                    "kind": "Pod",
                    "apiVersion": "v1",
                    "name": pod,
                    "uid": env.stable_guid("pod", pod),
                },
            },
            "status": {"token": "", "expirationTimestamp": None},
        }
        self.emit(
            _CALLERS["kubelet"][node],
            "create",
            f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token",
            when,
            request=request,
            code=201,
            level="Metadata",
        )

    def pod_status(
        self,
        node: int,
        namespace: str,
        pod: str,
        when: dt.datetime,
        *,
        ready: bool,
        heartbeat: bool = False,
    ) -> None:
        """The kubelet reports a pod's readiness change."""
        status = "True" if ready else "False"
        patch = {
            "metadata": {"uid": env.stable_guid("pod", pod)},
            "status": {
                "$setElementOrder/conditions": [
                    {"type": t} for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
                ],
                "conditions": [
                    {"lastTransitionTime": _ts(when), "status": status, "type": "Ready"}
                ],
            },
        }
        self.emit(
            _CALLERS["kubelet"][node],
            "patch",
            f"/api/v1/namespaces/{namespace}/pods/{pod}/status",
            when,
            request=patch,
            response=_TOO_BIG,
            heartbeat=heartbeat,
        )

    def rows(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(AKSAudit, AKSAuditAdmin): every write in both, heartbeats thinned in AKSAudit."""
        rng = self.stream("audit-sample")
        kept = [row for row in self.heartbeats if rng.random() < _AUDIT_KEEPS[row["Verb"]]]
        audit = sorted(self.reads + self.writes + kept, key=_order)
        # Each table gets its own row objects: the simulator stamps Type on every row.
        admin = sorted((dict(row) for row in self.writes + self.heartbeats), key=_order)
        return audit, admin


def _order(row: dict[str, Any]) -> tuple[dt.datetime, str]:
    """Rows in time order; AuditId breaks ties so the order is total."""
    return row["TimeGenerated"], row["AuditId"]


_APISERVER_PODS = tuple(
    f"kube-apiserver-{_suffix(10, 'kube-apiserver')}-{_suffix(5, 'kube-apiserver', str(i))}"
    for i in range(2)
)


# --------------------------------------------------------------------------- machines


def _polls(d: _Day) -> None:
    """Every repeated read in `_POLLS`, on its period, from its caller or callers."""
    rng = d.stream("polls")
    for poll in _POLLS:
        per_node = poll.who in _PER_NODE or "{node}" in poll.path
        for node in range(len(_NODES)) if per_node else (0,):
            path = poll.path.format(node=_NODES[node])
            for when in d.ticks(poll.every, poll.who, poll.verb, path):
                who = _poll_caller(d, poll.who, node, when, rng)
                if poll.verb == "watch":
                    seconds = rng.uniform(300, 600)
                    if when - dt.timedelta(seconds=seconds) >= d.start:  # began today
                        d.watch(who, path, when, seconds)
                elif poll.verb == "list":
                    d.emit(who, "list", _with_params(path, limit="500", resourceVersion="0"), when)
                else:
                    d.emit(who, "get", path, when, code=poll.code)


def _poll_caller(d: _Day, key: str, node: int, when: dt.datetime, rng: random.Random) -> _Who:
    """Who issues a poll: the app's current pod, the node's agent, or any replica."""
    for app in _APPS:
        if app.name == key:
            return d.app_caller(app, when)
    replicas = d.addon_callers(key, when) if key in _ADDON_BY_KEY else _CALLERS[key]
    return replicas[node] if key in _PER_NODE else rng.choice(replicas)


def _heartbeats(d: _Day) -> None:
    """Node leases and node status from every kubelet, on their (sampled) periods."""
    for i, node in enumerate(_NODES):
        kubelet = _CALLERS["kubelet"][i]
        owner = [
            {"apiVersion": "v1", "kind": "Node", "name": node, "uid": env.stable_guid("node", node)}
        ]
        for when in d.ticks(_NODE_LEASE_EVERY, "node-lease", node):
            lease = _lease(node, "kube-node-lease", node, 40, when, owner)
            d.emit(
                kubelet,
                "update",
                f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{node}"
                "?timeout=10s",
                when,
                request=lease,
                response=_stored(lease, when),
                heartbeat=True,
            )
        for when in d.ticks(_NODE_STATUS_EVERY, "node-status", node):
            d.emit(kubelet, "get", f"/api/v1/nodes/{node}?resourceVersion=0&timeout=10s", when)
            conditions = [{"type": kind} for kind in _NODE_CONDITIONS]
            patch = {
                "status": {
                    "$setElementOrder/conditions": conditions,
                    "conditions": [
                        {"lastHeartbeatTime": _ts(when), "type": kind} for kind in _NODE_CONDITIONS
                    ],
                }
            }
            d.emit(
                kubelet,
                "patch",
                f"/api/v1/nodes/{node}/status?timeout=10s",
                when + dt.timedelta(milliseconds=8),
                request=patch,
                response=_TOO_BIG,
                heartbeat=True,
            )


def _leader_leases(d: _Day) -> None:
    """Leader election of the control plane and the API servers' identity leases."""
    for key, lease_name, every in _LEADER_LEASES:
        who = _CALLERS[key][0]
        pod = f"{lease_name}-{_suffix(10, lease_name)}-{_suffix(5, lease_name, 'pod')}"
        holder = f"{pod}_{env.stable_guid('leader', lease_name)}"
        uri = f"/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/{lease_name}"
        for when in d.ticks(every, "leader", lease_name):
            d.emit(who, "get", f"{uri}?timeout=5s", when)
            lease = _lease(lease_name, "kube-system", holder, 15, when)
            d.emit(
                who,
                "update",
                f"{uri}?timeout=5s",
                when + dt.timedelta(milliseconds=4),
                request=lease,
                response=_stored(lease, when),
                heartbeat=True,
            )
    apiserver = _CALLERS["apiserver"][0]
    for pod in _APISERVER_PODS:
        lease_name = f"apiserver-{env.stable_hex(26, pod)}"
        for when in d.ticks(_APISERVER_LEASE_EVERY, "apiserver-lease", pod):
            lease = _lease(lease_name, "kube-system", lease_name, 3600, when)
            d.emit(
                apiserver,
                "update",
                f"/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/{lease_name}",
                when,
                request=lease,
                response=_stored(lease, when),
                heartbeat=True,
            )
    autoscaler = _CALLERS["cluster-autoscaler"][0]
    for when in d.ticks(_AUTOSCALER_STATUS_EVERY, "autoscaler-status"):
        d.emit(
            autoscaler,
            "update",
            "/api/v1/namespaces/kube-system/configmaps/cluster-autoscaler-status",
            when,
            code=409 if d.rng.random() < 0.05 else 200,
            heartbeat=True,
        )


def _status_updates(d: _Day) -> None:
    """HPA and Gatekeeper status, pod readiness flaps and repeated events: steady writes."""
    rng = d.stream("status")
    hpa = _CALLERS["ctrl:horizontal-pod-autoscaler"][0]
    for when in d.ticks(_HPA_EVERY, "hpa"):
        replicas = rng.choice((3, 3, 3, 4))
        status = {
            "kind": "HorizontalPodAutoscaler",
            "apiVersion": "autoscaling/v2",
            "metadata": _meta("frontend", "web"),
            "status": {
                "currentReplicas": replicas,
                "desiredReplicas": replicas,
                "lastScaleTime": _ts(d.start),
            },
        }
        d.emit(
            hpa,
            "update",
            "/apis/autoscaling/v2/namespaces/web/horizontalpodautoscalers/frontend/status",
            when,
            request=status,
            response=_stored(status, when),
            code=409 if rng.random() < 0.1 else 200,
            heartbeat=True,
        )
    audit = _CALLERS["gatekeeper-audit"]
    for kind in _CONSTRAINTS:
        name = f"azurepolicy-{kind}-{env.stable_hex(20, kind)}"
        for when in d.ticks(_CONSTRAINT_STATUS_EVERY, "constraint", kind):
            d.emit(
                rng.choice(audit),
                "update",
                f"/apis/constraints.gatekeeper.sh/v1beta1/{kind}/{name}/status",
                when,
                code=409 if rng.random() < 0.15 else 200,
                heartbeat=True,
            )
    for _ in range(30):
        when = d.at(rng.uniform(0, _DAY - 60))
        pod, node, addon = d.system_pod(rng, when)
        d.emit(
            _CALLERS["kubelet"][node],
            "get",
            f"/api/v1/namespaces/{addon.namespace}/pods/{pod}",
            when,
        )
        d.pod_status(
            node,
            addon.namespace,
            pod,
            when + dt.timedelta(milliseconds=6),
            ready=rng.random() < 0.7,
            heartbeat=True,
        )
    for _ in range(70):
        when = d.at(rng.uniform(0, _DAY - 60))
        pod, node, addon = d.system_pod(rng, when)
        count = rng.randint(2, 400)
        d.emit(
            _CALLERS["kubelet"][node],
            "patch",
            f"/api/v1/namespaces/{addon.namespace}/events/{pod}.{env.stable_hex(16, pod, 'probe')}",
            when,
            request={"count": count, "lastTimestamp": _ts(when)},
            response={
                "kind": "Event",
                "apiVersion": "v1",
                "count": count,
                "reason": "Unhealthy",
                "type": "Warning",
                "message": "Readiness probe failed: HTTP probe failed with statuscode: 503",
            },
            heartbeat=True,
        )


def _tokens_and_reviews(d: _Day) -> None:
    """Hourly token refreshes of running pods, and kubelet authn/authz of metric scrapers."""
    rng = d.stream("tokens")
    for _ in range(40):
        when = d.at(rng.uniform(0, _DAY - 60))
        if rng.random() < 0.3:
            app = rng.choice(_APPS)
            pod = rng.choice(d.pods(app, when))
            d.token_request(_pod_node(pod), app.namespace, app.name, pod, when)
        else:
            pod, node, addon = d.system_pod(rng, when)
            d.token_request(node, addon.namespace, addon.account, pod, when)
    scrapers = (("metrics-server", ("metrics", "stats")), ("prometheus-server", ("proxy",)))
    for _ in range(32):
        node = rng.randrange(len(_NODES))
        key, subresources = rng.choice(scrapers)
        scraper = rng.choice(_CALLERS[key])
        when = d.at(rng.uniform(0, _DAY - 60))
        kubelet = _CALLERS["kubelet"][node]
        if rng.random() < 0.5:
            d.emit(
                kubelet,
                "create",
                "/apis/authentication.k8s.io/v1/tokenreviews",
                when,
                code=201,
                level="Metadata",
            )
            when += dt.timedelta(milliseconds=rng.uniform(3, 12))
        review = {
            "kind": "SubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "spec": {
                "resourceAttributes": {
                    "verb": "get",
                    "version": "v1",
                    "resource": "nodes",
                    "name": _NODES[node],
                    "subresource": rng.choice(subresources),
                },
                "user": scraper.username,
                "groups": list(scraper.groups),
                "uid": scraper.uid,
            },
            "status": {"allowed": False},
        }
        answer = copy.deepcopy(review)
        answer["status"] = {"allowed": True, "reason": scraper.reason}
        d.emit(
            kubelet,
            "create",
            "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            when,
            request=review,
            response=answer,
            code=201,
        )


def _certificate_rotation(d: _Day) -> None:
    """A kubelet renews its client certificate: CSR, auto-approval, signing (one node a day)."""
    rng = d.stream("csr")
    node = d.day % len(_NODES)
    kubelet = _CALLERS["kubelet"][node]
    approver = _CALLERS["ctrl:certificate-controller"][0]
    when = d.at(rng.uniform(3600, _DAY - 3600))
    name = f"csr-{_suffix(5, str(d.ctx.seed), str(d.day), 'csr')}"
    uri = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
    csr: dict[str, Any] = {
        "kind": "CertificateSigningRequest",
        "apiVersion": "certificates.k8s.io/v1",
        "metadata": {"generateName": "csr-"},
        "spec": {
            "request": _csr_pem(rng),
            "signerName": "kubernetes.io/kube-apiserver-client-kubelet",
            "usages": ["digital signature", "client auth"],
        },
        "status": {},
    }
    stored = _stored(csr, when, created=True)
    stored["metadata"]["name"] = name
    stored["spec"] = {**csr["spec"], "username": kubelet.username, "groups": list(kubelet.groups)}
    d.emit(kubelet, "create", uri, when, request=csr, response=stored, code=201)
    d.watch(
        kubelet,
        f"{uri}?fieldSelector=metadata.name%3D{name}",
        when + dt.timedelta(seconds=2.5),
        2.4,
        rng.randint(300, 600),
    )
    when += dt.timedelta(seconds=rng.uniform(0.2, 0.8))
    review = {
        "kind": "SubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
        "spec": {
            "resourceAttributes": {
                "group": "certificates.k8s.io",
                "resource": "certificatesigningrequests",
                "subresource": "selfnodeclient",
                "verb": "create",
            },
            "user": kubelet.username,
            "groups": list(kubelet.groups),
        },
        "status": {"allowed": False},
    }
    answer = copy.deepcopy(review)
    answer["status"] = {
        "allowed": True,
        "reason": _rbac(
            "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
            "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
            "Group",
            "system:nodes",
        ),
    }
    d.emit(
        approver,
        "create",
        "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        when,
        request=review,
        response=answer,
        code=201,
    )
    approved = copy.deepcopy(stored)
    approved["status"] = {
        "conditions": [
            {
                "type": "Approved",
                "status": "True",
                "reason": "AutoApproved",
                "message": "Auto approving self kubelet client certificate after "
                "SubjectAccessReview.",
                "lastUpdateTime": _ts(when),
                "lastTransitionTime": _ts(when),
            }
        ]
    }
    when += dt.timedelta(milliseconds=rng.uniform(20, 90))
    d.emit(
        approver,
        "update",
        f"{uri}/{name}/approval",
        when,
        request=approved,
        response=_stored(approved, when),
    )
    signed = copy.deepcopy(approved)
    signed["status"]["certificate"] = _csr_pem(rng)
    when += dt.timedelta(milliseconds=rng.uniform(30, 200))
    d.emit(
        approver,
        "update",
        f"{uri}/{name}/status",
        when,
        request=signed,
        response=_stored(signed, when),
    )


def _cronjobs(d: _Day) -> None:
    """CronJob runs in api: the controller chain from Job to pod to clean-up an hour later."""
    rng = d.stream("cronjobs")
    cron = _CALLERS["ctrl:cronjob-controller"][0]
    jobs = _CALLERS["ctrl:job-controller"][0]
    ttl = _CALLERS["ctrl:ttl-after-finished-controller"][0]
    collector = _CALLERS["ctrl:generic-garbage-collector"][0]
    for cronjob in _CRONJOBS:
        if d.day < cronjob.first_day:
            continue
        name, command = cronjob.name, cronjob.command
        shape = _PodShape("api-jobs", f"{_REGISTRY}/api/{name}:2.3.1", command, container=name)
        for hour in cronjob.hours:
            scheduled = d.at(hour * 3600 + cronjob.minute * 60)
            job_name = f"{name}-{int(scheduled.timestamp() // 60)}"
            job = {
                "kind": "Job",
                "apiVersion": "batch/v1",
                "metadata": _meta(
                    job_name,
                    "api",
                    labels={"cronjob": name},
                    ownerReferences=_owner("CronJob", name, "batch/v1"),
                ),
                "spec": {
                    "ttlSecondsAfterFinished": 3600,
                    "backoffLimit": 1,
                    "template": {
                        "spec": {
                            "containers": [
                                {"name": name, "image": shape.image, "command": list(command)}
                            ],
                            "restartPolicy": "Never",
                            "serviceAccountName": "api-jobs",
                        }
                    },
                },
            }
            when = scheduled + dt.timedelta(milliseconds=rng.uniform(20, 400))
            d.emit(
                cron,
                "create",
                "/apis/batch/v1/namespaces/api/jobs",
                when,
                request=job,
                response=_stored(job, when, created=True),
                code=201,
                name=job_name,
            )
            d.emit(
                cron,
                "update",
                f"/apis/batch/v1/namespaces/api/cronjobs/{name}/status",
                when + dt.timedelta(milliseconds=30),
                request={
                    "kind": "CronJob",
                    "apiVersion": "batch/v1",
                    "metadata": _meta(name, "api"),
                    "status": {"lastScheduleTime": _ts(scheduled)},
                },
            )
            pod = f"{job_name}-{_suffix(5, str(d.ctx.seed), job_name)}"
            node = _pod_node(pod)
            done = d.create_pod(
                jobs,
                shape,
                pod,
                "api",
                node,
                _owner("Job", job_name, "batch/v1"),
                {"job-name": job_name},
                when + dt.timedelta(seconds=0.2),
            )
            done += dt.timedelta(seconds=rng.uniform(60, 900))
            d.pod_status(node, "api", pod, done, ready=False)
            d.emit(
                jobs,
                "update",
                f"/apis/batch/v1/namespaces/api/jobs/{job_name}/status",
                done + dt.timedelta(seconds=1),
                request={
                    "kind": "Job",
                    "apiVersion": "batch/v1",
                    "metadata": _meta(job_name, "api"),
                    "status": {"succeeded": 1, "completionTime": _ts(done)},
                },
            )
            gone = done + dt.timedelta(seconds=3600 + rng.uniform(0, 5))
            d.emit(
                ttl,
                "delete",
                f"/apis/batch/v1/namespaces/api/jobs/{job_name}",
                gone,
                request=_delete_options("batch/v1", "Foreground"),
                response=_deleted("jobs", job_name),
            )
            d.emit(
                collector,
                "delete",
                f"/api/v1/namespaces/api/pods/{pod}",
                gone + dt.timedelta(seconds=rng.uniform(0.1, 1)),
                request=_delete_options(),
                response=_deleted("pods", pod),
            )


def _daemonset_roll(d: _Day, daemonset: str, when: dt.datetime, generation: int) -> None:
    """The DaemonSet controller replaces a DaemonSet's pod on each node, one at a time."""
    rng = d.stream(f"roll-{daemonset}")
    controller = _CALLERS["ctrl:daemon-set-controller"][0]
    namespace = _DAEMONSET_NAMESPACES.get(daemonset, "kube-system")
    shape = _DAEMONSET_SHAPES[daemonset]
    for node, node_name in enumerate(_NODES):
        old = _daemon_pod(daemonset, node_name, str(generation - 1))
        new = _daemon_pod(daemonset, node_name, str(generation))
        d.emit(
            controller,
            "delete",
            f"/api/v1/namespaces/{namespace}/pods/{old}",
            when,
            request=_delete_options(),
            response=_deleted("pods", old),
        )
        when += dt.timedelta(seconds=rng.uniform(20, 40))
        when = d.create_pod(
            controller,
            shape,
            new,
            namespace,
            node,
            _owner("DaemonSet", daemonset, "apps/v1"),
            {"app": daemonset, "controller-revision-hash": _suffix(10, daemonset, str(generation))},
            when,
        )
        when += dt.timedelta(seconds=rng.uniform(5, 30))
    d.emit(
        controller,
        "update",
        f"/apis/apps/v1/namespaces/{namespace}/daemonsets/{daemonset}/status",
        when,
        request={
            "kind": "DaemonSet",
            "apiVersion": "apps/v1",
            "metadata": _meta(daemonset, namespace),
            "status": {"desiredNumberScheduled": 3, "numberReady": 3, "updatedNumberScheduled": 3},
        },
    )


def _addon_reconcile(d: _Day) -> None:
    """AKS's reconciler re-applies add-on RBAC and DaemonSets, which rolls two DaemonSets."""
    rng = d.stream("reconcile-steps")
    aks = _CALLERS["aks-rp"][0]
    when = d.reconcile_at
    labels = {
        "addonmanager.kubernetes.io/mode": "Reconcile",
        "kubernetes.azure.com/managedby": "aks",
    }
    for key in ("azure-policy", "gatekeeper-controller", "coredns"):
        addon = _ADDON_BY_KEY[key]
        binding, role = addon.binding, _role_of(addon.binding)
        role_patch = {"metadata": {"labels": labels}}
        d.emit(
            aks,
            "patch",
            f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{role}",
            when,
            request=role_patch,
            response=_stored(
                {
                    "kind": "ClusterRole",
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "metadata": _meta(role, labels=labels),
                },
                when,
            ),
        )
        when += dt.timedelta(milliseconds=rng.uniform(30, 200))
        binding_patch = {
            "metadata": {"labels": labels},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": role,
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": addon.account, "namespace": addon.namespace}
            ],
        }
        d.emit(
            aks,
            "patch",
            f"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{binding}",
            when,
            request=binding_patch,
            response=_stored(
                {
                    "kind": "ClusterRoleBinding",
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    **binding_patch,
                    "metadata": _meta(binding, labels=labels),
                },
                when,
            ),
        )
        when += dt.timedelta(milliseconds=rng.uniform(30, 200))
    for daemonset in ("kube-proxy", "ama-logs"):
        patch = {
            "spec": {
                "template": {
                    "metadata": {
                        "annotations": {
                            "kubernetes.azure.com/config-hash": env.stable_hex(
                                16, daemonset, str(d.day)
                            )
                        }
                    }
                }
            }
        }
        d.emit(
            aks,
            "patch",
            f"/apis/apps/v1/namespaces/kube-system/daemonsets/{daemonset}",
            when,
            request=patch,
            response=_TOO_BIG,
        )
        _daemonset_roll(d, daemonset, when + dt.timedelta(seconds=1), d.day)
        when += dt.timedelta(minutes=rng.uniform(10, 20))


# --------------------------------------------------------------------------- CI


def _rollout(d: _Day, app: _App, when: dt.datetime, tag: str, rng: random.Random) -> None:
    """A Deployment rollout after CI changed the image: a new ReplicaSet, pods swapped."""
    deployments = _CALLERS["ctrl:deployment-controller"][0]
    replicasets = _CALLERS["ctrl:replicaset-controller"][0]
    old_pods = d.pods(app, when - dt.timedelta(microseconds=1))
    new_pods = d.pods(app, when)
    template = new_pods[0].split("-")[1]
    rs_name = f"{app.name}-{template}"
    labels = {"app": app.name, "pod-template-hash": template}
    shape = _PodShape(app.name, f"{_REGISTRY}/{app.namespace}/{app.name}:{tag}")
    replicaset = {
        "kind": "ReplicaSet",
        "apiVersion": "apps/v1",
        "metadata": _meta(
            rs_name,
            app.namespace,
            labels=labels,
            ownerReferences=_owner("Deployment", app.name, "apps/v1"),
        ),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": app.name,
                    "containers": [{"name": app.name, "image": shape.image}],
                },
            },
        },
    }
    base = f"/apis/apps/v1/namespaces/{app.namespace}"
    d.emit(
        deployments,
        "create",
        f"{base}/replicasets",
        when,
        request=replicaset,
        response=_stored(replicaset, when, created=True),
        code=201,
        name=rs_name,
    )
    owner = _owner("ReplicaSet", rs_name, "apps/v1")
    for old, new in zip(old_pods, new_pods, strict=True):
        when += dt.timedelta(seconds=rng.uniform(0.05, 0.5))
        ready = d.create_pod(
            replicasets, shape, new, app.namespace, _pod_node(new), owner, labels, when
        )
        if app.namespace == "web":  # the frontend's config library probes for secrets
            d.emit(
                d.app_caller(app, ready, new),
                "list",
                "/api/v1/namespaces/web/secrets?limit=500",
                ready + dt.timedelta(seconds=rng.uniform(1, 5)),
                code=403,
            )
        when = ready + dt.timedelta(seconds=rng.uniform(1, 10))
        d.emit(
            deployments,
            "update",
            f"{base}/replicasets/{rs_name}",
            when,
            request={
                "kind": "ReplicaSet",
                "apiVersion": "apps/v1",
                "metadata": _meta(rs_name, app.namespace),
                "spec": {"replicas": 3},
            },
            code=409 if rng.random() < 0.15 else 200,
        )
        d.emit(
            replicasets,
            "delete",
            f"/api/v1/namespaces/{app.namespace}/pods/{old}",
            when + dt.timedelta(seconds=0.3),
            request=_delete_options(),
            response=_deleted("pods", old),
        )
    for _ in range(2):
        when += dt.timedelta(seconds=rng.uniform(1, 5))
        d.emit(
            deployments,
            "update",
            f"{base}/deployments/{app.name}/status",
            when,
            request={
                "kind": "Deployment",
                "apiVersion": "apps/v1",
                "metadata": _meta(app.name, app.namespace),
                "status": {"updatedReplicas": 3, "readyReplicas": 3},
            },
            code=409 if rng.random() < 0.2 else 200,
        )
    slice_name = f"{app.name}-{_suffix(5, app.name, 'slice')}"
    d.emit(
        _CALLERS["ctrl:endpointslice-controller"][0],
        "update",
        f"/apis/discovery.k8s.io/v1/namespaces/{app.namespace}/endpointslices/{slice_name}",
        when,
        request={
            "kind": "EndpointSlice",
            "apiVersion": "discovery.k8s.io/v1",
            "metadata": _meta(slice_name, app.namespace),
            "endpoints": [{"addresses": [_pod_ip(p)]} for p in new_pods],
        },
    )
    d.emit(
        _CALLERS["ctrl:endpoint-controller"][0],
        "update",
        f"/api/v1/namespaces/{app.namespace}/endpoints/{app.name}",
        when + dt.timedelta(milliseconds=rng.uniform(2, 40)),
        request={
            "kind": "Endpoints",
            "apiVersion": "v1",
            "metadata": _meta(app.name, app.namespace),
            "subsets": [{"addresses": [{"ip": _pod_ip(p)} for p in new_pods]}],
        },
    )


def _deployment(app: _App, image: str) -> dict[str, Any]:
    """The app's Deployment as its manifest declares it."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": app.name, "namespace": app.namespace},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": app.name}},
            "template": {
                "metadata": {"labels": {"app": app.name}},
                "spec": {
                    "serviceAccountName": app.name,
                    "containers": [{"name": app.name, "image": image}],
                },
            },
        },
    }


def _deployment_patch(app: _App, image: str) -> dict[str, Any]:
    """What `kubectl apply` and helm send when only the image changed."""
    manifest = _deployment(app, image)
    return {
        "metadata": {
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": json.dumps(manifest)
            }
        },
        "spec": {"template": {"spec": {"containers": [{"name": app.name, "image": image}]}}},
    }


def _network_policy(name: str, namespace: str, app: str) -> dict[str, Any]:
    """The app's NetworkPolicy as CI keeps it in git."""
    return {
        "kind": "NetworkPolicy",
        "apiVersion": "networking.k8s.io/v1",
        "metadata": _meta(name, namespace),
        "spec": {
            "podSelector": {"matchLabels": {"app": app}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": "web"}
                            }
                        }
                    ],
                    "ports": [{"protocol": "TCP", "port": 8080}],
                }
            ],
            "egress": [
                {
                    "to": [{"ipBlock": {"cidr": "10.1.3.4/32"}}],
                    "ports": [{"protocol": "TCP", "port": 5432}],
                }
            ],
        },
    }


def _apply(
    d: _Day,
    ci: _Who,
    manager: str,
    path: str,
    when: dt.datetime,
    patch: dict[str, Any] | None,
    response: Any = None,
) -> dt.datetime:
    """GET then PATCH of one object, as `kubectl apply` and helm do it (no patch: unchanged).

    *response* is the stored object, for kinds audited with their bodies.
    """
    d.emit(ci, "get", path, when)
    when += dt.timedelta(milliseconds=d.rng.uniform(30, 250))
    if patch is not None:
        d.emit(
            ci,
            "patch",
            f"{path}?fieldManager={manager}"
            + ("&fieldValidation=Strict" if manager.startswith("kubectl") else ""),
            when,
            request=patch,
            response=response,
        )
    return when + dt.timedelta(milliseconds=d.rng.uniform(30, 250))


def _wait_rollout(d: _Day, ci: _Who, app: _App, when: dt.datetime) -> None:
    """`kubectl rollout status` / helm --wait: a get, then a watch until ready."""
    path = f"/apis/apps/v1/namespaces/{app.namespace}/deployments"
    d.emit(ci, "get", f"{path}/{app.name}", when)
    d.watch(
        ci,
        f"{path}?fieldSelector=metadata.name%3D{app.name}",
        when + dt.timedelta(seconds=d.rng.uniform(60, 150)),
        d.rng.uniform(50, 140),
        d.rng.randint(300, 600),
    )


def _deploy_web(d: _Day, app: _App, at: dt.datetime, rng: random.Random, tag: str) -> None:
    """CI's `kubectl apply -f k8s/web/` followed by `kubectl rollout status`."""
    ci = _ci(rng, _CI_KUBECTL)
    manager = "kubectl-client-side-apply"
    when = at - dt.timedelta(seconds=rng.uniform(5, 12))
    d.emit(ci, "get", "/openapi/v2?timeout=32s", when)
    core = f"/api/v1/namespaces/{app.namespace}"
    when = _apply(
        d,
        ci,
        manager,
        f"{core}/configmaps/{app.config}",
        when,
        {"data": {"FEATURE_FLAGS": tag}} if rng.random() < 0.4 else None,
    )
    when = _apply(
        d,
        ci,
        manager,
        f"{core}/secrets/{app.secret}",
        when,
        {"data": {}} if rng.random() < 0.2 else None,
    )
    policy = _network_policy(app.policy, app.namespace, app.name)
    _apply(
        d,
        ci,
        manager,
        f"/apis/networking.k8s.io/v1/namespaces/{app.namespace}/networkpolicies/{app.policy}",
        when,
        {"spec": policy["spec"]} if rng.random() < 0.25 else None,
        _stored(policy, when),
    )
    image = f"{_REGISTRY}/{app.namespace}/{app.name}:{tag}"
    _apply(
        d,
        ci,
        manager,
        f"/apis/apps/v1/namespaces/{app.namespace}/deployments/{app.name}",
        at - dt.timedelta(milliseconds=200),
        _deployment_patch(app, image),
        _stored(_deployment(app, image), at),
    )
    _apply(d, ci, manager, f"{core}/services/{app.name}", at + dt.timedelta(milliseconds=300), None)
    _rollout(d, app, at, tag, rng)
    _wait_rollout(d, ci, app, at + dt.timedelta(seconds=1))


def _helm_release(
    d: _Day, ci: _Who, release: str, namespace: str, revision: int, when: dt.datetime
) -> dt.datetime:
    """Helm reads its release history and stores the new revision as a Secret."""
    d.emit(ci, "get", "/version?timeout=32s", when)
    secrets = f"/api/v1/namespaces/{namespace}/secrets"
    when += dt.timedelta(milliseconds=d.rng.uniform(20, 80))
    d.emit(ci, "list", _with_params(secrets, labelSelector=f"name={release},owner=helm"), when)
    when += dt.timedelta(milliseconds=d.rng.uniform(100, 600))
    d.emit(ci, "create", secrets, when, code=201, name=f"sh.helm.release.v1.{release}.v{revision}")
    return when + dt.timedelta(milliseconds=d.rng.uniform(50, 300))


def _helm_history(
    d: _Day, ci: _Who, release: str, namespace: str, revision: int, when: dt.datetime
) -> None:
    """Helm marks the previous revision superseded and prunes the oldest (history max 10)."""
    secrets = f"/api/v1/namespaces/{namespace}/secrets/sh.helm.release.v1.{release}"
    d.emit(ci, "update", f"{secrets}.v{revision - 1}", when)
    d.emit(
        ci,
        "delete",
        f"{secrets}.v{revision - 10}",
        when + dt.timedelta(milliseconds=d.rng.uniform(20, 90)),
        request=_delete_options(),
        response=_deleted("secrets", secrets.rsplit("/", 1)[1]),
    )


def _deploy_api(
    d: _Day, app: _App, at: dt.datetime, rng: random.Random, tag: str, revision: int
) -> None:
    """CI's `helm upgrade --install api --wait`: patches only what the chart changed."""
    ci = _ci(rng, _HELM)
    when = _helm_release(
        d, ci, "api", app.namespace, revision, at - dt.timedelta(seconds=rng.uniform(4, 9))
    )
    core = f"/api/v1/namespaces/{app.namespace}"
    rbac = "/apis/rbac.authorization.k8s.io/v1"
    when = _apply(
        d,
        ci,
        "helm",
        f"{core}/configmaps/{app.config}",
        when,
        {"data": {"RELEASE": tag}} if rng.random() < 0.5 else None,
    )
    identity = {"azure.workload.identity/client-id": env.application("id-api-prod").app_id}
    account = {
        "kind": "ServiceAccount",
        "apiVersion": "v1",
        "metadata": _meta(app.name, app.namespace, annotations=identity),
    }
    when = _apply(
        d,
        ci,
        "helm",
        f"{core}/serviceaccounts/{app.name}",
        when,
        {"metadata": {"annotations": identity}} if rng.random() < 0.15 else None,
        _stored(account, when),
    )
    when = _apply(d, ci, "helm", f"{rbac}/clusterroles/api-node-reader", when, None)
    when = _apply(d, ci, "helm", f"{rbac}/clusterrolebindings/api-node-reader", when, None)
    policy = _network_policy(app.policy, app.namespace, app.name)
    _apply(
        d,
        ci,
        "helm",
        f"/apis/networking.k8s.io/v1/namespaces/{app.namespace}/networkpolicies/{app.policy}",
        when,
        {"spec": policy["spec"]} if rng.random() < 0.25 else None,
        _stored(policy, when),
    )
    image = f"{_REGISTRY}/{app.namespace}/{app.name}:{tag}"
    _apply(
        d,
        ci,
        "helm",
        f"/apis/apps/v1/namespaces/{app.namespace}/deployments/{app.name}",
        at - dt.timedelta(milliseconds=200),
        _deployment_patch(app, image),
        _stored(_deployment(app, image), at),
    )
    _rollout(d, app, at, tag, rng)
    _wait_rollout(d, ci, app, at + dt.timedelta(seconds=1))
    _helm_history(d, ci, "api", app.namespace, revision, at + dt.timedelta(seconds=160))


def _ci_deploys(d: _Day) -> None:
    """Weekday rollouts of web (kubectl) and api (helm), and CI's occasional one-offs."""
    rng = d.stream("ci")
    for app in _APPS:
        for deploy, moment in enumerate(d.plan[app.name]):
            tag = f"{d.start:%Y.%m.%d}-{env.stable_hex(7, str(d.ctx.seed), app.name, _ts(moment))}"
            if app.namespace == "web":
                _deploy_web(d, app, moment, rng, tag)
            else:
                _deploy_api(d, app, moment, rng, tag, 40 + 2 * d.day + deploy)
    if d.day == 0:
        _ci_cronjob_and_policy(d, rng)
    if d.start.weekday() == 0:
        _monitoring_upgrade(d, rng)


def _ci_cronjob_and_policy(d: _Day, rng: random.Random) -> None:
    """On the first day CI adds the nightly invoice CronJob and a default-deny policy to api."""
    ci = _ci(rng, _CI_KUBECTL)
    when = _work_time(d.ctx, rng, d.day)
    added = _CRONJOBS[1]
    name, command = added.name, added.command
    cronjob: dict[str, Any] = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": _meta(name, "api", labels={"app": name}),
        "spec": {
            "schedule": f"{added.minute} {added.hours[0]} * * *",
            "concurrencyPolicy": "Forbid",
            "jobTemplate": {
                "spec": {
                    "ttlSecondsAfterFinished": 3600,
                    "template": {
                        "spec": {
                            "serviceAccountName": "api-jobs",
                            "restartPolicy": "Never",
                            "containers": [
                                {
                                    "name": name,
                                    "image": f"{_REGISTRY}/api/{name}:2.3.1",
                                    "command": list(command),
                                }
                            ],
                        }
                    },
                }
            },
        },
    }
    policy: dict[str, Any] = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta("api-default-deny", "api"),
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    }
    for group, resource, obj in (
        ("/apis/batch/v1", "cronjobs", cronjob),
        ("/apis/networking.k8s.io/v1", "networkpolicies", policy),
    ):
        path = f"{group}/namespaces/api/{resource}"
        object_name = obj["metadata"]["name"]
        d.emit(ci, "get", f"{path}/{object_name}", when, code=404)
        when += dt.timedelta(milliseconds=rng.uniform(40, 200))
        d.emit(
            ci,
            "create",
            f"{path}?fieldManager=kubectl-client-side-apply&fieldValidation=Strict",
            when,
            request=obj,
            response=_stored(obj, when, created=True),
            code=201,
            name=object_name,
        )
        when += dt.timedelta(milliseconds=rng.uniform(40, 200))


def _monitoring_upgrade(d: _Day, rng: random.Random) -> None:
    """Monday's helm upgrade of the monitoring chart rolls the node-exporter DaemonSet."""
    ci = _ci(rng, _HELM)
    revision = 12 + d.day // 7
    when = _helm_release(d, ci, "monitoring", "monitoring", revision, _work_time(d.ctx, rng, d.day))
    apps = "/apis/apps/v1/namespaces/monitoring"
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "node-exporter",
                            "image": _DAEMONSET_SHAPES["prometheus-node-exporter"].image,
                        }
                    ]
                }
            }
        }
    }
    when = _apply(
        d, ci, "helm", f"{apps}/daemonsets/prometheus-node-exporter", when, patch, _TOO_BIG
    )
    _daemonset_roll(d, "prometheus-node-exporter", when, d.day // 7)
    when = _apply(
        d,
        ci,
        "helm",
        f"{apps}/deployments/prometheus-server",
        when,
        {
            "spec": {
                "template": {
                    "metadata": {
                        "annotations": {"checksum/config": env.stable_hex(64, "prom", str(d.day))}
                    }
                }
            }
        },
        _TOO_BIG,
    )
    _apply(
        d,
        ci,
        "helm",
        "/apis/rbac.authorization.k8s.io/v1/clusterroles/prometheus-server",
        when,
        None,
    )
    _helm_history(d, ci, "monitoring", "monitoring", revision, when + dt.timedelta(seconds=90))


def _nightly_e2e(d: _Day) -> None:
    """CI's nightly end-to-end run: a throw-away namespace, release, RBAC, test Job, teardown."""
    rng = d.stream("e2e")
    ci = _ci(rng, _HELM)
    namespace = f"e2e-{d.start:%Y%m%d}"
    name = f"api-e2e-{d.start:%Y%m%d}-reader"
    rbac = "/apis/rbac.authorization.k8s.io/v1"
    when = d.at(2 * 3600 + rng.uniform(60, 900))
    ns_object = {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": _meta(namespace, labels={"name": namespace}),
    }
    d.emit(
        ci,
        "create",
        "/api/v1/namespaces",
        when,
        request=ns_object,
        response=_stored(ns_object, when, created=True),
        code=201,
        name=namespace,
    )
    boot = when + dt.timedelta(milliseconds=rng.uniform(20, 80))
    d.emit(
        _CALLERS["ctrl:service-account-controller"][0],
        "create",
        f"/api/v1/namespaces/{namespace}/serviceaccounts",
        boot,
        code=201,
        name="default",
        request={
            "kind": "ServiceAccount",
            "apiVersion": "v1",
            "metadata": _meta("default", namespace),
        },
    )
    d.emit(
        _CALLERS["ctrl:root-ca-cert-publisher"][0],
        "create",
        f"/api/v1/namespaces/{namespace}/configmaps",
        boot,
        code=201,
        name="kube-root-ca.crt",
    )
    when = _helm_release(d, ci, "api-e2e", namespace, 1, when + dt.timedelta(seconds=0.3))
    account = {
        "kind": "ServiceAccount",
        "apiVersion": "v1",
        "metadata": _meta("api-e2e", namespace, labels={"app.kubernetes.io/managed-by": "Helm"}),
    }
    role = {
        "kind": "ClusterRole",
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": _meta(
            name,
            labels={"app.kubernetes.io/managed-by": "Helm"},
            annotations={
                "meta.helm.sh/release-name": "api-e2e",
                "meta.helm.sh/release-namespace": namespace,
            },
        ),
        "rules": [
            {
                "apiGroups": [""],
                "resources": ["pods", "services", "configmaps"],
                "verbs": ["get", "list", "watch"],
            }
        ],
    }
    binding = {
        "kind": "ClusterRoleBinding",
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": _meta(name, labels={"app.kubernetes.io/managed-by": "Helm"}),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": "api-e2e", "namespace": namespace}],
    }
    job_name = "api-e2e-tests"
    image = f"{_REGISTRY}/api/backend-e2e:{d.start:%Y.%m.%d}"
    job: dict[str, Any] = {
        "kind": "Job",
        "apiVersion": "batch/v1",
        "metadata": _meta(job_name, namespace),
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "serviceAccountName": "api-e2e",
                    "restartPolicy": "Never",
                    "containers": [
                        {"name": "e2e", "image": image, "args": ["pytest", "-q", "tests/e2e"]}
                    ],
                }
            },
        },
    }
    created: tuple[tuple[str, dict[str, Any]], ...] = (
        (f"/api/v1/namespaces/{namespace}/serviceaccounts", account),
        (f"{rbac}/clusterroles", role),
        (f"{rbac}/clusterrolebindings", binding),
        (f"/apis/batch/v1/namespaces/{namespace}/jobs", job),
    )
    for path, obj in created:
        d.emit(
            ci,
            "create",
            f"{path}?fieldManager=helm",
            when,
            request=obj,
            response=_stored(obj, when, created=True),
            code=201,
            name=obj["metadata"]["name"],
        )
        when += dt.timedelta(milliseconds=rng.uniform(20, 120))
    pod = f"{job_name}-{_suffix(5, str(d.ctx.seed), namespace)}"
    node = _pod_node(pod)
    shape = _PodShape("api-e2e", image, ("pytest", "-q", "tests/e2e"), container="e2e")
    done = d.create_pod(
        _CALLERS["ctrl:job-controller"][0],
        shape,
        pod,
        namespace,
        node,
        _owner("Job", job_name, "batch/v1"),
        {"job-name": job_name},
        when,
    )
    done += dt.timedelta(seconds=rng.uniform(300, 700))
    d.pod_status(node, namespace, pod, done, ready=False)
    d.emit(ci, "get", f"/apis/batch/v1/namespaces/{namespace}/jobs/{job_name}", done)
    _e2e_teardown(d, ci, namespace, created, done + dt.timedelta(seconds=rng.uniform(5, 20)))


def _e2e_teardown(
    d: _Day,
    ci: _Who,
    namespace: str,
    created: tuple[tuple[str, dict[str, Any]], ...],
    when: dt.datetime,
) -> None:
    """`helm uninstall` then `kubectl delete namespace`; the namespace controller empties it."""
    for path, obj in reversed(created):
        object_name = obj["metadata"]["name"]
        d.emit(
            ci,
            "delete",
            f"{path}/{object_name}",
            when,
            request=_delete_options(),
            response=_deleted(path.rsplit("/", 1)[1], object_name),
        )
        when += dt.timedelta(milliseconds=d.rng.uniform(20, 120))
    d.emit(
        ci,
        "delete",
        f"/api/v1/namespaces/{namespace}/secrets/sh.helm.release.v1.api-e2e.v1",
        when,
        request=_delete_options(),
        response=_deleted("secrets", "api-e2e"),
    )
    when += dt.timedelta(seconds=d.rng.uniform(0.5, 2))
    kubectl = _Who(ci.username, ci.groups, _CI_KUBECTL, ci.ips, ci.reason, oid=ci.oid)
    d.emit(
        kubectl,
        "delete",
        f"/api/v1/namespaces/{namespace}",
        when,
        request=_delete_options(),
        response=_TOO_BIG,
    )
    cleaner = _CALLERS["ctrl:namespace-controller"][0]
    for resource in ("events", "pods", "configmaps", "serviceaccounts"):
        when += dt.timedelta(milliseconds=d.rng.uniform(30, 300))
        d.emit(
            cleaner,
            "deletecollection",
            f"/api/v1/namespaces/{namespace}/{resource}",
            when,
            request=_delete_options(),
        )
    when += dt.timedelta(seconds=d.rng.uniform(1, 5))
    d.emit(
        cleaner,
        "update",
        f"/api/v1/namespaces/{namespace}/finalize",
        when,
        request={
            "kind": "Namespace",
            "apiVersion": "v1",
            "metadata": _meta(namespace),
            "spec": {"finalizers": []},
        },
        response=_TOO_BIG,
    )


# --------------------------------------------------------------------------- people


def _namespace_pods(d: _Day, namespace: str, when: dt.datetime) -> tuple[tuple[str, str], ...]:
    """(pod, workload) of the pods running in *namespace* at *when*."""
    for app in _APPS:
        if app.namespace == namespace:
            return tuple((pod, app.name) for pod in d.pods(app, when))
    return tuple(
        (pod, addon.key)
        for addon in _ADDONS
        if addon.namespace == namespace
        for pod, _ in d.addon_pods(addon, when)
    )


def _kubectl(
    d: _Day, who: _Who, command: str, namespace: str, when: dt.datetime, rng: random.Random
) -> None:
    """The API requests behind one kubectl command."""
    core = f"/api/v1/namespaces/{namespace}"
    pod, workload = rng.choice(_namespace_pods(d, namespace, when))
    later = when + dt.timedelta(milliseconds=rng.uniform(40, 200))
    if command in ("get-pods", "get-events", "get-configmaps", "get-secrets"):
        resource = command.split("-", 1)[1]
        d.emit(who, "list", f"{core}/{resource}?limit=500", when)
    elif command == "describe-pod":
        d.emit(who, "get", f"{core}/pods/{pod}", when)
        selector = (
            f"involvedObject.name={pod},involvedObject.namespace={namespace},"
            f"involvedObject.uid={env.stable_guid('pod', pod)}"
        )
        d.emit(who, "list", _with_params(f"{core}/events", fieldSelector=selector), later)
    elif command == "logs":
        d.emit(who, "get", f"{core}/pods/{pod}", when)
        d.emit(
            who,
            "get",
            f"{core}/pods/{pod}/log?container={workload}&tailLines="
            f"{rng.choice((50, 100, 200, 500))}",
            later,
        )
    elif command == "get-deployments":
        d.emit(who, "list", f"/apis/apps/v1/namespaces/{namespace}/deployments?limit=500", when)
    elif command == "get-nodes":
        d.emit(who, "list", "/api/v1/nodes?limit=500", when)
    elif command == "top-pods":
        d.emit(who, "list", f"/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods", when)
    elif command == "rollout-history":
        addon = _ADDON_BY_KEY.get(workload)
        kind, history = (
            ("daemonsets", "controllerrevisions")
            if addon and addon.replicas == 0
            else ("deployments", "replicasets")
        )
        apps = f"/apis/apps/v1/namespaces/{namespace}"
        d.emit(who, "get", f"{apps}/{kind}/{workload}", when)
        d.emit(
            who, "list", _with_params(f"{apps}/{history}", labelSelector=f"app={workload}"), later
        )
    else:  # auth-can-i
        review = {
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "spec": {
                "resourceAttributes": {
                    "namespace": namespace,
                    "verb": "create",
                    "resource": "pods",
                    "subresource": "exec",
                }
            },
            "status": {"allowed": False},
        }
        answer = copy.deepcopy(review)
        answer["status"] = {"allowed": True, "reason": who.reason}
        d.emit(
            who,
            "create",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            when,
            request=review,
            response=answer,
            code=201,
        )


def _humans(d: _Day) -> None:
    """Engineers' kubectl sessions in office hours; SREs also exec and port-forward."""
    rng = d.stream("humans")
    sres = tuple(env.person(alias) for alias in _SRES)
    weekend = d.ctx.is_weekend(d.day)
    for _ in range(2 if weekend else 10):
        person = rng.choice(sres) if rng.random() < 0.35 else rng.choice(_ENGINEERS)
        who = _human(person, rng)
        is_sre = person in sres
        when = _work_time(d.ctx, rng, d.day)
        namespace = rng.choice(_HUMAN_NAMESPACES)
        if rng.random() < 0.4:  # kubectl's discovery cache expired
            d.emit(who, "get", "/api?timeout=32s", when)
            d.emit(who, "get", "/apis?timeout=32s", when + dt.timedelta(milliseconds=60))
        commands = [(c, w) for c, w, sre_only in _HUMAN_COMMANDS if is_sre or not sre_only]
        for _ in range(rng.randint(2, 5)):
            when += dt.timedelta(seconds=rng.uniform(5, 120))
            command = rng.choices([c for c, _ in commands], [w for _, w in commands])[0]
            _kubectl(d, who, command, namespace, when, rng)
    if not weekend:
        for _ in range(rng.choice((1, 1, 2))):
            _exec_session(d, rng, sres)
        if rng.random() < 0.3:
            _port_forward(d, rng, sres)
    if d.day % 7 == 1:
        _grant_edit(d, rng, sres)
    if rng.random() < 0.4:
        _break_glass(d, rng)


def _exec_session(d: _Day, rng: random.Random, sres: tuple[env.Person, ...]) -> None:
    """An SRE opens a shell (or runs one command) in a web or api pod while debugging."""
    who = _human(rng.choice(sres), rng)
    app = rng.choice((*_APPS, _APPS[0]))
    when = _work_time(d.ctx, rng, d.day)
    pod = rng.choice(d.pods(app, when))
    core = f"/api/v1/namespaces/{app.namespace}/pods/{pod}"
    d.emit(who, "get", f"{core}/log?container={app.name}&tailLines=100", when)
    when += dt.timedelta(seconds=rng.uniform(10, 90))
    d.emit(who, "get", core, when)
    command = rng.choice(_EXEC_COMMANDS)
    interactive = len(command) == 1 and command[0] != "env"
    params = "&".join(f"command={quote(part, safe='')}" for part in command)
    flags = "&stdin=true&stdout=true&tty=true" if interactive else "&stderr=true&stdout=true"
    d.emit(
        who,
        "create",
        f"{core}/exec?{params}&container={app.name}{flags}",
        when + dt.timedelta(milliseconds=rng.uniform(30, 90)),
        code=101,
        stage="ResponseStarted",
    )


def _port_forward(d: _Day, rng: random.Random, sres: tuple[env.Person, ...]) -> None:
    """An SRE port-forwards to an api pod to reach its debug endpoint."""
    who = _human(rng.choice(sres), rng)
    app = _APPS[1]
    when = _work_time(d.ctx, rng, d.day)
    pod = rng.choice(d.pods(app, when))
    core = f"/api/v1/namespaces/{app.namespace}/pods/{pod}"
    d.emit(who, "get", core, when)
    d.emit(
        who,
        "create",
        f"{core}/portforward",
        when + dt.timedelta(milliseconds=50),
        code=101,
        stage="ResponseStarted",
    )


def _grant_edit(d: _Day, rng: random.Random, sres: tuple[env.Person, ...]) -> None:
    """Weekly access request: an SRE gives an engineer `edit` in web with a RoleBinding."""
    who = _human(rng.choice(sres), rng)
    grantee = rng.choice([p for p in _ENGINEERS if p not in sres])
    alias = grantee.upn.split("@")[0].replace(".", "-")
    binding = {
        "kind": "RoleBinding",
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": _meta(f"{alias}-edit", "web"),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": grantee.upn}
        ],
    }
    when = _work_time(d.ctx, rng, d.day)
    d.emit(
        who,
        "create",
        "/apis/rbac.authorization.k8s.io/v1/namespaces/web/rolebindings"
        "?fieldManager=kubectl-create&fieldValidation=Strict",
        when,
        request=binding,
        response=_stored(binding, when, created=True),
        code=201,
        name=f"{alias}-edit",
    )


def _break_glass(d: _Day, rng: random.Random) -> None:
    """An admin with the cluster-admin kubeconfig (`masterclient`) looks around."""
    who = _masterclient(rng)
    when = _work_time(d.ctx, rng, d.day)
    for uri in (
        "/api/v1/nodes?limit=500",
        "/api/v1/pods?limit=500",
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings?limit=500",
        "/api/v1/namespaces/kube-system/pods?limit=500",
    ):
        d.emit(who, "list", uri, when)
        when += dt.timedelta(seconds=rng.uniform(4, 60))


_SOURCES = (
    _polls,
    _heartbeats,
    _leader_leases,
    _status_updates,
    _tokens_and_reviews,
    _certificate_rotation,
    _cronjobs,
    _addon_reconcile,
    _ci_deploys,
    _nightly_e2e,
    _humans,
)


def generate(ctx: SimContext) -> dict[str, list[dict[str, Any]]]:
    """Benign rows for AKSAudit and AKSAuditAdmin, keyed by table name."""
    audit: list[dict[str, Any]] = []
    admin: list[dict[str, Any]] = []
    for day in ctx.day_range():
        d = _Day(ctx, day)
        for source in _SOURCES:
            source(d)
        day_audit, day_admin = d.rows()
        audit += day_audit
        admin += day_admin
    return {"AKSAudit": audit, "AKSAuditAdmin": admin}
