"""The stolen kubeconfig (T1552.007, T1528, T1649, T1098.006): an SRE's kubeconfig and
cached Entra token, taken from a laptop, used from a VPS at night to sweep the cluster's
secrets, mint tokens for kube-system controller accounts and park them in secrets, have
a client certificate signed (requested and approved by the same identity), and hand
cluster-admin to the certificate's user and to a kube-system service account.

Per instance (the identity, kubectl build, addresses and names come from the operator
shared with the certificate backdoor, `aks.operator`): which SRE's kubeconfig, the
kubectl build, the VPS address, the pace (a script or typed by hand), what discovery
looks like; the secrets sweep (namespaces one after another then the whole cluster, the
whole cluster first then the namespaces that interest it, or namespaces only) and which
namespaces in which order; which controller accounts get tokens, and how they are kept
(the minted TokenRequest token copied into an Opaque secret, or a long-lived
`kubernetes.io/service-account-token` secret the token controller fills); whether the
certificate is requested before or after the tokens, its lifetime and usages; and how
full rights reach a kube-system service account (a catch-all ClusterRole bound
cluster-wide, a RoleBinding to cluster-admin in kube-system, or a ClusterRoleBinding to
cluster-admin), besides the ClusterRoleBinding that makes the certificate's user
cluster-admin.

Look-alikes (counts drawn per day): engineers listing and reading the secrets of the
namespaces they look after; helm listing its release secrets across the cluster; the
backup tool sweeping secrets namespace by namespace at night; the controller manager
minting tokens for its controllers; engineers and CI minting short tokens for application
accounts; engineers creating application secrets; CI creating service-account token and
registry secrets; AKS creating bootstrap-token secrets in kube-system for joining nodes;
nodes requesting serving certificates that an SRE approves; joining nodes' client
certificates approved automatically; the CSR clean-up; CI charts writing operator roles
(wildcards inside their own API group) and bindings; admins binding cluster-admin and
admin to Entra groups; SREs granting engineers namespace roles.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.benign import aks as k8s
from pytest_ctirealm.telemetry.campaign import Instance
from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.scenarios.aks.common import (
    CI_APPLY,
    CSR_URI,
    KUBECTL_CREATE,
    RBAC,
    Family,
    Intrusion,
    created,
    external,
)
from pytest_ctirealm.telemetry.scenarios.aks.operator import TOKEN_TARGETS, Operator, operator
from pytest_ctirealm.telemetry.scenarios.base import Stages, lookalikes, scenario

CAMPAIGN = "aks_stolen_kubeconfig"
_RBAC_GROUP = "rbac.authorization.k8s.io"
#: Namespaces worth sweeping for secrets.
_SECRET_NAMESPACES = ("default", "web", "api", "monitoring", "kube-system", "gatekeeper-system")
_SWEEPS = ("namespaces_then_cluster", "cluster_then_namespaces", "namespaces_only")
#: How minted tokens are kept: a copy in an Opaque secret, or a legacy token secret.
_PARKING = ("opaque_copy", "legacy_token_secret")
#: How a kube-system service account gets full rights.
_SA_GRANTS = ("catch_all_role", "rolebinding_cluster_admin", "clusterrolebinding_cluster_admin")
_RB_SUFFIXES = ("admin", "ops", "maint", "sync", "system")
#: Seconds between the operator's requests: a script, or typed by hand.
_PACES = {"scripted": (1.0, 6.0), "by_hand": (15.0, 75.0)}
_CSR_LIFETIMES = (31_536_000, 315_360_000, 0)  # one year, ten years, the signer's default
_CSR_USAGES = (("client auth",), ("digital signature", "key encipherment", "client auth"))


def _stolen(op: Operator) -> k8s._Who:
    """The SRE's Entra identity, cluster-admin through the AKS admin group, from the VPS."""
    person = op.engineer
    return external(
        person.upn,
        (k8s._ENGINEERING_GROUP, k8s._AKS_ADMIN_GROUP, "system:authenticated"),
        op.kubectl,
        op.first_ip,
        k8s._rbac("aks-cluster-admin-binding-aad", "cluster-admin", "Group", k8s._AKS_ADMIN_GROUP),
        person.object_id,
    )


class _Attack:
    """One instance: the intrusion's clock, the operator, the instance's choices."""

    def __init__(self, ctx: SimContext) -> None:
        self.op = operator(ctx)
        self.i = Instance(ctx, CAMPAIGN)
        op, i = self.op, self.i
        i.keep("engineer", op.engineer.upn)
        i.keep("kubectl", op.kubectl)
        i.keep("source_ip", op.first_ip)
        i.keep("cert_user", op.cert_user)
        i.keep("token_accounts", list(op.token_accounts))
        i.keep("token_secrets", [op.token_secret(a) for a in op.token_accounts])
        self.t = Intrusion(ctx, CAMPAIGN, op.start)
        self.who = _stolen(op)
        self.pace = _PACES[i.pick("pace", sorted(_PACES))]

    def emit(self, stage: str, verb: str, uri: str, **kw: Any) -> dict[str, Any]:
        """One request of the operator's, after its usual pause."""
        self.t.wait(*self.pace)
        return self.t.emit(stage, self.who, verb, uri, **kw)


@scenario(
    CAMPAIGN,
    "aks",
    (
        "discovery",
        "secrets_enum",
        "token_request",
        "token_secret",
        "token_secret_reads",
        "csr_created",
        "csr_approved",
        "csr_signed",
        "cert_retrieved",
        "rbac_backdoor",
    ),
)
def aks_stolen_kubeconfig(ctx: SimContext) -> Stages:
    """Discovery, the secrets sweep, minted tokens kept in secrets and a self-approved
    client certificate (in either order), then cluster-admin bindings."""
    a = _Attack(ctx)
    _discover(a)
    _sweep_secrets(a)
    steps: list[Callable[[_Attack], None]] = [_mint_tokens, _client_certificate]
    if a.i.pick("certificate_first", ("no", "yes")) == "yes":
        steps.reverse()
    for step in steps:
        a.t.wait(30, 240)
        step(a)
    a.t.wait(20, 180)
    _grant_cluster_admin(a)
    return a.t.stages


def _discover(a: _Attack) -> None:
    """kubectl's discovery, `kubectl auth can-i --list`, the namespaces (and the nodes)."""
    a.t.emit("discovery", a.who, "get", "/api?timeout=32s")
    a.t.emit("discovery", a.who, "get", "/apis?timeout=32s", after=0.1)
    if a.i.chance(0.5):
        a.emit("discovery", "get", "/version?timeout=32s")
    namespace = a.i.pick("review_namespace", ("default", "kube-system"))
    review = {
        "kind": "SelfSubjectRulesReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": None},
        "spec": {"namespace": namespace},
        "status": {"resourceRules": None, "nonResourceRules": None, "incomplete": False},
    }
    answer = copy.deepcopy(review)
    answer["status"] = {
        "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
        "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
        "incomplete": False,
    }
    reads = [("list", "/api/v1/namespaces?limit=500")]
    if a.i.chance(0.5):
        reads.append(("list", "/api/v1/nodes?limit=500"))
    a.i.rng.shuffle(reads)
    a.emit(
        "discovery",
        "create",
        "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
        request=review,
        response=answer,
        code=201,
    )
    for verb, uri in reads:
        a.emit("discovery", verb, uri)


def _sweep_secrets(a: _Attack) -> None:
    """`kubectl get secrets -o yaml` namespace by namespace and/or across the cluster."""
    sweep = a.i.pick("sweep", _SWEEPS)
    count = a.i.between(3, 6 if sweep == "namespaces_only" else 5)
    namespaces = a.i.sample("secret_namespaces", _SECRET_NAMESPACES, count)
    uris = [f"/api/v1/namespaces/{ns}/secrets?limit=500" for ns in namespaces]
    if sweep == "namespaces_then_cluster":
        uris.append("/api/v1/secrets?limit=500")
    elif sweep == "cluster_then_namespaces":
        uris.insert(0, "/api/v1/secrets?limit=500")
    for uri in uris:
        a.emit("secrets_enum", "list", uri)


def _mint_tokens(a: _Attack) -> None:
    """`kubectl create token` for each targeted controller account, each token kept in a
    secret: a copy in an Opaque secret, or a legacy token secret the controller fills."""
    op = a.op
    parking = a.i.pick("parking", _PARKING)
    order = a.i.pick("mint_order", ("each_in_turn", "tokens_first"))
    base = "/api/v1/namespaces/kube-system"
    pending: list[str] = []

    def request(account: str) -> None:
        a.emit(
            "token_request",
            "create",
            f"{base}/serviceaccounts/{account}/token",
            code=201,
            level="Metadata",
        )

    def park(account: str) -> None:
        name = op.token_secret(account)
        if parking == "opaque_copy":
            a.emit(
                "token_secret",
                "create",
                f"{base}/secrets?{KUBECTL_CREATE}",
                code=201,
                name=name,
            )
        else:  # `kubectl apply -f -` of a kubernetes.io/service-account-token secret
            a.emit("token_secret_reads", "get", f"{base}/secrets/{name}", code=404)
            a.t.emit(
                "token_secret",
                a.who,
                "create",
                f"{base}/secrets?{CI_APPLY}",
                after=0.3,
                code=201,
                name=name,
            )
            a.t.wait(0.02, 0.2)
            a.t.emit("token_secret_reads", _TOKENS_CONTROLLER, "update", f"{base}/secrets/{name}")
        pending.append(name)

    if order == "each_in_turn":
        for account in op.token_accounts:
            request(account)
            park(account)
    else:
        for account in op.token_accounts:
            request(account)
        for account in op.token_accounts:
            park(account)
    for name in pending:  # `kubectl get secret ... -o jsonpath='{.data.token}'`
        a.emit("token_secret_reads", "get", f"{base}/secrets/{name}")


_TOKENS_CONTROLLER = k8s._component(
    "system:kube-controller-manager",
    k8s._agent("kube-controller-manager", "tokens-controller"),
    k8s._KCM_IP,
)


def _approval(stored: dict[str, Any], when: dt.datetime, how: str) -> dict[str, Any]:
    """*stored* with the condition `kubectl certificate approve|deny` sets."""
    approved = copy.deepcopy(stored)
    kind = "Approved" if how == "approve" else "Denied"
    approved["status"] = {
        "conditions": [
            {
                "type": kind,
                "status": "True",
                "reason": f"Kubectl{how.capitalize()}",
                "message": f"This CSR was {kind.lower()} by kubectl certificate {how}.",
                "lastUpdateTime": k8s._ts(when),
                "lastTransitionTime": k8s._ts(when),
            }
        ]
    }
    return approved


def _client_certificate(a: _Attack) -> None:
    """A CSR for an API-server client certificate, approved by its own requester, signed,
    and fetched."""
    t, who, name = a.t, a.who, a.op.cert_user
    spec: dict[str, Any] = {
        "request": k8s._csr_pem(t.rng),
        "signerName": "kubernetes.io/kube-apiserver-client",
    }
    lifetime = a.i.pick("csr_lifetime", _CSR_LIFETIMES)
    if lifetime:
        spec["expirationSeconds"] = lifetime
    spec["usages"] = list(a.i.pick("csr_usages", _CSR_USAGES))
    csr: dict[str, Any] = {
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"name": name},
        "spec": spec,
    }
    stored = created(csr, t.now)
    stored["spec"] = {**spec, "username": who.username, "groups": list(who.groups)}
    stored["spec"]["extra"] = {"oid": [who.oid]}
    a.emit(
        "csr_created",
        "create",
        f"{CSR_URI}?{KUBECTL_CREATE}",
        request=csr,
        response=stored,
        code=201,
        name=name,
    )
    if a.i.chance(0.5):  # `kubectl get csr` before approving
        a.emit("cert_retrieved", "list", f"{CSR_URI}?limit=500")
    a.emit("cert_retrieved", "get", f"{CSR_URI}/{name}")
    approved = _approval(stored, t.now, "approve")
    t.emit(
        "csr_approved",
        who,
        "update",
        f"{CSR_URI}/{name}/approval",
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
        f"{CSR_URI}/{name}/status",
        after=0.3,
        request=signed,
        response=k8s._stored(signed, t.now),
    )
    a.emit("cert_retrieved", "get", f"{CSR_URI}/{name}")


def _binding(
    kind: str, name: str, role: str, subject: dict[str, str], namespace: str = ""
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {
        "apiVersion": f"{_RBAC_GROUP}/v1",
        "kind": kind,
        "metadata": meta,
        "roleRef": {"apiGroup": _RBAC_GROUP, "kind": "ClusterRole", "name": role},
        "subjects": [subject],
    }


def _grant_cluster_admin(a: _Attack) -> None:
    """cluster-admin for the certificate's user; full rights for a kube-system service
    account in one of three ways (in either order)."""
    op, i = a.op, a.i
    user = {"apiGroup": _RBAC_GROUP, "kind": "User", "name": op.cert_user}
    account = {"kind": "ServiceAccount", "name": op.backdoor_account, "namespace": "kube-system"}
    writes: list[tuple[str, dict[str, Any]]] = []
    cert = _binding("ClusterRoleBinding", op.cert_binding, "cluster-admin", user)
    grant = i.pick("sa_grant", _SA_GRANTS)
    if grant == "catch_all_role":
        role: dict[str, Any] = {
            "apiVersion": f"{_RBAC_GROUP}/v1",
            "kind": "ClusterRole",
            "metadata": {"name": op.wildcard_role},
            "rules": [
                {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                {"nonResourceURLs": ["*"], "verbs": ["*"]},
            ],
        }
        writes += [
            ("clusterroles", role),
            (
                "clusterrolebindings",
                _binding("ClusterRoleBinding", op.wildcard_role, op.wildcard_role, account),
            ),
        ]
    elif grant == "rolebinding_cluster_admin":
        name = i.name_like("sa_binding", (op.stem,), ("-",), _RB_SUFFIXES)
        writes.append(
            (
                "namespaces/kube-system/rolebindings",
                _binding("RoleBinding", name, "cluster-admin", account, "kube-system"),
            )
        )
    else:
        name = i.name_like("sa_binding", (op.stem,), ("-",), _RB_SUFFIXES)
        writes.append(
            ("clusterrolebindings", _binding("ClusterRoleBinding", name, "cluster-admin", account))
        )
    if i.chance(0.5):
        writes.insert(0, ("clusterrolebindings", cert))
    else:
        writes.append(("clusterrolebindings", cert))
    for resource, obj in writes:
        a.t.wait(10, 90)
        a.t.emit(
            "rbac_backdoor",
            a.who,
            "create",
            f"{RBAC}/{resource}?{KUBECTL_CREATE}",
            request=obj,
            response=created(obj, a.t.now),
            code=201,
            name=obj["metadata"]["name"],
        )


# -- look-alikes ---------------------------------------------------------------------------

_SRES = tuple(env.person(alias) for alias in k8s._SRES)
_OWNERS_POOL = tuple(p for p in k8s._ENGINEERS if p not in _SRES)
#: Namespaces whose owners (engineers with `edit` there) handle their own secrets.
_OWNED = ("web", "api", "monitoring")
_APP_SECRETS = {
    "web": ("frontend-secrets", "frontend-tls", "web-oauth-client", "frontend-feature-keys"),
    "api": ("backend-db", "backend-smtp", "api-signing-key", "invoice-sftp"),
    "monitoring": ("grafana-admin", "alertmanager-slack", "prometheus-remote-write"),
    "kube-system": ("ama-logs-secret", "azure-policy-webhook-cert", "konnectivity-certs"),
    "default": ("registry-mirror-auth",),
    "gatekeeper-system": ("gatekeeper-webhook-server-cert",),
}
#: (namespace, account) of the application and monitoring accounts people mint tokens for.
_APP_ACCOUNTS = (
    ("monitoring", "prometheus-server"),
    ("monitoring", "grafana"),
    ("web", "frontend"),
    ("api", "backend"),
    ("api", "api-jobs"),
)
_HELM_LAPTOP = "helm/v0.0.0 (darwin/arm64) kubernetes/$Format"
_VELERO_AGENT = "velero-server/v1.13.2 (linux/amd64) 4d961fb"
_KCM = k8s._component(
    "system:kube-controller-manager", k8s._agent("kube-controller-manager"), k8s._KCM_IP
)
_TOKEN_CONTROLLERS = (*TOKEN_TARGETS, "endpointslice-controller", "cronjob-controller")
#: Operator charts CI installs: (release, namespace, API group its operator owns).
_CHARTS = (
    ("prometheus-operator", "monitoring", "monitoring.coreos.com"),
    ("keda-operator", "keda", "keda.sh"),
    ("cert-manager", "cert-manager", "cert-manager.io"),
    ("external-secrets", "external-secrets", "external-secrets.io"),
    ("gatekeeper-policy-manager", "gatekeeper-system", "templates.gatekeeper.sh"),
)
#: Entra groups admins bind roles to.
_PLATFORM_GROUPS = ("platform-oncall", "sre-break-glass", "aks-upgrade-crew", "observability")
_TEAM_GROUPS = {"web": "team-web", "api": "team-api", "monitoring": "team-observability"}


def _owner(person: env.Person, namespace: str, f: Family) -> k8s._Who:
    """An engineer with `edit` in *namespace* through a RoleBinding of their own."""
    alias = person.upn.split("@")[0].replace(".", "-")
    reason = (
        f'RBAC: allowed by RoleBinding "{alias}-edit/{namespace}" of ClusterRole "edit" '
        f'to User "{person.upn}"'
    )
    return dataclasses.replace(k8s._human(person, f.rng), reason=reason)


def _people(f: Family) -> list[tuple[env.Person, tuple[str, ...], bool]]:
    """This telemetry's people who handle secrets: SREs with a pair of namespaces they
    look after, and owners of one namespace (person, namespaces, is an SRE)."""
    sres = [
        (p, tuple(f.rng.sample(("web", "api", "monitoring", "kube-system"), 2)), True)
        for p in _SRES
    ]
    owners = [(p, (f.rng.choice(_OWNED),), False) for p in f.rng.sample(_OWNERS_POOL, 4)]
    return sres + owners


def _person_caller(f: Family, person: env.Person, namespace: str, sre: bool) -> k8s._Who:
    return k8s._human(person, f.rng) if sre else _owner(person, namespace, f)


def _engineer_secret_lists(ctx: SimContext) -> Stages:
    """`kubectl get secrets` and `kubectl get secret X -o yaml` in a namespace one looks
    after (an SRE now and then in both of theirs)."""
    f = Family(ctx, CAMPAIGN, "engineer_secret_lists")
    people = _people(f)
    for moment in f.times(1, 3):
        f.at(moment)
        person, namespaces, sre = f.rng.choice(people)
        for namespace in namespaces[: f.rng.choice((1, 1, 2))]:
            who = _person_caller(f, person, namespace, sre)
            f.emit(f.name, who, "list", f"/api/v1/namespaces/{namespace}/secrets?limit=500")
            for secret in f.rng.sample(_APP_SECRETS[namespace], f.rng.randint(1, 2)):
                f.emit(
                    f.name, who, "get", f"/api/v1/namespaces/{namespace}/secrets/{secret}", after=40
                )
            f.wait(20, 120)
    return f.stages


def _helm_release_lists(ctx: SimContext) -> Stages:
    """`helm list -A` (helm's release secrets, cluster-wide) and `helm history`, from CI
    and from SREs' laptops."""
    f = Family(ctx, CAMPAIGN, "helm_release_lists")
    for moment in f.times(1, 3):
        f.at(moment)
        if f.rng.random() < 0.6:
            who = k8s._ci(f.rng, k8s._HELM)
        else:
            who = dataclasses.replace(k8s._human(f.rng.choice(_SRES), f.rng), agent=_HELM_LAPTOP)
        f.emit(f.name, who, "get", "/version?timeout=32s")
        f.emit(f.name, who, "list", "/api/v1/secrets?labelSelector=owner%3Dhelm", after=0.2)
        if f.rng.random() < 0.5:
            release, namespace = f.rng.choice((("api", "api"), ("monitoring", "monitoring")))
            f.emit(
                f.name,
                who,
                "list",
                f"/api/v1/namespaces/{namespace}/secrets?labelSelector=name%3D{release}%2Cowner%3Dhelm",
                after=30,
            )
    return f.stages


def _backup_secret_sweeps(ctx: SimContext) -> Stages:
    """The backup tool's nightly schedule reads every resource of the namespaces it
    keeps, secrets included (or the whole cluster's), and an ad-hoc backup now and then."""
    f = Family(ctx, CAMPAIGN, "backup_secret_sweeps")
    pod = f"velero-{k8s._suffix(10, 'velero', str(ctx.seed))}-{k8s._suffix(5, 'velero', str(ctx.seed), 'pod')}"
    who = k8s._Who(
        "system:serviceaccount:velero:velero",
        k8s._sa_groups("velero"),
        _VELERO_AGENT,
        (f"10.244.{f.rng.randrange(3)}.{f.rng.randrange(10, 250)}",),
        k8s._rbac("velero", "cluster-admin", "ServiceAccount", "velero/velero"),
        env.stable_guid("sa", "velero", "velero"),
        pod,
    )
    whole = f.rng.random() < 0.3
    kept = f.rng.sample(
        ("web", "api", "monitoring", "default", "kube-system", "gatekeeper-system"),
        f.rng.randint(3, 6),
    )
    hour = f.rng.randrange(0, 5)
    moments = [
        ctx.day_start(day) + dt.timedelta(hours=hour, seconds=f.rng.uniform(0, 1800))
        for day in ctx.day_range()
    ]
    moments += f.times(0, 1)
    for moment in sorted(moments):
        if moment >= ctx.end - dt.timedelta(minutes=30):
            continue
        f.at(moment)
        scopes = [""] if whole else kept
        for namespace in scopes:
            core = f"/api/v1/namespaces/{namespace}" if namespace else "/api/v1"
            for resource in ("configmaps", "secrets", "serviceaccounts"):
                f.emit(f.name, who, "list", f"{core}/{resource}", after=3)
    return f.stages


def _controller_token_refresh(ctx: SimContext) -> Stages:
    """kube-controller-manager mints its controllers' tokens (it runs each controller
    with its own service account's credentials)."""
    f = Family(ctx, CAMPAIGN, "controller_token_refresh")
    for moment in f.times(3, 7, office=False):
        f.at(moment)
        for account in f.rng.sample(_TOKEN_CONTROLLERS, f.rng.randint(1, 3)):
            f.emit(
                f.name,
                _KCM,
                "create",
                f"/api/v1/namespaces/kube-system/serviceaccounts/{account}/token",
                after=0.5,
                code=201,
                level="Metadata",
            )
    return f.stages


def _engineer_token_requests(ctx: SimContext) -> Stages:
    """`kubectl create token` for an application or monitoring account (to test a
    dashboard, a scrape, an API call as the app)."""
    f = Family(ctx, CAMPAIGN, "engineer_token_requests")
    people = _people(f)
    for moment in f.times(2, 3):
        f.at(moment)
        person, namespaces, sre = f.rng.choice(people)
        choices = [(ns, sa) for ns, sa in _APP_ACCOUNTS if sre or ns in namespaces]
        namespace, account = f.rng.choice(choices)
        who = _person_caller(f, person, namespace, sre)
        if f.rng.random() < 0.5:
            f.emit(f.name, who, "get", f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}")
        f.emit(
            f.name,
            who,
            "create",
            f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token",
            after=2,
            code=201,
            level="Metadata",
        )
    return f.stages


def _ci_token_requests(ctx: SimContext) -> Stages:
    """CI's smoke tests call the API as the application with a ten-minute token."""
    f = Family(ctx, CAMPAIGN, "ci_token_requests")
    for moment in f.times(2, 3):
        f.at(moment)
        ci = k8s._ci(f.rng, k8s._CI_KUBECTL)
        for namespace, account in f.rng.sample(_APP_ACCOUNTS[2:], f.rng.randint(1, 2)):
            f.emit(
                f.name,
                ci,
                "create",
                f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token",
                after=4,
                code=201,
                level="Metadata",
            )
    return f.stages


def _engineer_app_secrets(ctx: SimContext) -> Stages:
    """`kubectl create secret generic|tls` in one's namespace, sometimes replacing one."""
    f = Family(ctx, CAMPAIGN, "engineer_app_secrets")
    people = _people(f)
    for moment in f.times(2, 3):
        f.at(moment)
        person, namespaces, sre = f.rng.choice(people)
        namespace = f.rng.choice([ns for ns in namespaces if ns in _OWNED] or list(_OWNED))
        who = _person_caller(f, person, namespace, sre)
        name = f.rng.choice(_APP_SECRETS[namespace])
        if f.rng.random() < 0.3:
            name = f"{name}-{moment:%m%d}"
        base = f"/api/v1/namespaces/{namespace}/secrets"
        if f.rng.random() < 0.4:  # rotation: the old one goes first
            f.emit(
                f.name,
                who,
                "delete",
                f"{base}/{name}",
                request=k8s._delete_options(),
                response=k8s._deleted("secrets", name),
            )
        f.emit(f.name, who, "create", f"{base}?{KUBECTL_CREATE}", after=20, code=201, name=name)
    return f.stages


def _ci_token_secrets(ctx: SimContext) -> Stages:
    """CI applies service-account token secrets for its integrations and registry pull
    secrets in the application namespaces."""
    f = Family(ctx, CAMPAIGN, "ci_token_secrets")
    for moment in f.times(2, 3):
        f.at(moment)
        ci = k8s._ci(f.rng, k8s._CI_KUBECTL)
        namespace = f.rng.choice(_OWNED)
        name = f.rng.choice(
            (
                f"{namespace}-ci-token",
                "acr-pull",
                f"{namespace}-deployer-token",
                "argo-events-token",
            )
        )
        base = f"/api/v1/namespaces/{namespace}/secrets"
        f.emit(f.name, ci, "get", f"{base}/{name}", code=404)
        f.emit(f.name, ci, "create", f"{base}?{CI_APPLY}", after=0.5, code=201, name=name)
        if "token" in name:
            f.wait(0.02, 0.2)
            f.emit(f.name, _TOKENS_CONTROLLER, "update", f"{base}/{name}")
    return f.stages


def _bootstrap_tokens(ctx: SimContext) -> Stages:
    """AKS creates a bootstrap token for nodes that join (scale-out, node-image upgrade);
    the token cleaner removes it when it expires."""
    f = Family(ctx, CAMPAIGN, "bootstrap_tokens")
    aks = k8s._CALLERS["aks-rp"][0]
    cleaner = k8s._CALLERS["ctrl:token-cleaner"][0]
    base = "/api/v1/namespaces/kube-system/secrets"
    for moment in f.times(2, 3, office=False):
        f.at(moment)
        name = f"bootstrap-token-{''.join(f.rng.choice('abcdefghijklmnopqrstuvwxyz0123456789') for _ in range(6))}"
        f.emit(f.name, aks, "create", base, code=201, name=name)
        f.wait(3600, 4 * 3600)
        if f.now < ctx.end - dt.timedelta(minutes=15):
            f.emit(
                f.name,
                cleaner,
                "delete",
                f"{base}/{name}",
                request=k8s._delete_options(),
                response=k8s._deleted("secrets", name),
            )
    return f.stages


def _node_csr(
    f: Family, who: k8s._Who, signer: str, usages: list[str]
) -> tuple[str, dict[str, Any]]:
    """A node-side CSR (generateName), as the kubelet submits it; returns (name, stored)."""
    csr: dict[str, Any] = {
        "kind": "CertificateSigningRequest",
        "apiVersion": "certificates.k8s.io/v1",
        "metadata": {"generateName": "csr-"},
        "spec": {"request": k8s._csr_pem(f.rng), "signerName": signer, "usages": usages},
        "status": {},
    }
    name = f"csr-{''.join(f.rng.choice(k8s._K8S_ALPHABET) for _ in range(5))}"
    stored = created(csr, f.now)
    stored["metadata"]["name"] = name
    stored["spec"] = {**csr["spec"], "username": who.username, "groups": list(who.groups)}
    f.emit(f.name, who, "create", CSR_URI, request=csr, response=stored, code=201)
    return name, stored


def _sign(f: Family, name: str, approved: dict[str, Any]) -> None:
    signed = copy.deepcopy(approved)
    signed["status"]["certificate"] = k8s._csr_pem(f.rng)
    f.emit(
        f.name,
        k8s._CALLERS["ctrl:certificate-controller"][0],
        "update",
        f"{CSR_URI}/{name}/status",
        after=0.3,
        request=signed,
        response=k8s._stored(signed, f.now),
    )


def _kubelet_serving_csrs(ctx: SimContext) -> Stages:
    """Kubelets ask for serving certificates; nothing approves those automatically, so an
    SRE runs `kubectl certificate approve` on them (someone else's request)."""
    f = Family(ctx, CAMPAIGN, "kubelet_serving_csrs")
    for moment in f.times(1, 2):
        f.at(moment)
        node = f.rng.randrange(len(k8s._NODES))
        kubelet = k8s._CALLERS["kubelet"][node]
        name, stored = _node_csr(
            f,
            kubelet,
            "kubernetes.io/kubelet-serving",
            ["digital signature", "key encipherment", "server auth"],
        )
        f.wait(120, 1800)
        sre = k8s._human(f.rng.choice(_SRES), f.rng)
        f.emit(f.name, sre, "list", f"{CSR_URI}?limit=500")
        f.emit(f.name, sre, "get", f"{CSR_URI}/{name}", after=30)
        approved = _approval(stored, f.now, "approve")
        f.emit(
            f.name,
            sre,
            "update",
            f"{CSR_URI}/{name}/approval",
            after=0.2,
            request=approved,
            response=k8s._stored(approved, f.now),
        )
        _sign(f, name, approved)
    return f.stages


def _node_bootstrap_csrs(ctx: SimContext) -> Stages:
    """A joining node's kubelet, authenticated by its bootstrap token, asks for its first
    client certificate; the certificate controller approves it after a SubjectAccessReview."""
    f = Family(ctx, CAMPAIGN, "node_bootstrap_csrs")
    approver = k8s._CALLERS["ctrl:certificate-controller"][0]
    for moment in f.times(1, 2, office=False):
        f.at(moment)
        token = "".join(f.rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(6))
        who = k8s._Who(
            f"system:bootstrap:{token}",
            ("system:bootstrappers", "system:bootstrappers:aks", "system:authenticated"),
            k8s._agent("kubelet"),
            (f"10.224.0.{f.rng.randint(7, 40)}",),
            k8s._rbac(
                "aks-node-bootstrapper", "system:node-bootstrapper", "Group", "system:bootstrappers"
            ),
        )
        name, stored = _node_csr(
            f,
            who,
            "kubernetes.io/kube-apiserver-client-kubelet",
            ["digital signature", "client auth"],
        )
        f.wait(0.2, 0.8)
        review = {
            "kind": "SubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "spec": {
                "resourceAttributes": {
                    "group": "certificates.k8s.io",
                    "resource": "certificatesigningrequests",
                    "subresource": "nodeclient",
                    "verb": "create",
                },
                "user": who.username,
                "groups": list(who.groups),
            },
            "status": {"allowed": False},
        }
        answer = copy.deepcopy(review)
        answer["status"] = {
            "allowed": True,
            "reason": k8s._rbac(
                "aks-node-bootstrapper-approver",
                "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
                "Group",
                "system:bootstrappers",
            ),
        }
        f.emit(
            f.name,
            approver,
            "create",
            "/apis/authorization.k8s.io/v1/subjectaccessreviews",
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
                    "message": "Auto approving kubelet client certificate after "
                    "SubjectAccessReview.",
                    "lastUpdateTime": k8s._ts(f.now),
                    "lastTransitionTime": k8s._ts(f.now),
                }
            ]
        }
        f.emit(
            f.name,
            approver,
            "update",
            f"{CSR_URI}/{name}/approval",
            after=0.09,
            request=approved,
            response=k8s._stored(approved, f.now),
        )
        _sign(f, name, approved)
    return f.stages


def _csr_cleanup(ctx: SimContext) -> Stages:
    """The CSR cleaner removes issued and stale requests; an SRE denies a stray serving
    request now and then."""
    f = Family(ctx, CAMPAIGN, "csr_cleanup")
    cleaner = k8s._CALLERS["ctrl:certificate-controller"][0]
    for moment in f.times(2, 4, office=False):
        f.at(moment)
        name = f"csr-{''.join(f.rng.choice(k8s._K8S_ALPHABET) for _ in range(5))}"
        f.emit(
            f.name,
            cleaner,
            "delete",
            f"{CSR_URI}/{name}",
            request=k8s._delete_options(),
            response=k8s._deleted("certificatesigningrequests", name),
        )
    for moment in f.times(0, 1):
        f.at(moment)
        node = f.rng.randrange(len(k8s._NODES))
        name, stored = _node_csr(
            f,
            k8s._CALLERS["kubelet"][node],
            "kubernetes.io/kubelet-serving",
            ["digital signature", "key encipherment", "server auth"],
        )
        f.wait(600, 3600)
        sre = k8s._human(f.rng.choice(_SRES), f.rng)
        denied = _approval(stored, f.now, "deny")
        f.emit(
            f.name,
            sre,
            "update",
            f"{CSR_URI}/{name}/approval",
            request=denied,
            response=k8s._stored(denied, f.now),
        )
    return f.stages


def _rbac_write(
    f: Family, who: k8s._Who, resource: str, obj: dict[str, Any], manager: str = KUBECTL_CREATE
) -> None:
    namespace = obj["metadata"].get("namespace")
    path = f"{RBAC}/namespaces/{namespace}/{resource}" if namespace else f"{RBAC}/{resource}"
    f.emit(
        f.name,
        who,
        "create",
        f"{path}?{manager}",
        after=1,
        request=obj,
        response=created(obj, f.now),
        code=201,
        name=obj["metadata"]["name"],
    )


def _ci_rbac_grants(ctx: SimContext) -> Stages:
    """CI installs operator charts: a ClusterRole with every verb on the operator's own API
    group, a binding to the operator's account, a leader-election Role and RoleBinding."""
    f = Family(ctx, CAMPAIGN, "ci_rbac_grants")
    charts = f.rng.sample(_CHARTS, 3)
    for moment in f.times(1, 2):
        f.at(moment)
        ci = k8s._ci(f.rng, k8s._HELM)
        release, namespace, group = f.rng.choice(charts)
        helm = {"app.kubernetes.io/managed-by": "Helm"}
        role = {
            "apiVersion": f"{_RBAC_GROUP}/v1",
            "kind": "ClusterRole",
            "metadata": {"name": release, "labels": helm},
            "rules": [
                {"apiGroups": [group], "resources": ["*"], "verbs": ["*"]},
                {
                    "apiGroups": [""],
                    "resources": ["configmaps", "secrets", "services"],
                    "verbs": ["get", "list", "watch"],
                },
            ],
        }
        account = {"kind": "ServiceAccount", "name": release, "namespace": namespace}
        binding = _binding("ClusterRoleBinding", release, release, account)
        lease_role = {
            "apiVersion": f"{_RBAC_GROUP}/v1",
            "kind": "Role",
            "metadata": {"name": f"{release}-leader-election", "namespace": namespace},
            "rules": [
                {
                    "apiGroups": ["coordination.k8s.io"],
                    "resources": ["leases"],
                    "verbs": ["get", "create", "update"],
                }
            ],
        }
        lease_binding = {
            "apiVersion": f"{_RBAC_GROUP}/v1",
            "kind": "RoleBinding",
            "metadata": {"name": f"{release}-leader-election", "namespace": namespace},
            "roleRef": {
                "apiGroup": _RBAC_GROUP,
                "kind": "Role",
                "name": f"{release}-leader-election",
            },
            "subjects": [account],
        }
        objects = [
            ("clusterroles", role),
            ("clusterrolebindings", binding),
            ("roles", lease_role),
            ("rolebindings", lease_binding),
        ]
        for resource, obj in objects[: f.rng.choice((2, 4))]:
            _rbac_write(f, ci, resource, obj, "fieldManager=helm")
    return f.stages


def _admin_group_grants(ctx: SimContext) -> Stages:
    """SREs bind cluster-admin to a platform Entra group (cluster-wide or in kube-system)
    and `admin` to a team's group in its namespace; expired grants are removed."""
    f = Family(ctx, CAMPAIGN, "admin_group_grants")
    for moment in f.times(2, 3):
        f.at(moment)
        sre = k8s._human(f.rng.choice(_SRES), f.rng)
        form = f.rng.choice(("cluster", "kube-system", "team", "team"))
        if form == "team":
            namespace = f.rng.choice(_OWNED)
            group = _TEAM_GROUPS[namespace]
            subject = {
                "apiGroup": _RBAC_GROUP,
                "kind": "Group",
                "name": env.stable_guid("group", group),
            }
            obj = _binding("RoleBinding", f"{group}-admin", "admin", subject, namespace)
            resource = "rolebindings"
        else:
            group = f.rng.choice(_PLATFORM_GROUPS)
            subject = {
                "apiGroup": _RBAC_GROUP,
                "kind": "Group",
                "name": env.stable_guid("group", group),
            }
            if form == "cluster":
                obj = _binding(
                    "ClusterRoleBinding", f"{group}-cluster-admin", "cluster-admin", subject
                )
                resource = "clusterrolebindings"
            else:
                obj = _binding(
                    "RoleBinding", f"{group}-admin", "cluster-admin", subject, "kube-system"
                )
                resource = "rolebindings"
        _rbac_write(f, sre, resource, obj)
        if f.rng.random() < 0.5:  # the time-boxed grant expires
            f.wait(1800, 4 * 3600)
            namespace = obj["metadata"].get("namespace")
            path = (
                f"{RBAC}/namespaces/{namespace}/{resource}" if namespace else f"{RBAC}/{resource}"
            )
            name = obj["metadata"]["name"]
            if f.now < ctx.end - dt.timedelta(minutes=15):
                f.emit(
                    f.name,
                    sre,
                    "delete",
                    f"{path}/{name}",
                    request=k8s._delete_options(),
                    response=k8s._deleted(resource, name),
                )
    return f.stages


def _engineer_namespace_grants(ctx: SimContext) -> Stages:
    """SREs grant engineers `edit` or `view` in a namespace (access requests)."""
    f = Family(ctx, CAMPAIGN, "engineer_namespace_grants")
    for moment in f.times(2, 3):
        f.at(moment)
        sre = k8s._human(f.rng.choice(_SRES), f.rng)
        grantee = f.rng.choice(_OWNERS_POOL)
        namespace = f.rng.choice((*_OWNED, "default"))
        role = f.rng.choice(("edit", "edit", "view", "admin"))
        alias = grantee.upn.split("@")[0].replace(".", "-")
        subject = {"apiGroup": _RBAC_GROUP, "kind": "User", "name": grantee.upn}
        obj = _binding("RoleBinding", f"{alias}-{role}", role, subject, namespace)
        _rbac_write(f, sre, "rolebindings", obj)
    return f.stages


_FAMILIES: dict[str, Callable[[SimContext], Stages]] = {
    "engineer_secret_lists": _engineer_secret_lists,
    "helm_release_lists": _helm_release_lists,
    "backup_secret_sweeps": _backup_secret_sweeps,
    "controller_token_refresh": _controller_token_refresh,
    "engineer_token_requests": _engineer_token_requests,
    "ci_token_requests": _ci_token_requests,
    "engineer_app_secrets": _engineer_app_secrets,
    "ci_token_secrets": _ci_token_secrets,
    "bootstrap_tokens": _bootstrap_tokens,
    "kubelet_serving_csrs": _kubelet_serving_csrs,
    "node_bootstrap_csrs": _node_bootstrap_csrs,
    "csr_cleanup": _csr_cleanup,
    "ci_rbac_grants": _ci_rbac_grants,
    "admin_group_grants": _admin_group_grants,
    "engineer_namespace_grants": _engineer_namespace_grants,
}


@lookalikes(CAMPAIGN, tuple(_FAMILIES))
def stolen_kubeconfig_lookalikes(ctx: SimContext) -> Stages:
    out: Stages = {}
    for family in _FAMILIES.values():
        out.update(family(ctx))
    return out
