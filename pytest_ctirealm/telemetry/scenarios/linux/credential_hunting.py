"""Credential hunting on a shared admin host (T1552.003, T1552.004): with a stolen
administrator login and root through sudo, the intruder reads colleagues' shell and
database-client histories for typed secrets, searches the filesystem for SSH private
keys and reads the ones it finds.

Per instance: the host (the jump host or the app host) and the stolen administrator
account; how root is obtained (`sudo -i`, `sudo su -`, or `sudo` before every command);
whose histories are read, which ones (.bash_history, .zsh_history, .mysql_history,
.psql_history, .python_history, .rediscli_history) and with what (cat, less, head, tail,
grep for secret words, strings, awk); how keys are searched for (find by name, find
`id_*` without `.pub`, grep for PEM headers, locate), whose key is read, its type, and
how (cat, base64, head, cp to a hidden staging file, `ssh-keygen -y` to test it has no
passphrase); timing.

Look-alikes: people searching their own history, administrators reviewing root's own
history, configuration management fixing history-file permissions (histories); people
creating, listing and using their own keys, CI jobs installing and using deploy keys,
and a root audit of SSH host-key permissions (keys).
"""

from __future__ import annotations

import datetime as dt

from pytest_ctirealm.telemetry.campaign import Instance
from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.environment import LINUX_HOSTS, LinuxHost
from pytest_ctirealm.telemetry.linux import Process
from pytest_ctirealm.telemetry.scenarios.base import Stages, Timeline, incident_start, scenario
from pytest_ctirealm.telemetry.scenarios.linux.common import (
    BASH,
    SH,
    LookalikeFamily,
    ansible,
    ci_step,
    register_lookalikes,
    user_session,
)

CAMPAIGN = "credential_hunting"
_HISTORIES = (
    ".bash_history",
    ".bash_history",
    ".zsh_history",
    ".mysql_history",
    ".psql_history",
    ".python_history",
    ".rediscli_history",
)
_SECRET_WORDS = (
    "pass|token|secret|key",
    "password|passwd|-p|PGPASSWORD",
    "Authorization|Bearer|api[_-]?key",
    "mysql -u|psql|sshpass|AWS_SECRET",
)
_KEY_TYPES = ("rsa", "ed25519", "ecdsa")
_STAGING = (".cache-sess", ".X0-lock", ".ICE-unix", ".font-cache", ".pki-tmp", ".sess_data")


class _Root:
    """Runs commands with root rights, the way this instance got them."""

    def __init__(self, t: Timeline, instance: Instance, login: Process) -> None:
        self.t = t
        self.how = instance.pick("escalation", ("sudo_i", "sudo_su", "sudo_each"))
        self.login = login
        if self.how == "sudo_i":
            sudo = t.run("access", login, "/usr/bin/sudo", "sudo -i", "root", after=(5, 40))
            self.shell = t.run("access", sudo, BASH, "-bash", "root", cwd="/root")
        elif self.how == "sudo_su":
            sudo = t.run("access", login, "/usr/bin/sudo", "sudo su -", "root", after=(5, 40))
            su = t.run("access", sudo, "/usr/bin/su", "su -", "root")
            self.shell = t.run("access", su, BASH, "-bash", "root", cwd="/root")
        else:
            self.shell = login

    def run(self, stage: str, image: str, command: str) -> None:
        if self.how == "sudo_each":
            sudo = self.t.run(
                "access", self.login, "/usr/bin/sudo", f"sudo {command}", "root", after=(5, 40)
            )
            self.t.run(stage, sudo, image, command, "root")
        else:
            self.t.run(stage, self.shell, image, command, "root", after=(5, 40))


def _victims(host: LinuxHost, stolen: str) -> list[str]:
    others = [u for u in host.admin_users if u != stolen]
    if host.role == "app":
        others.append("app")
    return others


def _read_histories(root: _Root, instance: Instance, victims: list[str]) -> None:
    count = instance.between(2, 4)
    for index in range(count):
        victim = instance.pick(f"history_victim_{index}", victims)
        name = instance.pick(f"history_file_{index}", _HISTORIES)
        path = f"/home/{victim}/{name}"
        how = instance.pick(
            f"history_reader_{index}",
            (
                "by_cat",
                "by_less",
                "by_tail",
                "by_head",
                "by_grep",
                "by_grep_all",
                "by_strings",
                "by_awk",
            ),
        )
        words = instance.pick(f"history_words_{index}", _SECRET_WORDS)
        if how == "by_grep_all":
            paths = " ".join(f"/home/{v}/.bash_history" for v in victims)
            root.run("history_read", "/usr/bin/grep", f"grep -iE -H {words} {paths}")
            continue
        image, command = {
            "by_cat": ("/usr/bin/cat", f"cat {path}"),
            "by_less": ("/usr/bin/less", f"less {path}"),
            "by_tail": (
                "/usr/bin/tail",
                f"tail -n {instance.pick('tail', (200, 500, 1000))} {path}",
            ),
            "by_head": ("/usr/bin/head", f"head -n 400 {path}"),
            "by_grep": ("/usr/bin/grep", f"grep -iE {words} {path}"),
            "by_strings": ("/usr/bin/strings", f"strings {path}"),
            "by_awk": ("/usr/bin/gawk", f"awk /{words}/ {path}"),
        }[how]
        root.run("history_read", image, command)


def _hunt_keys(root: _Root, instance: Instance, victims: list[str]) -> None:
    names = instance.sample(
        "key_names",
        ("id_rsa", "id_ed25519", "id_ecdsa", "id_dsa", "*.ppk"),
        instance.between(2, 4),
    )
    roots = instance.pick("key_roots", ("/", "/home /root /opt /srv", "/ -xdev"))
    by_name = " -o ".join(f"-name {name}" for name in names)
    searches = {
        "find_names": ("/usr/bin/find", f"find {roots} -type f ( {by_name} )"),
        "find_not_pub": ("/usr/bin/find", f"find {roots} -type f -name id_* ! -name *.pub"),
        "grep_header": (
            "/usr/bin/grep",
            "grep -rlE BEGIN (OPENSSH|RSA|EC|DSA) PRIVATE KEY /home /root /opt /srv /etc",
        ),
        "grep_openssh": ("/usr/bin/grep", "grep -rl BEGIN OPENSSH PRIVATE KEY /home /root /opt"),
        "locate": ("/usr/bin/plocate", "locate " + " ".join(n for n in names if "*" not in n)),
    }
    if all("*" in n for n in names):
        searches.pop("locate")
    for key in instance.sample("key_search", sorted(searches), instance.between(1, 2)):
        image, command = searches[key]
        root.run("key_hunt", image, command)
    for index in range(instance.between(1, 2)):
        victim = instance.pick(f"key_victim_{index}", victims)
        path = f"/home/{victim}/.ssh/id_{instance.pick(f'key_type_{index}', _KEY_TYPES)}"
        staging = f"/tmp/{instance.pick('staging', _STAGING)}"
        image, command = {
            "by_cat": ("/usr/bin/cat", f"cat {path}"),
            "by_base64": ("/usr/bin/base64", f"base64 -w0 {path}"),
            "by_head": ("/usr/bin/head", f"head -n 60 {path}"),
            "by_cp": ("/usr/bin/cp", f"cp {path} {staging}"),
            "by_keygen": ("/usr/bin/ssh-keygen", f"ssh-keygen -y -P  -f {path}"),
        }[
            instance.pick(
                f"key_reader_{index}", ("by_cat", "by_base64", "by_head", "by_cp", "by_keygen")
            )
        ]
        root.run("key_hunt", image, command)


@scenario(CAMPAIGN, "linux", ("access", "history_read", "key_hunt"))
def credential_hunting(ctx: SimContext) -> Stages:
    """With a stolen admin login, become root, read other people's histories for
    secrets and hunt for private keys."""
    instance = Instance(ctx, CAMPAIGN)
    host = instance.linux_host("host", ("jump", "app"))
    stolen = instance.pick("account", host.admin_users)
    t = Timeline(ctx, CAMPAIGN, host, incident_start(ctx, "creds", (0, 22)))
    login = user_session(t, stolen, "access")
    root = _Root(t, instance, login)
    victims = _victims(host, stolen)
    _read_histories(root, instance, victims)
    _hunt_keys(root, instance, victims)
    return t.stages


# -- look-alikes ---------------------------------------------------------------------------


_OWN_HISTORY = (
    ("/usr/bin/grep", "grep {word} /home/{user}/.bash_history"),
    ("/usr/bin/tail", "tail -n 50 /home/{user}/.bash_history"),
    ("/usr/bin/grep", "grep -c {word} /home/{user}/.bash_history"),
    ("/usr/bin/less", "less /home/{user}/.psql_history"),
    ("/usr/bin/cat", "cat /home/{user}/.python_history"),
)
_HISTORY_WORDS = ("kubectl", "helm", "az vm", "terraform", "docker", "rsync", "ssh", "psql")
_ROOT_HISTORY = (
    ("/usr/bin/tail", "tail -n 100 /root/.bash_history"),
    ("/usr/bin/grep", "grep {word} /root/.bash_history"),
    ("/usr/bin/less", "less /root/.bash_history"),
    ("/usr/bin/grep", "grep -n {word} /root/.bash_history"),
)
_OWN_KEYS = (
    (
        "/usr/bin/ssh-keygen",
        "ssh-keygen -t ed25519 -a 64 -f /home/{user}/.ssh/id_ed25519 -C {user}@contoso.com",
    ),
    ("/usr/bin/cat", "cat /home/{user}/.ssh/id_ed25519.pub"),
    ("/usr/bin/cat", "cat /home/{user}/.ssh/id_rsa.pub"),
    ("/usr/bin/ls", "ls -l /home/{user}/.ssh/id_ed25519 /home/{user}/.ssh/id_ed25519.pub"),
    ("/usr/bin/ssh-add", "ssh-add /home/{user}/.ssh/id_ed25519"),
    ("/usr/bin/ssh", "ssh -i /home/{user}/.ssh/id_rsa azureuser@{target}"),
    ("/usr/bin/chmod", "chmod 600 /home/{user}/.ssh/id_ed25519"),
)
_TARGETS = ("10.1.1.4", "10.1.1.5", "10.1.2.4", "10.1.3.4", "10.1.4.4")


def _own_history_search(ctx: SimContext, family: LookalikeFamily) -> None:
    """People searching their own shell and client histories."""
    stage = family.name
    for t, login in family.user_sessions(
        family.host_moments(0, 2, roles=("jump", "app", "build", "db"), busy=("jump",))
    ):
        user = login.account
        for image, command in t.rng.sample(_OWN_HISTORY, t.rng.randint(1, 2)):
            text = command.format(user=user, word=t.rng.choice(_HISTORY_WORDS))
            t.run(stage, login, image, text, after=(5, 120))


def _root_history_review(ctx: SimContext, family: LookalikeFamily) -> None:
    """Administrators in a root shell looking back at what was run as root."""
    stage = family.name
    for t, root in family.root_sessions(
        family.host_moments(0, 1, roles=("jump", "app", "db", "web"), busy=("jump",))
    ):
        for image, command in t.rng.sample(_ROOT_HISTORY, t.rng.randint(1, 2)):
            text = command.format(word=t.rng.choice(_HISTORY_WORDS))
            t.run(stage, root, image, text, after=(5, 120))


def _history_permissions(ctx: SimContext, family: LookalikeFamily) -> None:
    """Configuration management keeping history files private and append-only."""
    stage = family.name
    for t, root in family.root_sessions(
        family.host_moments(0, 1, busy=("jump",), share=0.6), user="azureuser"
    ):
        module = ansible(t, root, stage, "command")
        host = root.host
        for user in t.rng.sample(host.admin_users, min(2, len(host.admin_users))):
            image, command = t.rng.choice(
                (
                    ("/usr/bin/chmod", "chmod 0600 /home/{user}/.bash_history"),
                    ("/usr/bin/chattr", "chattr +a /home/{user}/.bash_history"),
                    ("/usr/bin/chown", "chown {user}:{user} /home/{user}/.bash_history"),
                    ("/usr/bin/touch", "touch /home/{user}/.bash_history"),
                )
            )
            t.run(stage, module, image, command.format(user=user))


def _ssh_key_setup(ctx: SimContext, family: LookalikeFamily) -> None:
    """People creating, listing and using their own SSH keys."""
    stage = family.name
    for t, login in family.user_sessions(
        family.host_moments(0, 2, roles=("jump", "app", "build"), busy=("jump",))
    ):
        user = login.account
        for image, command in t.rng.sample(_OWN_KEYS, t.rng.randint(1, 3)):
            text = command.format(user=user, target=t.rng.choice(_TARGETS))
            t.run(stage, login, image, text, after=(5, 90))


def _ci_deploy_keys(ctx: SimContext, family: LookalikeFamily) -> None:
    """CI jobs installing a deploy key, using it and removing it."""
    stage = family.name
    for host, moment in family.host_moments(1, 3, roles=("build",)):
        t = family.on(host, moment)
        step = ci_step(t, stage)
        key = f"/home/runner/.ssh/id_{t.rng.choice(('ed25519', 'rsa'))}"
        t.run(stage, step, "/usr/bin/install", f"install -m 600 /dev/null {key}")
        t.run(
            stage,
            step,
            "/usr/bin/ssh",
            f"ssh -i {key} -o IdentitiesOnly=yes -o StrictHostKeyChecking=accept-new "
            f"deploy@{t.rng.choice(('10.1.1.4', '10.1.1.5', '10.1.2.4'))} "
            "sudo systemctl restart portal",
        )
        if t.rng.random() < 0.7:
            t.run(stage, step, "/usr/bin/rm", f"rm -f {key}")


def _host_key_audit(ctx: SimContext, family: LookalikeFamily) -> None:
    """A root job auditing SSH host-key permissions, nightly on some hosts."""
    stage = family.name
    for host in LINUX_HOSTS:
        if family.rng.random() < 0.4 and host.role != "jump":
            continue
        minute = family.rng.randrange(60)
        for day in ctx.day_range():
            hour = family.rng.choice((3, 4, 5))
            t = family.on(host, ctx.day_start(day) + dt.timedelta(hours=hour, minutes=minute))
            job = t.run(
                stage,
                t.daemon("cron"),
                SH,
                "/bin/sh -c /usr/local/sbin/ssh-key-audit >> /var/log/ssh-key-audit.log 2>&1",
                "root",
            )
            script = t.run(stage, job, SH, "/bin/sh /usr/local/sbin/ssh-key-audit")
            t.run(stage, script, "/usr/bin/find", "find /etc/ssh -name ssh_host_*_key -perm /077")
            kind = t.rng.choice(("ed25519", "ecdsa", "rsa"))
            t.run(
                stage,
                script,
                "/usr/bin/ssh-keygen",
                f"ssh-keygen -lf /etc/ssh/ssh_host_{kind}_key.pub",
            )


_FAMILIES = {
    "own_history_search": _own_history_search,
    "root_history_review": _root_history_review,
    "history_permissions": _history_permissions,
    "ssh_key_setup": _ssh_key_setup,
    "ci_deploy_keys": _ci_deploy_keys,
    "host_key_audit": _host_key_audit,
}

register_lookalikes(CAMPAIGN, _FAMILIES)
