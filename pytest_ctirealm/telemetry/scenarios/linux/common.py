"""What Linux campaigns share: Ubuntu's shells, and the sessions an operator (or an
administrator, for a look-alike) works in.

Paths are Ubuntu's (`sh` is dash); parents are the processes an attacker really lands
in (a web worker, an SSH session, cron, a package manager).
"""

from __future__ import annotations

from pytest_ctirealm.telemetry.linux import Process
from pytest_ctirealm.telemetry.scenarios.base import Timeline

SH = "/usr/bin/dash"
BASH = "/usr/bin/bash"


def root_session(t: Timeline, user: str = "azureuser", stage: str = "access") -> Process:
    """An SSH login by *user* that becomes root through sudo (an operator's console, or
    an administrator's), recorded in *stage*; returns the root shell."""
    sshd = t.run(stage, t.daemon("sshd"), "/usr/sbin/sshd", f"sshd: {user} [priv]", "root")
    login = t.run(stage, sshd, BASH, "-bash", user, cwd=f"/home/{user}")
    sudo = t.run(stage, login, "/usr/bin/sudo", "sudo -i", "root", after=(5, 40))
    return t.run(stage, sudo, BASH, "-bash", "root", cwd="/root")


def user_session(t: Timeline, user: str, stage: str) -> Process:
    """An SSH login by *user* without sudo; returns the login shell."""
    sshd = t.run(stage, t.daemon("sshd"), "/usr/sbin/sshd", f"sshd: {user} [priv]", "root")
    return t.run(stage, sshd, BASH, "-bash", user, cwd=f"/home/{user}")


def webshell(t: Timeline, stage: str, worker: Process, command: str) -> Process:
    """A command run by a web shell: the app's worker starts `sh -c <command>`."""
    return t.run(stage, worker, SH, f"sh -c {command}", worker.account, after=(20, 240))
