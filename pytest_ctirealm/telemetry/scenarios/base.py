"""The scenario registry, the look-alike registry, and the helper that writes Linux
timelines.

A scenario (a campaign) emits the events of one attack in named stages; its look-alike
families emit benign events that resemble it (the same binaries, paths and verbs used
innocently). Look-alikes are benign: no task counts them as positives. They are
labelled so that tests can show each task has several families a detection must tell
apart from the attack, and so that a failing detection can say which family it hit.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass

from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.environment import LinuxHost
from pytest_ctirealm.telemetry.linux import HostState, Process, Row, boot_time

#: stage -> table -> rows
Stages = dict[str, dict[str, list[Row]]]


@dataclass(frozen=True)
class Scenario:
    """A named attack with the stages it emits."""

    name: str
    platform: str
    stages: tuple[str, ...]
    run: Callable[[SimContext], Stages]


SCENARIOS: dict[str, Scenario] = {}


@dataclass(frozen=True)
class LookalikeSet:
    """The benign families that resemble campaign *campaign* (rows per family)."""

    campaign: str
    families: tuple[str, ...]
    run: Callable[[SimContext], Stages]


LOOKALIKES: dict[str, LookalikeSet] = {}


def scenario(
    name: str, platform: str, stages: tuple[str, ...]
) -> Callable[[Callable[[SimContext], Stages]], Callable[[SimContext], Stages]]:
    """Register a scenario function under *name*."""

    def register(function: Callable[[SimContext], Stages]) -> Callable[[SimContext], Stages]:
        if name in SCENARIOS:
            raise ValueError(f"scenario {name!r} is registered twice")
        SCENARIOS[name] = Scenario(name, platform, stages, function)
        return function

    return register


def lookalikes(
    campaign: str, families: tuple[str, ...]
) -> Callable[[Callable[[SimContext], Stages]], Callable[[SimContext], Stages]]:
    """Register the look-alike families of *campaign*; the function returns family ->
    table -> rows, and its families are named `<campaign>.<family>` in tasks."""

    def register(function: Callable[[SimContext], Stages]) -> Callable[[SimContext], Stages]:
        if campaign in LOOKALIKES:
            raise ValueError(f"look-alikes of {campaign!r} are registered twice")
        LOOKALIKES[campaign] = LookalikeSet(campaign, families, function)
        return function

    return register


#: How long before the window closes a look-alike may act at the latest, so that a burst
#: of activity stays whole instead of losing its tail at the window's end.
LOOKALIKE_MARGIN = dt.timedelta(minutes=15)


def daily_times(
    ctx: SimContext, rng: random.Random, low: int, high: int, *, office: bool = True
) -> list[dt.datetime]:
    """Between *low* and *high* instants on each day of the window (weighted by office
    hours, or any time), in order, none later than a margin before the window closes:
    look-alike counts are drawn per day, as the background's are, so their volume grows
    with the scale like everything else."""
    latest = ctx.end - LOOKALIKE_MARGIN
    moments = [
        ctx.office_time(rng, day) if office else ctx.any_time(rng, day)
        for day in ctx.day_range()
        for _ in range(rng.randint(low, high))
    ]
    return sorted(min(moment, latest) for moment in moments)


def incident_start(ctx: SimContext, name: str, hours: tuple[int, int] = (0, 24)) -> dt.datetime:
    """When scenario *name* begins: a seeded instant in the first two days, whatever the
    scale, so the same attack sits at the same time in a 1x and a 10x window."""
    rng = ctx.rng("incident", name)
    day = rng.randrange(min(2, ctx.days))
    hour = rng.randrange(*hours)
    return ctx.day_start(day) + dt.timedelta(hours=hour, seconds=rng.randrange(3600))


class Timeline:
    """Writes one attack on one host: each call moves the clock on a little."""

    def __init__(self, ctx: SimContext, name: str, host: LinuxHost, start: dt.datetime) -> None:
        self.rng = ctx.rng("scenario", name)
        self.state = HostState(host, boot_time(host), self.rng)
        self.now = start
        self.stages: Stages = {}

    def at(self, moment: dt.datetime) -> dt.datetime:
        """Move the clock to *moment* (a look-alike family writes at many times)."""
        self.now = moment
        return moment

    def wait(self, low: float, high: float | None = None) -> dt.datetime:
        self.now += dt.timedelta(seconds=low if high is None else self.rng.uniform(low, high))
        return self.now

    def daemon(self, name: str) -> Process:
        return self.state.daemons[name]

    def run(
        self,
        stage: str,
        parent: Process,
        path: str,
        command_line: str,
        account: str | None = None,
        *,
        after: tuple[float, float] = (0.05, 2.0),
        cwd: str | None = None,
    ) -> Process:
        """Record a process start in *stage*; return the process (a parent for later)."""
        self.wait(*after)
        process, row = self.state.spawn(self.now, parent, path, command_line, account, cwd=cwd)
        self._add(stage, "DeviceProcessEvents", row)
        return process

    def file(
        self,
        stage: str,
        actor: Process,
        action: str,
        path: str,
        *,
        after: tuple[float, float] = (0.01, 0.5),
        previous: str | None = None,
        size: int | None = None,
    ) -> None:
        """Record a file event in *stage*."""
        self.wait(*after)
        row = self.state.file_event(self.now, actor, action, path, previous=previous, size=size)
        self._add(stage, "DeviceFileEvents", row)

    def _add(self, stage: str, table: str, row: Row) -> None:
        self.stages.setdefault(stage, {}).setdefault(table, []).append(row)


def merge(*timelines: Timeline) -> Stages:
    """The stages of several timelines together (one attack or family over several hosts)."""
    out: Stages = {}
    for timeline in timelines:
        for stage, tables in timeline.stages.items():
            for table, rows in tables.items():
                out.setdefault(stage, {}).setdefault(table, []).extend(rows)
    return out
