"""The cron_abuse campaign (moved unchanged from the old single module; to be converted)."""

from __future__ import annotations

from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.environment import linux_host
from pytest_ctirealm.telemetry.scenarios.base import Stages, Timeline, incident_start, scenario
from pytest_ctirealm.telemetry.scenarios.linux.common import BASH, root_session, webshell


@scenario(
    "cron_abuse",
    "linux",
    ("cron_recon", "cron_stage", "cron_load", "access", "crond_writer", "crond_drop"),
)
def cron_abuse(ctx: SimContext) -> Stages:
    """A web-shell operator looks at the scheduled jobs, installs its own from /tmp, and
    once root, drops a file into /etc/cron.d."""
    t = Timeline(ctx, "cron_abuse", linux_host("vm-web02"), incident_start(ctx, "cron"))
    node = t.daemon("node")
    for command in (
        "crontab -l",
        "cat /etc/crontab",
        "ls -la /etc/cron.d /var/spool/cron/crontabs",
    ):
        wrapper = webshell(t, "cron_recon", node, command)
        binary = {"crontab": "/usr/bin/crontab", "cat": "/usr/bin/cat", "ls": "/usr/bin/ls"}
        t.run("cron_recon", wrapper, binary[command.split()[0]], command)
    job = "/tmp/.x/c.txt"
    stage = webshell(
        t, "cron_stage", node, f"mkdir -p /tmp/.x && echo '*/10 * * * * /tmp/.x/run.sh' > {job}"
    )
    t.file("cron_stage", stage, "FileCreated", job, size=29)
    loader = webshell(t, "cron_load", node, f"crontab {job}")
    t.run("cron_load", loader, "/usr/bin/crontab", f"crontab {job}")
    root = root_session(t)
    drop = "/etc/cron.d/.sysupdate"
    writer = t.run(
        "crond_writer",
        root,
        BASH,
        f"bash -c echo '*/5 * * * * root /usr/local/lib/.sysupdate' > {drop}",
        after=(300, 900),
    )
    t.file("crond_drop", writer, "FileCreated", drop, size=46)
    return t.stages
