"""What the AKS campaigns share: an intrusion's clock and stage files over the benign
generator's own audit-event builder (`benign.aks._Day`), so attack and background share
every shape, and the callers from outside the cluster.

Writes go into both tables (AKSAudit and AKSAuditAdmin) under one AuditId, reads into
AKSAudit only; a write is one event for scoring, whichever table reports it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pytest_ctirealm.telemetry.benign import aks as k8s
from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.scenarios.base import Stages, daily_times

AUDIT, ADMIN = "AKSAudit", "AKSAuditAdmin"
WRITES = ("create", "update", "patch", "delete", "deletecollection")
CSR_URI = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
RBAC = "/apis/rbac.authorization.k8s.io/v1"
KUBECTL_CREATE = "fieldManager=kubectl-create&fieldValidation=Strict"
CI_APPLY = "fieldManager=kubectl-client-side-apply&fieldValidation=Strict"
FRONTEND, BACKEND = k8s._APPS


class Intrusion:
    """One attack's clock, random stream and stages, over the background's event builder."""

    def __init__(self, ctx: SimContext, name: str, start: dt.datetime) -> None:
        self.ctx = ctx
        self.rng = ctx.rng("scenario", name)
        self.now = start
        self.stages: Stages = {}
        self._days: dict[int, k8s._Day] = {}

    def day(self) -> k8s._Day:
        """The background's day at the current time, drawing ids from this attack's stream."""
        index = (self.now - self.ctx.start).days
        if index not in self._days:
            day = k8s._Day(self.ctx, index)
            day.rng = self.rng  # own AuditIds: never the background's
            self._days[index] = day
        return self._days[index]

    def wait(self, low: float, high: float) -> dt.datetime:
        self.now += dt.timedelta(seconds=self.rng.uniform(low, high))
        return self.now

    def emit(
        self, into: str, who: k8s._Who, verb: str, uri: str, *, after: float = 0.0, **kw: Any
    ) -> dict[str, Any]:
        """One audit event in stage *into*, *after* up to that many seconds; returns its row."""
        if after:
            self.wait(after / 4, after)
        self.day().emit(who, verb, uri, self.now, **kw)
        return self.file(into)[-1]

    def file(self, stage: str) -> list[dict[str, Any]]:
        """Move what the builder holds into *stage*: reads to AKSAudit, writes to both."""
        tables = self.stages.setdefault(stage, {})
        audit = tables.setdefault(AUDIT, [])
        day = self.day()
        rows = sorted(day.reads + day.writes + day.heartbeats, key=k8s._order)
        for row in rows:
            audit.append(row)
            if row["Verb"] in WRITES:
                tables.setdefault(ADMIN, []).append(dict(row))
        day.reads.clear()
        day.writes.clear()
        day.heartbeats.clear()
        return rows

    def pod_start(self, stage: str, pod: dict[str, Any], node: int) -> None:
        """A pod pinned to *node* starts: its kubelet gets a token, reports ready, logs events."""
        name, namespace = pod["metadata"]["name"], pod["metadata"]["namespace"]
        account = pod["spec"].get("serviceAccountName", "default")
        self.wait(0.5, 3)
        self.day().token_request(node, namespace, account, name, self.now)
        self.wait(2, 8)
        self.day().pod_status(node, namespace, name, self.now, ready=True)
        involved = {"kind": "Pod", "apiVersion": "v1", "namespace": namespace, "name": name}
        container = pod["spec"]["containers"][0]
        for reason, message in (
            ("Pulled", f'Successfully pulled image "{container["image"]}"'),
            ("Created", f"Created container {container['name']}"),
            ("Started", f"Started container {container['name']}"),
        ):
            self.wait(0.05, 1.5)
            event = k8s._event(involved, reason, message, "kubelet", self.now, core=True)
            self.day().emit(
                k8s._CALLERS["kubelet"][node],
                "create",
                f"/api/v1/namespaces/{namespace}/events",
                self.now,
                request=event,
                response=k8s._stored(event, self.now, created=True),
                code=201,
                name=event["metadata"]["name"],
            )
        self.file(stage)


def external(
    who: str, groups: tuple[str, ...], agent: str, ip: str, reason: str, oid: str = ""
) -> k8s._Who:
    """A caller from outside the cluster: public address first, then AKS's proxy hop."""
    return k8s._Who(who, groups, agent, (ip, k8s._PROXY_HOPS[0]), reason, oid=oid)


def created(obj: dict[str, Any], when: dt.datetime) -> dict[str, Any]:
    """What the API server stores for a new object *obj*."""
    return k8s._stored(obj, when, created=True)


class Family(Intrusion):
    """One benign look-alike family of *campaign*: its rows are filed under the family's
    name (`file(self.name)`), and its clock jumps to each moment it acts at (`at`)."""

    def __init__(self, ctx: SimContext, campaign: str, name: str) -> None:
        super().__init__(ctx, f"lookalike/{campaign}/{name}", ctx.start)
        self.name = name

    def at(self, moment: dt.datetime) -> dt.datetime:
        self.now = moment
        return moment

    def times(self, low: int, high: int, *, office: bool = True) -> list[dt.datetime]:
        """Between *low* and *high* moments on each day of the window (see `daily_times`)."""
        return daily_times(self.ctx, self.rng, low, high, office=office)
