"""The log_wiper campaign (moved unchanged from the old single module; to be converted)."""

from __future__ import annotations

from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.environment import linux_host
from pytest_ctirealm.telemetry.scenarios.base import Stages, Timeline, incident_start, scenario
from pytest_ctirealm.telemetry.scenarios.linux.common import BASH, root_session


@scenario("log_wiper", "linux", ("access", "dd_wipe", "history_wipe"))
def log_wiper(ctx: SimContext) -> Stages:
    """A wiper script on the database server overwrites logs with dd and destroys shell
    history, as AcidRain- and AwfulShred-style tools do."""
    t = Timeline(ctx, "log_wiper", linux_host("vm-db01"), incident_start(ctx, "wiper", (1, 5)))
    root = root_session(t)
    script = t.run("access", root, BASH, "bash /var/tmp/.cl.sh", after=(30, 90), cwd="/var/tmp")
    for log, source in (
        ("/var/log/auth.log", "/dev/zero"),
        ("/var/log/syslog", "/dev/urandom"),
        ("/var/log/wtmp", "/dev/zero"),
        ("/var/log/postgresql/postgresql-14-main.log", "/dev/urandom"),
    ):
        t.run(
            "dd_wipe",
            script,
            "/usr/bin/dd",
            f"dd if={source} of={log} bs=1M count=64",
            after=(0.2, 2),
        )
    for command, binary in (
        ("rm -f /root/.bash_history", "/usr/bin/rm"),
        ("ln -sf /dev/null /root/.bash_history", "/usr/bin/ln"),
        ("shred -u -z /home/azureuser/.bash_history", "/usr/bin/shred"),
    ):
        t.run("history_wipe", script, binary, command, after=(0.2, 2))
    return t.stages
