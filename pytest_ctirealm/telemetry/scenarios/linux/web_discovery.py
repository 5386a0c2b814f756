"""Discovery through a web shell (T1518.001, T1082, T1033, T1087.001): the operator's
first commands, run by a web application's worker, ask which security agents protect the
server, what the system is, and who uses it, the last saved to a hidden temporary file.

Per instance: the foothold (gunicorn or node on a web host, java on the app host, so the
service account too), the order of the three steps, which commands each step runs and
how they are grouped in shells (ps piped into grep, ls of agent directories, systemctl
status or is-active, pgrep, find, dpkg -l, mdatp health; uname, /proc/version, lscpu,
hostnamectl, os-release, lsb_release, nproc, /proc/cpuinfo; w, who, users, last,
lastlog, /etc/passwd, getent), which products and units they name, the output file
(/tmp, /var/tmp or /dev/shm, a hidden name) and how it is written.

Look-alikes: administrators checking Defender's health, the Defender extension handler
of the Azure agent and a monitoring collector asking after the security agents, the
login banner (update-motd) and an inventory job fingerprinting the system, CI jobs
probing the platform, Ansible gathering facts and reading the account database, and
administrators reviewing accounts and sessions (saving the review to /tmp).
"""

from __future__ import annotations

import datetime as dt

from pytest_ctirealm.telemetry.campaign import Instance
from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.environment import LINUX_HOSTS
from pytest_ctirealm.telemetry.linux import Process
from pytest_ctirealm.telemetry.scenarios.base import Stages, Timeline, incident_start, scenario
from pytest_ctirealm.telemetry.scenarios.linux.common import (
    BASH,
    PYTHON,
    SH,
    LookalikeFamily,
    ci_step,
    register_lookalikes,
    root_session,
    webshell,
)

CAMPAIGN = "web_discovery"
#: The web workers an operator lands in, per host role.
_WORKERS = {"web": ("gunicorn", "node"), "app": ("java",)}

#: A command an operator types: the `sh -c` text, and the programs it starts.
Command = tuple[str, list[tuple[str, str]]]

# -- security tools ------------------------------------------------------------------------

_PROCESS_NAMES = (
    "mdatp",
    "wdavdaemon",
    "falcon",
    "sentinel",
    "osquery",
    "wazuh",
    "auditd",
    "ossec",
    "crowdstrike",
    "cbagent",
    "qualys",
    "elastic-agent",
)
_AGENT_DIRS = (
    "/opt/microsoft/mdatp",
    "/etc/opt/microsoft/mdatp",
    "/opt/CrowdStrike",
    "/opt/sentinelone",
    "/var/ossec",
    "/etc/osquery",
    "/opt/Elastic/Agent",
    "/etc/audit",
    "/opt/qualys",
)
_AGENT_UNITS = (
    "mdatp",
    "auditd",
    "falcon-sensor",
    "sentinelone",
    "osqueryd",
    "wazuh-agent",
    "elastic-agent",
    "qualys-cloud-agent",
)
_AGENT_PROCESSES = ("wdavdaemon", "falcon-sensor", "sentinelone-agent", "osqueryd", "auditd")


def _security_commands(instance: Instance) -> dict[str, Command]:
    names = "|".join(instance.sample("grep_names", _PROCESS_NAMES, instance.between(3, 6)))
    dirs = " ".join(instance.sample("agent_dirs", _AGENT_DIRS, instance.between(2, 4)))
    units = " ".join(instance.sample("agent_units", _AGENT_UNITS, instance.between(2, 4)))
    found = instance.sample("find_names", ("mdatp", "falcon", "sentinel", "osquery", "wazuh"), 3)
    find = " -o ".join(f"-iname *{name}*" for name in found)
    pgrep = instance.sample("pgrep_names", _AGENT_PROCESSES, 2)
    listing = instance.pick("ps_command", ("ps aux", "ps -ef", "ps auxww"))
    return {
        "ps_piped_grep": (
            f"{listing} | grep -iE '{names}' | grep -v grep",
            [
                ("/usr/bin/ps", listing),
                ("/usr/bin/grep", f"grep -iE {names}"),
                ("/usr/bin/grep", "grep -v grep"),
            ],
        ),
        "ls_agent_dirs": (f"ls -la {dirs}", [("/usr/bin/ls", f"ls -la {dirs}")]),
        "unit_status": (
            f"systemctl status {units} --no-pager",
            [("/usr/bin/systemctl", f"systemctl status {units} --no-pager")],
        ),
        "unit_is_active": (
            f"systemctl is-active {units}",
            [("/usr/bin/systemctl", f"systemctl is-active {units}")],
        ),
        "pgrep_agents": (
            "; ".join(f"pgrep -a {p}" for p in pgrep),
            [("/usr/bin/pgrep", f"pgrep -a {p}") for p in pgrep],
        ),
        "find_agent_dirs": (
            f"find / -maxdepth 4 -type d {find} 2>/dev/null",
            [("/usr/bin/find", f"find / -maxdepth 4 -type d {find}")],
        ),
        "dpkg_grep": (
            f"dpkg -l | grep -iE '{names}'",
            [("/usr/bin/dpkg", "dpkg -l"), ("/usr/bin/grep", f"grep -iE {names}")],
        ),
        "mdatp_health": (
            "mdatp health --field real_time_protection_enabled",
            [("/usr/bin/mdatp", "mdatp health --field real_time_protection_enabled")],
        ),
    }


# -- system information --------------------------------------------------------------------

_SYSTEM: dict[str, Command] = {
    "uname_all": ("uname -a", [("/usr/bin/uname", "uname -a")]),
    "uname_short": ("uname -mrs", [("/usr/bin/uname", "uname -mrs")]),
    "uname_release": ("uname -r", [("/usr/bin/uname", "uname -r")]),
    "read_proc_version": ("cat /proc/version", [("/usr/bin/cat", "cat /proc/version")]),
    "run_lscpu": ("lscpu", [("/usr/bin/lscpu", "lscpu")]),
    "run_hostnamectl": ("hostnamectl", [("/usr/bin/hostnamectl", "hostnamectl")]),
    "read_os_release": ("cat /etc/os-release", [("/usr/bin/cat", "cat /etc/os-release")]),
    "read_release_glob": (
        "cat /etc/*release",
        [("/usr/bin/cat", "cat /etc/lsb-release /etc/os-release")],
    ),
    "run_lsb_release": ("lsb_release -a", [("/usr/bin/lsb_release", "lsb_release -a")]),
    "run_nproc": ("nproc", [("/usr/bin/nproc", "nproc")]),
    "count_cpuinfo": (
        "grep -c processor /proc/cpuinfo",
        [("/usr/bin/grep", "grep -c processor /proc/cpuinfo")],
    ),
    "cpu_model_name": (
        "cat /proc/cpuinfo | grep 'model name' | head -1",
        [
            ("/usr/bin/cat", "cat /proc/cpuinfo"),
            ("/usr/bin/grep", "grep model name"),
            ("/usr/bin/head", "head -1"),
        ],
    ),
}

# -- users -------------------------------------------------------------------------------

_USERS: dict[str, tuple[str, str]] = {
    "w_plain": ("w", "/usr/bin/w"),
    "w_no_header": ("w -h", "/usr/bin/w"),
    "who_plain": ("who", "/usr/bin/who"),
    "who_all": ("who -a", "/usr/bin/who"),
    "users_plain": ("users", "/usr/bin/users"),
    "last_logins": ("last -n 30", "/usr/bin/last"),
    "lastlog_all": ("lastlog", "/usr/bin/lastlog"),
    "cat_passwd": ("cat /etc/passwd", "/usr/bin/cat"),
    "getent_passwd": ("getent passwd", "/usr/bin/getent"),
    "cut_passwd": ("cut -d: -f1 /etc/passwd", "/usr/bin/cut"),
    "grep_shells": ("grep -E (ba|z)?sh$ /etc/passwd", "/usr/bin/grep"),
}
_OUT_DIRS = ("/tmp/", "/var/tmp/", "/dev/shm/")
_OUT_NAMES = (".u", ".usr", ".ul", ".lst", ".sess", ".X0-lock.u", ".ICE-u", ".pw", ".cache-u", ".l")


def _group(instance: Instance, commands: list[str]) -> list[list[str]]:
    """Commands one per shell, or the first two in one shell (`a; b` or `a && b`)."""
    if len(commands) > 1 and instance.chance(0.5):
        return [commands[:2], *[[c] for c in commands[2:]]]
    return [[c] for c in commands]


def _run(t: Timeline, stage: str, worker: Process, command: Command) -> None:
    wrapper = webshell(t, stage, worker, command[0])
    for image, line in command[1]:
        t.run(stage, wrapper, image, line, after=(0.001, 0.3))


def _security_tools(t: Timeline, instance: Instance, worker: Process) -> None:
    commands = _security_commands(instance)
    chosen = instance.sample("security_commands", sorted(commands), instance.between(2, 3))
    for group in _group(instance, chosen):
        text = "; ".join(commands[k][0] for k in group)
        _run(t, "security_tools", worker, (text, [c for k in group for c in commands[k][1]]))


def _system_info(t: Timeline, instance: Instance, worker: Process) -> None:
    chosen = instance.sample("system_commands", sorted(_SYSTEM), instance.between(2, 4))
    joiner = instance.pick("system_joiner", ("; ", " && ", ";"))
    for group in _group(instance, chosen):
        text = joiner.join(_SYSTEM[k][0] for k in group)
        _run(t, "system_info", worker, (text, [c for k in group for c in _SYSTEM[k][1]]))


def _user_discovery(t: Timeline, instance: Instance, worker: Process) -> None:
    """Two or three listings saved to one hidden file, in one shell."""
    chosen = instance.sample("user_commands", sorted(_USERS), instance.between(2, 3))
    out = instance.name_like("user_file", _OUT_DIRS, _OUT_NAMES)
    lines = [_USERS[k][0] for k in chosen]
    shown = [line.replace("(ba|z)?sh$", "'(ba|z)?sh$'") for line in lines]
    form = instance.pick("user_form", ("append_each", "one_subshell", "and_chain"))
    if form == "append_each":
        text = f"{shown[0]} > {out}; " + "; ".join(f"{s} >> {out}" for s in shown[1:])
    elif form == "one_subshell":
        text = f"({'; '.join(shown)}) > {out} 2>&1"
    else:
        text = f"{shown[0]} > {out} && " + " && ".join(f"{s} >> {out}" for s in shown[1:])
    wrapper = webshell(t, "user_discovery", worker, text)
    size = 0
    for index, key in enumerate(chosen):
        line, image = _USERS[key]
        t.run("user_discovery", wrapper, image, line, after=(0.001, 0.3))
        size += instance.between(80, 1900)
        if form == "one_subshell" and index > 0:
            continue
        action = "FileCreated" if index == 0 else "FileModified"
        t.file("user_list_file", wrapper, action, out, size=size)


@scenario(CAMPAIGN, "linux", ("security_tools", "system_info", "user_discovery", "user_list_file"))
def web_discovery(ctx: SimContext) -> Stages:
    """A web-shell operator takes stock: which security agents run, what the system is,
    who uses it (saved to a hidden temporary file)."""
    instance = Instance(ctx, CAMPAIGN)
    host = instance.linux_host("host", tuple(_WORKERS))
    daemon = instance.pick("worker", _WORKERS[host.role])
    t = Timeline(ctx, CAMPAIGN, host, incident_start(ctx, "discovery", (0, 20)))
    worker = t.daemon(daemon)
    steps = {
        "step_security_tools": _security_tools,
        "step_system_info": _system_info,
        "step_user_list": _user_discovery,
    }
    for step in instance.sample("order", sorted(steps), len(steps)):
        steps[step](t, instance, worker)
    return t.stages


# -- look-alikes ---------------------------------------------------------------------------


_MDE_ADMIN = (
    ("mdatp health", "/usr/bin/mdatp", False),
    ("mdatp health --field real_time_protection_enabled", "/usr/bin/mdatp", False),
    ("mdatp health --field definitions_status", "/usr/bin/mdatp", False),
    ("mdatp connectivity test", "/usr/bin/mdatp", True),
    ("pgrep -a wdavdaemon", "/usr/bin/pgrep", False),
    ("systemctl is-active mdatp", "/usr/bin/systemctl", False),
    ("ls -la /var/log/microsoft/mdatp", "/usr/bin/ls", True),
    ("journalctl -u mdatp --since -2h --no-pager", "/usr/bin/journalctl", True),
    ("auditctl -s", "/usr/sbin/auditctl", True),
    ("systemctl status auditd --no-pager", "/usr/bin/systemctl", True),
)


def _mde_admin_checks(ctx: SimContext, family: LookalikeFamily) -> None:
    """Administrators checking Defender and auditd after an alert or an upgrade."""
    for t, login in family.user_sessions(family.moments(2, 3)):
        for command, image, as_root in t.rng.sample(_MDE_ADMIN, t.rng.randint(2, 4)):
            if as_root:
                sudo = t.run(
                    "mde_admin_checks", login, "/usr/bin/sudo", f"sudo {command}", after=(5, 90)
                )
                t.run("mde_admin_checks", sudo, image, command, "root")
            else:
                t.run("mde_admin_checks", login, image, command, after=(5, 90))


_MDE_EXTENSION = "/var/lib/waagent/Microsoft.Azure.AzureDefenderForServers.MDE.Linux-1.0.5.2"


def _mde_extension(ctx: SimContext, family: LookalikeFamily) -> None:
    """The Defender for Servers extension handler checks, every few hours, that the agent
    is installed, running and onboarded."""
    hosts = tuple(family.rng.sample(LINUX_HOSTS, family.rng.randint(2, 5)))
    every = dt.timedelta(hours=family.rng.choice((4, 6, 8)))
    probes = (
        ("/usr/bin/systemctl is-active mdatp", "/usr/bin/systemctl"),
        ("/usr/bin/pgrep -x wdavdaemon", "/usr/bin/pgrep"),
        ("/usr/bin/mdatp health --output json", "/usr/bin/mdatp"),
        ("/usr/bin/dpkg -s mdatp", "/usr/bin/dpkg"),
        ("/usr/bin/mdatp health --field org_id", "/usr/bin/mdatp"),
    )
    for host, moment in family.periodic(hosts, every):
        t = family.on(host, moment)
        handler = t.run(
            "mde_extension",
            t.daemon("exthandlers"),
            BASH,
            f"/bin/bash {_MDE_EXTENSION}/MdeExtensionHandler.sh enable",
            "root",
            after=(0, 0.5),
        )
        for command, image in t.rng.sample(probes, t.rng.randint(2, 4)):
            t.run("mde_extension", handler, image, command, after=(0.2, 3))


def _agent_metrics(ctx: SimContext, family: LookalikeFamily) -> None:
    """A Prometheus textfile collector, run by root's cron, reports whether the security
    agents are up."""
    hosts = tuple(family.rng.sample(LINUX_HOSTS, family.rng.randint(1, 2)))
    every = dt.timedelta(minutes=family.rng.choice((60, 120, 180)))
    script = "/usr/local/lib/node-exporter/security-agents.sh"
    for host, moment in family.periodic(hosts, every):
        t = family.on(host, moment)
        sh = t.run(
            "agent_metrics",
            t.daemon("cron"),
            SH,
            f"/bin/sh -c {script} > /var/lib/node-exporter/security_agents.prom.$$ && mv /var/lib/node-exporter/security_agents.prom.$$ /var/lib/node-exporter/security_agents.prom",
            "root",
            after=(0, 0.3),
        )
        collector = t.run("agent_metrics", sh, BASH, f"/bin/bash {script}", after=(0, 0.1))
        for unit in t.rng.sample(("mdatp", "auditd", "ssh", "cron"), 2):
            t.run(
                "agent_metrics",
                collector,
                "/usr/bin/systemctl",
                f"systemctl is-active --quiet {unit}",
                after=(0, 0.2),
            )
        t.run(
            "agent_metrics",
            collector,
            "/usr/bin/mdatp",
            "mdatp health --field real_time_protection_enabled",
            after=(0, 0.5),
        )


def _motd_sysinfo(ctx: SimContext, family: LookalikeFamily) -> None:
    """At each SSH login update-motd's header prints the kernel (uname -o, -r, -m)."""
    for host, moment in family.moments(2, 4):
        t = family.on(host, moment)
        user = t.rng.choice(host.admin_users)
        sshd = t.run(
            "motd_sysinfo", t.daemon("sshd"), "/usr/sbin/sshd", f"sshd: {user} [priv]", "root"
        )
        motd = t.run(
            "motd_sysinfo",
            sshd,
            SH,
            "/bin/sh -c /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin run-parts --lsbsysinit /etc/update-motd.d > /run/motd.dynamic.new",
            "root",
        )
        parts = t.run(
            "motd_sysinfo",
            motd,
            "/usr/bin/run-parts",
            "run-parts --lsbsysinit /etc/update-motd.d",
            after=(0.001, 0.05),
        )
        header = t.run("motd_sysinfo", parts, SH, "/bin/sh /etc/update-motd.d/00-header")
        for flag in ("-o", "-r", "-m"):
            t.run("motd_sysinfo", header, "/usr/bin/uname", f"uname {flag}", after=(0.001, 0.05))


def _inventory_job(ctx: SimContext, family: LookalikeFamily) -> None:
    """A nightly CMDB inventory job (root's cron) records the hardware and the OS."""
    hosts = tuple(family.rng.sample(LINUX_HOSTS, family.rng.randint(2, 6)))
    minute = family.rng.randrange(60)
    commands = (
        ("hostnamectl status", "/usr/bin/hostnamectl"),
        ("lscpu -J", "/usr/bin/lscpu"),
        ("uname -r", "/usr/bin/uname"),
        ("cat /etc/os-release", "/usr/bin/cat"),
        ("free -b", "/usr/bin/free"),
        ("lsblk -J -o NAME,SIZE,TYPE,MOUNTPOINT", "/usr/bin/lsblk"),
    )
    for host in hosts:
        for day in ctx.day_range():
            moment = ctx.day_start(day) + dt.timedelta(
                hours=family.rng.choice((2, 3, 5)), minutes=minute
            )
            t = family.on(host, moment)
            sh = t.run(
                "inventory_job",
                t.daemon("cron"),
                SH,
                "/bin/sh -c /usr/local/sbin/cmdb-inventory --quiet",
                "root",
                after=(0, 0.5),
            )
            job = t.run(
                "inventory_job", sh, BASH, "/bin/bash /usr/local/sbin/cmdb-inventory --quiet"
            )
            for command, image in t.rng.sample(commands, t.rng.randint(3, len(commands))):
                t.run("inventory_job", job, image, command, after=(0.05, 1))
            t.file("inventory_job", job, "FileModified", "/var/lib/cmdb/inventory.json")


def _ci_platform_probes(ctx: SimContext, family: LookalikeFamily) -> None:
    """CI jobs on the runner pick download URLs and parallelism from the platform."""
    probes = (
        ("uname -m", "/usr/bin/uname"),
        ("uname -s", "/usr/bin/uname"),
        ("dpkg --print-architecture", "/usr/bin/dpkg"),
        ("lsb_release -cs", "/usr/bin/lsb_release"),
        ("nproc", "/usr/bin/nproc"),
        ("cat /etc/os-release", "/usr/bin/cat"),
    )
    for host, moment in family.moments(2, 4, roles=("build",)):
        t = family.on(host, moment)
        step = ci_step(t, "ci_platform_probes")
        for command, image in t.rng.sample(probes, t.rng.randint(2, 4)):
            t.run("ci_platform_probes", step, image, command, after=(0.05, 2))


def _ansible_facts(ctx: SimContext, family: LookalikeFamily) -> None:
    """Ansible's fact gathering (setup) and its getent module, as root through sudo."""
    for t, root in family.root_sessions(family.moments(2, 3), user="azureuser"):
        tmp = f"/root/.ansible/tmp/ansible-tmp-{t.rng.randrange(10**9, 10**10)}.{t.rng.randrange(10**6)}"
        setup = t.run("ansible_facts", root, PYTHON, f"/usr/bin/python3 {tmp}/AnsiballZ_setup.py")
        t.run("ansible_facts", setup, "/usr/bin/lsb_release", "/usr/bin/lsb_release -a")
        t.run("ansible_facts", setup, "/usr/sbin/dmidecode", "/usr/sbin/dmidecode -s system-uuid")
        t.run(
            "ansible_facts",
            setup,
            "/usr/bin/findmnt",
            "/usr/bin/findmnt --list --noheadings --notruncate",
        )
        if t.rng.random() < 0.7:
            getent = t.run(
                "ansible_facts",
                root,
                PYTHON,
                f"/usr/bin/python3 {tmp}/AnsiballZ_getent.py",
                after=(2, 10),
            )
            t.run(
                "ansible_facts",
                getent,
                "/usr/bin/getent",
                f"/usr/bin/getent {t.rng.choice(('passwd', 'group', 'passwd'))}",
            )


def _access_review(ctx: SimContext, family: LookalikeFamily) -> None:
    """The quarterly access review: an administrator lists accounts and last logins
    with sudo and saves the list to /tmp to copy it off."""
    for host, moment in family.moments(1, 3):
        t = family.on(host, moment)
        user = t.rng.choice(host.admin_users)
        root = root_session(t, user, stage="access_review")
        out = f"/tmp/access-review-{host.name}-{moment:%Y%m%d}.txt"
        commands = (
            ("getent passwd", "/usr/bin/getent"),
            ("lastlog -b 0 -t 90", "/usr/bin/lastlog"),
            ("awk -F: $3 >= 1000 {print $1} /etc/passwd", "/usr/bin/awk"),
            ("last -F -n 50", "/usr/bin/last"),
        )
        chosen = t.rng.sample(commands, 2)
        wrapper = t.run(
            "access_review",
            root,
            BASH,
            f"bash -c {chosen[0][0]} > {out}; {chosen[1][0]} >> {out}",
            after=(10, 120),
        )
        for index, (command, image) in enumerate(chosen):
            t.run("access_review", wrapper, image, command, after=(0.001, 0.3))
            action = "FileCreated" if index == 0 else "FileModified"
            t.file("access_review", wrapper, action, out)
        t.run("access_review", root, "/usr/bin/chown", f"chown {user} {out}", after=(2, 20))


def _session_checks(ctx: SimContext, family: LookalikeFamily) -> None:
    """Before a restart, administrators check who is logged in and warn them."""
    commands = (
        ("who", "/usr/bin/who"),
        ("w -s", "/usr/bin/w"),
        ("users", "/usr/bin/users"),
        ("who -u", "/usr/bin/who"),
        ("last -n 10 reboot", "/usr/bin/last"),
    )
    for t, login in family.user_sessions(family.moments(2, 3)):
        for command, image in t.rng.sample(commands, t.rng.randint(2, 3)):
            t.run("session_checks", login, image, command, after=(3, 40))
        t.run(
            "session_checks",
            login,
            "/usr/bin/wall",
            "wall Maintenance: this server restarts in 10 minutes",
            after=(5, 60),
        )


_FAMILIES = {
    "mde_admin_checks": _mde_admin_checks,
    "mde_extension": _mde_extension,
    "agent_metrics": _agent_metrics,
    "motd_sysinfo": _motd_sysinfo,
    "inventory_job": _inventory_job,
    "ci_platform_probes": _ci_platform_probes,
    "ansible_facts": _ansible_facts,
    "access_review": _access_review,
    "session_checks": _session_checks,
}

register_lookalikes(CAMPAIGN, _FAMILIES)
