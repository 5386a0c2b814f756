"""Cron abuse by a web-shell operator (T1053.003): through a web application's worker the
operator reads what the server already runs on a schedule, stages a job in a temporary
directory and loads it as the service account's cron table; later, with a stolen
administrator's password and sudo, they drop a root job into the system cron locations.

Per instance: the foothold (gunicorn or node on a web host, java on the app host, so the
service account too), which schedule-reading commands run and how they are grouped,
the hidden working directory (/tmp, /var/tmp, /dev/shm), the names of the payload, the
uploaded file it is copied from and the job file, the schedule, how the table is
loaded (`crontab <file>`, `crontab - < file`, `cat file | crontab -`, or a pipeline
that keeps the current table and appends a line, from the file or from `echo`), the
administrator account used later, two of the root locations (/etc/cron.d,
/etc/cron.hourly, /etc/cron.daily, /etc/crontab, root's spool file), their names
(imitations of what Ubuntu's packages ship), the root payload path, and how the root
files are written (tee, a shell redirection, a copy from a staging file, Python).

Look-alikes: administrators reviewing schedules (also the service accounts' tables,
with sudo), a nightly job saving every account's crontab, Lynis audits, Ansible's cron
module (which loads tables from /tmp/crontabXXXXXXXX as root and writes /etc/cron.d),
administrators loading tables from files, `crontab -e` sessions (a temporary copy under
/tmp, then the spool), and packages installing their cron files.
"""

from __future__ import annotations

import datetime as dt
import string

from pytest_ctirealm.telemetry.campaign import Instance
from pytest_ctirealm.telemetry.context import SimContext, guid
from pytest_ctirealm.telemetry.environment import LINUX_HOSTS, LinuxHost
from pytest_ctirealm.telemetry.linux import Process
from pytest_ctirealm.telemetry.scenarios.base import Stages, Timeline, incident_start, scenario
from pytest_ctirealm.telemetry.scenarios.linux.common import (
    BASH,
    PYTHON,
    SH,
    LookalikeFamily,
    register_lookalikes,
    root_session,
    user_session,
    webshell,
)

CAMPAIGN = "cron_abuse"
SPOOL = "/var/spool/cron/crontabs"
CRONTAB = "/usr/bin/crontab"
#: The web workers an operator lands in, per host role.
_WORKERS = {"web": ("gunicorn", "node"), "app": ("java",)}
#: Cron files Ubuntu's packages ship on the hosts (what a glob over /etc/cron.d finds).
_CROND_FILES = {"web": ("certbot", "e2scrub_all", "sysstat"), "app": ("e2scrub_all", "sysstat")}
_CRON_DIRS = "/etc/cron.d /etc/cron.daily /etc/cron.hourly /etc/cron.monthly /etc/cron.weekly"

# -- the user-level job ------------------------------------------------------------------

_TEMP_BASES = ("/tmp/", "/var/tmp/", "/dev/shm/")
_WORKDIRS = (
    ".x",
    ".ICE-unix-cache",
    ".font-unix-lock",
    ".X11-cache",
    "...",
    ".systemd-cache",
    ".pulse-tmp",
    ".nginx-cache",
    ".s",
    ".npm-tmp",
)
_PAYLOADS = ("run.sh", ".update", "sync.sh", ".s", "upd", ".kd.sh", "check.sh", ".w.sh")
_JOB_FILES = ("c.txt", ".c", ".j", "jobs.txt", ".tab", "cfg", ".sched", "t.lst")
_UPLOAD_TYPES = ("png", "jpg", "pdf", "gif", "webp")
_SCHEDULES = (
    "*/5 * * * *",
    "*/10 * * * *",
    "*/15 * * * *",
    "*/3 * * * *",
    "@reboot",
    "17 * * * *",
    "*/7 * * * *",
    "0 */2 * * *",
)
_LOADERS = ("crontab_file", "stdin_redirect", "cat_pipe", "merge_file", "merge_echo")

# -- the root job ------------------------------------------------------------------------

_LOCATIONS = ("cron.d", "cron.hourly", "cron.daily", "system_crontab", "root_spool")
_NAME_HEADS = (
    "sysstat",
    "php",
    "e2scrub",
    "apt",
    "popularity",
    "mdadm",
    "ua",
    "logrotate",
    "dbus",
    "motd",
    "snapd",
    "fstrim",
    "man-db",
    "anacron",
    "ntp",
    "debsums",
)
_NAME_TAILS = (
    "-collect",
    "-sessionclean",
    "-check",
    "-refresh",
    "-update",
    "-sync",
    "-helper",
    "-all",
    "-hourly",
    "-stats",
    "-clean",
)
_ROOT_DIRS = (
    "/usr/local/lib/",
    "/var/lib/dbus/",
    "/usr/lib/updates/",
    "/var/cache/man/",
    "/usr/share/fonts/",
    "/var/lib/apt/",
    "/usr/local/share/",
    "/var/lib/ucf/",
)
_ROOT_PAYLOADS = (
    ".sysupdate",
    ".dbus-sync",
    "kupdated",
    ".pkg-helper",
    ".fc-cache",
    "ntpsyncd",
    ".motd-refresh",
    ".cache-gc",
)
_STAGING = ("/dev/shm/", "/tmp/", "/var/tmp/")
_STAGING_NAMES = (".c", ".cron.tmp", ".j", ".ICE-lock", ".xsess", ".t", ".lck")
_WRITERS = ("tee_file", "shell_redirect", "copy_staged", "python_write")


def _spool_write(t: Timeline, stage: str, crontab: Process, account: str) -> None:
    """crontab writes the new table next to the spool file, then renames it over it."""
    suffix = "".join(t.rng.choice(string.ascii_letters + string.digits) for _ in range(6))
    temporary = f"{SPOOL}/tmp.{suffix}"
    t.file(stage, crontab, "FileCreated", temporary, after=(0.01, 0.1))
    t.file(
        stage,
        crontab,
        "FileRenamed",
        f"{SPOOL}/{account}",
        previous=temporary,
        after=(0.001, 0.02),
    )


def _recon(t: Timeline, instance: Instance, worker: Process, role: str) -> None:
    """Two to four schedule-reading commands, the first two sometimes in one shell."""
    crond = " ".join(f"/etc/cron.d/{name}" for name in _CROND_FILES[role])
    commands = {
        "list_own_table": ("crontab -l", [(CRONTAB, "crontab -l")]),
        "list_root_table": ("crontab -u root -l", [(CRONTAB, "crontab -u root -l")]),
        "read_system_table": ("cat /etc/crontab", [("/usr/bin/cat", "cat /etc/crontab")]),
        "list_spool": (
            f"ls -la /etc/cron.d {SPOOL}",
            [("/usr/bin/ls", f"ls -la /etc/cron.d {SPOOL}")],
        ),
        "list_cron_dirs": ("ls -la /etc/cron.*", [("/usr/bin/ls", f"ls -la {_CRON_DIRS}")]),
        "read_cron_d": ("cat /etc/cron.d/*", [("/usr/bin/cat", f"cat {crond}")]),
        "list_timers": (
            "systemctl list-timers --all --no-pager",
            [("/usr/bin/systemctl", "systemctl list-timers --all --no-pager")],
        ),
        "find_cron_files": (
            "find /etc/cron* /var/spool/cron -type f 2>/dev/null",
            [
                (
                    "/usr/bin/find",
                    f"find {_CRON_DIRS} /etc/crontab /var/spool/cron -type f",
                )
            ],
        ),
    }
    chosen = instance.sample("recon", sorted(commands), instance.between(2, 4))
    groups = [[key] for key in chosen]
    if instance.chance(0.5):
        groups = [chosen[:2], *[[key] for key in chosen[2:]]]
    for group in groups:
        wrapper = webshell(t, "cron_recon", worker, "; ".join(commands[k][0] for k in group))
        for key in group:
            for image, command in commands[key][1]:
                t.run("cron_recon", wrapper, image, command)


def _user_job(t: Timeline, instance: Instance, worker: Process) -> None:
    """Stage a payload and a job in a hidden temporary directory, load the table."""
    workdir = instance.name_like("workdir", _TEMP_BASES, _WORKDIRS)
    payload = f"{workdir}/{instance.pick('payload', _PAYLOADS)}"
    upload = instance.keep(
        "upload", f"/opt/app/uploads/{guid(instance.rng)}.{instance.rng.choice(_UPLOAD_TYPES)}"
    )
    schedule = instance.pick("schedule", _SCHEDULES)
    entry = f"{schedule} /bin/sh {payload} >/dev/null 2>&1"
    stage = webshell(t, "cron_stage", worker, f"mkdir -p {workdir} && cp {upload} {payload}")
    t.run("cron_stage", stage, "/usr/bin/mkdir", f"mkdir -p {workdir}")
    copy = t.run("cron_stage", stage, "/usr/bin/cp", f"cp {upload} {payload}")
    t.file("cron_stage", copy, "FileCreated", payload, size=instance.between(300, 2400))
    loader = instance.pick("loader", _LOADERS)
    job = f"{workdir}/{instance.pick('job_file', _JOB_FILES)}"
    if loader != "merge_echo":
        verb = instance.pick("job_writer", ("echo_job", "printf_job"))
        text = f"echo '{entry}'" if verb == "echo_job" else f"printf '%s\\n' '{entry}'"
        writer = webshell(t, "cron_stage", worker, f"{text} > {job}")
        t.file("cron_stage", writer, "FileCreated", job, size=len(entry) + 1)
    if loader == "crontab_file":
        shell = webshell(t, "cron_load", worker, f"crontab {job}")
        crontab = t.run("cron_load", shell, CRONTAB, f"crontab {job}")
    elif loader == "stdin_redirect":
        shell = webshell(t, "cron_load", worker, f"crontab - < {job}")
        crontab = t.run("cron_load", shell, CRONTAB, "crontab -")
    elif loader == "cat_pipe":
        shell = webshell(t, "cron_load", worker, f"cat {job} | crontab -")
        t.run("cron_load", shell, "/usr/bin/cat", f"cat {job}")
        crontab = t.run("cron_load", shell, CRONTAB, "crontab -", after=(0.001, 0.01))
    else:
        source = f"cat {job}" if loader == "merge_file" else f"echo '{entry}'"
        shell = webshell(t, "cron_load", worker, f"(crontab -l 2>/dev/null; {source}) | crontab -")
        t.run("cron_load", shell, CRONTAB, "crontab -l")
        if loader == "merge_file":
            t.run("cron_load", shell, "/usr/bin/cat", f"cat {job}")
        crontab = t.run("cron_load", shell, CRONTAB, "crontab -", after=(0.001, 0.01))
    _spool_write(t, "cron_spool", crontab, worker.account)


def _root_line(location: str, schedule: str, program: str) -> str:
    """What a root job file holds: a crontab line (with the user field where the format
    has one) or, in the run-parts directories, a script."""
    if location in ("cron.d", "system_crontab"):
        return f"{schedule} root {program} >/dev/null 2>&1"
    if location == "root_spool":
        return f"{schedule} {program} >/dev/null 2>&1"
    return f"#!/bin/sh\\n{program} >/dev/null 2>&1 &\\n"


def _root_job(t: Timeline, instance: Instance, root: Process, location: str, index: int) -> None:
    """Write one root job at *location* with the instance's writer."""
    if location in ("cron.d", "cron.hourly", "cron.daily"):
        name = instance.name_like(f"root_job_{index}", _NAME_HEADS, _NAME_TAILS)
        path, append = f"/etc/{location}/{name}", False
    elif location == "system_crontab":
        path, append = "/etc/crontab", True
    else:
        path, append = f"{SPOOL}/root", True
    program = instance.values["root_payload"]
    schedule = instance.pick(f"root_schedule_{index}", _SCHEDULES)
    line = _root_line(location, schedule, str(program))
    how = instance.values["root_writer"]
    wait = (40.0, 400.0)
    if how == "tee_file":
        command = f"tee -a {path}" if append else f"tee {path}"
        writer = t.run("crond_writer", root, "/usr/bin/tee", command, after=wait)
    elif how == "shell_redirect":
        verb = "printf" if location in ("cron.hourly", "cron.daily") else "echo"
        arrow = ">>" if append else ">"
        writer = t.run(
            "crond_writer", root, BASH, f"bash -c {verb} '{line}' {arrow} {path}", after=wait
        )
    elif how == "copy_staged":
        staging = str(instance.values["staging"])
        if append:
            writer = t.run(
                "crond_writer", root, BASH, f"bash -c cat {staging} >> {path}", after=wait
            )
        else:
            writer = t.run("crond_writer", root, "/usr/bin/cp", f"cp {staging} {path}", after=wait)
    else:
        mode = "a" if append else "w"
        writer = t.run(
            "crond_writer",
            root,
            PYTHON,
            f"python3 -c open('{path}','{mode}').write('{line}\\n')",
            after=wait,
        )
    action = "FileModified" if path == "/etc/crontab" else "FileCreated"
    t.file("crond_drop", writer, action, path, size=len(line) + 1)
    if location in ("cron.hourly", "cron.daily"):
        t.run("crond_writer", root, "/usr/bin/chmod", f"chmod 755 {path}", after=(1, 8))


@scenario(
    CAMPAIGN,
    "linux",
    ("cron_recon", "cron_stage", "cron_load", "cron_spool", "access", "crond_writer", "crond_drop"),
)
def cron_abuse(ctx: SimContext) -> Stages:
    """Read the schedules, load a user job from a temporary directory, later drop root jobs."""
    instance = Instance(ctx, CAMPAIGN)
    host = instance.linux_host("host", tuple(_WORKERS))
    daemon = instance.pick("worker", _WORKERS[host.role])
    t = Timeline(ctx, CAMPAIGN, host, incident_start(ctx, "cron", (0, 18)))
    worker = t.daemon(daemon)
    _recon(t, instance, worker, host.role)
    _user_job(t, instance, worker)
    # Back later as root, with an administrator's stolen password.
    admin = instance.pick("account", host.admin_users)
    t.wait(instance.between(1200, 3 * 3600))
    root = root_session(t, admin)
    instance.name_like("root_payload", _ROOT_DIRS, _ROOT_PAYLOADS)
    instance.pick("root_writer", _WRITERS)
    instance.name_like("staging", _STAGING, _STAGING_NAMES)
    for index, location in enumerate(instance.sample("root_locations", _LOCATIONS, 2), 1):
        _root_job(t, instance, root, location, index)
    return t.stages


# -- look-alikes ---------------------------------------------------------------------------


def _service_account(host: LinuxHost) -> str:
    return "app" if host.role == "app" else "www-data" if host.role == "web" else "postgres"


def _admin_cron_review(ctx: SimContext, family: LookalikeFamily) -> None:
    """Administrators look at schedules: their own table, the services' tables (with
    sudo), the system directories and systemd's timers."""
    own = (
        ("crontab -l", CRONTAB),
        ("systemctl list-timers --no-pager", "/usr/bin/systemctl"),
        ("ls -la /etc/cron.d", "/usr/bin/ls"),
        ("cat /etc/crontab", "/usr/bin/cat"),
    )
    for host, moment in family.moments(2, 3):
        t = family.on(host, moment)
        user = t.rng.choice(host.admin_users)
        if t.rng.random() < 0.5:
            login = user_session(t, user, "admin_cron_review")
            for command, image in t.rng.sample(own, t.rng.randint(1, 3)):
                t.run("admin_cron_review", login, image, command, after=(5, 90))
            continue
        root = root_session(t, user, stage="admin_cron_review")
        account = _service_account(host)
        commands = (
            (f"crontab -l -u {account}", CRONTAB),
            (f"crontab -u {account} -l", CRONTAB),
            (f"ls -l {SPOOL}", "/usr/bin/ls"),
            ("cat /etc/cron.d/sysstat", "/usr/bin/cat"),
            ("grep -r backup /etc/cron.d /etc/crontab", "/usr/bin/grep"),
            ("systemctl list-timers --all --no-pager", "/usr/bin/systemctl"),
        )
        for command, image in t.rng.sample(commands, t.rng.randint(2, 3)):
            t.run("admin_cron_review", root, image, command, after=(5, 90))


def _crontab_backup(ctx: SimContext, family: LookalikeFamily) -> None:
    """A nightly root job saves every account's table and the system cron files."""
    hosts = tuple(family.rng.sample(LINUX_HOSTS, family.rng.randint(2, 5)))
    for host in hosts:
        minute = family.rng.randrange(60)
        for day in ctx.day_range():
            moment = ctx.day_start(day) + dt.timedelta(
                hours=family.rng.choice((1, 2, 3, 4)), minutes=minute, seconds=family.rng.random()
            )
            t = family.on(host, moment)
            sh = t.run(
                "crontab_backup",
                t.daemon("cron"),
                SH,
                "/bin/sh -c /usr/local/sbin/backup-crontabs",
                "root",
                after=(0, 0.5),
            )
            script = t.run(
                "crontab_backup", sh, SH, "/bin/sh /usr/local/sbin/backup-crontabs", after=(0, 0.1)
            )
            accounts = ["root", *host.admin_users, _service_account(host)]
            for account in accounts:
                listing = t.run(
                    "crontab_backup", script, CRONTAB, f"crontab -l -u {account}", after=(0, 0.3)
                )
                if t.rng.random() < 0.5:
                    t.file(
                        "crontab_backup",
                        listing,
                        "FileModified",
                        f"/var/backups/crontabs/{account}.txt",
                    )
            tar = t.run(
                "crontab_backup",
                script,
                "/usr/bin/tar",
                f"tar czf /var/backups/cron-config.tgz /etc/crontab /etc/cron.d {SPOOL}",
            )
            t.file("crontab_backup", tar, "FileCreated", "/var/backups/cron-config.tgz")


def _lynis_audit(ctx: SimContext, family: LookalikeFamily) -> None:
    """Lynis' scheduled audit reads the cron configuration among hundreds of checks."""
    checks = (
        (f"/usr/bin/find {_CRON_DIRS} -type f -print", "/usr/bin/find"),
        ("/usr/bin/grep -v ^# /etc/crontab", "/usr/bin/grep"),
        (f"/usr/bin/ls {SPOOL}", "/usr/bin/ls"),
        ("/usr/bin/systemctl list-timers --all --no-legend", "/usr/bin/systemctl"),
        ("/usr/bin/stat -c %a /etc/crontab", "/usr/bin/stat"),
        ("/usr/bin/ls -ld /etc/cron.hourly /etc/cron.daily", "/usr/bin/ls"),
    )
    for host, moment in family.moments(1, 2, office=False):
        t = family.on(host, moment)
        sh = t.run(
            "lynis_audit",
            t.daemon("cron"),
            SH,
            "/bin/sh -c /usr/sbin/lynis audit system --cronjob > /dev/null",
            "root",
            after=(0, 0.5),
        )
        lynis = t.run(
            "lynis_audit", sh, SH, "/bin/sh /usr/sbin/lynis audit system --cronjob", after=(0, 0.2)
        )
        for command, image in t.rng.sample(checks, t.rng.randint(3, len(checks))):
            t.run("lynis_audit", lynis, image, command, after=(2, 40))


_ANSIBLE_CRON_FILES = (
    "contoso-logship",
    "app-cleanup",
    "pg-vacuum",
    "backup-verify",
    "report-export",
    "cert-expiry",
)


def _ansible_tmp(t: Timeline) -> str:
    return "".join(t.rng.choice(string.ascii_lowercase + string.digits + "_") for _ in range(8))


def _ansible_cron(ctx: SimContext, family: LookalikeFamily) -> None:
    """Ansible's cron module: reads the table, writes the new one to /tmp/crontabXXXXXXXX
    and loads it with crontab (as root, sometimes for a service account), or writes a
    file under /etc/cron.d when the play sets cron_file."""
    for t, root in family.root_sessions(family.moments(2, 4), user="azureuser"):
        host = root.host
        module = t.run(
            "ansible_cron",
            root,
            PYTHON,
            f"/usr/bin/python3 /root/.ansible/tmp/ansible-tmp-{t.rng.randrange(10**9, 10**10)}.{t.rng.randrange(10**6)}/AnsiballZ_cron.py",
        )
        if t.rng.random() < 0.4:
            name = t.rng.choice(_ANSIBLE_CRON_FILES)
            action = t.rng.choice(("FileCreated", "FileModified"))
            t.file("ansible_cron", module, action, f"/etc/cron.d/{name}")
            continue
        # The module builds "crontab <user option> -l": two spaces when there is none.
        user = f"-u {_service_account(host)}" if t.rng.random() < 0.5 else ""
        account = _service_account(host) if user else "root"
        t.run("ansible_cron", module, CRONTAB, f"/usr/bin/crontab {user} -l")
        temporary = f"/tmp/crontab{_ansible_tmp(t)}"
        t.file("ansible_cron", module, "FileCreated", temporary)
        load = t.run("ansible_cron", module, CRONTAB, f"/usr/bin/crontab {user} {temporary}")
        _spool_write(t, "ansible_cron", load, account)
        t.file("ansible_cron", module, "FileDeleted", temporary)


def _admin_crontab_load(ctx: SimContext, family: LookalikeFamily) -> None:
    """Administrators load tables they prepared: from their home directory, from a copy
    they uploaded to /tmp, or for a service account with sudo."""
    for host, moment in family.moments(2, 3):
        t = family.on(host, moment)
        user = t.rng.choice(host.admin_users)
        form = t.rng.choice(("home", "tmp", "pipe", "service"))
        if form == "service":
            root = root_session(t, user, stage="admin_crontab_load")
            account = _service_account(host)
            source = f"/home/{user}/deploy/{account}.crontab"
            load = t.run(
                "admin_crontab_load",
                root,
                CRONTAB,
                f"crontab -u {account} {source}",
                after=(10, 120),
            )
            _spool_write(t, "admin_crontab_load", load, account)
            continue
        login = user_session(t, user, "admin_crontab_load")
        if form == "home":
            source = f"/home/{user}/{t.rng.choice(('crontab.txt', 'cron.bak', 'jobs.cron'))}"
            load = t.run("admin_crontab_load", login, CRONTAB, f"crontab {source}", after=(10, 120))
        elif form == "tmp":
            source = f"/tmp/{user}-crontab.new"
            load = t.run("admin_crontab_load", login, CRONTAB, f"crontab {source}", after=(10, 120))
        else:
            source = f"/tmp/{t.rng.choice(('cron.new', 'crontab.merged', 'jobs.txt'))}"
            t.run("admin_crontab_load", login, "/usr/bin/cat", f"cat {source}", after=(10, 120))
            load = t.run("admin_crontab_load", login, CRONTAB, "crontab -", after=(0, 0.01))
        _spool_write(t, "admin_crontab_load", load, user)
        t.run("admin_crontab_load", login, CRONTAB, "crontab -l", after=(2, 20))


def _crontab_edit(ctx: SimContext, family: LookalikeFamily) -> None:
    """`crontab -e`: crontab copies the table to /tmp/crontab.XXXXXX/crontab, runs the
    editor through /bin/sh, and writes the spool when the editor exits."""
    for host, moment in family.moments(1, 3):
        t = family.on(host, moment)
        user = t.rng.choice(host.admin_users)
        shell = (
            user_session(t, user, "crontab_edit")
            if t.rng.random() < 0.6
            else root_session(t, user, stage="crontab_edit")
        )
        account = shell.account
        crontab = t.run("crontab_edit", shell, CRONTAB, "crontab -e", after=(5, 60))
        suffix = "".join(t.rng.choice(string.ascii_letters + string.digits) for _ in range(6))
        copy = f"/tmp/crontab.{suffix}/crontab"
        t.file("crontab_edit", crontab, "FileCreated", copy)
        sh = t.run("crontab_edit", crontab, SH, f"/bin/sh -c /usr/bin/sensible-editor {copy}")
        editor = t.rng.choice((("/usr/bin/vim.basic", "vim"), ("/usr/bin/nano", "nano")))
        edit = t.run("crontab_edit", sh, editor[0], f"{editor[1]} {copy}", after=(0.1, 0.5))
        t.file("crontab_edit", edit, "FileModified", copy, after=(20, 240))
        _spool_write(t, "crontab_edit", crontab, account)


_PACKAGES = (
    ("sysstat", ("/etc/cron.d/sysstat",)),
    (
        "popularity-contest",
        ("/etc/cron.d/popularity-contest", "/etc/cron.daily/popularity-contest"),
    ),
    ("mdadm", ("/etc/cron.d/mdadm", "/etc/cron.daily/mdadm")),
    ("debsums", ("/etc/cron.daily/debsums", "/etc/cron.weekly/debsums")),
    ("chkrootkit", ("/etc/cron.daily/chkrootkit",)),
    ("rkhunter", ("/etc/cron.daily/rkhunter", "/etc/cron.weekly/rkhunter")),
    ("php8.1-common", ("/etc/cron.d/php",)),
    ("certbot", ("/etc/cron.d/certbot",)),
    ("logwatch", ("/etc/cron.daily/00logwatch",)),
)


def _package_cron(ctx: SimContext, family: LookalikeFamily) -> None:
    """Packages installed by hand ship cron files; dpkg unpacks and renames them."""
    for t, root in family.root_sessions(family.moments(1, 2)):
        package, files = t.rng.choice(_PACKAGES)
        apt = t.run("package_cron", root, "/usr/bin/apt-get", f"apt-get install -y {package}")
        dpkg = t.run(
            "package_cron",
            apt,
            "/usr/bin/dpkg",
            f"/usr/bin/dpkg --status-fd 35 --no-triggers --unpack --auto-deconfigure /var/cache/apt/archives/{package}.deb",
            after=(3, 20),
        )
        for path in files:
            t.file("package_cron", dpkg, "FileCreated", f"{path}.dpkg-new")
            t.file("package_cron", dpkg, "FileRenamed", path, previous=f"{path}.dpkg-new")


_FAMILIES = {
    "admin_cron_review": _admin_cron_review,
    "crontab_backup": _crontab_backup,
    "lynis_audit": _lynis_audit,
    "ansible_cron": _ansible_cron,
    "admin_crontab_load": _admin_crontab_load,
    "crontab_edit": _crontab_edit,
    "package_cron": _package_cron,
}

register_lookalikes(CAMPAIGN, _FAMILIES)
