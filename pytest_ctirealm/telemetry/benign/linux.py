"""Benign Linux activity on Contoso's six VMs, as Defender for Endpoint records it.

Machines dominate (cron, sysstat, the Azure agent, Defender's own probes, package
updates); people add SSH sessions in office hours; the web apps and the CI runner add
bursts. Every Linux attack in the benchmark has innocent look-alikes here — an admin's
`crontab -l`, the CI runner's `curl | bash` installer into /tmp, a privileged binfmt
container, ssh-copy-id appending to authorized_keys, dpkg writing apt and cron config —
so a detection keyed on a binary name alone pays in precision.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

from pytest_ctirealm.telemetry.context import SimContext, guid
from pytest_ctirealm.telemetry.environment import LINUX_HOSTS, LinuxHost
from pytest_ctirealm.telemetry.linux import HostState, Process, Row, boot_time

SH = "/usr/bin/dash"
BASH = "/usr/bin/bash"
MINUTE = dt.timedelta(minutes=1)

#: What an administrator types in an SSH session: (command line, image, needs root).
#: Several are deliberate near-misses of the attacks (recon, history, keys, services).
ADMIN_COMMANDS: tuple[tuple[str, str, bool], ...] = (
    ("df -h", "/usr/bin/df", False),
    ("free -m", "/usr/bin/free", False),
    ("ps aux", "/usr/bin/ps", False),
    ("uptime", "/usr/bin/uptime", False),
    ("w", "/usr/bin/w", False),
    ("who", "/usr/bin/who", False),
    ("ss -tlnp", "/usr/bin/ss", True),
    ("ip a", "/usr/sbin/ip", False),
    ("cat /etc/os-release", "/usr/bin/cat", False),
    ("uname -r", "/usr/bin/uname", False),
    ("crontab -l", "/usr/bin/crontab", False),
    ("tail -n 200 /var/log/syslog", "/usr/bin/tail", True),
    ("grep -i error /var/log/syslog", "/usr/bin/grep", True),
    ("journalctl -u nginx --since -1h --no-pager", "/usr/bin/journalctl", True),
    ("systemctl status nginx --no-pager", "/usr/bin/systemctl", True),
    ("systemctl status mdatp --no-pager", "/usr/bin/systemctl", True),
    ("mdatp health --field healthy", "/usr/bin/mdatp", False),
    ("docker ps", "/usr/bin/docker", True),
    ("less /var/log/auth.log", "/usr/bin/less", True),
    ("find /etc/ssl -name *.pem -mtime -30", "/usr/bin/find", True),
    ("ufw status verbose", "/usr/sbin/ufw", True),
    ("last -n 20", "/usr/bin/last", False),
    ("git -C /opt/app pull", "/usr/bin/git", False),
    ("vim /etc/nginx/sites-available/portal", "/usr/bin/vim.basic", True),
)

#: Look-alikes of each attack that must occur at least once a day somewhere, with the
#: host role that does them: (role, command line, image, as root).
DAILY_NEAR_MISSES: tuple[tuple[str, str, str, bool], ...] = (
    (
        "jump",
        "sed -i s/^HISTSIZE=.*/HISTSIZE=10000/ /home/alice.smith/.bashrc",
        "/usr/bin/sed",
        False,
    ),
    ("jump", "grep docker /home/azureuser/.bash_history", "/usr/bin/grep", False),
    ("jump", "cat /etc/crontab", "/usr/bin/cat", False),
    (
        "app",
        "ln -sf /etc/nginx/sites-available/portal /etc/nginx/sites-enabled/portal",
        "/usr/bin/ln",
        True,
    ),
    ("app", "truncate -s 0 /var/log/app/debug.log", "/usr/bin/truncate", True),
    ("app", "systemctl restart mdatp", "/usr/bin/systemctl", True),
    ("app", "systemctl stop app-worker", "/usr/bin/systemctl", True),
    ("jump", "find / -xdev -name *.log -size +500M", "/usr/bin/find", True),
    ("jump", "usermod -aG docker azureuser", "/usr/sbin/usermod", True),
    ("app", "crontab /home/azureuser/crontab.bak", "/usr/bin/crontab", False),
    ("jump", "lscpu", "/usr/bin/lscpu", False),
    ("db", "dd if=/dev/zero of=/swapfile bs=1M count=2048", "/usr/bin/dd", True),
    (
        "jump",
        "openssl x509 -in /etc/ssl/certs/contoso-root.pem -noout -enddate",
        "/usr/bin/openssl",
        False,
    ),
)


class _Emitter:
    """Collects the rows of one host-day."""

    def __init__(self, state: HostState, tables: dict[str, list[Row]]) -> None:
        self.state = state
        self.processes = tables["DeviceProcessEvents"]
        self.files = tables["DeviceFileEvents"]

    def proc(
        self,
        moment: dt.datetime,
        parent: Process,
        path: str,
        command: str,
        account: str | None = None,
        cwd: str | None = None,
    ) -> Process:
        process, row = self.state.spawn(moment, parent, path, command, account, cwd=cwd)
        self.processes.append(row)
        return process

    def file(self, moment: dt.datetime, actor: Process, action: str, path: str, **kw: Any) -> None:
        self.files.append(self.state.file_event(moment, actor, action, path, **kw))


def _later(
    moment: dt.datetime, rng: random.Random, low: float = 0.02, high: float = 1.5
) -> dt.datetime:
    return moment + dt.timedelta(seconds=rng.uniform(low, high))


def _day_slots(
    ctx: SimContext, day: int, every: dt.timedelta, offset: dt.timedelta
) -> list[dt.datetime]:
    start = ctx.day_start(day)
    slots, moment = [], start + offset
    while moment < start + dt.timedelta(days=1):
        slots.append(moment)
        moment += every
    return slots


def _cron(ctx: SimContext, e: _Emitter, rng: random.Random, day: int) -> None:
    """Hourly run-parts at :17, sysstat every 10 minutes, cron.daily at 06:25."""
    cron = e.state.daemons["cron"]
    for slot in _day_slots(ctx, day, dt.timedelta(hours=1), 17 * MINUTE):
        t = _later(slot, rng, 0, 0.4)
        sh = e.proc(
            t, cron, SH, "/bin/sh -c    cd / && run-parts --report /etc/cron.hourly", "root"
        )
        e.proc(_later(t, rng), sh, "/usr/bin/run-parts", "run-parts --report /etc/cron.hourly")
    for slot in _day_slots(ctx, day, 10 * MINUTE, dt.timedelta(0)):
        t = _later(slot, rng, 0, 0.5)
        sh = e.proc(
            t, cron, SH, "/bin/sh -c command -v debian-sa1 > /dev/null && debian-sa1 1 1", "root"
        )
        sa1 = e.proc(
            _later(t, rng),
            sh,
            "/usr/lib/sysstat/debian-sa1",
            "/bin/sh /usr/lib/sysstat/debian-sa1 1 1",
        )
        sa = e.proc(_later(t, rng), sa1, "/usr/lib/sysstat/sa1", "/bin/sh /usr/lib/sysstat/sa1 1 1")
        e.proc(
            _later(t, rng),
            sa,
            "/usr/lib/sysstat/sadc",
            "/usr/lib/sysstat/sadc -F -L -S DISK 1 1 /var/log/sysstat",
        )
    t = ctx.day_start(day) + dt.timedelta(hours=6, minutes=25, seconds=rng.uniform(0, 2))
    sh = e.proc(
        t,
        cron,
        SH,
        "/bin/sh -c test -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily )",
        "root",
    )
    parts = e.proc(_later(t, rng), sh, "/usr/bin/run-parts", "run-parts --report /etc/cron.daily")
    for script in ("apt-compat", "dpkg", "logrotate", "man-db"):
        job = e.proc(_later(t, rng, 1, 20), parts, SH, f"/bin/sh /etc/cron.daily/{script}")
        if script == "logrotate":
            rotate = e.proc(
                _later(t, rng, 1, 3),
                job,
                "/usr/sbin/logrotate",
                "/usr/sbin/logrotate /etc/logrotate.conf",
            )
            for log in ("syslog", "auth.log", "kern.log"):
                stamp = _later(t, rng, 3, 30)
                e.file(
                    stamp, rotate, "FileRenamed", f"/var/log/{log}.1", previous=f"/var/log/{log}"
                )
                e.file(_later(stamp, rng), rotate, "FileCreated", f"/var/log/{log}")
                e.file(_later(stamp, rng), rotate, "FileDeleted", f"/var/log/{log}.7.gz")


def _agents(ctx: SimContext, e: _Emitter, rng: random.Random, day: int) -> None:
    """The Azure guest agent's periodic probes and Defender's own."""
    handlers = e.state.daemons["exthandlers"]
    for slot in _day_slots(ctx, day, 5 * MINUTE, dt.timedelta(seconds=rng.uniform(0, 290))):
        t = _later(slot, rng, 0, 3)
        e.proc(
            t,
            handlers,
            "/usr/sbin/iptables",
            "iptables -w -t security -L OUTPUT --zero OUTPUT -nxv",
        )
        if rng.random() < 0.25:
            e.file(
                _later(t, rng),
                handlers,
                "FileModified",
                "/var/lib/waagent/HostingEnvironmentConfig.xml",
            )
        if rng.random() < 0.1:
            e.proc(_later(t, rng), handlers, "/usr/bin/systemctl", "systemctl --version")
    mde = e.state.daemons["wdavdaemon"]
    for slot in _day_slots(ctx, day, 30 * MINUTE, dt.timedelta(seconds=rng.uniform(0, 1700))):
        command, path = rng.choice(
            (
                ("uname -r", "/usr/bin/uname"),
                ("lsb_release -a", "/usr/bin/lsb_release"),
                ("cat /proc/version", "/usr/bin/cat"),
            )
        )
        e.proc(_later(slot, rng, 0, 60), mde, path, command, "root")


def _packages(ctx: SimContext, e: _Emitter, rng: random.Random, day: int) -> None:
    """apt.systemd.daily's update and unattended-upgrade, with Ubuntu's own APT hooks and
    dpkg rewriting configuration under /etc/apt and /etc/cron.d."""
    init = e.state.daemons["systemd"]
    t = ctx.day_start(day) + dt.timedelta(hours=6, minutes=rng.randrange(0, 50))
    daily = e.proc(
        t,
        init,
        "/usr/lib/apt/apt.systemd.daily",
        "/bin/sh /usr/lib/apt/apt.systemd.daily update",
        "root",
    )
    apt = e.proc(_later(t, rng, 1, 3), daily, "/usr/bin/apt-get", "apt-get -qq -y update")
    for method in ("http", "https", "gpgv", "store"):
        e.proc(
            _later(t, rng, 1, 10),
            apt,
            f"/usr/lib/apt/methods/{method}",
            f"/usr/lib/apt/methods/{method}",
            "_apt",
        )
    for hook in (
        "sh -c [ ! -e /run/systemd/system ] || [ $(id -u) -ne 0 ] || systemctl start --no-block apt-news.service esm-cache.service || true",
        "sh -c if /usr/bin/test -w /var/lib/command-not-found/ -a -e /usr/lib/cnf-update-db; then /usr/lib/cnf-update-db > /dev/null; fi",
        "sh -c /usr/lib/update-notifier/update-motd-updates-available 2>/dev/null || true",
    ):
        e.proc(_later(t, rng, 10, 40), apt, SH, hook)
    for name in ("jammy_InRelease", "jammy-updates_InRelease", "jammy-security_InRelease"):
        e.file(
            _later(t, rng, 5, 30),
            apt,
            "FileModified",
            f"/var/lib/apt/lists/azure.archive.ubuntu.com_ubuntu_dists_{name}",
        )
    if rng.random() < 0.5:
        return
    t += dt.timedelta(minutes=rng.randrange(10, 40))
    upgrade = e.proc(
        t, init, "/usr/bin/python3", "/usr/bin/python3 /usr/bin/unattended-upgrade", "root"
    )
    dpkg = e.proc(
        _later(t, rng, 5, 30),
        upgrade,
        "/usr/bin/dpkg",
        "/usr/bin/dpkg --status-fd 10 --configure --pending",
    )
    package = rng.choice(
        ("unattended-upgrades", "certbot", "sysstat", "openssh-server", "libc-bin")
    )
    config = {
        "unattended-upgrades": "/etc/apt/apt.conf.d/50unattended-upgrades",
        "certbot": "/etc/cron.d/certbot",
        "sysstat": "/etc/cron.d/sysstat",
        "openssh-server": "/lib/systemd/system/ssh.service",
        "libc-bin": "/etc/ld.so.cache",
    }[package]
    stamp = _later(t, rng, 30, 60)
    e.file(stamp, dpkg, "FileCreated", f"{config}.dpkg-new")
    e.file(_later(stamp, rng), dpkg, "FileRenamed", config, previous=f"{config}.dpkg-new")
    e.file(_later(stamp, rng), dpkg, "FileModified", f"/var/lib/dpkg/info/{package}.list")
    postinst = e.proc(
        _later(stamp, rng, 1, 5),
        dpkg,
        SH,
        f"/bin/sh /var/lib/dpkg/info/{package}.postinst configure",
    )
    e.proc(
        _later(stamp, rng, 1, 5),
        postinst,
        "/usr/bin/deb-systemd-invoke",
        "/usr/bin/deb-systemd-invoke restart ssh.service"
        if package == "openssh-server"
        else "/usr/bin/deb-systemd-helper update-state",
    )
    if package == "libc-bin":
        e.proc(_later(stamp, rng, 1, 5), postinst, "/usr/sbin/ldconfig", "/sbin/ldconfig")


def _admin_session(
    ctx: SimContext,
    e: _Emitter,
    rng: random.Random,
    day: int,
    user: str,
    extra: list[tuple[str, str, bool]],
) -> None:
    """One SSH login: motd, .bashrc helpers, a handful of commands, sudo for some."""
    t = ctx.office_time(rng, day)
    sshd = e.proc(t, e.state.daemons["sshd"], "/usr/sbin/sshd", f"sshd: {user} [priv]", "root")
    login = e.proc(_later(t, rng), sshd, BASH, "-bash", user, cwd=f"/home/{user}")
    motd = e.proc(
        _later(t, rng),
        sshd,
        SH,
        "/bin/sh -c /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin run-parts --lsbsysinit /etc/update-motd.d > /run/motd.dynamic.new",
        "root",
    )
    e.proc(
        _later(t, rng),
        motd,
        "/usr/bin/python3",
        "/usr/bin/python3 /usr/bin/landscape-sysinfo",
        "root",
    )
    for helper, path in (
        ("groups", "/usr/bin/groups"),
        ("lesspipe", "/usr/bin/lesspipe"),
        ("dircolors -b", "/usr/bin/dircolors"),
    ):
        e.proc(_later(t, rng), login, path, helper)
    commands = rng.sample(ADMIN_COMMANDS, k=rng.randrange(4, 10)) + extra
    for command, path, as_root in commands:
        t += dt.timedelta(seconds=rng.uniform(10, 240))
        if as_root:
            sudo = e.proc(t, login, "/usr/bin/sudo", f"sudo {command}", "root")
            e.proc(_later(t, rng), sudo, path, command, "root")
        else:
            e.proc(t, login, path, command)
    e.file(
        t + dt.timedelta(seconds=rng.uniform(20, 600)),
        login,
        "FileModified",
        f"/home/{user}/.bash_history",
    )


def _people(ctx: SimContext, e: _Emitter, rng: random.Random, day: int) -> None:
    host = e.state.host
    sessions = {"jump": 6, "app": 2, "db": 1, "web": 1, "build": 1}[host.role]
    if ctx.is_weekend(day):
        sessions = max(0, sessions // 4)
    misses = [(c, p, r) for role, c, p, r in DAILY_NEAR_MISSES if role == host.role]
    for index in range(sessions):
        user = rng.choice(host.admin_users)
        _admin_session(ctx, e, rng, day, user, misses if index == 0 else [])
    if host.role == "jump" and day % 2 == 0:
        _ssh_copy_id(ctx, e, rng, day)
    if host.role == "app" and day % 2 == 1:
        _admin_service_install(ctx, e, rng, day)


def _ssh_copy_id(ctx: SimContext, e: _Emitter, rng: random.Random, day: int) -> None:
    """raj.patel installs his new laptop's key with ssh-copy-id: a shell appends to his
    own authorized_keys."""
    t = ctx.office_time(rng, day)
    sshd = e.proc(t, e.state.daemons["sshd"], "/usr/sbin/sshd", "sshd: raj.patel [priv]", "root")
    writer = e.proc(
        _later(t, rng),
        sshd,
        SH,
        "sh -c exec sh -c 'cd ; umask 077 ; mkdir -p .ssh && { [ -z `tail -1c .ssh/authorized_keys 2>/dev/null` ] || echo >> .ssh/authorized_keys || exit 1; } && cat >> .ssh/authorized_keys'",
        "raj.patel",
        cwd="/home/raj.patel",
    )
    e.file(_later(t, rng), writer, "FileModified", "/home/raj.patel/.ssh/authorized_keys")


def _admin_service_install(ctx: SimContext, e: _Emitter, rng: random.Random, day: int) -> None:
    """An admin deploys a worker service from a file in their home directory, and adds a
    service account without sudo rights."""
    t = ctx.office_time(rng, day)
    sshd = e.proc(
        t, e.state.daemons["sshd"], "/usr/sbin/sshd", "sshd: dmitri.ivanov [priv]", "root"
    )
    login = e.proc(_later(t, rng), sshd, BASH, "-bash", "dmitri.ivanov", cwd="/home/dmitri.ivanov")
    sudo = e.proc(_later(t, rng, 5, 30), login, "/usr/bin/sudo", "sudo -i", "root")
    root = e.proc(_later(t, rng), sudo, BASH, "-bash", "root", cwd="/root")
    copy = e.proc(
        _later(t, rng, 5, 30),
        root,
        "/usr/bin/cp",
        "cp /home/dmitri.ivanov/deploy/app-worker.service /etc/systemd/system/",
    )
    e.file(_later(t, rng), copy, "FileCreated", "/etc/systemd/system/app-worker.service")
    tee = e.proc(_later(t, rng, 5, 30), root, "/usr/bin/tee", "tee /etc/nginx/conf.d/upstream.conf")
    e.file(_later(t, rng), tee, "FileModified", "/etc/nginx/conf.d/upstream.conf")
    e.proc(_later(t, rng, 2, 10), root, "/usr/bin/systemctl", "systemctl daemon-reload")
    e.proc(
        _later(t, rng, 2, 10),
        root,
        "/usr/bin/systemctl",
        "systemctl enable --now app-worker.service",
    )
    adduser = e.proc(
        _later(t, rng, 20, 90),
        root,
        "/usr/sbin/adduser",
        "adduser --disabled-password --gecos  svc-metrics",
    )
    e.proc(
        _later(t, rng),
        adduser,
        "/usr/sbin/useradd",
        "/usr/sbin/useradd -d /home/svc-metrics -g svc-metrics -s /bin/bash -u 1007 svc-metrics",
    )
    e.file(_later(t, rng), adduser, "FileModified", "/etc/passwd")
    visudo = e.proc(
        _later(t, rng, 20, 90), root, "/usr/sbin/visudo", "visudo -f /etc/sudoers.d/ops-readonly"
    )
    e.file(_later(t, rng, 20, 60), visudo, "FileCreated", "/etc/sudoers.d/ops-readonly")


def _web(ctx: SimContext, e: _Emitter, rng: random.Random, day: int) -> None:
    """The web apps: PDF rendering and image resizing shell out; a health check runs
    curl as www-data every five minutes; nginx writes its logs."""
    daemons = e.state.daemons
    cron = daemons["cron"]
    for slot in _day_slots(ctx, day, 5 * MINUTE, dt.timedelta(seconds=rng.uniform(0, 60))):
        sh = e.proc(
            slot,
            cron,
            SH,
            "/bin/sh -c curl -fsS -m 5 http://127.0.0.1:8000/healthz > /dev/null",
            "www-data",
        )
        e.proc(
            _later(slot, rng), sh, "/usr/bin/curl", "curl -fsS -m 5 http://127.0.0.1:8000/healthz"
        )
    for _ in range(rng.randrange(40, 80)):
        t = ctx.office_time(rng, day)
        if e.state.host.name == "vm-web01":
            invoice = rng.randrange(10_000, 99_999)
            sh = e.proc(
                t,
                daemons["gunicorn"],
                SH,
                f"sh -c /usr/bin/wkhtmltopdf -q http://127.0.0.1:8000/invoices/{invoice}/print /tmp/invoice-{invoice}.pdf",
            )
            pdf = e.proc(
                _later(t, rng),
                sh,
                "/usr/bin/wkhtmltopdf",
                f"/usr/bin/wkhtmltopdf -q http://127.0.0.1:8000/invoices/{invoice}/print /tmp/invoice-{invoice}.pdf",
            )
            e.file(_later(t, rng, 1, 4), pdf, "FileCreated", f"/tmp/invoice-{invoice}.pdf")
        else:
            image = guid(rng)
            command = f"convert /opt/app/uploads/{image}.png -resize 800x600 /opt/app/uploads/{image}_m.png"
            sh = e.proc(t, daemons["node"], SH, f"sh -c {command}")
            convert = e.proc(_later(t, rng), sh, "/usr/bin/convert-im6.q16", command)
            e.file(
                _later(t, rng, 0.2, 2), convert, "FileCreated", f"/opt/app/uploads/{image}_m.png"
            )
    certbot_time = ctx.day_start(day) + dt.timedelta(
        hours=rng.choice((3, 15)), minutes=rng.randrange(60)
    )
    sh = e.proc(
        certbot_time,
        cron,
        SH,
        "/bin/sh -c test -x /usr/bin/certbot -a \\! -d /run/systemd/system && perl -e 'sleep int(rand(43200))' && certbot -q renew",
        "root",
    )
    e.proc(
        _later(certbot_time, rng),
        sh,
        "/usr/bin/certbot",
        "/usr/bin/python3 /usr/bin/certbot -q renew",
    )


def _app(ctx: SimContext, e: _Emitter, rng: random.Random, day: int) -> None:
    """The Java app's hourly cleanup job, and its report generator calling python."""
    cron = e.state.daemons["cron"]
    for slot in _day_slots(ctx, day, dt.timedelta(hours=1), 5 * MINUTE):
        sh = e.proc(
            slot,
            cron,
            SH,
            "/bin/sh -c /usr/bin/python3 /opt/app/jobs/cleanup.py >> /var/log/app/cleanup.log 2>&1",
            "app",
        )
        e.proc(
            _later(slot, rng),
            sh,
            "/usr/bin/python3.10",
            "/usr/bin/python3 /opt/app/jobs/cleanup.py",
        )


def _db(ctx: SimContext, e: _Emitter, rng: random.Random, day: int) -> None:
    """Nightly pg_dump, then a backup script that takes a managed-identity token for
    Azure Storage from the instance metadata service and uploads the dump."""
    cron = e.state.daemons["cron"]
    t = ctx.day_start(day) + dt.timedelta(hours=1, minutes=30, seconds=rng.uniform(0, 2))
    sh = e.proc(t, cron, SH, "/bin/sh -c pg_dump -Fc appdb > /var/backups/appdb.dump", "postgres")
    e.proc(_later(t, rng), sh, "/usr/lib/postgresql/14/bin/pg_dump", "pg_dump -Fc appdb")
    e.file(_later(t, rng, 60, 300), sh, "FileModified", "/var/backups/appdb.dump")
    t += dt.timedelta(minutes=20)
    script = e.proc(t, cron, BASH, "/bin/bash /usr/local/bin/backup-to-blob.sh", "root")
    e.proc(
        _later(t, rng),
        script,
        "/usr/bin/curl",
        "curl -s -H Metadata:true http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://storage.azure.com/",
    )
    e.proc(
        _later(t, rng, 1, 3),
        script,
        "/usr/bin/curl",
        "curl -s -X PUT -T /var/backups/appdb.dump -H x-ms-blob-type:BlockBlob https://stcontosobackup.blob.core.windows.net/pg/appdb.dump",
    )


def _build(ctx: SimContext, e: _Emitter, rng: random.Random, day: int) -> None:
    """GitHub Actions jobs on the self-hosted runner: the main source of download,
    chmod-and-run, privileged-container and python one-liner look-alikes."""
    listener = e.state.daemons["runner"]
    jobs = 3 if ctx.is_weekend(day) else rng.randrange(10, 18)
    for _ in range(jobs):
        t = ctx.office_time(rng, day)
        worker = e.proc(
            t,
            listener,
            "/home/runner/actions-runner/bin/Runner.Worker",
            f"/home/runner/actions-runner/bin/Runner.Worker spawnclient {rng.randrange(100, 200)} {rng.randrange(100, 200)}",
        )
        for step in rng.sample(_CI_STEPS, k=rng.randrange(3, 6)):
            t += dt.timedelta(seconds=rng.uniform(5, 90))
            script = e.proc(
                t, worker, BASH, f"/usr/bin/bash -e /home/runner/work/_temp/{guid(rng)}.sh"
            )
            step(e, rng, t, script)


def _ci_checkout(e: _Emitter, rng: random.Random, t: dt.datetime, job: Process) -> None:
    e.proc(
        _later(t, rng),
        job,
        "/usr/bin/git",
        "git -c protocol.version=2 fetch --no-tags --prune --no-recurse-submodules --depth=1 origin",
    )


def _ci_docker(e: _Emitter, rng: random.Random, t: dt.datetime, job: Process) -> None:
    e.proc(
        _later(t, rng),
        job,
        "/usr/bin/docker",
        f"docker build -t contosoacr.azurecr.io/portal:{rng.getrandbits(28):07x} .",
    )
    e.proc(
        _later(t, rng, 30, 90), job, "/usr/bin/docker", "docker push contosoacr.azurecr.io/portal"
    )


def _ci_helm_install(e: _Emitter, rng: random.Random, t: dt.datetime, job: Process) -> None:
    curl = e.proc(
        _later(t, rng),
        job,
        "/usr/bin/curl",
        "curl -fsSL -o /tmp/get_helm.sh https://raw.githubusercontent.com/helm/helm/main/scripts/get-helm-3",
    )
    e.file(_later(t, rng), curl, "FileCreated", "/tmp/get_helm.sh")
    e.proc(_later(t, rng), job, "/usr/bin/chmod", "chmod 700 /tmp/get_helm.sh")
    e.proc(_later(t, rng), job, "/tmp/get_helm.sh", "/bin/bash /tmp/get_helm.sh")


def _ci_tool_download(e: _Emitter, rng: random.Random, t: dt.datetime, job: Process) -> None:
    wget = e.proc(
        _later(t, rng),
        job,
        "/usr/bin/wget",
        "wget -q https://github.com/mikefarah/yq/releases/download/v4.44.1/yq_linux_amd64.tar.gz -O /tmp/yq.tar.gz",
    )
    e.file(_later(t, rng), wget, "FileCreated", "/tmp/yq.tar.gz")
    e.proc(_later(t, rng), job, "/usr/bin/tar", "tar xzf /tmp/yq.tar.gz -C /home/runner/.local/bin")


def _ci_binfmt(e: _Emitter, rng: random.Random, t: dt.datetime, job: Process) -> None:
    e.proc(
        _later(t, rng),
        job,
        "/usr/bin/docker",
        "docker run --privileged --rm tonistiigi/binfmt --install all",
    )


def _ci_go_build(e: _Emitter, rng: random.Random, t: dt.datetime, job: Process) -> None:
    e.proc(
        _later(t, rng),
        job,
        "/usr/bin/docker",
        "docker run --rm -v /home/runner/work/portal/portal:/src -w /src golang:1.22 go build ./...",
    )


def _ci_version(e: _Emitter, rng: random.Random, t: dt.datetime, job: Process) -> None:
    e.proc(
        _later(t, rng),
        job,
        "/usr/bin/python3.10",
        "python3 -c import json,sys; print(json.load(open('package.json'))['version'])",
    )


def _ci_deploy(e: _Emitter, rng: random.Random, t: dt.datetime, job: Process) -> None:
    e.proc(
        _later(t, rng),
        job,
        "/usr/bin/az",
        "/usr/bin/../../opt/az/bin/python3 -Im azure.cli login --service-principal -u 6a3e1b9c-0d2f-4e7a-9b8c-1d2e3f4a5b6c --tenant 5f3c9a8e-2b71-4d0e-9c63-8a1f4e7b2d90 --federated-token ***",
    )
    e.proc(
        _later(t, rng, 2, 10),
        job,
        "/usr/local/bin/kubectl",
        "kubectl apply -f k8s/ --namespace web",
    )


_CI_STEPS: tuple[Callable[[_Emitter, random.Random, dt.datetime, Process], None], ...] = (
    _ci_checkout,
    _ci_docker,
    _ci_helm_install,
    _ci_tool_download,
    _ci_binfmt,
    _ci_go_build,
    _ci_version,
    _ci_deploy,
)

_ROLE_ACTIVITY: dict[str, Callable[[SimContext, _Emitter, random.Random, int], None]] = {
    "web": _web,
    "app": _app,
    "db": _db,
    "build": _build,
}


def _host_day(ctx: SimContext, host: LinuxHost, day: int, tables: dict[str, list[Row]]) -> None:
    rng = ctx.rng("linux", host.name, day)
    emitter = _Emitter(HostState(host, boot_time(host), rng), tables)
    _cron(ctx, emitter, rng, day)
    _agents(ctx, emitter, rng, day)
    _packages(ctx, emitter, rng, day)
    _people(ctx, emitter, rng, day)
    role = _ROLE_ACTIVITY.get(host.role)
    if role is not None:
        role(ctx, emitter, rng, day)


def generate(ctx: SimContext) -> dict[str, list[Row]]:
    """Benign DeviceProcessEvents and DeviceFileEvents for every Linux host and day."""
    tables: dict[str, list[Row]] = {"DeviceProcessEvents": [], "DeviceFileEvents": []}
    for host in LINUX_HOSTS:
        for day in ctx.day_range():
            _host_day(ctx, host, day, tables)
    return tables
