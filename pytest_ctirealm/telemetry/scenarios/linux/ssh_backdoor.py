"""The ssh_backdoor campaign (moved unchanged from the old single module; to be converted)."""

from __future__ import annotations

from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.environment import linux_host
from pytest_ctirealm.telemetry.scenarios.base import Stages, Timeline, incident_start, scenario
from pytest_ctirealm.telemetry.scenarios.linux.common import SH, root_session


@scenario(
    "ssh_backdoor",
    "linux",
    ("access", "ssh_key", "ssh_key_file", "sudo_user", "set_password", "sudoers_file"),
)
def ssh_backdoor(ctx: SimContext) -> Stages:
    """Outlaw-style persistence: a key appended to root's authorized_keys and made
    immutable, then a spare admin account with password-less sudo."""
    t = Timeline(ctx, "ssh_backdoor", linux_host("vm-jump01"), incident_start(ctx, "sshkey"))
    root = root_session(t, "alice.smith")
    key = (
        "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC3p8Vb1xq0mZ9tKfJ2yLwQ7sD4nH6cR1eU0aG5vT8oXj mdrfckr"
    )
    writer = t.run(
        "ssh_key",
        root,
        SH,
        f"sh -c mkdir -p /root/.ssh && echo '{key}' >> /root/.ssh/authorized_keys",
        after=(20, 60),
    )
    t.file("ssh_key_file", writer, "FileModified", "/root/.ssh/authorized_keys", size=1_204)
    t.run("ssh_key", root, "/usr/bin/chattr", "chattr +i /root/.ssh/authorized_keys")
    t.run(
        "sudo_user",
        root,
        "/usr/sbin/useradd",
        "useradd -m -s /bin/bash -G sudo backup2",
        after=(30, 120),
    )
    t.run("set_password", root, "/usr/sbin/chpasswd", "chpasswd", after=(2, 6))
    sudoers = t.run(
        "sudo_user",
        root,
        SH,
        "sh -c echo 'backup2 ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/backup2",
        after=(3, 10),
    )
    t.file("sudoers_file", sudoers, "FileCreated", "/etc/sudoers.d/backup2", size=32)
    return t.stages
