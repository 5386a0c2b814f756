"""What an intruder chooses, drawn afresh for every instance of a campaign.

A scenario is a campaign: a behaviour, not a fixed set of values. Each telemetry (each
seed) holds a fresh instance of it: other attacker infrastructure, other hosts and
accounts, other file, unit and key names, other timing and, where public reporting knows
several, another variant of the technique. A detection pinned to one instance's values
catches nothing in the next; a detection of the behaviour catches every instance.

`Instance` is a campaign's random stream plus the values it drew. The values are kept
(`Telemetry.instances`) for the tests and for debugging a task; no tool shows them.

Addresses: instances draw attacker infrastructure from the documentation ranges below;
reports describe their own incidents with addresses from `REPORT_NETWORK`, which no
instance draws, so quoting a report's indicators finds nothing in any telemetry.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Sequence
from typing import TypeVar

from pytest_ctirealm.telemetry.context import SimContext
from pytest_ctirealm.telemetry.environment import LINUX_HOSTS, LinuxHost

T = TypeVar("T")

#: Where instances find attacker infrastructure (RFC 5737 documentation ranges, minus
#: the addresses Contoso's offices use and minus the reports' own range).
ATTACKER_NETWORKS = (
    ipaddress.ip_network("203.0.113.0/24"),
    ipaddress.ip_network("198.51.100.160/27"),
    ipaddress.ip_network("198.51.100.192/26"),
    ipaddress.ip_network("192.0.2.128/25"),
)
#: The reports' own incidents' addresses: never drawn by an instance.
REPORT_NETWORK = ipaddress.ip_network("192.0.2.0/25")
#: Ports operators pick for listeners and reverse shells.
LISTENER_PORTS = (4444, 4443, 443, 8443, 8080, 8888, 9001, 1337, 53, 2222, 5555, 7443, 31337)


class Instance:
    """One instance of campaign *name* in the telemetry of *ctx*."""

    def __init__(self, ctx: SimContext, name: str) -> None:
        self.name = name
        self.rng = ctx.rng("instance", name)
        self.values: dict[str, object] = {}
        self._telemetry = ctx.instances
        ctx.instances[name] = self.values

    def keep(self, key: str, value: T) -> T:
        """Record a value the instance chose (tests check none of them leaks into a
        report or an objective)."""
        self.values[key] = value
        return value

    def pick(self, key: str, options: Sequence[T]) -> T:
        return self.keep(key, self.rng.choice(options))

    def sample(self, key: str, options: Sequence[T], count: int) -> list[T]:
        return self.keep(key, self.rng.sample(list(options), count))

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def between(self, low: int, high: int) -> int:
        """An integer in [low, high]."""
        return self.rng.randint(low, high)

    def attacker_ip(self, key: str) -> str:
        """An address of the attacker's infrastructure, distinct from every address drawn
        before in this telemetry: two intrusions never share a server by chance."""
        taken = {
            v
            for values in self._telemetry.values()
            for drawn in values.values()
            for v in (drawn if isinstance(drawn, list | tuple) else [drawn])
            if isinstance(v, str)
        }
        while True:
            address = attacker_address(self.rng)
            if address not in taken:
                return self.keep(key, address)

    def port(self, key: str, options: Sequence[int] = LISTENER_PORTS) -> int:
        return self.pick(key, options)

    def linux_host(self, key: str, roles: Sequence[str] | None = None) -> LinuxHost:
        """One of Contoso's VMs (of one of *roles*, when given)."""
        hosts = [h for h in LINUX_HOSTS if roles is None or h.role in roles]
        if not hosts:
            raise ValueError(f"{self.name}: no Linux host has a role in {roles}")
        host = self.rng.choice(hosts)
        self.keep(key, host.name)
        return host

    def name_like(self, key: str, *parts: Sequence[str], joiner: str = "") -> str:
        """A name built from one choice of each part: imitations of what a system ships
        (`01cache-refresh`, `dbus-org.freedesktop.sync.service`) that vary per instance."""
        return self.keep(key, joiner.join(self.rng.choice(part) for part in parts))

    def hex(self, key: str, length: int) -> str:
        return self.keep(key, f"{self.rng.getrandbits(length * 4):0{length}x}")


def attacker_address(rng: random.Random) -> str:
    """An address from `ATTACKER_NETWORKS` (never a network or broadcast address)."""
    network = rng.choice(ATTACKER_NETWORKS)
    return str(network[rng.randrange(1, network.num_addresses - 1)])
