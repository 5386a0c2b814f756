"""The auto_color_preload campaign (moved unchanged from the old single module; to be converted)."""

from __future__ import annotations

from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.environment import linux_host
from pytest_ctirealm.telemetry.scenarios.base import Stages, Timeline, incident_start, scenario
from pytest_ctirealm.telemetry.scenarios.linux.common import root_session


@scenario(
    "auto_color_preload", "linux", ("access", "implant_exec", "preload_library", "preload_written")
)
def auto_color_preload(ctx: SimContext) -> Stages:
    """Auto-Color-style: an implant copied under /var/log makes itself load into every
    process through /etc/ld.so.preload."""
    t = Timeline(ctx, "auto_color", linux_host("vm-jump01"), incident_start(ctx, "autocolor"))
    root = root_session(t, "raj.patel")
    dropper = t.run(
        "implant_exec", root, "/tmp/door-app", "./door-app", cwd="/tmp", after=(20, 120)
    )
    t.file("implant_exec", dropper, "FileCreated", "/var/log/cross/auto-color", size=220_136)
    implant = t.run(
        "implant_exec",
        dropper,
        "/var/log/cross/auto-color",
        "/var/log/cross/auto-color",
        after=(1, 3),
    )
    library = "/usr/lib/x86_64-linux-gnu/libcext.so.2"
    t.file("preload_library", implant, "FileCreated", library, size=61_440)
    t.file("preload_written", implant, "FileCreated", "/etc/ld.so.preload", size=39)
    return t.stages
