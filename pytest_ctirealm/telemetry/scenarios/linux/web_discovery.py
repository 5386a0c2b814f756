"""The web_discovery campaign (moved unchanged from the old single module; to be converted)."""

from __future__ import annotations

from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.environment import linux_host
from pytest_ctirealm.telemetry.linux import Process
from pytest_ctirealm.telemetry.scenarios.base import Stages, Timeline, incident_start, scenario
from pytest_ctirealm.telemetry.scenarios.linux.common import webshell


@scenario(
    "web_discovery", "linux", ("security_tools", "system_info", "user_discovery", "user_list_file")
)
def web_discovery(ctx: SimContext) -> Stages:
    """A web-shell operator takes stock: which security agents run, what the system is,
    who is logged in (saved to /tmp for later)."""
    t = Timeline(ctx, "web_discovery", linux_host("vm-web01"), incident_start(ctx, "discovery"))
    worker = t.daemon("gunicorn")

    def shell(stage: str, command: str, binary: str) -> Process:
        wrapper = webshell(t, stage, worker, command)
        return t.run(stage, wrapper, binary, command)

    shell(
        "security_tools",
        "find / -maxdepth 4 -type d -iname *mdatp* -o -iname *falcon* -o -iname *sentinelone*",
        "/usr/bin/find",
    )
    shell("security_tools", "ls -la /opt/microsoft/mdatp /etc/opt/microsoft/mdatp", "/usr/bin/ls")
    shell(
        "security_tools",
        "systemctl status mdatp auditd falcon-sensor --no-pager",
        "/usr/bin/systemctl",
    )
    shell("system_info", "cat /proc/version", "/usr/bin/cat")
    shell("system_info", "uname -a", "/usr/bin/uname")
    shell("system_info", "lscpu", "/usr/bin/lscpu")
    wrapper = webshell(t, "user_discovery", worker, "w -h > /tmp/.u; cat /etc/passwd >> /tmp/.u")
    t.run("user_discovery", wrapper, "/usr/bin/w", "w -h")
    t.file("user_list_file", wrapper, "FileCreated", "/tmp/.u", size=233)
    t.run("user_discovery", wrapper, "/usr/bin/cat", "cat /etc/passwd")
    return t.stages
