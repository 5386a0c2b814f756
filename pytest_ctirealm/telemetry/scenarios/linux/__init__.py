"""Linux campaigns as Defender for Endpoint records them (DeviceProcessEvents and
DeviceFileEvents): one module per campaign, holding the attack and its benign
look-alikes. Importing this package registers them all."""

from pytest_ctirealm.telemetry.scenarios.linux import (
    apt_hook,
    auto_color,
    container_escape,
    credential_hunting,
    cron_abuse,
    defense_evasion,
    kinsing,
    log_wiper,
    ssh_backdoor,
    systemd_unit,
    teamtnt,
    web_discovery,
    web_reverse_shell,
)

__all__ = [
    "apt_hook",
    "auto_color",
    "container_escape",
    "credential_hunting",
    "cron_abuse",
    "defense_evasion",
    "kinsing",
    "log_wiper",
    "ssh_backdoor",
    "systemd_unit",
    "teamtnt",
    "web_discovery",
    "web_reverse_shell",
]
