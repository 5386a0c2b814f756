"""The credential_hunting campaign (moved unchanged from the old single module; to be converted)."""

from __future__ import annotations

from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.environment import linux_host
from pytest_ctirealm.telemetry.scenarios.base import Stages, Timeline, incident_start, scenario
from pytest_ctirealm.telemetry.scenarios.linux.common import root_session


@scenario("credential_hunting", "linux", ("access", "history_read", "key_hunt"))
def credential_hunting(ctx: SimContext) -> Stages:
    """With a stolen admin login on the jump host, read other people's shell histories
    for secrets and hunt for private keys."""
    t = Timeline(ctx, "credential_hunting", linux_host("vm-jump01"), incident_start(ctx, "creds"))
    root = root_session(t)
    for command, binary in (
        ("cat /home/alice.smith/.bash_history", "/usr/bin/cat"),
        ("grep -iE pass|token|secret|key /home/raj.patel/.bash_history", "/usr/bin/grep"),
        ("cat /root/.mysql_history", "/usr/bin/cat"),
    ):
        t.run("history_read", root, binary, command, after=(5, 40))
    for command, binary in (
        ("find / -name id_rsa -o -name id_ed25519 -o -name *.ppk 2>/dev/null", "/usr/bin/find"),
        ("grep -rl BEGIN OPENSSH PRIVATE KEY /home /root /opt", "/usr/bin/grep"),
        ("cat /home/raj.patel/.ssh/id_ed25519", "/usr/bin/cat"),
    ):
        t.run("key_hunt", root, binary, command, after=(5, 40))
    return t.stages
