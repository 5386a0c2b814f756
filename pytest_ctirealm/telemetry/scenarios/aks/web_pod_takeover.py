"""Remote code execution in an application pod, driving the API with the pod's own
service-account token (T1613, T1069, T1018, T1609).

The intruder has a shell in one replica of one of Contoso's applications. It fetches a
client into the container, asks what the token may do and tries one request after
another until it knows the limits; a forgotten ClusterRoleBinding lets the account read
nodes and pods, proxy to the kubelets and exec into pods, so it lists the nodes and the
pods, calls the kubelet API of some nodes through nodes/proxy (pod specs, running pods,
a command run through the kubelet without an exec record) and finally opens exec
sessions in the other application's pod.

Per instance: which application (frontend or backend) and which of its replicas is
compromised (so the service account, the pod and its address); the client fetched into
it (a static kubectl build, curl, or a Python client) and its user agent, and the client
that talks to the kubelets (the same, or curl beside it); how permissions are probed (a
rules review, a series of access reviews, or plain attempts) and which forbidden
requests are tried, in which order; the name of the forgotten binding and its role;
which nodes' kubelets are reached and how (pods, runningpods, the kubelet's run or exec
endpoint, configz), the command sent through the kubelet; which pod of the other
application is exec'd and which commands run there; the timing.

Look-alikes: engineers running `kubectl auth can-i` and being refused now and then, CI's
access reviews before a deployment, the Prometheus operator checking its permissions
(and lacking one), the applications' own refused calls, monitoring add-ons listing nodes
and scraping kubelets through the proxy, SREs debugging nodes and kubelets, CI waiting
for nodes, and engineers' exec, `kubectl cp` and `kubectl debug` sessions in pods.
"""

from __future__ import annotations

import copy
import dataclasses
from urllib.parse import quote

from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.benign import aks as k8s
from pytest_ctirealm.telemetry.campaign import Instance
from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.scenarios.aks.common import (
    BACKEND,
    FRONTEND,
    KUBECTL_CREATE,
    RBAC,
    Family,
    Intrusion,
)
from pytest_ctirealm.telemetry.scenarios.base import (
    Stages,
    incident_start,
    lookalikes,
    scenario,
)

CAMPAIGN = "aks_web_pod_takeover"
_APPS = {app.name: app for app in (FRONTEND, BACKEND)}
_REVIEWS = "/apis/authorization.k8s.io/v1"

#: Static kubectl builds fetched into a container (none of them Contoso's own, nor the
#: kubeconfig operator's).
_POD_KUBECTL = (
    "kubectl/v1.30.3 (linux/amd64) kubernetes/6fc0a69",
    "kubectl/v1.29.6 (linux/amd64) kubernetes/062798d",
    "kubectl/v1.28.11 (linux/amd64) kubernetes/f25b321",
    "kubectl/v1.31.1 (linux/amd64) kubernetes/948afe5",
    "kubectl/v1.27.16 (linux/amd64) kubernetes/cbb86e0",
    "kubectl/v1.30.5 (linux/amd64) kubernetes/74e84a9",
)
_CURL = ("curl/7.88.1", "curl/8.4.0", "curl/7.81.0", "curl/8.7.1", "curl/8.9.1", "curl/8.6.0")
#: The official Python client (and its kubelet side-kick, requests).
_PYTHON_CLIENT = (
    "OpenAPI-Generator/29.0.0/python",
    "OpenAPI-Generator/30.1.0/python",
    "OpenAPI-Generator/28.1.0/python",
    "OpenAPI-Generator/31.0.0/python",
)
_PYTHON_REQUESTS = ("python-requests/2.31.0", "python-requests/2.32.3", "python-requests/2.28.2")
#: The forgotten binding: `<app>-<suffix>` to a ClusterRole someone made for operations.
_BINDING_SUFFIXES = (
    "ops-tools",
    "debug",
    "node-access",
    "troubleshooting",
    "support",
    "legacy-admin",
    "diag",
    "kubelet-reader",
)
_ROLES = (
    "ops-tools",
    "node-debugger",
    "cluster-troubleshooter",
    "legacy-ops",
    "support-tools",
    "node-inspector",
    "diagnostics",
)
#: Requests the account is refused: (verb, path; {ns} is the app's namespace).
_PROBES = (
    ("list", "/api/v1/namespaces/{ns}/secrets"),
    ("list", "/api/v1/secrets"),
    ("list", "/api/v1/namespaces/kube-system/configmaps"),
    ("list", f"{RBAC}/clusterrolebindings"),
    ("list", f"{RBAC}/namespaces/{{ns}}/rolebindings"),
    ("list", "/apis/apps/v1/namespaces/{ns}/deployments"),
    ("list", "/apis/apps/v1/daemonsets"),
    ("list", "/api/v1/namespaces"),
    ("list", "/api/v1/namespaces/kube-system/serviceaccounts"),
    ("list", "/apis/batch/v1/cronjobs"),
    ("create", "/api/v1/namespaces/{ns}/pods"),
    ("create", "/api/v1/namespaces/kube-system/serviceaccounts/default/token"),
)
#: `kubectl auth can-i` questions: (verb, resource, subresource, group, cluster-wide).
_CAN_I = (
    ("create", "pods", "exec", "", False),
    ("list", "secrets", "", "", False),
    ("get", "nodes", "proxy", "", True),
    ("list", "nodes", "", "", True),
    ("create", "pods", "", "", False),
    ("create", "clusterrolebindings", "", "rbac.authorization.k8s.io", True),
    ("list", "secrets", "", "", True),
    ("create", "daemonsets", "", "apps", False),
)
_ALLOWED = {("get", "nodes", "proxy"), ("list", "nodes", ""), ("create", "pods", "exec")}
#: Commands sent through the kubelet's run endpoint.
_RUN_COMMANDS = (
    "cat /var/run/secrets/kubernetes.io/serviceaccount/token",
    "env",
    "cat /proc/1/environ",
    "id",
)
#: Exec sessions in the other application's pod: (command argv, interactive).
_EXEC_COMMANDS = (
    (("env",), False),
    (("/bin/sh",), True),
    (("sh",), True),
    (("cat", "/var/run/secrets/kubernetes.io/serviceaccount/token"), False),
    (("printenv",), False),
    (("ls", "-la", "/app"), False),
    (("cat", "/app/config/settings.yaml"), False),
    (("sh", "-c", "wget -qO- http://169.254.169.254/metadata/identity/oauth2/token"), False),
)


@dataclasses.dataclass(frozen=True)
class _Plan:
    """What this instance chose."""

    app: k8s._App
    target: k8s._App
    tool: str
    agent: str
    kubelet_agent: str
    exec_agent: str
    review: str
    binding: str
    role: str


def _plan(i: Instance) -> _Plan:
    app = _APPS[i.pick("app", ("frontend", "frontend", "backend"))]
    target = BACKEND if app is FRONTEND else FRONTEND
    tool = i.pick("tool", ("kubectl_binary", "curl_only", "python_client"))
    if tool == "kubectl_binary":
        agent = i.pick("agent", _POD_KUBECTL)
        kubelet = agent if i.chance(0.5) else i.pick("kubelet_agent", _CURL)
        exec_agent = agent
    elif tool == "curl_only":
        agent = kubelet = i.pick("agent", _CURL)
        exec_agent = i.pick("exec_agent", _POD_KUBECTL)  # exec needs a streaming client
    else:
        agent = exec_agent = i.pick("agent", _PYTHON_CLIENT)
        kubelet = i.pick("kubelet_agent", (*_PYTHON_REQUESTS, *_CURL))
    review = i.pick(
        "review",
        ("rules_review", "attempts_only")
        if tool == "curl_only"
        else ("rules_review", "access_reviews", "attempts_only"),
    )
    binding = i.keep("binding", f"{app.name}-{i.rng.choice(_BINDING_SUFFIXES)}")
    return _Plan(
        app, target, tool, agent, kubelet, exec_agent, review, binding, i.pick("role", _ROLES)
    )


def _uri(plan: _Plan, path: str, verb: str) -> str:
    """*path* as the client sends it: kubectl pages lists and names its field manager."""
    if plan.tool != "kubectl_binary" or "?" in path:
        return path
    if verb == "list":
        return f"{path}?limit=500"
    if verb == "create":
        return f"{path}?{KUBECTL_CREATE}"
    return path


@scenario(
    CAMPAIGN,
    "aks",
    ("api_discovery", "rbac_probe", "node_recon", "pod_discovery", "kubelet_proxy", "pod_exec"),
)
def aks_web_pod_takeover(ctx: SimContext) -> Stages:
    """A shell in an application pod: its token probes, finds nodes, reaches the kubelets
    through nodes/proxy and execs into the other application."""
    i = Instance(ctx, CAMPAIGN)
    plan = _plan(i)
    t = Intrusion(ctx, CAMPAIGN, incident_start(ctx, "aks-webpod", (9, 21)))
    pods = t.day().pods(plan.app, t.now)
    pod = i.keep("pod", pods[i.between(0, len(pods) - 1)])
    base = t.day().app_caller(plan.app, t.now, pod)
    reason = k8s._rbac(
        plan.binding, plan.role, "ServiceAccount", f"{plan.app.name}/{plan.app.namespace}"
    )
    who = dataclasses.replace(base, agent=plan.agent, reason=reason)

    t.wait(60, 600)  # the client is fetched and made executable
    if plan.tool == "kubectl_binary":
        t.emit("api_discovery", who, "get", "/api?timeout=32s")
        t.emit("api_discovery", who, "get", "/apis?timeout=32s", after=0.2)
    else:
        for path in i.sample("discovery", ("/version", "/api", "/apis"), i.between(1, 2)):
            t.emit("api_discovery", who, "get", path, after=8)
    _probe(t, i, plan, who)

    ns = plan.app.namespace
    t.emit("node_recon", who, "list", _uri(plan, "/api/v1/nodes", "list"), after=40)
    nodes = i.sample("nodes", k8s._NODES, i.between(1, len(k8s._NODES)))
    for node in nodes[: i.between(0, 2)]:
        t.emit("node_recon", who, "get", f"/api/v1/nodes/{node}", after=15)
    if i.keep("namespace_pods_first", i.chance(0.5)):
        t.emit("pod_discovery", who, "list", _uri(plan, f"/api/v1/namespaces/{ns}/pods", "list"))
    t.emit("pod_discovery", who, "list", _uri(plan, "/api/v1/pods", "list"), after=30)

    victims = t.day().pods(plan.target, t.now)
    victim = i.keep("exec_pod", victims[i.between(0, len(victims) - 1)])
    _kubelets(t, i, plan, dataclasses.replace(who, agent=plan.kubelet_agent), nodes, victim)
    _exec(t, i, plan, dataclasses.replace(who, agent=plan.exec_agent), victim)
    return t.stages


def _probe(t: Intrusion, i: Instance, plan: _Plan, who: k8s._Who) -> None:
    """`kubectl auth can-i` (a rules review, or access reviews), then forbidden requests
    until the account's limits are known."""
    ns = plan.app.namespace
    if plan.review == "rules_review":
        review = {
            "kind": "SelfSubjectRulesReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "spec": {"namespace": ns},
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
                    "resourceNames": [plan.app.config],
                },
                {
                    "verbs": ["create"],
                    "apiGroups": ["authorization.k8s.io"],
                    "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                },
            ],
            "nonResourceRules": [
                {"verbs": ["get"], "nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*"]}
            ],
            "incomplete": False,
        }
        t.emit(
            "rbac_probe",
            who,
            "create",
            f"{_REVIEWS}/selfsubjectrulesreviews",
            after=60,
            request=review,
            response=answer,
            code=201,
        )
    elif plan.review == "access_reviews":
        for verb, resource, sub, group, cluster in i.sample("can_i", _CAN_I, i.between(2, 4)):
            attributes = {"verb": verb, "resource": resource}
            if not cluster:
                attributes = {"namespace": ns, **attributes}
            if group:
                attributes["group"] = group
            if sub:
                attributes["subresource"] = sub
            _access_review(t, "rbac_probe", who, attributes, (verb, resource, sub) in _ALLOWED)
    count = i.between(4, 7)
    probes = i.sample("probes", _PROBES, count)
    while len({_resource(path) for _, path in probes}) < 3:  # refusals on several kinds
        probes = i.sample("probes", _PROBES, count)
    for verb, path in probes:
        uri = _uri(plan, path.format(ns=ns), verb)
        t.emit("rbac_probe", who, verb, uri, after=20, code=403)


def _resource(path: str) -> str:
    ref = k8s._object_ref(path.format(ns="web"), None)
    return ref["resource"] if ref else path


def _access_review(
    t: Intrusion, stage: str, who: k8s._Who, attributes: dict[str, str], allowed: bool
) -> None:
    """One SelfSubjectAccessReview (`kubectl auth can-i ...`) and its answer."""
    review = {
        "kind": "SelfSubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": None},
        "spec": {"resourceAttributes": attributes},
        "status": {"allowed": False},
    }
    answer = copy.deepcopy(review)
    answer["status"] = {"allowed": True, "reason": who.reason} if allowed else {"allowed": False}
    t.emit(
        stage,
        who,
        "create",
        f"{_REVIEWS}/selfsubjectaccessreviews",
        after=15,
        request=review,
        response=answer,
        code=201,
    )


def _kubelets(
    t: Intrusion, i: Instance, plan: _Plan, who: k8s._Who, nodes: list[str], victim: str
) -> None:
    """The kubelet API of the chosen nodes through the API server, then one command in
    the victim pod through its node's kubelet (run or exec), leaving no exec record."""
    home = k8s._NODES[k8s._pod_node(victim)]
    configz = i.keep("configz_nodes", [node for node in nodes if i.chance(0.25)])
    for node in nodes:
        t.emit("kubelet_proxy", who, "get", f"/api/v1/nodes/{node}/proxy/pods", after=20)
        if node in configz:
            t.emit("kubelet_proxy", who, "get", f"/api/v1/nodes/{node}/proxy/configz", after=8)
    if i.keep("runningpods", i.chance(0.6)):
        t.emit("kubelet_proxy", who, "get", f"/api/v1/nodes/{home}/proxy/runningpods/", after=10)
    how = i.pick("kubelet_command", ("kubelet_run", "kubelet_run", "kubelet_exec", "no_command"))
    if how == "no_command":
        return
    command = i.pick("run_command", _RUN_COMMANDS)
    where = f"{plan.target.namespace}/{victim}/{plan.target.name}"
    if how == "kubelet_run":
        uri = f"/api/v1/nodes/{home}/proxy/run/{where}?cmd={quote(command, safe='')}"
        t.emit("kubelet_proxy", who, "create", uri, after=40)
    else:
        argv = "&".join(f"command={quote(part, safe='')}" for part in command.split())
        uri = f"/api/v1/nodes/{home}/proxy/exec/{where}?{argv}&input=1&output=1&tty=0"
        t.emit("kubelet_proxy", who, "get", uri, after=40, code=101, stage="ResponseStarted")


def _exec(t: Intrusion, i: Instance, plan: _Plan, who: k8s._Who, victim: str) -> None:
    """Exec sessions in the other application's pod (kubectl reads the pod first)."""
    core = f"/api/v1/namespaces/{plan.target.namespace}/pods/{victim}"
    if plan.exec_agent.startswith("kubectl/"):
        t.emit("pod_discovery", who, "get", core, after=60)
    sessions = i.sample("exec_commands", _EXEC_COMMANDS, i.between(2, 3))
    for command, interactive in sessions:
        params = "&".join(f"command={quote(part, safe='')}" for part in command)
        flags = "&stdin=true&stdout=true&tty=true" if interactive else "&stderr=true&stdout=true"
        t.emit(
            "pod_exec",
            who,
            "create",
            f"{core}/exec?{params}&container={plan.target.name}{flags}",
            after=45,
            code=101,
            stage="ResponseStarted",
        )


# -- look-alikes ---------------------------------------------------------------------------

_FAMILIES = (
    "can_i_checks",
    "ci_access_reviews",
    "operator_permission_checks",
    "app_refusals",
    "node_readers",
    "sre_kubelet_debug",
    "ci_node_checks",
    "engineer_exec",
    "kubectl_cp",
    "debug_attach",
)
_SRE_PEOPLE = tuple(env.person(alias) for alias in k8s._SRES)
_VIEWERS = tuple(p for p in k8s._ENGINEERS if p not in _SRE_PEOPLE)
_WORK_NAMESPACES = ("web", "api", "monitoring")
#: What engineers ask `kubectl auth can-i` about: (verb, resource, subresource, group).
_ENGINEER_CAN_I = (
    ("create", "pods", "exec", ""),
    ("get", "secrets", "", ""),
    ("list", "secrets", "", ""),
    ("patch", "deployments", "", "apps"),
    ("delete", "pods", "", ""),
    ("create", "pods", "portforward", ""),
    ("get", "pods", "log", ""),
    ("update", "configmaps", "", ""),
)
#: What CI checks before it deploys: (verb, resource, group).
_CI_CAN_I = (
    ("patch", "deployments", "apps"),
    ("create", "configmaps", ""),
    ("get", "secrets", ""),
    ("create", "networkpolicies", "networking.k8s.io"),
    ("patch", "services", ""),
    ("create", "jobs", "batch"),
)
_OPERATOR_AGENT = "PrometheusOperator/0.75.2 (linux/amd64)"
_OPERATOR_CHECKS = (
    ("list", "prometheuses", "monitoring.coreos.com"),
    ("watch", "servicemonitors", "monitoring.coreos.com"),
    ("list", "podmonitors", "monitoring.coreos.com"),
    ("list", "probes", "monitoring.coreos.com"),
    ("watch", "prometheusrules", "monitoring.coreos.com"),
    ("list", "namespaces", ""),
    ("get", "secrets", ""),
    ("list", "alertmanagerconfigs", "monitoring.coreos.com"),
)
#: The one thing the operator's role lacks since its last upgrade.
_OPERATOR_MISSING = (
    "/apis/monitoring.coreos.com/v1alpha1/scrapeconfigs",
    "/apis/monitoring.coreos.com/v1alpha1/prometheusagents",
    "/apis/storage.k8s.io/v1/storageclasses",
)
#: Calls the applications make that their roles do not cover (a misconfigured library).
_APP_REFUSED = {
    "frontend": (
        ("list", "/api/v1/namespaces/web/secrets?limit=500"),
        ("get", "/api/v1/namespaces/web/secrets/frontend-secrets"),
        ("watch", "/api/v1/namespaces/web/configmaps"),
    ),
    "backend": (
        ("get", "/api/v1/namespaces/api/secrets/backend-tls"),
        ("list", "/api/v1/namespaces/api/secrets?limit=500"),
        ("get", "/api/v1/namespaces/web/configmaps/frontend-config"),
    ),
}
_KUBELET_METRICS = ("/metrics", "/metrics/resource", "/metrics/probes", "/metrics/cadvisor")
_KUBE_STATE_METRICS = "kube-state-metrics/v2.12.0 (linux/amd64) kubernetes/$Format"
_SRE_KUBELET_PATHS = (
    "/stats/summary",
    "/configz",
    "/healthz",
    "/logs/",
    "/spec/",
    "/stats/summary?only_cpu_and_memory=true",
)
#: Engineers' exec sessions: (argv, interactive).
_ENGINEER_EXEC = (
    (("sh",), True),
    (("/bin/bash",), True),
    (("env",), False),
    (("cat", "/app/config/settings.yaml"), False),
    (("python", "manage.py", "shell"), True),
    (("ls", "-la", "/tmp"), False),
    (("ps", "aux"), False),
    (("nslookup", "backend.api.svc.cluster.local"), False),
    (("curl", "-s", "localhost:8080/healthz"), False),
    (("df", "-h"), False),
)
_CP_PATHS = (
    "/app/logs/app.log",
    "/tmp/heapdump.hprof",
    "/app/config/settings.yaml",
    "/var/log/gunicorn/error.log",
    "/tmp/profile.out",
    "/app/data/export.csv",
)
_DEBUG_IMAGES = ("busybox:1.36", "nicolaka/netshoot:v0.13", "ubuntu:22.04", "alpine:3.20")


def _engineer(f: Family, people: tuple[env.Person, ...]) -> k8s._Who:
    return k8s._human(f.rng.choice(people), f.rng)


def _pod_of(f: Family, namespace: str) -> tuple[str, str]:
    """(pod, container) of a workload running in *namespace* now."""
    pod, workload = f.rng.choice(k8s._namespace_pods(f.day(), namespace, f.now))
    addon = k8s._ADDON_BY_KEY.get(workload)
    container = workload if addon is None else addon.key.removesuffix("-rs")
    return pod, container


def _can_i_checks(f: Family) -> None:
    """Engineers ask `kubectl auth can-i`; engineers with view only are refused secrets and
    exec when they try anyway."""
    for moment in f.times(2, 5):
        f.at(moment)
        sre = f.rng.random() < 0.4
        who = _engineer(f, _SRE_PEOPLE if sre else _VIEWERS)
        namespace = f.rng.choice(_WORK_NAMESPACES)
        for verb, resource, sub, group in f.rng.sample(_ENGINEER_CAN_I, f.rng.randint(1, 2)):
            attributes = {"namespace": namespace, "verb": verb, "resource": resource}
            if group:
                attributes["group"] = group
            if sub:
                attributes["subresource"] = sub
            allowed = sre or (verb in ("get", "list") and resource != "secrets")
            _access_review(f, f.name, who, attributes, allowed)
        if not sre and f.rng.random() < 0.6:
            pod, container = _pod_of(f, namespace)
            if f.rng.random() < 0.5:
                uri = f"/api/v1/namespaces/{namespace}/secrets?limit=500"
                f.emit(f.name, who, "list", uri, after=20, code=403)
            else:
                f.emit(f.name, who, "get", f"/api/v1/namespaces/{namespace}/pods/{pod}", after=20)
                uri = (
                    f"/api/v1/namespaces/{namespace}/pods/{pod}/exec?command=sh"
                    f"&container={container}&stdin=true&stdout=true&tty=true"
                )
                f.emit(f.name, who, "create", uri, after=0.2, code=403)


def _ci_access_reviews(f: Family) -> None:
    """The deploy pipeline's pre-flight `kubectl auth can-i` before it applies."""
    for moment in f.times(2, 5):
        f.at(moment)
        ci = k8s._ci(f.rng, k8s._CI_KUBECTL)
        namespace = f.rng.choice(("web", "api"))
        for verb, resource, group in f.rng.sample(_CI_CAN_I, f.rng.randint(2, 3)):
            attributes = {"namespace": namespace, "verb": verb, "resource": resource}
            if group:
                attributes["group"] = group
            _access_review(f, f.name, ci, attributes, True)


def _operator_permission_checks(f: Family) -> None:
    """The Prometheus operator restarts and checks its permissions with access reviews;
    one resource its role lacks since the last upgrade is refused."""
    template = k8s._suffix(10, "prometheus-operator", str(f.ctx.seed))
    missing = f.rng.choice(_OPERATOR_MISSING)
    for n, moment in enumerate(f.times(1, 3, office=False)):
        f.at(moment)
        pod = f"prometheus-operator-{template}-{k8s._suffix(5, template, str(n))}"
        who = k8s._Who(
            "system:serviceaccount:monitoring:prometheus-operator",
            k8s._sa_groups("monitoring"),
            _OPERATOR_AGENT,
            (k8s._pod_ip(pod),),
            k8s._rbac(
                "prometheus-operator",
                "prometheus-operator",
                "ServiceAccount",
                "prometheus-operator/monitoring",
            ),
            env.stable_guid("sa", "monitoring", "prometheus-operator"),
            pod,
        )
        for verb, resource, group in f.rng.sample(_OPERATOR_CHECKS, f.rng.randint(3, 6)):
            attributes = {"verb": verb, "resource": resource}
            if group:
                attributes["group"] = group
            _access_review(f, f.name, who, attributes, True)
        if f.rng.random() < 0.7:
            uri = f"{missing}?limit=500&resourceVersion=0"
            f.emit(f.name, who, "list", uri, after=2, code=403)


def _app_refusals(f: Family) -> None:
    """The applications' own calls that their roles do not cover."""
    for moment in f.times(2, 5, office=False):
        f.at(moment)
        app = f.rng.choice((FRONTEND, BACKEND))
        who = f.day().app_caller(app, moment)
        verb, uri = f.rng.choice(_APP_REFUSED[app.name])
        if verb == "watch":
            uri = k8s._with_params(uri, watch="true", timeoutSeconds=str(f.rng.randint(300, 600)))
        f.emit(f.name, who, verb, uri, code=403)


def _node_readers(f: Family) -> None:
    """Prometheus scrapes kubelet metrics through the proxy; kube-state-metrics and the
    metrics server list and read nodes."""
    prometheus = k8s._CALLERS["prometheus-server"][0]
    metrics_server = k8s._CALLERS["metrics-server"]
    ksm_pod = (
        f"kube-state-metrics-{k8s._suffix(10, 'ksm', str(f.ctx.seed))}-{k8s._suffix(5, 'ksm')}"
    )
    ksm = k8s._Who(
        "system:serviceaccount:monitoring:kube-state-metrics",
        k8s._sa_groups("monitoring"),
        _KUBE_STATE_METRICS,
        (k8s._pod_ip(ksm_pod),),
        k8s._rbac(
            "kube-state-metrics",
            "kube-state-metrics",
            "ServiceAccount",
            "kube-state-metrics/monitoring",
        ),
        env.stable_guid("sa", "monitoring", "kube-state-metrics"),
        ksm_pod,
    )
    for moment in f.times(4, 9, office=False):
        f.at(moment)
        kind = f.rng.random()
        if kind < 0.5:
            path = f.rng.choice(_KUBELET_METRICS)
            for node in k8s._NODES:
                f.emit(f.name, prometheus, "get", f"/api/v1/nodes/{node}/proxy{path}", after=0.5)
        elif kind < 0.8:
            f.emit(f.name, ksm, "list", "/api/v1/nodes?limit=500&resourceVersion=0")
        else:
            node = f.rng.choice(k8s._NODES)
            f.emit(f.name, f.rng.choice(metrics_server), "get", f"/api/v1/nodes/{node}")


def _sre_kubelet_debug(f: Family) -> None:
    """SREs look at nodes: list, describe, and the kubelet's own API with `get --raw`."""
    for moment in f.times(1, 3):
        f.at(moment)
        who = _engineer(f, _SRE_PEOPLE)
        f.emit(f.name, who, "list", "/api/v1/nodes?limit=500")
        node = f.rng.choice(k8s._NODES)
        if f.rng.random() < 0.6:
            f.emit(f.name, who, "get", f"/api/v1/nodes/{node}", after=30)
            selector = quote(f"spec.nodeName={node},status.phase!=Failed,status.phase!=Succeeded")
            f.emit(f.name, who, "list", f"/api/v1/pods?fieldSelector={selector}&limit=500")
        for path in f.rng.sample(_SRE_KUBELET_PATHS, f.rng.randint(1, 2)):
            f.emit(f.name, who, "get", f"/api/v1/nodes/{node}/proxy{path}", after=40)


def _ci_node_checks(f: Family) -> None:
    """The pipeline checks that nodes are ready before a rollout."""
    for moment in f.times(2, 4):
        f.at(moment)
        ci = k8s._ci(f.rng, k8s._CI_KUBECTL)
        f.emit(f.name, ci, "list", "/api/v1/nodes?limit=500")
        if f.rng.random() < 0.5:
            node = f.rng.choice(k8s._NODES)
            f.emit(f.name, ci, "get", f"/api/v1/nodes/{node}", after=3)


def _exec_uri(namespace: str, pod: str, container: str, argv: tuple[str, ...], tty: bool) -> str:
    params = "&".join(f"command={quote(part, safe='')}" for part in argv)
    flags = "&stdin=true&stdout=true&tty=true" if tty else "&stderr=true&stdout=true"
    return f"/api/v1/namespaces/{namespace}/pods/{pod}/exec?{params}&container={container}{flags}"


def _engineer_exec(f: Family) -> None:
    """SREs open shells and run commands in application and monitoring pods."""
    for moment in f.times(2, 4):
        f.at(moment)
        who = _engineer(f, _SRE_PEOPLE)
        namespace = f.rng.choice(("web", "api", "api", "monitoring"))
        pod, container = _pod_of(f, namespace)
        f.emit(f.name, who, "get", f"/api/v1/namespaces/{namespace}/pods/{pod}")
        for argv, tty in f.rng.sample(_ENGINEER_EXEC, f.rng.randint(1, 2)):
            uri = _exec_uri(namespace, pod, container, argv, tty)
            f.emit(f.name, who, "create", uri, after=90, code=101, stage="ResponseStarted")


def _kubectl_cp(f: Family) -> None:
    """`kubectl cp` out of (or into) a pod: an exec of tar."""
    for moment in f.times(2, 4):
        f.at(moment)
        who = _engineer(f, _SRE_PEOPLE)
        namespace = f.rng.choice(("web", "api"))
        pod, container = _pod_of(f, namespace)
        path = f.rng.choice(_CP_PATHS)
        argv = (
            ("tar", "cf", "-", path) if f.rng.random() < 0.8 else ("tar", "xmf", "-", "-C", "/tmp")
        )
        f.emit(f.name, who, "get", f"/api/v1/namespaces/{namespace}/pods/{pod}")
        uri = _exec_uri(namespace, pod, container, argv, False)
        if argv[1] == "xmf":
            uri = uri.replace("&stderr=true&stdout=true", "&stderr=true&stdin=true&stdout=true")
        f.emit(f.name, who, "create", uri, after=0.3, code=101, stage="ResponseStarted")


def _debug_attach(f: Family) -> None:
    """`kubectl debug -it`: an ephemeral container added to a pod, then attached to."""
    for moment in f.times(1, 3):
        f.at(moment)
        who = _engineer(f, _SRE_PEOPLE)
        namespace = f.rng.choice(("web", "api"))
        pod, container = _pod_of(f, namespace)
        name = f"debugger-{k8s._suffix(5, pod, str(moment))}"
        core = f"/api/v1/namespaces/{namespace}/pods/{pod}"
        f.emit(f.name, who, "get", core)
        patch = {
            "spec": {
                "ephemeralContainers": [
                    {
                        "name": name,
                        "image": f.rng.choice(_DEBUG_IMAGES),
                        "targetContainerName": container,
                        "stdin": True,
                        "tty": True,
                    }
                ]
            }
        }
        f.emit(
            f.name,
            who,
            "patch",
            f"{core}/ephemeralcontainers",
            after=0.5,
            request=patch,
            response=k8s._TOO_BIG,
        )
        f.emit(
            f.name,
            who,
            "create",
            f"{core}/attach?container={name}&stdin=true&stdout=true&tty=true",
            after=4,
            code=101,
            stage="ResponseStarted",
        )


@lookalikes(CAMPAIGN, _FAMILIES)
def aks_web_pod_takeover_lookalikes(ctx: SimContext) -> Stages:
    builders = {
        "can_i_checks": _can_i_checks,
        "ci_access_reviews": _ci_access_reviews,
        "operator_permission_checks": _operator_permission_checks,
        "app_refusals": _app_refusals,
        "node_readers": _node_readers,
        "sre_kubelet_debug": _sre_kubelet_debug,
        "ci_node_checks": _ci_node_checks,
        "engineer_exec": _engineer_exec,
        "kubectl_cp": _kubectl_cp,
        "debug_attach": _debug_attach,
    }
    out: Stages = {}
    for name in _FAMILIES:
        family = Family(ctx, CAMPAIGN, name)
        builders[name](family)
        out[name] = family.stages.get(name, {})
    return out
