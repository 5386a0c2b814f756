"""The operator behind the stolen-kubeconfig and certificate-backdoor campaigns: one
instance per telemetry, shared by both, because the second intrusion uses what the first
one minted (the client certificate's user, the tokens kept in secrets, the catch-all
role) from the operator's second server.

What varies per instance: whose kubeconfig was stolen (one of the SREs), the operator's
kubectl build, its two servers, the imitation names it gives its certificate user, role,
binding and token secrets, which kube-system controller accounts it mints tokens for (and
keeps in secrets), which kube-system account it gives full rights to, the stager it
fetches, and when it starts (the small hours in Europe).
"""

from __future__ import annotations

import datetime as dt
import weakref
from dataclasses import dataclass

from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.benign import aks as k8s
from pytest_ctirealm.telemetry.campaign import Instance
from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.scenarios.base import incident_start

#: kubectl builds an operator downloads (none of them Contoso's own, see `k8s._KUBECTL_AGENTS`).
_KUBECTL_BUILDS = (
    "kubectl/v1.28.2 (linux/amd64) kubernetes/89a4ea3",
    "kubectl/v1.27.4 (linux/amd64) kubernetes/fa3d799",
    "kubectl/v1.29.1 (linux/amd64) kubernetes/bc401b9",
    "kubectl/v1.26.9 (linux/amd64) kubernetes/d1483fd",
    "kubectl/v1.28.9 (linux/amd64) kubernetes/587f5fe",
    "kubectl/v1.30.1 (linux/amd64) kubernetes/6911225",
)
#: Stems of the names the operator gives what it creates, imitating cluster components.
_STEMS = (
    "kube-health",
    "node-metrics",
    "cluster-monitor",
    "kube-audit",
    "aks-diag",
    "kube-probe",
    "metrics-relay",
    "node-problem",
)
_ROLE_SUFFIXES = ("aggregator", "reader", "controller", "operator", "agent")
_USER_SUFFIXES = ("monitor", "collector", "agent", "exporter", "sync")
_STAGER_PATHS = ("/k.sh", "/i.sh", "/init", "/s", "/update.sh", "/x")
#: kube-system controller accounts whose rights escalate (ClusterRole aggregation, reading
#: or deleting anything, creating pods on every node): what public reporting sees minted.
TOKEN_TARGETS = (
    "clusterrole-aggregation-controller",
    "generic-garbage-collector",
    "namespace-controller",
    "daemon-set-controller",
    "replicaset-controller",
    "job-controller",
    "persistent-volume-binder",
    "deployment-controller",
)
_BINDING_SUFFIXES = ("", "-binding", "-admin", "-crb")


@dataclass(frozen=True)
class Operator:
    """What the operator brings and names, the same in both intrusions of one telemetry."""

    engineer: env.Person
    kubectl: str
    first_ip: str
    return_ip: str
    stem: str
    cert_user: str
    wildcard_role: str
    stager_url: str
    start: dt.datetime
    #: The kube-system accounts whose minted tokens are kept in secrets (`token_secret`).
    token_accounts: tuple[str, ...] = ()
    #: The ClusterRoleBinding that makes the certificate's user cluster-admin.
    cert_binding: str = ""
    #: The kube-system service account given full rights (pods and CronJobs run as it).
    backdoor_account: str = "default"

    def token_secret(self, account: str) -> str:
        """The secret that keeps the token minted for controller *account*."""
        short = "".join(part[0] for part in account.split("-"))
        return f"{self.stem}-{short}-token"


#: Each telemetry's operator, drawn once (both intrusions ask for it).
_DRAWN: weakref.WeakKeyDictionary[SimContext, Operator] = weakref.WeakKeyDictionary()


def operator(ctx: SimContext) -> Operator:
    """The operator of *ctx*'s telemetry: drawn on the first call, the same after."""
    if ctx not in _DRAWN:
        _DRAWN[ctx] = _draw(ctx)
    return _DRAWN[ctx]


def _draw(ctx: SimContext) -> Operator:
    i = Instance(ctx, "aks_operator")
    stem = i.pick("stem", _STEMS)
    return_ip = i.attacker_ip("return_ip")
    engineer = env.person(i.pick("engineer", k8s._SRES))
    kubectl = i.pick("kubectl", _KUBECTL_BUILDS)
    first_ip = i.attacker_ip("first_ip")
    cert_user = i.keep("cert_user", f"{stem}-{i.rng.choice(_USER_SUFFIXES)}")
    wildcard_role = i.keep("wildcard_role", f"system:{stem}-{i.rng.choice(_ROLE_SUFFIXES)}")
    stager_url = i.keep(
        "stager_url", f"http://{return_ip}:{i.port('stager_port')}{i.rng.choice(_STAGER_PATHS)}"
    )
    token_accounts = tuple(i.sample("token_accounts", TOKEN_TARGETS, i.between(2, 3)))
    backdoor = i.rng.choice(("default", "default", token_accounts[0]))
    i.keep("backdoor_account", f"kube-system/{backdoor}")
    return Operator(
        engineer=engineer,
        kubectl=kubectl,
        first_ip=first_ip,
        return_ip=return_ip,
        stem=stem,
        cert_user=cert_user,
        wildcard_role=wildcard_role,
        stager_url=stager_url,
        start=incident_start(ctx, "aks-kubeconfig", (1, 4)),
        token_accounts=token_accounts,
        cert_binding=i.name_like("cert_binding", (cert_user,), _BINDING_SUFFIXES),
        backdoor_account=backdoor,
    )
