"""The defense_evasion campaign (moved unchanged from the old single module; to be converted)."""

from __future__ import annotations

from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.environment import linux_host
from pytest_ctirealm.telemetry.scenarios.base import Stages, Timeline, incident_start, scenario
from pytest_ctirealm.telemetry.scenarios.linux.common import root_session


@scenario("defense_evasion", "linux", ("access", "disable_tools"))
def defense_evasion(ctx: SimContext) -> Stages:
    """Before running a miner, the intruder stops Defender, auditd and the firewall."""
    t = Timeline(ctx, "defense_evasion", linux_host("vm-web02"), incident_start(ctx, "evasion"))
    root = root_session(t)
    for command, binary in (
        ("mdatp config real-time-protection --value disabled", "/usr/bin/mdatp"),
        ("systemctl stop mdatp", "/usr/bin/systemctl"),
        ("systemctl disable mdatp", "/usr/bin/systemctl"),
        ("systemctl stop auditd", "/usr/bin/systemctl"),
        ("ufw disable", "/usr/sbin/ufw"),
    ):
        t.run("disable_tools", root, binary, command, after=(2, 20))
    return t.stages
