"""What Linux campaigns share: Ubuntu's shells, the sessions an operator (or an
administrator, for a look-alike) works in, and the machinery of look-alike families.

Paths are Ubuntu's (`sh` is dash); parents are the processes an attacker really lands
in (a web worker, an SSH session, cron, a package manager).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping

from pytest_ctirealm.telemetry.context import SimContext, guid
from pytest_ctirealm.telemetry.environment import LINUX_HOSTS, LinuxHost
from pytest_ctirealm.telemetry.linux import Process
from pytest_ctirealm.telemetry.scenarios.base import (
    Stages,
    Timeline,
    daily_times,
    lookalikes,
    merge,
)

SH = "/usr/bin/dash"
BASH = "/usr/bin/bash"
PYTHON = "/usr/bin/python3.10"
RUNNER_WORKER = "/home/runner/actions-runner/bin/Runner.Worker"


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


def ci_step(t: Timeline, stage: str) -> Process:
    """A CI job's step script on the build host's runner (the worker the runner service
    spawns, then `bash -e` on the step's temporary script)."""
    worker = t.run(
        stage,
        t.daemon("runner"),
        RUNNER_WORKER,
        f"{RUNNER_WORKER} spawnclient {t.rng.randrange(100, 200)} {t.rng.randrange(100, 200)}",
        "runner",
    )
    return t.run(stage, worker, BASH, f"/usr/bin/bash -e /home/runner/work/_temp/{guid(t.rng)}.sh")


def http_url(ip: str, port: int, path: str) -> str:
    """The URL of *path* on *ip*:*port*, without the port when it is HTTP's own."""
    return f"http://{ip}/{path}" if port == 80 else f"http://{ip}:{port}/{path}"


def linux_hosts(*roles: str) -> tuple[LinuxHost, ...]:
    """The Linux hosts of *roles* (all of them when none is named)."""
    return tuple(h for h in LINUX_HOSTS if not roles or h.role in roles)


def ansible(t: Timeline, parent: Process, stage: str, module: str) -> Process:
    """An Ansible module as it runs on the target: python3 on the AnsiballZ wrapper that
    Ansible copied into root's temporary directory (configuration management is the
    usual benign writer of the files and accounts attackers touch)."""
    return t.run(
        stage,
        parent,
        PYTHON,
        f"/usr/bin/python3 /root/.ansible/tmp/ansible-tmp-{t.rng.randrange(10**9, 10**10)}/AnsiballZ_{module}.py",
    )


# -- look-alike families -------------------------------------------------------------------


class LookalikeFamily:
    """One benign look-alike family of *campaign*: a timeline per host it acts on, and
    the moments it acts at.

    Every campaign's families share this so that they are seeded, named and scaled the
    same way: counts are drawn per day of the window, as the benign background's are,
    so look-alike volume grows with the scale like everything else.
    """

    def __init__(self, ctx: SimContext, campaign: str, name: str) -> None:
        self.ctx = ctx
        self.campaign = campaign
        self.name = name
        self.rng = ctx.rng("lookalike", campaign, name)
        self.timelines: dict[str, Timeline] = {}

    def on(self, host: LinuxHost, moment: dt.datetime) -> Timeline:
        """The family's timeline on *host* (created the first time it acts there), its
        clock moved to *moment*."""
        t = self.timelines.get(host.name)
        if t is None:
            name = f"lookalike/{self.campaign}/{self.name}/{host.name}"
            t = self.timelines[host.name] = Timeline(self.ctx, name, host, self.ctx.start)
        t.at(moment)
        return t

    def times(self, low: int, high: int, *, office: bool = True) -> list[dt.datetime]:
        """Between *low* and *high* instants on each day of the window (weighted by office
        hours, or any time), in order; none later than a margin before the window closes."""
        return daily_times(self.ctx, self.rng, low, high, office=office)

    def moments(
        self,
        low: int,
        high: int,
        *,
        hosts: Iterable[LinuxHost] | None = None,
        roles: Iterable[str] = (),
        office: bool = True,
    ) -> list[tuple[LinuxHost, dt.datetime]]:
        """The `times` of the family, each on a host drawn from *hosts* (or the hosts of
        *roles*, or every Linux host), in time order."""
        pool = tuple(hosts) if hosts is not None else linux_hosts(*roles)
        return [(self.rng.choice(pool), moment) for moment in self.times(low, high, office=office)]

    def host_moments(
        self,
        low: int,
        high: int,
        *,
        roles: Iterable[str] = (),
        busy: Iterable[str] = (),
        share: float = 1.0,
        office: bool = True,
    ) -> list[tuple[LinuxHost, dt.datetime]]:
        """Between *low* and *high* moments a day on each host of *roles* (every Linux
        host if none), in time order: for habits of the people or the configuration of each
        server. Hosts of the *busy* roles act at least once a day and always take part;
        each other host takes part with probability *share* (a rollout that reached only
        some servers)."""
        busy_roles = set(busy)
        out: list[tuple[LinuxHost, dt.datetime]] = []
        for host in linux_hosts(*roles):
            if host.role in busy_roles:
                out.extend((host, m) for m in self.times(max(low, 1), high, office=office))
            elif share >= 1.0 or self.rng.random() < share:
                out.extend((host, m) for m in self.times(low, high, office=office))
        return sorted(out, key=lambda pair: pair[1])

    def root_sessions(
        self, occasions: Iterable[tuple[LinuxHost, dt.datetime]], *, user: str | None = None
    ) -> Iterator[tuple[Timeline, Process]]:
        """At each (host, moment) of *occasions*, a root shell on the host: an SSH login
        and sudo by one of its administrators, or by *user* (Ansible's account), as most
        administrative look-alikes begin; yields (timeline, root shell)."""
        for host, moment in occasions:
            t = self.on(host, moment)
            login = user or t.rng.choice(host.admin_users)
            yield t, root_session(t, login, stage=self.name)

    def user_sessions(
        self, occasions: Iterable[tuple[LinuxHost, dt.datetime]]
    ) -> Iterator[tuple[Timeline, Process]]:
        """At each (host, moment) of *occasions*, one of the host's administrators logs in
        over SSH without sudo; yields (timeline, login shell)."""
        for host, moment in occasions:
            t = self.on(host, moment)
            yield t, user_session(t, t.rng.choice(host.admin_users), self.name)

    def periodic(
        self, hosts: Iterable[LinuxHost], every: dt.timedelta
    ) -> list[tuple[LinuxHost, dt.datetime]]:
        """A run every *every* on each of *hosts* (a timer), at a per-host offset, over the
        whole window, in time order."""
        out = []
        for host in hosts:
            moment = self.ctx.start + every * self.rng.random()
            while moment < self.ctx.end:
                out.append((host, moment + dt.timedelta(seconds=self.rng.uniform(0, 2))))
                moment += every
        return sorted(out, key=lambda pair: pair[1])

    def stages(self) -> Stages:
        """The events of every host's timeline, together."""
        return merge(*self.timelines.values())


#: A look-alike family's writer: it fills the family's timelines.
FamilyMaker = Callable[[SimContext, LookalikeFamily], None]


def register_lookalikes(campaign: str, makers: Mapping[str, FamilyMaker]) -> None:
    """Register *makers* (family name -> writer, in order) as the look-alike families of
    *campaign*: each family gets its own `LookalikeFamily` and writes its events in the
    stage named after it, so the registration returns family -> table -> rows."""

    def run(ctx: SimContext) -> Stages:
        out: Stages = {}
        for name, make in makers.items():
            family = LookalikeFamily(ctx, campaign, name)
            make(ctx, family)
            out.update(family.stages())
        return out

    lookalikes(campaign, tuple(makers))(run)
