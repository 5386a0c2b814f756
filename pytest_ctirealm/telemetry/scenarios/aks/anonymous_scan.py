"""An internet scanner probing the API server anonymously."""

from __future__ import annotations

from pytest_ctirealm.telemetry.benign import aks as k8s
from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.scenarios.aks.common import (
    Intrusion,
)
from pytest_ctirealm.telemetry.scenarios.base import Stages, incident_start, scenario

#: The scanner that probes the API server without credentials.
SCANNER_IP = "192.0.2.15"
SCANNER_AGENTS = ("Mozilla/5.0 zgrab/0.x", "python-requests/2.31.0")


# --------------------------------------------------------------------------- anonymous scan


@scenario("aks_anonymous_scan", "aks", ("anonymous_probe",))
def aks_anonymous_scan(ctx: SimContext) -> Stages:
    """An internet scanner finds the public API server endpoint and tries it without
    credentials: the version answers, everything else is forbidden."""
    t = Intrusion(ctx, "aks_anonymous_scan", incident_start(ctx, "aks-anonymous"))
    public = k8s._rbac(
        "system:public-info-viewer", "system:public-info-viewer", "Group", "system:unauthenticated"
    )
    for agent, path in (
        (SCANNER_AGENTS[0], "/version"),
        (SCANNER_AGENTS[0], "/healthz"),
        (SCANNER_AGENTS[1], "/api"),
        (SCANNER_AGENTS[1], "/api/v1/namespaces"),
        (SCANNER_AGENTS[1], "/api/v1/pods"),
        (SCANNER_AGENTS[1], "/api/v1/namespaces/kube-system/secrets"),
        (SCANNER_AGENTS[1], "/apis/apps/v1/deployments"),
        (SCANNER_AGENTS[1], "/api/v1/nodes"),
    ):
        who = k8s._Who(
            "system:anonymous",
            ("system:unauthenticated",),
            agent,
            (SCANNER_IP, k8s._PROXY_HOPS[1]),
            public,
        )
        resource = k8s._object_ref(path, None) is not None
        allowed = path in ("/version", "/healthz")
        verb = "list" if resource else "get"
        row = t.emit("anonymous_probe", who, verb, path, after=3, code=200 if allowed else 403)
        if not resource and not allowed:  # a path, not a resource: the message says so
            row["ResponseStatus"] = {
                "metadata": {},
                "status": "Failure",
                "message": f'forbidden: User "system:anonymous" cannot get path "{path}"',
                "reason": "Forbidden",
                "details": {},
                "code": 403,
            }
    return t.stages
