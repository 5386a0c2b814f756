"""An internet scanner probing the API server without credentials (T1078.001, T1613).

Mining campaigns find Kubernetes API servers by sweeping the internet: a fingerprinting
client confirms the endpoint is Kubernetes (/version, /healthz) and a second pass
requests the paths that matter for a takeover, reading the status codes. Without
credentials every request is `system:anonymous`; this cluster's RBAC grants that user
only the public health and version endpoints, so everything else is forbidden.

Per instance: the scanner's address for the fingerprint and the address of the
follow-up pass (the same host or another one), their user agents (zgrab, masscan-like
banner grabbers, Censys-style crawlers, python-requests, Go-http-client, curl, nuclei,
kube-hunter-style clients), which public endpoints are fingerprinted and which
resource and discovery paths are tried, in which order, whether the scanner comes back
hours later to re-check, and the timing.

Look-alikes: Azure's health checks of the control plane hitting /healthz, /livez and
/readyz anonymously from Azure addresses, Contoso's uptime monitor (an availability test
from several Azure locations), and engineers checking the endpoint with curl or a
browser from the offices and the VPN (now and then refused on a path).
"""

from __future__ import annotations

import datetime as dt

from pytest_ctirealm.telemetry import environment as env
from pytest_ctirealm.telemetry.benign import aks as k8s
from pytest_ctirealm.telemetry.campaign import Instance
from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.scenarios.aks.common import Family, Intrusion
from pytest_ctirealm.telemetry.scenarios.base import Stages, incident_start, lookalikes, scenario

CAMPAIGN = "aks_anonymous_scan"
ANONYMOUS = "system:anonymous"
#: What the public-info-viewer role lets anyone read.
PUBLIC = ("/version", "/healthz", "/livez", "/readyz")
_PUBLIC_REASON = k8s._rbac(
    "system:public-info-viewer", "system:public-info-viewer", "Group", "system:unauthenticated"
)
#: Fingerprinting clients (banner grabbers and internet-wide crawlers).
_FINGERPRINTERS = (
    "Mozilla/5.0 zgrab/0.x",
    "Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)",
    "masscan/1.3 (https://github.com/robertdavidgraham/masscan)",
    "Mozilla/5.0 (compatible; InternetMeasurement/1.0; +https://internet-measurement.com/)",
    "Go-http-client/1.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/115.0.0.0 Safari/537.36",
)
#: Clients of the follow-up pass (scripts and template scanners).
_PROBERS = (
    "python-requests/2.25.1",
    "python-requests/2.31.0",
    "python-requests/2.27.1",
    "Go-http-client/1.1",
    "curl/7.74.0",
    "curl/7.68.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/108.0.0.0 Safari/537.36",
    "Nuclei - Open-source project (github.com/projectdiscovery/nuclei)",
    "kube-hunter/0.6.8",
)
#: Paths a takeover scanner tries: discovery, the resources a miner needs, and the check
#: whether a competing campaign already runs DaemonSets.
_PROBE_PATHS = (
    "/",
    "/api",
    "/apis",
    "/api/v1",
    "/openapi/v2",
    "/metrics",
    "/logs",
    "/api/v1/namespaces",
    "/api/v1/pods",
    "/api/v1/secrets",
    "/api/v1/nodes",
    "/api/v1/configmaps",
    "/api/v1/namespaces/kube-system/secrets",
    "/api/v1/namespaces/kube-system/pods",
    "/api/v1/namespaces/default/pods",
    "/apis/apps/v1/deployments",
    "/apis/apps/v1/daemonsets",
    "/apis/apps/v1/namespaces/kube-system/daemonsets",
    "/apis/apps/v1/namespaces/default/daemonsets",
    "/apis/batch/v1/cronjobs",
    "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
    "/apis/rbac.authorization.k8s.io/v1/clusterroles",
)


def anonymous(agent: str, ip: str, hop: str = k8s._PROXY_HOPS[1]) -> k8s._Who:
    """A caller without credentials, from *ip* through AKS's proxy hop."""
    return k8s._Who(ANONYMOUS, ("system:unauthenticated",), agent, (ip, hop), _PUBLIC_REASON)


def request(t: Intrusion, stage: str, who: k8s._Who, path: str, *, after: float = 0.0) -> None:
    """One anonymous GET: public endpoints answer, everything else is forbidden (a path
    that names no resource says so in the message)."""
    ref = k8s._object_ref(path, None)
    resource = ref is not None
    allowed = path.partition("?")[0] in PUBLIC
    verb = "list" if ref is not None and "name" not in ref else "get"
    row = t.emit(stage, who, verb, path, after=after, code=200 if allowed else 403)
    if not resource and not allowed:
        row["ResponseStatus"] = {
            "metadata": {},
            "status": "Failure",
            "message": f'forbidden: User "{ANONYMOUS}" cannot get path "{path.partition("?")[0]}"',
            "reason": "Forbidden",
            "details": {},
            "code": 403,
        }


@scenario(CAMPAIGN, "aks", ("fingerprint", "anonymous_probe"))
def aks_anonymous_scan(ctx: SimContext) -> Stages:
    """A fingerprint of the endpoint, then a pass over the paths a takeover needs (and
    now and then a second pass hours later)."""
    i = Instance(ctx, CAMPAIGN)
    t = Intrusion(ctx, CAMPAIGN, incident_start(ctx, "aks-anonymous", (0, 21)))
    first = i.attacker_ip("scanner_ip")
    second = first if i.chance(0.4) else i.attacker_ip("probe_ip")
    fingerprinter = anonymous(i.pick("fingerprint_agent", _FINGERPRINTERS), first)
    for path in i.sample("fingerprint_paths", PUBLIC, i.between(1, 3)):
        request(t, "fingerprint", fingerprinter, path, after=2)
    t.wait(20, 2 * 3600)  # the hit is queued for the follow-up scanner
    agents = i.sample("probe_agents", _PROBERS, i.between(1, 2))
    paths = list(i.sample("probe_paths", _PROBE_PATHS, i.between(4, 10)))
    if i.keep("version_first", i.chance(0.6)):  # the version first, to pick exploits
        paths.insert(0, "/version")
    for n, path in enumerate(paths):
        who = anonymous(agents[0] if n < len(paths) // 2 else agents[-1], second)
        request(t, "anonymous_probe", who, path, after=3)
    if i.keep("recheck", i.chance(0.4)):
        t.wait(3 * 3600, 9 * 3600)
        if t.now < ctx.end - dt.timedelta(minutes=5):
            for path in i.sample("recheck_paths", paths, min(3, len(paths))):
                request(t, "anonymous_probe", anonymous(agents[0], second), path, after=2)
    return t.stages


# -- look-alikes ---------------------------------------------------------------------------

_FAMILIES = ("platform_health_probes", "uptime_monitor", "engineer_version_checks")
#: Azure West Europe addresses of platform health checkers and availability-test agents.
AZURE_RANGES = ("20.50.", "20.61.", "13.69.", "40.74.", "51.105.", "52.236.")
_HEALTH_AGENTS = ("Go-http-client/1.1", "Go-http-client/2.0", "kube-probe/1.29")
_UPTIME_AGENT = "Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0; AppInsights)"
_ENGINEER_AGENTS = (
    "curl/8.5.0",
    "curl/7.81.0",
    "curl/8.4.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.0.0 Safari/537.36 Edg/122.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.3 Safari/605.1.15",
)
_ENGINEER_PATHS = ("/version", "/healthz", "/readyz?verbose", "/livez", "/", "/api", "/openapi/v2")


def _azure_address(f: Family) -> str:
    prefix = f.rng.choice(AZURE_RANGES)
    return f"{prefix}{f.rng.randrange(0, 256)}.{f.rng.randrange(1, 255)}"


def _platform_health_probes(f: Family) -> None:
    """The platform's health checks of the control plane endpoint."""
    checkers = [_azure_address(f) for _ in range(f.rng.randint(2, 4))]
    for moment in f.times(3, 8, office=False):
        f.at(moment)
        who = anonymous(
            f.rng.choice(_HEALTH_AGENTS), f.rng.choice(checkers), f.rng.choice(k8s._PROXY_HOPS)
        )
        for path in f.rng.sample(
            ("/healthz", "/livez", "/readyz", "/livez?verbose"), f.rng.randint(1, 2)
        ):
            request(f, f.name, who, path, after=0.5)


def _uptime_monitor(f: Family) -> None:
    """Contoso's availability test of the API endpoint, from several Azure locations."""
    locations = [_azure_address(f) for _ in range(f.rng.randint(2, 5))]
    path = f.rng.choice(("/healthz", "/readyz", "/version"))
    for moment in f.times(3, 8, office=False):
        f.at(moment)
        who = anonymous(_UPTIME_AGENT, f.rng.choice(locations), f.rng.choice(k8s._PROXY_HOPS))
        request(f, f.name, who, path)


def _engineer_version_checks(f: Family) -> None:
    """Engineers check the endpoint without credentials (curl, a browser) from the
    offices or the VPN; a path beyond the public ones is refused."""
    for moment in f.times(1, 3):
        f.at(moment)
        origin = (
            env.VPN_IP if f.rng.random() < 0.3 else f.rng.choice(tuple(env.OFFICE_IPS.values()))
        )
        who = anonymous(f.rng.choice(_ENGINEER_AGENTS), origin, f.rng.choice(k8s._PROXY_HOPS))
        for path in f.rng.sample(_ENGINEER_PATHS, f.rng.randint(1, 3)):
            request(f, f.name, who, path, after=20)


@lookalikes(CAMPAIGN, _FAMILIES)
def aks_anonymous_scan_lookalikes(ctx: SimContext) -> Stages:
    builders = {
        "platform_health_probes": _platform_health_probes,
        "uptime_monitor": _uptime_monitor,
        "engineer_version_checks": _engineer_version_checks,
    }
    out: Stages = {}
    for name in _FAMILIES:
        family = Family(ctx, CAMPAIGN, name)
        builders[name](family)
        out[name] = family.stages.get(name, {})
    return out
