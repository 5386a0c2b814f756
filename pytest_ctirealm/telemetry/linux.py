"""How Defender for Endpoint on Linux records processes and files.

`Process` is a running process; `HostState.spawn` makes a child and the
DeviceProcessEvents row that records it, with the parent (`InitiatingProcess*`) and
grand-parent columns, the POSIX identity in AdditionalFields, and image hashes that are
stable per binary. `HostState.file_event` makes a DeviceFileEvents row.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import random
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pytest_ctirealm.telemetry.environment import LinuxHost, stable_hex

Row = dict[str, Any]

#: POSIX ids of the accounts the hosts run as (uid, primary group).
_UIDS = {
    "root": 0,
    "daemon": 1,
    "www-data": 33,
    "_apt": 105,
    "postgres": 113,
    "mdatp": 998,
    "azureuser": 1000,
    "runner": 1001,
    "app": 1002,
    "alice.smith": 1003,
    "raj.patel": 1004,
    "dmitri.ivanov": 1005,
    "backup2": 1006,
}
MACHINE_GROUP = "Linux Servers"

#: Long-lived processes every host runs since boot: name, pid, image, command line, user.
_DAEMONS: tuple[tuple[str, int, str, str, str], ...] = (
    ("cron", 812, "/usr/sbin/cron", "/usr/sbin/cron -f -P", "root"),
    (
        "sshd",
        901,
        "/usr/sbin/sshd",
        "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups",
        "root",
    ),
    ("waagent", 744, "/usr/bin/python3", "/usr/bin/python3 -u /usr/sbin/waagent -daemon", "root"),
    ("containerd", 1021, "/usr/bin/containerd", "/usr/bin/containerd", "root"),
    ("wdavdaemon", 1188, "/opt/microsoft/mdatp/sbin/wdavdaemon", "wdavdaemon", "root"),
)
#: The application each role serves, the usual parent of a web compromise.
_ROLE_DAEMONS: dict[str, tuple[tuple[str, int, str, str, str], ...]] = {
    "web": (
        (
            "nginx",
            1402,
            "/usr/sbin/nginx",
            "nginx: master process /usr/sbin/nginx -g daemon on;",
            "root",
        ),
        (
            "gunicorn",
            1517,
            "/usr/bin/python3",
            "/usr/bin/python3 /usr/local/bin/gunicorn portal.wsgi:application -w 4 -b :8000",
            "www-data",
        ),
        ("node", 1533, "/usr/bin/node", "node /opt/app/server.js", "www-data"),
    ),
    "app": (("java", 1610, "/usr/bin/java", "/usr/bin/java -Xmx2g -jar /opt/app/app.jar", "app"),),
    "db": (
        (
            "postgres",
            1102,
            "/usr/lib/postgresql/14/bin/postgres",
            "/usr/lib/postgresql/14/bin/postgres -D /var/lib/postgresql/14/main",
            "postgres",
        ),
    ),
    "build": (
        (
            "runner",
            1704,
            "/home/runner/actions-runner/bin/Runner.Listener",
            "/home/runner/actions-runner/bin/Runner.Listener run --startuptype service",
            "runner",
        ),
    ),
}


@cache
def uid(account: str) -> int:
    return _UIDS.get(account, 1100 + int(stable_hex(4, "uid", account), 16) % 800)


@cache
def account_sid(host: LinuxHost, account: str) -> str:
    """Defender's synthetic SID for a POSIX user: stable per host and uid."""
    machine = int(stable_hex(8, "sid", host.name), 16)
    return f"S-1-5-21-{machine % 10**10}-{uid(account) + 1000}"


def content_hashes(key: str) -> tuple[str, str, str, int]:
    """Hashes and size of the file content that *key* names (a path, or path + time for a
    file written anew)."""
    return (
        stable_hex(40, "sha1", key),
        stable_hex(64, "sha256", key),
        stable_hex(32, "md5", key),
        20_000 + int(stable_hex(6, "size", key), 16) % 3_000_000,
    )


_image_hashes = cache(content_hashes)


def image_hashes(path: str) -> dict[str, Any]:
    """SHA1/SHA256/MD5 and size of a binary: the same path is the same file fleet-wide
    (one distro), and a dropped payload gets its own."""
    sha1, sha256, md5, size = _image_hashes(path)
    return {"SHA1": sha1, "SHA256": sha256, "MD5": md5, "FileSize": size}


@dataclass
class Process:
    """A process as Defender knows it when it becomes someone's parent."""

    host: LinuxHost
    pid: int
    path: str
    command_line: str
    account: str
    created: dt.datetime
    parent: Process | None = None
    cwd: str = "/"
    terminal: str | None = None

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)


@dataclass
class HostState:
    """Per-host facts the rows need: boot time, pid allocation, long-lived daemons."""

    host: LinuxHost
    boot: dt.datetime
    rng: random.Random
    daemons: dict[str, Process] = field(default_factory=dict)

    def __post_init__(self) -> None:
        init = Process(self.host, 1, "/usr/lib/systemd/systemd", "/sbin/init", "root", self.boot)
        self.daemons["systemd"] = init
        for name, pid, path, command, account in _DAEMONS + _ROLE_DAEMONS.get(self.host.role, ()):
            self.daemons[name] = Process(self.host, pid, path, command, account, self.boot, init)
        exthandler = self.daemons["waagent"]
        self.daemons["exthandlers"] = Process(
            self.host,
            1320,
            "/usr/bin/python3",
            "python3 -u /usr/sbin/waagent -run-exthandlers",
            "root",
            self.boot,
            exthandler,
        )

    def pid_at(self, moment: dt.datetime) -> int:
        """Pids grow with uptime on a busy server, with jitter; they never repeat here
        because the window is shorter than a pid wrap."""
        seconds = (moment - self.boot).total_seconds()
        return 4000 + int(seconds * 2.7) + self.rng.randrange(0, 2)

    def spawn(
        self,
        moment: dt.datetime,
        parent: Process,
        path: str,
        command_line: str,
        account: str | None = None,
        *,
        cwd: str | None = None,
        terminal: str | None = None,
    ) -> tuple[Process, Row]:
        """A child of *parent* running *path*, and the DeviceProcessEvents row for it.

        A child never starts before its parent: *moment* moves just past the parent's
        start if needed."""
        moment = self._after(parent, moment)
        account = account or parent.account
        child = Process(
            self.host,
            self.pid_at(moment),
            path,
            command_line,
            account,
            moment,
            parent,
            cwd=cwd or parent.cwd,
            terminal=terminal if terminal is not None else parent.terminal,
        )
        row: Row = {
            "Timestamp": moment,
            "ActionType": "ProcessCreated",
            "FileName": child.name,
            "FolderPath": path,
            "ProcessCommandLine": command_line,
            "ProcessId": child.pid,
            "ProcessCreationTime": moment,
            "AccountName": account,
            "AccountDomain": self.host.name,
            "AccountSid": account_sid(self.host, account),
            "LogonId": 0,
            "InitiatingProcessLogonId": 0,
            "ProcessTokenElevation": "None",
            **image_hashes(path),
            **self._initiating(parent),
            "AdditionalFields": self._posix(child),
        }
        return child, row

    def file_event(
        self,
        moment: dt.datetime,
        actor: Process,
        action: str,
        path: str,
        *,
        previous: str | None = None,
        size: int | None = None,
    ) -> Row:
        """A DeviceFileEvents row: *actor* created, modified, renamed or deleted *path*."""
        moment = self._after(actor, moment)
        row: Row = {
            "Timestamp": moment,
            "ActionType": action,
            "FileName": posixpath.basename(path),
            "FolderPath": path,
            **self._initiating(actor),
            "AdditionalFields": {
                "InitiatingProcessPosixEffectiveUser": self._user(actor.account),
                "InitiatingProcessCurrentWorkingDirectory": actor.cwd,
            },
        }
        if action != "FileDeleted":
            sha1, sha256, md5, default_size = content_hashes(f"{self.host.name}:{path}:{moment}")
            row.update(
                SHA1=sha1,
                SHA256=sha256,
                MD5=md5,
                FileSize=default_size if size is None else size,
            )
        if previous is not None:
            row["PreviousFileName"] = posixpath.basename(previous)
            row["PreviousFolderPath"] = posixpath.dirname(previous)
        return row

    def _after(self, process: Process, moment: dt.datetime) -> dt.datetime:
        if moment > process.created:
            return moment
        return process.created + dt.timedelta(microseconds=self.rng.randrange(1_000, 40_000))

    def _initiating(self, parent: Process) -> Row:
        hashes = image_hashes(parent.path)
        row: Row = {
            "DeviceId": self.host.device_id,
            "DeviceName": self.host.name,
            "InitiatingProcessFileName": parent.name,
            "InitiatingProcessFolderPath": parent.path,
            "InitiatingProcessCommandLine": parent.command_line,
            "InitiatingProcessId": parent.pid,
            "InitiatingProcessCreationTime": parent.created,
            "InitiatingProcessAccountName": parent.account,
            "InitiatingProcessAccountDomain": self.host.name,
            "InitiatingProcessAccountSid": account_sid(self.host, parent.account),
            "InitiatingProcessTokenElevation": "None",
            "InitiatingProcessSHA1": hashes["SHA1"],
            "InitiatingProcessSHA256": hashes["SHA256"],
            "InitiatingProcessMD5": hashes["MD5"],
            "InitiatingProcessFileSize": hashes["FileSize"],
            "MachineGroup": MACHINE_GROUP,
        }
        if parent.parent is not None:
            row["InitiatingProcessParentFileName"] = parent.parent.name
            row["InitiatingProcessParentId"] = parent.parent.pid
            row["InitiatingProcessParentCreationTime"] = parent.parent.created
        return row

    def _user(self, account: str) -> dict[str, Any]:
        return {
            "Name": account,
            "DomainName": self.host.name,
            "LogonId": 0,
            "InitiatingProcessLogonId": 0,
            "PosixUserId": uid(account),
            "PrimaryPosixGroup": {"Name": account, "PosixGroupId": uid(account)},
        }

    def _posix(self, child: Process) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "ProcessPosixEffectiveUser": self._user(child.account),
            "ProcessPosixRealUser": self._user(child.account),
            "ProcessCurrentWorkingDirectory": child.cwd,
            "ProcessPosixProcessGroupId": child.pid,
            "ProcessPosixSessionId": child.parent.pid if child.parent else child.pid,
        }
        if child.terminal:
            fields["ProcessPosixAttachedTerminal"] = child.terminal
        return fields


def boot_time(host: LinuxHost) -> dt.datetime:
    """When *host* last booted: days before the window, so daemons have settled pids."""
    from pytest_ctirealm.telemetry.context import START
    from pytest_ctirealm.telemetry.environment import LINUX_HOSTS

    index = LINUX_HOSTS.index(host)
    return START - dt.timedelta(days=3 + index, hours=5 * index, minutes=17 * index)
